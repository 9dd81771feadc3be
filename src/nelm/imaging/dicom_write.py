"""Write a :class:`~nelm.imaging.volume.Volume` as a DICOM series: CT, PET, MR or NM.

=====  ======================================  =================================================
 kind   SOP class / layout                      stored values
=====  ======================================  =================================================
 CT     CT Image Storage, one file per slice    int16, Rescale Slope 1 / Intercept 0 when the HU
                                                values fit (rounded to 1 HU), else one linear
                                                scale for the series
 PT     PET Image Storage, one file per slice   int16 with a per-slice Rescale Slope
                                                ``max|v|/32760`` and Intercept 0 (PS3.3
                                                C.8.9.4.1.2), as scanners do; Units BQML/CNTS/GML
 MR     MR Image Storage, one file per slice    uint16 (int16 when a value is negative); when the
                                                values are not integers that fit, one linear
                                                scale for the series, recorded as a Real World
                                                Value Mapping, not as Rescale (see below)
 NM     NM Image Storage, one multi-frame file  uint16 counts; when the values are not integers
        (RECON TOMO)                            in 0..65535, one Rescale Slope for the file
                                                (a standard extension of the NM IOD)
=====  ======================================  =================================================

Round trips are exact to the quantisation: every read-back value is within ``slope / 2`` of the
written one (the slope is first rounded to its 16-character DS text, then used to quantise).

MR values (:attr:`~nelm.imaging.metadata.ValueUnit.ARBITRARY` signal intensity, usually floats)
cannot use Rescale Slope/Intercept: the MR Image IOD (PS3.3 A.4, Table A.4-1) has no Modality
LUT module, and PS3.3 A.4.1 says the Modality LUT is not a component of it. Its General Image
module (PS3.3 C.7.6.1) does include the Real World Value Mapping Sequence (0040,9096; Type 3;
items per the Real World Value Mapping Item macro, PS3.3 C.7.6.16.2.11), which maps stored values
to real-world values ``v = slope · sv + intercept``. So an MR series is written as integers plus
one such mapping, identical in every file: values that are all integers fitting uint16 (or int16)
are stored as they are (slope 1, intercept 0); otherwise ``slope = max v / 65535`` into uint16, or
``max |v| / 32767`` into int16 when a value is negative, intercept 0 (zero stays exactly zero).
Slope and intercept are FD (binary64), so no DS rounding is involved; the item's Measurement Units
Code Sequence is UCUM ``[arb'U]`` "arbitrary unit", its First/Last Value Mapped the whole stored
range. :func:`~nelm.imaging.dicom_read.read_series` applies this mapping to a single-frame image
that has no Rescale Slope/Intercept, so MR values read back within ``slope / 2``; a reader that
ignores it sees the stored integers. The MR Image module's Type 1 acquisition attributes are
written as what nelm knows, nothing more: Scanning Sequence ``RM`` (research mode) and Sequence
Variant ``NONE``; Scan Options, MR Acquisition Type, Repetition Time, Echo Time and Echo Train
Length are Type 2 and left empty. The Contrast/Bolus module is not written (nelm does not know
whether contrast was given), as for CT.

Everything comes from the volume: geometry (Image Position/Orientation (Patient), Pixel
Spacing; for NM the Detector Information Sequence and Spacing Between Slices), its metadata
(UIDs, description, number, identity, radiopharmaceutical, study datetime) and its acquisition
datetime, written as local times in the acquisition's own zone together with Timezone Offset
From UTC (0008,0201). Empty UIDs are derived deterministically from the content
(:func:`~nelm.imaging.dicom_common.deterministic_uid` over a SHA-256 of the voxels, the affine
and the identity), so the same input always gives byte-identical files. A volume whose metadata
still carries the Series Instance UID of a source series keeps it: clear it
(``dataclasses.replace``) when writing derived data as a new series.

Frame duration: :attr:`~nelm.imaging.metadata.SeriesMetadata.frame_duration_s` is written as
Actual Frame Duration (0018,1242; VR IS, so in whole milliseconds, rounded) for PET (Type 2 in
the PET Image module: left empty when unknown) and planar NM (Type 1C in the NM Image module,
required for STATIC and WHOLE BODY images: :data:`UNKNOWN_FRAME_DURATION_MS` when unknown).

Every file says "for research use" in Image Comments (0020,4000). Output folders are written
atomically (:func:`nelm.atomic.atomic_dir`).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import UID
from pydicom.valuerep import format_number_as_ds

from nelm import RESEARCH_USE_DISCLAIMER, __version__
from nelm.atomic import atomic_dir, atomic_path
from nelm.errors import GeometryError, InputError, UnitsError
from nelm.imaging import dicom_common as dc
from nelm.imaging.dicom_pet import radionuclide_code
from nelm.imaging.geometry import Geometry
from nelm.imaging.metadata import ValueUnit
from nelm.imaging.volume import Volume
from nelm.policy import Policy, apply_policy

__all__ = ["UNKNOWN_FRAME_DURATION_MS", "WRITABLE_TRANSFER_SYNTAXES", "write_planar_nm", "write_series"]

logger = logging.getLogger(__name__)

#: Transfer syntaxes the writer produces; all lossless.
WRITABLE_TRANSFER_SYNTAXES: Final[frozenset[str]] = frozenset(
    {
        pydicom.uid.ImplicitVRLittleEndian,
        pydicom.uid.ExplicitVRLittleEndian,
        pydicom.uid.DeflatedExplicitVRLittleEndian,
        pydicom.uid.RLELossless,
        pydicom.uid.JPEGLSLossless,
        pydicom.uid.JPEG2000Lossless,
    }
)

#: Actual Frame Duration (0018,1242, ms) written for planar NM when the volume's
#: ``frame_duration_s`` is ``None``. The attribute must have a value there (Type 1C, PS3.3
#: C.8.4.8 NM Image module) but nelm does not invent a duration: 0 ms cannot be a real
#: acquisition, so it reads as "not known", and nelm's reader turns it back into ``None``.
#: No policy message: nothing is lost or altered.
UNKNOWN_FRAME_DURATION_MS: Final[int] = 0
_MAX_IS: Final[int] = 2**31 - 1  # IS: a signed 32-bit integer (PS3.5 6.2)

_PET_UNITS: Final[dict[ValueUnit, str]] = {
    ValueUnit.BQ_PER_ML: "BQML",
    ValueUnit.COUNTS: "CNTS",
    ValueUnit.SUV_BW: "GML",
}

#: View codes of DICOM CID 26 "Nuclear Medicine Projection" (SNOMED CT).
_VIEW_CODES: Final[dict[str, tuple[str, str, str]]] = {
    "ANTERIOR": ("399321004", "SCT", "Anterior projection"),
    "POSTERIOR": ("399001007", "SCT", "Posterior projection"),
}

#: Measurement Units Code Sequence (0040,08EA) item of the Real World Value Mapping of an MR
#: series: UCUM "arbitrary unit" (MR signal intensity has no physical unit).
_ARBITRARY_UNIT: Final[tuple[str, str, str]] = ("[arb'U]", "UCUM", "arbitrary unit")
#: LUT Label (0040,9210, SH) of that mapping.
_MR_MAPPING_LABEL: Final[str] = "MR SIGNAL"

_PET_HEADROOM: Final[float] = 32760.0  # int16 max 32767, kept below it so DS rounding never overflows
_NM_HEADROOM: Final[float] = 65530.0
_J2K_MIN_SIZE: Final[int] = 32  # 2**(6 - 1): openjpeg's fixed 6 DWT resolutions


@dataclass(frozen=True)
class _Uids:
    study: str
    series: str
    frame_of_reference: str
    content: str  # digest of voxels + affine, seeds SOP Instance UIDs


# -- values -----------------------------------------------------------------------------------
def _ds(value: float) -> tuple[str, float]:
    """A number as DS text (≤ 16 characters) and the float that text reads back as."""
    text = format_number_as_ds(float(value))
    return text, float(text)


def _check_finite(volume: Volume) -> npt.NDArray[np.float64]:
    values = np.asarray(volume.array, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise InputError(
            f"{volume.metadata.source or 'volume'}: contains NaN or infinite voxels; DICOM cannot store them"
        )
    return values


def _quantise_ct(values: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.int16], str, str]:
    rounded = np.rint(values)
    if rounded.min() >= -32768 and rounded.max() <= 32767:
        return rounded.astype(np.int16), "1", "0"
    lo, hi = float(values.min()), float(values.max())
    slope_text, slope = _ds((hi - lo) / 65530.0)
    intercept_text, intercept = _ds(lo + 32768.0 * slope)
    stored = np.clip(np.rint((values - intercept) / slope), -32768, 32767).astype(np.int16)
    return stored, slope_text, intercept_text


def _quantise_slice_pet(values: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.int16], str]:
    peak = float(np.max(np.abs(values)))
    if peak == 0.0:
        return np.zeros(values.shape, np.int16), "1"
    slope_text, slope = _ds(peak / _PET_HEADROOM)
    return np.rint(values / slope).astype(np.int16), slope_text


def _quantise_nm(values: npt.NDArray[np.float64], where: str) -> tuple[npt.NDArray[np.uint16], str | None]:
    if values.min() < 0:
        raise InputError(f"{where}: NM counts cannot be negative (minimum {values.min():g})")
    if np.all(values == np.rint(values)) and values.max() <= 65535:
        return values.astype(np.uint16), None
    peak = float(values.max())
    slope_text, slope = _ds(peak / _NM_HEADROOM if peak > 0 else 1.0)
    return np.rint(values / slope).astype(np.uint16), slope_text


def _quantise_mr(values: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.integer[Any]], float, float]:
    """Stored values, slope and intercept of an MR series (module docstring: one mapping for all)."""
    lo, hi = float(values.min()), float(values.max())
    if np.all(values == np.rint(values)):
        if lo >= 0 and hi <= 65535:
            return values.astype(np.uint16), 1.0, 0.0
        if lo >= -32768 and hi <= 32767:
            return values.astype(np.int16), 1.0, 0.0
    tiny = float(np.finfo(np.float64).tiny)  # keeps the slope positive for subnormal values
    if lo >= 0:
        slope = max(hi / 65535.0, tiny)
        return np.clip(np.rint(values / slope), 0, 65535).astype(np.uint16), slope, 0.0
    slope = max(max(-lo, hi) / 32767.0, tiny)
    return np.clip(np.rint(values / slope), -32767, 32767).astype(np.int16), slope, 0.0


def _real_world_value_mapping(
    stored: npt.NDArray[np.integer[Any]], slope: float, intercept: float
) -> Sequence:
    """Real World Value Mapping Sequence (0040,9096) of an MR image: one linear item."""
    item = Dataset()
    info = np.iinfo(stored.dtype)
    vr = "SS" if info.min < 0 else "US"  # US or SS, following Pixel Representation
    item.add_new("RealWorldValueFirstValueMapped", vr, int(info.min))
    item.add_new("RealWorldValueLastValueMapped", vr, int(info.max))
    item.RealWorldValueIntercept = intercept
    item.RealWorldValueSlope = slope
    item.LUTExplanation = "MR signal intensity, arbitrary units"
    item.LUTLabel = _MR_MAPPING_LABEL
    unit = Dataset()
    unit.CodeValue, unit.CodingSchemeDesignator, unit.CodeMeaning = _ARBITRARY_UNIT
    item.MeasurementUnitsCodeSequence = Sequence([unit])
    return Sequence([item])


def _frame_duration_ms(volume: Volume) -> str | None:
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


def _uids(volume: Volume) -> _Uids:
    md = volume.metadata
    ident = md.identity
    content = dc.digest_of(np.asarray(volume.array)) + np.asarray(volume.affine).tobytes().hex()
    who = [ident.patient_id, ident.patient_name, str(md.study_datetime), ident.accession_number]
    study = md.study_instance_uid or dc.deterministic_uid("study", *who, content)
    series = md.series_instance_uid or dc.deterministic_uid("series", study, volume.modality, content)
    frame = md.frame_of_reference_uid or dc.deterministic_uid("frame-of-reference", study, content)
    return _Uids(study, series, frame, content)


def _date_time(dt: datetime | None, zone_of: datetime | None) -> tuple[str, str]:
    if dt is None:
        return "", ""
    if zone_of is not None and zone_of.tzinfo is not None:
        dt = dt.astimezone(zone_of.tzinfo)
    return dt.strftime("%Y%m%d"), dt.strftime("%H%M%S.%f")


def _base(volume: Volume, uids: _Uids, sop_class: str, policy: Policy, warnings: list[str]) -> Dataset:
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
        ds.PatientWeight = _ds(rp.patient_weight_kg)[0]
    if rp is not None and rp.patient_height_m:
        ds.PatientSize = _ds(rp.patient_height_m)[0]
    ds.SoftwareVersions = f"nelm {__version__}"
    ds.StudyInstanceUID = uids.study
    ds.SeriesInstanceUID = uids.series
    ds.StudyID = ""
    ds.SeriesNumber = md.series_number if md.series_number is not None else ""
    ds.FrameOfReferenceUID = uids.frame_of_reference
    ds.PositionReferenceIndicator = ""
    ds.ImageComments = RESEARCH_USE_DISCLAIMER
    return ds


def _pixel_module(ds: Dataset, stored: npt.NDArray[np.integer[Any]]) -> None:
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = int(stored.shape[-2]), int(stored.shape[-1])
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1 if stored.dtype == np.int16 else 0
    ds.PixelData = np.ascontiguousarray(stored).astype(stored.dtype.newbyteorder("<"), copy=False).tobytes()


def _in_plane(volume: Volume) -> tuple[list[str], list[str]]:
    """Image Orientation (Patient) and Pixel Spacing as DS texts (see dicom_common)."""
    a = volume.affine
    col_step, row_step = a[:3, 1], a[:3, 2]  # next row, next column
    ps_rows, ps_cols = float(np.linalg.norm(col_step)), float(np.linalg.norm(row_step))
    row_cos, col_cos = row_step / ps_cols, col_step / ps_rows
    if abs(float(row_cos @ col_cos)) > 1e-4:
        raise GeometryError(
            f"{volume.metadata.source or 'volume'}: rows and columns are not perpendicular "
            f"({volume.geometry.describe()}); DICOM Image Orientation (Patient) cannot represent this grid"
        )
    iop = [_ds(v)[0] for v in (*row_cos, *col_cos)]
    return iop, [_ds(ps_rows)[0], _ds(ps_cols)[0]]


def _file_meta(ds: Dataset, sop_uid: str) -> None:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = UID(sop_uid)
    meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    meta.ImplementationClassUID = dc.IMPLEMENTATION_CLASS_UID
    meta.ImplementationVersionName = dc.IMPLEMENTATION_VERSION_NAME
    ds.file_meta = meta
    ds.SOPInstanceUID = sop_uid


def _save(ds: Dataset, path: Path, transfer_syntax_uid: UID) -> None:
    if transfer_syntax_uid == pydicom.uid.JPEG2000Lossless and min(ds.Rows, ds.Columns) < _J2K_MIN_SIZE:
        raise InputError(
            f"JPEG 2000 needs images of at least {_J2K_MIN_SIZE}x{_J2K_MIN_SIZE} pixels (the openjpeg "
            f"encoder uses 6 wavelet resolutions); this one is {ds.Rows}x{ds.Columns}: choose another "
            "transfer syntax"
        )
    if transfer_syntax_uid.is_compressed:
        ds.compress(transfer_syntax_uid, generate_instance_uid=False)
    else:
        ds.file_meta.TransferSyntaxUID = transfer_syntax_uid
    ds.save_as(path, enforce_file_format=True)


def _radiopharmaceutical_sequence(volume: Volume) -> Sequence:
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
        item.RadionuclideTotalDose = _ds(rp.injected_activity_bq)[0]
    if rp.half_life_s is not None:
        item.RadionuclideHalfLife = _ds(rp.half_life_s)[0]
    if rp.positron_fraction is not None:
        item.RadionuclidePositronFraction = _ds(rp.positron_fraction)[0]
    code = Dataset()
    if rp.radionuclide:
        code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = radionuclide_code(rp.radionuclide)
    item.RadionuclideCodeSequence = Sequence([code] if rp.radionuclide else [])
    return Sequence([item])


# -- CT, PET and MR: one file per slice -------------------------------------------------------
def _slice_datasets(volume: Volume, policy: Policy, warnings: list[str]) -> list[Dataset]:
    values = _check_finite(volume)
    uids = _uids(volume)
    iop, pixel_spacing = _in_plane(volume)
    normal = np.cross(volume.geometry.directions[:, 2], volume.geometry.directions[:, 1])
    thickness = volume.metadata.slice_thickness_mm or volume.spacing_mm[0]
    is_pet = volume.modality == "PT"
    is_mr = volume.modality == "MR"
    if is_mr:
        if volume.units is not ValueUnit.ARBITRARY:
            raise UnitsError(
                f"{volume.metadata.source or 'volume'}: an MR series holds signal intensity in arbitrary "
                f"units; the volume is in {volume.units.value}"
            )
        stored_mr, slope_mr, intercept_mr = _quantise_mr(values)
        sop_class = pydicom.uid.MRImageStorage
    elif is_pet:
        if volume.units not in _PET_UNITS:
            raise UnitsError(
                f"{volume.metadata.source or 'volume'}: PET values in {volume.units.value} cannot be "
                "written; DICOM PET Units must be Bq/mL (BQML), counts (CNTS) or SUVbw (GML)"
            )
        if volume.acquisition_datetime is None and volume.metadata.study_datetime is None:
            raise InputError(
                "a PET series needs an acquisition datetime (Series Date/Time are Type 1 in the "
                "PET Series module)"
            )
        sop_class = pydicom.uid.PositronEmissionTomographyImageStorage
    else:
        if volume.units is not ValueUnit.HU:
            raise UnitsError(f"a CT series must be in HU, the volume is in {volume.units.value}")
        stored_ct, slope_ct, intercept_ct = _quantise_ct(values)
        sop_class = pydicom.uid.CTImageStorage
    rp = volume.metadata.radiopharmaceutical
    duration_ms = _frame_duration_ms(volume) if is_pet else None
    datasets = []
    n = volume.shape[0]
    for k in range(n):
        ds = _base(volume, uids, sop_class, policy, warnings)
        position = volume.index_to_world([k, 0, 0])
        ds.ImagePositionPatient = [_ds(v)[0] for v in position]
        ds.ImageOrientationPatient = iop
        ds.PixelSpacing = pixel_spacing
        ds.SliceThickness = _ds(thickness)[0]
        ds.SliceLocation = _ds(float(position @ normal))[0]
        ds.InstanceNumber = k + 1
        if is_pet:
            stored, slope = _quantise_slice_pet(values[k])
            ds.ImageType = ["DERIVED", "SECONDARY"]
            ds.SeriesType = ["STATIC", "IMAGE"]
            ds.Units = _PET_UNITS[volume.units]
            ds.CountsSource = "EMISSION"
            ds.CollimatorType = ""
            ds.NumberOfSlices = n
            ds.ImageIndex = k + 1
            decay = (rp.decay_correction if rp is not None else "") or "START"
            ds.DecayCorrection = decay if decay in {"START", "ADMIN", "NONE"} else "START"
            ds.CorrectedImage = ["ATTN", "DECY"] if ds.DecayCorrection != "NONE" else ["ATTN"]
            if ds.DecayCorrection != "NONE":
                ds.DecayFactor = _ds(rp.decay_factor if rp is not None and rp.decay_factor else 1.0)[0]
            ds.FrameReferenceTime = "0"
            ds.ActualFrameDuration = duration_ms or ""  # Type 2
            ds.RescaleIntercept, ds.RescaleSlope = "0", slope
            ds.RadiopharmaceuticalInformationSequence = _radiopharmaceutical_sequence(volume)
            ds.PatientOrientationCodeSequence = Sequence([])
            ds.PatientGantryRelationshipCodeSequence = Sequence([])
        elif is_mr:
            stored = stored_mr[k]
            ds.ImageType = ["DERIVED", "SECONDARY", "OTHER"]  # value 3: PS3.3 C.8.3.1.1.1
            ds.PatientPosition = ""  # Type 2C in General Series for MR Image Storage
            ds.ScanningSequence = "RM"  # research mode: the sequence is not known (module docstring)
            ds.SequenceVariant = "NONE"
            ds.ScanOptions = ""
            ds.MRAcquisitionType = ""
            ds.RepetitionTime = ""  # Type 2C, required unless echo planar: present, empty
            ds.EchoTime = ""
            ds.EchoTrainLength = ""
            ds.RealWorldValueMappingSequence = _real_world_value_mapping(stored_mr, slope_mr, intercept_mr)
        else:
            stored = stored_ct[k]
            ds.ImageType = ["DERIVED", "SECONDARY", "AXIAL"]
            ds.PatientPosition = ""
            ds.KVP = ""
            ds.AcquisitionNumber = ""
            ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = intercept_ct, slope_ct, "HU"
            ds.WindowCenter, ds.WindowWidth = "40", "400"  # abdominal soft-tissue window
        _pixel_module(ds, stored)
        _file_meta(ds, dc.deterministic_uid("instance", uids.series, uids.content, str(k)))
        datasets.append(ds)
    return datasets


# -- NM ---------------------------------------------------------------------------------------
def _nm_common(volume: Volume, uids: _Uids, policy: Policy, warnings: list[str]) -> Dataset:
    ds = _base(volume, uids, pydicom.uid.NuclearMedicineImageStorage, policy, warnings)
    ds.InstanceNumber = 1
    ds.PatientOrientationCodeSequence = Sequence([])
    ds.PatientGantryRelationshipCodeSequence = Sequence([])
    ds.AcquisitionContextSequence = Sequence([])
    window = Dataset()
    window.EnergyWindowName = "PHOTOPEAK"
    ds.EnergyWindowInformationSequence = Sequence([window])
    ds.RadiopharmaceuticalInformationSequence = _radiopharmaceutical_sequence(volume)
    ds.NumberOfEnergyWindows = 1
    ds.CountsAccumulated = ""
    if volume.units is ValueUnit.BQ_PER_ML:
        ds.Units = "BQML"
    elif volume.units is not ValueUnit.COUNTS:
        raise UnitsError(f"NM values must be counts or Bq/mL, the volume is in {volume.units.value}")
    return ds


def _detector_item(view: str | None = None) -> Dataset:
    item = Dataset()
    item.CollimatorType = ""
    item.FocalDistance = ""
    item.XFocusCenter = ""
    item.YFocusCenter = ""
    item.ZoomFactor = ""
    if view is not None:
        code = Dataset()
        if view.upper() in _VIEW_CODES:
            code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = _VIEW_CODES[view.upper()]
        else:
            code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = view[:16], "99NELM", view[:64]
        item.ViewCodeSequence = Sequence([code])
    return item


def _nm_tomo_dataset(volume: Volume, policy: Policy, warnings: list[str]) -> Dataset:
    where = volume.metadata.source or "volume"
    values = _check_finite(volume)
    geometry = volume.geometry
    d = geometry.directions
    normal = np.cross(d[:, 2], d[:, 1])
    step = volume.affine[:3, 0]
    along = float(step @ normal)
    if np.linalg.norm(step - along * normal) > 1e-3 * abs(along):
        raise GeometryError(
            f"{where}: the slice axis is not perpendicular to the slices ({geometry.describe()}); "
            "NM images (Spacing Between Slices along the normal) cannot represent a tilted grid"
        )
    first = 0
    if along < 0:  # store frames in increasing position along the normal
        values = values[::-1]
        first = volume.shape[0] - 1
    stored, slope = _quantise_nm(values, where)
    uids = _uids(volume)
    ds = _nm_common(volume, uids, policy, warnings)
    iop, pixel_spacing = _in_plane(volume)
    n = volume.shape[0]
    ds.ImageType = ["DERIVED", "SECONDARY", "RECON TOMO", "EMISSION"]
    ds.NumberOfFrames = n
    ds.FrameIncrementPointer = pydicom.tag.Tag("SliceVector")
    ds.SliceVector = list(range(1, n + 1))
    ds.NumberOfSlices = n
    ds.NumberOfDetectors = 1
    ds.NumberOfRotations = 1
    detector = _detector_item()
    detector.ImagePositionPatient = [_ds(v)[0] for v in volume.index_to_world([first, 0, 0])]
    detector.ImageOrientationPatient = iop
    ds.DetectorInformationSequence = Sequence([detector])
    ds.RotationInformationSequence = Sequence([])
    ds.PixelSpacing = pixel_spacing
    ds.SpacingBetweenSlices = _ds(abs(along))[0]
    ds.SliceThickness = _ds(volume.metadata.slice_thickness_mm or abs(along))[0]
    if slope is not None:
        ds.RescaleIntercept, ds.RescaleSlope = "0", slope
    _pixel_module(ds, stored)
    _file_meta(ds, dc.deterministic_uid("instance", uids.series, uids.content, "0"))
    return ds


# -- public API -------------------------------------------------------------------------------
def _transfer_syntax(uid: str) -> UID:
    ts = UID(uid)
    if ts not in WRITABLE_TRANSFER_SYNTAXES:
        raise InputError(
            f"transfer syntax {ts} ({ts.name}) cannot be written; choose a lossless one: "
            + ", ".join(sorted(UID(u).name for u in WRITABLE_TRANSFER_SYNTAXES))
        )
    return ts


def _prepare_folder(folder: Path, overwrite: bool) -> None:
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())) and not overwrite:
        raise InputError(f"{folder} exists and is not empty; pass overwrite=True to replace it as a whole")


def write_series(
    volume: Volume,
    folder: str | os.PathLike[str],
    *,
    transfer_syntax_uid: str = pydicom.uid.ExplicitVRLittleEndian,
    policy: Policy = Policy.WARN,
    overwrite: bool = False,
) -> list[Path]:
    """Write a CT, PT, MR or NM volume as a DICOM series into ``folder`` (see the module docstring).

    Parameters
    ----------
    volume:
        Modality CT (units HU), PT (Bq/mL, counts or SUVbw), MR (arbitrary units; values kept
        through a Real World Value Mapping) or NM (counts or Bq/mL; written as one RECON TOMO
        file).
    folder:
        Output folder, created atomically; it must not exist or be empty unless ``overwrite``.
    transfer_syntax_uid:
        One of :data:`WRITABLE_TRANSFER_SYNTAXES` (uncompressed, deflate, RLE, JPEG-LS lossless,
        JPEG 2000 lossless).
    policy:
        What to do about tolerable problems (text fields too long for their VR are truncated).
    overwrite:
        Replace an existing non-empty ``folder`` as a whole.

    Returns
    -------
    list of Path
        The files written, in slice order (``CT_0001.dcm``, ``PT_0001.dcm``, ``MR_0001.dcm`` …,
        or ``NM_0001.dcm``).

    Raises
    ------
    InputError
        Unsupported modality, lossy or unknown transfer syntax, NaN voxels, a non-empty folder,
        a PET frame duration that is not 1 ms to 2**31 − 1 ms.
    UnitsError
        Units the modality cannot carry.
    GeometryError
        A grid DICOM cannot represent (non-perpendicular rows and columns; a tilted NM grid).
    """
    ts = _transfer_syntax(transfer_syntax_uid)
    target = Path(folder)
    _prepare_folder(target, overwrite)
    warnings: list[str] = []
    if volume.modality in {"CT", "PT", "MR"}:
        datasets = _slice_datasets(volume, policy, warnings)
    elif volume.modality == "NM":
        datasets = [_nm_tomo_dataset(volume, policy, warnings)]
    else:
        raise InputError(f"writing {volume.modality} series is not supported; nelm writes CT, PT, MR and NM")
    names = [f"{volume.modality}_{k + 1:04d}.dcm" for k in range(len(datasets))]
    with atomic_dir(target) as tmp:
        for ds, name in zip(datasets, names, strict=True):
            _save(ds, tmp / name, ts)
    logger.info("wrote %d %s file(s) to %s", len(names), volume.modality, target)
    return [target / name for name in names]


def write_planar_nm(
    views: Mapping[str, Volume],
    path: str | os.PathLike[str],
    *,
    transfer_syntax_uid: str = pydicom.uid.ExplicitVRLittleEndian,
    policy: Policy = Policy.WARN,
) -> Path:
    """Write planar NM views (e.g. ``{"ANTERIOR": v1, "POSTERIOR": v2}``) as one STATIC NM file.

    Each view is a one-slice NM volume; all share rows, columns and pixel spacing. Frame *i* is
    detector *i* (Detector Vector), one energy window; each detector item carries the view's
    View Code Sequence (CID 26 codes for anterior/posterior). Planar NM has no patient
    position: a view whose grid differs from nelm's planar convention
    (:func:`~nelm.imaging.dicom_common.planar_geometry`) is reported by ``policy`` and will read
    back on the convention's grid. Metadata, identity, time and frame duration come from the
    first view; Actual Frame Duration is :data:`UNKNOWN_FRAME_DURATION_MS` when the duration is
    not known.

    Raises
    ------
    InputError
        No views, views that are not one-slice NM volumes or differ in size or spacing, or a
        frame duration that is not 1 ms to 2**31 − 1 ms.
    """
    if not views:
        raise InputError("write_planar_nm needs at least one view")
    ts = _transfer_syntax(transfer_syntax_uid)
    names = list(views)
    first = views[names[0]]
    warnings: list[str] = []
    for name, view in views.items():
        if view.modality != "NM" or view.shape[0] != 1:
            raise InputError(
                f"view {name}: a planar view must be a one-slice NM volume, got {view.describe()}"
            )
        if view.shape != first.shape or not np.allclose(view.spacing_mm[1:], first.spacing_mm[1:], atol=1e-6):
            raise InputError(f"view {name} differs in size or pixel spacing from view {names[0]}")
        conventional = dc.planar_geometry(
            view.shape[1], view.shape[2], (view.spacing_mm[1], view.spacing_mm[2]), name
        )
        if not view.geometry.same_as(conventional):
            apply_policy(
                policy,
                f"view {name}: its grid ({view.geometry.describe()}) cannot be stored in planar NM; it will "
                "read back on nelm's planar convention grid",
                logger=logger,
                warnings=warnings,
                error=GeometryError,
            )
    values = np.concatenate([_check_finite(views[n]) for n in names], axis=0)
    stored, slope = _quantise_nm(values, f"planar views {names}")
    stack = Volume(
        array=values,
        geometry=Geometry(shape=(len(names), first.shape[1], first.shape[2]), affine=first.affine),
        modality="NM",
        units=first.units,
        acquisition_datetime=first.acquisition_datetime,
        metadata=first.metadata,
    )
    uids = _uids(stack)
    ds = _nm_common(stack, uids, policy, warnings)
    ds.ImageType = ["DERIVED", "SECONDARY", "STATIC", "EMISSION"]
    ds.NumberOfFrames = len(names)
    ds.FrameIncrementPointer = [pydicom.tag.Tag("EnergyWindowVector"), pydicom.tag.Tag("DetectorVector")]
    ds.EnergyWindowVector = [1] * len(names)
    ds.DetectorVector = list(range(1, len(names) + 1))
    ds.NumberOfDetectors = len(names)
    ds.DetectorInformationSequence = Sequence([_detector_item(n) for n in names])
    ds.PatientOrientation = _patient_orientation(first)
    ds.PixelSpacing = [_ds(first.spacing_mm[1])[0], _ds(first.spacing_mm[2])[0]]
    ds.ActualFrameDuration = _frame_duration_ms(first) or str(UNKNOWN_FRAME_DURATION_MS)  # Type 1C
    if slope is not None:
        ds.RescaleIntercept, ds.RescaleSlope = "0", slope
    _pixel_module(ds, stored)
    _file_meta(ds, dc.deterministic_uid("instance", uids.series, uids.content, "planar"))
    target = Path(path)
    with atomic_path(target) as tmp:
        _save(ds, tmp, ts)
    return target


def _patient_orientation(view: Volume) -> list[str]:
    """Patient Orientation (0020,0020): directions of increasing column and row index."""
    letters = (("R", "L"), ("A", "P"), ("F", "H"))
    out = []
    for axis in (2, 1):
        direction = view.geometry.directions[:, axis]
        k = int(np.argmax(np.abs(direction)))
        out.append(letters[k][1] if direction[k] > 0 else letters[k][0])
    return out
