"""NIfTI read/write in nelm's LPS convention, label maps, sidecars, real TotalSegmentator files."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from nelm.errors import GeometryError, InputError, MaskError
from nelm.imaging import Geometry, Label, LabelMap, ValueUnit, Volume
from nelm.imaging.nifti import read_labelmap, read_nifti, write_labelmap, write_nifti


def _ras_file(path: Path, data: np.ndarray, affine: np.ndarray) -> Path:
    nib.save(nib.Nifti1Image(data, affine), str(path))
    return path


def test_ras_to_lps_matches_nibabel_world_coordinates(tmp_path: Path) -> None:
    affine = np.array([[-0.8, 0, 0, 100.0], [0, 0.9, 0, -50.0], [0, 0, 2.5, 30.0], [0, 0, 0, 1]])
    data = np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6)
    vol = read_nifti(_ras_file(tmp_path / "a.nii.gz", data, affine))
    assert vol.shape == (6, 5, 4)
    i, j, k = 3, 1, 5
    # nibabel: voxel (i, j, k) is at RAS = affine @ (i, j, k, 1); LPS negates x and y.
    ras = nib.affines.apply_affine(affine, [i, j, k])
    np.testing.assert_allclose(vol.index_to_world([k, j, i]), [-ras[0], -ras[1], ras[2]])
    assert vol.array[k, j, i] == data[i, j, k]
    assert vol.spacing_mm == pytest.approx((2.5, 0.9, 0.8))


def test_volume_round_trip_with_sidecar(tmp_path: Path) -> None:
    g = Geometry.from_spacing((3, 4, 5), (2.0, 0.7, 0.7), (10.0, -20.0, 30.0))
    when = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    v = Volume(
        np.random.default_rng(1).normal(size=g.shape).astype(np.float32), g, "PT", ValueUnit.BQ_PER_ML, when
    )
    p = write_nifti(v, tmp_path / "pet.nii.gz")
    back = read_nifti(p)
    assert back.geometry.same_as(g, tolerance_mm=1e-3)
    np.testing.assert_array_equal(back.array, v.array)
    assert back.modality == "PT"
    assert back.units is ValueUnit.BQ_PER_ML
    assert back.acquisition_datetime == when
    assert not list(tmp_path.glob("*.tmp*")), "no temporary files left behind"


def test_labelmap_round_trip_keeps_names_and_tracking(tmp_path: Path) -> None:
    g = Geometry.from_spacing((4, 6, 6), (2.5, 1.5, 1.5))
    arr = np.zeros(g.shape, dtype=np.uint8)
    arr[1:3, 1:3, 1:3] = 1
    arr[2:4, 4:6, 4:6] = 2
    lm = LabelMap(arr, g, {1: Label(1, "lesion L1", "L1", "1.2.3.1"), 2: Label(2, "lesion L2", "L2")})
    p = write_labelmap(lm, tmp_path / "lesions.nii.gz")
    back = read_labelmap(p)
    np.testing.assert_array_equal(back.array, arr)
    assert back.labels[1] == Label(1, "lesion L1", "L1", "1.2.3.1")
    assert back.label("lesion l2").tracking_id == "L2"
    assert back.volume_ml(1) == pytest.approx(8 * 2.5 * 1.5 * 1.5 / 1000)


def test_bad_nifti_inputs(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        read_nifti(tmp_path / "missing.nii.gz")
    trunc = tmp_path / "trunc.nii.gz"
    noise = np.random.default_rng(0).normal(size=(16, 16, 16)).astype(np.float32)
    whole = _ras_file(tmp_path / "ok.nii.gz", noise, np.eye(4)).read_bytes()
    trunc.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(InputError, match=r"trunc\.nii\.gz"):
        read_nifti(trunc).array.sum()
    garbage = tmp_path / "garbage.nii.gz"
    garbage.write_bytes(gzip.compress(b"not a nifti header" * 10))
    with pytest.raises(InputError, match=r"garbage\.nii\.gz"):
        read_nifti(garbage)
    four_d = _ras_file(tmp_path / "4d.nii.gz", np.zeros((2, 2, 2, 3), np.float32), np.eye(4))
    with pytest.raises(InputError, match="3-D"):
        read_nifti(four_d)
    floats = _ras_file(tmp_path / "float.nii.gz", np.full((2, 2, 2), 0.5, np.float32), np.eye(4))
    with pytest.raises(MaskError, match="non-integer"):
        read_labelmap(floats)


def test_mask_on_other_grid_and_empty_mask() -> None:
    image = Volume(
        np.zeros((4, 4, 4), np.int16), Geometry.from_spacing((4, 4, 4), (3, 1, 1)), "CT", ValueUnit.HU
    )
    other = Geometry.from_spacing((4, 4, 4), (1.25, 1, 1))
    mask = LabelMap.from_binary(np.ones((4, 4, 4), bool), other, "liver", source="liver.nii.gz")
    with pytest.raises(
        GeometryError, match=r"mask liver\.nii\.gz .*spacing \(1\.25, 1, 1\).*spacing \(3, 1, 1\)"
    ):
        mask.require_on(image, image_name="CT ct_portal")
    empty = LabelMap.from_binary(np.zeros((4, 4, 4), bool), other, "liver", source="liver.nii.gz")
    with pytest.raises(MaskError, match=r"liver\.nii\.gz label 'liver' is empty"):
        empty.require_nonempty("liver")


@pytest.mark.realdata
def test_totalsegmentator_liver_volume(data_file: Callable[[str], Path]) -> None:
    """TotalSegmentator example (Wasserthal et al., Radiol AI 2023; CC BY 4.0): liver label 5
    has 38,634 voxels of 3 mm isotropic = 38,634 * 27 mm^3 = 1.0431 L (shared/data README)."""
    ct = read_nifti(data_file("ct/totalsegmentator/example_ct_sm.nii.gz"), modality="CT", units=ValueUnit.HU)
    seg = read_labelmap(data_file("ct/totalsegmentator/example_seg.nii.gz"), labels={5: "liver"})
    seg.require_on(ct, image_name="example_ct_sm")
    assert seg.voxel_count("liver") == 38_634
    assert seg.volume_ml("liver") == pytest.approx(38_634 * 27 / 1000, rel=1e-6)
    assert 1000 < seg.volume_ml("liver") < 1080
    # The label lies on the CT's liver: soft-tissue HU (fat is about -100, air -1000).
    assert 20 < float(np.median(ct.array[seg.mask("liver")])) < 200


@pytest.mark.realdata
def test_totalsegmentator_mr_is_lps(data_file: Callable[[str], Path]) -> None:
    """The MR example is stored LPS-oriented; the liver (label 5) must lie on the patient's
    right (LPS x < body centre) and its volume is 18,480 voxels x 27 mm^3."""
    mr = read_nifti(data_file("ct/totalsegmentator/example_mr_sm.nii.gz"), modality="MR")
    seg = read_labelmap(data_file("ct/totalsegmentator/example_seg_mr.nii.gz"))
    seg.require_on(mr)
    assert seg.voxel_count(5) == 18_480
    liver_x = seg.geometry.index_to_world(np.argwhere(seg.mask(5))).mean(axis=0)[0]
    body_x = mr.geometry.index_to_world(np.argwhere(mr.array > np.percentile(mr.array, 60))).mean(axis=0)[0]
    assert liver_x < body_x


def test_pet_sidecar_keeps_the_radiopharmaceutical(tmp_path: Path) -> None:
    from nelm.imaging import Radiopharmaceutical, SeriesMetadata

    g = Geometry.from_spacing((2, 3, 4), (4.0, 4.0, 4.0))
    inj = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    radio = Radiopharmaceutical(
        radionuclide="^68^Gallium",
        radiopharmaceutical="Ga-68 DOTATATE",
        injected_activity_bq=1.5e8,
        injection_datetime=inj,
        half_life_s=4062.6,
        decay_correction="START",
        units="BQML",
        patient_weight_kg=72.0,
        patient_height_m=1.68,
    )
    meta = SeriesMetadata(radiopharmaceutical=radio, series_datetime=inj.replace(hour=10))
    v = Volume(np.ones(g.shape, np.float32), g, "PT", ValueUnit.BQ_PER_ML, inj.replace(hour=10), meta)
    back = read_nifti(write_nifti(v, tmp_path / "pet.nii.gz"))
    assert back.metadata.radiopharmaceutical == radio
    assert back.metadata.series_datetime == inj.replace(hour=10)
