"""Load a DICOM series — single-frame files, an enhanced multi-frame file, or an NM file — as a
:class:`~nelm.imaging.volume.Volume`.

What is read, and how
---------------------
* **Which files.** ``path`` is a folder (searched recursively; it must hold exactly one image
  series unless ``series_uid`` picks one), a single file, or a list of files (which must all
  belong to one series).
* **Geometry.** Every frame's Image Position/Orientation (Patient) and Pixel Spacing — from the
  top level (CT, MR, PET Image Storage), the Per-frame or Shared Functional Groups (Enhanced and
  Legacy Converted Enhanced CT/MR/PET), or the Detector Information Sequence plus Spacing
  Between Slices (NM RECON TOMO) — goes through
  :func:`~nelm.imaging.dicom_common.stack_planes`: frames are sorted by their position along the
  normal ``IOP[:3] × IOP[3:]`` and the slice step is measured from the positions, never taken
  from Slice Thickness (which is kept in the metadata only). Missing tags, non-parallel frames,
  duplicates, gaps and frames of different sizes are errors whatever the policy.
* **Values.** Each frame's own Rescale Slope/Intercept (PS3.3 C.11.1.1.2, ``v = m·sv + b``) is
  applied: PET slices routinely have different slopes. A single-frame image without them (the
  classic MR Image IOD has no Modality LUT) whose Real World Value Mapping Sequence (0040,9096)
  holds exactly one linear item gets that item's slope and intercept instead
  (:func:`~nelm.imaging.dicom_pixels.real_world_rescale`); this is how nelm writes MR. The
  output is ``float32`` if any slope is not 1 or any intercept not an integer, else the smallest
  integer type that holds the stored range (see :func:`~nelm.imaging.dicom_common.output_dtype`).
* **Time.** The acquisition datetime of a frame is Acquisition DateTime (0008,002A), else
  Acquisition Date + Acquisition Time (the date falling back to Series Date when only the time
  is present), else Series Date + Series Time; Frame Acquisition DateTime in enhanced files. The
  volume's :attr:`~nelm.imaging.volume.Volume.acquisition_datetime` is the **earliest** over all
  frames (the start of the acquisition; for a multi-bed PET, the first bed). Local times are in
  Timezone Offset From UTC (0008,0201) when present, otherwise in ``assume_timezone`` — and the
  metadata's warnings say so.
* **Memory and pixels.** Headers are read first without pixel data; the output array is
  allocated once and filled frame by frame (:func:`~nelm.imaging.dicom_pixels.load_pixels`),
  so the peak is about one volume plus one frame. Uncompressed little-endian frames are read
  straight from the file into it; compressed frames go through pydicom's decoders one at a time.
* **Frame duration.** :attr:`~nelm.imaging.metadata.SeriesMetadata.frame_duration_s` is Actual
  Frame Duration (0018,1242, IS, in ms) of the first file divided by 1000, when present and
  positive; 0 (nelm writes it for planar NM of unknown duration) and absence give ``None``.

NM files are read by :mod:`nelm.imaging.dicom_nm`: RECON TOMO as one volume here, planar NM
(STATIC, WHOLE BODY) by :func:`~nelm.imaging.dicom_nm.read_nm_planar`, one volume per view
(a planar file with a single view is also returned here).
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Sequence
from datetime import UTC, tzinfo
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset
from pydicom.uid import UID

from nelm.errors import DicomError, InputError
from nelm.imaging import dicom_common as dc
from nelm.imaging.dicom_common import SUPPORTED_SOP_CLASSES, frame_plane, modality_of, series_timezone
from nelm.imaging.dicom_discover import Header, group_headers, scan_files, series_info, walk_files
from nelm.imaging.dicom_nm import PLANAR_TYPES, TOMO_TYPES, nm_image_type, nm_tomo_frames, read_nm_planar
from nelm.imaging.dicom_pixels import (
    Frame,
    build_volume,
    check_pixel_module,
    direct_fields,
    real_world_rescale,
    rescale,
)
from nelm.imaging.volume import Volume
from nelm.policy import Policy

__all__ = ["SUPPORTED_SOP_CLASSES", "read_series"]

logger = logging.getLogger(__name__)


# -- choosing the files -----------------------------------------------------------------------
def _select_headers(
    path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    series_uid: str | None,
    policy: Policy,
    warnings: list[str],
) -> tuple[list[Header], str]:
    if isinstance(path, (str, os.PathLike)):
        p = Path(path)
        if p.is_file():
            return scan_files([p], policy=policy, strict=True), str(p)
        if not p.is_dir():
            raise InputError(f"{p}: no such file or folder")
        groups = group_headers(
            scan_files(walk_files(p), policy=policy, warnings=warnings), policy=policy, warnings=warnings
        )
        images = {k: g for k, g in groups.items() if modality_of(g[0].dataset) is not None}
        listing = "\n  ".join(series_info(g).describe() for g in groups.values()) or "(none)"
        if series_uid is not None:
            chosen = [
                g for g in images.values() if dc.text_of(g[0].dataset, "SeriesInstanceUID") == series_uid
            ]
            if not chosen:
                raise DicomError(
                    f"{p}: no image series with Series Instance UID {series_uid}; found:\n  {listing}"
                )
            return chosen[0], str(p)
        if len(images) == 1:
            return next(iter(images.values())), str(p)
        if not images:
            raise DicomError(f"{p}: no CT, MR, PET or NM image series found; found:\n  {listing}")
        raise DicomError(
            f"{p}: the folder holds {len(images)} image series; pass series_uid= to choose one:\n  {listing}"
        )
    files = [Path(f) for f in path]
    if not files:
        raise InputError("an empty list of files was given")
    headers = scan_files(files, policy=policy, strict=True)
    groups = group_headers(headers, policy=policy, warnings=warnings)
    if len(groups) > 1:
        detail = "\n  ".join(
            f"{series_info(g).describe()}: {', '.join(h.path.name for h in g)}" for g in groups.values()
        )
        raise DicomError(
            f"the {len(files)} files given belong to {len(groups)} different series:\n  {detail}"
        )
    return headers, f"{len(files)} files in {files[0].parent}"


# -- frames of single-frame and enhanced files ----------------------------------------------
def _single_frames(headers: list[Header]) -> list[Frame]:
    frames = []
    for h in headers:
        ds, where = h.dataset, str(h.path)
        check_pixel_module(ds, where)
        if int(ds.get("NumberOfFrames") or 1) > 1:
            raise DicomError(
                f"{where}: {ds.NumberOfFrames} frames without functional groups; not a supported layout"
            )
        ts = dc.check_transfer_syntax(ds, where)
        slope, intercept = rescale(ds, where)
        if "RescaleSlope" not in ds and "RescaleIntercept" not in ds:  # no Modality LUT (classic MR)
            slope, intercept = real_world_rescale(ds, where) or (slope, intercept)
        plane = frame_plane(ds, ds, ds, ds, where)
        frames.append(
            Frame(h.path, None, plane, slope, intercept, dc.stored_range(ds), ts, **direct_fields(h, ts))
        )
    return frames


def _enhanced_frames(h: Header, tz: tzinfo, policy: Policy, warnings: list[str]) -> list[Frame]:
    ds = h.dataset
    check_pixel_module(ds, str(h.path))
    ts = dc.check_transfer_syntax(ds, h.path)
    n = int(ds.get("NumberOfFrames") or 1)
    per = ds.get("PerFrameFunctionalGroupsSequence") or []
    frames = []
    for i in range(n):
        where = f"{h.path} frame {i + 1}"
        pf = per[i] if i < len(per) else None
        items: dict[str, Dataset] = {}
        for keyword in ("PlanePositionSequence", "PlaneOrientationSequence", "PixelMeasuresSequence"):
            item = dc.functional_group_item(ds, pf, keyword)
            if item is None:
                raise DicomError(f"{where}: functional group {keyword} is missing (per-frame and shared)")
            items[keyword] = item
        plane = frame_plane(
            ds,
            items["PlanePositionSequence"],
            items["PlaneOrientationSequence"],
            items["PixelMeasuresSequence"],
            where,
        )
        slope, intercept = rescale(
            dc.functional_group_item(ds, pf, "PixelValueTransformationSequence"), where
        )
        content = dc.functional_group_item(ds, pf, "FrameContentSequence")
        acquired = None
        if content is not None:
            frame_time = dc.text_of(content, "FrameAcquisitionDateTime")
            acquired = dc.parse_or_warn(
                functools.partial(dc.parse_datetime, frame_time, tz),
                where,
                "FrameAcquisitionDateTime (0018,9074)",
                policy,
                warnings,
            )
        frames.append(
            Frame(
                h.path, i, plane, slope, intercept, dc.stored_range(ds), ts, acquired, **direct_fields(h, ts)
            )
        )
    return frames


def _single_step(ds: Dataset) -> float:
    for keyword in ("SpacingBetweenSlices", "SliceThickness"):
        value = dc.float_or_none(ds.get(keyword))
        if value is not None and value > 0:
            return value
    return 1.0


# -- public API -------------------------------------------------------------------------------
def read_series(
    path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    series_uid: str | None = None,
    policy: Policy = Policy.WARN,
    assume_timezone: tzinfo = UTC,
) -> Volume:
    """Load one DICOM image series as a :class:`Volume` (see the module docstring).

    Parameters
    ----------
    path:
        A folder (recursively), a single file, or a list of files of one series.
    series_uid:
        Series Instance UID to load when a folder holds several series.
    policy:
        What to do about tolerable problems (unreadable stray files in a folder, malformed
        optional dates, unknown PET units). Geometry problems always raise.
    assume_timezone:
        Zone of DICOM local times when Timezone Offset From UTC (0008,0201) is absent.

    Returns
    -------
    Volume
        Indexed ``[slice, row, column]`` with an index → LPS mm affine, rescaled values,
        a timezone-aware acquisition datetime and :class:`SeriesMetadata`.

    Raises
    ------
    DicomError
        Unreadable/truncated/corrupt files, unsupported transfer syntax or SOP class, several
        series where one is needed, missing position/orientation/spacing tags, frames of
        different sizes.
    GeometryError
        Non-parallel frames, duplicate positions, gaps.
    """
    warnings: list[str] = []
    headers, source = _select_headers(path, series_uid, policy, warnings)
    first = headers[0]
    modality = modality_of(first.dataset)
    if modality is None:
        sop = dc.sop_class_uid_of(first.dataset)
        raise DicomError(
            f"{first.path}: SOP Class {sop} ({UID(sop).name if sop else 'none'}) is not an image nelm "
            "loads as a volume; supported: CT, MR, PET (also Enhanced/Legacy Converted) and NM Image Storage"
        )
    tz = series_timezone(first.dataset, str(first.path), assume_timezone, policy, warnings)
    common: dict[str, Any] = {
        "modality": modality,
        "source": source,
        "tz": tz,
        "policy": policy,
        "warnings": warnings,
    }
    if modality == "NM":
        if len(headers) > 1:
            raise DicomError(
                f"{source}: {len(headers)} NM files in one series; NM images are multi-frame files: "
                "read each file on its own"
            )
        image_type = nm_image_type(first.dataset)
        if image_type in TOMO_TYPES:
            frames = nm_tomo_frames(first, policy, warnings)
            return build_volume(headers, frames, single_slice_step_mm=1.0, **common)
        if image_type in PLANAR_TYPES:
            views = read_nm_planar(first.path, policy=policy, assume_timezone=assume_timezone)
            if len(views) == 1:
                return next(iter(views.values()))
            raise DicomError(
                f"{first.path}: planar NM ({image_type}) with {len(views)} views ({', '.join(views)}); "
                "use read_nm_planar() to get each view"
            )
        raise DicomError(
            f"{first.path}: NM Image Type (0008,0008) value 3 is {image_type or 'missing'}; nelm reads "
            "reconstructed SPECT (RECON TOMO) and planar images, not raw projections"
        )
    if any(
        h.dataset.get("PerFrameFunctionalGroupsSequence") or h.dataset.get("SharedFunctionalGroupsSequence")
        for h in headers
    ):
        frames = [f for h in headers for f in _enhanced_frames(h, tz, policy, warnings)]
    else:
        frames = _single_frames(headers)
    return build_volume(headers, frames, single_slice_step_mm=_single_step(first.dataset), **common)
