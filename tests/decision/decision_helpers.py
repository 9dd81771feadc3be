"""Helpers for the decision-rule tests."""

from __future__ import annotations

from typing import Any

from nelm.decision import DecisionResult, Finding, Thresholds, advise
from nelm.decision.inputs import DecisionInputs


def run(thresholds: Thresholds | None = None, **values: Any) -> DecisionResult:
    """``advise`` on inputs built directly (sources marked 'test')."""
    inputs = DecisionInputs(**values, sources={k: "test" for k in values})
    return advise(inputs, thresholds)


def finding(result: DecisionResult, rule_id: str, therapy: str | None) -> Finding:
    """The single finding of ``rule_id`` for ``therapy`` (``None``: cross-cutting)."""
    found = [f for f in result.findings(rule_id) if f.therapy == therapy]
    assert len(found) == 1, f"{rule_id}/{therapy}: {len(found)} findings"
    return found[0]
