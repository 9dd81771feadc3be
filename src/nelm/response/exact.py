"""Exact arithmetic for response criteria: quantised measurements, percent changes, thresholds.

Criteria boundaries are compared exactly, never in floating point: ``100 * (25.2 - 21) / 21`` is
``19.999999999999996`` in binary floating point, so a float comparison calls a +20 % change SD
(reference/response-criteria.md §0.1; pyrecist's own test case). Every measurement enters the
response module once, through :func:`exact`, which rounds it half-to-even to the documented
resolution of its quantity (:data:`LENGTH_MM`: 0.1 mm, like RECIST-tracker's integer tenths of a
millimetre) and returns a :class:`fractions.Fraction`; sums, differences and percent changes are
then exact rationals and every threshold (a :class:`Change`) is a ``Fraction`` too.

A float is converted through its shortest decimal representation (``repr``), so ``25.2`` is
exactly 25.2 and a reader's ``"25.2"`` is the same number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from enum import StrEnum
from fractions import Fraction
from typing import Final

from nelm.errors import InputError

__all__ = [
    "AREA_MM2",
    "HU",
    "LENGTH_MM",
    "PERCENT",
    "SUV",
    "VOLUME_ML",
    "Change",
    "Direction",
    "Resolution",
    "exact",
    "format_change",
    "format_value",
    "percent_change",
]


@dataclass(frozen=True)
class Resolution:
    """The resolution a quantity is recorded at, and its unit.

    Parameters
    ----------
    step:
        Smallest recorded increment, a positive power of ten as a string (``"0.1"``).
    unit:
        Unit printed after values (``"mm"``).
    """

    step: str
    unit: str

    def __post_init__(self) -> None:
        try:
            step = Decimal(self.step)
        except InvalidOperation as exc:
            raise InputError(f"resolution step {self.step!r} is not a decimal number") from exc
        if step <= 0 or step.as_tuple().digits != (1,):
            raise InputError(f"resolution step must be a positive power of ten, got {self.step!r}")

    @property
    def decimal_step(self) -> Decimal:
        """The step as a :class:`~decimal.Decimal`."""
        return Decimal(self.step)

    @property
    def places(self) -> int:
        """Decimal places shown when formatting (0 for steps ≥ 1)."""
        exponent = self.decimal_step.as_tuple().exponent
        assert isinstance(exponent, int)
        return max(0, -exponent)


#: Diameters: 0.1 mm (integer tenths of a millimetre; calipers and RECIST-tracker record no finer).
LENGTH_MM: Final = Resolution("0.1", "mm")
#: Bidimensional products and areas: 0.01 mm² (the product of two 0.1 mm lengths is exact at it).
AREA_MM2: Final = Resolution("0.01", "mm²")
#: Volumes: 0.001 mL (1 mm³).
VOLUME_ML: Final = Resolution("0.001", "mL")
#: CT attenuation: 0.1 HU.
HU: Final = Resolution("0.1", "HU")
#: Standardised uptake values (SUV, SUL) and TLG factors: 0.01.
SUV: Final = Resolution("0.01", "")
#: Percentages shown in messages: 0.1 %.
PERCENT: Final = Resolution("0.1", "%")


def exact(
    value: float | int | str | Decimal | Fraction,
    resolution: Resolution,
    *,
    field: str,
    allow_negative: bool = False,
) -> Fraction:
    """``value`` rounded half-to-even to ``resolution``, as an exact :class:`Fraction`.

    Parameters
    ----------
    value:
        A number, or a decimal string as a reader's table holds it.
    resolution:
        The quantity's resolution (:data:`LENGTH_MM`, :data:`HU` …).
    field:
        Where the value came from, for the error message (``"fu1: L3 long_mm"``).
    allow_negative:
        Accept negative values (HU); lengths, areas, volumes and uptakes are never negative.

    Raises
    ------
    InputError
        A value that is not a finite number (NaN, infinity, text, a boolean), or negative where
        that is impossible.
    """
    if isinstance(value, bool):
        raise InputError(f"{field}: expected a number, got {value!r}")
    try:
        if isinstance(value, Fraction):
            dec = Decimal(value.numerator) / Decimal(value.denominator)
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise InputError(f"{field}: expected a finite number, got {value!r}")
            dec = Decimal(repr(value))
        else:
            dec = Decimal(str(value).strip()) if isinstance(value, str) else Decimal(value)
    except InvalidOperation as exc:
        raise InputError(f"{field}: expected a number, got {value!r}") from exc
    if not dec.is_finite():
        raise InputError(f"{field}: expected a finite number, got {value!r}")
    if dec < 0 and not allow_negative:
        raise InputError(f"{field}: must not be negative, got {value!r}")
    try:
        quantised = dec.quantize(resolution.decimal_step, rounding=ROUND_HALF_EVEN)
    except InvalidOperation as exc:
        raise InputError(f"{field}: {value!r} is too large to be a measurement") from exc
    return Fraction(quantised)


def percent_change(value: Fraction, reference: Fraction) -> Fraction | None:
    """``100 · (value − reference) / reference`` exactly; ``None`` when the reference is 0."""
    if reference == 0:
        return None
    return 100 * (value - reference) / reference


class Direction(StrEnum):
    """Which way a :class:`Change` threshold points."""

    DECREASE = "decrease"
    INCREASE = "increase"


@dataclass(frozen=True)
class Change:
    """A relative-change threshold of a criterion, e.g. "a decrease of at least 30 %".

    Parameters
    ----------
    direction:
        :attr:`Direction.DECREASE` or :attr:`Direction.INCREASE`.
    percent:
        The size of the change in percent (positive), as a string or Fraction (``"30"``).
    inclusive:
        ``True`` for "at least" (≥), ``False`` for "more than" (>).
    """

    direction: Direction
    percent: Fraction | str | int
    inclusive: bool = True

    def __post_init__(self) -> None:
        direction = Direction(self.direction)
        percent = self.percent
        if isinstance(percent, bool) or not isinstance(percent, (Fraction, str, int)):
            raise InputError(f"a threshold percent must be a decimal string or Fraction, got {percent!r}")
        pct = Fraction(str(percent)) if isinstance(percent, str) else Fraction(percent)
        if pct <= 0:
            raise InputError(f"a threshold percent must be positive, got {percent!r}")
        object.__setattr__(self, "direction", direction)
        object.__setattr__(self, "percent", pct)

    @property
    def fraction(self) -> Fraction:
        """The threshold percent as a Fraction (``percent`` normalised)."""
        assert isinstance(self.percent, Fraction)
        return self.percent

    def met(self, change_percent: Fraction | None) -> bool:
        """Whether a signed percent change meets the threshold (``None``: no, no reference)."""
        if change_percent is None:
            return False
        signed = change_percent if self.direction is Direction.INCREASE else -change_percent
        return signed >= self.fraction if self.inclusive else signed > self.fraction

    def describe(self) -> str:
        """Human-readable form, e.g. ``"≥ 30 % decrease"``."""
        op = "≥" if self.inclusive else ">"
        return f"{op} {format_value(self.fraction, PERCENT, unit=False)} % {self.direction.value}"


def format_value(value: Fraction | None, resolution: Resolution, *, unit: bool = True) -> str:
    """``value`` at the resolution's decimal places (half-even), with its unit (``"60.0 mm"``)."""
    if value is None:
        return "n/a"
    dec = (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        Decimal(1).scaleb(-resolution.places), rounding=ROUND_HALF_EVEN
    )
    text = f"{dec:f}"
    if text.startswith("-") and Decimal(text) == 0:
        text = text[1:]
    return f"{text} {resolution.unit}".rstrip() if unit and resolution.unit else text


def format_change(change_percent: Fraction | None) -> str:
    """A signed percent change for messages (``"+20.0 %"``, ``"-30.0 %"``, ``"n/a"``)."""
    if change_percent is None:
        return "n/a"
    text = format_value(change_percent, PERCENT, unit=False)
    return f"{'+' if change_percent >= 0 and not text.startswith('-') else ''}{text} %"
