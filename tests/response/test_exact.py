"""Exact arithmetic: quantisation, percent changes, thresholds at their boundaries."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nelm.errors import InputError
from nelm.response.exact import (
    AREA_MM2,
    HU,
    LENGTH_MM,
    Change,
    Direction,
    Resolution,
    exact,
    format_change,
    format_value,
    percent_change,
)


def test_float_trap_is_exact() -> None:
    # 100 * (25.2 - 21) / 21 is 19.999999999999996 in binary floating point
    assert 100 * (25.2 - 21) / 21 < 20
    change = percent_change(exact(25.2, LENGTH_MM, field="x"), exact(21, LENGTH_MM, field="x"))
    assert change == 20
    assert Change(Direction.INCREASE, "20").met(change)


def test_exact_rounds_half_even_to_resolution() -> None:
    assert exact(12.25, LENGTH_MM, field="x") == Fraction(122, 10)  # half to even
    assert exact(12.35, LENGTH_MM, field="x") == Fraction(124, 10)
    assert exact("7.04", LENGTH_MM, field="x") == Fraction(7)
    assert exact(Fraction(1, 3), AREA_MM2, field="x") == Fraction(33, 100)
    assert exact("-12.34", HU, field="x", allow_negative=True) == Fraction(-123, 10)
    assert exact(Decimal("3.0"), LENGTH_MM, field="x") == 3


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "abc", True, "", "1e999999999999"])
def test_exact_rejects_non_numbers(bad: object) -> None:
    with pytest.raises(InputError, match="fu1: L1 long_mm"):
        exact(bad, LENGTH_MM, field="fu1: L1 long_mm")  # type: ignore[arg-type]


def test_exact_rejects_negative_lengths() -> None:
    with pytest.raises(InputError, match="must not be negative"):
        exact(-1.0, LENGTH_MM, field="L1 long_mm")


def test_percent_change_zero_reference() -> None:
    assert percent_change(Fraction(5), Fraction(0)) is None
    assert percent_change(Fraction(35), Fraction(50)) == -30


@pytest.mark.parametrize(
    ("direction", "inclusive", "change", "expected"),
    [
        ("decrease", True, Fraction(-30), True),
        ("decrease", True, Fraction(-299, 10), False),
        ("decrease", False, Fraction(-30), False),
        ("decrease", False, Fraction(-3001, 100), True),
        ("increase", True, Fraction(20), True),
        ("increase", True, Fraction(1999, 100), False),
        ("increase", False, Fraction(25), False),
        ("increase", False, Fraction(2501, 100), True),
        ("increase", True, None, False),
    ],
)
def test_change_boundaries(direction: str, inclusive: bool, change: Fraction | None, expected: bool) -> None:
    threshold = Change(
        Direction(direction), "30" if direction == "decrease" else ("20" if inclusive else "25"), inclusive
    )
    assert threshold.met(change) is expected


def test_change_validates_and_describes() -> None:
    assert Change(Direction.DECREASE, "30").describe() == "≥ 30.0 % decrease"
    assert Change(Direction.INCREASE, "25", inclusive=False).describe() == "> 25.0 % increase"
    with pytest.raises(InputError):
        Change(Direction.DECREASE, "0")
    with pytest.raises(InputError):
        Change(Direction.DECREASE, 0.3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="sideways"):
        Change("sideways", "30")  # type: ignore[arg-type]


def test_formatting() -> None:
    assert format_value(Fraction(60), LENGTH_MM) == "60.0 mm"
    assert format_value(Fraction(1, 8), LENGTH_MM) == "0.1 mm"
    assert format_value(None, LENGTH_MM) == "n/a"
    assert format_change(Fraction(20)) == "+20.0 %"
    assert format_change(Fraction(-30)) == "-30.0 %"
    assert format_change(Fraction(-1, 100)) == "0.0 %"
    assert format_change(None) == "n/a"


def test_resolution_validates() -> None:
    with pytest.raises(InputError):
        Resolution("0.2", "mm")
    with pytest.raises(InputError):
        Resolution("x", "mm")
    assert Resolution("1", "HU").places == 0


@given(st.integers(min_value=1, max_value=100_000), st.integers(min_value=1, max_value=100_000))
def test_percent_change_matches_tenths_arithmetic(new_tenths: int, ref_tenths: int) -> None:
    # integer-tenths arithmetic (RECIST-tracker's approach) agrees with the Fraction form
    new = exact(f"{new_tenths / 10:.1f}", LENGTH_MM, field="x")
    ref = exact(f"{ref_tenths / 10:.1f}", LENGTH_MM, field="x")
    change = percent_change(new, ref)
    assert change is not None
    at_least_20 = 100 * (new_tenths - ref_tenths) >= 20 * ref_tenths
    assert Change(Direction.INCREASE, "20").met(change) is at_least_20
