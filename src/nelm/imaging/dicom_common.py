"""Helpers shared by nelm's DICOM reader and writer.

* **Dates and times**: DICOM DA/TM/DT strings (PS3.5 §6.2) to timezone-aware
  :class:`datetime.datetime` (:func:`parse_datetime`, :func:`combine_date_time` …, in
  :mod:`nelm.imaging.dicom_datetime`). A DT value that carries its own ``&ZZXX`` offset keeps it;
  otherwise the series' Timezone Offset From UTC (0008,0201) is used, and only when that is
  absent the caller's assumed zone (:func:`resolve_timezone`).
* **Reading files** (:func:`looks_like_dicom`, :func:`read_header`, :func:`check_transfer_syntax`):
  every pydicom failure becomes a :class:`~nelm.errors.DicomError` naming the file.
* **Stacking 2-D frames into a grid** (:class:`FramePlane`, :func:`stack_planes`, in
  :mod:`nelm.imaging.dicom_geometry`, with the geometry convention): sort by the position along
  the slice normal, validate orientation, duplicates and gaps, and build the
  ``[slice, row, column]`` → LPS affine.
* **Deterministic UIDs** (:func:`deterministic_uid`).
* **Reading image headers** (:func:`modality_of`, :func:`frame_plane`, :func:`series_timezone`
  …): the pieces the series readers (:mod:`nelm.imaging.dicom_read`, :mod:`nelm.imaging.dicom_nm`)
  share to recognise an image and place its frames.

The public names of :mod:`~nelm.imaging.dicom_datetime` and :mod:`~nelm.imaging.dicom_geometry`
listed in ``__all__`` are re-exported here, so ``dicom_common.stack_planes`` and the like keep
working.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable, Sequence
from datetime import datetime, tzinfo
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
from nelm.errors import DicomError
from nelm.imaging.dicom_datetime import (
    combine_date_time,
    format_tz_offset,
    parse_date,
    parse_datetime,
    parse_tz_offset,
)
from nelm.imaging.dicom_geometry import (
    DUPLICATE_TOLERANCE_MM,
    ORIENTATION_TOLERANCE,
    PIXEL_SPACING_TOLERANCE_MM,
    PLANAR_ORIENTATIONS,
    SPACING_TOLERANCE_MM,
    SPACING_TOLERANCE_REL,
    FramePlane,
    planar_geometry,
    planar_orientation,
    stack_planes,
)
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

#: nelm's Implementation Class UID (0002,0012): a fixed UID derived from the package name under
#: pydicom's UID root (nelm has no registered root of its own).
IMPLEMENTATION_CLASS_UID: Final[UID] = generate_uid(entropy_srcs=["nelm implementation class"])
#: Implementation Version Name (0002,0013), SH (at most 16 characters).
IMPLEMENTATION_VERSION_NAME: Final[str] = f"NELM_{__version__}"[:16]


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
