"""Factories for the two commonest rule shapes: a number against a threshold, and a yes/no flag.

Comparisons are exact on :class:`~decimal.Decimal` values (DESIGN.md §4). Each factory states in
its ``fires`` argument whether the boundary value fires the rule, as the cited source words it
(">" exclusive, ">=" inclusive); the boundary tests check exactly that.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Final, Literal

from nelm.decision.engine import Context, Outcome, Rule, Therapy
from nelm.decision.levels import Level

__all__ = ["Op", "compare", "flag_rule", "threshold_rule"]

Op = Literal[">", ">=", "<", "<="]

_NEGATION: Final[dict[str, str]] = {">": "<=", ">=": "<", "<": ">=", "<=": ">"}


def compare(value: Decimal, op: Op, threshold: Decimal) -> bool:
    """``value op threshold``, exactly."""
    if op == ">":
        return value > threshold
    if op == ">=":
        return value >= threshold
    if op == "<":
        return value < threshold
    return value <= threshold


def threshold_rule(
    rule_id: str,
    therapy: Therapy | None,
    *,
    input: str,
    threshold: str,
    fires: Op,
    level: Level | str,
    what: str,
    consequence: str,
    citations: tuple[str, ...],
    otherwise: Level = Level.APPROPRIATE,
    passes: str = "",
    disagreement: str | None = None,
    applies: Callable[[Context], bool] | None = None,
) -> Rule:
    """A rule that fires when ``input fires threshold``.

    Parameters
    ----------
    level:
        The level when it fires, or the name of a level-valued threshold (configurable level).
    what:
        How the input is named in the message (``"bilirubin"``).
    consequence:
        Appended when it fires (``"TAE/TACE contraindicated (RETNET)"``).
    otherwise, passes:
        The level and the message tail when it does not fire.
    """
    names = (threshold,) if isinstance(level, Level) else (threshold, level)

    def check(ctx: Context) -> Outcome:
        value = ctx.number(input)
        limit = ctx.t(threshold)
        if compare(value, fires, limit):
            fired = level if isinstance(level, Level) else ctx.thresholds.level(level)
            return Outcome(fired, f"{what} {ctx.show(input)} {fires} {ctx.tt(threshold)}: {consequence}")
        tail = f": {passes}" if passes else ""
        return Outcome(otherwise, f"{what} {ctx.show(input)} {_NEGATION[fires]} {ctx.tt(threshold)}{tail}")

    return Rule(
        rule_id=rule_id,
        therapy=therapy,
        title=f"{what} vs {threshold}",
        needs=(input,),
        thresholds=names,
        citations=citations,
        check=check,
        disagreement=disagreement,
        applies=applies,
    )


def flag_rule(
    rule_id: str,
    therapy: Therapy | None,
    *,
    input: str,
    title: str,
    fires_when: Callable[[object], bool],
    level: Level | str,
    yes: str,
    no: str,
    citations: tuple[str, ...],
    otherwise: Level = Level.APPROPRIATE,
    disagreement: str | None = None,
    thresholds: tuple[str, ...] = (),
) -> Rule:
    """A rule that fires when ``fires_when(input value)``; ``yes``/``no`` are the messages
    (``{value}`` is replaced by the input's value)."""
    names = thresholds if isinstance(level, Level) else (*thresholds, level)

    def check(ctx: Context) -> Outcome:
        shown = ctx.show(input)
        if fires_when(ctx.value(input)):
            fired = level if isinstance(level, Level) else ctx.thresholds.level(level)
            return Outcome(fired, yes.format(value=shown))
        return Outcome(otherwise, no.format(value=shown))

    return Rule(
        rule_id=rule_id,
        therapy=therapy,
        title=title,
        needs=(input,),
        thresholds=names,
        citations=citations,
        check=check,
        disagreement=disagreement,
    )
