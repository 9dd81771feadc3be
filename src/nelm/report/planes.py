"""Planes and grids in patient coordinates for the report's figures.

Images are displayed in patient millimetres, not array indices: an axial plane is a one-slice grid
whose rows run to posterior and columns to the patient's left (DICOM LPS), sampled from any
volume through its own affine with :func:`nelm.imaging.volume.resample_array`. So any array axis
order or obliquity displays in the radiological convention (anterior up, patient left on the
image right) with the aspect of the physical spacing.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from nelm.imaging.geometry import Geometry
from nelm.imaging.volume import resample_array

__all__ = ["axial_plane", "canonical_grid", "extent_lps", "lps_spacing", "plane_extent", "sample"]


def extent_lps(geometry: Geometry) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Smallest and largest LPS mm of the grid's voxel centres (each shape ``(3,)``)."""
    corners = geometry.corners_mm()
    return corners.min(axis=0), corners.max(axis=0)


def lps_spacing(geometry: Geometry) -> tuple[float, float, float]:
    """Spacing along L, P, S: that of the array axis closest to each patient axis."""
    d = np.abs(geometry.directions)
    sp = geometry.spacing_mm
    return (float(sp[int(np.argmax(d[0]))]), float(sp[int(np.argmax(d[1]))]), float(sp[int(np.argmax(d[2]))]))


def axial_plane(like: Geometry, z_mm: float, pixel_mm: float | None = None) -> Geometry:
    """A one-slice axial grid (rows to posterior, columns to left) at ``z_mm`` covering ``like``."""
    lo, hi = extent_lps(like)
    s = pixel_mm or min(lps_spacing(like)[:2])
    n_x = int(np.floor((hi[0] - lo[0]) / s)) + 1
    n_y = int(np.floor((hi[1] - lo[1]) / s)) + 1
    return Geometry.from_spacing((1, n_y, n_x), (1.0, s, s), (float(lo[0]), float(lo[1]), float(z_mm)))


def canonical_grid(like: Geometry) -> Geometry:
    """An axis-aligned grid ``[S, P, L]`` (increasing) covering ``like`` with its spacing."""
    lo, hi = extent_lps(like)
    sx, sy, sz = lps_spacing(like)
    shape = tuple(int(np.floor((hi[i] - lo[i]) / s)) + 1 for i, s in ((2, sz), (1, sy), (0, sx)))
    return Geometry.from_spacing(
        (shape[0], shape[1], shape[2]), (sz, sy, sx), (float(lo[0]), float(lo[1]), float(lo[2]))
    )


def sample(
    array: npt.NDArray[Any], source: Geometry, plane: Geometry, *, labels: bool, fill: float
) -> npt.NDArray[Any]:
    """``array`` (on ``source``) resampled onto ``plane``: nearest neighbour for labels, trilinear
    otherwise, ``fill`` outside; a one-slice plane gives a 2-D ``[row, column]`` array."""
    out = resample_array(
        array, source, plane, interpolation="nearest" if labels else "linear", fill_value=fill
    )
    return np.asarray(out[0] if out.shape[0] == 1 else out)


def plane_extent(plane: Geometry) -> tuple[float, float, float, float]:
    """``imshow`` extent (left, right, bottom, top) of an axial plane in LPS mm, anterior up."""
    ox, oy, _ = plane.origin_mm
    _, sy, sx = plane.spacing_mm
    _, ny, nx = plane.shape
    return (ox - sx / 2, ox + (nx - 0.5) * sx, oy + (ny - 0.5) * sy, oy - sy / 2)
