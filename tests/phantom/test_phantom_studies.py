"""Image content of the default synthetic patient against independently derived truth.

Reference constants used here (written out, not imported from the code):
Y-90 T½ 64.1 h (TheraSphere IFU), Ga-68 T½ 67.71 min (ENSDF, ICRP 107), Tc-99m
T½ 6.0067 h (NNDC).
"""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pytest
from pydicom.uid import generate_uid
from scipy import ndimage

from nelm.imaging.geometry import Geometry
from nelm.imaging.metadata import ValueUnit
from nelm.phantom import PhantomConfig, SyntheticPatient, generate_patient
from nelm.phantom.studies import planar_projection
from nelm.phantom.truth import LesionTruth

Y90_T_HALF_H = 64.1
GA68_T_HALF_S = 67.71 * 60.0


@pytest.fixture(scope="module")
def patient() -> SyntheticPatient:
    return generate_patient(PhantomConfig())


def _interior(mask: np.ndarray, iterations: int = 1) -> np.ndarray:
    return ndimage.binary_erosion(mask, structure=np.ones((3, 3, 3), bool), iterations=iterations)


def _xyz(geometry: Geometry) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """LPS x, y, z of the voxel centres of an axial grid as broadcastable arrays."""
    assert geometry.orientation == "SPL"
    (ox, oy, oz), (sz, sy, sx) = geometry.origin_mm, geometry.spacing_mm
    z = oz + sz * np.arange(geometry.shape[0])[:, None, None]
    y = oy + sy * np.arange(geometry.shape[1])[None, :, None]
    x = ox + sx * np.arange(geometry.shape[2])[None, None, :]
    return x, y, z


def _far_from_lesions(patient: SyntheticPatient, tp: str, geometry: Geometry, margin_mm: float) -> np.ndarray:
    """Voxels whose centres are farther than ``margin_mm`` from every lesion's bounding sphere."""
    x, y, z = _xyz(geometry)
    far = np.ones(geometry.shape, dtype=bool)
    for les in patient.truth.time_point(tp).lesions:
        if les.present:
            r = max(les.semi_axes_mm) + margin_mm
            cx, cy, cz = les.centroid_lps_mm
            far &= (x - cx) ** 2 + (y - cy) ** 2 + (z - cz) ** 2 > r * r
    return far


def _lesion_core(les: LesionTruth, geometry: Geometry, shrink_mm: float) -> np.ndarray:
    """Voxel centres inside the lesion ellipsoid shrunk by ``shrink_mm`` on every semi-axis."""
    x, y, z = _xyz(geometry)
    (cx, cy, cz), (a, b, c) = les.centroid_lps_mm, (s - shrink_mm for s in les.semi_axes_mm)
    return np.asarray(((x - cx) / a) ** 2 + ((y - cy) / b) ** 2 + ((z - cz) / c) ** 2 <= 1.0)


def test_default_patient_structure(patient: SyntheticPatient) -> None:
    assert [tp.id for tp in patient.time_points] == ["baseline", "maa", "y90", "fu1", "fu2"]
    base = patient.time_point("baseline")
    assert set(base.images) == {"ct_unenhanced", "ct_arterial", "ct_portal", "pet_sstr", "mr_hbp"}
    assert set(patient.time_point("fu1").images) == {"ct_arterial", "ct_portal"}
    assert patient.truth.time_point("baseline").lesion_count == 12
    assert patient.truth.time_point("baseline").distribution == "bilobar"
    for tp in patient.time_points:
        for vol in tp.images.values():
            assert vol.acquisition_datetime is not None
            assert vol.acquisition_datetime.utcoffset() is not None
            assert vol.metadata.study_instance_uid == tp.study_instance_uid
    units = {role: v.units for role, v in base.images.items()}
    assert units["ct_portal"] is ValueUnit.HU
    assert units["pet_sstr"] is ValueUnit.BQ_PER_ML
    assert units["mr_hbp"] is ValueUnit.ARBITRARY
    assert patient.image("maa", "spect_maa").units is ValueUnit.COUNTS
    assert patient.image("maa", "spect_maa").modality == "NM"
    assert patient.image("y90", "pet_y90").modality == "PT"


def test_uids_are_deterministic_and_consistent(patient: SyntheticPatient) -> None:
    base = patient.time_point("baseline")
    assert base.study_instance_uid == generate_uid(entropy_srcs=["0", "baseline"])
    series = [v.metadata.series_instance_uid for tp in patient.time_points for v in tp.images.values()]
    assert len(series) == len(set(series))
    ct_for = {
        base.images[r].metadata.frame_of_reference_uid for r in ("ct_unenhanced", "ct_arterial", "ct_portal")
    }
    assert len(ct_for) == 1  # one CT session
    assert base.images["pet_sstr"].metadata.frame_of_reference_uid not in ct_for
    maa = patient.time_point("maa")
    assert (
        maa.images["spect_maa"].metadata.frame_of_reference_uid
        == maa.images["ct_lowdose"].metadata.frame_of_reference_uid
    )  # SPECT/CT
    studies = [tp.study_instance_uid for tp in patient.time_points]
    assert len(studies) == len(set(studies))
    ct = base.images["ct_portal"]
    assert len(ct.metadata.sop_instance_uids) == ct.shape[0]


def test_arterial_hyperenhancement_as_prescribed(patient: SyntheticPatient) -> None:
    """Mean HU in a lesion's interior minus liver interior = prescribed arterial difference.

    Tolerance: 5 standard errors of the difference of two means with σ = 12 HU voxel noise.
    """
    ct = patient.image("baseline", "ct_arterial")
    g = ct.geometry
    liver = patient.mask("baseline", "liver").array > 0
    liver_ref = _interior(liver, 3) & _far_from_lesions(patient, "baseline", g, 8.0)
    liver_mean = float(ct.array[liver_ref].mean())
    checked = 0
    for les in patient.truth.time_point("baseline").lesions:
        if les.necrotic_core_fraction > 0 or min(les.semi_axes_mm) < 9.0:
            continue
        core = _lesion_core(les, g, 6.0)  # 6 mm clear of the edge: beyond the PSF's reach
        values = ct.array[core].astype(float)
        expected = les.ct_hu["arterial"]
        tolerance = 5 * 12.0 * math.sqrt(1 / values.size + 1 / liver_ref.sum())
        liver_hu = 75.0  # prescribed late-arterial liver attenuation (studies module docstring)
        assert liver_mean == pytest.approx(liver_hu, abs=1.0)
        assert values.mean() - liver_mean == pytest.approx(expected - liver_hu, abs=tolerance)
        assert (values.mean() > liver_mean) == les.hypervascular
        checked += 1
    assert checked >= 1


def test_maa_lung_shunt_fraction_on_noise_free_truth(patient: SyntheticPatient) -> None:
    """Lung counts / (lung + liver counts) in the noise-free SPECT equals the prescribed LSF."""
    truth = patient.noise_free["maa/spect_maa"].array.astype(np.float64)
    lungs = patient.mask("maa", "lungs").array > 0
    liver = patient.mask("maa", "liver").array > 0
    cube = np.ones((3, 3, 3), dtype=bool)
    # Partial-volume voxels touch a voxel whose centre is inside; the organs are 16 mm apart.
    lung_region = ndimage.binary_dilation(lungs, structure=cube)
    liver_region = ndimage.binary_dilation(liver, structure=cube, iterations=2)
    assert not np.any(lung_region & liver_region)
    assert truth[~(lung_region | liver_region)].sum() == 0.0  # no activity anywhere else
    lung = truth[lung_region].sum()
    lsf = lung / (lung + truth[liver_region].sum())
    assert lsf == pytest.approx(patient.config.tare.lung_shunt_fraction, rel=1e-5)  # type: ignore[union-attr]


def test_maa_tumour_to_normal_ratio_on_noise_free_truth(patient: SyntheticPatient) -> None:
    truth = patient.noise_free["maa/spect_maa"].array
    g = truth.shape
    geometry = patient.image("maa", "spect_maa").geometry
    perfused = patient.mask("maa", "perfused").array > 0
    normal = _interior(perfused) & _far_from_lesions(patient, "maa", geometry, 2 * max(geometry.spacing_mm))
    normal_mean = float(truth[normal].mean())
    assert np.ptp(truth[normal]) < 1e-3 * normal_mean  # uniform normal perfused liver
    ratios = []
    lm = patient.mask("maa", "lesions")
    for les in patient.truth.time_point("maa").lesions:
        if not les.perfused or les.necrotic_core_fraction > 0:
            continue
        inner = _interior(lm.array == les.label_value)
        if inner.any():
            ratios.append(float(truth[inner].mean()) / normal_mean)
    assert ratios, f"no perfused lesion with interior voxels on the SPECT grid {g}"
    np.testing.assert_allclose(ratios, patient.config.tare.tn_ratio, rtol=1e-5)  # type: ignore[union-attr]
    # Unperfused (left-lobe) liver receives nothing.
    liver = patient.mask("maa", "liver").array > 0
    assert truth[_interior(liver & ~perfused, 2)].max() == 0.0


def test_planar_geometric_mean_overestimates_lsf(patient: SyntheticPatient) -> None:
    maa = patient.truth.maa
    assert maa is not None
    gm = math.sqrt(maa.planar.lung_anterior_counts * maa.planar.lung_posterior_counts)
    gl = math.sqrt(maa.planar.liver_anterior_counts * maa.planar.liver_posterior_counts)
    assert maa.planar.geometric_mean_lsf == pytest.approx(gm / (gm + gl))
    assert maa.planar.geometric_mean_lsf > maa.lung_shunt_fraction
    views = patient.time_point("maa").planar["planar_maa"]
    assert set(views) == {"ANTERIOR", "POSTERIOR"}
    assert all(v.shape[0] == 1 and v.modality == "NM" for v in views.values())


def test_planar_without_attenuation_gives_the_true_lsf(patient: SyntheticPatient) -> None:
    """With μ = 0 projections conserve counts, so the geometric-mean LSF is the true LSF."""
    truth = patient.noise_free["maa/spect_maa"].array
    geometry = patient.image("maa", "spect_maa").geometry
    lungs = ndimage.binary_dilation(patient.mask("maa", "lungs").array > 0)
    lung_activity = np.where(lungs, truth, 0.0)
    proj = planar_projection(truth, lung_activity, np.zeros_like(truth), geometry, 1.0)
    assert proj.geometric_mean_lsf == pytest.approx(patient.config.tare.lung_shunt_fraction, rel=1e-5)  # type: ignore[union-attr]


def test_y90_total_activity_equals_decayed_administered_activity(patient: SyntheticPatient) -> None:
    tare = patient.config.tare
    assert tare is not None
    pet = patient.image("y90", "pet_y90")
    treatment = patient.config.treatment_datetime
    assert treatment is not None
    elapsed_h = (pet.acquisition_datetime - treatment).total_seconds() / 3600.0  # type: ignore[operator]
    expected_bq = tare.activity_gbq * 1e9 * 2.0 ** (-elapsed_h / Y90_T_HALF_H)
    measured_bq = float(pet.array.sum(dtype=np.float64)) * pet.geometry.voxel_volume_ml
    assert measured_bq == pytest.approx(expected_bq, rel=0.01)  # Poisson noise and blur conserve the total
    noise_free = patient.noise_free["y90/pet_y90"].array.sum(dtype=np.float64) * pet.geometry.voxel_volume_ml
    assert noise_free == pytest.approx(expected_bq, rel=1e-5)
    rp = pet.metadata.radiopharmaceutical
    assert rp is not None
    assert rp.half_life_s == pytest.approx(Y90_T_HALF_H * 3600.0)
    assert rp.positron_fraction == pytest.approx(3.2e-5)
    assert rp.injected_activity_bq == pytest.approx(tare.activity_gbq * 1e9)
    assert rp.decay_correction == "START"


def test_sstr_pet_suv_from_first_principles(patient: SyntheticPatient) -> None:
    """SUV = C · weight / (A_inj · 2^(-Δt/T½)) in the noise-free liver interior equals 7 (liver)."""
    pet = patient.image("baseline", "pet_sstr")
    rp = pet.metadata.radiopharmaceutical
    assert rp is not None
    assert rp.radionuclide == "^68^Gallium"
    assert rp.half_life_s == pytest.approx(GA68_T_HALF_S)
    assert rp.injection_datetime is not None
    assert pet.acquisition_datetime is not None
    assert rp.injection_datetime < pet.acquisition_datetime
    assert rp.decay_correction == "START"
    assert rp.patient_weight_kg == 72.0
    assert rp.patient_height_m == pytest.approx(1.68)
    truth = patient.noise_free["baseline/pet_sstr"].array
    liver = _interior(patient.mask("baseline", "liver", grid="pet_sstr").array > 0, 2)
    liver &= _far_from_lesions(patient, "baseline", pet.geometry, 8.0)
    dt = (pet.acquisition_datetime - rp.injection_datetime).total_seconds()
    assert rp.injected_activity_bq is not None
    suv = truth[liver].mean() * 72.0 * 1000.0 / (rp.injected_activity_bq * 2.0 ** (-dt / GA68_T_HALF_S))
    assert suv == pytest.approx(7.0, rel=1e-4)
    spleen = _interior(patient.mask("baseline", "spleen", grid="pet_sstr").array > 0)
    assert truth[spleen].mean() > truth[liver].mean()  # spleen has the highest physiological uptake


def test_masks_lie_on_their_image_grids(patient: SyntheticPatient) -> None:
    for tp in patient.time_points:
        for grid, masks in tp.masks.items():
            image = tp.images.get(grid) or tp.planar[grid]["ANTERIOR"]
            for lm in masks.values():
                lm.require_on(image, image_name=grid)


def test_mask_voxel_counts_in_truth(patient: SyntheticPatient) -> None:
    tp = patient.truth.time_point("baseline")
    liver = patient.mask("baseline", "liver")
    assert tp.mask_counts["ct_portal"]["liver"]["liver"].voxel_count == int((liver.array > 0).sum())
    lm = patient.mask("baseline", "lesions")
    for les in tp.lesions:
        assert les.voxel_counts["ct_portal"] == int((lm.array == les.label_value).sum())


def test_liver_mask_volume_matches_high_resolution_truth(patient: SyntheticPatient) -> None:
    """|V_mask - V_true| ≤ surface area × half voxel diagonal (area overestimated by mask faces)."""
    lm = patient.mask("baseline", "liver")
    mask = lm.array > 0
    sz, sy, sx = lm.geometry.spacing_mm
    faces = sum(
        np.count_nonzero(np.diff(mask.astype(np.int8), axis=axis)) * area
        for axis, area in ((0, sy * sx), (1, sz * sx), (2, sz * sy))
    )
    half_diag = 0.5 * math.sqrt(sz * sz + sy * sy + sx * sx)
    truth_ml = patient.truth.organs.liver_volume_ml
    assert 1300 < truth_ml < 1800
    assert abs(lm.volume_ml(1) - truth_ml) <= faces * half_diag / 1000.0
    assert lm.volume_ml(1) == pytest.approx(truth_ml, rel=0.01)  # errors largely cancel


def test_follow_up_dates_are_after_treatment(patient: SyntheticPatient) -> None:
    treatment = patient.config.treatment_datetime
    assert treatment is not None
    fu1 = patient.time_point("fu1").datetime
    assert fu1 - treatment >= timedelta(days=89)
    assert patient.time_point("baseline").datetime < patient.time_point("maa").datetime < treatment
