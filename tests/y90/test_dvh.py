"""DVH and dose metrics: vocabulary, analytic dose fields, small lesions, bad input.

Expected values come from hand calculation on analytic fields (uniform dose, linear ramp) and
from 1-D radial integration of an analytic dose field over a sphere, never from the module.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize

from nelm.errors import ConfigError, GeometryError, InputError, MaskError, UnitsError
from nelm.imaging.geometry import Geometry
from nelm.imaging.labelmap import Label, LabelMap
from nelm.imaging.metadata import ValueUnit
from nelm.imaging.volume import Volume
from nelm.y90.dvh import (
    DEFAULT_METRICS,
    DVH,
    TIE_TOLERANCE,
    Metric,
    MetricKind,
    MetricValue,
    dose_metrics,
    parse_metric,
    structure_dvh,
)


def _dose(
    array: np.ndarray, spacing_mm: float = 2.0, origin_mm: tuple[float, float, float] = (0, 0, 0)
) -> Volume:
    g = Geometry.from_spacing(array.shape, (spacing_mm,) * 3, origin_mm)
    return Volume(np.asarray(array, dtype=np.float32), g, "RTDOSE", ValueUnit.GY)


# -- vocabulary ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "kind", "threshold", "name", "unit"),
    [
        ("D90", MetricKind.DOSE_AT_VOLUME_PERCENT, 90.0, "D90", "Gy"),
        ("d2.5", MetricKind.DOSE_AT_VOLUME_PERCENT, 2.5, "D2.5", "Gy"),
        ("D90.0", MetricKind.DOSE_AT_VOLUME_PERCENT, 90.0, "D90", "Gy"),
        ("D2cc", MetricKind.DOSE_AT_VOLUME_CC, 2.0, "D2cc", "Gy"),
        ("V100Gy", MetricKind.VOLUME_PERCENT_AT_DOSE, 100.0, "V100Gy", "%"),
        (" v205gy ", MetricKind.VOLUME_PERCENT_AT_DOSE, 205.0, "V205Gy", "%"),
        ("V20Gycc", MetricKind.VOLUME_CC_AT_DOSE, 20.0, "V20Gycc", "cm3"),
        ("mean", MetricKind.MEAN, None, "mean", "Gy"),
        ("Dmean", MetricKind.MEAN, None, "mean", "Gy"),
        ("DMAX", MetricKind.MAX, None, "Dmax", "Gy"),
        ("Dmin", MetricKind.MIN, None, "Dmin", "Gy"),
    ],
)
def test_parse_metric_valid(
    text: str, kind: MetricKind, threshold: float | None, name: str, unit: str
) -> None:
    m = parse_metric(text)
    assert m.kind is kind
    assert m.threshold == threshold
    assert m.name == name
    assert m.unit == unit
    assert parse_metric(m) is m


@pytest.mark.parametrize("text", ["V100", "V100%", "V100cc", "V100Gy%"])
def test_bare_v_is_ambiguous(text: str) -> None:
    with pytest.raises(ConfigError, match="V100Gy"):
        parse_metric(text)


@pytest.mark.parametrize("text", ["foo", "", "D", "D-5", "D90Gy", "Dxx", "V", "mean dose", "D.5"])
def test_unknown_metric_names_the_text(text: str) -> None:
    with pytest.raises(ConfigError, match="unknown dose metric"):
        parse_metric(text)


def test_bad_metric_values() -> None:
    with pytest.raises(ConfigError, match="100 %"):
        parse_metric("D100.5")
    with pytest.raises(ConfigError, match="must be a string"):
        parse_metric(90)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unknown metric kind"):
        Metric("median")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="takes no threshold"):
        Metric(MetricKind.MEAN, 5.0)
    with pytest.raises(ConfigError, match="needs a threshold"):
        Metric(MetricKind.DOSE_AT_VOLUME_PERCENT)
    with pytest.raises(ConfigError, match=">= 0"):
        Metric(MetricKind.VOLUME_PERCENT_AT_DOSE, -1.0)
    with pytest.raises(ConfigError):
        Metric(MetricKind.VOLUME_PERCENT_AT_DOSE, math.nan)
    with pytest.raises(InputError, match="unit"):
        MetricValue("D90", 1.0, "cGy")
    with pytest.raises(InputError, match="non-finite"):
        MetricValue("D90", math.inf, "Gy")
    with pytest.raises(InputError, match="name"):
        MetricValue("", 1.0, "Gy")


def test_default_metrics_parse() -> None:
    names = [parse_metric(m).name for m in DEFAULT_METRICS]
    assert names == ["mean", "D50", "D70", "D90", "V100Gy", "V150Gy", "V205Gy"]


# -- uniform dose -------------------------------------------------------------------------------
def test_uniform_dose_every_dxx_equals_it_and_v_is_100_or_0() -> None:
    dose = _dose(np.full((6, 6, 6), 42.5))
    mask = np.zeros((6, 6, 6), dtype=bool)
    mask[1:5, 1:4, 2:6] = True
    dvh = structure_dvh(dose, mask, name="box")
    assert dvh.volume_ml == pytest.approx(48 * 8 / 1000)  # 4*3*4 voxels of 2 mm
    for xx in ("D0", "D2.5", "D50", "D90", "D100", "Dmin", "Dmax", "mean"):
        assert dvh.statistic(xx).value == 42.5
    assert dvh.statistic("V42.5Gy").value == 100.0  # inclusive at the boundary
    assert dvh.statistic("V0Gy").value == 100.0
    assert dvh.statistic("V43Gy").value == 0.0
    assert dvh.volume_fraction_at_dose(np.nextafter(42.5, np.inf)) == 0.0
    assert dvh.statistic("V42.5Gycc").value == pytest.approx(dvh.volume_ml)
    assert dvh.volume_ml_at_least(42.5) == pytest.approx(dvh.volume_ml)


@pytest.mark.filterwarnings("error")
@settings(max_examples=40, deadline=None)
@given(
    dose=st.floats(min_value=0.0, max_value=5000.0, allow_nan=False),
    weights=st.lists(st.floats(min_value=0.01, max_value=1.0), min_size=1, max_size=30),
    xx=st.floats(min_value=0.0, max_value=100.0),
)
def test_uniform_dose_property(dose: float, weights: list[float], xx: float) -> None:
    dvh = DVH.from_samples(np.full(len(weights), dose), np.array(weights), "s")
    assert dvh.dose_at_volume_percent(xx) == dose
    assert dvh.volume_fraction_at_dose(dose) == 1.0
    assert dvh.mean_gy == pytest.approx(dose, rel=1e-12, abs=1e-12)


@pytest.mark.filterwarnings("error")
@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(min_value=-5.0, max_value=500.0), min_size=1, max_size=40))
def test_curve_monotone_and_bounded(doses: list[float]) -> None:
    dvh = DVH.from_samples(np.array(doses), 0.1, "s")
    d = [dvh.dose_at_volume_percent(p) for p in np.linspace(0, 100, 21)]
    assert all(a >= b for a, b in itertools.pairwise(d))
    assert d[0] == max(doses)
    # near-equal doses (within TIE_TOLERANCE of the largest |dose|) form one level, its largest dose
    assert min(doses) <= d[-1] <= min(doses) + TIE_TOLERANCE * max(abs(x) for x in doses)
    v = [dvh.volume_fraction_at_dose(x) for x in np.linspace(min(doses) - 1, max(doses) + 1, 21)]
    assert all(a >= b for a, b in itertools.pairwise(v))
    assert min(doses) - 1e-9 <= dvh.mean_gy <= max(doses) + 1e-9


# -- linear ramp --------------------------------------------------------------------------------
def _ramp() -> tuple[Volume, np.ndarray]:
    """Box of 10 slabs (h = 2 mm) along the columns; continuous dose 45 + 10 x/h, x in [0, 10h].

    Voxel centres (x = (i + 0.5) h) hold 50 + 10 i Gy; the ramp continues outside the box (column j
    of the array holds 40 + 10 j Gy), so interpolated sub-voxel doses stay on the same line. The
    fraction of the box receiving at least
    D is (145 - D) / 100 for 45 <= D <= 145: D90 = 55 Gy, D50 = 95 Gy, V100Gy = 45 %, V102Gy = 43 %,
    mean 95 Gy; the box is 4 x 4 x 10 voxels of 8 mm3 = 1.28 mL, so the hottest 0.64 cc is 50 %.
    """
    arr = np.broadcast_to(40.0 + 10.0 * np.arange(12)[None, None, :], (6, 6, 12)).copy()
    mask = np.zeros(arr.shape, dtype=bool)
    mask[1:5, 1:5, 1:11] = True
    return _dose(arr), mask


@pytest.mark.parametrize("supersample", [None, 1, 3, 4])
def test_linear_ramp_dvh_is_linear(supersample: int | None) -> None:
    dose, mask = _ramp()
    dvh = structure_dvh(dose, mask, name="ramp", supersample=supersample)
    k = supersample or 1
    assert dvh.n_samples == 160 * k**3
    assert dvh.volume_ml == pytest.approx(1.28, rel=1e-12)
    assert dvh.statistic("D90").value == pytest.approx(55.0, abs=1e-4)
    assert dvh.statistic("D50").value == pytest.approx(95.0, abs=1e-4)
    assert dvh.statistic("D0.64cc").value == pytest.approx(95.0, abs=1e-4)
    assert dvh.statistic("V100Gy").value == pytest.approx(45.0, abs=1e-4)
    assert dvh.statistic("V102Gy").value == pytest.approx(43.0, abs=1e-4)
    assert dvh.statistic("V102Gycc").value == pytest.approx(0.43 * 1.28, abs=1e-6)
    assert dvh.mean_gy == pytest.approx(95.0, abs=1e-4)
    dose_pts, percent = dvh.curve(bin_gy=5.0)
    interior = (dose_pts >= 55) & (dose_pts <= 135)
    np.testing.assert_allclose(percent[interior], 145.0 - dose_pts[interior], atol=1e-3)
    assert percent[0] == 100.0  # 0 Gy
    assert percent[-1] == 0.0  # past the maximum


def test_ramp_dxxcc_larger_than_structure_is_refused() -> None:
    dose, mask = _ramp()
    dvh = structure_dvh(dose, mask, name="ramp")
    with pytest.raises(InputError, match=r"D2cc.*'ramp'.*1\.28"):
        dvh.statistic("D2cc")
    assert dvh.statistic("D1.28cc").value == dvh.min_gy  # exactly the whole structure


# -- small sphere, mask grid != dose grid ----------------------------------------------------------
R_MM = 5.0
SOURCE_MM = 8.0


def _field(s_mm: np.ndarray) -> np.ndarray:
    return 300.0 * np.exp(-s_mm / 10.0)


def _analytic_sphere() -> tuple[float, float]:
    """Mean and D90 of D(s) = 300 exp(-s/10) Gy over a sphere of radius R whose centre is a mm from
    the point source, by 1-D integration over the distance s: the sphere's area at distance s
    from the source is pi s (R^2 - (s - a)^2) / a for a - R < s < a + R."""
    a, r = SOURCE_MM, R_MM
    volume = 4.0 / 3.0 * math.pi * r**3

    def area(s: float) -> float:
        return math.pi * s * (r**2 - (s - a) ** 2) / a

    mean = integrate.quad(lambda s: float(_field(np.array(s))) * area(s), a - r, a + r)[0] / volume
    s90 = optimize.brentq(lambda s: integrate.quad(area, a - r, s)[0] - 0.9 * volume, a - r, a + r)
    return mean, float(_field(np.array(s90)))


def _sphere_case(seed: int) -> tuple[Volume, Volume, np.ndarray, int]:
    rng = np.random.default_rng(seed)
    centre = rng.uniform(-2.0, 2.0, 3)
    u = rng.normal(size=3)
    source = centre + SOURCE_MM * u / np.linalg.norm(u)
    dg = Geometry.from_spacing((11, 11, 11), (4.0, 4.0, 4.0), (-20.0, -20.0, -20.0))
    idx = np.indices(dg.shape).reshape(3, -1).T
    pts = dg.index_to_world(idx)
    dose = Volume(_field(np.linalg.norm(pts - source, axis=1)).reshape(dg.shape), dg, "RTDOSE", ValueUnit.GY)
    fg = Geometry.from_spacing((24, 24, 24), (0.5, 0.5, 0.5), tuple(centre - 5.75))
    fpts = fg.index_to_world(np.indices(fg.shape).reshape(3, -1).T)
    fine = (np.linalg.norm(fpts - centre, axis=1) <= R_MM).reshape(fg.shape)
    coarse = (np.linalg.norm(pts - centre, axis=1) <= R_MM).reshape(dg.shape)
    return dose, Volume(fine, fg, "OT", ValueUnit.LABEL), coarse, int(fine.sum())


def test_small_sphere_fine_mask_beats_coarse_voxels() -> None:
    """A 5 mm-radius lesion on a dose gradient, 4 mm dose grid, 0.5 mm mask, six placements.

    The fine mask gets the volume to < 2 % and D90 to < 2.5 %; the coarse voxel mask misses the
    volume by up to ~20 % and D90 by up to ~15 %. The fine mean keeps a ~+2 % bias: trilinear
    interpolation of the convex field between 4 mm dose samples, which no mask can remove.
    """
    mean, d90 = _analytic_sphere()
    fine_err, coarse_err = [], []
    for seed in range(6):
        dose, fine_mask, coarse_mask, n_fine = _sphere_case(seed)
        fine = structure_dvh(dose, fine_mask, name="lesion")
        coarse = structure_dvh(dose, coarse_mask, name="lesion")
        assert fine.volume_ml == pytest.approx(n_fine * 0.125 / 1000.0, rel=1e-12)
        assert fine.volume_ml == pytest.approx(4 / 3 * math.pi * R_MM**3 / 1000, rel=0.02)
        e_fine = (abs(fine.mean_gy / mean - 1), abs(fine.statistic("D90").value / d90 - 1))
        e_coarse = (abs(coarse.mean_gy / mean - 1), abs(coarse.statistic("D90").value / d90 - 1))
        assert e_fine[0] < 0.035
        assert e_fine[1] < 0.025
        fine_err.append(e_fine)
        coarse_err.append(e_coarse)
    f, c = np.array(fine_err), np.array(coarse_err)
    assert c[:, 1].sum() > 3.0 * f[:, 1].sum()  # D90: much closer
    assert c[:, 0].sum() > f[:, 0].sum()  # mean: closer on aggregate


def test_mask_on_same_grid_as_volume_equals_array_mask() -> None:
    dose, mask = _ramp()
    as_volume = Volume(mask, dose.geometry, "OT", ValueUnit.LABEL)
    a = structure_dvh(dose, mask, name="a")
    b = structure_dvh(dose, as_volume, name="b")
    np.testing.assert_array_equal(a.sample_dose_gy, b.sample_dose_gy)
    lm = LabelMap(mask.astype(np.uint8) * 2, dose.geometry, {2: Label(2, "ramp")})
    assert structure_dvh(dose, lm, name="c").mean_gy == a.mean_gy


def test_fractional_mask_weights_volume() -> None:
    arr = np.zeros((4, 4, 4))
    arr[:, :, :2] = 10.0
    arr[:, :, 2:] = 30.0
    weights = np.zeros(arr.shape)
    weights[1:3, 1:3, :2] = 1.0  # 8 voxels at 10 Gy, full
    weights[1:3, 1:3, 2:] = 0.5  # 8 voxels at 30 Gy, half occupied
    dvh = structure_dvh(_dose(arr), weights, name="partial")
    voxel_ml = 8 / 1000
    assert dvh.volume_ml == pytest.approx(12 * voxel_ml)
    assert dvh.mean_gy == pytest.approx((8 * 10 + 4 * 30) / 12)
    assert dvh.volume_ml_at_least(20.0) == pytest.approx(4 * voxel_ml)
    assert dvh.statistic("D10").value == 30.0  # the hottest 10 % lie inside the 30 Gy third
    assert dvh.statistic("D90").value == 10.0


def test_supersample_keeps_volume_on_a_different_grid_mask() -> None:
    dose, fine_mask, _, n_fine = _sphere_case(0)
    dvh = structure_dvh(dose, fine_mask, name="lesion", supersample=2)
    assert dvh.n_samples == 8 * n_fine
    assert dvh.volume_ml == pytest.approx(n_fine * 0.125 / 1000.0)


# -- bad input ----------------------------------------------------------------------------------------
def test_empty_mask_names_structure() -> None:
    dose, mask = _ramp()
    with pytest.raises(MaskError, match="'lesion 7'"):
        structure_dvh(dose, np.zeros_like(mask), name="lesion 7")
    with pytest.raises(MaskError, match="'lesion 7'"):
        DVH.from_samples([1.0, 2.0], [0.0, 0.0], "lesion 7")


def test_mask_outside_dose_grid() -> None:
    dose, mask = _ramp()
    g = Geometry.from_spacing(mask.shape, (2.0, 2.0, 2.0), (0.0, 0.0, 100.0))
    with pytest.raises(GeometryError, match="outside the dose grid"):
        structure_dvh(dose, Volume(mask, g, "OT", ValueUnit.LABEL), name="far")
    with pytest.raises(GeometryError, match="shape"):
        structure_dvh(dose, mask[:-1], name="short")


@pytest.mark.parametrize("bad", [2.0, -0.5, math.nan])
def test_mask_values_outside_unit_interval(bad: float) -> None:
    dose, mask = _ramp()
    w = mask.astype(float)
    w[2, 2, 2] = bad
    with pytest.raises(MaskError, match="outside"):
        structure_dvh(dose, w, name="w")


def test_dose_units_nan_and_supersample_errors() -> None:
    dose, mask = _ramp()
    with pytest.raises(UnitsError, match="Gy"):
        structure_dvh(dose.with_array(dose.array, units=ValueUnit.BQ_PER_ML), mask, name="x")
    bad = np.array(dose.array)
    bad[2, 2, 5] = np.nan
    with pytest.raises(InputError, match="NaN"):
        structure_dvh(dose.with_array(bad), mask, name="x")
    for s in (0, -2, 2.5, True):
        with pytest.raises(ConfigError, match="supersample"):
            structure_dvh(dose, mask, name="x", supersample=s)  # type: ignore[arg-type]


def test_dvh_sample_validation() -> None:
    with pytest.raises(InputError, match="equal length"):
        DVH(name="x", sample_dose_gy=np.ones(3), sample_volume_ml=np.ones(2))
    with pytest.raises(InputError, match=">= 0"):
        DVH.from_samples([1.0, 2.0], [1.0, -1.0], "x")
    with pytest.raises(InputError, match="NaN"):
        DVH.from_samples([1.0, math.inf], 1.0, "x")
    with pytest.raises(InputError, match="name"):
        DVH.from_samples([1.0], 1.0, "")
    dvh = DVH.from_samples([1.0, 2.0], 1.0, "x")
    with pytest.raises(ConfigError):
        dvh.curve(bin_gy=0)
    with pytest.raises(ConfigError):
        dvh.dose_at_volume_percent(120)
    with pytest.raises(ConfigError):
        dvh.volume_fraction_at_dose(math.nan)


def test_dose_metrics_and_to_dict() -> None:
    dose, mask = _ramp()
    half = mask.copy()
    half[:, :, 6:] = False
    dvhs = dose_metrics(dose, {"box": mask, "cold half": half}, ("mean", "D90", "V100Gy"))
    assert set(dvhs) == {"box", "cold half"}
    assert dvhs["cold half"].mean_gy == pytest.approx(70.0)  # slabs 50..90 Gy
    d = dvhs["box"].to_dict(("mean", "Dmean", "D90", "V100Gy"))
    json.dumps(d)
    assert d["metrics"]["D90"] == {"value": pytest.approx(55.0, abs=1e-4), "unit": "Gy"}
    assert d["metrics"]["V100Gy"]["unit"] == "%"
    assert d["volume_ml"] == pytest.approx(1.28)
    with pytest.raises(ConfigError, match="'V20'"):
        dose_metrics(dose, {"box": mask}, ("V20",))
    with pytest.raises(InputError, match="cold half"):
        dose_metrics(dose, {"cold half": half}, ("D2cc",))


def test_mask_on_a_flipped_grid_samples_the_same_points() -> None:
    """A mask whose grid runs the other way along every axis (different affine, same voxel
    centres) must give the same dose samples as the mask on the dose grid."""
    arr = np.random.default_rng(3).uniform(10.0, 90.0, (5, 6, 7))
    dose = _dose(arr, spacing_mm=2.5, origin_mm=(-3.0, 4.0, 10.0))
    mask = np.zeros(arr.shape, dtype=bool)
    mask[1:4, 2:5, 1:6] = True
    far_corner = tuple(dose.index_to_world(np.array(arr.shape) - 1.0))
    flipped = Geometry.from_spacing(
        arr.shape, (2.5, 2.5, 2.5), far_corner, directions=-dose.geometry.directions
    )
    flipped_mask = Volume(mask[::-1, ::-1, ::-1].copy(), flipped, "OT", ValueUnit.LABEL)
    a = structure_dvh(dose, mask, name="a")
    b = structure_dvh(dose, flipped_mask, name="b")
    np.testing.assert_allclose(np.sort(b.sample_dose_gy), np.sort(a.sample_dose_gy), rtol=1e-6)
    assert b.volume_ml == pytest.approx(a.volume_ml)
