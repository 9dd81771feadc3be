"""Choi: tumour size or density (CT attenuation) on portal-venous-phase CT.

Choi H et al., J Clin Oncol 2007;25:1753-1759 (GIST on imatinib; reference/response-criteria.md
§1.5, as tabulated in PMC5658474 Table 2 and radiopaedia "Choi response criteria"):

* **size**: the RECIST sum of diameters of the RECIST targets; **density**: the mean attenuation
  (HU) of the targets on the portal venous phase (``mean_hu_portal``);
* **CR**: disappearance of all lesions and no new lesions;
* **PR**: size ≥ 10 % **or** density ≥ 15 % below the baseline, no new lesions, no obvious
  progression of non-measurable disease; **modified Choi** (``modified``; renal cell carcinoma)
  needs **both**;
* **PD**: size ≥ 10 % over the nadir **and** density not meeting PR, or new lesions (or the
  reader's call of unequivocal progression of non-target disease; new or enlarging intratumoral
  nodules are not modelled and must be reported that way);
* **SD**: otherwise.

Decisions where the sources are silent (documented):

* **Targets** are RECIST 1.1's (:func:`nelm.response.recist_targets.select_targets` with RECIST
  eligibility and limits, the reader's targets when given): the same lesions as RECIST. Size
  follows RECIST's conventions (node short axis, 5 mm too small to measure, 0 disappeared or
  coalesced), and CR is RECIST's (every non-nodal target gone, target nodes < 10 mm short axis).
* **Density** is the unweighted mean of the ``mean_hu_portal`` of the targets that are present
  (a target gone or too small to measure has no attenuation to average). It is NE when a present
  target has no value or a target was not evaluated, and its relative change is not defined for
  a baseline mean of 0 HU or below.
* A size rise that would be PD while density is NE, or a size change that would not be PR by
  itself while density (which could make it PR) is NE, gives NE; the category never rests on a
  guess. An incomplete size sum is NE.
"""

from __future__ import annotations

from collections.abc import Sequence
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
)
from nelm.response.exact import HU, LENGTH_MM, Change, Direction, format_change
from nelm.response.model import LesionMeasurement, LesionState, LesionType, ResponseCase, TimePoint
from nelm.response.mrecist import (
    TargetSum,
    target_sum,
)
from nelm.response.overall import (
    NonTargetCategory,
    confirmed_new_lesion_ids,
    new_lesion_status,
    non_target_category,
)
from nelm.response.recist_targets import RecistSettings, recist_size, select_targets
from nelm.response.results import CriterionResult
from nelm.response.sums import Measure, SeriesPoint, TargetCategory, track

__all__ = ["CRITERION", "SOURCE", "ChoiSettings", "assess_choi"]

CRITERION = "Choi"
SOURCE = "Choi H et al. J Clin Oncol 2007;25:1753-1759"
_MEASURE = Measure("sum of diameters (size)", LENGTH_MM)
_DENSITY = Measure("mean density", HU)
_NODE_NORMAL_MM = RecistSettings().node_pathological_min_sa_mm


@dataclass(frozen=True)
class ChoiSettings:
    """Choi settings; the defaults are Choi 2007's values."""

    size_response_percent: Fraction = Fraction(10)
    """PR by size: decrease of the sum of diameters from the baseline, at least this (≥ 10 %; Choi 2007)."""
    density_response_percent: Fraction = Fraction(15)
    """PR by density: decrease of the mean HU from the baseline, at least this (≥ 15 %; Choi 2007)."""
    size_progression_percent: Fraction = Fraction(10)
    """PD: increase of the sum of diameters over the nadir, at least this (≥ 10 %; Choi 2007)."""
    modified: bool = False
    """Modified Choi (renal cell carcinoma): PR needs both the size and the density decrease."""
    too_small_mm: Fraction = Fraction(5)
    """A target too small to measure counts this much (RECIST 1.1's default, 5 mm)."""
    bor: BorSettings = field(default_factory=BorSettings)
    """Best-overall-response settings (confirmation off)."""

    def __post_init__(self) -> None:
        check_settings(
            self,
            "Choi",
            ("size_response_percent", "density_response_percent", "size_progression_percent", "too_small_mm"),
        )
        check_flag(self.modified, "Choi", "modified")

    @property
    def size_response(self) -> Change:
        """PR by size (≥ 10 % decrease)."""
        return Change(Direction.DECREASE, self.size_response_percent, inclusive=True)

    @property
    def density_response(self) -> Change:
        """PR by density (≥ 15 % decrease)."""
        return Change(Direction.DECREASE, self.density_response_percent, inclusive=True)

    @property
    def size_progression(self) -> Change:
        """PD by size (≥ 10 % increase over the nadir)."""
        return Change(Direction.INCREASE, self.size_progression_percent, inclusive=True)

    def settings_text(self) -> dict[str, str]:
        """Every setting as exact text, for the result."""
        join = "and" if self.modified else "or"
        return {
            "variant": "modified Choi" if self.modified else "Choi",
            "targets": "the RECIST 1.1 targets (RECIST eligibility and limits)",
            "size": "RECIST sum of diameters",
            "density": "unweighted mean of the present targets' mean_hu_portal (portal venous phase)",
            "response": (
                f"size {self.size_response.describe()} {join} density {self.density_response.describe()} "
                "from the baseline"
            ),
            "progression": (
                f"size {self.size_progression.describe()} over the nadir and density not meeting PR"
            ),
            "modified": "true" if self.modified else "false",
            "too_small_mm": exact_text(self.too_small_mm),
            **self.bor.settings_text(),
        }


def _density(tp: TimePoint, targets: Sequence[str]) -> tuple[Fraction | None, str]:
    """Mean portal-venous HU of the present targets, and the text (or why it is NE)."""
    if not targets:
        return None, "no target lesions"
    measured = {lid: tp.measurements.get(lid) for lid in targets}
    not_evaluated = [lid for lid, m in measured.items() if m is None or m.state is LesionState.NOT_EVALUATED]
    if not_evaluated:
        return None, f"density NE: target(s) {', '.join(not_evaluated)} not evaluated"
    present = {lid: m for lid, m in measured.items() if m is not None and m.state is LesionState.PRESENT}
    lacking = [lid for lid, m in present.items() if m.mean_hu_portal is None]
    if lacking:
        return None, f"density NE: target(s) {', '.join(lacking)} present without mean_hu_portal"
    if not present:
        return None, "no target present to measure a density"
    values = {lid: m.mean_hu_portal for lid, m in present.items() if m.mean_hu_portal is not None}
    mean = sum(values.values(), Fraction(0)) / len(values)
    parts = ", ".join(f"{lid} {_DENSITY.show(v)}" for lid, v in values.items())
    left = [lid for lid in targets if lid not in present]
    text = f"density {_DENSITY.show(mean)} (mean of {parts}"
    text += f"; {', '.join(left)} not present, not averaged)" if left else ")"
    return mean, text


def _density_response(point: SeriesPoint, text: str, s: ChoiSettings) -> tuple[bool | None, str]:
    """Whether density meets PR (``None``: not known) and the text with its numbers."""
    if point.value is None:
        return None, text
    if point.baseline is None:
        return None, f"{text}; no baseline density to compare with"
    if point.baseline <= 0:
        return (
            None,
            f"{text}; the baseline density {_DENSITY.show(point.baseline)} is not above 0 HU, so its "
            "relative change is not defined",
        )
    change = point.change_from_baseline_percent
    met = s.density_response.met(change)
    return met, (
        f"{text} is {format_change(change)} from the baseline {_DENSITY.show(point.baseline)} "
        f"(PR by density needs {s.density_response.describe()}: {'met' if met else 'not met'})"
    )


def _size_text(point: SeriesPoint, value: Fraction) -> str:
    base = (
        f"size {_MEASURE.show(value)} is {format_change(point.change_from_baseline_percent)} from the "
        f"baseline {_MEASURE.show(point.baseline)}"
    )
    if point.nadir is None:
        return base
    change = "from zero" if point.nadir == 0 else format_change(point.change_from_nadir_percent)
    return f"{base} and {change} over the nadir of {_MEASURE.show(point.nadir)} on {point.nadir_date}"


def _classify(
    point: SeriesPoint,
    tsum: TargetSum,
    density: tuple[bool | None, str],
    s: ChoiSettings,
    *,
    complete: bool,
    cr_reason: str,
) -> tuple[TargetCategory, str]:
    """Target category: PD (size up and density not PR), CR, PR (size or/and density), SD."""
    d_pr, d_text = density
    if point.baseline is None:
        return TargetCategory.NE, "NE: no baseline size to compare with"
    if tsum.value is None:
        return (
            TargetCategory.NE,
            f"NE: the {_MEASURE.name} is incomplete ({'; '.join(tsum.missing)}); {d_text}",
        )
    size = _size_text(point, tsum.value)
    grew = point.nadir is not None and (
        (point.nadir == 0 and tsum.value > 0) or s.size_progression.met(point.change_from_nadir_percent)
    )
    if grew and d_pr is False:
        return TargetCategory.PD, (
            f"PD: size shows a {s.size_progression.describe()} over the nadir and density does not meet PR: "
            f"{size}; {d_text}"
        )
    if grew and d_pr is None:
        return TargetCategory.NE, (
            f"NE: size shows a {s.size_progression.describe()} over the nadir, but the density is not known, "
            f"so whether it meets PR (which would rule out PD) cannot be decided: {size}; {d_text}"
        )
    if complete:
        return TargetCategory.CR, f"CR: {cr_reason}"
    s_pr = s.size_response.met(point.change_from_baseline_percent)
    size_part = f"size {s.size_response.describe()}: {'met' if s_pr else 'not met'}"
    if s.modified:
        pr: bool | None = False if not s_pr else d_pr
        needs = (
            f"modified Choi PR needs size {s.size_response.describe()} and density "
            f"{s.density_response.describe()}"
        )
    else:
        pr = True if s_pr else d_pr
        needs = f"Choi PR needs size {s.size_response.describe()} or density {s.density_response.describe()}"
    if grew:
        size_part += (
            f"; size shows a {s.size_progression.describe()} over the nadir but density meets PR, so not PD"
        )
    if pr is None:
        return TargetCategory.NE, f"NE: density is needed to decide ({needs}); {size_part}; {size}; {d_text}"
    if pr:
        return TargetCategory.PR, f"PR ({needs}): {size_part}; {size}; {d_text}"
    return (
        TargetCategory.SD,
        f"SD ({needs}; PD needs size {s.size_progression.describe()} over the nadir "
        f"without density PR): {size_part}; {size}; {d_text}",
    )


def _complete(case: ResponseCase, tsum: TargetSum, targets: Sequence[str]) -> tuple[bool, str]:
    """RECIST's complete response of the targets: non-nodal gone, nodes < 10 mm short axis."""
    nodes = [lid for lid in targets if case.lesions[lid].lesion_type is LesionType.NODE]
    done = (
        tsum.value is not None
        and bool(targets)
        and all(tsum.values[lid] == 0 for lid in targets if lid not in nodes)
        and all(tsum.values[lid] < _NODE_NORMAL_MM for lid in nodes)
    )
    reason = "every target lesion has disappeared"
    if nodes:
        reason = (
            f"every non-nodal target has disappeared and every target node is < "
            f"{_MEASURE.show(_NODE_NORMAL_MM)} short axis (RECIST 1.1)"
        )
    return done, reason


def _non_target(
    case: ResponseCase, tp: TimePoint, non_targets: Sequence[str]
) -> tuple[NonTargetCategory, str]:
    """RECIST 1.1's non-target category (nodes < 10 mm short axis count as normal)."""
    normal = []
    for lid in non_targets:
        m = tp.measurements.get(lid)
        if case.lesions[lid].lesion_type is LesionType.NODE and m is not None:
            small = m.state is LesionState.PRESENT and m.short_mm is not None and m.short_mm < _NODE_NORMAL_MM
            if m.state is LesionState.TOO_SMALL or small:
                normal.append(lid)
    return non_target_category(tp, non_targets, normal=normal)


def assess_choi(case: ResponseCase, settings: ChoiSettings | None = None) -> CriterionResult:
    """Choi response at every follow-up, the best overall response and the time to progression.

    Parameters
    ----------
    case:
        The patient's course.
    settings:
        :class:`ChoiSettings` (default: Choi 2007; ``modified=True`` for modified Choi).

    Raises
    ------
    InputError
        A reader's target that is not RECIST-measurable, targets beyond the RECIST limits.
    """
    s = settings or ChoiSettings()
    selection = select_targets(case)
    targets = selection.targets

    def present_value(lid: str, m: LesionMeasurement) -> tuple[Fraction | None, str]:
        node = case.lesions[lid].lesion_type is LesionType.NODE
        return recist_size(case.lesions[lid], m), "short_mm (node short axis)" if node else "long_mm"

    sums = [
        target_sum(tp, targets, present_value=present_value, too_small=s.too_small_mm, show=_MEASURE.show)
        for tp in case.time_points
    ]
    series = track(
        [(tp.time_point_id, tp.date_text, t.value) for tp, t in zip(case.time_points, sums, strict=True)]
    )
    densities = [_density(tp, targets) for tp in case.time_points]
    density_series = track(
        [(tp.time_point_id, tp.date_text, d[0]) for tp, d in zip(case.time_points, densities, strict=True)]
    )
    base_rule = (
        baseline_rule(_MEASURE, sums[0].value, selection, ", ".join(targets), extra=f"; {densities[0][1]}")
        if targets
        else NO_TARGETS_BASELINE
    )
    rows = [baseline_row(series[0], _MEASURE, base_rule, [*sums[0].notes, densities[0][1]])]
    confirmed = confirmed_new_lesion_ids(case)
    for i in range(1, len(case.time_points)):
        tp, point, tsum = case.time_points[i], series[i], sums[i]
        density = _density_response(density_series[i], densities[i][1], s)
        target: TargetCategory | None = None
        target_rule = "no target lesions"
        if targets:
            complete, cr_reason = _complete(case, tsum, targets)
            target, target_rule = _classify(point, tsum, density, s, complete=complete, cr_reason=cr_reason)
        nt, nt_rule = _non_target(case, tp, selection.non_targets)
        new, new_rule = new_lesion_status(tp, confirmed)
        notes = [*tsum.notes, density[1]] if targets else list(tsum.notes)
        days = case.days_from_baseline(tp)
        rows.append(
            follow_up_row(point, _MEASURE, days, (target, target_rule), (nt, nt_rule), (new, new_rule), notes)
        )
    notes = [
        "targets are RECIST 1.1's (RECIST eligibility and limits, the reader's when given): the same "
        "lesions as RECIST",
        "density is the unweighted mean of the portal-venous mean HU of the targets present at each "
        "time point",
        "new or enlarging intratumoral nodules (Choi PD) are not modelled: report them as unequivocal "
        "progression of non-target disease",
    ]
    if s.modified:
        notes.append("modified Choi: PR needs both the size and the density decrease")
    if not targets:
        notes.append("no target lesions: the overall response follows RECIST 1.1 Table 2")
    return build_result(CRITERION, SOURCE, s.settings_text(), selection, rows, s.bor, notes)
