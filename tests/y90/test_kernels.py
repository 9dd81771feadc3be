"""Y-90 voxel S-values: nelm's integration of Loevinger's point kernel against an independent
Monte Carlo, the Lanconelli 2012 tables (Phys Med Biol 2012;57:517, via MGHPhysicsResearch/
MIRDCalculation, MIT) and energy conservation; the linear FFT convolution against direct sums.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage, signal

from nelm.errors import ConfigError, GeometryError, InputError
from nelm.y90.constants import DEFAULT_CONSTANTS, JOULE_PER_MEV
from nelm.y90.convolve import convolve_linear
from nelm.y90.kernels import (
    LOEVINGER_Y90,
    LoevingerPointKernel,
    TabulatedPointKernel,
    VoxelKernel,
    lanconelli_kernel_for,
    load_lanconelli,
    voxel_kernel,
)

SIZES_MM = (2.21, 2.33, 2.4, 3.0, 3.59, 3.9, 4.0, 4.42, 4.8, 5.0, 6.0, 6.8, 9.28)
LANCONELLI = "kernels/y90-lanconelli2012"

# Loevinger's parameters for Y-90 written out from the published formula (Loevinger 1956):
E0, E_MEAN, Z = 2.2801, 0.9267, 40
E_STAR = 0.33 * E0 * (1 - math.sqrt(Z) / 50) * (1 + math.sqrt(E0) / 4)
NU_CM2_PER_G = 18.6 * (E0 - 0.036) ** -1.37 * (2 - E_MEAN / E_STAR)


def _name(size: float) -> str:
    return f"90Y{size:g}mmsoft.txt"


@pytest.fixture(scope="module")
def tables(data_dir: Path) -> Path:
    folder = data_dir / LANCONELLI
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")
    return folder


def _centre(k: VoxelKernel) -> tuple[int, int, int]:
    a, b, c = k.shape
    return (a // 2, b // 2, c // 2)


# -- the point kernel -------------------------------------------------------------------------
def test_loevinger_parameters_by_hand() -> None:
    assert pytest.approx(0.9054, abs=1e-4) == E_STAR  # 0.33·2.2801·0.87351·1.37750
    assert LOEVINGER_Y90.allowed_mean_energy_mev == pytest.approx(E_STAR, rel=1e-12)
    assert LOEVINGER_Y90.nu_cm2_per_g == pytest.approx(NU_CM2_PER_G, rel=1e-12)
    assert pytest.approx(6.00, abs=0.01) == NU_CM2_PER_G


def test_loevinger_profile_for_c_equal_one() -> None:
    """With c = 1 the two terms cancel below νρr = 1: f is flat there, u·e^(1−u) beyond."""
    rho = 1.04
    to_mm = 10.0 / (NU_CM2_PER_G * rho)
    u = np.array([0.0, 0.3, 0.99, 1.0, 2.0, 5.0])
    f = LOEVINGER_Y90.radial_profile(u * to_mm, rho)
    np.testing.assert_allclose(f[:3], 1.0, rtol=1e-12)
    np.testing.assert_allclose(f[3:], u[3:] * np.exp(1 - u[3:]), rtol=1e-12)
    # tail beyond the cut-off: ∫_15^∞ u e^(1−u) du / 3 = 16 e^(−14) / 3
    assert LOEVINGER_Y90.max_radius_mm(rho) == pytest.approx(15 * to_mm)
    assert 16 * math.exp(-14) / 3 < 1e-5


def _monte_carlo_fractions(
    spacing: tuple[float, float, float], targets: list[tuple[int, int, int]], n: int, seed: int
) -> np.ndarray:
    """Absorbed fractions by brute-force geometry: a point uniform in voxel 0, an isotropic
    direction, a radius drawn from Loevinger's f (c = 1: with probability 1/3 u ~ U(0, 1),
    else u ~ u·e^(−u) restricted to u ≥ 1, i.e. Gamma(2) conditioned on ≥ 1)."""
    rng = np.random.default_rng(seed)
    rho = 1.04
    near = rng.random(n) < 1 / 3
    gamma = rng.gamma(2.0, 1.0, size=3 * n)
    gamma = gamma[gamma >= 1.0][:n]
    u = np.where(near, rng.random(n), gamma)
    r_mm = u / (NU_CM2_PER_G * rho) * 10.0
    w = rng.normal(size=(n, 3))
    w /= np.linalg.norm(w, axis=1, keepdims=True)
    h = np.asarray(spacing)
    x = (rng.random((n, 3)) - 0.5) * h + r_mm[:, None] * w
    idx = np.floor(x / h + 0.5).astype(int)
    return np.array([np.mean(np.all(idx == np.asarray(t), axis=1)) for t in targets])


@pytest.mark.parametrize("spacing", [(9.28, 9.28, 9.28), (4.0, 4.0, 3.0), (2.0, 3.0, 5.0)])
def test_integration_matches_an_independent_monte_carlo(spacing: tuple[float, float, float]) -> None:
    targets = [(0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (0, -1, 1)]
    n = 1_000_000
    mc = _monte_carlo_fractions(spacing, targets, n, seed=7)
    k = voxel_kernel(spacing)
    phi = k.absorbed_fractions
    c = np.asarray(_centre(k))
    nelm = np.array([phi[tuple(c + np.asarray(t))] for t in targets])
    sigma = np.sqrt(mc * (1 - mc) / n)
    assert np.all(np.abs(nelm - mc) <= 4 * sigma + 2e-5), (nelm, mc, sigma)


@pytest.mark.parametrize(("size", "mird17"), [(3.0, 1.61), (6.0, 0.346)])
def test_central_s_value_within_ten_percent_of_mird17(size: float, mird17: float) -> None:
    """MIRD Pamphlet 17 (Bolch et al., JNM 1999), Y-90 soft tissue S(0,0,0) in mGy/(MBq·s),
    as quoted in reference/y90-dosimetry.md §2.5."""
    k = voxel_kernel((size, size, size))
    assert k.s_values_mgy_per_mbq_s[_centre(k)] == pytest.approx(mird17, rel=0.10)


@settings(max_examples=12, deadline=None)
@given(
    st.tuples(*(st.floats(1.5, 10.0) for _ in range(3))),
    st.floats(0.3, 2.0),
)
def test_every_kernel_conserves_energy_and_is_symmetric(
    spacing: tuple[float, float, float], rho: float
) -> None:
    k = voxel_kernel(spacing, density_g_per_ml=rho)
    phi = k.absorbed_fractions
    assert k.truncated_energy_fraction < 1e-3
    assert phi.sum() + k.truncated_energy_fraction == pytest.approx(1.0, abs=1e-9)
    for axis in range(3):
        np.testing.assert_allclose(phi, np.flip(phi, axis=axis), rtol=0, atol=1e-15)
    # S = φ · E / m with m = ρ · hz·hy·hx
    mass = rho * spacing[0] * spacing[1] * spacing[2] * 1e-6
    s = phi * DEFAULT_CONSTANTS.energy_per_decay_j * 1e9 / mass
    np.testing.assert_allclose(k.s_values_mgy_per_mbq_s, s, rtol=1e-6)


def test_anisotropic_kernel() -> None:
    k = voxel_kernel((3.0, 4.0, 4.0))
    k3, k4 = voxel_kernel((3.0, 3.0, 3.0)), voxel_kernel((4.0, 4.0, 4.0))
    s = k.s_values_mgy_per_mbq_s
    c = _centre(k)
    assert k.absorbed_fractions.sum() + k.truncated_energy_fraction == pytest.approx(1.0, abs=1e-9)
    assert k.truncated_energy_fraction < 1e-3
    for axis in range(3):
        np.testing.assert_array_equal(s, np.flip(s, axis=axis))
    # the two 4 mm axes, up to the quadrature noise (< 1e-5 of the peak, in the far tail)
    np.testing.assert_allclose(s, np.swapaxes(s, 1, 2), rtol=1e-3, atol=1e-5 * s.max())
    assert k4.s_values_mgy_per_mbq_s[_centre(k4)] < s[c] < k3.s_values_mgy_per_mbq_s[_centre(k3)]
    # the neighbour across a 3 mm face is nearer than one across a 4 mm face
    assert s[c[0] + 1, c[1], c[2]] > s[c[0], c[1] + 1, c[2]]


def test_kernels_are_memoised_and_reproducible() -> None:
    a = voxel_kernel((4.0, 4.0, 4.0))
    b = voxel_kernel((4.0, 4.0, 4.0 + 1e-9))
    np.testing.assert_array_equal(a.s_values_mgy_per_mbq_s, b.s_values_mgy_per_mbq_s)
    assert not a.s_values_mgy_per_mbq_s.flags.writeable


def test_tabulated_point_kernel_reproduces_loevinger_and_scales_with_density() -> None:
    """Loevinger's profile typed in as a table for water (ρ = 1) gives, used at 1.04 g/mL through
    the scaling theorem, the same kernel as the built-in function at 1.04 g/mL."""
    r = np.linspace(0.0, 25.0, 2001)
    u = NU_CM2_PER_G * 1.0 * r / 10.0
    f = np.where(u < 1, 1.0, u * np.exp(1 - u))
    table = TabulatedPointKernel(tuple(r), tuple(f), "Loevinger 1956 profile typed in", density_g_per_ml=1.0)
    a = voxel_kernel((4.0, 4.0, 4.0), point_kernel=table)
    b = voxel_kernel((4.0, 4.0, 4.0))
    assert a.shape == b.shape
    np.testing.assert_allclose(a.s_values_mgy_per_mbq_s, b.s_values_mgy_per_mbq_s, rtol=2e-3, atol=1e-6)
    from_dose = TabulatedPointKernel.from_dose(r[1:], f[1:] / r[1:] ** 2, citation="x", density_g_per_ml=1.0)
    np.testing.assert_allclose(from_dose.fraction_per_mm, f[1:], rtol=1e-12)


@pytest.mark.parametrize(
    ("r", "f", "citation", "match"),
    [
        ((0.0, 2.0, 1.0), (1.0, 1.0, 1.0), "c", "increasing"),
        ((0.0, 1.0), (1.0, -1.0), "c", "≥ 0"),
        ((0.0, 1.0), (0.0, 0.0), "c", "not all zero"),
        ((0.0, 1.0), (1.0, 1.0), "  ", "citation"),
        ((0.0, 1.0, 2.0), (1.0, 1.0), "c", "as many"),
        ((0.0, float("nan")), (1.0, 1.0), "c", "finite"),
    ],
)
def test_tabulated_point_kernel_is_validated(
    r: tuple[float, ...], f: tuple[float, ...], citation: str, match: str
) -> None:
    with pytest.raises(ConfigError, match=match):
        TabulatedPointKernel(r, f, citation)


def test_bad_kernel_settings() -> None:
    with pytest.raises(ConfigError, match=r"1\.5-3 MeV"):
        LoevingerPointKernel(endpoint_energy_mev=0.5, mean_energy_mev=0.2)
    with pytest.raises(ConfigError, match="spacing"):
        voxel_kernel((0.0, 4.0, 4.0))
    with pytest.raises(ConfigError, match="spacing"):
        voxel_kernel((4.0, 4.0))
    with pytest.raises(ConfigError, match="spacing"):
        voxel_kernel((0.4, 4.0, 4.0))
    far = TabulatedPointKernel((0.0, 400.0), (1.0, 1.0), "a 40 cm uniform kernel")
    with pytest.raises(ConfigError, match="too many"):
        voxel_kernel((0.5, 0.5, 0.5), point_kernel=far)
    with pytest.raises(ConfigError, match="density"):
        voxel_kernel((4.0, 4.0, 4.0), density_g_per_ml=-1.0)
    with pytest.raises(ConfigError, match="truncated"):
        voxel_kernel((4.0, 4.0, 4.0), max_truncated_energy_fraction=0.0)
    with pytest.raises(InputError, match="odd"):
        VoxelKernel(np.ones((4, 5, 5)), (4.0, 4.0, 4.0), 1.04, "x", 0.0, 1e-13)
    with pytest.raises(InputError, match="non-negative"):
        VoxelKernel(-np.ones((5, 5, 5)), (4.0, 4.0, 4.0), 1.04, "x", 0.0, 1e-13)


# -- the Lanconelli 2012 tables -------------------------------------------------------------
@pytest.mark.realdata
@pytest.mark.parametrize("medium", ["soft", "bone"])
@pytest.mark.parametrize("size", SIZES_MM)
def test_lanconelli_tables_load_and_balance_energy(tables: Path, size: float, medium: str) -> None:
    """Σ S·m ≈ 0.934 MeV per decay for every table (reference §4: the tables conserve the mean beta
    energy, 0.9267-0.9367 MeV) with ICRP soft tissue 1.04 and compact bone 1.85 g/mL."""
    k = load_lanconelli(tables / f"90Y{size:g}mm{medium}.txt")
    assert k.shape == (11, 11, 11)
    assert k.spacing_mm == (size, size, size)
    assert k.density_g_per_ml == (1.04 if medium == "soft" else 1.85)
    s = k.s_values_mgy_per_mbq_s
    for axis in range(3):
        np.testing.assert_array_equal(s, np.flip(s, axis=axis))
    mass_kg = k.density_g_per_ml * (size / 10) ** 3 / 1000
    mev = float(s.sum()) * mass_kg * 1e-3 * 1e-6 / JOULE_PER_MEV  # mGy→Gy, per MBq·s→per decay
    assert mev == pytest.approx(0.934, rel=5e-3)
    assert k.absorbed_fractions.sum() == pytest.approx(1.0, rel=1e-12)


@pytest.mark.realdata
@pytest.mark.parametrize("size", SIZES_MM)
def test_nelm_kernel_within_stated_tolerances_of_lanconelli(tables: Path, size: float) -> None:
    """Tolerances stated in nelm.y90.kernels: S(0,0,0) within 10 %, face neighbours within 6 %,
    absorbed fraction in the 3×3×3 block within 0.05 (Lanconelli's normalised to its own energy)."""
    ref = load_lanconelli(tables / _name(size))
    k = voxel_kernel((size, size, size), density_g_per_ml=1.04)
    s, t = k.s_values_mgy_per_mbq_s, ref.s_values_mgy_per_mbq_s
    c, d = _centre(k), (5, 5, 5)
    assert s[c] / t[d] == pytest.approx(1.0, abs=0.10)
    for axis in range(3):
        ci, di = list(c), list(d)
        ci[axis] += 1
        di[axis] += 1
        assert s[tuple(ci)] / t[tuple(di)] == pytest.approx(1.0, abs=0.06)
    block_nelm = k.absorbed_fractions[c[0] - 1 : c[0] + 2, c[1] - 1 : c[1] + 2, c[2] - 1 : c[2] + 2].sum()
    block_ref = ref.absorbed_fractions[4:7, 4:7, 4:7].sum()
    assert block_nelm == pytest.approx(block_ref, abs=0.05)


@pytest.mark.realdata
def test_lanconelli_only_for_its_own_voxel_size(tables: Path) -> None:
    k = lanconelli_kernel_for(tables, (4.8, 4.8, 4.8 + 5e-4))
    assert k.spacing_mm == (4.8, 4.8, 4.8)
    with pytest.raises(GeometryError, match="never interpolated"):
        lanconelli_kernel_for(tables, (4.1, 4.1, 4.1))
    with pytest.raises(GeometryError, match="never interpolated"):
        lanconelli_kernel_for(tables, (4.8, 4.8, 4.0))
    with pytest.raises(GeometryError, match="never interpolated"):
        k.require_spacing((4.81, 4.8, 4.8))
    with pytest.raises(InputError, match="no Lanconelli"):
        lanconelli_kernel_for(tables, (4.8, 4.8, 4.8), medium="lung")


def _write(path: Path, lines: list[str]) -> Path:
    path.write_bytes("\r\n".join(lines).encode("latin-1"))
    return path


def _rows(skip: int | None = None, extra: str | None = None) -> list[str]:
    rows = [
        f"{i}\t{j}\t{k}\t{1.0 / (1 + i + j + k):.3E}" for i in range(6) for j in range(6) for k in range(6)
    ]
    if skip is not None:
        rows.pop(skip)
    if extra is not None:
        rows.append(extra)
    return rows


def test_load_lanconelli_reads_the_format(tmp_path: Path) -> None:
    head = ["Y90 - 4.8mm - Soft tissue\t\t\t", "i\tj\tk\tS [mGy/(MBq\xb7s)]"]
    k = load_lanconelli(_write(tmp_path / "ok.txt", [*head, *_rows()]))
    s = k.s_values_mgy_per_mbq_s
    assert s[5, 5, 5] == 1.0
    assert s[0, 5, 5] == s[10, 5, 5] == pytest.approx(1 / 6, rel=1e-3)  # |−5| mirrored; 4 digits
    assert s[0, 0, 0] == pytest.approx(1 / 16, rel=1e-3)


@pytest.mark.parametrize(
    ("lines", "match"),
    [
        (["nonsense", "h", *_rows()], "line 1"),
        (["Lu177 - 4.8mm - Soft tissue", "h", *_rows()], "not Y-90"),
        (["Y90 - 4.8mm - Lung", "h", *_rows()], "unknown medium"),
        (["Y90 - 4.8mm - Soft tissue", "h", *_rows(skip=3)], "missing"),
        (["Y90 - 4.8mm - Soft tissue", "h", *_rows(extra="0\t0\t0\t1.0")], "twice"),
        (["Y90 - 4.8mm - Soft tissue", "h", *_rows(extra="0\t0\tx\t1.0")], "expected"),
        (["Y90 - 4.8mm - Soft tissue", "h", *_rows(extra="6\t0\t0\t1.0")], "out of range"),
    ],
)
def test_load_lanconelli_rejects_bad_files(tmp_path: Path, lines: list[str], match: str) -> None:
    with pytest.raises(InputError, match=match):
        load_lanconelli(_write(tmp_path / "bad.txt", lines))


def test_load_lanconelli_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        load_lanconelli(tmp_path / "absent.txt")


# -- linear convolution ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("shape", "kshape"),
    [((20, 17, 13), (11, 9, 7)), ((3, 4, 5), (11, 11, 11)), ((31, 1, 8), (5, 1, 3)), ((9,), (5,))],
)
def test_convolution_equals_direct_summation(shape: tuple[int, ...], kshape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(3)
    a, k = rng.random(shape), rng.random(kshape)
    direct = ndimage.convolve(a, k, mode="constant", cval=0.0)
    out = convolve_linear(a, k)
    assert out.dtype == np.float32
    assert out.shape == a.shape
    assert np.max(np.abs(out - direct)) <= 2e-6 * np.max(direct)
    np.testing.assert_allclose(signal.fftconvolve(a, k, mode="same"), direct, rtol=1e-10)


def test_a_source_at_the_edge_does_not_wrap_around() -> None:
    k = np.arange(1.0, 1.0 + 7 * 5 * 3).reshape(7, 5, 3)
    a = np.zeros((12, 10, 9))
    a[0, 9, 4] = 1.0
    out = convolve_linear(a, k)
    # a delta returns the kernel centred on it (the part inside the grid) and nothing else
    expected = np.zeros_like(a)
    expected[0:4, 7:10, 3:6] = k[3:7, 0:3, 0:3]
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-5)
    # the opposite edges (where a circular convolution would put the rest) stay empty
    assert np.max(np.abs(out[-3:])) < 1e-5
    assert np.max(np.abs(out[:, :3])) < 1e-5


def test_sparse_activity_is_convolved_on_its_support_only() -> None:
    """Zero outside a few blobs (one touching an edge): the windowed transform equals the direct sum."""
    rng = np.random.default_rng(5)
    a = np.zeros((40, 36, 30))
    a[3:8, 20:26, 0:4] = rng.random((5, 6, 4))
    a[30:34, 2:5, 10:14] = rng.random((4, 3, 4))
    k = rng.random((7, 9, 5))
    direct = ndimage.convolve(a, k, mode="constant", cval=0.0)
    out = convolve_linear(a, k)
    assert np.max(np.abs(out - direct)) <= 2e-6 * np.max(direct)
    assert np.all(out[:, :, 16:] == 0)  # beyond the kernel's reach (x ≥ 13 + 2 + 1): exactly zero
    np.testing.assert_array_equal(convolve_linear(np.zeros((5, 5, 5)), k), 0.0)


def test_convolution_bad_inputs() -> None:
    with pytest.raises(InputError, match="odd"):
        convolve_linear(np.ones((4, 4, 4)), np.ones((4, 3, 3)))
    with pytest.raises(InputError, match="dimensions"):
        convolve_linear(np.ones((4, 4, 4)), np.ones((3, 3)))
    with pytest.raises(InputError, match="NaN"):
        convolve_linear(np.full((4, 4, 4), np.nan), np.ones((3, 3, 3)))
    with pytest.raises(InputError, match="empty"):
        convolve_linear(np.ones((0, 4, 4)), np.ones((3, 3, 3)))
