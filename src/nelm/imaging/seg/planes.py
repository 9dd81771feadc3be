"""Where SEG frames lie: frame planes and their placement on a voxel grid.

A frame is *placed* on a grid by mapping its corner pixel centres through the grid's inverse
affine: they must land on integer voxel indices within ``tolerance_mm`` (default
:data:`PLANE_TOLERANCE_MM`), the frame's rows and columns must run along grid axes (flips and
axis permutations of the grid are allowed), and its normal along the remaining axis (see
:mod:`nelm.imaging.seg`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from nelm.errors import DicomError, GeometryError
from nelm.imaging.geometry import Geometry

__all__ = ["PLANE_TOLERANCE_MM", "Plane", "floats", "place", "unit"]

#: Largest distance (mm) between a frame's corner pixel centres and the grid voxel centres they
#: are matched to. 0.05 mm is far above the rounding of positions written as DICOM decimal
#: strings with 6–7 significant digits (≤ 1e-3 mm at 500 mm from the origin), and far below half
#: of any clinical voxel (≥ 0.15 mm), so a frame half a slice off is always caught.
PLANE_TOLERANCE_MM: Final[float] = 0.05


def floats(value: Any, n: int, what: str, where: str) -> npt.NDArray[np.float64]:
    """``n`` finite numbers of a multi-valued tag, else :class:`DicomError`."""
    try:
        arr = np.asarray([float(v) for v in value], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DicomError(f"{where}: {what} is not numeric ({value!r})") from exc
    if arr.shape != (n,) or not np.all(np.isfinite(arr)):
        raise DicomError(f"{where}: {what} must hold {n} finite numbers, got {value!r}")
    return arr


def unit(v: npt.NDArray[np.float64], what: str, where: str) -> npt.NDArray[np.float64]:
    """``v`` normalised; :class:`DicomError` unless its norm is 1 within 1e-3."""
    norm = float(np.linalg.norm(v))
    if abs(norm - 1.0) > 1e-3:
        raise DicomError(f"{where}: {what} {v.tolist()} is not a unit vector (norm {norm:.4f})")
    return v / norm


@dataclass(frozen=True)
class Plane:
    """Where one 2-D frame of pixels lies in patient space (DICOM PS3.3 C.7.6.2)."""

    position: npt.NDArray[np.float64]
    """Image Position (Patient): LPS mm of the centre of the first pixel."""
    row_cosines: npt.NDArray[np.float64]
    """First triplet of Image Orientation (Patient): direction of increasing column index."""
    column_cosines: npt.NDArray[np.float64]
    """Second triplet: direction of increasing row index."""
    pixel_spacing: tuple[float, float]
    """Pixel Spacing: (between rows, between columns) in mm."""
    rows: int
    columns: int

    def pixel_to_world(self, row: float, column: float) -> npt.NDArray[np.float64]:
        """LPS mm of the centre of pixel ``(row, column)``."""
        return np.asarray(
            self.position
            + column * self.pixel_spacing[1] * self.row_cosines
            + row * self.pixel_spacing[0] * self.column_cosines
        )

    @property
    def normal(self) -> npt.NDArray[np.float64]:
        """Unit normal ``row cosines × column cosines``."""
        n = np.cross(self.row_cosines, self.column_cosines)
        return np.asarray(n / np.linalg.norm(n))


def place(
    plane: Plane,
    data: npt.NDArray[np.generic],
    grid: Geometry,
    *,
    tolerance_mm: float,
    what: str,
    grid_name: str,
) -> tuple[tuple[slice, slice, slice], npt.NDArray[np.generic]] | None:
    """Map a 2-D frame onto ``grid``: the target slices and the 3-D block to put there.

    Returns ``None`` when the frame lies wholly outside the grid and holds no foreground.

    Raises
    ------
    GeometryError
        The frame's pixel centres do not coincide with grid voxel centres (between slices,
        other spacing or orientation), or segmented pixels fall outside the grid.
    """
    rows, cols = plane.rows, plane.columns
    p00 = plane.pixel_to_world(0, 0)
    i00 = grid.world_to_index(p00)
    origin = np.rint(i00).astype(int)
    steps: list[tuple[int, int]] = []  # (axis, sign) for frame columns, then frame rows
    for d_row, d_col in ((0.0, 1.0), (1.0, 0.0)):
        step = grid.world_to_index(plane.pixel_to_world(d_row, d_col)) - i00
        axis = int(np.argmax(np.abs(step)))
        sign = 1 if step[axis] > 0 else -1
        expected = np.zeros(3)
        expected[axis] = sign
        if not np.allclose(step, expected, atol=0.02):
            raise GeometryError(
                f"{what} does not lie on the pixel grid of {grid_name}: one frame "
                f"{'column' if d_col else 'row'} step is {np.round(step, 4).tolist()} voxels of the grid "
                f"(expected a single step along one axis). Frame: {rows}x{cols} pixels, spacing "
                f"{plane.pixel_spacing} mm, origin {np.round(p00, 3).tolist()} mm LPS; "
                f"{grid_name} {grid.describe()}. Resample explicitly or supply the matching grid."
            )
        steps.append((axis, sign))
    (a_col, s_col), (a_row, s_row) = steps
    if a_col == a_row:
        raise GeometryError(f"{what}: frame rows and columns map onto the same axis of {grid_name}")
    a_slice = 3 - a_col - a_row
    # Check the four corner pixel centres against the voxel centres they should coincide with.
    for r, c in ((0, 0), (0, cols - 1), (rows - 1, 0), (rows - 1, cols - 1)):
        idx = origin.astype(float).copy()
        idx[a_col] += s_col * c
        idx[a_row] += s_row * r
        world = plane.pixel_to_world(r, c)
        dist = float(np.linalg.norm(grid.index_to_world(idx) - world))
        if dist > tolerance_mm:
            frac = np.round(grid.world_to_index(world), 3).tolist()
            raise GeometryError(
                f"{what} falls between the voxels of {grid_name}: its pixel ({r}, {c}) at "
                f"{np.round(world, 3).tolist()} mm LPS is {dist:.3f} mm from the nearest voxel centre "
                f"(fractional index {frac}; "
                f"tolerance {tolerance_mm} mm). SEG frame: {rows}x{cols} pixels, origin "
                f"{np.round(p00, 3).tolist()} mm LPS, spacing {plane.pixel_spacing} mm, normal "
                f"{np.round(plane.normal, 4).tolist()}; {grid_name} {grid.describe()}. "
                "Supply the image series the SEG was drawn on, or resample explicitly."
            )
    block = np.asarray(data)
    if s_row < 0:
        block = block[::-1, :]
    if s_col < 0:
        block = block[:, ::-1]
    start = origin.copy()
    start[a_row] = origin[a_row] if s_row > 0 else origin[a_row] - (rows - 1)
    start[a_col] = origin[a_col] if s_col > 0 else origin[a_col] - (cols - 1)
    if a_row > a_col:
        block = block.T
    block3 = np.expand_dims(block, axis=a_slice)
    length = [0, 0, 0]
    length[a_row], length[a_col], length[a_slice] = rows, cols, 1
    target: list[slice] = []
    crop: list[slice] = []
    for ax in range(3):
        lo = max(int(start[ax]), 0)
        hi = min(int(start[ax]) + length[ax], grid.shape[ax])
        if hi <= lo:
            if np.any(block3):
                raise GeometryError(
                    f"{what} lies outside {grid_name} ({grid.describe()}) yet holds segmented "
                    f"pixels; its first pixel is at {np.round(p00, 3).tolist()} mm LPS (voxel "
                    f"index {origin.tolist()}). Supply the series the SEG was drawn on."
                )
            return None
        target.append(slice(lo, hi))
        crop.append(slice(lo - int(start[ax]), hi - int(start[ax])))
    cropped = block3[tuple(crop)]
    if cropped.shape != block3.shape and np.count_nonzero(cropped) != np.count_nonzero(block3):
        raise GeometryError(
            f"{what} extends beyond {grid_name} ({grid.describe()}) with segmented pixels "
            "outside it. Supply the series the SEG was drawn on."
        )
    return (target[0], target[1], target[2]), cropped
