"""The public entry :func:`advise`: every rule set run on one patient's inputs."""

from __future__ import annotations

from nelm.decision import (
    rules_ablation,
    rules_common,
    rules_embolization,
    rules_prrt,
    rules_surgery,
    rules_tare,
)
from nelm.decision.engine import Context, DecisionResult, Rule, build_result, evaluate
from nelm.decision.inputs import DecisionInputs
from nelm.decision.not_encoded import NOT_ENCODED
from nelm.decision.thresholds import Thresholds

__all__ = ["ALL_RULES", "advise"]

ALL_RULES: tuple[Rule, ...] = (
    *rules_common.RULES,
    *rules_surgery.RULES,
    *rules_ablation.RULES,
    *rules_embolization.RULES,
    *rules_tare.RULES,
    *rules_prrt.RULES,
)
"""Every rule, cross-cutting first; findings keep this order within a therapy."""


def advise(inputs: DecisionInputs, thresholds: Thresholds | None = None) -> DecisionResult:
    """Assess every therapy for one patient.

    Parameters
    ----------
    inputs:
        :func:`nelm.decision.inputs.inputs_from_case` or built directly.
    thresholds:
        Threshold values (default: every default; :func:`nelm.decision.thresholds.load_thresholds`).

    Returns
    -------
    DecisionResult
        Per therapy the worst level and every finding; cross-cutting findings; missing inputs;
        disagreements; citations; inputs with provenance; rules not encoded. Decision support for
        a tumour board, not a decision.
    """
    ctx = Context(inputs, thresholds or Thresholds())
    findings = evaluate(ALL_RULES, ctx)
    return build_result(findings, ctx, ALL_RULES, NOT_ENCODED)
