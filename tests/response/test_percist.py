"""PERCIST 1.0 (Wahl 2009): hottest-lesion SULpeak, thresholds at and around each boundary, TLG,
CMR against the liver, measurability, new avid lesions, quality checks.

Every expected category is worked out by hand from the published rule in the test's comment:
PMR ≥ 30 % and ≥ 0.8 SUL down from the baseline; PMD > 30 % and > 0.8 SUL up, or TLG > 75 % up,
or a new avid lesion; CMR below the liver SUL mean; measurable baseline ≥ 1.5 × liver mean + 2 SD.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nelm.errors import ConfigError
from nelm.response.exact import Change, Direction
from nelm.response.model import (
    Certainty,
    Lesion,
    LesionMeasurement,
    LesionState,
    NewLesionFinding,
    ResponseCase,
    TimePoint,
)
from nelm.response.percist import PercistSettings, assess_percist, hottest_uptake
from nelm.response.results import CriterionResult

T0 = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
F = Fraction


def _scan(
    tp_id: str,
    day: int,
    suls: Mapping[str, str | Fraction | LesionState | None],
    *,
    tlg: Mapping[str, str] | None = None,
    liver: tuple[str, str] | None = ("1.0", "0.1"),
    uptake: str | None = None,
    new: Sequence[NewLesionFinding] = (),
) -> TimePoint:
    """A PET time point; ``suls`` maps lesion → SULpeak (or a state for a lesion without one)."""
    measurements = {}
    for lid, value in suls.items():
        if isinstance(value, LesionState):
            measurements[lid] = LesionMeasurement(lid, state=value, coalesced_into=None)
        else:
            sul = None if value is None else F(value)
            t = None if tlg is None or lid not in tlg else F(tlg[lid])
            measurements[lid] = LesionMeasurement(lid, long_mm=F(20), sul_peak=sul, tlg=t)
    return TimePoint(
        tp_id,
        T0 + timedelta(days=day),
        measurements=measurements,
        new_lesions=tuple(new),
        liver_sul_mean=None if liver is None else F(liver[0]),
        liver_sul_sd=None if liver is None else F(liver[1]),
        uptake_time_min=None if uptake is None else F(uptake),
    )


def _case(*scans: TimePoint) -> ResponseCase:
    lesions = {lid: Lesion(lid) for lid in scans[0].measurements}
    return ResponseCase("P1", lesions, scans)


def _categories(result: CriterionResult) -> list[str]:
    return [row.category for row in result.time_points[1:]]


def _one(baseline: str | Fraction, follow_up: str | Fraction, **kwargs: object) -> CriterionResult:
    case = _case(_scan("baseline", 0, {"L1": baseline}), _scan("fu1", 60, {"L1": follow_up}, **kwargs))  # type: ignore[arg-type]
    return assess_percist(case)


# Liver mean 1.0, SD 0.1: measurable from 1.5 × 1.0 + 2 × 0.1 = 1.7; CMR below 1.0. Every baseline
# here is ≥ 1.7 and every follow-up ≥ 1.0, so only the SULpeak change decides.
@pytest.mark.parametrize(
    ("baseline", "follow_up", "expected"),
    [
        ("4.00", "2.80", "PMR"),  # -1.20 / 4.00 = -30 % exactly (≥ 30 %), -1.20 ≥ 0.8
        ("4.00", "2.81", "SMD"),  # -1.19 / 4.00 = -29.75 %
        ("2.00", "1.20", "PMR"),  # -0.80 exactly (≥ 0.8), -40 %
        ("2.50", "1.71", "SMD"),  # -0.79 < 0.8 although -31.6 %
        ("4.00", "5.20", "SMD"),  # +1.20 / 4.00 = +30 % exactly: PMD needs more than 30 %
        ("100.00", "130.01", "PMD"),  # +30.01 / 100 = +30.01 %, +30.01
        ("2.70", "3.51", "SMD"),  # +0.81 but +0.81 / 2.70 = +30 % exactly
        ("2.70", "3.51027", "PMD"),  # +0.81027 / 2.70 = +30.01 %, +0.81027 > 0.8
        ("2.00", "2.80", "SMD"),  # +40 % but +0.80 exactly: PMD needs more than 0.8
        ("2.00", "2.81", "PMD"),  # +40.5 %, +0.81
    ],
)
def test_sulpeak_thresholds(baseline: str, follow_up: str, expected: str) -> None:
    assert _categories(_one(baseline, follow_up)) == [expected]


def test_pmr_with_both_minimums_met_exactly() -> None:
    # 8/3 → 8/3 - 4/5 = 28/15: the ratio is 28/15 · 3/8 = 84/120 = 0.7 (-30 % exactly) and the drop
    # is 0.8 exactly; both are "at least", so PMR.
    result = _one(F(8, 3), F(28, 15))
    assert _categories(result) == ["PMR"]
    assert "PMR: hottest SULpeak 1.87 SUL (L1) is -30.00 % and -0.80 SUL" in result.time_points[1].rule


def test_the_percent_is_not_compared_in_floating_point() -> None:
    # In binary floating point 16.90 → 11.83 is -29.999999999999993 % (would miss PMR) and
    # 4.00 → 5.20 is +30.000000000000004 % (would call PMD); exactly they are -30 % (PMR: -5.07
    # ≥ 0.8) and +30 % (not more than 30 %: SMD).
    assert 100 * (11.83 - 16.9) / 16.9 > -30
    assert 100 * (5.2 - 4) / 4 > 30
    assert _categories(_one("16.90", "11.83")) == ["PMR"]
    assert _categories(_one("4.00", "5.20")) == ["SMD"]


@pytest.mark.parametrize(
    ("follow_up_tlg", "expected"),
    [
        ("175.0", "SMD"),  # +75 % exactly: PMD needs more than 75 %
        ("175.1", "PMD"),  # +75.1 %
    ],
)
def test_tlg_threshold(follow_up_tlg: str, expected: str) -> None:
    case = _case(
        _scan("baseline", 0, {"L1": "4.00"}, tlg={"L1": "100.0"}),
        _scan("fu1", 60, {"L1": "4.00"}, tlg={"L1": follow_up_tlg}),
    )
    result = assess_percist(case)
    assert _categories(result) == [expected]
    if expected == "PMD":
        assert "TLG 175.10 SUL·mL" in result.time_points[1].rule


def test_tlg_is_summed_over_present_lesions() -> None:
    # 60 + 40 = 100 at the baseline; 150 + 26 = 176 at the follow-up: +76 % > 75 %.
    case = _case(
        _scan("baseline", 0, {"L1": "4.00", "L2": "3.00"}, tlg={"L1": "60", "L2": "40"}),
        _scan("fu1", 60, {"L1": "4.00", "L2": "3.00"}, tlg={"L1": "150", "L2": "26"}),
    )
    assert _categories(assess_percist(case)) == ["PMD"]


def test_incomplete_tlg_is_noted_not_guessed() -> None:
    case = _case(
        _scan("baseline", 0, {"L1": "4.00", "L2": "3.00"}, tlg={"L1": "60", "L2": "40"}),
        _scan("fu1", 60, {"L1": "4.00", "L2": "3.00"}, tlg={"L1": "100"}),
    )
    row = assess_percist(case).time_points[1]
    assert row.category == "SMD"
    assert any("TLG incomplete (none for L2)" in n for n in row.notes)


@pytest.mark.parametrize(
    ("follow_up", "liver_mean", "expected"),
    [
        ("1.99", "2.00", "CMR"),  # below the liver mean of the follow-up scan
        ("2.00", "2.00", "PMR"),  # equal is not below; -60 %, -3.0 SUL is PMR
        ("2.40", "2.50", "CMR"),  # the follow-up's own liver mean is the reference
    ],
)
def test_cmr_below_the_liver_mean(follow_up: str, liver_mean: str, expected: str) -> None:
    case = _case(
        _scan("baseline", 0, {"L1": "5.00"}, liver=("2.00", "0.30")),
        _scan("fu1", 60, {"L1": follow_up}, liver=(liver_mean, "0.30")),
    )
    assert _categories(assess_percist(case)) == [expected]


def test_cmr_when_every_lesion_has_disappeared() -> None:
    case = _case(
        _scan("baseline", 0, {"L1": "5.00", "L2": "3.00"}),
        _scan("fu1", 60, {"L1": LesionState.DISAPPEARED, "L2": LesionState.DISAPPEARED}, liver=None),
    )
    row = assess_percist(case).time_points[1]
    assert row.category == "CMR"
    assert row.value == 0


def test_cmr_cannot_be_checked_without_the_liver_mean() -> None:
    # 5.00 → 0.50 is -90 %: PMR by the change; CMR unknown without the scan's liver mean.
    case = _case(_scan("baseline", 0, {"L1": "5.00"}), _scan("fu1", 60, {"L1": "0.50"}, liver=None))
    row = assess_percist(case).time_points[1]
    assert row.category == "PMR"
    assert any("CMR could not be checked" in n for n in row.notes)


@pytest.mark.parametrize(
    ("baseline", "measurable"),
    [
        ("3.59", False),  # threshold 1.5 × 2.00 + 2 × 0.30 = 3.60
        ("3.60", True),  # at the threshold: measurable (≥)
    ],
)
def test_baseline_measurability(baseline: str, measurable: bool) -> None:
    case = _case(
        _scan("baseline", 0, {"L1": baseline}, liver=("2.00", "0.30")),
        _scan("fu1", 60, {"L1": "1.00"}, liver=("2.00", "0.30")),
    )
    result = assess_percist(case)
    if measurable:
        assert _categories(result) == ["CMR"]  # 1.00 < liver mean 2.00
        assert "baseline measurable" in result.time_points[0].rule
    else:
        assert _categories(result) == ["NE"]
        assert result.best_overall_response == "NE"
        assert "baseline not measurable" in result.time_points[1].rule
        assert "3.59 SUL (L1) < 1.5 × liver mean 2.00 SUL + 2 × SD 0.30 SUL = 3.60 SUL" in result.notes[0]


def test_measurability_not_checked_without_a_liver_reference() -> None:
    case = _case(
        _scan("baseline", 0, {"L1": "4.00"}, liver=None), _scan("fu1", 60, {"L1": "2.00"}, liver=None)
    )
    result = assess_percist(case)
    assert _categories(result) == ["PMR"]  # -50 %, -2.0
    assert any("measurability not checked" in n for n in result.time_points[1].notes)
    assert "liver_sul_mean and liver_sul_sd missing" in result.notes[0]


def test_no_sulpeak_at_the_baseline_gives_no_response() -> None:
    case = _case(_scan("baseline", 0, {"L1": None}), _scan("fu1", 60, {"L1": "2.00"}))
    result = assess_percist(case)
    assert _categories(result) == ["NE"]
    assert "no PERCIST response" in result.time_points[1].rule


@pytest.mark.parametrize(
    ("finding", "expected", "status"),
    [
        (NewLesionFinding("X1"), "PMD", "definite"),  # definite, avidity unknown: counts
        (NewLesionFinding("X1", avid=True), "PMD", "definite"),
        (NewLesionFinding("X1", avid=False), "PMR", "none"),  # not avid: not PERCIST progression
        (NewLesionFinding("X1", certainty=Certainty.EQUIVOCAL, avid=True), "PMR", "equivocal"),
    ],
)
def test_new_lesions(finding: NewLesionFinding, expected: str, status: str) -> None:
    # 4.00 → 2.00: -50 %, -2.0, PMR unless a new avid lesion makes it PMD.
    result = _one("4.00", "2.00", new=[finding])
    assert _categories(result) == [expected]
    row = result.time_points[1]
    assert row.new_lesions == status
    if expected == "PMD":
        assert "new avid lesion(s) X1" in row.rule
    else:
        assert any("X1" in n for n in row.notes)


def test_equivocal_new_lesion_confirmed_later_dates_progression_back() -> None:
    case = _case(
        _scan("baseline", 0, {"L1": "4.00"}),
        _scan("fu1", 60, {"L1": "2.00"}, new=[NewLesionFinding("X1", certainty=Certainty.EQUIVOCAL)]),
        _scan("fu2", 120, {"L1": "2.00", "X1": "3.00"}),
    )
    result = assess_percist(case)
    assert _categories(result)[0] == "PMD"
    assert result.progression_time_point == "fu1"


def test_hottest_lesion_changes_identity() -> None:
    # Baseline hottest L1 5.00. Follow-up: L1 1.00, L2 4.00, so the hottest is L2 at 4.00:
    # -20 % from 5.00 is SMD (following L1 alone would have been -80 %, PMR).
    case = _case(
        _scan("baseline", 0, {"L1": "5.00", "L2": "3.00"}),
        _scan("fu1", 60, {"L1": "1.00", "L2": "4.00"}),
    )
    result = assess_percist(case)
    row = result.time_points[1]
    assert row.category == "SMD"
    assert row.value == 4.0
    assert "(L2)" in row.rule
    assert result.targets == ["L1"]
    assert hottest_uptake(case, case.time_points[1]).lesion_id == "L2"


def test_hottest_taken_over_the_lesions_measured() -> None:
    case = _case(
        _scan("baseline", 0, {"L1": "5.00", "L2": "3.00"}),
        _scan("fu1", 60, {"L1": "2.00", "L2": None}),
    )
    row = assess_percist(case).time_points[1]
    assert row.category == "PMR"  # -60 %, -3.0
    assert any("no SULpeak given for present lesion(s) L2" in n for n in row.notes)


def test_no_sulpeak_at_a_follow_up_is_ne() -> None:
    case = _case(_scan("baseline", 0, {"L1": "5.00"}), _scan("fu1", 60, {"L1": None}))
    row = assess_percist(case).time_points[1]
    assert row.category == "NE"
    assert "no SULpeak measured" in row.rule


def test_lesion_not_evaluated_and_nothing_measured_is_ne() -> None:
    case = _case(
        _scan("baseline", 0, {"L1": "5.00", "L2": "3.00"}),
        _scan("fu1", 60, {"L1": LesionState.DISAPPEARED}),
    )
    row = assess_percist(case).time_points[1]
    assert row.category == "NE"
    assert "L2 not evaluated" in row.rule


def test_quality_warnings() -> None:
    case = _case(
        _scan("baseline", 0, {"L1": "5.00"}, liver=("2.00", "0.30"), uptake="55"),
        # liver 2.50: +25 % and +0.50 (both above 20 % and 0.3): warn; uptake 71: outside 50-70 and
        # 16 min after the baseline's 55 (more than 15): two warnings.
        _scan("fu1", 60, {"L1": "4.00"}, liver=("2.50", "0.30"), uptake="71"),
        # liver 2.30: +15 %: no warning; uptake 70: inside, 15 min from 55 exactly: no warning.
        _scan("fu2", 120, {"L1": "4.00"}, liver=("2.30", "0.30"), uptake="70"),
    )
    rows = assess_percist(case).time_points
    warnings1 = [n for n in rows[1].notes if n.startswith("quality warning")]
    assert len(warnings1) == 3
    assert any("liver SUL mean 2.50 SUL differs from the baseline's 2.00 SUL" in n for n in warnings1)
    assert any("outside 50-70 min" in n for n in warnings1)
    assert any("by more than 15 min" in n for n in warnings1)
    assert not [n for n in rows[2].notes if n.startswith("quality warning")]


def test_liver_drift_needs_both_percent_and_absolute() -> None:
    # 1.00 → 1.25 is +25 % but only +0.25 SUL (≤ 0.3): no warning.
    case = _case(
        _scan("baseline", 0, {"L1": "5.00"}, liver=("1.00", "0.10")),
        _scan("fu1", 60, {"L1": "4.00"}, liver=("1.25", "0.10")),
    )
    assert not [n for n in assess_percist(case).time_points[1].notes if n.startswith("quality warning")]


def test_baseline_uptake_outside_the_window_is_warned() -> None:
    case = _case(_scan("baseline", 0, {"L1": "5.00"}, uptake="45"), _scan("fu1", 60, {"L1": "4.00"}))
    assert any("uptake time 45 min is outside" in n for n in assess_percist(case).time_points[0].notes)


def test_best_overall_response_and_time_to_progression_in_percist_names() -> None:
    case = _case(
        _scan("baseline", 0, {"L1": "4.00"}),
        _scan("fu1", 60, {"L1": "2.00"}),  # -50 %: PMR
        _scan("fu2", 120, {"L1": "5.30"}),  # +32.5 %, +1.30 over the baseline: PMD
    )
    result = assess_percist(case)
    assert _categories(result) == ["PMR", "PMD"]
    assert result.best_overall_response == "PMR"
    assert result.progression_time_point == "fu2"
    assert result.time_to_progression_days == 120
    assert any("FDG" in n and "extrapolation" in n for n in result.notes)
    assert any("SUL" in n and "lean body mass" in n for n in result.notes)


def test_progression_reference_setting() -> None:
    # 4.00 → 2.00 → 2.90: against the baseline -27.5 % (SMD); against the nadir 2.00 +45 % and
    # +0.90 (PMD with progression_reference="nadir").
    case = _case(
        _scan("baseline", 0, {"L1": "4.00"}),
        _scan("fu1", 60, {"L1": "2.00"}),
        _scan("fu2", 120, {"L1": "2.90"}),
    )
    assert _categories(assess_percist(case)) == ["PMR", "SMD"]
    nadir = assess_percist(case, PercistSettings(progression_reference="nadir"))
    assert _categories(nadir) == ["PMR", "PMD"]
    assert nadir.settings["progression_reference"] == "nadir"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"progression_reference": "peak"},
        {"response": Change(Direction.INCREASE, "30")},
        {"progression": Change(Direction.DECREASE, "30")},
        {"response_min_sul": F(-1)},
        {"uptake_min_minutes": F(80)},
    ],
)
def test_bad_settings(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        PercistSettings(**kwargs)  # type: ignore[arg-type]


_RANK = {"CMR": 0, "PMR": 1, "SMD": 2, "PMD": 3}
_SUL = st.integers(min_value=0, max_value=3000).map(lambda n: F(n, 100))


@settings(max_examples=150, deadline=None)
@given(
    baseline=st.lists(
        st.integers(min_value=170, max_value=3000).map(lambda n: F(n, 100)), min_size=1, max_size=3
    ),
    follow_up=st.lists(_SUL, min_size=3, max_size=3),
    shrink=st.lists(st.fractions(min_value=0, max_value=1), min_size=3, max_size=3),
)
def test_shrinking_never_worsens_the_category(
    baseline: list[Fraction], follow_up: list[Fraction], shrink: list[Fraction]
) -> None:
    ids = [f"L{i}" for i in range(1, len(baseline) + 1)]
    base = _scan("baseline", 0, dict(zip(ids, baseline, strict=False)))
    original = _case(base, _scan("fu1", 60, dict(zip(ids, follow_up, strict=False))))
    smaller = _case(
        base, _scan("fu1", 60, {lid: v * k for lid, v, k in zip(ids, follow_up, shrink, strict=False)})
    )
    before = _categories(assess_percist(original))[0]
    after = _categories(assess_percist(smaller))[0]
    assert _RANK[after] <= _RANK[before]


@settings(max_examples=60, deadline=None)
@given(
    baseline=st.integers(min_value=170, max_value=3000), follow_up=st.integers(min_value=0, max_value=3000)
)
def test_a_definite_new_lesion_is_always_progression(baseline: int, follow_up: int) -> None:
    result = _one(F(baseline, 100), F(follow_up, 100), new=[NewLesionFinding("X1")])
    assert _categories(result) == ["PMD"]
