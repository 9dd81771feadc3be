"""NIfTI-1/2 images and label maps, converted to and from nelm's LPS convention.

NIfTI stores an array indexed ``(i, j, k)`` and an affine from ``(i, j, k)`` to **RAS+** mm:
+x toward the patient's Right, +y Anterior, +z Superior. DICOM and nelm use **LPS+**: +x toward
the patient's Left, +y Posterior, +z Superior. The conversion is purely algebraic:

* ``LPS = F · RAS`` with ``F = diag(-1, -1, 1)`` (the DICOM and ITK convention; nibabel
  documents NIfTI world space as RAS+, DICOM's as LPS+).
* nelm indexes ``[slice, row, column] = [k, j, i]``, so the data array is transposed
  ``(2, 1, 0)`` and the affine columns are permuted the same way.

Hence ``A_nelm = F · A_ras · P`` with ``P`` the permutation ``(k, j, i) → (i, j, k)``. No voxel is
resampled or flipped: the geometry is carried exactly by the affine, whatever the file's
orientation. Writing applies the inverse.

The affine read is nibabel's ``img.affine`` (the sform when its code is set, else the qform, as
nibabel prefers). Scaled data (``scl_slope``) is applied for images; label maps must be stored
unscaled integers.

Sidecars
--------
NIfTI has no place for a modality, voxel units or acquisition time. nelm writes them to a JSON
sidecar beside the image (``ct.nii.gz`` → ``ct.json``, key ``"nelm_volume": 1``) and the label
table of a label map to ``<stem>.labels.json``. Both are optional when reading: without them the
caller states modality and units, and labels are named ``label <n>``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import zlib
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import numpy.typing as npt

from nelm.atomic import atomic_path
from nelm.errors import InputError, MaskError
from nelm.imaging.geometry import Geometry
from nelm.imaging.labelmap import Label, LabelMap
from nelm.imaging.metadata import Radiopharmaceutical, SeriesMetadata, ValueUnit
from nelm.imaging.volume import Volume

__all__ = [
    "is_nifti",
    "labels_sidecar_path",
    "read_labelmap",
    "read_nifti",
    "sidecar_path",
    "write_labelmap",
    "write_nifti",
]

logger = logging.getLogger(__name__)

_F = np.diag([-1.0, -1.0, 1.0, 1.0])
# P maps nelm index (k, j, i) to NIfTI index (i, j, k).
_P = np.array([[0.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]])


def is_nifti(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` has a NIfTI file name (``.nii`` or ``.nii.gz``)."""
    name = Path(path).name.lower()
    return name.endswith(".nii") or name.endswith(".nii.gz")


def _stem(path: Path) -> str:
    name = path.name
    for ext in (".nii.gz", ".nii"):
        if name.lower().endswith(ext):
            return name[: -len(ext)]
    return path.stem


def sidecar_path(path: str | os.PathLike[str]) -> Path:
    """The JSON sidecar of a NIfTI volume: ``ct.nii.gz`` → ``ct.json``."""
    p = Path(path)
    return p.with_name(_stem(p) + ".json")


def labels_sidecar_path(path: str | os.PathLike[str]) -> Path:
    """The label-table sidecar of a NIfTI label map: ``lesions.nii.gz`` → ``lesions.labels.json``."""
    p = Path(path)
    return p.with_name(_stem(p) + ".labels.json")


def ras_affine_to_lps(affine_ras: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """nelm affine (``[k, j, i]`` → LPS) from a NIfTI affine (``(i, j, k)`` → RAS)."""
    return np.asarray(_F @ np.asarray(affine_ras, dtype=float) @ _P)


def lps_affine_to_ras(affine_lps: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """NIfTI affine (``(i, j, k)`` → RAS) from a nelm affine (``[k, j, i]`` → LPS)."""
    return np.asarray(_F @ np.asarray(affine_lps, dtype=float) @ _P)


def _load(path: Path) -> tuple[Any, npt.NDArray[np.float64]]:
    if not path.exists():
        raise InputError(f"NIfTI file {path} does not exist")
    if not is_nifti(path):
        raise InputError(f"{path} is not a NIfTI file (expected .nii or .nii.gz)")
    try:
        img = nib.load(str(path))
        affine = np.asarray(img.affine, dtype=float)
    except Exception as exc:  # nibabel raises many types for corrupt files
        raise InputError(f"cannot read NIfTI file {path}: {exc}") from exc
    if len(img.shape) == 4 and img.shape[3] == 1:
        pass
    elif len(img.shape) != 3:
        raise InputError(f"NIfTI file {path} has shape {img.shape}; nelm reads 3-D volumes")
    return img, affine


def _data(img: Any, path: Path, *, scaled: bool) -> npt.NDArray[Any]:
    try:
        if scaled:
            arr = np.asanyarray(img.dataobj)
        else:
            arr = np.asanyarray(img.dataobj.get_unscaled())
            slope, inter = img.dataobj.slope, img.dataobj.inter
            if (slope not in (None, 1.0) and np.isfinite(slope)) or (
                inter not in (None, 0.0) and np.isfinite(inter)
            ):
                raise MaskError(
                    f"label map {path} has scl_slope/scl_inter ({slope}, {inter}); "
                    "labels must be stored as unscaled integers"
                )
    except (OSError, EOFError, ValueError, zlib.error) as exc:
        raise InputError(f"cannot read the voxel data of NIfTI file {path}: {exc}") from exc
    if arr.ndim == 4:
        arr = arr[..., 0]
    return np.ascontiguousarray(arr.transpose(2, 1, 0))


def _read_sidecar(path: Path) -> dict[str, Any]:
    side = sidecar_path(path)
    if not side.exists():
        return {}
    try:
        doc = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read NIfTI sidecar {side}: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("nelm_volume") != 1:
        logger.debug("%s is not a nelm sidecar; ignored", side)
        return {}
    return doc


def _radio_to_json(radio: Radiopharmaceutical | None) -> dict[str, Any] | None:
    if radio is None:
        return None
    out: dict[str, Any] = {}
    for f in dataclasses.fields(radio):
        value = getattr(radio, f.name)
        out[f.name] = value.isoformat() if isinstance(value, datetime) else value
    return out


def _radio_from_json(doc: Any, where: Path) -> Radiopharmaceutical | None:
    if doc is None:
        return None
    try:
        values = dict(doc)
        if values.get("injection_datetime"):
            values["injection_datetime"] = datetime.fromisoformat(values["injection_datetime"])
        return Radiopharmaceutical(**values)
    except (TypeError, ValueError) as exc:
        raise InputError(f"NIfTI sidecar {where}: invalid radiopharmaceutical: {exc}") from exc


def read_nifti(
    path: str | os.PathLike[str],
    *,
    modality: str | None = None,
    units: ValueUnit | None = None,
) -> Volume:
    """Read a 3-D NIfTI image as a :class:`Volume` in nelm's LPS convention.

    Parameters
    ----------
    path:
        ``.nii`` or ``.nii.gz`` file.
    modality, units:
        Override or supply what the sidecar (if any) says. Without either, the volume is
        ``OT`` with :attr:`ValueUnit.ARBITRARY` values.

    Raises
    ------
    InputError
        Missing, unreadable or non-3-D file, or a corrupt sidecar.
    """
    p = Path(path)
    img, affine_ras = _load(p)
    arr = _data(img, p, scaled=True)
    side = _read_sidecar(p)
    when = side.get("acquisition_datetime")
    try:
        acq = datetime.fromisoformat(when) if when else None
        vol_units = units or ValueUnit(side.get("units", ValueUnit.ARBITRARY.value))
    except ValueError as exc:
        raise InputError(f"NIfTI sidecar {sidecar_path(p)}: {exc}") from exc
    series_dt = side.get("series_datetime")
    try:
        series_datetime = datetime.fromisoformat(series_dt) if series_dt else None
    except ValueError as exc:
        raise InputError(f"NIfTI sidecar {sidecar_path(p)}: series_datetime: {exc}") from exc
    meta = SeriesMetadata(
        source=str(p),
        series_datetime=series_datetime,
        radiopharmaceutical=_radio_from_json(side.get("radiopharmaceutical"), sidecar_path(p)),
        series_description=str(side.get("series_description", "")),
        series_instance_uid=str(side.get("series_instance_uid", "")),
        study_instance_uid=str(side.get("study_instance_uid", "")),
        frame_of_reference_uid=str(side.get("frame_of_reference_uid", "")),
    )
    return Volume(
        array=arr,
        geometry=Geometry(shape=arr.shape, affine=ras_affine_to_lps(affine_ras)),
        modality=modality or str(side.get("modality", "OT")),
        units=vol_units,
        acquisition_datetime=acq,
        metadata=meta,
    )


def _nifti_image(array: npt.NDArray[Any], geometry: Geometry) -> Any:
    data = np.ascontiguousarray(array.transpose(2, 1, 0))
    affine = lps_affine_to_ras(geometry.affine)
    img = nib.Nifti1Image(data, affine)
    img.header.set_xyzt_units("mm", "sec")
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    return img


def _save(img: Any, path: Path) -> None:
    with atomic_path(path) as tmp:
        nib.save(img, str(tmp))


def write_nifti(volume: Volume, path: str | os.PathLike[str]) -> Path:
    """Write a :class:`Volume` as NIfTI (RAS) with a JSON sidecar; atomic. Returns the path.

    The sidecar holds modality, units, acquisition and series times, non-identifying series
    UIDs and, for PET/NM, the radiopharmaceutical (dose, injection time, half-life, decay
    correction, weight and height — what SUV needs; no patient identity).
    """
    p = Path(path)
    if not is_nifti(p):
        raise InputError(f"{p}: a NIfTI output needs a .nii or .nii.gz name")
    side = {
        "nelm_volume": 1,
        "modality": volume.modality,
        "units": volume.units.value,
        "acquisition_datetime": (
            volume.acquisition_datetime.isoformat() if volume.acquisition_datetime else None
        ),
        "series_description": volume.metadata.series_description,
        "study_instance_uid": volume.metadata.study_instance_uid,
        "series_instance_uid": volume.metadata.series_instance_uid,
        "frame_of_reference_uid": volume.metadata.frame_of_reference_uid,
        "series_datetime": (
            volume.metadata.series_datetime.isoformat() if volume.metadata.series_datetime else None
        ),
        "radiopharmaceutical": _radio_to_json(volume.metadata.radiopharmaceutical),
        "coordinate_note": "image affine is NIfTI RAS+; nelm converts to DICOM LPS on load",
    }
    with atomic_path(sidecar_path(p)) as tmp:
        tmp.write_text(json.dumps(side, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    _save(_nifti_image(volume.array, volume.geometry), p)
    return p


def read_labelmap(
    path: str | os.PathLike[str],
    *,
    labels: Mapping[int, str] | None = None,
) -> LabelMap:
    """Read a NIfTI label map (one integer per structure) as a :class:`LabelMap`.

    Parameters
    ----------
    path:
        ``.nii`` or ``.nii.gz`` file of non-negative integers (float files holding integral
        values are accepted).
    labels:
        Names by value, overriding the ``<stem>.labels.json`` sidecar. Values present in the
        array but named nowhere get ``"label <n>"``.

    Raises
    ------
    MaskError
        Scaled, non-integral or negative data, or a corrupt label sidecar.
    """
    p = Path(path)
    img, affine_ras = _load(p)
    arr = _data(img, p, scaled=False)
    if not np.issubdtype(arr.dtype, np.integer):
        if not np.all(np.isfinite(arr)) or not np.all(np.mod(arr, 1) == 0):
            raise MaskError(f"label map {p} holds non-integer values; is it an image, not a mask?")
        arr = arr.astype(np.int32)
    if arr.size and arr.min() < 0:
        raise MaskError(f"label map {p} holds negative values")
    table: dict[int, Label] = {}
    side = labels_sidecar_path(p)
    if labels is None and side.exists():
        try:
            doc = json.loads(side.read_text(encoding="utf-8"))
            for entry in doc["labels"]:
                lab = Label(
                    value=int(entry["value"]),
                    name=str(entry["name"]),
                    tracking_id=str(entry.get("tracking_id", "")),
                    tracking_uid=str(entry.get("tracking_uid", "")),
                )
                table[lab.value] = lab
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise MaskError(f"label sidecar {side} is invalid: {exc!r}") from exc
    elif labels is not None:
        table = {int(v): Label(int(v), name) for v, name in labels.items()}
    for v in (int(x) for x in np.unique(arr)):
        if v != 0 and v not in table:
            table[v] = Label(v, f"label {v}")
    small = arr.astype(np.uint16) if arr.size and arr.max() < 2**16 else arr
    return LabelMap(
        array=small,
        geometry=Geometry(shape=arr.shape, affine=ras_affine_to_lps(affine_ras)),
        labels=table,
        source=str(p),
    )


def write_labelmap(labelmap: LabelMap, path: str | os.PathLike[str]) -> Path:
    """Write a :class:`LabelMap` as a NIfTI integer image plus its label sidecar; atomic."""
    p = Path(path)
    if not is_nifti(p):
        raise InputError(f"{p}: a NIfTI output needs a .nii or .nii.gz name")
    doc = {
        "nelm_labels": 1,
        "labels": [
            {
                "value": lab.value,
                "name": lab.name,
                "tracking_id": lab.tracking_id,
                "tracking_uid": lab.tracking_uid,
            }
            for lab in labelmap.labels.values()
        ],
    }
    with atomic_path(labels_sidecar_path(p)) as tmp:
        tmp.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    arr = labelmap.array
    dtype = np.uint8 if arr.size == 0 or arr.max() < 256 else np.uint16 if arr.max() < 2**16 else np.int32
    _save(_nifti_image(arr.astype(dtype), labelmap.geometry), p)
    return p
