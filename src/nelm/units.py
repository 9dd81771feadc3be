"""Explicit physical units at nelm's boundaries.

User-facing inputs (manifests, CLI options, threshold files) give quantities as strings with a
unit, such as ``"2.5 GBq"``, ``"67 mCi"``, ``"45 min"`` or ``"1.6 kg"``. They are converted once,
here, to nelm's canonical unit for the dimension, and from then on a value's unit lives in its
name (``activity_gbq``, ``dose_gy``, ``volume_ml``, ``length_mm``, ``duration_s``).

A bare number where a unit matters is a :class:`~nelm.errors.UnitsError`: ``2.5`` could be GBq
or mCi (a factor of 27), and nelm will not guess.

Conversion factors
------------------
* 1 Ci = 3.7e10 Bq exactly (definition of the curie), hence 1 GBq = 27.027... mCi.
* 1 mL = 1 cm^3; 1 L = 1000 mL.
* Times: 1 min = 60 s, 1 h = 3600 s, 1 d = 86400 s (physical durations; calendar arithmetic
  across daylight-saving changes is done on timezone-aware datetimes, not here).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from nelm.errors import UnitsError

__all__ = [
    "CANONICAL_UNIT",
    "GBQ_PER_MCI",
    "Dimension",
    "Quantity",
    "convert",
    "parse_activity_gbq",
    "parse_dose_gy",
    "parse_duration_s",
    "parse_length_mm",
    "parse_mass_kg",
    "parse_quantity",
    "parse_volume_ml",
]


class Dimension(StrEnum):
    """Physical dimensions nelm accepts from users."""

    ACTIVITY = "activity"
    DOSE = "dose"
    VOLUME = "volume"
    LENGTH = "length"
    DURATION = "duration"
    MASS = "mass"


#: Canonical unit of each dimension: the unit every ``*_<unit>`` name in nelm is in.
CANONICAL_UNIT: Final[dict[Dimension, str]] = {
    Dimension.ACTIVITY: "GBq",
    Dimension.DOSE: "Gy",
    Dimension.VOLUME: "mL",
    Dimension.LENGTH: "mm",
    Dimension.DURATION: "s",
    Dimension.MASS: "kg",
}

#: GBq per mCi: 1 mCi = 3.7e7 Bq (curie definition) = 0.037 GBq exactly.
GBQ_PER_MCI: Final[float] = 0.037

# Factor from each accepted unit spelling to the canonical unit of its dimension.
_UNITS: Final[dict[str, tuple[Dimension, float]]] = {
    # activity -> GBq
    "bq": (Dimension.ACTIVITY, 1e-9),
    "kbq": (Dimension.ACTIVITY, 1e-6),
    "mbq": (Dimension.ACTIVITY, 1e-3),
    "gbq": (Dimension.ACTIVITY, 1.0),
    "tbq": (Dimension.ACTIVITY, 1e3),
    "uci": (Dimension.ACTIVITY, GBQ_PER_MCI * 1e-3),
    "µci": (Dimension.ACTIVITY, GBQ_PER_MCI * 1e-3),
    "mci": (Dimension.ACTIVITY, GBQ_PER_MCI),
    "ci": (Dimension.ACTIVITY, GBQ_PER_MCI * 1e3),
    # absorbed dose -> Gy
    "gy": (Dimension.DOSE, 1.0),
    "mgy": (Dimension.DOSE, 1e-3),
    "cgy": (Dimension.DOSE, 1e-2),
    "rad": (Dimension.DOSE, 1e-2),
    # volume -> mL
    "ml": (Dimension.VOLUME, 1.0),
    "cc": (Dimension.VOLUME, 1.0),
    "cm3": (Dimension.VOLUME, 1.0),
    "cm^3": (Dimension.VOLUME, 1.0),
    "l": (Dimension.VOLUME, 1e3),
    "dl": (Dimension.VOLUME, 1e2),
    "mm3": (Dimension.VOLUME, 1e-3),
    "mm^3": (Dimension.VOLUME, 1e-3),
    # length -> mm
    "um": (Dimension.LENGTH, 1e-3),
    "µm": (Dimension.LENGTH, 1e-3),
    "mm": (Dimension.LENGTH, 1.0),
    "cm": (Dimension.LENGTH, 10.0),
    "m": (Dimension.LENGTH, 1e3),
    "in": (Dimension.LENGTH, 25.4),
    # duration -> s
    "s": (Dimension.DURATION, 1.0),
    "sec": (Dimension.DURATION, 1.0),
    "min": (Dimension.DURATION, 60.0),
    "h": (Dimension.DURATION, 3600.0),
    "hr": (Dimension.DURATION, 3600.0),
    "d": (Dimension.DURATION, 86400.0),
    "day": (Dimension.DURATION, 86400.0),
    "days": (Dimension.DURATION, 86400.0),
    # mass -> kg
    "g": (Dimension.MASS, 1e-3),
    "kg": (Dimension.MASS, 1.0),
    "lb": (Dimension.MASS, 0.45359237),
    "lbs": (Dimension.MASS, 0.45359237),
}

_NUMBER_UNIT = re.compile(
    r"^\s*(?P<num>[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*(?P<unit>[^\d\s].*?)?\s*$"
)


@dataclass(frozen=True)
class Quantity:
    """A value in the canonical unit of its dimension.

    Parameters
    ----------
    value:
        Magnitude in :data:`CANONICAL_UNIT` ``[dimension]``.
    dimension:
        What the value measures.
    source:
        The text it was parsed from, kept for error messages and provenance.
    """

    value: float
    dimension: Dimension
    source: str = ""

    def __post_init__(self) -> None:
        if not math.isfinite(self.value):
            raise UnitsError(f"{self.dimension.value} {self.source!r} is not a finite number")

    @property
    def unit(self) -> str:
        """The canonical unit the value is in."""
        return CANONICAL_UNIT[self.dimension]

    def to(self, unit: str) -> float:
        """Return the value in another unit of the same dimension."""
        return convert(self.value, self.unit, unit)

    def __str__(self) -> str:
        return f"{self.value:g} {self.unit}"


def units_of(dimension: Dimension) -> list[str]:
    """The unit spellings accepted for ``dimension`` (lower case), sorted."""
    return sorted(k for k, (d, _) in _UNITS.items() if d is dimension)


def _lookup(unit: str, where: str, dimension: Dimension | None = None) -> tuple[Dimension, float]:
    # Case-insensitive: users write MBq, mbq and Mbq alike; no clinical unit needs mBq or Mm.
    found = _UNITS.get(unit.strip().replace(" ", "").lower())
    if found is None:
        if dimension is None:
            known = ", ".join(sorted(_UNITS))
            raise UnitsError(f"{where}: unknown unit {unit!r} (known units: {known})")
        known = ", ".join(units_of(dimension))
        raise UnitsError(f"{where}: unknown unit {unit!r} for a {dimension.value} (known: {known})")
    return found


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """Convert ``value`` between two units of the same dimension.

    Raises
    ------
    UnitsError
        If either unit is unknown or the dimensions differ (e.g. GBq to Gy).
    """
    dim_from, f_from = _lookup(from_unit, "convert")
    dim_to, f_to = _lookup(to_unit, "convert")
    if dim_from is not dim_to:
        raise UnitsError(f"cannot convert {from_unit} ({dim_from.value}) to {to_unit} ({dim_to.value})")
    return value * f_from / f_to


def parse_quantity(
    text: object,
    dimension: Dimension,
    *,
    field: str = "value",
    allow_negative: bool = False,
    allow_zero: bool = True,
) -> Quantity:
    """Parse ``"<number> <unit>"`` into a :class:`Quantity` of the given dimension.

    Parameters
    ----------
    text:
        The user's value, e.g. ``"2.5 GBq"`` or ``"67mCi"``. A bare number (``2.5`` or
        ``"2.5"``) is rejected: the unit matters.
    dimension:
        The dimension the field must have.
    field:
        Name of the field for error messages (e.g. ``"cases/p1.yaml: treatments[0].activity"``).
    allow_negative, allow_zero:
        Physical plausibility: activities, volumes and masses are never negative.

    Raises
    ------
    UnitsError
        Bare number, unknown unit, wrong dimension, non-finite or impossible value.
    """
    if isinstance(text, bool) or text is None:
        raise UnitsError(f"{field}: expected a {dimension.value} with a unit, got {text!r}")
    if isinstance(text, (int, float)):
        unit_hint = CANONICAL_UNIT[dimension]
        raise UnitsError(
            f"{field}: the bare number {text!r} has no unit; write it with its unit, "
            f"e.g. '{text} {unit_hint}'"
        )
    if not isinstance(text, str):
        raise UnitsError(f"{field}: expected a string such as '2.5 GBq', got {type(text).__name__}")
    match = _NUMBER_UNIT.match(text)
    if match is None:
        raise UnitsError(f"{field}: cannot read {text!r} as '<number> <unit>'")
    unit = match.group("unit")
    if not unit:
        raise UnitsError(
            f"{field}: {text!r} has no unit; write it with its unit, "
            f"e.g. '{text.strip()} {CANONICAL_UNIT[dimension]}'"
        )
    dim, factor = _lookup(unit, field, dimension)
    if dim is not dimension:
        raise UnitsError(
            f"{field}: {text!r} is a {dim.value}, but a {dimension.value} is required "
            f"(e.g. in {CANONICAL_UNIT[dimension]})"
        )
    value = float(match.group("num")) * factor
    if not math.isfinite(value):
        raise UnitsError(f"{field}: {text!r} is not a finite number")
    if value < 0 and not allow_negative:
        raise UnitsError(f"{field}: {text!r} is negative, which is impossible for this {dimension.value}")
    if value == 0 and not allow_zero:
        raise UnitsError(f"{field}: {text!r} is zero; a positive {dimension.value} is required")
    return Quantity(value=value, dimension=dimension, source=text)


def parse_activity_gbq(text: object, *, field: str = "activity") -> float:
    """Parse an activity (``"2.5 GBq"``, ``"67 mCi"``, ``"800 MBq"``) to GBq; never negative."""
    return parse_quantity(text, Dimension.ACTIVITY, field=field).value


def parse_dose_gy(text: object, *, field: str = "dose") -> float:
    """Parse an absorbed dose (``"120 Gy"``, ``"500 cGy"``) to Gy; never negative."""
    return parse_quantity(text, Dimension.DOSE, field=field).value


def parse_volume_ml(text: object, *, field: str = "volume") -> float:
    """Parse a volume (``"1.5 L"``, ``"250 mL"``, ``"30 cc"``) to mL; never negative."""
    return parse_quantity(text, Dimension.VOLUME, field=field).value


def parse_length_mm(text: object, *, field: str = "length") -> float:
    """Parse a length (``"2.5 cm"``, ``"12 mm"``) to mm; never negative."""
    return parse_quantity(text, Dimension.LENGTH, field=field).value


def parse_duration_s(text: object, *, field: str = "duration", allow_negative: bool = False) -> float:
    """Parse a duration (``"45 min"``, ``"64.1 h"``, ``"2 d"``) to seconds."""
    return parse_quantity(text, Dimension.DURATION, field=field, allow_negative=allow_negative).value


def parse_mass_kg(text: object, *, field: str = "mass") -> float:
    """Parse a mass (``"72 kg"``, ``"1600 g"``, ``"160 lb"``) to kg; never negative."""
    return parse_quantity(text, Dimension.MASS, field=field).value
