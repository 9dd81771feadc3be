"""``nelm y90 plan``: every requested planning model side by side, with safety and the vial.

Input is a case manifest (plan with nelm's defaults) or a plan file
(:mod:`nelm.y90.plan_file`) that may point to a case. What the plan file leaves out is measured
on the case's MAA planning study (:func:`nelm.y90.inputs.measure_planning`), else taken from the
defaults below; the result records where every input came from.

Defaults, where the user gives nothing (each is one plan-file key away):

* models: glass → MIRD, partition and voxel; resin → BSA, partition and voxel;
* MIRD: 120 Gy to the perfused volume (TheraSphere's 80-150 Gy standard range; DAVYR default);
* partition: 110 Gy to the tumour (DAVYR default), limits lung 30 Gy and normal liver 70 Gy;
* BSA form: whole liver when the territory is the whole liver, else the IFU scaling;
* voxel: the activity of the first model, shown voxel by voxel;
* LSF from the MAA SPECT; lung mass 1 kg; residual 0 % (set it: Hoang et al. measured medians
  of 0.61 % glass and 3.01 % resin);
* treatment date-time: the case's TARE treatment, when it has one with a time of day.

The first model is the *primary* plan: the vial is chosen for it.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from nelm import RESEARCH_USE_DISCLAIMER
from nelm.case import Case, load_case
from nelm.case.load import read_document
from nelm.case.vocabulary import TareDevice, TreatmentType
from nelm.errors import InputError
from nelm.y90.constants import DEFAULT_CONSTANTS, Y90Constants
from nelm.y90.decay import VialChoice, choose_vial
from nelm.y90.inputs import PlanningMeasurements, measure_planning
from nelm.y90.lsf import LungShunt, lsf_given, lung_mass
from nelm.y90.plan_file import PlanFile, plan_file_from_dict
from nelm.y90.planning import (
    MIRD_PRESETS,
    ActivityPlan,
    BsaForm,
    CompartmentDoses,
    Compartments,
    PartitionLimits,
    PartitionTarget,
    PlanningModel,
    plan_bsa,
    plan_mird,
    plan_partition,
    plan_partition_activity_ratio,
)
from nelm.y90.safety import (
    Finding,
    SafetyContext,
    SafetyLimits,
    check_plan,
    is_deliverable,
    safety_context_from_case,
)
from nelm.y90.voxel_plan import VoxelPlan, plan_voxel

__all__ = ["Y90Plan", "load_plan_source", "plan_y90"]

logger = logging.getLogger(__name__)

_DEFAULT_MODELS = {
    TareDevice.GLASS: ("mird", "partition", "voxel"),
    TareDevice.RESIN: ("bsa", "partition", "voxel"),
}
_DEFAULT_MIRD_DOSE_GY = 120.0
_DEFAULT_PARTITION_DOSE_GY = 110.0


@dataclass(frozen=True)
class Y90Plan:
    """The outcome of ``nelm y90 plan``."""

    case_id: str | None
    device: TareDevice
    plans: tuple[ActivityPlan, ...]
    voxel: VoxelPlan | None
    findings: dict[str, tuple[Finding, ...]]
    vial: VialChoice | None
    measurements: PlanningMeasurements | None
    sources: dict[str, str]
    constants: Y90Constants
    warnings: tuple[str, ...] = ()
    as_treated: dict[str, Any] | None = field(default=None)
    limits: SafetyLimits = field(default_factory=SafetyLimits)

    def deliverable(self, model: str) -> bool:
        """Whether the plan of ``model`` has no blocking safety finding."""
        return is_deliverable(self.findings[model])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready document (no arrays)."""
        return {
            "disclaimer": RESEARCH_USE_DISCLAIMER,
            "case_id": self.case_id,
            "device": self.device.value,
            "primary_model": self.plans[0].model.value if self.plans else "voxel",
            "plans": [
                {
                    **p.to_dict(),
                    "deliverable": self.deliverable(p.model.value),
                    "safety": [f.to_dict() for f in self.findings[p.model.value]],
                }
                for p in self.plans
            ],
            "voxel": None
            if self.voxel is None
            else {**self.voxel.to_dict(), "safety": [f.to_dict() for f in self.findings.get("voxel", ())]},
            "vial": None if self.vial is None else self.vial.to_dict(),
            "measured": None if self.measurements is None else self.measurements.to_dict(),
            "input_sources": self.sources,
            "constants": self.constants.as_dict(),
            "safety_limits": self.limits.as_dict(),
            "safety_limits_overridden": self.limits.overridden(),
            "as_treated": self.as_treated,
            "warnings": list(self.warnings),
        }


def load_plan_source(path: str | os.PathLike[str]) -> tuple[PlanFile, Case | None]:
    """Read ``path`` as a plan file or a case manifest (decided by its version key)."""
    data = read_document(
        path,
        what="Y-90 plan file or case manifest",
        first_line="nelm_y90_plan: 1",
        top_keys="nelm_y90_plan or nelm_manifest, …",
    )
    if "nelm_manifest" in data:
        return PlanFile(), load_case(path)
    plan_file = plan_file_from_dict(data, root=Path(os.path.abspath(path)).parent, source=os.fspath(path))
    return plan_file, None if plan_file.case is None else load_case(plan_file.case)


def _tare_treatment(case: Case | None) -> tuple[int, Any] | None:
    if case is None:
        return None
    tares = [(i, t) for i, t in enumerate(case.treatments) if t.type is TreatmentType.TARE]
    return tares[-1] if tares else None


def _constants(pf: PlanFile) -> Y90Constants:
    changes = {
        name: value
        for name, value in (
            ("half_life_h", pf.half_life_h),
            ("dose_coefficient_gy_kg_per_gbq", pf.dose_coefficient_gy_kg_per_gbq),
            ("liver_density_g_per_ml", pf.liver_density_g_per_ml),
            ("lung_density_g_per_ml", pf.lung_density_g_per_ml),
        )
        if value is not None
    }
    return DEFAULT_CONSTANTS.with_(**changes) if changes else DEFAULT_CONSTANTS


def _pick(name: str, given: Any, measured: Any, sources: dict[str, str], default: Any = None) -> Any:
    if given is not None:
        sources[name] = "plan file"
        return given
    if measured is not None:
        sources[name] = "measured on the planning study"
        return measured
    if default is not None:
        sources[name] = "nelm default"
        return default
    return None


def plan_y90(plan_file: PlanFile, case: Case | None = None) -> Y90Plan:
    """Run every requested planning model, the safety checks and the vial choice.

    Raises
    ------
    InputError
        An input the models need is neither given nor measurable (the message names the key).
    """
    constants = _constants(plan_file)
    sources: dict[str, str] = {}
    warnings: list[str] = []
    tare = _tare_treatment(case)
    device = plan_file.device or (tare[1].tare_device if tare and tare[1].tare_device else None)
    if device is None:
        device = TareDevice.GLASS
        sources["device"] = "nelm default"
    else:
        sources["device"] = "plan file" if plan_file.device else "case treatment"
    measured = None
    if case is not None and any(tp.kind.value == "planning" for tp in case.time_points):
        measured = measure_planning(case, plan_file.planning_time_point)
        warnings.extend(measured.missing)

    def need(name: str, value: Any, key: str) -> Any:
        if value is None:
            raise InputError(
                f"Y-90 plan: {name} is neither in the plan file ({key}) nor measurable from the case"
            )
        return value

    liver_ml = need(
        "liver volume",
        _pick("liver_volume", plan_file.liver_volume_ml, measured and measured.liver_volume_ml, sources),
        "liver_volume",
    )
    perfused_ml = need(
        "perfused volume",
        _pick(
            "perfused_volume", plan_file.perfused_volume_ml, measured and measured.perfused_volume_ml, sources
        ),
        "perfused_volume",
    )
    tumour_ml = need(
        "tumour volume",
        _pick("tumour_volume", plan_file.tumour_volume_ml, measured and measured.tumour_volume_ml, sources),
        "tumour_volume",
    )
    shunt = _lung_shunt(plan_file, measured, sources)
    if plan_file.lung_mass_kg is not None:
        lung_kg = plan_file.lung_mass_kg
        sources["lung_mass"] = "plan file"
    else:
        mass = lung_mass(plan_file.lung_volume_ml, constants)
        lung_kg = mass.mass_kg
        sources["lung_mass"] = (
            "plan file lung_volume × lung_density" if plan_file.lung_volume_ml else "nelm default"
        )
    compartments = Compartments(
        liver_volume_ml=liver_ml,
        perfused_volume_ml=perfused_ml,
        tumour_volume_ml=tumour_ml,
        lung_mass_kg=lung_kg,
    )
    tnr = _pick("tn_ratio", plan_file.tn_ratio, measured and measured.tn_ratio, sources)
    residual = _pick("residual", plan_file.residual_fraction, None, sources, 0.0)
    if plan_file.residual_fraction is None:
        sources["residual"] = "nelm default (0 %)"
    models = plan_file.models or _DEFAULT_MODELS[device]
    plans: list[ActivityPlan] = []
    for model in models:
        if model == "voxel":
            continue
        plans.append(
            _plan_model(
                model, plan_file, case, compartments, shunt, tnr, residual, constants, measured, sources
            )
        )
    voxel = None
    if "voxel" in models:
        voxel = _plan_voxel(plan_file, plans, measured, shunt, lung_kg, residual, constants)
        plans.append(_voxel_activity_plan(voxel, shunt, compartments, tnr))
    before = plan_file.treatment_datetime or (tare[1].date if tare else None)
    context = SafetyContext(device=device, cirrhosis=plan_file.cirrhosis)
    if case is not None:
        context = safety_context_from_case(
            case,
            before=before,
            tumour_burden_percent=None if measured is None else measured.hepatic_tumour_burden_percent,
            cirrhosis=plan_file.cirrhosis,
            device=device,
            target=None if tare is None else tare[1].target,
        )
    if plan_file.prior_lung_dose_gy is not None:
        context = replace(
            context, prior_lung_dose_gy=plan_file.prior_lung_dose_gy, prior_tare_without_lung_dose=0
        )
        sources["prior_lung_dose"] = "plan file"
    limits = _limits(plan_file)
    findings = {p.model.value: check_plan(p, context, limits) for p in plans}
    vial = _vial(plan_file, plans, voxel, tare, device, residual, constants, sources, warnings)
    return Y90Plan(
        case_id=None if case is None else case.case_id,
        device=device,
        plans=tuple(plans),
        voxel=voxel,
        findings=findings,
        vial=vial,
        measurements=measured,
        sources=sources,
        constants=constants,
        warnings=tuple(warnings),
        limits=limits,
    )


def _lung_shunt(
    plan_file: PlanFile, measured: PlanningMeasurements | None, sources: dict[str, str]
) -> LungShunt:
    """The LSF to plan with: given in the plan file, else measured by ``lung_shunt_method``.

    Without a method, SPECT/CT is preferred (planar overestimates; y90-dosimetry.md §2.4), and the
    planar geometric mean is used only when SPECT cannot be measured; its result carries the
    overestimation warning either way.
    """
    if plan_file.lung_shunt_fraction is not None:
        sources["lung_shunt"] = "plan file"
        return lsf_given(plan_file.lung_shunt_fraction, source="plan file")
    by_method = {
        "spect": (None if measured is None else measured.lung_shunt, "MAA SPECT with lungs and liver masks"),
        "planar": (
            None if measured is None else measured.planar_lung_shunt,
            "planar_maa with planar_lungs and planar_liver ROIs",
        ),
    }
    order = [plan_file.lung_shunt_method] if plan_file.lung_shunt_method else ["spect", "planar"]
    for method in order:
        shunt, _ = by_method[method]
        if shunt is not None:
            sources["lung_shunt"] = f"measured ({shunt.method.value})"
            return shunt
    needs = " or ".join(by_method[m][1] for m in order)
    raise InputError(f"Y-90 plan: lung_shunt is neither in the plan file nor measurable (needs {needs})")


def _limits(pf: PlanFile) -> SafetyLimits:
    changes: dict[str, Any] = {
        name: value
        for name, value in (
            ("lung_dose_per_treatment_gy", pf.lung_limit_per_treatment_gy),
            ("lung_dose_cumulative_gy", pf.lung_limit_cumulative_gy),
            ("normal_liver_dose_gy", pf.normal_liver_limit_gy),
        )
        if value is not None
    }
    return replace(SafetyLimits(), **changes)


def _voxel_activity_plan(
    voxel: VoxelPlan, shunt: LungShunt, compartments: Compartments, tnr: float | None
) -> ActivityPlan:
    """The voxel plan's activity and mean compartment doses, checked like any other plan."""

    def mean(name: str) -> float | None:
        return voxel.dvhs[name].mean_gy if name in voxel.dvhs else None

    normal = mean("normal_liver")
    perfused = mean("perfused")
    if normal is None or perfused is None:
        raise InputError("Y-90 voxel plan: the perfused territory has no normal liver on the SPECT grid")
    return ActivityPlan(
        model=PlanningModel.VOXEL,
        activity_gbq=voxel.activity_gbq,
        residual_fraction=voxel.residual_fraction,
        lung_shunt=shunt,
        compartments=compartments,
        tnr=tnr,
        doses=CompartmentDoses(
            tumour_gy=mean("tumour"), normal_liver_gy=normal, perfused_gy=perfused, lung_gy=voxel.lung_dose_gy
        ),
        constants=voxel.constants,
        prescription=voxel.prescription,
        formula=(
            "voxel: A_v = A·(1−LSF)·C_v/ΣC_liver (MAA counts), D_v by "
            f"{voxel.dose.method.value}; compartment doses are voxel means; D_lung = K·A·LSF/M_lung"
        ),
        sources=("EANM SOP, Chiesa et al., EJNMMI Phys 2021;8:77",),
        notes=voxel.notes,
    )


def _plan_model(
    model: str,
    pf: PlanFile,
    case: Case | None,
    compartments: Compartments,
    shunt: LungShunt,
    tnr: float | None,
    residual: float,
    constants: Y90Constants,
    measured: PlanningMeasurements | None,
    sources: dict[str, str],
) -> ActivityPlan:
    if model == "mird":
        if pf.mird_preset is not None:
            if pf.mird_preset not in MIRD_PRESETS:
                raise InputError(
                    f"Y-90 plan: mird_preset {pf.mird_preset!r} is not one of {', '.join(MIRD_PRESETS)}"
                )
            dose = MIRD_PRESETS[pf.mird_preset]
        else:
            dose = pf.mird_dose_gy or _DEFAULT_MIRD_DOSE_GY
        return plan_mird(
            compartments=compartments,
            lung_shunt=shunt,
            dose_gy=dose,
            residual_fraction=residual,
            constants=constants,
        )
    if model == "partition":
        if tnr is None:
            raise InputError(
                "Y-90 plan: the partition model needs tn_ratio (plan file) or a measurable MAA SPECT TNR"
            )
        target = PartitionTarget(pf.partition_target or "tumour")
        dose_gy = (
            None
            if target is PartitionTarget.MAX_SAFE
            else (pf.partition_dose_gy or _DEFAULT_PARTITION_DOSE_GY)
        )
        return plan_partition(
            compartments=compartments,
            lung_shunt=shunt,
            tnr=tnr,
            prescribe=target,
            dose_gy=dose_gy,
            limits=PartitionLimits(),
            residual_fraction=residual,
            constants=constants,
        )
    if model == "partition_activity_ratio":
        ratio = (
            pf.activity_ratio
            if pf.activity_ratio is not None
            else (measured.activity_ratio if measured else None)
        )
        if ratio is None:
            raise InputError(
                "Y-90 plan: the activity-ratio (Kao) model needs activity_ratio or a measurable MAA SPECT"
            )
        return plan_partition_activity_ratio(
            compartments=compartments,
            lung_shunt=shunt,
            activity_ratio=ratio,
            tumour_dose_gy=pf.partition_dose_gy or _DEFAULT_PARTITION_DOSE_GY,
            residual_fraction=residual,
            constants=constants,
        )
    if model == "bsa":
        weight = pf.weight_kg or (case.patient.weight_kg if case else None)
        height = pf.height_cm or (case.patient.height_cm if case else None)
        if weight is None or height is None:
            raise InputError(
                "Y-90 plan: the BSA model needs weight and height (plan file or the case's patient)"
            )
        whole = (
            abs(compartments.perfused_volume_ml - compartments.liver_volume_ml)
            <= 0.005 * compartments.liver_volume_ml
        )
        form = BsaForm(pf.bsa_form) if pf.bsa_form else (BsaForm.WHOLE_LIVER if whole else BsaForm.IFU_SCALED)
        return plan_bsa(
            weight_kg=weight,
            height_cm=height,
            compartments=compartments,
            lung_shunt=shunt,
            form=form,
            residual_fraction=residual,
            constants=constants,
        )
    raise InputError(f"Y-90 plan: unknown model {model!r}")


def _plan_voxel(
    pf: PlanFile,
    plans: list[ActivityPlan],
    measured: PlanningMeasurements | None,
    shunt: LungShunt,
    lung_kg: float,
    residual: float,
    constants: Y90Constants,
) -> VoxelPlan:
    if measured is None or measured.spect is None or not {"liver", "perfused"} <= set(measured.masks):
        raise InputError(
            "Y-90 plan: the voxel model needs the case's MAA SPECT with liver and perfused masks"
        )
    kwargs: dict[str, Any]
    if pf.voxel_target is not None:
        if pf.voxel_dose_gy is None:
            raise InputError("Y-90 plan: voxel_target needs voxel_dose (e.g. '40 Gy')")
        kwargs = {"target": pf.voxel_target, "target_dose_gy": pf.voxel_dose_gy}
    elif plans:
        kwargs = {"activity_gbq": plans[0].activity_gbq}
    else:
        raise InputError("Y-90 plan: the voxel model alone needs voxel_target and voxel_dose")
    return plan_voxel(
        measured.spect,
        liver=measured.masks["liver"],
        perfused=measured.masks["perfused"],
        lesions=measured.lesion_masks,
        lung_shunt_fraction=shunt.fraction,
        lung_mass_kg=lung_kg,
        residual_fraction=residual,
        constants=constants,
        **kwargs,
    )


def _vial(
    pf: PlanFile,
    plans: list[ActivityPlan],
    voxel: VoxelPlan | None,
    tare: tuple[int, Any] | None,
    device: TareDevice,
    residual: float,
    constants: Y90Constants,
    sources: dict[str, str],
    warnings: list[str],
) -> VialChoice | None:
    activity = plans[0].activity_gbq if plans else (voxel.activity_gbq if voxel else None)
    treatment_dt = pf.treatment_datetime
    if treatment_dt is None and tare is not None and isinstance(tare[1].date, dt.datetime):
        treatment_dt = tare[1].date
        sources["treatment_datetime"] = "case treatment"
    if activity is None or treatment_dt is None or pf.vial_calibration is None:
        warnings.append(
            "no vial chosen: give treatment_datetime (or a TARE date-time in the case) and vial_calibration"
        )
        return None
    return choose_vial(
        activity,
        treatment_dt,
        pf.vial_calibration,
        residual_fraction=residual,
        sizes_gbq=pf.vial_sizes_gbq,
        device=device,
        constants=constants,
    )
