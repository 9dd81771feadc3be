"""Helpers shared by nelm's DICOM reader and writer.

* **Dates and times** (:func:`parse_datetime`, :func:`combine_date_time`, :func:`resolve_timezone`):
  DICOM DA/TM/DT strings (PS3.5 §6.2) to timezone-aware :class:`datetime.datetime`. A DT value
  that carries its own ``&ZZXX`` offset keeps it; otherwise the series' Timezone Offset From UTC
  (0008,0201) is used, and only when that is absent the caller's assumed zone.
* **Reading files** (:func:`looks_like_dicom`, :func:`read_header`, :func:`check_transfer_syntax`):
  every pydicom failure becomes a :class:`~nelm.errors.DicomError` naming the file.
* **Stacking 2-D frames into a grid** (:class:`FramePlane`, :func:`stack_planes`): sort by the
  position along the slice normal, validate orientation, duplicates and gaps, and build the
  ``[slice, row, column]`` → LPS affine.
* **Deterministic UIDs** (:func:`deterministic_uid`).
* **Reading image headers** (:func:`modality_of`, :func:`frame_plane`, :func:`series_timezone`
  …): the pieces the series readers (:mod:`nelm.imaging.dicom_read`, :mod:`nelm.imaging.dicom_nm`)
  share to recognise an image and place its frames.

Geometry convention (PS3.3 C.7.6.2.1.1, Image Orientation (Patient) and Image Position (Patient)):
the first three values of Image Orientation (Patient) are the direction cosines of the *row*,
i.e. the LPS direction in which the **column index increases**; the last three are the direction
cosines of the *column*, the direction in which the **row index increases**. Pixel Spacing
(0028,0030) is ``[spacing between rows, spacing between columns]`` (PS3.3 10.7.1.3). Hence, for
an array indexed ``[slice, row, column]``::

    affine[:3, 0] = slice step (mm)       = (IPP_last - IPP_first) / (n - 1)
    affine[:3, 1] = IOP[3:6] * PixelSpacing[0]     (down a column: next row)
    affine[:3, 2] = IOP[0:3] * PixelSpacing[1]     (along a row: next column)
    affine[:3, 3] = IPP of the first slice (centre of the first voxel)
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels.decoders.base import get_decoder
from pydicom.uid import UID, generate_uid

from nelm import __version__
from nelm.errors import DicomError, GeometryError
from nelm.imaging.geometry import Geometry
from nelm.policy import Policy, apply_policy

__all__ = [
    "DUPLICATE_TOLERANCE_MM",
    "IMPLEMENTATION_CLASS_UID",
    "IMPLEMENTATION_VERSION_NAME",
    "ORIENTATION_TOLERANCE",
    "PIXEL_SPACING_TOLERANCE_MM",
    "PLANAR_ORIENTATIONS",
    "SPACING_TOLERANCE_MM",
    "SPACING_TOLERANCE_REL",
    "SUPPORTED_SOP_CLASSES",
    "FramePlane",
    "check_transfer_syntax",
    "combine_date_time",
    "deterministic_uid",
    "digest_of",
    "float_or_none",
    "floats",
    "format_tz_offset",
    "frame_plane",
    "functional_group_item",
    "looks_like_dicom",
    "modality_of",
    "output_dtype",
    "parse_date",
    "parse_datetime",
    "parse_or_warn",
    "parse_tz_offset",
    "planar_geometry",
    "planar_orientation",
    "read_header",
    "required",
    "resolve_timezone",
    "series_timezone",
    "sop_class_uid_of",
    "sop_instance_uid_of",
    "stack_planes",
    "stored_range",
    "text_of",
    "transfer_syntax_of",
]

logger = logging.getLogger(__name__)

#: Largest difference between corresponding direction cosines (Image Orientation (Patient)) of
#: two frames that still counts as the same orientation: 1e-3 ≈ 0.06°, i.e. at most 0.25 mm
#: across a 250 mm field of view. Scanners write cosines with 6+ decimals, so true differences
#: (a localizer, a re-angled block) are orders of magnitude larger.
ORIENTATION_TOLERANCE: Final[float] = 1e-3

#: Two frames whose positions along the slice normal differ by less than this are duplicates.
#: Equal to the grid tolerance of :data:`nelm.imaging.geometry.DEFAULT_TOLERANCE_MM`.
DUPLICATE_TOLERANCE_MM: Final[float] = 0.01

#: A slice step may deviate from the median step by at most
#: ``max(SPACING_TOLERANCE_REL * median, SPACING_TOLERANCE_MM)`` before the series is reported as
#: having a gap (or an irregular spacing). 10 % or 0.1 mm, whichever is larger.
SPACING_TOLERANCE_REL: Final[float] = 0.10
SPACING_TOLERANCE_MM: Final[float] = 0.1

#: Largest difference in Pixel Spacing (mm) between frames of one grid.
PIXEL_SPACING_TOLERANCE_MM: Final[float] = 1e-3

#: nelm's Implementation Class UID (0002,0012): a fixed UID derived from the package name under
#: pydicom's UID root (nelm has no registered root of its own).
IMPLEMENTATION_CLASS_UID: Final[UID] = generate_uid(entropy_srcs=["nelm implementation class"])
#: Implementation Version Name (0002,0013), SH (at most 16 characters).
IMPLEMENTATION_VERSION_NAME: Final[str] = f"NELM_{__version__}"[:16]

_TZ_OFFSET = re.compile(r"^([+-])(\d{2})(\d{2})$")


# -- small value helpers ----------------------------------------------------------------------
def text_of(ds: Dataset, keyword: str) -> str:
    """The element's value as a stripped string, ``""`` when absent or empty."""
    value = ds.get(keyword)
    if value is None:
        return ""
    if isinstance(value, pydicom.multival.MultiValue):
        return "\\".join(str(v) for v in value).strip()
    return str(value).strip()


def float_or_none(value: Any) -> float | None:
    """A finite float, or ``None`` for absent, empty or non-numeric values."""
    if value is None or value == "":
        return None
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return result if math.isfinite(result) else None


def sop_class_uid_of(ds: Dataset) -> str:
    """SOP Class UID, falling back to Media Storage SOP Class UID of the file meta."""
    uid = text_of(ds, "SOPClassUID")
    if not uid and hasattr(ds, "file_meta"):
        uid = text_of(ds.file_meta, "MediaStorageSOPClassUID")
    return uid


def sop_instance_uid_of(ds: Dataset) -> str:
    """SOP Instance UID, falling back to Media Storage SOP Instance UID of the file meta."""
    uid = text_of(ds, "SOPInstanceUID")
    if not uid and hasattr(ds, "file_meta"):
        uid = text_of(ds.file_meta, "MediaStorageSOPInstanceUID")
    return uid


def transfer_syntax_of(ds: Dataset) -> UID:
    """Transfer Syntax UID of a dataset read from a file (file meta, else its encoding)."""
    meta = getattr(ds, "file_meta", None)
    uid = text_of(meta, "TransferSyntaxUID") if meta is not None else ""
    if uid:
        return UID(uid)
    implicit, little = ds.original_encoding
    if implicit:
        return pydicom.uid.ImplicitVRLittleEndian
    return pydicom.uid.ExplicitVRLittleEndian if little else pydicom.uid.ExplicitVRBigEndian


def deterministic_uid(*parts: str) -> UID:
    """A UID derived from ``parts`` (same parts, same UID), under pydicom's UID root.

    Uses :func:`pydicom.uid.generate_uid` with ``entropy_srcs`` (a SHA-512 of the parts), so
    writing the same input twice gives byte-identical files.
    """
    return generate_uid(entropy_srcs=["nelm", *parts])


def digest_of(array: npt.NDArray[np.generic]) -> str:
    """SHA-256 hex digest of an array's dtype, shape and bytes (for deterministic UIDs)."""
    h = hashlib.sha256()
    h.update(str(array.dtype).encode())
    h.update(str(array.shape).encode())
    h.update(np.ascontiguousarray(array).tobytes())
    return h.hexdigest()


# -- dates and times --------------------------------------------------------------------------
def parse_tz_offset(value: str) -> timezone:
    """Timezone from a DICOM ``&ZZXX`` offset such as ``"+0100"`` or ``"-0530"``.

    Raises
    ------
    ValueError
        If the value is not ``+HHMM``/``-HHMM`` within ±14 h (PS3.5 Table 6.2-1, DT).
    """
    m = _TZ_OFFSET.match(value.strip())
    if m is None:
        raise ValueError(f"{value!r} is not a UTC offset of the form +HHMM or -HHMM")
    hours, minutes = int(m.group(2)), int(m.group(3))
    if hours > 14 or minutes > 59:
        raise ValueError(f"{value!r} is outside the range of UTC offsets")
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if m.group(1) == "-" else delta)


def format_tz_offset(dt: datetime) -> str:
    """The ``&ZZXX`` offset string (e.g. ``"+0100"``) of an aware datetime."""
    offset = dt.utcoffset()
    if offset is None:
        raise ValueError(f"{dt.isoformat()} has no timezone")
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}{minutes % 60:02d}"


def resolve_timezone(ds: Dataset, assume_timezone: tzinfo) -> tuple[tzinfo, bool]:
    """The zone of a dataset's local times and whether it was assumed.

    Timezone Offset From UTC (0008,0201) when present and valid, else ``assume_timezone``.

    Raises
    ------
    ValueError
        If (0008,0201) is present but malformed.
    """
    raw = text_of(ds, "TimezoneOffsetFromUTC")
    if raw:
        return parse_tz_offset(raw), False
    return assume_timezone, True


def parse_date(value: str) -> date | None:
    """A DA value (``YYYYMMDD``, or the ACR-NEMA ``YYYY.MM.DD``) as a date; ``None`` if empty."""
    value = value.strip()
    if not value:
        return None
    parsed = pydicom.valuerep.DA(value.replace(".", ""))
    return date(parsed.year, parsed.month, parsed.day)


def _parse_time(value: str) -> time:
    parsed = pydicom.valuerep.TM(value.strip().replace(":", ""))
    return time(parsed.hour, parsed.minute, parsed.second, parsed.microsecond)


def combine_date_time(date_value: str, time_value: str, tz: tzinfo) -> datetime | None:
    """A DA and a TM value as an aware datetime in ``tz``; ``None`` if the date is empty.

    An empty time means midnight (the date alone is known).

    Raises
    ------
    ValueError
        If either value is malformed.
    """
    d = parse_date(date_value)
    if d is None:
        return None
    t = _parse_time(time_value) if time_value.strip() else time(0, 0)
    return datetime.combine(d, t, tzinfo=tz)


def parse_datetime(value: str, tz: tzinfo) -> datetime | None:
    """A DT value as an aware datetime; its own ``&ZZXX`` offset wins over ``tz``.

    Raises
    ------
    ValueError
        If the value is malformed.
    """
    value = value.strip()
    if not value:
        return None
    parsed = pydicom.valuerep.DT(value)
    zone = parsed.tzinfo if parsed.tzinfo is not None else tz
    return datetime(
        parsed.year,
        parsed.month,
        parsed.day,
        parsed.hour,
        parsed.minute,
        parsed.second,
        parsed.microsecond,
        tzinfo=zone,
    )


# -- reading files ----------------------------------------------------------------------------
def looks_like_dicom(path: Path) -> bool:
    """Whether a file looks like DICOM: ``DICM`` at byte 128 (PS3.10 §7.1), or no preamble but
    a first element in group 0002 or 0008 (old files without file meta information)."""
    try:
        with path.open("rb") as f:
            head = f.read(132)
    except OSError:
        return False
    if len(head) >= 132 and head[128:132] == b"DICM":
        return True
    return len(head) >= 8 and head[:2] in (b"\x02\x00", b"\x08\x00") and head[3:4] == b"\x00"


def read_header(path: Path) -> tuple[Dataset, int | None]:
    """Read a DICOM file's header (no pixel data), turning every failure into a :class:`DicomError`.

    Files without the ``DICM`` preamble are read with ``force=True`` when
    :func:`looks_like_dicom` accepts them.

    Returns
    -------
    dataset, pixel_offset:
        The header, and the byte offset of the Pixel Data (7FE0,0010) element in the file
        (``None`` when the file has none, or is deflated so that offsets are meaningless).

    Raises
    ------
    DicomError
        Naming the file, for unreadable, truncated or non-DICOM files.
    """
    try:
        with path.open("rb") as f:
            head = f.read(132)
            force = not (len(head) >= 132 and head[128:132] == b"DICM")
            if force and not looks_like_dicom(path):
                raise DicomError(f"{path}: not a DICOM file (no 'DICM' marker at byte 128)")
            f.seek(0)
            ds = pydicom.dcmread(f, stop_before_pixels=True, force=force)
            offset: int | None = f.tell()
            f.seek(0, 2)
            if offset is not None and offset >= f.tell():
                offset = None
    except DicomError:
        raise
    except (InvalidDicomError, EOFError, OSError, ValueError, KeyError, TypeError, OverflowError) as exc:
        raise DicomError(f"{path}: cannot read the DICOM header ({type(exc).__name__}: {exc})") from exc
    except Exception as exc:  # struct.error, UnicodeDecodeError … from a corrupt file
        raise DicomError(f"{path}: corrupt DICOM file ({type(exc).__name__}: {exc})") from exc
    if not ds:
        raise DicomError(f"{path}: no DICOM elements could be read (empty or corrupt file)")
    if transfer_syntax_of(ds) == pydicom.uid.DeflatedExplicitVRLittleEndian:
        offset = None
    return ds, offset


def check_transfer_syntax(ds: Dataset, path: Path | str) -> UID:
    """The dataset's transfer syntax, if nelm can decode its pixel data.

    Raises
    ------
    DicomError
        Naming the file and the Transfer Syntax UID (0002,0010) when pydicom has no decoder for
        it (e.g. MPEG-2/4 or HEVC video, or an unknown UID) or the decoder's plugin is missing.
    """
    uid = transfer_syntax_of(ds)
    if uid == pydicom.uid.DeflatedExplicitVRLittleEndian:
        return uid
    try:
        decoder = get_decoder(uid)
    except NotImplementedError as exc:
        raise DicomError(
            f"{path}: Transfer Syntax UID (0002,0010) {uid} ({uid.name}) is not supported for "
            "pixel data; convert the series to an uncompressed, JPEG, JPEG-LS, JPEG 2000 or RLE "
            "transfer syntax (e.g. with dcmdjpeg/gdcmconv)"
        ) from exc
    if not decoder.is_available:
        raise DicomError(
            f"{path}: Transfer Syntax UID (0002,0010) {uid} ({uid.name}) needs a pixel data "
            f"plugin that is not installed ({decoder.missing_dependencies})"
        )
    return uid


# -- stacking frames into a grid -------------------------------------------------------------
@dataclass(frozen=True)
class FramePlane:
    """The plane of one 2-D frame: where it is, how it is oriented, its pixel grid.

    Parameters
    ----------
    source:
        Human name for messages, e.g. ``"ct/IM0003.dcm"`` or ``"nm.dcm frame 7"``.
    position_mm:
        Image Position (Patient): LPS centre of the first transmitted pixel.
    orientation:
        Image Orientation (Patient), six direction cosines (row cosine, column cosine).
    pixel_spacing_mm:
        Pixel Spacing ``(between rows, between columns)``.
    rows, columns:
        Frame size.
    """

    source: str
    position_mm: tuple[float, float, float]
    orientation: tuple[float, float, float, float, float, float]
    pixel_spacing_mm: tuple[float, float]
    rows: int
    columns: int
    normal: npt.NDArray[np.float64] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        iop = np.asarray(self.orientation, dtype=float)
        if iop.shape != (6,) or not np.all(np.isfinite(iop)):
            raise GeometryError(
                f"{self.source}: Image Orientation (Patient) {self.orientation} is not six numbers"
            )
        r, c = iop[:3], iop[3:]
        if abs(np.linalg.norm(r) - 1) > 1e-3 or abs(np.linalg.norm(c) - 1) > 1e-3 or abs(r @ c) > 1e-3:
            raise GeometryError(
                f"{self.source}: Image Orientation (Patient) (0020,0037) {list(self.orientation)} "
                "is not two perpendicular unit vectors"
            )
        if any(s <= 0 or not math.isfinite(s) for s in self.pixel_spacing_mm):
            raise GeometryError(
                f"{self.source}: Pixel Spacing (0028,0030) {self.pixel_spacing_mm} must be positive"
            )
        n = np.cross(r, c)
        object.__setattr__(self, "normal", n / np.linalg.norm(n))


def _describe_position(p: npt.NDArray[np.float64]) -> str:
    return "(" + ", ".join(f"{v:.2f}" for v in p) + ") mm"


def stack_planes(
    planes: Sequence[FramePlane], *, single_slice_step_mm: float = 1.0
) -> tuple[list[int], npt.NDArray[np.float64]]:
    """Sort frames along their common normal, validate them and build the grid affine.

    Parameters
    ----------
    planes:
        One :class:`FramePlane` per frame, in any order.
    single_slice_step_mm:
        Slice step for a one-frame grid (no second position to measure it from): the caller
        passes Spacing Between Slices or Slice Thickness.

    Returns
    -------
    order, affine:
        ``order[k]`` is the index in ``planes`` of the frame that becomes slice ``k`` (ascending
        position along the normal ``IOP[:3] × IOP[3:]``); ``affine`` maps ``(slice, row,
        column)`` to LPS mm (see the module docstring).

    Raises
    ------
    DicomError
        Frames of different Rows/Columns.
    GeometryError
        Non-parallel frames, different pixel spacings, two frames at one position, a gap (a step
        deviating from the median by more than :data:`SPACING_TOLERANCE_REL` or
        :data:`SPACING_TOLERANCE_MM`), or positions that do not lie on a straight line.
    """
    if not planes:
        raise DicomError("no image frames to stack")
    first = planes[0]
    iop0 = np.asarray(first.orientation, dtype=float)
    ps0 = np.asarray(first.pixel_spacing_mm, dtype=float)
    for p in planes[1:]:
        if (p.rows, p.columns) != (first.rows, first.columns):
            raise DicomError(
                f"frames differ in size: {first.source} is {first.rows}x{first.columns} (Rows x Columns) "
                f"but {p.source} is {p.rows}x{p.columns}; they cannot form one volume"
            )
        if np.max(np.abs(np.asarray(p.orientation) - iop0)) > ORIENTATION_TOLERANCE:
            raise GeometryError(
                f"frames are not parallel: Image Orientation (Patient) (0020,0037) of {first.source} is "
                f"{[round(v, 6) for v in first.orientation]} but of {p.source} is "
                f"{[round(v, 6) for v in p.orientation]}; the series mixes orientations (e.g. a localizer "
                "or a re-angled block) and cannot form one volume"
            )
        if np.max(np.abs(np.asarray(p.pixel_spacing_mm) - ps0)) > PIXEL_SPACING_TOLERANCE_MM:
            raise GeometryError(
                f"frames differ in Pixel Spacing (0028,0030): {first.source} has "
                f"{list(first.pixel_spacing_mm)} mm but {p.source} has {list(p.pixel_spacing_mm)} mm"
            )
    normal = first.normal
    positions = np.array([p.position_mm for p in planes], dtype=float)
    distances = positions @ normal
    order = [int(i) for i in np.argsort(distances, kind="stable")]
    pos = positions[order]
    dist = distances[order]
    n = len(planes)

    affine = np.eye(4)
    affine[:3, 1] = iop0[3:] * ps0[0]
    affine[:3, 2] = iop0[:3] * ps0[1]
    affine[:3, 3] = pos[0]
    if n == 1:
        affine[:3, 0] = normal * single_slice_step_mm
        return order, affine

    steps = np.diff(dist)
    for k, step in enumerate(steps):
        if step < DUPLICATE_TOLERANCE_MM:
            a, b = planes[order[k]], planes[order[k + 1]]
            raise GeometryError(
                f"two frames at the same position {_describe_position(pos[k])}: {a.source} and {b.source} "
                f"(distance {step:.4f} mm along the slice normal); remove the duplicate or read the "
                "series it belongs to separately"
            )
    median = float(np.median(steps))
    allowed = max(SPACING_TOLERANCE_REL * median, SPACING_TOLERANCE_MM)
    for k, step in enumerate(steps):
        if abs(step - median) > allowed:
            a, b = planes[order[k]], planes[order[k + 1]]
            kind = "a gap" if step > median else "an irregular spacing"
            raise GeometryError(
                f"{kind} in the series between {a.source} at {_describe_position(pos[k])} and {b.source} at "
                f"{_describe_position(pos[k + 1])}: step {step:.3f} mm against a median slice spacing of "
                f"{median:.3f} mm (tolerance {allowed:.3f} mm); slices are missing or the series mixes "
                "acquisitions"
            )
    # In-plane drift of the positions must be linear in the distance along the normal (a gantry
    # tilt gives a constant drift per mm); fit it robustly (medians) so that one displaced slice
    # is the one reported.
    in_plane = pos - np.outer(dist, normal)
    drift = np.median(np.diff(in_plane, axis=0) / steps[:, None], axis=0)
    base = np.median(in_plane - np.outer(dist, drift), axis=0)
    residual = np.linalg.norm(in_plane - base - np.outer(dist, drift), axis=1)
    worst = int(np.argmax(residual))
    if residual[worst] > allowed:
        raise GeometryError(
            f"slice positions do not lie on a straight line: {planes[order[worst]].source} at "
            f"{_describe_position(pos[worst])} is displaced by {residual[worst]:.3f} mm within its plane "
            f"from the line through the other slices (tolerance {allowed:.3f} mm)"
        )
    step_vec = (pos[-1] - pos[0]) / (n - 1)
    affine[:3, 0] = step_vec
    return order, affine


#: Planar NM orientation by view, as Image Orientation (Patient) values (row cosine, column
#: cosine): rows run head to feet; columns run to the patient's left for an anterior view and to
#: the patient's right for a posterior view (the image as seen from the detector). Any other view
#: uses the anterior orientation. Planar images carry no patient position: the origin is
#: (0, 0, 0) mm and the slice axis is a nominal 1 mm along the viewing direction.
PLANAR_ORIENTATIONS: Final[dict[str, tuple[float, float, float, float, float, float]]] = {
    "ANTERIOR": (1.0, 0.0, 0.0, 0.0, 0.0, -1.0),
    "POSTERIOR": (-1.0, 0.0, 0.0, 0.0, 0.0, -1.0),
}


def planar_orientation(view: str) -> tuple[float, float, float, float, float, float]:
    """Image Orientation (Patient) nelm uses for a planar view (see :data:`PLANAR_ORIENTATIONS`)."""
    key = view.upper().split("_")[0]
    return PLANAR_ORIENTATIONS.get(key, PLANAR_ORIENTATIONS["ANTERIOR"])


def planar_geometry(rows: int, columns: int, pixel_spacing_mm: tuple[float, float], view: str) -> Geometry:
    """The one-slice grid of a planar NM view under nelm's planar convention.

    Parameters
    ----------
    rows, columns:
        Image size.
    pixel_spacing_mm:
        ``(between rows, between columns)`` in mm.
    view:
        ``"ANTERIOR"``, ``"POSTERIOR"`` or another view name.
    """
    plane = FramePlane(
        source=f"planar view {view}",
        position_mm=(0.0, 0.0, 0.0),
        orientation=planar_orientation(view),
        pixel_spacing_mm=pixel_spacing_mm,
        rows=rows,
        columns=columns,
    )
    _, affine = stack_planes([plane], single_slice_step_mm=1.0)
    return Geometry(shape=(1, rows, columns), affine=affine)


def output_dtype(
    stored_ranges: Sequence[tuple[int, int]], rescales: Sequence[tuple[float, float]]
) -> np.dtype[Any]:
    """The dtype of rescaled voxel values (Modality LUT, PS3.3 C.11.1.1.2: ``v = m * sv + b``).

    ``float32`` when any slope differs from 1 or any intercept is not an integer; otherwise the
    smallest of int16, uint16, int32, int64 that holds every possible value, computed from the
    stored-value range implied by Bits Stored and Pixel Representation (not from the data, so
    that every series of one kind gets the same dtype).
    """
    if any(m != 1.0 or b != int(b) for m, b in rescales):
        return np.dtype(np.float32)
    lo = min(r[0] + int(b) for r, (_, b) in zip(stored_ranges, rescales, strict=True))
    hi = max(r[1] + int(b) for r, (_, b) in zip(stored_ranges, rescales, strict=True))
    for candidate in (np.int16, np.uint16, np.int32):
        info = np.iinfo(candidate)
        if info.min <= lo and hi <= info.max:
            return np.dtype(candidate)
    return np.dtype(np.int64)


def stored_range(ds: Dataset) -> tuple[int, int]:
    """Range of stored pixel values from Bits Stored (0028,0101) and Pixel Representation."""
    bits = int(ds.get("BitsStored") or ds.get("BitsAllocated") or 16)
    if int(ds.get("PixelRepresentation") or 0) == 1:
        return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return 0, 2**bits - 1


# -- reading image headers: modality, plane tags, time zone ---------------------------------
#: Image SOP classes nelm loads as volumes, with their modality.
SUPPORTED_SOP_CLASSES: Final[dict[str, str]] = {
    pydicom.uid.CTImageStorage: "CT",
    pydicom.uid.EnhancedCTImageStorage: "CT",
    pydicom.uid.LegacyConvertedEnhancedCTImageStorage: "CT",
    pydicom.uid.MRImageStorage: "MR",
    pydicom.uid.EnhancedMRImageStorage: "MR",
    pydicom.uid.LegacyConvertedEnhancedMRImageStorage: "MR",
    pydicom.uid.PositronEmissionTomographyImageStorage: "PT",
    pydicom.uid.EnhancedPETImageStorage: "PT",
    pydicom.uid.LegacyConvertedEnhancedPETImageStorage: "PT",
    pydicom.uid.NuclearMedicineImageStorage: "NM",
}


def modality_of(ds: Dataset) -> str | None:
    """Modality nelm loads ``ds`` as (``"CT"``, ``"MR"``, ``"PT"``, ``"NM"``), or ``None``."""
    sop = sop_class_uid_of(ds)
    if sop in SUPPORTED_SOP_CLASSES:
        return SUPPORTED_SOP_CLASSES[sop]
    modality = text_of(ds, "Modality")
    if not sop and modality in {"CT", "MR", "PT", "NM"}:
        return modality
    return None


def floats(value: Any, n: int, what: str, where: str) -> tuple[float, ...]:
    """``n`` numbers of a multi-valued tag, else :class:`DicomError` naming ``what`` and ``where``."""
    try:
        out = tuple(float(v) for v in value)
    except (TypeError, ValueError) as exc:
        raise DicomError(f"{where}: {what} has non-numeric values {value!r}") from exc
    if len(out) != n:
        raise DicomError(f"{where}: {what} has {len(out)} values, expected {n}: {value!r}")
    return out


def required(ds: Dataset, keyword: str, tag: str, where: str) -> Any:
    """Value of a geometry tag needed to place a frame, else :class:`DicomError`."""
    value = ds.get(keyword)
    if value is None or value == "":
        raise DicomError(
            f"{where}: {keyword} {tag} is missing; the frame cannot be placed in patient space "
            "(the file is not a complete cross-sectional image)"
        )
    return value


def frame_plane(
    ds: Dataset, position_ds: Dataset, orientation_ds: Dataset, spacing_ds: Dataset, where: str
) -> FramePlane:
    """Plane of one frame: position, orientation and pixel spacing from the given items (the
    top level, functional group items or a detector item), rows and columns from ``ds``."""
    ipp = floats(
        required(position_ds, "ImagePositionPatient", "(0020,0032)", where), 3, "ImagePositionPatient", where
    )
    iop = floats(
        required(orientation_ds, "ImageOrientationPatient", "(0020,0037)", where),
        6,
        "ImageOrientationPatient",
        where,
    )
    ps = floats(required(spacing_ds, "PixelSpacing", "(0028,0030)", where), 2, "PixelSpacing", where)
    return FramePlane(
        source=where,
        position_mm=(ipp[0], ipp[1], ipp[2]),
        orientation=(iop[0], iop[1], iop[2], iop[3], iop[4], iop[5]),
        pixel_spacing_mm=(ps[0], ps[1]),
        rows=int(required(ds, "Rows", "(0028,0010)", where)),
        columns=int(required(ds, "Columns", "(0028,0011)", where)),
    )


def functional_group_item(ds: Dataset, per_frame: Dataset | None, keyword: str) -> Dataset | None:
    """First item of functional group ``keyword`` for a frame: from its Per-frame Functional
    Groups item ``per_frame`` when there, else from the Shared Functional Groups; ``None``."""
    for groups in (per_frame, (ds.get("SharedFunctionalGroupsSequence") or [None])[0]):
        if groups is not None:
            seq = groups.get(keyword)
            if seq:
                item: Dataset = seq[0]
                return item
    return None


def parse_or_warn(
    parse: Callable[[], datetime | None], where: str, what: str, policy: Policy, warnings: list[str]
) -> datetime | None:
    """``parse()``; a malformed value (``ValueError``) is reported by ``policy`` and gives ``None``."""
    try:
        return parse()
    except ValueError as exc:
        apply_policy(
            policy,
            f"{where}: malformed {what} ({exc}); ignored",
            logger=logger,
            warnings=warnings,
            error=DicomError,
        )
        return None


def series_timezone(ds: Dataset, where: str, assume: tzinfo, policy: Policy, warnings: list[str]) -> tzinfo:
    """Zone of the local DICOM times of ``ds``: its Timezone Offset From UTC, else ``assume``."""
    try:
        tz, assumed = resolve_timezone(ds, assume)
    except ValueError as exc:
        apply_policy(
            policy,
            f"{where}: malformed Timezone Offset From UTC (0008,0201) ({exc}); using {assume}",
            logger=logger,
            warnings=warnings,
            error=DicomError,
        )
        return assume
    if assumed:
        note = f"{where}: no Timezone Offset From UTC (0008,0201); local DICOM times were taken as {assume}"
        apply_policy(
            Policy.IGNORE if policy is Policy.IGNORE else Policy.WARN, note, logger=logger, warnings=warnings
        )
    return tz
