"""Non-learning liver fallback on contrast CT: HU window + largest right-sided component.

Used only when no liver mask is given; the result always says so. The pipeline (every radius
in mm, converted per axis through the distance transform, see :mod:`nelm.segmentation.base`):

1. **Smoothing**: Gaussian, ``smoothing_sigma_mm`` (2 mm) — lowers the quantum noise
   (10–15 HU at routine dose) so that a narrow HU window selects parenchyma, not speckle.
2. **Body**: voxels above ``body_threshold_hu`` (-400 HU, between lung/air and soft tissue),
   largest component; its centroid is the body centre.
3. **Liver window** (adaptive unless ``hu_window`` is given): histogram of the smoothed values
   between ``search_range_hu`` in the body half on the patient's right (LPS x < body centre).
   The liver is the largest solid organ there; it is slightly denser than muscle before contrast
   and enhances more than muscle and bowel wall after it (portal venous parenchyma ≈ 50 HU above
   its unenhanced 55 HU; Bae, Radiology 2010;256:32-61), so the window is centred on the
   **highest-HU histogram peak holding at least** ``min_peak_fraction`` (20 %) of the tallest
   one. Its half-width is
   ``window_k_sigma`` × σ, σ from the half-width at half-maximum of the peak's upper flank
   (σ = HWHM / √(2 ln 2), crossing interpolated between bins; the lower flank mixes with muscle)
   less the widths of binning and histogram smoothing, clamped to ``half_width_range_hu``
   (15–60 HU). 3.5σ holds 99.95 % of Gaussian noise and leaves room for heterogeneous
   enhancement; Dice on the real CT below is flat (±0.005) for 3.5–4.5σ.
4. **Seed**: erosion of the in-window mask by ``seed_erosion_mm`` (10 mm) cuts bridges
   narrower than 20 mm to stomach, heart, spleen, kidneys, bowel and muscle that share the
   liver's HU; the largest face-connected eroded component whose centroid lies on the
   patient's right (``right_side``) is the liver seed; it is dilated back by the same radius
   inside the window (an opening restricted to that component).
5. **Growth**: geodesic dilation by ``grow_mm`` (3 mm) inside the window recovers thin edges.
6. **Closing** by ``closing_mm`` (10 mm) and slice-by-slice hole filling (axial slices) take in
   vessels and lesions that the window left out (lesions are hypo- or hyperattenuating).
7. Final dilation by ``final_adjust_mm`` (1.5 mm; negative values erode). Smoothing moves the
   window's edge into the organ: a Gaussian-blurred step from the surroundings (≈ 40 HU) to the
   liver crosses the window's lower bound about 0.75 σ (1.5 mm for σ 2 mm) inside the true
   boundary. On grids coarser than 1.5 mm this is sub-voxel and changes nothing.

Limitations: a very fatty liver darker than muscle, a liver that touches the spleen over a
broad front, and large exophytic lesions at the surface are not handled; lesions at the
surface wider than about ``2 × closing_mm`` stay outside the mask.

Measured (tests/segmentation, this repository): Dice 0.915 against TotalSegmentator's liver on
its 30-slice example CT (3 mm), 0.922 on the 112-slice CT in the labelled slab, 0.972 / 0.962 /
0.968 on the synthetic patient's portal venous, arterial and unenhanced CT; 0.1–2 s each.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from nelm.errors import ConfigError, MaskError
from nelm.imaging.labelmap import LabelMap
from nelm.imaging.volume import Volume
from nelm.segmentation.base import (
    FALLBACK_DISCLAIMER,
    SegmentationResult,
    axial_axis,
    dilate_mm,
    erode_mm,
    geodesic_dilate_mm,
    require_ct_hu,
    world_x_mm,
)

__all__ = [
    "LIVER_FALLBACK_METHOD",
    "LiverFallbackParams",
    "LiverHuSegmenter",
    "LiverWindow",
    "estimate_liver_window",
    "segment_liver_fallback",
]

logger = logging.getLogger(__name__)

LIVER_FALLBACK_METHOD: Final[str] = "fallback-liver-hu"

#: Histogram bin width (HU) and Gaussian smoothing of the histogram (bins) for the peak search.
_BIN_HU: Final[float] = 2.0
_HIST_SMOOTH_BINS: Final[float] = 2.0
#: σ of a Gaussian from its half-width at half-maximum: HWHM = σ·√(2 ln 2).
_HWHM_PER_SIGMA: Final[float] = math.sqrt(2.0 * math.log(2.0))
#: Liver volume range (mL) outside which the result gets a plausibility warning. nelm's own,
#: deliberately wide choice: typical adult livers hold 1–2 L, and metastatic livers can be far
#: larger.
PLAUSIBLE_LIVER_ML: Final[tuple[float, float]] = (500.0, 5000.0)


@dataclass(frozen=True)
class LiverFallbackParams:
    """Settings of the liver fallback (see the module docstring for the rationale of each).

    Raises
    ------
    ConfigError
        A radius or width is negative, ranges are inverted, or a fraction is outside (0, 1].
    """

    smoothing_sigma_mm: float = 2.0
    body_threshold_hu: float = -400.0
    hu_window: tuple[float, float] | None = None
    """Fixed liver window (low, high) in HU on the smoothed image; ``None``: adaptive."""
    search_range_hu: tuple[float, float] = (-20.0, 250.0)
    min_peak_fraction: float = 0.2
    window_k_sigma: float = 3.5
    half_width_range_hu: tuple[float, float] = (15.0, 60.0)
    seed_erosion_mm: float = 10.0
    grow_mm: float = 3.0
    closing_mm: float = 10.0
    final_adjust_mm: float = 1.5
    right_side: bool = True

    def __post_init__(self) -> None:
        for name in ("smoothing_sigma_mm", "seed_erosion_mm", "grow_mm", "closing_mm", "window_k_sigma"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ConfigError(f"liver fallback: {name} must be a finite number ≥ 0, got {value!r}")
        for name in ("search_range_hu", "half_width_range_hu") + (("hu_window",) if self.hu_window else ()):
            lo, hi = getattr(self, name)
            if not (math.isfinite(lo) and math.isfinite(hi)) or lo >= hi:
                raise ConfigError(
                    f"liver fallback: {name} must be (low, high) with low < high, got {(lo, hi)}"
                )
        if not 0.0 < self.min_peak_fraction <= 1.0:
            raise ConfigError(
                f"liver fallback: min_peak_fraction must be in (0, 1], got {self.min_peak_fraction}"
            )
        if not math.isfinite(self.final_adjust_mm):
            raise ConfigError(f"liver fallback: final_adjust_mm must be finite, got {self.final_adjust_mm}")


@dataclass(frozen=True)
class LiverWindow:
    """The HU window used, and how it was found."""

    low_hu: float
    high_hu: float
    peak_hu: float | None
    sigma_hu: float | None
    peaks_hu: tuple[float, ...]

    def describe(self) -> str:
        """Human description for the provenance sentence."""
        if self.peak_hu is None or self.sigma_hu is None:
            return f"window {self.low_hu:.0f} to {self.high_hu:.0f} HU (given)"
        return (
            f"window {self.low_hu:.0f} to {self.high_hu:.0f} HU (adaptive: liver peak {self.peak_hu:.0f} HU, "
            f"σ {self.sigma_hu:.1f} HU; histogram peaks {', '.join(f'{p:.0f}' for p in self.peaks_hu)} HU)"
        )


def _smoothed_histogram(
    values: npt.NDArray[np.float32], lo: float, hi: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    edges = np.arange(lo, hi + _BIN_HU, _BIN_HU)
    counts, edges = np.histogram(values, bins=edges)
    smooth = ndimage.gaussian_filter1d(counts.astype(np.float64), _HIST_SMOOTH_BINS)
    centres = 0.5 * (edges[:-1] + edges[1:])
    return np.asarray(smooth), np.asarray(centres)


def estimate_liver_window(values: npt.ArrayLike, params: LiverFallbackParams) -> LiverWindow:
    """The adaptive liver window from smoothed HU values of the right half of the body.

    Raises
    ------
    MaskError
        If no voxel lies in ``search_range_hu`` (no soft tissue on the patient's right).
    """
    lo, hi = params.search_range_hu
    v = np.asarray(values, dtype=np.float32)
    v = v[(v >= lo) & (v <= hi)]
    if v.size == 0:
        raise MaskError(
            f"liver fallback: no soft tissue between {lo:g} and {hi:g} HU on the patient's right; "
            "is this an abdominal CT? Supply a liver mask."
        )
    hs, centres = _smoothed_histogram(v, lo, hi)
    top = float(hs.max())
    peaks = [
        i
        for i in range(len(hs))
        if hs[i] >= params.min_peak_fraction * top
        and (i == 0 or hs[i] >= hs[i - 1])
        and (i == len(hs) - 1 or hs[i] > hs[i + 1])
    ]
    k = max(peaks)
    j = k
    while j < len(hs) - 1 and hs[j] > 0.5 * hs[k]:
        j += 1
    half = 0.5 * hs[k]
    if hs[j] <= half:  # linear interpolation of the half-maximum crossing between bins j-1 and j
        crossing = (j - 1) + (hs[j - 1] - half) / (hs[j - 1] - hs[j]) if j > k else float(j)
        hwhm = (crossing - k) * _BIN_HU
    else:
        hwhm = math.inf
    # The histogram was binned and smoothed: remove their variances (Gaussian widths add in
    # quadrature; a bin of width w adds w²/12).
    smoothing_var = (_HIST_SMOOTH_BINS * _BIN_HU) ** 2 + _BIN_HU**2 / 12.0
    sigma = math.sqrt(max((hwhm / _HWHM_PER_SIGMA) ** 2 - smoothing_var, 0.0))
    wmin, wmax = params.half_width_range_hu
    half = float(np.clip(params.window_k_sigma * sigma, wmin, wmax))
    peak = float(centres[k])
    return LiverWindow(
        low_hu=peak - half,
        high_hu=peak + half,
        peak_hu=peak,
        sigma_hu=sigma if math.isfinite(sigma) else None,
        peaks_hu=tuple(float(centres[i]) for i in peaks),
    )


def _largest_component(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    lab, n = ndimage.label(mask)
    if n == 0:
        return mask
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    return np.asarray(lab == int(np.argmax(sizes)))


def _fill_holes_slicewise(mask: npt.NDArray[np.bool_], axis: int) -> npt.NDArray[np.bool_]:
    out = np.moveaxis(mask.copy(), axis, 0)
    for s in range(out.shape[0]):
        if out[s].any():
            out[s] = ndimage.binary_fill_holes(out[s])
    return np.moveaxis(out, 0, axis)


def segment_liver_fallback(ct: Volume, params: LiverFallbackParams | None = None) -> SegmentationResult:
    """Segment the liver on a contrast CT with the classical pipeline of this module.

    Parameters
    ----------
    ct:
        CT volume in HU (portal venous phase preferred; arterial and unenhanced work on the
        synthetic patient).
    params:
        Settings; default :class:`LiverFallbackParams`.

    Returns
    -------
    SegmentationResult
        One label ``1 = "liver"`` on the CT grid, method ``"fallback-liver-hu"``.

    Raises
    ------
    InputError, UnitsError
        If ``ct`` is not a CT in HU.
    MaskError
        If no body or no right-sided liver candidate is found.
    """
    require_ct_hu(ct, "CT for the liver fallback")
    p = params or LiverFallbackParams()
    sp = ct.spacing_mm
    g = ct.geometry
    img = np.asarray(ct.array, dtype=np.float32)
    if p.smoothing_sigma_mm > 0:
        img = ndimage.gaussian_filter(img, [p.smoothing_sigma_mm / s for s in sp])
    body = _largest_component(img > p.body_threshold_hu)
    if not body.any():
        raise MaskError(
            f"liver fallback: nothing above {p.body_threshold_hu:g} HU in {ct.metadata.source or 'the CT'}; "
            "no body found. Supply a liver mask."
        )
    x_mm = world_x_mm(g)
    body_centre_x = float(g.index_to_world(np.asarray(ndimage.center_of_mass(body)))[0])
    right = body & (x_mm < body_centre_x) if p.right_side else body
    if p.hu_window is None:
        window = estimate_liver_window(img[right], p)
    else:
        window = LiverWindow(float(p.hu_window[0]), float(p.hu_window[1]), None, None, ())
    candidate = body & (img >= window.low_hu) & (img <= window.high_hu)

    seed = erode_mm(candidate, p.seed_erosion_mm, sp)
    lab, n = ndimage.label(seed)
    if n == 0:
        raise MaskError(
            f"liver fallback: no region of the {window.describe()} is thicker than "
            f"{2 * p.seed_erosion_mm:g} mm; supply a liver mask or a fixed hu_window."
        )
    index = np.arange(1, n + 1)
    sizes = np.bincount(lab.ravel(), minlength=n + 1)[1:]
    centroids = np.asarray(ndimage.center_of_mass(seed, lab, index), dtype=float).reshape(n, 3)
    cx = g.index_to_world(centroids)[:, 0]
    ok = np.flatnonzero(cx < body_centre_x) if p.right_side else np.arange(n)
    if ok.size == 0:
        raise MaskError(
            "liver fallback: no liver-like region lies on the patient's right (LPS x below the body "
            f"centre {body_centre_x:.0f} mm); check the CT orientation or supply a liver mask."
        )
    best = int(ok[np.argmax(sizes[ok])]) + 1
    liver = dilate_mm(lab == best, p.seed_erosion_mm, sp) & candidate
    liver = geodesic_dilate_mm(liver, p.grow_mm, sp, candidate)
    liver = erode_mm(dilate_mm(liver, p.closing_mm, sp), p.closing_mm, sp)
    axis = axial_axis(g)
    liver = _fill_holes_slicewise(liver, axis)
    if p.final_adjust_mm > 0:
        liver = dilate_mm(liver, p.final_adjust_mm, sp)
    elif p.final_adjust_mm < 0:
        liver = erode_mm(liver, -p.final_adjust_mm, sp)
    liver &= body

    volume_ml = float(np.count_nonzero(liver)) * g.voxel_volume_ml
    warnings: list[str] = []
    at_axial_end = (
        np.take(liver, 0, axis=axis).any() or np.take(liver, liver.shape[axis] - 1, axis=axis).any()
    )
    at_side = any(
        np.take(liver, i, axis=a).any() for a in range(3) if a != axis for i in (0, liver.shape[a] - 1)
    )
    if at_axial_end or at_side:
        where = "first or last axial slice" if at_axial_end else "edge of the field of view"
        warnings.append(
            f"fallback liver reaches the {where} of the CT: the liver is cut off by the scan and its "
            f"volume ({volume_ml:.0f} mL) is truncated"
        )
    elif not PLAUSIBLE_LIVER_ML[0] <= volume_ml <= PLAUSIBLE_LIVER_ML[1]:
        warnings.append(
            f"fallback liver volume {volume_ml:.0f} mL is outside the usual adult range "
            f"{PLAUSIBLE_LIVER_ML[0]:.0f}–{PLAUSIBLE_LIVER_ML[1]:.0f} mL: check the segmentation"
        )
    provenance = (
        "nelm fallback: liver by HU window + largest component; "
        f"{window.describe()} on a Gaussian-smoothed CT (σ {p.smoothing_sigma_mm:g} mm), seed erosion "
        f"{p.seed_erosion_mm:g} mm, largest component on the patient's right, geodesic growth "
        f"{p.grow_mm:g} mm, closing {p.closing_mm:g} mm, axial hole filling"
        + (
            f", final {'dilation' if p.final_adjust_mm > 0 else 'erosion'} {abs(p.final_adjust_mm):g} mm"
            if p.final_adjust_mm
            else ""
        )
        + f"; volume {volume_ml:.0f} mL; {FALLBACK_DISCLAIMER}"
    )
    logger.info("liver fallback: %s", provenance)
    labelmap = LabelMap.from_binary(liver, g, "liver", source=f"nelm {LIVER_FALLBACK_METHOD}")
    return SegmentationResult(labelmap, LIVER_FALLBACK_METHOD, provenance, tuple(warnings))


class LiverHuSegmenter:
    """:class:`~nelm.segmentation.base.Segmenter` wrapper of :func:`segment_liver_fallback`."""

    name: str = LIVER_FALLBACK_METHOD

    def __init__(self, params: LiverFallbackParams | None = None) -> None:
        self.params = params or LiverFallbackParams()

    def available(self) -> tuple[bool, str]:
        """Always available: numpy and scipy only."""
        return True, ""

    def segment(self, image: Volume, **kwargs: Any) -> SegmentationResult:
        """Segment the liver; keyword arguments override fields of :class:`LiverFallbackParams`."""
        params = self.params
        if kwargs:
            known = set(asdict(params))
            unknown = sorted(set(kwargs) - known)
            if unknown:
                raise ConfigError(f"liver fallback: unknown settings {unknown}; known: {sorted(known)}")
            params = LiverFallbackParams(**{**asdict(params), **kwargs})
        return segment_liver_fallback(image, params)
