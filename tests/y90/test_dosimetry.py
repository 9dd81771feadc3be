"""Y-90 voxel dosimetry: activity calibration, local deposition and kernel convolution.

Expected values are hand calculations from the formulas of reference/y90-dosimetry.md §2.5
(written out here), energy balances, and the synthetic patient's truth (nelm.phantom).
"""

from __future__ import annotations

import json
import math
from datetime import date, datetime, timedelta, timezone
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from scipy import ndimage

from nelm.case import load_case
from nelm.errors import ConfigError, GeometryError, InputError, MaskError, UnitsError
from nelm.imaging.geometry import Geometry
from nelm.imaging.labelmap import LabelMap
from nelm.imaging.metadata import Radiopharmaceutical, SeriesMetadata, ValueUnit
from nelm.imaging.volume import Volume
from nelm.phantom import (
    AcquisitionConfig,
    PhantomConfig,
    SyntheticPatient,
    TareConfig,
    generate_patient,
    write_patient,
)
from nelm.timepoint_data import TimePointData, load_time_point
from nelm.y90.constants import DEFAULT_CONSTANTS
from nelm.y90.dosimetry import (
    ActivityMap,
    ActivityMethod,
    DoseMethod,
    OutsideMask,
    absorbed_dose,
    activity_from_pet,
    activity_patient_relative,
    density_from_hu,
)
from nelm.y90.kernels import load_lanconelli, voxel_kernel

TZ = timezone(timedelta(hours=1))
ADMIN = datetime(2026, 2, 16, 10, 30, tzinfo=TZ)
K = 49.67  # Gy·kg/GBq (Gulec 2006), nelm's default dose coefficient
RHO = 1.03  # g/mL, nelm's default liver density
T_HALF_H = 64.1
TAU_S = T_HALF_H * 3600 / math.log(2)
MEV = 1.602176634e-13
E_DECAY_J = K / (TAU_S * 1e9)  # K = Ē·τ (reference §2.1)
LANCONELLI_48 = "kernels/y90-lanconelli2012/90Y4.8mmsoft.txt"


def _volume(
    arr: npt.ArrayLike,
    spacing: tuple[float, float, float] = (4.0, 4.0, 4.0),
    *,
    units: ValueUnit = ValueUnit.BQ_PER_ML,
    modality: str = "PT",
    when: datetime | None = None,
    radio: Radiopharmaceutical | None = None,
) -> Volume:
    a = np.asarray(arr, dtype=np.float32)
    g = Geometry.from_spacing(a.shape, spacing)  # type: ignore[arg-type]
    return Volume(a, g, modality, units, when, SeriesMetadata(radiopharmaceutical=radio))


def _activity(arr: npt.ArrayLike, spacing: tuple[float, float, float] = (4.0, 4.0, 4.0)) -> ActivityMap:
    vol = _volume(arr, spacing, units=ValueUnit.ARBITRARY)
    return ActivityMap(vol, ActivityMethod.PATIENT_RELATIVE)


def _ball(n: int, h: float, radius_mm: float) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    x = (np.arange(n) - (n - 1) / 2) * h
    r = np.sqrt(x[:, None, None] ** 2 + x[None, :, None] ** 2 + x[None, None, :] ** 2)
    return r, r <= radius_mm


# -- activity from PET -------------------------------------------------------------------------
def test_pet_activity_by_hand() -> None:
    pet = _volume(np.full((6, 5, 4), 1000.0), when=ADMIN + timedelta(hours=48))
    act = activity_from_pet(pet, ADMIN)
    per_voxel = 1000.0 * 0.064 * 2 ** (48 / T_HALF_H) / 1e6  # Bq/mL · mL · decay factor → MBq
    np.testing.assert_allclose(act.activity_mbq.array, per_voxel, rtol=1e-6)
    assert act.total_mbq == pytest.approx(120 * per_voxel, rel=1e-6)
    assert act.method is ActivityMethod.PET_ABSOLUTE
    assert act.administration_datetime == ADMIN
    json.dumps(act.to_dict())


def test_pet_across_a_timezone_and_dst_change() -> None:
    """Full date-times: 2026-03-29 is the CET→CEST change; 10:00 CET to 10:00 CEST is 23 h."""
    cet, cest = timezone(timedelta(hours=1)), timezone(timedelta(hours=2))
    pet = _volume(np.full((2, 2, 2), 500.0), when=datetime(2026, 3, 29, 10, 0, tzinfo=cest))
    act = activity_from_pet(pet, datetime(2026, 3, 28, 10, 0, tzinfo=cet))
    np.testing.assert_allclose(act.activity_mbq.array, 500.0 * 0.064 * 2 ** (23 / T_HALF_H) / 1e6, rtol=1e-6)


def test_pet_already_decay_corrected_to_administration() -> None:
    radio = Radiopharmaceutical(half_life_s=T_HALF_H * 3600, decay_correction="ADMIN")
    pet = _volume(np.full((2, 2, 2), 1000.0), when=ADMIN + timedelta(hours=30), radio=radio)
    act = activity_from_pet(pet, ADMIN)
    np.testing.assert_allclose(act.activity_mbq.array, 1000.0 * 0.064 / 1e6, rtol=1e-6)


def test_pet_bad_inputs() -> None:
    later = ADMIN + timedelta(hours=20)
    good = _volume(np.full((2, 2, 2), 100.0), when=later)
    with pytest.raises(InputError, match="no timezone"):
        activity_from_pet(good, ADMIN.replace(tzinfo=None))
    with pytest.raises(InputError, match="without a time"):
        activity_from_pet(good, date(2026, 2, 16))  # type: ignore[arg-type]
    with pytest.raises(InputError, match="acquisition_datetime is missing"):
        activity_from_pet(_volume(np.ones((2, 2, 2))), ADMIN)
    with pytest.raises(InputError, match="before the administration"):
        activity_from_pet(_volume(np.ones((2, 2, 2)), when=ADMIN - timedelta(minutes=5)), ADMIN)
    with pytest.raises(UnitsError, match="counts"):
        activity_from_pet(_volume(np.ones((2, 2, 2)), units=ValueUnit.COUNTS, when=later), ADMIN)
    with pytest.raises(UnitsError, match="g/mL"):
        activity_from_pet(_volume(np.ones((2, 2, 2)), units=ValueUnit.SUV_BW, when=later), ADMIN)
    negative = np.full((2, 2, 2), 100.0)
    negative[0, 0, 0] = -3.0
    with pytest.raises(InputError, match="1 negative voxels"):
        activity_from_pet(_volume(negative, when=later), ADMIN)
    clipped = activity_from_pet(_volume(negative, when=later), ADMIN, clip_negative=True)
    assert clipped.activity_mbq.array[0, 0, 0] == 0.0
    with pytest.raises(InputError, match="NaN"):
        activity_from_pet(_volume(np.full((2, 2, 2), np.nan), when=later), ADMIN)
    f18 = Radiopharmaceutical(half_life_s=6586.2, decay_correction="START")
    with pytest.raises(InputError, match="half-life"):
        activity_from_pet(_volume(np.ones((2, 2, 2)), when=later, radio=f18), ADMIN)
    with pytest.raises(InputError, match="no activity"):
        activity_from_pet(_volume(np.zeros((2, 2, 2)), when=later), ADMIN)


# -- patient-relative ------------------------------------------------------------------------------
def test_patient_relative_by_hand() -> None:
    counts = np.arange(1.0, 28.0).reshape(3, 3, 3)
    mask = np.zeros((3, 3, 3), dtype=bool)
    mask[1:, :, :] = True
    inside = counts[1:].sum()  # 10+...+27 = 333
    assert inside == 333
    image = _volume(counts, units=ValueUnit.COUNTS)
    act = activity_patient_relative(image, 2.0, mask, lung_shunt_fraction=0.1, residual_fraction=0.05)
    expected = 2000.0 * 0.9 * 0.95 * counts / 333
    np.testing.assert_allclose(act.activity_mbq.array[1:], expected[1:], rtol=1e-6)
    assert np.all(act.activity_mbq.array[0] == 0)
    assert act.total_mbq == pytest.approx(1710.0, rel=1e-6)
    kept = activity_patient_relative(image, 2.0, mask, lung_shunt_fraction=0.1, outside_mask=OutsideMask.KEEP)
    np.testing.assert_allclose(kept.activity_mbq.array, 2000.0 * 0.9 * counts / 333, rtol=1e-6)
    assert kept.total_mbq == pytest.approx(1800.0 * 378 / 333, rel=1e-6)
    labels = LabelMap.from_binary(mask, image.geometry, "liver")
    via_labels = activity_patient_relative(
        image, 2.0, labels, lung_shunt_fraction=0.1, residual_fraction=0.05
    )
    np.testing.assert_array_equal(via_labels.activity_mbq.array, act.activity_mbq.array)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"lung_shunt_fraction": 1.0}, InputError, "lung_shunt_fraction"),
        ({"lung_shunt_fraction": 1.5}, InputError, "lung_shunt_fraction"),
        ({"lung_shunt_fraction": -0.01}, InputError, "lung_shunt_fraction"),
        ({"lung_shunt_fraction": float("nan")}, InputError, "lung_shunt_fraction"),
        ({"residual_fraction": 1.0}, InputError, "residual_fraction"),
        ({"administered_activity_gbq": 0.0}, InputError, "positive"),
        ({"administered_activity_gbq": -2.0}, InputError, "positive"),
        ({"administered_activity_gbq": True}, InputError, "administered_activity_gbq"),
        ({"outside_mask": "drop"}, ConfigError, "outside_mask"),
    ],
)
def test_patient_relative_bad_values(kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    image = _volume(np.ones((3, 3, 3)), units=ValueUnit.COUNTS)
    args: dict[str, Any] = {"administered_activity_gbq": 2.0, **kwargs}
    with pytest.raises(error, match=match):
        activity_patient_relative(image, normalisation_mask=np.ones((3, 3, 3), bool), **args)


def test_patient_relative_boundaries_are_exact() -> None:
    image = _volume(np.ones((2, 2, 2)), units=ValueUnit.COUNTS)
    mask = np.ones((2, 2, 2), bool)
    assert activity_patient_relative(image, 1.0, mask, lung_shunt_fraction=0.0).total_mbq == pytest.approx(
        1000
    )
    just_below = activity_patient_relative(image, 1.0, mask, lung_shunt_fraction=0.999999)
    assert just_below.total_mbq == pytest.approx(1000 * 1e-6, rel=1e-5)


def test_patient_relative_bad_masks_and_images() -> None:
    image = _volume(np.ones((3, 3, 3)), units=ValueUnit.COUNTS)
    with pytest.raises(MaskError, match="empty"):
        activity_patient_relative(image, 1.0, np.zeros((3, 3, 3), bool))
    with pytest.raises(GeometryError, match="shape"):
        activity_patient_relative(image, 1.0, np.ones((3, 3, 2), bool))
    other = LabelMap.from_binary(
        np.ones((3, 3, 3), bool), Geometry.from_spacing((3, 3, 3), (5.0, 5.0, 5.0)), "liver"
    )
    with pytest.raises(GeometryError, match="different grid"):
        activity_patient_relative(image, 1.0, other)
    cold = np.ones((3, 3, 3))
    cold[0] = 0
    mask = np.zeros((3, 3, 3), bool)
    mask[0] = True
    with pytest.raises(MaskError, match="no counts"):
        activity_patient_relative(_volume(cold, units=ValueUnit.COUNTS), 1.0, mask)
    with pytest.raises(UnitsError, match="HU"):
        activity_patient_relative(_volume(cold, units=ValueUnit.HU, modality="CT"), 1.0, ~mask)
    negative = np.ones((3, 3, 3))
    negative[2, 2, 2] = -1
    with pytest.raises(InputError, match="negative"):
        activity_patient_relative(_volume(negative, units=ValueUnit.COUNTS), 1.0, ~mask)


# -- local deposition and kernels -----------------------------------------------------------
def test_local_deposition_of_uniform_activity_by_hand() -> None:
    act = _activity(np.full((4, 4, 4), 2.5), spacing=(4.0, 4.0, 5.0))
    dose = absorbed_dose(act, method=DoseMethod.LOCAL_DEPOSITION)
    mass_kg = RHO * 0.08 / 1000  # 4·4·5 mm³ = 0.08 mL
    expected = K * (2.5 / 1000) / mass_kg
    np.testing.assert_allclose(dose.dose_gy.array, expected, rtol=1e-6)
    assert dose.dose_gy.units is ValueUnit.GY
    assert dose.dose_gy.modality == "RTDOSE"
    manufacturer = absorbed_dose(
        act, method="local_deposition", constants=DEFAULT_CONSTANTS.with_(dose_coefficient_gy_kg_per_gbq=50.0)
    )
    np.testing.assert_allclose(manufacturer.dose_gy.array, expected * 50 / K, rtol=1e-6)
    as_dict = dose.to_dict()
    json.dumps(as_dict)
    assert as_dict["method"] == "local_deposition"


def test_uniform_sphere_kernel_equals_local_deposition_inside() -> None:
    """Radius 60 mm at 4 mm: ≥ 20 mm inside the surface (beyond the kernel's reach) the kernel
    dose equals K·A/M within 1 %; the whole sphere receives K·A_total in energy."""
    h, n = 4.0, 41
    r, ball = _ball(n, h, 60.0)
    act = _activity(np.where(ball, 1.0, 0.0), spacing=(h, h, h))
    led = absorbed_dose(act, method=DoseMethod.LOCAL_DEPOSITION).dose_gy.array
    kern = absorbed_dose(act).dose_gy.array
    by_hand = K * (1.0 / 1000) / (RHO * 0.064 / 1000)
    np.testing.assert_allclose(led[ball], by_hand, rtol=1e-6)
    inner = r <= 40.0
    np.testing.assert_allclose(kern[inner], by_hand, rtol=0.01)
    mass_kg = RHO * 0.064 / 1000
    assert float(kern.sum(dtype=np.float64)) * mass_kg == pytest.approx(K * ball.sum() / 1000, rel=0.005)


def _energy_balance(dose: npt.NDArray[np.float32], activity_mbq: npt.NDArray[np.float64], h: float) -> float:
    """Σ D·m / (Ã · E_decay) with m = ρ_ref · V and Ã = Σ A0 · τ (decays)."""
    absorbed_j = float(dose.sum(dtype=np.float64)) * RHO * h**3 * 1e-6
    emitted_j = float(activity_mbq.sum()) * 1e6 * TAU_S * E_DECAY_J
    return absorbed_j / emitted_j


@pytest.mark.parametrize("source", ["point", "random"])
def test_energy_conservation_with_nelm_kernel(source: str) -> None:
    h, n = 4.8, 31
    a = np.zeros((n, n, n))
    if source == "point":
        a[15, 15, 15] = 1.0
    else:
        a[8:23, 8:23, 8:23] = np.random.default_rng(1).random((15, 15, 15))
    dose = absorbed_dose(_activity(a, (h, h, h))).dose_gy.array
    assert _energy_balance(dose, a, h) == pytest.approx(1.0, abs=0.005)


@pytest.mark.realdata
@pytest.mark.parametrize("source", ["point", "random"])
def test_energy_conservation_with_lanconelli_kernel(data_file: Any, source: str) -> None:
    table = load_lanconelli(data_file(LANCONELLI_48))
    h, n = 4.8, 31
    a = np.zeros((n, n, n))
    if source == "point":
        a[15, 15, 15] = 1.0
    else:
        a[8:23, 8:23, 8:23] = np.random.default_rng(2).random((15, 15, 15))
    dose = absorbed_dose(_activity(a, (h, h, h)), kernel=table).dose_gy.array
    ratio = _energy_balance(dose, a, h)
    assert ratio == pytest.approx(1.0, abs=0.005)
    # and exactly the table's own energy per decay (Σ S·m ≈ 0.935 MeV vs nelm's 0.9312 MeV)
    assert ratio * E_DECAY_J == pytest.approx(table.energy_per_decay_j, rel=1e-4)


@pytest.mark.realdata
@pytest.mark.parametrize(("diameter_mm", "tolerance"), [(20.0, 0.05), (40.0, 0.03)])
def test_small_lesion_dose_nelm_versus_lanconelli(
    data_file: Any, diameter_mm: float, tolerance: float
) -> None:
    """Mean dose in a uniform sphere with nelm's kernel and Lanconelli's at 4.8 mm agree within the
    tolerance stated in nelm.y90.kernels (Loevinger keeps less energy near the source)."""
    h, n = 4.8, 25
    _, ball = _ball(n, h, diameter_mm / 2)
    act = _activity(np.where(ball, 1.0, 0.0), (h, h, h))
    nelm = absorbed_dose(act).dose_gy.array[ball].mean()
    lanc = absorbed_dose(act, kernel=load_lanconelli(data_file(LANCONELLI_48))).dose_gy.array[ball].mean()
    led = K * 1e-3 / (RHO * h**3 * 1e-6)
    assert nelm < led
    assert lanc < led
    assert nelm == pytest.approx(lanc, rel=tolerance)


@pytest.mark.realdata
def test_a_kernel_of_another_voxel_size_is_refused(data_file: Any) -> None:
    table = load_lanconelli(data_file(LANCONELLI_48))
    with pytest.raises(GeometryError, match="never interpolated"):
        absorbed_dose(_activity(np.ones((5, 5, 5)), (4.0, 4.0, 4.0)), kernel=table)


def test_kernel_is_computed_for_the_reference_density() -> None:
    act = _activity(np.ones((5, 5, 5)), (4.0, 4.0, 3.0))
    dose = absorbed_dose(act)
    kernel = voxel_kernel((4.0, 4.0, 3.0), density_g_per_ml=RHO)
    assert dose.kernel_source == kernel.source
    assert dose.method is DoseMethod.KERNEL


# -- density -----------------------------------------------------------------------------------
def test_density_from_hu_by_hand() -> None:
    ct = _volume([[[-1000.0, -500.0, 0.0, 40.0, 1000.0]]], units=ValueUnit.HU, modality="CT")
    rho = density_from_hu(ct)
    np.testing.assert_allclose(rho.array.ravel(), [0.0012, 0.5, 1.0, 1.04, 2.0], rtol=1e-6)
    assert rho.units.value == "g/mL"
    custom = density_from_hu(ct, calibration=[(-1000.0, 0.001), (0.0, 1.0), (1000.0, 1.6)])
    # the air floor (0.0012 g/mL) applies to a calibration too
    np.testing.assert_allclose(custom.array.ravel(), [0.0012, 0.5005, 1.0, 1.024, 1.6], rtol=1e-5)
    with pytest.raises(UnitsError, match="not HU"):
        density_from_hu(_volume(np.ones((1, 1, 2))))
    with pytest.raises(ConfigError, match="increase"):
        density_from_hu(ct, calibration=[(0.0, 1.0), (-10.0, 0.99)])


@pytest.mark.parametrize("method", list(DoseMethod))
def test_density_correction(method: DoseMethod) -> None:
    """A density map of the reference density changes nothing; elsewhere D·ρ_ref/ρ_v with ρ_v
    floored at 0.1 g/mL, so air (0.0012 g/mL) stays finite."""
    a = np.zeros((15, 15, 15))
    a[4:11, 4:11, 4:11] = 1.0
    act = _activity(a)
    plain = absorbed_dose(act, method=method).dose_gy.array
    same = _volume(np.full(a.shape, RHO), units=ValueUnit("g/mL"), modality="CT")
    # equal up to float32 FFT round-off (1e-6 of the peak)
    with_map = absorbed_dose(act, method=method, density=same).dose_gy.array
    np.testing.assert_allclose(with_map, plain, rtol=1e-5, atol=1e-6 * plain.max())
    hu = np.zeros(a.shape)
    hu[:, :, :7] = -1000.0  # air: 0.0012 g/mL, floored at 0.1
    hu[:, :, 7:9] = -740.0  # lung-like: 0.26 g/mL
    density = density_from_hu(_volume(hu, units=ValueUnit.HU, modality="CT"))
    corrected = absorbed_dose(act, method=method, density=density)
    rho_v = np.maximum(1.0 + hu / 1000.0, 0.1)
    expected = plain * RHO / rho_v
    np.testing.assert_allclose(corrected.dose_gy.array, expected, rtol=1e-5, atol=1e-5 * expected.max())
    assert np.all(np.isfinite(corrected.dose_gy.array))
    assert corrected.density_corrected


def test_density_map_bad_inputs() -> None:
    act = _activity(np.ones((4, 4, 4)))
    with pytest.raises(GeometryError, match="density map"):
        absorbed_dose(act, density=_volume(np.ones((4, 4, 5)), units=ValueUnit("g/mL"), modality="CT"))
    with pytest.raises(UnitsError, match="density_from_hu"):
        absorbed_dose(act, density=_volume(np.zeros((4, 4, 4)), units=ValueUnit.HU, modality="CT"))
    with pytest.raises(UnitsError, match="SUV"):
        absorbed_dose(act, density=_volume(np.ones((4, 4, 4)), units=ValueUnit.SUV_BW, modality="PT"))
    with pytest.raises(ConfigError, match="minimum_density"):
        absorbed_dose(act, minimum_density_g_per_ml=0.0)
    with pytest.raises(ConfigError, match="dose method"):
        absorbed_dose(act, method="monte_carlo")
    with pytest.raises(InputError, match="ActivityMap"):
        absorbed_dose(np.ones((4, 4, 4)))  # type: ignore[arg-type]


def test_kernel_needs_an_orthogonal_grid() -> None:
    affine = np.eye(4)
    affine[:3, :3] = [[4.0, 1.0, 0.0], [0.0, 4.0, 0.0], [0.0, 0.0, 4.0]]  # sheared
    vol = Volume(np.ones((3, 3, 3), np.float32), Geometry((3, 3, 3), affine), "PT", ValueUnit.ARBITRARY)
    act = ActivityMap(vol, ActivityMethod.PATIENT_RELATIVE)
    with pytest.raises(GeometryError, match="orthogonal"):
        absorbed_dose(act)
    assert absorbed_dose(act, method=DoseMethod.LOCAL_DEPOSITION).dose_gy.array.max() > 0


# -- the synthetic patient's Y-90 PET -----------------------------------------------------------
@pytest.fixture(scope="module")
def phantom(tmp_path_factory: pytest.TempPathFactory) -> tuple[SyntheticPatient, TimePointData]:
    config = PhantomConfig(
        seed=3,
        n_lesions=3,
        lesion_shape="sphere",  # type: ignore[arg-type]
        diameter_range_mm=(30.0, 40.0),
        necrotic_lesion_fraction=0.0,
        tare=TareConfig(territory="whole_liver"),  # type: ignore[arg-type]
        include_mri=False,
        include_pet=False,
        include_lowdose_ct=False,
        follow_ups=(),
        acquisition=AcquisitionConfig(ct_spacing_mm=(4.0, 3.0, 3.0)),
    )
    patient = generate_patient(config)
    manifest = write_patient(patient, tmp_path_factory.mktemp("y90"), formats=("nifti",))
    case = load_case(manifest)
    return patient, load_time_point(case.time_point("y90"))


def test_phantom_pet_gives_the_prescribed_doses(phantom: tuple[SyntheticPatient, TimePointData]) -> None:
    """Truth (whole-liver TARE, TNR 3, LSF 6 %): normal liver D_N = K · c_N / ρ with c_N the truth
    concentration at administration; tumour D_T = TNR · D_N. The partition model from the truth
    volumes, D_N = K·A_liver/(ρ·(TNR·V_T + V_N)), agrees within 3 % (the phantom puts activity
    only in liver voxels whose centre lies in the liver, so its concentration is ~2 % higher).

    Tolerances: the whole PET holds the administered activity within 1 % (blur conserves counts);
    normal liver ≥ 2 voxels from its surface and ≥ 3 voxels from a lesion within 3 % (35 %
    voxel noise, averaged); tumours 0.70-1.0 of D_T (8 mm FWHM PET blur on 30-40 mm spheres:
    partial volume lowers the mean). On the noise-free, unblurred truth image the local
    deposition dose is exact to 1 % in the cores of both compartments."""
    patient, data = phantom
    tare, y90 = patient.truth.tare, patient.truth.pet_y90
    assert tare is not None
    assert y90 is not None
    admin = datetime.fromisoformat(tare.treatment_datetime)
    c_n = y90.normal_liver_bq_per_ml / y90.decay_factor_treatment_to_scan  # Bq/mL at administration
    d_n = K * c_n * 1e-9 / (RHO * 1e-3)
    d_t = tare.tn_ratio * d_n
    lesions = [les for les in patient.truth.time_point("y90").lesions if les.present]
    v_t = sum(les.volume_ml for les in lesions)
    v_n = patient.truth.organs.liver_volume_ml - v_t
    partition = K * tare.liver_activity_gbq / (RHO * (tare.tn_ratio * v_t + v_n) / 1000)
    assert partition == pytest.approx(d_n, rel=0.03)

    pet = data.images["pet_y90"]
    activity = activity_from_pet(pet, admin)
    assert activity.total_mbq == pytest.approx(tare.activity_gbq * 1000, rel=0.01)
    liver = data.masks["liver"].any_mask()
    lesion_map = data.masks["lesions"]
    any_lesion = lesion_map.any_mask()
    normal_core = ndimage.binary_erosion(liver, iterations=2) & ~ndimage.binary_dilation(
        any_lesion, iterations=3
    )
    for method in DoseMethod:
        dose = absorbed_dose(activity, method=method).dose_gy.array
        assert dose[normal_core].mean() == pytest.approx(d_n, rel=0.03), method
        for value in lesion_map.labels:
            ratio = dose[lesion_map.array == value].mean() / d_t
            assert 0.70 <= ratio <= 1.0, (method, value, ratio)

    clean = activity_from_pet(pet.with_array(patient.noise_free["y90/pet_y90"].array), admin)
    led = absorbed_dose(clean, method=DoseMethod.LOCAL_DEPOSITION).dose_gy.array
    assert led[normal_core].mean() == pytest.approx(d_n, rel=0.01)
    for value in lesion_map.labels:
        core = ndimage.binary_erosion(lesion_map.array == value, iterations=1)
        assert led[core].mean() == pytest.approx(d_t, rel=0.01)
