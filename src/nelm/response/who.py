"""WHO: the sum of the products of the bidimensional diameters of every measurable lesion.

Miller AB et al., Reporting results of cancer treatment, Cancer 1981;47:207-214 (reference/
response-criteria.md §1.4; as tabulated in PMC2755245 Table 3 and, for HCC, Riaz 2011 PMC3094725
Table 1):

* **measure**: for each lesion the longest diameter × the greatest perpendicular diameter
  (``long_mm`` × ``short_mm``), summed over **all** measurable lesions (no limit on their number;
  ``max_targets``/``max_per_organ`` ``None``);
* **CR**: disappearance of all known disease; **PR**: ≥ 50 % decrease of the sum from the
  baseline; both need confirmation at ≥ 4 weeks (the default :class:`BorSettings` here has
  ``confirmation=True``, 28 days);
* **PD**: a 25 % increase "in the size of one or more measurable lesions", or new lesions;
  **NC/SD** (reported as SD) otherwise.

WHO leaves three choices open, each a setting and recorded in the result:

* ``progression_mode``: ``"sum"`` (default; the sum of products rises ≥ 25 %, the usual reading
  in the HCC literature and the one comparable with the other sum criteria) or ``"per_lesion"``
  (any single lesion's product rises ≥ 25 % over its own reference, Miller's literal wording;
  a lesion growing back from 0 is progression). Every sum progression is also a per-lesion one,
  so ``per_lesion`` can only call progression more often;
* ``progression_inclusive``: ≥ 25 % (default) or > 25 %;
* ``progression_reference``: the ``"nadir"`` (default; Riaz 2011: "from maximum response",
  the smallest earlier value, the baseline included) or the ``"baseline"``.

Decisions where the sources are silent: a lesion is measurable with both diameters given at the
baseline (WHO sets no minimum size); lesions treated loco-regionally before the baseline are not
measured (as RECIST 1.1); every lymph node is recorded (WHO has no normal-node rule); a lesion
too small to measure counts ``too_small_mm2`` = 25 mm² (RECIST's 5 mm default, 5 × 5); a
disappeared or coalesced lesion 0; an incomplete sum is NE unless the measured lesions alone
already meet PD (as RECIST 1.1 §4.4). With no limit the reader's (RECIST) targets are not used:
every measurable lesion is followed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Literal

from nelm.errors import ConfigError
from nelm.response.bor import BorSettings
from nelm.response.build import (
    baseline_row,
    baseline_rule,
    build_result,
    check_flag,
    check_settings,
    exact_text,
    follow_up_row,
    sum_thresholds,
)
from nelm.response.exact import AREA_MM2, LENGTH_MM, format_change, format_value
from nelm.response.model import Lesion, LesionMeasurement, LesionState, ResponseCase, TimePoint
from nelm.response.mrecist import (
    TargetSum,
    classify_sum,
    target_sum,
)
from nelm.response.overall import (
    confirmed_new_lesion_ids,
    new_lesion_status,
    non_target_category,
)
from nelm.response.recist_targets import TargetSelection, select_targets
from nelm.response.results import CriterionResult
from nelm.response.sums import (
    Measure,
    SeriesPoint,
    SumThresholds,
    TargetCategory,
    classify_target,
    track,
)

__all__ = ["CRITERION", "SOURCE", "WhoSettings", "assess_who"]

CRITERION = "WHO"
SOURCE = "Miller AB et al. Cancer 1981;47:207-214"
_MEASURE = Measure("sum of products", AREA_MM2)


def _confirmed_bor() -> BorSettings:
    return BorSettings(confirmation=True)


@dataclass(frozen=True)
class WhoSettings:
    """WHO settings; the defaults are Miller 1981's values and the choices documented above."""

    max_targets: int | None = None
    """Largest number of measured lesions: ``None``, every measurable lesion (Miller 1981)."""
    max_per_organ: int | None = None
    """Largest number per organ: ``None``, no limit (Miller 1981)."""
    too_small_mm2: Fraction = Fraction(25)
    """A lesion too small to measure counts this product (RECIST's 5 mm default, 5 × 5 mm)."""
    response_percent: Fraction = Fraction(50)
    """PR: decrease of the sum of products from the baseline, at least this (≥ 50 %; Miller 1981)."""
    progression_percent: Fraction = Fraction(25)
    """PD: increase of the product(s) over the reference (25 %; Miller 1981)."""
    progression_inclusive: bool = True
    """``True``: at least 25 % (Miller 1981: "an increase of 25 %"); ``False``: more than 25 %."""
    progression_mode: Literal["sum", "per_lesion"] = "sum"
    """``sum``: the sum of products; ``per_lesion``: any single lesion's product (Miller 1981)."""
    progression_reference: Literal["nadir", "baseline"] = "nadir"
    """``nadir``: the smallest earlier value (Riaz 2011, "from maximum response"); or ``baseline``."""
    bor: BorSettings = field(default_factory=_confirmed_bor)
    """Best overall response: CR and PR confirmed at ≥ 4 weeks (Miller 1981)."""

    def __post_init__(self) -> None:
        check_settings(
            self,
            "WHO",
            ("too_small_mm2", "response_percent", "progression_percent"),
            ("max_targets", "max_per_organ"),
        )
        if (self.max_targets is None) != (self.max_per_organ is None):
            raise ConfigError("WHO settings max_targets and max_per_organ must both be set or both be none")
        check_flag(self.progression_inclusive, "WHO", "progression_inclusive")
        if self.progression_mode not in ("sum", "per_lesion"):
            raise ConfigError(
                f"WHO progression_mode must be 'sum' or 'per_lesion', got {self.progression_mode!r}"
            )
        if self.progression_reference not in ("nadir", "baseline"):
            raise ConfigError(
                f"WHO progression_reference must be 'nadir' or 'baseline', got {self.progression_reference!r}"
            )

    @property
    def thresholds(self) -> SumThresholds:
        """Response (≥, from the baseline) and progression (over the reference); no floor."""
        return sum_thresholds(
            self.response_percent, self.progression_percent, progression_inclusive=self.progression_inclusive
        )

    def settings_text(self) -> dict[str, str]:
        """Every setting as exact text, for the result."""
        t = self.thresholds
        what = "the sum of products" if self.progression_mode == "sum" else "any single lesion's product"
        return {
            "measure": "sum of longest diameter × greatest perpendicular diameter (long_mm × short_mm)",
            "max_targets": "no limit" if self.max_targets is None else str(self.max_targets),
            "max_per_organ": "no limit" if self.max_per_organ is None else str(self.max_per_organ),
            "too_small_mm2": exact_text(self.too_small_mm2),
            "response": f"{t.response.describe()} from the baseline",
            "progression": f"{t.progression.describe()} of {what} over the {self.progression_reference}",
            "progression_mode": self.progression_mode,
            "progression_inclusive": "true" if self.progression_inclusive else "false",
            "progression_reference": self.progression_reference,
            **self.bor.settings_text(),
        }


def _product(m: LesionMeasurement) -> Fraction | None:
    if m.long_mm is None or m.short_mm is None:
        return None
    return m.long_mm * m.short_mm


def _eligible(lesion: Lesion, m: LesionMeasurement, tp: TimePoint) -> tuple[bool, str]:
    lid = lesion.lesion_id
    if lesion.previously_treated:
        return False, f"{lid} was treated loco-regionally before the baseline: not measured (as RECIST 1.1)"
    if m.state is not LesionState.PRESENT:
        return False, f"{lid} is {m.state.value.replace('_', ' ')} at the baseline"
    product = _product(m)
    if product is None:
        return False, f"{lid} is not measured in two dimensions at the baseline (long_mm and short_mm needed)"
    if product == 0:
        return False, f"{lid} has a perpendicular diameter of 0 at the baseline"
    return True, (
        f"{lid} {format_value(m.long_mm, LENGTH_MM)} × {format_value(m.short_mm, LENGTH_MM)} = "
        f"{_MEASURE.show(product)}: measurable in two dimensions"
    )


def _selection(case: ResponseCase, s: WhoSettings) -> tuple[TargetSelection, list[str]]:
    def size(lesion: Lesion, m: LesionMeasurement) -> Fraction | None:
        return _product(m)

    notes: list[str] = []
    unlimited = s.max_targets is None or s.max_per_organ is None
    if unlimited and case.targets is not None:
        notes.append(
            f"the reader's targets ({', '.join(case.targets)}) are not used: WHO follows every measurable "
            "lesion"
        )
    chosen = replace(case, targets=None) if unlimited else case
    limit = max(1, len(case.lesions))
    selection = select_targets(
        chosen,
        max_targets=limit if s.max_targets is None else s.max_targets,
        max_per_organ=limit if s.max_per_organ is None else s.max_per_organ,
        size=size,
        eligible=_eligible,
        exclude=lambda lesion, m: None,
    )
    if chosen.targets is not None:
        return selection, notes
    base = case.baseline.measurements
    shown = ", ".join(f"{lid} ({_MEASURE.show(_product(base[lid]))})" for lid in selection.targets)
    limits = (
        "every measurable lesion (no limit)"
        if unlimited
        else f"the largest products, at most {s.max_targets} in total and {s.max_per_organ} per organ"
    )
    rule = (
        f"automatic: {limits}; measurable = both diameters given at the baseline, not treated before it: "
        f"{shown or 'none (no measurable lesion)'}; non-targets (not measurable): "
        f"{', '.join(selection.non_targets) or 'none'}"
    )
    return replace(selection, rule=rule), notes


def _against_baseline(point: SeriesPoint, baseline: SeriesPoint) -> SeriesPoint:
    """The point with the baseline as the progression reference (in place of the nadir)."""
    return replace(
        point, nadir=point.baseline, nadir_time_point=baseline.time_point, nadir_date=baseline.date
    )


def _classify(
    s: WhoSettings,
    point: SeriesPoint,
    tsum: TargetSum,
    lesion_points: dict[str, SeriesPoint],
) -> tuple[TargetCategory, str]:
    """Target category by the sum or per lesion (PD first), then CR, PR, SD."""
    ref = s.progression_reference
    complete = "disappearance of all measurable disease (sum of products 0)"
    if s.progression_mode == "sum":
        category, rule = classify_sum(point, tsum, s.thresholds, _MEASURE, complete_reason=complete)
        return category, rule.replace("the nadir of", f"the {ref} of")
    rising: list[str] = []
    largest: tuple[Fraction, str] | None = None
    for lid, p in lesion_points.items():
        measure = Measure(f"product of {lid}", AREA_MM2)
        category, rule = classify_target(p, s.thresholds, measure, complete=False, complete_reason="")
        if category is TargetCategory.PD:
            rising.append(rule.removeprefix("PD: ").replace("the nadir of", f"its {ref} of"))
        change = p.change_from_nadir_percent
        if change is not None and (largest is None or change > largest[0]):
            largest = (change, lid)
    progression = f"{s.thresholds.progression.describe()} of one lesion's product over its own {ref}"
    if rising:
        return TargetCategory.PD, f"PD (per lesion): {'; '.join(rising)} (progression: {progression})"
    category, rule = classify_sum(point, tsum, s.thresholds, _MEASURE, complete_reason=complete)
    top = "" if largest is None else f"; largest rise {largest[1]} {format_change(largest[0])}"
    if category is TargetCategory.SD:
        rule = (
            f"SD: {_MEASURE.name} {_MEASURE.show(point.value)} is "
            f"{format_change(point.change_from_baseline_percent)} from the baseline "
            f"{_MEASURE.show(point.baseline)} (PR needs {s.thresholds.response.describe()}); "
            f"no lesion meets progression ({progression}{top})"
        )
    elif category is TargetCategory.NE and tsum.value is None:
        rule = (
            f"NE: the {_MEASURE.name} is incomplete ({'; '.join(tsum.missing)}); no measured lesion meets "
            f"progression ({progression}{top})"
        )
    return category, rule


def _lesion_series(
    case: ResponseCase, sums: Sequence[TargetSum], targets: Sequence[str]
) -> dict[str, list[SeriesPoint]]:
    return {
        lid: track(
            [
                (tp.time_point_id, tp.date_text, t.values.get(lid))
                for tp, t in zip(case.time_points, sums, strict=True)
            ]
        )
        for lid in targets
    }


def assess_who(case: ResponseCase, settings: WhoSettings | None = None) -> CriterionResult:
    """WHO response at every follow-up, the best overall response and the time to progression.

    Parameters
    ----------
    case:
        The patient's course.
    settings:
        :class:`WhoSettings` (default: Miller 1981, sum mode, nadir reference, confirmation).

    Raises
    ------
    InputError
        With a target limit set: a reader's target that is not measurable, targets beyond the
        limits.
    """
    s = settings or WhoSettings()
    selection, notes = _selection(case, s)
    targets = selection.targets

    def present_value(lid: str, m: LesionMeasurement) -> tuple[Fraction | None, str]:
        return _product(m), "long_mm × short_mm"

    sums = [
        target_sum(tp, targets, present_value=present_value, too_small=s.too_small_mm2, show=_MEASURE.show)
        for tp in case.time_points
    ]
    series = track(
        [(tp.time_point_id, tp.date_text, t.value) for tp, t in zip(case.time_points, sums, strict=True)]
    )
    per_lesion = _lesion_series(case, sums, targets)
    if s.progression_reference == "baseline":
        series = [series[0], *(_against_baseline(p, series[0]) for p in series[1:])]
        per_lesion = {
            lid: [ps[0], *(_against_baseline(p, ps[0]) for p in ps[1:])] for lid, ps in per_lesion.items()
        }
    if targets:
        parts = "; ".join(f"{lid} {_MEASURE.show(sums[0].values.get(lid))}" for lid in targets)
        base_rule = baseline_rule(
            _MEASURE, sums[0].value, selection, parts, lesions="measurable", others="non-measurable"
        )
    else:
        base_rule = "baseline: no measurable lesions (non-target disease only, RECIST 1.1 Table 2)"
    rows = [baseline_row(series[0], _MEASURE, base_rule, sums[0].notes)]
    confirmed = confirmed_new_lesion_ids(case)
    for i in range(1, len(case.time_points)):
        tp, point, tsum = case.time_points[i], series[i], sums[i]
        target: TargetCategory | None = None
        target_rule = "no measurable lesions"
        if targets:
            lesion_points = {lid: per_lesion[lid][i] for lid in targets}
            target, target_rule = _classify(s, point, tsum, lesion_points)
        nt, nt_rule = non_target_category(tp, selection.non_targets)
        new, new_rule = new_lesion_status(tp, confirmed)
        rows.append(
            follow_up_row(
                point,
                _MEASURE,
                case.days_from_baseline(tp),
                (target, target_rule),
                (nt, nt_rule),
                (new, new_rule),
                tsum.notes,
                labels=("Measurable lesions", "Non-measurable lesions"),
            )
        )
    notes.append(
        f"progression mode {s.progression_mode!r}: {s.settings_text()['progression']} "
        "(WHO 1981 leaves sum versus per-lesion open; recorded as a setting)"
    )
    if s.progression_reference == "baseline":
        notes.append("progression is measured from the baseline: the nadir columns show the baseline")
    if not targets:
        notes.append("no measurable lesions: the overall response follows RECIST 1.1 Table 2")
    return build_result(CRITERION, SOURCE, s.settings_text(), selection, rows, s.bor, notes)
