"""Building blocks every criterion module shares: result rows, the result, settings checks, text.

A criterion (:mod:`nelm.response.recist`, :mod:`~nelm.response.mrecist`, …) decides the
categories; this module assembles what it returns the same way everywhere: the baseline row and
the follow-up rows (:func:`baseline_row`, :func:`row`), the rules in words
(:func:`baseline_rule`, :func:`overall_rule`), and the :class:`CriterionResult` with the best
overall response and the time to progression (:func:`build_result`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Final

from nelm.errors import ConfigError
from nelm.response.bor import BorSettings, best_overall_response, time_to_progression
from nelm.response.exact import LENGTH_MM, Change, Direction, Resolution, format_value
from nelm.response.overall import NewLesions, NonTargetCategory, overall_response
from nelm.response.results import CriterionResult, TimePointResponse
from nelm.response.sums import Measure, SeriesPoint, SumThresholds, TargetCategory, response_row

if TYPE_CHECKING:
    from nelm.response.model import ResponseCase
    from nelm.response.recist_targets import TargetSelection

__all__ = [
    "NO_TARGETS_BASELINE",
    "baseline_row",
    "baseline_rule",
    "build_result",
    "check_count",
    "check_flag",
    "check_organ",
    "check_positive",
    "check_settings",
    "exact_text",
    "follow_up_row",
    "mm",
    "overall_rule",
    "proposal",
    "row",
    "signed",
    "sum_thresholds",
]

#: The baseline rule of a criterion without target lesions.
NO_TARGETS_BASELINE: Final = "baseline: no target lesions (non-target disease only, RECIST 1.1 Table 2)"


# --- text ----------------------------------------------------------------------------------------


def exact_text(value: Fraction) -> str:
    """A setting as exact text: a terminating decimal (``"10"``, ``"2.5"``), else ``"1/3"``."""
    den = value.denominator
    for p in (2, 5):
        while den % p == 0:
            den //= p
    if den != 1:
        return str(value)
    return f"{(Decimal(value.numerator) / Decimal(value.denominator)).normalize():f}"


def mm(value: Fraction | None) -> str:
    """A length for messages, at 0.1 mm (``"10.0 mm"``)."""
    return format_value(value, LENGTH_MM)


def signed(value: Fraction | None, resolution: Resolution) -> str:
    """A value with an explicit sign and its unit (``"+1.50 SUL"``, ``"-2.0 mL"``, ``"n/a"``)."""
    if value is None:
        return "n/a"
    text = format_value(value, resolution)
    return text if text.startswith("-") else f"+{text}"


def baseline_rule(
    measure: Measure,
    total: Fraction | None,
    selection: TargetSelection,
    details: str,
    *,
    extra: str = "",
    lesions: str = "target",
    others: str = "non-target",
) -> str:
    """The baseline rule with targets: ``"baseline: <measure> <total> over N target lesion(s)
    (<details>)<extra>; M non-target lesion(s)"``."""
    return (
        f"baseline: {measure.name} {measure.show(total)} over {len(selection.targets)} {lesions} "
        f"lesion(s) ({details}){extra}; {len(selection.non_targets)} {others} lesion(s)"
    )


def overall_rule(
    category: str,
    why: str,
    target_rule: str,
    non_target_rule: str,
    new_rule: str,
    *,
    targets: str = "Target lesions",
    non_targets: str = "Non-target lesions",
) -> str:
    """A follow-up's rule in words: the overall category, then the target, non-target and new-lesion
    rules."""
    return (
        f"{category}: {why}. {targets}: {target_rule}. {non_targets}: {non_target_rule}. "
        f"New lesions: {new_rule}."
    )


def proposal(
    case: ResponseCase, selection: TargetSelection, intro: str, show: Callable[[str], str]
) -> TargetSelection:
    """``selection`` with its rule in words when the targets were proposed automatically:
    ``"<intro>: L1 (liver, <show(L1)>), …; non-targets: …"`` (the reader's own targets keep theirs)."""
    if case.targets is not None:
        return selection
    shown = ", ".join(f"{lid} ({case.lesions[lid].organ_key}, {show(lid)})" for lid in selection.targets)
    rule = (
        f"{intro}: {shown or 'none (no eligible lesion)'}; "
        f"non-targets: {', '.join(selection.non_targets) or 'none'}"
    )
    if selection.excluded:
        rule += f"; not recorded (normal nodes): {', '.join(selection.excluded)}"
    return replace(selection, rule=rule)


# --- rows and the result -------------------------------------------------------------------------


def row(
    point: SeriesPoint,
    measure: Measure,
    days: float,
    category: str,
    target: str | None,
    non_target: str | None,
    new: str,
    rule: str,
    notes: Sequence[str] = (),
) -> TimePointResponse:
    """:func:`~nelm.response.sums.response_row` with positional arguments."""
    return response_row(
        point,
        measure,
        days_from_baseline=days,
        category=category,
        target=target,
        non_target=non_target,
        new_lesions=new,
        rule=rule,
        notes=notes,
    )


def baseline_row(
    point: SeriesPoint, measure: Measure, rule: str, notes: Sequence[str] = ()
) -> TimePointResponse:
    """The baseline's row (category ``baseline``, day 0, no new lesions)."""
    return row(point, measure, 0.0, "baseline", None, None, "none", rule, notes)


def follow_up_row(
    point: SeriesPoint,
    measure: Measure,
    days: float,
    target: tuple[TargetCategory | None, str],
    non_target: tuple[NonTargetCategory, str],
    new: tuple[NewLesions, str],
    notes: Sequence[str] = (),
    *,
    labels: tuple[str, str] = ("Target lesions", "Non-target lesions"),
) -> TimePointResponse:
    """A follow-up's row: the overall response (:func:`~nelm.response.overall.overall_response`) of
    the ``(category, rule)`` pairs of the target, non-target and new lesions, every rule in words
    (:func:`overall_rule`; ``labels`` name the target and non-target parts). ``target`` is
    ``(None, rule)`` without target lesions."""
    category, why = overall_response(target[0], non_target[0], new[0])
    rule = overall_rule(
        category, why, target[1], non_target[1], new[1], targets=labels[0], non_targets=labels[1]
    )
    target_value = None if target[0] is None else target[0].value
    return row(point, measure, days, category, target_value, non_target[0].value, new[0].value, rule, notes)


def build_result(
    criterion: str,
    source: str,
    settings: dict[str, str],
    selection: TargetSelection,
    rows: list[TimePointResponse],
    bor_settings: BorSettings,
    notes: list[str],
    *,
    aliases: Mapping[str, str] | None = None,
) -> CriterionResult:
    """The :class:`CriterionResult` with the best overall response and the time to progression."""
    bor, bor_rule = best_overall_response(rows, bor_settings, aliases=aliases)
    progression_tp, ttp = time_to_progression(rows, aliases=aliases)
    return CriterionResult(
        criterion=criterion,
        source=source,
        settings=settings,
        targets=list(selection.targets),
        non_targets=list(selection.non_targets),
        target_selection=selection.rule,
        time_points=rows,
        best_overall_response=bor,
        best_overall_response_rule=bor_rule,
        progression_time_point=progression_tp,
        time_to_progression_days=ttp,
        notes=notes,
    )


# --- settings ------------------------------------------------------------------------------------


def check_positive(value: object, what: str, name: str) -> Fraction:
    """An exact number > 0 as a :class:`~fractions.Fraction` (else :class:`ConfigError`)."""
    if isinstance(value, bool) or not isinstance(value, (Fraction, int)) or value <= 0:
        raise ConfigError(f"{what} setting {name} must be an exact number > 0, got {value!r}")
    return Fraction(value)


def check_count(value: object, what: str, name: str) -> None:
    """An integer ≥ 1 (else :class:`ConfigError`)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{what} setting {name} must be an integer ≥ 1, got {value!r}")


def check_flag(value: object, what: str, name: str) -> None:
    """``True`` or ``False`` (else :class:`ConfigError`)."""
    if not isinstance(value, bool):
        raise ConfigError(f"{what} setting {name} must be true or false, got {value!r}")


def check_organ(value: object, what: str, name: str) -> None:
    """A non-blank organ name (else :class:`ConfigError`)."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{what} setting {name} must be an organ name, got {value!r}")


def sum_thresholds(
    response_percent: Fraction,
    progression_percent: Fraction,
    *,
    progression_inclusive: bool = True,
    floor: Fraction | None = None,
) -> SumThresholds:
    """At least ``response_percent`` decrease from the baseline; ``progression_percent`` increase
    over the nadir (at least, or with ``progression_inclusive=False`` more than), and an inclusive
    absolute ``floor`` when given."""
    return SumThresholds(
        response=Change(Direction.DECREASE, response_percent, inclusive=True),
        progression=Change(Direction.INCREASE, progression_percent, inclusive=progression_inclusive),
        progression_floor=floor,
        floor_inclusive=True,
    )


def check_settings(obj: object, what: str, fractions: Sequence[str], counts: Sequence[str] = ()) -> None:
    """Validate and normalise a criterion's settings dataclass (exact numbers > 0, counts ≥ 1 or
    ``None``, BOR)."""
    for name in fractions:
        object.__setattr__(obj, name, check_positive(getattr(obj, name), what, name))
    for name in counts:
        value = getattr(obj, name)
        if value is not None:
            check_count(value, what, name)
    if not isinstance(getattr(obj, "bor", None), BorSettings):
        raise ConfigError(f"{what} setting bor must be a BorSettings")
