"""The readable plain-text summary of a :class:`~nelm.decision.engine.DecisionResult`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nelm.decision.engine import DecisionResult, Finding

__all__ = ["finding_line", "summary_lines"]


def finding_line(finding: Finding) -> str:
    """``[LEVEL] RULE-ID: message [citations]``."""
    return f"[{finding.level.value}] {finding.rule_id}: {finding.message} [{', '.join(finding.citations)}]"


def summary_lines(result: DecisionResult) -> list[str]:
    """Disclaimer, per-therapy levels with findings, cross-cutting findings, missing inputs and
    disagreements, one line each."""
    lines = [result.disclaimer]
    if result.assessment_date:
        lines.append(f"Assessment date: {result.assessment_date}")
    lines.append("")
    lines.append("Therapies (level = worst finding):")
    for therapy in result.therapies:
        lines.append(f"  {therapy.label}: {therapy.level.value}")
        lines.extend(f"    {finding_line(f)}" for f in therapy.findings)
    if result.cross_cutting:
        lines.append("Cross-cutting:")
        lines.extend(f"  {finding_line(f)}" for f in result.cross_cutting)
    if result.missing_inputs:
        lines.append("Missing inputs (the rules that need them are UNDETERMINED):")
        lines.extend(f"  {m.input}: needed by {', '.join(m.needed_by)}" for m in result.missing_inputs)
    if result.disagreements:
        lines.append("Where the sources disagree (default in force; alternatives):")
        lines.extend(f"  {d.parameter}: {d.default}; {d.alternatives}" for d in result.disagreements)
    lines.append(
        f"{len(result.not_encoded)} rules of the reference are not encoded (see the JSON 'not_encoded')."
    )
    return lines
