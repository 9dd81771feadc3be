"""What a case's Tc-99m MAA planning time point measures for Y-90 planning.

From the planning SPECT (role ``spect_maa``) and its masks (``liver``, ``perfused``, ``lesions``,
``lungs``, all on the SPECT grid):

* volumes (mL) by voxel count: whole liver, perfused territory, tumour inside the perfused
  territory (lesion voxels that are also perfused), lungs (only reported; the lung *mass* is
  a constant unless the plan file asks for the CT lung volume);
* the SPECT lung shunt fraction (:func:`nelm.y90.lsf.lsf_from_spect`);
* the tumour-to-normal **concentration** ratio TNR = mean counts per mL in perfused tumour /
  mean counts per mL in perfused normal liver (Ho et al. 1996; the partition model's input),
  and the **activity** ratio R = total tumour counts / total normal-liver counts (Kao et al.,
  CVIR 2013), kept apart by name.

A missing image or mask leaves the quantities that need it as ``None`` with the reason in
:attr:`PlanningMeasurements.missing`; nothing is guessed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from nelm.case import Case, TimePoint
from nelm.case.vocabulary import TimePointKind
from nelm.errors import InputError
from nelm.imaging.volume import Volume
from nelm.timepoint_data import TimePointData, load_time_point
from nelm.y90.lsf import LungShunt, lsf_from_planar, lsf_from_spect

__all__ = ["PlanningMeasurements", "measure_planning", "planning_time_point"]

logger = logging.getLogger(__name__)


def planning_time_point(case: Case, time_point_id: str | None = None) -> TimePoint:
    """The MAA planning time point: the one named, else the case's only ``planning`` one.

    Raises
    ------
    InputError
        The id is unknown, or no (or more than one) planning time point and none named.
    """
    if time_point_id is not None:
        return case.time_point(time_point_id)
    planning = [tp for tp in case.time_points if tp.kind is TimePointKind.PLANNING]
    if len(planning) != 1:
        found = ", ".join(tp.id for tp in planning) or "none"
        raise InputError(
            f"case {case.case_id}: need exactly one time point of kind 'planning' for Y-90 planning "
            f"(found: {found}); name one with planning_time_point"
        )
    return planning[0]


@dataclass(frozen=True)
class PlanningMeasurements:
    """Quantities measured on the MAA planning study (``None`` when not measurable)."""

    time_point_id: str
    liver_volume_ml: float | None
    perfused_volume_ml: float | None
    tumour_volume_ml: float | None
    lung_volume_ml: float | None
    hepatic_tumour_burden_percent: float | None
    lung_shunt: LungShunt | None
    tn_ratio: float | None
    activity_ratio: float | None
    spect: Volume | None = field(default=None, repr=False, compare=False)
    masks: dict[str, npt.NDArray[np.bool_]] = field(default_factory=dict, repr=False, compare=False)
    lesion_masks: dict[str, npt.NDArray[np.bool_]] = field(default_factory=dict, repr=False, compare=False)
    missing: tuple[str, ...] = ()
    planar_lung_shunt: LungShunt | None = None

    def to_dict(self) -> dict[str, Any]:
        """The measured values (no arrays)."""
        return {
            "time_point": self.time_point_id,
            "liver_volume_ml": self.liver_volume_ml,
            "perfused_volume_ml": self.perfused_volume_ml,
            "tumour_volume_ml": self.tumour_volume_ml,
            "lung_volume_ml": self.lung_volume_ml,
            "hepatic_tumour_burden_percent": self.hepatic_tumour_burden_percent,
            "lung_shunt": None if self.lung_shunt is None else self.lung_shunt.to_dict(),
            "planar_lung_shunt": None if self.planar_lung_shunt is None else self.planar_lung_shunt.to_dict(),
            "tn_ratio": self.tn_ratio,
            "activity_ratio": self.activity_ratio,
            "missing": list(self.missing),
        }


def _mask(data: TimePointData, role: str, spect: Volume | None) -> npt.NDArray[np.bool_] | None:
    labelmap = data.masks.get(role)
    if labelmap is None:
        return None
    if spect is not None:
        labelmap.require_on(spect, image_name="spect_maa")
    return labelmap.any_mask()


def measure_planning(case: Case, time_point_id: str | None = None) -> PlanningMeasurements:
    """Measure volumes, LSF, TNR and activity ratio on the planning time point of ``case``."""
    tp = planning_time_point(case, time_point_id)
    data = load_time_point(tp)
    spect = data.images.get("spect_maa")
    missing: list[str] = []
    if spect is None:
        missing.append("no spect_maa image: LSF, TNR and the voxel plan need it")
    masks = {
        role: m
        for role in ("liver", "perfused", "lesions", "lungs")
        if (m := _mask(data, role, spect)) is not None
    }
    for role in ("liver", "perfused", "lesions", "lungs"):
        if role not in masks:
            missing.append(f"no {role!r} mask on the planning time point")
    voxel_ml = float(np.prod(spect.spacing_mm)) / 1000.0 if spect is not None else None
    if voxel_ml is None and masks:
        first = next(iter(data.masks.values()))
        voxel_ml = float(np.prod(first.geometry.spacing_mm)) / 1000.0

    def volume(mask: npt.NDArray[np.bool_] | None) -> float | None:
        return None if mask is None or voxel_ml is None else float(np.count_nonzero(mask)) * voxel_ml

    perfused = masks.get("perfused")
    lesions = masks.get("lesions")
    tumour = None if perfused is None or lesions is None else perfused & lesions
    lesion_masks: dict[str, npt.NDArray[np.bool_]] = {}
    if "lesions" in data.masks:
        lm = data.masks["lesions"]
        for value, label in lm.labels.items():
            lesion_masks[label.tracking_id or label.name] = lm.mask(value)
    liver_ml = volume(masks.get("liver"))
    lesion_ml = volume(lesions)
    burden = None if liver_ml is None or lesion_ml is None else 100.0 * lesion_ml / liver_ml
    lung_shunt = None
    if spect is not None and "lungs" in masks and "liver" in masks:
        lung_shunt = lsf_from_spect(spect, masks["lungs"], masks["liver"])
    planar_shunt = _planar_lsf(data)
    tn_ratio = activity_ratio = None
    if spect is not None and perfused is not None and tumour is not None and tumour.any():
        normal = perfused & ~tumour
        counts = np.asarray(spect.array, dtype=np.float64)
        tumour_counts = float(counts[tumour].sum())
        normal_counts = float(counts[normal].sum())
        if normal_counts > 0:
            tn_ratio = (tumour_counts / np.count_nonzero(tumour)) / (normal_counts / np.count_nonzero(normal))
            activity_ratio = tumour_counts / normal_counts
        else:
            missing.append("no counts in the perfused normal liver: TNR not measurable")
    elif tumour is not None and not tumour.any():
        missing.append("no lesion inside the perfused territory: TNR not measurable")
    return PlanningMeasurements(
        time_point_id=tp.id,
        liver_volume_ml=volume(masks.get("liver")),
        perfused_volume_ml=volume(perfused),
        tumour_volume_ml=volume(tumour),
        lung_volume_ml=volume(masks.get("lungs")),
        hepatic_tumour_burden_percent=burden,
        lung_shunt=lung_shunt,
        tn_ratio=tn_ratio,
        activity_ratio=activity_ratio,
        spect=spect,
        masks=masks,
        lesion_masks=lesion_masks,
        missing=tuple(missing),
        planar_lung_shunt=planar_shunt,
    )


def _planar_lsf(data: TimePointData) -> LungShunt | None:
    """Planar geometric-mean LSF from ``planar_maa`` and its ``planar_lungs``/``planar_liver`` ROIs."""
    views = data.planar.get("planar_maa")
    rois = [data.masks.get(role) for role in ("planar_lungs", "planar_liver")]
    if views is None or rois[0] is None or rois[1] is None:
        return None
    if not {"ANTERIOR", "POSTERIOR"} <= set(views):
        raise InputError(
            f"time point {data.time_point.id}: planar_maa needs an ANTERIOR and a POSTERIOR view, "
            f"it holds {sorted(views)}"
        )
    return lsf_from_planar(
        views["ANTERIOR"],
        views["POSTERIOR"],
        rois[0].any_mask(),
        rois[1].any_mask(),
        source=f"time point {data.time_point.id}: planar_maa with planar_lungs and planar_liver ROIs",
    )
