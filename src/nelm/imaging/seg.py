"""DICOM Segmentation (SEG) objects to and from :class:`~nelm.imaging.labelmap.LabelMap`.

Reading (:func:`read_seg`, :func:`read_seg_segments`) and writing (:func:`write_seg`) use
highdicom (``highdicom.seg.Segmentation``) for the parsing, frame decoding and encoding; the
geometry — where each frame lies on a grid — is done here, explicitly, in nelm's convention
(array ``[slice, row, column]``, affine to LPS mm; DESIGN §4).

Segmentation types (DICOM PS3.3 C.8.20.2, Segmentation Image Module)
--------------------------------------------------------------------
``BINARY``
    One 1-bit frame per segment and plane; 1 means "in the segment".
``FRACTIONAL``
    8-bit frames holding a probability or an occupancy scaled to ``MaximumFractionalValue``
    (PS3.3 C.8.20.2.3). nelm thresholds at one half: a pixel belongs to the segment when its
    stored value ``v`` satisfies ``2·v ≥ MaximumFractionalValue`` (probability or occupancy
    ≥ 0.5). The comparison is exact integer arithmetic, so no pixel at the boundary flips with
    floating-point rounding.
``LABELMAP``
    Label Map Segmentation Storage (DICOM Supplement 243, 2024; highdicom ≥ 0.23): one frame
    per plane whose pixel values are segment numbers; the background is
    ``PixelPaddingValue`` (0 when highdicom writes it).

Geometry
--------
Every frame carries (per frame or shared) Plane Position (Patient), Plane Orientation
(Patient) and Pixel Measures. A frame is *placed* on a grid by mapping its corner pixel
centres through the grid's inverse affine: they must land on integer voxel indices within
``tolerance_mm`` (default :data:`PLANE_TOLERANCE_MM`), the frame's rows and columns must run
along grid axes (flips and axis permutations of the grid are allowed), and its normal along the
remaining axis. A frame between two slices, a frame with another pixel spacing or orientation,
or one that falls outside the grid with segmented pixels, raises
:class:`~nelm.errors.GeometryError` naming both grids. SEGs usually omit empty frames; their
slices are simply left empty.

Without a reference grid the grid is derived from the SEG itself: in-plane axes from the
orientation and pixel spacing, slice direction ``n = row cosines × column cosines`` (slices
ascend along ``n``: feet to head for axial planes, orientation ``SPL`` as for a DICOM CT read
by nelm), slice spacing from Spacing Between Slices (0018,0088) when present and consistent
with the frame positions, else the smallest step between distinct frame positions, and empty
slices filled in between.

Writing
-------
:func:`write_seg` places one segment per label; the label map must lie on the grid of the
source series (checked with :meth:`Geometry.require_same`). Segmented property codes come from
SNOMED CT via ``pydicom.sr.codedict`` (see :data:`PROPERTY_KINDS`). Tracking UIDs that the
label does not carry are derived deterministically (see :func:`tracking_uid_for`). Image
Comments (0020,4000) carries nelm's research-use disclaimer.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import highdicom as hd
import numpy as np
import numpy.typing as npt
import pydicom
from pydicom.datadict import keyword_for_tag
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code
from pydicom.uid import generate_uid

from nelm import RESEARCH_USE_DISCLAIMER, __version__
from nelm.atomic import atomic_path
from nelm.errors import DicomError, GeometryError, InputError, MaskError
from nelm.imaging.dicom_common import FramePlane, stack_planes
from nelm.imaging.geometry import Geometry
from nelm.imaging.labelmap import Label, LabelMap
from nelm.imaging.volume import Volume
from nelm.policy import Policy, apply_policy

__all__ = [
    "PLANE_TOLERANCE_MM",
    "PROPERTY_KINDS",
    "SEG_SOP_CLASS_UIDS",
    "SegmentationType",
    "property_codes",
    "read_seg",
    "read_seg_segments",
    "tracking_uid_for",
    "write_seg",
]

logger = logging.getLogger(__name__)

#: SOP classes read as segmentations: Segmentation Storage and Label Map Segmentation Storage.
SEG_SOP_CLASS_UIDS: Final[dict[str, str]] = {
    "1.2.840.10008.5.1.4.1.1.66.4": "Segmentation Storage",
    "1.2.840.10008.5.1.4.1.1.66.7": "Label Map Segmentation Storage",
}

#: Largest distance (mm) between a frame's corner pixel centres and the grid voxel centres they
#: are matched to. 0.05 mm is far above the rounding of positions written as DICOM decimal
#: strings with 6–7 significant digits (≤ 1e-3 mm at 500 mm from the origin), and far below half
#: of any clinical voxel (≥ 0.15 mm), so a frame half a slice off is always caught.
PLANE_TOLERANCE_MM: Final[float] = 0.05

#: First highdicom release that writes Label Map Segmentation Storage (release notes 0.23.0).
LABELMAP_MIN_HIGHDICOM: Final[tuple[int, int]] = (0, 23)

SegmentationType = Literal["BINARY", "LABELMAP"]

_ANATOMY = codes.SCT.AnatomicalStructure  # SCT 91723000, CID 7150 Segmentation Property Categories
_ABNORMAL = codes.SCT.MorphologicallyAbnormalStructure  # SCT 49755003, CID 7150

#: Segmented property (category, type) per kind of structure, SNOMED CT codes from
#: ``pydicom.sr.codedict`` (DICOM PS3.16 CID 7150 "Segmentation Property Categories",
#: CID 7151 "Segmentation Property Types", CID 7159 "Lesion Segmentation Types"). Organs use
#: category "Anatomical Structure"; lesions "Morphologically Abnormal Structure" with type
#: "Neoplasm" (SCT 108369006), metastases "Neoplasm, Secondary" (SCT 14799000); structures nelm
#: cannot name (a perfused territory, a treatment volume) "Spatial and Relational Concept" /
#: "Region in Space" (DCM 130488).
PROPERTY_KINDS: Final[dict[str, tuple[Code, Code]]] = {
    "liver": (_ANATOMY, codes.SCT.Liver),
    "lesion": (_ABNORMAL, codes.SCT.Neoplasm),
    "metastasis": (_ABNORMAL, codes.SCT.NeoplasmSecondary),
    "necrosis": (_ABNORMAL, codes.SCT.Necrosis),
    "spleen": (_ANATOMY, codes.SCT.Spleen),
    "lung": (_ANATOMY, codes.SCT.Lung),
    "kidney": (_ANATOMY, codes.SCT.Kidney),
    "pancreas": (_ANATOMY, codes.SCT.Pancreas),
    "stomach": (_ANATOMY, codes.SCT.Stomach),
    "aorta": (_ANATOMY, codes.SCT.Aorta),
    "portal vein": (_ANATOMY, codes.SCT.PortalVein),
    "hepatic artery": (_ANATOMY, codes.SCT.HepaticArtery),
    "region": (codes.SCT.SpatialAndRelationalConcept, codes.DCM.RegionInSpace),
}

_KIND_ALIASES: Final[dict[str, str]] = {
    "tumour": "lesion",
    "tumor": "lesion",
    "neoplasm": "lesion",
    "nodule": "lesion",
    "mass": "lesion",
    "metastases": "metastasis",
    "lungs": "lung",
    "kidneys": "kidney",
}

# Name fragments that make a label a lesion, tested before organ names ("liver lesion 3").
_LESION_WORDS: Final[tuple[tuple[str, str], ...]] = (
    ("metasta", "metastasis"),
    ("necro", "necrosis"),
    ("lesion", "lesion"),
    ("tumo", "lesion"),
    ("neoplas", "lesion"),
    ("nodul", "lesion"),
    ("mass", "lesion"),
)


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _highdicom_warnings_to_log() -> Iterator[None]:
    """Route highdicom's ``UserWarning``\\ s to this module's logger (never lost, never printed)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            for w in caught:
                logger.debug("highdicom: %s", w.message)


def _floats(value: Any, n: int, what: str, where: str) -> npt.NDArray[np.float64]:
    try:
        arr = np.asarray([float(v) for v in value], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DicomError(f"{where}: {what} is not numeric ({value!r})") from exc
    if arr.shape != (n,) or not np.all(np.isfinite(arr)):
        raise DicomError(f"{where}: {what} must hold {n} finite numbers, got {value!r}")
    return arr


def _unit(v: npt.NDArray[np.float64], what: str, where: str) -> npt.NDArray[np.float64]:
    norm = float(np.linalg.norm(v))
    if abs(norm - 1.0) > 1e-3:
        raise DicomError(f"{where}: {what} {v.tolist()} is not a unit vector (norm {norm:.4f})")
    return v / norm


@dataclass(frozen=True)
class _Plane:
    """Where one 2-D frame of pixels lies in patient space (DICOM PS3.3 C.7.6.2)."""

    position: npt.NDArray[np.float64]
    """Image Position (Patient): LPS mm of the centre of the first pixel."""
    row_cosines: npt.NDArray[np.float64]
    """First triplet of Image Orientation (Patient): direction of increasing column index."""
    column_cosines: npt.NDArray[np.float64]
    """Second triplet: direction of increasing row index."""
    pixel_spacing: tuple[float, float]
    """Pixel Spacing: (between rows, between columns) in mm."""
    rows: int
    columns: int

    def pixel_to_world(self, row: float, column: float) -> npt.NDArray[np.float64]:
        """LPS mm of the centre of pixel ``(row, column)``."""
        return np.asarray(
            self.position
            + column * self.pixel_spacing[1] * self.row_cosines
            + row * self.pixel_spacing[0] * self.column_cosines
        )

    @property
    def normal(self) -> npt.NDArray[np.float64]:
        """Unit normal ``row cosines × column cosines``."""
        n = np.cross(self.row_cosines, self.column_cosines)
        return np.asarray(n / np.linalg.norm(n))


def _place(
    plane: _Plane,
    data: npt.NDArray[np.generic],
    grid: Geometry,
    *,
    tolerance_mm: float,
    what: str,
    grid_name: str,
) -> tuple[tuple[slice, slice, slice], npt.NDArray[np.generic]] | None:
    """Map a 2-D frame onto ``grid``: the target slices and the 3-D block to put there.

    Returns ``None`` when the frame lies wholly outside the grid and holds no foreground.

    Raises
    ------
    GeometryError
        The frame's pixel centres do not coincide with grid voxel centres (between slices,
        other spacing or orientation), or segmented pixels fall outside the grid.
    """
    rows, cols = plane.rows, plane.columns
    p00 = plane.pixel_to_world(0, 0)
    i00 = grid.world_to_index(p00)
    origin = np.rint(i00).astype(int)
    steps: list[tuple[int, int]] = []  # (axis, sign) for frame columns, then frame rows
    for d_row, d_col in ((0.0, 1.0), (1.0, 0.0)):
        step = grid.world_to_index(plane.pixel_to_world(d_row, d_col)) - i00
        axis = int(np.argmax(np.abs(step)))
        sign = 1 if step[axis] > 0 else -1
        expected = np.zeros(3)
        expected[axis] = sign
        if not np.allclose(step, expected, atol=0.02):
            raise GeometryError(
                f"{what} does not lie on the pixel grid of {grid_name}: one frame "
                f"{'column' if d_col else 'row'} step is {np.round(step, 4).tolist()} voxels of the grid "
                f"(expected a single step along one axis). Frame: {rows}x{cols} pixels, spacing "
                f"{plane.pixel_spacing} mm, origin {np.round(p00, 3).tolist()} mm LPS; "
                f"{grid_name} {grid.describe()}. Resample explicitly or supply the matching grid."
            )
        steps.append((axis, sign))
    (a_col, s_col), (a_row, s_row) = steps
    if a_col == a_row:
        raise GeometryError(f"{what}: frame rows and columns map onto the same axis of {grid_name}")
    a_slice = 3 - a_col - a_row
    # Check the four corner pixel centres against the voxel centres they should coincide with.
    for r, c in ((0, 0), (0, cols - 1), (rows - 1, 0), (rows - 1, cols - 1)):
        idx = origin.astype(float).copy()
        idx[a_col] += s_col * c
        idx[a_row] += s_row * r
        world = plane.pixel_to_world(r, c)
        dist = float(np.linalg.norm(grid.index_to_world(idx) - world))
        if dist > tolerance_mm:
            frac = np.round(grid.world_to_index(world), 3).tolist()
            raise GeometryError(
                f"{what} falls between the voxels of {grid_name}: its pixel ({r}, {c}) at "
                f"{np.round(world, 3).tolist()} mm LPS is {dist:.3f} mm from the nearest voxel centre "
                f"(fractional index {frac}; "
                f"tolerance {tolerance_mm} mm). SEG frame: {rows}x{cols} pixels, origin "
                f"{np.round(p00, 3).tolist()} mm LPS, spacing {plane.pixel_spacing} mm, normal "
                f"{np.round(plane.normal, 4).tolist()}; {grid_name} {grid.describe()}. "
                "Supply the image series the SEG was drawn on, or resample explicitly."
            )
    block = np.asarray(data)
    if s_row < 0:
        block = block[::-1, :]
    if s_col < 0:
        block = block[:, ::-1]
    start = origin.copy()
    start[a_row] = origin[a_row] if s_row > 0 else origin[a_row] - (rows - 1)
    start[a_col] = origin[a_col] if s_col > 0 else origin[a_col] - (cols - 1)
    if a_row > a_col:
        block = block.T
    block3 = np.expand_dims(block, axis=a_slice)
    length = [0, 0, 0]
    length[a_row], length[a_col], length[a_slice] = rows, cols, 1
    target: list[slice] = []
    crop: list[slice] = []
    for ax in range(3):
        lo = max(int(start[ax]), 0)
        hi = min(int(start[ax]) + length[ax], grid.shape[ax])
        if hi <= lo:
            if np.any(block3):
                raise GeometryError(
                    f"{what} lies outside {grid_name} ({grid.describe()}) yet holds segmented "
                    f"pixels; its first pixel is at {np.round(p00, 3).tolist()} mm LPS (voxel "
                    f"index {origin.tolist()}). Supply the series the SEG was drawn on."
                )
            return None
        target.append(slice(lo, hi))
        crop.append(slice(lo - int(start[ax]), hi - int(start[ax])))
    cropped = block3[tuple(crop)]
    if cropped.shape != block3.shape and np.count_nonzero(cropped) != np.count_nonzero(block3):
        raise GeometryError(
            f"{what} extends beyond {grid_name} ({grid.describe()}) with segmented pixels "
            "outside it. Supply the series the SEG was drawn on."
        )
    return (target[0], target[1], target[2]), cropped


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _SegFrame:
    index: int
    """0-based frame index."""
    segment: int | None
    """Referenced Segment Number (BINARY/FRACTIONAL); ``None`` for LABELMAP."""
    plane: _Plane


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
        with _highdicom_warnings_to_log():
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
        iop = _floats(ori_item.ImageOrientationPatient, 6, "Image Orientation (Patient)", where)
        spacing = _floats(pm_item.PixelSpacing, 2, "Pixel Spacing", where)
        if np.any(spacing <= 0):
            raise DicomError(f"{where}: Pixel Spacing (0028,0030) {spacing.tolist()} must be positive")
        plane = _Plane(
            position=_floats(pos_item.ImagePositionPatient, 3, "Image Position (Patient)", where),
            row_cosines=_unit(iop[:3], "Image Orientation (Patient) row cosines", where),
            column_cosines=_unit(iop[3:], "Image Orientation (Patient) column cosines", where),
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


def _seg_grid(sf: _SegFile, *, policy: Policy, tolerance_mm: float) -> Geometry:
    """The grid a SEG defines by itself (see the module docstring)."""
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
    sf: _SegFile, reference: Geometry | Volume | None, *, policy: Policy, tolerance_mm: float
) -> tuple[Geometry, str]:
    if reference is None:
        return _seg_grid(sf, policy=policy, tolerance_mm=tolerance_mm), f"the grid of SEG {sf.path.name}"
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


def _segment_name(sf: _SegFile, number: int) -> str:
    return f"{number} ({sf.labels[number].name!r})"


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
    (see the module docstring).

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
        On ``reference``'s grid when given.

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
    grid, grid_name = _resolve_grid(sf, reference, policy=policy, tolerance_mm=tolerance_mm)
    top = max(sf.labels)
    out = np.zeros(grid.shape, dtype=np.uint8 if top <= np.iinfo(np.uint8).max else np.uint16)
    overlaps: dict[tuple[int, int], int] = {}
    for frame in sf.frames:
        values = _frame_values(sf, frame)
        placed = _place(
            frame.plane,
            values,
            grid,
            tolerance_mm=tolerance_mm,
            what=f"frame {frame.index + 1} of DICOM SEG {sf.path}",
            grid_name=grid_name,
        )
        if placed is None:
            continue
        target, block = placed
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
        apply_policy(
            policy,
            f"DICOM SEG {sf.path}: every segment is empty "
            f"({', '.join(lab.name for lab in sf.labels.values())})",
            logger=logger,
            error=MaskError,
        )
    return LabelMap(array=out, geometry=grid, labels=sf.labels, source=str(sf.path))


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
        name, Tracking ID and Tracking UID, all on the same grid.
    """
    sf = _load(path)
    grid, grid_name = _resolve_grid(sf, reference, policy=policy, tolerance_mm=tolerance_mm)
    arrays = {n: np.zeros(grid.shape, dtype=np.uint8) for n in sf.labels}
    for frame in sf.frames:
        values = _frame_values(sf, frame)
        placed = _place(
            frame.plane,
            values,
            grid,
            tolerance_mm=tolerance_mm,
            what=f"frame {frame.index + 1} of DICOM SEG {sf.path}",
            grid_name=grid_name,
        )
        if placed is None:
            continue
        target, block = placed
        for number in np.unique(block).tolist():
            if number:
                arrays[int(number)][target][block == number] = 1
    if not any(np.any(a) for a in arrays.values()):
        apply_policy(
            policy,
            f"DICOM SEG {sf.path}: every segment is empty "
            f"({', '.join(lab.name for lab in sf.labels.values())})",
            logger=logger,
            error=MaskError,
        )
    result: dict[int, LabelMap] = {}
    for number, array in arrays.items():
        lab = sf.labels[number]
        result[number] = LabelMap(
            array=array,
            geometry=grid,
            labels={1: Label(1, lab.name, lab.tracking_id, lab.tracking_uid)},
            source=f"{sf.path} segment {number}",
        )
    return result


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------
def property_codes(kind_or_name: str) -> tuple[Code, Code]:
    """Segmented property (category, type) codes for a kind of structure or a label name.

    ``kind_or_name`` is first matched against :data:`PROPERTY_KINDS` and its aliases
    (``"tumour"``, ``"tumor"``, ``"neoplasm"`` → ``"lesion"`` …); otherwise it is read as a
    label name: names mentioning a lesion (``"lesion 3"``, ``"liver tumour"``, ``"metastasis
    S7"``) are lesions, then names containing an organ of the table (``"Liver"``, ``"left
    kidney"``) that organ; anything else is a ``"region"``.
    """
    key = " ".join(kind_or_name.lower().replace("_", " ").split())
    key = _KIND_ALIASES.get(key, key)
    if key in PROPERTY_KINDS:
        return PROPERTY_KINDS[key]
    for fragment, kind in _LESION_WORDS:
        if fragment in key:
            return PROPERTY_KINDS[kind]
    words = set(re.findall(r"[a-z]+", key))
    for kind in PROPERTY_KINDS:
        if kind != "region" and (kind in key if " " in kind else kind in words):
            return PROPERTY_KINDS[kind]
    for alias, kind in _KIND_ALIASES.items():
        if alias in words:
            return PROPERTY_KINDS[kind]
    return PROPERTY_KINDS["region"]


def tracking_uid_for(namespace: str, tracking_id: str) -> str:
    """The deterministic Tracking UID nelm gives a tracking ID that has none.

    ``generate_uid(entropy_srcs=["nelm tracking uid", namespace, tracking_id])`` (pydicom: the
    UID is the pydicom root plus a SHA-512 hash of the sources). :func:`write_seg` uses the
    source series' Patient ID (0010,0020) as ``namespace`` unless the caller passes one, so the
    same lesion ID of the same patient gets the same UID at every time point, and different
    patients' ``"L1"`` get different UIDs.
    """
    return str(generate_uid(entropy_srcs=["nelm tracking uid", namespace, tracking_id]))


def _read_sources(source_images: Sequence[Dataset | str | os.PathLike[str]]) -> list[Dataset]:
    if len(source_images) == 0:
        raise InputError("write_seg needs the source images of the segmented series; none were given")
    out: list[Dataset] = []
    for item in source_images:
        if isinstance(item, Dataset):
            out.append(item)
            continue
        p = Path(item)
        try:
            out.append(pydicom.dcmread(p, stop_before_pixels=True))
        except (InvalidDicomError, OSError, ValueError, EOFError) as exc:
            raise DicomError(f"source image {p} is not a readable DICOM file: {exc}") from exc
    return out


def _source_name(ds: Dataset, i: int) -> str:
    filename = getattr(ds, "filename", None)
    return str(filename) if isinstance(filename, str) and filename else f"source image {i + 1}"


def _source_grid(datasets: list[Dataset]) -> tuple[Geometry, list[Dataset]]:
    """Grid of a single-frame source series and its datasets in slice order.

    Stacking is :func:`nelm.imaging.dicom_common.stack_planes`, the same as nelm's DICOM series
    reader, so a label map on a series read by nelm lies on exactly this grid.
    """
    series = {str(ds.get("SeriesInstanceUID", "")) for ds in datasets}
    if len(series) > 1:
        raise DicomError(
            f"the source images belong to {len(series)} series ({sorted(series)}); pass one series"
        )
    frames_of_ref = {str(ds.get("FrameOfReferenceUID", "")) for ds in datasets}
    if len(frames_of_ref) > 1:
        raise DicomError(f"the source images have several Frame of Reference UIDs: {sorted(frames_of_ref)}")
    planes: list[FramePlane] = []
    for i, ds in enumerate(datasets):
        where = _source_name(ds, i)
        if int(ds.get("NumberOfFrames", 1) or 1) > 1:
            raise DicomError(f"{where} is a multi-frame image; write_seg supports single-frame series")
        for kw, tag in (
            ("ImagePositionPatient", "(0020,0032)"),
            ("ImageOrientationPatient", "(0020,0037)"),
            ("PixelSpacing", "(0028,0030)"),
            ("Rows", "(0028,0010)"),
            ("Columns", "(0028,0011)"),
        ):
            if ds.get(kw) is None:
                raise DicomError(f"{where} lacks {kw} {tag}, needed to place the segmentation")
        iop = _floats(ds.ImageOrientationPatient, 6, "Image Orientation (Patient)", where)
        spacing = _floats(ds.PixelSpacing, 2, "Pixel Spacing", where)
        ipp = _floats(ds.ImagePositionPatient, 3, "Image Position (Patient)", where)
        planes.append(
            FramePlane(
                source=where,
                position_mm=(float(ipp[0]), float(ipp[1]), float(ipp[2])),
                orientation=(
                    float(iop[0]),
                    float(iop[1]),
                    float(iop[2]),
                    float(iop[3]),
                    float(iop[4]),
                    float(iop[5]),
                ),
                pixel_spacing_mm=(float(spacing[0]), float(spacing[1])),
                rows=int(ds.Rows),
                columns=int(ds.Columns),
            )
        )
    single_step = float(datasets[0].get("SpacingBetweenSlices") or datasets[0].get("SliceThickness") or 1.0)
    order, affine = stack_planes(planes, single_slice_step_mm=single_step)
    grid = Geometry(shape=(len(planes), planes[0].rows, planes[0].columns), affine=affine)
    return grid, [datasets[i] for i in order]


def _check_highdicom_labelmap() -> None:
    parts = re.findall(r"\d+", hd.__version__)[:2]
    version = (int(parts[0]), int(parts[1])) if len(parts) == 2 else (0, 0)
    if version < LABELMAP_MIN_HIGHDICOM:
        raise InputError(
            f"LABELMAP segmentations need highdicom >= {'.'.join(map(str, LABELMAP_MIN_HIGHDICOM))}, "
            f"installed {hd.__version__}; upgrade highdicom or write segmentation_type='BINARY'"
        )


def write_seg(
    labelmap: LabelMap,
    source_images: Sequence[Dataset | str | os.PathLike[str]],
    path: str | os.PathLike[str],
    *,
    segmentation_type: SegmentationType = "BINARY",
    series_number: int = 300,
    series_description: str = "nelm segmentation",
    categories: Mapping[int, str] | None = None,
    manufacturer: str = "nelm",
    series_instance_uid: str | None = None,
    sop_instance_uid: str | None = None,
    instance_number: int = 1,
    content_label: str = "NELM_SEG",
    content_description: str | None = None,
    algorithm_type: Literal["MANUAL", "SEMIAUTOMATIC", "AUTOMATIC"] = "MANUAL",
    algorithm_name: str = "",
    algorithm_version: str = "",
    tracking_namespace: str | None = None,
    omit_empty_frames: bool = True,
) -> Path:
    """Write a label map as a DICOM SEG referencing its source image series.

    One segment per label: Segment Label = the label's name; Tracking ID and Tracking UID are
    kept. A label with a Tracking ID but no Tracking UID gets :func:`tracking_uid_for`
    ``(namespace, tracking_id)``, stable across time points; a label with a UID but no ID gets
    its name as Tracking ID; a label with neither gets none. Segmented property codes come from
    ``categories`` or, by default, from the label name (:func:`property_codes`).

    Segment numbers: ``LABELMAP`` keeps the label values. ``BINARY`` requires segment numbers
    1, 2, … N (PS3.3 C.8.20.2.4; highdicom enforces it), so labels are numbered in ascending
    value order; the values round-trip unchanged when they are already 1…N, otherwise a
    warning is logged (tracking IDs keep the identity; use ``LABELMAP`` to keep the values).

    Parameters
    ----------
    labelmap:
        The segmentation; it must lie on the source series' grid.
    source_images:
        The single-frame images of the segmented series (pydicom datasets, pixel data not
        needed, or file paths).
    path:
        Output file; written atomically.
    segmentation_type:
        ``"BINARY"`` (Segmentation Storage, widely supported) or ``"LABELMAP"`` (Label Map
        Segmentation Storage; highdicom ≥ 0.23 and a recent viewer).
    series_number, series_description, manufacturer, instance_number:
        Written as is.
    categories:
        Label value → kind of structure (a key of :data:`PROPERTY_KINDS` or an alias such as
        ``"tumour"``); labels absent from it are classified by name.
    series_instance_uid, sop_instance_uid:
        Pass them for reproducible files; new random UIDs otherwise.
    content_label:
        Content Label (0070,0080), a DICOM code string (upper case, ≤ 16 characters).
    content_description:
        Content Description (0070,0081).
    algorithm_type, algorithm_name, algorithm_version:
        Segment Algorithm Type (0062,0008); ``SEMIAUTOMATIC`` and ``AUTOMATIC`` need the
        algorithm's name (its family is recorded as DCM "Artificial Intelligence").
    tracking_namespace:
        Namespace for generated Tracking UIDs; default the source Patient ID (0010,0020), or,
        when that is blank, the Study Instance UID (stable within the study only; warned).
    omit_empty_frames:
        Leave out frames without segmented pixels (highdicom keeps them all when the whole map
        is empty).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    GeometryError
        The label map is not on the source grid, or the sources do not form a regular volume.
    DicomError
        A source image is unreadable or lacks geometry, or highdicom rejects the content.
    MaskError
        The label map has no labels, or too many for the chosen type.
    InputError
        An unknown category, or a setting highdicom cannot honour.
    """
    if segmentation_type not in ("BINARY", "LABELMAP"):
        raise InputError(f"segmentation_type must be 'BINARY' or 'LABELMAP', got {segmentation_type!r}")
    if segmentation_type == "LABELMAP":
        _check_highdicom_labelmap()
    what = f"label map {labelmap.source or '(unnamed)'}"
    if not labelmap.labels:
        raise MaskError(f"{what} has no labels: there is no segment to write")
    if algorithm_type != "MANUAL" and not algorithm_name:
        raise InputError(
            f"algorithm_type {algorithm_type} needs algorithm_name (the software that segmented)"
        )
    categories = dict(categories or {})
    unknown = sorted(set(categories) - set(labelmap.labels))
    if unknown:
        raise InputError(f"categories name label values {unknown} that {what} does not have")
    datasets = _read_sources(source_images)
    grid, ordered = _source_grid(datasets)
    src = ordered[0]
    grid.require_same(
        labelmap.geometry,
        what=f"source series {src.get('SeriesInstanceUID', '?')} ({len(ordered)} images)",
        other_what=what,
    )
    values = sorted(labelmap.labels)
    if segmentation_type == "BINARY":
        numbers = {v: i + 1 for i, v in enumerate(values)}
        if any(v != n for v, n in numbers.items()):
            logger.warning(
                "%s: BINARY SEG segments must be numbered 1..N; label values %s are written as "
                "segments %s (use segmentation_type='LABELMAP' to keep the values)",
                what,
                values,
                list(numbers.values()),
            )
    else:
        numbers = {v: v for v in values}
    top = max(numbers.values())
    if top > np.iinfo(np.uint16).max:
        raise MaskError(f"{what}: label value {top} exceeds the 65535 segments DICOM SEG can hold")
    lut = np.zeros(int(labelmap.array.max(initial=0)) + 1, dtype=np.uint16)
    for v, n in numbers.items():
        if v < lut.size:
            lut[v] = n
    pixels = lut[labelmap.array]
    pixels = pixels.astype(np.uint8) if top <= np.iinfo(np.uint8).max else pixels
    namespace = tracking_namespace or str(src.get("PatientID", "") or "")
    if not namespace and any(lab.tracking_id and not lab.tracking_uid for lab in labelmap.labels.values()):
        namespace = str(src.get("StudyInstanceUID", ""))
        logger.warning(
            "%s: the source Patient ID is blank, so generated Tracking UIDs use the Study Instance UID "
            "and are stable within this study only; pass tracking_namespace= for cross-study tracking",
            what,
        )
    algorithm_id = None
    if algorithm_type != "MANUAL":
        algorithm_id = hd.AlgorithmIdentificationSequence(
            name=algorithm_name,
            family=codes.cid7162.ArtificialIntelligence,
            version=algorithm_version or "unknown",
        )
    descriptions = []
    for v in values:
        lab = labelmap.labels[v]
        kind = categories.get(v)
        if kind is not None:
            key = _KIND_ALIASES.get(kind.lower().strip(), kind.lower().strip())
            if key not in PROPERTY_KINDS:
                raise InputError(
                    f"category {kind!r} for label {v} ({lab.name!r}) is unknown; use one of "
                    f"{sorted(PROPERTY_KINDS)} or {sorted(_KIND_ALIASES)}"
                )
            category, prop_type = PROPERTY_KINDS[key]
        else:
            category, prop_type = property_codes(lab.name)
        tracking_id = lab.tracking_id or (lab.name if lab.tracking_uid else "")
        tracking_uid = lab.tracking_uid or (tracking_uid_for(namespace, tracking_id) if tracking_id else "")
        descriptions.append(
            hd.seg.SegmentDescription(
                segment_number=numbers[v],
                segment_label=lab.name,
                segmented_property_category=category,
                segmented_property_type=prop_type,
                algorithm_type=algorithm_type,
                algorithm_identification=algorithm_id,
                tracking_id=tracking_id or None,
                tracking_uid=tracking_uid or None,
            )
        )
    charset = src.get("SpecificCharacterSet") or None
    try:
        with _highdicom_warnings_to_log():
            seg = hd.seg.Segmentation(
                source_images=ordered,
                pixel_array=pixels,
                segmentation_type=segmentation_type,
                segment_descriptions=descriptions,
                series_instance_uid=series_instance_uid or generate_uid(),
                series_number=series_number,
                sop_instance_uid=sop_instance_uid or generate_uid(),
                instance_number=instance_number,
                manufacturer=manufacturer,
                manufacturer_model_name="nelm",
                software_versions=__version__,
                device_serial_number="0",
                series_description=series_description,
                content_label=content_label,
                content_description=content_description,
                omit_empty_frames=omit_empty_frames,
                specific_character_set=charset,
            )
    except (ValueError, TypeError) as exc:
        raise DicomError(f"cannot build the DICOM SEG {path} from {what}: {exc}") from exc
    seg.ImageComments = RESEARCH_USE_DISCLAIMER  # General Image module (PS3.3 C.7.6.1)
    target = Path(path)
    with atomic_path(target) as tmp:
        pydicom.dcmwrite(tmp, seg, enforce_file_format=True)
    logger.info("wrote DICOM SEG %s (%d segments, %s)", target, len(descriptions), segmentation_type)
    return target
