"""Reading DICOM SEG files into label maps: :func:`read_seg` and :func:`read_seg_segments`.

highdicom parses and decodes; the frames are placed on the reference grid, or on a grid derived
from the SEG itself, by :func:`~nelm.imaging.seg.planes.place` (see :mod:`nelm.imaging.seg`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import highdicom as hd
import numpy as np
import numpy.typing as npt
import pydicom
from pydicom.datadict import keyword_for_tag
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from nelm.errors import DicomError, GeometryError, InputError, MaskError
from nelm.imaging.geometry import Geometry
from nelm.imaging.labelmap import Label, LabelMap
from nelm.imaging.seg.highdicom_log import highdicom_warnings_to_log
from nelm.imaging.seg.planes import PLANE_TOLERANCE_MM, Plane, floats, place, unit
from nelm.imaging.volume import Volume
from nelm.policy import Policy, apply_policy

__all__ = ["SEG_SOP_CLASS_UIDS", "read_seg", "read_seg_segments"]

logger = logging.getLogger(__name__)

#: SOP classes read as segmentations: Segmentation Storage and Label Map Segmentation Storage.
SEG_SOP_CLASS_UIDS: Final[dict[str, str]] = {
    "1.2.840.10008.5.1.4.1.1.66.4": "Segmentation Storage",
    "1.2.840.10008.5.1.4.1.1.66.7": "Label Map Segmentation Storage",
}


@dataclass(frozen=True)
class _SegFrame:
    index: int
    """0-based frame index."""
    segment: int | None
    """Referenced Segment Number (BINARY/FRACTIONAL); ``None`` for LABELMAP."""
    plane: Plane


@dataclass(frozen=True)
class _SegFile:
    path: Path
    seg: hd.seg.Segmentation
    kind: str
    labels: dict[int, Label]
    frames: tuple[_SegFrame, ...]
    background: int
    max_fractional: int


def _fg_item(per_frame: Dataset | None, shared: Dataset | None, keyword: str) -> Dataset | None:
    """First item of a functional-group sequence, per-frame taking precedence over shared."""
    for group in (per_frame, shared):
        if group is not None and keyword in group:
            seq = group[keyword].value
            if len(seq) > 0:
                item: Dataset = seq[0]
                return item
    return None


def _open_seg(path: Path) -> hd.seg.Segmentation:
    if not path.is_file():
        raise InputError(f"DICOM SEG file {path} does not exist")
    try:
        ds = pydicom.dcmread(path)
    except (InvalidDicomError, OSError, ValueError, EOFError) as exc:
        raise DicomError(f"{path} is not a readable DICOM file: {exc}") from exc
    sop = str(ds.get("SOPClassUID", ""))
    if sop not in SEG_SOP_CLASS_UIDS:
        modality = ds.get("Modality", "?")
        raise MaskError(
            f"{path} is not a DICOM Segmentation: SOP Class UID (0008,0016) is {sop or 'missing'} "
            f"(modality {modality}); expected one of {sorted(SEG_SOP_CLASS_UIDS)}"
        )
    try:
        with highdicom_warnings_to_log():
            seg = hd.seg.Segmentation.from_dataset(ds, copy=False)
    except KeyError as exc:
        tag = exc.args[0] if exc.args else "?"
        name = keyword_for_tag(tag) if isinstance(tag, int) else ""
        raise DicomError(f"DICOM SEG {path} is malformed: it lacks {name} {tag}".replace("  ", " ")) from exc
    except (ValueError, TypeError, AttributeError, IndexError) as exc:
        raise DicomError(f"DICOM SEG {path} is malformed: {exc}") from exc
    return seg


def _load(path: str | os.PathLike[str]) -> _SegFile:
    p = Path(path)
    seg = _open_seg(p)
    kind = str(seg.get("SegmentationType", ""))
    if kind not in ("BINARY", "FRACTIONAL", "LABELMAP"):
        raise DicomError(
            f"DICOM SEG {p}: Segmentation Type (0062,0001) {kind!r} is not BINARY/FRACTIONAL/LABELMAP"
        )
    if "PerFrameFunctionalGroupsSequence" not in seg or "SharedFunctionalGroupsSequence" not in seg:
        raise DicomError(f"DICOM SEG {p} lacks the per-frame or shared functional groups (5200,9230/9229)")
    shared_seq = seg.SharedFunctionalGroupsSequence
    shared: Dataset | None = shared_seq[0] if len(shared_seq) else None
    per_frame = seg.PerFrameFunctionalGroupsSequence
    n_frames = int(seg.get("NumberOfFrames", 1))
    if len(per_frame) != n_frames:
        raise DicomError(
            f"DICOM SEG {p}: Number of Frames (0028,0008) is {n_frames} but the per-frame functional "
            f"groups hold {len(per_frame)} items"
        )
    rows, cols = int(seg.Rows), int(seg.Columns)
    background = int(seg.get("PixelPaddingValue", 0)) if kind == "LABELMAP" else 0
    labels: dict[int, Label] = {}
    for desc in seg.SegmentSequence:
        number = int(desc.SegmentNumber)
        if kind == "LABELMAP" and number == background:
            continue
        if number < 1:
            raise DicomError(f"DICOM SEG {p}: Segment Number (0062,0004) {number} is not positive")
        name = str(desc.get("SegmentLabel", "") or "").strip() or f"segment {number}"
        labels[number] = Label(
            value=number,
            name=name,
            tracking_id=str(desc.get("TrackingID", "") or ""),
            tracking_uid=str(desc.get("TrackingUID", "") or ""),
        )
    if not labels:
        raise MaskError(f"DICOM SEG {p} describes no segments (Segment Sequence (0062,0002) is empty)")
    frames: list[_SegFrame] = []
    for i, item in enumerate(per_frame):
        where = f"DICOM SEG {p} frame {i + 1}"
        pos_item = _fg_item(item, shared, "PlanePositionSequence")
        ori_item = _fg_item(item, shared, "PlaneOrientationSequence")
        pm_item = _fg_item(item, shared, "PixelMeasuresSequence")
        if pos_item is None or "ImagePositionPatient" not in pos_item:
            raise DicomError(
                f"{where} has no Image Position (Patient) (0020,0032) in a Plane Position Sequence; "
                "nelm needs patient-space SEGs"
            )
        if ori_item is None or "ImageOrientationPatient" not in ori_item:
            raise DicomError(f"{where} has no Image Orientation (Patient) (0020,0037)")
        if pm_item is None or "PixelSpacing" not in pm_item:
            raise DicomError(f"{where} has no Pixel Spacing (0028,0030) in a Pixel Measures Sequence")
        iop = floats(ori_item.ImageOrientationPatient, 6, "Image Orientation (Patient)", where)
        spacing = floats(pm_item.PixelSpacing, 2, "Pixel Spacing", where)
        if np.any(spacing <= 0):
            raise DicomError(f"{where}: Pixel Spacing (0028,0030) {spacing.tolist()} must be positive")
        plane = Plane(
            position=floats(pos_item.ImagePositionPatient, 3, "Image Position (Patient)", where),
            row_cosines=unit(iop[:3], "Image Orientation (Patient) row cosines", where),
            column_cosines=unit(iop[3:], "Image Orientation (Patient) column cosines", where),
            pixel_spacing=(float(spacing[0]), float(spacing[1])),
            rows=rows,
            columns=cols,
        )
        segment: int | None = None
        if kind != "LABELMAP":
            ident = _fg_item(item, shared, "SegmentIdentificationSequence")
            if ident is None or "ReferencedSegmentNumber" not in ident:
                raise DicomError(f"{where} has no Referenced Segment Number (0062,000B)")
            segment = int(ident.ReferencedSegmentNumber)
            if segment not in labels:
                raise DicomError(
                    f"{where} references segment {segment}, which the Segment Sequence does not "
                    f"describe (described: {sorted(labels)})"
                )
        frames.append(_SegFrame(index=i, segment=segment, plane=plane))
    max_fractional = int(seg.get("MaximumFractionalValue", 255)) if kind == "FRACTIONAL" else 1
    if max_fractional < 1:
        raise DicomError(f"DICOM SEG {p}: Maximum Fractional Value (0062,000E) {max_fractional} must be ≥ 1")
    return _SegFile(p, seg, kind, labels, tuple(frames), background, max_fractional)


def _frame_values(sf: _SegFile, frame: _SegFrame) -> npt.NDArray[np.integer]:
    """Decoded frame as segment numbers: 0 or the frame's segment (BINARY/FRACTIONAL), or labels."""
    try:
        stored = np.asarray(sf.seg.get_stored_frame(frame.index + 1))
    except Exception as exc:  # decoders raise many types; name the file and frame
        raise DicomError(f"DICOM SEG {sf.path}: cannot decode frame {frame.index + 1}: {exc}") from exc
    if stored.shape != (frame.plane.rows, frame.plane.columns):
        raise DicomError(
            f"DICOM SEG {sf.path}: frame {frame.index + 1} has shape {stored.shape}, "
            f"expected Rows x Columns {frame.plane.rows}x{frame.plane.columns}"
        )
    if sf.kind == "LABELMAP":
        values = stored.astype(np.int64)
        if sf.background != 0:
            values = np.where(values == sf.background, 0, values)
        unknown = sorted({int(v) for v in np.unique(values)} - {0} - set(sf.labels))
        if unknown:
            raise DicomError(
                f"DICOM SEG {sf.path}: frame {frame.index + 1} holds values {unknown} that no segment "
                f"describes (described: {sorted(sf.labels)})"
            )
        return values
    assert frame.segment is not None
    inside = stored.astype(np.int64) * 2 >= sf.max_fractional if sf.kind == "FRACTIONAL" else stored != 0
    return np.where(inside, frame.segment, 0).astype(np.int64)


def _unique_sorted(values: npt.NDArray[np.float64], tol: float) -> npt.NDArray[np.float64]:
    """Sorted values with those closer than ``tol`` to their predecessor merged."""
    v = np.sort(values)
    keep = np.concatenate(([True], np.diff(v) > tol))
    return np.asarray(v[keep])


def _seg_grid(sf: _SegFile, *, policy: Policy, tolerance_mm: float, warnings: list[str]) -> Geometry:
    """The grid a SEG defines by itself (see :mod:`nelm.imaging.seg`)."""
    first = sf.frames[0].plane
    for fr in sf.frames[1:]:
        pl = fr.plane
        if (
            not np.allclose(pl.row_cosines, first.row_cosines, atol=1e-4)
            or not np.allclose(pl.column_cosines, first.column_cosines, atol=1e-4)
            or not np.allclose(pl.pixel_spacing, first.pixel_spacing, rtol=1e-5)
        ):
            raise GeometryError(
                f"DICOM SEG {sf.path}: frame {fr.index + 1} has another orientation or pixel spacing "
                f"than frame 1 ({pl.row_cosines.tolist()}/{pl.column_cosines.tolist()}, {pl.pixel_spacing} "
                f"vs {first.row_cosines.tolist()}/{first.column_cosines.tolist()}, {first.pixel_spacing}); "
                "pass reference= to place it on an image grid"
            )
    normal = first.normal
    dist = np.array([float(fr.plane.position @ normal) for fr in sf.frames])
    levels = _unique_sorted(dist, tolerance_mm)
    shared = sf.seg.SharedFunctionalGroupsSequence[0] if len(sf.seg.SharedFunctionalGroupsSequence) else None
    pm = _fg_item(sf.seg.PerFrameFunctionalGroupsSequence[0], shared, "PixelMeasuresSequence")
    sbs = float(pm.SpacingBetweenSlices) if pm is not None and pm.get("SpacingBetweenSlices") else None
    thickness = float(pm.SliceThickness) if pm is not None and pm.get("SliceThickness") else None
    spacing: float
    if len(levels) == 1:
        candidate = sbs if sbs and sbs > 0 else thickness
        if candidate is None or candidate <= 0:
            raise GeometryError(
                f"DICOM SEG {sf.path}: all frames lie in one plane and neither Spacing Between Slices "
                "(0018,0088) nor Slice Thickness (0018,0050) gives a slice spacing; pass reference="
            )
        spacing = candidate
    else:
        offsets = levels - levels[0]
        min_step = float(np.min(np.diff(levels)))

        def fits(step: float) -> bool:
            k = offsets / step
            return bool(np.all(np.abs(k - np.rint(k)) * step <= tolerance_mm))

        if sbs is not None and sbs > 0 and fits(sbs):
            spacing = sbs
        else:
            if sbs is not None:
                apply_policy(
                    policy,
                    f"DICOM SEG {sf.path}: Spacing Between Slices (0018,0088) {sbs} mm disagrees with the "
                    f"frame positions (smallest step {min_step:.4g} mm); using the positions",
                    logger=logger,
                    warnings=warnings,
                    error=GeometryError,
                )
            spacing = min_step
            if not fits(spacing):
                raise GeometryError(
                    f"DICOM SEG {sf.path}: frame positions along the slice normal "
                    f"{np.round(levels, 3).tolist()} mm are not multiples of one spacing "
                    f"({spacing:.4g} mm); the frames do not form a regular grid. Pass reference= to "
                    "place them on the image series they were drawn on"
                )
    n_slices = round(float(levels[-1] - levels[0]) / spacing) + 1
    lowest = sf.frames[int(np.argmin(dist))].plane
    affine = np.eye(4)
    affine[:3, 0] = normal * spacing
    affine[:3, 1] = first.column_cosines * first.pixel_spacing[0]
    affine[:3, 2] = first.row_cosines * first.pixel_spacing[1]
    affine[:3, 3] = lowest.position
    return Geometry(shape=(n_slices, first.rows, first.columns), affine=affine)


def _resolve_grid(
    sf: _SegFile,
    reference: Geometry | Volume | None,
    *,
    policy: Policy,
    tolerance_mm: float,
    warnings: list[str],
) -> tuple[Geometry, str]:
    if reference is None:
        grid = _seg_grid(sf, policy=policy, tolerance_mm=tolerance_mm, warnings=warnings)
        return grid, f"the grid of SEG {sf.path.name}"
    if isinstance(reference, Volume):
        ref_for = reference.metadata.frame_of_reference_uid
        seg_for = str(sf.seg.get("FrameOfReferenceUID", ""))
        if ref_for and seg_for and ref_for != seg_for:
            raise GeometryError(
                f"DICOM SEG {sf.path} is in Frame of Reference {seg_for} but the reference image "
                f"{reference.metadata.source or '(unnamed)'} is in {ref_for}: they are not in the same "
                "patient coordinate system. Supply the series the SEG was drawn on or register first."
            )
        name = f"reference image {reference.metadata.source or '(unnamed)'}"
        return reference.geometry, name
    return reference, "the reference grid"


def _placed_frames(
    sf: _SegFile, grid: Geometry, grid_name: str, tolerance_mm: float
) -> Iterator[tuple[tuple[slice, slice, slice], npt.NDArray[np.generic]]]:
    """Each frame's values with the index of ``grid`` it lands on (frames off the grid skipped)."""
    for frame in sf.frames:
        placed = place(
            frame.plane,
            _frame_values(sf, frame),
            grid,
            tolerance_mm=tolerance_mm,
            what=f"frame {frame.index + 1} of DICOM SEG {sf.path}",
            grid_name=grid_name,
        )
        if placed is not None:
            yield placed


def _segment_name(sf: _SegFile, number: int) -> str:
    return f"{number} ({sf.labels[number].name!r})"


def _all_empty(sf: _SegFile, policy: Policy, warnings: list[str]) -> None:
    """Report, by ``policy``, a SEG whose every segment is empty."""
    apply_policy(
        policy,
        f"DICOM SEG {sf.path}: every segment is empty ({', '.join(lab.name for lab in sf.labels.values())})",
        logger=logger,
        warnings=warnings,
        error=MaskError,
    )


def read_seg(
    path: str | os.PathLike[str],
    *,
    reference: Geometry | Volume | None = None,
    policy: Policy = Policy.WARN,
    tolerance_mm: float = PLANE_TOLERANCE_MM,
) -> LabelMap:
    """Read a DICOM SEG (BINARY, FRACTIONAL or LABELMAP) into one :class:`LabelMap`.

    Label values are the segment numbers; each :class:`Label` carries Segment Label (0062,0005)
    as its name (``"segment <n>"`` if blank), Tracking ID (0062,0020) and Tracking UID
    (0062,0021). FRACTIONAL segments are thresholded at one half of Maximum Fractional Value
    (see :mod:`nelm.imaging.seg`).

    Parameters
    ----------
    path:
        The SEG file.
    reference:
        Grid to place the frames on (the image the SEG was drawn on), or ``None`` to derive the
        grid from the SEG itself. When a :class:`Volume` with a Frame of Reference UID is given,
        it must equal the SEG's.
    policy:
        What to do when every segment is empty, or when Spacing Between Slices contradicts the
        frame positions (the positions are used).
    tolerance_mm:
        Largest allowed distance between frame pixel centres and grid voxel centres.

    Returns
    -------
    LabelMap
        On ``reference``'s grid when given. Its ``warnings`` hold the problems tolerated under
        ``Policy.WARN`` (also logged).

    Raises
    ------
    InputError
        The file does not exist.
    DicomError
        Not DICOM, malformed, or a frame that cannot be decoded.
    MaskError
        Not a SEG, or two segments overlap (read them with :func:`read_seg_segments`).
    GeometryError
        A frame does not lie on the grid, or the frames of reference differ.
    """
    sf = _load(path)
    warnings: list[str] = []
    grid, grid_name = _resolve_grid(
        sf, reference, policy=policy, tolerance_mm=tolerance_mm, warnings=warnings
    )
    top = max(sf.labels)
    out = np.zeros(grid.shape, dtype=np.uint8 if top <= np.iinfo(np.uint8).max else np.uint16)
    overlaps: dict[tuple[int, int], int] = {}
    for target, block in _placed_frames(sf, grid, grid_name, tolerance_mm):
        region = out[target]
        fg = block != 0
        clash = fg & (region != 0) & (region != block)
        if np.any(clash):
            pairs, counts = np.unique(
                np.stack([np.minimum(region[clash], block[clash]), np.maximum(region[clash], block[clash])]),
                axis=1,
                return_counts=True,
            )
            for (a, b), n in zip(pairs.T.tolist(), counts.tolist(), strict=True):
                overlaps[(a, b)] = overlaps.get((a, b), 0) + n
        region[fg] = block[fg]
    if overlaps:
        detail = "; ".join(
            f"segments {_segment_name(sf, a)} and {_segment_name(sf, b)} share {n} voxels"
            for (a, b), n in sorted(overlaps.items())
        )
        raise MaskError(
            f"DICOM SEG {sf.path} has overlapping segments ({detail}); one label map cannot hold "
            "overlapping segments. Read them with nelm.imaging.seg.read_seg_segments(), which "
            "returns one binary label map per segment."
        )
    if not np.any(out):
        _all_empty(sf, policy, warnings)
    return LabelMap(array=out, geometry=grid, labels=sf.labels, source=str(sf.path), warnings=tuple(warnings))


def read_seg_segments(
    path: str | os.PathLike[str],
    *,
    reference: Geometry | Volume | None = None,
    policy: Policy = Policy.WARN,
    tolerance_mm: float = PLANE_TOLERANCE_MM,
) -> dict[int, LabelMap]:
    """Read each segment of a DICOM SEG into its own binary :class:`LabelMap`.

    Use this when segments may overlap (BINARY and FRACTIONAL SEGs allow it). Parameters,
    thresholding and errors as for :func:`read_seg`.

    Returns
    -------
    dict[int, LabelMap]
        Segment number → a one-label map (value 1) whose :class:`Label` carries the segment's
        name, Tracking ID and Tracking UID, all on the same grid. Each map's ``warnings`` hold
        the problems tolerated under ``Policy.WARN``, all of which concern the whole file.
    """
    sf = _load(path)
    warnings: list[str] = []
    grid, grid_name = _resolve_grid(
        sf, reference, policy=policy, tolerance_mm=tolerance_mm, warnings=warnings
    )
    arrays = {n: np.zeros(grid.shape, dtype=np.uint8) for n in sf.labels}
    for target, block in _placed_frames(sf, grid, grid_name, tolerance_mm):
        for number in np.unique(block).tolist():
            if number:
                arrays[int(number)][target][block == number] = 1
    if not any(np.any(a) for a in arrays.values()):
        _all_empty(sf, policy, warnings)
    result: dict[int, LabelMap] = {}
    for number, array in arrays.items():
        lab = sf.labels[number]
        result[number] = LabelMap(
            array=array,
            geometry=grid,
            labels={1: Label(1, lab.name, lab.tracking_id, lab.tracking_uid)},
            source=f"{sf.path} segment {number}",
            warnings=tuple(warnings),
        )
    return result
