"""JSON-serialisable results of response assessment (pydantic v2, frozen).

Every criterion returns a :class:`CriterionResult`: per time point the category, the numbers it
rests on and the rule that decided it, in words ("PD: sum 60.0 mm is +20.0 % and +10.0 mm over
the nadir of 50.0 mm on 2026-03-01"); then the best overall response and the time to
progression. Numbers are floats rounded to the quantity's resolution for display; the decisions
were taken on the exact values (:mod:`nelm.response.exact`).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from nelm import RESEARCH_USE_DISCLAIMER

__all__ = [
    "CriterionResult",
    "ResponseAssessment",
    "TimePointResponse",
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TimePointResponse(_Model):
    """One criterion's response at one time point (the baseline has category ``baseline``)."""

    time_point: str
    date: str
    days_from_baseline: float
    category: str
    """Overall time-point response (e.g. ``CR``, ``PR``, ``SD``, ``PD``, ``NE``)."""
    target: str | None
    """Target-disease category, when the criterion has target lesions."""
    non_target: str | None
    """Non-target category (``CR``, ``non-CR/non-PD``, ``PD``, ``NE``), when applicable."""
    new_lesions: str
    """``none``, ``equivocal`` or ``definite``."""
    measure: str
    """What was summed or tracked, e.g. ``sum of diameters``."""
    unit: str
    value: float | None
    baseline_value: float | None
    nadir_value: float | None
    nadir_time_point: str | None
    change_from_baseline_percent: float | None
    change_from_nadir_percent: float | None
    change_from_nadir_absolute: float | None
    rule: str
    """The rule that decided the category, with the numbers."""
    notes: list[str]


class CriterionResult(_Model):
    """One criterion over the whole course."""

    criterion: str
    """``RECIST 1.1``, ``mRECIST``, ``EASL``, ``WHO``, ``Choi``, ``PERCIST 1.0`` …"""
    source: str
    """The primary citation."""
    settings: dict[str, str]
    """Every threshold and option used, as text (exact values)."""
    targets: list[str]
    non_targets: list[str]
    target_selection: str
    """How the targets were chosen (given by the reader, or the automatic rule)."""
    time_points: list[TimePointResponse]
    best_overall_response: str
    best_overall_response_rule: str
    progression_time_point: str | None
    time_to_progression_days: float | None
    notes: list[str]


class ResponseAssessment(_Model):
    """Every criterion side by side for one patient."""

    nelm_response: int = 1
    disclaimer: str = RESEARCH_USE_DISCLAIMER
    case_id: str
    baseline: str
    time_points: list[str]
    criteria: list[CriterionResult]
    tracking: list[dict[str, object]]
    """Lesion-matching decisions between time points (from masks), when tracking was run."""
    warnings: list[str]
