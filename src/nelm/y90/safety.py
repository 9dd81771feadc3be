"""Safety checks of a Y-90 activity plan: lung dose limits, LSF policy, liver and patient cautions.

:func:`check_plan` runs every check on an :class:`~nelm.y90.planning.ActivityPlan` and a
:class:`SafetyContext` and returns one :class:`Finding` per check: ``BLOCK`` (must not be
delivered as planned), ``WARN`` (caution, the team decides) or ``INFO`` (passed, or could not run
because an input is missing — nelm never guesses a missing value). :func:`is_deliverable` is
``False`` iff any finding is ``BLOCK``.

Thresholds (:class:`SafetyLimits`, every one settable) and their sources:

=====================================  =======  ===========  ==========================================
check                                  default  fires when   source
=====================================  =======  ===========  ==========================================
lung dose per treatment (BLOCK)        30 Gy    > 30         van Roekel p.41; clinical-rules §2.7
cumulative lung dose (BLOCK)           50 Gy    > 50         same (prior TARE lung doses + this one)
normal liver dose (WARN)               70 Gy    > 70         y90-dosimetry.md §2.4 (non-cirrhotic)
normal liver dose, cirrhosis (WARN)    40 Gy    > 40         y90-dosimetry.md §2.4
LSF, NET prognosis (WARN)              10 %     >= 10 %      Ludwig et al. (clinical-rules §2.7)
LSF, glass caution (WARN)              15 %     >= 15 %      Sangro (withhold >= 15 %), clinical-rules
LSF, resin bands (INFO/WARN/BLOCK)     10-20 %  see bands    :class:`~nelm.y90.planning.ResinLsfBands`
perfused vs target volume (WARN)       20 %     > 20 %       nelm's choice (see below)
bilirubin (BLOCK)                      2 mg/dL  > 2          clinical-rules §2.7 / §9 (TARE row)
bilirubin, prognosis (INFO)            1.2      > 1.2        Ludwig et al. (clinical-rules §2.7)
tumour burden (WARN)                   70 %     > 70 %       clinical-rules §9 (TARE caution)
tumour burden (INFO)                   50 %     > 50 %       clinical-rules §1 (poor OS after TAE)
prior PRRT (WARN)                      —        True         Braat 2019, PMC6965040 (REILD rare, 1 fatal)
prior whole-liver TARE (WARN)          —        True         Su 2017 JVIR (long-term hepatotoxicity)
whole-liver target (WARN)              —        whole_liver  Su 2017 JVIR
=====================================  =======  ===========  ==========================================

All comparisons are exact on the decimal values (:func:`~nelm.y90.lsf.decimal_fraction`): a lung
dose of exactly 30 Gy passes, 30.000001 Gy blocks. The perfused-volume tolerance compares
``|V_perfused − V_target| > 0.20 · V_target``: a perfused territory drawn on the MAA SPECT that
differs from the intended target by more than a fifth suggests a catheter position, a missed
accessory artery or a segmentation error (nelm's choice; no published threshold was found).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from fractions import Fraction
from typing import Any, Final

from nelm.case import Case
from nelm.case.validation import is_earlier
from nelm.case.vocabulary import TareDevice, TreatmentType
from nelm.errors import ConfigError, InputError
from nelm.y90.checks import decimal_fraction, finite_number
from nelm.y90.lsf import percent_text
from nelm.y90.planning import ActivityPlan, PlanningModel, ResinLsfBands

__all__ = [
    "Finding",
    "Level",
    "SafetyContext",
    "SafetyLimits",
    "check_plan",
    "is_deliverable",
    "safety_context_from_case",
]

logger = logging.getLogger(__name__)

_SRC_LUNG: Final = (
    "van Roekel, PhD thesis p.41 (30 Gy per treatment, 50 Gy cumulative); clinical-rules.md §2.7"
)
_SRC_LIVER: Final = "y90-dosimetry.md §2.4: normal liver < 70 Gy non-cirrhotic, < 40 Gy cirrhotic"
_SRC_LUDWIG: Final = "Ludwig et al., LSF prior to Y-90 RE predicts survival in NET (clinical-rules.md §2.7)"
_SRC_SANGRO: Final = "Sangro: withhold RE from LSF 15 % (clinical-rules.md §2.7, van Roekel p.41)"
_SRC_BILI: Final = "clinical-rules.md §2.7/§9: bilirubin > 2 mg/dL TARE contraindication (van Roekel; RETNET)"
_SRC_BURDEN: Final = "clinical-rules.md §1/§9: > 70 % TARE caution, > 50 % poor OS after embolization"
_SRC_PRRT: Final = "Braat et al. 2019, PMC6965040: RE after PRRT, fatal REILD 2 % (clinical-rules.md §2.7)"
_SRC_WHOLE: Final = (
    "Su et al., JVIR 2017: long-term hepatotoxicity of whole-liver Y-90 (clinical-rules.md §2.7)"
)
_SRC_MISMATCH: Final = "nelm's choice (no published threshold)"
_SRC_PLANAR: Final = "Allred et al., EJNMMI Res 2018 (clinical-rules.md §2.7)"
_SRC_RESIN_OR_GLASS: Final = "y90-dosimetry.md §2.3 (resin bands); clinical-rules.md §2.7"


class Level(StrEnum):
    """Severity of a :class:`Finding`."""

    BLOCK = "block"
    WARN = "warn"
    INFO = "info"


@dataclass(frozen=True)
class Finding:
    """The result of one safety check.

    Parameters
    ----------
    code:
        Stable identifier, e.g. ``"lung_dose_per_treatment"``.
    level:
        :class:`Level`.
    message:
        What was found, with the values and thresholds.
    values:
        The numbers behind it (units in the keys).
    source:
        Citation of the threshold.
    """

    code: str
    level: Level
    message: str
    values: dict[str, float | str | None] = field(default_factory=dict)
    source: str = ""

    def __post_init__(self) -> None:
        if not self.code or not self.message:
            raise InputError("a safety finding needs a code and a message")
        object.__setattr__(self, "level", Level(self.level))
        object.__setattr__(self, "values", dict(self.values))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "code": self.code,
            "level": self.level.value,
            "message": self.message,
            "values": dict(self.values),
            "source": self.source,
        }


def _limit(value: object, name: str) -> float:
    v = finite_number(value, f"SafetyLimits.{name}", error=ConfigError)
    if v <= 0:
        raise ConfigError(f"SafetyLimits.{name} must be > 0, got {value!r}")
    return v


@dataclass(frozen=True)
class SafetyLimits:
    """Thresholds of :func:`check_plan`; defaults, boundaries and sources in the module docstring.

    Fractions (LSF, mismatch) are fractions, not percentages; the tumour burden is in percent.

    Raises
    ------
    ConfigError
        A non-positive or non-finite threshold, a cirrhotic limit above the non-cirrhotic one.
    """

    lung_dose_per_treatment_gy: float = 30.0
    lung_dose_cumulative_gy: float = 50.0
    normal_liver_dose_gy: float = 70.0
    normal_liver_dose_cirrhotic_gy: float = 40.0
    resin_lsf_bands: ResinLsfBands = field(default_factory=ResinLsfBands)
    lsf_prognosis_from: float = 0.10
    glass_lsf_caution_from: float = 0.15
    perfused_volume_mismatch: float = 0.20
    bilirubin_mg_dl: float = 2.0
    bilirubin_level: Level = Level.BLOCK
    bilirubin_prognosis_mg_dl: float = 1.2
    tumour_burden_warn_percent: float = 70.0
    tumour_burden_info_percent: float = 50.0

    def __post_init__(self) -> None:
        for name in (
            "lung_dose_per_treatment_gy",
            "lung_dose_cumulative_gy",
            "normal_liver_dose_gy",
            "normal_liver_dose_cirrhotic_gy",
            "lsf_prognosis_from",
            "glass_lsf_caution_from",
            "perfused_volume_mismatch",
            "bilirubin_mg_dl",
            "bilirubin_prognosis_mg_dl",
            "tumour_burden_warn_percent",
            "tumour_burden_info_percent",
        ):
            object.__setattr__(self, name, _limit(getattr(self, name), name))
        for name in ("lsf_prognosis_from", "glass_lsf_caution_from"):
            if getattr(self, name) >= 1:
                raise ConfigError(
                    f"SafetyLimits.{name} is a fraction below 1 (0.10 for 10 %), got {getattr(self, name)}"
                )
        if self.normal_liver_dose_cirrhotic_gy > self.normal_liver_dose_gy:
            raise ConfigError(
                "SafetyLimits: the cirrhotic normal-liver limit must not exceed the non-cirrhotic one"
            )
        if not isinstance(self.resin_lsf_bands, ResinLsfBands):
            raise ConfigError("SafetyLimits.resin_lsf_bands must be a ResinLsfBands")
        try:
            object.__setattr__(self, "bilirubin_level", Level(self.bilirubin_level))
        except ValueError:
            raise ConfigError(
                f"SafetyLimits.bilirubin_level {self.bilirubin_level!r} is not block/warn/info"
            ) from None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values: the resin LSF bands as a nested mapping, the bilirubin level as text."""
        out = asdict(self)
        out["bilirubin_level"] = self.bilirubin_level.value
        return out

    def overridden(self) -> list[str]:
        """Names of the limits that differ from nelm's defaults, in declaration order."""
        default = SafetyLimits()
        return [f.name for f in fields(self) if getattr(self, f.name) != getattr(default, f.name)]


@dataclass(frozen=True)
class SafetyContext:
    """What the checks need beyond the plan; every field optional (``None`` = unknown).

    Parameters
    ----------
    prior_lung_dose_gy:
        Sum of the lung doses of earlier TARE treatments (0 when there were none).
    prior_tare_without_lung_dose:
        Number of earlier TARE treatments whose lung dose is not known (they make the cumulative
        check incomplete).
    bilirubin_mg_dl, tumour_burden_percent:
        Total bilirubin; tumour volume as a percentage of the liver (0-100).
    prior_prrt, prior_whole_liver_treatment, cirrhosis:
        Yes/no/unknown.
    device:
        ``glass`` or ``resin`` (:class:`~nelm.case.vocabulary.TareDevice`).
    target:
        The planned target (``whole_liver``, ``right_lobe``, ``segment_<n>`` …).
    target_volume_ml:
        Volume of the intended target territory on CT/MR, for the perfused-volume check.
    """

    prior_lung_dose_gy: float | None = None
    prior_tare_without_lung_dose: int = 0
    bilirubin_mg_dl: float | None = None
    tumour_burden_percent: float | None = None
    prior_prrt: bool | None = None
    prior_whole_liver_treatment: bool | None = None
    cirrhosis: bool | None = None
    device: TareDevice | None = None
    target: str | None = None
    target_volume_ml: float | None = None

    def __post_init__(self) -> None:
        for name in ("prior_lung_dose_gy", "bilirubin_mg_dl", "tumour_burden_percent", "target_volume_ml"):
            value = getattr(self, name)
            if value is not None:
                v = finite_number(value, name)
                if v < 0 or (name == "target_volume_ml" and v == 0):
                    raise InputError(
                        f"{name} must be {'> 0' if name == 'target_volume_ml' else '>= 0'}, got {value!r}"
                    )
                object.__setattr__(self, name, v)
        if self.tumour_burden_percent is not None and self.tumour_burden_percent > 100:
            raise InputError(f"tumour_burden_percent must be 0-100, got {self.tumour_burden_percent!r}")
        n = self.prior_tare_without_lung_dose
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise InputError(f"prior_tare_without_lung_dose must be an integer >= 0, got {n!r}")
        for name in ("prior_prrt", "prior_whole_liver_treatment", "cirrhosis"):
            if getattr(self, name) not in (None, True, False):
                raise InputError(f"{name} must be true, false or None (unknown), got {getattr(self, name)!r}")
        if self.device is not None:
            try:
                object.__setattr__(self, "device", TareDevice(self.device))
            except ValueError:
                raise InputError(f"device {self.device!r} is not a Y-90 device; use glass or resin") from None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "prior_lung_dose_gy": self.prior_lung_dose_gy,
            "prior_tare_without_lung_dose": self.prior_tare_without_lung_dose,
            "bilirubin_mg_dl": self.bilirubin_mg_dl,
            "tumour_burden_percent": self.tumour_burden_percent,
            "prior_prrt": self.prior_prrt,
            "prior_whole_liver_treatment": self.prior_whole_liver_treatment,
            "cirrhosis": self.cirrhosis,
            "device": None if self.device is None else self.device.value,
            "target": self.target,
            "target_volume_ml": self.target_volume_ml,
        }


def safety_context_from_case(
    case: Case,
    *,
    before: dt.datetime | dt.date | None,
    tumour_burden_percent: float | None = None,
    target_volume_ml: float | None = None,
    cirrhosis: bool | None = None,
    device: TareDevice | str | None = None,
    target: str | None = None,
) -> SafetyContext:
    """A :class:`SafetyContext` from a case manifest.

    Prior treatments are those dated strictly before ``before`` under the manifest's ordering
    rule (:func:`nelm.case.validation.is_earlier`: a plain date compares by calendar date, so a
    treatment on the same day is not prior); ``None`` counts every treatment in the case. The
    prior lung dose is the exact decimal sum of the prior TARE ``lung_dose_gy`` values; a prior
    TARE without one is counted in ``prior_tare_without_lung_dose``. A prior TARE with target
    ``whole_liver`` sets ``prior_whole_liver_treatment``; prior TAREs without a target leave it
    unknown unless another is whole-liver. Bilirubin comes from ``case.clinical``; the manifest
    has no cirrhosis field, so ``cirrhosis`` is taken as given here (``None``: unknown).

    Raises
    ------
    InputError
        ``before`` a date-time without a timezone.
    """
    if isinstance(before, dt.datetime) and (before.tzinfo is None or before.utcoffset() is None):
        raise InputError(f"before = {before.isoformat()} has no timezone; give an aware date-time or a date")
    prior = [t for t in case.treatments if before is None or is_earlier(t.date, before)]
    tares = [t for t in prior if t.type is TreatmentType.TARE]
    known = [t.lung_dose_gy for t in tares if t.lung_dose_gy is not None]
    whole: bool | None = False
    if any(t.target == "whole_liver" for t in tares):
        whole = True
    elif any(t.target is None for t in tares):
        whole = None
    return SafetyContext(
        prior_lung_dose_gy=float(sum((decimal_fraction(d) for d in known), Fraction(0))),
        prior_tare_without_lung_dose=len(tares) - len(known),
        bilirubin_mg_dl=case.clinical.bilirubin_mg_dl,
        tumour_burden_percent=tumour_burden_percent,
        prior_prrt=any(t.type is TreatmentType.PRRT for t in prior),
        prior_whole_liver_treatment=whole,
        cirrhosis=cirrhosis,
        device=None if device is None else TareDevice(device),
        target=target,
        target_volume_ml=target_volume_ml,
    )


def _g(value: float, against: float | None = None) -> str:
    """``value`` rounded to two decimals for messages; in full when rounding would make it look
    equal to the threshold ``against`` it is compared with (30.000001 Gy is not "30 Gy")."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    if against is not None and value != against and Fraction(text) == decimal_fraction(against):
        return repr(float(value))
    return text


def _unknown(code: str, what: str, source: str) -> Finding:
    return Finding(code, Level.INFO, f"{what}: check could not run (input missing)", {}, source)


def _lung_findings(plan: ActivityPlan, context: SafetyContext, limits: SafetyLimits) -> list[Finding]:
    lung = plan.doses.lung_gy
    per = limits.lung_dose_per_treatment_gy
    over = decimal_fraction(lung) > decimal_fraction(per)
    out = [
        Finding(
            "lung_dose_per_treatment",
            Level.BLOCK if over else Level.INFO,
            f"lung dose {_g(lung, per)} Gy {'exceeds' if over else 'is within'} {_g(per)} Gy per treatment",
            {"lung_dose_gy": lung, "limit_gy": per},
            _SRC_LUNG,
        )
    ]
    cum = limits.lung_dose_cumulative_gy
    if context.prior_lung_dose_gy is None:
        out.append(
            _unknown("lung_dose_cumulative", "cumulative lung dose (prior lung dose unknown)", _SRC_LUNG)
        )
        return out
    total = decimal_fraction(context.prior_lung_dose_gy) + decimal_fraction(lung)
    values: dict[str, float | str | None] = {
        "prior_lung_dose_gy": context.prior_lung_dose_gy,
        "lung_dose_gy": lung,
        "cumulative_lung_dose_gy": float(total),
        "limit_gy": cum,
        "prior_tare_without_lung_dose": float(context.prior_tare_without_lung_dose),
    }
    text = (
        f"cumulative lung dose {_g(float(total), cum)} Gy "
        f"(prior {_g(context.prior_lung_dose_gy)} Gy + this {_g(lung)} Gy)"
    )
    if total > decimal_fraction(cum):
        out.append(
            Finding("lung_dose_cumulative", Level.BLOCK, f"{text} exceeds {_g(cum)} Gy", values, _SRC_LUNG)
        )
    elif context.prior_tare_without_lung_dose:
        out.append(
            Finding(
                "lung_dose_cumulative",
                Level.WARN,
                f"cumulative lung dose unknown: {context.prior_tare_without_lung_dose} earlier TARE "
                f"treatment(s) have no lung dose; the known part, {text}, is within {_g(cum)} Gy. "
                "Add the missing lung doses",
                values,
                _SRC_LUNG,
            )
        )
    else:
        out.append(
            Finding("lung_dose_cumulative", Level.INFO, f"{text} is within {_g(cum)} Gy", values, _SRC_LUNG)
        )
    return out


def _liver_finding(plan: ActivityPlan, context: SafetyContext, limits: SafetyLimits) -> Finding:
    dose = plan.doses.normal_liver_gy
    limit = limits.normal_liver_dose_cirrhotic_gy if context.cirrhosis else limits.normal_liver_dose_gy
    values: dict[str, float | str | None] = {
        "normal_liver_dose_gy": dose,
        "limit_gy": limit,
        "cirrhosis": None if context.cirrhosis is None else str(context.cirrhosis).lower(),
    }
    which = "cirrhotic" if context.cirrhosis else "non-cirrhotic"
    x = decimal_fraction(dose)
    if x > decimal_fraction(limit):
        segmental = (context.target or "").startswith("segment_")
        return Finding(
            "normal_liver_dose",
            Level.INFO if segmental else Level.WARN,
            f"normal perfused liver dose {_g(dose, limit)} Gy exceeds {_g(limit)} Gy ({which} liver)"
            + ("; an ablative dose is intended in a radiation segmentectomy" if segmental else ""),
            values,
            _SRC_LIVER,
        )
    text = f"normal perfused liver dose {_g(dose, limit)} Gy is within {_g(limit)} Gy ({which} liver)"
    cirrhotic = limits.normal_liver_dose_cirrhotic_gy
    if context.cirrhosis is None and x > decimal_fraction(cirrhotic):
        text += f" but above the {_g(cirrhotic)} Gy limit for cirrhotic liver; cirrhosis status unknown"
    return Finding("normal_liver_dose", Level.INFO, text, values, _SRC_LIVER)


def _lsf_findings(plan: ActivityPlan, context: SafetyContext, limits: SafetyLimits) -> list[Finding]:
    shunt = plan.lung_shunt
    lsf = shunt.fraction
    values: dict[str, float | str | None] = {"lsf": lsf, "method": shunt.method.value}
    out = [
        Finding(
            "lsf_caveat", Level.INFO, warning, values, _SRC_PLANAR if "planar" in warning else shunt.source
        )
        for warning in shunt.warnings
    ]
    x = decimal_fraction(lsf)
    prognosis = limits.lsf_prognosis_from
    if x >= decimal_fraction(prognosis):
        out.append(
            Finding(
                "lsf_prognosis",
                Level.WARN,
                f"LSF {percent_text(lsf, prognosis)} % is {percent_text(prognosis)} % or more: associated "
                "with much shorter survival after Y-90 in NET liver metastases (median 4.8 vs 42.8 months)",
                {**values, "threshold": prognosis},
                _SRC_LUDWIG,
            )
        )
    device = context.device
    if device is None and plan.model is PlanningModel.BSA:
        device = TareDevice.RESIN
    if device is None:
        out.append(_unknown("lsf_device", "device-specific LSF policy (device unknown)", _SRC_RESIN_OR_GLASS))
    elif device is TareDevice.RESIN:
        band = limits.resin_lsf_bands.band(lsf)
        applied = plan.model is PlanningModel.BSA
        if not band.deliverable:
            level, text = Level.BLOCK, band.description
        elif band.factor < 1:
            level = Level.INFO if applied else Level.WARN
            text = band.description + (
                " (applied by the BSA plan)"
                if applied
                else f"; the {plan.model.value} plan does not apply it"
            )
        else:
            level, text = Level.INFO, band.description
        out.append(
            Finding(
                "lsf_resin_band",
                level,
                text,
                {**values, "band": band.name, "factor": band.factor},
                limits.resin_lsf_bands.source,
            )
        )
    else:
        caution = limits.glass_lsf_caution_from
        high = x >= decimal_fraction(caution)
        out.append(
            Finding(
                "lsf_glass",
                Level.WARN if high else Level.INFO,
                f"glass LSF {percent_text(lsf, caution)} % "
                + (
                    f"is {percent_text(caution)} % or more: some centres withhold treatment; "
                    "the lung dose limit governs"
                    if high
                    else f"is below {percent_text(caution)} %; the lung dose limit governs"
                ),
                {**values, "threshold": caution},
                _SRC_SANGRO,
            )
        )
        if plan.model is PlanningModel.BSA:
            out.append(
                Finding(
                    "model_device",
                    Level.WARN,
                    "the BSA method is for resin microspheres, but the device is glass",
                    {"model": plan.model.value, "device": device.value},
                    "y90-dosimetry.md §2.3",
                )
            )
    return out


def _mismatch_finding(plan: ActivityPlan, context: SafetyContext, limits: SafetyLimits) -> Finding:
    target = context.target_volume_ml
    if target is None:
        return _unknown(
            "perfused_volume_mismatch", "perfused vs target volume (target volume unknown)", _SRC_MISMATCH
        )
    perfused = plan.compartments.perfused_volume_ml
    tol = limits.perfused_volume_mismatch
    diff = abs(decimal_fraction(perfused) - decimal_fraction(target))
    off = diff > decimal_fraction(tol) * decimal_fraction(target)
    rel = float(diff / decimal_fraction(target))
    return Finding(
        "perfused_volume_mismatch",
        Level.WARN if off else Level.INFO,
        f"perfused volume {_g(perfused)} mL differs from the target volume {_g(target)} mL by {rel:.1%}"
        + (
            f", more than {tol:.0%}: check the catheter position, accessory arteries and segmentations"
            if off
            else f", within {tol:.0%}"
        ),
        {
            "perfused_volume_ml": perfused,
            "target_volume_ml": target,
            "relative_difference": rel,
            "tolerance": tol,
        },
        _SRC_MISMATCH,
    )


def _patient_findings(context: SafetyContext, limits: SafetyLimits) -> list[Finding]:
    out = []
    bili = context.bilirubin_mg_dl
    if bili is None:
        out.append(_unknown("bilirubin", "bilirubin (not given)", _SRC_BILI))
    else:
        limit, prognosis = limits.bilirubin_mg_dl, limits.bilirubin_prognosis_mg_dl
        values: dict[str, float | str | None] = {"bilirubin_mg_dl": bili, "limit_mg_dl": limit}
        x = decimal_fraction(bili)
        if x > decimal_fraction(limit):
            level, source = limits.bilirubin_level, _SRC_BILI
            text = (
                f"bilirubin {_g(bili, limit)} mg/dL exceeds {_g(limit)} mg/dL: TARE contraindicated unless "
                "a reversible cause is treated"
            )
        elif x > decimal_fraction(prognosis):
            level, source = Level.INFO, _SRC_LUDWIG
            text = (
                f"bilirubin {_g(bili, prognosis)} mg/dL is above {_g(prognosis)} mg/dL: an independent "
                "poor-prognosis factor after Y-90 in NET"
            )
        else:
            level, source = Level.INFO, _SRC_BILI
            text = f"bilirubin {_g(bili, limit)} mg/dL is within {_g(limit)} mg/dL"
        out.append(Finding("bilirubin", level, text, values, source))
    burden = context.tumour_burden_percent
    if burden is None:
        out.append(_unknown("tumour_burden", "tumour burden (not given)", _SRC_BURDEN))
    else:
        warn, info = limits.tumour_burden_warn_percent, limits.tumour_burden_info_percent
        x = decimal_fraction(burden)
        if x > decimal_fraction(warn):
            level = Level.WARN
            text = (
                f"tumour burden {_g(burden, warn)} % exceeds {_g(warn)} %: TARE only if liver synthetic "
                "function is preserved"
            )
        elif x > decimal_fraction(info):
            level = Level.INFO
            text = (
                f"tumour burden {_g(burden, info)} % exceeds {_g(info)} %: poorer survival after embolization"
            )
        else:
            level, text = Level.INFO, f"tumour burden {_g(burden, info)} % is within {_g(info)} %"
        out.append(Finding("tumour_burden", level, text, {"tumour_burden_percent": burden}, _SRC_BURDEN))
    for code, flag, yes, what, source in (
        (
            "prior_prrt",
            context.prior_prrt,
            "prior PRRT: cumulative radiation to the liver; RE after PRRT is feasible but REILD "
            "(fatal in 2 %) occurs",
            "prior PRRT",
            _SRC_PRRT,
        ),
        (
            "prior_whole_liver_treatment",
            context.prior_whole_liver_treatment,
            "prior whole-liver radioembolisation: risk of long-term hepatotoxicity "
            "(cirrhosis-like morphology, portal hypertension)",
            "prior whole-liver treatment",
            _SRC_WHOLE,
        ),
    ):
        if flag is None:
            out.append(_unknown(code, f"{what} (unknown)", source))
        else:
            level = Level.WARN if flag else Level.INFO
            out.append(Finding(code, level, yes if flag else f"no {what}", {code: str(flag).lower()}, source))
    if context.target is None:
        out.append(_unknown("whole_liver_target", "whole-liver target (target not given)", _SRC_WHOLE))
    elif context.target == "whole_liver":
        out.append(
            Finding(
                "whole_liver_target",
                Level.WARN,
                "whole-liver treatment: long-term hepatotoxicity in long survivors (Su 2017: cirrhosis-like "
                "morphology 56 % vs 27 % unilobar); prefer lobar or segmental treatment",
                {"target": context.target},
                _SRC_WHOLE,
            )
        )
    else:
        out.append(
            Finding(
                "whole_liver_target",
                Level.INFO,
                f"target {context.target}: not whole-liver",
                {"target": context.target},
                _SRC_WHOLE,
            )
        )
    return out


def check_plan(
    plan: ActivityPlan, context: SafetyContext, limits: SafetyLimits | None = None
) -> tuple[Finding, ...]:
    """Every safety check of a plan, one :class:`Finding` each (module docstring for the table).

    The plan's own ``not_deliverable_reason`` comes first as a ``BLOCK`` finding
    (``plan_not_deliverable``).
    """
    if not isinstance(plan, ActivityPlan):
        raise InputError(f"check_plan needs an ActivityPlan, got {type(plan).__name__}")
    if not isinstance(context, SafetyContext):
        raise InputError(f"check_plan needs a SafetyContext, got {type(context).__name__}")
    limits = limits or SafetyLimits()
    findings: list[Finding] = []
    if plan.not_deliverable_reason is not None:
        findings.append(
            Finding(
                "plan_not_deliverable",
                Level.BLOCK,
                f"plan not deliverable: {plan.not_deliverable_reason}",
                {"model": plan.model.value, "activity_gbq": plan.activity_gbq},
                "; ".join(plan.sources),
            )
        )
    findings += _lung_findings(plan, context, limits)
    findings.append(_liver_finding(plan, context, limits))
    findings += _lsf_findings(plan, context, limits)
    findings.append(_mismatch_finding(plan, context, limits))
    findings += _patient_findings(context, limits)
    for f in findings:
        if f.level is not Level.INFO:
            logger.info("%s: %s", f.level.value.upper(), f.message)
    return tuple(findings)


def is_deliverable(findings: Iterable[Finding]) -> bool:
    """``False`` iff any finding is ``BLOCK``."""
    return not any(f.level is Level.BLOCK for f in findings)
