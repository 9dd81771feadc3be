"""NM image layouts: reconstructed SPECT (RECON TOMO) frames and planar views.

* **RECON TOMO** (:func:`nm_tomo_frames`): one multi-frame NM file whose frames are slices.
  The position and orientation of the first slice come from the Detector Information Sequence
  (0054,0022); slice ``s`` of the Slice Vector (0054,0080) lies ``(s − 1)`` × Spacing Between
  Slices (0018,0088) along the normal ``IOP[:3] × IOP[3:]`` (Slice Thickness when the spacing
  is absent, with a policy message). :func:`~nelm.imaging.dicom_read.read_series` stacks them.
* **Planar** NM (STATIC, WHOLE BODY) holds one image per view: :func:`read_nm_planar` returns
  each view as a one-slice volume. Planar images have no patient position; nelm's convention
  is an origin at (0, 0, 0) mm, rows running head to feet (−S), columns to the patient's left
  (+L) for anterior-type views and to the patient's right (−L) for posterior views (the image
  as seen from the detector), and a nominal 1 mm slice axis along the viewing direction.

:mod:`nelm.imaging.dicom_read` dispatches NM files here. Both modules build their volumes with
the shared helpers of :mod:`nelm.imaging.dicom_common` and :mod:`nelm.imaging.dicom_pixels`;
this module does not import :mod:`nelm.imaging.dicom_read`.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, tzinfo
from pathlib import Path
from typing import Final

import numpy as np
from pydicom.dataset import Dataset

from nelm.errors import DicomError
from nelm.imaging import dicom_common as dc
from nelm.imaging.dicom_common import floats, frame_plane, modality_of, required, series_timezone
from nelm.imaging.dicom_discover import Header, scan_files
from nelm.imaging.dicom_pixels import Frame, build_volume, check_pixel_module, direct_fields, rescale
from nelm.imaging.volume import Volume
from nelm.policy import Policy, apply_policy

__all__ = ["PLANAR_TYPES", "TOMO_TYPES", "nm_image_type", "nm_tomo_frames", "read_nm_planar"]

logger = logging.getLogger(__name__)

#: Image Type (0008,0008) value 3 of planar NM images, read one volume per view.
PLANAR_TYPES: Final = frozenset({"STATIC", "WHOLE BODY", "DYNAMIC", "GATED"})
#: Image Type (0008,0008) value 3 of reconstructed NM (SPECT) images, read as one volume.
TOMO_TYPES: Final = frozenset({"RECON TOMO", "RECON GATED TOMO"})


def nm_image_type(ds: Dataset) -> str:
    """Value 3 of Image Type (0008,0008), upper case (``"RECON TOMO"``, ``"STATIC"`` …), or ``""``."""
    image_type = ds.get("ImageType") or []
    return str(image_type[2]).strip().upper() if len(image_type) > 2 else ""


def nm_tomo_frames(h: Header, policy: Policy, warnings: list[str]) -> list[Frame]:
    """The slices of a RECON TOMO file as frames placed in patient space (module docstring)."""
    ds, where = h.dataset, str(h.path)
    check_pixel_module(ds, where)
    detectors = ds.get("DetectorInformationSequence") or []
    if not detectors:
        raise DicomError(
            f"{where}: NM RECON TOMO image has no Detector Information Sequence (0054,0022) with its position"
        )
    base = frame_plane(ds, detectors[0], detectors[0], ds, f"{where} (Detector Information Sequence)")
    spacing = dc.float_or_none(ds.get("SpacingBetweenSlices"))
    if spacing is None or spacing == 0:
        spacing = dc.float_or_none(ds.get("SliceThickness"))
        if spacing is None or spacing <= 0:
            raise DicomError(
                f"{where}: NM RECON TOMO image has neither Spacing Between Slices (0018,0088) "
                "nor Slice Thickness (0018,0050)"
            )
        apply_policy(
            policy,
            f"{where}: no Spacing Between Slices (0018,0088); slice spacing taken from "
            f"Slice Thickness {spacing} mm",
            logger=logger,
            warnings=warnings,
            error=DicomError,
        )
    n = int(ds.get("NumberOfFrames") or 1)
    slice_vector = [int(v) for v in (ds.get("SliceVector") or range(1, n + 1))]
    if len(slice_vector) != n:
        raise DicomError(f"{where}: Slice Vector (0054,0080) has {len(slice_vector)} entries for {n} frames")
    slope, intercept = rescale(ds, where)
    ts = dc.check_transfer_syntax(ds, where)
    origin = np.asarray(base.position_mm)
    frames = []
    for i, s in enumerate(slice_vector):
        pos = origin + (s - 1) * spacing * base.normal
        plane = dc.FramePlane(
            f"{where} frame {i + 1}",
            (pos[0], pos[1], pos[2]),
            base.orientation,
            base.pixel_spacing_mm,
            base.rows,
            base.columns,
        )
        frames.append(
            Frame(h.path, i, plane, slope, intercept, dc.stored_range(ds), ts, **direct_fields(h, ts))
        )
    return frames


def _view_name(ds: Dataset, detector: int) -> str:
    detectors = ds.get("DetectorInformationSequence") or []
    if 1 <= detector <= len(detectors):
        codes = detectors[detector - 1].get("ViewCodeSequence") or []
        if codes:
            meaning = dc.text_of(codes[0], "CodeMeaning").upper()
            meaning = meaning.removesuffix(" PROJECTION").strip()
            if meaning:
                return meaning.replace(" ", "_")
    return f"DETECTOR{detector}"


def read_nm_planar(
    path: str | os.PathLike[str],
    *,
    policy: Policy = Policy.WARN,
    assume_timezone: tzinfo = UTC,
) -> dict[str, Volume]:
    """Read a planar NM file (STATIC, WHOLE BODY) as one single-slice volume per view.

    Views are named from the View Code Sequence (0054,0220) of each detector
    (``"ANTERIOR"``, ``"POSTERIOR"`` …), else ``"DETECTOR<n>"``; with several energy windows
    the window name (or ``"EW<n>"``) is appended. Geometry follows nelm's planar convention
    (module docstring).

    Raises
    ------
    DicomError
        Not an NM file, or a view with more than one frame (dynamic/gated planar).
    """
    p = Path(path)
    warnings: list[str] = []
    header = scan_files([p], policy=policy, strict=True)[0]
    ds = header.dataset
    if modality_of(ds) != "NM":
        raise DicomError(f"{p}: not an NM image (SOP Class {dc.sop_class_uid_of(ds)})")
    check_pixel_module(ds, str(p))
    n = int(ds.get("NumberOfFrames") or 1)
    detectors = [int(v) for v in (ds.get("DetectorVector") or [1] * n)]
    windows = [int(v) for v in (ds.get("EnergyWindowVector") or [1] * n)]
    n_windows = int(ds.get("NumberOfEnergyWindows") or 1)
    if len(detectors) != n or len(windows) != n:
        raise DicomError(
            f"{p}: Detector Vector/Energy Window Vector lengths do not match Number of Frames {n}"
        )
    spacing = floats(required(ds, "PixelSpacing", "(0028,0030)", str(p)), 2, "PixelSpacing", str(p))
    slope, intercept = rescale(ds, str(p))
    ts = dc.check_transfer_syntax(ds, p)
    tz = series_timezone(ds, str(p), assume_timezone, policy, warnings)
    energy = ds.get("EnergyWindowInformationSequence") or []
    frames: dict[str, Frame] = {}
    for i in range(n):
        name = _view_name(ds, detectors[i])
        if n_windows > 1:
            w = windows[i]
            label = dc.text_of(energy[w - 1], "EnergyWindowName") if 1 <= w <= len(energy) else ""
            name += "_" + (label.upper().replace(" ", "_") or f"EW{w}")
        if name in frames:
            raise DicomError(
                f"{p}: view {name} has more than one frame (dynamic or gated planar NM is not supported)"
            )
        orientation = dc.planar_orientation(name)
        plane = dc.FramePlane(
            f"{p} frame {i + 1} ({name})",
            (0.0, 0.0, 0.0),
            orientation,
            (spacing[0], spacing[1]),
            int(ds.Rows),
            int(ds.Columns),
        )
        frames[name] = Frame(
            p, i, plane, slope, intercept, dc.stored_range(ds), ts, **direct_fields(header, ts)
        )
    views = {}
    for name, frame in frames.items():
        views[name] = build_volume(
            [header],
            [frame],
            modality="NM",
            source=f"{p} [{name}]",
            tz=tz,
            policy=policy,
            warnings=list(warnings),
            single_slice_step_mm=1.0,
        )
    return views
