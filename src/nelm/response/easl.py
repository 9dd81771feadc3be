"""EASL: the sum of the targets' bidimensional enhancing (viable) areas.

Bruix J et al., J Hepatol 2001;35:421-430 (the Barcelona 2000 EASL conference), with the response
table of Riaz A, Salem R et al., J Hepatol 2011 (PMC3094725 Table 1; reference/response-criteria.md
§1.3). EASL measures the amount of **enhancing (viable) tissue**; nelm implements the measured
form (EASLmeas), the bidimensional product of the enhancing part (``enhancing_area_mm2``):

* **CR**: 100 % decrease, no enhancing tissue in any target (the sum is 0);
* **PR**: ≥ 50 % decrease from the baseline;
* **PD**: > 25 % increase over the nadir (sources also write ≥ 25 %: ``progression_inclusive``),
  or new lesions, or the reader's call of unequivocal progression (new enhancement in treated
  lesions); no absolute floor;
* **SD**: otherwise (< 50 % decrease and an increase of at most 25 %).

Decisions where the sources are silent (documented; settings where they are choices):

* **Targets** as mRECIST (:func:`nelm.response.mrecist.enhancing_eligibility`): the RECIST 1.1
  selection rules, each RECIST-measurable (≥ 10 mm) and enhancing at the baseline
  (``enhancing_area_mm2`` > 0), the largest enhancing area first, at most ``max_targets`` (5) and
  ``max_per_organ`` (2), the RECIST limits (Bruix 2001 sets none for the measured form). A
  non-enhancing lesion has no viable tissue to measure: it is a non-target. Lymph nodes are
  non-targets.
* A target **too small to measure** counts ``too_small_mm2`` = 25 mm², RECIST's 5 mm default in
  both directions (5 mm × 5 mm); disappeared or coalesced counts 0; an incomplete sum is NE
  unless the measured targets alone already meet PD (RECIST 1.1 §4.4).
* **Non-targets**: CR when the enhancement has gone in all (disappeared, or present with an
  enhancing area of 0), as mRECIST.
* **New lesions**: RECIST 1.1 (a definite new lesion is PD; an equivocal one only once
  confirmed, dated back to it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from nelm.response.bor import BorSettings
from nelm.response.build import (
    NO_TARGETS_BASELINE,
    baseline_row,
    baseline_rule,
    build_result,
    check_flag,
    check_settings,
    exact_text,
    follow_up_row,
    proposal,
    sum_thresholds,
)
from nelm.response.exact import AREA_MM2, LENGTH_MM, format_value
from nelm.response.model import Lesion, LesionMeasurement, ResponseCase
from nelm.response.mrecist import (
    Enhancement,
    classify_sum,
    enhancement_non_target,
    enhancing_eligibility,
    target_sum,
)
from nelm.response.overall import confirmed_new_lesion_ids, new_lesion_status
from nelm.response.recist_targets import TargetSelection, select_targets
from nelm.response.results import CriterionResult
from nelm.response.sums import Measure, SumThresholds, TargetCategory, track

__all__ = ["CRITERION", "SOURCE", "EaslSettings", "assess_easl"]

CRITERION = "EASL"
SOURCE = (
    "Bruix J et al. J Hepatol 2001;35:421-430; response table as in Riaz A et al. J Hepatol 2011 "
    "(PMC3094725 Table 1)"
)
_MEASURE = Measure("sum of enhancing areas", AREA_MM2)
_ENHANCING = Enhancement("enhancing_area_mm2", "enhancing area", AREA_MM2)


@dataclass(frozen=True)
class EaslSettings:
    """EASL settings; the defaults are Bruix 2001 / Riaz 2011's values."""

    min_target_mm: Fraction = Fraction(10)
    """Smallest RECIST longest diameter of a target: 10 mm (selection as mRECIST)."""
    max_targets: int = 5
    """At most this many targets (the RECIST 1.1 limit; Bruix 2001 gives none)."""
    max_per_organ: int = 2
    """At most this many targets per organ (the RECIST 1.1 limit)."""
    too_small_mm2: Fraction = Fraction(25)
    """A target too small to measure counts this area (RECIST's 5 mm default squared: 25 mm²)."""
    response_percent: Fraction = Fraction(50)
    """PR: decrease of the enhancing sum from the baseline, at least this (≥ 50 %; Bruix 2001)."""
    progression_percent: Fraction = Fraction(25)
    """PD: increase of the enhancing sum over its nadir (25 %; Bruix 2001, Riaz 2011)."""
    progression_inclusive: bool = False
    """``False``: PD needs more than 25 % (Riaz 2011 Table 1: "> 25 %"); ``True``: at least 25 %."""
    bor: BorSettings = field(default_factory=BorSettings)
    """Best-overall-response settings (confirmation off)."""

    def __post_init__(self) -> None:
        check_settings(
            self,
            "EASL",
            ("min_target_mm", "too_small_mm2", "response_percent", "progression_percent"),
            ("max_targets", "max_per_organ"),
        )
        check_flag(self.progression_inclusive, "EASL", "progression_inclusive")

    @property
    def thresholds(self) -> SumThresholds:
        """Response (≥, from the baseline) and progression (> or ≥, over the nadir); no floor."""
        return sum_thresholds(
            self.response_percent, self.progression_percent, progression_inclusive=self.progression_inclusive
        )

    def settings_text(self) -> dict[str, str]:
        """Every setting as exact text, for the result."""
        t = self.thresholds
        return {
            "measure": "sum of the targets' bidimensional enhancing areas (enhancing_area_mm2)",
            "min_target_mm": exact_text(self.min_target_mm),
            "target_enhancement": "enhancing at the baseline (enhancing_area_mm2 > 0)",
            "max_targets": str(self.max_targets),
            "max_per_organ": str(self.max_per_organ),
            "too_small_mm2": exact_text(self.too_small_mm2),
            "response": f"{t.response.describe()} from the baseline",
            "progression": f"{t.progression.describe()} over the nadir",
            "progression_inclusive": "true" if self.progression_inclusive else "false",
            **self.bor.settings_text(),
        }


def _selection(case: ResponseCase, s: EaslSettings) -> TargetSelection:
    def size(lesion: Lesion, m: LesionMeasurement) -> Fraction | None:
        return m.enhancing_area_mm2

    selection = select_targets(
        case,
        max_targets=s.max_targets,
        max_per_organ=s.max_per_organ,
        size=size,
        eligible=enhancing_eligibility(_ENHANCING, s.min_target_mm, atypical=False, criterion=CRITERION),
    )
    base = case.baseline.measurements
    intro = (
        f"automatic proposal (as mRECIST): the largest enhancing areas at the baseline among lesions that "
        f"are RECIST-measurable (≥ {format_value(s.min_target_mm, LENGTH_MM)}) and enhancing, at most "
        f"{s.max_targets} in total and {s.max_per_organ} per organ, ties by lesion ID"
    )
    return proposal(case, selection, intro, lambda lid: _ENHANCING.show(base[lid].enhancing_area_mm2))


def assess_easl(case: ResponseCase, settings: EaslSettings | None = None) -> CriterionResult:
    """EASL response at every follow-up, the best overall response and the time to progression.

    Parameters
    ----------
    case:
        The patient's course.
    settings:
        :class:`EaslSettings` (default: Bruix 2001 / Riaz 2011).

    Raises
    ------
    InputError
        A reader's target that is not eligible (not measurable, a node, not enhancing or without
        an enhancing area at the baseline), targets beyond the limits.
    """
    s = settings or EaslSettings()
    selection = _selection(case, s)
    targets = selection.targets

    def present_value(lid: str, m: LesionMeasurement) -> tuple[Fraction | None, str]:
        return m.enhancing_area_mm2, "enhancing_area_mm2"

    sums = [
        target_sum(tp, targets, present_value=present_value, too_small=s.too_small_mm2, show=_ENHANCING.show)
        for tp in case.time_points
    ]
    series = track(
        [(tp.time_point_id, tp.date_text, t.value) for tp, t in zip(case.time_points, sums, strict=True)]
    )
    parts = "; ".join(f"{lid} {_ENHANCING.show(sums[0].values.get(lid))}" for lid in targets)
    base_rule = baseline_rule(_MEASURE, sums[0].value, selection, parts) if targets else NO_TARGETS_BASELINE
    rows = [baseline_row(series[0], _MEASURE, base_rule, sums[0].notes)]
    confirmed = confirmed_new_lesion_ids(case)
    for i in range(1, len(case.time_points)):
        tp, point, tsum = case.time_points[i], series[i], sums[i]
        target: TargetCategory | None = None
        target_rule = "no target lesions"
        if targets:
            target, target_rule = classify_sum(
                point,
                tsum,
                s.thresholds,
                _MEASURE,
                complete_reason=(
                    "100 % decrease: no enhancing tissue in any target (sum of enhancing areas 0)"
                ),
            )
        nt, nt_rule = enhancement_non_target(case, tp, selection.non_targets, _ENHANCING)
        new, new_rule = new_lesion_status(tp, confirmed)
        days = case.days_from_baseline(tp)
        rows.append(
            follow_up_row(
                point, _MEASURE, days, (target, target_rule), (nt, nt_rule), (new, new_rule), tsum.notes
            )
        )
    notes = [
        "EASL measured (bidimensional enhancing areas as given); Riaz 2011 counted Lipiodol deposits as "
        "enhancing tissue on CT",
        f"progression: {s.thresholds.progression.describe()} over the nadir (sources write both > and ≥; "
        "progression_inclusive)",
        "lymph nodes and non-enhancing lesions are followed as non-targets",
    ]
    if not targets:
        notes.append("no target lesions: the overall response follows RECIST 1.1 Table 2")
    return build_result(CRITERION, SOURCE, s.settings_text(), selection, rows, s.bor, notes)
