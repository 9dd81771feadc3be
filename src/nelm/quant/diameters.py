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
  pixel-grid line, its leftmost and rightmost corner, less those that are provably inside the
  hull); the slice with the largest value is reported (ties: the larger pixel count, then the
  lower slice index; of equally long corner pairs on that slice, the first in scan order: by
  grid line, leftmost corner before rightmost). Fragments of one lesion on a slice are measured
  together (one caliper across all of them); RECIST's summing of the fragments of a split lesion
  belongs to response assessment, not to this per-lesion measurement.
* **Axial short diameter**: on the same slice, the longest *chord* perpendicular to the long
  axis, a chord being a segment that lies inside the (closed) lesion region. This is the RECIST
  short axis of lymph nodes and the WHO perpendicular diameter (Miller et al., Cancer
  1981;47:207-214); it is not the caliper width (which may span a notch of a non-convex
  region) nor an ellipse-moment axis. Computed exactly, see :func:`axial_diameters`.
* **Maximum 3-D diameter**: the Feret diameter, i.e. the largest distance between two voxel
  corners (edge-to-edge), searched among the corners that can lie on the convex hull.
* **Volume**: voxel count × voxel volume. No partial-volume correction.

Every pruning step below is lossless (each docstring gives the argument); the tests compare the
results with brute-force searches over all corners and all corner lines.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy.spatial import ConvexHull
from scipy.spatial.distance import cdist, pdist

from nelm.errors import GeometryError, MaskError
from nelm.imaging.geometry import Geometry

__all__ = [
    "MAX_AXIAL_TILT_DEG",
    "AxialDiameters",
    "LesionDiameters",
    "axial_diameters",
    "lesion_diameters",
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
# Two chords closer than this (mm) are a tie: the one on the line with the smallest position along
# the long axis is reported, then the first along that line.
_CHORD_TIE_MM: Final[float] = 1e-9
# Margin (mm) added to every chord bound against floating-point rounding.
_BOUND_MARGIN_MM: Final[float] = 1e-6
# Pieces of a line up to this long (mm; where it crosses a grid corner) never break a chord.
_EPS_PIECE_MM: Final[float] = 1e-12
# Step components (index units per mm) up to this count as zero: the line runs along a grid line.
_EPS_STEP: Final[float] = 1e-12
# Point sets up to this size are searched pair by pair with numpy (no call overhead).
_NUMPY_PAIRS: Final[int] = 64
# 2-D point sets larger than this are first reduced to their convex hull vertices (qhull).
_HULL_SET: Final[int] = 1500
# 3-D point sets larger than this are searched with scipy's pdist (each pair once, but more call
# overhead than cdist), and larger than _SLAB_SET by slabs (see _diameter).
_PDIST_SET: Final[int] = 100
_SLAB_SET: Final[int] = 800
# Rows of a pairwise distance matrix computed at once.
_PAIR_BLOCK: Final[int] = 2048
# Unit directions (over a half sphere) of the slab search.
_N_SLAB_DIRECTIONS: Final[int] = 48
# Directions (in-plane, evenly spaced over 180°) whose widths bound each slice's caliper diameter:
# width_max ≤ diameter ≤ width_max / cos(90° / n), within 0.5 % for n = 16.
_N_DIRECTIONS: Final[int] = 16
_SLICE_DIRECTIONS: Final[npt.NDArray[np.float64]] = np.stack(
    [
        np.cos(np.arange(_N_DIRECTIONS) * (math.pi / _N_DIRECTIONS)),
        np.sin(np.arange(_N_DIRECTIONS) * (math.pi / _N_DIRECTIONS)),
    ]
)
_SLICE_BOUND: Final[float] = 1.0 / math.cos(math.pi / (2 * _N_DIRECTIONS))
# Directions of the circumscribed polygon that bounds the chord on every perpendicular line:
# θ_k = k·180°/n from the long axis, k = 1 … n - 1 (the long axis itself bounds no such line).
_N_BOUND_DIRECTIONS: Final[int] = 16
_BOUND_ANGLES: Final[npt.NDArray[np.float64]] = np.arange(1, _N_BOUND_DIRECTIONS, dtype=np.float64) * (
    math.pi / _N_BOUND_DIRECTIONS
)
_BOUND_CS: Final[npt.NDArray[np.float64]] = np.stack([np.cos(_BOUND_ANGLES), np.sin(_BOUND_ANGLES)])
_BOUND_COT: Final[npt.NDArray[np.float64]] = _BOUND_CS[0] / _BOUND_CS[1]
_BOUND_CSC: Final[npt.NDArray[np.float64]] = 1.0 / _BOUND_CS[1]
# Chord searches up to about this many (line, piece) pairs measure every line, without bounds.
_SMALL_CHORD_WORK: Final[float] = 20000.0
# Masks larger than this (voxels) are cropped to their foreground box first.
_CROP_ABOVE: Final[int] = 1 << 20
# Largest number of (line, piece) pairs measured in one vectorised block.
_BLOCK_ELEMENTS: Final[int] = 1 << 18

Point3 = tuple[float, float, float]


def _point(p: npt.ArrayLike) -> Point3:
    a = np.asarray(p, dtype=float).reshape(3)
    return (float(a[0]), float(a[1]), float(a[2]))


def _endpoints(name: str, pts: object) -> tuple[Point3, Point3]:
    """Two finite 3-D points as tuples of floats; raise MaskError otherwise."""
    if type(pts) is tuple and len(pts) == 2:
        p, q = pts
        if type(p) is tuple and type(q) is tuple and len(p) == 3 and len(q) == 3:
            try:
                a = (float(p[0]), float(p[1]), float(p[2]))
                b = (float(q[0]), float(q[1]), float(q[2]))
            except (TypeError, ValueError):
                pass  # not numbers: the array path below reports it
            else:
                fin = math.isfinite
                if fin(a[0]) and fin(a[1]) and fin(a[2]) and fin(b[0]) and fin(b[1]) and fin(b[2]):
                    return a, b
    try:
        arr = np.asarray(pts, dtype=float)
    except (TypeError, ValueError):
        arr = np.empty(0)
    if arr.shape != (2, 3) or not np.all(np.isfinite(arr)):
        raise MaskError(f"{name}_endpoints_lps_mm must be two finite 3-D points, got {pts!r}")
    return _point(arr[0]), _point(arr[1])


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
            a, b = _endpoints(name, pts)
            dist = math.dist(a, b)
            if abs(dist - length) > 1e-6 * max(1.0, length):
                raise MaskError(f"{name} axis endpoints are {dist} mm apart, not {length} mm")
            ends.append((a, b))
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


@functools.lru_cache(maxsize=64)
def _plane_frame(block: bytes) -> tuple[float, npt.NDArray[np.float64]]:
    """Axial tilt (degrees) and in-plane matrix of a grid, from the bytes of its affine's 3×3 part.

    The tilt is the largest angle between S and the slice axis or the normal of the row/column
    plane. The matrix maps (row, column) index offsets to orthonormal in-plane mm coordinates.
    Cached: the lesions of one grid share them.
    """
    a = np.frombuffer(block, dtype=np.float64).reshape(3, 3)
    d = a / np.linalg.norm(a, axis=0)[None, :]
    u, v = d[:, 1], d[:, 2]
    normal = np.array([u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]])
    normal = normal / np.linalg.norm(normal)
    cos_min = min(abs(float(d[2, 0])), abs(float(normal[2])))
    u = a[:, 1].copy()
    w = a[:, 2].copy()
    nu = float(np.linalg.norm(u))
    e1 = u / nu
    w1 = float(w @ e1)
    w2 = float(np.linalg.norm(w - w1 * e1))
    to_mm = np.array([[nu, w1], [0.0, w2]])
    to_mm.setflags(write=False)
    return math.degrees(math.acos(min(1.0, cos_min))), to_mm


def _axial_tilt_deg(geometry: Geometry) -> float:
    """Largest angle between S and the slice axis or the normal of the row/column plane."""
    return _plane_frame(np.ascontiguousarray(geometry.affine[:3, :3]).tobytes())[0]


def _inplane_matrix(geometry: Geometry) -> npt.NDArray[np.float64]:
    """2×2 matrix from (row, column) index offsets to orthonormal in-plane mm coordinates."""
    return _plane_frame(np.ascontiguousarray(geometry.affine[:3, :3]).tobytes())[1]


def _require_axial(geometry: Geometry, max_tilt_deg: float) -> None:
    tilt = _axial_tilt_deg(geometry)
    if tilt > max_tilt_deg:
        raise GeometryError(
            f"RECIST/WHO diameters are measured in the axial plane, but this grid's slices are "
            f"{tilt:.1f}° away from axial (orientation {geometry.orientation}; tolerance "
            f"{max_tilt_deg:g}°). Resample the image and mask to an axial grid first."
        )


# -- candidate points ----------------------------------------------------------------------------
def _tight(arr: npt.NDArray[np.bool_]) -> tuple[npt.NDArray[np.bool_], tuple[int, int, int]] | None:
    """The mask cropped to its foreground box (large masks only) and the crop's offset; None if empty.

    Masks up to ``_CROP_ABOVE`` voxels are returned as they are (crops already, or cheap anyway);
    larger ones are cropped first by three ``any`` reductions, so an uncropped lesion in a whole
    image costs a few passes over the image instead of every row-wise search.
    """
    if arr.size <= _CROP_ABOVE:
        return arr, (0, 0, 0)
    ks = np.flatnonzero(arr.any(axis=(1, 2)))
    if ks.size == 0:
        return None
    rs = np.flatnonzero(arr.any(axis=(0, 2)))
    cs = np.flatnonzero(arr.any(axis=(0, 1)))
    k0, r0, c0 = int(ks[0]), int(rs[0]), int(cs[0])
    return arr[k0 : int(ks[-1]) + 1, r0 : int(rs[-1]) + 1, c0 : int(cs[-1]) + 1], (k0, r0, c0)


def _first_last(
    arr: npt.NDArray[np.bool_],
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.bool_]]:
    """First and last foreground column of every row ``(slice, row)``, and which rows have one."""
    first = arr.argmax(axis=2)
    has = (first > 0) | arr[:, :, 0]
    last = (arr.shape[2] - 1) - arr[:, :, ::-1].argmax(axis=2)
    return first, last, has


def _filled(shape: tuple[int, ...]) -> npt.NDArray[np.float64]:
    out = np.empty(shape)
    out.fill(np.inf)
    return out


def _hull_candidates(
    ext: npt.NDArray[np.float64], axes: tuple[tuple[int, int], ...], pad0: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    """Line extremes that may be vertices of the convex hull (a lossless pruning).

    ``ext[a, b, s]`` (padded with ``+inf`` by ``pad0`` along axis 0 and by one along axis 1) is
    the leftmost corner column on the grid line ``(a, b)`` for ``s = 0`` and minus the rightmost
    one for ``s = 1`` (a mirror image), ``+inf`` where the line holds no corner; the lines are
    equally spaced along ``a`` and ``b``. For each ``(da, db)`` of ``axes`` the point
    ``P = (a, b, x)`` is compared with the extremes ``(a ∓ da, b ∓ db, x∓)`` of its neighbour
    lines, whose midpoint is ``(a, b, (x₋ + x₊)/2)``: if ``x ≥ (x₋ + x₊)/2``, ``P`` lies on the
    segment from that midpoint to the other extreme of its own line, so it is a convex
    combination of three other candidates and no vertex of their convex hull. Hull vertices
    survive every test, so dropping all flagged points at once leaves the convex hull (hence its
    farthest pairs and widths) unchanged. Empty lines are dropped; an empty neighbour drops
    nothing.

    Returns the flat indices of the survivors in the unpadded array (in scan order) and twice
    the unpadded array (contiguous).
    """
    n0 = ext.shape[0] - 2 * pad0
    n1 = ext.shape[1] - 2
    inner = ext[pad0 : pad0 + n0, 1 : 1 + n1]
    twice = inner + inner
    keep: npt.NDArray[np.bool_] | None = None
    for da, db in axes:
        lo = ext[pad0 - da : pad0 - da + n0, 1 - db : 1 - db + n1]
        hi = ext[pad0 + da : pad0 + da + n0, 1 + db : 1 + db + n1]
        ok = twice < lo + hi
        if keep is None:
            keep = ok
        else:
            keep &= ok
    assert keep is not None
    return keep.reshape(-1).nonzero()[0], twice


def _squared_distances(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """All squared distances between the rows of ``a`` and ``b`` (the values of scipy's cdist)."""
    if len(a) > _NUMPY_PAIRS or len(b) > _NUMPY_PAIRS:
        out: npt.NDArray[np.float64] = cdist(a, b, "sqeuclidean")
        return out
    d = a[:, None, 0] - b[None, :, 0]
    d2 = d * d
    for k in range(1, a.shape[1]):
        d = a[:, None, k] - b[None, :, k]
        d2 += d * d
    return d2


def _farthest_pair(points: npt.NDArray[np.float64]) -> tuple[int, int, float]:
    """Indices ``i < j`` of the two points farthest apart and their distance, exactly.

    All pairs, in blocks of rows; of equally distant pairs the first in the points' order wins.
    Sets larger than ``_HULL_SET`` are first reduced to their convex hull vertices
    (``scipy.spatial.ConvexHull``), kept in their order: every farthest pair is a pair of hull
    vertices (a point inside the hull, or inside one of its edges or facets, is strictly closer
    to any point than one of the vertices spanning it, the squared distance being strictly
    convex), so no farthest pair is lost and the tie rule holds.
    """
    idx = None
    if len(points) > _HULL_SET:
        try:
            idx = np.sort(ConvexHull(points).vertices)
        except Exception:  # a flat set (qhull refuses it): search all pairs
            logger.debug("no convex hull for %d points; all pairs searched", len(points))
    sub = points if idx is None else points[idx]
    n = len(sub)
    best, i, j = -1.0, 0, 0
    for a in range(0, n, _PAIR_BLOCK):
        d2 = _squared_distances(sub[a : a + _PAIR_BLOCK], sub)
        at = int(d2.argmax())
        if d2.flat[at] > best:
            bi, j = divmod(at, n)
            best, i = float(d2.flat[at]), a + bi
    i, j = min(i, j), max(i, j)
    if idx is not None:
        i, j = int(idx[i]), int(idx[j])
    return i, j, math.sqrt(best)


@functools.cache
def _slab_directions() -> tuple[npt.NDArray[np.float64], float]:
    """Unit directions ``V`` (``(3, n)``, a Fibonacci half sphere) and a certified ``c``.

    Every unit vector ``u`` has ``max_{v ∈ ±V} u·v ≥ c``, where ``c`` is the smallest distance
    from the origin to a facet plane of the convex hull of ``±V``:
    the ray along ``u`` leaves the hull through a facet at ``x = Σ λ_i v_i`` (a convex
    combination of the facet's vertices) with ``|x| ≥ c``, and ``max_i u·v_i ≥ Σ λ_i u·v_i =
    u·x = |x|``.
    """
    k = np.arange(_N_SLAB_DIRECTIONS) + 0.5
    z = k / _N_SLAB_DIRECTIONS
    phi = k * (math.pi * (3.0 - math.sqrt(5.0)))
    r = np.sqrt(1.0 - z * z)
    v = np.stack([r * np.cos(phi), r * np.sin(phi), z])
    hull = ConvexHull(np.vstack([v.T, -v.T]))
    return v, float(-hull.equations[:, 3].max()) - 1e-9


def _diameter(points: npt.NDArray[np.float64]) -> float:
    """Largest distance between two of the (at least two) points, exactly.

    All pairs for up to ``_SLAB_SET`` points. Larger sets: take directions ``v`` such that every
    unit vector ``u`` has some ``±v`` with ``u·v ≥ c`` (:func:`_slab_directions`). For a
    farthest pair ``p, q`` (length ``D``, ``u = (p - q)/D``, ``u·v ≥ c``): ``p·v - q·v ≥ D·c``,
    and as every point lies within ``D`` of ``q`` and of ``p``, ``max x·v ≤ q·v + D`` and
    ``min x·v ≥ p·v - D``. So ``p`` lies in the top slab ``x·v ≥ max(max x·v - D⁺(1 - c),
    min x·v + D₀·c)`` and ``q`` in the mirrored bottom slab, where ``D₀ ≤ D ≤ D⁺`` (``D₀``
    from the extreme points along each ``v``, ``D⁺`` = largest width / ``c``), and ``v`` holds the
    pair only if its width reaches ``D₀·c``. Only top × bottom pairs of those directions are
    compared.
    """
    n = len(points)
    if n <= _PDIST_SET:
        d2 = _squared_distances(points, points)
        return math.sqrt(float(d2.flat[d2.argmax()]))
    if n <= _SLAB_SET:
        d2 = pdist(points, "sqeuclidean")
        return math.sqrt(float(d2[d2.argmax()]))
    v, c = _slab_directions()
    proj = points @ v
    hi, lo = np.maximum.reduce(proj, axis=0), np.minimum.reduce(proj, axis=0)
    gap = points[proj.argmax(axis=0)] - points[proj.argmin(axis=0)]
    best = float(np.einsum("ij,ij->i", gap, gap).max())
    d0c = math.sqrt(best) * c
    width = hi - lo
    slack = float(width.max()) / c * (1.0 - c)
    tol = 1e-9 * (1.0 + float(width.max()))
    top = proj >= np.maximum(hi - slack, lo + d0c) - tol
    bottom = proj <= np.minimum(lo + slack, hi - d0c) + tol
    for k in (width >= d0c - tol).nonzero()[0].tolist():
        a, b = points[top[:, k]], points[bottom[:, k]]
        for start in range(0, len(a), _PAIR_BLOCK):
            d2 = _squared_distances(a[start : start + _PAIR_BLOCK], b)
            best = max(best, float(d2.flat[d2.argmax()]))
    return math.sqrt(best)


# -- the chord search ----------------------------------------------------------------------------
def _turning_corners(
    padded: npt.NDArray[np.bool_], top: int, left: int, n_rows: int, n_cols: int
) -> npt.NDArray[np.intp]:
    """Flat indices (row-major over the ``(rows + 1) × (columns + 1)`` corners) where the boundary turns.

    ``padded[top : top + n_rows, left : left + n_cols]`` is the region, with background around.
    Corner ``(i, j)`` lies at row, column ``i - ½, j - ½`` and is shared by four pixels; the
    boundary turns there when one or three of them are foreground, or two diagonal ones (a
    saddle). Corners on a straight stretch of boundary, and corners inside or outside the region,
    cannot change the chord structure.
    """
    p = padded[top - 1 : top + n_rows + 1, left - 1 : left + n_cols + 1]
    a, b, c, d = p[:-1, :-1], p[1:, :-1], p[:-1, 1:], p[1:, 1:]
    ad = a ^ d
    bc = b ^ c
    # an odd number of foreground pixels, or a == d ≠ b == c
    return ((ad ^ bc) | ((a ^ b) > (ad | bc))).reshape(-1).nonzero()[0]


def _longest_chord(
    region: npt.NDArray[np.bool_],
    to_mm: npt.NDArray[np.float64],
    long_dir_mm: tuple[float, float],
    hull_mm: npt.NDArray[np.float64],
) -> tuple[float, tuple[float, float], tuple[float, float]]:
    """Longest segment inside the closed pixel region perpendicular to ``long_dir_mm``.

    ``hull_mm``: points (mm, from the same origin as the region's index coordinates) whose convex
    hull holds the region. Returns the length (mm) and the two endpoints as (row, column) index
    coordinates. See :func:`axial_diameters` for the algorithm and why it is exact.
    """
    n_rows, n_cols = region.shape
    e0, e1 = long_dir_mm
    (m00, m01), (m10, m11) = to_mm.tolist()
    det = m00 * m11 - m01 * m10
    # the index step per mm along the normal n = (-e1, e0): to_mm⁻¹ n
    a_raw = (-m11 * e1 - m01 * e0) / det
    b_raw = (m10 * e1 + m00 * e0) / det
    a_step = 0.0 if abs(a_raw) <= _EPS_STEP else a_raw
    b_step = 0.0 if abs(b_raw) <= _EPS_STEP else b_raw
    # the region inside a background margin that every walk below stays within
    pad_r, pad_c = n_rows + 2, n_cols + 2
    width = n_cols + 2 * pad_c
    big = np.zeros((n_rows + 2 * pad_r, width), dtype=bool)
    big[pad_r : pad_r + n_rows, pad_c : pad_c + n_cols] = region
    corner = _turning_corners(big, pad_r, pad_c, n_rows, n_cols)
    ci, cj = np.divmod(corner, n_cols + 1)
    # position along the long axis of the corner (i - ½, j - ½), i.e. of the line x·e = t through it
    ta, tb = m00 * e0 + m10 * e1, m01 * e0 + m11 * e1
    # From a corner, the line crosses row grid lines at σ = ±m/|a| and column grid lines at
    # ±m/|b| (m = 1, 2, …; σ in mm along n, (a, b) the index step per mm), whatever the corner:
    # one pattern of pieces serves every line. It reaches ±limit: past the region's box
    # (m = rows + 1 or columns + 1), or past the polygon below.
    abs_a, abs_b = abs(a_step), abs(b_step)
    limit = min((n_rows + 1) / abs_a if abs_a else math.inf, (n_cols + 1) / abs_b if abs_b else math.inf)
    bound = None
    if len(corner) * limit * (abs_a + abs_b) > _SMALL_CHORD_WORK:
        # The region's part of the line lies in the circumscribed polygon {lo_k ≤ x·d_k ≤ hi_k},
        # d_k = cos θ_k·e + sin θ_k·n (0 < θ_k < π): on the line x·e = t, σ = x·n lies in
        # [max_k (lo_k - t cos θ_k)/sin θ_k, min_k (hi_k - t cos θ_k)/sin θ_k], whose length
        # bounds every chord of the line.
        proj = hull_mm @ (np.array([[e0, -e1], [e1, e0]]) @ _BOUND_CS)
        tc = np.multiply.outer(ci * ta + cj * tb - 0.5 * (ta + tb), _BOUND_COT)
        bound = np.minimum.reduce(np.maximum.reduce(proj, axis=0) * _BOUND_CSC - tc, axis=1)
        bound -= np.maximum.reduce(np.minimum.reduce(proj, axis=0) * _BOUND_CSC - tc, axis=1)
        bound += _BOUND_MARGIN_MM
        reach = float(bound[bound.argmax()])
        limit = min(limit, reach)
    if abs_a and abs_b:
        stop = np.concatenate(
            [
                np.arange(1.0, min(n_rows + 1, int(limit * abs_a) + 1) + 1.0) / abs_a,
                np.arange(1.0, min(n_cols + 1, int(limit * abs_b) + 1) + 1.0) / abs_b,
            ]
        )
        stop.sort()
    elif abs_a:
        stop = np.arange(1.0, min(n_rows + 1, int(limit * abs_a) + 1) + 1.0) / abs_a
    else:
        stop = np.arange(1.0, min(n_cols + 1, int(limit * abs_b) + 1) + 1.0) / abs_b
    stop = stop[: int(stop.searchsorted(limit)) + 1]  # pieces [start, stop] from 0 to past limit
    start = np.concatenate([[0.0], stop[:-1]])
    # The pixel (i + Δi, j + Δj) holds a piece, Δ = ⌊σ·(a, b)⌋ at its middle σ; pieces at -σ
    # (walking backwards) come first. A line along a grid line touches the pixels on both sides
    # of it, whose union is looked up instead (closed squares).
    if a_step == 0.0:
        big[1:] |= big[:-1].copy()
    if b_step == 0.0:
        big[:, 1:] |= big[:, :-1].copy()
    mid = start + stop
    offset = (
        np.floor(np.multiply.outer(np.concatenate([-mid, mid]), (0.5 * a_step, 0.5 * b_step))) @ (width, 1.0)
    ).astype(np.intp)
    flat = big.reshape(-1)
    # an outside piece breaks a chord unless it is a point (where the line crosses a grid corner)
    breakable = stop - start > _EPS_PIECE_MM
    n_pieces = len(stop)
    base = ci * width + cj + (pad_r * width + pad_c)

    def measure(at: npt.NDArray[np.intp] | None) -> npt.NDArray[np.float64]:
        """How far the chord through each corner reaches backwards and forwards (``(n, 2)``, mm).

        Both walks leave the region (past its box, or past the polygon by the margin) through an
        outside piece longer than ``_EPS_PIECE_MM``, so the first break on each side exists.
        """
        where = base[:, None] if at is None else base[at, None]
        chunk = max(1, _BLOCK_ELEMENTS // (2 * n_pieces))
        if len(where) > chunk:
            return np.concatenate([measure_at(where[i : i + chunk]) for i in range(0, len(where), chunk)])
        return measure_at(where)

    def measure_at(where: npt.NDArray[np.intp]) -> npt.NDArray[np.float64]:
        inside = flat[where + offset].reshape(len(where), 2, n_pieces)
        out: npt.NDArray[np.float64] = start[(breakable > inside).argmax(axis=2)]
        return out

    lines = None
    if bound is None:
        ends = measure(None)
    else:
        # First every line whose bound is within a pixel diagonal of the largest (the longest
        # chord is almost always among them), then all others whose bound still reaches a tie.
        lines = (bound >= reach - math.hypot(m00 + m01, m10 + m11)).nonzero()[0]
        ends = measure(lines)
        bound[lines] = -np.inf
        length = ends[:, 0] + ends[:, 1]
        more = (bound >= float(length[length.argmax()]) - _CHORD_TIE_MM).nonzero()[0]
        if more.size:
            lines = np.concatenate([lines, more])
            ends = np.concatenate([ends, measure(more)])
    length = ends[:, 0] + ends[:, 1]
    pick = int(length.argmax())
    tied = (length >= float(length[pick]) - _CHORD_TIE_MM).nonzero()[0]
    if len(tied) > 1:
        # of tied chords the one on the line with the smallest t (to 0.1 nm, rounding half to
        # even), then the first along it (a few chords: plain Python is quicker than numpy here)
        at = tied if lines is None else lines[tied]
        ka, kb, k0 = ta * 1e7, tb * 1e7, 0.5e7 * (ta + tb)
        fa, fb = m10 * e0 - m00 * e1, m11 * e0 - m01 * e1
        pick = min(
            zip(ci[at].tolist(), cj[at].tolist(), ends[tied, 0].tolist(), tied.tolist(), strict=True),
            key=lambda c: (round(c[0] * ka + c[1] * kb - k0), c[0] * fa + c[1] * fb - c[2]),
        )[3]
    k = pick if lines is None else int(lines[pick])
    qi, qj = float(ci[k]) - 0.5, float(cj[k]) - 0.5
    b, f = ends[pick].tolist()
    return f + b, (qi - b * a_raw, qj - b * b_raw), (qi + f * a_raw, qj + f * b_raw)


# -- many masks in one pass ----------------------------------------------------------------------
# Masks are measured in stacks: the extremes of their rows stacked along the slice axis with
# _SEPARATOR empty slices between consecutive masks (so an empty corner plane lies between them:
# no pruning test compares the corners of two masks) and padded to the stack's largest row count.
# A stack holds at most _STACK_PADDING times its masks' own rows, plus _STACK_SLACK rows.
_SEPARATOR: Final[int] = 2
_STACK_PADDING: Final[float] = 4.0
_STACK_SLACK: Final[int] = 1 << 16


@dataclass(frozen=True)
class LesionDiameters:
    """Both size measurements of one lesion: the axial diameters and the 3-D Feret diameter.

    Parameters
    ----------
    axial:
        RECIST long and WHO/RECIST short axis (:func:`axial_diameters`).
    max_3d_mm:
        Maximum 3-D diameter in mm (:func:`max_3d_diameter_mm`).

    Raises
    ------
    MaskError
        A 3-D diameter that is not finite or is shorter than the axial long axis (a slice of a
        region is part of the region, so its caliper diameter cannot exceed the region's).
    """

    axial: AxialDiameters
    max_3d_mm: float

    def __post_init__(self) -> None:
        value = float(self.max_3d_mm)
        if not math.isfinite(value) or value < self.axial.long_mm * (1 - 1e-9) - 1e-9:
            raise MaskError(
                f"the 3-D diameter ({value} mm) cannot be shorter than the axial long axis "
                f"({self.axial.long_mm} mm)"
            )
        object.__setattr__(self, "max_3d_mm", value)


@dataclass(frozen=True)
class _Stack:
    """The row extremes of masks stacked along the slice axis (see ``_SEPARATOR``).

    ``masks[m]`` (member ``m``) starts at stack slice ``starts[m]`` (``starts[-1]`` is the end plus
    the separator); ``has[k, r]`` tells whether row ``r`` of stack slice ``k`` holds foreground and
    ``rows[k + 1, r + 1]`` holds its leftmost pixel column and minus its rightmost one, ``+inf``
    where the row is empty or outside the stack.
    """

    masks: tuple[npt.NDArray[np.bool_], ...]
    members: tuple[int, ...]
    starts: npt.NDArray[np.intp]
    has: npt.NDArray[np.bool_]
    rows: npt.NDArray[np.float64]


def _stack(arrs: list[npt.NDArray[np.bool_]], members: list[int]) -> _Stack:
    """The masks ``arrs[m]`` of ``members`` in one stack."""
    masks = tuple(arrs[m] for m in members)
    starts = np.zeros(len(masks) + 1, dtype=np.intp)
    np.cumsum(np.add([a.shape[0] for a in masks], _SEPARATOR), out=starts[1:])
    n_k, n_r = int(starts[-1]) - _SEPARATOR, max(a.shape[1] for a in masks)
    has = np.zeros((n_k, n_r), dtype=bool)
    rows = _filled((n_k + 2, n_r + 2, 2))
    # row by row within each mask (no padding of columns to scan)
    for a, k in zip(masks, starts.tolist(), strict=False):
        first, last, a_has = _first_last(a)
        block = rows[k + 1 : k + 1 + a.shape[0], 1 : 1 + a.shape[1]]
        block[:, :, 0] = first
        np.negative(last, out=block[:, :, 1])
        block[~a_has] = np.inf
        has[k : k + a.shape[0], : a.shape[1]] = a_has
    return _Stack(masks=masks, members=tuple(members), starts=starts, has=has, rows=rows)


def _stacks(arrs: list[npt.NDArray[np.bool_]], members: list[int]) -> list[_Stack]:
    """The masks of ``members`` in stacks of bounded padding (of rows), fewest rows first."""
    out: list[_Stack] = []
    group: list[int] = []
    n_r = height = used = 0
    for m in sorted(members, key=lambda m: arrs[m].shape[1]):
        h, r = arrs[m].shape[:2]
        grown = (height + h + _SEPARATOR) * max(n_r, r)
        if group and grown > _STACK_PADDING * (used + h * r) + _STACK_SLACK:
            out.append(_stack(arrs, group))
            group, n_r, height, used = [], 0, 0, 0
        group.append(m)
        n_r, height, used = max(n_r, r), height + h + _SEPARATOR, used + h * r
    out.append(_stack(arrs, group))
    return out


def _feret_stack(st: _Stack, linear: npt.NDArray[np.float64]) -> list[float | None]:
    """Maximum 3-D diameter (mm) of every member of a stack; ``None`` for an empty one.

    ``linear``: the 3×3 part of the members' (common) affine. See :func:`max_3d_diameter_mm`.
    """
    n_k, n_r = st.has.shape
    # the extremes of every grid line j (row coordinate j - ½) of every corner plane l (slice
    # coordinate l - ½), which holds the corners of rows j - 1, j of slices l - 1, l
    planes = np.minimum(st.rows[:-1], st.rows[1:])
    ext = _filled((n_k + 3, n_r + 3, 2))
    np.minimum(planes[:, :-1], planes[:, 1:], out=ext[1:-1, 1:-1])
    flat, twice = _hull_candidates(ext, ((1, 0), (0, 1), (1, 1), (1, -1)), 1)
    # corner columns: c - ½ (leftmost), c + ½ (rightmost)
    twice -= 1.0
    twice[:, :, 1] *= -0.5
    twice[:, :, 0] *= 0.5
    plane, line = np.divmod(flat >> 1, n_r + 1)
    lo = st.starts[:-1]
    cuts = [*plane.searchsorted(lo).tolist(), len(plane)]
    # index coordinates in each member's own crop, up to the common shift (-½, -½, 0) that leaves
    # distances unchanged
    idx = np.empty((len(flat), 3))
    np.subtract(plane, np.repeat(lo, np.diff(cuts)), out=idx[:, 0])
    idx[:, 1] = line
    idx[:, 2] = twice.reshape(-1)[flat]
    pts = idx @ linear.T
    if not len(pts):
        return [None] * len(lo)
    # Lossless pruning, all members at once: with c the centroid of a member's candidates, R the
    # largest |x - c| and D₀ ≤ D a distance between two of them (from the point at R to its
    # farthest), a farthest pair p, q has D ≤ |p - c| + |q - c| ≤ |p - c| + R, so both lie at
    # |x - c| ≥ D₀ - R.
    counts = np.diff(cuts)
    present = (counts > 0).nonzero()[0]
    seg = np.asarray(cuts, dtype=np.intp)[present]
    reps = counts[present]
    centre = np.add.reduceat(pts, seg, axis=0) / reps[:, None]
    off = pts - np.repeat(centre, reps, axis=0)
    r2 = np.einsum("ij,ij->i", off, off)
    r2_max = np.maximum.reduceat(r2, seg)
    at_max = (r2 == np.repeat(r2_max, reps)).nonzero()[0]
    apex = at_max[at_max.searchsorted(seg)]
    gap = pts - np.repeat(pts[apex], reps, axis=0)
    d0 = np.sqrt(np.maximum.reduceat(np.einsum("ij,ij->i", gap, gap), seg))
    reach = np.maximum(d0 - np.sqrt(r2_max) - 1e-9 * (1.0 + d0), 0.0)
    keep = r2 >= np.repeat(reach * reach, reps)
    kept = pts[keep]
    kept_cuts = [0, *np.add.reduceat(keep.astype(np.intp), seg).cumsum().tolist()]
    out: list[float | None] = [None] * len(lo)
    for m, low, (a, b) in zip(present.tolist(), d0.tolist(), itertools.pairwise(kept_cuts), strict=True):
        out[m] = max(low, _diameter(kept[a:b])) if b - a > 1 else low
    return out


# (slice index in the member's crop, long and short diameter in mm, the box origin (row, column)
# in the crop, and the long and short axis endpoints as (row, column) relative to that origin)
_AxialLocal = tuple[int, float, float, int, int, tuple[tuple[float, float], ...]]


def _axial_stack(st: _Stack, to_mm: npt.NDArray[np.float64]) -> list[_AxialLocal | None]:
    """Axial diameters of every member of a stack; ``None`` for an empty one.

    ``to_mm``: the members' (common) in-plane matrix. See :func:`axial_diameters`.
    """
    n_k, n_r = st.has.shape
    lo = st.starts[:-1]
    rows = st.rows[1:-1]
    inner = rows[:, 1:-1]
    # each member's box: the rows and columns it uses on any slice
    used = np.logical_or.reduceat(st.has, lo, axis=0)
    r0s = used.argmax(axis=1).tolist()
    r1s = ((n_r - 1) - used[:, ::-1].argmax(axis=1)).tolist()
    c0 = np.minimum.reduceat(np.minimum.reduce(inner[:, :, 0], axis=1), lo)
    c1 = 1.0 - np.minimum.reduceat(np.minimum.reduce(inner[:, :, 1], axis=1), lo)
    # the leftmost and (minus) rightmost corner on every horizontal grid line j (row coordinate
    # j - ½, between rows j - 1 and j) of every slice
    ext = _filled((n_k, n_r + 3, 2))
    np.minimum(rows[:, :-1], rows[:, 1:], out=ext[:, 1:-1])
    # candidates by slice, then grid line, leftmost before rightmost
    flat, twice = _hull_candidates(ext, ((0, 1),), 0)
    kk, jj = np.divmod(flat >> 1, n_r + 1)
    cuts = [*kk.searchsorted(lo).tolist(), len(kk)]
    member = np.repeat(np.arange(len(lo)), np.diff(cuts))
    # corner coordinates relative to the member's box: row j - ½ - r0; column c - ½ - c0
    # (leftmost), c + ½ - c0 (rightmost)
    pts = np.empty((len(flat), 2))
    np.subtract(jj - np.asarray(r0s, dtype=np.intp)[member], 0.5, out=pts[:, 0])
    twice_c0 = 2.0 * c0[member]
    value = twice.reshape(-1)[flat]
    pts[:, 1] = np.where(flat & 1, (value - (1.0 - twice_c0)) * -0.5, (value - (1.0 + twice_c0)) * 0.5)
    pts_mm = pts @ to_mm.T
    new_slice = np.empty(len(kk), dtype=bool)
    new_slice[:1] = True
    np.not_equal(kk[1:], kk[:-1], out=new_slice[1:])
    starts = new_slice.nonzero()[0]
    upper: list[float] = []
    if max(b - a for a, b in itertools.pairwise(cuts)) > _NUMPY_PAIRS:
        # width of every slice along evenly spaced directions: bounds of its caliper diameter
        proj = _SLICE_DIRECTIONS.T @ pts_mm.T  # (direction, candidate): contiguous reductions
        width = np.maximum.reduceat(proj, starts, axis=1) - np.minimum.reduceat(proj, starts, axis=1)
        upper = (np.maximum.reduce(width, axis=0) * _SLICE_BOUND).tolist()
    slice_cuts = starts.searchsorted(cuts).tolist()
    bounds = [*starts.tolist(), len(kk)]
    (m00, m01), (m10, m11) = to_mm.tolist()
    out: list[_AxialLocal | None] = []
    for m in range(len(lo)):
        a, b = cuts[m], cuts[m + 1]
        if a == b:
            out.append(None)
            continue
        s0, s1 = slice_cuts[m], slice_cuts[m + 1]
        mask, k0 = st.masks[m], int(lo[m])
        k, long_mm, ia, ib, pa, pb = _long_axis(
            mask, kk, k0, pts_mm, a, b, bounds[s0 : s1 + 1], upper[s0:s1] if upper else None
        )
        (ay, ax), (by, bx) = pts[ia].tolist(), pts[ib].tolist()
        ly, lx = m00 * (by - ay) + m01 * (bx - ax), m10 * (by - ay) + m11 * (bx - ax)
        norm = math.hypot(ly, lx)
        r0, c0m = r0s[m], int(c0[m])
        short_mm, short_a, short_b = _longest_chord(
            mask[k, r0 : r1s[m] + 1, c0m : int(c1[m])], to_mm, (ly / norm, lx / norm), pts_mm[pa:pb]
        )
        out.append((k, long_mm, short_mm, r0, c0m, ((ay, ax), (by, bx), short_a, short_b)))
    return out


def _long_axis(
    mask: npt.NDArray[np.bool_],
    kk: npt.NDArray[np.intp],
    k0: int,
    pts_mm: npt.NDArray[np.float64],
    a: int,
    b: int,
    bounds: list[int],
    upper: list[float] | None,
) -> tuple[int, float, int, int, int, int]:
    """The longest axial caliper diameter of one member: candidates ``a:b`` of the stack's.

    ``mask``: the member, from stack slice ``k0`` on (``kk``: the stack slice of each candidate).
    ``bounds``: the member's slices as candidate ranges (``bounds[n]:bounds[n + 1]``);
    ``upper``: an upper bound of each slice's diameter (needed beyond ``_NUMPY_PAIRS``
    candidates). Returns the slice of ``mask``, the diameter, its two candidates and the slice's
    candidate range.
    """
    # (slice, diameter, its two candidates, the slice's candidates) of every slice searched
    per_slice: list[tuple[int, float, int, int, int, int]] = []
    order: list[tuple[int, float]] = []  # slices to search, with an upper bound of their diameter
    if b - a <= _NUMPY_PAIRS:
        # few candidates: all pairs within each slice at once; unless another slice comes within
        # the tie tolerance, the slice of the longest pair is the one
        k_m = kk[a:b] - k0
        d2 = _squared_distances(pts_mm[a:b], pts_mm[a:b])
        d2[k_m[:, None] != k_m[None, :]] = -1.0
        at = int(d2.argmax())
        i, j = divmod(at, b - a)  # i < j: the first maximum of a symmetric matrix
        best = math.sqrt(float(d2.flat[at]))
        reach = max(best - _TIE_TOLERANCE_MM, 0.0) ** 2 * (1.0 - 1e-12)
        near = (np.maximum.reduce(d2, axis=1) >= reach).nonzero()[0]
        if bool((k_m[near] == k_m[i]).all()):
            n = bisect.bisect_right(bounds, a + i) - 1
            per_slice.append((int(k_m[i]), best, a + i, a + j, bounds[n], bounds[n + 1]))
        else:
            order = [(n, math.inf) for n in range(len(bounds) - 1)]
    else:
        assert upper is not None
        order = sorted(enumerate(upper), key=lambda s: -s[1])
    if order:
        best = -1.0
        for n, up in order:
            if up < best - _TIE_TOLERANCE_MM:
                break  # no remaining slice can reach the longest diameter found
            sa, sb = bounds[n], bounds[n + 1]
            i, j, dist = _farthest_pair(pts_mm[sa:sb])
            per_slice.append((int(kk[sa]) - k0, dist, sa + i, sa + j, sa, sb))
            best = max(best, dist)
    tied = [s for s in per_slice if s[1] >= best - _TIE_TOLERANCE_MM]
    if len(tied) > 1:  # the larger pixel count, then the lower slice index
        tied.sort(key=lambda s: (-int(np.count_nonzero(mask[s[0]])), s[0]))
    return tied[0]


def _measure(
    items: Sequence[tuple[npt.NDArray[np.bool_], Geometry]],
    *,
    axial: bool,
    feret: bool,
    max_tilt_deg: float,
) -> tuple[list[AxialDiameters | None], list[float | None]]:
    """Axial diameters and/or 3-D diameters of many masks, in stacks of masks on equal grids."""
    n = len(items)
    arrs: list[npt.NDArray[np.bool_]] = []
    offsets: list[tuple[int, int, int]] = []
    groups: dict[bytes, list[int]] = {}
    for m, (mask, geometry) in enumerate(items):
        try:
            full = _require_mask(mask, geometry)
            if axial:
                _require_axial(geometry, max_tilt_deg)
        except (MaskError, GeometryError) as exc:
            if n == 1:
                raise
            raise type(exc)(f"lesion mask {m} of {n}: {exc}") from exc
        cropped = _tight(full)
        if cropped is None:
            cropped = full[:1, :1, :1], (0, 0, 0)  # empty: one background voxel stands for it
        arrs.append(cropped[0])
        offsets.append(cropped[1])
        groups.setdefault(np.ascontiguousarray(geometry.affine[:3, :3]).tobytes(), []).append(m)
    axials: list[AxialDiameters | None] = [None] * n
    ferets: list[float | None] = [None] * n
    for key, members in groups.items():
        linear = items[members[0]][1].affine[:3, :3]
        for st in _stacks(arrs, members):
            if feret:
                for m, value in zip(st.members, _feret_stack(st, linear), strict=True):
                    if value is None:
                        where = "the mask" if n == 1 else f"lesion mask {m} of {n}"
                        raise MaskError(f"{where} is empty: an empty lesion has no diameter")
                    ferets[m] = value
            if axial:
                for m, local in zip(st.members, _axial_stack(st, _plane_frame(key)[1]), strict=True):
                    if local is not None:
                        axials[m] = _axial_result(local, offsets[m], items[m][1])
    return axials, ferets


def _axial_result(local: _AxialLocal, offset: tuple[int, int, int], geometry: Geometry) -> AxialDiameters:
    """Axial diameters with their endpoints in LPS mm (through the affine, index (slice, row, column))."""
    k, long_mm, short_mm, r0, c0, points = local
    kz, rz, cz = k + offset[0], r0 + offset[1], c0 + offset[2]
    (x0, x1, x2, x3), (y0, y1, y2, y3), (z0, z1, z2, z3), _ = geometry.affine.tolist()
    ends = [
        (x0 * kz + x1 * r + x2 * c + x3, y0 * kz + y1 * r + y2 * c + y3, z0 * kz + z1 * r + z2 * c + z3)
        for r, c in ((y + rz, x + cz) for y, x in points)
    ]
    return AxialDiameters(
        long_mm=long_mm,
        short_mm=short_mm,
        slice_index=kz,
        long_endpoints_lps_mm=(ends[0], ends[1]),
        short_endpoints_lps_mm=(ends[2], ends[3]),
    )


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
    line span the hull; of them, a point at or beyond the midpoint of the same-side extremes of
    the two neighbouring lines is inside the hull and is dropped (``_hull_candidates``). The
    slice widths along 16 directions 11.25° apart bound each slice's diameter within
    ``[w, w / cos 5.625°]``; slices are searched in decreasing order of the upper bound and the
    search stops once no remaining slice can reach the best value (with few candidates in all,
    the pairs of every slice are compared at once instead). Within a slice all pairs of the
    remaining points are compared (qhull first for very large sets); of equally long pairs the
    first in scan order wins. No search over all surface points.

    *Short axis (exact for the pixel region).* Along a line perpendicular to the long axis, the
    region (the closed union of pixel squares) is cut into pieces by the pixel grid lines; a
    piece is inside when a pixel whose closed square contains it is foreground, and a chord is a
    run of inside pieces (a point-sized piece where the line crosses a grid corner never breaks
    it). As the line slides along the long axis, each chord endpoint moves linearly along a
    straight stretch of boundary, so the length of a chord is piecewise linear in the line's
    position, with breaks only where an endpoint reaches a corner at which the boundary turns or
    such a corner touches the chord (joining or cutting it; the length is upper semicontinuous,
    the region being closed). A longest chord therefore contains a turning corner, as an
    endpoint or inside, and it is found as the longest chord through one of them: from each
    turning corner the line is walked both ways until its first outside piece. All lines share
    one pattern of pieces relative to their corner, so this is one vectorised lookup. For larger
    regions each line is first bounded by its intersection with a polygon circumscribed about
    the slice's hull (15 supporting directions); lines within a pixel diagonal of the largest
    bound are walked, then every other line whose bound can still reach the longest chord found.
    Ties (within 10⁻⁹ mm): the line with the smallest position along the long axis, then the
    first chord along it. A chord may run along a pixel edge or pass through a corner shared by two
    diagonal pixels (closed squares, the in-plane analogue of 26-connectivity).

    *Accuracy against the continuous object.* For a lesion rasterised by pixel-centre inclusion,
    every pixel corner lies within half a pixel diagonal δ of a centre inside the object, so the
    long axis overestimates the object's section diameter by at most 2δ (one in-plane pixel
    diagonal) and, when the osculating circle at the section's major vertex is wider than δ,
    underestimates it by at most 2δ. For an elliptic section with semi-axes A ≥ B, the region lies
    between ``(1 - δ/B)`` and ``(1 + δ/B)`` times the ellipse, which bounds the perpendicular chord
    to within that factor of the ellipse's chord (≈ ±2δ for a chord near the minor axis).
    """
    axials, _ = _measure([(mask, geometry)], axial=True, feret=False, max_tilt_deg=max_tilt_deg)
    return axials[0]


def max_3d_diameter_mm(mask: npt.NDArray[np.bool_], geometry: Geometry) -> float:
    """Maximum 3-D (Feret) diameter of a mask in mm, edge-to-edge between voxel corners.

    Voxel corners lie on the corner planes ``l - ½`` (shared by slices ``l - 1`` and ``l``); on
    each horizontal grid line of each corner plane only the leftmost and rightmost corner can be
    a vertex of the convex hull, and of those a point at or beyond the midpoint of the
    same-side extremes of two opposite neighbour lines (along the slice axis, the row axis or
    either diagonal of the two) is inside the hull too (``_hull_candidates``). The rest are
    mapped to LPS mm through the affine (any orientation, no axial requirement) and their
    farthest pair is found exactly: all pairs, or for very large sets only the pairs that can be
    farthest along some direction (``_diameter``). Exact for the voxel region; for an object
    rasterised by voxel-centre inclusion it lies within one voxel diagonal of the object's
    diameter (same argument as in :func:`axial_diameters`, in 3-D). Unlike pyradiomics'
    ``Maximum3DDiameter`` there is no O(V²) search over surface vertices.

    Raises
    ------
    MaskError
        An empty, non-3-D or non-binary mask.
    GeometryError
        Mask and grid shapes differ.
    """
    _, ferets = _measure([(mask, geometry)], axial=False, feret=True, max_tilt_deg=MAX_AXIAL_TILT_DEG)
    value = ferets[0]
    assert value is not None  # an empty mask raised
    return value


def lesion_diameters(
    lesions: Sequence[tuple[npt.NDArray[np.bool_], Geometry]],
    *,
    max_tilt_deg: float = MAX_AXIAL_TILT_DEG,
) -> list[LesionDiameters]:
    """Axial and 3-D diameters of many lesions at once, each exactly as for one.

    The same values as :func:`axial_diameters` and :func:`max_3d_diameter_mm` called on each
    lesion, computed in one vectorised pass over stacks of the masks (the candidate corners of all
    lesions together), which is what makes livers with hundreds of lesions fast.

    Parameters
    ----------
    lesions:
        ``(mask, geometry)`` of each lesion: a boolean (or 0/1) array ``[slice, row, column]``,
        best a crop (:func:`nelm.quant.lesions.lesion_mask`), and the grid it lies on. The grids
        may differ; masks on grids with equal direction and spacing share a stack.
    max_tilt_deg:
        Largest tolerated angle between the slices and the axial plane
        (:data:`MAX_AXIAL_TILT_DEG`).

    Returns
    -------
    list of LesionDiameters
        One per lesion, in the order given.

    Raises
    ------
    MaskError
        An empty, non-3-D or non-binary mask (the message names the lesion's position).
    GeometryError
        A mask/grid shape mismatch or a grid whose slices are not axial within ``max_tilt_deg``.
    """
    axials, ferets = _measure(lesions, axial=True, feret=True, max_tilt_deg=max_tilt_deg)
    out: list[LesionDiameters] = []
    for axial, feret in zip(axials, ferets, strict=True):
        assert axial is not None  # an empty mask raised
        assert feret is not None
        out.append(LesionDiameters(axial=axial, max_3d_mm=feret))
    return out


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
