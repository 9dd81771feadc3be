"""Writing CT, PET, MR and NM series: round trips exact to the quantisation, headers with every
Type 1/2 attribute of their IOD, geometry checked independently with SimpleITK (GDCM), lossless
compression, determinism and atomic output."""

from __future__ import annotations

import math
import tempfile
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk  # noqa: N813
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nelm.errors import GeometryError, InputError, UnitsError
from nelm.imaging import Geometry, PatientIdentity, Radiopharmaceutical, SeriesMetadata, ValueUnit, Volume
from nelm.imaging.dicom_common import planar_geometry
from nelm.imaging.dicom_nm import read_nm_planar
from nelm.imaging.dicom_read import read_series
from nelm.imaging.dicom_write import UNKNOWN_FRAME_DURATION_MS, write_planar_nm, write_series
from nelm.policy import Policy

CET = timezone(timedelta(hours=1))
WHEN = datetime(2025, 11, 3, 9, 41, 7, 250000, tzinfo=CET)
IDENTITY = PatientIdentity(
    patient_name="Doe^Jane",
    patient_id="NELM-001",
    birth_date=date(1961, 4, 5),
    sex="F",
    accession_number="A123",
)


def _oblique_geometry(shape: tuple[int, int, int]) -> Geometry:
    """Rows/columns rotated 20° about z and 10° about x; slices along the normal."""
    a, b = math.radians(20), math.radians(10)
    rz = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    base = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])  # columns: slice, row, column dirs
    return Geometry.from_spacing(shape, (2.5, 0.7, 0.8), (-120.0, 35.5, 410.25), rx @ rz @ base)


def _ct(shape: tuple[int, int, int] = (4, 32, 33), geometry: Geometry | None = None) -> Volume:
    rng = np.random.default_rng(11)
    return Volume(
        array=rng.integers(-1024, 3000, shape).astype(np.int16),
        geometry=geometry or _oblique_geometry(shape),
        modality="CT",
        units=ValueUnit.HU,
        acquisition_datetime=WHEN,
        metadata=SeriesMetadata(
            series_description="portal venous", series_number=7, identity=IDENTITY, manufacturer="NELM"
        ),
    )


def _pet(shape: tuple[int, int, int] = (3, 8, 9)) -> Volume:
    rng = np.random.default_rng(5)
    values = rng.gamma(2.0, 3000.0, shape) * (30.0 ** np.arange(shape[0]))[:, None, None]  # slopes differ
    rp = Radiopharmaceutical(
        radionuclide="Ga-68",
        radiopharmaceutical="Ga-68 DOTATATE",
        injected_activity_bq=162.3e6,
        injection_datetime=WHEN - timedelta(minutes=62),
        half_life_s=4062.6,
        positron_fraction=0.889,
        decay_correction="START",
        patient_weight_kg=71.5,
        patient_height_m=1.68,
    )
    return Volume(
        array=values,
        geometry=Geometry.from_spacing(shape, (4.0, 4.07, 4.07), (-300.0, -280.0, -900.0)),
        modality="PT",
        units=ValueUnit.BQ_PER_ML,
        acquisition_datetime=WHEN,
        metadata=SeriesMetadata(
            series_description="Ga-68 DOTATATE", identity=IDENTITY, radiopharmaceutical=rp
        ),
    )


def _mr(values: np.ndarray | None = None, shape: tuple[int, int, int] = (3, 16, 17)) -> Volume:
    if values is None:
        values = np.random.default_rng(8).gamma(3.0, 200.0, shape)  # float signal, all positive
    return Volume(
        array=values,
        geometry=_oblique_geometry(values.shape),
        modality="MR",
        units=ValueUnit.ARBITRARY,
        acquisition_datetime=WHEN,
        metadata=SeriesMetadata(series_description="T1 HBP 20 min", series_number=6, identity=IDENTITY),
    )


def _nm(values: np.ndarray) -> Volume:
    return Volume(
        array=values,
        geometry=Geometry.from_spacing(values.shape, (4.42, 4.42, 4.42), (-280.0, -300.0, -150.0)),
        modality="NM",
        units=ValueUnit.COUNTS,
        acquisition_datetime=WHEN,
        metadata=SeriesMetadata(series_description="MAA SPECT", identity=IDENTITY),
    )


def _sitk_affine(image: sitk.Image) -> np.ndarray:
    """Our [slice, row, column] affine from SimpleITK's (x=column, y=row, z=slice) image."""
    direction = np.array(image.GetDirection()).reshape(3, 3)
    spacing = image.GetSpacing()
    affine = np.eye(4)
    affine[:3, 2] = direction[:, 0] * spacing[0]
    affine[:3, 1] = direction[:, 1] * spacing[1]
    affine[:3, 0] = direction[:, 2] * spacing[2]
    affine[:3, 3] = image.GetOrigin()
    return affine


# Type 1 and Type 2 attributes of the IODs' mandatory modules (PS3.3 A.3 CT, A.21 PET, A.4 MR, A.5 NM).
COMMON = [
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex",  # Patient
    "StudyInstanceUID", "StudyDate", "StudyTime", "ReferringPhysicianName", "StudyID", "AccessionNumber",
    "Modality", "SeriesInstanceUID", "SeriesNumber",  # General Series
    "FrameOfReferenceUID", "PositionReferenceIndicator",  # Frame of Reference
    "Manufacturer",  # General Equipment
    "InstanceNumber",  # General Image
    "SamplesPerPixel", "PhotometricInterpretation", "Rows", "Columns", "BitsAllocated", "BitsStored",
    "HighBit", "PixelRepresentation", "PixelData",  # Image Pixel
    "SOPClassUID", "SOPInstanceUID",  # SOP Common
]  # fmt: skip
PLANE = ["PixelSpacing", "ImageOrientationPatient", "ImagePositionPatient", "SliceThickness"]
CT_IMAGE = ["ImageType", "RescaleIntercept", "RescaleSlope", "KVP", "AcquisitionNumber", "PatientPosition"]
PET = [
    "SeriesDate", "SeriesTime", "Units", "CountsSource", "SeriesType", "NumberOfSlices", "CorrectedImage",
    "DecayCorrection", "CollimatorType",  # PET Series
    "RadiopharmaceuticalInformationSequence",  # PET Isotope
    "PatientOrientationCodeSequence", "PatientGantryRelationshipCodeSequence",  # NM/PET Patient Orientation
    "ImageType", "RescaleIntercept", "RescaleSlope", "FrameReferenceTime", "ImageIndex", "AcquisitionDate",
    "AcquisitionTime", "ActualFrameDuration", "DecayFactor",  # PET Image
]  # fmt: skip
MR_IMAGE = [
    "PatientPosition",  # General Series, Type 2C for MR Image Storage
    "ImageType", "ScanningSequence", "SequenceVariant", "ScanOptions", "MRAcquisitionType",
    "RepetitionTime", "EchoTime", "EchoTrainLength",  # MR Image (PS3.3 C.8.3.1)
]  # fmt: skip
NM = [
    "PatientOrientationCodeSequence", "PatientGantryRelationshipCodeSequence", "AcquisitionContextSequence",
    "NumberOfFrames", "FrameIncrementPointer", "PixelSpacing", "NumberOfEnergyWindows", "NumberOfDetectors",
    "ImageType", "CountsAccumulated", "EnergyWindowInformationSequence",
    "RadiopharmaceuticalInformationSequence", "DetectorInformationSequence",
]  # fmt: skip
NM_TOMO = ["SliceVector", "NumberOfSlices", "NumberOfRotations", "RotationInformationSequence",
           "SpacingBetweenSlices", "SliceThickness"]  # fmt: skip
NM_STATIC = ["EnergyWindowVector", "DetectorVector", "PatientOrientation"]


def _missing(ds: pydicom.Dataset, keywords: list[str]) -> list[str]:
    return [k for k in keywords if k not in ds]


# -- CT ---------------------------------------------------------------------------------------
def test_ct_round_trip_is_exact(tmp_path: Path) -> None:
    vol = _ct()
    files = write_series(vol, tmp_path / "ct")
    assert [f.name for f in files] == ["CT_0001.dcm", "CT_0002.dcm", "CT_0003.dcm", "CT_0004.dcm"]
    back = read_series(tmp_path / "ct", policy=Policy.RAISE)
    np.testing.assert_array_equal(back.array, vol.array)
    assert back.array.dtype == np.int16
    assert back.geometry.same_as(vol.geometry)
    assert back.acquisition_datetime == WHEN
    assert back.metadata.identity == IDENTITY
    assert (back.metadata.series_description, back.metadata.series_number) == ("portal venous", 7)
    assert back.units is ValueUnit.HU


def test_ct_headers_are_complete(tmp_path: Path) -> None:
    files = write_series(_ct(), tmp_path / "ct")
    ds = pydicom.dcmread(files[0])
    assert _missing(ds, COMMON + PLANE + CT_IMAGE) == []
    assert ds.SOPClassUID == pydicom.uid.CTImageStorage
    assert ds.file_meta.MediaStorageSOPClassUID == ds.SOPClassUID
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert ds.file_meta.ImplementationClassUID.is_valid
    assert ds.TimezoneOffsetFromUTC == "+0100"
    assert (ds.AcquisitionDate, ds.AcquisitionTime) == ("20251103", "094107.250000")
    assert "research use" in ds.ImageComments
    for uid in (ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID, ds.SOPInstanceUID):
        assert pydicom.uid.UID(uid).is_valid
    assert len({pydicom.dcmread(f).SOPInstanceUID for f in files}) == len(files)


def test_ct_geometry_agrees_with_simpleitk(tmp_path: Path) -> None:
    """GDCM's reading of the oblique series written by nelm gives nelm's affine."""
    vol = _ct()
    write_series(vol, tmp_path / "ct")
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(tmp_path / "ct")))
    image = reader.Execute()
    np.testing.assert_allclose(_sitk_affine(image), vol.affine, atol=1e-6)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), vol.array)


def test_ct_float_values_are_rounded_to_1_hu(tmp_path: Path) -> None:
    vol = _ct((2, 4, 5), Geometry.from_spacing((2, 4, 5), (3.0, 1.0, 1.0)))
    values = np.linspace(-1000.4, 1500.6, 40).reshape(2, 4, 5)
    write_series(vol.with_array(values), tmp_path / "ct")
    back = read_series(tmp_path / "ct", policy=Policy.IGNORE)
    assert back.array.dtype == np.int16
    assert np.max(np.abs(back.array - values)) <= 0.5  # slope 1: error <= slope / 2


def test_ct_values_beyond_int16_get_a_linear_scale(tmp_path: Path) -> None:
    vol = _ct((2, 4, 5), Geometry.from_spacing((2, 4, 5), (3.0, 1.0, 1.0)))
    values = np.linspace(-50000.0, 90000.0, 40).reshape(2, 4, 5)
    files = write_series(vol.with_array(values), tmp_path / "ct")
    slope = float(pydicom.dcmread(files[0]).RescaleSlope)
    back = read_series(tmp_path / "ct", policy=Policy.IGNORE)
    assert slope > 1
    assert np.max(np.abs(back.array.astype(np.float64) - values)) <= slope / 2 + 140000 * 2**-24


# -- PET --------------------------------------------------------------------------------------
def test_pet_round_trip_within_half_a_slope_per_slice(tmp_path: Path) -> None:
    vol = _pet()
    files = write_series(vol, tmp_path / "pt")
    slopes = [float(pydicom.dcmread(f).RescaleSlope) for f in files]
    assert len(set(slopes)) == 3  # one slope per slice, as scanners write
    back = read_series(tmp_path / "pt", policy=Policy.RAISE)
    assert back.geometry.same_as(vol.geometry)
    assert back.units is ValueUnit.BQ_PER_ML
    for k, m in enumerate(slopes):
        error = np.abs(back.array[k].astype(np.float64) - vol.array[k])
        assert np.all(error <= m / 2 + np.abs(vol.array[k]) * 2**-23)  # + float32 rounding of the result


def test_pet_headers_and_radiopharmaceutical(tmp_path: Path) -> None:
    vol = _pet()
    files = write_series(vol, tmp_path / "pt")
    ds = pydicom.dcmread(files[1])
    assert _missing(ds, COMMON + PLANE + PET) == []
    assert (ds.Units, ds.DecayCorrection, ds.RescaleIntercept) == ("BQML", "START", 0)
    assert "DECY" in ds.CorrectedImage
    assert "ATTN" in ds.CorrectedImage
    assert (ds.NumberOfSlices, ds.ImageIndex) == (3, 2)
    item = ds.RadiopharmaceuticalInformationSequence[0]
    code = item.RadionuclideCodeSequence[0]
    assert (code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning) == (
        "35337001",
        "SCT",
        "^68^Gallium",
    )
    assert float(item.RadionuclideTotalDose) == 162.3e6
    assert item.RadiopharmaceuticalStartTime == "083907.250000"  # 09:41:07.25 - 62 min, local CET
    assert (float(ds.PatientWeight), float(ds.PatientSize)) == (71.5, 1.68)
    back = read_series(tmp_path / "pt", policy=Policy.RAISE)
    rp = back.metadata.radiopharmaceutical
    assert rp is not None
    assert rp.injection_datetime == WHEN - timedelta(minutes=62)
    assert (rp.half_life_s, rp.positron_fraction, rp.units) == (4062.6, 0.889, "BQML")
    assert rp.radionuclide == "^68^Gallium"
    assert back.acquisition_datetime == WHEN


def test_pet_geometry_agrees_with_simpleitk(tmp_path: Path) -> None:
    vol = _pet()
    write_series(vol, tmp_path / "pt")
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(tmp_path / "pt")))
    np.testing.assert_allclose(_sitk_affine(reader.Execute()), vol.affine, atol=1e-6)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    values=hnp.arrays(
        np.float64,
        (2, 3, 4),
        elements=st.floats(-1e6, 1e7, allow_nan=False, allow_infinity=False, allow_subnormal=False),
    )
)
def test_pet_quantisation_property(tmp_path: Path, values: np.ndarray) -> None:
    """Any finite PET slice survives the round trip within half its slope, plus the float32
    rounding of the result (relative 2**-23, absolute float32 ``tiny`` for values below float32's
    range)."""
    vol = _pet((2, 3, 4)).with_array(values)
    folder = Path(tempfile.mkdtemp(dir=tmp_path)) / "pt"
    files = write_series(vol, folder)
    back = read_series(folder, policy=Policy.IGNORE)
    for k, f in enumerate(files):
        m = float(pydicom.dcmread(f, stop_before_pixels=True).RescaleSlope)
        error = np.abs(back.array[k].astype(np.float64) - values[k])
        assert np.all(error <= m / 2 + np.abs(values[k]) * 2**-23 + np.finfo(np.float32).tiny)


# -- MR ---------------------------------------------------------------------------------------
def _mapping(ds: pydicom.Dataset) -> tuple[float, float]:
    """Slope and intercept of the one Real World Value Mapping item, read with pydicom."""
    (item,) = ds.RealWorldValueMappingSequence
    return float(item.RealWorldValueSlope), float(item.RealWorldValueIntercept)


def test_mr_round_trip_within_half_a_slope(tmp_path: Path) -> None:
    vol = _mr()
    files = write_series(vol, tmp_path / "mr")
    assert [f.name for f in files] == ["MR_0001.dcm", "MR_0002.dcm", "MR_0003.dcm"]
    slope = vol.array.max() / 65535  # one uint16 scale for the series, intercept 0
    assert {_mapping(pydicom.dcmread(f, stop_before_pixels=True)) for f in files} == {(slope, 0.0)}
    back = read_series(tmp_path / "mr", policy=Policy.RAISE)
    assert back.modality == "MR"
    assert back.units is ValueUnit.ARBITRARY
    assert back.geometry.same_as(vol.geometry)
    error = np.abs(back.array.astype(np.float64) - vol.array)
    assert np.all(error <= slope / 2 + np.abs(vol.array) * 2**-23)  # + float32 rounding of the result
    assert back.acquisition_datetime == WHEN
    assert back.metadata.identity == IDENTITY
    assert (back.metadata.series_description, back.metadata.series_number) == ("T1 HBP 20 min", 6)


def test_mr_headers_are_complete_and_use_no_modality_lut(tmp_path: Path) -> None:
    files = write_series(_mr(), tmp_path / "mr")
    ds = pydicom.dcmread(files[1])
    assert _missing(ds, COMMON + PLANE + MR_IMAGE) == []
    assert ds.SOPClassUID == pydicom.uid.MRImageStorage == "1.2.840.10008.5.1.4.1.1.4"
    assert ds.Modality == "MR"
    # The MR Image IOD has no Modality LUT module (PS3.3 A.4): no Rescale attributes at all.
    assert not {"RescaleSlope", "RescaleIntercept", "RescaleType"} & set(ds.dir())
    assert list(ds.ImageType) == ["DERIVED", "SECONDARY", "OTHER"]
    assert (ds.ScanningSequence, ds.SequenceVariant) == ("RM", "NONE")
    for keyword in ("ScanOptions", "MRAcquisitionType", "RepetitionTime", "EchoTime", "EchoTrainLength"):
        assert ds[keyword].is_empty, keyword  # Type 2: nelm does not know the acquisition
    assert (ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.BitsAllocated) == (1, "MONOCHROME2", 16)
    assert (ds.BitsStored, ds.HighBit, ds.PixelRepresentation) == (16, 15, 0)
    (item,) = ds.RealWorldValueMappingSequence
    assert (item.RealWorldValueFirstValueMapped, item.RealWorldValueLastValueMapped) == (0, 65535)
    (unit,) = item.MeasurementUnitsCodeSequence
    assert (unit.CodeValue, unit.CodingSchemeDesignator, unit.CodeMeaning) == (
        "[arb'U]",
        "UCUM",
        "arbitrary unit",
    )
    assert (item.LUTLabel, item.LUTExplanation) == ("MR SIGNAL", "MR signal intensity, arbitrary units")
    assert "research use" in ds.ImageComments


def test_mr_geometry_and_stored_values_agree_with_simpleitk(tmp_path: Path) -> None:
    """GDCM reads nelm's geometry, and the stored integers are round(v / slope)."""
    vol = _mr()
    write_series(vol, tmp_path / "mr")
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(tmp_path / "mr")))
    image = reader.Execute()
    np.testing.assert_allclose(_sitk_affine(image), vol.affine, atol=1e-6)
    expected = np.rint(vol.array / (vol.array.max() / 65535))
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), expected)


def test_mr_integer_values_are_stored_as_they_are(tmp_path: Path) -> None:
    counts = np.random.default_rng(4).integers(0, 4096, (2, 8, 9)).astype(np.float64)
    files = write_series(_mr(counts), tmp_path / "u")
    assert _mapping(pydicom.dcmread(files[0])) == (1.0, 0.0)
    back = read_series(tmp_path / "u", policy=Policy.RAISE)
    assert back.array.dtype == np.uint16
    np.testing.assert_array_equal(back.array, counts)
    signed = counts - 2000.0
    files = write_series(_mr(signed), tmp_path / "s")
    assert pydicom.dcmread(files[0]).PixelRepresentation == 1
    back = read_series(tmp_path / "s", policy=Policy.RAISE)
    assert back.array.dtype == np.int16
    np.testing.assert_array_equal(back.array, signed)


def test_mr_negative_float_values_use_int16(tmp_path: Path) -> None:
    values = np.linspace(-37.5, 812.25, 2 * 8 * 9).reshape(2, 8, 9)
    files = write_series(_mr(values), tmp_path / "mr")
    ds = pydicom.dcmread(files[0])
    assert ds.PixelRepresentation == 1
    slope = 812.25 / 32767  # max |v| onto int16, intercept 0
    assert _mapping(ds) == (slope, 0.0)
    item = ds.RealWorldValueMappingSequence[0]
    assert (item.RealWorldValueFirstValueMapped, item.RealWorldValueLastValueMapped) == (-32768, 32767)
    back = read_series(tmp_path / "mr", policy=Policy.RAISE)
    assert np.all(np.abs(back.array.astype(np.float64) - values) <= slope / 2 + np.abs(values) * 2**-23)


def test_mr_ambiguous_real_world_value_mapping_is_not_applied(tmp_path: Path) -> None:
    """Two mappings: the reader does not guess and returns the stored integers."""
    vol = _mr(shape=(1, 6, 7))
    (f,) = write_series(vol, tmp_path / "mr")
    ds = pydicom.dcmread(f)
    ds.RealWorldValueMappingSequence.append(ds.RealWorldValueMappingSequence[0])
    ds.save_as(f)
    back = read_series(f, policy=Policy.RAISE)
    np.testing.assert_array_equal(back.array, ds.pixel_array[None])


# -- NM ---------------------------------------------------------------------------------------
def test_nm_tomo_round_trip_and_headers(tmp_path: Path) -> None:
    counts = np.random.default_rng(2).poisson(40, (5, 16, 16)).astype(np.uint16)
    vol = _nm(counts)
    (path,) = write_series(vol, tmp_path / "nm")
    ds = pydicom.dcmread(path)
    assert _missing(ds, COMMON + NM + NM_TOMO) == []
    assert ds.ImageType[2] == "RECON TOMO"
    assert ds.FrameIncrementPointer == pydicom.tag.Tag("SliceVector")
    assert "RescaleSlope" not in ds  # integer counts are stored as they are
    back = read_series(path, policy=Policy.RAISE)
    np.testing.assert_array_equal(back.array, counts)
    assert back.geometry.same_as(vol.geometry)
    assert back.units is ValueUnit.COUNTS


def test_nm_geometry_agrees_with_simpleitk(tmp_path: Path) -> None:
    vol = _nm(np.ones((5, 16, 16), np.uint16))
    (path,) = write_series(vol, tmp_path / "nm")
    np.testing.assert_allclose(_sitk_affine(sitk.ReadImage(str(path))), vol.affine, atol=1e-6)


def test_nm_non_integer_counts_are_scaled(tmp_path: Path) -> None:
    values = np.random.default_rng(4).random((3, 8, 8)) * 1e5
    (path,) = write_series(_nm(values), tmp_path / "nm")
    slope = float(pydicom.dcmread(path).RescaleSlope)
    back = read_series(path, policy=Policy.IGNORE)
    assert np.max(np.abs(back.array.astype(np.float64) - values)) <= slope / 2 + 1e5 * 2**-23


def test_nm_planar_views_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    views = {
        name: Volume(
            array=rng.poisson(100, (1, 64, 32)).astype(np.uint16),
            geometry=planar_geometry(64, 32, (4.8, 4.8), name),
            modality="NM",
            units=ValueUnit.COUNTS,
            acquisition_datetime=WHEN,
            metadata=SeriesMetadata(series_description="MAA planar", identity=IDENTITY),
        )
        for name in ("ANTERIOR", "POSTERIOR")
    }
    path = write_planar_nm(views, tmp_path / "planar.dcm")
    ds = pydicom.dcmread(path)
    assert _missing(ds, COMMON + NM + NM_STATIC) == []
    assert ds.ImageType[2] == "STATIC"
    assert list(ds.DetectorVector) == [1, 2]
    assert ds.DetectorInformationSequence[1].ViewCodeSequence[0].CodeMeaning == "Posterior projection"
    assert list(ds.PatientOrientation) == ["L", "F"]
    back = read_nm_planar(path, policy=Policy.RAISE)
    for name, view in views.items():
        np.testing.assert_array_equal(back[name].array, view.array)
        assert back[name].geometry.same_as(view.geometry)


def _planar_views(frame_duration_s: float | None) -> dict[str, Volume]:
    rng = np.random.default_rng(9)
    return {
        name: Volume(
            array=rng.poisson(100, (1, 16, 8)).astype(np.uint16),
            geometry=planar_geometry(16, 8, (4.8, 4.8), name),
            modality="NM",
            units=ValueUnit.COUNTS,
            acquisition_datetime=WHEN,
            metadata=SeriesMetadata(identity=IDENTITY, frame_duration_s=frame_duration_s),
        )
        for name in ("ANTERIOR", "POSTERIOR")
    }


def test_frame_duration_round_trips_for_pet_and_planar_nm(tmp_path: Path) -> None:
    pet = _pet()
    pet = replace(pet, metadata=replace(pet.metadata, frame_duration_s=180.0))
    files = write_series(pet, tmp_path / "pt")
    assert {int(pydicom.dcmread(f).ActualFrameDuration) for f in files} == {180000}  # IS, ms
    assert read_series(tmp_path / "pt").metadata.frame_duration_s == 180.0
    path = write_planar_nm(_planar_views(299.9996), tmp_path / "planar.dcm")
    assert pydicom.dcmread(path).ActualFrameDuration == 300000  # rounded to whole ms
    back = read_nm_planar(path, policy=Policy.RAISE)
    assert [v.metadata.frame_duration_s for v in back.values()] == [300.0, 300.0]


def test_unknown_frame_duration(tmp_path: Path) -> None:
    (first, *_) = write_series(_pet(), tmp_path / "pt")
    assert pydicom.dcmread(first).ActualFrameDuration is None  # PET Image: Type 2, empty
    assert read_series(tmp_path / "pt").metadata.frame_duration_s is None
    path = write_planar_nm(_planar_views(None), tmp_path / "planar.dcm")
    assert pydicom.dcmread(path).ActualFrameDuration == UNKNOWN_FRAME_DURATION_MS == 0  # NM: Type 1C
    back = read_nm_planar(path, policy=Policy.RAISE)
    assert [v.metadata.frame_duration_s for v in back.values()] == [None, None]


@pytest.mark.parametrize("seconds", [-1.0, 0.0, 0.0004, math.inf, math.nan, 3e6])
def test_unwritable_frame_duration_is_refused(tmp_path: Path, seconds: float) -> None:
    with pytest.raises(InputError, match=r"Actual Frame Duration \(0018,1242\)"):
        write_planar_nm(_planar_views(seconds), tmp_path / "planar.dcm")
    assert not (tmp_path / "planar.dcm").exists()


# -- compression, determinism, atomicity -------------------------------------------------------
@pytest.mark.parametrize(
    "uid",
    [
        pydicom.uid.JPEGLSLossless,
        pydicom.uid.JPEG2000Lossless,
        pydicom.uid.RLELossless,
        pydicom.uid.DeflatedExplicitVRLittleEndian,
        pydicom.uid.ImplicitVRLittleEndian,
    ],
)
def test_lossless_transfer_syntaxes_read_back_exactly(tmp_path: Path, uid: str) -> None:
    vol = _ct((2, 32, 40))
    files = write_series(vol, tmp_path / "ct", transfer_syntax_uid=uid)
    assert pydicom.dcmread(files[0], stop_before_pixels=True).file_meta.TransferSyntaxUID == uid
    back = read_series(tmp_path / "ct", policy=Policy.IGNORE)
    np.testing.assert_array_equal(back.array, vol.array)
    assert back.metadata.transfer_syntax_uid == uid


def test_same_input_gives_identical_files(tmp_path: Path) -> None:
    vol = _pet()
    first = write_series(vol, tmp_path / "a")
    second = write_series(vol, tmp_path / "b")
    assert [f.read_bytes() for f in first] == [f.read_bytes() for f in second]
    changed = vol.with_array(vol.array * 1.01)
    third = write_series(changed, tmp_path / "c")
    assert pydicom.dcmread(third[0]).SeriesInstanceUID != pydicom.dcmread(first[0]).SeriesInstanceUID


def test_metadata_uids_are_kept(tmp_path: Path) -> None:
    vol = _ct((1, 4, 4), Geometry.from_spacing((1, 4, 4), (1.0, 1.0, 1.0)))
    md = SeriesMetadata(
        study_instance_uid="1.2.826.0.1.3680043.8.498.7",
        series_instance_uid="1.2.826.0.1.3680043.8.498.8",
        frame_of_reference_uid="1.2.826.0.1.3680043.8.498.9",
    )
    (f,) = write_series(Volume(vol.array, vol.geometry, "CT", ValueUnit.HU, WHEN, md), tmp_path / "ct")
    ds = pydicom.dcmread(f)
    assert (ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID) == (
        md.study_instance_uid,
        md.series_instance_uid,
        md.frame_of_reference_uid,
    )


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    vol = _ct((2, 8, 8), Geometry.from_spacing((2, 8, 8), (1.0, 1.0, 1.0)))
    with pytest.raises(InputError, match="at least 32x32"):
        write_series(vol, tmp_path / "ct", transfer_syntax_uid=pydicom.uid.JPEG2000Lossless)
    assert list(tmp_path.iterdir()) == []


# -- bad input to the writer ------------------------------------------------------------------
def test_writer_refuses_nan(tmp_path: Path) -> None:
    vol = _pet()
    values = vol.array.copy()
    values[0, 0, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        write_series(vol.with_array(values), tmp_path / "pt")


def test_writer_refuses_lossy_transfer_syntax(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="lossless"):
        write_series(_ct(), tmp_path / "ct", transfer_syntax_uid=pydicom.uid.JPEGBaseline8Bit)


def test_writer_refuses_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "ct").mkdir()
    (tmp_path / "ct" / "keep.txt").write_text("user data")
    with pytest.raises(InputError, match="not empty"):
        write_series(_ct(), tmp_path / "ct")
    assert (tmp_path / "ct" / "keep.txt").exists()
    write_series(_ct(), tmp_path / "ct", overwrite=True)
    assert not (tmp_path / "ct" / "keep.txt").exists()


def test_writer_refuses_wrong_units(tmp_path: Path) -> None:
    with pytest.raises(UnitsError, match="HU"):
        write_series(_ct().with_array(_ct().array, ValueUnit.BQ_PER_ML), tmp_path / "ct")
    with pytest.raises(UnitsError, match="BQML"):
        write_series(_pet().with_array(_pet().array, ValueUnit.ARBITRARY), tmp_path / "pt")
    with pytest.raises(UnitsError, match="arbitrary units"):
        write_series(_mr().with_array(_mr().array, ValueUnit.HU), tmp_path / "mr")


def test_writer_refuses_sheared_in_plane_axes(tmp_path: Path) -> None:
    affine = np.eye(4)
    affine[:3, :3] = [[0, 0, 1.0], [0, 1.0, 0.3], [1.0, 0, 0]]  # rows and columns not perpendicular
    vol = Volume(np.zeros((2, 4, 4), np.int16), Geometry((2, 4, 4), affine), "CT", ValueUnit.HU, WHEN)
    with pytest.raises(GeometryError, match="not perpendicular"):
        write_series(vol, tmp_path / "ct")


def test_writer_refuses_negative_nm_counts(tmp_path: Path) -> None:
    values = np.ones((2, 4, 4))
    values[1, 1, 1] = -3
    with pytest.raises(InputError, match="negative"):
        write_series(_nm(values), tmp_path / "nm")


def test_pet_without_any_datetime_is_refused(tmp_path: Path) -> None:
    vol = _pet()
    undated = Volume(vol.array, vol.geometry, "PT", ValueUnit.BQ_PER_ML, None, SeriesMetadata())
    with pytest.raises(InputError, match="Type 1"):
        write_series(undated, tmp_path / "pt")


def test_utc_volume_gets_zero_offset(tmp_path: Path) -> None:
    vol = _ct((1, 4, 4), Geometry.from_spacing((1, 4, 4), (1.0, 1.0, 1.0)))
    utc = Volume(vol.array, vol.geometry, "CT", ValueUnit.HU, WHEN.astimezone(UTC), vol.metadata)
    (f,) = write_series(utc, tmp_path / "ct")
    ds = pydicom.dcmread(f)
    assert (ds.TimezoneOffsetFromUTC, ds.AcquisitionTime) == ("+0000", "084107.250000")
    assert read_series(f, policy=Policy.RAISE).acquisition_datetime == WHEN


def test_non_ascii_names_round_trip_as_utf8(tmp_path: Path) -> None:
    vol = _ct((1, 4, 4), Geometry.from_spacing((1, 4, 4), (1.0, 1.0, 1.0)))
    identity = PatientIdentity(
        patient_name="Müller^Jörg", patient_id="Ø-7", institution_name="Hôpital Saint-Éloi"
    )
    md = SeriesMetadata(series_description="artériel", identity=identity)
    (f,) = write_series(Volume(vol.array, vol.geometry, "CT", ValueUnit.HU, WHEN, md), tmp_path / "ct")
    assert pydicom.dcmread(f).SpecificCharacterSet == "ISO_IR 192"
    back = read_series(f, policy=Policy.RAISE)
    assert back.metadata.identity.patient_name == "Müller^Jörg"
    assert back.metadata.identity.institution_name == "Hôpital Saint-Éloi"
    assert back.metadata.series_description == "artériel"
