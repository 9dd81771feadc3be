"""DICOM reading on real files (see ../shared/data/README.md for sources and licences).

* ``ct/totalsegmentator/example_ct_dicom/``: 20 Siemens Biograph mCT CT slices, JPEG 2000
  lossless, and ``example_seg_dicom.nii.gz``, TotalSegmentator's prediction on them
  (github wasserth/TotalSegmentator, commit 0e65a448, Apache-2.0; data CC BY 4.0, Wasserthal
  et al., Radiol AI 2023).
* ``dicom/dcmqi/ct-3slice/``: three GE CT slices (github QIICR/dcmqi, commit b6137d9e, BSD-3).
* ``pet/acrin-flt-breast/``: two PET slices of TCIA ACRIN-FLT-Breast (Kinahan et al. 2017,
  doi:10.7937/K9/TCIA.2017.ol20zmxg), via github suyashkumar/dicom (MIT).

Expected values are read independently: with plain pydicom (pixel_array, header fields),
nibabel, SimpleITK, or taken from the data README.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
import SimpleITK as sitk  # noqa: N813

from nelm.imaging.dicom_discover import find_series
from nelm.imaging.dicom_read import read_series
from nelm.imaging.metadata import ValueUnit
from nelm.imaging.nifti import read_nifti
from nelm.policy import Policy

pytestmark = pytest.mark.realdata

DataFile = Callable[[str], Path]


def _sorted_by_z(folder: Path) -> list[pydicom.Dataset]:
    datasets = [pydicom.dcmread(p) for p in folder.iterdir()]
    return sorted(datasets, key=lambda d: float(d.ImagePositionPatient[2]))


def test_totalsegmentator_ct_spacing_from_positions(data_file: DataFile) -> None:
    """README: 20 slices, 512x512, 0.977 mm pixels, 2 mm spacing though SliceThickness 3, J2K."""
    folder = data_file("ct/totalsegmentator/example_ct_dicom")
    vol = read_series(folder, policy=Policy.IGNORE)
    assert vol.shape == (20, 512, 512)
    assert vol.spacing_mm == pytest.approx((2.0, 0.9765625, 0.9765625))
    assert vol.metadata.slice_thickness_mm == 3.0
    assert vol.metadata.transfer_syntax_uid == pydicom.uid.JPEG2000Lossless
    assert vol.units is ValueUnit.HU
    assert vol.orientation == "SPL"
    assert vol.metadata.manufacturer == "SIEMENS"
    datasets = _sorted_by_z(folder)
    for k in (0, 7, 19):
        ds = datasets[k]
        expected = ds.pixel_array.astype(np.int32) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
        np.testing.assert_array_equal(vol.array[k], expected)
        np.testing.assert_allclose(vol.index_to_world([k, 0, 0]), [float(v) for v in ds.ImagePositionPatient])


def test_totalsegmentator_ct_matches_its_nifti_segmentation(data_file: DataFile) -> None:
    """Same physical grid as the NIfTI prediction (LAS), checked two ways, and the liver label
    lands on liver-like HU (portal-venous contrast: roughly 60-150 HU)."""
    ct = read_series(data_file("ct/totalsegmentator/example_ct_dicom"), policy=Policy.IGNORE)
    seg_path = data_file("ct/totalsegmentator/example_seg_dicom.nii.gz")
    # 1. nibabel directly: LPS = diag(-1, -1, 1) RAS; the sets of corner voxel centres coincide.
    img = nib.load(str(seg_path))
    lps = np.diag([-1.0, -1.0, 1.0, 1.0]) @ img.affine
    corners = np.array(list(itertools.product(*[(0, n - 1) for n in img.shape[:3]])), dtype=float)
    nifti_corners = corners @ lps[:3, :3].T + lps[:3, 3]
    dicom_corners = ct.geometry.corners_mm()
    distances = np.linalg.norm(dicom_corners[:, None, :] - nifti_corners[None, :, :], axis=2)
    assert np.max(np.min(distances, axis=1)) < 0.01
    # 2. nelm's NIfTI reader and nearest-neighbour mapping: no voxel is lost or invented.
    seg = read_nifti(seg_path)
    on_ct = seg.resample_to(ct, interpolation="nearest", fill_value=0).array
    liver = on_ct == 5
    assert int(liver.sum()) == int(np.count_nonzero(np.asarray(img.dataobj) == 5))
    liver_hu = float(ct.array[liver].mean())
    assert 60.0 < liver_hu < 150.0
    assert float(ct.array[on_ct == 52].mean()) > liver_hu  # aorta brighter than liver


def test_dcmqi_ge_ct_three_slices(data_file: DataFile) -> None:
    folder = data_file("dicom/dcmqi/ct-3slice/01.dcm").parent
    vol = read_series(folder, policy=Policy.IGNORE)
    assert vol.shape == (3, 512, 512)
    assert vol.spacing_mm[1:] == pytest.approx((0.810547, 0.810547))
    assert vol.spacing_mm[0] == pytest.approx(1.0)  # IPP z -126.69, -127.69, -128.69
    assert vol.metadata.slice_thickness_mm == 1.25
    assert vol.metadata.manufacturer == "GE MEDICAL SYSTEMS"
    assert vol.metadata.identity.patient_id == "99000"
    datasets = _sorted_by_z(folder)
    np.testing.assert_array_equal(vol.array[2], datasets[2].pixel_array.astype(np.int32) - 1024)
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
    image = reader.Execute()
    assert _origin_matches(image, vol.geometry.origin_mm)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), vol.array)


def _origin_matches(image: sitk.Image, origin: tuple[float, float, float]) -> bool:
    return bool(np.allclose(image.GetOrigin(), origin, atol=1e-4))


@pytest.mark.parametrize(
    ("name", "weight_kg", "activity_mbq", "injected"),
    [
        ("pet_flt_breast_028_slice.dcm", 82.174, 173.53, datetime(1960, 1, 14, 11, 19, 59, tzinfo=UTC)),
        ("pet_flt_breast_029_slice.dcm", 69.7344, 178.34, datetime(1960, 6, 14, 14, 17, 0, tzinfo=UTC)),
    ],
)
def test_acrin_flt_pet_slice(
    data_file: DataFile, name: str, weight_kg: float, activity_mbq: float, injected: datetime
) -> None:
    """README: Units BQML, 18F half-life 6586.2 s, DecayCorrection START, per-slice slope,
    dose about 178/174 MBq, weight 69.7/82.2 kg. No Timezone Offset: times are taken as UTC."""
    path = data_file(f"pet/acrin-flt-breast/{name}")
    vol = read_series(path)
    assert vol.units is ValueUnit.BQ_PER_ML
    assert vol.shape == (1, 168, 168)
    assert vol.spacing_mm[1:] == pytest.approx((4.07283, 4.07283))
    rp = vol.metadata.radiopharmaceutical
    assert rp is not None
    assert rp.half_life_s == 6586.2
    assert rp.decay_correction == "START"
    assert rp.units == "BQML"
    assert rp.patient_weight_kg == pytest.approx(weight_kg)
    assert rp.injected_activity_bq / 1e6 == pytest.approx(activity_mbq, abs=0.01)
    assert rp.injection_datetime == injected
    assert rp.positron_fraction == 0.97
    assert "Fluorine" in rp.radionuclide
    ds = pydicom.dcmread(path)
    np.testing.assert_allclose(vol.array[0], ds.pixel_array * float(ds.RescaleSlope), rtol=1e-6)
    acquired = datetime.strptime(ds.AcquisitionDate + ds.AcquisitionTime, "%Y%m%d%H%M%S.%f").replace(
        tzinfo=UTC
    )
    assert vol.acquisition_datetime == acquired
    assert any("Timezone Offset From UTC" in w for w in vol.metadata.warnings)


def test_find_series_in_the_data_folder(data_dir: Path) -> None:
    series = find_series(data_dir, policy=Policy.IGNORE)
    by_modality = sorted((s.modality, len(s.files), s.rows) for s in series if s.modality in {"CT", "PT"})
    assert by_modality == [("CT", 3, 512), ("CT", 20, 512), ("PT", 1, 168), ("PT", 1, 168)]
