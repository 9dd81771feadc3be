"""Stacking 2-D DICOM frames into one grid, and nelm's grid for planar NM views.

:class:`FramePlane` is the plane of one frame; :func:`stack_planes` sorts frames by their
position along the slice normal, validates orientation, pixel spacing, duplicates and gaps, and
builds the ``[slice, row, column]`` → LPS affine. :func:`planar_geometry` is the one-slice grid
nelm gives a planar NM view (:data:`PLANAR_ORIENTATIONS`).

Geometry convention (PS3.3 C.7.6.2.1.1, Image Orientation (Patient) and Image Position (Patient)):
the first three values of Image Orientation (Patient) are the direction cosines of the *row*,
i.e. the LPS direction in which the **column index increases**; the last three are the direction
cosines of the *column*, the direction in which the **row index increases**. Pixel Spacing
(0028,0030) is ``[spacing between rows, spacing between columns]`` (PS3.3 10.7.1.3). Hence, for
an array indexed ``[slice, row, column]``::

    affine[:3, 0] = slice step (mm)       = (IPP_last - IPP_first) / (n - 1)
    affine[:3, 1] = IOP[3:6] * PixelSpacing[0]     (down a column: next row)
    affine[:3, 2] = IOP[0:3] * PixelSpacing[1]     (along a row: next column)
    affine[:3, 3] = IPP of the first slice (centre of the first voxel)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

from nelm.errors import DicomError, GeometryError
from nelm.imaging.geometry import Geometry

__all__ = [
    "DUPLICATE_TOLERANCE_MM",
    "ORIENTATION_TOLERANCE",
    "PIXEL_SPACING_TOLERANCE_MM",
    "PLANAR_ORIENTATIONS",
    "SPACING_TOLERANCE_MM",
    "SPACING_TOLERANCE_REL",
    "FramePlane",
    "planar_geometry",
    "planar_orientation",
    "stack_planes",
]

#: Largest difference between corresponding direction cosines (Image Orientation (Patient)) of
#: two frames that still counts as the same orientation: 1e-3 ≈ 0.06°, i.e. at most 0.25 mm
#: across a 250 mm field of view. Scanners write cosines with 6+ decimals, so true differences
#: (a localizer, a re-angled block) are orders of magnitude larger.
ORIENTATION_TOLERANCE: Final[float] = 1e-3

#: Two frames whose positions along the slice normal differ by less than this are duplicates.
#: Equal to the grid tolerance of :data:`nelm.imaging.geometry.DEFAULT_TOLERANCE_MM`.
DUPLICATE_TOLERANCE_MM: Final[float] = 0.01

#: A slice step may deviate from the median step by at most
#: ``max(SPACING_TOLERANCE_REL * median, SPACING_TOLERANCE_MM)`` before the series is reported as
#: having a gap (or an irregular spacing). 10 % or 0.1 mm, whichever is larger.
SPACING_TOLERANCE_REL: Final[float] = 0.10
SPACING_TOLERANCE_MM: Final[float] = 0.1

#: Largest difference in Pixel Spacing (mm) between frames of one grid.
PIXEL_SPACING_TOLERANCE_MM: Final[float] = 1e-3


@dataclass(frozen=True)
class FramePlane:
    """The plane of one 2-D frame: where it is, how it is oriented, its pixel grid.

    Parameters
    ----------
    source:
        Human name for messages, e.g. ``"ct/IM0003.dcm"`` or ``"nm.dcm frame 7"``.
    position_mm:
        Image Position (Patient): LPS centre of the first transmitted pixel.
    orientation:
        Image Orientation (Patient), six direction cosines (row cosine, column cosine).
    pixel_spacing_mm:
        Pixel Spacing ``(between rows, between columns)``.
    rows, columns:
        Frame size.
    """

    source: str
    position_mm: tuple[float, float, float]
    orientation: tuple[float, float, float, float, float, float]
    pixel_spacing_mm: tuple[float, float]
    rows: int
    columns: int
    normal: npt.NDArray[np.float64] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        iop = np.asarray(self.orientation, dtype=float)
        if iop.shape != (6,) or not np.all(np.isfinite(iop)):
            raise GeometryError(
                f"{self.source}: Image Orientation (Patient) {self.orientation} is not six numbers"
            )
        r, c = iop[:3], iop[3:]
        if abs(np.linalg.norm(r) - 1) > 1e-3 or abs(np.linalg.norm(c) - 1) > 1e-3 or abs(r @ c) > 1e-3:
            raise GeometryError(
                f"{self.source}: Image Orientation (Patient) (0020,0037) {list(self.orientation)} "
                "is not two perpendicular unit vectors"
            )
        if any(s <= 0 or not math.isfinite(s) for s in self.pixel_spacing_mm):
            raise GeometryError(
                f"{self.source}: Pixel Spacing (0028,0030) {self.pixel_spacing_mm} must be positive"
            )
        n = np.cross(r, c)
        object.__setattr__(self, "normal", n / np.linalg.norm(n))


def _describe_position(p: npt.NDArray[np.float64]) -> str:
    return "(" + ", ".join(f"{v:.2f}" for v in p) + ") mm"


def stack_planes(
    planes: Sequence[FramePlane], *, single_slice_step_mm: float = 1.0
) -> tuple[list[int], npt.NDArray[np.float64]]:
    """Sort frames along their common normal, validate them and build the grid affine.

    Parameters
    ----------
    planes:
        One :class:`FramePlane` per frame, in any order.
    single_slice_step_mm:
        Slice step for a one-frame grid (no second position to measure it from): the caller
        passes Spacing Between Slices or Slice Thickness.

    Returns
    -------
    order, affine:
        ``order[k]`` is the index in ``planes`` of the frame that becomes slice ``k`` (ascending
        position along the normal ``IOP[:3] × IOP[3:]``); ``affine`` maps ``(slice, row,
        column)`` to LPS mm (see the module docstring).

    Raises
    ------
    DicomError
        Frames of different Rows/Columns.
    GeometryError
        Non-parallel frames, different pixel spacings, two frames at one position, a gap (a step
        deviating from the median by more than :data:`SPACING_TOLERANCE_REL` or
        :data:`SPACING_TOLERANCE_MM`), or positions that do not lie on a straight line.
    """
    if not planes:
        raise DicomError("no image frames to stack")
    first = planes[0]
    iop0 = np.asarray(first.orientation, dtype=float)
    ps0 = np.asarray(first.pixel_spacing_mm, dtype=float)
    for p in planes[1:]:
        if (p.rows, p.columns) != (first.rows, first.columns):
            raise DicomError(
                f"frames differ in size: {first.source} is {first.rows}x{first.columns} (Rows x Columns) "
                f"but {p.source} is {p.rows}x{p.columns}; they cannot form one volume"
            )
        if np.max(np.abs(np.asarray(p.orientation) - iop0)) > ORIENTATION_TOLERANCE:
            raise GeometryError(
                f"frames are not parallel: Image Orientation (Patient) (0020,0037) of {first.source} is "
                f"{[round(v, 6) for v in first.orientation]} but of {p.source} is "
                f"{[round(v, 6) for v in p.orientation]}; the series mixes orientations (e.g. a localizer "
                "or a re-angled block) and cannot form one volume"
            )
        if np.max(np.abs(np.asarray(p.pixel_spacing_mm) - ps0)) > PIXEL_SPACING_TOLERANCE_MM:
            raise GeometryError(
                f"frames differ in Pixel Spacing (0028,0030): {first.source} has "
                f"{list(first.pixel_spacing_mm)} mm but {p.source} has {list(p.pixel_spacing_mm)} mm"
            )
    normal = first.normal
    positions = np.array([p.position_mm for p in planes], dtype=float)
    distances = positions @ normal
    order = [int(i) for i in np.argsort(distances, kind="stable")]
    pos = positions[order]
    dist = distances[order]
    n = len(planes)

    affine = np.eye(4)
    affine[:3, 1] = iop0[3:] * ps0[0]
    affine[:3, 2] = iop0[:3] * ps0[1]
    affine[:3, 3] = pos[0]
    if n == 1:
        affine[:3, 0] = normal * single_slice_step_mm
        return order, affine

    steps = np.diff(dist)
    for k, step in enumerate(steps):
        if step < DUPLICATE_TOLERANCE_MM:
            a, b = planes[order[k]], planes[order[k + 1]]
            raise GeometryError(
                f"two frames at the same position {_describe_position(pos[k])}: {a.source} and {b.source} "
                f"(distance {step:.4f} mm along the slice normal); remove the duplicate or read the "
                "series it belongs to separately"
            )
    median = float(np.median(steps))
    allowed = max(SPACING_TOLERANCE_REL * median, SPACING_TOLERANCE_MM)
    for k, step in enumerate(steps):
        if abs(step - median) > allowed:
            a, b = planes[order[k]], planes[order[k + 1]]
            kind = "a gap" if step > median else "an irregular spacing"
            raise GeometryError(
                f"{kind} in the series between {a.source} at {_describe_position(pos[k])} and {b.source} at "
                f"{_describe_position(pos[k + 1])}: step {step:.3f} mm against a median slice spacing of "
                f"{median:.3f} mm (tolerance {allowed:.3f} mm); slices are missing or the series mixes "
                "acquisitions"
            )
    # In-plane drift of the positions must be linear in the distance along the normal (a gantry
    # tilt gives a constant drift per mm); fit it robustly (medians) so that one displaced slice
    # is the one reported.
    in_plane = pos - np.outer(dist, normal)
    drift = np.median(np.diff(in_plane, axis=0) / steps[:, None], axis=0)
    base = np.median(in_plane - np.outer(dist, drift), axis=0)
    residual = np.linalg.norm(in_plane - base - np.outer(dist, drift), axis=1)
    worst = int(np.argmax(residual))
    if residual[worst] > allowed:
        raise GeometryError(
            f"slice positions do not lie on a straight line: {planes[order[worst]].source} at "
            f"{_describe_position(pos[worst])} is displaced by {residual[worst]:.3f} mm within its plane "
            f"from the line through the other slices (tolerance {allowed:.3f} mm)"
        )
    step_vec = (pos[-1] - pos[0]) / (n - 1)
    affine[:3, 0] = step_vec
    return order, affine


#: Planar NM orientation by view, as Image Orientation (Patient) values (row cosine, column
#: cosine): rows run head to feet; columns run to the patient's left for an anterior view and to
#: the patient's right for a posterior view (the image as seen from the detector). Any other view
#: uses the anterior orientation. Planar images carry no patient position: the origin is
#: (0, 0, 0) mm and the slice axis is a nominal 1 mm along the viewing direction.
PLANAR_ORIENTATIONS: Final[dict[str, tuple[float, float, float, float, float, float]]] = {
    "ANTERIOR": (1.0, 0.0, 0.0, 0.0, 0.0, -1.0),
    "POSTERIOR": (-1.0, 0.0, 0.0, 0.0, 0.0, -1.0),
}


def planar_orientation(view: str) -> tuple[float, float, float, float, float, float]:
    """Image Orientation (Patient) nelm uses for a planar view (see :data:`PLANAR_ORIENTATIONS`)."""
    key = view.upper().split("_")[0]
    return PLANAR_ORIENTATIONS.get(key, PLANAR_ORIENTATIONS["ANTERIOR"])


def planar_geometry(rows: int, columns: int, pixel_spacing_mm: tuple[float, float], view: str) -> Geometry:
    """The one-slice grid of a planar NM view under nelm's planar convention.

    Parameters
    ----------
    rows, columns:
        Image size.
    pixel_spacing_mm:
        ``(between rows, between columns)`` in mm.
    view:
        ``"ANTERIOR"``, ``"POSTERIOR"`` or another view name.
    """
    plane = FramePlane(
        source=f"planar view {view}",
        position_mm=(0.0, 0.0, 0.0),
        orientation=planar_orientation(view),
        pixel_spacing_mm=pixel_spacing_mm,
        rows=rows,
        columns=columns,
    )
    _, affine = stack_planes([plane], single_slice_step_mm=1.0)
    return Geometry(shape=(1, rows, columns), affine=affine)
