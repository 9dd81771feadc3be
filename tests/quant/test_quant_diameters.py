"""Axial (RECIST/WHO) diameters, 3-D Feret diameter and voxel volume against analytic truth.

Every expected value is derived here: analytic spheres and ellipsoids rasterised by voxel-centre
inclusion (computed in this file from the affine), hand-computed pixel shapes, and the
synthetic patient's ground truth. The bounds used:

* pixel-corner (edge-to-edge) convention: each corner lies within half a pixel diagonal δ of a
  pixel centre inside the object, so a caliper diameter exceeds the object's by at most 2δ and,
  when the osculating circle at the object's major vertex is wider than δ (checked), falls short
  of it by at most 2δ;
* for an elliptic section E with minor semi-axis B the pixel region lies between (1 - δ/B)·E and
  (1 + δ/B)·E, which bounds every chord through the centre in a given direction;
* voxel volume: the union of voxels whose centre lies in a convex body K lies between K ⊖ box and
  K ⊕ box (box = one voxel about the origin); by Steiner's formula for a box and the monotonicity
  of mixed volumes, |V_vox - V| ≤ Σ_i s_i·A_i (+ R_max·S_box + V_box above), where A_i is the
  area of K's projection along grid axis i and s_i the spacing.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import pdist

from nelm.errors import GeometryError, MaskError
from nelm.imaging.geometry import Geometry
from nelm.phantom import PhantomConfig, SyntheticPatient, generate_patient
from nelm.quant import diameters
from nelm.quant.diameters import (
    AxialDiameters,
    LesionDiameters,
    axial_diameters,
    lesion_diameters,
    mask_volume_ml,
    max_3d_diameter_mm,
)
from nelm.quant.lesions import lesion_instances, lesion_mask

# (slice, row, column) spacings of the brief: thin and thick axial CT and an isotropic grid.
SPACINGS = [(2.5, 0.7, 0.7), (5.0, 0.8, 0.8), (1.0, 1.0, 1.0)]


def _rot_z(deg: float) -> npt.NDArray[np.float64]:
    t = math.radians(deg)
    return np.array([[math.cos(t), -math.sin(t), 0.0], [math.sin(t), math.cos(t), 0.0], [0.0, 0.0, 1.0]])


def _rot_x(deg: float) -> npt.NDArray[np.float64]:
    t = math.radians(deg)
    return np.array([[1.0, 0.0, 0.0], [0.0, math.cos(t), -math.sin(t)], [0.0, math.sin(t), math.cos(t)]])


def _grid(
    spacing: tuple[float, float, float], extent_mm: float, directions: npt.NDArray[np.float64] | None = None
) -> tuple[Geometry, tuple[int, int, int]]:
    """A grid of odd size on every axis, voxel (n//2, n//2, n//2) centred on the LPS origin."""
    shape = tuple(2 * math.ceil(extent_mm / s / 2) + 3 for s in spacing)
    d = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]) if directions is None else directions
    centre_index = np.array([n // 2 for n in shape], dtype=float)
    origin = -(d * np.asarray(spacing)[None, :]) @ centre_index
    g = Geometry.from_spacing(shape, spacing, (origin[0], origin[1], origin[2]), d)  # type: ignore[arg-type]
    return g, (shape[0] // 2, shape[1] // 2, shape[2] // 2)


def _raster(
    g: Geometry, semi_axes: tuple[float, float, float], axes: npt.NDArray[np.float64] | None = None
) -> npt.NDArray[np.bool_]:
    """Voxel-centre inclusion of an ellipsoid centred at the origin; ``axes`` columns = its axes (LPS)."""
    rot = np.eye(3) if axes is None else axes
    idx = np.indices(g.shape).reshape(3, -1).T.astype(float)
    pts = idx @ g.affine[:3, :3].T + g.affine[:3, 3]
    local = pts @ rot
    return np.asarray((((local / np.asarray(semi_axes)) ** 2).sum(axis=1) <= 1.0).reshape(g.shape))


def _projected_area_mm2(
    semi_axes: tuple[float, float, float], axes: npt.NDArray[np.float64], u: npt.NDArray[np.float64]
) -> float:
    """Area of the ellipsoid's shadow along unit vector ``u``: π·abc·sqrt(Σ (u·e_i / a_i)²)."""
    a, b, c = semi_axes
    ul = axes.T @ u
    return math.pi * a * b * c * math.sqrt((ul[0] / a) ** 2 + (ul[1] / b) ** 2 + (ul[2] / c) ** 2)


def _volume_bounds_ml(
    g: Geometry, semi_axes: tuple[float, float, float], axes: npt.NDArray[np.float64]
) -> tuple[float, float]:
    s = np.asarray(g.spacing_mm)
    d = g.directions
    v = 4.0 / 3.0 * math.pi * math.prod(semi_axes)
    first = sum(s[i] * _projected_area_mm2(semi_axes, axes, d[:, i]) for i in range(3))
    box_area = 2 * (s[0] * s[1] + s[1] * s[2] + s[0] * s[2])
    upper = v + first + max(semi_axes) * box_area + float(np.prod(s))
    return (v - first) / 1000.0, upper / 1000.0


def _inplane(g: Geometry) -> tuple[float, float]:
    """Half in-plane pixel diagonal δ and the full in-plane diagonal (mm)."""
    diag = math.hypot(g.spacing_mm[1], g.spacing_mm[2])
    return diag / 2.0, diag


def _chord_through_centre_mm(a: float, b: float, angle_rad: float) -> float:
    """Length of the ellipse (semi-axes a, b) chord through its centre at ``angle_rad`` from a."""
    return 2.0 / math.sqrt((math.cos(angle_rad) / a) ** 2 + (math.sin(angle_rad) / b) ** 2)


def _angle_from(v: npt.ArrayLike, axis: npt.ArrayLike) -> float:
    v, axis = np.asarray(v, dtype=float), np.asarray(axis, dtype=float)
    c = abs(float(v @ axis)) / float(np.linalg.norm(v) * np.linalg.norm(axis))
    return math.acos(min(1.0, c))


# -- analytic shapes ------------------------------------------------------------------------------
@pytest.mark.parametrize("spacing", SPACINGS)
def test_sphere_diameters_and_volume_within_voxel_bounds(spacing: tuple[float, float, float]) -> None:
    radius = 15.0
    g, centre = _grid(spacing, 2 * radius + 4)
    mask = _raster(g, (radius, radius, radius))
    areas = mask.sum(axis=(1, 2))
    assert areas[centre[0]] > np.delete(areas, centre[0]).max()  # the central disc is the largest
    delta, diag = _inplane(g)
    d = axial_diameters(mask, g)
    assert d is not None
    assert d.slice_index == centre[0]
    assert abs(d.long_mm - 2 * radius) <= diag
    assert 2 * radius - 2 * delta <= d.short_mm <= 2 * radius + 2 * delta
    for p in (*d.long_endpoints_lps_mm, *d.short_endpoints_lps_mm):
        assert abs(p[2]) < 1e-9  # on the central slice plane z = 0
        assert math.hypot(p[0], p[1]) <= radius + delta + 1e-9
    diag3 = float(np.linalg.norm(g.spacing_mm))
    assert abs(max_3d_diameter_mm(mask, g) - 2 * radius) <= diag3
    lo, hi = _volume_bounds_ml(g, (radius,) * 3, np.eye(3))
    assert lo <= mask_volume_ml(mask, g) <= hi
    assert mask_volume_ml(mask, g) == pytest.approx(mask.sum() * math.prod(spacing) / 1000.0)


def _check_ellipse_section(
    d: AxialDiameters, a: float, b: float, major_dir: npt.NDArray[np.float64], delta: float
) -> None:
    """Long/short axes of an elliptic section (semi-axes a ≥ b, major along ``major_dir``)."""
    assert b * b / a >= delta  # the osculating-circle precondition of the lower bound
    assert 2 * a - 2 * delta <= d.long_mm <= 2 * a + 2 * delta
    long_vec = np.subtract(d.long_endpoints_lps_mm[1], d.long_endpoints_lps_mm[0])
    theta = _angle_from(long_vec, major_dir)
    lam = 1 + delta / b  # the region lies inside λ·E, so L ≤ 2λ·ρ_E(θ)
    sin2_max = ((2 * lam / d.long_mm) ** 2 - 1 / a**2) / (1 / b**2 - 1 / a**2)
    assert math.sin(theta) ** 2 <= sin2_max
    short_vec = np.subtract(d.short_endpoints_lps_mm[1], d.short_endpoints_lps_mm[0])
    assert abs(float(short_vec @ long_vec)) <= 1e-6 * d.long_mm * d.short_mm  # perpendicular
    rho2 = _chord_through_centre_mm(a, b, _angle_from(short_vec, major_dir))
    assert rho2 * (1 - delta / b) <= d.short_mm <= rho2 * (1 + delta / b)
    assert abs(d.short_mm - 2 * b) <= 2 * delta + (rho2 - 2 * b) * (1 + delta / b)


@pytest.mark.parametrize("spacing", SPACINGS)
def test_axis_aligned_ellipsoid(spacing: tuple[float, float, float]) -> None:
    semi = (20.0, 12.0, 10.0)  # along x (left), y (posterior), z (superior)
    g, centre = _grid(spacing, 2 * max(semi) + 4)
    mask = _raster(g, semi)
    areas = mask.sum(axis=(1, 2))
    assert areas[centre[0]] > np.delete(areas, centre[0]).max()
    delta, _ = _inplane(g)
    d = axial_diameters(mask, g)
    assert d is not None
    assert d.slice_index == centre[0]
    _check_ellipse_section(d, semi[0], semi[1], np.array([1.0, 0.0, 0.0]), delta)
    assert d.who_product_mm2 == pytest.approx(d.long_mm * d.short_mm)
    diag3 = float(np.linalg.norm(g.spacing_mm))
    assert diag3 / 2 <= 10.0**2 / 20.0  # precondition of the 3-D lower bound
    assert abs(max_3d_diameter_mm(mask, g) - 2 * semi[0]) <= diag3
    lo, hi = _volume_bounds_ml(g, semi, np.eye(3))
    assert lo <= mask_volume_ml(mask, g) <= hi


@pytest.mark.parametrize("spacing", SPACINGS[:2])
def test_ellipsoid_rotated_30_degrees_in_plane(spacing: tuple[float, float, float]) -> None:
    semi = (18.0, 9.0, 8.0)
    rot = _rot_z(30.0)  # major axis 30° from the patient's left, in the axial plane
    g, centre = _grid(spacing, 2 * max(semi) + 4)
    mask = _raster(g, semi, rot)
    delta, _ = _inplane(g)
    d = axial_diameters(mask, g)
    assert d is not None
    assert d.slice_index == centre[0]
    _check_ellipse_section(d, semi[0], semi[1], rot[:, 0], delta)
    lo, hi = _volume_bounds_ml(g, semi, rot)
    assert lo <= mask_volume_ml(mask, g) <= hi


def test_tilted_grid_within_tolerance_measures_the_tilted_plane() -> None:
    """A grid tilted 6° about the left-right axis (gantry-tilt-like) is accepted."""
    radius = 12.0
    d0 = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    g, centre = _grid((2.5, 0.8, 0.8), 2 * radius + 4, _rot_x(6.0) @ d0)
    mask = _raster(g, (radius,) * 3)
    delta, diag = _inplane(g)
    d = axial_diameters(mask, g)
    assert d is not None
    assert d.slice_index == centre[0]
    assert abs(d.long_mm - 2 * radius) <= diag
    assert 2 * radius - 2 * delta <= d.short_mm <= 2 * radius + 2 * delta
    assert abs(max_3d_diameter_mm(mask, g) - 2 * radius) <= float(np.linalg.norm(g.spacing_mm))
    lo, hi = _volume_bounds_ml(g, (radius,) * 3, np.eye(3))
    assert lo <= mask_volume_ml(mask, g) <= hi


def _plane(
    pixels: npt.ArrayLike, spacing: tuple[float, float, float] = (1.0, 1.0, 1.0)
) -> tuple[npt.NDArray[np.bool_], Geometry]:
    arr = np.asarray(pixels, dtype=bool)[None]
    return arr, Geometry.from_spacing((1, arr.shape[1], arr.shape[2]), spacing)


def test_ten_pixel_line_is_ten_pixels_long_edge_to_edge() -> None:
    """10 pixels of 0.8 mm in a row of 0.7 mm height: the 8 mm × 0.7 mm rectangle's diagonal.

    pyradiomics (edge midpoints) reports 8.0 mm for the same line; the corner convention adds the
    pixel height in quadrature, less than one pixel diagonal.
    """
    row = np.zeros((3, 12), dtype=bool)
    row[1, 1:11] = True
    mask, g = _plane(row, (3.0, 0.7, 0.8))
    d = axial_diameters(mask, g)
    assert d is not None
    length, height = 10 * 0.8, 0.7
    assert d.long_mm == pytest.approx(math.hypot(length, height), abs=1e-9)
    assert d.long_mm - length < math.hypot(0.7, 0.8)
    # chord across the rectangle perpendicular to its diagonal: height / cos(atan(height / length))
    assert d.short_mm == pytest.approx(height * math.hypot(length, height) / length, abs=1e-9)
    assert max_3d_diameter_mm(mask, g) == pytest.approx(math.sqrt(length**2 + height**2 + 3.0**2), abs=1e-9)


def test_line_along_the_slice_axis() -> None:
    """10 voxels stacked along z: the axial diameter is one pixel diagonal, the 3-D one spans 10 slices."""
    mask = np.zeros((12, 3, 3), dtype=bool)
    mask[1:11, 1, 1] = True
    g = Geometry.from_spacing(mask.shape, (2.5, 0.7, 0.7))
    d = axial_diameters(mask, g)
    assert d is not None
    assert d.long_mm == pytest.approx(0.7 * math.sqrt(2), abs=1e-9)
    assert d.short_mm == pytest.approx(0.7 * math.sqrt(2), abs=1e-9)
    assert d.slice_index == 1  # all slices tie; the lowest index wins
    assert max_3d_diameter_mm(mask, g) == pytest.approx(math.sqrt(25.0**2 + 2 * 0.7**2), abs=1e-9)


def test_square_diagonal() -> None:
    sq = np.zeros((8, 8), dtype=bool)
    sq[1:7, 1:7] = True
    mask, g = _plane(sq, (2.0, 0.75, 0.75))
    d = axial_diameters(mask, g)
    assert d is not None
    assert d.long_mm == pytest.approx(6 * 0.75 * math.sqrt(2), abs=1e-9)
    assert d.short_mm == pytest.approx(6 * 0.75 * math.sqrt(2), abs=1e-9)  # the other diagonal


def test_l_shape_chord_is_shorter_than_the_caliper_width() -> None:
    """An L of two 2-pixel-wide arms, 8 pixels long (1 mm pixels), corners at (0..8, 0..8).

    Hull vertices (0,0), (8,0), (8,2), (2,8), (0,8): the long axis is (8,0)-(0,8), √128 mm. The
    perpendicular lines x - y = t cut the L in one piece of at most 2√2 mm (through the inner
    corner (2,2)), while the caliper width along (1,1)/√2 is 10/√2 mm.
    """
    ell = np.zeros((8, 8), dtype=bool)
    ell[:, 0:2] = True
    ell[0:2, :] = True
    mask, g = _plane(ell)
    d = axial_diameters(mask, g)
    assert d is not None
    assert d.long_mm == pytest.approx(math.sqrt(128.0), abs=1e-9)
    assert d.short_mm == pytest.approx(2 * math.sqrt(2.0), abs=1e-9)
    assert d.short_mm < 10 / math.sqrt(2) - 1.0


def test_u_shape_chord_does_not_cross_the_notch() -> None:
    """A U (1 mm pixels): left arm x 0-2 × y 0-14, right arm x 8-10 × y 0-12, base y 0-2.

    Long axis (10,0)-(0,14): √296. Perpendicular direction (14,10)/√296. The longest chord enters
    the base at (5.2, 0), passes the inner corner (8, 2) and leaves the right arm at x = 10:
    length 4.8·√296/14. A line crossing the notch from arm to arm would measure 10·√296/14 and
    the caliper width is 260/√296; neither is a chord.
    """
    u = np.zeros((14, 10), dtype=bool)
    u[:, 0:2] = True
    u[:12, 8:10] = True
    u[0:2, :] = True
    mask, g = _plane(u)
    d = axial_diameters(mask, g)
    assert d is not None
    assert d.long_mm == pytest.approx(math.sqrt(296.0), abs=1e-9)
    assert d.short_mm == pytest.approx(4.8 * math.sqrt(296.0) / 14.0, abs=1e-9)
    ends = sorted(d.short_endpoints_lps_mm)
    # pixel (row r, col c) covers x in [c - 0.5, c + 0.5]: corner coordinate x_u corresponds to x_u - 0.5 mm
    assert ends[0][:2] == pytest.approx((5.2 - 0.5, 0.0 - 0.5), abs=1e-9)
    assert ends[1][:2] == pytest.approx((10.0 - 0.5, 2 + 2 * 10 / 14 - 0.5), abs=1e-9)


def test_fragments_on_one_slice_share_one_caliper() -> None:
    """Two 2×2 fragments, 4 pixels apart: the caliper spans both; a chord stays in one fragment."""
    two = np.zeros((2, 8), dtype=bool)
    two[:, 0:2] = True
    two[:, 6:8] = True
    mask, g = _plane(two)
    d = axial_diameters(mask, g)
    assert d is not None
    assert d.long_mm == pytest.approx(math.sqrt(8.0**2 + 2.0**2), abs=1e-9)
    # direction (-2, 8) crosses a 2-mm fragment from bottom to top over 0.5 mm sideways
    assert d.short_mm == pytest.approx(2.0 * math.sqrt(1 + (2.0 / 8.0) ** 2), abs=1e-9)


def test_mask_volume_counts_voxels_times_voxel_volume() -> None:
    mask = np.zeros((4, 5, 6), dtype=bool)
    mask[1:3, 1:4, 2:6] = True  # 2 × 3 × 4 = 24 voxels
    g = Geometry.from_spacing(mask.shape, (2.5, 0.8, 0.8))
    assert mask_volume_ml(mask, g) == pytest.approx(24 * 2.5 * 0.8 * 0.8 / 1000.0)
    assert mask_volume_ml(mask.astype(np.uint8), g) == pytest.approx(24 * 2.5 * 0.8 * 0.8 / 1000.0)


# -- property: exact against brute force on small random masks ----------------------------------
def _corners_mm(
    k: int, r: int, c: int, spacing: tuple[float, float, float]
) -> list[tuple[float, float, float]]:
    """The 8 corners (x, y, z mm) of voxel (k, r, c) on a default axial grid with origin 0."""
    return [
        ((c + dc) * spacing[2], (r + dr) * spacing[1], (k + dk) * spacing[0])
        for dk in (-0.5, 0.5)
        for dr in (-0.5, 0.5)
        for dc in (-0.5, 0.5)
    ]


def _brute_chord_mm(
    region: npt.NDArray[np.bool_], spacing: tuple[float, float, float], normal: npt.NDArray[np.float64]
) -> float:
    """Longest chord along ``normal`` through any pixel corner: per-square slab clipping, interval union."""
    sy, sx = spacing[1], spacing[2]
    squares = [
        ((c - 0.5) * sx, (c + 0.5) * sx, (r - 0.5) * sy, (r + 0.5) * sy) for r, c in np.argwhere(region)
    ]
    best = 0.0
    rows, cols = region.shape
    for r0 in range(rows + 1):
        for c0 in range(cols + 1):
            q = np.array([(c0 - 0.5) * sx, (r0 - 0.5) * sy])
            spans = []
            for x0, x1, y0, y1 in squares:
                lo, hi = -np.inf, np.inf
                for a, (m0, m1) in enumerate(((x0, x1), (y0, y1))):
                    if abs(normal[a]) < 1e-12:
                        if not m0 - 1e-9 <= q[a] <= m1 + 1e-9:
                            lo, hi = 1.0, 0.0
                        continue
                    t0, t1 = sorted(((m0 - q[a]) / normal[a], (m1 - q[a]) / normal[a]))
                    lo, hi = max(lo, t0), min(hi, t1)
                if lo <= hi + 1e-9:
                    spans.append((lo, hi))
            spans.sort()
            cur_lo, cur_hi = None, None
            for lo, hi in spans:
                if cur_hi is None or lo > cur_hi + 1e-9:
                    cur_lo, cur_hi = lo, hi
                else:
                    cur_hi = max(cur_hi, hi)
                assert cur_lo is not None
                best = max(best, cur_hi - cur_lo)
    return best


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.booleans(), min_size=2 * 6 * 6, max_size=2 * 6 * 6).filter(any),
    st.sampled_from([(2.0, 0.7, 0.9), (1.0, 1.0, 1.0), (3.0, 0.5, 0.5)]),
)
def test_random_masks_match_brute_force(bits: list[bool], spacing: tuple[float, float, float]) -> None:
    mask = np.array(bits, dtype=bool).reshape(2, 6, 6)
    g = Geometry.from_spacing(mask.shape, spacing)
    d = axial_diameters(mask, g)
    assert d is not None
    per_slice = {
        k: float(
            pdist(
                np.array([p[:2] for r, c in np.argwhere(mask[k]) for p in _corners_mm(k, r, c, spacing)])
            ).max()
        )
        for k in range(2)
        if mask[k].any()
    }
    assert d.long_mm == pytest.approx(max(per_slice.values()), abs=1e-9)
    assert per_slice[d.slice_index] == pytest.approx(d.long_mm, abs=1e-9)
    all_corners = np.array([p for k, r, c in np.argwhere(mask) for p in _corners_mm(k, r, c, spacing)])
    assert max_3d_diameter_mm(mask, g) == pytest.approx(float(pdist(all_corners).max()), abs=1e-9)
    long_vec = np.subtract(d.long_endpoints_lps_mm[1], d.long_endpoints_lps_mm[0])[:2]
    normal = np.array([-long_vec[1], long_vec[0]]) / np.linalg.norm(long_vec)
    assert d.short_mm == pytest.approx(_brute_chord_mm(mask[d.slice_index], spacing, normal), abs=1e-7)


# -- the pruned searches against exhaustive references (any affine) ------------------------------
def _voxel_corners(idx: npt.NDArray[np.int_], dims: int) -> npt.NDArray[np.float64]:
    """All distinct corners (index coordinates) of the voxels/pixels ``idx`` (``(n, dims)``)."""
    offsets = np.array(list(itertools.product((-0.5, 0.5), repeat=dims)))
    return np.unique((idx[:, None, :] + offsets[None]).reshape(-1, dims), axis=0)


def _brute_max3d_mm(mask: npt.NDArray[np.bool_], g: Geometry) -> float:
    """Largest distance between any two voxel corners."""
    return float(pdist(g.index_to_world(_voxel_corners(np.argwhere(mask), 3))).max())


def _brute_slice_caliper_mm(mask: npt.NDArray[np.bool_], g: Geometry, k: int) -> float:
    """Largest distance between any two pixel corners of slice ``k`` (in mm, through the affine)."""
    rc = _voxel_corners(np.argwhere(mask[k]), 2)
    return float(pdist(g.index_to_world(np.column_stack([np.full(len(rc), float(k)), rc]))).max())


Ends = tuple[tuple[float, float, float], tuple[float, float, float]]
_BRUTE_CHORDS: dict[
    tuple[bytes, bytes, int, Ends], tuple[float, npt.NDArray[np.float64], npt.NDArray[np.float64]]
] = {}


def _cached_brute_chord(
    mask: npt.NDArray[np.bool_], g: Geometry, k: int, long_ends: Ends
) -> tuple[float, npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """:func:`_brute_chord`, remembered across the pruning variants of one case."""
    key = (np.packbits(mask).tobytes() + bytes(mask.shape), g.affine.tobytes(), k, long_ends)
    if key not in _BRUTE_CHORDS:
        _BRUTE_CHORDS[key] = _brute_chord(mask, g, k, long_ends)
    return _BRUTE_CHORDS[key]


def _brute_chord(
    mask: npt.NDArray[np.bool_], g: Geometry, k: int, long_ends: Ends
) -> tuple[float, npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The chord of slice ``k`` perpendicular to the long axis that the documented rule selects.

    Every line through any pixel corner, perpendicular (in mm) to the long axis, cut by every
    closed pixel square (slab clipping in index space); touching intervals merge. Of the longest
    chords (within 10⁻⁹ mm) the one on the line with the smallest position along the long axis,
    then the first along that line. Returns its length and its endpoints (LPS mm).
    """
    a = g.affine[:3, :3]
    p, q = np.asarray(long_ends[0]), np.asarray(long_ends[1])
    e = (q - p) / np.linalg.norm(q - p)
    plane = np.cross(a[:, 1], a[:, 2])
    n = np.cross(plane, e)
    n /= np.linalg.norm(n)
    step = np.linalg.solve(a, n)[1:]  # index step (row, column) per mm along n; the slice is fixed
    pixels = np.argwhere(mask[k]).astype(float)
    chords = []
    rows, cols = mask.shape[1:]
    for i in range(rows + 1):
        for j in range(cols + 1):
            corner = np.array([i - 0.5, j - 0.5])
            lo = np.full(len(pixels), -np.inf)
            hi = np.full(len(pixels), np.inf)
            for ax in (0, 1):
                if abs(step[ax]) < 1e-12:
                    outside = np.abs(corner[ax] - pixels[:, ax]) > 0.5 + 1e-9
                    lo[outside], hi[outside] = 1.0, 0.0
                    continue
                s0 = (pixels[:, ax] - 0.5 - corner[ax]) / step[ax]
                s1 = (pixels[:, ax] + 0.5 - corner[ax]) / step[ax]
                lo = np.maximum(lo, np.minimum(s0, s1))
                hi = np.minimum(hi, np.maximum(s0, s1))
            spans = sorted((float(x), float(y)) for x, y in zip(lo, hi, strict=True) if x <= y + 1e-9)
            world = g.index_to_world(np.array([float(k), *corner]))
            t, sigma = float(world @ e), float(world @ n)
            run: list[float] = []
            for s_lo, s_hi in [*spans, (np.inf, np.inf)]:
                if run and s_lo > run[1] + 1e-9:
                    chords.append(
                        (run[1] - run[0], t, sigma + run[0], world + run[0] * n, world + run[1] * n)
                    )
                    run = []
                run = [s_lo, s_hi] if not run else [run[0], max(run[1], s_hi)]
    best = max(c[0] for c in chords)
    tied = [c for c in chords if c[0] >= best - 1e-9]
    t_min = min(c[1] for c in tied)
    length, _, _, start, stop = min((c for c in tied if c[1] <= t_min + 1e-7), key=lambda c: c[2])
    return length, start, stop


def _check_against_brute_force(
    mask: npt.NDArray[np.bool_], g: Geometry, measured: LesionDiameters | None = None
) -> None:
    """Long axis (value, slice rule), short axis (value and the chord rule) and 3-D diameter.

    ``measured``: the values of :func:`lesion_diameters` for this mask, else those of
    :func:`axial_diameters` and :func:`max_3d_diameter_mm` are checked.
    """
    d = axial_diameters(mask, g) if measured is None else measured.axial
    assert d is not None
    per_slice = {k: _brute_slice_caliper_mm(mask, g, k) for k in range(mask.shape[0]) if mask[k].any()}
    best = max(per_slice.values())
    assert d.long_mm == pytest.approx(best, abs=1e-9)
    tied = [k for k, v in per_slice.items() if v >= best - 1e-6]
    assert d.slice_index == max(tied, key=lambda k: (int(mask[k].sum()), -k))
    ends = np.array(d.long_endpoints_lps_mm)
    assert np.allclose(g.world_to_index(ends)[:, 0], d.slice_index, atol=1e-9)
    length, start, stop = _cached_brute_chord(mask, g, d.slice_index, d.long_endpoints_lps_mm)
    assert d.short_mm == pytest.approx(length, abs=1e-7)
    got = np.array(d.short_endpoints_lps_mm)
    assert np.allclose(got, [start, stop], atol=1e-6) or np.allclose(got, [stop, start], atol=1e-6)
    feret = max_3d_diameter_mm(mask, g) if measured is None else measured.max_3d_mm
    assert feret == pytest.approx(_brute_max3d_mm(mask, g), abs=1e-9)


def _shape_masks() -> dict[str, npt.NDArray[np.bool_]]:
    """Masks that stress the pruning: convex, thin, concave, holed, tiny, split."""
    k, r, c = np.indices((5, 17, 17))
    rho2 = ((k - 2) * 2.5) ** 2 + ((r - 8) * 0.8) ** 2 + ((c - 8) * 0.8) ** 2
    rod = np.abs((r - 8) * 0.6 - (c - 8) * 0.8) <= 0.7
    ring = (np.abs(np.hypot(r - 8, c - 8) - 6.0) <= 1.5) & (np.abs(k - 2) <= 1)
    ell = np.zeros((3, 12, 12), dtype=bool)
    ell[:, 1:11, 1:4] = True
    ell[1:, 8:11, 1:11] = True
    single = np.zeros((3, 4, 4), dtype=bool)
    single[1, 2, 1] = True
    split = np.zeros((3, 10, 14), dtype=bool)
    split[0:2, 2:5, 1:4] = True
    split[1:3, 5:9, 9:13] = True
    return {
        "sphere": rho2 <= 36.0,
        "oblique rod": rod & (np.abs(k - 2) <= 1) & (np.hypot(r - 8, c - 8) <= 7.5),
        "ring": ring,
        "L": ell,
        "single voxel": single,
        "two fragments": split,
    }


def _grids(shape: tuple[int, int, int]) -> dict[str, Geometry]:
    """Anisotropic axis-aligned, rotated in-plane, tilted 6° (gantry) and sheared in-plane grids."""
    d0 = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    sheared = d0.copy()
    sheared[:, 2] = np.array([1.0, 0.25, 0.0]) / math.hypot(1.0, 0.25)  # columns lean towards P
    return {
        "anisotropic": Geometry.from_spacing(shape, (2.5, 0.8, 0.8)),
        "rotated": Geometry.from_spacing(shape, (2.0, 0.7, 0.9), (3.0, -4.0, 5.0), _rot_z(33.0) @ d0),
        "tilted": Geometry.from_spacing(shape, (3.0, 0.75, 0.75), directions=_rot_x(6.0) @ d0),
        "sheared": Geometry.from_spacing(shape, (1.5, 0.6, 1.1), directions=sheared),
    }


@pytest.fixture(
    params=["default", "chord bounds", "slab pairs", "hull first", "scipy pairs"],
)
def pruning(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Force each pruning path of the searches on small masks (they must stay exact)."""
    path = str(request.param)
    if path == "chord bounds":  # circumscribed-polygon bounds on every chord search
        monkeypatch.setattr(diameters, "_SMALL_CHORD_WORK", 0.0)
    elif path == "slab pairs":  # direction slabs for every 3-D diameter
        monkeypatch.setattr(diameters, "_SLAB_SET", 2)
        monkeypatch.setattr(diameters, "_PDIST_SET", 2)
    elif path == "hull first":  # qhull before every in-plane pair search
        monkeypatch.setattr(diameters, "_HULL_SET", 2)
    elif path == "scipy pairs":  # scipy's cdist/pdist instead of numpy for every pair search
        monkeypatch.setattr(diameters, "_NUMPY_PAIRS", 0)
        monkeypatch.setattr(diameters, "_PDIST_SET", 0)
    return path


@pytest.mark.parametrize("shape", list(_shape_masks()))
@pytest.mark.parametrize("grid", ["anisotropic", "rotated", "tilted", "sheared"])
def test_shapes_on_any_grid_match_brute_force(shape: str, grid: str, pruning: str) -> None:
    mask = _shape_masks()[shape]
    _check_against_brute_force(mask, _grids(mask.shape)[grid])


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.booleans(), min_size=3 * 9 * 9, max_size=3 * 9 * 9).filter(any),
    st.sampled_from(["anisotropic", "rotated", "tilted", "sheared"]),
    st.floats(0.15, 0.85),
)
def test_larger_random_masks_match_brute_force(bits: list[bool], grid: str, keep: float) -> None:
    """Random blobs: a smoothed random field thresholded, so shapes have runs, notches and holes."""
    noise = np.array(bits, dtype=float).reshape(3, 9, 9)
    field = (
        noise + np.roll(noise, 1, axis=1) + np.roll(noise, 1, axis=2) + np.roll(noise, (1, 1), axis=(1, 2))
    )
    mask = field >= 4.0 * (1.0 - keep)
    if not mask.any():
        mask = noise > 0
    _check_against_brute_force(mask, _grids(mask.shape)[grid])


def test_chord_bounds_and_slabs_are_lossless_on_a_large_lesion(monkeypatch: pytest.MonkeyPatch) -> None:
    """A 56 × 36-pixel ellipse with notches: the bounded chord search and the 3-D slab search agree
    with the exhaustive searches of the same code, and the 3-D diameter with all corner pairs."""
    g, _ = _grid((2.5, 0.5, 0.5), 40.0)
    mask = _raster(g, (14.0, 9.0, 4.0), _rot_z(25.0))
    half = mask.shape[2] // 2 - 2
    mask[:, :, :half] &= np.indices(mask.shape)[1][:, :, :half] % 7 != 0  # notches on one side
    monkeypatch.setattr(diameters, "_SMALL_CHORD_WORK", 0.0)  # bounds on every line
    monkeypatch.setattr(diameters, "_SLAB_SET", 2)  # slabs for every 3-D search
    bounded = axial_diameters(mask, g)
    slabs = max_3d_diameter_mm(mask, g)
    monkeypatch.setattr(diameters, "_SMALL_CHORD_WORK", math.inf)
    monkeypatch.setattr(diameters, "_SLAB_SET", 10**9)
    exhaustive = axial_diameters(mask, g)
    assert bounded is not None
    assert exhaustive is not None
    assert bounded.short_mm == pytest.approx(exhaustive.short_mm, abs=1e-9)
    assert np.allclose(bounded.short_endpoints_lps_mm, exhaustive.short_endpoints_lps_mm, atol=1e-9)
    assert slabs == pytest.approx(max_3d_diameter_mm(mask, g), abs=1e-9)
    assert slabs == pytest.approx(_brute_max3d_mm(mask, g), abs=1e-9)


@pytest.mark.parametrize("radius_px", [2, 9])  # few candidates (one search of all slices) or many
def test_identical_slices_tie_to_the_lowest_index(radius_px: int) -> None:
    r, c = np.indices((2 * radius_px + 3, 2 * radius_px + 3))
    disc = np.hypot(r - radius_px - 1, c - radius_px - 1) <= radius_px + 0.3
    mask = np.zeros((7, *disc.shape), dtype=bool)
    mask[2:6] = disc
    g = Geometry.from_spacing(mask.shape, (2.0, 0.7, 0.7))
    d = axial_diameters(mask, g)
    assert d is not None
    assert d.slice_index == 2
    assert d.long_mm == pytest.approx(_brute_slice_caliper_mm(mask, g, 2), abs=1e-9)


def test_slab_directions_cover_the_sphere() -> None:
    """Every unit vector is within the certified angle of one of the slab directions (or its opposite)."""
    v, c = diameters._slab_directions()
    u = np.random.default_rng(7).normal(size=(20000, 3))
    u /= np.linalg.norm(u, axis=1)[:, None]
    assert 0.9 < c < 1.0
    assert float(np.abs(u @ v).max(axis=1).min()) >= c


def test_equal_diagonals_keep_the_scan_order_and_ties_pick_the_first_chord() -> None:
    """A square's two diagonals tie: the first in scan order (top-left to bottom-right) is the long
    axis. A 1 × 6 bar's perpendicular chords tie along a whole stretch: the one nearest the start
    of the long axis is reported."""
    sq = np.zeros((8, 8), dtype=bool)
    sq[1:7, 1:7] = True
    mask, g = _plane(sq, (2.0, 0.75, 0.75))
    d = axial_diameters(mask, g)
    assert d is not None
    assert np.allclose(d.long_endpoints_lps_mm, [(0.375, 0.375, 0.0), (4.875, 4.875, 0.0)], atol=1e-12)
    bar = np.zeros((3, 8), dtype=bool)
    bar[1, 1:7] = True
    mask, g = _plane(bar)
    d = axial_diameters(mask, g)
    assert d is not None
    length, start, stop = _brute_chord(mask, g, 0, d.long_endpoints_lps_mm)
    assert d.short_mm == pytest.approx(length, abs=1e-9)
    assert np.allclose(sorted(d.short_endpoints_lps_mm), sorted([tuple(start), tuple(stop)]), atol=1e-9)


@pytest.mark.parametrize("cloud", ["sphere shell", "ellipsoid shell", "flat disc", "cube", "uniform"])
def test_slab_search_matches_all_pairs(cloud: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The 3-D slab search equals the all-pairs maximum on clouds whose farthest pair is not an
    extreme pair along any of its directions (many near-diameters)."""
    rng = np.random.default_rng(len(cloud))
    u = rng.normal(size=(3000, 3))
    u /= np.linalg.norm(u, axis=1)[:, None]
    pts = {
        "sphere shell": u * rng.uniform(19.0, 20.0, size=(3000, 1)),
        "ellipsoid shell": u * np.array([20.0, 14.0, 6.0]),
        "flat disc": np.column_stack([u[:, :2] / np.linalg.norm(u[:, :2], axis=1)[:, None] * 15.0, u[:, 2]]),
        "cube": rng.integers(0, 2, size=(3000, 3)) * 10.0 + rng.normal(scale=0.3, size=(3000, 3)),
        "uniform": rng.uniform(-5.0, 5.0, size=(3000, 3)) * np.array([1.0, 2.0, 0.5]),
    }[cloud]
    exhaustive = float(pdist(pts).max())
    assert diameters._diameter(pts) == pytest.approx(exhaustive, abs=1e-9)  # 3000 points: slabs
    monkeypatch.setattr(diameters, "_SLAB_SET", 10**9)
    assert diameters._diameter(pts) == pytest.approx(exhaustive, abs=1e-9)


# -- many lesions at once -------------------------------------------------------------------------
def _mixed_lesions() -> list[tuple[npt.NDArray[np.bool_], Geometry]]:
    """Every shape on every grid, some inside a wider background box (offsets), shuffled."""
    items = []
    for mask in _shape_masks().values():
        for grid in ("anisotropic", "rotated", "tilted", "sheared"):
            if len(items) % 3 == 1:  # not a tight crop: background rows, columns and slices around
                mask = np.pad(mask, ((1, 2), (3, 0), (0, 2)))
            items.append((mask, _grids(mask.shape)[grid]))
    order = np.random.default_rng(7).permutation(len(items))
    return [items[i] for i in order]


@pytest.fixture(params=["one stack", "a stack each", "tight crops first"])
def stacking(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Force how :func:`lesion_diameters` stacks the masks (the values must not change)."""
    how = str(request.param)
    if how == "one stack":
        monkeypatch.setattr(diameters, "_STACK_PADDING", math.inf)
    elif how == "a stack each":
        monkeypatch.setattr(diameters, "_STACK_PADDING", 0.0)
        monkeypatch.setattr(diameters, "_STACK_SLACK", 0)
    else:  # every mask is first cropped to its foreground box, as a whole-image mask would be
        monkeypatch.setattr(diameters, "_CROP_ABOVE", 0)
    return how


def test_many_lesions_at_once_match_brute_force(pruning: str, stacking: str) -> None:
    """Stacked masks of several grids, shapes and offsets: each value is its own brute force."""
    items = _mixed_lesions()
    sizes = lesion_diameters(items)
    assert len(sizes) == len(items)
    for (mask, g), size in zip(items, sizes, strict=True):
        _check_against_brute_force(mask, g, size)


def test_many_lesions_at_once_equal_one_at_a_time(stacking: str) -> None:
    """Random blobs: the batch gives each lesion's own values (endpoints to the last bit)."""
    rng = np.random.default_rng(11)
    items = []
    for n in range(40):
        shape = (int(rng.integers(1, 6)), int(rng.integers(2, 30)), int(rng.integers(2, 30)))
        mask = rng.random(shape) < rng.uniform(0.3, 0.95)
        mask.flat[int(rng.integers(mask.size))] = True
        items.append((mask, _grids(shape)[("anisotropic", "rotated", "tilted", "sheared")[n % 4]]))
    for (mask, g), size in zip(items, lesion_diameters(items), strict=True):
        assert size.axial == axial_diameters(mask, g)
        assert size.max_3d_mm == pytest.approx(max_3d_diameter_mm(mask, g), rel=1e-12)


def test_lesion_diameters_of_no_lesions() -> None:
    assert lesion_diameters([]) == []


def test_bad_lesion_among_many_is_named() -> None:
    g = Geometry.from_spacing((3, 4, 5), (2.0, 1.0, 1.0))
    good = np.zeros(g.shape, dtype=bool)
    good[1, 1:3, 1:4] = True
    labels = good.astype(np.uint8) * 2
    with pytest.raises(MaskError, match=r"lesion mask 1 of 3: .*only 0 and 1"):
        lesion_diameters([(good, g), (labels, g), (good, g)])  # type: ignore[list-item]
    with pytest.raises(MaskError, match=r"lesion mask 2 of 3 is empty"):
        lesion_diameters([(good, g), (good, g), (np.zeros_like(good), g)])
    with pytest.raises(GeometryError, match=r"lesion mask 0 of 2: .*does not match its grid"):
        lesion_diameters([(good[:, :, :4], g), (good, g)])
    coronal = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]]).T
    g_cor = Geometry.from_spacing(g.shape, (2.0, 1.0, 1.0), directions=coronal)
    with pytest.raises(GeometryError, match=r"lesion mask 1 of 2: .*axial plane"):
        lesion_diameters([(good, g), (good, g_cor)])
    assert lesion_diameters([(good, g), (good, g_cor)], max_tilt_deg=90.0)[1].max_3d_mm > 0


def test_inconsistent_lesion_diameters_cannot_be_built() -> None:
    p, q = (0.0, 0.0, 0.0), (10.0, 0.0, 0.0)
    axial = AxialDiameters(10.0, 5.0, 0, (p, q), (p, (0.0, 5.0, 0.0)))
    assert LesionDiameters(axial, 10.0).max_3d_mm == 10.0
    with pytest.raises(MaskError, match="cannot be shorter"):
        LesionDiameters(axial, 9.5)
    with pytest.raises(MaskError, match="cannot be shorter"):
        LesionDiameters(axial, math.nan)


# -- the synthetic patient ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def patient() -> SyntheticPatient:
    """The default phantom; its PET, MRI and low-dose CT (which leave the CT masks unchanged) are skipped."""
    return generate_patient(PhantomConfig(include_pet=False, include_mri=False, include_lowdose_ct=False))


def _lesions(patient: SyntheticPatient) -> Iterator[tuple[object, npt.NDArray[np.bool_], Geometry]]:
    lm = patient.mask("baseline", "lesions")
    truth = {t.tracking_id: t for t in patient.truth.time_point("baseline").lesions}
    for inst in lesion_instances(lm):
        mask, g = lesion_mask(lm, inst)
        yield truth[inst.lesion_id], mask, g


def test_phantom_lesion_sizes_match_truth(patient: SyntheticPatient) -> None:
    """Default phantom, baseline ct_portal grid: axes, 3-D diameter and volume vs truth.

    The phantom's lesion axes are parallel to the patient axes and its masks use voxel-centre
    inclusion, so the section of lesion (a, b, c) at height z is an axis-aligned ellipse scaled
    by sqrt(1 - ((z - z0)/c)²).
    """
    lm = patient.mask("baseline", "lesions")
    assert lm.geometry.orientation == "SPL"
    delta, _ = _inplane(lm.geometry)
    diag3 = float(np.linalg.norm(lm.geometry.spacing_mm))
    n = 0
    for tr, mask, g in _lesions(patient):
        n += 1
        a, b, c = tr.semi_axes_mm  # type: ignore[attr-defined]
        x0, y0, z0 = tr.centroid_lps_mm  # type: ignore[attr-defined]
        assert int(mask.sum()) == tr.voxel_counts["ct_portal"]  # type: ignore[attr-defined]
        d = axial_diameters(mask, g)
        assert d is not None
        big, small = max(a, b), min(a, b)
        major = np.array([1.0, 0.0, 0.0]) if a >= b else np.array([0.0, 1.0, 0.0])
        assert big == pytest.approx(tr.axial_long_diameter_mm / 2)  # type: ignore[attr-defined]
        # nearest slice to the centre: its section is the largest available one
        zs = g.index_to_world(
            np.column_stack([np.arange(g.shape[0]), np.zeros(g.shape[0]), np.zeros(g.shape[0])])
        )[:, 2]
        dz = float(np.min(np.abs(zs - z0)))
        best = math.sqrt(1 - (dz / c) ** 2)
        assert (small * best) ** 2 / (big * best) >= delta
        assert 2 * big * best - 2 * delta <= d.long_mm <= 2 * big + 2 * delta
        # the measured slice's section and the chord bound there
        zk = d.long_endpoints_lps_mm[0][2]
        s_k = math.sqrt(max(0.0, 1 - ((zk - z0) / c) ** 2))
        short_vec = np.subtract(d.short_endpoints_lps_mm[1], d.short_endpoints_lps_mm[0])
        rho2 = _chord_through_centre_mm(big * s_k, small * s_k, _angle_from(short_vec, major))
        assert rho2 * (1 - delta / (small * s_k)) <= d.short_mm <= rho2 * (1 + delta / (small * s_k))
        longest = max(a, b, c)
        assert min(a, b, c) ** 2 / longest >= diag3 / 2
        assert abs(max_3d_diameter_mm(mask, g) - 2 * longest) <= diag3
        assert longest == pytest.approx(tr.max_3d_diameter_mm / 2)  # type: ignore[attr-defined]
        lo, hi = _volume_bounds_ml(g, (a, b, c), np.eye(3))
        assert lo <= mask_volume_ml(mask, g) <= hi
        assert 4 / 3 * math.pi * a * b * c / 1000 == pytest.approx(tr.volume_ml)  # type: ignore[attr-defined]
        assert abs(float(np.mean([p[0] for p in d.long_endpoints_lps_mm])) - x0) <= big + delta
        assert abs(float(np.mean([p[1] for p in d.long_endpoints_lps_mm])) - y0) <= big + delta
    assert n == patient.truth.time_point("baseline").lesion_count


# -- bad input ------------------------------------------------------------------------------------
def test_coronal_grid_is_refused_with_a_resample_hint() -> None:
    coronal = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]]).T  # slices along P
    g = Geometry.from_spacing((5, 6, 7), (2.0, 1.0, 1.0), directions=coronal)
    mask = np.zeros(g.shape, dtype=bool)
    mask[2, 2:4, 2:4] = True
    with pytest.raises(GeometryError, match=r"axial plane.*Resample"):
        axial_diameters(mask, g)
    assert max_3d_diameter_mm(mask, g) == pytest.approx(math.sqrt(4 + 4 + 4))  # any orientation


def test_grid_tilted_beyond_tolerance_is_refused() -> None:
    d0 = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    g = Geometry.from_spacing((5, 6, 7), (2.0, 1.0, 1.0), directions=_rot_x(20.0) @ d0)
    mask = np.zeros(g.shape, dtype=bool)
    mask[2, 2:4, 2:4] = True
    with pytest.raises(GeometryError, match=r"20\.0° away from axial"):
        axial_diameters(mask, g)
    assert axial_diameters(mask, g, max_tilt_deg=25.0) is not None


def test_empty_mask() -> None:
    g = Geometry.from_spacing((3, 4, 5), (2.0, 1.0, 1.0))
    empty = np.zeros(g.shape, dtype=bool)
    assert axial_diameters(empty, g) is None
    assert mask_volume_ml(empty, g) == 0.0
    with pytest.raises(MaskError, match="empty"):
        max_3d_diameter_mm(empty, g)


def test_mask_on_another_grid_is_refused() -> None:
    g = Geometry.from_spacing((3, 4, 5), (2.0, 1.0, 1.0))
    with pytest.raises(GeometryError, match="does not match its grid"):
        axial_diameters(np.ones((3, 4, 6), dtype=bool), g)


def test_non_binary_mask_is_refused() -> None:
    g = Geometry.from_spacing((3, 4, 5), (2.0, 1.0, 1.0))
    labels = np.zeros(g.shape, dtype=np.uint8)
    labels[1, 1, 1] = 2
    with pytest.raises(MaskError, match="only 0 and 1"):
        max_3d_diameter_mm(labels, g)  # type: ignore[arg-type]


def test_two_dimensional_mask_is_refused() -> None:
    g = Geometry.from_spacing((1, 4, 5), (2.0, 1.0, 1.0))
    with pytest.raises(MaskError, match="3-D"):
        mask_volume_ml(np.ones((4, 5), dtype=bool), g)


def test_inconsistent_diameters_cannot_be_built() -> None:
    p, q = (0.0, 0.0, 0.0), (10.0, 0.0, 0.0)
    with pytest.raises(MaskError, match="cannot exceed"):
        AxialDiameters(10.0, 12.0, 0, (p, q), (p, (12.0, 0.0, 0.0)))
    with pytest.raises(MaskError, match="apart"):
        AxialDiameters(10.0, 5.0, 0, (p, (9.0, 0.0, 0.0)), (p, (0.0, 5.0, 0.0)))
