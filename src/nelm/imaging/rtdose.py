"""DICOM RT Dose: write a dose :class:`~nelm.imaging.volume.Volume` (Gy) and read it back.

highdicom has no RT Dose IOD, so the file is built with pydicom on nelm's shared writer modules
(:func:`~nelm.imaging.dicom_write_common.base_dataset` for Patient, General Study, RT Series,
Frame of Reference, General Equipment, General Image dates and SOP Common). One file holds the
whole grid (RT Dose Storage, 1.2.840.10008.5.1.4.1.1.481.2, PS3.3 A.18):

* **Geometry** (PS3.3 C.8.8.3.2): frames are planes parallel to Image Orientation (Patient);
  Image Position (Patient) is the centre of the first voxel of the first frame; Grid Frame Offset
  Vector (3004,000C) holds each frame's offset in mm along the normal ``IOP[:3] × IOP[3:]``,
  relative form (first value 0), the Frame Increment Pointer points to it. Orientation and pixel
  spacing follow the convention of :mod:`nelm.imaging.dicom_geometry`. Frames are stored in
  increasing position along the normal; a volume whose slice axis runs the other way reads back
  with that axis reversed (same voxels in space). A grid whose slice step is not along the normal
  (a sheared, gantry-tilt-like grid) cannot be represented: :class:`~nelm.errors.GeometryError`.
* **Values**: Dose Units ``GY``; unsigned 32-bit stored values (Bits Allocated/Stored 32) times
  Dose Grid Scaling (3004,000E). The scaling is ``max dose / 4 294 967 000`` (just below
  ``2**32 − 1`` so that rounding it to its 16-character DS text can never overflow), rounded to
  DS text first and then used to quantise, so each voxel reads back within ``scaling / 2`` of
  the written value: 500 Gy maximum gives 1.16e-7 Gy steps, so 1e-4 Gy survives to 0.06 %.
  (A 16-bit grid would give 7.6 mGy steps at 500 Gy; the pitfall in reference/y90-dosimetry.md
  §6 item 10 is the uint16 overflow MGH MIRDCalculation fixed in v2.4.1.) Negative, NaN or
  infinite doses are refused.
* **References**: the dose joins the Study and Frame of Reference of the images it was computed
  on (``reference``: their :class:`~nelm.imaging.metadata.SeriesMetadata`, or one built from the
  three UIDs). When the referenced instances are known they are listed in Referenced Image
  Sequence (0008,1140) and, per series, in Referenced Series Sequence (0008,1115, Common Instance
  Reference module). Y-90 radioembolisation has no RT Plan; nelm writes no Referenced RT Plan
  Sequence (300C,0002), which strict validators expect for Dose Summation Type ``PLAN``.
* **Dates**: Acquisition Date/Time from the dose volume (the acquisition the dose was computed
  from), Content Date/Time from ``content_datetime`` (else the acquisition), local to Timezone
  Offset From UTC (0008,0201). Nothing uses the clock, so the same input gives byte-identical
  files.
* Manufacturer ``nelm``; Image Comments carries the research-use statement.

Files are written atomically (:func:`nelm.atomic.atomic_path`).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import pydicom
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.tag import Tag

from nelm.atomic import atomic_path
from nelm.errors import DicomError, GeometryError, InputError, UnitsError
from nelm.imaging import dicom_common as dc
from nelm.imaging.dicom_pixels import patient_identity
from nelm.imaging.dicom_write_common import base_dataset, decimal_string, file_meta, in_plane, series_uids
from nelm.imaging.geometry import Geometry
from nelm.imaging.metadata import PatientIdentity, SeriesMetadata, ValueUnit
from nelm.imaging.volume import Volume
from nelm.policy import Policy, apply_policy

__all__ = ["DOSE_SUMMATION_TYPES", "DOSE_TYPES", "RT_DOSE_STORAGE", "read_rtdose", "write_rtdose"]

logger = logging.getLogger(__name__)

#: SOP Class UID of RT Dose Storage.
RT_DOSE_STORAGE: Final[str] = str(pydicom.uid.RTDoseStorage)
#: Dose Summation Type (3004,000A) values nelm writes: a planned (pre-treatment) or a recorded
#: (post-treatment, delivered) dose.
DOSE_SUMMATION_TYPES: Final[tuple[str, ...]] = ("PLAN", "RECORD")
#: Dose Type (3004,0004) values nelm writes: physical dose, or an effective (e.g. BED) dose in Gy.
DOSE_TYPES: Final[tuple[str, ...]] = ("PHYSICAL", "EFFECTIVE")

_UINT32_MAX: Final[int] = 2**32 - 1
_UINT32_HEADROOM: Final[float] = 4_294_967_000.0
_GRID_FRAME_OFFSET_VECTOR: Final = Tag(0x3004, 0x000C)
_AXIAL: Final[tuple[float, ...]] = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


# -- writing ----------------------------------------------------------------------------------
def _check_dose(dose: object) -> tuple[Volume, npt.NDArray[np.float64]]:
    if not isinstance(dose, Volume):
        shape = getattr(dose, "shape", None)
        raise InputError(
            f"the dose must be a nelm Volume (a 3-D array with its geometry), got {type(dose).__name__}"
            + (f" of shape {shape}" if shape is not None else "")
        )
    where = dose.metadata.source or "dose volume"
    if dose.units is not ValueUnit.GY:
        raise UnitsError(f"{where}: an RT Dose file stores Gy; this volume is in {dose.units.value}")
    values = np.asarray(dose.array, dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InputError(
            f"{where}: {int(bad.sum())} dose voxel(s) are NaN or infinite (first at [slice, row, column] "
            f"{list(first)}); fix the dose calculation before writing"
        )
    if values.min() < 0:
        first = tuple(int(i) for i in np.argwhere(values < 0)[0])
        raise InputError(
            f"{where}: {int((values < 0).sum())} dose voxel(s) are negative (minimum {values.min():.6g} Gy "
            f"at [slice, row, column] {list(first)}); an absorbed dose cannot be negative"
        )
    return dose, values


def _quantise(values: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.uint32], str]:
    peak = float(values.max())
    if peak == 0.0:
        return np.zeros(values.shape, np.uint32), "1"
    scaling_text, scaling = decimal_string(max(peak / _UINT32_HEADROOM, float(np.finfo(np.float64).tiny)))
    stored = np.rint(values / scaling)
    if stored.max() > _UINT32_MAX:  # cannot happen with the headroom; never wrap silently
        raise InputError(f"dose maximum {peak!r} Gy cannot be stored with Dose Grid Scaling {scaling_text}")
    return stored.astype(np.uint32), scaling_text


def _local(dt: datetime, zone: tzinfo | None) -> tuple[str, str]:
    local = dt.astimezone(zone) if zone is not None else dt
    return local.strftime("%Y%m%d"), local.strftime("%H%M%S.%f")


def _text(value: str, what: str, limit: int, policy: Policy, warnings: list[str]) -> str:
    if len(value) > limit:
        apply_policy(
            policy,
            f"{what} {value!r} is longer than {limit} characters; truncated",
            logger=logger,
            warnings=warnings,
        )
        return value[:limit]
    return value


def _uids(dose: Volume, reference: SeriesMetadata | None) -> tuple[str, str]:
    """Study and Frame of Reference UIDs: the reference's, else the dose's own (maybe empty)."""
    md = dose.metadata
    if reference is None:
        return md.study_instance_uid, md.frame_of_reference_uid
    for name in ("study_instance_uid", "frame_of_reference_uid"):
        mine, theirs = getattr(md, name), getattr(reference, name)
        if mine and theirs and mine != theirs:
            raise InputError(
                f"the dose volume carries {name} {mine} but the referenced series has {theirs}; a dose "
                "must share the study and frame of reference of the images it refers to"
            )
    return (
        reference.study_instance_uid or md.study_instance_uid,
        reference.frame_of_reference_uid or md.frame_of_reference_uid,
    )


def _references(ds: Dataset, reference: SeriesMetadata | None) -> None:
    if reference is None or not reference.sop_class_uid or not reference.sop_instance_uids:
        return
    items = []
    for uid in reference.sop_instance_uids:
        item = Dataset()
        item.ReferencedSOPClassUID = reference.sop_class_uid
        item.ReferencedSOPInstanceUID = uid
        items.append(item)
    ds.ReferencedImageSequence = Sequence(items)
    if reference.series_instance_uid:
        series = Dataset()
        series.SeriesInstanceUID = reference.series_instance_uid
        series.ReferencedInstanceSequence = Sequence([Dataset(i) for i in items])
        ds.ReferencedSeriesSequence = Sequence([series])


def _frames(dose: Volume, values: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], int, float]:
    """Frames in increasing position along the normal, index of the first one, slice step (mm)."""
    d = dose.geometry.directions
    normal = np.cross(d[:, 2], d[:, 1])  # IOP row cosine × column cosine
    step = dose.affine[:3, 0]
    along = float(step @ normal)
    if np.linalg.norm(step - along * normal) > 1e-3 * abs(along):
        raise GeometryError(
            f"{dose.metadata.source or 'dose volume'}: the slice axis is not perpendicular to the slices "
            f"({dose.geometry.describe()}); RT Dose frames (Grid Frame Offset Vector along the normal) "
            "cannot represent a sheared grid: resample the dose first"
        )
    if along < 0:
        return values[::-1], dose.shape[0] - 1, -along
    return values, 0, along


def write_rtdose(
    dose: Volume,
    path: str | os.PathLike[str],
    *,
    reference: SeriesMetadata | None = None,
    dose_summation_type: str = "PLAN",
    dose_type: str = "PHYSICAL",
    comment: str = "",
    series_description: str = "nelm Y-90 absorbed dose",
    content_datetime: datetime | None = None,
    policy: Policy = Policy.WARN,
    series_instance_uid: str | None = None,
    sop_instance_uid: str | None = None,
) -> Path:
    """Write an absorbed-dose volume (Gy) as one DICOM RT Dose file (see the module docstring).

    Parameters
    ----------
    dose:
        The dose: a :class:`Volume` in :attr:`ValueUnit.GY`, non-negative and finite.
    path:
        Output file (written atomically; an existing file is replaced).
    reference:
        The series the dose refers to (e.g. the SPECT/PET or CT it was computed on): its Study
        and Frame of Reference UIDs are used, its instances referenced. Build one from bare UIDs
        with ``SeriesMetadata(study_instance_uid=..., series_instance_uid=...,
        frame_of_reference_uid=...)``. ``None``: the dose volume's own UIDs, else new ones.
    dose_summation_type:
        ``"PLAN"`` (planned, e.g. from 99mTc-MAA) or ``"RECORD"`` (delivered, from Y-90 PET/SPECT).
    dose_type:
        ``"PHYSICAL"`` or ``"EFFECTIVE"``.
    comment:
        Dose Comment (3004,0006), at most 64 characters (longer text is truncated per ``policy``).
    series_description:
        Series Description (0008,103E), at most 64 characters.
    content_datetime:
        When the dose was computed (timezone-aware); default: the dose volume's acquisition time.
    policy:
        What to do about tolerable problems: over-long text, no date-time known at all.
    series_instance_uid, sop_instance_uid:
        UIDs of the new RT Dose series and instance (e.g. from a de-identification UID map);
        default: derived from the study UID and the dose values (deterministic either way).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    InputError
        Not a Volume; negative, NaN or infinite doses; an unknown summation or dose type; a naive
        ``content_datetime``; a reference in another study or frame of reference than the dose's.
    UnitsError
        A volume that is not in Gy.
    GeometryError
        A grid DICOM cannot represent (non-perpendicular rows and columns, a sheared slice axis).
    """
    dose, values = _check_dose(dose)
    summation, kind = str(dose_summation_type).upper(), str(dose_type).upper()
    if summation not in DOSE_SUMMATION_TYPES:
        raise InputError(
            f"dose_summation_type must be one of {DOSE_SUMMATION_TYPES}, got {dose_summation_type!r}"
        )
    if kind not in DOSE_TYPES:
        raise InputError(f"dose_type must be one of {DOSE_TYPES}, got {dose_type!r}")
    if content_datetime is not None and (
        content_datetime.tzinfo is None or content_datetime.utcoffset() is None
    ):
        raise InputError(
            f"content_datetime {content_datetime.isoformat()} has no timezone; write e.g. "
            "2026-02-18T14:00:00+01:00"
        )
    warnings: list[str] = []
    iop, pixel_spacing = in_plane(dose)
    frames, first, step_mm = _frames(dose, values)
    stored, scaling_text = _quantise(frames)
    study, frame_of_reference = _uids(dose, reference)
    md = dose.metadata
    identity = md.identity
    if identity == PatientIdentity() and reference is not None:
        identity = reference.identity
    acquired = dose.acquisition_datetime or (reference.series_datetime if reference is not None else None)
    study_dt = md.study_datetime or (reference.study_datetime if reference is not None else None)
    written = dataclasses.replace(
        dose,
        array=values,
        modality="RTDOSE",
        acquisition_datetime=acquired,
        metadata=dataclasses.replace(
            md,
            study_instance_uid=study,
            series_instance_uid=series_instance_uid or "",  # a new series, never the referenced one
            frame_of_reference_uid=frame_of_reference,
            sop_class_uid=RT_DOSE_STORAGE,
            manufacturer="nelm",
            series_description=_text(series_description, "series description", 64, policy, warnings),
            study_datetime=study_dt,
            identity=identity,
        ),
    )
    uids = series_uids(written)
    ds = base_dataset(written, uids, RT_DOSE_STORAGE, policy, warnings)
    when = content_datetime or acquired or study_dt
    if when is not None:
        known = acquired or study_dt
        zone = known.tzinfo if known is not None else when.tzinfo
        ds.ContentDate, ds.ContentTime = _local(when, zone)
        if "TimezoneOffsetFromUTC" not in ds:
            ds.TimezoneOffsetFromUTC = dc.format_tz_offset(when)
    else:
        apply_policy(
            policy,
            "no date-time is known for the dose (no acquisition, study or content date-time); Content "
            "Date/Time left empty: pass content_datetime",
            logger=logger,
            warnings=warnings,
        )
    ds.OperatorsName = ""  # RT Series module, Type 2
    ds.InstanceNumber = 1
    ds.ImagePositionPatient = [decimal_string(v)[0] for v in dose.index_to_world([first, 0, 0])]
    ds.ImageOrientationPatient = iop
    ds.PixelSpacing = pixel_spacing
    ds.SliceThickness = decimal_string(step_mm)[0]
    n = dose.shape[0]
    ds.NumberOfFrames = n
    ds.FrameIncrementPointer = _GRID_FRAME_OFFSET_VECTOR
    ds.GridFrameOffsetVector = [decimal_string(k * step_mm)[0] for k in range(n)]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = dose.shape[1], dose.shape[2]
    ds.BitsAllocated = 32
    ds.BitsStored = 32
    ds.HighBit = 31
    ds.PixelRepresentation = 0
    ds.DoseUnits = "GY"
    ds.DoseType = kind
    ds.DoseSummationType = summation
    ds.DoseGridScaling = scaling_text
    if comment:
        ds.DoseComment = _text(comment, "dose comment", 64, policy, warnings)
        if not comment.isascii():
            ds.SpecificCharacterSet = "ISO_IR 192"
    _references(ds, reference)
    ds.PixelData = np.ascontiguousarray(stored, dtype="<u4").tobytes()
    file_meta(
        ds,
        sop_instance_uid
        or dc.deterministic_uid("instance", uids.series, uids.content, "rtdose", summation, kind, comment),
    )
    target = Path(path)
    if target.is_dir():
        raise InputError(f"{target} is a folder; give the RT Dose file name, e.g. {target / 'rtdose.dcm'}")
    with atomic_path(target) as tmp:
        ds.save_as(tmp, enforce_file_format=True)
    logger.info("wrote RT Dose %s (%d frames, Dose Grid Scaling %s Gy)", target, n, scaling_text)
    return target


# -- reading ----------------------------------------------------------------------------------
def _offsets(ds: Dataset, plane: dc.FramePlane, n: int, where: str) -> npt.NDArray[np.float64]:
    """Frame offsets (mm) along the normal, relative to Image Position (Patient) (C.8.8.3.2)."""
    raw = ds.get("GridFrameOffsetVector")
    if raw is None or raw == "":
        if n == 1:
            return np.zeros(1)
        raise DicomError(f"{where}: {n} frames but no Grid Frame Offset Vector (3004,000C) to place them")
    values = list(raw) if isinstance(raw, MultiValue | list | tuple) else [raw]
    offsets = np.asarray(dc.floats(values, n, "GridFrameOffsetVector (3004,000C)", where))
    if offsets[0] == 0.0:
        return offsets
    if np.allclose(plane.orientation, _AXIAL, atol=dc.ORIENTATION_TOLERANCE):
        # Absolute form, allowed for axial frames only: the values are the frames' z (mm).
        return offsets - plane.position_mm[2]
    raise DicomError(
        f"{where}: Grid Frame Offset Vector (3004,000C) starts at {offsets[0]:g} mm, not 0, in a non-axial "
        "grid; DICOM allows that absolute form only for Image Orientation (Patient) 1\\0\\0\\0\\1\\0"
    )


def _datetime(
    ds: Dataset, date_kw: str, time_kw: str, tz: tzinfo, where: str, policy: Policy, w: list[str]
) -> datetime | None:
    return dc.parse_or_warn(
        lambda: dc.combine_date_time(dc.text_of(ds, date_kw), dc.text_of(ds, time_kw), tz),
        where,
        f"{date_kw}/{time_kw}",
        policy,
        w,
    )


def read_rtdose(
    path: str | os.PathLike[str],
    *,
    policy: Policy = Policy.WARN,
    assume_timezone: tzinfo = UTC,
) -> Volume:
    """Read a DICOM RT Dose grid as a :class:`Volume` in Gy on its LPS grid (modality ``RTDOSE``).

    Parameters
    ----------
    path:
        An RT Dose file with a dose grid (Dose Units ``GY``).
    policy:
        What to do about tolerable problems (malformed dates, no timezone offset).
    assume_timezone:
        Zone of local DICOM times when the file has no Timezone Offset From UTC.

    Returns
    -------
    Volume
        ``stored × Dose Grid Scaling`` as float64, slices in increasing position along the frame
        normal; the acquisition time is Acquisition Date/Time, else Content Date/Time.

    Raises
    ------
    DicomError
        Not DICOM, not RT Dose, no dose grid, a missing or invalid Dose Grid Scaling or Grid
        Frame Offset Vector, undecodable pixels.
    UnitsError
        Dose Units other than ``GY`` (``RELATIVE`` doses have no absolute value).
    GeometryError
        Frames that do not form a regular grid.
    """
    p = Path(path)
    where = str(p)
    if not p.is_file():
        raise InputError(f"{p}: RT Dose file not found")
    ds, _ = dc.read_header(p)
    sop = dc.sop_class_uid_of(ds)
    if sop != RT_DOSE_STORAGE:
        name = pydicom.uid.UID(sop).name if sop else "none"
        raise DicomError(
            f"{p}: not an RT Dose file (SOP Class UID {sop or 'missing'}, {name}); read images with "
            "nelm.imaging.dicom_read.read_series"
        )
    if "Rows" not in ds or "Columns" not in ds:
        raise DicomError(f"{p}: the RT Dose file holds no dose grid (no Rows/Columns or Pixel Data)")
    units = dc.text_of(ds, "DoseUnits").upper()
    if units != "GY":
        raise UnitsError(
            f"{p}: Dose Units (3004,0002) is {units or 'missing'!r}; nelm reads absolute doses in GY only"
        )
    scaling = dc.float_or_none(ds.get("DoseGridScaling"))
    if scaling is None or not math.isfinite(scaling) or scaling <= 0:
        raise DicomError(
            f"{p}: Dose Grid Scaling (3004,000E) is missing or not positive ({ds.get('DoseGridScaling')!r})"
        )
    check = dc.check_transfer_syntax(ds, p)
    plane = dc.frame_plane(ds, ds, ds, ds, where)
    n = int(ds.get("NumberOfFrames") or 1)
    offsets = _offsets(ds, plane, n, where)
    origin = np.asarray(plane.position_mm)
    planes = []
    for k in range(n):
        pos = origin + offsets[k] * plane.normal
        planes.append(
            dc.FramePlane(
                f"{p} frame {k + 1}",
                (float(pos[0]), float(pos[1]), float(pos[2])),
                plane.orientation,
                plane.pixel_spacing_mm,
                plane.rows,
                plane.columns,
            )
        )
    thickness = dc.float_or_none(ds.get("SliceThickness"))
    order, affine = dc.stack_planes(
        planes, single_slice_step_mm=thickness if thickness and thickness > 0 else 1.0
    )
    try:
        full = pydicom.dcmread(p)
        pixels = np.asarray(full.pixel_array)
    except Exception as exc:  # any decoder failure of a corrupt file
        raise DicomError(f"{p}: cannot decode the dose grid ({type(exc).__name__}: {exc})") from exc
    expected = (n, plane.rows, plane.columns)
    if pixels.size != n * plane.rows * plane.columns:
        raise DicomError(
            f"{p}: Pixel Data holds {pixels.shape} values, expected {expected} (frames, rows, columns)"
        )
    array = pixels.reshape(expected)[order].astype(np.float64) * scaling
    warnings: list[str] = []
    tz = dc.series_timezone(ds, where, assume_timezone, policy, warnings)
    acquired = _datetime(ds, "AcquisitionDate", "AcquisitionTime", tz, where, policy, warnings)
    acquired = acquired or _datetime(ds, "ContentDate", "ContentTime", tz, where, policy, warnings)
    number = dc.text_of(ds, "SeriesNumber")
    metadata = SeriesMetadata(
        source=where,
        study_instance_uid=dc.text_of(ds, "StudyInstanceUID"),
        series_instance_uid=dc.text_of(ds, "SeriesInstanceUID"),
        frame_of_reference_uid=dc.text_of(ds, "FrameOfReferenceUID"),
        sop_class_uid=sop,
        series_description=dc.text_of(ds, "SeriesDescription"),
        series_number=int(float(number)) if number else None,
        manufacturer=dc.text_of(ds, "Manufacturer"),
        slice_thickness_mm=thickness,
        sop_instance_uids=(dc.sop_instance_uid_of(ds),),
        transfer_syntax_uid=str(check),
        study_datetime=_datetime(ds, "StudyDate", "StudyTime", tz, where, policy, warnings),
        series_datetime=_datetime(ds, "SeriesDate", "SeriesTime", tz, where, policy, warnings),
        identity=patient_identity(ds, where, policy, warnings),
        warnings=tuple(warnings),
    )
    return Volume(
        array=array,
        geometry=Geometry(shape=expected, affine=affine),
        modality="RTDOSE",
        units=ValueUnit.GY,
        acquisition_datetime=acquired,
        metadata=metadata,
    )
