"""One way to load an image or a mask, whatever its format.

* Images: a folder is a DICOM series (:func:`~nelm.imaging.dicom_read.read_series`), a
  ``.nii``/``.nii.gz`` file is NIfTI (:func:`~nelm.imaging.nifti.read_nifti`), any other file
  a single DICOM file (enhanced multi-frame, NM). Planar NM files hold several views and are
  read with :func:`load_planar`.
* Masks: NIfTI label maps, DICOM SEG and RTSTRUCT (the last needs the image it was drawn on).

NIfTI has no modality or units of its own: when its sidecar does not say, the manifest role
decides (:data:`ROLE_MODALITY`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Final

from nelm.errors import InputError, MaskError
from nelm.imaging.dicom_common import read_header, sop_class_uid_of
from nelm.imaging.dicom_nm import read_nm_planar
from nelm.imaging.dicom_read import read_series
from nelm.imaging.geometry import Geometry
from nelm.imaging.labelmap import LabelMap
from nelm.imaging.metadata import ValueUnit
from nelm.imaging.nifti import is_nifti, read_labelmap, read_nifti
from nelm.imaging.rtstruct import RTSTRUCT_SOP_CLASS_UID, read_rtstruct
from nelm.imaging.seg import SEG_SOP_CLASS_UIDS, read_seg
from nelm.imaging.volume import Volume
from nelm.policy import Policy

__all__ = [
    "ROLE_MODALITY",
    "RTSTRUCT_SOP_CLASS_UID",
    "load_image",
    "load_mask",
    "load_planar",
    "modality_for_role",
]

logger = logging.getLogger(__name__)

#: Modality and voxel units implied by the prefix of a manifest image role, for NIfTI files
#: whose sidecar does not say. SPECT and planar images are counts until calibrated.
ROLE_MODALITY: Final[dict[str, tuple[str, ValueUnit]]] = {
    "ct": ("CT", ValueUnit.HU),
    "cbct": ("CT", ValueUnit.ARBITRARY),
    "mr": ("MR", ValueUnit.ARBITRARY),
    "pet": ("PT", ValueUnit.BQ_PER_ML),
    "spect": ("NM", ValueUnit.COUNTS),
    "planar": ("NM", ValueUnit.COUNTS),
}


def modality_for_role(role: str) -> tuple[str, ValueUnit] | None:
    """Modality and units implied by a manifest image role (``"ct_portal"`` → CT, HU)."""
    return ROLE_MODALITY.get(str(role).split("_", 1)[0])


def load_image(
    path: str | os.PathLike[str],
    *,
    role: str | None = None,
    series_uid: str | None = None,
    policy: Policy = Policy.WARN,
) -> Volume:
    """Load one image volume from a DICOM folder or file, or a NIfTI file.

    Parameters
    ----------
    path:
        Folder (DICOM series), ``.nii``/``.nii.gz`` file, or single DICOM file.
    role:
        Manifest image role; supplies modality and units to NIfTI files without a sidecar.
    series_uid:
        Which series to read from a folder holding several.
    policy:
        Tolerance for messy DICOM (see :class:`~nelm.policy.Policy`).
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"image {p} does not exist")
    if is_nifti(p):
        side = modality_for_role(role) if role else None
        vol = read_nifti(p)
        if side is not None and vol.modality == "OT":
            vol = read_nifti(p, modality=side[0], units=side[1])
        return vol
    return read_series(p, series_uid=series_uid, policy=policy)


def load_planar(path: str | os.PathLike[str], *, policy: Policy = Policy.WARN) -> dict[str, Volume]:
    """Load planar NM views as one single-slice volume per view (``"ANTERIOR"``, ``"POSTERIOR"``).

    A DICOM file holds every view. NIfTI holds one view per file, named ``<prefix>_<view>.nii.gz``
    (as ``nelm phantom`` writes them): naming any one of them loads all views of that prefix.
    """
    p = Path(path)
    if not is_nifti(p):
        return read_nm_planar(p, policy=policy)
    stem = p.name[: -len(".nii.gz")] if p.name.lower().endswith(".nii.gz") else p.stem
    prefix, sep, _ = stem.rpartition("_")
    if not sep:
        raise InputError(f"planar NIfTI {p}: name it <prefix>_<view>.nii.gz, e.g. planar_maa_anterior.nii.gz")
    views: dict[str, Volume] = {}
    for f in sorted(p.parent.glob(f"{prefix}_*.nii*")):
        if is_nifti(f):
            view = f.name[len(prefix) + 1 :].split(".")[0].upper()
            views[view] = read_nifti(f, modality="NM", units=ValueUnit.COUNTS)
    return views


def load_mask(
    path: str | os.PathLike[str],
    *,
    reference: Volume | Geometry | None = None,
    policy: Policy = Policy.WARN,
) -> LabelMap:
    """Load a mask: NIfTI label map, DICOM SEG or RTSTRUCT.

    Parameters
    ----------
    path:
        The mask file.
    reference:
        The image the mask belongs to. SEG frames are placed onto its grid; RTSTRUCT contours
        are rasterised onto it (required); a NIfTI label map is checked against it and must
        lie on the same grid (no silent resampling).

    Raises
    ------
    GeometryError
        The mask does not lie on ``reference``'s grid.
    MaskError
        Unknown mask file type, or an RTSTRUCT without a reference image.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"mask {p} does not exist")
    if is_nifti(p):
        lm = read_labelmap(p)
        if reference is not None:
            lm.require_on(reference, image_name="its image")
        return lm
    ds, _ = read_header(p)
    sop = sop_class_uid_of(ds)
    if sop in SEG_SOP_CLASS_UIDS:
        return read_seg(p, reference=reference, policy=policy)
    if sop == RTSTRUCT_SOP_CLASS_UID:
        if reference is None:
            raise MaskError(f"RTSTRUCT {p} needs the image it was drawn on to be rasterised")
        return read_rtstruct(p, reference, policy=policy)
    raise MaskError(f"{p} is not a mask nelm reads (NIfTI label map, DICOM SEG or RTSTRUCT); SOP Class {sop}")
