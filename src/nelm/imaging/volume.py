"""The :class:`Volume`: a voxel array with its geometry, modality, units and time.

A ``Volume`` cannot exist without a valid :class:`~nelm.imaging.geometry.Geometry` whose shape
matches the array, a modality and a voxel-value unit. Its acquisition time, when known, is a
timezone-aware datetime (decay corrections across days and daylight-saving changes depend on
it). Volumes are immutable; operations return new volumes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from nelm.errors import GeometryError, InputError
from nelm.imaging.geometry import DEFAULT_TOLERANCE_MM, Geometry
from nelm.imaging.metadata import SeriesMetadata, ValueUnit

__all__ = ["Interpolation", "Volume", "resample_array"]

Interpolation = Literal["linear", "nearest"]


def resample_array(
    array: npt.NDArray[np.generic],
    source: Geometry,
    target: Geometry,
    *,
    interpolation: Interpolation,
    fill_value: float,
) -> npt.NDArray[np.generic]:
    """Resample ``array`` from the ``source`` grid onto the ``target`` grid.

    Each target voxel centre is mapped through ``inv(source.affine) @ target.affine`` to a
    fractional source index and interpolated there (``scipy.ndimage.affine_transform``):
    trilinear (order 1) for images, nearest neighbour (order 0) for labels so that no new label
    values appear. Points outside the source get ``fill_value``.
    """
    if array.shape != source.shape:
        raise GeometryError(f"array shape {array.shape} does not match its grid {source.shape}")
    m = np.linalg.inv(source.affine) @ target.affine
    order = 1 if interpolation == "linear" else 0
    if interpolation == "nearest":
        out_dtype = array.dtype
        src = array
    else:
        out_dtype = np.dtype(np.float64) if array.dtype == np.float64 else np.dtype(np.float32)
        src = array.astype(out_dtype, copy=False)
    out = ndimage.affine_transform(
        src,
        m[:3, :3],
        offset=m[:3, 3],
        output_shape=target.shape,
        order=order,
        mode="constant",
        cval=fill_value,
        output=out_dtype,
        prefilter=False,
    )
    return np.asarray(out)


@dataclass(frozen=True, eq=False)
class Volume:
    """A 3-D image on a patient-space grid.

    Parameters
    ----------
    array:
        Voxel values indexed ``[slice, row, column]``.
    geometry:
        The grid: shape and affine from index to LPS mm.
    modality:
        DICOM modality code: ``CT``, ``MR``, ``PT``, ``NM``, ``RTDOSE`` or ``OT``.
    units:
        What a voxel value means (:class:`~nelm.imaging.metadata.ValueUnit`).
    acquisition_datetime:
        Start of acquisition, timezone-aware, or ``None`` when unknown.
    metadata:
        Where the volume came from (UIDs, description, radiopharmaceutical …).

    Raises
    ------
    GeometryError
        If the array is not 3-D or its shape differs from the geometry's.
    InputError
        If the modality is unknown or the datetime is naive.
    """

    array: npt.NDArray[np.generic] = field(repr=False)
    geometry: Geometry
    modality: str
    units: ValueUnit
    acquisition_datetime: datetime | None = None
    metadata: SeriesMetadata = field(default_factory=SeriesMetadata, repr=False)

    MODALITIES = frozenset({"CT", "MR", "PT", "NM", "RTDOSE", "OT"})

    def __post_init__(self) -> None:
        arr = np.asarray(self.array)
        if arr.ndim != 3:
            raise GeometryError(f"a volume needs a 3-D array, got {arr.ndim}-D {arr.shape}")
        if arr.shape != self.geometry.shape:
            raise GeometryError(
                f"array shape {arr.shape} does not match the geometry's {self.geometry.shape}"
            )
        if self.modality not in self.MODALITIES:
            raise InputError(f"unknown modality {self.modality!r}; expected one of {sorted(self.MODALITIES)}")
        if not isinstance(self.units, ValueUnit):
            object.__setattr__(self, "units", ValueUnit(self.units))
        dt = self.acquisition_datetime
        if dt is not None and (dt.tzinfo is None or dt.utcoffset() is None):
            raise InputError(
                f"acquisition datetime {dt.isoformat()} has no timezone; "
                "nelm needs timezone-aware times for decay correction"
            )
        object.__setattr__(self, "array", arr)

    # -- geometry shortcuts ---------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int, int]:
        """Voxels along (slice, row, column)."""
        return self.geometry.shape

    @property
    def affine(self) -> npt.NDArray[np.float64]:
        """4×4 index → LPS mm affine."""
        return self.geometry.affine

    @property
    def spacing_mm(self) -> tuple[float, float, float]:
        """Spacing along (slice, row, column) in mm."""
        return self.geometry.spacing_mm

    @property
    def orientation(self) -> str:
        """Three-letter LPS orientation code of the array axes."""
        return self.geometry.orientation

    def index_to_world(self, index: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """LPS mm of voxel indices (see :meth:`Geometry.index_to_world`)."""
        return self.geometry.index_to_world(index)

    def world_to_index(self, point_mm: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Fractional voxel indices of LPS mm points (see :meth:`Geometry.world_to_index`)."""
        return self.geometry.world_to_index(point_mm)

    def same_grid(self, other: Volume | Geometry, tolerance_mm: float = DEFAULT_TOLERANCE_MM) -> bool:
        """Whether ``other`` lies on the same grid within ``tolerance_mm``."""
        g = other.geometry if isinstance(other, Volume) else other
        return self.geometry.same_as(g, tolerance_mm)

    # -- derived volumes ------------------------------------------------------------------
    def with_array(self, array: npt.NDArray[np.generic], units: ValueUnit | None = None) -> Volume:
        """The same volume with other voxel values (and optionally other units)."""
        return dataclasses.replace(self, array=array, units=units or self.units)

    def crop(self, start: tuple[int, int, int], stop: tuple[int, int, int]) -> Volume:
        """Sub-volume ``[start:stop]`` along each axis, with its shifted origin."""
        geometry = self.geometry.cropped(start, stop)
        sl = tuple(slice(a, b) for a, b in zip(start, stop, strict=True))
        return dataclasses.replace(self, array=self.array[sl].copy(), geometry=geometry)

    def resample_to(
        self,
        target: Geometry | Volume,
        *,
        interpolation: Interpolation = "linear",
        fill_value: float | None = None,
    ) -> Volume:
        """This volume on another grid.

        Parameters
        ----------
        target:
            The grid to resample onto (or a volume whose grid to use).
        interpolation:
            ``"linear"`` for images (trilinear), ``"nearest"`` for label maps.
        fill_value:
            Value for target voxels outside this volume. Default: the array's minimum (air on
            CT, background on PET), which avoids inventing signal at the border.
        """
        g = target.geometry if isinstance(target, Volume) else target
        fill = float(np.min(self.array)) if fill_value is None else float(fill_value)
        out = resample_array(self.array, self.geometry, g, interpolation=interpolation, fill_value=fill)
        return dataclasses.replace(self, array=out, geometry=g)

    def describe(self) -> str:
        """One-line human summary."""
        when = self.acquisition_datetime.isoformat() if self.acquisition_datetime else "unknown time"
        return (
            f"{self.modality} [{self.units.value}] {self.geometry.describe()}, "
            f"dtype {self.array.dtype}, acquired {when}"
        )
