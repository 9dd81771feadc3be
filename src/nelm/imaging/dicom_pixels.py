"""Pixel data of DICOM image frames, read into a preallocated volume array, and the assembly
of frames into a :class:`~nelm.imaging.volume.Volume` (:func:`build_volume`).

:func:`load_pixels` allocates the output array once and fills it frame by frame, so the peak
memory is about one volume plus one frame. Uncompressed little-endian frames are read straight
from the file into the output array (the offset of Pixel Data is recorded while the header is
read, :func:`direct_fields`); compressed frames go through pydicom's decoders one at a time (a
thread pool gave no gain: the openjpeg/CharLS bindings hold the GIL). Each frame's own Rescale
Slope/Intercept (PS3.3 C.11.1.1.2, ``v = m·sv + b``) is applied on the way in.

:class:`Frame` is what the series readers (:mod:`nelm.imaging.dicom_read`,
:mod:`nelm.imaging.dicom_nm`) produce per 2-D frame: where its pixels are, where it lies in
patient space and how its stored values are rescaled. :func:`build_volume` stacks a reader's
frames (:func:`~nelm.imaging.dicom_common.stack_planes`), loads their pixels and lifts the
series metadata out of the headers; both readers call it, so it lives here rather than in
either of them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pydicom
from pydicom.dataset import Dataset
from pydicom.pixels.decoders.base import get_decoder
from pydicom.pixels.utils import iter_pixels, pixel_array
from pydicom.uid import UID

from nelm.errors import DicomError
from nelm.imaging import dicom_common as dc
from nelm.imaging.dicom_discover import Header
from nelm.imaging.dicom_pet import read_radiopharmaceutical, value_unit_of
from nelm.imaging.geometry import Geometry
from nelm.imaging.metadata import PatientIdentity, SeriesMetadata
from nelm.imaging.volume import Volume
from nelm.policy import Policy, apply_policy

__all__ = [
    "Frame",
    "build_volume",
    "check_pixel_module",
    "direct_fields",
    "load_pixels",
    "patient_identity",
    "real_world_rescale",
    "rescale",
]

logger = logging.getLogger(__name__)

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
class Frame:
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


def rescale(item: Dataset | None, where: str) -> tuple[float, float]:
    """Rescale Slope and Intercept of ``item`` (1 and 0 when absent or when ``item`` is None)."""
    if item is None:
        return 1.0, 0.0
    slope = dc.float_or_none(item.get("RescaleSlope"))
    intercept = dc.float_or_none(item.get("RescaleIntercept"))
    if slope == 0:
        raise DicomError(f"{where}: Rescale Slope (0028,1053) is 0; every voxel would be the intercept")
    return (1.0 if slope is None else slope), (0.0 if intercept is None else intercept)


def real_world_rescale(ds: Dataset, where: str) -> tuple[float, float] | None:
    """Slope and intercept of the one linear Real World Value Mapping of ``ds``, else ``None``.

    For single-frame images without Rescale Slope/Intercept: the classic MR Image IOD has no
    Modality LUT (PS3.3 A.4), so a scaling of its stored values can only be recorded in the
    General Image module's Real World Value Mapping Sequence (0040,9096; PS3.3 C.7.6.1 and
    C.7.6.16.2.11), which nelm's writer uses for MR. Only a sequence with exactly one item that
    has Real World Value Slope and Intercept (no LUT Data) is used: with several items it would
    be a guess which one the values mean. First/Last Value Mapped are not checked.
    """
    items = ds.get("RealWorldValueMappingSequence") or []
    if len(items) != 1 or "RealWorldValueLUTData" in items[0]:
        return None
    slope = dc.float_or_none(items[0].get("RealWorldValueSlope"))
    intercept = dc.float_or_none(items[0].get("RealWorldValueIntercept"))
    if slope is None or intercept is None:
        return None
    if slope == 0:
        raise DicomError(
            f"{where}: Real World Value Slope (0040,9225) is 0; every voxel would be the intercept"
        )
    return slope, intercept


def check_pixel_module(ds: Dataset, where: str) -> None:
    """Raise :class:`DicomError` unless the image is greyscale (one sample per pixel)."""
    if int(ds.get("SamplesPerPixel") or 1) != 1:
        raise DicomError(
            f"{where}: Samples per Pixel (0028,0002) is {ds.SamplesPerPixel}; "
            "only greyscale images form volumes"
        )


def direct_fields(h: Header, ts: UID) -> dict[str, Any]:
    """Direct-read fields of a frame: uncompressed little-endian 8/16/32-bit greyscale only."""
    ds = h.dataset
    bits = int(ds.get("BitsAllocated") or 0)
    if h.pixel_offset is None or ts not in _NATIVE_SYNTAXES or bits not in (8, 16, 32):
        return {}
    kind = "i" if int(ds.get("PixelRepresentation") or 0) == 1 else "u"
    return {"pixel_offset": h.pixel_offset, "raw_dtype": np.dtype(f"<{kind}{bits // 8}")}


def _put(out: npt.NDArray[Any], raw: npt.NDArray[Any], frame: Frame) -> None:
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


def _read_direct(path: Path, jobs: list[tuple[Frame, int]], out: npt.NDArray[Any]) -> bool:
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


def _decode_file(path: Path, jobs: list[tuple[Frame, int]], out: npt.NDArray[Any]) -> None:
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


def load_pixels(frames: list[Frame], order: list[int]) -> npt.NDArray[Any]:
    """The rescaled pixels of ``frames`` as one ``[slice, row, column]`` array, slice ``k`` being
    ``frames[order[k]]``; the dtype is :func:`~nelm.imaging.dicom_common.output_dtype`'s."""
    dtype = dc.output_dtype([f.stored for f in frames], [(f.slope, f.intercept) for f in frames])
    first = frames[0].plane
    out = np.empty((len(frames), first.rows, first.columns), dtype=dtype)
    by_file: dict[Path, list[tuple[Frame, int]]] = {}
    for k, i in enumerate(order):
        by_file.setdefault(frames[i].path, []).append((frames[i], k))
    for p, jobs in by_file.items():
        _decode_file(p, jobs, out)
    return out


# -- frames into a volume --------------------------------------------------------------------
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

    return dc.parse_or_warn(parse, where, "acquisition/series date or time", policy, warnings)


def patient_identity(ds: Dataset, where: str, policy: Policy, warnings: list[str]) -> PatientIdentity:
    """The identifying patient and study data of a dataset (kept apart for de-identification)."""
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


def build_volume(
    headers: list[Header],
    frames: list[Frame],
    *,
    modality: str,
    source: str,
    tz: tzinfo,
    policy: Policy,
    warnings: list[str],
    single_slice_step_mm: float,
) -> Volume:
    """Stack ``frames`` into a :class:`Volume` with its pixels and :class:`SeriesMetadata`."""
    order, affine = dc.stack_planes([f.plane for f in frames], single_slice_step_mm=single_slice_step_mm)
    array = load_pixels(frames, order)
    first = headers[0].dataset
    where = str(headers[0].path)
    units = value_unit_of(first, modality, source=where, policy=policy, warnings=warnings)
    times = [f.acquired for f in frames if f.acquired is not None]
    if not times:
        times = [t for h in headers if (t := _header_datetime(h.dataset, tz, str(h.path), policy, warnings))]
    study = dc.parse_or_warn(
        lambda: dc.combine_date_time(dc.text_of(first, "StudyDate"), dc.text_of(first, "StudyTime"), tz),
        where,
        "Study Date/Time",
        policy,
        warnings,
    )
    series_dt = dc.parse_or_warn(
        lambda: dc.combine_date_time(dc.text_of(first, "SeriesDate"), dc.text_of(first, "SeriesTime"), tz),
        where,
        "Series Date/Time",
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
        measures = dc.functional_group_item(first, None, "PixelMeasuresSequence")
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
        frame_duration_s=_frame_duration_s(first),
        study_datetime=study,
        series_datetime=series_dt,
        identity=patient_identity(first, where, policy, warnings),
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


def _frame_duration_s(ds: Dataset) -> float | None:
    """Actual Frame Duration (0018,1242, ms) in seconds; ``None`` when absent, malformed or not
    positive (nelm writes 0 for a planar NM file whose duration is unknown)."""
    ms = dc.float_or_none(ds.get("ActualFrameDuration"))
    return ms / 1000.0 if ms is not None and ms > 0 else None
