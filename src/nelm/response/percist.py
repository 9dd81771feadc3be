"""PERCIST 1.0: metabolic response from the SULpeak of the single hottest lesion.

Sources: Wahl RL, Jacene H, Kasamon Y, Lodge MA, J Nucl Med 2009;50 Suppl 1:122S-150S (PERCIST
1.0); O JH, Lodge MA, Wahl RL, Radiology 2016;280:576-584 ("Practical PERCIST", PMC4976461);
reference/response-criteria.md §1.6.

Rules (primary analysis; every threshold is a :class:`PercistSettings` field):

* **Uptake measure.** At each scan the SULpeak of the single hottest lesion, *not necessarily
  the same lesion* as before (Wahl 2009; PMC2938069 Table 3 footnote). SUL is SUV normalised to
  lean body mass; nelm takes the values as given and cannot check their normalisation.
* **Measurable baseline.** The hottest baseline SULpeak must be ≥ 1.5 × the liver SUL mean
  + 2 × its standard deviation (3 cm sphere in the normal right lobe). Below it there is no
  PERCIST response (every follow-up is NE and the result says why). Without a liver reference
  the check cannot be made: the assessment goes on and every row says the check was not made.
  The blood-pool alternative for an abnormal liver (2.0 × blood-pool mean + 2 SD) is not
  representable: the input has no blood-pool values.
* **CMR**: the hottest SULpeak is below the liver SUL mean of the same scan (or every lesion has
  disappeared), and no new avid lesion. "… and to the level of the surrounding background" is a
  reader's judgement that is not checked.
* **PMR**: SULpeak down ≥ 30 % **and** ≥ 0.8 SUL units from the baseline, no new avid lesion.
  (PERCIST also asks for no RECIST progression; that is RECIST's own result, not checked here.)
* **PMD**, any of: SULpeak up > 30 % **and** > 0.8 SUL units; TLG (sum over present lesions) up
  > 75 %; a new avid lesion (a definite new lesion, or an equivocal one confirmed later, whose
  ``avid`` is not ``False``). PERCIST compares with the **baseline scan** ("… increase in tumour
  SUL from the baseline scan", Wahl 2009, as quoted in reference §1.6 sources); comparing with
  the nadir is the setting ``progression_reference="nadir"``. The "visible increase in the
  extent of uptake" is a reader's judgement and is not modelled.
* **SMD** otherwise.

Decisions where the sources are silent:

* The hottest lesion is the maximum over the *present* lesions that have a SULpeak (a reader
  often measures the hottest lesion only); present lesions without one and lesions not evaluated
  are named in the row's notes. No SULpeak at a scan with present lesions is NE; a scan where
  every lesion has disappeared has a hottest SULpeak of 0.
* A maximum over the lesions measured is a lower bound, so progression found on it stands;
  likewise a partial TLG sum that already exceeds the threshold is PMD. Otherwise an incomplete
  TLG sum leaves the TLG rule unapplied, and the row says so.
* When the scan has no liver SUL mean, CMR cannot be checked: the category is PMR or SMD from
  the SULpeak change, with a note.
* Quality checks are warnings in the row's notes, not categories: liver SUL mean differing from
  the baseline's by > 20 % **and** > 0.3 SUL; uptake time outside 50–70 min or differing by
  > 15 min from the baseline's (Wahl 2009 / PMC4976461; [B] in the reference, settings).

PERCIST was defined for FDG PET; its use with SSTR PET (Ga-68 DOTATATE) in NELM is an
extrapolation, and the result says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from types import MappingProxyType
from typing import Final, Literal

from nelm.errors import ConfigError
from nelm.response.bor import BorSettings
from nelm.response.build import baseline_row, build_result, row, signed
from nelm.response.exact import Change, Direction, Resolution, format_value, percent_change
from nelm.response.model import Certainty, LesionState, ResponseCase, TimePoint
from nelm.response.overall import confirmed_new_lesion_ids
from nelm.response.recist_targets import TargetSelection, id_sort_key
from nelm.response.results import CriterionResult, TimePointResponse
from nelm.response.sums import Measure, SeriesPoint, track

__all__ = [
    "PERCIST_ALIASES",
    "PercistCategory",
    "PercistSettings",
    "Uptake",
    "assess_percist",
    "hottest_uptake",
]

#: PERCIST's category names mapped to the RECIST ones, for the best overall response.
PERCIST_ALIASES: Final[Mapping[str, str]] = MappingProxyType(
    {"CMR": "CR", "PMR": "PR", "SMD": "SD", "PMD": "PD"}
)

SUL: Final = Resolution("0.01", "SUL")
_TLG_RES: Final = Resolution("0.01", "SUL·mL")
_PCT: Final = Resolution("0.01", "%")
_MEASURE: Final = Measure("SULpeak of the hottest lesion", SUL)
_TLG: Final = Measure("total lesion glycolysis", _TLG_RES)

SOURCE: Final = (
    "Wahl RL, Jacene H, Kasamon Y, Lodge MA. From RECIST to PERCIST: evolving considerations for PET "
    "response criteria in solid tumors. J Nucl Med 2009;50 Suppl 1:122S-150S; O JH, Lodge MA, Wahl RL. "
    "Practical PERCIST: a simplified guide to PET response criteria in solid tumors 1.0. "
    "Radiology 2016;280:576-584"
)


_PMR: Final = Change(Direction.DECREASE, "30", inclusive=True)
_PMD: Final = Change(Direction.INCREASE, "30", inclusive=False)
_PMD_TLG: Final = Change(Direction.INCREASE, "75", inclusive=False)


class PercistCategory(StrEnum):
    """PERCIST time-point categories."""

    CMR = "CMR"
    PMR = "PMR"
    SMD = "SMD"
    PMD = "PMD"
    NE = "NE"


@dataclass(frozen=True)
class PercistSettings:
    """PERCIST 1.0 thresholds (defaults: Wahl 2009; reference/response-criteria.md §1.6).

    The absolute SUL minimum of a rule follows the inclusiveness of its percent threshold:
    PMR is "≥ 30 % and ≥ 0.8", PMD "> 30 % and > 0.8".
    """

    measurable_liver_factor: Fraction = Fraction(3, 2)
    """Measurability: SULpeak ≥ this × liver SUL mean + ``measurable_sd_factor`` × SD (1.5; Wahl 2009)."""
    measurable_sd_factor: Fraction = Fraction(2)
    """Multiple of the liver SUL standard deviation in the measurability threshold (2; Wahl 2009)."""
    response: Change = _PMR
    """PMR: decrease of the hottest SULpeak from the baseline (≥ 30 %; Wahl 2009)."""
    response_min_sul: Fraction = Fraction(4, 5)
    """PMR: smallest absolute decrease in SUL units (0.8; Wahl 2009)."""
    progression: Change = _PMD
    """PMD: increase of the hottest SULpeak (> 30 %; Wahl 2009)."""
    progression_min_sul: Fraction = Fraction(4, 5)
    """PMD: absolute increase in SUL units that must also be exceeded (> 0.8; Wahl 2009)."""
    progression_reference: Literal["baseline", "nadir"] = "baseline"
    """``baseline`` (PERCIST 1.0: "from the baseline scan") or ``nadir``; applies to SULpeak and TLG."""
    tlg_progression: Change | None = _PMD_TLG
    """PMD: increase of total lesion glycolysis (> 75 %; Wahl 2009); ``None`` disables the rule."""
    cmr_liver_factor: Fraction = Fraction(1)
    """CMR: hottest SULpeak below this × the liver SUL mean of the same scan (1; Wahl 2009)."""
    liver_drift_percent: Fraction = Fraction(20)
    """Quality: warn when the liver SUL mean differs from the baseline's by more than this % … (20)."""
    liver_drift_sul: Fraction = Fraction(3, 10)
    """… and by more than this many SUL units (0.3; Wahl 2009 / PMC4976461, [B] in the reference)."""
    uptake_min_minutes: Fraction = Fraction(50)
    """Quality: earliest acceptable uptake time (50 min; 60 ± 10, Wahl 2009)."""
    uptake_max_minutes: Fraction = Fraction(70)
    """Quality: latest acceptable uptake time (70 min)."""
    uptake_max_difference_minutes: Fraction = Fraction(15)
    """Quality: largest difference from the baseline's uptake time (15 min; Wahl 2009)."""
    bor: BorSettings = field(default_factory=BorSettings)
    """Best-overall-response settings."""

    def __post_init__(self) -> None:
        if self.progression_reference not in ("baseline", "nadir"):
            raise ConfigError(
                "PERCIST progression_reference must be 'baseline' or 'nadir', "
                f"got {self.progression_reference!r}"
            )
        if self.response.direction is not Direction.DECREASE:
            raise ConfigError("PERCIST response threshold must be a decrease")
        for name, change in (("progression", self.progression), ("tlg_progression", self.tlg_progression)):
            if change is not None and change.direction is not Direction.INCREASE:
                raise ConfigError(f"PERCIST {name} threshold must be an increase")
        for name in (
            "measurable_liver_factor",
            "measurable_sd_factor",
            "response_min_sul",
            "progression_min_sul",
            "cmr_liver_factor",
            "liver_drift_percent",
            "liver_drift_sul",
            "uptake_min_minutes",
            "uptake_max_minutes",
            "uptake_max_difference_minutes",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (Fraction, int)) or value < 0:
                raise ConfigError(f"PERCIST setting {name} must be an exact number ≥ 0, got {value!r}")
            object.__setattr__(self, name, Fraction(value))
        if self.uptake_min_minutes > self.uptake_max_minutes:
            raise ConfigError("PERCIST uptake_min_minutes exceeds uptake_max_minutes")

    def settings_text(self) -> dict[str, str]:
        """Every setting as text, for the result."""
        tlg = "not applied" if self.tlg_progression is None else self.tlg_progression.describe()
        return {
            "measurability": (
                f"baseline hottest SULpeak ≥ {_num(self.measurable_liver_factor)} × liver SUL mean + "
                f"{_num(self.measurable_sd_factor)} × liver SUL SD"
            ),
            "measurability_blood_pool": "not available (no blood-pool values in the input)",
            "cmr": f"hottest SULpeak < {_num(self.cmr_liver_factor)} × liver SUL mean of the same scan",
            "pmr": f"{self.response.describe()} and {_op(self.response)} {_sul(self.response_min_sul)}",
            "pmd_sulpeak": f"{self.progression.describe()} and {_op(self.progression)} "
            f"{_sul(self.progression_min_sul)}",
            "pmd_tlg": tlg,
            "pmd_new_lesions": "a definite (or later confirmed) new lesion not reported as non-avid",
            "progression_reference": self.progression_reference,
            "quality_liver_drift": (
                f"warn when > {_num(self.liver_drift_percent)} % and > {_sul(self.liver_drift_sul)}"
            ),
            "quality_uptake_window_min": f"{_num(self.uptake_min_minutes)}-{_num(self.uptake_max_minutes)}",
            "quality_uptake_max_difference_min": _num(self.uptake_max_difference_minutes),
            **self.bor.settings_text(),
        }


def _num(value: Fraction) -> str:
    """A setting or minute value as a short decimal (``"1.5"``, ``"20"``)."""
    if value.denominator == 1:
        return str(value.numerator)
    text = format_value(value, Resolution("0.001", ""), unit=False)
    return text.rstrip("0").rstrip(".")


def _sul(value: Fraction | None) -> str:
    return format_value(value, SUL)


def _pct(value: Fraction | None) -> str:
    return signed(value, _PCT)


def _signed(value: Fraction) -> str:
    return signed(value, SUL)


def _op(change: Change) -> str:
    return "≥" if change.inclusive else ">"


@dataclass(frozen=True)
class Uptake:
    """The hottest lesion's SULpeak at one time point.

    ``value`` is ``None`` when the time point is not evaluable (``reason`` says why); it is 0
    when every lesion has disappeared.
    """

    value: Fraction | None
    lesion_id: str | None
    reason: str
    notes: tuple[str, ...]


def _not_evaluated(case: ResponseCase, tp: TimePoint) -> list[str]:
    """Baseline lesions with no measurement (or ``not_evaluated``) at ``tp``."""
    return sorted(
        lid
        for lid in case.lesions
        if lid not in tp.measurements or tp.measurements[lid].state is LesionState.NOT_EVALUATED
    )


def hottest_uptake(case: ResponseCase, tp: TimePoint) -> Uptake:
    """The SULpeak of the hottest present lesion at ``tp`` (PERCIST primary analysis)."""
    present = sorted(
        (m for m in tp.measurements.values() if m.state is LesionState.PRESENT),
        key=lambda m: id_sort_key(m.lesion_id),
    )
    measured = [m for m in present if m.sul_peak is not None]
    missing = _not_evaluated(case, tp)
    too_small = sorted(m.lesion_id for m in tp.measurements.values() if m.state is LesionState.TOO_SMALL)
    notes: list[str] = []
    unmeasured = [m.lesion_id for m in present if m.sul_peak is None]
    if unmeasured:
        notes.append(f"no SULpeak given for present lesion(s) {', '.join(unmeasured)}")
    if too_small:
        notes.append(f"lesion(s) {', '.join(too_small)} too small to measure: no SULpeak")
    if missing:
        notes.append(f"lesion(s) {', '.join(missing)} not evaluated")
    if measured:
        best = measured[0]  # ties go to the first lesion ID
        for m in measured[1:]:
            assert m.sul_peak is not None
            assert best.sul_peak is not None
            if m.sul_peak > best.sul_peak:
                best = m
        assert best.sul_peak is not None
        return Uptake(
            best.sul_peak, best.lesion_id, f"{_sul(best.sul_peak)} ({best.lesion_id})", tuple(notes)
        )
    if present or too_small:
        return Uptake(None, None, "no SULpeak measured at this time point", tuple(notes))
    if missing:
        return Uptake(None, None, f"no lesion measured; {', '.join(missing)} not evaluated", tuple(notes))
    if not tp.measurements:
        return Uptake(None, None, "no lesion measured at this time point", tuple(notes))
    return Uptake(Fraction(0), None, "0 (every lesion has disappeared)", tuple(notes))


@dataclass(frozen=True)
class _Tlg:
    total: Fraction | None  # sum of the TLG given (a lower bound when not complete)
    complete: bool
    missing: tuple[str, ...]


def _tlg(case: ResponseCase, tp: TimePoint) -> _Tlg:
    present = [m for m in tp.measurements.values() if m.state is LesionState.PRESENT]
    given = [m.tlg for m in present if m.tlg is not None]
    missing = tuple(sorted(m.lesion_id for m in present if m.tlg is None))
    not_evaluated = tuple(_not_evaluated(case, tp))
    if not given and present:
        return _Tlg(None, False, missing)
    complete = not missing and not not_evaluated
    return _Tlg(sum(given, Fraction(0)), complete, missing + not_evaluated)


def _measurability(uptake: Uptake, tp: TimePoint, s: PercistSettings) -> tuple[bool | None, str]:
    """Whether the baseline is measurable (``None``: could not be checked) and why."""
    if uptake.value is None:
        return False, f"no PERCIST response: the baseline has no hottest SULpeak ({uptake.reason})"
    if tp.liver_sul_mean is None or tp.liver_sul_sd is None:
        absent = [n for n in ("liver_sul_mean", "liver_sul_sd") if getattr(tp, n) is None]
        return None, (
            f"baseline measurability not checked: {' and '.join(absent)} missing at {tp.time_point_id}"
        )
    threshold = s.measurable_liver_factor * tp.liver_sul_mean + s.measurable_sd_factor * tp.liver_sul_sd
    formula = (
        f"{_num(s.measurable_liver_factor)} × liver mean {_sul(tp.liver_sul_mean)} + "
        f"{_num(s.measurable_sd_factor)} × SD {_sul(tp.liver_sul_sd)} = {_sul(threshold)}"
    )
    if uptake.value >= threshold:
        return True, f"baseline measurable: hottest SULpeak {uptake.reason} ≥ {formula}"
    return False, (
        f"no PERCIST response: baseline not measurable, hottest SULpeak {uptake.reason} < {formula}"
    )


def _quality(tp: TimePoint, base: TimePoint, s: PercistSettings) -> list[str]:
    """Quality-check warnings of a scan (uptake window; liver and uptake time against the baseline)."""
    out: list[str] = []
    t = tp.uptake_time_min
    if t is not None and not s.uptake_min_minutes <= t <= s.uptake_max_minutes:
        out.append(
            f"quality warning: uptake time {_num(t)} min is outside "
            f"{_num(s.uptake_min_minutes)}-{_num(s.uptake_max_minutes)} min"
        )
    if tp is base:
        return out
    t0 = base.uptake_time_min
    if t is not None and t0 is not None and abs(t - t0) > s.uptake_max_difference_minutes:
        out.append(
            f"quality warning: uptake time {_num(t)} min differs from the baseline's {_num(t0)} min by "
            f"more than {_num(s.uptake_max_difference_minutes)} min"
        )
    liver, liver0 = tp.liver_sul_mean, base.liver_sul_mean
    if liver is not None and liver0 is not None and liver0 > 0:
        diff = liver - liver0
        pct = percent_change(liver, liver0)
        assert pct is not None
        if abs(pct) > s.liver_drift_percent and abs(diff) > s.liver_drift_sul:
            out.append(
                f"quality warning: liver SUL mean {_sul(liver)} differs from the baseline's "
                f"{_sul(liver0)} by {_pct(pct)} and {_signed(diff)} (more than "
                f"{_num(s.liver_drift_percent)} % and {_sul(s.liver_drift_sul)})"
            )
    return out


def _new_avid(tp: TimePoint, confirmed: set[str]) -> tuple[str, list[str], list[str]]:
    """New-lesion status for PERCIST, the avid new lesions that make PMD, and notes."""
    avid: list[str] = []
    notes: list[str] = []
    equivocal: list[str] = []
    for f in tp.new_lesions:
        counts = f.certainty is Certainty.DEFINITE or f.lesion_id in confirmed
        if f.avid is False:
            notes.append(f"new lesion {f.lesion_id} is not avid: not PERCIST progression")
        elif counts:
            avid.append(f.lesion_id)
        else:
            equivocal.append(f.lesion_id)
    if equivocal:
        notes.append(
            f"equivocal new lesion(s) {', '.join(equivocal)}: not progression unless confirmed later"
        )
    status = "definite" if avid else "equivocal" if equivocal else "none"
    return status, avid, notes


@dataclass(frozen=True)
class _Scan:
    """Everything classification needs at one follow-up."""

    tp: TimePoint
    uptake: Uptake
    point: SeriesPoint
    tlg_point: SeriesPoint
    tlg_partial: _Tlg
    avid_new: list[str]


def _reference(point: SeriesPoint, s: PercistSettings) -> tuple[Fraction | None, str]:
    if s.progression_reference == "nadir":
        return point.nadir, f"the nadir on {point.nadir_date}"
    return point.baseline, "the baseline"


def _progression(scan: _Scan, s: PercistSettings) -> list[str]:
    """The PMD reasons met at a scan (empty when none)."""
    reasons: list[str] = []
    if scan.avid_new:
        reasons.append(f"new avid lesion(s) {', '.join(scan.avid_new)}")
    value = scan.uptake.value
    ref, ref_name = _reference(scan.point, s)
    if value is not None and ref is not None:
        diff = value - ref
        relative = value > 0 if ref == 0 else s.progression.met(percent_change(value, ref))
        absolute = diff >= s.progression_min_sul if s.progression.inclusive else diff > s.progression_min_sul
        if relative and absolute:
            reasons.append(
                f"hottest SULpeak {scan.uptake.reason} is {_pct(percent_change(value, ref))} and "
                f"{_signed(diff)} over {ref_name} {_sul(ref)} ({s.progression.describe()} and "
                f"{_op(s.progression)} {_sul(s.progression_min_sul)})"
            )
    tlg_ref, tlg_ref_name = _reference(scan.tlg_point, s)
    total = scan.tlg_partial.total
    if s.tlg_progression is not None and total is not None and tlg_ref is not None and tlg_ref > 0:
        pct = percent_change(total, tlg_ref)
        if s.tlg_progression.met(pct):
            partial = "" if scan.tlg_partial.complete else " (a partial sum, already enough)"
            reasons.append(
                f"TLG {format_value(total, _TLG_RES)}{partial} is {_pct(pct)} over {tlg_ref_name} "
                f"{format_value(tlg_ref, _TLG_RES)} ({s.tlg_progression.describe()})"
            )
    return reasons


def _classify(scan: _Scan, s: PercistSettings) -> tuple[PercistCategory, str, list[str]]:
    """Category, rule and notes of a follow-up whose baseline is measurable (or unchecked)."""
    notes: list[str] = []
    pmd = _progression(scan, s)
    if pmd:
        return PercistCategory.PMD, "PMD: " + "; ".join(pmd), notes
    if (
        s.tlg_progression is not None
        and not scan.tlg_partial.complete
        and scan.tlg_partial.total is not None
        and scan.tlg_point.baseline is not None
    ):
        notes.append(
            f"TLG incomplete (none for {', '.join(scan.tlg_partial.missing)}): "
            "the TLG rule could not be applied"
        )
    value, base = scan.uptake.value, scan.point.baseline
    if value is None:
        return PercistCategory.NE, f"NE: {scan.uptake.reason}", notes
    if base is None:
        return PercistCategory.NE, "NE: no baseline SULpeak to compare with", notes
    liver = scan.tp.liver_sul_mean
    if scan.uptake.lesion_id is None:  # every lesion has disappeared
        return PercistCategory.CMR, "CMR: every lesion has disappeared and no new avid lesion", notes
    if liver is not None and value < s.cmr_liver_factor * liver:
        factor = "" if s.cmr_liver_factor == 1 else f"{_num(s.cmr_liver_factor)} × "
        return (
            PercistCategory.CMR,
            (
                f"CMR: hottest SULpeak {scan.uptake.reason} is below {factor}the liver SUL mean "
                f"{_sul(liver)} of this scan, no new avid lesion (uptake at background level not checked)"
            ),
            notes,
        )
    if liver is None:
        notes.append(f"CMR could not be checked: no liver SUL mean at {scan.tp.time_point_id}")
    pct = percent_change(value, base)
    drop = base - value
    floor_met = drop >= s.response_min_sul if s.response.inclusive else drop > s.response_min_sul
    change = f"{_pct(pct)} and {_signed(value - base)} from the baseline {_sul(base)}"
    pmr_rule = f"{s.response.describe()} and {_op(s.response)} {_sul(s.response_min_sul)} decrease"
    if s.response.met(pct) and floor_met:
        return (
            PercistCategory.PMR,
            (f"PMR: hottest SULpeak {scan.uptake.reason} is {change} (PMR: {pmr_rule})"),
            notes,
        )
    pmd_rule = f"{s.progression.describe()} and {_op(s.progression)} {_sul(s.progression_min_sul)}"
    return (
        PercistCategory.SMD,
        (
            f"SMD: hottest SULpeak {scan.uptake.reason} is {change} "
            f"(PMR needs {pmr_rule}; PMD needs {pmd_rule})"
        ),
        notes,
    )


def _baseline_row(
    point: SeriesPoint, uptake: Uptake, measurable_text: str, quality: Sequence[str]
) -> TimePointResponse:
    return baseline_row(
        point,
        _MEASURE,
        f"baseline: hottest SULpeak {uptake.reason}; {measurable_text}",
        [*uptake.notes, *quality],
    )


def assess_percist(case: ResponseCase, settings: PercistSettings | None = None) -> CriterionResult:
    """PERCIST 1.0 (primary analysis, single hottest lesion) over a case.

    Parameters
    ----------
    case:
        The patient's course; lesions need ``sul_peak`` (and ``tlg`` for the TLG rule), time
        points ``liver_sul_mean``/``liver_sul_sd`` (and ``uptake_time_min`` for the quality checks).
    settings:
        :class:`PercistSettings` (defaults: Wahl 2009).

    Returns
    -------
    CriterionResult
        Categories CMR/PMR/SMD/PMD/NE per follow-up, each with its rule and quality warnings;
        the best overall response and time to progression in PERCIST's names.
    """
    s = settings or PercistSettings()
    base = case.baseline
    uptakes = [hottest_uptake(case, tp) for tp in case.time_points]
    series = track(
        [(tp.time_point_id, tp.date_text, u.value) for tp, u in zip(case.time_points, uptakes, strict=True)]
    )
    tlgs = [_tlg(case, tp) for tp in case.time_points]
    tlg_series = track(
        [
            (tp.time_point_id, tp.date_text, t.total if t.complete else None)
            for tp, t in zip(case.time_points, tlgs, strict=True)
        ]
    )
    measurable, measurable_text = _measurability(uptakes[0], base, s)
    confirmed = confirmed_new_lesion_ids(case)
    rows = [_baseline_row(series[0], uptakes[0], measurable_text, _quality(base, base, s))]
    for i, tp in enumerate(case.follow_ups, start=1):
        status, avid, new_notes = _new_avid(tp, confirmed)
        scan = _Scan(tp, uptakes[i], series[i], tlg_series[i], tlgs[i], avid)
        notes = [*uptakes[i].notes, *new_notes, *_quality(tp, base, s)]
        if measurable is False:
            category, rule = PercistCategory.NE, f"NE: {measurable_text}"
            if avid:
                notes.append(
                    f"new avid lesion(s) {', '.join(avid)}, but no PERCIST category without a baseline"
                )
        else:
            category, rule, more = _classify(scan, s)
            notes.extend(more)
            if measurable is None:
                notes.append(measurable_text)
        rows.append(
            row(
                series[i],
                _MEASURE,
                case.days_from_baseline(tp),
                category.value,
                None,
                None,
                status,
                rule,
                notes,
            )
        )
    hottest = uptakes[0].lesion_id
    selection = TargetSelection(
        targets=(hottest,) if hottest is not None else (),
        non_targets=tuple(sorted((lid for lid in case.lesions if lid != hottest), key=id_sort_key)),
        rule=(
            "PERCIST primary analysis: the single hottest lesion at each scan, not necessarily the same "
            "lesion (the target listed is the hottest at the baseline)"
        ),
    )
    notes = _result_notes(measurable_text, tlgs[0], s)
    return build_result(
        "PERCIST 1.0", SOURCE, s.settings_text(), selection, rows, s.bor, notes, aliases=PERCIST_ALIASES
    )


def _result_notes(measurable_text: str, baseline_tlg: _Tlg, s: PercistSettings) -> list[str]:
    notes = [
        measurable_text,
        "PERCIST 1.0 was defined for FDG PET; its use with SSTR PET (Ga-68 DOTATATE) is an extrapolation",
        "uptake values must be SUL (SUV normalised to lean body mass); nelm uses them as given",
        "the blood-pool reference for an abnormal liver (2.0 × blood-pool mean + 2 SD) is not available",
        "not assessed: visible increase in the extent of uptake; RECIST progression (PMR/CMR need none); "
        "the secondary analysis of up to 5 lesions",
    ]
    if s.tlg_progression is not None and not (baseline_tlg.complete and baseline_tlg.total):
        notes.append("TLG rule not applied: no complete baseline TLG")
    return notes
