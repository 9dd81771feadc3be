"""Volumetric response: qEASL and vRECIST (target volumes) and whole-liver enhancing tumour burden.

Sources (reference/response-criteria.md §1.7-1.8):

* **qEASL** (Lin M et al., J Vasc Interv Radiol 2012;23:1629; Tacher V et al., Radiology
  2016;278:275): the sum of the target lesions' **enhancing** volumes (``enhancing_volume_ml``).
  **vRECIST** (Lin 2012): the same on the lesions' **total** volumes (``volume_ml``). Same code,
  different measure.
* **ETB** (Sahu S et al., Radiology 2017;283:883): the enhancing tumour volume of the whole liver
  (``TimePoint.liver_enhancing_tumour_ml``), shown also as a share of the liver volume.

Thresholds: the volumetric equivalents of RECIST's one-dimensional −30 % / +20 %, by the cube
law for a sphere (volume ∝ diameter³):

* response: 1 − (1 − 0.30)³ = 1 − 0.343 = 0.657, a **65.7 %** decrease;
* progression: (1 + 0.20)³ − 1 = 1.728 − 1 = 0.728, a **72.8 %** increase.

The published thresholds are rounded to **≥ 65 %** decrease from the baseline (responder) and
**≥ 73 %** increase over the nadir (progression); those are the defaults
(:data:`VOLUMETRIC_THRESHOLDS`), the exact cube-law values are :func:`cube_law_percent` and one
setting away. Both are inclusive ("at least"), like RECIST's. The reference marks the 65 %/73 %
values as background ([B]): confirm against Tacher 2016 before clinical use.

Decisions where the sources are silent (documented, settings where they are choices):

* **Targets** (qEASL, vRECIST): RECIST/mRECIST-style selection
  (:func:`nelm.response.recist_targets.select_targets`), at most 5 targets and 2 per organ,
  the largest by the criterion's volume. Eligible: present at the baseline with the volume
  given and > 0 (qEASL: **enhancing at the baseline**); a lesion with a diameter must also be
  RECIST-measurable (≥ 10 mm; not previously treated); one given by volume only is eligible on
  its volume, with a note. The reader's targets win when given.
* A target **disappeared** or **coalesced** counts 0 (the coalesced mass is measured on the
  lesion it merged into); one **not evaluated**, **too small to measure** (a volume has no 5 mm
  convention) or present without the volume leaves the sum incomplete: NE, unless the measured
  targets alone already meet progression (as RECIST §4.4).
* **CR**: no volume left in any target (qEASL: no enhancing volume; vRECIST: every target gone),
  with non-target and new-lesion status combined by RECIST Tables 1-2
  (:func:`nelm.response.overall.overall_response`; a definite new lesion is PD).
* **ETB** is categorised with the qEASL thresholds by default. **Sahu 2017's own ETB response
  cut-off is not in the checked reference text (§1.8) and is not used**; the categories are a
  stand-in and the result says so. ETB is a whole-liver measure: baseline lesions outside the
  liver are followed as non-targets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Final

from nelm.errors import ConfigError, InputError
from nelm.response.bor import BorSettings
from nelm.response.build import (
    NO_TARGETS_BASELINE,
    baseline_row,
    build_result,
    check_count,
    check_organ,
    follow_up_row,
    proposal,
    signed,
)
from nelm.response.exact import (
    PERCENT,
    VOLUME_ML,
    Change,
    Direction,
    Resolution,
    format_change,
    format_value,
)
from nelm.response.model import Lesion, LesionMeasurement, LesionState, ResponseCase, TimePoint
from nelm.response.overall import (
    NonTargetCategory,
    confirmed_new_lesion_ids,
    new_lesion_status,
    non_target_category,
)
from nelm.response.recist_targets import (
    RecistSettings,
    TargetSelection,
    id_sort_key,
    is_measurable,
    recist_size,
    select_targets,
)
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
    "CUBE_LAW_PROGRESSION_PERCENT",
    "CUBE_LAW_RESPONSE_PERCENT",
    "VOLUMETRIC_THRESHOLDS",
    "EtbSettings",
    "VolumetricSettings",
    "assess_etb",
    "assess_qeasl",
    "assess_vrecist",
    "cube_law_percent",
]


def cube_law_percent(diameter_change_percent: Fraction | int) -> Fraction:
    """Volume change in percent of a sphere whose diameter changes by ``diameter_change_percent``.

    ``100 · ((1 + d/100)³ − 1)``, exactly: −30 % in diameter is −65.7 % in volume, +20 % is
    +72.8 %.
    """
    factor = 1 + Fraction(diameter_change_percent) / 100
    return 100 * (factor**3 - 1)


#: Exact cube-law equivalent of RECIST's 30 % diameter decrease: 65.7 (% volume decrease).
CUBE_LAW_RESPONSE_PERCENT: Final = -cube_law_percent(-30)
#: Exact cube-law equivalent of RECIST's 20 % diameter increase: 72.8 (% volume increase).
CUBE_LAW_PROGRESSION_PERCENT: Final = cube_law_percent(20)

#: qEASL/vRECIST thresholds as published (rounded cube-law values): ≥ 65 % decrease from the
#: baseline, ≥ 73 % increase over the nadir, no absolute floor (Lin 2012; Tacher 2016).
VOLUMETRIC_THRESHOLDS: Final = SumThresholds(
    response=Change(Direction.DECREASE, "65", inclusive=True),
    progression=Change(Direction.INCREASE, "73", inclusive=True),
    progression_floor=None,
)

QEASL_SOURCE: Final = (
    "Lin M et al. J Vasc Interv Radiol 2012;23:1629 (qEASL, vRECIST); "
    "Tacher V et al. Radiology 2016;278:275 (volumetric thresholds)"
)
VRECIST_SOURCE: Final = (
    "Lin M et al. J Vasc Interv Radiol 2012;23:1629; Tacher V et al. Radiology 2016;278:275"
)
ETB_SOURCE: Final = "Sahu S et al. Radiology 2017;283:883-894 (whole-liver enhancing tumour burden)"

_CUBE_NOTE: Final = (
    "thresholds are the cube-law equivalents of RECIST's -30 % / +20 % in diameter: "
    "1 - (1 - 0.30)³ = 0.657 and (1 + 0.20)³ - 1 = 0.728, published rounded to 65 % and 73 % "
    "([B] in the reference: confirm against Tacher 2016)"
)


def _check_thresholds(thresholds: object, what: str) -> None:
    if not isinstance(thresholds, SumThresholds):
        raise ConfigError(f"{what} setting thresholds must be a SumThresholds, got {thresholds!r}")
    if thresholds.response.direction is not Direction.DECREASE:
        raise ConfigError(f"{what} response threshold must be a decrease")
    if thresholds.progression.direction is not Direction.INCREASE:
        raise ConfigError(f"{what} progression threshold must be an increase")


def _thresholds_text(t: SumThresholds) -> dict[str, str]:
    return {
        "response": f"{t.response.describe()} from the baseline",
        "progression": f"{t.progression.describe()} over the nadir",
        "progression_floor_ml": "none"
        if t.progression_floor is None
        else format_value(t.progression_floor, VOLUME_ML),
        "cube_law_response_percent": format_value(CUBE_LAW_RESPONSE_PERCENT, PERCENT, unit=False),
        "cube_law_progression_percent": format_value(CUBE_LAW_PROGRESSION_PERCENT, PERCENT, unit=False),
    }


@dataclass(frozen=True)
class VolumetricSettings:
    """qEASL / vRECIST settings.

    Parameters
    ----------
    thresholds:
        Response (from the baseline) and progression (over the nadir): ≥ 65 % / ≥ 73 %, the
        rounded cube-law equivalents of RECIST's (Tacher 2016; :data:`VOLUMETRIC_THRESHOLDS`).
    max_targets, max_per_organ:
        Target limits: 5 and 2 per organ (RECIST 1.1 / mRECIST selection).
    bor:
        Best-overall-response settings.
    """

    thresholds: SumThresholds = VOLUMETRIC_THRESHOLDS
    max_targets: int = 5
    max_per_organ: int = 2
    bor: BorSettings = field(default_factory=BorSettings)

    def __post_init__(self) -> None:
        _check_thresholds(self.thresholds, "volumetric")
        for name in ("max_targets", "max_per_organ"):
            check_count(getattr(self, name), "volumetric", name)

    def settings_text(self) -> dict[str, str]:
        """Every setting as text, for the result."""
        return {
            **_thresholds_text(self.thresholds),
            "max_targets": str(self.max_targets),
            "max_per_organ": str(self.max_per_organ),
            **self.bor.settings_text(),
        }


@dataclass(frozen=True)
class EtbSettings:
    """Whole-liver enhancing tumour burden settings.

    Parameters
    ----------
    thresholds:
        Categories use the qEASL thresholds by default (≥ 65 % / ≥ 73 %): a stand-in, because
        Sahu 2017's own response cut-off is not in the checked reference text (§1.8).
    liver_organ:
        The organ name of liver lesions; baseline lesions elsewhere are followed as non-targets.
    bor:
        Best-overall-response settings.
    """

    thresholds: SumThresholds = VOLUMETRIC_THRESHOLDS
    liver_organ: str = "liver"
    bor: BorSettings = field(default_factory=BorSettings)

    def __post_init__(self) -> None:
        _check_thresholds(self.thresholds, "ETB")
        check_organ(self.liver_organ, "ETB", "liver_organ")

    def settings_text(self) -> dict[str, str]:
        """Every setting as text, for the result."""
        return {
            **_thresholds_text(self.thresholds),
            "thresholds_source": "qEASL thresholds as a stand-in; Sahu 2017's ETB cut-off not verified",
            "liver_organ": self.liver_organ,
            **self.bor.settings_text(),
        }


@dataclass(frozen=True)
class _Kind:
    criterion: str
    source: str
    field: str
    measure: Measure
    what: str  # "enhancing volume"
    complete_reason: str


_QEASL: Final = _Kind(
    "qEASL",
    QEASL_SOURCE,
    "enhancing_volume_ml",
    Measure("sum of enhancing volumes", VOLUME_ML),
    "enhancing volume",
    "no enhancing volume left in any target lesion",
)
_VRECIST: Final = _Kind(
    "vRECIST",
    VRECIST_SOURCE,
    "volume_ml",
    Measure("sum of volumes", VOLUME_ML),
    "volume",
    "every target lesion is gone (volume 0)",
)
_ETB: Final = Measure("whole-liver enhancing tumour burden", VOLUME_ML)
#: The ETB share of the liver is shown at 0.01 % (NELM burdens are often below 1 %).
_SHARE: Final = Resolution("0.01", "%")


def _ml(value: Fraction | None) -> str:
    return format_value(value, VOLUME_ML)


@dataclass(frozen=True)
class _Sum:
    value: Fraction | None  # None: incomplete
    subset: Fraction  # the sum over the targets with a known value
    notes: tuple[str, ...]
    missing: tuple[str, ...]


def _target_sum(tp: TimePoint, targets: Sequence[str], kind: _Kind) -> _Sum:
    total = Fraction(0)
    notes: list[str] = []
    missing: list[str] = []
    for lid in targets:
        m = tp.measurements.get(lid)
        state = LesionState.NOT_EVALUATED if m is None else m.state
        if m is None or state is LesionState.NOT_EVALUATED:
            missing.append(f"{lid} not evaluated")
        elif state is LesionState.DISAPPEARED:
            notes.append(f"{lid} disappeared: 0 mL")
        elif state is LesionState.COALESCED:
            notes.append(f"{lid} coalesced into {m.coalesced_into}: 0 mL (the mass is measured there)")
        elif state is LesionState.TOO_SMALL:
            missing.append(f"{lid} too small to measure (no {kind.what})")
        else:
            value = getattr(m, kind.field)
            if value is None:
                missing.append(f"{lid} has no {kind.what}")
            else:
                total += value
                if m.fragments > 1:
                    notes.append(f"{lid}: {m.fragments} fragments summed")
    return _Sum(None if missing else total, total, tuple(notes), tuple(missing))


def _classify_targets(
    point: SeriesPoint, tsum: _Sum, thresholds: SumThresholds, kind: _Kind
) -> tuple[TargetCategory, str]:
    if tsum.value is not None:
        return classify_target(
            point, thresholds, kind.measure, complete=tsum.value == 0, complete_reason=kind.complete_reason
        )
    missing = "; ".join(tsum.missing)
    partial = replace(point, value=tsum.subset)
    category, rule = classify_target(partial, thresholds, kind.measure, complete=False, complete_reason="")
    if category is TargetCategory.PD:
        return category, f"{rule}; the measured targets alone already meet progression ({missing})"
    return TargetCategory.NE, f"NE: the {kind.measure.name} is incomplete ({missing})"


def _volume_eligible(kind: _Kind) -> Callable[[Lesion, LesionMeasurement, TimePoint], tuple[bool, str]]:
    """Eligibility: present with the volume > 0; RECIST-measurable when a diameter is given."""

    def eligible(lesion: Lesion, m: LesionMeasurement, tp: TimePoint) -> tuple[bool, str]:
        lid = lesion.lesion_id
        if lesion.previously_treated or m.state is not LesionState.PRESENT:
            return is_measurable(lesion, m, tp, RecistSettings())
        value: Fraction | None = getattr(m, kind.field)
        if value is None:
            return False, f"{lid} has no {kind.what} at the baseline"
        if value <= 0:
            return False, f"{lid} has no {kind.what} at the baseline (0 mL): not a target"
        if recist_size(lesion, m) is None:
            return True, f"{lid} {kind.what} {_ml(value)} (no diameter: RECIST measurability not checked)"
        ok, why = is_measurable(lesion, m, tp, RecistSettings())
        if not ok:
            return False, why
        return True, f"{why}; {kind.what} {_ml(value)}"

    return eligible


def _selection(case: ResponseCase, kind: _Kind, s: VolumetricSettings) -> TargetSelection:
    def size(lesion: Lesion, m: LesionMeasurement) -> Fraction | None:
        value: Fraction | None = getattr(m, kind.field)
        return value

    selection = select_targets(
        case,
        max_targets=s.max_targets,
        max_per_organ=s.max_per_organ,
        size=size,
        eligible=_volume_eligible(kind),
    )
    base = case.baseline.measurements
    intro = (
        f"automatic proposal (RECIST/mRECIST-style): the largest eligible lesions by {kind.what} at the "
        f"baseline, at most {s.max_targets} in total and {s.max_per_organ} per organ, ties by lesion ID; "
        f"eligible: present with the {kind.what} > 0 and, when a diameter is given, RECIST-measurable"
    )
    return proposal(case, selection, intro, lambda lid: _ml(size(case.lesions[lid], base[lid])))


def _assess_volumes(case: ResponseCase, s: VolumetricSettings, kind: _Kind) -> CriterionResult:
    selection = _selection(case, kind, s)
    targets = selection.targets
    sums = [_target_sum(tp, targets, kind) for tp in case.time_points]
    series = track(
        [(tp.time_point_id, tp.date_text, t.value) for tp, t in zip(case.time_points, sums, strict=True)]
    )
    base_rule = (
        f"baseline: {kind.measure.name} {_ml(sums[0].value)} over {len(targets)} target lesion(s) "
        f"({', '.join(targets)}); {len(selection.non_targets)} non-target lesion(s)"
        if targets
        else NO_TARGETS_BASELINE
    )
    if targets and sums[0].value is None:
        base_rule += f"; incomplete: {'; '.join(sums[0].missing)}"
    rows = [baseline_row(series[0], kind.measure, base_rule, sums[0].notes)]
    confirmed = confirmed_new_lesion_ids(case)
    for i in range(1, len(case.time_points)):
        tp, point, tsum = case.time_points[i], series[i], sums[i]
        target: TargetCategory | None = None
        target_rule = "no target lesions"
        if targets:
            target, target_rule = _classify_targets(point, tsum, s.thresholds, kind)
        nt, nt_rule = non_target_category(tp, selection.non_targets)
        new, new_rule = new_lesion_status(tp, confirmed)
        days = case.days_from_baseline(tp)
        rows.append(
            follow_up_row(
                point, kind.measure, days, (target, target_rule), (nt, nt_rule), (new, new_rule), tsum.notes
            )
        )
    notes = [_CUBE_NOTE, f"{kind.what}s are used as given (nelm does not recompute them here)"]
    if not targets:
        notes.append("no target lesions: the overall response follows RECIST 1.1 Table 2")
    return build_result(kind.criterion, kind.source, s.settings_text(), selection, rows, s.bor, notes)


def assess_qeasl(case: ResponseCase, settings: VolumetricSettings | None = None) -> CriterionResult:
    """qEASL: the sum of the target lesions' enhancing volumes (Lin 2012; Tacher 2016).

    Raises
    ------
    InputError
        A reader's target that is not eligible (not enhancing at the baseline, not measurable),
        targets beyond the limits.
    """
    return _assess_volumes(case, settings or VolumetricSettings(), _QEASL)


def assess_vrecist(case: ResponseCase, settings: VolumetricSettings | None = None) -> CriterionResult:
    """vRECIST: the sum of the target lesions' total volumes (Lin 2012), qEASL's thresholds.

    Raises
    ------
    InputError
        A reader's target that is not eligible, targets beyond the limits.
    """
    return _assess_volumes(case, settings or VolumetricSettings(), _VRECIST)


def _liver_share(tp: TimePoint) -> Fraction | None:
    """ETB as a percentage of the liver volume (``None`` without both values)."""
    etb, liver = tp.liver_enhancing_tumour_ml, tp.liver_volume_ml
    if etb is None or liver is None:
        return None
    if liver == 0:
        raise InputError(f"time point {tp.time_point_id}: liver_volume_ml is 0; give the whole-liver volume")
    if etb > liver:
        raise InputError(
            f"time point {tp.time_point_id}: liver_enhancing_tumour_ml {_ml(etb)} exceeds "
            f"liver_volume_ml {_ml(liver)}"
        )
    return 100 * etb / liver


def _etb_notes(
    point: SeriesPoint, tp: TimePoint, share: Fraction | None, base_share: Fraction | None
) -> list[str]:
    """ETB, its share of the liver and its change from the baseline and the nadir, in words."""
    if point.value is None:
        return ["no liver_enhancing_tumour_ml at this time point"]
    notes: list[str] = []
    if share is None:
        notes.append("no liver_volume_ml: the share of the liver is not computed")
    else:
        text = (
            f"ETB {_ml(point.value)} is {format_value(share, _SHARE)} of the liver volume "
            f"{_ml(tp.liver_volume_ml)}"
        )
        if base_share is not None:
            text += f" (baseline {format_value(base_share, _SHARE)})"
        notes.append(text)
    if point.baseline is not None and point.nadir is not None:
        notes.append(
            f"change from the baseline {_ml(point.baseline)}: "
            f"{signed(point.value - point.baseline, VOLUME_ML)} "
            f"({format_change(point.change_from_baseline_percent)}); from the nadir {_ml(point.nadir)} on "
            f"{point.nadir_date}: {signed(point.value - point.nadir, VOLUME_ML)} "
            f"({format_change(point.change_from_nadir_percent)})"
        )
    return notes


def assess_etb(case: ResponseCase, settings: EtbSettings | None = None) -> CriterionResult:
    """Whole-liver enhancing tumour burden (Sahu 2017) and its change, categorised as qEASL.

    Raises
    ------
    InputError
        A liver volume of 0, or an enhancing tumour volume larger than the liver.
    """
    s = settings or EtbSettings()
    shares = [_liver_share(tp) for tp in case.time_points]
    series = track(
        [(tp.time_point_id, tp.date_text, tp.liver_enhancing_tumour_ml) for tp in case.time_points]
    )
    non_targets = tuple(
        lid for lid in sorted(case.lesions, key=id_sort_key) if case.lesions[lid].organ_key != s.liver_organ
    )
    selection = TargetSelection(
        targets=(),
        non_targets=non_targets,
        rule=(
            "ETB measures the whole liver (no target lesions); baseline lesions outside the liver are "
            f"non-targets: {', '.join(non_targets) or 'none'}"
        ),
    )
    base = case.baseline
    base_rule = (
        f"baseline: whole-liver enhancing tumour burden {_ml(base.liver_enhancing_tumour_ml)}"
        if base.liver_enhancing_tumour_ml is not None
        else "baseline: no liver_enhancing_tumour_ml: no ETB response can be assessed"
    )
    rows = [baseline_row(series[0], _ETB, base_rule, _etb_notes(series[0], base, shares[0], None))]
    confirmed = confirmed_new_lesion_ids(case)
    for i in range(1, len(case.time_points)):
        tp, point = case.time_points[i], series[i]
        target, target_rule = classify_target(
            point,
            s.thresholds,
            _ETB,
            complete=point.value == 0,
            complete_reason="no enhancing tumour left in the liver (ETB 0 mL)",
        )
        if point.value is None:
            target_rule = "NE: no liver_enhancing_tumour_ml at this time point"
        nt, nt_rule = non_target_category(tp, non_targets)
        new, new_rule = new_lesion_status(tp, confirmed)
        if nt is NonTargetCategory.NONE:
            nt_rule = "no lesions outside the liver"
        rows.append(
            follow_up_row(
                point,
                _ETB,
                case.days_from_baseline(tp),
                (target, target_rule),
                (nt, nt_rule),
                (new, new_rule),
                _etb_notes(point, tp, shares[i], shares[0]),
                labels=("ETB", "Outside the liver"),
            )
        )
    notes = [
        "Sahu 2017's own ETB response cut-off is not in the checked reference text (response-criteria.md "
        "§1.8); the categories use the qEASL thresholds as a stand-in (a setting), not Sahu's",
        _CUBE_NOTE,
        "ETB is the enhancing tumour volume of the whole liver as given; the share of the liver is "
        "ETB / liver volume",
    ]
    return build_result("ETB", ETB_SOURCE, s.settings_text(), selection, rows, s.bor, notes)
