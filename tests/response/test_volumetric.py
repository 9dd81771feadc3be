"""qEASL / vRECIST (sums of target volumes) and whole-liver enhancing tumour burden (ETB).

Expected categories are worked out by hand from the published rule: response ≥ 65 % decrease
from the baseline, progression ≥ 73 % increase over the nadir (Tacher 2016; the rounded cube-law
equivalents of RECIST's -30 % / +20 %); CR when no volume is left.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nelm.errors import ConfigError, InputError
from nelm.response.exact import Change, Direction
from nelm.response.model import (
    Lesion,
    LesionMeasurement,
    LesionState,
    NewLesionFinding,
    NonTargetCall,
    ResponseCase,
    TimePoint,
)
from nelm.response.results import CriterionResult
from nelm.response.sums import SumThresholds
from nelm.response.volumetric import (
    CUBE_LAW_PROGRESSION_PERCENT,
    CUBE_LAW_RESPONSE_PERCENT,
    VOLUMETRIC_THRESHOLDS,
    EtbSettings,
    VolumetricSettings,
    assess_etb,
    assess_qeasl,
    assess_vrecist,
    cube_law_percent,
)

T0 = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)
F = Fraction
Value = str | Fraction | LesionState | None


def _m(
    lid: str, enhancing: Value, volume: str | None = None, long_mm: str | None = "30"
) -> LesionMeasurement:
    if isinstance(enhancing, LesionState):
        return LesionMeasurement(lid, state=enhancing)
    return LesionMeasurement(
        lid,
        long_mm=None if long_mm is None else F(long_mm),
        volume_ml=None if volume is None else F(volume),
        enhancing_volume_ml=None if enhancing is None else F(enhancing),
    )


def _tp(
    tp_id: str,
    day: int,
    lesions: Mapping[str, Value] | Sequence[LesionMeasurement] = (),
    /,
    **kwargs: object,
) -> TimePoint:
    if isinstance(lesions, Mapping):
        measurements = {lid: _m(lid, v) for lid, v in lesions.items()}
    else:
        measurements = {m.lesion_id: m for m in lesions}
    return TimePoint(tp_id, T0 + timedelta(days=day), measurements=measurements, **kwargs)  # type: ignore[arg-type]


def _case(
    *tps: TimePoint, targets: Sequence[str] | None = None, organs: Mapping[str, str] | None = None
) -> ResponseCase:
    lesions = {lid: Lesion(lid, organ=(organs or {}).get(lid, "liver")) for lid in tps[0].measurements}
    return ResponseCase("P1", lesions, tps, targets=targets)


def _categories(result: CriterionResult) -> list[str]:
    return [row.category for row in result.time_points[1:]]


# --- the cube law -------------------------------------------------------------------------------


def test_cube_law_derivation_exact() -> None:
    # A sphere's volume goes with the cube of its diameter: -30 % in diameter leaves 0.7³ = 0.343
    # of the volume (a 0.657 decrease); +20 % gives 1.2³ = 1.728 (a 0.728 increase).
    assert 1 - (1 - Fraction(30, 100)) ** 3 == Fraction(657, 1000)
    assert (1 + Fraction(20, 100)) ** 3 - 1 == Fraction(728, 1000)
    assert cube_law_percent(-30) == Fraction(-657, 10)
    assert cube_law_percent(20) == Fraction(728, 10)
    assert Fraction(657, 10) == CUBE_LAW_RESPONSE_PERCENT
    assert Fraction(728, 10) == CUBE_LAW_PROGRESSION_PERCENT
    # The published thresholds round them: 65.7 → 65 (down) and 72.8 → 73 (up).
    assert VOLUMETRIC_THRESHOLDS.response.fraction == 65
    assert VOLUMETRIC_THRESHOLDS.progression.fraction == 73
    assert VOLUMETRIC_THRESHOLDS.response.inclusive
    assert VOLUMETRIC_THRESHOLDS.progression.inclusive
    assert VOLUMETRIC_THRESHOLDS.progression_floor is None


def test_result_documents_the_rounding() -> None:
    result = assess_qeasl(_case(_tp("baseline", 0, {"L1": "10"}), _tp("fu1", 60, {"L1": "9"})))
    assert result.settings["cube_law_response_percent"] == "65.7"
    assert result.settings["cube_law_progression_percent"] == "72.8"
    assert any("0.657" in n and "0.728" in n and "65 %" in n and "73 %" in n for n in result.notes)


# --- qEASL thresholds ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("follow_up", "expected"),
    [
        ("35.000", "PR"),  # 100 → 35: -65 % exactly (at least 65 %)
        ("35.100", "SD"),  # -64.9 %
        ("34.999", "PR"),  # -65.001 %
        ("0", "CR"),  # no enhancing volume left
        ("172.999", "SD"),  # +72.999 % over the nadir (the baseline)
        ("173.000", "PD"),  # +73 % exactly
    ],
)
def test_qeasl_thresholds_single_follow_up(follow_up: str, expected: str) -> None:
    result = assess_qeasl(_case(_tp("baseline", 0, {"L1": "100.000"}), _tp("fu1", 60, {"L1": follow_up})))
    assert _categories(result) == [expected]
    assert result.time_points[1].target == expected


@pytest.mark.parametrize(
    ("second", "expected"),
    [
        ("86.500", "PD"),  # nadir 50 → 86.5: +36.5 / 50 = +73 % exactly
        ("86.499", "SD"),  # +72.998 %; and -13.5 % from the baseline, so SD
    ],
)
def test_qeasl_progression_against_the_nadir(second: str, expected: str) -> None:
    case = _case(
        _tp("baseline", 0, {"L1": "100.000"}),
        _tp("fu1", 60, {"L1": "50.000"}),  # -50 %: SD (PR needs 65 %), and the nadir
        _tp("fu2", 120, {"L1": second}),
    )
    result = assess_qeasl(case)
    assert _categories(result) == ["SD", expected]
    assert result.time_points[2].nadir_time_point == "fu1"


def test_qeasl_sums_the_targets() -> None:
    # 60 + 40 = 100 → 20 + 15 = 35: -65 % exactly.
    case = _case(_tp("baseline", 0, {"L1": "60", "L2": "40"}), _tp("fu1", 60, {"L1": "20", "L2": "15"}))
    result = assess_qeasl(case)
    assert result.targets == ["L1", "L2"]
    assert result.time_points[0].value == 100
    assert _categories(result) == ["PR"]


def test_vrecist_uses_the_total_volume() -> None:
    # Enhancing 40 → 10 (-75 %: qEASL PR) while the lesion keeps its volume 80 → 80 (vRECIST SD):
    # the necrosis of embolisation shows in qEASL only.
    case = _case(
        _tp("baseline", 0, [_m("L1", "40", volume="80")]),
        _tp("fu1", 60, [_m("L1", "10", volume="80")]),
    )
    assert _categories(assess_qeasl(case)) == ["PR"]
    vrecist = assess_vrecist(case)
    assert _categories(vrecist) == ["SD"]
    assert vrecist.criterion == "vRECIST"
    assert vrecist.time_points[1].measure == "sum of volumes"


def test_vrecist_cr_when_every_target_is_gone() -> None:
    case = _case(
        _tp("baseline", 0, [_m("L1", "40", volume="80")]),
        _tp("fu1", 60, {"L1": LesionState.DISAPPEARED}),
    )
    assert _categories(assess_vrecist(case)) == ["CR"]


def test_exact_cube_law_thresholds_are_one_setting_away() -> None:
    exact = VolumetricSettings(
        thresholds=SumThresholds(
            response=Change(Direction.DECREASE, CUBE_LAW_RESPONSE_PERCENT),
            progression=Change(Direction.INCREASE, CUBE_LAW_PROGRESSION_PERCENT),
        )
    )
    # 100 → 34.5 is -65.5 %: PR at the published 65 % but not at the exact 65.7 %.
    case = _case(_tp("baseline", 0, {"L1": "100"}), _tp("fu1", 60, {"L1": "34.5"}))
    assert _categories(assess_qeasl(case)) == ["PR"]
    assert _categories(assess_qeasl(case, exact)) == ["SD"]


# --- missing values, NE -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("follow_up", "reason"),
    [
        (_m("L2", None), "L2 has no enhancing volume"),
        (LesionMeasurement("L2", state=LesionState.TOO_SMALL), "L2 too small to measure"),
        (LesionMeasurement("L2", state=LesionState.NOT_EVALUATED), "L2 not evaluated"),
    ],
)
def test_missing_values_are_ne(follow_up: LesionMeasurement, reason: str) -> None:
    case = _case(_tp("baseline", 0, {"L1": "60", "L2": "40"}), _tp("fu1", 60, [_m("L1", "30"), follow_up]))
    row = assess_qeasl(case).time_points[1]
    assert row.category == "NE"
    assert row.value is None
    assert reason in row.rule


def test_measured_targets_alone_meeting_progression_is_pd() -> None:
    # L1 alone: 60 → 110 with L2 unknown; the sum is at least 110, +10 % over 100: not PD, so NE.
    # L1 alone 60 → 173: at least +73 % over the baseline/nadir 100: PD whatever L2 is.
    for l1, expected in (("110", "NE"), ("173", "PD")):
        case = _case(_tp("baseline", 0, {"L1": "60", "L2": "40"}), _tp("fu1", 60, [_m("L1", l1)]))
        assert _categories(assess_qeasl(case)) == [expected]


# --- target selection ---------------------------------------------------------------------------


def test_targets_are_enhancing_measurable_and_at_most_two_per_organ() -> None:
    lesions = {
        "L1": Lesion("L1"),
        "L2": Lesion("L2"),
        "L3": Lesion("L3"),
        "L4": Lesion("L4"),
        "L5": Lesion("L5", previously_treated=True),
        "L6": Lesion("L6"),
    }
    base = _tp(
        "baseline",
        0,
        [
            _m("L1", "5"),
            _m("L2", "0"),  # does not enhance: not a target
            _m("L3", "20", long_mm="9"),  # 9 mm: not RECIST-measurable
            _m("L4", "8"),
            _m("L5", "50"),  # previously treated
            _m("L6", "3", long_mm=None),  # volume only: eligible on its volume
        ],
    )
    result = assess_qeasl(ResponseCase("P1", lesions, [base, _tp("fu1", 60, {lid: "1" for lid in lesions})]))
    assert result.targets == ["L4", "L1"]  # the two largest enhancing volumes in the liver
    assert set(result.non_targets) == {"L2", "L3", "L5", "L6"}
    assert "by enhancing volume" in result.target_selection


def test_reader_target_must_enhance() -> None:
    case = _case(
        _tp("baseline", 0, {"L1": "5", "L2": "0"}), _tp("fu1", 60, {"L1": "1", "L2": "0"}), targets=["L2"]
    )
    with pytest.raises(InputError, match="L2"):
        assess_qeasl(case)


def test_reader_targets_volume_only() -> None:
    base = _tp("baseline", 0, [_m("L1", "5", long_mm=None)])
    case = ResponseCase(
        "P1", {"L1": Lesion("L1")}, [base, _tp("fu1", 60, [_m("L1", "1", long_mm=None)])], targets=["L1"]
    )
    assert _categories(assess_qeasl(case)) == ["PR"]  # -80 %


# --- overall response, BOR ----------------------------------------------------------------------


def test_new_lesion_and_non_target_progression_are_pd() -> None:
    base = _tp("baseline", 0, {"L1": "100", "L2": "10", "L3": "9", "L4": "8"})
    fu1 = _tp("fu1", 60, {"L1": "20", "L2": "2", "L3": "9", "L4": "8"}, new_lesions=[NewLesionFinding("X1")])
    fu2 = _tp(
        "fu2",
        120,
        {"L1": "20", "L2": "2", "L3": "9", "L4": "8"},
        non_target_call=NonTargetCall.UNEQUIVOCAL_PROGRESSION,
    )
    result = assess_qeasl(_case(base, fu1, fu2))
    assert result.targets == ["L1", "L2"]
    assert [r.target for r in result.time_points[1:]] == ["PR", "PR"]  # 110 → 22: -80 %
    assert _categories(result) == ["PD", "PD"]
    assert result.progression_time_point == "fu1"


def test_cr_needs_non_target_cr() -> None:
    base = _tp("baseline", 0, {"L1": "100", "L2": "10", "L3": "9"})
    fu = _tp("fu1", 60, {"L1": "0", "L2": "0", "L3": "9"})
    row = assess_qeasl(_case(base, fu)).time_points[1]
    assert row.target == "CR"
    assert row.non_target == "non-CR/non-PD"
    assert row.category == "PR"  # RECIST Table 1: target CR, non-target persisting


def test_best_overall_response_and_ttp() -> None:
    case = _case(
        _tp("baseline", 0, {"L1": "100"}),
        _tp("fu1", 60, {"L1": "30"}),  # -70 %: PR
        _tp("fu2", 120, {"L1": "60"}),  # +100 % over the nadir 30: PD
    )
    result = assess_qeasl(case)
    assert _categories(result) == ["PR", "PD"]
    assert result.best_overall_response == "PR"
    assert (result.progression_time_point, result.time_to_progression_days) == ("fu2", 120)


# --- ETB ----------------------------------------------------------------------------------------


def _etb(etb: str | None, liver: str | None = "1500") -> dict[str, Fraction | None]:
    return {
        "liver_enhancing_tumour_ml": None if etb is None else F(etb),
        "liver_volume_ml": None if liver is None else F(liver),
    }


def test_etb_share_of_the_liver_and_changes() -> None:
    case = _case(
        _tp("baseline", 0, **_etb("30")),  # 30 / 1500 = 2 %
        _tp("fu1", 60, **_etb("10")),  # -66.7 %: PR
        _tp("fu2", 120, **_etb("18", liver="1200")),  # 1.5 %; +80 % over the nadir 10: PD
    )
    result = assess_etb(case)
    assert _categories(result) == ["PR", "PD"]
    assert "ETB 30.000 mL is 2.00 % of the liver volume 1500.000 mL" in result.time_points[0].notes
    fu2 = result.time_points[2]
    assert fu2.notes[0] == "ETB 18.000 mL is 1.50 % of the liver volume 1200.000 mL (baseline 2.00 %)"
    assert fu2.notes[1] == (
        "change from the baseline 30.000 mL: -12.000 mL (-40.0 %); "
        "from the nadir 10.000 mL on 2026-03-13: +8.000 mL (+80.0 %)"
    )
    assert fu2.change_from_nadir_absolute == 8
    assert any("Sahu" in n and "not in the checked reference text" in n for n in result.notes)
    assert result.settings["response"] == "≥ 65.0 % decrease from the baseline"


@pytest.mark.parametrize(
    ("follow_up", "expected"),
    [("35", "PR"), ("35.1", "SD"), ("0", "CR"), ("173", "PD"), ("172.999", "SD")],
)
def test_etb_thresholds(follow_up: str, expected: str) -> None:
    case = _case(_tp("baseline", 0, **_etb("100")), _tp("fu1", 60, **_etb(follow_up)))
    assert _categories(assess_etb(case)) == [expected]


def test_etb_missing_values() -> None:
    case = _case(
        _tp("baseline", 0, **_etb("30", liver=None)),
        _tp("fu1", 60, **_etb(None)),
        _tp("fu2", 120, **_etb("5")),
    )
    result = assess_etb(case)
    assert _categories(result) == ["NE", "PR"]
    assert "no liver_volume_ml" in result.time_points[0].notes[0]
    assert "NE" in result.time_points[1].rule
    no_baseline = _case(_tp("baseline", 0, **_etb(None)), _tp("fu1", 60, **_etb("5")))
    assert _categories(assess_etb(no_baseline)) == ["NE"]


@pytest.mark.parametrize(
    ("etb", "liver", "message"), [("10", "0", "liver_volume_ml is 0"), ("20", "10", "exceeds")]
)
def test_etb_bad_input(etb: str, liver: str, message: str) -> None:
    case = _case(_tp("baseline", 0, **_etb(etb, liver=liver)))
    with pytest.raises(InputError, match=message):
        assess_etb(case)


def test_etb_extrahepatic_lesions_are_non_targets() -> None:
    base = _tp("baseline", 0, {"L1": "10", "B1": "5"}, **_etb("30"))
    fu = _tp(
        "fu1", 60, {"L1": "3", "B1": "5"}, non_target_call=NonTargetCall.UNEQUIVOCAL_PROGRESSION, **_etb("9")
    )
    result = assess_etb(_case(base, fu, organs={"B1": "bone"}))
    assert result.non_targets == ["B1"]
    assert result.time_points[1].target == "PR"  # 30 → 9: -70 %
    assert _categories(result) == ["PD"]


@pytest.mark.parametrize(
    ("build", "exc"),
    [
        (lambda: VolumetricSettings(max_targets=0), ConfigError),
        (
            lambda: VolumetricSettings(
                thresholds=SumThresholds(Change(Direction.INCREASE, "65"), Change(Direction.INCREASE, "73"))
            ),
            ConfigError,
        ),
        (lambda: EtbSettings(liver_organ=" "), ConfigError),
    ],
)
def test_bad_settings(build: object, exc: type[Exception]) -> None:
    with pytest.raises(exc):
        build()  # type: ignore[operator]


# --- properties ---------------------------------------------------------------------------------

_RANK = {"CR": 0, "PR": 1, "SD": 2, "PD": 3}
_ML = st.integers(min_value=1, max_value=200_000).map(lambda n: F(n, 1000))


@settings(max_examples=150, deadline=None)
@given(
    baseline=st.lists(_ML, min_size=1, max_size=3),
    middle=st.lists(_ML, min_size=3, max_size=3),
    last=st.lists(_ML, min_size=3, max_size=3),
    shrink=st.lists(st.fractions(min_value=0, max_value=1), min_size=3, max_size=3),
)
def test_shrinking_every_lesion_never_worsens_the_category(
    baseline: list[Fraction], middle: list[Fraction], last: list[Fraction], shrink: list[Fraction]
) -> None:
    ids = [f"L{i}" for i in range(1, len(baseline) + 1)]

    def case(final: Sequence[Fraction]) -> ResponseCase:
        return _case(
            _tp("baseline", 0, dict(zip(ids, baseline, strict=False))),
            _tp("fu1", 60, dict(zip(ids, middle, strict=False))),
            _tp("fu2", 120, dict(zip(ids, final, strict=False))),
            targets=ids[:2],
        )

    smaller = [v * k for v, k in zip(last, shrink, strict=False)]
    before = _categories(assess_qeasl(case(last)))[1]
    after = _categories(assess_qeasl(case(smaller)))[1]
    assert _RANK[after] <= _RANK[before]


@settings(max_examples=100, deadline=None)
@given(baseline=_ML, follow_up=_ML, shrink=st.fractions(min_value=0, max_value=1))
def test_shrinking_etb_never_worsens_the_category(
    baseline: Fraction, follow_up: Fraction, shrink: Fraction
) -> None:
    def case(value: Fraction) -> ResponseCase:
        return _case(
            _tp("baseline", 0, liver_enhancing_tumour_ml=baseline),
            _tp("fu1", 60, liver_enhancing_tumour_ml=value),
        )

    before = _categories(assess_etb(case(follow_up)))[0]
    after = _categories(assess_etb(case(follow_up * shrink)))[0]
    assert _RANK[after] <= _RANK[before]


@settings(max_examples=60, deadline=None)
@given(baseline=_ML, follow_up=st.integers(min_value=0, max_value=200_000).map(lambda n: F(n, 1000)))
def test_a_definite_new_lesion_always_gives_pd(baseline: Fraction, follow_up: Fraction) -> None:
    new = [NewLesionFinding("X1")]
    qeasl = _case(_tp("baseline", 0, {"L1": baseline}), _tp("fu1", 60, {"L1": follow_up}, new_lesions=new))
    etb = _case(
        _tp("baseline", 0, liver_enhancing_tumour_ml=baseline),
        _tp("fu1", 60, liver_enhancing_tumour_ml=follow_up, new_lesions=new),
    )
    assert _categories(assess_qeasl(qeasl)) == ["PD"]
    assert _categories(assess_vrecist(qeasl)) == ["PD"]
    assert _categories(assess_etb(etb)) == ["PD"]
