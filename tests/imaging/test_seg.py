"""DICOM SEG reading and writing on synthetic CT series whose grid is known by construction."""

from __future__ import annotations

import logging
import random
import shutil
import tempfile
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid

from nelm import RESEARCH_USE_DISCLAIMER
from nelm.errors import DicomError, GeometryError, InputError, MaskError
from nelm.imaging import Geometry, Label, LabelMap, PatientIdentity, SeriesMetadata, ValueUnit, Volume
from nelm.imaging.dicom_write import write_series
from nelm.imaging.seg import property_codes, read_seg, read_seg_segments, tracking_uid_for, write_seg
from nelm.imaging.seg import write as seg_module
from nelm.policy import Policy

SHAPE = (4, 12, 10)
SPACING = (2.0, 0.75, 0.5)  # slice, row, column (mm)
ORIGIN = (-10.0, -20.0, 30.0)


def ct_series(
    *,
    shape: tuple[int, int, int] = SHAPE,
    spacing: tuple[float, float, float] = SPACING,
    origin: tuple[float, float, float] = ORIGIN,
    patient_id: str = "NELM-001",
) -> list[Dataset]:
    """An axial CT series on ``Geometry.from_spacing(shape, spacing, origin)``, shuffled.

    Written by :func:`nelm.imaging.dicom_write.write_series` (new study, series and frame of
    reference UIDs each call) and read back with pydicom, so the SEG writer sees real files.
    """
    folder = Path(tempfile.mkdtemp(prefix="nelm-ct-"))
    volume = Volume(
        np.zeros(shape, np.int16),
        Geometry.from_spacing(shape, spacing, origin),
        "CT",
        ValueUnit.HU,
        metadata=SeriesMetadata(
            study_instance_uid=generate_uid(),
            series_instance_uid=generate_uid(),
            frame_of_reference_uid=generate_uid(),
            identity=PatientIdentity(patient_name="Test^Patient", patient_id=patient_id),
        ),
    )
    try:
        paths = write_series(volume, folder / "ct")
        out = [pydicom.dcmread(p) for p in paths]
    finally:
        shutil.rmtree(folder)
    random.Random(7).shuffle(out)
    return out


def expected_grid(
    shape: tuple[int, int, int] = SHAPE,
    spacing: tuple[float, float, float] = SPACING,
    origin: tuple[float, float, float] = ORIGIN,
) -> Geometry:
    """The grid of :func:`ct_series`, written down analytically (SPL: z, y, x)."""
    return Geometry.from_spacing(shape, spacing, origin)


def sample_labelmap(grid: Geometry | None = None) -> LabelMap:
    g = grid or expected_grid()
    arr = np.zeros(g.shape, np.uint8)
    arr[0:3, 2:8, 1:6] = 1  # liver block
    arr[1, 4:6, 2:4] = 2  # lesion inside it
    arr[3, 9:11, 7:9] = 3  # second lesion on the top slice only
    labels = {
        1: Label(1, "Liver", "LIVER"),
        2: Label(2, "lesion 1", "L1", "1.2.826.0.1.3680043.8.498.1"),
        3: Label(3, "lesion 2", "L2"),
    }
    return LabelMap(arr, g, labels, source="sample")


# -- round trips --------------------------------------------------------------------------------
@pytest.mark.parametrize("seg_type", ["BINARY", "LABELMAP"])
def test_round_trip_identical(tmp_path: Path, seg_type: str) -> None:
    lm = sample_labelmap()
    sources = ct_series()
    out = write_seg(
        lm,
        sources,
        tmp_path / "seg.dcm",
        segmentation_type=seg_type,  # type: ignore[arg-type]
    )
    back = read_seg(out)
    assert back.geometry.same_as(expected_grid())
    np.testing.assert_array_equal(back.array, lm.array)
    patient = sources[0].PatientID
    assert {v: (lab.name, lab.tracking_id, lab.tracking_uid) for v, lab in back.labels.items()} == {
        1: ("Liver", "LIVER", tracking_uid_for(patient, "LIVER")),
        2: ("lesion 1", "L1", "1.2.826.0.1.3680043.8.498.1"),
        3: ("lesion 2", "L2", tracking_uid_for(patient, "L2")),
    }
    ds = pydicom.dcmread(out)
    expected_sop = {"BINARY": "1.2.840.10008.5.1.4.1.1.66.4", "LABELMAP": "1.2.840.10008.5.1.4.1.1.66.7"}
    assert ds.SOPClassUID == expected_sop[seg_type]
    assert ds.ImageComments == RESEARCH_USE_DISCLAIMER


def test_round_trip_onto_reference_volume(tmp_path: Path) -> None:
    lm = sample_labelmap()
    sources = ct_series()
    out = write_seg(lm, sources, tmp_path / "seg.dcm")
    ref = Volume(
        np.zeros(SHAPE, np.int16),
        expected_grid(),
        "CT",
        ValueUnit.HU,
        metadata=SeriesMetadata(frame_of_reference_uid=sources[0].FrameOfReferenceUID),
    )
    back = read_seg(out, reference=ref)
    assert back.geometry is ref.geometry
    np.testing.assert_array_equal(back.array, lm.array)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hnp.arrays(np.uint8, (3, 5, 4), elements=st.integers(0, 3)))
def test_round_trip_property(tmp_path: Path, arr: np.ndarray) -> None:
    grid = expected_grid((3, 5, 4))
    present = sorted({int(v) for v in np.unique(arr)} - {0})
    labels = {v: Label(v, f"structure {v}", f"T{v}") for v in range(1, 4)}
    lm = LabelMap(arr, grid, labels)
    out = write_seg(lm, ct_series(shape=(3, 5, 4)), tmp_path / "p.dcm")
    back = read_seg(out, reference=grid, policy=Policy.IGNORE)
    np.testing.assert_array_equal(back.array, arr)
    assert sorted(back.labels) == [1, 2, 3]
    assert all(back.labels[v].tracking_id == f"T{v}" for v in present)


def test_labelmap_keeps_sparse_values_binary_renumbers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    g = expected_grid()
    arr = np.zeros(g.shape, np.uint8)
    arr[1, 1:3, 1:3] = 4
    arr[2, 5:7, 5:7] = 9
    lm = LabelMap(arr, g, {4: Label(4, "lesion A", "A"), 9: Label(9, "lesion B", "B")})
    sources = ct_series()
    labelmap_seg = read_seg(
        write_seg(lm, sources, tmp_path / "lm.dcm", segmentation_type="LABELMAP"), reference=g
    )
    np.testing.assert_array_equal(labelmap_seg.array, arr)
    with caplog.at_level(logging.WARNING, logger="nelm.imaging.seg"):
        binary = read_seg(write_seg(lm, sources, tmp_path / "bin.dcm"), reference=g)
    assert "numbered 1..N" in caplog.text
    # BINARY needs segments 1..N: 4 -> 1, 9 -> 2 in ascending order; identity kept by tracking IDs.
    np.testing.assert_array_equal(binary.array, np.select([arr == 4, arr == 9], [1, 2], 0))
    assert binary.label("lesion B").tracking_id == "B"


def test_deterministic_uids_and_tracking_uid_rule(tmp_path: Path) -> None:
    lm = sample_labelmap()
    baseline = ct_series(patient_id="P1")
    follow_up = ct_series(patient_id="P1")  # new study, series and frame of reference
    other_patient = ct_series(patient_id="P2")
    a = write_seg(
        lm, baseline, tmp_path / "a.dcm", series_instance_uid="1.2.3.4", sop_instance_uid="1.2.3.4.5"
    )
    b = write_seg(lm, follow_up, tmp_path / "b.dcm")
    c = write_seg(lm, other_patient, tmp_path / "c.dcm")
    ds = pydicom.dcmread(a)
    assert (ds.SeriesInstanceUID, ds.SOPInstanceUID) == ("1.2.3.4", "1.2.3.4.5")
    uid_a, uid_b, uid_c = (read_seg(p).label("lesion 2").tracking_uid for p in (a, b, c))
    assert uid_a == uid_b  # same patient and tracking ID at two time points
    assert uid_a != uid_c  # another patient's "L2"
    assert pydicom.uid.UID(uid_a).is_valid
    d = write_seg(lm, other_patient, tmp_path / "d.dcm", tracking_namespace="cohort-7")
    assert read_seg(d).label("lesion 2").tracking_uid == tracking_uid_for("cohort-7", "L2")


def test_property_codes(tmp_path: Path) -> None:
    lm = sample_labelmap()
    out = write_seg(lm, ct_series(), tmp_path / "s.dcm", categories={3: "region"})
    descs = {int(d.SegmentNumber): d for d in pydicom.dcmread(out).SegmentSequence}

    def codes_of(n: int) -> tuple[str, str]:
        d = descs[n]
        return (
            d.SegmentedPropertyCategoryCodeSequence[0].CodeValue,
            d.SegmentedPropertyTypeCodeSequence[0].CodeValue,
        )

    # SNOMED CT: 91723000 Anatomical Structure / 10200004 Liver; 49755003 Morphologically
    # Abnormal Structure / 108369006 Neoplasm; 309825002 Spatial and Relational Concept.
    assert codes_of(1) == ("91723000", "10200004")
    assert codes_of(2) == ("49755003", "108369006")
    assert codes_of(3)[0] == "309825002"
    assert property_codes("Left kidney")[1] == codes.SCT.Kidney
    assert property_codes("liver tumour 4")[1] == codes.SCT.Neoplasm
    assert property_codes("tumor") == property_codes("lesion")
    with pytest.raises(InputError, match="category 'bone marrow'"):
        write_seg(lm, ct_series(), tmp_path / "x.dcm", categories={1: "bone marrow"})


def test_sparse_frames_are_placed_by_position(tmp_path: Path) -> None:
    g = expected_grid()
    arr = np.zeros(g.shape, np.uint8)
    arr[2, 3:6, 4:7] = 1
    out = write_seg(LabelMap(arr, g, {1: Label(1, "lesion", "L")}), ct_series(), tmp_path / "s.dcm")
    assert pydicom.dcmread(out).NumberOfFrames == 1  # empty slices omitted by the writer
    np.testing.assert_array_equal(read_seg(out, reference=g).array, arr)
    # A larger reference grid (two more slices below, two more columns) holds the frame at the
    # same patient position: slice 2 + 2, columns shifted by 0.
    big = Geometry.from_spacing((7, 12, 12), SPACING, (ORIGIN[0], ORIGIN[1], ORIGIN[2] - 2 * SPACING[0]))
    placed = read_seg(out, reference=big).array
    assert placed.sum() == arr.sum()
    np.testing.assert_array_equal(placed[4, :, :10], arr[2])


def test_reference_with_flipped_axes(tmp_path: Path) -> None:
    lm = sample_labelmap()
    out = write_seg(lm, ct_series(), tmp_path / "s.dcm")
    g = expected_grid()
    # Same voxels, array axes 0 and 2 reversed: origin at the far corner, negative steps.
    flipped_affine = g.affine @ np.array(
        [[-1, 0, 0, SHAPE[0] - 1], [0, 1, 0, 0], [0, 0, -1, SHAPE[2] - 1], [0, 0, 0, 1]], dtype=float
    )
    flipped = Geometry(SHAPE, flipped_affine)
    back = read_seg(out, reference=flipped)
    np.testing.assert_array_equal(back.array, lm.array[::-1, :, ::-1])


def test_derived_grid_fills_gaps_from_spacing_between_slices(tmp_path: Path) -> None:
    g = expected_grid()
    arr = np.zeros(g.shape, np.uint8)
    arr[0, 1:3, 1:3] = 1
    arr[3, 5:8, 2:4] = 1
    out = write_seg(LabelMap(arr, g, {1: Label(1, "lesion", "L")}), ct_series(), tmp_path / "s.dcm")
    assert pydicom.dcmread(out).NumberOfFrames == 2
    back = read_seg(out)
    assert back.geometry.same_as(g)
    np.testing.assert_array_equal(back.array, arr)


def _edit(path: Path, out: Path, edit) -> Path:  # type: ignore[no-untyped-def]
    ds = pydicom.dcmread(path)
    edit(ds)
    ds.save_as(out)
    return out


def test_derived_grid_without_spacing_between_slices(tmp_path: Path) -> None:
    g = expected_grid()
    arr = np.zeros(g.shape, np.uint8)
    arr[[0, 1, 3], 2:4, 2:4] = 1
    src = write_seg(LabelMap(arr, g, {1: Label(1, "lesion", "L")}), ct_series(), tmp_path / "s.dcm")

    def drop(ds: Dataset) -> None:
        pm = ds.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0]
        if "SpacingBetweenSlices" in pm:
            del pm.SpacingBetweenSlices

    back = read_seg(_edit(src, tmp_path / "nosbs.dcm", drop))
    assert back.geometry.same_as(g)  # smallest step between frames (2 mm) fills slice 2
    np.testing.assert_array_equal(back.array, arr)


def test_spacing_between_slices_contradicting_positions(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    g = expected_grid()
    arr = np.zeros(g.shape, np.uint8)
    arr[[0, 1, 2], 2:4, 2:4] = 1
    src = write_seg(LabelMap(arr, g, {1: Label(1, "lesion", "L")}), ct_series(), tmp_path / "s.dcm")

    def wrong(ds: Dataset) -> None:
        ds.SharedFunctionalGroupsSequence[0].PixelMeasuresSequence[0].SpacingBetweenSlices = 3.0

    bad = _edit(src, tmp_path / "sbs3.dcm", wrong)
    with caplog.at_level(logging.WARNING, logger="nelm.imaging.seg"):
        back = read_seg(bad)
    assert "Spacing Between Slices" in caplog.text
    assert back.geometry.spacing_mm[0] == pytest.approx(SPACING[0])
    with pytest.raises(GeometryError, match="Spacing Between Slices"):
        read_seg(bad, policy=Policy.RAISE)


# -- FRACTIONAL and overlapping segments ---------------------------------------------------------
def _hd_seg(
    sources: list[Dataset], pixels: np.ndarray, seg_type: str, n_segments: int, **kwargs: object
) -> hd.seg.Segmentation:
    descs = [
        hd.seg.SegmentDescription(
            segment_number=i,
            segment_label=f"segment {i} label",
            segmented_property_category=codes.SCT.AnatomicalStructure,
            segmented_property_type=codes.SCT.Liver,
            algorithm_type="MANUAL",
        )
        for i in range(1, n_segments + 1)
    ]
    ordered = sorted(sources, key=lambda d: float(d.ImagePositionPatient[2]))
    return hd.seg.Segmentation(
        source_images=ordered,
        pixel_array=pixels,
        segmentation_type=seg_type,
        segment_descriptions=descs,
        series_instance_uid=generate_uid(),
        series_number=1,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer="test",
        manufacturer_model_name="test",
        software_versions="1",
        device_serial_number="1",
        **kwargs,
    )


def test_fractional_threshold_at_half(tmp_path: Path) -> None:
    g = expected_grid()
    prob = np.zeros((*g.shape, 1), np.float32)
    prob[1, 2, 2:6, 0] = [0.49, 0.5, 0.51, 1.0]
    prob[2, 5, 5, 0] = 0.2
    seg = _hd_seg(ct_series(), prob, "FRACTIONAL", 1, max_fractional_value=200)
    seg.save_as(tmp_path / "frac.dcm")
    back = read_seg(tmp_path / "frac.dcm", reference=g)
    # With MaximumFractionalValue 200 the stored values are 98, 100, 102, 200, 40: ≥ 0.5 is in.
    np.testing.assert_array_equal(back.array, (prob[..., 0] >= 0.5).astype(np.uint8))


def test_overlapping_segments(tmp_path: Path) -> None:
    g = expected_grid()
    stack = np.zeros((*g.shape, 2), np.uint8)
    stack[1, 2:6, 2:6, 0] = 1
    stack[1, 4:8, 4:8, 1] = 1  # overlaps segment 1 in a 2x2 square
    _hd_seg(ct_series(), stack, "BINARY", 2).save_as(tmp_path / "ov.dcm")
    with pytest.raises(MaskError, match=r"segments 1 .*and 2 .*share 4 voxels.*read_seg_segments"):
        read_seg(tmp_path / "ov.dcm")
    parts = read_seg_segments(tmp_path / "ov.dcm", reference=g)
    assert sorted(parts) == [1, 2]
    for n in (1, 2):
        np.testing.assert_array_equal(parts[n].array, stack[..., n - 1])
        assert parts[n].labels[1].name == f"segment {n} label"


# -- empty segmentations -------------------------------------------------------------------------
def test_all_empty_seg_reads_with_policy(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    g = expected_grid()
    lm = LabelMap(np.zeros(g.shape, np.uint8), g, {1: Label(1, "lesion", "L")})
    out = write_seg(lm, ct_series(), tmp_path / "empty.dcm")
    with caplog.at_level(logging.WARNING, logger="nelm.imaging.seg"):
        back = read_seg(out)
    assert "every segment is empty" in caplog.text
    assert not back.array.any()
    assert back.labels[1].name == "lesion"
    with pytest.raises(MaskError, match="empty"):
        back.require_nonempty()
    with pytest.raises(MaskError, match="every segment is empty"):
        read_seg(out, policy=Policy.RAISE)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="nelm.imaging.seg"):
        read_seg(out, policy=Policy.IGNORE)
    assert caplog.text == ""


def test_all_empty_seg_warning_is_kept_in_the_label_maps(tmp_path: Path) -> None:
    g = expected_grid()
    lm = LabelMap(np.zeros(g.shape, np.uint8), g, {1: Label(1, "lesion", "L"), 2: Label(2, "liver")})
    out = write_seg(lm, ct_series(), tmp_path / "empty.dcm", omit_empty_frames=False)
    (warning,) = read_seg(out).warnings
    assert "every segment is empty (lesion, liver)" in warning
    parts = read_seg_segments(out, reference=g)
    assert [m.warnings for m in parts.values()] == [(warning,), (warning,)]
    assert read_seg(out, policy=Policy.IGNORE).warnings == ()
    assert read_seg(write_seg(sample_labelmap(), ct_series(), tmp_path / "s.dcm")).warnings == ()


# -- bad input -----------------------------------------------------------------------------------
def test_write_on_another_grid(tmp_path: Path) -> None:
    shifted = Geometry.from_spacing(SHAPE, SPACING, (ORIGIN[0] + 1.0, ORIGIN[1], ORIGIN[2]))
    with pytest.raises(GeometryError, match=r"label map sample is on a different grid than source series"):
        write_seg(sample_labelmap(shifted), ct_series(), tmp_path / "s.dcm")
    assert not (tmp_path / "s.dcm").exists()


def test_write_mixed_series(tmp_path: Path) -> None:
    mixed = ct_series()[:2] + ct_series()[2:]
    with pytest.raises(DicomError, match="belong to 2 series"):
        write_seg(sample_labelmap(), mixed, tmp_path / "s.dcm")


def test_write_source_without_position(tmp_path: Path) -> None:
    sources = ct_series()
    del sources[1].ImagePositionPatient
    with pytest.raises(DicomError, match=r"ImagePositionPatient \(0020,0032\)"):
        write_seg(sample_labelmap(), sources, tmp_path / "s.dcm")


def test_write_labelmap_needs_recent_highdicom(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(seg_module.hd, "__version__", "0.22.1")
    with pytest.raises(InputError, match=r"highdicom >= 0\.23"):
        write_seg(sample_labelmap(), ct_series(), tmp_path / "s.dcm", segmentation_type="LABELMAP")


def test_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "s.dcm"
    target.write_bytes(b"previous")

    def broken(path: Path, *args: object, **kwargs: object) -> None:
        Path(path).write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(seg_module.pydicom, "dcmwrite", broken)
    with pytest.raises(OSError, match="disk full"):
        write_seg(sample_labelmap(), ct_series(), target)
    assert target.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.dcm"]


def test_reference_between_slices(tmp_path: Path) -> None:
    out = write_seg(sample_labelmap(), ct_series(), tmp_path / "s.dcm")
    half = Geometry.from_spacing(SHAPE, SPACING, (ORIGIN[0], ORIGIN[1], ORIGIN[2] + SPACING[0] / 2))
    with pytest.raises(GeometryError, match=r"falls between the voxels of the reference grid.*shape 4x12x10"):
        read_seg(out, reference=half)


def test_reference_with_other_pixel_spacing(tmp_path: Path) -> None:
    out = write_seg(sample_labelmap(), ct_series(), tmp_path / "s.dcm")
    coarse = Geometry.from_spacing((4, 6, 5), (2.0, 1.5, 1.0), ORIGIN)
    with pytest.raises(GeometryError, match="does not lie on the pixel grid of the reference grid"):
        read_seg(out, reference=coarse)


def test_reference_frame_of_reference_mismatch(tmp_path: Path) -> None:
    out = write_seg(sample_labelmap(), ct_series(), tmp_path / "s.dcm")
    other = Volume(
        np.zeros(SHAPE, np.int16),
        expected_grid(),
        "CT",
        ValueUnit.HU,
        metadata=SeriesMetadata(source="ct_portal", frame_of_reference_uid="1.2.3.999"),
    )
    with pytest.raises(GeometryError, match=r"Frame of Reference .* ct_portal is in 1\.2\.3\.999"):
        read_seg(out, reference=other)


def test_not_a_seg(tmp_path: Path) -> None:
    ct = ct_series()[0]
    ct.save_as(tmp_path / "ct.dcm", enforce_file_format=True)
    with pytest.raises(MaskError, match=r"ct\.dcm is not a DICOM Segmentation.*modality CT"):
        read_seg(tmp_path / "ct.dcm")


def test_garbage_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(b"this is not DICOM at all" * 10)
    with pytest.raises(DicomError, match=r"bad\.dcm is not a readable DICOM file"):
        read_seg(bad)


def test_truncated_seg(tmp_path: Path) -> None:
    out = write_seg(sample_labelmap(), ct_series(), tmp_path / "s.dcm")
    data = out.read_bytes()
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(data[: len(data) - 40])  # the end of the pixel data is missing
    with pytest.raises(DicomError, match=r"cut\.dcm"):
        read_seg(cut)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        read_seg(tmp_path / "nope.dcm")


def test_frame_without_segment_number(tmp_path: Path) -> None:
    src = write_seg(sample_labelmap(), ct_series(), tmp_path / "s.dcm")

    def drop(ds: Dataset) -> None:
        del ds.PerFrameFunctionalGroupsSequence[0].SegmentIdentificationSequence

    with pytest.raises(DicomError, match=r"noseg\.dcm is malformed: it lacks SegmentIdentificationSequence"):
        read_seg(_edit(src, tmp_path / "noseg.dcm", drop))


def test_frame_outside_reference(tmp_path: Path) -> None:
    out = write_seg(sample_labelmap(), ct_series(), tmp_path / "s.dcm")
    # The reference holds only the two lowest slices; lesion 2 lies on slice 3.
    lower = Geometry.from_spacing((2, *SHAPE[1:]), SPACING, ORIGIN)
    with pytest.raises(
        GeometryError, match=r"lies outside the reference grid .*shape 2x12x10.*holds segmented"
    ):
        read_seg(out, reference=lower)
