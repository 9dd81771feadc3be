"""Lesion size from a binary mask: axial (RECIST/WHO) diameters, 3-D Feret diameter, volume.

Conventions (see ``reference/response-criteria.md`` §4, and the docstring of each function):

* **Pixels and voxels are closed squares and boxes.** Pixel ``(r, c)`` of slice ``k`` covers the
  index square ``[r - ½, r + ½] × [c - ½, c + ½]``; every length is measured between points of
  that region in physical millimetres through the grid's affine (anisotropic, oblique and
  sheared grids alike). This is the **edge-to-edge** (pixel-corner) convention of a caliper and
  of ImageJ's Feret with ``edge=True``: a run of 10 pixels spans 10 pixel widths, not the 9 of
  a centre-to-centre measurement. It differs from pyradiomics, whose mesh vertices lie on
  edge midpoints (so a 1 × 10-pixel line measures 10 px there and ``√(10² + 1)`` px here, the
  diagonal of the 10 × 1 rectangle): the two conventions differ by less than one pixel diagonal.
* **Axial long diameter** (RECIST 1.1 longest diameter in the axial plane, Eisenhauer et al.,
  Eur J Cancer 2009;45:228-247): per slice, the largest distance between two points of the
  slice's lesion region (its caliper diameter), found exactly as the largest pairwise distance
  between the pixel corners that can lie on the region's convex hull (on every horizontal
  pixel-grid line, its leftmost and rightmost corner); the slice with the largest value is
  reported (ties: the larger pixel count, then the lower slice index). Fragments of one lesion
  on a slice are measured together (one caliper across all of them); RECIST's summing of the
  fragments of a split lesion belongs to response assessment, not to this per-lesion
  measurement.
* **Axial short diameter**: on the same slice, the longest *chord* perpendicular to the long
  axis, a chord being a segment that lies inside the (closed) lesion region. This is the RECIST
  short axis of lymph nodes and the WHO perpendicular diameter (Miller et al., Cancer
  1981;47:207-214); it is not the caliper width (which may span a notch of a non-convex
  region) nor an ellipse-moment axis. Computed exactly, see :func:`axial_diameters`.
* **Maximum 3-D diameter**: the Feret diameter, i.e. the largest distance between two voxel
  corners (edge-to-edge), searched among the corners that can lie on the convex hull.
* **Volume**: voxel count × voxel volume. No partial-volume correction.
"""

from __future__ import annotations

import itertools
import logging
import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy.spatial import ConvexHull
from scipy.spatial.distance import cdist

from nelm.errors import GeometryError, MaskError
from nelm.imaging.geometry import Geometry

__all__ = [
    "MAX_AXIAL_TILT_DEG",
    "AxialDiameters",
    "axial_diameters",
    "mask_volume_ml",
    "max_3d_diameter_mm",
]

logger = logging.getLogger(__name__)

#: Largest angle (degrees) between the patient's S axis and both the mask's slice axis and the
#: normal of its row/column plane for the slices to count as axial. RECIST 1.1 (Eisenhauer et al.
#: 2009) measures lesions in the axial plane of CT/MRI; a gantry tilt of a few degrees is
#: tolerated, a coronal or clearly oblique grid is not. 10° is a documented nelm choice, not a
#: published limit.
MAX_AXIAL_TILT_DEG: Final[float] = 10.0

# Two slice diameters closer than this (mm) are a tie.
_TIE_TOLERANCE_MM: Final[float] = 1e-6
# Tolerance (index units) for a point lying on a pixel edge.
_EPS_INDEX: Final[float] = 1e-9
# Point sets up to this size skip the convex hull (a pairwise search is cheaper).
_SMALL_SET: Final[int] = 200
# Directions (in-plane, evenly spaced over 180°) whose widths bound each slice's caliper diameter:
# width_max ≤ diameter ≤ width_max / cos(90° / n), within 2 % for n = 8.
_N_DIRECTIONS: Final[int] = 8
# Perpendicular lines examined per vectorised block in the chord search.
_LINES_PER_BLOCK: Final[int] = 256

Point3 = tuple[float, float, float]


def _point(p: npt.ArrayLike) -> Point3:
    a = np.asarray(p, dtype=float).reshape(3)
    return (float(a[0]), float(a[1]), float(a[2]))


@dataclass(frozen=True)
class AxialDiameters:
    """Axial long and short diameters of one lesion, edge-to-edge, with their endpoints.

    Parameters
    ----------
    long_mm:
        Longest in-plane caliper diameter (RECIST long axis) on the slice ``slice_index``.
    short_mm:
        Longest chord perpendicular to the long axis on the same slice (RECIST short axis of
        nodes, WHO perpendicular diameter).
    slice_index:
        Index along the mask's slice axis (axis 0) of the slice measured.
    long_endpoints_lps_mm, short_endpoints_lps_mm:
        The two endpoints of each diameter in patient LPS millimetres.

    Raises
    ------
    MaskError
        Non-finite or non-positive diameters, a short axis longer than the long axis, a negative
        slice index, or endpoints whose distance is not the stated diameter.
    """

    long_mm: float
    short_mm: float
    slice_index: int
    long_endpoints_lps_mm: tuple[Point3, Point3]
    short_endpoints_lps_mm: tuple[Point3, Point3]

    def __post_init__(self) -> None:
        long_mm, short_mm = float(self.long_mm), float(self.short_mm)
        if not (math.isfinite(long_mm) and math.isfinite(short_mm)) or long_mm <= 0 or short_mm <= 0:
            raise MaskError(f"axial diameters must be positive and finite, got {long_mm} and {short_mm} mm")
        if short_mm > long_mm * (1 + 1e-9) + 1e-9:
            raise MaskError(f"the short axis ({short_mm} mm) cannot exceed the long axis ({long_mm} mm)")
        if int(self.slice_index) != self.slice_index or self.slice_index < 0:
            raise MaskError(f"slice_index must be a non-negative integer, got {self.slice_index!r}")
        ends = []
        for name, pts, length in (
            ("long", self.long_endpoints_lps_mm, long_mm),
            ("short", self.short_endpoints_lps_mm, short_mm),
        ):
            arr = np.asarray(pts, dtype=float)
            if arr.shape != (2, 3) or not np.all(np.isfinite(arr)):
                raise MaskError(f"{name}_endpoints_lps_mm must be two finite 3-D points, got {pts!r}")
            dist = float(np.linalg.norm(arr[1] - arr[0]))
            if abs(dist - length) > 1e-6 * max(1.0, length):
                raise MaskError(f"{name} axis endpoints are {dist} mm apart, not {length} mm")
            ends.append((_point(arr[0]), _point(arr[1])))
        object.__setattr__(self, "long_mm", long_mm)
        object.__setattr__(self, "short_mm", short_mm)
        object.__setattr__(self, "slice_index", int(self.slice_index))
        object.__setattr__(self, "long_endpoints_lps_mm", ends[0])
        object.__setattr__(self, "short_endpoints_lps_mm", ends[1])

    @property
    def who_product_mm2(self) -> float:
        """Long × short diameter in mm² (WHO bidimensional product; Miller et al. 1981)."""
        return self.long_mm * self.short_mm


# -- input checks --------------------------------------------------------------------------------
def _require_mask(mask: npt.ArrayLike, geometry: Geometry) -> npt.NDArray[np.bool_]:
    """The mask as a boolean array on ``geometry``; raise on wrong shape or non-binary values."""
    arr = np.asarray(mask)
    if arr.ndim != 3:
        raise MaskError(f"a lesion mask must be 3-D [slice, row, column], got {arr.ndim} dimension(s)")
    if arr.shape != geometry.shape:
        raise GeometryError(
            f"mask shape {arr.shape} does not match its grid ({geometry.describe()}); "
            "pass the geometry the mask lies on (e.g. the cropped geometry from lesion_mask)"
        )
    if arr.dtype == np.bool_:
        return arr
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise MaskError(f"a lesion mask must be boolean or 0/1, got dtype {arr.dtype}")
    if not np.isin(arr, (0, 1)).all():
        raise MaskError("a lesion mask must hold only 0 and 1 (or booleans); select one label first")
    return np.asarray(arr != 0)


def _axial_tilt_deg(geometry: Geometry) -> float:
    """Largest angle between S and the slice axis or the normal of the row/column plane."""
    d = geometry.directions
    u, v = d[:, 1], d[:, 2]
    normal = np.array([u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]])
    normal = normal / np.linalg.norm(normal)
    cos_min = min(abs(float(d[2, 0])), abs(float(normal[2])))
    return math.degrees(math.acos(min(1.0, cos_min)))


def _require_axial(geometry: Geometry, max_tilt_deg: float) -> None:
    tilt = _axial_tilt_deg(geometry)
    if tilt > max_tilt_deg:
        raise GeometryError(
            f"RECIST/WHO diameters are measured in the axial plane, but this grid's slices are "
            f"{tilt:.1f}° away from axial (orientation {geometry.orientation}; tolerance "
            f"{max_tilt_deg:g}°). Resample the image and mask to an axial grid first."
        )


def _bbox(mask: npt.NDArray[np.bool_]) -> tuple[slice, slice, slice] | None:
    """Tight bounding box of the True voxels, or None for an empty mask."""
    k = np.flatnonzero(mask.any(axis=(1, 2)))
    if k.size == 0:
        return None
    r = np.flatnonzero(mask.any(axis=(0, 2)))
    c = np.flatnonzero(mask.any(axis=(0, 1)))
    return (
        slice(int(k[0]), int(k[-1]) + 1),
        slice(int(r[0]), int(r[-1]) + 1),
        slice(int(c[0]), int(c[-1]) + 1),
    )


# -- geometry helpers ----------------------------------------------------------------------------
def _inplane_matrix(geometry: Geometry) -> npt.NDArray[np.float64]:
    """2×2 matrix from (row, column) index offsets to orthonormal in-plane mm coordinates."""
    u = geometry.affine[:3, 1]
    w = geometry.affine[:3, 2]
    nu = float(np.linalg.norm(u))
    e1 = u / nu
    w1 = float(w @ e1)
    w2 = float(np.linalg.norm(w - w1 * e1))
    return np.array([[nu, w1], [0.0, w2]])


def _grid_line_extremes(
    crop: npt.NDArray[np.bool_],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Leftmost and rightmost pixel-corner column on every horizontal grid line of every slice.

    Grid line ``j`` of slice ``k`` is the row coordinate ``j - ½`` between rows ``j - 1`` and
    ``j``; its corners belong to the pixels of those two rows. Returns two ``(K, R + 1)`` arrays
    of column coordinates (``+inf``/``-inf`` where neither row has a pixel). Every pixel corner
    of a slice lies on a segment between its line's two extremes, so these points span the
    convex hull of all its pixel corners.
    """
    n_cols = crop.shape[2]
    has = crop.any(axis=2)
    first = np.where(has, crop.argmax(axis=2) - 0.5, np.inf)
    last = np.where(has, n_cols - 0.5 - crop[:, :, ::-1].argmax(axis=2), -np.inf)
    fp = np.full((first.shape[0], first.shape[1] + 2), np.inf)
    fp[:, 1:-1] = first
    lp = np.full(fp.shape, -np.inf)
    lp[:, 1:-1] = last
    return np.minimum(fp[:, :-1], fp[:, 1:]), np.maximum(lp[:, :-1], lp[:, 1:])


def _extreme_points(
    left: npt.NDArray[np.float64], right: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    """Plane index and (row, column) coordinates of the finite line extremes, sorted by plane."""
    kk, jj = np.nonzero(np.isfinite(left))
    y = jj - 0.5
    pts = np.stack([np.stack([y, left[kk, jj]], axis=1), np.stack([y, right[kk, jj]], axis=1)], axis=1)
    return np.repeat(kk, 2), pts.reshape(-1, 2)


def _split(kk: npt.NDArray[np.intp]) -> list[tuple[int, int, int]]:
    """(plane, start, stop) runs of a sorted plane-index array."""
    bounds = np.flatnonzero(np.diff(kk)) + 1
    starts = np.concatenate([[0], bounds]).astype(int)
    stops = np.concatenate([bounds, [kk.size]]).astype(int)
    return [(int(kk[a]), int(a), int(b)) for a, b in zip(starts, stops, strict=True)]


def _direction_set(dim: int) -> npt.NDArray[np.float64]:
    """Unit directions used to find well-separated points: 8 in 2-D, 13 in 3-D (axes, diagonals)."""
    if dim == 2:
        ang = np.arange(_N_DIRECTIONS) * (math.pi / _N_DIRECTIONS)
        return np.stack([np.cos(ang), np.sin(ang)], axis=1)
    v = np.array([p for p in itertools.product((-1, 0, 1), repeat=3) if p > (0, 0, 0)], dtype=float)
    return np.asarray(v / np.linalg.norm(v, axis=1)[:, None])


def _farthest_pair(points: npt.NDArray[np.float64]) -> tuple[int, int, float]:
    """Indices of the two points farthest apart and their distance, exactly.

    Small sets: all pairs (``scipy.spatial.distance.cdist``). Larger sets are pruned first
    without loss: the extreme points along a few directions give a pair of length ``D0 ≤ D``;
    with ``c`` the bounding-box centre and ``R`` the largest ``|p - c|``, an endpoint ``p`` of
    the farthest pair satisfies ``D ≤ |p - c| + R``, so points with ``|p - c| < D0 - R`` are
    dropped; if many remain, only their convex hull vertices are kept.
    """
    idx = np.arange(len(points))
    if len(points) > _SMALL_SET:
        proj = points @ _direction_set(points.shape[1]).T
        ext = np.unique(np.concatenate([proj.argmax(axis=0), proj.argmin(axis=0)]))
        d0 = math.sqrt(float(cdist(points[ext], points[ext], "sqeuclidean").max()))
        centre = 0.5 * (points.min(axis=0) + points.max(axis=0))
        r = np.linalg.norm(points - centre, axis=1)
        idx = np.flatnonzero(r >= d0 - float(r.max()) - 1e-9)
        if len(idx) > 8 * _SMALL_SET:
            idx = idx[ConvexHull(points[idx]).vertices]
    sub = points[idx]
    n = len(sub)
    best, i, j = -1.0, 0, 0
    for a in range(0, n, 2048):
        d2 = cdist(sub[a : a + 2048], sub, "sqeuclidean")
        bi, bj = divmod(int(np.argmax(d2)), n)
        if d2[bi, bj] > best:
            best, i, j = float(d2[bi, bj]), a + bi, bj
    return int(idx[i]), int(idx[j]), float(np.linalg.norm(sub[i] - sub[j]))


# -- the chord search ----------------------------------------------------------------------------
def _padded(region: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """The region with a one-pixel background border."""
    out = np.zeros((region.shape[0] + 2, region.shape[1] + 2), dtype=bool)
    out[1:-1, 1:-1] = region
    return out


def _turning_corners(region: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
    """(row, column) index coordinates of the corners where the region's boundary turns.

    A corner is shared by four pixels; the boundary turns there when one or three of them are
    foreground, or two diagonal ones (a saddle). Corners on a straight stretch of boundary, and
    corners inside or outside the region, cannot change the chord structure.
    """
    p = _padded(region)
    a, b, c, d = p[:-1, :-1], p[1:, :-1], p[:-1, 1:], p[1:, 1:]
    count = a.astype(np.int8) + b + c + d
    turning = (count == 1) | (count == 3) | ((count == 2) & (a == d))
    ii, jj = np.nonzero(turning)
    return np.stack([ii - 0.5, jj - 0.5], axis=1)


def _longest_chord(
    region: npt.NDArray[np.bool_],
    to_mm: npt.NDArray[np.float64],
    long_dir_mm: npt.NDArray[np.float64],
) -> tuple[float, npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Longest segment inside the closed pixel region perpendicular to ``long_dir_mm``.

    Returns the length (mm) and the two endpoints as (row, column) index coordinates.
    See :func:`axial_diameters` for the algorithm and why it is exact.
    """
    n_rows, n_cols = region.shape
    padded = _padded(region)
    normal_mm = np.array([-long_dir_mm[1], long_dir_mm[0]])
    step = np.linalg.solve(to_mm, normal_mm)  # index offset per mm along the perpendicular
    corners = _turning_corners(region)
    t = (corners @ to_mm.T) @ long_dir_mm
    _, keep = np.unique(np.round(t * 1e7), return_index=True)
    origins = corners[keep]
    grid = (np.arange(n_rows + 1) - 0.5, np.arange(n_cols + 1) - 0.5)
    limits = ((-0.5, n_rows - 0.5), (-0.5, n_cols - 0.5))
    best_len, best_a, best_b = -1.0, origins[0], origins[0]
    for start in range(0, len(origins), _LINES_PER_BLOCK):
        q = origins[start : start + _LINES_PER_BLOCK]
        s_lo = np.full(len(q), -np.inf)
        s_hi = np.full(len(q), np.inf)
        cuts = []
        for axis in (0, 1):
            if abs(step[axis]) <= 1e-12:
                continue
            lo, hi = limits[axis]
            s1 = (lo - q[:, axis]) / step[axis]
            s2 = (hi - q[:, axis]) / step[axis]
            s_lo = np.maximum(s_lo, np.minimum(s1, s2))
            s_hi = np.minimum(s_hi, np.maximum(s1, s2))
            cuts.append((grid[axis][None, :] - q[:, axis : axis + 1]) / step[axis])
        s = np.concatenate([s_lo[:, None], s_hi[:, None], *cuts], axis=1)
        s = np.minimum(np.maximum(s, s_lo[:, None]), s_hi[:, None])
        s.sort(axis=1)
        length = np.diff(s, axis=1)
        mid = 0.5 * (s[:, 1:] + s[:, :-1])
        mr = q[:, 0:1] + mid * step[0]
        mc = q[:, 1:2] + mid * step[1]
        # padded index of the pixel holding each midpoint (midpoints lie in [-½, n - ½]); a piece
        # lies on a grid line only when the line runs along it (a zero step component), and
        # then the pixels on both sides count
        r_idx = np.minimum(np.maximum(np.ceil(mr + (0.5 - _EPS_INDEX)).astype(np.intp), 0), n_rows + 1)
        c_idx = np.minimum(np.maximum(np.ceil(mc + (0.5 - _EPS_INDEX)).astype(np.intp), 0), n_cols + 1)
        inside = padded[r_idx, c_idx]
        if abs(step[0]) <= 1e-12:
            inside |= padded[np.minimum(r_idx + 1, n_rows + 1), c_idx]
        if abs(step[1]) <= 1e-12:
            inside |= padded[r_idx, np.minimum(c_idx + 1, n_cols + 1)]
        breaks = ~inside & (length > 1e-12)
        covered = np.cumsum(np.where(inside, length, 0.0), axis=1)
        reset = np.maximum.accumulate(np.where(breaks, covered, 0.0), axis=1)
        run = covered - reset
        flat = int(np.argmax(run))
        li, pi = divmod(flat, run.shape[1])
        if run[li, pi] > best_len + 1e-12:
            best_len = float(run[li, pi])
            s_end = s[li, pi + 1]
            best_a = q[li] + (s_end - best_len) * step
            best_b = q[li] + s_end * step
    return best_len, best_a, best_b


# -- public measurements -------------------------------------------------------------------------
def axial_diameters(
    mask: npt.NDArray[np.bool_],
    geometry: Geometry,
    *,
    max_tilt_deg: float = MAX_AXIAL_TILT_DEG,
) -> AxialDiameters | None:
    """Axial long and short diameters of a lesion mask (edge-to-edge, physical mm).

    Parameters
    ----------
    mask:
        Boolean (or 0/1) array ``[slice, row, column]`` of one lesion; a crop is best (see
        :func:`nelm.quant.lesions.lesion_mask`).
    geometry:
        The grid the mask lies on.
    max_tilt_deg:
        Largest tolerated angle between the slices and the axial plane
        (:data:`MAX_AXIAL_TILT_DEG`).

    Returns
    -------
    AxialDiameters or None
        ``None`` for an empty mask.

    Raises
    ------
    GeometryError
        Slices not axial within ``max_tilt_deg`` (resample first), or a mask/grid shape mismatch.
    MaskError
        A mask that is not 3-D or not binary.

    Notes
    -----
    *Long axis (exact).* The caliper diameter of a slice is the largest distance between two
    vertices of the convex hull of its pixel corners. Every corner lies on a horizontal grid
    line between the leftmost and the rightmost corner of that line, so those two points per
    line span the hull (2·(rows + 1) candidates instead of 4 per pixel). The slice widths along 8
    directions 22.5° apart bound each slice's diameter within ``[w, w / cos 11.25°]``; slices are
    searched in decreasing order of the upper bound and the search stops once no remaining slice
    can reach the best value. Within a slice the farthest pair is found by
    ``scipy.spatial.distance.cdist`` after a lossless pruning (and ``scipy.spatial.ConvexHull``
    for large sets), see ``_farthest_pair``. No search over all surface points.

    *Short axis (exact for the pixel region).* Along a line perpendicular to the long axis, the
    region (the closed union of pixel squares) is cut into pieces by the pixel grid lines; a
    piece is inside when a pixel whose closed square contains it is foreground. The longest run
    of consecutive inside pieces is the longest chord on that line. As the line slides along the
    long axis, each chord endpoint moves linearly along a straight stretch of boundary, so the
    chord length is piecewise linear (and upper semicontinuous: a closed region) with breaks only
    where the line meets a corner at which the boundary turns; its maximum is therefore reached
    on a line through such a corner, and only those lines are examined. A chord may run along a
    pixel edge or pass through a corner shared by two diagonal pixels (closed squares, the
    in-plane analogue of 26-connectivity).

    *Accuracy against the continuous object.* For a lesion rasterised by pixel-centre inclusion,
    every pixel corner lies within half a pixel diagonal δ of a centre inside the object, so the
    long axis overestimates the object's section diameter by at most 2δ (one in-plane pixel
    diagonal) and, when the osculating circle at the section's major vertex is wider than δ,
    underestimates it by at most 2δ. For an elliptic section with semi-axes A ≥ B, the region lies
    between ``(1 - δ/B)`` and ``(1 + δ/B)`` times the ellipse, which bounds the perpendicular chord
    to within that factor of the ellipse's chord (≈ ±2δ for a chord near the minor axis).
    """
    arr = _require_mask(mask, geometry)
    _require_axial(geometry, max_tilt_deg)
    box = _bbox(arr)
    if box is None:
        return None
    crop = arr[box]
    to_mm = _inplane_matrix(geometry)
    areas = crop.sum(axis=(1, 2))
    kk, pts = _extreme_points(*_grid_line_extremes(crop))
    pts_mm = pts @ to_mm.T
    # width of every slice along evenly spaced directions: bounds of its caliper diameter
    ang = np.arange(_N_DIRECTIONS) * (math.pi / _N_DIRECTIONS)
    proj = pts_mm @ np.stack([np.cos(ang), np.sin(ang)])
    runs = _split(kk)
    starts = np.array([a for _, a, _ in runs])
    width = (np.maximum.reduceat(proj, starts, axis=0) - np.minimum.reduceat(proj, starts, axis=0)).max(
        axis=1
    )
    upper = width / math.cos(math.pi / (2 * _N_DIRECTIONS))
    best = -1.0
    per_slice: list[tuple[int, float, npt.NDArray[np.float64], npt.NDArray[np.float64]]] = []
    for n in np.argsort(-upper, kind="stable"):
        if upper[n] < best - _TIE_TOLERANCE_MM:
            break  # no remaining slice can reach the longest diameter found
        k, a, b = runs[n]
        i, j, dist = _farthest_pair(pts_mm[a:b])
        per_slice.append((k, dist, pts[a + i], pts[a + j]))
        best = max(best, dist)
    tied = [s for s in per_slice if s[1] >= best - _TIE_TOLERANCE_MM]
    k, long_mm, a_rc, b_rc = max(tied, key=lambda s: (int(areas[s[0]]), -s[0]))
    long_vec = (b_rc - a_rc) @ to_mm.T
    short_mm, c_rc, d_rc = _longest_chord(crop[k], to_mm, long_vec / np.linalg.norm(long_vec))
    offset = np.array([box[0].start + k, box[1].start, box[2].start], dtype=float)

    def world(rc: npt.NDArray[np.float64]) -> Point3:
        return _point(geometry.index_to_world(offset + np.array([0.0, rc[0], rc[1]])))

    return AxialDiameters(
        long_mm=long_mm,
        short_mm=short_mm,
        slice_index=box[0].start + k,
        long_endpoints_lps_mm=(world(a_rc), world(b_rc)),
        short_endpoints_lps_mm=(world(c_rc), world(d_rc)),
    )


def max_3d_diameter_mm(mask: npt.NDArray[np.bool_], geometry: Geometry) -> float:
    """Maximum 3-D (Feret) diameter of a mask in mm, edge-to-edge between voxel corners.

    Voxel corners lie on the corner planes ``l - ½`` (shared by slices ``l - 1`` and ``l``); on
    each horizontal grid line of each corner plane only the leftmost and rightmost corner can be
    a vertex of the convex hull. Those candidates are mapped to LPS mm through the affine (any
    orientation, no axial requirement) and their farthest pair is found exactly (lossless
    pruning, then ``scipy.spatial.ConvexHull`` if many remain, then ``cdist``). Exact for the
    voxel region; for an object rasterised by voxel-centre inclusion it lies within one voxel
    diagonal of the object's diameter (same argument as in :func:`axial_diameters`, in 3-D).
    Unlike pyradiomics' ``Maximum3DDiameter`` there is no O(V²) search over surface vertices.

    Raises
    ------
    MaskError
        An empty, non-3-D or non-binary mask.
    GeometryError
        Mask and grid shapes differ.
    """
    arr = _require_mask(mask, geometry)
    box = _bbox(arr)
    if box is None:
        raise MaskError("the mask is empty: an empty lesion has no diameter")
    crop = arr[box]
    left, right = _grid_line_extremes(crop)
    # corner plane l (z index l - ½) holds the corners of slices l - 1 and l
    inf = np.full((1, left.shape[1]), np.inf)
    left = np.minimum(np.vstack([inf, left]), np.vstack([left, inf]))
    right = np.maximum(np.vstack([-inf, right]), np.vstack([right, -inf]))
    kk, pts = _extreme_points(left, right)
    idx = np.column_stack([kk - 0.5, pts]) + np.array([box[0].start, box[1].start, box[2].start], dtype=float)
    return _farthest_pair(geometry.index_to_world(idx))[2]


def mask_volume_ml(mask: npt.NDArray[np.bool_], geometry: Geometry) -> float:
    """Volume in mL: number of mask voxels × voxel volume (|det| of the affine's 3×3 part).

    No partial-volume correction: for an object rasterised by voxel-centre inclusion the error is
    bounded by the object's projected areas times the voxel size (see the tests); an empty mask
    has volume 0.

    Raises
    ------
    MaskError, GeometryError
        As for :func:`max_3d_diameter_mm` (an empty mask is allowed here).
    """
    arr = _require_mask(mask, geometry)
    return int(np.count_nonzero(arr)) * geometry.voxel_volume_ml
