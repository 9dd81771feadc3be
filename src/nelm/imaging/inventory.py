"""What a file or folder holds: the library behind ``nelm info``.

Each item found becomes an :class:`Item` with a kind, a one-line summary and JSON-serialisable
details (geometry, modality, units, labels, radiopharmaceutical). Folders are searched
recursively for DICOM series, NIfTI files and case manifests. A file that cannot be read
becomes an item of kind ``"unreadable"`` with the reason, so one bad file does not hide the rest.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pydicom

from nelm.errors import NelmError
from nelm.imaging.dicom_common import SUPPORTED_SOP_CLASSES
from nelm.imaging.dicom_discover import SeriesInfo, find_series, scan_files, series_info
from nelm.imaging.dicom_nm import read_nm_planar
from nelm.imaging.dicom_read import read_series
from nelm.imaging.labelmap import LabelMap
from nelm.imaging.nifti import is_nifti, labels_sidecar_path, read_labelmap, read_nifti
from nelm.imaging.rtstruct import RTSTRUCT_SOP_CLASS_UID, roi_names
from nelm.imaging.seg import SEG_SOP_CLASS_UIDS, read_seg_segments
from nelm.imaging.volume import Volume
from nelm.policy import Policy

__all__ = ["Item", "inventory"]

logger = logging.getLogger(__name__)

_MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
#: An integer NIfTI without a label sidecar is shown as a label map when it holds at most this
#: many distinct values (a CT in HU holds thousands).
_MAX_LABELS_GUESS = 256


@dataclass(frozen=True)
class Item:
    """One thing found at a path."""

    path: str
    kind: str
    """``dicom-series``, ``dicom-planar``, ``dicom-seg``, ``dicom-rtstruct``, ``dicom-other`` (an SR,
    a mapping …: listed, not loaded), ``nifti-image``, ``nifti-labelmap``, ``case-manifest`` or
    ``unreadable``."""
    summary: str
    details: dict[str, Any] = field(default_factory=dict)


def _volume_details(v: Volume) -> dict[str, Any]:
    d: dict[str, Any] = {
        "modality": v.modality,
        "units": v.units.value,
        "geometry": v.geometry.to_dict(),
        "dtype": str(v.array.dtype),
        "value_range": [float(np.min(v.array)), float(np.max(v.array))],
        "acquisition_datetime": v.acquisition_datetime.isoformat() if v.acquisition_datetime else None,
        "series_description": v.metadata.series_description,
        "series_instance_uid": v.metadata.series_instance_uid,
    }
    rp = v.metadata.radiopharmaceutical
    if rp is not None:
        d["radiopharmaceutical"] = {
            "radionuclide": rp.radionuclide,
            "radiopharmaceutical": rp.radiopharmaceutical,
            "injected_activity_bq": rp.injected_activity_bq,
            "injection_datetime": rp.injection_datetime.isoformat() if rp.injection_datetime else None,
            "half_life_s": rp.half_life_s,
            "decay_correction": rp.decay_correction,
            "units": rp.units,
        }
    if v.metadata.warnings:
        d["warnings"] = list(v.metadata.warnings)
    return d


def _labels_details(lm: LabelMap) -> dict[str, Any]:
    counts = np.bincount(lm.array.ravel().astype(np.int64))
    return {
        "geometry": lm.geometry.to_dict(),
        "labels": [
            {
                "value": lab.value,
                "name": lab.name,
                "tracking_id": lab.tracking_id,
                "voxels": int(counts[lab.value]) if lab.value < counts.size else 0,
                "volume_ml": (int(counts[lab.value]) if lab.value < counts.size else 0)
                * lm.geometry.voxel_volume_ml,
            }
            for lab in lm.labels.values()
        ],
    }


def _volume_item(path: str, kind: str, v: Volume) -> Item:
    return Item(path, kind, v.describe(), _volume_details(v))


def _nifti_item(p: Path) -> Item:
    vol = read_nifti(p)
    arr = vol.array
    looks_labels = labels_sidecar_path(p).exists() or (
        np.issubdtype(arr.dtype, np.integer) and arr.min() >= 0 and np.unique(arr).size <= _MAX_LABELS_GUESS
    )
    if looks_labels:
        lm = read_labelmap(p)
        n = len(lm.labels)
        return Item(
            str(p),
            "nifti-labelmap",
            f"label map, {n} label(s), {lm.geometry.describe()}",
            _labels_details(lm),
        )
    return _volume_item(str(p), "nifti-image", vol)


def _manifest_item(p: Path) -> Item | None:
    from nelm.case import load_case

    text = p.read_text(encoding="utf-8", errors="replace")[:4096]
    if "nelm_manifest" not in text:
        return None
    case = load_case(p)
    tps = [
        f"{tp.id} ({tp.kind.value}, {tp.date}): {len(tp.images)} image(s), {len(tp.masks)} mask(s)"
        for tp in case.time_points
    ]
    return Item(
        str(p),
        "case-manifest",
        f"case {case.case_id}: {len(case.time_points)} time point(s), {len(case.treatments)} treatment(s)",
        {"case_id": case.case_id, "time_points": tps, "treatments": [t.type.value for t in case.treatments]},
    )


def _series_item(info: SeriesInfo, policy: Policy) -> Item:
    where = str(info.files[0].parent if len(info.files) > 1 else info.files[0])
    if info.sop_class_uid in SEG_SOP_CLASS_UIDS:
        segs = read_seg_segments(info.files[0], policy=policy)
        labels = [lab for lm in segs.values() for lab in lm.labels.values()]
        details: dict[str, Any] = {
            "segments": [
                {"number": k, "name": lab.name, "tracking_id": lab.tracking_id}
                for k, lab in zip(segs, labels, strict=True)
            ]
        }
        return Item(str(info.files[0]), "dicom-seg", f"DICOM SEG, {len(segs)} segment(s)", details)
    if info.sop_class_uid == RTSTRUCT_SOP_CLASS_UID:
        names = roi_names(info.files[0])
        return Item(
            str(info.files[0]), "dicom-rtstruct", f"RTSTRUCT, ROIs: {', '.join(names)}", {"rois": names}
        )
    if info.sop_class_uid not in SUPPORTED_SOP_CLASSES:
        name = pydicom.uid.UID(info.sop_class_uid).name if info.sop_class_uid else "unknown SOP Class"
        return Item(str(info.files[0]), "dicom-other", f"{name}: not an image or mask nelm loads", {})
    if info.modality == "NM" and len(info.files) == 1:
        try:
            views = read_nm_planar(info.files[0], policy=policy)
        except NelmError:
            views = {}
        if views:
            details = {name: _volume_details(v) for name, v in views.items()}
            return Item(str(info.files[0]), "dicom-planar", f"planar NM, views {', '.join(views)}", details)
    vol = read_series(list(info.files), policy=policy)
    item = _volume_item(where, "dicom-series", vol)
    item.details["files"] = len(info.files)
    return item


def _safe(path: Path, make: Any) -> Item | None:
    try:
        result: Item | None = make()
    except NelmError as exc:
        return Item(str(path), "unreadable", str(exc))
    return result


def inventory(path: str | os.PathLike[str], *, policy: Policy = Policy.WARN) -> list[Item]:
    """Describe what ``path`` (a file or a folder, searched recursively) holds.

    Raises
    ------
    InputError
        If ``path`` does not exist.
    """
    from nelm.errors import InputError

    root = Path(path)
    if not root.exists():
        raise InputError(f"{root} does not exist")
    if root.is_file():
        if is_nifti(root):
            return [item] if (item := _safe(root, lambda: _nifti_item(root))) else []
        if root.suffix.lower() in _MANIFEST_SUFFIXES:
            item = _safe(root, lambda: _manifest_item(root))
            return [item] if item else [Item(str(root), "unreadable", "not a nelm case manifest")]
        item = _safe(
            root, lambda: _series_item(series_info(scan_files([root], policy=policy, strict=True)), policy)
        )
        return [item] if item else []
    items: list[Item] = []
    for info in find_series(root, policy=policy):
        if (item := _safe(info.files[0], lambda info=info: _series_item(info, policy))) is not None:
            items.append(item)
    for p in sorted(root.rglob("*")):
        if p.is_file() and is_nifti(p):
            if (item := _safe(p, lambda p=p: _nifti_item(p))) is not None:
                items.append(item)
        elif (
            p.is_file()
            and p.suffix.lower() in _MANIFEST_SUFFIXES
            and not p.name.endswith(".labels.json")
            and (item := _safe(p, lambda p=p: _manifest_item(p))) is not None
        ):
            items.append(item)
    return items
