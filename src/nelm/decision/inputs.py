"""The inputs of the decision rules, each with its value and where it came from.

:func:`inputs_from_case` gathers them from a case manifest (clinical data and treatments), nelm's
quantification of one time point (:class:`~nelm.quant.results.TimePointQuant`) and a Y-90 plan
(:class:`~nelm.y90.plan.Y90Plan`). Every value carries a provenance string in
:attr:`DecisionInputs.sources`: ``"case: clinical.bilirubin_mg_dl"``, ``"measured: time point
'baseline' (2026-01-12)"``, ``"measured: y90 plan (spect LSF)"``, ``"given: <where>"``. A value
that is ``None`` is unknown, and the rules that need it are UNDETERMINED.

Choices, written down:

* **Which measurement.** Of the quantified time points, the latest dated on or before the
  assessment date ``on`` (all of them when ``on`` is not given); its id is in the sources.
* **Assessment date.** ``on`` if given, else the date of the chosen measurement, else the date of
  the case's baseline time point.
* **Prior and planned treatments.** A treatment is *prior* when its calendar date is before the
  assessment date and its notes do not contain the word "planned"; every other treatment is
  *planned*. The cumulative lung dose and the prior whole-liver TARE come from
  :func:`nelm.y90.safety.safety_context_from_case` (the same rule as ``nelm y90 plan``).
* **Largest lesion.** The longest axial (RECIST) diameter over the lesions; the maximum 3-D
  diameter for a lesion without an axial measurement.
* **Inputs the manifest cannot hold** (the surgeon's resectable share, the future liver remnant,
  months of stable disease, the NETPET grade) are only ever ``given`` (``nelm advise --input``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from nelm.case import Case
from nelm.case.model import Treatment
from nelm.case.validation import calendar_date, parse_when
from nelm.case.vocabulary import (
    Differentiation,
    FunctionalSyndrome,
    Grade,
    PortalVeinThrombosis,
    PrimarySite,
    TreatmentType,
)
from nelm.errors import InputError
from nelm.quant.results import TimePointQuant
from nelm.y90.safety import safety_context_from_case

if TYPE_CHECKING:
    from nelm.y90.plan import Y90Plan

__all__ = [
    "GIVEN_ONLY",
    "INPUT_UNITS",
    "NETPET_GRADES",
    "DecisionInputs",
    "decimal_text",
    "format_value",
    "inputs_from_case",
]

logger = logging.getLogger(__name__)

NETPET_GRADES: Final = ("P0", "P1", "P2", "P3", "P4a", "P4b", "P5")
"""NETPET grades (Chan et al., Theranostics 2017;7:1149)."""

GIVEN_ONLY: Final = ("resectable_percent", "flr_percent", "stable_disease_months", "netpet_grade")
"""Inputs the case manifest has no field for: supplied by the team (``nelm advise --input``)."""

INPUT_UNITS: Final[dict[str, str]] = {
    "ki67_percent": "%",
    "bilirubin_mg_dl": "mg/dL",
    "albumin_g_dl": "g/dL",
    "platelets_10e9_l": "x10^9/L",
    "leukocytes_10e9_l": "x10^9/L",
    "granulocytes_10e9_l": "x10^9/L",
    "ldh_u_l": "U/L",
    "ast_u_l": "U/L",
    "creatinine_mg_dl": "mg/dL",
    "egfr_ml_min": "mL/min",
    "age_years": "years",
    "hepatic_tumour_burden_percent": "%",
    "enhancing_tumour_burden_percent": "%",
    "largest_lesion_mm": "mm",
    "lsf_percent": "%",
    "planned_lung_dose_gy": "Gy",
    "prior_lung_dose_gy": "Gy",
    "days_since_last_therapy": "days",
    "days_since_last_systemic_therapy": "days",
    "resectable_percent": "%",
    "flr_percent": "%",
    "stable_disease_months": "months",
}
"""Display units of the numeric inputs (the unit is also the name's suffix)."""

_SYSTEMIC: Final = (TreatmentType.PRRT, TreatmentType.OTHER)
"""Treatment types counted as systemic therapy for the TARE interval (SSA is not counted)."""


def _number(value: float | int | None) -> Decimal | None:
    """The exact decimal a float is written as (``0.6`` -> ``Decimal("0.6")``)."""
    if value is None:
        return None
    return Decimal(value) if isinstance(value, int) else Decimal(repr(float(value)))


class DecisionInputs(BaseModel):
    """Every input of the decision rules; ``None`` means unknown.

    Numbers are exact :class:`~decimal.Decimal` values in the unit of the name.
    ``sources`` maps each known input to its provenance (module docstring).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    # clinical (case manifest)
    grade: Grade | None = None
    ki67_percent: Decimal | None = Field(default=None, ge=0, le=100)
    who_classification: str | None = None
    differentiation: Differentiation | None = None
    primary_site: PrimarySite | None = None
    primary_resected: bool | None = None
    extrahepatic_disease: bool | None = None
    functional_syndrome: FunctionalSyndrome | None = None
    somatostatin_analogue: bool | None = None
    ecog: int | None = Field(default=None, ge=0, le=4)
    bilirubin_mg_dl: Decimal | None = Field(default=None, ge=0)
    albumin_g_dl: Decimal | None = Field(default=None, ge=0)
    inr: Decimal | None = Field(default=None, ge=0)
    platelets_10e9_l: Decimal | None = Field(default=None, ge=0)
    leukocytes_10e9_l: Decimal | None = Field(default=None, ge=0)
    granulocytes_10e9_l: Decimal | None = Field(default=None, ge=0)
    ldh_u_l: Decimal | None = Field(default=None, ge=0)
    ast_u_l: Decimal | None = Field(default=None, ge=0)
    creatinine_mg_dl: Decimal | None = Field(default=None, ge=0)
    egfr_ml_min: Decimal | None = Field(default=None, ge=0)
    ascites: bool | None = None
    portal_vein_thrombosis: PortalVeinThrombosis | None = None
    bilioenteric_anastomosis: bool | None = None
    biliary_stent: bool | None = None
    sphincterotomy: bool | None = None
    age_years: int | None = Field(default=None, ge=0, le=130)
    # treatments (case manifest)
    prior_therapies: tuple[str, ...] = ()
    prior_prrt: bool | None = None
    prior_whole_liver_tare: bool | None = None
    prior_lung_dose_gy: Decimal | None = Field(default=None, ge=0)
    days_since_last_therapy: int | None = Field(default=None, ge=0)
    days_since_last_systemic_therapy: int | None = Field(default=None, ge=0)
    planned_therapies: tuple[str, ...] = ()
    planned_tare_target: str | None = None
    # measured (nelm quantification)
    hepatic_tumour_burden_percent: Decimal | None = Field(default=None, ge=0, le=100)
    enhancing_tumour_burden_percent: Decimal | None = Field(default=None, ge=0, le=100)
    lesion_count: int | None = Field(default=None, ge=0)
    largest_lesion_mm: Decimal | None = Field(default=None, ge=0)
    largest_lesion_id: str | None = None
    distribution: str | None = None
    dominant_lesion_id: str | None = None
    krenning_scores: dict[str, int] | None = None
    # measured (Y-90 plan)
    lsf_percent: Decimal | None = Field(default=None, ge=0, le=100)
    planned_lung_dose_gy: Decimal | None = Field(default=None, ge=0)
    y90_plan_findings: tuple[tuple[str, str, str], ...] | None = None
    """(code, block/warn/info, message) of the primary model's safety checks (nelm.y90.safety)."""
    # given by the team only
    resectable_percent: Decimal | None = Field(default=None, ge=0, le=100)
    flr_percent: Decimal | None = Field(default=None, ge=0, le=100)
    stable_disease_months: Decimal | None = Field(default=None, ge=0)
    netpet_grade: str | None = None

    sources: dict[str, str] = Field(default_factory=dict)
    assessment_date: dt.date | None = None

    def model_post_init(self, context: Any, /) -> None:
        """Check the NETPET grade and the Krenning scores (0-4)."""
        if self.netpet_grade is not None and self.netpet_grade not in NETPET_GRADES:
            raise InputError(f"netpet_grade {self.netpet_grade!r} is not one of {', '.join(NETPET_GRADES)}")
        for lesion, score in (self.krenning_scores or {}).items():
            if not 0 <= score <= 4:
                raise InputError(f"krenning_scores[{lesion!r}] = {score} is not a Krenning score 0-4")

    def value(self, name: str) -> Any:
        """The value of input ``name`` (``None``: unknown)."""
        if name not in type(self).model_fields or name in ("sources", "assessment_date"):
            raise KeyError(f"unknown decision input {name!r}")
        return getattr(self, name)

    def source(self, name: str) -> str:
        """Where input ``name`` came from (``"missing"`` when unknown)."""
        return self.sources.get(name, "missing")

    def text(self, name: str) -> str:
        """The value with its unit and source, e.g. ``"32.0 mm (measured: time point 'baseline')"``."""
        return f"{format_value(self.value(name), INPUT_UNITS.get(name, ''))} ({self.source(name)})"


def decimal_text(value: Decimal) -> str:
    """A decimal for messages: to 2 places, trailing zeros dropped; in full (up to 6 places)
    when 2 places would make a non-round value look round (50.001 is not "50")."""
    exact = value.normalize()
    rounded = value.quantize(Decimal("0.01"))
    if rounded == value:
        return format(exact, "f")
    if rounded == rounded.to_integral_value():
        return format(value.quantize(Decimal("0.000001")).normalize(), "f")
    return format(rounded.normalize(), "f")


def format_value(value: object, unit: str = "") -> str:
    """A value for messages: decimals to at most 2 places, enums by value, lists joined."""
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        text = decimal_text(value)
    elif isinstance(value, tuple | list):
        text = ", ".join(str(v) for v in value) or "none"
    elif isinstance(value, dict):
        text = ", ".join(f"{k} {v}" for k, v in value.items()) or "none"
    else:
        text = str(getattr(value, "value", value))
    if not unit:
        return text
    return f"{text} %" if unit == "%" else f"{text} {unit}"


def _choose_quant(
    quants: Sequence[TimePointQuant], on: dt.date | None
) -> tuple[TimePointQuant | None, dt.date | None]:
    dated = []
    for q in quants:
        when = calendar_date(parse_when(q.date))
        if on is None or when <= on:
            dated.append((when, q))
    if not dated:
        return None, None
    when, chosen = max(dated, key=lambda item: item[0])
    return chosen, when


def _lesion_size(quant: TimePointQuant) -> tuple[Decimal | None, str | None]:
    best: tuple[Decimal, str] | None = None
    for les in quant.lesions:
        size = les.axial.long_mm if les.axial is not None else les.max_3d_diameter_mm
        d = _number(size)
        if d is not None and (best is None or d > best[0]):
            best = (d, les.lesion_id)
    return (None, None) if best is None else best


def _krenning(quant: TimePointQuant) -> dict[str, int]:
    """Krenning-type score per lesion of a quantified time point with PET."""
    return {
        les.lesion_id: les.pet.krenning_score
        for les in quant.lesions
        if les.pet is not None and les.pet.krenning_score is not None
    }


def _measured(quant: TimePointQuant, label: str) -> tuple[dict[str, Any], dict[str, str]]:
    p = quant.patient
    values: dict[str, Any] = {
        "hepatic_tumour_burden_percent": _number(p.hepatic_tumour_burden_percent),
        "enhancing_tumour_burden_percent": _number(p.enhancing_tumour_burden_percent),
        "lesion_count": p.lesion_count,
        "distribution": p.distribution if p.lesion_count else None,
        "dominant_lesion_id": p.dominant_lesion_id,
    }
    values["largest_lesion_mm"], values["largest_lesion_id"] = _lesion_size(quant)
    values["krenning_scores"] = _krenning(quant) or None
    values = {k: v for k, v in values.items() if v is not None}
    return values, {k: label for k in values}


def _planned_y90(plan: Y90Plan) -> tuple[dict[str, Any], dict[str, str]]:
    if not plan.plans:
        return {}, {}
    primary = plan.plans[0]
    model = primary.model.value
    label = f"measured: y90 plan ({primary.lung_shunt.method.value} LSF, {model} model)"
    values: dict[str, Any] = {
        "lsf_percent": Decimal(repr(float(primary.lung_shunt.fraction))) * 100,
        "planned_lung_dose_gy": _number(primary.doses.lung_gy),
        "y90_plan_findings": tuple((f.code, f.level.value, f.message) for f in plan.findings.get(model, ())),
    }
    return values, {k: label for k in values}


def _treatments(case: Case, on: dt.date) -> tuple[dict[str, Any], dict[str, str]]:
    prior: list[Treatment] = []
    planned: list[Treatment] = []
    for t in case.treatments:
        is_prior = calendar_date(t.date) < on and "planned" not in t.notes.lower()
        (prior if is_prior else planned).append(t)

    def describe(t: Treatment) -> str:
        target = f" {t.target}" if t.target else ""
        return f"{t.type.value} {calendar_date(t.date).isoformat()}{target}"

    context = safety_context_from_case(case, before=on)
    values: dict[str, Any] = {
        "prior_therapies": tuple(describe(t) for t in prior),
        "prior_prrt": any(t.type is TreatmentType.PRRT for t in prior),
        "prior_whole_liver_tare": context.prior_whole_liver_treatment,
        "prior_lung_dose_gy": None
        if context.prior_tare_without_lung_dose or context.prior_lung_dose_gy is None
        else _number(context.prior_lung_dose_gy),
        "planned_therapies": tuple(t.type.value for t in planned),
    }
    interval = [t for t in prior if t.type is not TreatmentType.SSA]
    if interval:
        values["days_since_last_therapy"] = min((on - calendar_date(t.date)).days for t in interval)
    systemic = [t for t in prior if t.type in _SYSTEMIC]
    if systemic:
        values["days_since_last_systemic_therapy"] = min((on - calendar_date(t.date)).days for t in systemic)
    tare = [t for t in planned if t.type is TreatmentType.TARE and t.target]
    if tare:
        values["planned_tare_target"] = tare[0].target
    label = f"case: treatments before {on.isoformat()}"
    sources = {k: label for k in values if values[k] is not None}
    for key in ("planned_therapies", "planned_tare_target"):
        if key in values:
            sources[key] = f"case: treatments on or after {on.isoformat()} or noted 'planned'"
    return {k: v for k, v in values.items() if v is not None}, sources


def inputs_from_case(
    case: Case,
    quants: Sequence[TimePointQuant] | None = None,
    y90_plan: Y90Plan | None = None,
    *,
    on: dt.date | None = None,
    given: Mapping[str, object] | None = None,
    given_source: str = "given",
) -> DecisionInputs:
    """Gather the decision inputs of a case (choices in the module docstring).

    Parameters
    ----------
    case:
        The case manifest.
    quants:
        nelm's quantification of one or more time points; the latest on or before ``on`` is used.
    y90_plan:
        The Y-90 plan (its primary model's LSF, lung dose and safety findings), or ``None``.
    on:
        The assessment date (default: the measurement's date, else the baseline's).
    given:
        Inputs supplied by the team (e.g. ``{"resectable_percent": 80}``); they override the
        case and the measurements and are marked ``given``.
    given_source:
        Provenance label of ``given`` (e.g. ``"given: command line"``).

    Raises
    ------
    InputError
        A ``given`` name that is not an input, or a value that does not fit it.
    """
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    quant, quant_date = _choose_quant(quants or (), on)
    assessment = on or quant_date or calendar_date(case.baseline.date)
    for name in type(case.clinical).model_fields:
        v = getattr(case.clinical, name)
        if v is not None:
            values[name] = _number(v) if isinstance(v, float) and name != "ecog" else v
            sources[name] = f"case: clinical.{name}"
    birth = case.patient.birth_date
    if birth is not None:
        years = assessment.year - birth.year - ((assessment.month, assessment.day) < (birth.month, birth.day))
        values["age_years"] = years
        sources["age_years"] = f"case: patient.birth_date at {assessment.isoformat()}"
    treated, treated_sources = _treatments(case, assessment)
    values.update(treated)
    sources.update(treated_sources)
    if quant is not None and quant_date is not None:
        measured, measured_sources = _measured(
            quant, f"measured: time point {quant.time_point!r} ({quant_date.isoformat()})"
        )
        values.update(measured)
        sources.update(measured_sources)
    if quant is not None and "krenning_scores" not in values:
        # SSTR uptake: the latest time point with a PET on or before the assessment (a CT-only
        # follow-up does not erase the baseline's receptor status)
        with_pet = [q for q in quants or () if any(les.pet is not None for les in q.lesions)]
        pet_quant, pet_date = _choose_quant(with_pet, assessment)
        if pet_quant is not None and pet_date is not None:
            scores = _krenning(pet_quant)
            if scores:
                values["krenning_scores"] = scores
                sources["krenning_scores"] = (
                    f"measured: time point {pet_quant.time_point!r} ({pet_date.isoformat()}), "
                    "the latest with SSTR PET"
                )
    if y90_plan is not None:
        planned, planned_sources = _planned_y90(y90_plan)
        values.update(planned)
        sources.update(planned_sources)
    for name, raw in (given or {}).items():
        if name not in DecisionInputs.model_fields or name in ("sources", "assessment_date"):
            known = ", ".join(
                n for n in DecisionInputs.model_fields if n not in ("sources", "assessment_date")
            )
            raise InputError(f"{given_source}: {name!r} is not a decision input; known: {known}")
        values[name] = _number(raw) if isinstance(raw, float) else raw
        sources[name] = given_source
    try:
        return DecisionInputs(**values, sources=sources, assessment_date=assessment)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']} (got {e.get('input')!r})" for e in exc.errors()
        )
        raise InputError(f"decision inputs: {problems}") from None
