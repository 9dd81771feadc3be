"""Rasterise analytic solids onto voxel grids: partial-volume fractions and truth masks.

Two numbers per voxel, both computed from the exact inside/outside test of
:mod:`nelm.phantom.shapes`:

* **Mask (discretised truth).** A voxel belongs to a structure when its *centre* lies inside
  the analytic solid (``sdf(centre) <= 0``). This is the rule of every truth label map: the
  voxel count of a mask is the number of voxel centres inside the solid.
* **Partial-volume fraction.** The fraction of the voxel's box that lies inside the solid,
  estimated by supersampling: the voxel is split into ``k × k × k`` equal sub-boxes and the
  fraction is the share of sub-box centres inside (midpoint rule; ``k = 4`` by default, so
  fractions are multiples of 1/64). Only voxels whose centre lies within 0.6 voxel diagonal of
  the surface (``|sdf| <= 0.6 · diagonal``; a voxel's corners are half a diagonal from its
  centre) are supersampled; voxels farther in or out are exactly 1
  or 0. Because every solid is sampled at the same sub-box centres, the fractions of disjoint
  solids never sum to more than one, and a solid nested in another never exceeds it.

Images are then synthesised by painting tissue values weighted by these fractions (see
:mod:`nelm.phantom.studies`), so a lesion smaller than a voxel still shows with the right
mean signal, as on a real scanner before its point-spread blur.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from nelm.errors import ConfigError
from nelm.imaging.geometry import Geometry
from nelm.phantom.shapes import FloatArray, Shape

__all__ = [
    "Field",
    "box_of",
    "grid_coordinates",
    "integrate_volume_ml",
    "rasterize",
]

#: Default sub-boxes per voxel edge for partial-volume fractions.
DEFAULT_SUPERSAMPLING = 4

# Band voxels are supersampled in chunks of this many voxels (memory: chunk * k³ * 8 B * ~6).
_CHUNK = 8192
# Voxels whose centre is within this many voxel diagonals of the surface are supersampled: any
# point of a voxel is within half a diagonal of its centre; the extra 20 % covers the error of
# the first-order distance estimates (which only ever underestimate |sdf| for CSG operands).
_BAND_PER_DIAGONAL = 0.6
# Stand-in for an infinite bound when mapping a bounding box to index space.
_FAR_MM = 1.0e6


@dataclass(frozen=True, eq=False)
class Field:
    """A solid rasterised on a box of a grid.

    Parameters
    ----------
    start, stop:
        Index box ``[start, stop)`` along (slice, row, column) of the full grid.
    fraction:
        Partial-volume fraction in ``[0, 1]`` (float32), broadcastable to the box shape (axes
        along which the solid does not vary may have length 1).
    inside:
        Voxel-centre mask, same broadcast shape as ``fraction``.
    """

    start: tuple[int, int, int]
    stop: tuple[int, int, int]
    fraction: npt.NDArray[np.float32]
    inside: npt.NDArray[np.bool_]

    @property
    def slices(self) -> tuple[slice, slice, slice]:
        """Slices of the full grid array covered by the box."""
        return (
            slice(self.start[0], self.stop[0]),
            slice(self.start[1], self.stop[1]),
            slice(self.start[2], self.stop[2]),
        )

    @property
    def box_shape(self) -> tuple[int, int, int]:
        """Shape of the box."""
        return (
            self.stop[0] - self.start[0],
            self.stop[1] - self.start[1],
            self.stop[2] - self.start[2],
        )

    @property
    def is_empty(self) -> bool:
        """Whether the box holds no voxel."""
        return min(self.box_shape) <= 0

    def full_fraction(self, shape: tuple[int, int, int]) -> npt.NDArray[np.float32]:
        """The fraction on the whole grid (zeros outside the box)."""
        out = np.zeros(shape, dtype=np.float32)
        if not self.is_empty:
            out[self.slices] = self.fraction
        return out

    def full_inside(self, shape: tuple[int, int, int]) -> npt.NDArray[np.bool_]:
        """The voxel-centre mask on the whole grid."""
        out = np.zeros(shape, dtype=bool)
        if not self.is_empty:
            out[self.slices] = self.inside
        return out

    def fraction_sum(self) -> float:
        """Sum of the fraction over the box (partial-volume voxel count)."""
        if self.is_empty:
            return 0.0
        return float(np.broadcast_to(self.fraction, self.box_shape).sum(dtype=np.float64))


def box_of(
    shape: Shape, geometry: Geometry, pad: int = 1
) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """Index box ``[start, stop)`` of the grid covering ``shape``'s bounding box plus ``pad`` voxels."""
    lo, hi = shape.bounds()
    lo_c = np.clip(np.asarray(lo, dtype=float), -_FAR_MM, _FAR_MM)
    hi_c = np.clip(np.asarray(hi, dtype=float), -_FAR_MM, _FAR_MM)
    corners = np.array(
        [
            [(lo_c, hi_c)[i][0], (lo_c, hi_c)[j][1], (lo_c, hi_c)[k][2]]
            for i in (0, 1)
            for j in (0, 1)
            for k in (0, 1)
        ]
    )
    idx = geometry.world_to_index(corners)
    start = np.floor(idx.min(axis=0)).astype(np.int64) - pad
    stop = np.ceil(idx.max(axis=0)).astype(np.int64) + pad + 1
    n = np.asarray(geometry.shape)
    start = np.clip(start, 0, n)
    stop = np.clip(stop, 0, n)
    stop = np.maximum(stop, start)
    return (
        (int(start[0]), int(start[1]), int(start[2])),
        (int(stop[0]), int(stop[1]), int(stop[2])),
    )


def grid_coordinates(
    geometry: Geometry, start: tuple[int, int, int], stop: tuple[int, int, int]
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """LPS x, y, z (mm) of the voxel centres of a box, as mutually broadcastable arrays.

    A coordinate is expanded only along the array axes it depends on (for an axial grid ``x``
    has shape ``(1, 1, n_columns)``), so solids invariant along an axis stay cheap.
    """
    a = geometry.affine
    idx = [
        np.arange(start[j], stop[j], dtype=float).reshape([-1 if k == j else 1 for k in range(3)])
        for j in range(3)
    ]
    coords: list[FloatArray] = []
    for c in range(3):
        value: FloatArray = np.full((1, 1, 1), a[c, 3])
        for j in range(3):
            if a[c, j] != 0.0:
                value = value + a[c, j] * idx[j]
        coords.append(value)
    return coords[0], coords[1], coords[2]


def _subsample_offsets(geometry: Geometry, k: int) -> FloatArray:
    """World offsets (mm) of the ``k³`` sub-box centres of a voxel, shape ``(k³, 3)``."""
    o = (np.arange(k, dtype=float) + 0.5) / k - 0.5
    grid = np.stack(np.meshgrid(o, o, o, indexing="ij"), axis=-1).reshape(-1, 3)
    return np.asarray(grid @ geometry.affine[:3, :3].T)


def rasterize(shape: Shape, geometry: Geometry, *, supersampling: int = DEFAULT_SUPERSAMPLING) -> Field:
    """Partial-volume fraction and voxel-centre mask of ``shape`` on ``geometry``.

    Parameters
    ----------
    shape:
        The analytic solid (LPS mm).
    geometry:
        The target grid.
    supersampling:
        Sub-boxes per voxel edge for the fraction of voxels straddling the surface (≥ 1;
        1 reduces the fraction to the voxel-centre mask).

    Returns
    -------
    Field
        Restricted to the grid box covering the solid's bounding box.
    """
    if supersampling < 1:
        raise ConfigError(f"supersampling must be at least 1, got {supersampling}")
    start, stop = box_of(shape, geometry)
    if min(b - a for a, b in zip(start, stop, strict=True)) <= 0:
        empty_f = np.zeros((0, 0, 0), dtype=np.float32)
        return Field(start, start, empty_f, empty_f.astype(bool))
    x, y, z = grid_coordinates(geometry, start, stop)
    d = np.asarray(shape.sdf(x, y, z), dtype=float)
    inside = d <= 0.0
    fraction = inside.astype(np.float32)
    if supersampling > 1:
        diagonal = math.sqrt(sum(s * s for s in geometry.spacing_mm))
        band = np.nonzero(np.abs(d) <= _BAND_PER_DIAGONAL * diagonal)
        if band[0].size:
            offsets = _subsample_offsets(geometry, supersampling)
            index = np.stack(band, axis=-1).astype(float) + np.asarray(start, dtype=float)
            centres = geometry.index_to_world(index)
            values = np.empty(index.shape[0], dtype=np.float32)
            for lo in range(0, index.shape[0], _CHUNK):
                # Sub-box centres in float32: ample for a fraction quantised to 1/k³, and twice as fast.
                pts = (centres[lo : lo + _CHUNK, None, :] + offsets[None, :, :]).astype(np.float32)
                inside_sub = shape.sdf(pts[..., 0], pts[..., 1], pts[..., 2]) <= 0.0
                values[lo : lo + _CHUNK] = inside_sub.mean(axis=1)
            fraction[band] = values
    return Field(start, stop, fraction, inside)


def integrate_volume_ml(
    shape: Shape,
    *,
    spacing_mm: float = 1.0,
    supersampling: int = DEFAULT_SUPERSAMPLING,
    labeler: Callable[[FloatArray, FloatArray, FloatArray], npt.NDArray[np.integer]] | None = None,
    slab: int = 24,
) -> tuple[float, dict[int, float]]:
    """Volume of a solid (mL) by integrating its partial-volume fraction on a fine grid.

    Used for solids without a closed-form volume (the liver: a union of ellipsoids minus
    vessels). The midpoint rule on ``spacing_mm`` voxels refined ``supersampling``-fold near
    the surface has an error far below 0.1 % for organ-sized solids (checked against
    4/3·π·r³ in the tests).

    Parameters
    ----------
    labeler:
        Optional function of voxel-centre coordinates returning an integer label per voxel
        (e.g. the liver segment); the volume is then also split by label, each fine voxel's
        fraction going to the label of its centre.
    slab:
        Slices processed at a time (bounds memory).

    Returns
    -------
    tuple
        Total volume in mL and a dict label → volume in mL (empty without ``labeler``).
    """
    lo, hi = shape.bounds()
    if not all(np.isfinite(lo)) or not all(np.isfinite(hi)):
        raise ConfigError("cannot integrate the volume of an unbounded solid")
    n = [math.ceil((hi[k] - lo[k]) / spacing_mm) + 3 for k in range(3)]
    origin = (lo[0] - spacing_mm, lo[1] - spacing_mm, lo[2] - spacing_mm)
    voxel_ml = spacing_mm**3 / 1000.0
    total = 0.0
    by_label: dict[int, float] = {}
    for z0 in range(0, n[2], slab):
        nz = min(slab, n[2] - z0)
        geometry = Geometry.from_spacing(
            (nz, n[1], n[0]),
            (spacing_mm, spacing_mm, spacing_mm),
            origin_mm=(origin[0], origin[1], origin[2] + z0 * spacing_mm),
        )
        field = rasterize(shape, geometry, supersampling=supersampling)
        if field.is_empty:
            continue
        frac = np.broadcast_to(field.fraction, field.box_shape).astype(np.float64)
        total += float(frac.sum()) * voxel_ml
        if labeler is not None:
            x, y, z = grid_coordinates(geometry, field.start, field.stop)
            labels = np.broadcast_to(labeler(x, y, z), field.box_shape)
            sums = np.bincount(labels.ravel().astype(np.int64), weights=frac.ravel())
            for value, s in enumerate(sums):
                if s > 0:
                    by_label[value] = by_label.get(value, 0.0) + float(s) * voxel_ml
    return total, dict(sorted(by_label.items()))
