"""What every DICOM image file nelm writes shares (see :mod:`nelm.imaging.dicom_write`).

Numbers as DS text, finite voxel values, the frame duration, the deterministic UIDs of a series,
the Patient, General Study/Series, Frame of Reference, General Equipment and SOP Common modules
(:func:`base_dataset`), Image Pixel, the in-plane geometry tags, the file meta information and
the Radiopharmaceutical Information Sequence.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import UID
from pydicom.valuerep import format_number_as_ds

from nelm import RESEARCH_USE_DISCLAIMER, __version__
from nelm.errors import GeometryError, InputError
from nelm.imaging import dicom_common as dc
from nelm.imaging.dicom_pet import radionuclide_code
from nelm.imaging.volume import Volume
from nelm.policy import Policy, apply_policy

__all__ = [
    "Uids",
    "base_dataset",
    "check_finite",
    "decimal_string",
    "file_meta",
    "frame_duration_ms",
    "in_plane",
    "pixel_module",
    "radiopharmaceutical_sequence",
    "series_uids",
]

# Messages keep the logger of nelm.imaging.dicom_write, the module this code was split from.
logger = logging.getLogger("nelm.imaging.dicom_write")

_MAX_IS: Final[int] = 2**31 - 1  # IS: a signed 32-bit integer (PS3.5 6.2)


@dataclass(frozen=True)
class Uids:
    """The UIDs of one written series."""

    study: str
    series: str
    frame_of_reference: str
    content: str  # digest of voxels + affine, seeds SOP Instance UIDs


def decimal_string(value: float) -> tuple[str, float]:
    """A number as DS text (≤ 16 characters) and the float that text reads back as."""
    text = format_number_as_ds(float(value))
    return text, float(text)


def check_finite(volume: Volume) -> npt.NDArray[np.float64]:
    """The voxel values as float64; :class:`InputError` for NaN or infinite ones."""
    values = np.asarray(volume.array, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise InputError(
            f"{volume.metadata.source or 'volume'}: contains NaN or infinite voxels; DICOM cannot store them"
        )
    return values


def frame_duration_ms(volume: Volume) -> str | None:
    """Actual Frame Duration (0018,1242) as IS text in whole ms, or ``None`` when not known."""
    seconds = volume.metadata.frame_duration_s
    if seconds is None:
        return None
    ms = round(seconds * 1000.0) if math.isfinite(seconds) else 0
    if not 1 <= ms <= _MAX_IS:
        raise InputError(
            f"{volume.metadata.source or 'volume'}: frame duration {seconds!r} s cannot be written as "
            f"Actual Frame Duration (0018,1242), whole milliseconds from 1 to {_MAX_IS}"
        )
    return str(ms)


# -- shared modules ---------------------------------------------------------------------------
def _lo(value: str, what: str, policy: Policy, warnings: list[str], limit: int = 64) -> str:
    if len(value) > limit:
        apply_policy(
            policy,
            f"{what} {value!r} is longer than {limit} characters; truncated",
            logger=logger,
            warnings=warnings,
        )
        return value[:limit]
    return value


def series_uids(volume: Volume) -> Uids:
    md = volume.metadata
    ident = md.identity
    content = dc.digest_of(np.asarray(volume.array)) + np.asarray(volume.affine).tobytes().hex()
    who = [ident.patient_id, ident.patient_name, str(md.study_datetime), ident.accession_number]
    study = md.study_instance_uid or dc.deterministic_uid("study", *who, content)
    series = md.series_instance_uid or dc.deterministic_uid("series", study, volume.modality, content)
    frame = md.frame_of_reference_uid or dc.deterministic_uid("frame-of-reference", study, content)
    return Uids(study, series, frame, content)


def _date_time(dt: datetime | None, zone_of: datetime | None) -> tuple[str, str]:
    if dt is None:
        return "", ""
    if zone_of is not None and zone_of.tzinfo is not None:
        dt = dt.astimezone(zone_of.tzinfo)
    return dt.strftime("%Y%m%d"), dt.strftime("%H%M%S.%f")


def base_dataset(volume: Volume, uids: Uids, sop_class: str, policy: Policy, warnings: list[str]) -> Dataset:
    """Patient, General Study, General Series, Frame of Reference, General Equipment, SOP Common
    (minus the instance UID) and the dates of General Image/Acquisition."""
    md, ident = volume.metadata, volume.metadata.identity
    acq = volume.acquisition_datetime
    study_dt = md.study_datetime or acq
    zone = acq or study_dt
    ds = Dataset()
    texts = [
        ident.patient_name,
        md.series_description,
        ident.institution_name,
        ident.referring_physician_name,
    ]
    if any(not t.isascii() for t in texts):
        ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = sop_class
    ds.StudyDate, ds.StudyTime = _date_time(study_dt, zone)
    ds.SeriesDate, ds.SeriesTime = _date_time(acq or study_dt, zone)
    ds.AcquisitionDate, ds.AcquisitionTime = _date_time(acq, zone)
    ds.ContentDate, ds.ContentTime = _date_time(acq or study_dt, zone)
    if zone is not None:
        ds.TimezoneOffsetFromUTC = dc.format_tz_offset(zone)
    ds.AccessionNumber = _lo(ident.accession_number, "accession number", policy, warnings, 16)
    ds.Modality = volume.modality
    ds.Manufacturer = _lo(md.manufacturer, "manufacturer", policy, warnings)
    if ident.institution_name:
        ds.InstitutionName = _lo(ident.institution_name, "institution", policy, warnings)
    ds.ReferringPhysicianName = ident.referring_physician_name
    ds.SeriesDescription = _lo(md.series_description, "series description", policy, warnings)
    ds.PatientName = ident.patient_name
    ds.PatientID = _lo(ident.patient_id, "patient ID", policy, warnings)
    ds.PatientBirthDate = ident.birth_date.strftime("%Y%m%d") if ident.birth_date else ""
    ds.PatientSex = ident.sex if ident.sex in {"M", "F", "O"} else ""
    rp = md.radiopharmaceutical
    if rp is not None and rp.patient_weight_kg:
        ds.PatientWeight = decimal_string(rp.patient_weight_kg)[0]
    if rp is not None and rp.patient_height_m:
        ds.PatientSize = decimal_string(rp.patient_height_m)[0]
    ds.SoftwareVersions = f"nelm {__version__}"
    ds.StudyInstanceUID = uids.study
    ds.SeriesInstanceUID = uids.series
    ds.StudyID = ""
    ds.SeriesNumber = md.series_number if md.series_number is not None else ""
    ds.FrameOfReferenceUID = uids.frame_of_reference
    ds.PositionReferenceIndicator = ""
    ds.ImageComments = RESEARCH_USE_DISCLAIMER
    return ds


def pixel_module(ds: Dataset, stored: npt.NDArray[np.integer[Any]]) -> None:
    """Image Pixel module of 16-bit stored values (little-endian Pixel Data)."""
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = int(stored.shape[-2]), int(stored.shape[-1])
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1 if stored.dtype == np.int16 else 0
    ds.PixelData = np.ascontiguousarray(stored).astype(stored.dtype.newbyteorder("<"), copy=False).tobytes()


def in_plane(volume: Volume) -> tuple[list[str], list[str]]:
    """Image Orientation (Patient) and Pixel Spacing as DS texts (see dicom_geometry)."""
    a = volume.affine
    col_step, row_step = a[:3, 1], a[:3, 2]  # next row, next column
    ps_rows, ps_cols = float(np.linalg.norm(col_step)), float(np.linalg.norm(row_step))
    row_cos, col_cos = row_step / ps_cols, col_step / ps_rows
    if abs(float(row_cos @ col_cos)) > 1e-4:
        raise GeometryError(
            f"{volume.metadata.source or 'volume'}: rows and columns are not perpendicular "
            f"({volume.geometry.describe()}); DICOM Image Orientation (Patient) cannot represent this grid"
        )
    iop = [decimal_string(v)[0] for v in (*row_cos, *col_cos)]
    return iop, [decimal_string(ps_rows)[0], decimal_string(ps_cols)[0]]


def file_meta(ds: Dataset, sop_uid: str) -> None:
    """File meta information and SOP Instance UID."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = UID(sop_uid)
    meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    meta.ImplementationClassUID = dc.IMPLEMENTATION_CLASS_UID
    meta.ImplementationVersionName = dc.IMPLEMENTATION_VERSION_NAME
    ds.file_meta = meta
    ds.SOPInstanceUID = sop_uid


def radiopharmaceutical_sequence(volume: Volume) -> Sequence:
    rp = volume.metadata.radiopharmaceutical
    if rp is None:
        return Sequence([])
    item = Dataset()
    if rp.radiopharmaceutical:
        item.Radiopharmaceutical = rp.radiopharmaceutical[:64]
    if rp.injection_datetime is not None:
        zone = volume.acquisition_datetime or rp.injection_datetime
        local = rp.injection_datetime.astimezone(zone.tzinfo)
        item.RadiopharmaceuticalStartTime = local.strftime("%H%M%S.%f")
        item.RadiopharmaceuticalStartDateTime = local.strftime("%Y%m%d%H%M%S.%f")
    if rp.injected_activity_bq is not None:
        item.RadionuclideTotalDose = decimal_string(rp.injected_activity_bq)[0]
    if rp.half_life_s is not None:
        item.RadionuclideHalfLife = decimal_string(rp.half_life_s)[0]
    if rp.positron_fraction is not None:
        item.RadionuclidePositronFraction = decimal_string(rp.positron_fraction)[0]
    code = Dataset()
    if rp.radionuclide:
        code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = radionuclide_code(rp.radionuclide)
    item.RadionuclideCodeSequence = Sequence([code] if rp.radionuclide else [])
    return Sequence([item])
