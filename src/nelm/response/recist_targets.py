"""RECIST 1.1 at the baseline: settings, measurability and target selection.

Eisenhauer EA et al., New response evaluation criteria in solid tumours: revised RECIST
guideline (version 1.1), Eur J Cancer 2009;45:228-247 (reference/response-criteria.md §1.1):

* a non-nodal lesion is **measurable** with a longest diameter (LD) of at least 10 mm on CT/MRI
  with slices of at most 5 mm, and of at least twice the slice thickness on thicker slices;
* a lymph node is measured by its **short axis** (SA): ≥ 15 mm is measurable (a possible target),
  10 to < 15 mm pathological but not measurable (a non-target), < 10 mm normal (not recorded);
* lesions treated loco-regionally before the baseline (ablation, embolisation, radiation) are not
  selected as targets unless they progressed since;
* at most **5 targets**, at most **2 per organ** (every lymph node belongs to one organ), chosen
  by size; every other recorded lesion is a non-target.

:func:`select_targets` is shared with the criteria that reuse RECIST's selection (mRECIST,
WHO …) through its ``size``, ``eligible`` and ``exclude`` hooks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from fractions import Fraction

from nelm.errors import ConfigError, InputError
from nelm.response.bor import BorSettings
from nelm.response.build import check_flag, exact_text, mm
from nelm.response.exact import Change, Direction
from nelm.response.model import Lesion, LesionMeasurement, LesionState, LesionType, ResponseCase, TimePoint
from nelm.response.sums import SumThresholds

__all__ = [
    "RecistSettings",
    "TargetSelection",
    "id_sort_key",
    "is_measurable",
    "recist_size",
    "select_targets",
]

#: The RECIST 1.1 response and progression thresholds (Eisenhauer 2009, evaluation of target lesions).
_RECIST_THRESHOLDS = SumThresholds(
    response=Change(Direction.DECREASE, "30", inclusive=True),
    progression=Change(Direction.INCREASE, "20", inclusive=True),
    progression_floor=Fraction(5),
    floor_inclusive=True,
)


@dataclass(frozen=True)
class RecistSettings:
    """RECIST 1.1 thresholds and options; the defaults are the guideline's values.

    Parameters
    ----------
    min_measurable_mm:
        Smallest longest diameter of a measurable non-nodal lesion on CT/MRI: 10 mm
        (Eisenhauer 2009, measurability at baseline).
    thin_slice_max_mm:
        Slice thickness up to which ``min_measurable_mm`` applies: 5 mm (ibid., "CT scan slice
        thickness no greater than 5 mm"). An unknown thickness is taken as at most this, with a
        note.
    slice_thickness_factor:
        On thicker slices a lesion must measure at least this multiple of the slice thickness:
        2 (ibid.: "twice the slice thickness"; marked [B] in the reference, confirm against the
        primary text).
    node_target_min_sa_mm:
        Smallest short axis of a measurable (target-eligible) lymph node: 15 mm (ibid.).
    node_pathological_min_sa_mm:
        Smallest short axis of a pathological node: 10 mm (ibid.: 10 to < 15 mm pathological
        non-target, < 10 mm normal and not recorded). The same limit decides complete response:
        every target node must be below it (evaluation of target lesions).
    max_targets, max_per_organ:
        Target limits: 5 in total, 2 per organ, all lymph nodes one organ (baseline
        documentation of target lesions; EORTC RECIST questions and clarifications, "Two target
        lesions").
    too_small_mm:
        Value recorded for a lesion seen but too small to measure: 5 mm (special notes on target
        lesions, "too small to measure"; EORTC clarification "Lesions less than 5 mm": a lesion
        that can be measured keeps its measurement).
    thresholds:
        PR: ≥ 30 % decrease of the sum from the baseline; PD: ≥ 20 % increase over the nadir
        and an absolute increase of ≥ 5 mm (evaluation of target lesions; EORTC clarification
        of SD: progression against the smallest sum on study, response against the baseline).
    reappearance_after_cr_is_pd:
        A lesion that disappeared and reappears is not progression by itself (the sums decide),
        unless an overall CR was assigned at an earlier time point; then any reappearance is
        PD (recist.eortc.org FAQ "Does a new lesion always result in PD?"). ``True`` applies
        that exception; ``False`` leaves every reappearance to the sums.
    bor:
        Best-overall-response settings (:class:`~nelm.response.bor.BorSettings`; confirmation
        off by default, as in randomised trials).
    """

    min_measurable_mm: Fraction = Fraction(10)
    thin_slice_max_mm: Fraction = Fraction(5)
    slice_thickness_factor: Fraction = Fraction(2)
    node_target_min_sa_mm: Fraction = Fraction(15)
    node_pathological_min_sa_mm: Fraction = Fraction(10)
    max_targets: int = 5
    max_per_organ: int = 2
    too_small_mm: Fraction = Fraction(5)
    thresholds: SumThresholds = _RECIST_THRESHOLDS
    reappearance_after_cr_is_pd: bool = True
    bor: BorSettings = field(default_factory=BorSettings)

    def __post_init__(self) -> None:
        for name in (
            "min_measurable_mm",
            "thin_slice_max_mm",
            "slice_thickness_factor",
            "node_target_min_sa_mm",
            "node_pathological_min_sa_mm",
            "too_small_mm",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (Fraction, int)) or value <= 0:
                raise ConfigError(f"RECIST setting {name} must be a positive Fraction, got {value!r}")
            object.__setattr__(self, name, Fraction(value))
        for name in ("max_targets", "max_per_organ"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"RECIST setting {name} must be an integer ≥ 1, got {value!r}")
        if self.node_pathological_min_sa_mm > self.node_target_min_sa_mm:
            raise ConfigError(
                "RECIST setting node_pathological_min_sa_mm must not exceed node_target_min_sa_mm, got "
                f"{exact_text(self.node_pathological_min_sa_mm)} > {exact_text(self.node_target_min_sa_mm)}"
            )
        if not isinstance(self.thresholds, SumThresholds):
            raise ConfigError(f"RECIST setting thresholds must be a SumThresholds, got {self.thresholds!r}")
        if not isinstance(self.bor, BorSettings):
            raise ConfigError(f"RECIST setting bor must be a BorSettings, got {self.bor!r}")
        check_flag(self.reappearance_after_cr_is_pd, "RECIST", "reappearance_after_cr_is_pd")

    def settings_text(self) -> dict[str, str]:
        """Every setting as exact text, for :attr:`CriterionResult.settings`."""
        t = self.thresholds
        out = {
            f.name: exact_text(getattr(self, f.name))
            for f in fields(self)
            if isinstance(getattr(self, f.name), Fraction)
        }
        out["max_targets"] = str(self.max_targets)
        out["max_per_organ"] = str(self.max_per_organ)
        out["response"] = f"{t.response.describe()} from the baseline"
        out["progression"] = f"{t.progression.describe()} over the nadir"
        if t.progression_floor is not None:
            op = "≥" if t.floor_inclusive else ">"
            out["progression_floor_mm"] = f"{op} {exact_text(t.progression_floor)}"
        else:
            out["progression_floor_mm"] = "none"
        out["reappearance_after_cr_is_pd"] = "true" if self.reappearance_after_cr_is_pd else "false"
        out.update(self.bor.settings_text())
        return out

    def min_non_nodal_mm(self, slice_thickness_mm: Fraction | None) -> Fraction:
        """Smallest measurable LD for a slice thickness (``None``: assumed thin)."""
        if slice_thickness_mm is None or slice_thickness_mm <= self.thin_slice_max_mm:
            return self.min_measurable_mm
        return max(self.min_measurable_mm, self.slice_thickness_factor * slice_thickness_mm)


@dataclass(frozen=True)
class TargetSelection:
    """Target and non-target lesions and how they were chosen.

    Parameters
    ----------
    targets:
        Target lesion IDs, in selection order.
    non_targets:
        Every other recorded baseline lesion.
    rule:
        The selection, in words, with the sizes.
    excluded:
        Baseline lesions neither target nor non-target (RECIST: nodes < 10 mm short axis are
        normal and not recorded).
    """

    targets: tuple[str, ...]
    non_targets: tuple[str, ...]
    rule: str
    excluded: tuple[str, ...] = ()


def id_sort_key(lesion_id: str) -> tuple[str | int, ...]:
    """Natural order of IDs (``L2`` before ``L10``), used to break ties."""
    parts = re.split(r"(\d+)", lesion_id)
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts))


def recist_size(lesion: Lesion, measurement: LesionMeasurement) -> Fraction | None:
    """RECIST size of a lesion: the short axis of a node, the longest diameter otherwise."""
    return measurement.short_mm if lesion.lesion_type is LesionType.NODE else measurement.long_mm


def is_measurable(
    lesion: Lesion,
    measurement: LesionMeasurement | None,
    baseline_tp: TimePoint,
    settings: RecistSettings | None = None,
) -> tuple[bool, str]:
    """Whether a baseline lesion is measurable (target-eligible) by RECIST 1.1, and why.

    Parameters
    ----------
    lesion:
        The lesion.
    measurement:
        Its baseline measurement (``None``: not measured at the baseline).
    baseline_tp:
        The baseline time point (its ``slice_thickness_mm``).
    settings:
        :class:`RecistSettings` (default: the guideline's values).

    Returns
    -------
    (bool, str)
        The verdict and the reason with the numbers.
    """
    s = settings or RecistSettings()
    lid = lesion.lesion_id
    if lesion.previously_treated:
        return False, (
            f"{lid} was treated loco-regionally before the baseline: not a target unless it has "
            "progressed since (then mark it not previously treated)"
        )
    if measurement is None:
        return False, f"{lid} has no measurement at the baseline"
    if measurement.state is not LesionState.PRESENT:
        return False, f"{lid} is {measurement.state.value.replace('_', ' ')} at the baseline"
    if lesion.lesion_type is LesionType.NODE:
        sa = measurement.short_mm
        if sa is None:
            return False, f"{lid} is a lymph node without a short axis at the baseline"
        if sa >= s.node_target_min_sa_mm:
            return True, f"{lid} node short axis {mm(sa)} ≥ {mm(s.node_target_min_sa_mm)}: measurable"
        if sa >= s.node_pathological_min_sa_mm:
            return False, (
                f"{lid} node short axis {mm(sa)} is pathological (≥ {mm(s.node_pathological_min_sa_mm)}) "
                f"but below {mm(s.node_target_min_sa_mm)}: a non-target"
            )
        return False, f"{lid} node short axis {mm(sa)} < {mm(s.node_pathological_min_sa_mm)}: normal"
    ld = measurement.long_mm
    if ld is None:
        return False, f"{lid} has no longest diameter at the baseline"
    thickness = baseline_tp.slice_thickness_mm
    minimum = s.min_non_nodal_mm(thickness)
    if thickness is None:
        basis = f"slice thickness unknown, assumed ≤ {mm(s.thin_slice_max_mm)}"
    elif thickness <= s.thin_slice_max_mm:
        basis = f"slices {mm(thickness)} ≤ {mm(s.thin_slice_max_mm)}"
    else:
        basis = (
            f"slices {mm(thickness)} > {mm(s.thin_slice_max_mm)}: "
            f"{exact_text(s.slice_thickness_factor)} × the slice thickness"
        )
    if ld >= minimum:
        return True, f"{lid} longest diameter {mm(ld)} ≥ {mm(minimum)} ({basis}): measurable"
    return False, f"{lid} longest diameter {mm(ld)} < {mm(minimum)} ({basis}): too small to be a target"


def _recist_eligible(
    lesion: Lesion, measurement: LesionMeasurement, baseline_tp: TimePoint
) -> tuple[bool, str]:
    return is_measurable(lesion, measurement, baseline_tp, RecistSettings())


def normal_node_exclusion(
    settings: RecistSettings | None = None,
) -> Callable[[Lesion, LesionMeasurement | None], str | None]:
    """The RECIST rule that leaves normal nodes (SA < 10 mm) unrecorded, as a ``select_targets`` hook."""
    limit = (settings or RecistSettings()).node_pathological_min_sa_mm

    def exclude(lesion: Lesion, measurement: LesionMeasurement | None) -> str | None:
        if lesion.lesion_type is not LesionType.NODE or measurement is None:
            return None
        if measurement.state is LesionState.TOO_SMALL:
            return f"{lesion.lesion_id} node too small to measure at the baseline: normal, not recorded"
        sa = measurement.short_mm
        if measurement.state is LesionState.PRESENT and sa is not None and sa < limit:
            return f"{lesion.lesion_id} node short axis {mm(sa)} < {mm(limit)}: normal, not recorded"
        return None

    return exclude


def select_targets(
    case: ResponseCase,
    *,
    max_targets: int = 5,
    max_per_organ: int = 2,
    size: Callable[[Lesion, LesionMeasurement], Fraction | None] = recist_size,
    eligible: Callable[[Lesion, LesionMeasurement, TimePoint], tuple[bool, str]] = _recist_eligible,
    exclude: Callable[[Lesion, LesionMeasurement | None], str | None] | None = None,
) -> TargetSelection:
    """Target and non-target lesions at the baseline.

    The reader's targets (``case.targets``) win when given; each must be eligible and the set
    within the limits. Otherwise the largest eligible lesions are proposed (by ``size``), at most
    ``max_per_organ`` per organ (:attr:`Lesion.organ_key`: all nodes one organ) and
    ``max_targets`` in total, ties broken by natural lesion-ID order. Every other baseline lesion
    is a non-target, except those ``exclude`` leaves out (default: RECIST normal nodes).

    Raises
    ------
    InputError
        A reader's target that is not eligible (naming it and why), or reader's targets beyond
        the limits; a baseline lesion recorded as disappeared or coalesced at the baseline.
    """
    baseline = case.baseline
    where = f"case {case.case_id}, baseline {baseline.time_point_id}"
    drop = exclude if exclude is not None else normal_node_exclusion()
    excluded: dict[str, str] = {}
    for lid in sorted(case.lesions, key=id_sort_key):
        m = baseline.measurements.get(lid)
        if m is not None and m.state in (LesionState.DISAPPEARED, LesionState.COALESCED):
            raise InputError(
                f"{where}: lesion {lid} state is {m.state.value} at the baseline; a baseline lesion must be "
                "present there (or too small to measure, or not evaluated)"
            )
        reason = drop(case.lesions[lid], m)
        if reason is not None:
            excluded[lid] = reason
    recorded = [lid for lid in sorted(case.lesions, key=id_sort_key) if lid not in excluded]

    def check(lid: str) -> tuple[bool, str]:
        m = baseline.measurements.get(lid)
        if m is None:
            return False, f"{lid} has no measurement at the baseline"
        ok, why = eligible(case.lesions[lid], m, baseline)
        if ok and size(case.lesions[lid], m) is None:
            return False, f"{lid} has no size at the baseline"
        return ok, why

    def organ_counts(ids: tuple[str, ...]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for lid in ids:
            key = case.lesions[lid].organ_key
            counts[key] = counts.get(key, 0) + 1
        return counts

    if case.targets is not None:
        targets = tuple(case.targets)
        for lid in targets:
            ok, why = check(lid)
            if not ok:
                raise InputError(f"{where}: target lesion {lid} given by the reader is not eligible: {why}")
        if len(targets) > max_targets:
            raise InputError(
                f"{where}: {len(targets)} target lesions given ({', '.join(targets)}); at most {max_targets} "
                "are allowed (change max_targets to follow a protocol that allows more)"
            )
        over = {k: n for k, n in organ_counts(targets).items() if n > max_per_organ}
        if over:
            organ, n = next(iter(over.items()))
            raise InputError(
                f"{where}: {n} target lesions given in {organ}; at most {max_per_organ} per organ are "
                "allowed (all lymph nodes count as one organ; change max_per_organ for another protocol)"
            )
        rule = (
            f"targets given by the reader: {', '.join(targets) or 'none'} (each checked: "
            + ("; ".join(check(lid)[1] for lid in targets) or "nothing to check")
            + ")"
        )
    else:
        candidates: list[tuple[Fraction, str]] = []
        reasons: list[str] = []
        for lid in recorded:
            ok, why = check(lid)
            if ok:
                m = baseline.measurements[lid]
                value = size(case.lesions[lid], m)
                assert value is not None
                candidates.append((value, lid))
            else:
                reasons.append(why)
        candidates.sort(key=lambda c: (-c[0], id_sort_key(c[1])))
        chosen: list[str] = []
        skipped: list[str] = []
        counts: dict[str, int] = {}
        for value, lid in candidates:
            organ = case.lesions[lid].organ_key
            if len(chosen) >= max_targets:
                skipped.append(f"{lid} ({mm(value)}: {max_targets} targets already)")
            elif counts.get(organ, 0) >= max_per_organ:
                skipped.append(f"{lid} ({mm(value)}: {max_per_organ} targets in {organ} already)")
            else:
                chosen.append(lid)
                counts[organ] = counts.get(organ, 0) + 1
        targets = tuple(chosen)
        shown = ", ".join(
            f"{lid} ({case.lesions[lid].organ_key}, "
            f"{mm(size(case.lesions[lid], baseline.measurements[lid]) or Fraction(0))})"
            for lid in targets
        )
        rule = (
            f"automatic proposal: the largest eligible lesions at the baseline (longest diameter, short "
            f"axis for nodes), at most {max_targets} in total and {max_per_organ} per organ (all lymph "
            f"nodes one organ), ties by lesion ID: {shown or 'none (no eligible lesion)'}"
        )
        if skipped:
            rule += f"; eligible but not selected: {'; '.join(skipped)}"
        if reasons:
            rule += f"; not eligible: {'; '.join(reasons)}"
    non_targets = tuple(lid for lid in recorded if lid not in targets)
    rule += f"; non-targets: {', '.join(non_targets) or 'none'}"
    if excluded:
        rule += f"; not recorded: {'; '.join(excluded.values())}"
    return TargetSelection(targets=targets, non_targets=non_targets, rule=rule, excluded=tuple(excluded))
