"""Voxel-based multi-compartment planning from Tc-99m MAA SPECT (EANM SOP, Chiesa et al. 2021).

The MAA SPECT is calibrated patient-relatively: the liver's share of the Y-90 activity,
``A · (1 − LSF) · (1 − R)`` … here with ``A`` the *injected* activity, so ``A · (1 − LSF)``, is
spread over the liver voxels in proportion to their MAA counts (normalised by the counts inside
the liver mask, not the field of view: Taranis caveat, reference/y90-dosimetry.md §6 item 7).
Doses follow by local deposition (the EANM default) or kernel convolution
(:func:`nelm.y90.dosimetry.absorbed_dose`). The lung dose is the mean lung dose of the
partition model, ``K · A · LSF / M_lung``: MAA counts in the lungs are not used voxel by voxel
(lung density and breathing make them unreliable).

Dose is linear in the activity, so a prescription (a mean dose to a compartment) is met by
scaling: ``A = D_prescribed / D_compartment(1 GBq)``.

Compartments (all on the SPECT grid): ``normal_liver`` (perfused liver without tumour),
``tumour`` (all perfused lesion voxels), ``perfused`` (the whole perfused territory),
``liver_normal_total`` (the whole liver without tumour) and each lesion by its tracking id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from nelm.errors import InputError, MaskError
from nelm.imaging.volume import Volume
from nelm.y90.checks import residual_fraction as check_residual
from nelm.y90.constants import DEFAULT_CONSTANTS, Y90Constants
from nelm.y90.dosimetry import DoseMap, DoseMethod, absorbed_dose, activity_patient_relative
from nelm.y90.dvh import DEFAULT_METRICS, DVH, structure_dvh

__all__ = ["VOXEL_TARGETS", "VoxelPlan", "compartment_masks", "plan_voxel"]

#: Compartments a voxel prescription may target.
VOXEL_TARGETS = ("normal_liver", "tumour", "perfused")


def compartment_masks(
    liver: npt.NDArray[np.bool_],
    perfused: npt.NDArray[np.bool_],
    lesions: Mapping[str, npt.NDArray[np.bool_]],
) -> dict[str, npt.NDArray[np.bool_]]:
    """The planning compartments from the liver, perfused and per-lesion masks (one grid).

    Lesions outside the perfused territory are left out: they receive no planned activity.
    """
    tumour = np.zeros_like(perfused)
    per_lesion: dict[str, npt.NDArray[np.bool_]] = {}
    for name, mask in lesions.items():
        inside = mask & perfused
        if inside.any():
            per_lesion[name] = inside
            tumour |= inside
    out = {
        "normal_liver": perfused & ~tumour,
        "tumour": tumour,
        "perfused": perfused.copy(),
        "liver_normal_total": liver & ~tumour,
    }
    out.update({f"lesion {name}": mask for name, mask in per_lesion.items()})
    return {name: mask for name, mask in out.items() if mask.any()}


@dataclass(frozen=True)
class VoxelPlan:
    """A voxel-level plan: activity, planned dose map and DVH per compartment."""

    activity_gbq: float
    vial_activity_gbq: float
    residual_fraction: float
    lung_shunt_fraction: float
    lung_mass_kg: float
    lung_dose_gy: float
    dose: DoseMap = field(repr=False)
    dvhs: dict[str, DVH] = field(repr=False)
    prescription: dict[str, Any]
    constants: Y90Constants
    notes: tuple[str, ...] = ()

    def mean_dose_gy(self, compartment: str) -> float:
        """Mean planned dose of one compartment (Gy)."""
        return self.dvhs[compartment].mean_gy

    def to_dict(self, metrics: tuple[str, ...] = DEFAULT_METRICS) -> dict[str, Any]:
        """JSON-ready summary (no arrays)."""
        return {
            "model": "voxel",
            "activity_gbq": self.activity_gbq,
            "vial_activity_gbq": self.vial_activity_gbq,
            "residual_fraction": self.residual_fraction,
            "lung_shunt_fraction": self.lung_shunt_fraction,
            "lung_mass_kg": self.lung_mass_kg,
            "lung_dose_gy": self.lung_dose_gy,
            "dose_method": self.dose.method.value,
            "prescription": self.prescription,
            "structures": {name: dvh.to_dict(metrics) for name, dvh in self.dvhs.items()},
            "constants": self.constants.as_dict(),
            "notes": list(self.notes),
        }


def plan_voxel(
    spect: Volume,
    *,
    liver: npt.NDArray[np.bool_],
    perfused: npt.NDArray[np.bool_],
    lesions: Mapping[str, npt.NDArray[np.bool_]],
    lung_shunt_fraction: float,
    lung_mass_kg: float,
    activity_gbq: float | None = None,
    target: str | None = None,
    target_dose_gy: float | None = None,
    residual_fraction: float = 0.0,
    method: DoseMethod = DoseMethod.LOCAL_DEPOSITION,
    constants: Y90Constants = DEFAULT_CONSTANTS,
) -> VoxelPlan:
    """Plan on the MAA SPECT voxel by voxel.

    Give either ``activity_gbq`` (the injected activity to show) or ``target`` and
    ``target_dose_gy`` (a mean dose to one of :data:`VOXEL_TARGETS`).

    Raises
    ------
    InputError
        Neither or both ways of fixing the activity, an unknown target, LSF outside [0, 1),
        a residual outside [0, 1), a non-positive activity or dose.
    MaskError
        An empty liver or perfused mask, or no counts in the liver.
    """
    if (activity_gbq is None) == (target is None or target_dose_gy is None):
        raise InputError("voxel plan: give either activity_gbq, or target and target_dose_gy")
    if target is not None and target not in VOXEL_TARGETS:
        raise InputError(f"voxel plan: target {target!r} is not one of {', '.join(VOXEL_TARGETS)}")
    check_residual(residual_fraction)  # the LSF is checked by activity_patient_relative
    if not liver.any():
        raise MaskError("voxel plan: the liver mask is empty")
    if not perfused.any():
        raise MaskError("voxel plan: the perfused mask is empty")
    compartments = compartment_masks(liver, perfused, lesions)
    unit = 1.0
    activity = activity_patient_relative(
        spect, unit, liver, lung_shunt_fraction=lung_shunt_fraction, residual_fraction=0.0
    )
    dose_per_gbq = absorbed_dose(activity, method=method, constants=constants)
    if target is not None and target_dose_gy is not None:
        if target not in compartments:
            raise MaskError(f"voxel plan: compartment {target!r} is empty on the SPECT grid")
        if target_dose_gy <= 0:
            raise InputError(f"voxel plan: target_dose_gy must be positive, got {target_dose_gy}")
        per_gbq = structure_dvh(dose_per_gbq.dose_gy, compartments[target], name=target).mean_gy
        if per_gbq <= 0:
            raise MaskError(f"voxel plan: the MAA puts no activity in {target!r}; cannot prescribe on it")
        activity_gbq = target_dose_gy / per_gbq
        prescription: dict[str, Any] = {"target": target, "mean_dose_gy": target_dose_gy}
    else:
        assert activity_gbq is not None
        if activity_gbq <= 0:
            raise InputError(f"voxel plan: activity_gbq must be positive, got {activity_gbq}")
        prescription = {"activity_gbq": activity_gbq}
    scaled = np.asarray(dose_per_gbq.dose_gy.array, dtype=np.float32) * np.float32(activity_gbq / unit)
    dose = replace(dose_per_gbq, dose_gy=dose_per_gbq.dose_gy.with_array(scaled))
    dvhs = {name: structure_dvh(dose.dose_gy, mask, name=name) for name, mask in compartments.items()}
    lung_dose = constants.dose_coefficient_gy_kg_per_gbq * activity_gbq * lung_shunt_fraction / lung_mass_kg
    return VoxelPlan(
        activity_gbq=activity_gbq,
        vial_activity_gbq=activity_gbq / (1.0 - residual_fraction),
        residual_fraction=residual_fraction,
        lung_shunt_fraction=lung_shunt_fraction,
        lung_mass_kg=lung_mass_kg,
        lung_dose_gy=lung_dose,
        dose=dose,
        dvhs=dvhs,
        prescription=prescription,
        constants=constants,
        notes=(
            "patient-relative calibration: liver activity A·(1−LSF) spread in proportion to the "
            "MAA counts inside the liver mask (EANM SOP, Chiesa et al. EJNMMI Phys 2021)",
            "MAA distribution assumed to equal the microsphere distribution",
        ),
    )
