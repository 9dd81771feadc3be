"""The shared sum engine (baseline, nadir, target category) and the RECIST Table 1/2 combination."""

from __future__ import annotations

from datetime import UTC, datetime
from fractions import Fraction

import pytest

from nelm.response.exact import LENGTH_MM, Change, Direction
from nelm.response.model import (
    Certainty,
    LesionMeasurement,
    LesionState,
    NewLesionFinding,
    NonTargetCall,
    TimePoint,
)
from nelm.response.overall import (
    NewLesions,
    NonTargetCategory,
    new_lesion_status,
    non_target_category,
    overall_response,
)
from nelm.response.sums import Measure, SumThresholds, TargetCategory, classify_target, track

SOD = Measure("sum of diameters", LENGTH_MM)
RECIST = SumThresholds(
    response=Change(Direction.DECREASE, "30"),
    progression=Change(Direction.INCREASE, "20"),
    progression_floor=Fraction(5),
)


def _series(*values: str | None) -> list[tuple[str, str, Fraction | None]]:
    return [(f"t{i}", f"2026-0{i + 1}-01", None if v is None else Fraction(v)) for i, v in enumerate(values)]


def test_nadir_is_the_smallest_earlier_value() -> None:
    points = track(_series("100", "50", None, "65", "40"))
    assert [p.nadir for p in points] == [None, 100, 50, 50, 50]
    assert points[3].nadir_time_point == "t1"
    assert points[3].nadir_date == "2026-02-01"
    assert points[3].change_from_baseline_percent == -35
    assert points[3].change_from_nadir_percent == 30
    assert points[3].change_from_nadir_absolute == 15
    assert points[2].change_from_nadir_percent is None


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (("50", "35"), TargetCategory.PR),  # -30.0 % exactly
        (("50", "35.1"), TargetCategory.SD),  # -29.8 %
        (("25", "30"), TargetCategory.PD),  # +20 % and +5.0 mm
        (("21", "25.2"), TargetCategory.SD),  # +20 % exactly (the float trap) but only +4.2 mm
        (("30", "35.9"), TargetCategory.SD),  # +19.7 %, +5.9 mm
        (("100", "50", "65"), TargetCategory.PD),  # below baseline, +30 % over the nadir: PD
        (("100", "50", None), TargetCategory.NE),
    ],
)
def test_classify_target(values: tuple[str | None, ...], expected: TargetCategory) -> None:
    point = track(_series(*values))[-1]
    category, rule = classify_target(point, RECIST, SOD, complete=False, complete_reason="")
    assert category is expected, rule


def test_rule_text_has_the_numbers() -> None:
    point = track(_series("60", "50", "60"))[-1]
    category, rule = classify_target(point, RECIST, SOD, complete=False, complete_reason="")
    assert category is TargetCategory.PD
    assert rule.startswith(
        "PD: sum of diameters 60.0 mm is +20.0 % and +10.0 mm over the nadir of 50.0 mm on 2026-02-01"
    )


def test_growth_from_a_zero_nadir_and_complete_response() -> None:
    point = track(_series("40", "0", "6"))[-1]
    assert classify_target(point, RECIST, SOD, complete=False, complete_reason="")[0] is TargetCategory.PD
    point = track(_series("40", "0", "4"))[-1]  # below the 5 mm floor
    assert classify_target(point, RECIST, SOD, complete=False, complete_reason="")[0] is TargetCategory.PR
    cr = classify_target(
        track(_series("40", "0"))[-1], RECIST, SOD, complete=True, complete_reason="all gone"
    )
    assert cr == (TargetCategory.CR, "CR: all gone")


@pytest.mark.parametrize(
    ("target", "non_target", "new", "expected"),
    [
        (TargetCategory.CR, NonTargetCategory.CR, NewLesions.NONE, "CR"),
        (TargetCategory.CR, NonTargetCategory.NONE, NewLesions.NONE, "CR"),
        (TargetCategory.CR, NonTargetCategory.NON_CR_NON_PD, NewLesions.NONE, "PR"),
        (TargetCategory.CR, NonTargetCategory.NE, NewLesions.NONE, "PR"),
        (TargetCategory.PR, NonTargetCategory.NON_CR_NON_PD, NewLesions.NONE, "PR"),
        (TargetCategory.PR, NonTargetCategory.NE, NewLesions.NONE, "PR"),
        (TargetCategory.SD, NonTargetCategory.NON_CR_NON_PD, NewLesions.NONE, "SD"),
        (TargetCategory.SD, NonTargetCategory.NE, NewLesions.NONE, "SD"),
        (TargetCategory.NE, NonTargetCategory.NON_CR_NON_PD, NewLesions.NONE, "NE"),
        (TargetCategory.PD, NonTargetCategory.CR, NewLesions.NONE, "PD"),
        (TargetCategory.CR, NonTargetCategory.PD, NewLesions.NONE, "PD"),
        (TargetCategory.CR, NonTargetCategory.CR, NewLesions.DEFINITE, "PD"),
        (TargetCategory.CR, NonTargetCategory.CR, NewLesions.EQUIVOCAL, "CR"),
        (None, NonTargetCategory.CR, NewLesions.NONE, "CR"),
        (None, NonTargetCategory.NON_CR_NON_PD, NewLesions.NONE, "non-CR/non-PD"),
        (None, NonTargetCategory.NE, NewLesions.NONE, "NE"),
        (None, NonTargetCategory.PD, NewLesions.NONE, "PD"),
        (None, NonTargetCategory.NON_CR_NON_PD, NewLesions.DEFINITE, "PD"),
    ],
)
def test_overall_tables(
    target: TargetCategory | None, non_target: NonTargetCategory, new: NewLesions, expected: str
) -> None:
    assert overall_response(target, non_target, new)[0] == expected


T = datetime(2026, 3, 1, tzinfo=UTC)


def test_non_target_category() -> None:
    gone = LesionMeasurement("A", state=LesionState.DISAPPEARED)
    tp = TimePoint("fu1", T, measurements={"A": gone, "B": LesionMeasurement("B", long_mm=Fraction(8))})
    assert non_target_category(tp, ["A"])[0] is NonTargetCategory.CR
    assert (
        non_target_category(tp, ["A", "B"], normal=["B"])[0] is NonTargetCategory.CR
    )  # a node back to normal
    assert non_target_category(tp, ["A", "B"])[0] is NonTargetCategory.NON_CR_NON_PD
    assert non_target_category(tp, ["A", "C"])[0] is NonTargetCategory.NE
    assert non_target_category(tp, [])[0] is NonTargetCategory.NONE
    called = TimePoint(
        "fu1", T, measurements={"A": gone}, non_target_call=NonTargetCall.UNEQUIVOCAL_PROGRESSION
    )
    assert non_target_category(called, ["A"])[0] is NonTargetCategory.PD


def test_equivocal_new_lesion_confirmed_later() -> None:
    tp = TimePoint("fu1", T, new_lesions=[NewLesionFinding("X", certainty=Certainty.EQUIVOCAL)])
    assert new_lesion_status(tp, set())[0] is NewLesions.EQUIVOCAL
    status, why = new_lesion_status(tp, {"X"})
    assert status is NewLesions.DEFINITE
    assert "dates from this one" in why
