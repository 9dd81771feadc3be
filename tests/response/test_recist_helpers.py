"""Small hand-built RECIST cases shared by the test_recist_* modules (no tests here).

Every number in a test is written in the test itself and derived there by hand from the
published rule; these helpers only build the input.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

from nelm.response.model import (
    Certainty,
    Lesion,
    LesionMeasurement,
    LesionState,
    LesionType,
    NewLesionFinding,
    NonTargetCall,
    ResponseCase,
    TimePoint,
)
from nelm.response.recist import RecistSettings, assess_recist
from nelm.response.results import CriterionResult, TimePointResponse

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def mm(value: str | int) -> Fraction:
    """A length written as a decimal string (``"25.2"``) as an exact Fraction."""
    return Fraction(value)


def liver(lid: str, organ: str = "liver", *, treated: bool = False) -> Lesion:
    """A non-nodal lesion."""
    return Lesion(lid, organ, LesionType.NON_NODAL, previously_treated=treated)


def node(lid: str) -> Lesion:
    """A lymph node."""
    return Lesion(lid, "lymph_nodes", LesionType.NODE)


def ld(lid: str, value: str | int, *, fragments: int = 1) -> LesionMeasurement:
    """A present non-nodal lesion with its longest diameter."""
    return LesionMeasurement(lid, long_mm=mm(value), fragments=fragments)


def sa(lid: str, value: str | int) -> LesionMeasurement:
    """A present node with its short axis (its long axis 5 mm longer)."""
    return LesionMeasurement(lid, long_mm=mm(value) + 5, short_mm=mm(value))


def state(lid: str, st: LesionState, into: str | None = None) -> LesionMeasurement:
    """A lesion in a state without values (too small, disappeared, coalesced, not evaluated)."""
    return LesionMeasurement(lid, state=st, coalesced_into=into)


def gone(lid: str) -> LesionMeasurement:
    return state(lid, LesionState.DISAPPEARED)


def small(lid: str) -> LesionMeasurement:
    return state(lid, LesionState.TOO_SMALL)


def present(lid: str) -> LesionMeasurement:
    """Present, without a measurement (a non-target is followed qualitatively)."""
    return LesionMeasurement(lid)


def new(lid: str, *, equivocal: bool = False) -> NewLesionFinding:
    return NewLesionFinding(lid, Certainty.EQUIVOCAL if equivocal else Certainty.DEFINITE)


def tp(
    name: str,
    day: int,
    *measurements: LesionMeasurement,
    new_lesions: tuple[NewLesionFinding, ...] = (),
    progression_called: bool = False,
    thickness: str | None = None,
) -> TimePoint:
    """A time point ``day`` days after the baseline date."""
    return TimePoint(
        name,
        START + timedelta(days=day),
        {m.lesion_id: m for m in measurements},
        new_lesions=new_lesions,
        non_target_call=NonTargetCall.UNEQUIVOCAL_PROGRESSION if progression_called else None,
        slice_thickness_mm=None if thickness is None else mm(thickness),
    )


def case(
    lesions: list[Lesion], *time_points: TimePoint, targets: tuple[str, ...] | None = None
) -> ResponseCase:
    return ResponseCase(
        "case", {lesion.lesion_id: lesion for lesion in lesions}, time_points, targets=targets
    )


def run(c: ResponseCase, settings: RecistSettings | None = None) -> CriterionResult:
    return assess_recist(c, settings)


def row(result: CriterionResult, name: str) -> TimePointResponse:
    """The result row of a time point."""
    return next(r for r in result.time_points if r.time_point == name)


def one_target(baseline: str, *follow_ups: str, day_step: int = 56) -> CriterionResult:
    """One liver target with the given LDs at the baseline and follow-ups fu1, fu2 …"""
    points = [tp("base", 0, ld("L1", baseline))]
    points += [tp(f"fu{i}", i * day_step, ld("L1", v)) for i, v in enumerate(follow_ups, start=1)]
    return run(case([liver("L1")], *points))
