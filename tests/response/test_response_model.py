"""The response input model validates (one test per kind of bad input)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from nelm.errors import InputError
from nelm.response.model import (
    Certainty,
    Lesion,
    LesionMeasurement,
    LesionState,
    LesionType,
    NewLesionFinding,
    ResponseCase,
    Therapy,
    TimePoint,
)

T0 = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)


def _tp(tp_id: str, day: int, **kwargs: object) -> TimePoint:
    return TimePoint(tp_id, T0 + timedelta(days=day), **kwargs)  # type: ignore[arg-type]


def test_a_valid_case() -> None:
    lesions = {"L1": Lesion("L1"), "N1": Lesion("N1", organ="hilum", lesion_type=LesionType.NODE)}
    base = _tp("baseline", 0, measurements={"L1": LesionMeasurement("L1", long_mm=Fraction(30))})
    fu = _tp(
        "fu1",
        90,
        measurements={"L1": LesionMeasurement("L1", state=LesionState.DISAPPEARED)},
        new_lesions=[NewLesionFinding("X1", certainty=Certainty.EQUIVOCAL)],
    )
    fu2 = _tp("fu2", 180, measurements={"X1": LesionMeasurement("X1", long_mm=Fraction(12))})
    case = ResponseCase("C1", lesions, [base, fu, fu2], therapies=[Therapy("TARE", T0 + timedelta(days=20))])
    assert case.baseline.time_point_id == "baseline"
    assert [t.time_point_id for t in case.follow_ups] == ["fu1", "fu2"]
    assert lesions["N1"].organ_key == "lymph_nodes"
    assert base.measurements["L1"].values() == {"long_mm": 30}
    assert fu.date_text == "2026-04-12"


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: LesionMeasurement("L1", long_mm=30.0), "exact number"),  # type: ignore[arg-type]
        (lambda: LesionMeasurement("L1", long_mm=Fraction(-1)), "must not be negative"),
        (lambda: LesionMeasurement("L1", state="gone"), "state must be one of"),  # type: ignore[arg-type]
        (
            lambda: LesionMeasurement("L1", state=LesionState.DISAPPEARED, long_mm=Fraction(3)),
            "only a present",
        ),
        (lambda: LesionMeasurement("L1", long_mm=Fraction(10), short_mm=Fraction(11)), "exceeds long_mm"),
        (
            lambda: LesionMeasurement("L1", long_mm=Fraction(10), viable_long_mm=Fraction(11)),
            "viable_long_mm",
        ),
        (
            lambda: LesionMeasurement("L1", volume_ml=Fraction(1), enhancing_volume_ml=Fraction(2)),
            "enhancing_volume",
        ),
        (lambda: LesionMeasurement("L1", state=LesionState.COALESCED), "coalesced_into"),
        (lambda: LesionMeasurement("L1", coalesced_into="L2"), "coalesced_into"),
        (lambda: LesionMeasurement("L1", state=LesionState.COALESCED, coalesced_into="L1"), "itself"),
        (lambda: LesionMeasurement("L1", fragments=0), "fragments"),
        (lambda: LesionMeasurement(" L1"), "surrounding spaces"),
        (lambda: Lesion("L1", lesion_type="gland"), "lesion_type"),  # type: ignore[arg-type]
        (lambda: NewLesionFinding("X", certainty="maybe"), "definite or equivocal"),  # type: ignore[arg-type]
        (lambda: TimePoint("fu1", datetime(2026, 1, 1)), "no time zone"),
        (lambda: TimePoint("fu1", "2026-01-01"), "expected a date-time"),  # type: ignore[arg-type]
        (lambda: _tp("fu1", 1, measurements={"L2": LesionMeasurement("L1")}), "stored under"),
        (
            lambda: _tp("fu1", 1, new_lesions=[NewLesionFinding("X"), NewLesionFinding("X")]),
            "listed twice",
        ),
        (
            lambda: _tp(
                "fu1", 1, measurements={"X": LesionMeasurement("X")}, new_lesions=[NewLesionFinding("X")]
            ),
            "both as a new lesion",
        ),
        (
            lambda: _tp(
                "fu1",
                1,
                measurements={
                    "L1": LesionMeasurement("L1", state=LesionState.COALESCED, coalesced_into="L2")
                },
            ),
            "no measurement at this time point",
        ),
        (lambda: ResponseCase("C", {}, []), "at least the baseline"),
        (lambda: ResponseCase("C", {}, [_tp("a", 0), _tp("b", 0)]), "not after"),
        (lambda: ResponseCase("C", {}, [_tp("a", 0), _tp("a", 5)]), "repeat"),
        (
            lambda: ResponseCase("C", {}, [_tp("a", 0, new_lesions=[NewLesionFinding("X")])]),
            "cannot have new",
        ),
        (
            lambda: ResponseCase(
                "C", {}, [_tp("a", 0), _tp("b", 5, measurements={"L9": LesionMeasurement("L9")})]
            ),
            "neither a baseline lesion",
        ),
        (
            lambda: ResponseCase(
                "C", {"L1": Lesion("L1")}, [_tp("a", 0), _tp("b", 5, new_lesions=[NewLesionFinding("L1")])]
            ),
            "as new",
        ),
        (
            lambda: ResponseCase("C", {"L1": Lesion("L1")}, [_tp("a", 0)], targets=["L2"]),
            "not baseline lesions",
        ),
        (
            lambda: ResponseCase("C", {"L1": Lesion("L1")}, [_tp("a", 0)], targets=["L1", "L1"]),
            "listed twice",
        ),
        (lambda: ResponseCase("C", {"L2": Lesion("L1")}, [_tp("a", 0)]), "must be the Lesion"),
        (lambda: Therapy("TARE", datetime(2026, 1, 1)), "no time zone"),
    ],
)
def test_bad_input_is_named(build: object, message: str) -> None:
    with pytest.raises(InputError, match=message):
        build()  # type: ignore[operator]
