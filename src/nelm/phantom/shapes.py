"""Analytic solids in patient LPS millimetres: the building blocks of the synthetic patient.

Every solid is an implicit shape: a function ``sdf(x, y, z)`` that is ``<= 0`` inside and
``> 0`` outside, plus an axis-aligned bounding box. The *sign* is exact for every shape and
every combination, so "is this point inside" (the voxel-centre rule of the truth masks) is
exact. The *magnitude* approximates the Euclidean distance to the surface to first order:

* :class:`Ellipsoid`, :class:`EllipticCylinder`: ``g / |∇g|`` with ``g = |p/a| - 1``, the
  first-order distance estimate of an implicit surface (exact for spheres and circular
  cylinders); Hart, "Sphere tracing", The Visual Computer 1996;12:527, and Quilez's ellipsoid
  bound use the same construction.
* :class:`Capsule`, :class:`HalfSpace`: exact distances.
* :class:`Union`, :class:`Intersection`, :class:`Difference`: ``min``, ``max`` and
  ``max(a, -b)`` of the operands (constructive solid geometry; exact sign, distance bound; a
  point on the surface of a removed solid counts as removed).

The magnitude is only used to find the band of voxels that straddle a surface (see
:mod:`nelm.phantom.rasterize`), where a first-order estimate is ample.

Coordinates are passed as three arrays that broadcast against each other (for an axial grid,
``x`` varies along columns only, ``y`` along rows, ``z`` along slices); a solid that does not
depend on a coordinate returns an array that is not expanded along it, which keeps the body
outline (an infinite vertical cylinder) a 2-D computation.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from nelm.errors import ConfigError

__all__ = [
    "Capsule",
    "Difference",
    "Ellipsoid",
    "EllipticCylinder",
    "FloatArray",
    "HalfSpace",
    "Intersection",
    "Shape",
    "Union",
]

FloatArray = npt.NDArray[np.floating[Any]]
Vec3 = tuple[float, float, float]

_INF = float("inf")
# Positive stand-in for a zero distance, to break ties in set differences (mm).
_TIE = 1e-9


def _vec3(values: Sequence[float], what: str) -> Vec3:
    v = tuple(float(a) for a in values)
    if len(v) != 3 or not all(np.isfinite(v)):
        raise ConfigError(f"{what} must be three finite numbers (mm), got {values!r}")
    return (v[0], v[1], v[2])


class Shape(ABC):
    """An implicit solid in LPS mm with exact inside/outside sign."""

    @abstractmethod
    def sdf(self, x: FloatArray, y: FloatArray, z: FloatArray) -> FloatArray:
        """Approximate signed distance (mm): negative inside, positive outside, exact sign."""

    @abstractmethod
    def bounds(self) -> tuple[Vec3, Vec3]:
        """Axis-aligned bounding box ``(low, high)`` in LPS mm; ``±inf`` where unbounded."""

    def contains(self, x: FloatArray, y: FloatArray, z: FloatArray) -> npt.NDArray[np.bool_]:
        """Whether points lie inside or on the surface (``sdf <= 0``)."""
        return np.asarray(self.sdf(x, y, z) <= 0.0)

    def contains_points(self, points: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """:meth:`contains` for an array of points of shape ``(..., 3)``."""
        p = np.asarray(points, dtype=float)
        return self.contains(p[..., 0], p[..., 1], p[..., 2])


@dataclass(frozen=True)
class Ellipsoid(Shape):
    """Ellipsoid with semi-axes along the patient x (L), y (P) and z (S) axes.

    Volume ``4/3·π·a·b·c``. The distance estimate ``k0 (k0 - 1) / k1`` with
    ``k0 = |p/a|`` and ``k1 = |p/a²|`` is exact for a sphere.
    """

    center: Vec3
    semi_axes: Vec3

    def __post_init__(self) -> None:
        object.__setattr__(self, "center", _vec3(self.center, "ellipsoid centre"))
        axes = _vec3(self.semi_axes, "ellipsoid semi-axes")
        if min(axes) <= 0:
            raise ConfigError(f"ellipsoid semi-axes must be positive, got {axes} mm")
        object.__setattr__(self, "semi_axes", axes)

    @property
    def volume_mm3(self) -> float:
        """Analytic volume ``4/3·π·a·b·c`` in mm³."""
        a, b, c = self.semi_axes
        return 4.0 / 3.0 * np.pi * a * b * c

    def sdf(self, x: FloatArray, y: FloatArray, z: FloatArray) -> FloatArray:
        a, b, c = self.semi_axes
        u = (x - self.center[0]) / a
        v = (y - self.center[1]) / b
        w = (z - self.center[2]) / c
        k0 = np.sqrt(u * u + v * v + w * w)
        k1 = np.sqrt((u / a) ** 2 + (v / b) ** 2 + (w / c) ** 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            d = k0 * (k0 - 1.0) / k1
        return np.asarray(np.where(k1 > 0, d, -min(a, b, c)))

    def bounds(self) -> tuple[Vec3, Vec3]:
        c, r = self.center, self.semi_axes
        return (c[0] - r[0], c[1] - r[1], c[2] - r[2]), (c[0] + r[0], c[1] + r[1], c[2] + r[2])


@dataclass(frozen=True)
class EllipticCylinder(Shape):
    """Vertical (z-parallel) elliptic cylinder, optionally limited to ``z_min <= z <= z_max``.

    Without z limits it does not depend on z, and :meth:`sdf` returns an array that is not
    expanded along z.
    """

    center_xy: tuple[float, float]
    semi_axes_xy: tuple[float, float]
    z_min: float = -_INF
    z_max: float = _INF

    def __post_init__(self) -> None:
        if min(self.semi_axes_xy) <= 0:
            raise ConfigError(f"cylinder semi-axes must be positive, got {self.semi_axes_xy} mm")
        if not self.z_min < self.z_max:
            raise ConfigError(f"cylinder z range [{self.z_min}, {self.z_max}] mm is empty")

    def sdf(self, x: FloatArray, y: FloatArray, z: FloatArray) -> FloatArray:
        a, b = self.semi_axes_xy
        u = (x - self.center_xy[0]) / a
        v = (y - self.center_xy[1]) / b
        k0 = np.sqrt(u * u + v * v)
        k1 = np.sqrt((u / a) ** 2 + (v / b) ** 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            d = np.where(k1 > 0, k0 * (k0 - 1.0) / k1, -min(a, b))
        if np.isfinite(self.z_min) or np.isfinite(self.z_max):
            dz = np.maximum(self.z_min - z, z - self.z_max)
            d = np.maximum(d, dz)
        return np.asarray(d)

    def bounds(self) -> tuple[Vec3, Vec3]:
        (cx, cy), (a, b) = self.center_xy, self.semi_axes_xy
        return (cx - a, cy - b, self.z_min), (cx + a, cy + b, self.z_max)


@dataclass(frozen=True)
class Capsule(Shape):
    """All points within ``radius`` of the segment from ``start`` to ``end`` (a vessel)."""

    start: Vec3
    end: Vec3
    radius: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _vec3(self.start, "capsule start"))
        object.__setattr__(self, "end", _vec3(self.end, "capsule end"))
        if self.radius <= 0:
            raise ConfigError(f"capsule radius must be positive, got {self.radius} mm")

    def sdf(self, x: FloatArray, y: FloatArray, z: FloatArray) -> FloatArray:
        a = np.asarray(self.start)
        ba = np.asarray(self.end) - a
        px, py, pz = x - a[0], y - a[1], z - a[2]
        t = np.clip((px * ba[0] + py * ba[1] + pz * ba[2]) / float(ba @ ba), 0.0, 1.0)
        dx, dy, dz = px - t * ba[0], py - t * ba[1], pz - t * ba[2]
        return np.asarray(np.sqrt(dx * dx + dy * dy + dz * dz) - self.radius)

    def bounds(self) -> tuple[Vec3, Vec3]:
        r = self.radius
        lo = tuple(min(s, e) - r for s, e in zip(self.start, self.end, strict=True))
        hi = tuple(max(s, e) + r for s, e in zip(self.start, self.end, strict=True))
        return (lo[0], lo[1], lo[2]), (hi[0], hi[1], hi[2])


@dataclass(frozen=True)
class HalfSpace(Shape):
    """Points on the side of a plane opposite to its unit ``normal``: ``(p - point)·n <= 0``."""

    point: Vec3
    normal: Vec3

    def __post_init__(self) -> None:
        object.__setattr__(self, "point", _vec3(self.point, "plane point"))
        n = np.asarray(_vec3(self.normal, "plane normal"))
        norm = float(np.linalg.norm(n))
        if norm == 0:
            raise ConfigError("a plane normal cannot be the zero vector")
        n = n / norm
        object.__setattr__(self, "normal", (float(n[0]), float(n[1]), float(n[2])))

    def sdf(self, x: FloatArray, y: FloatArray, z: FloatArray) -> FloatArray:
        p, n = self.point, self.normal
        d: FloatArray | float = 0.0
        for coord, pc, nc in ((x, p[0], n[0]), (y, p[1], n[1]), (z, p[2], n[2])):
            if nc != 0.0:
                d = d + (coord - pc) * nc
        return np.asarray(d, dtype=float)

    def bounds(self) -> tuple[Vec3, Vec3]:
        lo = [-_INF, -_INF, -_INF]
        hi = [_INF, _INF, _INF]
        for axis in range(3):
            if all(self.normal[k] == 0.0 for k in range(3) if k != axis):
                if self.normal[axis] > 0:
                    hi[axis] = self.point[axis]
                else:
                    lo[axis] = self.point[axis]
        return (lo[0], lo[1], lo[2]), (hi[0], hi[1], hi[2])


@dataclass(frozen=True)
class Union(Shape):
    """Points inside any operand."""

    parts: tuple[Shape, ...]

    def __post_init__(self) -> None:
        if not self.parts:
            raise ConfigError("a union needs at least one shape")

    def sdf(self, x: FloatArray, y: FloatArray, z: FloatArray) -> FloatArray:
        d = self.parts[0].sdf(x, y, z)
        for part in self.parts[1:]:
            d = np.minimum(d, part.sdf(x, y, z))
        return d

    def bounds(self) -> tuple[Vec3, Vec3]:
        boxes = [p.bounds() for p in self.parts]
        lo = tuple(min(b[0][k] for b in boxes) for k in range(3))
        hi = tuple(max(b[1][k] for b in boxes) for k in range(3))
        return (lo[0], lo[1], lo[2]), (hi[0], hi[1], hi[2])


@dataclass(frozen=True)
class Intersection(Shape):
    """Points inside every operand."""

    parts: tuple[Shape, ...]

    def __post_init__(self) -> None:
        if not self.parts:
            raise ConfigError("an intersection needs at least one shape")

    def sdf(self, x: FloatArray, y: FloatArray, z: FloatArray) -> FloatArray:
        d = self.parts[0].sdf(x, y, z)
        for part in self.parts[1:]:
            d = np.maximum(d, part.sdf(x, y, z))
        return d

    def bounds(self) -> tuple[Vec3, Vec3]:
        boxes = [p.bounds() for p in self.parts]
        lo = tuple(max(b[0][k] for b in boxes) for k in range(3))
        hi = tuple(min(b[1][k] for b in boxes) for k in range(3))
        return (lo[0], lo[1], lo[2]), (hi[0], hi[1], hi[2])


@dataclass(frozen=True)
class Difference(Shape):
    """Points inside ``base`` and outside every shape in ``removed``."""

    base: Shape
    removed: tuple[Shape, ...]

    def sdf(self, x: FloatArray, y: FloatArray, z: FloatArray) -> FloatArray:
        d = self.base.sdf(x, y, z)
        for part in self.removed:
            db = part.sdf(x, y, z)
            # The removed solids are closed: a point on their surface is removed too, so that a
            # solid and the difference it was cut from never share a voxel centre.
            d = np.maximum(d, np.where(db == 0.0, _TIE, -db))
        return d

    def bounds(self) -> tuple[Vec3, Vec3]:
        return self.base.bounds()
