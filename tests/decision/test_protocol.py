"""Imaging-protocol advisor (nelm.decision.protocol): clinical vignettes with hand-derived answers.

Every expected window below is computed by hand from the cited interval (named in the comment),
never copied from the advisor's output: e.g. MAA 1-2 weeks before TARE (TARE-workup2015), baseline
within 4 weeks (RECIST 1.1), follow-up at 1, 3, 6, 9, 12 months +/- 14 days (ECIO-ESOI + the
documented tolerance).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pydantic
import pytest

from nelm import RESEARCH_USE_DISCLAIMER
from nelm.case import Case, case_from_dict, load_case
from nelm.decision.citations import CitationOut
from nelm.decision.protocol import (
    AdviceItem,
    ImagingAdvice,
    ProcedureAdvice,
    advise_imaging,
)
from nelm.decision.protocol_rules import ProtocolSettings, add_months
from nelm.decision.protocol_sources import (
    HOW_CLINICAL,
    HOW_CROSS_SECTIONAL,
    HOW_FDG,
    HOW_HISTORY,
    HOW_LAB,
    HOW_MAA,
    HOW_OTHER,
    HOW_PATHOLOGY,
    HOW_SSTR,
    HOW_STAGING,
    PROTOCOL_SOURCES,
    how_to_get,
)
from nelm.errors import InputError

D = dt.date
CET = dt.timezone(dt.timedelta(hours=1))

# --- building vignettes ---


def make_case(
    root: Path,
    points: list[tuple[str, str, str, list[str]]],
    treatments: list[dict[str, Any]] = (),  # type: ignore[assignment]
    clinical: dict[str, Any] | None = None,
    lesion_masks: dict[str, str] | None = None,
) -> Case:
    """A case from (id, date, kind, image roles); every image is an empty placeholder NIfTI file."""
    tps = []
    for tp_id, date, kind, roles in points:
        images = {}
        for role in roles:
            path = root / tp_id / f"{role}.nii.gz"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
            images[role] = f"{tp_id}/{role}.nii.gz"
        entry: dict[str, Any] = {"id": tp_id, "date": date, "kind": kind, "images": images}
        if lesion_masks and tp_id in lesion_masks:
            mask = root / tp_id / "lesions.nii.gz"
            mask.touch()
            entry["masks"] = {"lesions": {"path": f"{tp_id}/lesions.nii.gz", "image": lesion_masks[tp_id]}}
        tps.append(entry)
    data = {
        "nelm_manifest": 1,
        "case_id": "VIGNETTE",
        "clinical": clinical or {},
        "time_points": tps,
        "treatments": list(treatments),
    }
    return case_from_dict(data, root=root)


def items(proc: ProcedureAdvice, modality_start: str, phase: str | None = None) -> list[AdviceItem]:
    return [
        i for i in proc.items if i.modality.startswith(modality_start) and (phase is None or i.phase == phase)
    ]


def one(proc: ProcedureAdvice, modality_start: str, phase: str | None = None) -> AdviceItem:
    found = items(proc, modality_start, phase)
    assert len(found) == 1, [i.modality for i in proc.items]
    return found[0]


def visits(proc: ProcedureAdvice) -> list[AdviceItem]:
    return [i for i in proc.items if i.phase == "post" and "month" in i.timing]


def codes(proc: ProcedureAdvice) -> list[str]:
    return [w.code for w in proc.warnings]


CT = ["ct_arterial", "ct_portal"]

# --- cTACE then CT follow-up ---


@pytest.fixture
def ctace_case(tmp_path: Path) -> Case:
    return make_case(
        tmp_path,
        [
            ("baseline", "2026-02-20", "baseline", CT),
            ("fu1", "2026-04-01", "follow_up", CT),
        ],
        [{"type": "ctace", "date": "2026-03-02"}],
    )


def test_ctace_ct_follow_up_gets_lipiodol_warning_and_no_credit(ctace_case: Case) -> None:
    advice = advise_imaging(ctace_case)
    assert advice.on == D(2026, 4, 1)  # the latest time point, not today
    (proc,) = advice.procedures
    assert proc.procedure == "ctace"
    assert proc.status == "performed"
    assert proc.date == D(2026, 3, 2)
    # baseline CT window: 28 days before 2026-03-02 -> 2026-02-02 .. 2026-03-02; 2026-02-20 inside
    base = one(proc, "multiphase CT", "pre")
    assert base.window == (D(2026, 2, 2), D(2026, 3, 2))
    assert base.status == "done"
    assert base.evidence is not None
    assert "baseline" in base.evidence
    # 1-month visit: due 2026-04-02 +/- 14 d = 2026-03-19 .. 2026-04-16; fu1 (CT) does not count after cTACE
    first, second = visits(proc)
    assert first.window == (D(2026, 3, 19), D(2026, 4, 16))
    assert first.status == "due"
    assert first.modality.startswith("MRI (mandatory")
    assert first.evidence is not None
    assert "CT only: fu1" in first.evidence
    # 3-month visit: due 2026-06-02 -> 2026-05-19 .. 2026-06-16, after `on`: upcoming, and the list stops
    assert second.window == (D(2026, 5, 19), D(2026, 6, 16))
    assert second.status == "upcoming"
    assert codes(proc) == ["LIPIODOL_CT"]
    assert "fu1 (ct_arterial, ct_portal)" in proc.warnings[0].message
    assert "ECIO-ESOI2020" in proc.warnings[0].citations
    easl = next(c for c in proc.criteria if c.name == "EASL")
    assert "Riaz2011" in easl.citations


def test_ctace_mri_follow_up_counts(tmp_path: Path) -> None:
    case = make_case(
        tmp_path,
        [
            ("baseline", "2026-02-20", "baseline", CT),
            ("fu1", "2026-04-01", "follow_up", ["mr_hbp", "mr_dwi"]),
        ],
        [{"type": "ctace", "date": "2026-03-02"}],
    )
    (proc,) = advise_imaging(case).procedures
    assert visits(proc)[0].status == "done"
    # no CT after the cTACE: the pitfall is still stated, without naming a time point
    assert codes(proc)[0] == "LIPIODOL_CT"
    assert "in the case" not in proc.warnings[0].message


def test_time_points_after_on_are_ignored(ctace_case: Case) -> None:
    advice = advise_imaging(ctace_case, on=D(2026, 3, 20))
    (proc,) = advice.procedures
    first = visits(proc)[0]
    assert first.status == "due"  # window 2026-03-19 .. 2026-04-16 contains 2026-03-20
    assert first.evidence is None  # fu1 (2026-04-01) is after `on`
    assert "fu1" not in proc.warnings[0].message


# --- PRRT ---


def test_prrt_follow_up_at_three_months_warns_pseudoprogression(tmp_path: Path) -> None:
    case = make_case(
        tmp_path,
        [
            ("baseline", "2026-01-05", "baseline", [*CT, "pet_sstr"]),
            ("fu1", "2026-04-10", "follow_up", CT),
        ],
        [{"type": "prrt", "date": "2026-01-10", "activity": "7.4 GBq"}],
    )
    (proc,) = advise_imaging(case).procedures
    assert codes(proc) == ["PRRT_PSEUDOPROGRESSION"]
    assert "fu1 (2026-04-10)" in proc.warnings[0].message
    assert proc.warnings[0].citations == ("Brabander2017-pitfalls",)
    assert one(proc, "68Ga-DOTA-SSA").status == "done"
    assert items(proc, "Tc-99m MAA") == []
    assert visits(proc) == []  # no interval cited for PRRT
    restaging = one(proc, "CT/MRI (same technique", "post")
    assert restaging.status == "done"
    names = [c.name for c in proc.criteria]
    assert names[0] == "RECIST 1.1"
    assert "NETTER1" in proc.criteria[0].citations
    assert "PERCIST 1.0" not in names  # no FDG PET in the case


def test_prrt_with_fdg_lists_percist(tmp_path: Path) -> None:
    case = make_case(
        tmp_path,
        [("baseline", "2026-01-05", "baseline", [*CT, "pet_sstr", "pet_fdg"])],
        [{"type": "prrt", "date": "2026-01-10", "activity": "7.4 GBq"}],
    )
    (proc,) = advise_imaging(case).procedures
    assert "PERCIST 1.0" in [c.name for c in proc.criteria]
    assert proc.status == "planned"  # on = 2026-01-05 < 2026-01-10


def test_planned_prrt_without_sstr_pet_is_missing(tmp_path: Path) -> None:
    case = make_case(
        tmp_path,
        [("baseline", "2026-01-05", "baseline", CT)],
        [{"type": "prrt", "date": "2026-01-20", "activity": "7.4 GBq"}],
    )
    advice = advise_imaging(case)
    (proc,) = advice.procedures
    assert one(proc, "68Ga-DOTA-SSA").status == "due"
    missing = {m.input: m.how_to_get for m in advice.missing}
    assert missing["SSTR PET before PRRT (Krenning score)"] == HOW_SSTR


# --- same sequence / phase ---


def test_portal_ct_baseline_then_mri_follow_up_warns_same_sequence(tmp_path: Path) -> None:
    case = make_case(
        tmp_path,
        [
            ("baseline", "2026-01-05", "baseline", ["ct_portal"]),
            ("fu1", "2026-02-10", "follow_up", ["mr_hbp", "mr_dwi"]),
        ],
        [{"type": "tae", "date": "2026-01-10"}],
    )
    (proc,) = advise_imaging(case).procedures
    assert codes(proc) == ["SAME_SEQUENCE"]
    message = proc.warnings[0].message
    assert "fu1 (mr_hbp, mr_dwi)" in message
    assert "baseline (ct_portal)" in message
    assert "CT and MRI" in message
    # ct_portal alone is not multiphase CT: window 2025-12-13 .. 2026-01-10 ended before on (2026-02-10)
    base = one(proc, "multiphase CT", "pre")
    assert base.window == (D(2025, 12, 13), D(2026, 1, 10))
    assert base.status == "overdue"


def test_lesion_masks_on_different_phases_warn(tmp_path: Path) -> None:
    case = make_case(
        tmp_path,
        [("baseline", "2026-01-05", "baseline", CT), ("fu1", "2026-02-10", "follow_up", CT)],
        [{"type": "tae", "date": "2026-01-10"}],
        lesion_masks={"baseline": "ct_portal", "fu1": "ct_arterial"},
    )
    (proc,) = advise_imaging(case).procedures
    assert codes(proc) == ["SAME_SEQUENCE"]
    assert "ct_portal at the baseline baseline but on ct_arterial at fu1" in proc.warnings[0].message


def test_same_phase_follow_up_has_no_warning(tmp_path: Path) -> None:
    case = make_case(
        tmp_path,
        [("baseline", "2026-01-05", "baseline", CT), ("fu1", "2026-02-10", "follow_up", CT)],
        [{"type": "tae", "date": "2026-01-10"}],
        lesion_masks={"baseline": "ct_portal", "fu1": "ct_portal"},
    )
    (proc,) = advise_imaging(case).procedures
    assert proc.warnings == ()


# --- TARE: MAA, planar LSF, Y-90 imaging ---


def test_planar_only_maa_warns_lsf_and_is_missing(tmp_path: Path) -> None:
    case = make_case(
        tmp_path,
        [
            ("baseline", "2026-02-20", "baseline", CT),
            ("maa", "2026-03-02", "planning", ["planar_maa"]),
        ],
        [{"type": "tare", "date": "2026-03-16", "device": "glass", "activity": "2.5 GBq"}],
    )
    advice = advise_imaging(case)
    (proc,) = advice.procedures
    assert proc.status == "planned"
    # MAA 7-14 days before 2026-03-16 -> 2026-03-02 .. 2026-03-09; on = 2026-03-02: due (planar no credit)
    maa = one(proc, "Tc-99m MAA")
    assert maa.window == (D(2026, 3, 2), D(2026, 3, 9))
    assert maa.status == "due"
    assert codes(proc) == ["PLANAR_LSF"]
    assert "maa (2026-03-02)" in proc.warnings[0].message
    assert "44%" in proc.warnings[0].message
    assert set(proc.warnings[0].citations) == {"Allred2018", "vanRoekel-LSF"}
    assert {m.input: m.how_to_get for m in advice.missing}[
        "Tc-99m MAA SPECT/CT 1-2 weeks before TARE"
    ] == HOW_MAA
    # Y-90 imaging within 24 h: 2026-03-16 .. 2026-03-17, upcoming; first visit 2026-04-16 +/- 14 d
    y90 = one(proc, "Y-90 PET/CT")
    assert y90.window == (D(2026, 3, 16), D(2026, 3, 17))
    assert y90.status == "upcoming"
    assert [v.window for v in visits(proc)] == [(D(2026, 4, 2), D(2026, 4, 30))]


@pytest.mark.parametrize(
    ("maa_date", "status"),
    [
        ("2026-02-01", "overdue"),  # 15 days before: outside 7-14 days
        ("2026-02-02", "done"),  # 14 days: first day of the window
        ("2026-02-09", "done"),  # 7 days: last day of the window
        ("2026-02-10", "overdue"),  # 6 days: too late
    ],
)
def test_maa_window_boundaries(tmp_path: Path, maa_date: str, status: str) -> None:
    case = make_case(
        tmp_path,
        [
            ("baseline", "2026-02-01", "baseline", CT),
            ("maa", maa_date, "planning", ["spect_maa"]),
            ("y90", "2026-02-17", "post_treatment", ["pet_y90"]),
        ],
        [{"type": "tare", "date": "2026-02-16", "device": "glass", "activity": "2.5 GBq"}],
    )
    (proc,) = advise_imaging(case).procedures
    maa = one(proc, "Tc-99m MAA")
    assert maa.window == (D(2026, 2, 2), D(2026, 2, 9))
    assert maa.status == status


@pytest.mark.parametrize(
    ("pet_time", "status"),
    [
        ("2026-02-17T10:30:00+01:00", "done"),  # exactly 24 h
        ("2026-02-17T11:30:00+01:00", "due"),  # 25 h: calendar window still open on 2026-02-17
        ("2026-02-16T09:00:00+01:00", "due"),  # before the treatment (same day)
    ],
)
def test_y90_imaging_within_24_hours(tmp_path: Path, pet_time: str, status: str) -> None:
    case = make_case(
        tmp_path,
        [("baseline", "2026-02-01", "baseline", CT), ("y90", pet_time, "post_treatment", ["pet_y90"])],
        [{"type": "tare", "date": "2026-02-16T10:30:00+01:00", "device": "glass", "activity": "2.5 GBq"}],
    )
    (proc,) = advise_imaging(case, on=D(2026, 2, 17)).procedures
    assert one(proc, "Y-90 PET/CT").status == status


def test_hypothetical_tare_uses_recent_examinations(tmp_path: Path) -> None:
    case = make_case(
        tmp_path,
        [
            ("baseline", "2026-01-02", "baseline", CT),
            ("maa", "2026-03-05", "planning", ["spect_maa"]),
            ("mr", "2026-03-15", "planning", ["mr_hbp", "mr_dwi"]),
        ],
    )
    advice = advise_imaging(case, procedure="tare")
    (proc,) = advice.procedures
    assert proc.status == "hypothetical"
    assert proc.date is None
    assert advice.on == D(2026, 3, 15)
    # as if treated on 2026-03-15: MAA 10 days ago (<= 14) counts; CT 72 days ago (> 28) does not
    assert one(proc, "Tc-99m MAA").status == "done"
    assert one(proc, "multiphase CT").status == "due"
    assert one(proc, "MRI (preferred").status == "done"
    assert all(i.window is None for i in proc.items)
    assert {i.status for i in proc.items if i.phase != "pre"} == {"n/a"}


# --- ablation ---


def test_ablation_rim_names_follow_ups_before_three_months(tmp_path: Path) -> None:
    case = make_case(
        tmp_path,
        [
            ("baseline", "2026-01-05", "baseline", CT),
            ("fu1", "2026-03-10", "follow_up", CT),
            ("fu2", "2026-04-15", "follow_up", CT),  # exactly 3 months: not "< 3 months"
        ],
        [{"type": "ablation", "date": "2026-01-15"}],
    )
    (proc,) = advise_imaging(case).procedures
    assert codes(proc) == ["ABLATION_RIM"]
    message = proc.warnings[0].message
    assert "fu1 (2026-03-10)" in message
    assert "fu2" not in message
    assert "Medscape-ablation-rim" in proc.warnings[0].citations
    # visits: 1 m 2026-02-15 (02-01..03-01, none) overdue; 3 m 2026-04-15 (04-01..04-29) done by fu2;
    # 6 m 2026-07-15 upcoming
    assert [(v.window, v.status) for v in visits(proc)] == [
        ((D(2026, 2, 1), D(2026, 3, 1)), "overdue"),
        ((D(2026, 4, 1), D(2026, 4, 29)), "done"),
        ((D(2026, 7, 1), D(2026, 7, 29)), "upcoming"),
    ]
    names = [c.name for c in proc.criteria]
    assert names[0] == "RECIST 1.1"
    assert "RECIST11-treated" in proc.criteria[0].citations
    assert "nelm response" not in proc.criteria[1].why  # ablation-zone features: no nelm command


# --- visits: boundaries, month arithmetic, next procedure, settings ---


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(D(2026, 1, 31), 1) == D(2026, 2, 28)
    assert add_months(D(2028, 1, 31), 1) == D(2028, 2, 29)
    assert add_months(D(2026, 11, 16), 3) == D(2027, 2, 16)
    assert add_months(D(2026, 2, 16), 12) == D(2027, 2, 16)


@pytest.mark.parametrize(
    ("fu_date", "status"),
    [("2026-02-13", "overdue"), ("2026-02-14", "done"), ("2026-03-14", "done"), ("2026-03-15", "overdue")],
)
def test_visit_window_boundaries(tmp_path: Path, fu_date: str, status: str) -> None:
    # TAE 2026-01-31: 1 month = 2026-02-28 (clamped), window 2026-02-14 .. 2026-03-14
    case = make_case(
        tmp_path,
        [("baseline", "2026-01-20", "baseline", CT), ("fu1", fu_date, "follow_up", CT)],
        [{"type": "tae", "date": "2026-01-31"}],
    )
    (proc,) = advise_imaging(case, on=D(2026, 3, 20)).procedures
    first = visits(proc)[0]
    assert first.window == (D(2026, 2, 14), D(2026, 3, 14))
    assert first.status == status


def test_schedule_stops_at_next_procedure(tmp_path: Path) -> None:
    case = make_case(
        tmp_path,
        [("baseline", "2026-01-05", "baseline", CT), ("fu1", "2026-06-01", "follow_up", CT)],
        [{"type": "ctace", "date": "2026-01-10"}, {"type": "ctace", "date": "2026-03-01"}],
    )
    first, second = advise_imaging(case).procedures
    # first cTACE: 1 m (2026-02-10) kept; 3 m (2026-04-10) is after the second cTACE (2026-03-01)
    assert [v.timing.split(" ")[0] for v in visits(first)] == ["1"]
    # second: 1 m 2026-04-01 (03-18..04-15), 3 m 2026-06-01 (05-18..06-15), 6 m 2026-09-01 upcoming
    assert [v.window[0] for v in visits(second) if v.window] == [
        D(2026, 3, 18),
        D(2026, 5, 18),
        D(2026, 8, 18),
    ]


def test_settings_drop_the_one_month_visit(tmp_path: Path) -> None:
    case = make_case(
        tmp_path, [("baseline", "2026-01-05", "baseline", CT)], [{"type": "tae", "date": "2026-01-10"}]
    )
    settings = ProtocolSettings(follow_up_months_year1=(3, 6, 9, 12))
    (proc,) = advise_imaging(case, on=D(2026, 1, 10), settings=settings).procedures
    assert [v.window for v in visits(proc)] == [(D(2026, 3, 27), D(2026, 4, 24))]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"baseline_max_days_before": -1},
        {"follow_up_tolerance_days": -1},
        {"follow_up_months_year1": ()},
        {"follow_up_months_year1": (3, 1)},
        {"follow_up_interval_after_year1_months": 0},
    ],
)
def test_bad_settings(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must"):
        ProtocolSettings(**kwargs)


# --- no treatment, grade, carcinoid ---


def test_no_treatment_gives_common_work_up(tmp_path: Path) -> None:
    case = make_case(tmp_path, [("baseline", "2026-01-05", "baseline", [*CT, "mr_hbp", "mr_dwi"])])
    advice = advise_imaging(case)
    (proc,) = advice.procedures
    assert proc.procedure == "ldt"
    assert proc.status == "hypothetical"
    assert {i.phase for i in proc.items} == {"pre"}
    assert one(proc, "multiphase CT").status == "done"
    assert one(proc, "MRI (preferred").status == "done"
    assert one(proc, "68Ga-DOTA-SSA").status == "due"
    assert "SSTR PET before the procedure" in [m.input for m in advice.missing]
    assert proc.criteria == ()
    lines = advice.summary_lines()
    assert lines[0] == RESEARCH_USE_DISCLAIMER
    assert any("No procedure is planned" in line for line in lines)


@pytest.mark.parametrize(
    ("grade", "expected"),
    [("G1", None), ("G2", "n/a"), ("G3", "due"), ("NEC", "due"), (None, "n/a")],
)
def test_fdg_pet_by_grade(tmp_path: Path, grade: str | None, expected: str | None) -> None:
    clinical = {"grade": grade} if grade else {}
    case = make_case(tmp_path, [("baseline", "2026-01-05", "baseline", CT)], clinical=clinical)
    (proc,) = advise_imaging(case).procedures
    fdg = items(proc, "FDG PET/CT")
    if expected is None:
        assert fdg == []
    else:
        assert [i.status for i in fdg] == [expected]


def test_carcinoid_syndrome_adds_cardiac_work_up(tmp_path: Path) -> None:
    case = make_case(
        tmp_path, [("baseline", "2026-01-05", "baseline", CT)], clinical={"functional_syndrome": "carcinoid"}
    )
    (proc,) = advise_imaging(case).procedures
    echo = one(proc, "echocardiography")
    assert echo.status == "n/a"
    assert echo.citations == ("ENETS2017-periop",)
    (prrt,) = advise_imaging(case, procedure="prrt").procedures
    assert items(prrt, "echocardiography") == []


# --- missing inputs ---


@pytest.mark.parametrize(
    ("name", "how"),
    [
        ("bilirubin_mg_dl", HOW_LAB),
        ("platelets_10e9_l", HOW_LAB),
        ("clinical.inr", HOW_LAB),
        ("krenning_scores", HOW_SSTR),
        ("lsf_percent", HOW_MAA),
        ("planned_lung_dose_gy", HOW_MAA),
        ("prior_lung_dose_gy", HOW_HISTORY),
        ("netpet_grade", HOW_FDG),
        ("extrahepatic_disease", HOW_STAGING),
        ("ki67_percent", HOW_PATHOLOGY),
        ("hepatic_tumour_burden_percent", HOW_CROSS_SECTIONAL),
        ("portal_vein_thrombosis", HOW_CROSS_SECTIONAL),
        ("metastases_count", HOW_OTHER),  # "ast" must not match inside "metastases"
        ("ecog", HOW_CLINICAL),
    ],
)
def test_how_to_get(name: str, how: str) -> None:
    assert how_to_get(name) == how


def test_missing_inputs_are_listed_and_grouped(ctace_case: Case) -> None:
    names = ["bilirubin_mg_dl", "albumin_g_dl", "krenning_scores", "bilirubin_mg_dl"]
    advice = advise_imaging(ctace_case, missing_inputs=names)
    assert [m.input for m in advice.missing] == ["bilirubin_mg_dl", "albumin_g_dl", "krenning_scores"]
    lines = [line for line in advice.summary_lines() if line.startswith("The case still lacks")]
    assert lines == [
        f"The case still lacks: bilirubin_mg_dl; albumin_g_dl (from: {HOW_LAB}).",
        f"The case still lacks: krenning_scores (from: {HOW_SSTR}).",
    ]


# --- bad input ---


def test_unknown_procedure(ctace_case: Case) -> None:
    with pytest.raises(InputError, match="'rfa' is not one the imaging advisor covers"):
        advise_imaging(ctace_case, procedure="rfa")


def test_procedure_outside_the_advisor(ctace_case: Case) -> None:
    with pytest.raises(InputError, match="'ssa'"):
        advise_imaging(ctace_case, procedure="ssa")


def test_item_window_must_be_ordered() -> None:
    with pytest.raises(pydantic.ValidationError, match="after it ends"):
        AdviceItem(
            phase="pre",
            modality="CT",
            protocol="p",
            timing="t",
            window=(D(2026, 2, 2), D(2026, 2, 1)),
            status="due",
            evidence=None,
            purpose="x",
            citations=("ECIO-ESOI2020",),
        )


def test_advice_must_define_every_cited_id(ctace_case: Case) -> None:
    advice = advise_imaging(ctace_case)
    citations = dict(advice.citations)
    citations.pop("ECIO-ESOI2020")
    with pytest.raises(pydantic.ValidationError, match="ECIO-ESOI2020"):
        ImagingAdvice(
            disclaimer=advice.disclaimer,
            on=advice.on,
            procedures=advice.procedures,
            missing=advice.missing,
            citations=citations,
        )


# --- output shape and citations ---


def test_json_shape(ctace_case: Case) -> None:
    doc = advise_imaging(ctace_case).model_dump(mode="json")
    assert set(doc) == {"disclaimer", "on", "procedures", "missing", "citations"}
    assert doc["on"] == "2026-04-01"
    proc = doc["procedures"][0]
    assert set(proc) == {"procedure", "label", "date", "status", "items", "criteria", "warnings"}
    assert proc["date"] == "2026-03-02"
    item = proc["items"][0]
    assert set(item) == {
        "phase",
        "modality",
        "protocol",
        "timing",
        "window",
        "status",
        "evidence",
        "purpose",
        "citations",
    }
    assert item["window"] == ["2026-02-02", "2026-03-02"]
    assert set(proc["criteria"][0]) == {"name", "why", "citations"}
    assert set(proc["warnings"][0]) == {"code", "message", "citations"}
    assert set(next(iter(doc["citations"].values()))) == {"text", "url"}


def test_every_source_cited_by_a_rule_is_registered(tmp_path: Path) -> None:
    case = make_case(
        tmp_path,
        [("baseline", "2026-01-05", "baseline", [*CT, "pet_fdg"])],
        clinical={"grade": "G3", "functional_syndrome": "carcinoid"},
    )
    for procedure in ("ablation", "tae", "ctace", "debtace", "tare", "prrt", "resection", "transplant"):
        advice = advise_imaging(case, procedure=procedure)
        for cid, entry in advice.citations.items():
            assert entry == CitationOut(text=PROTOCOL_SOURCES[cid].text, url=PROTOCOL_SOURCES[cid].url)
        for proc in advice.procedures:
            assert proc.cited() <= set(advice.citations)
            assert all(i.citations for i in proc.items)


def test_summary_lines_cite_every_item(ctace_case: Case) -> None:
    lines = advise_imaging(ctace_case).summary_lines()
    advice_lines = [line for line in lines if line.startswith("  [")]
    assert advice_lines
    assert all(line.rstrip().endswith("]") for line in advice_lines)
    assert any("2026-03-19 to 2026-04-16 - due" in line for line in advice_lines)


# --- the synthetic phantom ---


def test_phantom_tare(phantom_case: Path) -> None:
    advice = advise_imaging(load_case(phantom_case))
    assert advice.on == D(2026, 8, 15)  # fu2, the latest time point
    (proc,) = advice.procedures
    assert proc.procedure == "tare"
    assert proc.status == "performed"
    assert proc.date == D(2026, 2, 16)
    y90 = one(proc, "Y-90 PET/CT")
    assert y90.window == (D(2026, 2, 16), D(2026, 2, 17))
    assert y90.status == "done"
    assert y90.evidence is not None
    assert y90.evidence.startswith("time point y90 (pet_y90) on 2026-02-17")
    # MAA 2026-02-02 is exactly 14 days before: first day of the window
    assert one(proc, "Tc-99m MAA").status == "done"
    assert one(proc, "68Ga-DOTA-SSA").status == "done"
    # baseline 2026-01-12 is 35 days before the TARE: outside RECIST's 4 weeks
    base = one(proc, "multiphase CT")
    assert base.status == "overdue"
    assert base.evidence is not None
    assert "35 days before" in base.evidence
    # visits from 2026-02-16: 1 m 03-16 overdue, 3 m 05-16 (fu1 05-17) done, 6 m 08-16 (fu2 08-15) done,
    # 9 m 11-16 upcoming
    assert [(v.window[0] if v.window else None, v.status) for v in visits(proc)] == [
        (D(2026, 3, 2), "overdue"),
        (D(2026, 5, 2), "done"),
        (D(2026, 8, 2), "done"),
        (D(2026, 11, 2), "upcoming"),
    ]
    assert proc.warnings == ()  # SPECT MAA present; follow-ups on the baseline's CT phases
    assert advice.missing == ()  # performed: no pre-procedural gaps listed
