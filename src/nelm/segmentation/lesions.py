"""Semi-automatic lesion fallback inside a given liver mask, from CT contrast to parenchyma.

Neuroendocrine liver metastases are typically hypervascular: hyperattenuating in the late
arterial phase with washout (iso- to hypoattenuating) in the portal venous phase; some are
hypoattenuating in both, and large ones often have a non-enhancing necrotic core (reviewed by
Sundin et al., ENETS consensus guidelines: radiological, nuclear medicine and hybrid imaging,
Neuroendocrinology 2017;105:212-244). The fallback marks voxels whose contrast to normal
parenchyma is many noise standard deviations away, phase by phase:

1. **Parenchyma statistics** per phase, inside the liver eroded by ``edge_margin_mm``, on the
   image smoothed by a Gaussian of ``smoothing_sigma_mm`` *normalised to the liver mask* (only
   liver voxels are averaged, so fat and vessels outside do not bleed in). Location = histogram
   mode; σ = the **narrower** half-width at half-maximum / √(2 ln 2). Lesions contaminate one
   flank (hypo: low side; hyper: high side) and vessels the other, so the narrower flank is the
   parenchyma's own. (Median/MAD, the textbook robust pair, breaks down with a high tumour burden:
   on the LiTS case 117 crop, 27 % tumour, it gave 116 ± 14 HU against 118 ± 8 HU from the mode.)
2. **Hysteresis** per phase and sign (arterial hyper and hypo, portal hypo by default): a
   z-score ``z = (value − mode) / σ`` beyond ``z_candidate`` (2.5) makes a candidate, and a
   candidate component is kept only when it holds a voxel beyond ``z_seed`` (5, which pure
   noise practically never reaches; hysteresis thresholding after Canny, IEEE TPAMI 1986).
3. **Boundary**: blur spreads a lesion beyond its edge; inside each kept component only voxels
   with contrast ≥ ``boundary_fraction`` (0.5) of the component's ``boundary_percentile`` (75th)
   contrast remain: the half-contrast level of a blurred step lies on the edge.
4. **Liver edge**: steps 2–3 run in the liver eroded by ``edge_margin_mm`` (3 mm), where the
   partial volume of fat and vessels outside the mask cannot fake a lesion; kept lesions are then
   grown back into that rim (geodesic dilation within candidate voxels), so subcapsular lesions
   keep their extent. Lesions lying entirely within the rim are missed.
5. **Components** (26-connected) after filling their holes (a necrotic core inside an
   enhancing rim): dropped when smaller than ``min_volume_mm3`` (50 mm³, a 4.6 mm sphere),
   when **bright in the portal venous phase** (mean portal z > ``vessel_portal_z``: vessels stay
   bright while NELM wash out), or when **elongated**: √(λmax/λmin) of the covariance of the
   component's voxel boxes in mm (second moments; tubes and plates) above ``max_elongation``
   (4: a tube four times as long as wide). Optionally touching lesions are split into the
   inscribed balls they are made of (``split_touching``; see :func:`_split`).

Labels ``"lesion L1"``, ``"lesion L2"`` … (tracking IDs ``L1`` …) are ordered by decreasing
volume, ties by position: the same input always gives the same numbering.

Measured (tests/segmentation): synthetic patient (seed 0), arterial + portal phases with the
truth liver mask: 12 lesions — Dice 0.952, 12/12 detected, 0 false positives; 50 lesions — Dice
0.921, 49/50, 0 false positives (arterial only 0.959 and 12/12, 0.929 and 47/50; portal only
0.765 and 10/12, 0.802 and 32/50). With the fallback liver instead of the truth mask: 12/12 and
49/50, 1 false positive each. LiTS case 117 crop (portal venous phase only, hypoattenuating
tumours, 1 mm placeholder spacing): Dice 0.854, 25 of 70 tumour components (25 of the 44 of
≥ 65 mm³), 0 false positives. Under a second per case.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from nelm.errors import ConfigError, InputError
from nelm.imaging.labelmap import Label, LabelMap
from nelm.imaging.volume import Volume
from nelm.segmentation.base import (
    FALLBACK_DISCLAIMER,
    SegmentationResult,
    erode_mm,
    geodesic_dilate_mm,
    require_ct_hu,
)

__all__ = [
    "LESION_FALLBACK_METHOD",
    "LesionFallbackParams",
    "ParenchymaStats",
    "parenchyma_stats",
    "segment_lesions",
]

logger = logging.getLogger(__name__)

LESION_FALLBACK_METHOD: Final[str] = "fallback-lesions-contrast"
_HWHM_PER_SIGMA: Final[float] = math.sqrt(2.0 * math.log(2.0))
_CONN26: Final[npt.NDArray[np.bool_]] = np.ones((3, 3, 3), dtype=bool)
#: Number of histogram bins across the 0.5–99.5 percentile range of parenchyma values.
_HIST_BINS: Final[int] = 200


@dataclass(frozen=True)
class LesionFallbackParams:
    """Settings of the lesion fallback (see the module docstring for the rationale of each).

    Raises
    ------
    ConfigError
        A value is negative or not finite, ``z_seed < z_candidate``, a fraction is outside
        (0, 1], or no detection rule is enabled.
    """

    smoothing_sigma_mm: float = 1.5
    z_candidate: float = 2.5
    z_seed: float = 5.0
    boundary_fraction: float = 0.5
    boundary_percentile: float = 75.0
    edge_margin_mm: float = 3.0
    min_volume_mm3: float = 50.0
    vessel_portal_z: float = 2.0
    max_elongation: float = 4.0
    min_sd_hu: float = 1.0
    """Floor of the parenchyma σ (HU): keeps sub-HU differences of noise-free images out."""
    arterial_hyper: bool = True
    arterial_hypo: bool = True
    portal_hypo: bool = True
    split_touching: bool = False
    split_min_distance_mm: float = 10.0
    """Watershed markers (distance-map maxima) closer than this merge into one lesion."""

    def __post_init__(self) -> None:
        for name in (
            "smoothing_sigma_mm",
            "z_candidate",
            "z_seed",
            "edge_margin_mm",
            "min_volume_mm3",
            "vessel_portal_z",
            "max_elongation",
            "min_sd_hu",
            "split_min_distance_mm",
        ):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or value < 0
            ):
                raise ConfigError(f"lesion fallback: {name} must be a finite number ≥ 0, got {value!r}")
        if self.z_seed < self.z_candidate:
            raise ConfigError(
                f"lesion fallback: z_seed ({self.z_seed}) must not be below z_candidate ({self.z_candidate})"
            )
        if not 0.0 <= self.boundary_fraction <= 1.0:
            raise ConfigError(
                f"lesion fallback: boundary_fraction must be in [0, 1], got {self.boundary_fraction}"
            )
        if not 0.0 < self.boundary_percentile <= 100.0:
            raise ConfigError(
                f"lesion fallback: boundary_percentile must be in (0, 100], got {self.boundary_percentile}"
            )
        if self.min_sd_hu <= 0:
            raise ConfigError(f"lesion fallback: min_sd_hu must be > 0, got {self.min_sd_hu}")
        if not (self.arterial_hyper or self.arterial_hypo or self.portal_hypo):
            raise ConfigError("lesion fallback: every detection rule is disabled; enable at least one")


@dataclass(frozen=True)
class ParenchymaStats:
    """Normal-parenchyma reference of one phase (HU, on the smoothed image)."""

    mode_hu: float
    sigma_hu: float


def _normalized_smooth(
    image: npt.NDArray[np.float32], mask: npt.NDArray[np.bool_], sigma_vox: list[float]
) -> npt.NDArray[np.float32]:
    """Gaussian average over ``mask`` voxels only (normalised convolution, Knutsson & Westin 1993)."""
    if max(sigma_vox) <= 0:
        return np.asarray(np.where(mask, image, np.float32(0)), dtype=np.float32)
    num = np.asarray(ndimage.gaussian_filter(np.where(mask, image, np.float32(0)), sigma_vox), np.float32)
    den = np.asarray(ndimage.gaussian_filter(mask.astype(np.float32), sigma_vox), np.float32)
    out = np.zeros_like(num)
    ok = mask & (den > 1e-3)
    out[ok] = num[ok] / den[ok]
    return out


def parenchyma_stats(values: npt.ArrayLike, *, min_sd_hu: float = 1.0) -> ParenchymaStats:
    """Histogram mode and narrower-flank σ of parenchyma values (see the module docstring)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        raise InputError("parenchyma statistics need at least one voxel")
    lo, hi = (float(x) for x in np.percentile(v, [0.5, 99.5]))
    width = max((hi - lo) / _HIST_BINS, 0.25)
    if hi - lo < width:
        return ParenchymaStats(float(np.median(v)), float(min_sd_hu))
    counts, edges = np.histogram(v, bins=np.arange(lo, hi + width, width))
    hs = ndimage.gaussian_filter1d(counts.astype(np.float64), 2.0)
    k = int(np.argmax(hs))
    half = 0.5 * hs[k]
    a = k
    while a > 0 and hs[a] > half:
        a -= 1
    b = k
    while b < len(hs) - 1 and hs[b] > half:
        b += 1
    hwhm = min(k - a, b - k) * width
    sigma = max(hwhm / _HWHM_PER_SIGMA, float(min_sd_hu))
    return ParenchymaStats(float(0.5 * (edges[k] + edges[k + 1])), sigma)


def _hysteresis(
    d: npt.NDArray[np.float32], core: npt.NDArray[np.bool_], p: LesionFallbackParams
) -> npt.NDArray[np.bool_]:
    """Seeded candidate components of a signed z map, cut at the half-contrast level."""
    lab, _ = ndimage.label((d > p.z_candidate) & core, structure=_CONN26)
    seeds = np.unique(lab[(d > p.z_seed) & (lab > 0)])
    out = np.zeros(d.shape, dtype=bool)
    objects = ndimage.find_objects(lab)
    for i in seeds:
        sl = objects[int(i) - 1]
        if sl is None:
            continue
        comp = lab[sl] == i
        values = d[sl][comp]
        level = max(p.z_candidate, p.boundary_fraction * float(np.percentile(values, p.boundary_percentile)))
        out[sl] |= comp & (d[sl] >= level)
    return out


def _elongation(index: npt.NDArray[np.intp], linear: npt.NDArray[np.float64]) -> float:
    """√(λmax/λmin) of the second moments (mm²) of the voxel boxes of one component."""
    pts = index.astype(np.float64) @ linear.T
    cov = np.cov(pts.T) if len(pts) > 1 else np.zeros((3, 3))
    cov = cov + linear @ linear.T / 12.0  # a uniform voxel box adds its own second moment
    ev = np.linalg.eigvalsh(cov)
    return float(math.sqrt(ev[-1] / max(ev[0], 1e-12)))


def _split(
    comp: npt.NDArray[np.bool_], spacing: tuple[float, float, float], min_distance_mm: float
) -> list[npt.NDArray[np.bool_]]:
    """Split one component into the inscribed balls it is made of.

    Markers are the maxima of the distance map (centres of the largest inscribed balls) that are
    the largest within ``min_distance_mm / 2``; every voxel then joins the ball whose surface is
    nearest, ``argmin_i |x − c_i| − r_i`` (an additively weighted Voronoi partition: for two
    overlapping spheres the cut is the plane through their intersection circle).
    """
    edt = np.asarray(ndimage.distance_transform_edt(comp, sampling=spacing))
    half = min_distance_mm / 2
    r = [max(1, round(half / s)) for s in spacing]
    grid = np.ogrid[tuple(slice(-k, k + 1) for k in r)]
    footprint = np.asarray(sum((gi * s) ** 2 for gi, s in zip(grid, spacing, strict=True)) <= half**2)
    peaks = comp & (edt == ndimage.maximum_filter(edt, footprint=footprint)) & (edt > 0)
    markers, n = ndimage.label(peaks, structure=_CONN26)
    if n < 2:
        return [comp]
    sp = np.asarray(spacing)
    centres = np.asarray(ndimage.center_of_mass(peaks, markers, np.arange(1, n + 1))).reshape(n, 3)
    radii = np.asarray(ndimage.maximum(edt, markers, np.arange(1, n + 1)), dtype=float)
    voxels = np.argwhere(comp)
    gap = np.stack(
        [np.linalg.norm((voxels - c) * sp, axis=1) - rad for c, rad in zip(centres, radii, strict=True)]
    )
    owner = np.argmin(gap, axis=0)
    parts = []
    for i in range(n):
        part = np.zeros_like(comp)
        sel = voxels[owner == i]
        part[tuple(sel.T)] = True
        if part.any():
            parts.append(part)
    return parts


def segment_lesions(
    liver: LabelMap,
    arterial: Volume | None,
    portal: Volume | None,
    *,
    params: LesionFallbackParams | None = None,
    liver_label: int | str | None = None,
) -> SegmentationResult:
    """Find liver lesions by their contrast to parenchyma, inside a given liver mask.

    Parameters
    ----------
    liver:
        The liver mask; every non-zero label counts unless ``liver_label`` names one.
    arterial, portal:
        Late arterial and portal venous phase CT (HU) on the liver mask's grid; at least one.
        Phases are **not** resampled: a grid mismatch raises (register and resample first).
    params:
        Settings; default :class:`LesionFallbackParams`.
    liver_label:
        Value or name of the liver label when ``liver`` holds several structures.

    Returns
    -------
    SegmentationResult
        One label per lesion (``"lesion L1"`` …) on the liver grid, method
        ``"fallback-lesions-contrast"``.

    Raises
    ------
    InputError
        Neither phase given, or a phase is not a CT (UnitsError when not in HU).
    GeometryError
        A phase lies on another grid than the liver mask.
    MaskError
        The liver mask (or the named label) is empty.
    """
    p = params or LesionFallbackParams()
    if arterial is None and portal is None:
        raise InputError(
            "lesion fallback needs the late arterial and/or the portal venous phase CT; both are missing"
        )
    phases: list[tuple[str, Volume, tuple[int, ...]]] = []
    if arterial is not None:
        signs = tuple(s for s, on in ((1, p.arterial_hyper), (-1, p.arterial_hypo)) if on)
        phases.append(("arterial", arterial, signs))
    if portal is not None:
        phases.append(("portal", portal, (-1,) if p.portal_hypo else ()))
    rules = [
        r
        for r, on in (
            ("arterial hyperenhancement", arterial is not None and p.arterial_hyper),
            ("arterial hypoattenuation", arterial is not None and p.arterial_hypo),
            ("portal venous hypoattenuation", portal is not None and p.portal_hypo),
        )
        if on
    ]
    if not rules:
        raise ConfigError(
            "lesion fallback: no enabled detection rule applies to the phases given "
            f"(arterial {'given' if arterial is not None else 'missing'}, portal "
            f"{'given' if portal is not None else 'missing'}); "
            "enable arterial_hyper/arterial_hypo or portal_hypo"
        )
    for name, vol, _ in phases:
        require_ct_hu(vol, f"{name} phase CT")
        liver.require_on(vol, image_name=f"{name} phase CT {vol.metadata.source or ''}".strip())
    if liver_label is None:
        liver.require_nonempty()
        mask = liver.any_mask()
    else:
        liver.require_nonempty(liver_label)
        mask = liver.mask(liver_label)
    g = liver.geometry
    sp = g.spacing_mm
    core = erode_mm(mask, p.edge_margin_mm, sp)
    if not core.any():
        core = mask
    sigma_vox = [p.smoothing_sigma_mm / s for s in sp]

    candidates = np.zeros(mask.shape, dtype=bool)
    band = np.zeros(mask.shape, dtype=bool)
    z_portal: npt.NDArray[np.float32] | None = None
    stats_text: list[str] = []
    for name, vol, signs in phases:
        smooth = _normalized_smooth(np.asarray(vol.array, dtype=np.float32), mask, sigma_vox)
        stats = parenchyma_stats(smooth[core], min_sd_hu=p.min_sd_hu)
        stats_text.append(f"{name} {stats.mode_hu:.0f} ± {stats.sigma_hu:.1f} HU")
        z = ((smooth - np.float32(stats.mode_hu)) / np.float32(stats.sigma_hu)).astype(np.float32)
        z[~mask] = 0
        if name == "portal":
            z_portal = z
        for sign in signs:
            d = z if sign > 0 else -z
            band |= d > p.z_candidate
            candidates |= _hysteresis(d, core, p)
    rim = mask & ~core
    candidates = geodesic_dilate_mm(candidates, p.edge_margin_mm + min(sp), sp, candidates | (band & rim))

    lab, _ = ndimage.label(candidates, structure=_CONN26)
    linear = np.asarray(g.affine[:3, :3])
    kept: list[tuple[int, tuple[float, float, float], tuple[slice, ...], npt.NDArray[np.bool_]]] = []
    dropped = {"small": 0, "vessel": 0, "elongated": 0}
    for i, sl in enumerate(ndimage.find_objects(lab), start=1):
        if sl is None:
            continue
        comp = ndimage.binary_fill_holes(lab[sl] == i) & mask[sl]
        parts = _split(comp, sp, p.split_min_distance_mm) if p.split_touching else [comp]
        for part in parts:
            count = int(np.count_nonzero(part))
            if count * g.voxel_volume_ml * 1000.0 < p.min_volume_mm3:
                dropped["small"] += 1
                continue
            if (
                z_portal is not None
                and arterial is not None
                and float(z_portal[sl][part].mean()) > p.vessel_portal_z
            ):
                dropped["vessel"] += 1
                continue
            index = np.argwhere(part) + np.array([s.start for s in sl])
            if _elongation(index, linear) > p.max_elongation:
                dropped["elongated"] += 1
                continue
            centroid = tuple(float(c) for c in index.mean(axis=0))
            kept.append((count, (centroid[0], centroid[1], centroid[2]), sl, part))
    kept.sort(key=lambda item: (-item[0], item[1]))
    out = np.zeros(mask.shape, dtype=np.uint16 if len(kept) < 2**16 else np.int32)
    labels: dict[int, Label] = {}
    for value, (_, _, sl, part) in enumerate(kept, start=1):
        region = out[sl]
        region[part & (region == 0)] = value
        labels[value] = Label(value, f"lesion L{value}", tracking_id=f"L{value}")
    present = np.bincount(out.ravel().astype(np.int64), minlength=len(kept) + 1)
    labels = {v: lab_ for v, lab_ in labels.items() if present[v] > 0}

    warnings: list[str] = []
    if arterial is None:
        warnings.append(
            "no late arterial phase: hypervascular lesions that wash out only slightly in the portal "
            "venous phase may be missed"
        )
    if not labels:
        warnings.append("the lesion fallback found no lesion in the liver mask")
    provenance = (
        "nelm fallback: lesions by contrast to normal parenchyma inside the given liver mask ("
        + ", ".join(rules)
        + f"); parenchyma {'; '.join(stats_text)} (histogram mode ± σ, Gaussian σ "
        f"{p.smoothing_sigma_mm:g} mm within the liver); seeds |z| ≥ {p.z_seed:g}, extent |z| ≥ "
        f"{p.z_candidate:g} and ≥ "
        f"{p.boundary_fraction:g} × the lesion's {p.boundary_percentile:g}th-percentile contrast; "
        f"{p.edge_margin_mm:g} mm liver rim excluded from detection; lesions ≥ {p.min_volume_mm3:g} mm³, "
        f"not portal-bright (z > {p.vessel_portal_z:g}) nor elongated (> {p.max_elongation:g}:1)"
        + (", touching lesions split at distance-map maxima" if p.split_touching else "")
        + f"; {len(labels)} lesions kept, {dropped['small']} small, {dropped['vessel']} vessel-like and "
        f"{dropped['elongated']} elongated components dropped; {FALLBACK_DISCLAIMER}"
    )
    logger.info("lesion fallback: %s", provenance)
    labelmap = LabelMap(array=out, geometry=g, labels=labels, source=f"nelm {LESION_FALLBACK_METHOD}")
    return SegmentationResult(labelmap, LESION_FALLBACK_METHOD, provenance, tuple(warnings))
