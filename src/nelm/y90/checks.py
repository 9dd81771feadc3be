"""Validation of the plain numbers the Y-90 functions take (one place for every module).

Inputs here are already in canonical units (user text is parsed by :mod:`nelm.units` or the plan
file); these checks refuse what no unit can fix: text, ``bool``, NaN, infinities, negative
activities and fractions outside [0, 1).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from nelm.errors import InputError

__all__ = ["decimal_fraction", "finite_number", "positive", "residual_fraction"]


def finite_number(value: object, field: str, *, error: type[InputError] = InputError) -> float:
    """``value`` as a float, or ``error`` naming ``field`` if it is not a finite real number.

    ``bool`` is rejected (``True`` is not a dose).
    """
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise error(f"{field} must be a number, got {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise error(f"{field} must be a finite number, got {value!r}")
    return out


def decimal_fraction(value: float) -> Fraction:
    """The exact rational value of the decimal a float is written as: ``Fraction(repr(value))``.

    ``repr`` gives the shortest decimal that round-trips, so ``0.15`` becomes exactly 3/20
    (whereas ``Fraction(0.15)`` is 0.1499999999999999944…). Threshold comparisons in
    :mod:`nelm.y90` use it on both sides, so a value written as 0.15 sits exactly on a 15 %
    boundary (DESIGN.md §4: criteria comparisons are exact).
    """
    return Fraction(repr(float(value)))


def positive(value: object, name: str, *, allow_zero: bool = False) -> float:
    """A finite number > 0 (or >= 0 with ``allow_zero``), else :class:`InputError` naming it."""
    v = finite_number(value, name)
    if v < 0 or (v == 0 and not allow_zero):
        raise InputError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")
    return v


def residual_fraction(value: object) -> float:
    """The fraction of the vial left in the delivery system: 0 (inclusive) to 1 (exclusive)."""
    r = finite_number(value, "residual_fraction")
    if not 0.0 <= r < 1.0:
        hint = f" ({r:g} % is {r / 100:g})" if 1.0 <= r <= 100.0 else ""
        raise InputError(
            f"residual_fraction must be a fraction from 0 (inclusive) to 1 (exclusive), got {r:g}{hint}; "
            "at 1 nothing would leave the vial"
        )
    return r
