"""RTSTRUCT rasterisation against analytic polygon areas and centroids."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pydicom
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.path import Path as MplPath
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

from nelm.errors import DicomError, GeometryError, InputError, MaskError
from nelm.imaging import Geometry, SeriesMetadata, ValueUnit, Volume
from nelm.imaging.rtstruct import (
    RTSTRUCT_SOP_CLASS_UID,
    rasterize_polygons,
    read_rtstruct,
    read_rtstruct_rois,
    roi_names,
)
from nelm.policy import Policy

SHAPE = (5, 64, 64)
SPACING = (2.5, 0.8, 0.8)
ORIGIN = (-25.0, -30.0, 10.0)
PIXEL_AREA_MM2 = SPACING[1] * SPACING[2]
FOR_UID = "1.2.826.0.1.3680043.8.498.4242"
SERIES_UID = "1.2.826.0.1.3680043.8.498.4243"

Contour = tuple[str, np.ndarray]  # (ContourGeometricType, (n, 3) LPS mm)


def grid() -> Geometry:
    """Axial grid: x = -25 + 0.8·column, y = -30 + 0.8·row, z = 10 + 2.5·slice (mm)."""
    return Geometry.from_spacing(SHAPE, SPACING, ORIGIN)


def reference(for_uid: str = FOR_UID, series_uid: str = SERIES_UID) -> Volume:
    return Volume(
        np.zeros(SHAPE, np.int16),
        grid(),
        "CT",
        ValueUnit.HU,
        metadata=SeriesMetadata(source="ct", frame_of_reference_uid=for_uid, series_instance_uid=series_uid),
    )


def z_of(k: float) -> float:
    return ORIGIN[2] + SPACING[0] * k


def square(cx: float, cy: float, z: float, side: float) -> np.ndarray:
    h = side / 2
    return np.array([[cx - h, cy - h, z], [cx + h, cy - h, z], [cx + h, cy + h, z], [cx - h, cy + h, z]])


def ngon(cx: float, cy: float, z: float, radius: float, n: int = 64) -> np.ndarray:
    t = 2 * np.pi * np.arange(n) / n
    return np.column_stack([cx + radius * np.cos(t), cy + radius * np.sin(t), np.full(n, z)])


def make_rtstruct(
    path: Path,
    rois: Sequence[tuple[str, Sequence[Contour]]],
    *,
    for_uid: str = FOR_UID,
    series_uid: str = SERIES_UID,
) -> Path:
    """A minimal RT Structure Set (PS3.3 A.19) written with pydicom; ROI numbers 10, 11, …"""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = RTSTRUCT_SOP_CLASS_UID
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = RTSTRUCT_SOP_CLASS_UID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "RTSTRUCT"
    ds.StructureSetLabel = "test"
    series = Dataset()
    series.SeriesInstanceUID = series_uid
    study = Dataset()
    study.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"
    study.ReferencedSOPInstanceUID = generate_uid()
    study.RTReferencedSeriesSequence = [series]
    frame = Dataset()
    frame.FrameOfReferenceUID = for_uid
    frame.RTReferencedStudySequence = [study]
    ds.ReferencedFrameOfReferenceSequence = [frame]
    ds.StructureSetROISequence = []
    ds.ROIContourSequence = []
    for i, (name, contours) in enumerate(rois):
        roi = Dataset()
        roi.ROINumber = 10 + i
        roi.ROIName = name
        roi.ReferencedFrameOfReferenceUID = for_uid
        roi.ROIGenerationAlgorithm = "MANUAL"
        ds.StructureSetROISequence.append(roi)
        rc = Dataset()
        rc.ReferencedROINumber = 10 + i
        rc.ROIDisplayColor = [255, 0, 0]
        rc.ContourSequence = []
        for gtype, pts in contours:
            c = Dataset()
            c.ContourGeometricType = gtype
            c.NumberOfContourPoints = len(pts)
            c.ContourData = [float(v) for v in np.asarray(pts).ravel()]
            rc.ContourSequence.append(c)
        ds.ROIContourSequence.append(rc)
    ds.save_as(path, enforce_file_format=True)
    return path


def area_bound_mm2(perimeter_mm: float) -> float:
    """Pixel-centre sampling error bound: half a pixel along the perimeter."""
    return perimeter_mm * SPACING[1] / 2


def centroid_mm(mask: np.ndarray, g: Geometry) -> np.ndarray:
    return np.asarray(g.index_to_world(np.argwhere(mask).astype(float)).mean(axis=0))


# -- analytic shapes -----------------------------------------------------------------------------
def test_square_area_and_centroid(tmp_path: Path) -> None:
    cx, cy, side = 1.37, -4.11, 20.0
    path = make_rtstruct(
        tmp_path / "rs.dcm", [("lesion", [("CLOSED_PLANAR", square(cx, cy, z_of(2), side))])]
    )
    lm = read_rtstruct(path, reference())
    assert lm.labels[1].name == "lesion"
    assert lm.labels[1].tracking_id == "10"
    mask = lm.mask("lesion")
    assert mask[[0, 1, 3, 4]].sum() == 0
    assert abs(mask.sum() * PIXEL_AREA_MM2 - side**2) <= area_bound_mm2(4 * side)
    np.testing.assert_allclose(centroid_mm(mask, grid()), [cx, cy, z_of(2)], atol=SPACING[1] / 2)


def test_square_on_pixel_boundaries_is_exact(tmp_path: Path) -> None:
    # Corners on pixel boundaries (half-integer indices): exactly 25 x 10 pixel centres inside.
    x0, y0 = ORIGIN[0] + 0.8 * 9.5, ORIGIN[1] + 0.8 * 19.5
    pts = np.array([[x0, y0], [x0 + 0.8 * 10, y0], [x0 + 0.8 * 10, y0 + 0.8 * 25], [x0, y0 + 0.8 * 25]])
    pts3 = np.column_stack([pts, np.full(4, z_of(1))])
    lm = read_rtstruct(make_rtstruct(tmp_path / "rs.dcm", [("box", [("CLOSED_PLANAR", pts3)])]), grid())
    expected = np.zeros(SHAPE, bool)
    expected[1, 20:45, 10:20] = True
    np.testing.assert_array_equal(lm.mask("box"), expected)


def test_circle_64gon(tmp_path: Path) -> None:
    r, n = 12.0, 64
    cx, cy = -2.2, 3.3
    path = make_rtstruct(tmp_path / "rs.dcm", [("tumour", [("CLOSED_PLANAR", ngon(cx, cy, z_of(3), r, n))])])
    mask = read_rtstruct(path, reference()).mask("tumour")
    area = 0.5 * n * r**2 * math.sin(2 * math.pi / n)  # area of the regular n-gon
    perimeter = 2 * n * r * math.sin(math.pi / n)
    assert abs(mask.sum() * PIXEL_AREA_MM2 - area) <= area_bound_mm2(perimeter)
    np.testing.assert_allclose(centroid_mm(mask, grid()), [cx, cy, z_of(3)], atol=SPACING[1] / 2)


def test_square_with_hole(tmp_path: Path) -> None:
    z = z_of(2)
    contours = [("CLOSED_PLANAR", square(0.0, 0.0, z, 30.0)), ("CLOSED_PLANAR", square(0.0, 0.0, z, 10.0))]
    lm = read_rtstruct(make_rtstruct(tmp_path / "rs.dcm", [("ring", contours)]), reference())
    mask = lm.mask("ring")
    assert abs(mask.sum() * PIXEL_AREA_MM2 - (900 - 100)) <= area_bound_mm2(120 + 40)
    centre = np.rint(grid().world_to_index([0.0, 0.0, z])).astype(int)
    assert not mask[tuple(centre)]  # the hole
    inside_ring = np.rint(grid().world_to_index([10.0, 0.0, z])).astype(int)
    assert mask[tuple(inside_ring)]


def test_multi_slice_roi_and_roi_order(tmp_path: Path) -> None:
    liver = [("CLOSED_PLANAR", square(-10.0, 0.0, z_of(k), 12.0)) for k in (1, 2, 3)]
    lesion = [("CLOSED_PLANAR", square(10.0, 5.0, z_of(2), 6.0))]
    path = make_rtstruct(tmp_path / "rs.dcm", [("Liver", liver), ("Lesion 1", lesion)])
    assert roi_names(path) == ["Liver", "Lesion 1"]
    lm = read_rtstruct(path, reference(), rois=["lesion 1", "LIVER"])
    assert [(v, lab.name, lab.tracking_id) for v, lab in lm.labels.items()] == [
        (1, "Lesion 1", "11"),
        (2, "Liver", "10"),
    ]
    per_slice = lm.mask("Liver").sum(axis=(1, 2))
    assert per_slice[0] == per_slice[4] == 0
    assert per_slice[1] == per_slice[2] == per_slice[3] > 0
    with pytest.raises(MaskError, match=r"no ROI named 'spleen' \(ROIs: 'Liver', 'Lesion 1'\)"):
        read_rtstruct(path, reference(), rois=["spleen"])


def test_overlapping_rois(tmp_path: Path) -> None:
    a = [("CLOSED_PLANAR", square(0.0, 0.0, z_of(2), 16.0))]
    b = [("CLOSED_PLANAR", square(8.0, 0.0, z_of(2), 16.0))]
    path = make_rtstruct(tmp_path / "rs.dcm", [("liver", a), ("ablation zone", b)])
    with pytest.raises(MaskError, match=r"'liver' and 'ablation zone' share \d+ voxels.*read_rtstruct_rois"):
        read_rtstruct(path, reference())
    parts = read_rtstruct_rois(path, reference())
    assert sorted(parts) == ["ablation zone", "liver"]
    both = parts["liver"].any_mask() & parts["ablation zone"].any_mask()
    # The overlap is an 8 x 16 mm rectangle.
    assert abs(both.sum() * PIXEL_AREA_MM2 - 8 * 16) <= area_bound_mm2(2 * (8 + 16))


def test_rasterize_large_slice_many_contours() -> None:
    # 40 disjoint small 64-gons plus one large one around them: the small ones become holes.
    t = 2 * np.pi * np.arange(64) / 64
    big = np.column_stack([256 + 200 * np.sin(t), 256 + 200 * np.cos(t)])
    small = [
        np.column_stack([150 + 6 * (i // 8) * 5 + 4 * np.sin(t), 150 + 5 * (i % 8) * 5 + 4 * np.cos(t)])
        for i in range(40)
    ]
    mask = rasterize_polygons([big, *small], (512, 512))
    big_area = 0.5 * 64 * 200**2 * math.sin(2 * math.pi / 64)
    small_area = 0.5 * 64 * 4**2 * math.sin(2 * math.pi / 64)
    perimeter = 2 * 64 * math.sin(math.pi / 64) * (200 + 40 * 4)
    assert abs(mask.sum() - (big_area - 40 * small_area)) <= perimeter / 2


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0.2, 9.0), min_size=3, max_size=12),
    st.floats(6.0, 14.0),
    st.floats(6.0, 14.0),
)
def test_rasterize_matches_matplotlib(radii: list[float], cr: float, cc: float) -> None:
    """Star-shaped (simple) polygons: pixel-centre inclusion equals matplotlib's point test."""
    t = 2 * np.pi * np.arange(len(radii)) / len(radii)
    poly = np.column_stack([cr + np.asarray(radii) * np.sin(t), cc + np.asarray(radii) * np.cos(t)])
    mask = rasterize_polygons([poly], (20, 22))
    rr, cc_ = np.mgrid[0:20, 0:22]
    centres = np.column_stack([rr.ravel(), cc_.ravel()]).astype(float)
    expected = MplPath(poly).contains_points(centres).reshape(20, 22)
    differ = np.argwhere(mask != expected)
    # Only centres on (within 1e-9 of) an edge may be decided differently.
    for r, c in differ:
        d = min(_segment_distance((r, c), poly[i], poly[(i + 1) % len(poly)]) for i in range(len(poly)))
        assert d < 1e-9


def _segment_distance(p: tuple[float, float], a: np.ndarray, b: np.ndarray) -> float:
    pa, ba = np.asarray(p, float) - a, b - a
    h = np.clip(pa @ ba / (ba @ ba), 0, 1)
    return float(np.linalg.norm(pa - h * ba))


# -- tolerated problems (policy) -----------------------------------------------------------------
def test_point_and_open_contours_are_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    contours = [
        ("CLOSED_PLANAR", square(0.0, 0.0, z_of(1), 10.0)),
        ("POINT", np.array([[0.0, 0.0, z_of(2)]])),
        ("OPEN_PLANAR", square(0.0, 0.0, z_of(3), 10.0)),
    ]
    path = make_rtstruct(tmp_path / "rs.dcm", [("marker", contours)])
    with caplog.at_level(logging.WARNING, logger="nelm.imaging.rtstruct"):
        lm = read_rtstruct(path, reference())
    assert "contour 2 is POINT" in caplog.text
    assert "contour 3 is OPEN_PLANAR" in caplog.text
    assert lm.mask("marker")[[2, 3]].sum() == 0
    with pytest.raises(MaskError, match="contour 2 is POINT"):
        read_rtstruct(path, reference(), policy=Policy.RAISE)


def test_empty_roi_is_left_out(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = make_rtstruct(
        tmp_path / "rs.dcm",
        [("planned", []), ("liver", [("CLOSED_PLANAR", square(0.0, 0.0, z_of(1), 10.0))])],
    )
    with caplog.at_level(logging.WARNING, logger="nelm.imaging.rtstruct"):
        lm = read_rtstruct(path, reference())
    assert "ROI 'planned' (number 10) has no contours" in caplog.text
    assert list(lm.labels) == [2]  # label values follow ROI order; the empty ROI is absent
    assert "planned" not in read_rtstruct_rois(path, reference(), policy=Policy.IGNORE)
    with pytest.raises(MaskError, match=r"'planned'.*no contours"):
        read_rtstruct(path, reference(), policy=Policy.RAISE)


def test_policy_messages_are_kept_in_the_label_maps(tmp_path: Path) -> None:
    path = make_rtstruct(
        tmp_path / "rs.dcm",
        [
            ("planned", []),
            ("marker", [("POINT", np.array([[0.0, 0.0, z_of(2)]]))]),
            ("liver", [("CLOSED_PLANAR", square(0.0, 0.0, z_of(1), 10.0))]),
        ],
    )
    lm = read_rtstruct(path, reference())
    assert len(lm.warnings) == 3
    left_out, point, empty = lm.warnings
    assert "ROI 'planned' (number 10) has no contours" in left_out
    assert "contour 1 is POINT" in point
    assert "ROI 'marker' covers no voxel centre" in empty
    rois = read_rtstruct_rois(path, reference())
    assert rois["marker"].warnings == (left_out, point, empty)
    assert rois["liver"].warnings == (left_out,)  # file-level messages only
    assert read_rtstruct(path, reference(), policy=Policy.IGNORE).warnings == ()


def test_contour_outside_grid_slices(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = make_rtstruct(
        tmp_path / "rs.dcm", [("high", [("CLOSED_PLANAR", square(0.0, 0.0, z_of(7), 10.0))])]
    )
    with caplog.at_level(logging.WARNING, logger="nelm.imaging.rtstruct"):
        lm = read_rtstruct(path, reference())
    assert "slice index 7, outside the reference grid" in caplog.text
    assert not lm.array.any()


def test_referenced_series_differs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = make_rtstruct(tmp_path / "rs.dcm", [("a", [("CLOSED_PLANAR", square(0.0, 0.0, z_of(1), 10.0))])])
    with caplog.at_level(logging.WARNING, logger="nelm.imaging.rtstruct"):
        read_rtstruct(path, reference(series_uid="1.2.3.77"))
    assert "not the reference image ct (series 1.2.3.77)" in caplog.text


# -- bad input -----------------------------------------------------------------------------------
def test_contour_between_slices(tmp_path: Path) -> None:
    path = make_rtstruct(
        tmp_path / "rs.dcm",
        [
            ("ok", [("CLOSED_PLANAR", square(0.0, 0.0, z_of(1), 10.0))]),
            (
                "lesion 2",
                [
                    ("CLOSED_PLANAR", square(0.0, 0.0, z_of(1), 4.0)),
                    ("CLOSED_PLANAR", square(0.0, 0.0, z_of(2.5), 4.0)),
                ],
            ),
        ],
    )
    with pytest.raises(GeometryError, match=r"ROI 'lesion 2' contour 2 does not lie in a slice plane"):
        read_rtstruct(path, reference())


def test_tilted_contour(tmp_path: Path) -> None:
    pts = square(0.0, 0.0, z_of(2), 10.0)
    pts[:, 2] += np.array([-1.0, -1.0, 1.0, 1.0])  # tilted by ±1 mm (0.4 slice spacings)
    path = make_rtstruct(tmp_path / "rs.dcm", [("tilted", [("CLOSED_PLANAR", pts)])])
    with pytest.raises(GeometryError, match="ROI 'tilted' contour 1 does not lie in a slice plane"):
        read_rtstruct(path, reference())


def test_frame_of_reference_mismatch(tmp_path: Path) -> None:
    path = make_rtstruct(tmp_path / "rs.dcm", [("a", [("CLOSED_PLANAR", square(0.0, 0.0, z_of(1), 10.0))])])
    with pytest.raises(
        GeometryError, match=r"Frame of Reference .*4242.* reference image ct is in 1\.2\.3\.9"
    ):
        read_rtstruct(path, reference(for_uid="1.2.3.9"))


def test_not_an_rtstruct(tmp_path: Path) -> None:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "CT"
    ds.save_as(tmp_path / "ct.dcm", enforce_file_format=True)
    with pytest.raises(MaskError, match=r"ct\.dcm is not an RT Structure Set.*modality CT"):
        read_rtstruct(tmp_path / "ct.dcm", reference())


def test_garbage_file(tmp_path: Path) -> None:
    bad = tmp_path / "rs.dcm"
    bad.write_bytes(b"\x00\x01 not dicom" * 20)
    with pytest.raises(DicomError, match=r"rs\.dcm is not a readable DICOM file"):
        read_rtstruct(bad, reference())


def test_malformed_contour_data(tmp_path: Path) -> None:
    path = make_rtstruct(tmp_path / "rs.dcm", [("a", [("CLOSED_PLANAR", square(0.0, 0.0, z_of(1), 10.0))])])
    ds = pydicom.dcmread(path)
    ds.ROIContourSequence[0].ContourSequence[0].ContourData = [1.0, 2.0, 3.0, 4.0]
    ds.save_as(path)
    with pytest.raises(DicomError, match=r"ROI 'a' contour 1: Contour Data \(3006,0050\) holds 4 values"):
        read_rtstruct(path, reference())


def test_rois_as_string_is_rejected(tmp_path: Path) -> None:
    path = make_rtstruct(tmp_path / "rs.dcm", [("a", [("CLOSED_PLANAR", square(0.0, 0.0, z_of(1), 10.0))])])
    with pytest.raises(InputError, match="list of ROI names"):
        read_rtstruct(path, reference(), rois="a")
