"""PET lesion uptake, reference organs and Krenning score (nelm.quant.pet).

Truth comes from analytic objects (uniform spheres, cylinders, linear ramps whose sphere mean is
the value at the centre) and from the synthetic patient's noise-free SSTR PET, whose tissue SUVs
are known by construction (phantom truth ``pet_sstr.suv_bw`` and lesion ``sstr_suv``).
"""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import numpy.typing as npt
import pytest

from nelm.errors import ConfigError, GeometryError, InputError, MaskError
from nelm.imaging.geometry import Geometry
from nelm.imaging.suv import SuvInputs, suv_factor, suv_volume
from nelm.phantom import PhantomConfig, SyntheticPatient, generate_patient
from nelm.quant import pet
from nelm.quant.pet import (
    KrenningScale,
    MetabolicThreshold,
    PetLesionUptake,
    ReferenceUptake,
    krenning_score,
    lesion_uptake,
    reference_uptake,
    suv_peak,
)

PEAK_RADIUS_MM = (3 / (4 * math.pi)) ** (1 / 3) * 10  # 1 cm³ sphere: 6.2035 mm


def _world(g: Geometry) -> npt.NDArray[np.float64]:
    idx = np.indices(g.shape).reshape(3, -1).T.astype(float)
    return g.index_to_world(idx).reshape(*g.shape, 3)


def _ball(g: Geometry, centre_mm: tuple[float, float, float], radius_mm: float) -> npt.NDArray[np.bool_]:
    d = _world(g) - np.asarray(centre_mm)
    return np.asarray(np.einsum("...i,...i->...", d, d) <= radius_mm**2)


# -- SUVmax, SUVmean, SUVpeak on analytic objects -------------------------------------------
def test_uniform_cylinder_max_mean_and_volume() -> None:
    g = Geometry.from_spacing((12, 30, 30), (3.0, 2.0, 2.0))
    xyz = _world(g)
    cyl = (xyz[..., 0] - 30) ** 2 + (xyz[..., 1] - 30) ** 2 <= 20.0**2  # axis along z, r 20 mm
    cyl &= (xyz[..., 2] >= 6) & (xyz[..., 2] <= 27)
    suv = np.where(cyl, 3.0, 0.5)
    u = lesion_uptake(suv, g, cyl)
    assert u.suv_max == 3.0
    assert u.suv_mean == pytest.approx(3.0, rel=1e-15)
    assert u.metabolic_volume_ml == pytest.approx(cyl.sum() * 3 * 2 * 2 / 1000, rel=1e-12)
    assert u.suv_peak == pytest.approx(3.0, rel=1e-12)  # a 6.2 mm sphere fits in r 20 mm, 22 mm tall


@pytest.mark.parametrize(
    "geometry",
    [
        Geometry.from_spacing((30, 30, 30), (2.0, 2.0, 2.0)),
        Geometry.from_spacing((20, 70, 70), (3.0, 0.8, 0.8)),
        # oblique grid: axes rotated 30° about z
        Geometry.from_spacing(
            (30, 30, 30),
            (2.0, 2.0, 2.0),
            origin_mm=(-30.0, -30.0, 0.0),
            directions=[[0.0, -0.5, math.sqrt(3) / 2], [0.0, math.sqrt(3) / 2, 0.5], [1.0, 0.0, 0.0]],
        ),
    ],
    ids=["iso-2mm", "aniso-3x0.8", "oblique"],
)
def test_suv_peak_of_hot_sphere_is_its_uniform_value(geometry: Geometry) -> None:
    centre = tuple(float(v) for v in geometry.index_to_world((np.asarray(geometry.shape) - 1) / 2))
    lesion = _ball(geometry, centre, 15.0)  # type: ignore[arg-type]
    suv = np.where(lesion, 5.0, 1.0)
    peak, at = suv_peak(suv, geometry, lesion)
    assert peak == pytest.approx(5.0, rel=1e-12)
    assert np.linalg.norm(np.asarray(at) - centre) <= 15.0 - PEAK_RADIUS_MM


def test_one_hot_voxel_gives_peak_below_max() -> None:
    """Peak = B + (H − B) · v_voxel / 1 mL: the hot voxel lies wholly inside the sphere."""
    g = Geometry.from_spacing((21, 21, 21), (2.0, 2.0, 2.0))
    suv = np.ones(g.shape)
    suv[10, 10, 10] = 101.0
    lesion = np.zeros(g.shape, bool)
    lesion[8:13, 8:13, 8:13] = True
    u = lesion_uptake(suv, g, lesion)
    assert u.suv_max == 101.0
    assert u.suv_peak == pytest.approx(1 + 100 * 0.008 / 1.0, rel=0.005)
    assert u.suv_peak is not None
    assert u.suv_peak < u.suv_max
    assert u.peak_center_lps_mm == pytest.approx(tuple(g.index_to_world((10, 10, 10))))


@pytest.mark.parametrize("fft", [False, True], ids=["direct", "fft"])
def test_peak_of_linear_ramp_is_centre_value_at_lesion_edge(
    fft: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sphere's mean of a linear field is the value at its centre; the centre must lie in the
    lesion but the sphere may reach outside it (PERCIST), so the peak is at the lesion's hot edge."""
    if fft:
        monkeypatch.setattr(pet, "_DIRECT_LIMIT", 0)
    g = Geometry.from_spacing((24, 24, 24), (2.5, 2.0, 2.0), origin_mm=(-10.0, 5.0, -20.0))
    xyz = _world(g)
    suv = 2.0 + 0.05 * xyz[..., 0] + 0.02 * xyz[..., 2]  # grows to the left (x) and up (z)
    lesion = np.zeros(g.shape, bool)
    lesion[8:14, 9:15, 7:12] = True
    peak, at = suv_peak(suv, g, lesion)
    hottest = xyz[lesion][np.argmax(suv[lesion])]
    assert peak == pytest.approx(2.0 + 0.05 * hottest[0] + 0.02 * hottest[2], rel=1e-9)
    assert at[0] == pytest.approx(hottest[0])
    assert at[2] == pytest.approx(hottest[2])


def test_peak_sphere_outside_the_image_is_left_out() -> None:
    g = Geometry.from_spacing((10, 10, 10), (2.0, 2.0, 2.0))
    suv = np.full(g.shape, 2.5)
    lesion = np.zeros(g.shape, bool)
    lesion[0, 0, 0] = True  # corner voxel: most of the sphere is outside the image
    peak, _ = suv_peak(suv, g, lesion)
    assert peak == pytest.approx(2.5, rel=1e-12)


@pytest.mark.parametrize(
    ("threshold", "expected_voxels"),
    [
        (pet.EANM_41_PERCENT, 27),  # 0.41 × 10 = 4.1: only the core
        (MetabolicThreshold(2.5, relative_to_max=False), 125),  # both levels
        (MetabolicThreshold(0.3), 125),  # 0.3 × 10 = 3.0: the shell at 3.0 is included (≥)
    ],
)
def test_metabolic_volume_of_two_level_object(threshold: MetabolicThreshold, expected_voxels: int) -> None:
    g = Geometry.from_spacing((9, 9, 9), (4.0, 4.0, 4.0))
    suv = np.full(g.shape, 0.5)
    lesion = np.zeros(g.shape, bool)
    lesion[2:7, 2:7, 2:7] = True  # 5³ = 125 voxels
    suv[lesion] = 3.0
    suv[3:6, 3:6, 3:6] = 10.0  # 3³ = 27 core voxels
    u = lesion_uptake(suv, g, lesion, metabolic_threshold=threshold, peak_volume_ml=None)
    assert u.metabolic_volume_ml == pytest.approx(expected_voxels * 0.064, rel=1e-12)
    assert u.suv_mean == pytest.approx((27 * 10 + 98 * 3) / 125, rel=1e-12)
    assert u.suv_peak is None


# -- reference regions -----------------------------------------------------------------------
def test_reference_excludes_lesions_and_spill_over() -> None:
    g = Geometry.from_spacing((30, 40, 40), (4.0, 4.0, 4.0))
    liver = np.zeros(g.shape, bool)
    liver[2:28, 4:36, 2:24] = True
    spleen = np.zeros(g.shape, bool)
    spleen[10:20, 10:20, 28:38] = True
    lesion = np.zeros(g.shape, bool)
    lesion[12:16, 14:18, 8:12] = True
    suv = np.zeros(g.shape)
    suv[liver] = 2.0
    suv[spleen] = 4.0
    ring = np.zeros(g.shape, bool)
    ring[11:17, 13:19, 7:13] = True
    suv[ring] = 5.0  # spill-over one voxel around the lesion
    suv[lesion] = 10.0
    suv[liver & ~np.pad(np.ones((26, 32, 20), bool), ((3, 1), (5, 3), (3, 17)))] = 3.0  # edge layer
    ref = reference_uptake(suv, g, liver, spleen, exclude=lesion)
    assert ref.liver_suv_mean == pytest.approx(2.0, rel=1e-15)
    assert ref.liver_suv_sd == 0.0
    assert ref.spleen_suv_mean == pytest.approx(4.0, rel=1e-15)
    raw = reference_uptake(suv, g, liver, None, exclude=lesion, margin_mm=0.0)
    assert raw.liver_suv_mean is not None
    assert raw.liver_suv_mean > 2.0  # without the margin the ring and the edge leak in
    assert raw.spleen_suv_mean is None
    assert "10 mm" in ref.method


def test_reference_falls_back_when_margin_leaves_nothing() -> None:
    g = Geometry.from_spacing((5, 5, 5), (4.0, 4.0, 4.0))
    liver = np.zeros(g.shape, bool)
    liver[1:4, 1:4, 1:4] = True
    suv = np.where(liver, 6.0, 0.0)
    ref = reference_uptake(suv, g, liver, None)
    assert ref.liver_suv_mean == 6.0
    assert "margin not applied" in ref.method


# -- the synthetic patient: end-to-end truth recovery ----------------------------------------
@pytest.fixture(scope="module")
def patient() -> SyntheticPatient:
    config = PhantomConfig(
        seed=5,
        n_lesions=3,
        lesion_shape="sphere",  # type: ignore[arg-type]
        diameter_range_mm=(36.0, 44.0),
        sstr_ratio_range=(1.5, 4.5),
        necrotic_lesion_fraction=0.0,
        include_mri=False,
        include_lowdose_ct=False,
        tare=None,
        follow_ups=(),
    )
    return generate_patient(config)


def test_phantom_truth_suvs_are_recovered(patient: SyntheticPatient) -> None:
    """Bq/mL of the noise-free SSTR PET × nelm's SUVbw factor from the phantom metadata gives the
    phantom's truth SUVs: liver and spleen (truth suv_bw), each lesion's SUVmax and SUVpeak
    (truth sstr_suv: uniform spheres ≥ 36 mm, hotter than the liver), and Krenning grades."""
    truth = patient.truth.pet_sstr
    assert truth is not None
    image = patient.noise_free["baseline/pet_sstr"]
    factor = suv_factor(SuvInputs.from_volume(image))
    assert factor.factor == pytest.approx(
        truth.patient_weight_kg
        * 1000
        / (truth.injected_activity_mbq * 1e6 * truth.decay_factor_injection_to_scan),
        rel=1e-12,
    )
    suv = suv_volume(image, factor)
    masks = patient.time_point("baseline").masks["pet_sstr"]
    lesions = masks["lesions"]
    ref = reference_uptake(
        suv.array,
        suv.geometry,
        masks["liver"].array > 0,
        masks["spleen"].array > 0,
        exclude=lesions.array > 0,
    )
    assert ref.liver_suv_mean == pytest.approx(truth.suv_bw["liver"], rel=1e-5)
    assert ref.spleen_suv_mean == pytest.approx(truth.suv_bw["spleen"], rel=1e-5)
    for les in patient.truth.time_point("baseline").lesions:
        u = lesion_uptake(suv.array, suv.geometry, lesions.array == les.label_value)
        assert u.suv_max == pytest.approx(les.sstr_suv, rel=1e-5)
        assert u.suv_peak == pytest.approx(les.sstr_suv, rel=1e-5)
        expected_grade = 4 if les.sstr_suv > truth.suv_bw["spleen"] else 3
        assert krenning_score(u, ref) == expected_grade


def test_phantom_noisy_liver_reference(patient: SyntheticPatient) -> None:
    truth = patient.truth.pet_sstr
    assert truth is not None
    image = patient.image("baseline", "pet_sstr")
    suv = suv_volume(image, suv_factor(SuvInputs.from_volume(image)))
    masks = patient.time_point("baseline").masks["pet_sstr"]
    ref = reference_uptake(
        suv.array, suv.geometry, masks["liver"].array > 0, None, exclude=masks["lesions"].array > 0
    )
    assert ref.liver_suv_mean == pytest.approx(truth.suv_bw["liver"], rel=0.02)
    assert ref.liver_suv_sd is not None
    assert 0 < ref.liver_suv_sd < 0.3 * truth.suv_bw["liver"]


# -- Krenning --------------------------------------------------------------------------------
def _lesion(suv_max: float, suv_peak: float | None = None) -> PetLesionUptake:
    return PetLesionUptake(
        suv_max, suv_peak, min(suv_max, 1.0), 1.0, None if suv_peak is None else (0.0, 0.0, 0.0)
    )


REF = ReferenceUptake(liver_suv_mean=2.0, liver_suv_sd=0.2, spleen_suv_mean=6.0, method="test")


@pytest.mark.parametrize(
    ("lesion_suv", "grade"),
    [
        (6.001, 4),  # > spleen
        (6.0, 3),  # = spleen is not > spleen
        (2.201, 3),  # above liver + 10 %
        (2.2, 2),  # liver × 1.1 exactly: inside the band
        (2.0 * 1.1, 2),  # 2.2000000000000002 in floating point: still the boundary
        (1.8, 2),  # liver × 0.9 exactly
        (1.799, 1),
        (0.01, 1),  # no grade 0 unless no_uptake_ratio is set
    ],
)
def test_krenning_default_boundaries(lesion_suv: float, grade: int) -> None:
    assert krenning_score(_lesion(lesion_suv), REF) == grade


@pytest.mark.parametrize(("lesion_suv", "grade"), [(1.0, 1), (0.999, 0)])
def test_krenning_no_uptake_ratio(lesion_suv: float, grade: int) -> None:
    scale = KrenningScale(no_uptake_ratio=Fraction(1, 2))
    assert krenning_score(_lesion(lesion_suv), REF, scale) == grade


def test_krenning_zero_band_and_statistic() -> None:
    scale = KrenningScale(lesion_statistic="suv_peak", equal_band=Fraction(0))
    assert krenning_score(_lesion(9.0, suv_peak=2.0), REF, scale) == 2
    assert krenning_score(_lesion(9.0, suv_peak=2.001), REF, scale) == 3
    assert krenning_score(_lesion(9.0, suv_peak=1.999), REF, scale) == 1
    assert krenning_score(_lesion(9.0), REF, scale) is None  # no SUVpeak


def test_krenning_missing_references() -> None:
    no_spleen = ReferenceUptake(2.0, 0.1, None, "liver only")
    assert krenning_score(_lesion(5.0), no_spleen) is None
    assert krenning_score(_lesion(5.0), no_spleen, KrenningScale(require_spleen=False)) == 3
    assert krenning_score(_lesion(1.9), no_spleen) == 2
    assert krenning_score(_lesion(5.0), ReferenceUptake(None, None, 6.0, "spleen only")) is None


# -- bad input -------------------------------------------------------------------------------
G = Geometry.from_spacing((6, 6, 6), (2.0, 2.0, 2.0))
GOOD_SUV = np.ones(G.shape)
GOOD_MASK = np.zeros(G.shape, bool)
GOOD_MASK[2:4, 2:4, 2:4] = True


def test_mask_on_another_grid() -> None:
    with pytest.raises(GeometryError, match="lesion mask shape"):
        lesion_uptake(GOOD_SUV, G, np.ones((5, 6, 6), bool))


def test_suv_on_another_grid() -> None:
    with pytest.raises(GeometryError, match="SUV array shape"):
        suv_peak(np.ones((6, 6, 7)), G, GOOD_MASK)


def test_label_map_instead_of_boolean_mask() -> None:
    with pytest.raises(MaskError, match="must be boolean"):
        lesion_uptake(GOOD_SUV, G, GOOD_MASK.astype(np.uint8) * 2)


def test_empty_lesion_mask() -> None:
    with pytest.raises(MaskError, match="empty"):
        lesion_uptake(GOOD_SUV, G, np.zeros(G.shape, bool))


def test_nan_inside_lesion() -> None:
    suv = GOOD_SUV.copy()
    suv[3, 3, 3] = np.nan
    with pytest.raises(InputError, match="NaN"):
        lesion_uptake(suv, G, GOOD_MASK)


def test_integer_suv_array() -> None:
    with pytest.raises(InputError, match="floating-point"):
        lesion_uptake(np.ones(G.shape, np.int16), G, GOOD_MASK)


def test_non_positive_peak_volume() -> None:
    with pytest.raises(InputError, match="sphere volume"):
        suv_peak(GOOD_SUV, G, GOOD_MASK, volume_ml=0.0)


def test_liver_entirely_excluded() -> None:
    with pytest.raises(MaskError, match="entirely inside the excluded"):
        reference_uptake(GOOD_SUV, G, GOOD_MASK, None, exclude=GOOD_MASK)


def test_negative_reference_margin() -> None:
    with pytest.raises(InputError, match="margin"):
        reference_uptake(GOOD_SUV, G, GOOD_MASK, None, margin_mm=-1.0)


def test_bad_krenning_scale() -> None:
    with pytest.raises(ConfigError, match="equal_band"):
        KrenningScale(equal_band=Fraction(3, 2))
    with pytest.raises(ConfigError, match="lesion_statistic"):
        KrenningScale(lesion_statistic="suv_min")  # type: ignore[arg-type]


def test_bad_metabolic_threshold() -> None:
    with pytest.raises(ConfigError, match="fraction of SUVmax"):
        MetabolicThreshold(41.0)


def test_krenning_scale_is_described_in_words_and_json() -> None:
    """The settings written to the outputs are readable text and plain numbers, not a Python repr."""
    default = KrenningScale()
    assert default.describe() == (
        "lesion SUVmax vs liver/spleen SUVmean (rounded to 0.001): 1 < 0.9 × liver; "
        "2 within 0.9–1.1 × liver; 3 > 1.1 × liver; 4 also > spleen (3 or 4 undecided without a spleen value)"
    )
    custom = KrenningScale(
        lesion_statistic="suv_peak",
        equal_band=Fraction(1, 5),
        no_uptake_ratio=Fraction(1, 2),
        require_spleen=False,
    )
    assert custom.describe().startswith(
        "lesion SUVpeak vs liver/spleen SUVmean (rounded to 0.001): 0 < 0.5 × liver;"
    )
    assert "2 within 0.8–1.2 × liver" in custom.describe()
    settings = custom.as_dict()
    assert settings["equal_band"] == 0.2
    assert settings["no_uptake_ratio"] == 0.5
    assert settings["require_spleen"] is False
    assert json.loads(json.dumps(settings)) == settings
