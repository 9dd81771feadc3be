"""DICOM RT Dose: round trips within Dose Grid Scaling / 2, geometry checked independently
(hand-computed tags and SimpleITK/GDCM), the attributes of the RT Dose IOD, references,
determinism, atomic output and bad input."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pydicom
import pytest
import SimpleITK as sitk  # noqa: N813
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nelm import RESEARCH_USE_DISCLAIMER
from nelm.errors import DicomError, GeometryError, InputError, UnitsError
from nelm.imaging import Geometry, PatientIdentity, SeriesMetadata, ValueUnit, Volume
from nelm.imaging.dicom_write import write_series
from nelm.imaging.rtdose import RT_DOSE_STORAGE, read_rtdose, write_rtdose
from nelm.policy import Policy

CET = timezone(timedelta(hours=1))
WHEN = datetime(2026, 2, 18, 14, 5, 30, tzinfo=CET)
IDENTITY = PatientIdentity(
    patient_name="Doe^Jane", patient_id="NELM-001", birth_date=date(1961, 4, 5), sex="F"
)
UINT32_MAX = 2**32 - 1


def _rotation() -> npt.NDArray[np.float64]:
    """Direction columns (slice, row, column): axial base rotated 20° about z and 10° about x."""
    a, b = math.radians(20), math.radians(10)
    rz = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    base = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    return rx @ rz @ base


OBLIQUE = Geometry.from_spacing((6, 14, 11), (3.5, 2.1, 4.7), (-120.0, 35.5, 410.25), _rotation())


def _dose(array: npt.NDArray[np.float64], geometry: Geometry = OBLIQUE, **kwargs: object) -> Volume:
    return Volume(
        array=array,
        geometry=geometry,
        modality="RTDOSE",
        units=ValueUnit.GY,
        acquisition_datetime=WHEN,
        metadata=SeriesMetadata(identity=IDENTITY),
        **kwargs,  # type: ignore[arg-type]
    )


def _random_dose(shape: tuple[int, int, int] = OBLIQUE.shape, seed: int = 7) -> npt.NDArray[np.float64]:
    rng = np.random.default_rng(seed)
    array = rng.uniform(0.0, 480.0, shape)
    array[0, 0, 0] = 1e-4  # tiny dose
    array[1, 2, 3] = 500.0  # maximum
    array[2, 3, 4] = 0.0
    return array


def _check_round_trip(written: npt.NDArray[np.float64], path: Path) -> Volume:
    """Every voxel back within Dose Grid Scaling / 2 (plus float64 rounding), scaling near the max."""
    ds = pydicom.dcmread(path)
    scaling = float(ds.DoseGridScaling)
    back = read_rtdose(path)
    assert np.max(np.abs(back.array - written)) <= scaling / 2 * (1 + 1e-9)
    if written.max() > 1e-290:  # below that the scaling is clamped to the smallest normal float
        # The maximum maps near 2**32 - 1 (not into 16 bits).
        assert 0.9999 * UINT32_MAX <= written.max() / scaling <= UINT32_MAX
    return back


# -- round trips ------------------------------------------------------------------------------
def test_random_round_trip_oblique_anisotropic(tmp_path: Path) -> None:
    array = _random_dose()
    path = write_rtdose(_dose(array), tmp_path / "dose.dcm")
    back = _check_round_trip(array, path)
    assert back.array[0, 0, 0] == pytest.approx(1e-4, rel=1e-3)  # 1e-4 Gy next to a 500 Gy maximum
    assert back.array[2, 3, 4] == 0.0
    assert back.geometry.max_corner_distance_mm(OBLIQUE) < 1e-6
    assert np.allclose(back.affine, OBLIQUE.affine, atol=1e-9)
    assert back.units is ValueUnit.GY
    assert back.modality == "RTDOSE"
    assert back.acquisition_datetime == WHEN
    assert back.metadata.identity.patient_id == "NELM-001"


def test_analytic_dose_lands_where_it_was(tmp_path: Path) -> None:
    """A Gaussian dose defined in patient space is found at the same LPS points after reading."""
    centre = OBLIQUE.index_to_world([2.5, 6.0, 5.0])

    def f(points: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        r2 = np.sum((points - centre) ** 2, axis=-1)
        return 1e-4 + 500.0 * np.exp(-r2 / (2 * 5.0**2))

    idx = np.stack(np.meshgrid(*[np.arange(n) for n in OBLIQUE.shape], indexing="ij"), axis=-1).reshape(-1, 3)
    array = f(OBLIQUE.index_to_world(idx)).reshape(OBLIQUE.shape)
    path = write_rtdose(_dose(array), tmp_path / "gauss.dcm")
    back = read_rtdose(path)
    scaling = float(pydicom.dcmread(path).DoseGridScaling)
    # Evaluate f at the voxel centres of the grid *as read*: an error in the geometry shows up here.
    expected = f(back.geometry.index_to_world(idx)).reshape(back.shape)
    assert np.max(np.abs(back.array - expected)) <= scaling / 2 + 1e-9
    assert 1e-4 - scaling <= back.array.min() < 2e-4  # the 1e-4 Gy floor survives next to 500 Gy


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    array=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=3, max_dims=3, min_side=1, max_side=5),
        elements=st.floats(0.0, 1e4, allow_nan=False, allow_infinity=False),
    ),
    spacing=st.tuples(*[st.floats(0.3, 8.0)] * 3),
)
def test_round_trip_property(
    array: npt.NDArray[np.float64], spacing: tuple[float, float, float], tmp_path: Path
) -> None:
    geometry = Geometry.from_spacing(array.shape, spacing, (10.0, -20.0, 30.0), _rotation())  # type: ignore[arg-type]
    path = write_rtdose(_dose(array, geometry), tmp_path / "p.dcm")
    back = _check_round_trip(array, path)
    assert back.geometry.max_corner_distance_mm(geometry) < 1e-6


def test_slices_against_the_normal_read_back_reversed(tmp_path: Path) -> None:
    d = _rotation()
    d[:, 0] *= -1  # slice axis opposite to row × column normal
    geometry = Geometry.from_spacing((4, 5, 6), (2.0, 1.5, 1.5), (0.0, 0.0, 0.0), d)
    array = _random_dose((4, 5, 6))
    path = write_rtdose(_dose(array, geometry), tmp_path / "rev.dcm")
    back = read_rtdose(path)
    scaling = float(pydicom.dcmread(path).DoseGridScaling)
    assert np.max(np.abs(back.array - array[::-1])) <= scaling / 2 * (1 + 1e-9)
    # Same voxel centres in space: the read grid's slice k is the written grid's slice 3 - k.
    assert np.allclose(back.index_to_world([0, 0, 0]), geometry.index_to_world([3, 0, 0]), atol=1e-9)
    assert np.allclose(back.affine[:3, 0], -geometry.affine[:3, 0], atol=1e-9)


def test_single_frame_and_zero_dose(tmp_path: Path) -> None:
    geometry = Geometry.from_spacing((1, 3, 4), (2.5, 1.0, 1.0))
    path = write_rtdose(_dose(np.zeros((1, 3, 4)), geometry), tmp_path / "zero.dcm")
    ds = pydicom.dcmread(path)
    assert ds.DoseGridScaling == 1
    assert ds["GridFrameOffsetVector"].VM == 1
    assert float(ds.GridFrameOffsetVector) == 0.0
    back = read_rtdose(path)
    assert np.all(back.array == 0.0)
    assert back.geometry.max_corner_distance_mm(geometry) < 1e-9
    assert back.spacing_mm[0] == pytest.approx(2.5)  # from Slice Thickness


# -- file content -----------------------------------------------------------------------------
#: Type 1 and 2 attributes of the RT Dose IOD modules nelm writes (PS3.3 A.18.3: Patient,
#: General Study, RT Series, Frame of Reference, General Equipment, General Image, Image Plane,
#: Image Pixel, Multi-frame, RT Dose, SOP Common).
REQUIRED = [
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex",
    "StudyInstanceUID", "StudyDate", "StudyTime", "ReferringPhysicianName", "StudyID", "AccessionNumber",
    "Modality", "SeriesInstanceUID", "SeriesNumber", "OperatorsName",
    "FrameOfReferenceUID", "PositionReferenceIndicator",
    "Manufacturer",
    "InstanceNumber",
    "PixelSpacing", "ImageOrientationPatient", "ImagePositionPatient", "SliceThickness",
    "SamplesPerPixel", "PhotometricInterpretation", "Rows", "Columns", "BitsAllocated", "BitsStored",
    "HighBit", "PixelRepresentation", "PixelData",
    "NumberOfFrames", "FrameIncrementPointer",
    "DoseUnits", "DoseType", "DoseSummationType", "GridFrameOffsetVector", "DoseGridScaling",
    "SOPClassUID", "SOPInstanceUID",
]  # fmt: skip


def test_required_attributes_and_values(tmp_path: Path) -> None:
    array = _random_dose()
    path = write_rtdose(
        _dose(array), tmp_path / "dose.dcm", dose_summation_type="RECORD", comment="post-Tx PET"
    )
    ds = pydicom.dcmread(path)
    missing = [k for k in REQUIRED if k not in ds]
    assert not missing
    assert ds.file_meta.MediaStorageSOPClassUID == RT_DOSE_STORAGE == "1.2.840.10008.5.1.4.1.1.481.2"
    assert ds.SOPClassUID == RT_DOSE_STORAGE
    assert ds.Modality == "RTDOSE"
    assert ds.Manufacturer == "nelm"
    assert (ds.DoseUnits, ds.DoseType, ds.DoseSummationType) == ("GY", "PHYSICAL", "RECORD")
    assert ds.DoseComment == "post-Tx PET"
    assert ds.ImageComments == RESEARCH_USE_DISCLAIMER
    assert (ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation) == (32, 32, 31, 0)
    assert ds.FrameIncrementPointer == pydicom.tag.Tag(0x3004, 0x000C)
    assert ds.pixel_array.shape == (6, 14, 11)  # (frames, rows, columns)
    assert ds.pixel_array.dtype == np.uint32
    assert (ds.AcquisitionDate, ds.AcquisitionTime[:6]) == ("20260218", "140530")
    assert (ds.ContentDate, ds.ContentTime[:6]) == ("20260218", "140530")
    assert ds.TimezoneOffsetFromUTC == "+0100"


def test_geometry_tags_by_hand(tmp_path: Path) -> None:
    path = write_rtdose(_dose(_random_dose()), tmp_path / "dose.dcm")
    ds = pydicom.dcmread(path)
    d = _rotation()
    # IOP = direction of increasing column index, then of increasing row index (PS3.3 C.7.6.2.1.1).
    assert np.allclose([float(v) for v in ds.ImageOrientationPatient], [*d[:, 2], *d[:, 1]], atol=1e-12)
    assert [float(v) for v in ds.PixelSpacing] == [2.1, 4.7]  # between rows, between columns
    assert np.allclose([float(v) for v in ds.ImagePositionPatient], [-120.0, 35.5, 410.25], atol=1e-12)
    assert [float(v) for v in ds.GridFrameOffsetVector] == pytest.approx([0, 3.5, 7.0, 10.5, 14.0, 17.5])


def test_simpleitk_reads_the_same_grid(tmp_path: Path) -> None:
    """GDCM (through SimpleITK) is an independent reader of the geometry and stored values."""
    array = _random_dose()
    path = write_rtdose(_dose(array), tmp_path / "dose.dcm")
    image = sitk.ReadImage(str(path))
    d = _rotation()
    assert image.GetSize() == (11, 14, 6)  # (x = column, y = row, z = slice)
    assert image.GetSpacing() == pytest.approx((4.7, 2.1, 3.5))
    assert image.GetOrigin() == pytest.approx((-120.0, 35.5, 410.25))
    direction = np.array(image.GetDirection()).reshape(3, 3)
    assert np.allclose(direction, d[:, [2, 1, 0]], atol=1e-9)
    scaling = float(pydicom.dcmread(path).DoseGridScaling)
    stored = sitk.GetArrayFromImage(image).astype(np.float64)
    assert np.max(np.abs(stored * scaling - array)) <= scaling / 2 * (1 + 1e-9)


def test_reference_series(tmp_path: Path) -> None:
    reference = SeriesMetadata(
        study_instance_uid="1.2.826.0.1.3680043.8.498.1",
        series_instance_uid="1.2.826.0.1.3680043.8.498.2",
        frame_of_reference_uid="1.2.826.0.1.3680043.8.498.3",
        sop_class_uid=str(pydicom.uid.PositronEmissionTomographyImageStorage),
        sop_instance_uids=("1.2.826.0.1.3680043.8.498.4", "1.2.826.0.1.3680043.8.498.5"),
        identity=IDENTITY,
    )
    dose = replace(_dose(_random_dose()), metadata=SeriesMetadata())  # no UIDs, no identity
    path = write_rtdose(dose, tmp_path / "dose.dcm", reference=reference)
    ds = pydicom.dcmread(path)
    assert ds.StudyInstanceUID == reference.study_instance_uid
    assert ds.FrameOfReferenceUID == reference.frame_of_reference_uid
    assert ds.SeriesInstanceUID != reference.series_instance_uid
    assert ds.PatientID == "NELM-001"
    assert [i.ReferencedSOPInstanceUID for i in ds.ReferencedImageSequence] == list(
        reference.sop_instance_uids
    )
    assert ds.ReferencedImageSequence[0].ReferencedSOPClassUID == reference.sop_class_uid
    assert ds.ReferencedSeriesSequence[0].SeriesInstanceUID == reference.series_instance_uid
    assert len(ds.ReferencedSeriesSequence[0].ReferencedInstanceSequence) == 2
    back = read_rtdose(path)
    assert back.metadata.study_instance_uid == reference.study_instance_uid
    # Bare UIDs only: study and frame of reference, no instance list.
    bare = SeriesMetadata(study_instance_uid="1.2.3", frame_of_reference_uid="1.2.4")
    ds2 = pydicom.dcmread(write_rtdose(dose, tmp_path / "bare.dcm", reference=bare))
    assert (ds2.StudyInstanceUID, ds2.FrameOfReferenceUID) == ("1.2.3", "1.2.4")
    assert "ReferencedImageSequence" not in ds2


def test_reference_in_another_frame_of_reference(tmp_path: Path) -> None:
    dose = replace(_dose(_random_dose()), metadata=SeriesMetadata(frame_of_reference_uid="1.2.9"))
    with pytest.raises(
        InputError, match=r"frame_of_reference_uid 1\.2\.9 but the referenced series has 1\.2\.4"
    ):
        write_rtdose(dose, tmp_path / "d.dcm", reference=SeriesMetadata(frame_of_reference_uid="1.2.4"))
    assert not (tmp_path / "d.dcm").exists()


def test_deterministic_and_atomic(tmp_path: Path) -> None:
    dose = _dose(_random_dose())
    a = write_rtdose(dose, tmp_path / "a.dcm").read_bytes()
    b = write_rtdose(dose, tmp_path / "b.dcm").read_bytes()
    assert a == b
    target = tmp_path / "a.dcm"
    bad = _dose(-_random_dose())
    with pytest.raises(InputError):
        write_rtdose(bad, target)
    assert target.read_bytes() == a  # untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.dcm", "b.dcm"]  # no temporary left


def test_content_datetime_and_long_comment(tmp_path: Path) -> None:
    dose = replace(_dose(_random_dose()), acquisition_datetime=None)
    computed = datetime(2026, 2, 19, 8, 0, tzinfo=UTC)
    path = write_rtdose(dose, tmp_path / "d.dcm", content_datetime=computed, comment="x" * 80)
    ds = pydicom.dcmread(path)
    assert (ds.ContentDate, ds.ContentTime[:6], ds.TimezoneOffsetFromUTC) == ("20260219", "080000", "+0000")
    assert ds.DoseComment == "x" * 64
    with pytest.raises(InputError, match="longer than 64"):
        write_rtdose(
            dose, tmp_path / "e.dcm", comment="x" * 80, content_datetime=computed, policy=Policy.RAISE
        )
    with pytest.raises(InputError, match="no date-time is known"):
        write_rtdose(dose, tmp_path / "f.dcm", policy=Policy.RAISE)
    back = read_rtdose(path)
    assert back.acquisition_datetime == computed  # Content Date/Time when there is no acquisition
    assert json.dumps(back.geometry.to_dict())


# -- bad input --------------------------------------------------------------------------------
def test_negative_dose(tmp_path: Path) -> None:
    array = _random_dose()
    array[3, 4, 5] = -0.5
    with pytest.raises(
        InputError, match=r"negative \(minimum -0.5 Gy at \[slice, row, column\] \[3, 4, 5\]\)"
    ):
        write_rtdose(_dose(array), tmp_path / "d.dcm")


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_nan_or_infinite_dose(tmp_path: Path, value: float) -> None:
    array = _random_dose()
    array[1, 1, 1] = value
    with pytest.raises(InputError, match="NaN or infinite"):
        write_rtdose(_dose(array), tmp_path / "d.dcm")


def test_not_a_3d_volume(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"must be a nelm Volume .* of shape \(4, 5\)"):
        write_rtdose(np.zeros((4, 5)), tmp_path / "d.dcm")  # type: ignore[arg-type]
    with pytest.raises(GeometryError, match="3-D"):
        _dose(np.zeros((4, 5)))


def test_wrong_units_types_and_geometry(tmp_path: Path) -> None:
    pet = Volume(_random_dose(), OBLIQUE, "PT", ValueUnit.BQ_PER_ML)
    with pytest.raises(UnitsError, match="stores Gy; this volume is in Bq/mL"):
        write_rtdose(pet, tmp_path / "d.dcm")
    with pytest.raises(InputError, match="dose_summation_type"):
        write_rtdose(_dose(_random_dose()), tmp_path / "d.dcm", dose_summation_type="BEAM")
    with pytest.raises(InputError, match="dose_type"):
        write_rtdose(_dose(_random_dose()), tmp_path / "d.dcm", dose_type="ERROR")
    with pytest.raises(InputError, match=r"content_datetime .* has no timezone"):
        write_rtdose(_dose(_random_dose()), tmp_path / "d.dcm", content_datetime=datetime(2026, 2, 18))
    sheared = np.eye(4)
    # Columns: slice step (0.5, 0, 2) mm tilted off the normal (0, 0, 1); rows +P; columns +L.
    sheared[:3, :3] = np.array([[0.5, 0.0, 2.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]).T
    geometry = Geometry(shape=(3, 4, 5), affine=sheared)
    with pytest.raises(GeometryError, match="sheared grid"):
        write_rtdose(_dose(_random_dose((3, 4, 5)), geometry), tmp_path / "d.dcm")
    assert not (tmp_path / "d.dcm").exists()


def test_read_not_rtdose(tmp_path: Path) -> None:
    ct = Volume(
        np.zeros((2, 4, 4), np.int16), Geometry.from_spacing((2, 4, 4), (1.0, 1.0, 1.0)), "CT", ValueUnit.HU
    )
    files = write_series(ct, tmp_path / "ct")
    with pytest.raises(DicomError, match=r"not an RT Dose file .*CT Image Storage"):
        read_rtdose(files[0])
    text = tmp_path / "notes.txt"
    text.write_text("not dicom")
    with pytest.raises(DicomError, match="not a DICOM file"):
        read_rtdose(text)
    with pytest.raises(InputError, match="not found"):
        read_rtdose(tmp_path / "missing.dcm")


def _edited(tmp_path: Path, name: str, **changes: object) -> Path:
    ds = pydicom.dcmread(write_rtdose(_dose(_random_dose()), tmp_path / "src.dcm"))
    for key, value in changes.items():
        if value is None:
            delattr(ds, key)
        else:
            setattr(ds, key, value)
    out = tmp_path / name
    ds.save_as(out)
    return out


def test_read_bad_rtdose_files(tmp_path: Path) -> None:
    with pytest.raises(UnitsError, match="RELATIVE"):
        read_rtdose(_edited(tmp_path, "rel.dcm", DoseUnits="RELATIVE"))
    with pytest.raises(DicomError, match="Dose Grid Scaling"):
        read_rtdose(_edited(tmp_path, "noscale.dcm", DoseGridScaling=None))
    with pytest.raises(DicomError, match="Dose Grid Scaling"):
        read_rtdose(_edited(tmp_path, "zeroscale.dcm", DoseGridScaling="0"))
    with pytest.raises(DicomError, match="no Grid Frame Offset Vector"):
        read_rtdose(_edited(tmp_path, "nogfov.dcm", GridFrameOffsetVector=None))
    with pytest.raises(DicomError, match="has 3 values, expected 6"):
        read_rtdose(_edited(tmp_path, "short.dcm", GridFrameOffsetVector=["0", "3.5", "7"]))
    with pytest.raises(DicomError, match="absolute form only"):
        read_rtdose(
            _edited(tmp_path, "abs.dcm", GridFrameOffsetVector=["5", "8.5", "12", "15.5", "19", "22.5"])
        )
    with pytest.raises(GeometryError, match="gap"):
        read_rtdose(
            _edited(tmp_path, "gap.dcm", GridFrameOffsetVector=["0", "3.5", "7", "10.5", "24", "27.5"])
        )


def test_read_absolute_offsets_axial(tmp_path: Path) -> None:
    """The absolute Grid Frame Offset Vector form (z of each frame), valid for axial frames."""
    geometry = Geometry.from_spacing((3, 4, 5), (2.5, 1.0, 1.5), (10.0, 20.0, -40.0))
    array = _random_dose((3, 4, 5))
    ds = pydicom.dcmread(write_rtdose(_dose(array, geometry), tmp_path / "rel.dcm"))
    assert [float(v) for v in ds.ImageOrientationPatient] == [1, 0, 0, 0, 1, 0]
    ds.GridFrameOffsetVector = ["-40", "-37.5", "-35"]
    ds.save_as(tmp_path / "abs.dcm")
    back = read_rtdose(tmp_path / "abs.dcm")
    assert back.geometry.max_corner_distance_mm(geometry) < 1e-9


def test_study_date_only_and_non_ascii_comment(tmp_path: Path) -> None:
    study = datetime(2026, 2, 18, 7, 45, tzinfo=CET)
    dose = replace(
        _dose(_random_dose()), acquisition_datetime=None, metadata=SeriesMetadata(study_datetime=study)
    )
    path = write_rtdose(dose, tmp_path / "d.dcm", comment="Y-90 Glas-Mikrosphären", policy=Policy.RAISE)
    ds = pydicom.dcmread(path)
    assert (ds.ContentDate, ds.ContentTime[:6], ds.StudyDate) == ("20260218", "074500", "20260218")
    assert ds.SpecificCharacterSet == "ISO_IR 192"
    assert ds.DoseComment == "Y-90 Glas-Mikrosphären"
