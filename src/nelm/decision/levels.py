"""Levels of the tumour-board decision rules and how they combine.

Each rule gives one :class:`Level`; a therapy's level is the worst of its findings, as in ACTIN's
``EvaluationResult`` "worse-than" ordering (hartwigmedical/actin; clinical-rules.md §6, §9).

Severity order, from best to worst::

    APPROPRIATE < CONSIDER < UNDETERMINED < CAUTION < CONTRAINDICATED

Why ``UNDETERMINED`` sits between ``CONSIDER`` and ``CAUTION``:

* a therapy whose evaluated rules all pass but one rule could not run (an input is missing) must
  not read ``APPROPRIATE`` or ``CONSIDER``: the missing rule might have contraindicated it, and
  nelm never guesses a missing value. It reads ``UNDETERMINED``;
* a therapy with a determined ``CAUTION`` or ``CONTRAINDICATED`` finding reads that level even if
  another rule is undetermined: what is known is already a reason to stop and think, and hiding it
  behind "undetermined" would lose it. The undetermined findings are still listed, and the missing
  inputs are listed for the whole result.

So "worst wins" with this order is the whole aggregation rule (:func:`worst`).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

__all__ = ["Level", "worst"]


class Level(StrEnum):
    """Level of a finding or a therapy (module docstring for the order)."""

    APPROPRIATE = "APPROPRIATE"
    """The rule's positive criterion is met, or its gate is passed."""
    CONSIDER = "CONSIDER"
    """Not excluded, but the positive criterion is not (or only partly) met: weigh alternatives."""
    UNDETERMINED = "UNDETERMINED"
    """An input the rule needs is missing."""
    CAUTION = "CAUTION"
    """A soft contraindication or a risk the team must address (the reason is shown)."""
    CONTRAINDICATED = "CONTRAINDICATED"
    """A hard contraindication in the cited sources (a tumour board may still override it)."""

    @property
    def severity(self) -> int:
        """0 (APPROPRIATE) to 4 (CONTRAINDICATED)."""
        return _ORDER.index(self)


_ORDER = (Level.APPROPRIATE, Level.CONSIDER, Level.UNDETERMINED, Level.CAUTION, Level.CONTRAINDICATED)


def worst(levels: Iterable[Level]) -> Level:
    """The most severe level; ``UNDETERMINED`` when there is none (nothing was evaluated)."""
    out: Level | None = None
    for level in levels:
        if out is None or level.severity > out.severity:
            out = level
    return Level.UNDETERMINED if out is None else out
