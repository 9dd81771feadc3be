"""Write Y-90 dose maps: NIfTI (float32 Gy) and DICOM RT Dose referencing the source series.

Both go through nelm's atomic writers, so an interrupted run leaves no half-written file.
"""

from __future__ import annotations

import os
from pathlib import Path

from nelm.case import Case
from nelm.imaging.nifti import write_nifti
from nelm.imaging.rtdose import write_rtdose
from nelm.imaging.volume import Volume
from nelm.y90.post import PostTreatmentDosimetry

__all__ = ["write_dose_nifti", "write_dose_outputs"]


def write_dose_nifti(dose: Volume, path: str | os.PathLike[str]) -> Path:
    """Write a dose map (Gy, float32) as NIfTI with its nelm sidecar."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    return write_nifti(dose, target)


def write_dose_outputs(
    result: PostTreatmentDosimetry, case: Case, out_dir: str | os.PathLike[str]
) -> list[Path]:
    """Write the delivered (and planned, and difference) dose maps of a post-treatment result.

    Files: ``<tp>_delivered_dose.nii.gz`` and ``<tp>_delivered_dose.dcm`` (RT Dose, RECORD,
    referencing the Y-90 image series); with a plan also ``<tp>_planned_dose.nii.gz`` and
    ``<tp>_dose_difference.nii.gz`` (delivered − planned on the delivered grid).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = result.time_point_id
    written = [write_dose_nifti(result.dose.dose_gy, out / f"{stem}_delivered_dose.nii.gz")]
    written.append(
        write_rtdose(
            result.dose.dose_gy,
            out / f"{stem}_delivered_dose.dcm",
            reference=result.dose.dose_gy.metadata,
            dose_summation_type="RECORD",
            comment=f"nelm Y-90 delivered dose ({result.dose.method.value}), case {case.case_id}",
        )
    )
    if result.planned is not None:
        written.append(write_dose_nifti(result.planned.dose.dose_gy, out / f"{stem}_planned_dose.nii.gz"))
    if result.comparison is not None:
        written.append(write_dose_nifti(result.comparison.difference, out / f"{stem}_dose_difference.nii.gz"))
    return written
