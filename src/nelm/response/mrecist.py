"""mRECIST: the sum of the targets' viable (arterially enhancing) diameters.

Lencioni R, Llovet JM, Semin Liver Dis 2010;30:52-60 (reference/response-criteria.md §1.2; the
rules as tabulated in KLCA-NCC 2022, PMC9747269 Table 11):

* **targets** by the RECIST 1.1 selection rules (:func:`nelm.response.recist_targets.select_targets`,
  at most 5 and 2 per organ): RECIST-measurable (longest diameter ≥ 10 mm, the slice-thickness
  rule, not treated loco-regionally before the baseline) **and** showing intratumoral arterial
  enhancement at the baseline (``viable_long_mm`` > 0), the largest viable diameter first;
* **measure**: the sum of the targets' longest viable diameters (``viable_long_mm``, which need
  not lie on the RECIST axis); a disappeared or coalesced target counts 0 (the mass is measured on
  the lesion it merged into), one too small to measure ``too_small_mm`` (5 mm, RECIST's default);
* **CR**: no intratumoral arterial enhancement in any target (the sum is 0); **PR**: ≥ 30 %
  decrease from the baseline; **PD**: ≥ 20 % increase over the nadir of the viable sums, with
  **no absolute floor** (RECIST 1.1's 5 mm does not apply; ``progression_floor_mm``); SD
  otherwise. An incomplete sum is NE unless the measured targets alone already meet PD
  (RECIST 1.1 §4.4);
* **non-targets**: CR when the enhancement has gone in all (disappeared, or present with a viable
  diameter of 0); IR/SD (reported as non-CR/non-PD) when enhancement persists in one or more;
  PD on the reader's call of unequivocal progression;
* **new lesions**: a new liver lesion is progression when definite and at least
  ``new_lesion_min_mm`` (10 mm); one of unknown size counts as reported, with a note; an
  equivocal one is never progression by itself (if a later scan confirms it, progression dates
  from it, as in RECIST 1.1). New lesions outside the liver follow RECIST 1.1.

Decisions where the sources are silent (documented; settings where they are choices):

* **Atypical (non-enhancing) targets**: with ``atypical_by_recist`` (default) a measurable lesion
  without arterial enhancement at the baseline is a target measured by its conventional RECIST
  longest diameter at every time point (Lencioni 2010; van Roekel, thesis p. 51); otherwise it is
  a non-target. An atypical target must disappear for CR.
* **Lymph nodes** are followed as non-targets (mRECIST measures viable liver tumour; a node is
  normal below 10 mm short axis, as in RECIST 1.1).
* A new liver lesion first seen below 10 mm becomes progression at the first scan that measures
  it at 10 mm or more.

:func:`target_sum`, :func:`classify_sum`, :func:`enhancing_eligibility` and
:func:`enhancement_non_target` are shared with EASL (:mod:`nelm.response.easl`), whose targets
are selected the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction

from nelm.response.bor import BorSettings
from nelm.response.build import (
    NO_TARGETS_BASELINE,
    baseline_row,
    baseline_rule,
    build_result,
    check_flag,
    check_organ,
    check_positive,
    check_settings,
    exact_text,
    follow_up_row,
    sum_thresholds,
)
from nelm.response.exact import LENGTH_MM, Resolution, format_value
from nelm.response.model import Lesion, LesionMeasurement, LesionState, LesionType, ResponseCase, TimePoint
from nelm.response.overall import (
    NewLesions,
    NonTargetCategory,
    confirmed_new_lesion_ids,
    new_lesion_status,
    non_target_category,
)
from nelm.response.recist_targets import RecistSettings, TargetSelection, is_measurable, select_targets
from nelm.response.results import CriterionResult
from nelm.response.sums import (
    Measure,
    SeriesPoint,
    SumThresholds,
    TargetCategory,
    classify_target,
    track,
)

__all__ = [
    "CRITERION",
    "SOURCE",
    "Enhancement",
    "MrecistSettings",
    "TargetSum",
    "assess_mrecist",
    "classify_sum",
    "enhancement_non_target",
    "enhancing_eligibility",
    "exact_text",
    "target_sum",
]

CRITERION = "mRECIST"
SOURCE = "Lencioni R, Llovet JM. Semin Liver Dis 2010;30:52-60"
_MEASURE = Measure("sum of viable diameters", LENGTH_MM)
#: RECIST 1.1: a node below this short axis is normal (Eisenhauer 2009).
_NODE_NORMAL_MM = RecistSettings().node_pathological_min_sa_mm


@dataclass(frozen=True)
class MrecistSettings:
    """mRECIST settings; the defaults are Lencioni & Llovet 2010's values."""

    min_target_mm: Fraction = Fraction(10)
    """Smallest RECIST longest diameter of a target: 10 mm (Lencioni 2010, RECIST measurability)."""
    max_targets: int = 5
    """At most this many targets (RECIST 1.1 selection rules, adopted by Lencioni 2010)."""
    max_per_organ: int = 2
    """At most this many targets per organ (RECIST 1.1; Lencioni 2010)."""
    too_small_mm: Fraction = Fraction(5)
    """A target too small to measure counts this much (RECIST 1.1's default, 5 mm)."""
    response_percent: Fraction = Fraction(30)
    """PR: decrease of the viable sum from the baseline, at least this (≥ 30 %; Lencioni 2010)."""
    progression_percent: Fraction = Fraction(20)
    """PD: increase of the viable sum over its nadir, at least this (≥ 20 %; Lencioni 2010)."""
    progression_floor_mm: Fraction | None = None
    """Absolute increase PD also needs: none in mRECIST (PMC9747269 Table 11); 5 mm is RECIST's."""
    atypical_by_recist: bool = True
    """Measure non-enhancing (atypical) targets by their RECIST diameter (Lencioni 2010; van Roekel)."""
    new_lesion_min_mm: Fraction = Fraction(10)
    """A new liver lesion is progression from this longest diameter (≥ 1 cm; Lencioni 2010)."""
    liver_organ: str = "liver"
    """The organ name of liver lesions (the new-lesion size rule applies there)."""
    bor: BorSettings = field(default_factory=BorSettings)
    """Best-overall-response settings (confirmation off, as in randomised trials)."""

    def __post_init__(self) -> None:
        check_settings(
            self,
            "mRECIST",
            ("min_target_mm", "too_small_mm", "response_percent", "progression_percent", "new_lesion_min_mm"),
            ("max_targets", "max_per_organ"),
        )
        if self.progression_floor_mm is not None:
            object.__setattr__(
                self,
                "progression_floor_mm",
                check_positive(self.progression_floor_mm, "mRECIST", "progression_floor_mm"),
            )
        check_flag(self.atypical_by_recist, "mRECIST", "atypical_by_recist")
        check_organ(self.liver_organ, "mRECIST", "liver_organ")

    @property
    def thresholds(self) -> SumThresholds:
        """The response and progression thresholds (both inclusive, "at least")."""
        return sum_thresholds(
            self.response_percent, self.progression_percent, floor=self.progression_floor_mm
        )

    def settings_text(self) -> dict[str, str]:
        """Every setting as exact text, for the result."""
        t = self.thresholds
        floor = "none" if self.progression_floor_mm is None else f"≥ {exact_text(self.progression_floor_mm)}"
        return {
            "min_target_mm": exact_text(self.min_target_mm),
            "target_enhancement": "arterial enhancement at the baseline (viable_long_mm > 0)",
            "max_targets": str(self.max_targets),
            "max_per_organ": str(self.max_per_organ),
            "too_small_mm": exact_text(self.too_small_mm),
            "response": f"{t.response.describe()} from the baseline",
            "progression": f"{t.progression.describe()} over the nadir",
            "progression_floor_mm": floor,
            "atypical_by_recist": "true" if self.atypical_by_recist else "false",
            "new_lesion_min_mm": exact_text(self.new_lesion_min_mm),
            "liver_organ": self.liver_organ,
            **self.bor.settings_text(),
        }


# --- shared with EASL --------------------------------------------------------------------------


@dataclass(frozen=True)
class Enhancement:
    """The enhancing-tissue quantity a criterion measures (mRECIST: viable diameter; EASL: area)."""

    field: str
    """The :class:`~nelm.response.model.LesionMeasurement` field."""
    what: str
    """Its name in messages (``"viable diameter"``)."""
    resolution: Resolution

    def of(self, m: LesionMeasurement) -> Fraction | None:
        """The value of a measurement (``None`` when not given)."""
        value: Fraction | None = getattr(m, self.field)
        return value

    def show(self, value: Fraction | None) -> str:
        """The value with its unit."""
        return format_value(value, self.resolution)


VIABLE = Enhancement("viable_long_mm", "viable diameter", LENGTH_MM)


@dataclass(frozen=True)
class TargetSum:
    """The target sum at one time point."""

    value: Fraction | None
    """The sum; ``None`` when incomplete."""
    subset: Fraction
    """The sum of the targets that have a value."""
    values: Mapping[str, Fraction]
    """Each target's contribution, for those that have one."""
    missing: tuple[str, ...]
    """Why the sum is incomplete."""
    notes: tuple[str, ...]


def target_sum(
    tp: TimePoint,
    targets: Sequence[str],
    *,
    present_value: Callable[[str, LesionMeasurement], tuple[Fraction | None, str]],
    too_small: Fraction,
    show: Callable[[Fraction], str],
) -> TargetSum:
    """The targets' sum at ``tp`` by the RECIST 1.1 conventions.

    A disappeared target counts 0; a coalesced one 0 when the lesion it merged into is a target
    (the mass is measured there), else the sum is incomplete; one too small to measure counts
    ``too_small``; one not evaluated leaves the sum incomplete. ``present_value(lesion ID,
    measurement)`` gives a present target's value (``None`` when missing) and the field's name.
    """
    values: dict[str, Fraction] = {}
    missing: list[str] = []
    notes: list[str] = []
    for lid in targets:
        m = tp.measurements.get(lid)
        if m is None or m.state is LesionState.NOT_EVALUATED:
            missing.append(f"target {lid} not evaluated")
        elif m.state is LesionState.DISAPPEARED:
            values[lid] = Fraction(0)
            notes.append(f"{lid} disappeared: {show(Fraction(0))}")
        elif m.state is LesionState.COALESCED:
            if m.coalesced_into in targets:
                values[lid] = Fraction(0)
                notes.append(f"{lid} coalesced into {m.coalesced_into}: 0 (the mass is measured there)")
            else:
                missing.append(
                    f"target {lid} coalesced into {m.coalesced_into}, which is not a target, so the mass is "
                    "not in the sum"
                )
        elif m.state is LesionState.TOO_SMALL:
            values[lid] = too_small
            notes.append(f"{lid} too small to measure: counted as {show(too_small)}")
        else:
            value, name = present_value(lid, m)
            if value is None:
                missing.append(f"target {lid} is present but its {name} is not given")
            else:
                values[lid] = value
                if m.fragments > 1:
                    notes.append(f"{lid} split into {m.fragments} fragments, summed")
    subset = sum(values.values(), Fraction(0))
    return TargetSum(None if missing else subset, subset, values, tuple(missing), tuple(notes))


def classify_sum(
    point: SeriesPoint,
    tsum: TargetSum,
    thresholds: SumThresholds,
    measure: Measure,
    *,
    complete_reason: str,
) -> tuple[TargetCategory, str]:
    """Target category of a sum criterion: CR at a sum of 0; an incomplete sum is NE unless the
    measured targets alone already meet progression (RECIST 1.1 §4.4)."""
    if tsum.value is not None:
        return classify_target(
            point, thresholds, measure, complete=tsum.value == 0, complete_reason=complete_reason
        )
    why = "; ".join(tsum.missing)
    category, rule = classify_target(
        replace(point, value=tsum.subset), thresholds, measure, complete=False, complete_reason=""
    )
    if category is TargetCategory.PD:
        return category, (
            f"PD although the {measure.name} is incomplete ({why}): the measured targets alone already meet "
            f"progression (as RECIST 1.1 §4.4), {rule}"
        )
    return TargetCategory.NE, (
        f"NE: the {measure.name} is incomplete ({why}); the measured targets alone, "
        f"{measure.show(tsum.subset)}, do not meet progression "
        f"({thresholds.describe_progression(measure)} over the nadir)"
    )


def enhancing_eligibility(
    kind: Enhancement, min_target_mm: Fraction, *, atypical: bool, criterion: str
) -> Callable[[Lesion, LesionMeasurement, TimePoint], tuple[bool, str]]:
    """Target eligibility of mRECIST and EASL: RECIST-measurable, not a node, and enhancing at the
    baseline (or, with ``atypical``, non-enhancing and measured by its RECIST diameter)."""
    recist = RecistSettings(min_measurable_mm=min_target_mm)

    def eligible(lesion: Lesion, m: LesionMeasurement, tp: TimePoint) -> tuple[bool, str]:
        lid = lesion.lesion_id
        if lesion.lesion_type is LesionType.NODE:
            return (
                False,
                f"{lid} is a lymph node: followed as a non-target ({criterion} measures enhancing tumour)",
            )
        ok, why = is_measurable(lesion, m, tp, recist)
        if not ok:
            return False, why
        value = kind.of(m)
        if value is None:
            return False, f"{why}, but its {kind.what} ({kind.field}) is not given at the baseline"
        if value > 0:
            return True, f"{why}; arterially enhancing, {kind.what} {kind.show(value)}"
        if atypical:
            return True, f"{why}; no arterial enhancement (atypical): measured by its RECIST longest diameter"
        return False, f"{why}, but shows no arterial enhancement: not a {criterion} target"

    return eligible


def enhancement_non_target(
    case: ResponseCase, tp: TimePoint, non_targets: Sequence[str], kind: Enhancement
) -> tuple[NonTargetCategory, str]:
    """Non-target category when only enhancing tissue counts: CR when the enhancement has gone in
    every non-target (disappeared, or present with no enhancement; nodes < 10 mm short axis). A
    lesion without enhancement at the baseline (atypical) must disappear, as in RECIST 1.1."""
    quiet: list[str] = []
    unknown: list[str] = []
    atypical: list[str] = []
    for lid in non_targets:
        m = tp.measurements.get(lid)
        if m is None or m.state is not LesionState.PRESENT:
            if (
                m is not None
                and m.state is LesionState.TOO_SMALL
                and case.lesions[lid].lesion_type is LesionType.NODE
            ):
                quiet.append(lid)
            continue
        if case.lesions[lid].lesion_type is LesionType.NODE:
            if m.short_mm is not None and m.short_mm < _NODE_NORMAL_MM:
                quiet.append(lid)
        elif kind.of(m) == 0:
            base = case.baseline.measurements.get(lid)
            if base is not None and base.state is LesionState.PRESENT and kind.of(base) == 0:
                atypical.append(lid)
            else:
                quiet.append(lid)
        elif kind.of(m) is None:
            unknown.append(lid)
    category, rule = non_target_category(tp, non_targets, normal=quiet)
    if category is NonTargetCategory.CR and quiet:
        rule = (
            f"the enhancement has gone in every non-target lesion ({', '.join(quiet)} present without "
            f"enhancement or, for nodes, < {format_value(_NODE_NORMAL_MM, LENGTH_MM)} short axis; the others "
            "disappeared)"
        )
    elif category is NonTargetCategory.NON_CR_NON_PD:
        rule = f"IR/SD (incomplete response or stable disease): {rule}"
        if unknown:
            rule += (
                f" ({', '.join(unknown)}: {kind.what} not given, so enhancement is not known to have gone)"
            )
        if atypical:
            rule += (
                f" ({', '.join(atypical)}: no enhancement at the baseline either, so they must disappear, "
                "as in RECIST 1.1)"
            )
    return category, rule


# --- mRECIST -------------------------------------------------------------------------------------


def _selection(case: ResponseCase, s: MrecistSettings) -> tuple[TargetSelection, frozenset[str]]:
    """The targets and which of them are atypical (measured by their RECIST diameter)."""
    base = case.baseline.measurements

    def size(lesion: Lesion, m: LesionMeasurement) -> Fraction | None:
        viable = m.viable_long_mm
        return m.long_mm if viable == 0 else viable

    selection = select_targets(
        case,
        max_targets=s.max_targets,
        max_per_organ=s.max_per_organ,
        size=size,
        eligible=enhancing_eligibility(
            VIABLE, s.min_target_mm, atypical=s.atypical_by_recist, criterion=CRITERION
        ),
    )
    atypical = frozenset(lid for lid in selection.targets if base[lid].viable_long_mm == 0)
    if case.targets is None:
        rule = selection.rule.replace(
            "(longest diameter, short axis for nodes)",
            "(viable diameter; the RECIST longest diameter for atypical, non-enhancing ones)",
        )
        selection = replace(
            selection,
            rule=f"mRECIST: RECIST selection rules, targets ≥ "
            f"{format_value(s.min_target_mm, LENGTH_MM)} with arterial enhancement; {rule}",
        )
    return selection, atypical


def _new_lesions(
    case: ResponseCase, index: int, s: MrecistSettings, confirmed: set[str]
) -> tuple[NewLesions, str, list[str]]:
    """New-lesion status with mRECIST's size rule for new liver lesions."""
    tp = case.time_points[index]
    notes: list[str] = []
    counted = []
    for f in tp.new_lesions:
        if f.organ != s.liver_organ:
            counted.append(f)
        elif f.long_mm is None:
            counted.append(f)
            notes.append(
                f"new liver lesion {f.lesion_id} has no size: counted as reported (mRECIST needs ≥ "
                f"{format_value(s.new_lesion_min_mm, LENGTH_MM)})"
            )
        elif f.long_mm >= s.new_lesion_min_mm:
            counted.append(f)
        else:
            notes.append(
                f"new liver lesion {f.lesion_id} {format_value(f.long_mm, LENGTH_MM)} < "
                f"{format_value(s.new_lesion_min_mm, LENGTH_MM)}: not progression by mRECIST"
            )
    status, rule = new_lesion_status(replace(tp, new_lesions=tuple(counted)), confirmed)
    grown = [lid for lid in _small_new_liver_lesions(case, index, s) if _reaches(tp, lid, s)]
    if grown and status is not NewLesions.DEFINITE:
        status = NewLesions.DEFINITE
        rule = (
            f"new liver lesion(s) {', '.join(grown)}, first seen below "
            f"{format_value(s.new_lesion_min_mm, LENGTH_MM)}, now measure at least that"
        )
    elif grown:
        reach = format_value(s.new_lesion_min_mm, LENGTH_MM)
        rule += f"; new liver lesion(s) {', '.join(grown)} now reach {reach}"
    return status, rule, notes


def _reaches(tp: TimePoint, lid: str, s: MrecistSettings) -> bool:
    m = tp.measurements.get(lid)
    return m is not None and m.long_mm is not None and m.long_mm >= s.new_lesion_min_mm


def _small_new_liver_lesions(case: ResponseCase, index: int, s: MrecistSettings) -> list[str]:
    """New liver lesions first found below the size rule that have not reached it before ``index``."""
    small: list[str] = []
    for i, tp in enumerate(case.time_points[:index]):
        for f in tp.new_lesions:
            too_small = f.long_mm is not None and f.long_mm < s.new_lesion_min_mm
            grown = any(_reaches(later, f.lesion_id, s) for later in case.time_points[i + 1 : index])
            if f.organ == s.liver_organ and too_small and not grown:
                small.append(f.lesion_id)
    return small


def _target_text(case: ResponseCase, targets: Sequence[str], atypical: frozenset[str]) -> str:
    base = case.baseline.measurements
    parts = []
    for lid in targets:
        m = base[lid]
        if lid in atypical:
            parts.append(f"{lid} {format_value(m.long_mm, LENGTH_MM)} RECIST longest diameter (atypical)")
        else:
            parts.append(f"{lid} {format_value(m.viable_long_mm, LENGTH_MM)} viable")
    return "; ".join(parts)


def assess_mrecist(case: ResponseCase, settings: MrecistSettings | None = None) -> CriterionResult:
    """mRECIST response at every follow-up, the best overall response and the time to progression.

    Parameters
    ----------
    case:
        The patient's course.
    settings:
        :class:`MrecistSettings` (default: Lencioni & Llovet 2010).

    Raises
    ------
    InputError
        A reader's target that is not eligible (not measurable, a node, no viable diameter at the
        baseline), targets beyond the limits.
    """
    s = settings or MrecistSettings()
    selection, atypical = _selection(case, s)
    targets = selection.targets

    def present_value(lid: str, m: LesionMeasurement) -> tuple[Fraction | None, str]:
        if lid in atypical:
            return m.long_mm, "long_mm (RECIST longest diameter of an atypical target)"
        return m.viable_long_mm, "viable_long_mm"

    sums = [
        target_sum(tp, targets, present_value=present_value, too_small=s.too_small_mm, show=_MEASURE.show)
        for tp in case.time_points
    ]
    series = track(
        [(tp.time_point_id, tp.date_text, t.value) for tp, t in zip(case.time_points, sums, strict=True)]
    )
    base_rule = (
        baseline_rule(_MEASURE, sums[0].value, selection, _target_text(case, targets, atypical))
        if targets
        else NO_TARGETS_BASELINE
    )
    rows = [baseline_row(series[0], _MEASURE, base_rule, sums[0].notes)]
    confirmed = confirmed_new_lesion_ids(case)
    complete_reason = "no intratumoral arterial enhancement in any target (sum of viable diameters 0)"
    if atypical:
        complete_reason += f"; the atypical target(s) {', '.join(sorted(atypical))} have disappeared"
    for i in range(1, len(case.time_points)):
        tp, point, tsum = case.time_points[i], series[i], sums[i]
        target: TargetCategory | None = None
        target_rule = "no target lesions"
        if targets:
            target, target_rule = classify_sum(
                point, tsum, s.thresholds, _MEASURE, complete_reason=complete_reason
            )
        nt, nt_rule = enhancement_non_target(case, tp, selection.non_targets, VIABLE)
        new, new_rule, new_notes = _new_lesions(case, i, s, confirmed)
        rows.append(
            follow_up_row(
                point,
                _MEASURE,
                case.days_from_baseline(tp),
                (target, target_rule),
                (nt, nt_rule),
                (new, new_rule),
                (*tsum.notes, *new_notes),
            )
        )
    notes = [
        "progression has no absolute floor in mRECIST (RECIST 1.1's 5 mm does not apply)"
        if s.progression_floor_mm is None
        else f"progression also needs an increase of ≥ {format_value(s.progression_floor_mm, LENGTH_MM)}",
        "lymph nodes are followed as non-targets",
    ]
    if atypical:
        notes.append(
            f"atypical (non-enhancing) target(s) {', '.join(sorted(atypical))} are measured by their RECIST "
            "longest diameter (Lencioni 2010)"
        )
    if not targets:
        notes.append("no target lesions: the overall response follows RECIST 1.1 Table 2")
    return build_result(CRITERION, SOURCE, s.settings_text(), selection, rows, s.bor, notes)
