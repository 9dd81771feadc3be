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
  applied: PET slices routinely have different slopes. The output is ``float32`` if any slope is
  not 1 or any intercept not an integer, else the smallest integer type that holds the stored
  range (see :func:`~nelm.imaging.dicom_common.output_dtype`).
* **Time.** The acquisition datetime of a frame is Acquisition DateTime (0008,002A), else
  Acquisition Date + Acquisition Time (the date falling back to Series Date when only the time
  is present), else Series Date + Series Time; Frame Acquisition DateTime in enhanced files. The
  volume's :attr:`~nelm.imaging.volume.Volume.acquisition_datetime` is the **earliest** over all
  frames (the start of the acquisition; for a multi-bed PET, the first bed). Local times are in
  Timezone Offset From UTC (0008,0201) when present, otherwise in ``assume_timezone`` — and the
  metadata's warnings say so.
* **Memory.** Headers are read first without pixel data; the output array is allocated once and
  filled frame by frame, so the peak is about one volume plus one frame. Uncompressed
  little-endian frames are read straight from the file into the output array (offset recorded
  while reading the header); compressed frames go through pydicom's decoders one at a time (a
  thread pool gave no gain: the openjpeg/CharLS bindings hold the GIL).

Planar NM (STATIC, WHOLE BODY) holds one image per view: :func:`read_nm_planar` returns each
view as a one-slice volume. Planar images have no patient position; nelm's convention is an
origin at (0, 0, 0) mm, rows running head to feet (−S), columns to the patient's left (+L) for
anterior-type views and to the patient's right (−L) for posterior views (the image as seen from
the detector), and a nominal 1 mm slice axis along the viewing direction.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pydicom
from pydicom.dataset import Dataset
from pydicom.pixels.decoders.base import get_decoder
from pydicom.pixels.utils import iter_pixels, pixel_array
from pydicom.uid import UID

from nelm.errors import DicomError, InputError
from nelm.imaging import dicom_common as dc
from nelm.imaging.dicom_discover import Header, group_headers, scan_files, series_info, walk_files
from nelm.imaging.dicom_pet import read_radiopharmaceutical, value_unit_of
from nelm.imaging.geometry import Geometry
from nelm.imaging.metadata import PatientIdentity, SeriesMetadata
from nelm.imaging.volume import Volume
from nelm.policy import Policy, apply_policy

__all__ = ["SUPPORTED_SOP_CLASSES", "read_nm_planar", "read_series"]

logger = logging.getLogger(__name__)

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

_PLANAR_TYPES: Final = frozenset({"STATIC", "WHOLE BODY", "DYNAMIC", "GATED"})
_TOMO_TYPES: Final = frozenset({"RECON TOMO", "RECON GATED TOMO"})
#: Decoder plugin to prefer per transfer syntax, when installed: pyjpegls (CharLS) decodes
#: JPEG-LS about 3x faster than libjpeg, which pydicom would otherwise try first (measured on
#: 512x512 CT slices, pydicom 3.0).
_PREFERRED_PLUGINS: Final[dict[str, str]] = {
    pydicom.uid.JPEGLSLossless: "pyjpegls",
    pydicom.uid.JPEGLSNearLossless: "pyjpegls",
}
_NATIVE_SYNTAXES: Final = frozenset({pydicom.uid.ImplicitVRLittleEndian, pydicom.uid.ExplicitVRLittleEndian})
_PIXEL_DATA_TAG: Final[bytes] = b"\xe0\x7f\x10\x00"


@dataclass(frozen=True)
class _Frame:
    """One 2-D frame to place in the volume."""

    path: Path
    index: int | None  # frame number in a multi-frame file, None for a single-frame file
    plane: dc.FramePlane
    slope: float
    intercept: float
    stored: tuple[int, int]
    transfer_syntax: UID
    acquired: datetime | None = None
    pixel_offset: int | None = None  # offset of the Pixel Data element, for direct native reads
    raw_dtype: np.dtype[Any] | None = None  # stored dtype when the direct read applies


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
        images = {k: g for k, g in groups.items() if _modality_of(g[0].dataset) is not None}
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


def _modality_of(ds: Dataset) -> str | None:
    sop = dc.sop_class_uid_of(ds)
    if sop in SUPPORTED_SOP_CLASSES:
        return SUPPORTED_SOP_CLASSES[sop]
    modality = dc.text_of(ds, "Modality")
    if not sop and modality in {"CT", "MR", "PT", "NM"}:
        return modality
    return None


# -- per-frame geometry and rescale -------------------------------------------------------------
def _floats(value: Any, n: int, what: str, where: str) -> tuple[float, ...]:
    try:
        out = tuple(float(v) for v in value)
    except (TypeError, ValueError) as exc:
        raise DicomError(f"{where}: {what} has non-numeric values {value!r}") from exc
    if len(out) != n:
        raise DicomError(f"{where}: {what} has {len(out)} values, expected {n}: {value!r}")
    return out


def _required(ds: Dataset, keyword: str, tag: str, where: str) -> Any:
    value = ds.get(keyword)
    if value is None or value == "":
        raise DicomError(
            f"{where}: {keyword} {tag} is missing; the frame cannot be placed in patient space "
            "(the file is not a complete cross-sectional image)"
        )
    return value


def _plane(
    ds: Dataset, position_ds: Dataset, orientation_ds: Dataset, spacing_ds: Dataset, where: str
) -> dc.FramePlane:
    ipp = _floats(
        _required(position_ds, "ImagePositionPatient", "(0020,0032)", where), 3, "ImagePositionPatient", where
    )
    iop = _floats(
        _required(orientation_ds, "ImageOrientationPatient", "(0020,0037)", where),
        6,
        "ImageOrientationPatient",
        where,
    )
    ps = _floats(_required(spacing_ds, "PixelSpacing", "(0028,0030)", where), 2, "PixelSpacing", where)
    return dc.FramePlane(
        source=where,
        position_mm=(ipp[0], ipp[1], ipp[2]),
        orientation=(iop[0], iop[1], iop[2], iop[3], iop[4], iop[5]),
        pixel_spacing_mm=(ps[0], ps[1]),
        rows=int(_required(ds, "Rows", "(0028,0010)", where)),
        columns=int(_required(ds, "Columns", "(0028,0011)", where)),
    )


def _rescale(item: Dataset | None, where: str) -> tuple[float, float]:
    if item is None:
        return 1.0, 0.0
    slope = dc.float_or_none(item.get("RescaleSlope"))
    intercept = dc.float_or_none(item.get("RescaleIntercept"))
    if slope == 0:
        raise DicomError(f"{where}: Rescale Slope (0028,1053) is 0; every voxel would be the intercept")
    return (1.0 if slope is None else slope), (0.0 if intercept is None else intercept)


def _check_pixel_module(ds: Dataset, where: str) -> None:
    if int(ds.get("SamplesPerPixel") or 1) != 1:
        raise DicomError(
            f"{where}: Samples per Pixel (0028,0002) is {ds.SamplesPerPixel}; "
            "only greyscale images form volumes"
        )


def _direct(h: Header, ts: UID) -> dict[str, Any]:
    """Direct-read fields of a frame: uncompressed little-endian 8/16/32-bit greyscale only."""
    ds = h.dataset
    bits = int(ds.get("BitsAllocated") or 0)
    if h.pixel_offset is None or ts not in _NATIVE_SYNTAXES or bits not in (8, 16, 32):
        return {}
    kind = "i" if int(ds.get("PixelRepresentation") or 0) == 1 else "u"
    return {"pixel_offset": h.pixel_offset, "raw_dtype": np.dtype(f"<{kind}{bits // 8}")}


def _single_frames(headers: list[Header]) -> list[_Frame]:
    frames = []
    for h in headers:
        ds, where = h.dataset, str(h.path)
        _check_pixel_module(ds, where)
        if int(ds.get("NumberOfFrames") or 1) > 1:
            raise DicomError(
                f"{where}: {ds.NumberOfFrames} frames without functional groups; not a supported layout"
            )
        ts = dc.check_transfer_syntax(ds, where)
        slope, intercept = _rescale(ds, where)
        plane = _plane(ds, ds, ds, ds, where)
        frames.append(
            _Frame(h.path, None, plane, slope, intercept, dc.stored_range(ds), ts, **_direct(h, ts))
        )
    return frames


def _group_item(ds: Dataset, per_frame: Dataset | None, keyword: str) -> Dataset | None:
    for groups in (per_frame, (ds.get("SharedFunctionalGroupsSequence") or [None])[0]):
        if groups is not None:
            seq = groups.get(keyword)
            if seq:
                item: Dataset = seq[0]
                return item
    return None


def _enhanced_frames(h: Header, tz: tzinfo, policy: Policy, warnings: list[str]) -> list[_Frame]:
    ds = h.dataset
    _check_pixel_module(ds, str(h.path))
    ts = dc.check_transfer_syntax(ds, h.path)
    n = int(ds.get("NumberOfFrames") or 1)
    per = ds.get("PerFrameFunctionalGroupsSequence") or []
    frames = []
    for i in range(n):
        where = f"{h.path} frame {i + 1}"
        pf = per[i] if i < len(per) else None
        items: dict[str, Dataset] = {}
        for keyword in ("PlanePositionSequence", "PlaneOrientationSequence", "PixelMeasuresSequence"):
            item = _group_item(ds, pf, keyword)
            if item is None:
                raise DicomError(f"{where}: functional group {keyword} is missing (per-frame and shared)")
            items[keyword] = item
        plane = _plane(
            ds,
            items["PlanePositionSequence"],
            items["PlaneOrientationSequence"],
            items["PixelMeasuresSequence"],
            where,
        )
        slope, intercept = _rescale(_group_item(ds, pf, "PixelValueTransformationSequence"), where)
        content = _group_item(ds, pf, "FrameContentSequence")
        acquired = None
        if content is not None:
            frame_time = dc.text_of(content, "FrameAcquisitionDateTime")
            acquired = _parse_or_warn(
                functools.partial(dc.parse_datetime, frame_time, tz),
                where,
                "FrameAcquisitionDateTime (0018,9074)",
                policy,
                warnings,
            )
        frames.append(
            _Frame(h.path, i, plane, slope, intercept, dc.stored_range(ds), ts, acquired, **_direct(h, ts))
        )
    return frames


def _nm_image_type(ds: Dataset) -> str:
    image_type = ds.get("ImageType") or []
    return str(image_type[2]).strip().upper() if len(image_type) > 2 else ""


def _nm_tomo_frames(h: Header, policy: Policy, warnings: list[str]) -> list[_Frame]:
    ds, where = h.dataset, str(h.path)
    _check_pixel_module(ds, where)
    detectors = ds.get("DetectorInformationSequence") or []
    if not detectors:
        raise DicomError(
            f"{where}: NM RECON TOMO image has no Detector Information Sequence (0054,0022) with its position"
        )
    base = _plane(ds, detectors[0], detectors[0], ds, f"{where} (Detector Information Sequence)")
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
    slope, intercept = _rescale(ds, where)
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
        frames.append(_Frame(h.path, i, plane, slope, intercept, dc.stored_range(ds), ts, **_direct(h, ts)))
    return frames


# -- pixels -----------------------------------------------------------------------------------
def _put(out: npt.NDArray[Any], raw: npt.NDArray[Any], frame: _Frame) -> None:
    if raw.shape != out.shape:
        raise DicomError(
            f"{frame.plane.source}: decoded pixel data has shape {raw.shape}, expected {out.shape}"
        )
    if out.dtype.kind == "f":
        np.multiply(raw, frame.slope, out=out, casting="unsafe")
        if frame.intercept:
            out += np.float32(frame.intercept)
    else:
        out[...] = raw
        if frame.intercept:
            out += int(frame.intercept)


def _read_direct(path: Path, jobs: list[tuple[_Frame, int]], out: npt.NDArray[Any]) -> bool:
    """Read uncompressed frames straight from the file into the output (no decoder, no copy).

    Equivalent to pydicom's native decoding (which, by default, neither masks unused high bits
    nor byte-swaps little-endian data) for 8/16/32-bit little-endian greyscale frames. Returns
    ``False``, having read nothing, when the Pixel Data element is not a plain native one (e.g.
    an undefined length), so that pydicom decodes it instead.
    """
    first = jobs[0][0]
    assert first.raw_dtype is not None
    assert first.pixel_offset is not None
    rows, columns = first.plane.rows, first.plane.columns
    frame_bytes = rows * columns * first.raw_dtype.itemsize
    explicit = first.transfer_syntax == pydicom.uid.ExplicitVRLittleEndian
    buffer: npt.NDArray[Any] | None = None
    with path.open("rb") as f:
        f.seek(first.pixel_offset)
        head = f.read(8)
        if len(head) < 8 or head[:4] != _PIXEL_DATA_TAG:
            raise DicomError(
                f"{path}: Pixel Data (7FE0,0010) not found after the header; the file is corrupt"
            )
        if explicit and head[4:6] in (b"OB", b"OW", b"OD", b"OF", b"OL", b"OV", b"UN"):
            length = int.from_bytes(f.read(4), "little")
        elif explicit:
            length = int.from_bytes(head[6:8], "little")
        else:
            length = int.from_bytes(head[4:8], "little")
        if length == 0xFFFFFFFF:
            return False
        start = f.tell()
        last = max(frame.index or 0 for frame, _ in jobs)
        if length < frame_bytes * (last + 1):
            raise DicomError(
                f"{path}: Pixel Data (7FE0,0010) holds {length} bytes but {frame_bytes * (last + 1)} are "
                f"needed for {last + 1} frame(s) of {rows}x{columns}; the file is truncated or corrupt"
            )
        for frame, k in jobs:
            f.seek(start + (frame.index or 0) * frame_bytes)
            target = out[k]
            direct = target.dtype == frame.raw_dtype and frame.slope == 1.0 and frame.intercept == 0.0
            if direct:
                got = f.readinto(target.data.cast("B"))
            else:
                if buffer is None:
                    buffer = np.empty((rows, columns), dtype=frame.raw_dtype)
                got = f.readinto(buffer.data.cast("B"))
            if got != frame_bytes:
                raise DicomError(
                    f"{path}: the file ends after {got} of the {frame_bytes} bytes of pixel data of "
                    f"frame {(frame.index or 0) + 1}; the file is truncated"
                )
            if not direct:
                assert buffer is not None
                _put(target, buffer, frame)
    return True


def _decode_file(path: Path, jobs: list[tuple[_Frame, int]], out: npt.NDArray[Any]) -> None:
    ts = jobs[0][0].transfer_syntax
    try:
        if jobs[0][0].raw_dtype is not None and _read_direct(path, jobs, out):
            return
        deflated = ts == pydicom.uid.DeflatedExplicitVRLittleEndian
        plugin = _PREFERRED_PLUGINS.get(ts, "")
        if plugin and plugin not in get_decoder(ts).available_plugins:
            plugin = ""
        if jobs[0][0].index is None:
            if deflated:
                raw = pixel_array(pydicom.dcmread(path))
            else:
                raw = pixel_array(path, transfer_syntax_uid=ts, decoding_plugin=plugin)
            _put(out[jobs[0][1]], raw, jobs[0][0])
            return
        wanted = {frame.index: (frame, k) for frame, k in jobs}
        src: Path | Dataset = pydicom.dcmread(path) if deflated else path
        options: dict[str, Any] = {} if deflated else {"transfer_syntax_uid": ts}
        for i, raw in enumerate(iter_pixels(src, decoding_plugin=plugin, **options)):
            if i in wanted:
                frame, k = wanted[i]
                _put(out[k], raw, frame)
    except DicomError:
        raise
    except Exception as exc:  # decoders raise ValueError, RuntimeError, struct.error, …
        raise DicomError(
            f"{path}: cannot decode the pixel data ({ts.name}): {type(exc).__name__}: {exc}. "
            "The file may be truncated or corrupt."
        ) from exc


def _load_pixels(frames: list[_Frame], order: list[int]) -> npt.NDArray[Any]:
    dtype = dc.output_dtype([f.stored for f in frames], [(f.slope, f.intercept) for f in frames])
    first = frames[0].plane
    out = np.empty((len(frames), first.rows, first.columns), dtype=dtype)
    by_file: dict[Path, list[tuple[_Frame, int]]] = {}
    for k, i in enumerate(order):
        by_file.setdefault(frames[i].path, []).append((frames[i], k))
    for p, jobs in by_file.items():
        _decode_file(p, jobs, out)
    return out


# -- metadata ---------------------------------------------------------------------------------
def _parse_or_warn(
    parse: Callable[[], datetime | None], where: str, what: str, policy: Policy, warnings: list[str]
) -> datetime | None:
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


def _header_datetime(
    ds: Dataset, tz: tzinfo, where: str, policy: Policy, warnings: list[str]
) -> datetime | None:
    t = dc.text_of

    def parse() -> datetime | None:
        dt = dc.parse_datetime(t(ds, "AcquisitionDateTime"), tz)
        if dt is None and t(ds, "AcquisitionTime"):
            date = t(ds, "AcquisitionDate") or t(ds, "SeriesDate") or t(ds, "StudyDate")
            dt = dc.combine_date_time(date, t(ds, "AcquisitionTime"), tz)
        if dt is None:
            dt = dc.combine_date_time(t(ds, "SeriesDate"), t(ds, "SeriesTime"), tz)
        return dt

    return _parse_or_warn(parse, where, "acquisition/series date or time", policy, warnings)


def _identity(ds: Dataset, where: str, policy: Policy, warnings: list[str]) -> PatientIdentity:
    birth = None
    try:
        birth = dc.parse_date(dc.text_of(ds, "PatientBirthDate"))
    except ValueError as exc:
        apply_policy(
            policy,
            f"{where}: malformed Patient's Birth Date (0010,0030) ({exc}); ignored",
            logger=logger,
            warnings=warnings,
            error=DicomError,
        )
    return PatientIdentity(
        patient_name=dc.text_of(ds, "PatientName"),
        patient_id=dc.text_of(ds, "PatientID"),
        birth_date=birth,
        sex=dc.text_of(ds, "PatientSex"),
        accession_number=dc.text_of(ds, "AccessionNumber"),
        institution_name=dc.text_of(ds, "InstitutionName"),
        referring_physician_name=dc.text_of(ds, "ReferringPhysicianName"),
    )


def _timezone(ds: Dataset, where: str, assume: tzinfo, policy: Policy, warnings: list[str]) -> tzinfo:
    try:
        tz, assumed = dc.resolve_timezone(ds, assume)
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


def _build(
    headers: list[Header],
    frames: list[_Frame],
    *,
    modality: str,
    source: str,
    tz: tzinfo,
    policy: Policy,
    warnings: list[str],
    single_slice_step_mm: float,
) -> Volume:
    order, affine = dc.stack_planes([f.plane for f in frames], single_slice_step_mm=single_slice_step_mm)
    array = _load_pixels(frames, order)
    first = headers[0].dataset
    where = str(headers[0].path)
    units = value_unit_of(first, modality, source=where, policy=policy, warnings=warnings)
    times = [f.acquired for f in frames if f.acquired is not None]
    if not times:
        times = [t for h in headers if (t := _header_datetime(h.dataset, tz, str(h.path), policy, warnings))]
    study = _parse_or_warn(
        lambda: dc.combine_date_time(dc.text_of(first, "StudyDate"), dc.text_of(first, "StudyTime"), tz),
        where,
        "Study Date/Time",
        policy,
        warnings,
    )
    radiopharmaceutical = None
    if modality in {"PT", "NM"}:
        radiopharmaceutical = read_radiopharmaceutical(
            first, tz=tz, source=where, policy=policy, warnings=warnings
        )
    if len(headers) == len(frames):
        by_path = {h.path: h.dataset for h in headers}
        sop_uids = tuple(dc.sop_instance_uid_of(by_path[frames[i].path]) for i in order)
    else:
        sop_uids = tuple(dict.fromkeys(dc.sop_instance_uid_of(h.dataset) for h in headers))
    number = dc.text_of(first, "SeriesNumber")
    thickness = dc.float_or_none(first.get("SliceThickness"))
    if thickness is None:
        measures = _group_item(first, None, "PixelMeasuresSequence")
        thickness = dc.float_or_none(measures.get("SliceThickness")) if measures is not None else None
    metadata = SeriesMetadata(
        source=source,
        study_instance_uid=dc.text_of(first, "StudyInstanceUID"),
        series_instance_uid=dc.text_of(first, "SeriesInstanceUID"),
        frame_of_reference_uid=dc.text_of(first, "FrameOfReferenceUID"),
        sop_class_uid=dc.sop_class_uid_of(first),
        series_description=dc.text_of(first, "SeriesDescription"),
        series_number=int(float(number)) if number else None,
        manufacturer=dc.text_of(first, "Manufacturer"),
        slice_thickness_mm=thickness,
        sop_instance_uids=sop_uids,
        transfer_syntax_uid=str(frames[0].transfer_syntax),
        study_datetime=study,
        identity=_identity(first, where, policy, warnings),
        radiopharmaceutical=radiopharmaceutical,
        warnings=tuple(warnings),
    )
    geometry = Geometry(shape=(len(frames), frames[0].plane.rows, frames[0].plane.columns), affine=affine)
    return Volume(
        array=array,
        geometry=geometry,
        modality=modality,
        units=units,
        acquisition_datetime=min(times) if times else None,
        metadata=metadata,
    )


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
    modality = _modality_of(first.dataset)
    if modality is None:
        sop = dc.sop_class_uid_of(first.dataset)
        raise DicomError(
            f"{first.path}: SOP Class {sop} ({UID(sop).name if sop else 'none'}) is not an image nelm "
            "loads as a volume; supported: CT, MR, PET (also Enhanced/Legacy Converted) and NM Image Storage"
        )
    tz = _timezone(first.dataset, str(first.path), assume_timezone, policy, warnings)
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
        image_type = _nm_image_type(first.dataset)
        if image_type in _TOMO_TYPES:
            frames = _nm_tomo_frames(first, policy, warnings)
            return _build(headers, frames, single_slice_step_mm=1.0, **common)
        if image_type in _PLANAR_TYPES:
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
    return _build(headers, frames, single_slice_step_mm=_single_step(first.dataset), **common)


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
    if _modality_of(ds) != "NM":
        raise DicomError(f"{p}: not an NM image (SOP Class {dc.sop_class_uid_of(ds)})")
    _check_pixel_module(ds, str(p))
    n = int(ds.get("NumberOfFrames") or 1)
    detectors = [int(v) for v in (ds.get("DetectorVector") or [1] * n)]
    windows = [int(v) for v in (ds.get("EnergyWindowVector") or [1] * n)]
    n_windows = int(ds.get("NumberOfEnergyWindows") or 1)
    if len(detectors) != n or len(windows) != n:
        raise DicomError(
            f"{p}: Detector Vector/Energy Window Vector lengths do not match Number of Frames {n}"
        )
    spacing = _floats(_required(ds, "PixelSpacing", "(0028,0030)", str(p)), 2, "PixelSpacing", str(p))
    slope, intercept = _rescale(ds, str(p))
    ts = dc.check_transfer_syntax(ds, p)
    tz = _timezone(ds, str(p), assume_timezone, policy, warnings)
    energy = ds.get("EnergyWindowInformationSequence") or []
    frames: dict[str, _Frame] = {}
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
        frames[name] = _Frame(p, i, plane, slope, intercept, dc.stored_range(ds), ts, **_direct(header, ts))
    views = {}
    for name, frame in frames.items():
        views[name] = _build(
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
