"""Grid geometry: the shape of a voxel array and its affine to patient LPS millimetres.

Convention (DESIGN §4, the DICOM and highdicom frame): an array is indexed
``[slice, row, column]`` and a 4×4 affine maps the homogeneous index
``(slice, row, column, 1)`` to the patient coordinate system in millimetres, axes
**L**\\ eft, **P**\\ osterior, **S**\\ uperior (x grows to the patient's left, y to the back,
z to the head). Column ``j`` of the affine's 3×3 part is the step in mm along array axis ``j``;
its norm is the spacing of that axis.

Two geometries are "the same" when their shapes are equal and the mm positions of all eight
corner voxel centres agree within :data:`DEFAULT_TOLERANCE_MM`: a physical criterion that is
independent of how the affine was rounded (DICOM decimal strings, float32 NIfTI headers).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt

from nelm.errors import GeometryError

__all__ = ["DEFAULT_TOLERANCE_MM", "Geometry", "orientation_code"]

#: Default largest allowed distance (mm) between corresponding corner voxel centres for two
#: grids to count as the same. 0.01 mm is far below any clinical voxel (≥ 0.3 mm) yet above
#: the rounding of DICOM decimal strings (16 characters) and float32 NIfTI affines.
DEFAULT_TOLERANCE_MM: Final[float] = 0.01

_AXIS_LETTERS: Final[tuple[tuple[str, str], ...]] = (("R", "L"), ("A", "P"), ("I", "S"))


def orientation_code(affine: npt.ArrayLike) -> str:
    """Three letters naming the LPS direction each array axis mostly points to.

    For an axial DICOM series stacked feet to head this is ``"SPL"``: axis 0 (slices) runs to
    Superior, axis 1 (rows) to Posterior, axis 2 (columns) to Left.
    """
    a = np.asarray(affine, dtype=float)[:3, :3]
    letters = []
    for j in range(3):
        col = a[:, j]
        k = int(np.argmax(np.abs(col)))
        letters.append(_AXIS_LETTERS[k][1] if col[k] > 0 else _AXIS_LETTERS[k][0])
    return "".join(letters)


@dataclass(frozen=True, eq=False)
class Geometry:
    """A 3-D grid: array shape plus affine from ``(slice, row, column)`` index to LPS mm.

    Parameters
    ----------
    shape:
        Number of voxels along the three array axes.
    affine:
        4×4 matrix, last row ``[0, 0, 0, 1]``, non-singular 3×3 part.

    Raises
    ------
    GeometryError
        If the shape is not three positive integers or the affine is malformed or singular.
    """

    shape: tuple[int, int, int]
    affine: npt.NDArray[np.float64] = field(repr=False)

    def __post_init__(self) -> None:
        shape = tuple(int(n) for n in self.shape)
        if len(shape) != 3 or any(n < 1 for n in shape):
            raise GeometryError(f"a grid needs three positive dimensions, got shape {self.shape}")
        affine = np.array(self.affine, dtype=np.float64)
        if affine.shape != (4, 4):
            raise GeometryError(f"the affine must be 4x4, got {affine.shape}")
        if not np.all(np.isfinite(affine)):
            raise GeometryError("the affine contains NaN or infinite values")
        if not np.allclose(affine[3], [0.0, 0.0, 0.0, 1.0]):
            raise GeometryError(f"the affine's last row must be [0 0 0 1], got {affine[3]}")
        if abs(np.linalg.det(affine[:3, :3])) < 1e-9:
            raise GeometryError("the affine is singular: two array axes point the same way")
        affine.setflags(write=False)
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "affine", affine)

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_spacing(
        cls,
        shape: tuple[int, int, int],
        spacing_mm: tuple[float, float, float],
        origin_mm: tuple[float, float, float] = (0.0, 0.0, 0.0),
        directions: npt.ArrayLike | None = None,
    ) -> Geometry:
        """Build a grid from spacing, origin and unit direction columns.

        Parameters
        ----------
        shape:
            Voxels along (slice, row, column).
        spacing_mm:
            Spacing along (slice, row, column) in mm.
        origin_mm:
            LPS position of voxel ``(0, 0, 0)``'s centre in mm.
        directions:
            3×3 matrix whose column ``j`` is the unit LPS direction of array axis ``j``.
            Default: axial, feet-to-head slices, rows to posterior, columns to left,
            i.e. columns ``(0,0,1)``, ``(0,1,0)``, ``(1,0,0)``.
        """
        if any(s <= 0 for s in spacing_mm):
            raise GeometryError(f"spacing must be positive, got {spacing_mm} mm")
        d = (
            np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
            if directions is None
            else np.asarray(directions, dtype=float)
        )
        affine = np.eye(4)
        affine[:3, :3] = d * np.asarray(spacing_mm, dtype=float)[None, :]
        affine[:3, 3] = origin_mm
        return cls(shape=shape, affine=affine)

    # -- derived properties ----------------------------------------------------------------
    @property
    def spacing_mm(self) -> tuple[float, float, float]:
        """Voxel spacing along (slice, row, column) in mm."""
        s = np.linalg.norm(self.affine[:3, :3], axis=0)
        return (float(s[0]), float(s[1]), float(s[2]))

    @property
    def origin_mm(self) -> tuple[float, float, float]:
        """LPS position of the centre of voxel (0, 0, 0) in mm."""
        o = self.affine[:3, 3]
        return (float(o[0]), float(o[1]), float(o[2]))

    @property
    def directions(self) -> npt.NDArray[np.float64]:
        """3×3 matrix of unit direction columns (LPS) of the three array axes."""
        return np.asarray(self.affine[:3, :3] / np.array(self.spacing_mm)[None, :])

    @property
    def orientation(self) -> str:
        """Three-letter LPS orientation code of the array axes (see :func:`orientation_code`)."""
        return orientation_code(self.affine)

    @property
    def voxel_volume_ml(self) -> float:
        """Volume of one voxel in mL (cm³); correct for oblique and sheared grids."""
        return float(abs(np.linalg.det(self.affine[:3, :3]))) / 1000.0

    @property
    def is_orthogonal(self) -> bool:
        """Whether the three axes are mutually perpendicular (within 1e-4 in cosine)."""
        d = self.directions
        g = d.T @ d
        return bool(np.allclose(g, np.eye(3), atol=1e-4))

    # -- coordinates -----------------------------------------------------------------------
    def index_to_world(self, index: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """LPS mm of (fractional) voxel indices; accepts shape ``(3,)`` or ``(n, 3)``."""
        idx = np.asarray(index, dtype=float)
        return np.asarray(idx @ self.affine[:3, :3].T + self.affine[:3, 3])

    def world_to_index(self, point_mm: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Fractional voxel indices of LPS mm points; accepts shape ``(3,)`` or ``(n, 3)``."""
        p = np.asarray(point_mm, dtype=float)
        inv = np.linalg.inv(self.affine)
        return np.asarray(p @ inv[:3, :3].T + inv[:3, 3])

    def corners_mm(self) -> npt.NDArray[np.float64]:
        """LPS mm of the centres of the eight corner voxels, shape ``(8, 3)``."""
        idx = np.array(list(itertools.product(*[(0, n - 1) for n in self.shape])), dtype=float)
        return self.index_to_world(idx)

    # -- comparison ------------------------------------------------------------------------
    def max_corner_distance_mm(self, other: Geometry) -> float:
        """Largest distance (mm) between corresponding corner voxel centres of two grids."""
        if self.shape != other.shape:
            return float("inf")
        return float(np.max(np.linalg.norm(self.corners_mm() - other.corners_mm(), axis=1)))

    def same_as(self, other: Geometry, tolerance_mm: float = DEFAULT_TOLERANCE_MM) -> bool:
        """Whether both grids have the same shape and corners within ``tolerance_mm``."""
        return self.max_corner_distance_mm(other) <= tolerance_mm

    def require_same(
        self,
        other: Geometry,
        *,
        what: str = "image",
        other_what: str = "mask",
        tolerance_mm: float = DEFAULT_TOLERANCE_MM,
    ) -> None:
        """Raise :class:`GeometryError` naming both grids unless they are the same.

        Parameters
        ----------
        what, other_what:
            Names of the two objects for the message, e.g. ``"CT ct_portal"`` and
            ``"mask lesions.nii.gz"``.
        """
        if self.same_as(other, tolerance_mm):
            return
        raise GeometryError(
            f"{other_what} is on a different grid than {what}: {other_what} {other.describe()}; "
            f"{what} {self.describe()} (tolerance {tolerance_mm} mm). "
            "Resample explicitly or supply a matching file."
        )

    def describe(self) -> str:
        """One-line human description: shape, spacing, origin, orientation."""
        sp = ", ".join(f"{s:.4g}" for s in self.spacing_mm)
        og = ", ".join(f"{o:.2f}" for o in self.origin_mm)
        return (
            f"shape {self.shape[0]}x{self.shape[1]}x{self.shape[2]}, spacing ({sp}) mm, "
            f"origin ({og}) mm LPS, orientation {self.orientation}"
        )

    # -- derived grids ---------------------------------------------------------------------
    def cropped(self, start: tuple[int, int, int], stop: tuple[int, int, int]) -> Geometry:
        """The grid of the sub-array ``[start[0]:stop[0], start[1]:stop[1], start[2]:stop[2]]``."""
        for a in range(3):
            if not 0 <= start[a] < stop[a] <= self.shape[a]:
                raise GeometryError(f"crop [{start[a]}:{stop[a]}] on axis {a} is outside 0..{self.shape[a]}")
        affine = np.array(self.affine)
        affine[:3, 3] = self.index_to_world(np.asarray(start, dtype=float))
        shape = (stop[0] - start[0], stop[1] - start[1], stop[2] - start[2])
        return Geometry(shape=shape, affine=affine)

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable description (shape, affine rows, spacing, orientation)."""
        return {
            "shape": list(self.shape),
            "affine_lps_mm": [[float(v) for v in row] for row in self.affine],
            "spacing_mm": list(self.spacing_mm),
            "orientation": self.orientation,
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Geometry):
            return NotImplemented
        return self.same_as(other)

    def __hash__(self) -> int:
        return hash(self.shape)
