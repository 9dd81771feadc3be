"""Y-90 activity planning: BSA (resin), single-compartment MIRD (glass), partition models.

Formulas and sources: ``reference/y90-dosimetry.md`` §2.2-§2.4 and §6. With the dose coefficient
``K`` (Gy·kg/GBq, :class:`~nelm.y90.constants.Y90Constants`), masses ``M`` in kg (volume ×
``liver_density_g_per_ml`` / 1000), the lung shunt fraction ``LSF`` and the tumour-to-normal
concentration ratio ``TNR``::

    A_liver = A · (1 − LSF)
    D_N = K · A_liver / (TNR · M_T + M_N)        D_T = TNR · D_N
    D_perfused = K · A_liver / M_perfused         D_L = K · A · LSF / M_L

``A`` is the activity **injected** (what reaches the patient). The vial activity is kept apart:
``A_vial = A / (1 − R)`` with ``R`` the fraction left in the vial and delivery system (Radulator
residual tests; Hoang et al. JVIR: median 0.61 % glass, 3.01 % resin). Doses always use the
injected activity. Solving for ``A`` divides by ``(1 − LSF)`` — Radulator once multiplied by it
(commit f9acfa04), and DAVYR's MIRD tab ignores it (§6 items 1-3).

Every plan is an :class:`ActivityPlan` that records the model, the prescription, the formula,
the constants, its sources and the doses the activity gives. Clinical checks (lung limits,
LSF policy, bilirubin …) are in :mod:`nelm.y90.safety`.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, NamedTuple

from nelm.errors import ConfigError, InputError
from nelm.imaging.body_size import body_surface_area_m2
from nelm.units import GBQ_PER_MCI
from nelm.y90.checks import decimal_fraction, finite_number, positive
from nelm.y90.checks import residual_fraction as check_residual
from nelm.y90.constants import DEFAULT_CONSTANTS, Y90Constants
from nelm.y90.lsf import LsfMethod, LungShunt, percent_text

__all__ = [
    "MIRD_PRESETS",
    "MIRD_PRESET_SOURCES",
    "PERFUSED_VOLUME_TOLERANCE",
    "ActivityPlan",
    "BsaForm",
    "CompartmentDoses",
    "Compartments",
    "LsfBand",
    "PartitionLimits",
    "PartitionTarget",
    "PlanningModel",
    "ResinLsfBands",
    "doses_for_activity",
    "plan_bsa",
    "plan_mird",
    "plan_mird_preset",
    "plan_partition",
    "plan_partition_activity_ratio",
]

logger = logging.getLogger(__name__)

#: Relative tolerance by which the perfused volume may exceed the liver volume (0.5 %): the two
#: are often segmented on different grids (perfused territory on the MAA SPECT, liver on CT),
#: whose rounding alone differs by a few tenths of a percent. nelm's choice.
PERFUSED_VOLUME_TOLERANCE: Final[float] = 0.005

_SRC_PARTITION = (
    "Ho et al., Eur J Nucl Med 1996;23:947 (partition model); Gulec et al., J Nucl Med 2006;47:1209"
)
_SRC_MIRD = "TheraSphere IFU single-compartment model; Radulator tests (shunt denominator, residual)"
_SRC_BSA = "SIR-Spheres BSA method (van Roekel, PhD thesis ch.2; Kao et al., Ann Nucl Med 2011)"
_SRC_DUBOIS = "DuBois & DuBois, Arch Intern Med 1916;17:863 (BSA used with the SIR-Spheres method)"
_SRC_DAVYR = "DAVYR bsaCtrl.js (treated-fraction BSA form)"
_SRC_IFU_LOBAR = "SIR-Spheres IFU lobar form A_whole × V_lobe/V_liver [B, y90-dosimetry.md §2.3]"
_SRC_RESIN_BANDS = "SIR-Spheres IFU LSF reductions [B]; van Roekel, PhD thesis p.41"
_SRC_KAO = "Kao et al., Cardiovasc Intervent Radiol 2013, doi 10.1007/s00270-013-0783-z"
_SRC_LIMITS = "lung 30 Gy per treatment (van Roekel thesis; Radulator); normal liver 70 Gy (DAVYR; §2.4)"


class PlanningModel(StrEnum):
    """Activity planning models."""

    BSA = "bsa"
    MIRD = "mird"
    PARTITION = "partition"
    PARTITION_ACTIVITY_RATIO = "partition_activity_ratio"
    VOXEL = "voxel"


class BsaForm(StrEnum):
    """Forms of the resin BSA method (y90-dosimetry.md §2.3); they differ for lobar treatment."""

    WHOLE_LIVER = "whole_liver"
    """``A = (BSA − 0.2) + V_T / V_liver`` (perfused territory = whole liver)."""
    TREATED_FRACTION = "treated_fraction"
    """DAVYR: ``A = (BSA − 0.2) · V_perfused / V_liver + V_T / V_liver``."""
    IFU_SCALED = "ifu_scaled"
    """IFU: ``A = A_whole × V_perfused / V_liver``."""


class PartitionTarget(StrEnum):
    """What a partition-model plan prescribes."""

    TUMOUR = "tumour"
    NORMAL_LIVER = "normal_liver"
    MAX_SAFE = "max_safe"
    """The largest activity within :class:`PartitionLimits` (lung and normal liver)."""


def _dose(value: object, name: str = "dose_gy") -> float:
    d = positive(value, name)
    if d > 1000.0:
        raise InputError(
            f"{name} = {value!r} Gy is implausible for Y-90 (above 1000 Gy): was it given in cGy?"
        )
    return d


# -- compartments and forward model -----------------------------------------------------------
@dataclass(frozen=True)
class Compartments:
    """The volumes and lung mass a plan works on.

    Parameters
    ----------
    liver_volume_ml:
        Whole liver including tumour, > 0.
    perfused_volume_ml:
        The territory the injection perfuses (whole liver, lobe, segment), ``0 < V <= liver``
        (up to :data:`PERFUSED_VOLUME_TOLERANCE` above it, for segmentation rounding).
    tumour_volume_ml:
        Tumour inside the perfused territory, ``0 <= V < perfused``.
    lung_mass_kg:
        Lung mass (:func:`nelm.y90.lsf.lung_mass`), > 0.

    Masses use ``constants.liver_density_g_per_ml`` for liver and tumour alike.

    Raises
    ------
    InputError
        A non-finite or negative value, or volumes out of order; the message names the field.
    """

    liver_volume_ml: float
    perfused_volume_ml: float
    tumour_volume_ml: float
    lung_mass_kg: float

    def __post_init__(self) -> None:
        liver = positive(self.liver_volume_ml, "liver_volume_ml")
        perfused = positive(self.perfused_volume_ml, "perfused_volume_ml")
        tumour = positive(self.tumour_volume_ml, "tumour_volume_ml", allow_zero=True)
        lung = positive(self.lung_mass_kg, "lung_mass_kg")
        if perfused > liver * (1.0 + PERFUSED_VOLUME_TOLERANCE):
            raise InputError(
                f"perfused_volume_ml {perfused:.6g} mL exceeds liver_volume_ml {liver:.6g} mL by more than "
                f"{PERFUSED_VOLUME_TOLERANCE:.1%}; the perfused territory lies inside the liver: check both "
                "segmentations"
            )
        if tumour >= perfused:
            raise InputError(
                f"tumour_volume_ml {tumour:.6g} mL must be smaller than perfused_volume_ml {perfused:.6g} mL "
                "(the tumour inside the perfused territory; some normal liver is always perfused)"
            )
        for name, value in (
            ("liver_volume_ml", liver),
            ("perfused_volume_ml", perfused),
            ("tumour_volume_ml", tumour),
            ("lung_mass_kg", lung),
        ):
            object.__setattr__(self, name, value)

    @property
    def normal_perfused_volume_ml(self) -> float:
        """Perfused volume minus tumour (mL)."""
        return self.perfused_volume_ml - self.tumour_volume_ml

    def mass_kg(self, volume_ml: float, constants: Y90Constants = DEFAULT_CONSTANTS) -> float:
        """Mass of a liver/tumour volume (kg)."""
        return volume_ml * constants.liver_density_g_per_ml / 1000.0

    def to_dict(self, constants: Y90Constants = DEFAULT_CONSTANTS) -> dict[str, Any]:
        """JSON-ready dict with volumes and masses."""
        return {
            "liver_volume_ml": self.liver_volume_ml,
            "perfused_volume_ml": self.perfused_volume_ml,
            "tumour_volume_ml": self.tumour_volume_ml,
            "normal_perfused_volume_ml": self.normal_perfused_volume_ml,
            "perfused_mass_kg": self.mass_kg(self.perfused_volume_ml, constants),
            "tumour_mass_kg": self.mass_kg(self.tumour_volume_ml, constants),
            "normal_perfused_mass_kg": self.mass_kg(self.normal_perfused_volume_ml, constants),
            "lung_mass_kg": self.lung_mass_kg,
        }


@dataclass(frozen=True)
class CompartmentDoses:
    """Mean absorbed doses (Gy) of one activity.

    ``tumour_gy`` is ``None`` when there is no tumour; ``normal_liver_gy`` is the normal liver
    inside the perfused territory; ``perfused_gy`` the mean over the whole perfused volume.
    """

    tumour_gy: float | None
    normal_liver_gy: float
    perfused_gy: float
    lung_gy: float

    def __post_init__(self) -> None:
        for name in ("tumour_gy", "normal_liver_gy", "perfused_gy", "lung_gy"):
            value = getattr(self, name)
            if value is None and name == "tumour_gy":
                continue
            object.__setattr__(self, name, positive(value, name, allow_zero=True))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "tumour_gy": self.tumour_gy,
            "normal_liver_gy": self.normal_liver_gy,
            "perfused_gy": self.perfused_gy,
            "lung_gy": self.lung_gy,
        }


def _lsf_value(lsf: float | LungShunt) -> float:
    if isinstance(lsf, LungShunt):
        return lsf.fraction
    return LungShunt(fraction=lsf, method=LsfMethod.GIVEN).fraction


def _tnr(tnr: object) -> float:
    t = finite_number(tnr, "tnr")
    if t <= 0:
        raise InputError(f"tnr (tumour-to-normal concentration ratio) must be > 0, got {tnr!r}")
    return t


def doses_for_activity(
    activity_gbq: float,
    compartments: Compartments,
    lsf: float | LungShunt,
    *,
    tnr: float | None = None,
    constants: Y90Constants = DEFAULT_CONSTANTS,
) -> CompartmentDoses:
    """The forward partition model: mean doses of an injected activity (y90-dosimetry.md §2.4).

    ``A_liver = A(1 − LSF)``; ``D_N = K·A_liver / (TNR·M_T + M_N)``; ``D_T = TNR·D_N``;
    ``D_perfused = K·A_liver / M_perfused``; ``D_L = K·A·LSF / M_L`` (lung dose from the
    **total** injected activity). ``tnr`` ``None`` (or 1) is uniform uptake over the perfused
    territory.

    Raises
    ------
    InputError
        Non-positive activity, an invalid LSF, or ``tnr <= 0``.
    """
    a = positive(activity_gbq, "activity_gbq")
    f = _lsf_value(lsf)
    t = 1.0 if tnr is None else _tnr(tnr)
    k = constants.dose_coefficient_gy_kg_per_gbq
    m_t = compartments.mass_kg(compartments.tumour_volume_ml, constants)
    m_n = compartments.mass_kg(compartments.normal_perfused_volume_ml, constants)
    m_p = compartments.mass_kg(compartments.perfused_volume_ml, constants)
    a_liver = a * (1.0 - f)
    d_n = k * a_liver / (t * m_t + m_n)
    return CompartmentDoses(
        tumour_gy=t * d_n if compartments.tumour_volume_ml > 0 else None,
        normal_liver_gy=d_n,
        perfused_gy=k * a_liver / m_p,
        lung_gy=k * a * f / compartments.lung_mass_kg,
    )


# -- the plan ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ActivityPlan:
    """A planned Y-90 activity with everything needed to check and report it.

    Parameters
    ----------
    model:
        The planning model.
    activity_gbq:
        Activity to be injected at administration (GBq), > 0.
    residual_fraction:
        Fraction expected to stay in the vial and delivery system, ``[0, 1)``.
    lung_shunt:
        The LSF used.
    compartments:
        Volumes and lung mass.
    tnr:
        Tumour-to-normal concentration ratio used for the doses (``None``: uniform).
    doses:
        Mean doses of ``activity_gbq`` (:func:`doses_for_activity`).
    constants:
        The constants used.
    prescription:
        What was prescribed, e.g. ``{"target": "tumour", "dose_gy": 205.0}``.
    formula:
        The equation, in symbols.
    sources, notes:
        Citations; remarks a reader must see.
    not_deliverable_reason:
        Why the plan must not be delivered as it is (e.g. resin LSF above 20 %); the activity is
        still computed for information, never clipped.

    Attributes
    ----------
    vial_activity_gbq:
        ``activity_gbq / (1 − residual_fraction)``: what must be in the vial at administration.

    Raises
    ------
    InputError
        Invalid activity or residual fraction, or fields of the wrong type.
    """

    model: PlanningModel
    activity_gbq: float
    residual_fraction: float
    lung_shunt: LungShunt
    compartments: Compartments
    tnr: float | None
    doses: CompartmentDoses
    constants: Y90Constants
    prescription: dict[str, Any]
    formula: str
    sources: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    not_deliverable_reason: str | None = None
    vial_activity_gbq: float = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "model", PlanningModel(self.model))
        activity = positive(self.activity_gbq, "activity_gbq")
        residual = check_residual(self.residual_fraction)
        object.__setattr__(self, "activity_gbq", activity)
        object.__setattr__(self, "residual_fraction", residual)
        object.__setattr__(self, "vial_activity_gbq", activity / (1.0 - residual))
        for name, kind in (
            ("lung_shunt", LungShunt),
            ("compartments", Compartments),
            ("doses", CompartmentDoses),
            ("constants", Y90Constants),
        ):
            if not isinstance(getattr(self, name), kind):
                raise InputError(f"ActivityPlan.{name} must be a {kind.__name__}")
        if self.tnr is not None:
            object.__setattr__(self, "tnr", _tnr(self.tnr))
        if not self.formula:
            raise InputError("ActivityPlan.formula must state the equation used")
        if self.not_deliverable_reason is not None and not self.not_deliverable_reason.strip():
            raise InputError("ActivityPlan.not_deliverable_reason must be None or say why")
        object.__setattr__(self, "prescription", dict(self.prescription))
        object.__setattr__(self, "sources", tuple(self.sources))
        object.__setattr__(self, "notes", tuple(self.notes))

    @property
    def activity_mci(self) -> float:
        """Injected activity in mCi (1 mCi = 0.037 GBq, :data:`nelm.units.GBQ_PER_MCI`)."""
        return self.activity_gbq / GBQ_PER_MCI

    @property
    def vial_activity_mci(self) -> float:
        """Vial activity in mCi."""
        return self.vial_activity_gbq / GBQ_PER_MCI

    @property
    def deliverable(self) -> bool:
        """Whether the plan itself raised no reason not to deliver it (see also safety checks)."""
        return self.not_deliverable_reason is None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: units in the keys, enums as values."""
        return {
            "model": self.model.value,
            "activity_gbq": self.activity_gbq,
            "activity_mci": self.activity_mci,
            "vial_activity_gbq": self.vial_activity_gbq,
            "vial_activity_mci": self.vial_activity_mci,
            "residual_fraction": self.residual_fraction,
            "lung_shunt": self.lung_shunt.to_dict(),
            "compartments": self.compartments.to_dict(self.constants),
            "tnr": self.tnr,
            "doses": self.doses.to_dict(),
            "constants": self.constants.as_dict(),
            "prescription": {
                k: (v.value if isinstance(v, StrEnum) else v) for k, v in self.prescription.items()
            },
            "formula": self.formula,
            "sources": list(self.sources),
            "notes": list(self.notes),
            "deliverable": self.deliverable,
            "not_deliverable_reason": self.not_deliverable_reason,
        }


def _plan(
    model: PlanningModel,
    activity_gbq: float,
    *,
    compartments: Compartments,
    lung_shunt: LungShunt,
    tnr: float | None,
    residual_fraction: float,
    constants: Y90Constants,
    prescription: dict[str, Any],
    formula: str,
    sources: tuple[str, ...],
    notes: tuple[str, ...] = (),
    not_deliverable_reason: str | None = None,
) -> ActivityPlan:
    doses = doses_for_activity(activity_gbq, compartments, lung_shunt, tnr=tnr, constants=constants)
    plan = ActivityPlan(
        model=model,
        activity_gbq=activity_gbq,
        residual_fraction=residual_fraction,
        lung_shunt=lung_shunt,
        compartments=compartments,
        tnr=tnr,
        doses=doses,
        constants=constants,
        prescription=prescription,
        formula=formula,
        sources=sources,
        notes=notes + tuple(lung_shunt.warnings),
        not_deliverable_reason=not_deliverable_reason,
    )
    logger.info(
        "%s plan: %.4g GBq injected (%.4g GBq in the vial)", model.value, activity_gbq, plan.vial_activity_gbq
    )
    return plan


# -- resin BSA --------------------------------------------------------------------------------
class LsfBand(NamedTuple):
    """Where an LSF falls in :class:`ResinLsfBands`."""

    name: str
    factor: float
    deliverable: bool
    description: str


@dataclass(frozen=True)
class ResinLsfBands:
    """Resin (SIR-Spheres) activity reduction by LSF [B: SIR-Spheres IFU; van Roekel thesis p.41].

    Bands (compared exactly, :func:`~nelm.y90.lsf.decimal_fraction`)::

        LSF <  reduce_from                           factor 1
        reduce_from <= LSF < reduce_more_from        first_factor   (default 10-15 %: × 0.8)
        reduce_more_from <= LSF <= not_deliverable_above   second_factor (15-20 %: × 0.6)
        LSF >  not_deliverable_above                 not deliverable (> 20 %)

    Lower bounds are inclusive (an LSF of exactly 10 % is reduced, the cautious reading of the
    IFU's "10-15 %"); the 20 % upper bound is inclusive (only "> 20 %" is not treated). van
    Roekel's wording ("> 10 %/15 %/20 %") would leave exactly 10 % and 15 % in the lower band.
    Sangro's proposal to withhold from 15 % is a warning in :mod:`nelm.y90.safety`.

    Raises
    ------
    ConfigError
        Thresholds not increasing within (0, 1) or factors not ``0 < second <= first <= 1``.
    """

    reduce_from: float = 0.10
    reduce_more_from: float = 0.15
    not_deliverable_above: float = 0.20
    first_factor: float = 0.8
    second_factor: float = 0.6
    source: str = _SRC_RESIN_BANDS

    def __post_init__(self) -> None:
        values = {}
        for name in (
            "reduce_from",
            "reduce_more_from",
            "not_deliverable_above",
            "first_factor",
            "second_factor",
        ):
            values[name] = finite_number(getattr(self, name), f"ResinLsfBands.{name}", error=ConfigError)
            object.__setattr__(self, name, values[name])
        if not 0 < values["reduce_from"] <= values["reduce_more_from"] <= values["not_deliverable_above"] < 1:
            raise ConfigError(
                "ResinLsfBands: need 0 < reduce_from <= reduce_more_from <= not_deliverable_above < 1, got "
                f"{values['reduce_from']}, {values['reduce_more_from']}, {values['not_deliverable_above']}"
            )
        if not 0 < values["second_factor"] <= values["first_factor"] <= 1:
            raise ConfigError(
                "ResinLsfBands: need 0 < second_factor <= first_factor <= 1, got "
                f"{values['first_factor']}, {values['second_factor']}"
            )

    def band(self, lsf: float) -> LsfBand:
        """The band of an LSF (exact decimal comparison; boundaries as in the class docstring)."""
        x = decimal_fraction(_lsf_value(lsf))
        edges = (self.reduce_from, self.reduce_more_from, self.not_deliverable_above)
        pct = f"{percent_text(lsf, *edges)} %"
        low, mid, high = (percent_text(edge) for edge in edges)
        if x > decimal_fraction(self.not_deliverable_above):
            return LsfBand(
                "not_deliverable",
                1.0,
                False,
                f"resin LSF {pct} is above {high} %: do not treat",
            )
        if x >= decimal_fraction(self.reduce_more_from):
            return LsfBand(
                "second_reduction",
                self.second_factor,
                True,
                f"resin LSF {pct} is {mid}-{high} %: activity × {self.second_factor:g}",
            )
        if x >= decimal_fraction(self.reduce_from):
            return LsfBand(
                "first_reduction",
                self.first_factor,
                True,
                f"resin LSF {pct} is {low}-{mid} %: activity × {self.first_factor:g}",
            )
        return LsfBand("full", 1.0, True, f"resin LSF {pct} is below {low} %: no reduction")


def plan_bsa(
    *,
    weight_kg: float,
    height_cm: float,
    compartments: Compartments,
    lung_shunt: LungShunt,
    form: BsaForm = BsaForm.WHOLE_LIVER,
    bands: ResinLsfBands | None = None,
    tnr: float | None = None,
    residual_fraction: float = 0.0,
    constants: Y90Constants = DEFAULT_CONSTANTS,
) -> ActivityPlan:
    """Resin BSA method with the DuBois body surface area (y90-dosimetry.md §2.3, §6 item 6).

    ``BSA = 0.007184 · W^0.425 · H_cm^0.725`` (:func:`nelm.imaging.body_size.body_surface_area_m2`;
    not Mosteller). The activity before the LSF reduction:

    * ``WHOLE_LIVER``: ``A = (BSA − 0.2) + V_T / V_liver`` (``V_T + V_N`` = the whole liver);
      requires the perfused territory to be the whole liver;
    * ``TREATED_FRACTION`` (DAVYR): ``A = (BSA − 0.2) · V_perfused / V_liver + V_T / V_liver``;
    * ``IFU_SCALED`` (IFU [B]): ``A = [(BSA − 0.2) + V_T / V_liver] · V_perfused / V_liver``;

    then × the :class:`ResinLsfBands` factor. Above the last band the unreduced activity is
    returned for information with ``not_deliverable_reason`` set. The BSA method gives the
    injected activity; doses are reported with :func:`doses_for_activity` (uniform unless
    ``tnr`` is given).

    Raises
    ------
    InputError
        Implausible weight or height (height in metres), ``WHOLE_LIVER`` for a partial territory,
        a non-positive activity, an invalid residual fraction.
    """
    weight = positive(weight_kg, "weight_kg")
    height = positive(height_cm, "height_cm")
    if not 20.0 <= weight <= 300.0:
        raise InputError(f"weight_kg = {weight_kg!r} is outside 20-300 kg")
    if not 50.0 <= height <= 250.0:
        hint = ": it looks like metres" if height < 3 else ""
        raise InputError(f"height_cm = {height_cm!r} is outside 50-250 cm{hint}")
    residual = check_residual(residual_fraction)
    form = BsaForm(form)
    bands = bands or ResinLsfBands()
    c = compartments
    if form is BsaForm.WHOLE_LIVER and c.perfused_volume_ml < c.liver_volume_ml * (
        1 - PERFUSED_VOLUME_TOLERANCE
    ):
        raise InputError(
            "BSA form 'whole_liver' needs the perfused territory to be the whole liver, but "
            f"perfused_volume_ml {c.perfused_volume_ml:.6g} mL is less than liver_volume_ml "
            f"{c.liver_volume_ml:.6g} mL; use form 'treated_fraction' or 'ifu_scaled' for a lobar or "
            "segmental treatment"
        )
    bsa = body_surface_area_m2(weight, height / 100.0)
    involvement = c.tumour_volume_ml / c.liver_volume_ml
    treated = c.perfused_volume_ml / c.liver_volume_ml
    if form is BsaForm.WHOLE_LIVER:
        base, formula = (bsa - 0.2) + involvement, "A = (BSA − 0.2) + V_T/V_liver"
    elif form is BsaForm.TREATED_FRACTION:
        base = (bsa - 0.2) * treated + involvement
        formula = "A = (BSA − 0.2)·V_perfused/V_liver + V_T/V_liver"
    else:
        base = ((bsa - 0.2) + involvement) * treated
        formula = "A = [(BSA − 0.2) + V_T/V_liver]·V_perfused/V_liver"
    if not base > 0:
        raise InputError(
            f"the BSA method gives a non-positive activity ({base:.4g} GBq) for BSA {bsa:.3f} m²"
        )
    band = bands.band(lung_shunt.fraction)
    form_source = {BsaForm.TREATED_FRACTION: (_SRC_DAVYR,), BsaForm.IFU_SCALED: (_SRC_IFU_LOBAR,)}.get(
        form, ()
    )
    activity = base * band.factor
    formula += f"; × {band.factor:g} for LSF (resin bands); BSA = 0.007184·W^0.425·H_cm^0.725"
    notes = [f"BSA {bsa:.4f} m² (DuBois); activity before LSF reduction {base:.4g} GBq", band.description]
    if not band.deliverable:
        notes.append("activity shown unreduced, for information only")
    return _plan(
        PlanningModel.BSA,
        activity,
        compartments=c,
        lung_shunt=lung_shunt,
        tnr=tnr,
        residual_fraction=residual,
        constants=constants,
        prescription={
            "form": form.value,
            "bsa_m2": bsa,
            "weight_kg": weight,
            "height_cm": height,
            "lsf_band": band.name,
            "lsf_factor": band.factor,
        },
        formula=formula,
        sources=(_SRC_BSA, _SRC_DUBOIS, _SRC_RESIN_BANDS, *form_source),
        notes=tuple(notes),
        not_deliverable_reason=None if band.deliverable else band.description,
    )


# -- glass single compartment -----------------------------------------------------------------
#: Mean perfused-volume doses (Gy) of the single-compartment model. "standard": 120 Gy, the DAVYR
#: default within the TheraSphere IFU's 80-150 Gy; "radiation_segmentectomy": >= 190 Gy (Radulator
#: and DAVYR presets; y90-dosimetry.md §2.4).
MIRD_PRESETS: Final[dict[str, float]] = {"standard": 120.0, "radiation_segmentectomy": 190.0}
MIRD_PRESET_SOURCES: Final[dict[str, str]] = {
    "standard": "DAVYR davyrApp.js default 120 Gy (TheraSphere IFU 80-150 Gy)",
    "radiation_segmentectomy": "Radulator and DAVYR radiation-segmentectomy preset 190 Gy",
}


def plan_mird(
    *,
    compartments: Compartments,
    lung_shunt: LungShunt,
    dose_gy: float,
    residual_fraction: float = 0.0,
    constants: Y90Constants = DEFAULT_CONSTANTS,
) -> ActivityPlan:
    """Glass single-compartment ("MIRD") plan: ``A = D · M_perfused / (K · (1 − LSF))`` (§2.2).

    ``D`` is the mean dose to the perfused territory; the LSF divides (the lung share never
    reaches the liver). The vial activity adds the residual: ``A / (1 − R)``.
    """
    d = _dose(dose_gy)
    residual = check_residual(residual_fraction)
    m = compartments.mass_kg(compartments.perfused_volume_ml, constants)
    activity = d * m / (constants.dose_coefficient_gy_kg_per_gbq * (1.0 - lung_shunt.fraction))
    return _plan(
        PlanningModel.MIRD,
        activity,
        compartments=compartments,
        lung_shunt=lung_shunt,
        tnr=None,
        residual_fraction=residual,
        constants=constants,
        prescription={"target": "perfused", "dose_gy": d},
        formula="A = D·M_perfused/(K·(1 − LSF)); A_vial = A/(1 − R)",
        sources=(_SRC_MIRD,),
    )


def plan_mird_preset(
    preset: str,
    *,
    compartments: Compartments,
    lung_shunt: LungShunt,
    residual_fraction: float = 0.0,
    constants: Y90Constants = DEFAULT_CONSTANTS,
) -> ActivityPlan:
    """:func:`plan_mird` with a dose from :data:`MIRD_PRESETS` (name recorded in the plan).

    Raises
    ------
    ConfigError
        Unknown preset name (the message lists the known ones).
    """
    if preset not in MIRD_PRESETS:
        raise ConfigError(f"unknown MIRD preset {preset!r}; known: {', '.join(MIRD_PRESETS)}")
    plan = plan_mird(
        compartments=compartments,
        lung_shunt=lung_shunt,
        dose_gy=MIRD_PRESETS[preset],
        residual_fraction=residual_fraction,
        constants=constants,
    )
    prescription = {**plan.prescription, "preset": preset}
    return dataclasses.replace(
        plan, prescription=prescription, sources=(*plan.sources, MIRD_PRESET_SOURCES[preset])
    )


# -- partition models -------------------------------------------------------------------------
@dataclass(frozen=True)
class PartitionLimits:
    """Dose limits of :attr:`PartitionTarget.MAX_SAFE` (Gy): lung 30 per treatment, normal liver 70
    (non-cirrhotic; use 40 for cirrhosis). Sources: y90-dosimetry.md §2.4 (van Roekel thesis,
    Radulator: lung; DAVYR: normal liver). The full clinical checks are in :mod:`nelm.y90.safety`.
    """

    lung_gy: float = 30.0
    normal_liver_gy: float = 70.0

    def __post_init__(self) -> None:
        for name in ("lung_gy", "normal_liver_gy"):
            value = finite_number(getattr(self, name), f"PartitionLimits.{name}", error=ConfigError)
            if value <= 0:
                raise ConfigError(f"PartitionLimits.{name} must be > 0 Gy, got {value}")
            object.__setattr__(self, name, value)


def plan_partition(
    *,
    compartments: Compartments,
    lung_shunt: LungShunt,
    tnr: float,
    prescribe: PartitionTarget,
    dose_gy: float | None = None,
    limits: PartitionLimits | None = None,
    residual_fraction: float = 0.0,
    constants: Y90Constants = DEFAULT_CONSTANTS,
) -> ActivityPlan:
    """Partition-model plan (Ho 1996; inverse formulas of y90-dosimetry.md §2.4).

    * ``TUMOUR``: ``A = D_T · (TNR·M_T + M_N) / (TNR · K · (1 − LSF))``;
    * ``NORMAL_LIVER``: ``A = D_N · (TNR·M_T + M_N) / (K · (1 − LSF))``;
    * ``MAX_SAFE``: the smaller of the lung-limited ``D_L,max · M_L / (K · LSF)`` and the normal-
      liver-limited activity; the plan's prescription says which bound it (``"lung"``,
      ``"normal_liver"`` or ``"both"``). ``dose_gy`` must be left out. ``limits`` (default
      :class:`PartitionLimits`) is used by this target only; the plan's doses never exceed it.

    Raises
    ------
    InputError
        ``tnr <= 0``, a missing or non-positive dose, a dose with ``MAX_SAFE``, or ``TUMOUR``
        without tumour.
    """
    t = _tnr(tnr)
    prescribe = PartitionTarget(prescribe)
    limits = limits or PartitionLimits()
    residual = check_residual(residual_fraction)
    c, k, lsf = compartments, constants.dose_coefficient_gy_kg_per_gbq, lung_shunt.fraction
    m_t, m_n = c.mass_kg(c.tumour_volume_ml, constants), c.mass_kg(c.normal_perfused_volume_ml, constants)
    weighted = t * m_t + m_n
    notes: list[str] = []
    if prescribe is PartitionTarget.MAX_SAFE:
        if dose_gy is not None:
            raise InputError(
                "dose_gy is not used with prescribe='max_safe' (the limits set the activity); leave it out"
            )
        by_liver = limits.normal_liver_gy * weighted / (k * (1.0 - lsf))
        by_lung = math.inf if lsf == 0 else limits.lung_gy * c.lung_mass_kg / (k * lsf)
        activity = min(by_liver, by_lung)
        # Rounding may put the limiting dose one ulp above its limit; step down until it is not.
        for _ in range(16):
            check = doses_for_activity(activity, c, lsf, tnr=t, constants=constants)
            if check.lung_gy <= limits.lung_gy and check.normal_liver_gy <= limits.normal_liver_gy:
                break
            activity = math.nextafter(activity, 0.0)
        bound = "both" if by_liver == by_lung else ("lung" if by_lung < by_liver else "normal_liver")
        prescription: dict[str, Any] = {
            "target": prescribe.value,
            "lung_limit_gy": limits.lung_gy,
            "normal_liver_limit_gy": limits.normal_liver_gy,
            "bound_by": bound,
        }
        formula = "A = min(D_L,max·M_L/(K·LSF), D_N,max·(TNR·M_T + M_N)/(K·(1 − LSF)))"
        notes.append(f"maximum activity bound by the {bound.replace('_', ' ')} limit")
    else:
        if dose_gy is None:
            raise InputError(f"prescribe='{prescribe.value}' needs dose_gy")
        d = _dose(dose_gy)
        if prescribe is PartitionTarget.TUMOUR:
            if c.tumour_volume_ml == 0:
                raise InputError(
                    "prescribe='tumour' needs tumour_volume_ml > 0; prescribe on the normal liver"
                )
            activity = d * weighted / (t * k * (1.0 - lsf))
            formula = "A = D_T·(TNR·M_T + M_N)/(TNR·K·(1 − LSF))"
        else:
            activity = d * weighted / (k * (1.0 - lsf))
            formula = "A = D_N·(TNR·M_T + M_N)/(K·(1 − LSF))"
        prescription = {"target": prescribe.value, "dose_gy": d}
    plan = _plan(
        PlanningModel.PARTITION,
        activity,
        compartments=c,
        lung_shunt=lung_shunt,
        tnr=t,
        residual_fraction=residual,
        constants=constants,
        prescription=prescription,
        formula=formula + "; A_vial = A/(1 − R)",
        sources=(_SRC_PARTITION, _SRC_LIMITS),
        notes=tuple(notes),
    )
    return plan


def plan_partition_activity_ratio(
    *,
    compartments: Compartments,
    lung_shunt: LungShunt,
    activity_ratio: float,
    tumour_dose_gy: float,
    residual_fraction: float = 0.0,
    constants: Y90Constants = DEFAULT_CONSTANTS,
) -> ActivityPlan:
    """Kao et al. (CVIR 2013) partition variant on the activity ratio ``R = A_T / A_N``.

    Closed system ``A = A_T + A_N + A_L``; ``A_T = D_T · M_T / K``; ``A_N = A_T / R``; the lung
    share comes from the **tumour-to-lung shunt fraction** ``TLSF = A_L / (A_T + A_L)``, so
    ``A_L = A_T · TLSF / (1 − TLSF)``.

    Semantics kept distinct (y90-dosimetry.md §6 item 4): ``R`` is a ratio of *activities*, not
    of concentrations (``TNR = R · M_N / M_T``), and ``lung_shunt.fraction`` is read as the TLSF,
    measured as lung counts / (tumour + lung counts) — not the usual LSF, lung / (lung + liver).
    The returned plan records the whole-system equivalents so that it can be checked like any
    other: ``plan.lung_shunt`` is the LSF ``A_L / A`` (method ``given``, source stating the
    TLSF), ``plan.tnr`` the concentration ratio; the inputs are in ``plan.prescription``.
    Kao's paper uses K = 50; nelm uses ``constants`` (``with_(dose_coefficient_gy_kg_per_gbq=50)``
    reproduces it).

    Raises
    ------
    InputError
        ``activity_ratio <= 0``, no tumour, a non-positive dose.
    """
    r = finite_number(activity_ratio, "activity_ratio")
    if r <= 0:
        raise InputError(f"activity_ratio (A_T/A_N) must be > 0, got {activity_ratio!r}")
    d = _dose(tumour_dose_gy, "tumour_dose_gy")
    residual = check_residual(residual_fraction)
    c, k, tlsf = compartments, constants.dose_coefficient_gy_kg_per_gbq, lung_shunt.fraction
    if c.tumour_volume_ml == 0:
        raise InputError("the activity-ratio partition model needs tumour_volume_ml > 0")
    m_t, m_n = c.mass_kg(c.tumour_volume_ml, constants), c.mass_kg(c.normal_perfused_volume_ml, constants)
    a_t = d * m_t / k
    a_n = a_t / r
    a_l = a_t * tlsf / (1.0 - tlsf)
    activity = a_t + a_n + a_l
    equivalent = LungShunt(
        fraction=a_l / activity,
        method=LsfMethod.GIVEN,
        warnings=lung_shunt.warnings,
        source=(
            f"whole-system LSF A_L/A from TLSF {tlsf:.6g} ({lung_shunt.method.value}: {lung_shunt.source})"
        ),
    )
    return _plan(
        PlanningModel.PARTITION_ACTIVITY_RATIO,
        activity,
        compartments=c,
        lung_shunt=equivalent,
        tnr=r * m_n / m_t,
        residual_fraction=residual,
        constants=constants,
        prescription={
            "target": "tumour",
            "dose_gy": d,
            "activity_ratio": r,
            "tumour_lung_shunt_fraction": tlsf,
            "tumour_activity_gbq": a_t,
            "normal_liver_activity_gbq": a_n,
            "lung_activity_gbq": a_l,
        },
        formula="A_T = D_T·M_T/K; A_N = A_T/R; A_L = A_T·TLSF/(1 − TLSF); A = A_T + A_N + A_L",
        sources=(_SRC_KAO,),
    )
