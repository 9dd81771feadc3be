"""Post-treatment Y-90 dosimetry of a case's time point, and planned versus delivered.

The time point holds a Y-90 PET (``pet_y90``, Bq/mL) or a bremsstrahlung SPECT (``spect_y90``,
counts) with masks on its grid (``liver``, ``lesions``, ``perfused``, ``lungs``). The treatment is
the case's latest TARE given before the scan; its date must be a date-time, because the PET is
decay-corrected to the administration over days (reference/y90-dosimetry.md §2.5):

* PET: absolute quantification, ``A0 = C · V · 2^(Δt/T½)`` per voxel;
* SPECT: patient-relative, the administered activity times (1 − LSF) spread over the liver in
  proportion to the counts (LSF from the planning study when there is one, else 0, said so).

Dose by local deposition (the EANM default) or kernel convolution. Structures: each lesion,
all tumour, normal perfused liver, the perfused territory, the whole non-tumoural liver, lungs.
When the case also has a planning MAA SPECT, the same activity is planned on it voxel by voxel
and compared with the delivered dose (:func:`nelm.y90.compare.compare_doses`); the two studies
are assumed to share the patient coordinate frame (no registration is done; a different Frame
of Reference is reported).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from nelm.case import Case, TimePoint, Treatment
from nelm.case.validation import is_earlier
from nelm.case.vocabulary import TreatmentType
from nelm.errors import InputError
from nelm.timepoint_data import load_time_point
from nelm.y90.compare import DoseComparison, compare_doses
from nelm.y90.constants import DEFAULT_CONSTANTS, Y90Constants
from nelm.y90.dosimetry import (
    DoseMap,
    DoseMethod,
    absorbed_dose,
    activity_from_pet,
    activity_patient_relative,
)
from nelm.y90.dvh import DEFAULT_METRICS, DVH, structure_dvh
from nelm.y90.inputs import measure_planning
from nelm.y90.voxel_plan import VoxelPlan, compartment_masks, plan_voxel

__all__ = ["PostTreatmentDosimetry", "dose_time_point", "treatment_for"]

logger = logging.getLogger(__name__)


def treatment_for(case: Case, tp: TimePoint) -> tuple[int, Treatment]:
    """The latest TARE treatment dated before the time point, with its manifest index.

    Raises
    ------
    InputError
        No TARE before the time point, or its date has no time of day.
    """
    candidates = [
        (i, t)
        for i, t in enumerate(case.treatments)
        if t.type is TreatmentType.TARE and is_earlier(t.date, tp.date)
    ]
    if not candidates:
        raise InputError(
            f"case {case.case_id}: no TARE treatment dated before time point {tp.id!r}; "
            "add it under treatments with its date-time and activity"
        )
    index, treatment = candidates[-1]
    if not isinstance(treatment.date, dt.datetime):
        raise InputError(
            f"case {case.case_id}: treatments[{index}].date {treatment.date.isoformat()} has no time of day; "
            "decay correction needs the administration date-time with its UTC offset"
        )
    return index, treatment


@dataclass(frozen=True)
class PostTreatmentDosimetry:
    """Delivered dose of one post-treatment time point."""

    time_point_id: str
    image_role: str
    treatment_index: int
    administered_activity_gbq: float
    activity_in_image_gbq: float
    dose: DoseMap = field(repr=False)
    dvhs: dict[str, DVH] = field(repr=False)
    structure_masks: dict[str, npt.NDArray[np.bool_]] = field(repr=False)
    planned: VoxelPlan | None = field(default=None, repr=False)
    comparison: DoseComparison | None = field(default=None, repr=False)
    notes: tuple[str, ...] = ()

    def to_dict(self, metrics: tuple[str, ...] = DEFAULT_METRICS) -> dict[str, Any]:
        """JSON-ready summary (no arrays)."""
        return {
            "time_point": self.time_point_id,
            "image": self.image_role,
            "treatment_index": self.treatment_index,
            "administered_activity_gbq": self.administered_activity_gbq,
            "activity_in_image_at_administration_gbq": self.activity_in_image_gbq,
            "dose": self.dose.to_dict(),
            "structures": {name: dvh.to_dict(metrics) for name, dvh in self.dvhs.items()},
            "planned": None if self.planned is None else self.planned.to_dict(metrics),
            "planned_vs_delivered": None if self.comparison is None else self.comparison.to_dict(),
            "notes": list(self.notes),
        }


def dose_time_point(
    case: Case,
    time_point_id: str,
    *,
    method: DoseMethod = DoseMethod.LOCAL_DEPOSITION,
    compare_with_plan: bool = True,
    constants: Y90Constants = DEFAULT_CONSTANTS,
) -> PostTreatmentDosimetry:
    """Compute the delivered dose of a post-treatment time point of ``case``.

    Raises
    ------
    InputError
        Unknown time point, no Y-90 image, no TARE before it, a date without time, no liver mask.
    """
    tp = case.time_point(time_point_id)
    if not (tp.has_image("pet_y90") or tp.has_image("spect_y90")):
        present = ", ".join(role.value for role in tp.images) or "none"
        raise InputError(f"time point {tp.id!r} has no pet_y90 or spect_y90 image (present: {present})")
    index, treatment = treatment_for(case, tp)
    administered = treatment.activity_gbq
    assert administered is not None  # the manifest requires it for TARE
    data = load_time_point(tp)
    notes: list[str] = []
    planning = None
    if any(p.kind.value == "planning" for p in case.time_points):
        planning = measure_planning(case)
    if "pet_y90" in data.images:
        role = "pet_y90"
        activity = activity_from_pet(data.images[role], treatment.date, constants=constants)  # type: ignore[arg-type]
    elif "spect_y90" in data.images:
        role = "spect_y90"
        lsf = 0.0
        if planning is not None and planning.lung_shunt is not None:
            lsf = planning.lung_shunt.fraction
            notes.append(f"LSF {lsf:.4f} from the planning study {planning.time_point_id!r}")
        else:
            notes.append("no planning LSF: the whole administered activity is placed in the liver")
        if "liver" not in data.masks:
            raise InputError(
                f"time point {tp.id!r}: a liver mask is needed to calibrate the bremsstrahlung SPECT"
            )
        activity = activity_patient_relative(
            data.images[role], administered, data.masks["liver"].any_mask(), lung_shunt_fraction=lsf
        )
    else:
        present = ", ".join(data.images) or "none"
        raise InputError(f"time point {tp.id!r} has no pet_y90 or spect_y90 image (present: {present})")
    image = data.images[role]
    dose = absorbed_dose(activity, method=method, constants=constants)
    for labelmap in data.masks.values():
        labelmap.require_on(image, image_name=role)
    if "liver" not in data.masks or "perfused" not in data.masks:
        raise InputError(
            f"time point {tp.id!r}: liver and perfused masks are needed for the dose per structure"
        )
    lesions: dict[str, npt.NDArray[np.bool_]] = {}
    if "lesions" in data.masks:
        lm = data.masks["lesions"]
        lesions = {label.tracking_id or label.name: lm.mask(value) for value, label in lm.labels.items()}
    masks = compartment_masks(data.masks["liver"].any_mask(), data.masks["perfused"].any_mask(), lesions)
    if "lungs" in data.masks:
        masks["lungs"] = data.masks["lungs"].any_mask()
    dvhs = {name: structure_dvh(dose.dose_gy, mask, name=name) for name, mask in masks.items()}
    planned = comparison = None
    if (
        compare_with_plan
        and planning is not None
        and planning.spect is not None
        and planning.lung_shunt is not None
    ):
        needed = ("liver", "perfused")
        if all(k in planning.masks for k in needed):
            planned = plan_voxel(
                planning.spect,
                liver=planning.masks["liver"],
                perfused=planning.masks["perfused"],
                lesions=planning.lesion_masks,
                lung_shunt_fraction=planning.lung_shunt.fraction,
                lung_mass_kg=constants.lung_mass_kg,
                activity_gbq=administered,
                method=method,
                constants=constants,
            )
            comparison = compare_doses(planned.dose.dose_gy, dose.dose_gy, masks)
            notes.append(
                f"planned dose: voxel plan on {planning.time_point_id!r} at the administered "
                f"{administered:g} GBq, resampled to the {role} grid (no registration)"
            )
    return PostTreatmentDosimetry(
        time_point_id=tp.id,
        image_role=role,
        treatment_index=index,
        administered_activity_gbq=administered,
        activity_in_image_gbq=activity.total_mbq / 1000.0,
        dose=dose,
        dvhs=dvhs,
        structure_masks=masks,
        planned=planned,
        comparison=comparison,
        notes=tuple(notes),
    )
