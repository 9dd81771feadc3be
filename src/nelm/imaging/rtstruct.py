"""DICOM RT Structure Sets (RTSTRUCT) rasterised onto an image grid.

An RTSTRUCT stores each region of interest (ROI) as planar polygons in patient LPS mm
(ROI Contour Module, DICOM PS3.3 C.8.8.6): Contour Data (3006,0050) is a flat list
``x1, y1, z1, x2, …`` of a closed polygon whose last point joins the first. nelm rasterises
them onto the grid of the image series they were drawn on:

1. Every point is mapped to a fractional voxel index with ``reference.world_to_index``. All
   points of a contour must lie in one slice plane of the reference: their slice index must be
   within :data:`SLICE_TOLERANCE` (0.1 of the slice spacing) of one integer. Otherwise the
   contour is tilted or falls between slices and :class:`~nelm.errors.GeometryError` names the
   ROI and the contour number.
2. Per slice, all contours of one ROI are filled together with the **even-odd rule**: a pixel
   is inside when a ray from its centre crosses the ROI's contours an odd number of times, so a
   contour nested in another is a hole (the convention of DICOM's ``CLOSEDPLANAR_XOR`` and of
   most treatment-planning systems for RTSTRUCT holes).
3. A pixel belongs to the polygon when its **centre** is inside (pixel-centre sampling, as
   ``matplotlib.path.Path.contains_points`` or ``skimage.draw.polygon``). Centres exactly on an
   edge follow the half-open "top-left" rule of scan-line fill: on a left or upper edge they
   are in, on a right or lower edge out — so an axis-aligned square whose corners fall on pixel
   boundaries or centres covers exactly its area in pixels, and two polygons sharing an edge
   never both claim a pixel on it.

The filled area differs from the polygon's area by at most about half a pixel along the
perimeter: ``|N·a − A| ≲ P·√a / 2`` for area ``A``, perimeter ``P`` and pixel area ``a``.

Only ``CLOSED_PLANAR`` (and ``CLOSEDPLANAR_XOR``) contours enclose an area; ``POINT``,
``OPEN_PLANAR`` and ``OPEN_NONPLANAR`` contours are skipped with a policy message.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from nelm.errors import DicomError, GeometryError, InputError, MaskError
from nelm.imaging.geometry import Geometry
from nelm.imaging.labelmap import Label, LabelMap
from nelm.imaging.volume import Volume
from nelm.policy import Policy, apply_policy

__all__ = [
    "RTSTRUCT_SOP_CLASS_UID",
    "SLICE_TOLERANCE",
    "rasterize_polygons",
    "read_rtstruct",
    "read_rtstruct_rois",
    "roi_names",
]

logger = logging.getLogger(__name__)

#: RT Structure Set Storage.
RTSTRUCT_SOP_CLASS_UID: Final[str] = "1.2.840.10008.5.1.4.1.1.481.3"

#: Largest distance of a contour point from its slice plane, as a fraction of the slice
#: spacing (0.1 × 3 mm = 0.3 mm). Contour z values written by planning systems are the slice
#: positions rounded to 0.01 mm or so; a contour more than a tenth of a slice away belongs to
#: another grid.
SLICE_TOLERANCE: Final[float] = 0.1

_CLOSED_TYPES: Final[frozenset[str]] = frozenset({"CLOSED_PLANAR", "CLOSEDPLANAR_XOR"})


# ---------------------------------------------------------------------------------------------
# Rasterisation
# ---------------------------------------------------------------------------------------------
def rasterize_polygons(polygons: Sequence[npt.ArrayLike], shape: tuple[int, int]) -> npt.NDArray[np.bool_]:
    """Fill closed polygons on a pixel grid with the even-odd rule and pixel-centre sampling.

    Vectorised scan-line fill: for each edge, the rows ``r`` with ``min(r0, r1) ≤ r <
    max(r0, r1)`` get one crossing at the edge's column there; per row the sorted crossings
    pair up into spans ``[x₂ₖ, x₂ₖ₊₁)`` and pixel centres ``c`` with ``x₂ₖ ≤ c < x₂ₖ₊₁`` are
    filled (Foley et al., *Computer Graphics: Principles and Practice*, 2nd ed., §3.6). All
    polygons are filled together, so overlapping or nested ones combine by even-odd (XOR).

    Parameters
    ----------
    polygons:
        Each an ``(n, 2)`` array of vertices as fractional ``(row, column)`` indices; the
        last vertex joins the first. Vertices may lie outside the grid (clipped).
    shape:
        ``(rows, columns)`` of the output.

    Returns
    -------
    numpy.ndarray
        Boolean ``(rows, columns)`` mask.
    """
    n_rows, n_cols = int(shape[0]), int(shape[1])
    all_rows: list[npt.NDArray[np.int64]] = []
    all_x: list[npt.NDArray[np.float64]] = []
    for poly in polygons:
        p = np.asarray(poly, dtype=np.float64)
        if p.ndim != 2 or p.shape[1] != 2:
            raise InputError(f"a polygon must be an (n, 2) array of (row, column), got shape {p.shape}")
        if len(p) < 3:
            continue
        r0, c0 = p[:, 0], p[:, 1]
        r1, c1 = np.roll(r0, -1), np.roll(c0, -1)
        keep = r0 != r1  # horizontal (and zero-length) edges cross no row
        r0, c0, r1, c1 = r0[keep], c0[keep], r1[keep], c1[keep]
        first = np.clip(np.ceil(np.minimum(r0, r1)), 0, n_rows).astype(np.int64)
        stop = np.clip(np.ceil(np.maximum(r0, r1)), 0, n_rows).astype(np.int64)
        counts = np.maximum(stop - first, 0)
        total = int(counts.sum())
        if total == 0:
            continue
        edge = np.repeat(np.arange(len(r0)), counts)
        within = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        rows = first[edge] + within
        x = c0[edge] + (rows - r0[edge]) * (c1[edge] - c0[edge]) / (r1[edge] - r0[edge])
        all_rows.append(rows)
        all_x.append(x)
    mask = np.zeros((n_rows, n_cols), dtype=bool)
    if not all_rows:
        return mask
    rows = np.concatenate(all_rows)
    x = np.concatenate(all_x)
    order = np.lexsort((x, rows))
    rows, x = rows[order], x[order]
    # A closed polygon crosses each row an even number of times under the half-open rule, and
    # whole rows are clipped, so crossings pair up within rows.
    if len(rows) % 2 or np.any(rows[0::2] != rows[1::2]):  # pragma: no cover - invariant
        raise MaskError("internal error: unpaired polygon crossings in scan-line fill")
    start = np.clip(np.ceil(x[0::2]), 0, n_cols).astype(np.int64)
    end = np.clip(np.ceil(x[1::2]), 0, n_cols).astype(np.int64)
    diff = np.zeros((n_rows, n_cols + 1), dtype=np.int32)
    np.add.at(diff, (rows[0::2], start), 1)
    np.add.at(diff, (rows[0::2], end), -1)
    mask[:] = np.cumsum(diff[:, :n_cols], axis=1) > 0
    return mask


# ---------------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Contour:
    number: int
    """1-based position in the ROI's Contour Sequence (or Contour Number (3006,0048))."""
    geometric_type: str
    points_mm: npt.NDArray[np.float64]
    """``(n, 3)`` LPS mm."""


@dataclass(frozen=True)
class _Roi:
    number: int
    name: str
    frame_of_reference_uid: str
    contours: tuple[_Contour, ...]


@dataclass(frozen=True)
class _StructureSet:
    path: Path
    rois: tuple[_Roi, ...]
    series_uids: frozenset[str]


#: One selected ROI ready to rasterise: label position, the ROI, its (row, column) polygons per
#: slice index, and the policy messages about it.
_Prepared = tuple[int, _Roi, dict[int, list[npt.NDArray[np.float64]]], list[str]]


def _read_dataset(path: Path) -> Dataset:
    if not path.is_file():
        raise InputError(f"RTSTRUCT file {path} does not exist")
    try:
        ds = pydicom.dcmread(path)
    except (InvalidDicomError, OSError, ValueError, EOFError) as exc:
        raise DicomError(f"{path} is not a readable DICOM file: {exc}") from exc
    sop = str(ds.get("SOPClassUID", ""))
    if sop != RTSTRUCT_SOP_CLASS_UID:
        raise MaskError(
            f"{path} is not an RT Structure Set: SOP Class UID (0008,0016) is {sop or 'missing'} "
            f"(modality {ds.get('Modality', '?')}); expected {RTSTRUCT_SOP_CLASS_UID} (RTSTRUCT)"
        )
    return ds


def _contour_points(item: Dataset, where: str) -> npt.NDArray[np.float64]:
    raw: Any = item.get("ContourData")
    if raw is None:
        raise DicomError(f"{where} has no Contour Data (3006,0050)")
    try:
        flat = np.asarray([float(v) for v in raw], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DicomError(f"{where}: Contour Data (3006,0050) is not numeric") from exc
    if flat.size % 3 or not np.all(np.isfinite(flat)):
        raise DicomError(
            f"{where}: Contour Data (3006,0050) holds {flat.size} values, not finite x/y/z triplets"
        )
    declared = item.get("NumberOfContourPoints")
    if declared is not None and int(declared) != flat.size // 3:
        logger.debug(
            "%s: Number of Contour Points %s but %d points in Contour Data", where, declared, flat.size // 3
        )
    return flat.reshape(-1, 3)


def _parse(path: Path) -> _StructureSet:
    ds = _read_dataset(path)
    rois: dict[int, tuple[str, str]] = {}
    for item in ds.get("StructureSetROISequence", []):
        try:
            number = int(item.ROINumber)
        except (AttributeError, TypeError, ValueError) as exc:
            raise DicomError(
                f"RTSTRUCT {path}: a Structure Set ROI item lacks ROI Number (3006,0022)"
            ) from exc
        name = str(item.get("ROIName", "") or "").strip() or f"ROI {number}"
        rois[number] = (name, str(item.get("ReferencedFrameOfReferenceUID", "") or ""))
    if not rois:
        raise MaskError(f"RTSTRUCT {path} defines no ROIs (Structure Set ROI Sequence (3006,0020) is empty)")
    contours: dict[int, list[_Contour]] = defaultdict(list)
    for item in ds.get("ROIContourSequence", []):
        ref = item.get("ReferencedROINumber")
        if ref is None or int(ref) not in rois:
            raise DicomError(
                f"RTSTRUCT {path}: an ROI Contour item references ROI number {ref}, which the Structure "
                f"Set ROI Sequence does not define ({sorted(rois)})"
            )
        number = int(ref)
        for k, contour in enumerate(item.get("ContourSequence", []), start=1):
            where = f"RTSTRUCT {path} ROI {rois[number][0]!r} contour {k}"
            contours[number].append(
                _Contour(
                    number=k,
                    geometric_type=str(contour.get("ContourGeometricType", "") or "").upper(),
                    points_mm=_contour_points(contour, where),
                )
            )
    series: set[str] = set()
    for fr in ds.get("ReferencedFrameOfReferenceSequence", []):
        for study in fr.get("RTReferencedStudySequence", []):
            for s in study.get("RTReferencedSeriesSequence", []):
                if s.get("SeriesInstanceUID"):
                    series.add(str(s.SeriesInstanceUID))
    return _StructureSet(
        path=path,
        rois=tuple(
            _Roi(number=n, name=name, frame_of_reference_uid=for_uid, contours=tuple(contours.get(n, [])))
            for n, (name, for_uid) in rois.items()
        ),
        series_uids=frozenset(series),
    )


def roi_names(path: str | os.PathLike[str]) -> list[str]:
    """ROI names (3006,0026) of an RTSTRUCT, in Structure Set ROI Sequence order."""
    return [roi.name for roi in _parse(Path(path)).rois]


def _select(ss: _StructureSet, rois: Sequence[str] | None) -> list[_Roi]:
    if rois is None:
        return list(ss.rois)
    if isinstance(rois, str):
        raise InputError(f"rois must be a list of ROI names, got the string {rois!r}")
    chosen: list[_Roi] = []
    available = ", ".join(repr(r.name) for r in ss.rois)
    for wanted in rois:
        matches = [r for r in ss.rois if r.name.lower() == wanted.strip().lower()]
        if not matches:
            raise MaskError(f"RTSTRUCT {ss.path} has no ROI named {wanted!r} (ROIs: {available})")
        if len(matches) > 1:
            raise MaskError(
                f"RTSTRUCT {ss.path} has {len(matches)} ROIs named {wanted!r} (ROI numbers "
                f"{[r.number for r in matches]}); rename them or read all with rois=None"
            )
        if matches[0] in chosen:
            raise InputError(f"ROI {wanted!r} is requested twice")
        chosen.append(matches[0])
    return chosen


# ---------------------------------------------------------------------------------------------
# Placement
# ---------------------------------------------------------------------------------------------
def _check_frame_of_reference(
    ss: _StructureSet, selected: list[_Roi], reference: Volume | Geometry, policy: Policy, warnings: list[str]
) -> Geometry:
    if not isinstance(reference, Volume):
        return reference
    meta = reference.metadata
    name = meta.source or "(unnamed)"
    if meta.frame_of_reference_uid:
        for roi in selected:
            if roi.frame_of_reference_uid and roi.frame_of_reference_uid != meta.frame_of_reference_uid:
                raise GeometryError(
                    f"RTSTRUCT {ss.path} ROI {roi.name!r} is in Frame of Reference "
                    f"{roi.frame_of_reference_uid}, but the reference image {name} is in "
                    f"{meta.frame_of_reference_uid}: the contours are not in its coordinate system. "
                    "Supply the image series the structures were drawn on."
                )
    if meta.series_instance_uid and ss.series_uids and meta.series_instance_uid not in ss.series_uids:
        apply_policy(
            policy,
            f"RTSTRUCT {ss.path} references series {sorted(ss.series_uids)}, not the reference image "
            f"{name} (series {meta.series_instance_uid}); rasterising in the shared frame of reference",
            logger=logger,
            warnings=warnings,
            error=GeometryError,
        )
    return reference.geometry


def _roi_slices(
    ss: _StructureSet, roi: _Roi, grid: Geometry, policy: Policy, warnings: list[str]
) -> dict[int, list[npt.NDArray[np.float64]]]:
    """Contours of one ROI as (row, column) polygons, grouped by slice index."""
    by_slice: dict[int, list[npt.NDArray[np.float64]]] = defaultdict(list)
    n_slices, n_rows, n_cols = grid.shape
    for contour in roi.contours:
        where = f"RTSTRUCT {ss.path} ROI {roi.name!r} contour {contour.number}"
        if contour.geometric_type not in _CLOSED_TYPES:
            apply_policy(
                policy,
                f"{where} is {contour.geometric_type or 'of unknown type'}, not CLOSED_PLANAR; "
                "it encloses no area and is skipped",
                logger=logger,
                warnings=warnings,
                error=MaskError,
            )
            continue
        if len(contour.points_mm) < 3:
            apply_policy(
                policy,
                f"{where} has {len(contour.points_mm)} points; a closed polygon needs 3. Skipped",
                logger=logger,
                warnings=warnings,
                error=MaskError,
            )
            continue
        idx = grid.world_to_index(contour.points_mm)
        k = int(np.rint(np.mean(idx[:, 0])))
        off = float(np.max(np.abs(idx[:, 0] - k)))
        if off > SLICE_TOLERANCE:
            raise GeometryError(
                f"{where} does not lie in a slice plane of the reference grid: its points are at "
                f"slice indices {float(idx[:, 0].min()):.3f}..{float(idx[:, 0].max()):.3f} (up to {off:.3f} "
                f"slice spacings from slice {k}; tolerance {SLICE_TOLERANCE}). Reference "
                f"{grid.describe()}. Supply the image series the structures were drawn on."
            )
        if not 0 <= k < n_slices:
            apply_policy(
                policy,
                f"{where} lies on slice index {k}, outside the reference grid (0..{n_slices - 1}); skipped",
                logger=logger,
                warnings=warnings,
                error=GeometryError,
            )
            continue
        rc = idx[:, 1:3]
        if np.any(rc < -0.5) or np.any(rc[:, 0] > n_rows - 0.5) or np.any(rc[:, 1] > n_cols - 0.5):
            apply_policy(
                policy,
                f"{where} extends beyond the in-plane extent of the reference grid; clipped to it",
                logger=logger,
                warnings=warnings,
                error=GeometryError,
            )
        by_slice[k].append(rc)
    return by_slice


def _prepare(
    path: str | os.PathLike[str],
    reference: Volume | Geometry,
    rois: Sequence[str] | None,
    policy: Policy,
    warnings: list[str],
) -> tuple[_StructureSet, Geometry, list[_Prepared]]:
    """Parse, select and check the ROIs; file-level policy messages go to ``warnings``, those
    about one ROI's contours to its own list in the result."""
    ss = _parse(Path(path))
    selected = _select(ss, rois)
    grid = _check_frame_of_reference(ss, selected, reference, policy, warnings)
    prepared = []
    for position, roi in enumerate(selected, start=1):
        if not roi.contours:
            apply_policy(
                policy,
                f"RTSTRUCT {ss.path} ROI {roi.name!r} (number {roi.number}) has no contours; left out",
                logger=logger,
                warnings=warnings,
                error=MaskError,
            )
            continue
        roi_warnings: list[str] = []
        prepared.append((position, roi, _roi_slices(ss, roi, grid, policy, roi_warnings), roi_warnings))
    return ss, grid, prepared


def _warn_if_empty(ss: _StructureSet, roi: _Roi, voxels: int, policy: Policy, warnings: list[str]) -> None:
    if voxels == 0:
        apply_policy(
            policy,
            f"RTSTRUCT {ss.path} ROI {roi.name!r} covers no voxel centre of the reference grid",
            logger=logger,
            warnings=warnings,
            error=MaskError,
        )


def read_rtstruct(
    path: str | os.PathLike[str],
    reference: Volume | Geometry,
    *,
    rois: Sequence[str] | None = None,
    policy: Policy = Policy.WARN,
) -> LabelMap:
    """Rasterise ROIs of an RTSTRUCT into one :class:`LabelMap` on ``reference``'s grid.

    Label ``i`` is the ``i``-th selected ROI (1-based, in ``rois`` order or file order); its
    :class:`Label` has the ROI Name (3006,0026) and the ROI Number (3006,0022) as tracking ID.
    An ROI without contours is left out (policy message), so its value is absent.

    Parameters
    ----------
    path:
        The RTSTRUCT file.
    reference:
        The image series the structures were drawn on (or its grid). A :class:`Volume` whose
        metadata carries a Frame of Reference UID must match the ROIs' Referenced Frame of
        Reference UID (3006,0024).
    rois:
        ROI names to read (case-insensitive), default all.
    policy:
        What to do with tolerable problems: non-closed contours, ROIs without contours, contours
        on slices outside the grid or partly outside it, a referenced series other than the
        reference's. Under ``Policy.WARN`` the messages are logged and kept in the returned
        map's ``warnings``.

    Raises
    ------
    InputError
        The file does not exist.
    DicomError
        Not DICOM, or malformed contour data.
    MaskError
        Not an RTSTRUCT, an unknown ROI name, or two ROIs overlap (read them apart with
        :func:`read_rtstruct_rois`).
    GeometryError
        A contour is not in a slice plane of the reference, or the frames of reference differ.
    """
    warnings: list[str] = []
    ss, grid, prepared = _prepare(path, reference, rois, policy, warnings)
    n_labels = max((p for p, _, _, _ in prepared), default=0)
    out = np.zeros(grid.shape, dtype=np.uint8 if n_labels <= 255 else np.uint16)
    labels: dict[int, Label] = {}
    overlaps: dict[tuple[int, int], int] = defaultdict(int)
    for value, roi, by_slice, roi_warnings in prepared:
        labels[value] = Label(value=value, name=roi.name, tracking_id=str(roi.number))
        voxels = 0
        for k, polygons in by_slice.items():
            mask = rasterize_polygons(polygons, grid.shape[1:])
            plane = out[k]
            taken = plane[mask]
            for other in np.unique(taken[taken != 0]).tolist():
                overlaps[(int(other), value)] += int(np.count_nonzero(taken == other))
            plane[mask & (plane == 0)] = value
            voxels += int(np.count_nonzero(mask))
        _warn_if_empty(ss, roi, voxels, policy, roi_warnings)
        warnings.extend(roi_warnings)
    if overlaps:
        detail = "; ".join(
            f"{labels[a].name!r} and {labels[b].name!r} share {n} voxels"
            for (a, b), n in sorted(overlaps.items())
        )
        raise MaskError(
            f"RTSTRUCT {ss.path}: ROIs overlap ({detail}); one label map cannot hold overlapping "
            "structures. Read them with nelm.imaging.rtstruct.read_rtstruct_rois(), which returns one "
            "label map per ROI, or select non-overlapping ROIs with rois=."
        )
    return LabelMap(array=out, geometry=grid, labels=labels, source=str(ss.path), warnings=tuple(warnings))


def read_rtstruct_rois(
    path: str | os.PathLike[str],
    reference: Volume | Geometry,
    *,
    rois: Sequence[str] | None = None,
    policy: Policy = Policy.WARN,
) -> dict[str, LabelMap]:
    """Rasterise each ROI of an RTSTRUCT into its own binary :class:`LabelMap`.

    Overlapping ROIs are fine here. Keys are ROI names; when several ROIs share a name, each of
    them is keyed ``"<name> [ROI <number>]"``. Each map has one label (value 1) named after the
    ROI with its ROI Number as tracking ID. Each map's ``warnings`` hold the policy messages
    about the whole file (frame of reference, ROIs left out) and about its own ROI. Parameters
    and errors as for :func:`read_rtstruct`.
    """
    file_warnings: list[str] = []
    ss, grid, prepared = _prepare(path, reference, rois, policy, file_warnings)
    names = [roi.name for _, roi, _, _ in prepared]
    result: dict[str, LabelMap] = {}
    for _, roi, by_slice, roi_warnings in prepared:
        arr = np.zeros(grid.shape, dtype=np.uint8)
        for k, polygons in by_slice.items():
            arr[k] = rasterize_polygons(polygons, grid.shape[1:])
        _warn_if_empty(ss, roi, int(np.count_nonzero(arr)), policy, roi_warnings)
        key = roi.name if names.count(roi.name) == 1 else f"{roi.name} [ROI {roi.number}]"
        result[key] = LabelMap(
            array=arr,
            geometry=grid,
            labels={1: Label(value=1, name=roi.name, tracking_id=str(roi.number))},
            source=f"{ss.path} ROI {roi.name}",
            warnings=(*file_warnings, *roi_warnings),
        )
    return result
