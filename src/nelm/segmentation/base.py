"""The segmentation interface and the helpers every fallback shares.

nelm segments only when the user gave no mask, and it always says so: every result is a
:class:`SegmentationResult` that carries the label map *and* the ``method`` that made it and a
``provenance`` sentence (parameters included) that reports print beside the numbers. A
:class:`Segmenter` is anything with a ``name``, an ``available()`` check that explains itself
when it fails (missing package, missing weights), and a ``segment(image)`` method.

Morphology is spacing-aware: every radius is given in millimetres. Erosion and dilation by a
ball of radius *r* mm are computed exactly from the Euclidean distance transform on the
anisotropic grid (``scipy.ndimage.distance_transform_edt`` with ``sampling`` = voxel spacing):
a voxel survives erosion when no background voxel centre lies within *r* mm, and joins the
dilation when a foreground voxel centre lies within *r* mm (Maurer et al., IEEE TPAMI
2003;25:265, the algorithm scipy implements). This is faster than a large structuring element
and identical to a closed ball on any grid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from nelm import RESEARCH_USE_DISCLAIMER
from nelm.errors import InputError, UnitsError
from nelm.imaging.geometry import Geometry
from nelm.imaging.labelmap import LabelMap
from nelm.imaging.metadata import ValueUnit
from nelm.imaging.volume import Volume

__all__ = [
    "FALLBACK_DISCLAIMER",
    "SegmentationResult",
    "Segmenter",
    "axial_axis",
    "dilate_mm",
    "erode_mm",
    "geodesic_dilate_mm",
    "require_ct_hu",
    "world_x_mm",
]

#: Appended to every fallback provenance: what a reader of a report must know.
FALLBACK_DISCLAIMER: Final[str] = (
    "not a validated segmentation; review it before use. " + RESEARCH_USE_DISCLAIMER
)

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class SegmentationResult:
    """A label map together with how it was made.

    Parameters
    ----------
    labelmap:
        The segmentation, on the grid of the image it was computed from.
    method:
        Short machine name of the method, e.g. ``"fallback-liver-hu"``,
        ``"fallback-lesions-contrast"`` or ``"totalsegmentator"``.
    provenance:
        A human sentence for reports, with the parameters used, e.g. ``"nelm fallback: liver by
        HU window + largest component; ..."``.
    warnings:
        Anything the user should check (a truncated organ, a fallback chosen because a backend
        was unavailable, no lesion found ...).

    Raises
    ------
    InputError
        If ``labelmap`` is not a :class:`LabelMap`, ``method`` or ``provenance`` is empty, or a
        warning is not a string.
    """

    labelmap: LabelMap
    method: str
    provenance: str
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.labelmap, LabelMap):
            raise InputError(f"a segmentation result needs a LabelMap, got {type(self.labelmap).__name__}")
        if not isinstance(self.method, str) or not self.method.strip():
            raise InputError("a segmentation result needs a method name (e.g. 'fallback-liver-hu')")
        if not isinstance(self.provenance, str) or not self.provenance.strip():
            raise InputError(f"segmentation result of method {self.method!r} has no provenance sentence")
        warnings = tuple(self.warnings)
        if not all(isinstance(w, str) for w in warnings):
            raise InputError(f"segmentation result of method {self.method!r}: warnings must be strings")
        object.__setattr__(self, "warnings", warnings)

    def summary(self) -> dict[str, Any]:
        """JSON-serialisable summary: method, provenance, warnings and each label's volume."""
        counts = np.bincount(self.labelmap.array.ravel().astype(np.int64))
        vml = self.labelmap.geometry.voxel_volume_ml
        return {
            "method": self.method,
            "provenance": self.provenance,
            "warnings": list(self.warnings),
            "grid": self.labelmap.geometry.to_dict(),
            "labels": [
                {
                    "value": lab.value,
                    "name": lab.name,
                    "tracking_id": lab.tracking_id,
                    "voxel_count": int(counts[v]) if v < counts.size else 0,
                    "volume_ml": (int(counts[v]) if v < counts.size else 0) * vml,
                }
                for v, lab in self.labelmap.labels.items()
            ],
        }


@runtime_checkable
class Segmenter(Protocol):
    """Anything that segments one image into a :class:`SegmentationResult`."""

    name: str

    def available(self) -> tuple[bool, str]:
        """``(True, "")`` when usable here, else ``(False, why)`` naming what is missing."""
        ...

    def segment(self, image: Volume, **kwargs: Any) -> SegmentationResult:
        """Segment ``image``; the label map lies on ``image``'s grid."""
        ...


# -- shared validation -------------------------------------------------------------------------
def _name(volume: Volume, what: str) -> str:
    src = volume.metadata.source
    return f"{what} ({src})" if src else what


def require_ct_hu(volume: Volume, what: str = "image") -> None:
    """Raise unless ``volume`` is a CT in Hounsfield units.

    Raises
    ------
    InputError
        If the modality is not ``CT``.
    UnitsError
        If the voxel values are not HU (e.g. an uncalibrated cone-beam CT).
    """
    if not isinstance(volume, Volume):
        raise InputError(f"{what} must be a Volume, got {type(volume).__name__}")
    if volume.modality != "CT":
        raise InputError(
            f"{_name(volume, what)} is a {volume.modality} volume; the nelm fallback needs a contrast CT "
            "in Hounsfield units. Supply a CT, or supply the mask itself."
        )
    if volume.units is not ValueUnit.HU:
        raise UnitsError(
            f"{_name(volume, what)} has voxel values in {volume.units.value!r}, not HU; the HU thresholds "
            "of the fallback do not apply. Supply a calibrated CT (or set its units to HU if it is one)."
        )


# -- spacing-aware morphology ------------------------------------------------------------------
def erode_mm(mask: npt.ArrayLike, radius_mm: float, spacing_mm: tuple[float, float, float]) -> BoolArray:
    """Erosion by a closed ball of ``radius_mm``: keep voxels farther than the radius from background.

    Voxels beyond the array border do not count as background (a mask touching the scan edge is
    not eaten from that side).
    """
    m = np.asarray(mask, dtype=bool)
    if radius_mm <= 0 or not m.any():
        return m.copy()
    if m.all():
        return m.copy()
    return np.asarray(ndimage.distance_transform_edt(m, sampling=spacing_mm) > radius_mm)


def dilate_mm(mask: npt.ArrayLike, radius_mm: float, spacing_mm: tuple[float, float, float]) -> BoolArray:
    """Dilation by a closed ball of ``radius_mm``: add voxels within the radius of the mask."""
    m = np.asarray(mask, dtype=bool)
    if radius_mm <= 0 or not m.any():
        return m.copy()
    return np.asarray(ndimage.distance_transform_edt(~m, sampling=spacing_mm) <= radius_mm)


def geodesic_dilate_mm(
    mask: npt.ArrayLike, radius_mm: float, spacing_mm: tuple[float, float, float], within: npt.ArrayLike
) -> BoolArray:
    """Grow ``mask`` by about ``radius_mm`` without leaving ``within`` (conditional dilation).

    ``ceil(radius_mm / smallest spacing)`` steps of a face-connected dilation along the axes whose
    spacing does not exceed ``radius_mm``, each step restricted to ``within`` (Soille, Morphological
    Image Analysis, 2nd ed. 2003, §6.1 geodesic dilation).
    """
    m = np.asarray(mask, dtype=bool)
    w = np.asarray(within, dtype=bool)
    if radius_mm <= 0 or not m.any():
        return np.asarray(m & w, dtype=bool)
    structure = np.zeros((3, 3, 3), dtype=bool)
    structure[1, 1, 1] = True
    for axis, s in enumerate(spacing_mm):
        if s <= radius_mm:
            idx = [1, 1, 1]
            for k in (0, 2):
                idx[axis] = k
                structure[tuple(idx)] = True
    steps = int(np.ceil(radius_mm / min(spacing_mm)))
    grown = ndimage.binary_dilation(m & w, structure=structure, iterations=steps, mask=w)
    return np.asarray(grown, dtype=bool)


# -- geometry helpers --------------------------------------------------------------------------
def axial_axis(geometry: Geometry) -> int:
    """The array axis that runs most nearly head–foot (LPS z): the axis of axial slices."""
    return int(np.argmax(np.abs(geometry.directions[2, :])))


def world_x_mm(geometry: Geometry) -> npt.NDArray[np.float32]:
    """LPS x (mm, grows to the patient's left) of every voxel centre, as a float32 array."""
    a = geometry.affine
    n0, n1, n2 = geometry.shape
    i = np.arange(n0, dtype=np.float32)[:, None, None] * np.float32(a[0, 0])
    j = np.arange(n1, dtype=np.float32)[None, :, None] * np.float32(a[0, 1])
    k = np.arange(n2, dtype=np.float32)[None, None, :] * np.float32(a[0, 2])
    return np.asarray(i + j + k + np.float32(a[0, 3]), dtype=np.float32)
