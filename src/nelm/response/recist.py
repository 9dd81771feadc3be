"""RECIST 1.1: response at each follow-up and over the course, every decision explained.

Eisenhauer EA et al., Eur J Cancer 2009;45:228-247 (reference/response-criteria.md §1.1), with
the EORTC RECIST working group's clarifications (recist.eortc.org). Baseline measurability and
target selection live in :mod:`nelm.response.recist_targets`; this module follows the targets:

* **sum of diameters** per time point: LD of non-nodal targets plus SA of target nodes (a node
  keeps its actual SA, even < 10 mm); a lesion too small to measure counts ``too_small_mm``
  (5 mm), a disappeared or coalesced one 0 (the coalesced mass is measured on the lesion it
  merged into); split lesions arrive with their fragments summed. A target not evaluated, or
  present without the value RECIST needs, leaves the sum **incomplete**;
* **target category** (:func:`nelm.response.sums.classify_target`): PD at ≥ 20 % and ≥ 5 mm
  over the nadir, CR when every non-nodal target has disappeared and every target node is
  < 10 mm SA, PR at ≥ 30 % below the baseline, SD otherwise. An incomplete sum is NE, **unless
  the measured targets alone already meet PD** against the nadir (guideline §4.4: then PD);
* **non-target** and **new-lesion** status and the time-point overall response by Tables 1
  and 2 (:mod:`nelm.response.overall`); non-target CR allows nodes that are present but < 10 mm;
* **reappearance**: a lesion that disappeared (a node: returned below 10 mm SA) and reappears is
  not progression by itself, the sums decide, unless an overall CR was assigned at an earlier
  time point; then it is PD (recist.eortc.org FAQ; ``reappearance_after_cr_is_pd``);
* **best overall response** and time to progression (:mod:`nelm.response.bor`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from nelm.response.build import (
    NO_TARGETS_BASELINE,
    baseline_row,
    baseline_rule,
    build_result,
    mm,
    overall_rule,
    row,
)
from nelm.response.exact import LENGTH_MM
from nelm.response.model import Lesion, LesionMeasurement, LesionState, LesionType, ResponseCase, TimePoint
from nelm.response.overall import (
    NonTargetCategory,
    confirmed_new_lesion_ids,
    new_lesion_status,
    non_target_category,
    overall_response,
)
from nelm.response.recist_targets import (
    RecistSettings,
    TargetSelection,
    id_sort_key,
    is_measurable,
    normal_node_exclusion,
    recist_size,
    select_targets,
)
from nelm.response.results import CriterionResult, TimePointResponse
from nelm.response.sums import Measure, SeriesPoint, TargetCategory, classify_target, track

__all__ = [
    "CRITERION",
    "SOURCE",
    "RecistSettings",
    "TargetSelection",
    "assess_recist",
    "is_measurable",
    "select_targets",
]

CRITERION = "RECIST 1.1"
SOURCE = "Eisenhauer EA et al. Eur J Cancer 2009;45:228-247"
_MEASURE = Measure("sum of diameters", LENGTH_MM)
_REAPPEARANCE_SOURCE = "recist.eortc.org FAQ 'Does a new lesion always result in PD?'"
_GONE = (LesionState.DISAPPEARED, LesionState.COALESCED)


@dataclass(frozen=True)
class _Sum:
    """The target sum at one time point."""

    value: Fraction | None  # None: incomplete
    subset: Fraction  # sum of the targets that have a value
    missing: tuple[str, ...]  # why the sum is incomplete
    complete_response: bool
    cr_reason: str
    notes: tuple[str, ...]


def _target_value(
    lesion: Lesion, m: LesionMeasurement | None, targets: Sequence[str], s: RecistSettings
) -> tuple[Fraction | None, str | None]:
    """A target's contribution to the sum and a note (or ``None`` and why it is missing)."""
    lid = lesion.lesion_id
    node = lesion.lesion_type is LesionType.NODE
    if m is None or m.state is LesionState.NOT_EVALUATED:
        return None, f"target {lid} not evaluated"
    if m.state is LesionState.DISAPPEARED:
        return Fraction(0), f"{lid} disappeared: 0 mm"
    if m.state is LesionState.COALESCED:
        if m.coalesced_into not in targets:
            return None, (
                f"target {lid} coalesced into {m.coalesced_into}, which is not a target, so the mass "
                "is not in the sum"
            )
        return Fraction(0), f"{lid} coalesced into {m.coalesced_into}: 0 mm (the mass is measured there)"
    if m.state is LesionState.TOO_SMALL:
        return s.too_small_mm, f"{lid} too small to measure: counted as {mm(s.too_small_mm)}"
    value = m.short_mm if node else m.long_mm
    if value is None:
        field = "short_mm (node short axis)" if node else "long_mm"
        return None, f"target {lid} is present but its {field} is not given"
    note = f"{lid} split into {m.fragments} fragments, summed" if m.fragments > 1 else None
    return value, note


def _target_sum(case: ResponseCase, tp: TimePoint, targets: Sequence[str], s: RecistSettings) -> _Sum:
    values: dict[str, Fraction] = {}
    missing: list[str] = []
    notes: list[str] = []
    for lid in targets:
        value, text = _target_value(case.lesions[lid], tp.measurements.get(lid), targets, s)
        if value is None:
            missing.append(text or f"target {lid} has no value")
        else:
            values[lid] = value
            if text:
                notes.append(text)
    subset = sum(values.values(), Fraction(0))
    limit = s.node_pathological_min_sa_mm
    nodes = [lid for lid in targets if case.lesions[lid].lesion_type is LesionType.NODE]
    complete_response = (
        not missing
        and bool(targets)
        and all(values[lid] == 0 for lid in targets if lid not in nodes)
        and all(values[lid] < limit for lid in nodes)
    )
    if nodes:
        node_text = ", ".join(f"{lid} {mm(values[lid])}" for lid in nodes if lid in values)
        cr_reason = (
            f"every non-nodal target has disappeared and every target node is < {mm(limit)} short axis "
            f"({node_text}; the sum {mm(subset)} need not be 0)"
        )
    else:
        cr_reason = "every target lesion has disappeared"
    return _Sum(
        value=None if missing else subset,
        subset=subset,
        missing=tuple(missing),
        complete_response=complete_response,
        cr_reason=cr_reason,
        notes=tuple(notes),
    )


def _classify(point: SeriesPoint, tsum: _Sum, s: RecistSettings) -> tuple[TargetCategory, str]:
    """Target category, with the §4.4 rule for incomplete sums."""
    if tsum.value is not None:
        return classify_target(
            point, s.thresholds, _MEASURE, complete=tsum.complete_response, complete_reason=tsum.cr_reason
        )
    why = "; ".join(tsum.missing)
    subset_point = SeriesPoint(
        time_point=point.time_point,
        date=point.date,
        value=tsum.subset,
        baseline=point.baseline,
        nadir=point.nadir,
        nadir_time_point=point.nadir_time_point,
        nadir_date=point.nadir_date,
    )
    category, rule = classify_target(subset_point, s.thresholds, _MEASURE, complete=False, complete_reason="")
    if category is TargetCategory.PD:
        return TargetCategory.PD, (
            f"PD although the sum is incomplete ({why}): the measured targets alone already meet "
            f"progression (RECIST 1.1 §4.4), {rule}"
        )
    return TargetCategory.NE, (
        f"NE: the sum of diameters is incomplete ({why}); the measured targets alone, "
        f"{mm(tsum.subset)}, do not meet progression "
        f"({s.thresholds.describe_progression(_MEASURE)} over the nadir)"
    )


def _non_target(
    case: ResponseCase, tp: TimePoint, non_targets: Sequence[str], s: RecistSettings
) -> tuple[NonTargetCategory, str]:
    """Non-target category; CR also when the remaining nodes are all < 10 mm short axis."""
    limit = s.node_pathological_min_sa_mm
    normal: list[str] = []
    for lid in non_targets:
        m = tp.measurements.get(lid)
        if case.lesions[lid].lesion_type is LesionType.NODE and m is not None:
            small = m.state is LesionState.PRESENT and m.short_mm is not None and m.short_mm < limit
            if m.state is LesionState.TOO_SMALL or small:
                normal.append(lid)
    return non_target_category(tp, non_targets, normal=normal)


def _gone_or_back(lesion: Lesion, m: LesionMeasurement | None, s: RecistSettings) -> bool | None:
    """``True`` gone, ``False`` present (pathological), ``None`` unknown or not applicable."""
    if m is None or m.state in (LesionState.NOT_EVALUATED, LesionState.COALESCED):
        return None
    if m.state is LesionState.DISAPPEARED:
        return True
    if lesion.lesion_type is LesionType.NODE:
        if m.state is LesionState.TOO_SMALL:
            return True
        return m.short_mm is not None and m.short_mm < s.node_pathological_min_sa_mm
    return False


def _reappearances(
    case: ResponseCase, index: int, lesion_ids: Sequence[str], s: RecistSettings
) -> list[tuple[str, str]]:
    """Lesions that were gone at their last earlier evaluation and are back: (ID, where gone)."""
    out: list[tuple[str, str]] = []
    tps = case.time_points
    for lid in lesion_ids:
        lesion = case.lesions[lid]
        if _gone_or_back(lesion, tps[index].measurements.get(lid), s) is not False:
            continue
        for earlier in reversed(tps[:index]):
            status = _gone_or_back(lesion, earlier.measurements.get(lid), s)
            if status is None:
                continue
            if status:
                out.append((lid, earlier.time_point_id))
            break
    return out


def _baseline_row(
    case: ResponseCase, point: SeriesPoint, selection: TargetSelection, tsum: _Sum
) -> TimePointResponse:
    base = case.baseline
    parts = []
    for lid in selection.targets:
        lesion = case.lesions[lid]
        value = recist_size(lesion, base.measurements[lid])
        axis = "short axis" if lesion.lesion_type is LesionType.NODE else "longest diameter"
        parts.append(f"{lid} {mm(value or Fraction(0))} {axis}")
    if selection.targets:
        rule = baseline_rule(_MEASURE, tsum.subset, selection, "; ".join(parts))
    else:
        rule = f"{NO_TARGETS_BASELINE}; {len(selection.non_targets)} non-target lesion(s)"
    return baseline_row(point, _MEASURE, rule, tsum.notes)


def _selection(case: ResponseCase, s: RecistSettings) -> TargetSelection:
    def eligible(lesion: Lesion, m: LesionMeasurement, tp: TimePoint) -> tuple[bool, str]:
        return is_measurable(lesion, m, tp, s)

    return select_targets(
        case,
        max_targets=s.max_targets,
        max_per_organ=s.max_per_organ,
        size=recist_size,
        eligible=eligible,
        exclude=normal_node_exclusion(s),
    )


def assess_recist(case: ResponseCase, settings: RecistSettings | None = None) -> CriterionResult:
    """RECIST 1.1 response of a case at every follow-up, the best overall response and the TTP.

    Parameters
    ----------
    case:
        The patient's course (:class:`~nelm.response.model.ResponseCase`).
    settings:
        :class:`RecistSettings` (default: the guideline's values).

    Raises
    ------
    InputError
        A reader's target that is not measurable, targets beyond the limits, a baseline lesion
        recorded as gone at the baseline.
    """
    s = settings or RecistSettings()
    selection = _selection(case, s)
    targets = selection.targets
    has_targets = bool(targets)
    sums = [_target_sum(case, tp, targets, s) for tp in case.time_points]
    series = track(
        [(tp.time_point_id, tp.date_text, t.value) for tp, t in zip(case.time_points, sums, strict=True)]
    )
    confirmed = confirmed_new_lesion_ids(case)
    followed = (*targets, *selection.non_targets)
    rows = [_baseline_row(case, series[0], selection, sums[0])]
    cr_at: list[str] = []
    for i in range(1, len(case.time_points)):
        tp, point, tsum = case.time_points[i], series[i], sums[i]
        notes = list(tsum.notes)
        target: TargetCategory | None = None
        target_rule = "no target lesions"
        if has_targets:
            target, target_rule = _classify(point, tsum, s)
        nt, nt_rule = _non_target(case, tp, selection.non_targets, s)
        new, new_rule = new_lesion_status(tp, confirmed)
        category, why = overall_response(target, nt, new)
        back = _reappearances(case, i, followed, s)
        back_text = ", ".join(f"{lid} (gone at {where})" for lid, where in back)
        if back and category != "PD":
            if cr_at and s.reappearance_after_cr_is_pd:
                category, why = (
                    "PD",
                    (
                        f"lesion(s) {back_text} reappear after the overall CR at {cr_at[0]}: once an overall "
                        f"CR has been assigned, any reappearance is progression ({_REAPPEARANCE_SOURCE})"
                    ),
                )
            elif cr_at:
                notes.append(
                    f"lesion(s) {back_text} reappear after the overall CR at {cr_at[0]}; not progression "
                    "by itself because reappearance_after_cr_is_pd is off: the sums decide"
                )
            else:
                notes.append(
                    f"lesion(s) {back_text} reappear; without an earlier overall CR this is not progression "
                    f"by itself, the sums decide ({_REAPPEARANCE_SOURCE})"
                )
        if category == "CR":
            cr_at.append(tp.time_point_id)
        rule = overall_rule(category, why, target_rule, nt_rule, new_rule)
        rows.append(
            row(
                point,
                _MEASURE,
                case.days_from_baseline(tp),
                category,
                None if target is None else target.value,
                nt.value,
                new.value,
                rule,
                notes,
            )
        )
    return build_result(
        CRITERION, SOURCE, s.settings_text(), selection, rows, s.bor, _notes(case, selection, s)
    )


def _notes(case: ResponseCase, selection: TargetSelection, s: RecistSettings) -> list[str]:
    notes: list[str] = []
    if case.baseline.slice_thickness_mm is None and any(
        case.lesions[lid].lesion_type is LesionType.NON_NODAL for lid in case.lesions
    ):
        notes.append(
            f"baseline slice thickness unknown: assumed ≤ {mm(s.thin_slice_max_mm)}, so non-nodal lesions "
            f"are measurable from {mm(s.min_measurable_mm)}"
        )
    if not selection.targets:
        notes.append(
            "no target lesions: the overall response follows RECIST 1.1 Table 2 (non-target disease only)"
        )
    if selection.excluded:
        notes.append(
            f"not recorded (normal lymph nodes): {', '.join(sorted(selection.excluded, key=id_sort_key))}"
        )
    treated = [lid for lid in sorted(case.lesions, key=id_sort_key) if case.lesions[lid].previously_treated]
    if treated:
        notes.append(
            f"previously treated lesion(s) {', '.join(treated)} are not targets unless they have progressed "
            "since the treatment"
        )
    return notes
