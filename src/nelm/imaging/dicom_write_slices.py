"""CT, PET and MR series for :func:`nelm.imaging.dicom_write.write_series`: one file per slice.

Stored values, Rescale and the Real World Value Mapping of MR follow the table and the notes in
:mod:`nelm.imaging.dicom_write`.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from nelm.errors import InputError, UnitsError
from nelm.imaging import dicom_common as dc
from nelm.imaging.dicom_write_common import (
    base_dataset,
    check_finite,
    decimal_string,
    file_meta,
    frame_duration_ms,
    in_plane,
    pixel_module,
    radiopharmaceutical_sequence,
    series_uids,
)
from nelm.imaging.metadata import ValueUnit
from nelm.imaging.volume import Volume
from nelm.policy import Policy

__all__ = ["slice_datasets"]

_PET_UNITS: Final[dict[ValueUnit, str]] = {
    ValueUnit.BQ_PER_ML: "BQML",
    ValueUnit.COUNTS: "CNTS",
    ValueUnit.SUV_BW: "GML",
}

#: Measurement Units Code Sequence (0040,08EA) item of the Real World Value Mapping of an MR
#: series: UCUM "arbitrary unit" (MR signal intensity has no physical unit).
_ARBITRARY_UNIT: Final[tuple[str, str, str]] = ("[arb'U]", "UCUM", "arbitrary unit")
#: LUT Label (0040,9210, SH) of that mapping.
_MR_MAPPING_LABEL: Final[str] = "MR SIGNAL"

_PET_HEADROOM: Final[float] = 32760.0  # int16 max 32767, kept below it so DS rounding never overflows


def _quantise_ct(values: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.int16], str, str]:
    rounded = np.rint(values)
    if rounded.min() >= -32768 and rounded.max() <= 32767:
        return rounded.astype(np.int16), "1", "0"
    lo, hi = float(values.min()), float(values.max())
    slope_text, slope = decimal_string((hi - lo) / 65530.0)
    intercept_text, intercept = decimal_string(lo + 32768.0 * slope)
    stored = np.clip(np.rint((values - intercept) / slope), -32768, 32767).astype(np.int16)
    return stored, slope_text, intercept_text


def _quantise_slice_pet(values: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.int16], str]:
    peak = float(np.max(np.abs(values)))
    if peak == 0.0:
        return np.zeros(values.shape, np.int16), "1"
    slope_text, slope = decimal_string(peak / _PET_HEADROOM)
    return np.rint(values / slope).astype(np.int16), slope_text


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


def slice_datasets(volume: Volume, policy: Policy, warnings: list[str]) -> list[Dataset]:
    """One CT, PET or MR dataset per slice, in slice order."""
    values = check_finite(volume)
    uids = series_uids(volume)
    iop, pixel_spacing = in_plane(volume)
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
    duration_ms = frame_duration_ms(volume) if is_pet else None
    datasets = []
    n = volume.shape[0]
    for k in range(n):
        ds = base_dataset(volume, uids, sop_class, policy, warnings)
        position = volume.index_to_world([k, 0, 0])
        ds.ImagePositionPatient = [decimal_string(v)[0] for v in position]
        ds.ImageOrientationPatient = iop
        ds.PixelSpacing = pixel_spacing
        ds.SliceThickness = decimal_string(thickness)[0]
        ds.SliceLocation = decimal_string(float(position @ normal))[0]
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
                ds.DecayFactor = decimal_string(
                    rp.decay_factor if rp is not None and rp.decay_factor else 1.0
                )[0]
            ds.FrameReferenceTime = "0"
            ds.ActualFrameDuration = duration_ms or ""  # Type 2
            ds.RescaleIntercept, ds.RescaleSlope = "0", slope
            ds.RadiopharmaceuticalInformationSequence = radiopharmaceutical_sequence(volume)
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
        pixel_module(ds, stored)
        file_meta(ds, dc.deterministic_uid("instance", uids.series, uids.content, str(k)))
        datasets.append(ds)
    return datasets
