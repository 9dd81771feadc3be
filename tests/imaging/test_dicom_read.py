"""Reading DICOM series: geometry against hand-computed positions, sorting, rescale, time,
enhanced multi-frame and NM files. Files are built here with plain pydicom (not nelm's writer),
so every expectation comes from the DICOM definitions, not from nelm's own output."""

from __future__ import annotations

import ast
import graphlib
import math
import random
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

import nelm.imaging
from nelm.errors import DicomError, UnitsError
from nelm.imaging.dicom_nm import read_nm_planar
from nelm.imaging.dicom_pet import read_radiopharmaceutical
from nelm.imaging.dicom_read import read_series
from nelm.imaging.metadata import ValueUnit
from nelm.policy import Policy

SERIES = "1.2.826.0.1.3680043.8.498.1001"


def _dataset(sop_class: str, rows: int, columns: int, pixels: np.ndarray, **attrs: Any) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    uid = attrs.pop("SOPInstanceUID", None) or generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = uid
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, uid
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.8.498.1000"
    ds.SeriesInstanceUID = SERIES
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
    ds.PixelRepresentation = 1 if pixels.dtype == np.int16 else 0
    for key, value in attrs.items():
        setattr(ds, key, value)
    ds.PixelData = np.ascontiguousarray(pixels).tobytes()
    return ds


def _ct_slice(path: Path, ipp: tuple[float, ...], pixels: np.ndarray, **attrs: Any) -> Path:
    attrs.setdefault("Modality", "CT")
    attrs.setdefault("ImageOrientationPatient", [1, 0, 0, 0, 1, 0])
    attrs.setdefault("PixelSpacing", [0.5, 0.5])
    attrs.setdefault("RescaleSlope", 1)
    attrs.setdefault("RescaleIntercept", 0)
    sop = attrs.pop("SOPClassUID", pydicom.uid.CTImageStorage)
    ds = _dataset(sop, pixels.shape[0], pixels.shape[1], pixels, ImagePositionPatient=list(ipp), **attrs)
    ds.save_as(path, enforce_file_format=True)
    return path


# -- geometry ---------------------------------------------------------------------------------
def test_oblique_series_matches_hand_computed_positions(tmp_path: Path) -> None:
    """Oblique slices, files shuffled: voxel (2, 3, 4) must land where PS3.3 C.7.6.2.1.1 puts it.

    Row cosine r = (1/√2, 1/√2, 0), column cosine c = (0, 0, -1), PixelSpacing [0.5 (rows),
    0.7 (columns)], normal n = r × c = (-1/√2, 1/√2, 0), slice step 3 mm along n, first slice at
    (10, -20, 5). Voxel (slice 2, row 3, column 4) is at
    (10, -20, 5) + 2·3·n + 3·0.5·c + 4·0.7·r
    = (10 - 6/√2 + 2.8/√2, -20 + 6/√2 + 2.8/√2, 5 - 1.5) = (7.737258, -13.777460, 3.5).
    """
    s = 1 / math.sqrt(2)
    iop = [s, s, 0, 0, 0, -1]
    positions = [(10 - 3 * k * s, -20 + 3 * k * s, 5.0) for k in range(5)]
    order = list(range(5))
    random.Random(7).shuffle(order)
    for n, k in enumerate(order):
        pixels = (1000 * k + np.arange(6 * 7).reshape(6, 7)).astype(np.int16)  # value encodes k, row, col
        _ct_slice(
            tmp_path / f"x{n}.dcm",
            positions[k],
            pixels,
            ImageOrientationPatient=iop,
            PixelSpacing=[0.5, 0.7],
            InstanceNumber=n + 1,
        )
    vol = read_series(tmp_path, policy=Policy.IGNORE)
    assert vol.shape == (5, 6, 7)
    np.testing.assert_allclose(vol.index_to_world([2, 3, 4]), [7.737258, -13.777460, 3.5], atol=1e-5)
    assert vol.array[2, 3, 4] == 1000 * 2 + 3 * 7 + 4
    assert vol.spacing_mm == pytest.approx((3.0, 0.5, 0.7))
    # Every slice k holds the file whose IPP is positions[k].
    assert [int(vol.array[k, 0, 0]) // 1000 for k in range(5)] == [0, 1, 2, 3, 4]


def test_shuffled_axial_files_are_sorted_by_position_not_name_or_instance(tmp_path: Path) -> None:
    zs = [-30.0, -32.5, -35.0, -37.5]  # head-to-feet file order; ascending along normal is the reverse
    for n, z in enumerate(zs):
        _ct_slice(tmp_path / f"a{n}.dcm", (0, 0, z), np.full((2, 3), n, np.int16), InstanceNumber=n + 1)
    vol = read_series(tmp_path, policy=Policy.IGNORE)
    assert vol.array[:, 0, 0].tolist() == [3, 2, 1, 0]
    assert vol.geometry.origin_mm == pytest.approx((0.0, 0.0, -37.5))
    assert vol.orientation == "SPL"


def test_spacing_comes_from_positions_not_slice_thickness(tmp_path: Path) -> None:
    for k in range(3):
        _ct_slice(tmp_path / f"s{k}.dcm", (0, 0, 2.0 * k), np.zeros((2, 2), np.int16), SliceThickness=3)
    vol = read_series(tmp_path, policy=Policy.IGNORE)
    assert vol.spacing_mm[0] == pytest.approx(2.0)
    assert vol.metadata.slice_thickness_mm == 3.0


def test_single_file_and_explicit_list(tmp_path: Path) -> None:
    files = [_ct_slice(tmp_path / f"f{k}.dcm", (0, 0, k), np.full((2, 2), k, np.int16)) for k in range(3)]
    one = read_series(files[1], policy=Policy.IGNORE)
    assert one.shape == (1, 2, 2)
    assert int(one.array[0, 0, 0]) == 1
    two = read_series([files[2], files[0]], policy=Policy.IGNORE)
    assert two.array[:, 0, 0].tolist() == [0, 2]
    assert two.spacing_mm[0] == pytest.approx(2.0)


# -- values -----------------------------------------------------------------------------------
def test_per_slice_rescale_gives_float32_with_each_slices_own_slope(tmp_path: Path) -> None:
    raw = np.array([[0, 100], [200, 300]], np.int16)
    slopes = [0.5, 2.25, 10.0]
    for k, m in enumerate(slopes):
        _ct_slice(
            tmp_path / f"p{k}.dcm",
            (0, 0, 4.0 * k),
            raw,
            Modality="PT",
            RescaleSlope=m,
            Units="BQML",
            SOPClassUID=pydicom.uid.PositronEmissionTomographyImageStorage,
        )
    vol = read_series(tmp_path, policy=Policy.IGNORE)
    assert vol.array.dtype == np.float32
    assert vol.units is ValueUnit.BQ_PER_ML
    for k, m in enumerate(slopes):
        np.testing.assert_array_equal(vol.array[k], raw * m)  # v = m * sv + b, PS3.3 C.11.1.1.2


def test_unsigned_12_bit_ct_with_intercept_is_int16_hu(tmp_path: Path) -> None:
    raw = np.array([[0, 1024], [2000, 4095]], np.uint16)
    for k in range(2):
        _ct_slice(tmp_path / f"u{k}.dcm", (0, 0, k), raw, BitsStored=12, HighBit=11, RescaleIntercept=-1024)
    vol = read_series(tmp_path, policy=Policy.IGNORE)
    assert vol.array.dtype == np.int16  # stored 0..4095 - 1024 fits int16
    np.testing.assert_array_equal(vol.array[1], raw.astype(np.int32) - 1024)
    assert vol.units is ValueUnit.HU


def _rwvm_item(slope: float, intercept: float) -> Dataset:
    item = Dataset()
    item.RealWorldValueFirstValueMapped, item.RealWorldValueLastValueMapped = 0, 65535
    item.RealWorldValueSlope, item.RealWorldValueIntercept = slope, intercept
    item.LUTExplanation, item.LUTLabel = "signal", "SIG"
    unit = Dataset()
    unit.CodeValue, unit.CodingSchemeDesignator, unit.CodeMeaning = "[arb'U]", "UCUM", "arbitrary unit"
    item.MeasurementUnitsCodeSequence = Sequence([unit])
    return item


def _mr_slice(path: Path, z: float, pixels: np.ndarray, *mappings: Dataset, **attrs: Any) -> Path:
    """A classic MR Image Storage file: no Rescale attributes unless given in ``attrs``."""
    ds = _dataset(
        pydicom.uid.MRImageStorage,
        pixels.shape[0],
        pixels.shape[1],
        pixels,
        Modality="MR",
        ImagePositionPatient=[0, 0, z],
        ImageOrientationPatient=[1, 0, 0, 0, 1, 0],
        PixelSpacing=[0.5, 0.5],
        RealWorldValueMappingSequence=Sequence(list(mappings)),
        **attrs,
    )
    ds.save_as(path, enforce_file_format=True)
    return path


def test_mr_without_rescale_uses_its_one_real_world_value_mapping(tmp_path: Path) -> None:
    """Classic MR has no Modality LUT (PS3.3 A.4); a single linear Real World Value Mapping
    (PS3.3 C.7.6.16.2.11: v = slope * sv + intercept) gives the values."""
    raw = np.array([[0, 100], [2000, 65535]], np.uint16)
    for k in range(2):
        _mr_slice(tmp_path / f"m{k}.dcm", 3.0 * k, raw, _rwvm_item(0.25, -10.0))
    vol = read_series(tmp_path, policy=Policy.IGNORE)
    assert vol.array.dtype == np.float32
    assert vol.units is ValueUnit.ARBITRARY
    np.testing.assert_array_equal(vol.array[1], [[-10.0, 15.0], [490.0, 16373.75]])


def test_mr_rescale_wins_and_several_mappings_are_not_applied(tmp_path: Path) -> None:
    raw = np.array([[0, 100], [2000, 4095]], np.uint16)
    rescaled = _mr_slice(
        tmp_path / "r.dcm", 0, raw, _rwvm_item(0.25, -10.0), RescaleSlope=2, RescaleIntercept=0
    )
    np.testing.assert_array_equal(read_series(rescaled, policy=Policy.IGNORE).array[0], raw * 2)
    two = _mr_slice(tmp_path / "two.dcm", 0, raw, _rwvm_item(0.25, -10.0), _rwvm_item(1.5, 0.0))
    vol = read_series(two, policy=Policy.IGNORE)
    assert vol.array.dtype == np.uint16
    np.testing.assert_array_equal(vol.array[0], raw)
    plain = _mr_slice(tmp_path / "plain.dcm", 0, raw)
    np.testing.assert_array_equal(read_series(plain, policy=Policy.IGNORE).array[0], raw)


def test_imaging_modules_import_each_other_without_cycles() -> None:
    """Every import between nelm.imaging modules, function-level ones included, forms no cycle
    (dicom_read dispatches to dicom_nm, which must not import dicom_read back)."""
    package = Path(nelm.imaging.__file__).parent
    graph: dict[str, set[str]] = {}
    for path in package.rglob("*.py"):
        parts = path.relative_to(package.parent.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
            elif isinstance(node, ast.Import):
                imported |= {a.name for a in node.names}
        graph[name] = imported
    edges = {m: {d for d in deps if d in graph and d != m} for m, deps in graph.items()}
    assert "nelm.imaging.dicom_read" not in edges["nelm.imaging.dicom_nm"]
    tuple(graphlib.TopologicalSorter(edges).static_order())  # raises CycleError on a cycle


@pytest.mark.parametrize(
    ("units", "expected"),
    [("BQML", ValueUnit.BQ_PER_ML), ("CNTS", ValueUnit.COUNTS), ("GML", ValueUnit.SUV_BW)],
)
def test_pet_units_map_to_value_units(tmp_path: Path, units: str, expected: ValueUnit) -> None:
    f = _ct_slice(
        tmp_path / "pt.dcm",
        (0, 0, 0),
        np.zeros((2, 2), np.int16),
        Modality="PT",
        Units=units,
        SOPClassUID=pydicom.uid.PositronEmissionTomographyImageStorage,
    )
    assert read_series(f, policy=Policy.IGNORE).units is expected


def test_unknown_pet_units_follow_the_policy(tmp_path: Path) -> None:
    f = _ct_slice(
        tmp_path / "pt.dcm",
        (0, 0, 0),
        np.zeros((2, 2), np.int16),
        Modality="PT",
        Units="PROPCNTS",
        SOPClassUID=pydicom.uid.PositronEmissionTomographyImageStorage,
    )
    vol = read_series(f, policy=Policy.WARN)
    assert vol.units is ValueUnit.ARBITRARY
    assert any("PROPCNTS" in w for w in vol.metadata.warnings)
    with pytest.raises(UnitsError, match="PROPCNTS"):
        read_series(f, policy=Policy.RAISE)


# -- time -------------------------------------------------------------------------------------
def test_timezone_offset_and_earliest_acquisition_time(tmp_path: Path) -> None:
    for k, t in enumerate(["101502", "101459.5", "101530"]):
        _ct_slice(
            tmp_path / f"t{k}.dcm",
            (0, 0, k),
            np.zeros((2, 2), np.int16),
            AcquisitionDate="20240301",
            AcquisitionTime=t,
            TimezoneOffsetFromUTC="-0500",
            StudyDate="20240301",
            StudyTime="100000",
        )
    vol = read_series(tmp_path, policy=Policy.RAISE)
    eastern = timezone(timedelta(hours=-5))
    assert vol.acquisition_datetime == datetime(2024, 3, 1, 10, 14, 59, 500000, tzinfo=eastern)
    assert vol.acquisition_datetime.astimezone(UTC).hour == 15
    assert vol.metadata.study_datetime == datetime(2024, 3, 1, 10, 0, tzinfo=eastern)
    assert not any("Timezone" in w for w in vol.metadata.warnings)


def test_missing_timezone_uses_assumed_zone_and_says_so(tmp_path: Path) -> None:
    f = _ct_slice(
        tmp_path / "t.dcm", (0, 0, 0), np.zeros((2, 2), np.int16), SeriesDate="20240301", SeriesTime="080000"
    )
    cet = timezone(timedelta(hours=1))
    vol = read_series(f, assume_timezone=cet)
    assert vol.acquisition_datetime == datetime(2024, 3, 1, 8, 0, tzinfo=cet)
    assert any("Timezone Offset From UTC" in w for w in vol.metadata.warnings)


def test_acquisition_datetime_with_its_own_offset_wins(tmp_path: Path) -> None:
    f = _ct_slice(
        tmp_path / "t.dcm",
        (0, 0, 0),
        np.zeros((2, 2), np.int16),
        AcquisitionDateTime="20240301081500+0200",
        AcquisitionDate="20240301",
        AcquisitionTime="000000",
    )
    vol = read_series(f, policy=Policy.IGNORE)
    assert vol.acquisition_datetime == datetime(2024, 3, 1, 6, 15, tzinfo=UTC)


def test_radiopharmaceutical_start_time_before_midnight_is_the_previous_day() -> None:
    ds = Dataset()
    ds.SeriesDate, ds.SeriesTime = "20240302", "003000"  # scan 00:30
    item = Dataset()
    item.RadiopharmaceuticalStartTime = "233000"  # injected 23:30 the evening before
    item.RadionuclideTotalDose = "185000000"
    item.RadionuclideHalfLife = "4062.6"
    ds.RadiopharmaceuticalInformationSequence = Sequence([item])
    ds.PatientWeight = "70"
    rp = read_radiopharmaceutical(ds, tz=UTC)
    assert rp.injection_datetime == datetime(2024, 3, 1, 23, 30, tzinfo=UTC)
    assert rp.injected_activity_bq == 185e6
    assert rp.patient_weight_kg == 70.0


def test_radiopharmaceutical_start_datetime_takes_precedence() -> None:
    ds = Dataset()
    ds.SeriesDate, ds.SeriesTime = "20240302", "120000"
    item = Dataset()
    item.RadiopharmaceuticalStartDateTime = "20240302104500"
    item.RadiopharmaceuticalStartTime = "090000"
    ds.RadiopharmaceuticalInformationSequence = Sequence([item])
    ds.TimezoneOffsetFromUTC = "+0100"
    rp = read_radiopharmaceutical(ds)
    assert rp.injection_datetime == datetime(2024, 3, 2, 9, 45, tzinfo=UTC)


# -- enhanced multi-frame ---------------------------------------------------------------------
def _fg(**sequences: Dataset) -> Dataset:
    item = Dataset()
    for keyword, content in sequences.items():
        setattr(item, keyword, Sequence([content]))
    return item


def _item(**attrs: Any) -> Dataset:
    ds = Dataset()
    for k, v in attrs.items():
        setattr(ds, k, v)
    return ds


def test_enhanced_ct_frames_sorted_and_rescaled_per_frame(tmp_path: Path) -> None:
    z = [4.0, 0.0, 8.0, 2.0, 6.0]  # frames stored out of order
    pixels = np.stack([np.full((3, 4), int(v), np.int16) for v in z])
    per_frame = [
        _fg(
            PlanePositionSequence=_item(ImagePositionPatient=[-5, 7, v]),
            PixelValueTransformationSequence=_item(RescaleSlope=1, RescaleIntercept=-1000 if v == 8.0 else 0),
            FrameContentSequence=_item(FrameAcquisitionDateTime=f"2024030110{int(v):02d}00"),
        )
        for v in z
    ]
    shared = _fg(
        PlaneOrientationSequence=_item(ImageOrientationPatient=[1, 0, 0, 0, 1, 0]),
        PixelMeasuresSequence=_item(PixelSpacing=[0.6, 0.8], SliceThickness=2.5),
    )
    ds = _dataset(
        pydicom.uid.EnhancedCTImageStorage,
        3,
        4,
        pixels,
        Modality="CT",
        NumberOfFrames=5,
        PerFrameFunctionalGroupsSequence=Sequence(per_frame),
        SharedFunctionalGroupsSequence=Sequence([shared]),
        TimezoneOffsetFromUTC="+0000",
    )
    ds.save_as(tmp_path / "enh.dcm", enforce_file_format=True)
    vol = read_series(tmp_path / "enh.dcm", policy=Policy.RAISE)
    assert vol.array[:, 0, 0].tolist() == [0, 2, 4, 6, 8 - 1000]
    assert vol.spacing_mm == pytest.approx((2.0, 0.6, 0.8))
    assert vol.geometry.origin_mm == pytest.approx((-5.0, 7.0, 0.0))
    assert vol.metadata.slice_thickness_mm == 2.5
    assert vol.acquisition_datetime == datetime(2024, 3, 1, 10, 0, tzinfo=UTC)  # earliest frame


def test_enhanced_frame_without_position_names_frame_and_group(tmp_path: Path) -> None:
    per_frame = [_fg(PlanePositionSequence=_item(ImagePositionPatient=[0, 0, 0])), Dataset()]
    shared = _fg(
        PlaneOrientationSequence=_item(ImageOrientationPatient=[1, 0, 0, 0, 1, 0]),
        PixelMeasuresSequence=_item(PixelSpacing=[1, 1]),
    )
    ds = _dataset(
        pydicom.uid.EnhancedCTImageStorage,
        2,
        2,
        np.zeros((2, 2, 2), np.int16),
        Modality="CT",
        NumberOfFrames=2,
        PerFrameFunctionalGroupsSequence=Sequence(per_frame),
        SharedFunctionalGroupsSequence=Sequence([shared]),
    )
    ds.save_as(tmp_path / "enh.dcm", enforce_file_format=True)
    with pytest.raises(DicomError, match=r"enh\.dcm frame 2.*PlanePositionSequence"):
        read_series(tmp_path / "enh.dcm", policy=Policy.IGNORE)


# -- NM ---------------------------------------------------------------------------------------
def test_nm_recon_tomo_geometry_from_detector_information(tmp_path: Path) -> None:
    """IPP/IOP from the Detector Information Sequence, step = Spacing Between Slices along the
    normal (PS3.3 C.8.4.10/C.8.4.15); SliceVector gives each frame's slice number."""
    pixels = np.stack([np.full((4, 4), s, np.uint16) for s in (3, 1, 2)])
    detector = _item(ImagePositionPatient=[-100, -100, 50], ImageOrientationPatient=[1, 0, 0, 0, 1, 0])
    ds = _dataset(
        pydicom.uid.NuclearMedicineImageStorage,
        4,
        4,
        pixels,
        Modality="NM",
        NumberOfFrames=3,
        ImageType=["ORIGINAL", "PRIMARY", "RECON TOMO", "EMISSION"],
        PixelSpacing=[4.42, 4.42],
        SpacingBetweenSlices=4.42,
        SliceVector=[3, 1, 2],
        NumberOfSlices=3,
        DetectorInformationSequence=Sequence([detector]),
    )
    ds.save_as(tmp_path / "spect.dcm", enforce_file_format=True)
    vol = read_series(tmp_path / "spect.dcm", policy=Policy.IGNORE)
    assert vol.units is ValueUnit.COUNTS
    assert vol.array[:, 0, 0].tolist() == [1, 2, 3]
    # slice s (1-based) is at IPP + (s-1)·4.42·(0, 0, 1)
    np.testing.assert_allclose(vol.index_to_world([2, 1, 3]), [-100 + 3 * 4.42, -100 + 4.42, 50 + 2 * 4.42])


def test_nm_planar_views_by_view_code(tmp_path: Path) -> None:
    pixels = np.stack([np.full((8, 4), 10, np.uint16), np.full((8, 4), 20, np.uint16)])

    def detector(meaning: str) -> Dataset:
        return _item(
            ViewCodeSequence=Sequence(
                [_item(CodeValue="x", CodingSchemeDesignator="99X", CodeMeaning=meaning)]
            )
        )

    ds = _dataset(
        pydicom.uid.NuclearMedicineImageStorage,
        8,
        4,
        pixels,
        Modality="NM",
        NumberOfFrames=2,
        ImageType=["ORIGINAL", "PRIMARY", "STATIC", "EMISSION"],
        PixelSpacing=[2.4, 2.4],
        DetectorVector=[1, 2],
        EnergyWindowVector=[1, 1],
        NumberOfDetectors=2,
        NumberOfEnergyWindows=1,
        DetectorInformationSequence=Sequence(
            [detector("Anterior projection"), detector("Posterior projection")]
        ),
    )
    ds.save_as(tmp_path / "planar.dcm", enforce_file_format=True)
    views = read_nm_planar(tmp_path / "planar.dcm", policy=Policy.IGNORE)
    assert set(views) == {"ANTERIOR", "POSTERIOR"}
    assert int(views["ANTERIOR"].array.max()) == 10
    assert int(views["POSTERIOR"].array.max()) == 20
    # Convention: rows run head to feet, anterior columns to patient left, posterior to patient right.
    np.testing.assert_allclose(views["ANTERIOR"].index_to_world([0, 1, 1]), [2.4, 0, -2.4])
    np.testing.assert_allclose(views["POSTERIOR"].index_to_world([0, 1, 1]), [-2.4, 0, -2.4])
    with pytest.raises(DicomError, match="read_nm_planar"):
        read_series(tmp_path / "planar.dcm", policy=Policy.IGNORE)


def test_gantry_tilt_gives_a_sheared_grid_through_every_position(tmp_path: Path) -> None:
    """A tilted CT: slices axial (IOP [1,0,0,0,1,0]) but each one shifted 0.35 mm in y per 2 mm in z.
    The affine's slice column is then (0, 0.35, 2): every file's IPP is reproduced."""
    positions = [(-50.0, 10.0 + 0.35 * k, 2.0 * k) for k in range(4)]
    for k, p in enumerate(positions):
        _ct_slice(tmp_path / f"g{k}.dcm", p, np.zeros((3, 3), np.int16))
    vol = read_series(tmp_path, policy=Policy.IGNORE)
    np.testing.assert_allclose(vol.affine[:3, 0], [0.0, 0.35, 2.0])
    for k, p in enumerate(positions):
        np.testing.assert_allclose(vol.index_to_world([k, 0, 0]), p)
    assert not vol.geometry.is_orthogonal
