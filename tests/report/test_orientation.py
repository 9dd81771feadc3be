"""The axial plane sampler puts the patient's left on the image right and anterior up, any axis order."""

from __future__ import annotations

import numpy as np

from nelm.imaging.geometry import Geometry
from nelm.report.planes import axial_plane, plane_extent, sample


def _marker_volume(directions: np.ndarray) -> tuple[np.ndarray, Geometry]:
    """A 20 mm cube grid with one bright voxel at patient-left, anterior (x = +8, y = -8, z = 0)."""
    shape = (17, 17, 17)
    geometry = Geometry.from_spacing(shape, (1.0, 1.0, 1.0), (-8.0, -8.0, -8.0), directions)
    # Move the origin so that the grid covers -8..8 mm on every axis whatever the directions.
    corners = geometry.corners_mm()
    shift = -8.0 - corners.min(axis=0)
    affine = geometry.affine.copy()
    affine[:3, 3] += shift
    geometry = Geometry(shape, affine)
    array = np.zeros(shape, dtype=np.float32)
    index = np.rint(geometry.world_to_index([8.0, -8.0, 0.0])).astype(int)
    array[tuple(index)] = 100.0
    return array, geometry


def test_left_anterior_marker_is_top_right_for_any_axis_order() -> None:
    for directions in (
        None,  # axial: slices S, rows P, columns L
        np.array([[0.0, 0.0, -1.0], [0.0, -1.0, 0.0], [1.0, 0.0, 0.0]]),  # flipped rows/columns
        np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]),  # sagittal-first order
    ):
        array, geometry = _marker_volume(directions)
        plane = axial_plane(geometry, 0.0, pixel_mm=1.0)
        cut = sample(array, geometry, plane, labels=False, fill=0.0)
        row, col = np.unravel_index(int(np.argmax(cut)), cut.shape)
        assert row == 0  # anterior (smallest y) is the top row
        assert col == cut.shape[1] - 1  # patient left (largest x) is the right-most column
        left, right, bottom, top = plane_extent(plane)
        assert left < right  # x (towards patient left) grows to the right
        assert top < bottom  # y (towards posterior) grows downwards
