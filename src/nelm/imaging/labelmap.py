"""The :class:`LabelMap`: an integer segmentation on its own grid, with named labels.

Every mask in nelm — a NIfTI label map, a DICOM SEG (BINARY or LABELMAP), an RTSTRUCT
rasterised onto its referenced grid — becomes a ``LabelMap``: an integer array, the
:class:`~nelm.imaging.geometry.Geometry` it lies on, and a :class:`Label` (name, tracking ID,
tracking UID) per non-zero value. 0 is always background. Overlapping DICOM SEG segments cannot
be represented in one label map; readers raise or keep them apart, see their docs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from nelm.errors import GeometryError, MaskError
from nelm.imaging.geometry import DEFAULT_TOLERANCE_MM, Geometry
from nelm.imaging.volume import Volume, resample_array

__all__ = ["Label", "LabelMap"]


@dataclass(frozen=True)
class Label:
    """One labelled structure.

    Parameters
    ----------
    value:
        Positive integer in the label array.
    name:
        Human name, e.g. ``"liver"`` or ``"lesion 3"``.
    tracking_id:
        Stable identifier across time points (DICOM Tracking ID), e.g. ``"L3"``.
    tracking_uid:
        DICOM Tracking UID, when the structure came from or goes to DICOM.
    """

    value: int
    name: str
    tracking_id: str = ""
    tracking_uid: str = ""

    def __post_init__(self) -> None:
        if int(self.value) != self.value or self.value < 1:
            raise MaskError(f"label value must be a positive integer, got {self.value!r}")
        if not self.name:
            raise MaskError(f"label {self.value} has no name")


@dataclass(frozen=True, eq=False)
class LabelMap:
    """Integer segmentation with its grid and label table.

    Parameters
    ----------
    array:
        Integer array indexed ``[slice, row, column]``; 0 is background.
    geometry:
        The grid it lies on.
    labels:
        Label value → :class:`Label`. Every non-zero value in the array must be listed.
    source:
        Where it was read from, for messages.
    warnings:
        Problems tolerated while reading it.

    Raises
    ------
    MaskError
        Non-integer array, or values present in the array but missing from ``labels``.
    GeometryError
        Array shape differs from the geometry's.
    """

    array: npt.NDArray[Any] = field(repr=False)
    geometry: Geometry
    labels: Mapping[int, Label]
    source: str = ""
    warnings: tuple[str, ...] = ()
    """Problems tolerated while reading (policy WARN), kept for the report."""

    def __post_init__(self) -> None:
        arr = np.asarray(self.array)
        where = f" ({self.source})" if self.source else ""
        if arr.dtype == np.bool_:
            arr = arr.astype(np.uint8)
        if not np.issubdtype(arr.dtype, np.integer):
            if not np.all(np.mod(arr, 1) == 0):
                raise MaskError(f"label map{where} holds non-integer values")
            arr = arr.astype(np.int32)
        if arr.ndim != 3 or arr.shape != self.geometry.shape:
            raise GeometryError(
                f"label map{where} array shape {arr.shape} does not match its grid {self.geometry.shape}"
            )
        if arr.size and arr.min() < 0:
            raise MaskError(f"label map{where} holds negative values")
        labels = {int(k): v for k, v in self.labels.items()}
        for k, lab in labels.items():
            if lab.value != k:
                raise MaskError(f"label map{where}: key {k} holds label with value {lab.value}")
        present = {int(v) for v in np.unique(arr)} - {0}
        missing = sorted(present - set(labels))
        if missing:
            raise MaskError(f"label map{where} has values {missing} that no label names")
        object.__setattr__(self, "array", arr)
        object.__setattr__(self, "labels", dict(sorted(labels.items())))

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_binary(
        cls,
        mask: npt.ArrayLike,
        geometry: Geometry,
        name: str,
        *,
        tracking_id: str = "",
        source: str = "",
    ) -> LabelMap:
        """A one-label map from a boolean (or 0/1) array."""
        arr = np.asarray(mask)
        if arr.dtype != np.bool_ and not np.isin(arr, (0, 1)).all():
            raise MaskError(f"binary mask {source or name} holds values other than 0 and 1")
        return cls(
            array=arr.astype(np.uint8),
            geometry=geometry,
            labels={1: Label(1, name, tracking_id)},
            source=source,
        )

    # -- access ---------------------------------------------------------------------------
    def label(self, key: int | str) -> Label:
        """A label by value or by name (case-insensitive)."""
        if isinstance(key, int):
            if key in self.labels:
                return self.labels[key]
        else:
            for lab in self.labels.values():
                if lab.name.lower() == key.lower():
                    return lab
        names = ", ".join(f"{v}={lab.name}" for v, lab in self.labels.items())
        raise MaskError(f"label map {self.source or ''} has no label {key!r} (labels: {names})")

    def mask(self, key: int | str) -> npt.NDArray[np.bool_]:
        """Boolean array of one label."""
        return np.asarray(self.array == self.label(key).value)

    def any_mask(self) -> npt.NDArray[np.bool_]:
        """Boolean array of all labelled voxels."""
        return np.asarray(self.array > 0)

    def voxel_count(self, key: int | str) -> int:
        """Number of voxels of one label."""
        return int(np.count_nonzero(self.mask(key)))

    def volume_ml(self, key: int | str) -> float:
        """Volume of one label in mL (voxel count × voxel volume)."""
        return self.voxel_count(key) * self.geometry.voxel_volume_ml

    def require_nonempty(self, key: int | str | None = None) -> None:
        """Raise :class:`MaskError` if the label (or the whole map) has no voxels."""
        n = int(np.count_nonzero(self.array)) if key is None else self.voxel_count(key)
        if n == 0:
            what = "" if key is None else f" label {self.label(key).name!r}"
            raise MaskError(f"mask {self.source or '(unnamed)'}{what} is empty: it holds no voxels")

    def subset(self, keys: Sequence[int | str]) -> LabelMap:
        """A label map holding only the given labels."""
        labs = [self.label(k) for k in keys]
        keep = np.isin(self.array, [lab.value for lab in labs])
        return dataclasses.replace(
            self,
            array=np.where(keep, self.array, 0).astype(self.array.dtype),
            labels={lab.value: lab for lab in labs},
        )

    # -- geometry -------------------------------------------------------------------------
    def require_on(
        self,
        image: Volume | Geometry,
        *,
        image_name: str = "image",
        tolerance_mm: float = DEFAULT_TOLERANCE_MM,
    ) -> None:
        """Raise :class:`GeometryError` naming both grids unless this map lies on ``image``'s grid."""
        g = image.geometry if isinstance(image, Volume) else image
        g.require_same(
            self.geometry,
            what=image_name,
            other_what=f"mask {self.source or '(unnamed)'}",
            tolerance_mm=tolerance_mm,
        )

    def resample_to(self, target: Geometry | Volume) -> LabelMap:
        """This label map on another grid, by nearest neighbour (no new label values)."""
        g = target.geometry if isinstance(target, Volume) else target
        out = resample_array(self.array, self.geometry, g, interpolation="nearest", fill_value=0)
        present = {int(v) for v in np.unique(out)} - {0}
        return dataclasses.replace(
            self, array=out, geometry=g, labels={k: v for k, v in self.labels.items() if k in present}
        )
