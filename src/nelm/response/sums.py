"""The engine shared by every sum-based criterion: baseline, nadir, changes, target category.

RECIST 1.1, mRECIST, WHO (sum mode), EASL, Choi (size), vRECIST and qEASL all follow one pattern:
a per-time-point tumour measure (a sum of diameters, products or volumes); response measured
against the **baseline**, progression against the **nadir** (the smallest value at any earlier
time point, the baseline included; EORTC clarification, reference/response-criteria.md §0.2),
optionally with an absolute floor (RECIST's +5 mm). The thresholds are
:class:`~nelm.response.exact.Change` objects, so boundaries are exact and their inclusiveness is
explicit. A criterion module decides complete response itself and passes it in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from nelm.response.exact import PERCENT, Change, Resolution, format_change, format_value, percent_change
from nelm.response.results import TimePointResponse

__all__ = [
    "Measure",
    "SeriesPoint",
    "SumThresholds",
    "TargetCategory",
    "classify_target",
    "response_row",
    "track",
]


class TargetCategory(StrEnum):
    """Category of the target (measured) disease at one time point."""

    CR = "CR"
    PR = "PR"
    SD = "SD"
    PD = "PD"
    NE = "NE"


@dataclass(frozen=True)
class Measure:
    """What a criterion sums, for messages: ``Measure("sum of diameters", LENGTH_MM)``."""

    name: str
    resolution: Resolution

    def show(self, value: Fraction | None) -> str:
        """The value with its unit at the measure's resolution."""
        return format_value(value, self.resolution)


@dataclass(frozen=True)
class SeriesPoint:
    """The measure at one time point and where it stands against the baseline and the nadir.

    ``value`` is ``None`` when the time point is not evaluable; the nadir is the smallest value
    of the earlier evaluable time points (the baseline included), and is ``None`` at the
    baseline itself.
    """

    time_point: str
    date: str
    value: Fraction | None
    baseline: Fraction | None
    nadir: Fraction | None
    nadir_time_point: str | None
    nadir_date: str | None

    @property
    def change_from_baseline_percent(self) -> Fraction | None:
        """Exact percent change from the baseline (``None`` without a value or a zero baseline)."""
        if self.value is None or self.baseline is None:
            return None
        return percent_change(self.value, self.baseline)

    @property
    def change_from_nadir_percent(self) -> Fraction | None:
        """Exact percent change from the nadir (``None`` without one or for a zero nadir)."""
        if self.value is None or self.nadir is None:
            return None
        return percent_change(self.value, self.nadir)

    @property
    def change_from_nadir_absolute(self) -> Fraction | None:
        """Exact absolute change from the nadir."""
        if self.value is None or self.nadir is None:
            return None
        return self.value - self.nadir


def track(points: Sequence[tuple[str, str, Fraction | None]]) -> list[SeriesPoint]:
    """Baseline and running nadir of a measure over ``(time point, date, value)`` in date order.

    The first entry is the baseline; if it has no value, no later point has a baseline either
    (every follow-up is then not evaluable against it).
    """
    out: list[SeriesPoint] = []
    baseline = points[0][2] if points else None
    nadir: tuple[Fraction, str, str] | None = None
    for i, (tp, date, value) in enumerate(points):
        out.append(
            SeriesPoint(
                time_point=tp,
                date=date,
                value=value,
                baseline=baseline,
                nadir=None if i == 0 or nadir is None else nadir[0],
                nadir_time_point=None if i == 0 or nadir is None else nadir[1],
                nadir_date=None if i == 0 or nadir is None else nadir[2],
            )
        )
        if value is not None and (nadir is None or value < nadir[0]):
            nadir = (value, tp, date)
    return out


@dataclass(frozen=True)
class SumThresholds:
    """Response and progression thresholds of a sum-based criterion.

    Parameters
    ----------
    response:
        Change from the baseline that is a partial response (e.g. ``Change("decrease", "30")``).
    progression:
        Change from the nadir that is progression (e.g. ``Change("increase", "20")``).
    progression_floor:
        Smallest absolute increase over the nadir that progression also needs (RECIST 1.1:
        5 mm); ``None`` for none (mRECIST, EASL, WHO).
    floor_inclusive:
        ``True``: the increase must be at least the floor (RECIST: "an absolute increase of at
        least 5 mm").
    """

    response: Change
    progression: Change
    progression_floor: Fraction | None = None
    floor_inclusive: bool = True

    def describe_progression(self, measure: Measure) -> str:
        """E.g. ``"≥ 20 % increase and ≥ 5.0 mm"``."""
        text = self.progression.describe()
        if self.progression_floor is not None:
            op = "≥" if self.floor_inclusive else ">"
            text += f" and {op} {measure.show(self.progression_floor)}"
        return text


def _progression(point: SeriesPoint, thresholds: SumThresholds) -> bool:
    """Whether the point meets the progression rule against its nadir."""
    if point.value is None or point.nadir is None:
        return False
    absolute = point.value - point.nadir
    if point.nadir == 0:
        relative = point.value > 0  # any growth from zero is an unbounded relative increase
    else:
        relative = thresholds.progression.met(point.change_from_nadir_percent)
    if not relative:
        return False
    floor = thresholds.progression_floor
    if floor is None:
        return True
    return absolute >= floor if thresholds.floor_inclusive else absolute > floor


def classify_target(
    point: SeriesPoint,
    thresholds: SumThresholds,
    measure: Measure,
    *,
    complete: bool,
    complete_reason: str,
) -> tuple[TargetCategory, str]:
    """Target category of a follow-up and the rule, in words, with its numbers.

    Parameters
    ----------
    point:
        The follow-up's :class:`SeriesPoint` (its value ``None``: not evaluable).
    thresholds:
        :class:`SumThresholds`.
    measure:
        What is summed, for the message.
    complete:
        Whether the criterion's complete-response condition holds (decided by the criterion).
    complete_reason:
        The sentence that explains it (used when ``complete``).

    Returns
    -------
    (TargetCategory, str)
        PD is checked first (against the nadir), then CR, then PR (against the baseline); SD
        otherwise.
    """
    if point.value is None:
        return TargetCategory.NE, f"NE: the {measure.name} could not be formed at this time point"
    value = measure.show(point.value)
    if point.baseline is None:
        return TargetCategory.NE, f"NE: no baseline {measure.name} to compare with"
    nadir_text = (
        f"the nadir of {measure.show(point.nadir)} on {point.nadir_date}"
        if point.nadir is not None
        else "no nadir"
    )
    rel_nadir = "from zero" if point.nadir == 0 else format_change(point.change_from_nadir_percent)
    abs_nadir = point.change_from_nadir_absolute
    abs_text = f"{'+' if abs_nadir is not None and abs_nadir >= 0 else ''}{measure.show(abs_nadir)}"
    if _progression(point, thresholds):
        return TargetCategory.PD, (
            f"PD: {measure.name} {value} is {rel_nadir} and {abs_text} over {nadir_text} "
            f"(progression: {thresholds.describe_progression(measure)})"
        )
    if complete:
        return TargetCategory.CR, f"CR: {complete_reason}"
    base = measure.show(point.baseline)
    rel_base = format_change(point.change_from_baseline_percent)
    if thresholds.response.met(point.change_from_baseline_percent):
        return TargetCategory.PR, (
            f"PR: {measure.name} {value} is {rel_base} from the baseline {base} "
            f"(response: {thresholds.response.describe()})"
        )
    return TargetCategory.SD, (
        f"SD: {measure.name} {value} is {rel_base} from the baseline {base} "
        f"(PR needs {thresholds.response.describe()}) and {rel_nadir}, {abs_text} over {nadir_text} "
        f"(PD needs {thresholds.describe_progression(measure)})"
    )


def _as_float(value: Fraction | None, measure: Measure) -> float | None:
    """A value rounded to the measure's resolution, as a float for display and JSON."""
    if value is None:
        return None
    return float(format_value(value, measure.resolution, unit=False))


def _percent(value: Fraction | None) -> float | None:
    return None if value is None else float(format_value(value, PERCENT, unit=False))


def response_row(
    point: SeriesPoint,
    measure: Measure,
    *,
    days_from_baseline: float,
    category: str,
    target: str | None,
    non_target: str | None,
    new_lesions: str,
    rule: str,
    notes: Sequence[str] = (),
) -> TimePointResponse:
    """The :class:`~nelm.response.results.TimePointResponse` of a series point (one way to build it)."""
    return TimePointResponse(
        time_point=point.time_point,
        date=point.date,
        days_from_baseline=days_from_baseline,
        category=category,
        target=target,
        non_target=non_target,
        new_lesions=new_lesions,
        measure=measure.name,
        unit=measure.resolution.unit,
        value=_as_float(point.value, measure),
        baseline_value=_as_float(point.baseline, measure),
        nadir_value=_as_float(point.nadir, measure),
        nadir_time_point=point.nadir_time_point,
        change_from_baseline_percent=_percent(point.change_from_baseline_percent),
        change_from_nadir_percent=_percent(point.change_from_nadir_percent),
        change_from_nadir_absolute=_as_float(point.change_from_nadir_absolute, measure),
        rule=rule,
        notes=list(notes),
    )
