"""Intensity, enhancement and viable (enhancing) tumour on CT and MR phases.

Conventions
-----------
* **Reference parenchyma.** Enhancement is judged against normal liver parenchyma, as in qEASL
  (Lin et al., JVIR 2012;23:1629: each tumour voxel is compared with a normal-parenchyma region
  of interest). nelm chooses the region automatically (:func:`reference_region`): the liver
  mask eroded by :attr:`EnhancementSettings.liver_margin_mm` (away from the capsule and partial
  volume with fat), minus every lesion dilated by :attr:`EnhancementSettings.lesion_margin_mm`,
  minus vessels (voxels brighter than the parenchyma median by more than
  :attr:`EnhancementSettings.vessel_z` robust SDs on the portal phase, dilated by
  :attr:`EnhancementSettings.vessel_margin_mm`). The whole remaining region is used (not one
  small ROI), which makes its statistics stable. A user region can be given instead (manifest
  mask role ``reference_liver``; its lesion voxels are removed).
* **Enhancement map.** With an unenhanced phase on the same grid, the map of a phase is the
  subtraction ``phase − unenhanced`` (qEASL works on subtraction images); otherwise the phase
  itself.
* **Enhancing (viable) voxel.** A lesion voxel is enhancing when its map value is at least
  ``mean + k·SD`` of the reference region on the same map, with ``k =``
  :attr:`EnhancementSettings.threshold_sd` (default 2: under Gaussian noise only ≈ 2.3 % of
  normal voxels pass; ``k = 0`` reproduces a mean-only rule). The phase is the late arterial
  phase when present (mRECIST and EASL read viable tumour on the arterial phase: Lencioni &
  Llovet, Semin Liver Dis 2010;30:52), else the portal venous phase.
* **Relative enhancement** is reported as the difference of means (HU on CT) and, for MR
  (arbitrary units), as the ratio of means to the parenchyma.
* **Choi density** is the mean HU of the whole lesion on the portal venous phase (Choi et al.,
  J Clin Oncol 2007;25:1753).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from nelm.errors import ConfigError, MaskError
from nelm.imaging.geometry import Geometry

__all__ = [
    "EnhancementSettings",
    "PhaseStats",
    "ReferenceRegion",
    "ViableTumour",
    "phase_stats",
    "reference_region",
    "viable_mask",
]

logger = logging.getLogger(__name__)

#: 1.4826 × MAD estimates the SD of a normal distribution (Rousseeuw & Croux, JASA 1993).
MAD_TO_SD: Final[float] = 1.4826


@dataclass(frozen=True)
class EnhancementSettings:
    """Settings of the reference region and the enhancing-voxel rule (see the module docstring).

    Parameters
    ----------
    threshold_sd:
        ``k`` in ``mean + k·SD`` of the reference region. Default 2.
    liver_margin_mm:
        Erosion of the liver mask before choosing the reference (default 10 mm).
    lesion_margin_mm:
        Distance kept from every lesion (default 10 mm).
    vessel_z:
        Robust z-score on the portal phase above which a voxel is a vessel (default 3).
    vessel_margin_mm:
        Dilation of the vessel voxels (default 3 mm).
    min_reference_ml:
        Smallest usable reference region (default 5 mL); smaller is an error.
    """

    threshold_sd: float = 2.0
    liver_margin_mm: float = 10.0
    lesion_margin_mm: float = 10.0
    vessel_z: float = 3.0
    vessel_margin_mm: float = 3.0
    min_reference_ml: float = 5.0

    def __post_init__(self) -> None:
        for name in ("threshold_sd", "liver_margin_mm", "lesion_margin_mm", "vessel_margin_mm"):
            if getattr(self, name) < 0:
                raise ConfigError(
                    f"enhancement setting {name} must not be negative, got {getattr(self, name)}"
                )
        if self.vessel_z <= 0 or self.min_reference_ml <= 0:
            raise ConfigError("enhancement settings vessel_z and min_reference_ml must be positive")


@dataclass(frozen=True)
class PhaseStats:
    """Intensity of a region on one phase, in the phase's units."""

    mean: float
    median: float
    sd: float
    n_voxels: int


@dataclass(frozen=True)
class ReferenceRegion:
    """The normal-parenchyma region and how it was chosen."""

    mask: npt.NDArray[np.bool_]
    volume_ml: float
    method: str


@dataclass(frozen=True)
class ViableTumour:
    """The enhancing part of a lesion."""

    mask: npt.NDArray[np.bool_]
    threshold: float
    """Map value at or above which a voxel is enhancing."""


def _distance_outside(
    mask: npt.NDArray[np.bool_], spacing: tuple[float, float, float]
) -> npt.NDArray[np.float64]:
    """Distance (mm) from each voxel to the nearest voxel of ``mask`` (0 inside; inf if empty)."""
    if not mask.any():
        return np.full(mask.shape, np.inf)
    return np.asarray(ndimage.distance_transform_edt(~mask, sampling=spacing))


def _distance_inside(
    mask: npt.NDArray[np.bool_], spacing: tuple[float, float, float]
) -> npt.NDArray[np.float64]:
    """Distance (mm) from each voxel of ``mask`` to the nearest voxel outside it (the array edge
    counts as outside)."""
    padded = np.pad(mask, 1)
    return np.asarray(ndimage.distance_transform_edt(padded, sampling=spacing))[1:-1, 1:-1, 1:-1]


def _crop_box(mask: npt.NDArray[np.bool_], pad: tuple[int, int, int]) -> tuple[slice, slice, slice]:
    idx = np.nonzero(mask)
    if idx[0].size == 0:
        return (slice(0, 0), slice(0, 0), slice(0, 0))
    return tuple(  # type: ignore[return-value]
        slice(max(0, int(i.min()) - p), min(n, int(i.max()) + 1 + p))
        for i, p, n in zip(idx, pad, mask.shape, strict=True)
    )


def phase_stats(
    values: npt.NDArray[np.floating] | npt.NDArray[np.integer], mask: npt.NDArray[np.bool_]
) -> PhaseStats:
    """Mean, median and SD (ddof 0) of ``values`` inside ``mask``.

    Raises
    ------
    MaskError
        If the mask is empty.
    """
    v = np.asarray(values[mask], dtype=np.float64)
    if v.size == 0:
        raise MaskError("cannot measure intensity in an empty region")
    return PhaseStats(
        mean=float(v.mean()), median=float(np.median(v)), sd=float(v.std()), n_voxels=int(v.size)
    )


def reference_region(
    liver: npt.NDArray[np.bool_],
    lesions: npt.NDArray[np.bool_],
    geometry: Geometry,
    *,
    portal: npt.NDArray[np.floating] | npt.NDArray[np.integer] | None = None,
    settings: EnhancementSettings = EnhancementSettings(),
) -> ReferenceRegion:
    """Choose normal liver parenchyma automatically (see the module docstring).

    Margins shrink by halves (down to 0) when the full margins leave less than
    ``settings.min_reference_ml``, and the method string says so.

    Raises
    ------
    MaskError
        If even without margins no parenchyma remains (the liver is all tumour).
    """
    sp = geometry.spacing_mm
    # Everything happens in the box around the liver, padded so that lesions just outside it
    # still push the reference away: distance transforms on the box only (3 in all).
    pad = tuple(int(np.ceil(settings.lesion_margin_mm / s)) + 1 for s in sp)
    box = _crop_box(liver, pad)  # type: ignore[arg-type]
    liver_c, lesions_c = liver[box], lesions[box]
    vessels = np.zeros_like(liver_c)
    vessel_note = "no portal phase: vessels not excluded"
    if portal is not None:
        portal_c = np.asarray(portal[box])
        vals = np.asarray(portal_c[liver_c & ~lesions_c], dtype=np.float64)
        if vals.size:
            med = float(np.median(vals))
            robust_sd = MAD_TO_SD * float(np.median(np.abs(vals - med)))
            if robust_sd > 0:
                bright = liver_c & (portal_c > med + settings.vessel_z * robust_sd)
                vessels = _distance_outside(bright, sp) <= settings.vessel_margin_mm
                vessel_note = (
                    f"vessels = portal > median {med:.1f} + {settings.vessel_z:g} x robust SD "
                    f"{robust_sd:.1f}, dilated {settings.vessel_margin_mm:g} mm"
                )
    from_lesions = _distance_outside(lesions_c, sp)
    depth = _distance_inside(liver_c, sp)
    candidates = liver_c & ~vessels
    scale = 1.0
    while True:
        region_c = candidates & (depth > settings.liver_margin_mm * scale)
        region_c &= from_lesions > settings.lesion_margin_mm * scale if scale > 0 else ~lesions_c
        volume_ml = float(np.count_nonzero(region_c)) * geometry.voxel_volume_ml
        if volume_ml >= settings.min_reference_ml or scale == 0.0:
            break
        scale = scale / 2 if scale > 1 / 8 else 0.0
    region = np.zeros_like(liver)
    region[box] = region_c
    if not region.any():
        region = liver & ~lesions
        volume_ml = float(np.count_nonzero(region)) * geometry.voxel_volume_ml
        if not region.any():
            raise MaskError("no normal liver parenchyma is left outside the lesions to serve as reference")
    method = (
        f"liver eroded {settings.liver_margin_mm * scale:g} mm, lesions dilated "
        f"{settings.lesion_margin_mm * scale:g} mm excluded, {vessel_note}; {volume_ml:.1f} mL"
    )
    if scale < 1.0:
        method += " (margins reduced: the full margins left too little parenchyma)"
        logger.warning("reference parenchyma: %s", method)
    return ReferenceRegion(mask=region, volume_ml=volume_ml, method=method)


def viable_mask(
    enhancement_map: npt.NDArray[np.floating] | npt.NDArray[np.integer],
    lesion: npt.NDArray[np.bool_],
    reference: PhaseStats,
    settings: EnhancementSettings = EnhancementSettings(),
) -> ViableTumour:
    """The enhancing voxels of a lesion: map ≥ reference mean + k·SD (module docstring)."""
    threshold = reference.mean + settings.threshold_sd * reference.sd
    return ViableTumour(
        mask=np.asarray(lesion & (np.asarray(enhancement_map) >= threshold)), threshold=threshold
    )
