"""Safety checks: exact limits, cumulative lung dose from a case, LSF policy, missing inputs."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from nelm.case import Case, TimePoint, Treatment
from nelm.case.vocabulary import TimePointKind, TreatmentType
from nelm.errors import ConfigError, InputError
from nelm.y90.lsf import LsfMethod, LungShunt, lsf_given
from nelm.y90.planning import (
    ActivityPlan,
    CompartmentDoses,
    Compartments,
    plan_bsa,
    plan_mird,
)
from nelm.y90.safety import (
    Finding,
    Level,
    SafetyContext,
    SafetyLimits,
    check_plan,
    is_deliverable,
    safety_context_from_case,
)

COMPARTMENTS = Compartments(
    liver_volume_ml=1500.0, perfused_volume_ml=1000.0, tumour_volume_ml=250.0, lung_mass_kg=1.0
)
SHUNT = lsf_given(0.05, source="test")
BASE = plan_mird(compartments=COMPARTMENTS, lung_shunt=SHUNT, dose_gy=60.0)
UTC = dt.UTC


def _with(lung_gy: float = 5.0, normal_gy: float = 30.0, plan: ActivityPlan = BASE) -> ActivityPlan:
    """The plan with chosen doses (to put a dose exactly on a limit)."""
    doses = CompartmentDoses(
        tumour_gy=None, normal_liver_gy=normal_gy, perfused_gy=normal_gy, lung_gy=lung_gy
    )
    return dataclasses.replace(plan, doses=doses)


def _find(findings: tuple[Finding, ...], code: str) -> Finding:
    matches = [f for f in findings if f.code == code]
    assert len(matches) == 1, [f.code for f in findings]
    return matches[0]


FULL = SafetyContext(
    prior_lung_dose_gy=0.0,
    bilirubin_mg_dl=0.6,
    tumour_burden_percent=10.0,
    prior_prrt=False,
    prior_whole_liver_treatment=False,
    cirrhosis=False,
    device="glass",
    target="right_lobe",
    target_volume_ml=1000.0,
)


def test_a_clean_plan_is_deliverable_with_one_finding_per_check() -> None:
    findings = check_plan(BASE, FULL)
    assert is_deliverable(findings)
    assert {f.level for f in findings} == {Level.INFO}
    codes = [f.code for f in findings]
    assert len(codes) == len(set(codes))
    json.dumps([f.to_dict() for f in findings])
    assert _find(findings, "lung_dose_per_treatment").values["limit_gy"] == 30.0


@pytest.mark.parametrize(
    ("lung_gy", "level"),
    [(29.999999, Level.INFO), (30.0, Level.INFO), (30.000001, Level.BLOCK), (34.2, Level.BLOCK)],
)
def test_lung_dose_per_treatment_limit_is_exact(lung_gy: float, level: Level) -> None:
    findings = check_plan(_with(lung_gy=lung_gy), FULL)
    finding = _find(findings, "lung_dose_per_treatment")
    assert finding.level is level
    assert is_deliverable(findings) is (level is Level.INFO)
    if lung_gy == 34.2:
        assert finding.message == "lung dose 34.2 Gy exceeds 30 Gy per treatment"
    if lung_gy == 30.000001:
        assert "30.000001 Gy exceeds 30 Gy" in finding.message  # never shown as "30 Gy exceeds 30 Gy"


@pytest.mark.parametrize(
    ("prior_gy", "lung_gy", "level"),
    [
        (25.0, 25.0, Level.INFO),
        (25.0, 24.999999, Level.INFO),
        (25.0, 25.000001, Level.BLOCK),
        (20.1, 29.9, Level.INFO),
    ],
)
def test_cumulative_lung_dose_limit_is_exact(prior_gy: float, lung_gy: float, level: Level) -> None:
    context = dataclasses.replace(FULL, prior_lung_dose_gy=prior_gy)
    finding = _find(check_plan(_with(lung_gy=lung_gy), context), "lung_dose_cumulative")
    assert finding.level is level
    assert finding.values["cumulative_lung_dose_gy"] == pytest.approx(prior_gy + lung_gy)


def _case(*treatments: Treatment) -> Case:
    point = TimePoint(id="t0", date=dt.date(2025, 1, 10), kind=TimePointKind.BASELINE)
    return Case(case_id="c1", time_points=(point,), treatments=treatments)


def _tare(day: dt.date, lung_gy: float | None, target: str | None = "right_lobe") -> Treatment:
    return Treatment(
        type=TreatmentType.TARE,
        date=day,
        activity_gbq=2.0,
        device="glass",
        lung_dose_gy=lung_gy,
        target=target,
    )


def test_cumulative_lung_dose_from_a_case() -> None:
    case = _case(
        _tare(dt.date(2025, 3, 1), 20.1, target="whole_liver"),
        _tare(dt.date(2025, 9, 1), 9.9),
        Treatment(type=TreatmentType.PRRT, date=dt.date(2024, 6, 1), activity_gbq=7.4),
        _tare(dt.date(2026, 2, 16), 4.0),  # the treatment being planned: not prior
    )
    context = safety_context_from_case(case, before=dt.date(2026, 2, 16))
    assert context.prior_lung_dose_gy == 30.0  # 20.1 + 9.9 summed as decimals
    assert context.prior_tare_without_lung_dose == 0
    assert context.prior_prrt is True
    assert context.prior_whole_liver_treatment is True
    assert context.bilirubin_mg_dl is None
    # 30 + 20 = 50 Gy exactly: allowed; 20.000001 more blocks.
    assert _find(check_plan(_with(lung_gy=20.0), context), "lung_dose_cumulative").level is Level.INFO
    findings = check_plan(_with(lung_gy=20.000001), context)
    assert _find(findings, "lung_dose_cumulative").level is Level.BLOCK
    assert not is_deliverable(findings)
    assert _find(findings, "prior_prrt").level is Level.WARN
    assert _find(findings, "prior_whole_liver_treatment").level is Level.WARN
    # Same-day treatments are not prior; every treatment is with before=None.
    everything = safety_context_from_case(case, before=None)
    assert everything.prior_lung_dose_gy == pytest.approx(34.0)
    on_the_day = safety_context_from_case(case, before=dt.datetime(2025, 3, 1, 12, 0, tzinfo=UTC))
    assert on_the_day.prior_lung_dose_gy == 0.0  # a date-only treatment on that day is not before it
    assert on_the_day.prior_prrt is True


def test_prior_tare_without_lung_dose_makes_the_cumulative_check_unknown() -> None:
    case = _case(_tare(dt.date(2025, 3, 1), None, target=None), _tare(dt.date(2025, 9, 1), 10.0))
    context = safety_context_from_case(case, before=dt.date(2026, 1, 1), tumour_burden_percent=30.0)
    assert context.prior_tare_without_lung_dose == 1
    assert context.prior_whole_liver_treatment is None  # one prior TARE has no target
    finding = _find(check_plan(_with(lung_gy=5.0), context), "lung_dose_cumulative")
    assert finding.level is Level.WARN
    assert "unknown" in finding.message
    assert "1 earlier TARE" in finding.message
    with pytest.raises(InputError, match="timezone"):
        safety_context_from_case(case, before=dt.datetime(2026, 1, 1, 9, 0))


@pytest.mark.parametrize(
    ("normal_gy", "cirrhosis", "target", "level", "words"),
    [
        (70.0, False, "right_lobe", Level.INFO, "within 70 Gy"),
        (70.000001, False, "right_lobe", Level.WARN, "exceeds 70 Gy"),
        (40.000001, True, "right_lobe", Level.WARN, "exceeds 40 Gy (cirrhotic"),
        (40.0, True, "right_lobe", Level.INFO, "within 40 Gy"),
        (50.0, None, "right_lobe", Level.INFO, "cirrhosis status unknown"),
        (190.0, False, "segment_6", Level.INFO, "radiation segmentectomy"),
    ],
)
def test_normal_liver_dose(
    normal_gy: float, cirrhosis: bool | None, target: str, level: Level, words: str
) -> None:
    context = dataclasses.replace(FULL, cirrhosis=cirrhosis, target=target)
    finding = _find(check_plan(_with(normal_gy=normal_gy), context), "normal_liver_dose")
    assert finding.level is level
    assert words in finding.message


def _lsf_plan(lsf: float) -> ActivityPlan:
    return plan_mird(compartments=COMPARTMENTS, lung_shunt=lsf_given(lsf, source="t"), dose_gy=60.0)


@pytest.mark.parametrize(
    ("lsf", "prognosis", "glass"),
    [
        (0.0999999, None, Level.INFO),
        (0.10, Level.WARN, Level.INFO),
        (0.1499999, Level.WARN, Level.INFO),
        (0.15, Level.WARN, Level.WARN),
    ],
)
def test_lsf_prognosis_and_glass_caution_boundaries(
    lsf: float, prognosis: Level | None, glass: Level
) -> None:
    findings = check_plan(_lsf_plan(lsf), FULL)
    codes = {f.code: f for f in findings}
    assert (codes["lsf_prognosis"].level if "lsf_prognosis" in codes else None) is prognosis
    assert codes["lsf_glass"].level is glass
    if lsf == 0.1499999:
        assert "14.99999 % is below 15 %" in codes["lsf_glass"].message


def test_resin_lsf_above_20_percent_blocks() -> None:
    resin = dataclasses.replace(FULL, device="resin")
    bsa = plan_bsa(
        weight_kg=75,
        height_cm=175,
        compartments=COMPARTMENTS,
        lung_shunt=lsf_given(0.2000001, source="t"),
        form="treated_fraction",
    )
    findings = check_plan(bsa, resin)
    assert _find(findings, "plan_not_deliverable").level is Level.BLOCK
    assert _find(findings, "lsf_resin_band").level is Level.BLOCK
    assert not is_deliverable(findings)
    at_20 = plan_bsa(
        weight_kg=75,
        height_cm=175,
        compartments=COMPARTMENTS,
        lung_shunt=lsf_given(0.20, source="t"),
        form="treated_fraction",
    )
    band = _find(check_plan(at_20, resin), "lsf_resin_band")
    assert band.level is Level.INFO  # reduction × 0.6 applied by the BSA plan
    assert band.values["factor"] == 0.6
    # A dose-based plan with resin: the reduction is not applied, so it warns.
    partition_like = _find(check_plan(_lsf_plan(0.12), resin), "lsf_resin_band")
    assert partition_like.level is Level.WARN
    assert "does not apply it" in partition_like.message
    # BSA with glass: the method is for resin.
    assert _find(check_plan(at_20, FULL), "model_device").level is Level.WARN


def test_bsa_plan_without_device_is_checked_as_resin() -> None:
    bsa = plan_bsa(
        weight_kg=75,
        height_cm=175,
        compartments=COMPARTMENTS,
        lung_shunt=lsf_given(0.12, source="t"),
        form="ifu_scaled",
    )
    findings = check_plan(bsa, dataclasses.replace(FULL, device=None))
    assert _find(findings, "lsf_resin_band").values["band"] == "first_reduction"
    assert _find(check_plan(BASE, dataclasses.replace(FULL, device=None)), "lsf_device").level is Level.INFO


def test_planar_lsf_caveat_is_reported() -> None:
    planar = LungShunt(
        fraction=0.08, method=LsfMethod.PLANAR_GEOMETRIC_MEAN, warnings=("planar overestimates",)
    )
    plan = plan_mird(compartments=COMPARTMENTS, lung_shunt=planar, dose_gy=60.0)
    assert _find(check_plan(plan, FULL), "lsf_caveat").level is Level.INFO


@pytest.mark.parametrize(
    ("target_ml", "level"),
    [
        (834.0, Level.INFO),
        (833.0, Level.WARN),  # below 1000/1.2: |1000 − 833| = 167 > 166.6
        (1250.0, Level.INFO),
        (1250.01, Level.WARN),
    ],
)
def test_perfused_vs_target_volume(target_ml: float, level: Level) -> None:
    # perfused 1000 mL; WARN when |perfused − target| > 0.20 · target, i.e. target < 1000/1.2 or
    # target > 1000/0.8 = 1250 (exactly on the boundary: 250 = 0.20 · 1250, no warning).
    finding = _find(
        check_plan(BASE, dataclasses.replace(FULL, target_volume_ml=target_ml)), "perfused_volume_mismatch"
    )
    assert finding.level is level


@pytest.mark.parametrize(
    ("bilirubin", "level", "words"),
    [
        (1.2, Level.INFO, "within"),
        (1.21, Level.INFO, "poor-prognosis"),
        (2.0, Level.INFO, "poor-prognosis"),
        (2.01, Level.BLOCK, "exceeds 2 mg/dL"),
    ],
)
def test_bilirubin(bilirubin: float, level: Level, words: str) -> None:
    findings = check_plan(BASE, dataclasses.replace(FULL, bilirubin_mg_dl=bilirubin))
    finding = _find(findings, "bilirubin")
    assert finding.level is level
    assert words in finding.message
    relaxed = check_plan(
        BASE, dataclasses.replace(FULL, bilirubin_mg_dl=bilirubin), SafetyLimits(bilirubin_level=Level.WARN)
    )
    assert is_deliverable(relaxed)


@pytest.mark.parametrize(
    ("burden", "level", "words"),
    [
        (50.0, Level.INFO, "within"),
        (50.1, Level.INFO, "poorer survival"),
        (70.0, Level.INFO, "poorer"),
        (70.1, Level.WARN, "synthetic"),
    ],
)
def test_tumour_burden(burden: float, level: Level, words: str) -> None:
    finding = _find(
        check_plan(BASE, dataclasses.replace(FULL, tumour_burden_percent=burden)), "tumour_burden"
    )
    assert finding.level is level
    assert words in finding.message


def test_whole_liver_target_warns() -> None:
    finding = _find(check_plan(BASE, dataclasses.replace(FULL, target="whole_liver")), "whole_liver_target")
    assert finding.level is Level.WARN
    assert "Su" in finding.source


def test_missing_inputs_give_info_findings_never_guesses() -> None:
    findings = check_plan(BASE, SafetyContext())
    could_not = {f.code for f in findings if "could not run" in f.message}
    assert could_not == {
        "lung_dose_cumulative",
        "lsf_device",
        "perfused_volume_mismatch",
        "bilirubin",
        "tumour_burden",
        "prior_prrt",
        "prior_whole_liver_treatment",
        "whole_liver_target",
    }
    assert all(f.level is Level.INFO for f in findings if f.code in could_not)


def test_is_deliverable() -> None:
    info = Finding("a", Level.INFO, "fine")
    warn = Finding("b", Level.WARN, "careful")
    block = Finding("c", Level.BLOCK, "stop")
    assert is_deliverable([info, warn])
    assert not is_deliverable([info, block])
    assert is_deliverable([])


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"bilirubin_mg_dl": -1.0}, "bilirubin_mg_dl"),
        ({"tumour_burden_percent": 150.0}, "tumour_burden_percent"),
        ({"target_volume_ml": 0.0}, "target_volume_ml"),
        ({"prior_lung_dose_gy": float("nan")}, "prior_lung_dose_gy"),
        ({"device": "yttrium"}, "device"),
        ({"prior_prrt": "yes"}, "prior_prrt"),
        ({"prior_tare_without_lung_dose": -1}, "prior_tare_without_lung_dose"),
    ],
)
def test_safety_context_bad_input(changes: dict[str, object], field: str) -> None:
    with pytest.raises(InputError, match=field):
        SafetyContext(**changes)  # type: ignore[arg-type]


def test_safety_limits_bad_settings() -> None:
    with pytest.raises(ConfigError, match="lung_dose_per_treatment_gy"):
        SafetyLimits(lung_dose_per_treatment_gy=-30.0)
    with pytest.raises(ConfigError, match="cirrhotic"):
        SafetyLimits(normal_liver_dose_cirrhotic_gy=80.0)
    with pytest.raises(ConfigError, match="lsf_prognosis_from"):
        SafetyLimits(lsf_prognosis_from=10.0)
    stricter = SafetyLimits(lung_dose_per_treatment_gy=20.0)
    assert (
        _find(check_plan(_with(lung_gy=25.0), FULL, stricter), "lung_dose_per_treatment").level is Level.BLOCK
    )
