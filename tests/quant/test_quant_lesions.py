"""Lesion instances: labels and connected components, ordering, segment and lobe, bad input.

Expected values are hand-built masks (counts, boxes and centroids computed here), the synthetic
patient's ground truth (segment, lobe, voxel counts) and, on real data, an independent
connected-component count by SimpleITK.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from nelm.errors import ConfigError, GeometryError, MaskError
from nelm.imaging.geometry import Geometry
from nelm.imaging.labelmap import Label, LabelMap
from nelm.phantom import PhantomConfig, SyntheticPatient, generate_patient
from nelm.quant.lesions import (
    DEFAULT_MIN_LESION_VOLUME_ML,
    LesionInstance,
    is_binary_lesion_map,
    lesion_instances,
    lesion_label_map,
    lesion_mask,
)

SPACING = (3.0, 1.5, 1.5)  # voxel volume 6.75 mm³ = 0.00675 mL


def _geometry(shape: tuple[int, int, int] = (10, 20, 20)) -> Geometry:
    return Geometry.from_spacing(shape, SPACING, origin_mm=(-10.0, -20.0, 5.0))


def _binary(array: npt.NDArray[Any], name: str = "lesions") -> LabelMap:
    return LabelMap.from_binary(array, _geometry(array.shape), name, source="test.nii.gz")


def _world(g: Geometry, index: tuple[float, float, float]) -> npt.NDArray[np.float64]:
    """LPS of a fractional index for the default SPL grid, from spacing and origin (no affine call)."""
    k, r, c = index
    ox, oy, oz = g.origin_mm
    return np.array([ox + c * SPACING[2], oy + r * SPACING[1], oz + k * SPACING[0]])


# -- label maps -----------------------------------------------------------------------------------
def test_label_map_keeps_tracking_ids_and_orders_by_value() -> None:
    arr = np.zeros((10, 20, 20), dtype=np.uint8)
    arr[1:3, 2:5, 2:6] = 7  # 2*3*4 = 24 voxels, centre index (1.5, 3, 3.5)
    arr[5:8, 10:13, 10:13] = 2  # 27 voxels, centre (6, 11, 11)
    arr[8, 18, 18] = 3  # a single voxel is kept: tracked labels are never size-filtered
    labels = {
        7: Label(7, "lesion A", "T7", "1.2.3.7"),
        2: Label(2, "lesion B", "T2"),
        3: Label(3, "lesion C"),
        5: Label(5, "lesion gone", "T5"),  # no voxels: skipped
    }
    lm = LabelMap(arr, _geometry(), labels, source="lesions.nii.gz")
    inst = lesion_instances(lm)
    assert [i.lesion_id for i in inst] == ["T2", "L3", "T7"]
    assert [i.label_value for i in inst] == [2, 3, 7]
    assert [i.voxel_count for i in inst] == [27, 1, 24]
    assert inst[2].tracking_uid == "1.2.3.7"
    assert inst[0].volume_ml == pytest.approx(27 * 0.00675)
    assert inst[2].bbox == (slice(1, 3), slice(2, 5), slice(2, 6))
    assert inst[2].centroid_lps_mm == pytest.approx(tuple(_world(lm.geometry, (1.5, 3.0, 3.5))))
    assert inst[0].centroid_lps_mm == pytest.approx(tuple(_world(lm.geometry, (6.0, 11.0, 11.0))))
    assert all(i.segment is None and i.lobe is None and not i.from_components for i in inst)
    mask, g = lesion_mask(lm, inst[2])
    assert mask.shape == (2, 3, 4)
    assert mask.all()
    assert tuple(g.origin_mm) == pytest.approx(tuple(_world(lm.geometry, (1.0, 2.0, 2.0))))


# -- connected components -------------------------------------------------------------------------
def test_blobs_touching_at_a_corner_are_one_lesion_with_26_connectivity() -> None:
    arr = np.zeros((10, 20, 20), dtype=bool)
    arr[1:4, 1:4, 1:4] = True  # 27 voxels
    arr[4:7, 4:7, 4:7] = True  # 27 voxels, touching the first only at voxel corners (3,3,3)-(4,4,4)
    inst = lesion_instances(_binary(arr), min_volume_ml=0.0)
    assert len(inst) == 1
    assert inst[0].voxel_count == 54
    assert inst[0].bbox == (slice(1, 7), slice(1, 7), slice(1, 7))
    assert inst[0].centroid_lps_mm == pytest.approx(tuple(_world(_geometry(), (3.5, 3.5, 3.5))))


def test_components_below_min_volume_are_dropped() -> None:
    arr = np.zeros((10, 20, 20), dtype=bool)
    arr[1:6, 1:6, 1:6] = True  # 125 voxels = 0.25 mL
    arr[7:9, 12:14, 12:14] = True  # 8 voxels = 0.054 mL < 0.0654 mL (5 mm sphere)
    lm = _binary(arr)
    assert 8 * 0.00675 < DEFAULT_MIN_LESION_VOLUME_ML < 125 * 0.00675
    assert [i.voxel_count for i in lesion_instances(lm)] == [125]
    assert [i.voxel_count for i in lesion_instances(lm, min_volume_ml=0.0)] == [125, 8]
    # a component exactly at the threshold is kept
    assert [i.voxel_count for i in lesion_instances(lm, min_volume_ml=8 * 0.00675)] == [125, 8]


def test_component_ids_are_deterministic_by_size_then_raster_position() -> None:
    arr = np.zeros((10, 20, 20), dtype=bool)
    arr[6:8, 2:4, 2:4] = True  # 8 voxels, first voxel (6, 2, 2)
    arr[1:3, 10:12, 10:12] = True  # 8 voxels, first voxel (1, 10, 10): earlier in raster order
    arr[3:6, 15:18, 1:4] = True  # 27 voxels: the largest
    arr[8:10, 15:19, 15:19] = True  # 32 voxels
    lm = _binary(arr)
    first = lesion_instances(lm, min_volume_ml=0.0)
    assert [(i.lesion_id, i.label_value, i.voxel_count) for i in first] == [
        ("L1", 1, 32),
        ("L2", 2, 27),
        ("L3", 3, 8),
        ("L4", 4, 8),
    ]
    assert first[2].seed_index == (1, 10, 10)
    assert first[3].seed_index == (6, 2, 2)
    assert lesion_instances(lm, min_volume_ml=0.0) == first  # same input, same output
    relabelled = lesion_label_map(lm, min_volume_ml=0.0)
    assert relabelled.labels[3] == Label(3, "lesion L3", "L3")
    assert int(relabelled.array[1, 10, 10]) == 3
    assert int(relabelled.array[6, 2, 2]) == 4
    again = lesion_instances(relabelled)
    assert [(i.lesion_id, i.voxel_count, i.bbox) for i in again] == [
        (i.lesion_id, i.voxel_count, i.bbox) for i in first
    ]


def test_lesion_mask_of_a_component_excludes_other_lesions_in_its_box() -> None:
    arr = np.zeros((10, 20, 20), dtype=bool)
    arr[2, 2:12, 2] = True  # an L: 10 voxels down column 2 ...
    arr[2, 11, 2:12] = True  # ... and 10 along row 11 (1 shared): 19 voxels
    arr[2, 4:7, 6:9] = True  # a separate 3×3 blob inside the L's bounding box
    inst = lesion_instances(_binary(arr), min_volume_ml=0.0)
    assert [i.voxel_count for i in inst] == [19, 9]
    mask, _ = lesion_mask(_binary(arr), inst[0])
    assert mask.shape == (1, 10, 10)
    assert int(mask.sum()) == 19
    assert not mask[0, 2:5, 4:7].any()  # the blob, in box coordinates, is excluded


def test_single_label_named_like_lesions_is_split_automatically() -> None:
    arr = np.zeros((10, 20, 20), dtype=bool)
    arr[1:5, 1:5, 1:5] = True  # 64 voxels = 0.432 mL each, above the default minimum
    arr[6:10, 10:14, 10:14] = True
    assert is_binary_lesion_map(_binary(arr, "Tumour"))
    assert len(lesion_instances(_binary(arr, "Tumour"))) == 2
    assert not is_binary_lesion_map(_binary(arr, "lesion L1"))
    single = lesion_instances(_binary(arr, "lesion L1"))
    assert [(i.lesion_id, i.voxel_count) for i in single] == [("L1", 128)]
    assert len(lesion_instances(_binary(arr, "lesion L1"), from_binary=True)) == 2


# -- segment and lobe -----------------------------------------------------------------------------
def _segments(values: npt.NDArray[Any], names: dict[int, str] | None = None) -> LabelMap:
    names = names or {v: f"segment {v}" for v in range(1, 9)}
    present = {int(v) for v in np.unique(values)} - {0}
    return LabelMap(values, _geometry(values.shape), {v: Label(v, names[v]) for v in present})


def test_segment_is_the_majority_and_caudate_is_its_own_lobe() -> None:
    arr = np.zeros((10, 20, 20), dtype=bool)
    arr[1:3, 2:7, 2:7] = True  # 50 voxels: 30 in segment 4, 20 in segment 5
    arr[6:8, 10:14, 10:14] = True  # 32 voxels: 16 in segment 1, 16 in segment 3 (tie -> 1)
    seg = np.zeros(arr.shape, dtype=np.uint8)
    seg[:, :, :5] = 4
    seg[:, :, 5:9] = 5
    seg[:, :12, 9:] = 1
    seg[:, 12:, 9:] = 3
    inst = lesion_instances(_binary(arr), segments=_segments(seg))
    assert [(i.voxel_count, i.segment, i.lobe) for i in inst] == [(50, 4, "left"), (32, 1, "caudate")]


def test_segment_numbers_come_from_label_names() -> None:
    arr = np.zeros((10, 20, 20), dtype=bool)
    arr[1:4, 1:4, 1:4] = True
    seg = np.zeros(arr.shape, dtype=np.uint8)
    seg[:, :, :10] = 1
    seg[:, :, 10:] = 2
    names = {1: "liver_segment_7", 2: "Segment IVb"}
    inst = lesion_instances(_binary(arr), segments=_segments(seg, names))
    assert (inst[0].segment, inst[0].lobe) == (7, "right")
    with pytest.raises(MaskError, match="names no Couinaud segment"):
        lesion_instances(
            _binary(arr),
            segments=LabelMap(seg * 10, _geometry(), {10: Label(10, "liver"), 20: Label(20, "spleen")}),
        )


def test_lobe_from_liver_mask_by_sagittal_plane() -> None:
    """A box liver of 20 columns (x = -10 .. 18.5 mm, 1.5 mm apart), equal voxel counts per column."""
    liver = np.ones((10, 20, 20), dtype=bool)
    lm_liver = LabelMap.from_binary(liver, _geometry(), "liver")
    arr = np.zeros(liver.shape, dtype=bool)
    arr[1:4, 1:4, 1:4] = True  # x = -8.5 .. -5.5 mm: right
    arr[5:8, 10:13, 15:18] = True  # x = 12.5 .. 15.5 mm: left
    arr[5:8, 1:4, 10:14] = True  # centroid x = 7.25 mm, right of the plane at 8.525 mm
    inst = lesion_instances(_binary(arr), liver=lm_liver)
    by_x = sorted((i.centroid_lps_mm[0], i.lobe) for i in inst)
    # plane: the 0.65 quantile of x over equal counts per column, -10 + 0.65 * 19 * 1.5 = 8.525 mm
    assert by_x == [(-7.0, "right"), (7.25, "right"), (14.0, "left")]
    assert all(i.segment is None for i in inst)
    moved = lesion_instances(_binary(arr), liver=lm_liver, right_lobe_volume_fraction=0.5)
    assert sorted((i.centroid_lps_mm[0], i.lobe) for i in moved)[1] == (7.25, "left")  # plane at 4.25
    assert all(i.lobe is None for i in lesion_instances(_binary(arr)))


@pytest.fixture(scope="module")
def patient() -> SyntheticPatient:
    """The default phantom; its PET, MRI and low-dose CT (which leave the CT masks unchanged) are skipped."""
    return generate_patient(PhantomConfig(include_pet=False, include_mri=False, include_lowdose_ct=False))


def test_phantom_instances_segments_and_lobes_match_truth(patient: SyntheticPatient) -> None:
    truth = {t.tracking_id: t for t in patient.truth.time_point("baseline").lesions}
    lesions = patient.mask("baseline", "lesions")
    inst = lesion_instances(lesions, segments=patient.mask("baseline", "segments"))
    assert [i.lesion_id for i in inst] == [f"L{n}" for n in range(1, len(truth) + 1)]
    for i in inst:
        t = truth[i.lesion_id]
        assert i.label_value == t.label_value
        assert i.voxel_count == t.voxel_counts["ct_portal"]
        assert (i.segment, i.lobe) == (t.segment, t.lobe)
        # centroid of the voxel centres of an ellipsoid: within half a voxel of its centre per axis
        spacing_xyz = lesions.geometry.spacing_mm[::-1]
        assert all(
            abs(a - b) <= s / 2
            for a, b, s in zip(i.centroid_lps_mm, t.centroid_lps_mm, spacing_xyz, strict=True)
        )


def test_phantom_lobes_from_liver_mask_alone(patient: SyntheticPatient) -> None:
    """Sagittal-plane rule: unambiguous for the lateral segments (6, 7 right; 2, 3 left)."""
    truth = {t.tracking_id: t for t in patient.truth.time_point("baseline").lesions}
    inst = lesion_instances(patient.mask("baseline", "lesions"), liver=patient.mask("baseline", "liver"))
    lateral = [i for i in inst if truth[i.lesion_id].segment in (2, 3, 6, 7)]
    assert lateral
    for i in lateral:
        assert i.lobe == truth[i.lesion_id].lobe
        assert i.segment is None


def test_many_lesions_on_the_phantom(patient: SyntheticPatient) -> None:
    """The binary union of the phantom's lesions splits back into its lesions (none touch)."""
    lesions = patient.mask("baseline", "lesions")
    binary = LabelMap.from_binary(lesions.array > 0, lesions.geometry, "lesions")
    truth = patient.truth.time_point("baseline").lesions
    comps = lesion_instances(binary, min_volume_ml=0.0)
    assert sorted(i.voxel_count for i in comps) == sorted(t.voxel_counts["ct_portal"] for t in truth)
    assert [i.voxel_count for i in comps] == sorted((i.voxel_count for i in comps), reverse=True)


# -- real data ------------------------------------------------------------------------------------
@pytest.mark.realdata
def test_lits_tumour_component_count_matches_simpleitk(data_file: Any) -> None:
    """LiTS case 117 crop (Bilic et al., Med Image Anal 2023; CC BY-NC-SA 4.0), label 2 = tumour.

    The affine is an identity placeholder (1 mm voxels, data README): fine for counting. The
    independent count uses SimpleITK's ConnectedComponent with full (26-)connectivity.
    """
    import SimpleITK as sitk  # noqa: N813 - the library's own idiom

    from nelm.imaging.nifti import read_labelmap

    path: Path = data_file("ct/lits117/lits117_crop128_label.nii.gz")
    lm = read_labelmap(path)
    inst = lesion_instances(lm.subset([2]), from_binary=True)
    image = sitk.ReadImage(str(path))
    components = sitk.ConnectedComponent(image == 2, True)
    stats = sitk.LabelShapeStatisticsImageFilter()
    stats.Execute(components)
    sizes = [stats.GetNumberOfPixels(v) for v in stats.GetLabels()]
    voxel_ml = math.prod(image.GetSpacing()) / 1000.0
    expected = sorted((n for n in sizes if n * voxel_ml >= DEFAULT_MIN_LESION_VOLUME_ML), reverse=True)
    assert len(inst) == len(expected) == 44
    assert [i.voxel_count for i in inst] == expected
    assert sum(sizes) == int(np.count_nonzero(lm.mask(2)))


# -- bad input ------------------------------------------------------------------------------------
def test_segment_mask_on_another_grid_is_refused() -> None:
    arr = np.zeros((10, 20, 20), dtype=bool)
    arr[1:4, 1:4, 1:4] = True
    other = np.ones((10, 20, 21), dtype=np.uint8)
    seg = LabelMap(other, Geometry.from_spacing(other.shape, SPACING), {1: Label(1, "segment 1")})
    with pytest.raises(GeometryError, match="different grid"):
        lesion_instances(_binary(arr), segments=seg)


def test_liver_mask_on_another_grid_is_refused() -> None:
    arr = np.zeros((10, 20, 20), dtype=bool)
    arr[1:4, 1:4, 1:4] = True
    liver = LabelMap.from_binary(
        np.ones(arr.shape, bool), Geometry.from_spacing(arr.shape, (2.5, 1, 1)), "liver"
    )
    with pytest.raises(GeometryError, match="different grid"):
        lesion_instances(_binary(arr), liver=liver)


def test_empty_lesion_mask_gives_no_instances() -> None:
    assert lesion_instances(_binary(np.zeros((10, 20, 20), dtype=bool))) == []


def test_empty_liver_mask_is_refused() -> None:
    arr = np.zeros((10, 20, 20), dtype=bool)
    arr[1:4, 1:4, 1:4] = True
    liver = LabelMap.from_binary(np.zeros(arr.shape, bool), _geometry(), "liver")
    with pytest.raises(MaskError, match=r"liver mask .* is empty"):
        lesion_instances(_binary(arr), liver=liver)


def test_duplicate_tracking_ids_are_refused() -> None:
    arr = np.zeros((10, 20, 20), dtype=np.uint8)
    arr[1, 1, 1], arr[5, 5, 5] = 1, 2
    lm = LabelMap(arr, _geometry(), {1: Label(1, "a", "T1"), 2: Label(2, "b", "T1")})
    with pytest.raises(MaskError, match="share the tracking ID 'T1'"):
        lesion_instances(lm)


def test_instance_from_another_mask_is_refused() -> None:
    arr = np.zeros((10, 20, 20), dtype=bool)
    arr[1:4, 1:4, 1:4] = True
    inst = lesion_instances(_binary(arr))[0]
    moved = np.zeros_like(arr)
    moved[1:3, 1:4, 1:4] = True
    with pytest.raises(MaskError, match="does not belong"):
        lesion_mask(_binary(moved), inst)
    with pytest.raises(MaskError, match="seed voxel is empty"):
        lesion_mask(_binary(np.zeros_like(arr)), inst)
    labelled = LabelMap(arr.astype(np.uint8) * 3, _geometry(), {3: Label(3, "lesion L3")})
    tracked = lesion_instances(labelled)[0]
    with pytest.raises(MaskError, match="has no label 3"):
        lesion_mask(_binary(arr), tracked)


def test_bad_settings_are_refused() -> None:
    lm = _binary(np.zeros((10, 20, 20), dtype=bool))
    with pytest.raises(ConfigError, match="min_volume_ml"):
        lesion_instances(lm, min_volume_ml=-1.0)
    with pytest.raises(ConfigError, match="right_lobe_volume_fraction"):
        lesion_instances(lm, right_lobe_volume_fraction=1.2)


def test_invalid_instances_cannot_be_built() -> None:
    good = LesionInstance(
        "L1", 1, "", 8, 0.016, (slice(0, 2), slice(0, 2), slice(0, 2)), (0.0, 0.0, 0.0), 4, "left"
    )
    with pytest.raises(MaskError, match="lobe"):
        dataclasses.replace(good, lobe="middle")
    with pytest.raises(MaskError, match="segment"):
        dataclasses.replace(good, segment=9)
    with pytest.raises(MaskError, match="at least one voxel"):
        dataclasses.replace(good, voxel_count=0)
    with pytest.raises(MaskError, match="outside its bbox"):
        dataclasses.replace(good, seed_index=(5, 0, 0))
    with pytest.raises(MaskError, match="needs a seed_index"):
        dataclasses.replace(good, from_components=True)
