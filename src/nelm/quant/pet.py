"""PET lesion uptake (SUVmax, SUVpeak, SUVmean, metabolic volume), reference organs, Krenning score.

All functions take an SUV array (see :mod:`nelm.imaging.suv`) with its
:class:`~nelm.imaging.geometry.Geometry` and boolean masks on the same grid.

* **SUVpeak** (PERCIST 1.0, Wahl et al. JNM 2009;50 Suppl 1:122S; reference/response-criteria.md
  §1.6): the largest mean SUV in a sphere of 1 cm³ (radius (3/(4π))^(1/3) cm = 6.20 mm) whose
  centre is a voxel of the lesion. The sphere may extend outside the lesion (PERCIST places it
  at the hottest location; only the centre must lie in the lesion). Partial voxels are weighted
  by the fraction of the voxel inside the sphere, estimated with
  :data:`PEAK_SUPERSAMPLING`³ sub-voxel samples, so that the sphere has its true volume on
  coarse PET grids (voxel-centre inclusion would give 7 or 33 voxels of 4 mm instead of 15.6).
  Parts of the sphere outside the image are left out of the mean; equal means go to the hottest
  centre voxel. The mean map is computed only
  in the lesion's bounding box grown by the sphere (``scipy.ndimage.correlate``, or an FFT for
  large boxes).
* **Metabolic volume**: lesion voxels with SUV ≥ a :class:`MetabolicThreshold`; default 41 % of
  the lesion SUVmax (:data:`EANM_41_PERCENT`).
* **Reference uptake**: liver (and spleen) SUV mean and SD over the organ mask minus the
  excluded voxels (lesions), keeping only voxels farther than ``margin_mm`` (default
  :data:`REFERENCE_MARGIN_MM` = 10 mm) from the region's edge, against spill-over from lesions
  and neighbouring organs. This is a whole-organ alternative to PERCIST's 3-cm sphere in the right
  lobe.
* **Krenning-type score** (:class:`KrenningScale`, :func:`krenning_score`): configurable; the
  default compares the lesion SUVmax with liver and spleen SUVmean.

For research use only; not a medical device.
"""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
from scipy import ndimage, signal

from nelm.errors import ConfigError, GeometryError, InputError, MaskError
from nelm.imaging.geometry import Geometry

__all__ = [
    "DEFAULT_KRENNING_SCALE",
    "EANM_41_PERCENT",
    "PEAK_SUPERSAMPLING",
    "REFERENCE_MARGIN_MM",
    "SUV_PEAK_VOLUME_ML",
    "KrenningScale",
    "MetabolicThreshold",
    "PetLesionUptake",
    "ReferenceUptake",
    "krenning_score",
    "lesion_uptake",
    "reference_uptake",
    "suv_peak",
]

logger = logging.getLogger(__name__)

#: SUVpeak sphere volume: 1 cm³ (PERCIST 1.0, Wahl et al. 2009; diameter 1.24 cm).
SUV_PEAK_VOLUME_ML: Final[float] = 1.0
#: Sub-samples per axis per voxel used to estimate the fraction of a voxel inside the SUVpeak
#: sphere (8³ = 512 samples; the sphere volume is then within about 1 % on 2–4 mm grids).
PEAK_SUPERSAMPLING: Final[int] = 8
#: Margin (mm) kept between reference-organ voxels and the region's edge: about 1.5 × the
#: 6–7 mm FWHM of clinical PET, where a Gaussian's spill-over has fallen below 1 % (nelm's choice).
REFERENCE_MARGIN_MM: Final[float] = 10.0
#: Above this many multiply-adds the peak map is computed by FFT instead of direct correlation.
_DIRECT_LIMIT: Final[int] = 20_000_000
#: Sphere means within this relative difference of the best count as tied.
_TIE_RELATIVE: Final[float] = 1e-12


# -- result types ----------------------------------------------------------------------------
@dataclass(frozen=True)
class MetabolicThreshold:
    """Which lesion voxels count towards the metabolic volume.

    Parameters
    ----------
    value:
        A fraction of the lesion SUVmax (``relative_to_max``) or an absolute SUV.
    relative_to_max:
        Whether ``value`` is a fraction of SUVmax.
    source:
        Where the threshold comes from.
    """

    value: float
    relative_to_max: bool = True
    source: str = ""

    def __post_init__(self) -> None:
        if not math.isfinite(self.value) or self.value <= 0:
            raise ConfigError(f"metabolic threshold must be a positive number, got {self.value}")
        if self.relative_to_max and self.value > 1:
            raise ConfigError(f"a relative metabolic threshold is a fraction of SUVmax ≤ 1, got {self.value}")

    def suv_threshold(self, suv_max: float) -> float:
        """The SUV at and above which a voxel counts."""
        return self.value * suv_max if self.relative_to_max else self.value

    def describe(self) -> str:
        """Short text, e.g. ``"SUV ≥ 41 % of SUVmax"``."""
        return f"SUV ≥ {self.value:.0%} of SUVmax" if self.relative_to_max else f"SUV ≥ {self.value:g}"


#: 41 % of SUVmax isocontour, the EANM-recommended fixed threshold for metabolic tumour volume
#: (Boellaard et al., EANM FDG PET/CT guideline v1.0 EJNMMI 2010;37:181 and v2.0 2015;42:328) [B:
#: not in nelm's reference file; confirm]. Alternative: ``MetabolicThreshold(2.5, False)``.
EANM_41_PERCENT: Final[MetabolicThreshold] = MetabolicThreshold(
    0.41, True, "41 % of SUVmax isocontour (EANM guideline, Boellaard et al. EJNMMI 2010/2015)"
)


@dataclass(frozen=True)
class PetLesionUptake:
    """Uptake of one lesion.

    Parameters
    ----------
    suv_max, suv_mean:
        Largest and mean SUV over the lesion mask.
    suv_peak:
        PERCIST SUVpeak (see :func:`suv_peak`), ``None`` when not computed.
    metabolic_volume_ml:
        Volume of the lesion voxels at or above the metabolic threshold, mL.
    peak_center_lps_mm:
        Centre of the SUVpeak sphere (LPS mm), ``None`` when not computed.
    """

    suv_max: float
    suv_peak: float | None
    suv_mean: float
    metabolic_volume_ml: float
    peak_center_lps_mm: tuple[float, float, float] | None

    def __post_init__(self) -> None:
        values = [self.suv_max, self.suv_mean, self.metabolic_volume_ml]
        if self.suv_peak is not None:
            values.append(self.suv_peak)
        if not all(math.isfinite(v) for v in values):
            raise InputError(f"lesion uptake values must be finite, got {values}")
        if self.suv_mean > self.suv_max + 1e-9 * max(1.0, abs(self.suv_max)):
            raise InputError(f"SUVmean {self.suv_mean} exceeds SUVmax {self.suv_max}")
        if self.metabolic_volume_ml < 0:
            raise InputError(f"metabolic volume must be ≥ 0 mL, got {self.metabolic_volume_ml}")
        if (self.suv_peak is None) != (self.peak_center_lps_mm is None):
            raise InputError("SUVpeak and its centre must both be given or both be None")


@dataclass(frozen=True)
class ReferenceUptake:
    """Reference-organ uptake for lesion scores.

    Parameters
    ----------
    liver_suv_mean, liver_suv_sd:
        Mean and sample standard deviation (ddof 1) of SUV in the liver reference region.
    spleen_suv_mean:
        Mean SUV in the spleen reference region.
    method:
        How the regions were built (margin, voxel counts).
    """

    liver_suv_mean: float | None
    liver_suv_sd: float | None
    spleen_suv_mean: float | None
    method: str

    def __post_init__(self) -> None:
        if (self.liver_suv_mean is None) != (self.liver_suv_sd is None):
            raise InputError("liver SUV mean and SD must both be given or both be None")
        for v in (self.liver_suv_mean, self.liver_suv_sd, self.spleen_suv_mean):
            if v is not None and not math.isfinite(v):
                raise InputError(f"reference uptake values must be finite, got {v}")
        if self.liver_suv_sd is not None and self.liver_suv_sd < 0:
            raise InputError(f"liver SUV SD must be ≥ 0, got {self.liver_suv_sd}")


# -- validation ------------------------------------------------------------------------------
def _suv(suv: npt.ArrayLike, geometry: Geometry) -> npt.NDArray[np.float64]:
    arr = np.asarray(suv)
    if arr.shape != geometry.shape:
        raise GeometryError(f"SUV array shape {arr.shape} does not match its geometry {geometry.describe()}")
    if not np.issubdtype(arr.dtype, np.floating):
        raise InputError(f"SUV array must hold floating-point SUVs, got dtype {arr.dtype}")
    return np.asarray(arr, dtype=np.float64)


def _mask(
    mask: npt.ArrayLike, geometry: Geometry, what: str, *, allow_empty: bool = False
) -> npt.NDArray[np.bool_]:
    m = np.asarray(mask)
    if m.shape != geometry.shape:
        raise GeometryError(
            f"{what} mask shape {m.shape} does not match the SUV grid {geometry.describe()}; "
            "resample the mask"
        )
    if m.dtype != np.bool_:
        raise MaskError(
            f"{what} mask must be boolean, got dtype {m.dtype}; select one structure, e.g. labelmap.mask(key)"
        )
    if not allow_empty and not m.any():
        raise MaskError(f"{what} mask is empty: no voxel to measure")
    return m


def _finite_in(arr: npt.NDArray[np.float64], m: npt.NDArray[np.bool_], what: str) -> npt.NDArray[np.float64]:
    values = arr[m]
    if not np.all(np.isfinite(values)):
        raise InputError(f"the SUV image has NaN or infinite values inside the {what} mask")
    return values


# -- SUVpeak ---------------------------------------------------------------------------------
@functools.lru_cache(maxsize=32)
def _sphere_weights(step: tuple[float, ...], radius_mm: float, supersampling: int) -> npt.NDArray[np.float64]:
    """Fraction of each voxel of a kernel grid inside a sphere centred on the middle voxel."""
    a = np.asarray(step, dtype=np.float64).reshape(3, 3)  # columns: mm step of each index axis
    inv = np.linalg.inv(a)
    half = np.ceil(radius_mm * np.linalg.norm(inv, axis=1) + 0.5).astype(int)
    grids = np.meshgrid(*[np.arange(-h, h + 1, dtype=np.float64) for h in half], indexing="ij")
    offsets = np.stack(grids)  # (3, n0, n1, n2) index offsets
    sub = (np.arange(supersampling) + 0.5) / supersampling - 0.5
    weights = np.zeros(offsets.shape[1:])
    r2 = radius_mm * radius_mm
    for u in sub:
        for v in sub:
            for w in sub:
                idx = offsets + np.array([u, v, w])[:, None, None, None]
                world = np.tensordot(a, idx, axes=1)
                weights += np.einsum("i...,i...->...", world, world) <= r2
    weights /= supersampling**3
    return weights


def _peak_map(
    arr: npt.NDArray[np.float64], kernel: npt.NDArray[np.float64], m: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.float64], tuple[int, int, int]]:
    """Sphere-mean SUV over the lesion's bounding box grown by the kernel, and the box origin."""
    h = [(n - 1) // 2 for n in kernel.shape]
    idx = np.nonzero(m)
    lo = [max(int(idx[a].min()) - h[a], 0) for a in range(3)]
    hi = [min(int(idx[a].max()) + h[a] + 1, arr.shape[a]) for a in range(3)]
    box = tuple(slice(lo[a], hi[a]) for a in range(3))
    sub = arr[box]
    ones = np.ones_like(sub)
    if sub.size * kernel.size <= _DIRECT_LIMIT:
        num = ndimage.correlate(sub, kernel, mode="constant", cval=0.0)
        den = ndimage.correlate(ones, kernel, mode="constant", cval=0.0)
    else:
        flipped = kernel[::-1, ::-1, ::-1]
        num = signal.fftconvolve(sub, flipped, mode="same")
        den = signal.fftconvolve(ones, flipped, mode="same")
    return np.asarray(num / den), (lo[0], lo[1], lo[2])


def suv_peak(
    suv: npt.NDArray[np.floating],
    geometry: Geometry,
    mask: npt.NDArray[np.bool_],
    *,
    volume_ml: float = SUV_PEAK_VOLUME_ML,
) -> tuple[float, tuple[float, float, float]]:
    """SUVpeak of a lesion and the LPS mm centre of its sphere (module docstring; PERCIST).

    Parameters
    ----------
    suv:
        SUV image on ``geometry``.
    geometry:
        The grid (any spacing and orientation; the sphere is built in mm).
    mask:
        Boolean lesion mask; the sphere centre is one of its voxels.
    volume_ml:
        Sphere volume (1 cm³ in PERCIST).

    Raises
    ------
    GeometryError, MaskError, InputError
        Mismatched shapes, an empty or non-boolean mask, non-finite SUVs, a volume ≤ 0.
    """
    arr = _suv(suv, geometry)
    m = _mask(mask, geometry, "lesion")
    if not (math.isfinite(volume_ml) and volume_ml > 0):
        raise InputError(f"SUVpeak sphere volume must be positive, got {volume_ml} mL")
    radius_mm = (3.0 * volume_ml * 1000.0 / (4.0 * math.pi)) ** (1.0 / 3.0)
    step = tuple(float(v) for v in geometry.affine[:3, :3].ravel())
    kernel = _sphere_weights(step, radius_mm, PEAK_SUPERSAMPLING)
    means, origin = _peak_map(arr, kernel, m)
    box = tuple(slice(origin[a], origin[a] + means.shape[a]) for a in range(3))
    inside = m[box]
    if not np.all(np.isfinite(means[inside])):
        raise InputError(
            "the SUV image has NaN or infinite values near the lesion (inside an SUVpeak sphere)"
        )
    candidates = np.where(inside, means, -np.inf)
    best = float(candidates.max())
    # Ties (equal means within rounding, e.g. one hot voxel wholly inside several spheres) go to
    # the hottest centre voxel, then to the first in array order.
    tied = candidates >= best - _TIE_RELATIVE * max(abs(best), 1.0)
    flat = int(np.argmax(np.where(tied, arr[box], -np.inf)))
    local = np.unravel_index(flat, means.shape)
    index = [origin[a] + int(local[a]) for a in range(3)]
    centre = geometry.index_to_world(np.asarray(index, dtype=float))
    return float(means[local]), (float(centre[0]), float(centre[1]), float(centre[2]))


# -- lesion and reference uptake -------------------------------------------------------------
def lesion_uptake(
    suv: npt.NDArray[np.floating],
    geometry: Geometry,
    mask: npt.NDArray[np.bool_],
    *,
    metabolic_threshold: MetabolicThreshold = EANM_41_PERCENT,
    peak_volume_ml: float | None = SUV_PEAK_VOLUME_ML,
) -> PetLesionUptake:
    """SUVmax, SUVpeak, SUVmean and metabolic volume of one lesion.

    Parameters
    ----------
    suv, geometry, mask:
        SUV image, its grid and the boolean lesion mask.
    metabolic_threshold:
        Voxels at or above it form the metabolic volume; default 41 % of SUVmax (EANM).
    peak_volume_ml:
        SUVpeak sphere volume; ``None`` skips SUVpeak.
    """
    arr = _suv(suv, geometry)
    m = _mask(mask, geometry, "lesion")
    values = _finite_in(arr, m, "lesion")
    suv_max = float(values.max())
    threshold = metabolic_threshold.suv_threshold(suv_max)
    metabolic_ml = int(np.count_nonzero(values >= threshold)) * geometry.voxel_volume_ml
    peak: float | None = None
    centre: tuple[float, float, float] | None = None
    if peak_volume_ml is not None:
        peak, centre = suv_peak(arr, geometry, m, volume_ml=peak_volume_ml)
    return PetLesionUptake(
        suv_max=suv_max,
        suv_peak=peak,
        suv_mean=float(values.mean()),
        metabolic_volume_ml=metabolic_ml,
        peak_center_lps_mm=centre,
    )


def _reference_region(
    region: npt.NDArray[np.bool_], geometry: Geometry, margin_mm: float, what: str
) -> tuple[npt.NDArray[np.bool_], str]:
    """Voxels of ``region`` whose nearest outside voxel centre is more than ``margin_mm`` away."""
    if margin_mm == 0:
        return region, f"{what}: no margin"
    padded = np.pad(region, 1, constant_values=False)  # the image border counts as outside
    distance = ndimage.distance_transform_edt(padded, sampling=geometry.spacing_mm)
    core = np.asarray(distance[1:-1, 1:-1, 1:-1] > margin_mm)
    if not core.any():
        logger.warning(
            "%s reference region vanishes with a %.3g mm margin; the margin is not applied", what, margin_mm
        )
        return region, f"{what}: region too small for the {margin_mm:g} mm margin, margin not applied"
    return core, f"{what}: voxels > {margin_mm:g} mm from the region edge"


def reference_uptake(
    suv: npt.NDArray[np.floating],
    geometry: Geometry,
    liver: npt.NDArray[np.bool_] | None,
    spleen: npt.NDArray[np.bool_] | None,
    *,
    exclude: npt.NDArray[np.bool_] | None = None,
    margin_mm: float = REFERENCE_MARGIN_MM,
) -> ReferenceUptake:
    """Liver SUV mean and SD and spleen SUV mean, away from lesions and organ edges.

    Each region is the organ mask minus ``exclude`` (e.g. all lesions), then only voxels whose
    nearest voxel centre outside that region (or outside the image) lies more than ``margin_mm``
    away are kept (Euclidean distance in mm on the grid spacing). If nothing is left the margin is
    dropped with a warning (recorded in ``method``).

    Raises
    ------
    GeometryError, MaskError, InputError
        Mismatched shapes, non-boolean or empty organ masks, non-finite SUVs, a negative margin.
    """
    arr = _suv(suv, geometry)
    if not (math.isfinite(margin_mm) and margin_mm >= 0):
        raise InputError(f"reference margin must be ≥ 0 mm, got {margin_mm}")
    ex = (
        _mask(exclude, geometry, "exclude", allow_empty=True)
        if exclude is not None
        else np.zeros(geometry.shape, dtype=bool)
    )
    parts: list[str] = []
    stats: dict[str, tuple[float, float] | None] = {"liver": None, "spleen": None}
    for what, organ in (("liver", liver), ("spleen", spleen)):
        if organ is None:
            parts.append(f"{what}: not given")
            continue
        base = _mask(organ, geometry, what) & ~ex
        if not base.any():
            raise MaskError(f"the {what} mask lies entirely inside the excluded voxels; no reference is left")
        region, text = _reference_region(base, geometry, margin_mm, what)
        values = _finite_in(arr, region, what)
        sd = float(values.std(ddof=1)) if values.size > 1 else 0.0
        stats[what] = (float(values.mean()), sd)
        parts.append(
            f"{text} minus excluded voxels ({values.size} voxels, "
            f"{values.size * geometry.voxel_volume_ml:.4g} mL)"
        )
    liver_stats, spleen_stats = stats["liver"], stats["spleen"]
    return ReferenceUptake(
        liver_suv_mean=liver_stats[0] if liver_stats else None,
        liver_suv_sd=liver_stats[1] if liver_stats else None,
        spleen_suv_mean=spleen_stats[0] if spleen_stats else None,
        method="SUV mean (liver SD with ddof 1) over organ masks; " + "; ".join(parts),
    )


# -- Krenning score --------------------------------------------------------------------------
def _fraction(value: Fraction | float | int | str, name: str) -> Fraction:
    try:
        return value if isinstance(value, Fraction) else Fraction(str(value))
    except (ValueError, ZeroDivisionError) as exc:
        raise ConfigError(f"Krenning scale {name} must be a number, got {value!r}") from exc


@dataclass(frozen=True)
class KrenningScale:
    """Definition of a PET Krenning-type score (configurable; clinical-rules.md §2.8).

    Grades: 4 lesion > spleen (and above the liver band); 3 above the liver band; 2 within the
    band (``= liver``); 1 below it; 0 (only when ``no_uptake_ratio`` is set) below
    ``no_uptake_ratio × liver``. The sources disagree on wording (planar OctreoScan 0 none,
    1 < liver, 2 = liver, 3 > liver, 4 > spleen; PET adaptations compare lesion SUVmax with liver
    and spleen SUVmean), and none gives a numeric band for "= liver".

    Parameters
    ----------
    lesion_statistic:
        Lesion value compared: ``suv_max`` (default), ``suv_peak`` or ``suv_mean``.
    equal_band:
        Relative half-width of "= liver": liver·(1 − band) ≤ lesion ≤ liver·(1 + band). Default
        1/10 (nelm's choice [B]).
    no_uptake_ratio:
        Lesion/liver ratio below which the grade is 0; ``None`` (default) never gives 0, since
        "no uptake" needs a background the liver is not.
    resolution_suv:
        SUVs are rounded (half to even) to this step before the exact ``Fraction`` comparisons,
        so a lesion of 2.2 against a liver of 2.0 with a 10 % band is exactly on the boundary.
    require_spleen:
        Without a spleen value a lesion above the liver band gets ``None`` (3 or 4 unknown) when
        true, 3 when false.
    source:
        Citation of the definition.
    """

    lesion_statistic: Literal["suv_max", "suv_peak", "suv_mean"] = "suv_max"
    equal_band: Fraction = Fraction(1, 10)
    no_uptake_ratio: Fraction | None = None
    resolution_suv: Fraction = Fraction(1, 1000)
    require_spleen: bool = True
    source: str = field(
        default="Krenning grades (planar: 1 < liver, 2 = liver, 3 > liver, 4 > spleen) adapted to PET as "
        "lesion SUVmax vs liver/spleen SUVmean (clinical-rules.md §2.8); ±10 % '= liver' band: nelm [B]"
    )

    def __post_init__(self) -> None:
        if self.lesion_statistic not in ("suv_max", "suv_peak", "suv_mean"):
            raise ConfigError(
                "Krenning lesion_statistic must be suv_max, suv_peak or suv_mean, "
                f"got {self.lesion_statistic!r}"
            )
        band = _fraction(self.equal_band, "equal_band")
        if not 0 <= band < 1:
            raise ConfigError(f"Krenning equal_band must be in [0, 1), got {band}")
        object.__setattr__(self, "equal_band", band)
        res = _fraction(self.resolution_suv, "resolution_suv")
        if res <= 0:
            raise ConfigError(f"Krenning resolution_suv must be positive, got {res}")
        object.__setattr__(self, "resolution_suv", res)
        if self.no_uptake_ratio is not None:
            ratio = _fraction(self.no_uptake_ratio, "no_uptake_ratio")
            if not 0 < ratio <= 1 - band:
                raise ConfigError(f"Krenning no_uptake_ratio must be in (0, 1 − band], got {ratio}")
            object.__setattr__(self, "no_uptake_ratio", ratio)

    def quantise(self, value: float) -> Fraction:
        """``value`` rounded to ``resolution_suv`` as an exact fraction."""
        return round(Fraction(value) / self.resolution_suv) * self.resolution_suv

    def describe(self) -> str:
        """The grades in words, e.g. ``"SUVmax vs liver/spleen SUVmean: 1 < 0.9 × liver, …"``."""
        band = float(self.equal_band)
        stat = {"suv_max": "SUVmax", "suv_peak": "SUVpeak", "suv_mean": "SUVmean"}[self.lesion_statistic]
        grades = [
            f"1 < {1 - band:g} × liver",
            f"2 within {1 - band:g}–{1 + band:g} × liver",
            f"3 > {1 + band:g} × liver",
            "4 also > spleen"
            + (
                " (3 or 4 undecided without a spleen value)"
                if self.require_spleen
                else " (3 without a spleen value)"
            ),
        ]
        if self.no_uptake_ratio is not None:
            grades.insert(0, f"0 < {float(self.no_uptake_ratio):g} × liver")
        return (
            f"lesion {stat} vs liver/spleen SUVmean (rounded to {float(self.resolution_suv):g}): "
            + "; ".join(grades)
        )

    def as_dict(self) -> dict[str, object]:
        """JSON-ready settings (fractions as floats), with :meth:`describe` and the source."""
        return {
            "lesion_statistic": self.lesion_statistic,
            "equal_band": float(self.equal_band),
            "no_uptake_ratio": None if self.no_uptake_ratio is None else float(self.no_uptake_ratio),
            "resolution_suv": float(self.resolution_suv),
            "require_spleen": self.require_spleen,
            "definition": self.describe(),
            "source": self.source,
        }


#: The default scale (see :class:`KrenningScale`).
DEFAULT_KRENNING_SCALE: Final[KrenningScale] = KrenningScale()


def krenning_score(
    lesion: PetLesionUptake, reference: ReferenceUptake, scale: KrenningScale = DEFAULT_KRENNING_SCALE
) -> int | None:
    """Krenning-type grade 0–4 of a lesion, or ``None`` when it cannot be decided.

    ``None`` when the lesion statistic or the liver reference is missing, the liver SUV is not
    positive, or (with ``require_spleen``) the spleen is missing for a lesion above the liver.
    """
    value = getattr(lesion, scale.lesion_statistic)
    if value is None or reference.liver_suv_mean is None:
        return None
    liver = scale.quantise(reference.liver_suv_mean)
    if liver <= 0:
        logger.warning("liver reference SUV %s is not positive; no Krenning score", reference.liver_suv_mean)
        return None
    x = scale.quantise(value)
    if x > liver * (1 + scale.equal_band):
        if reference.spleen_suv_mean is None:
            return None if scale.require_spleen else 3
        return 4 if x > scale.quantise(reference.spleen_suv_mean) else 3
    if x >= liver * (1 - scale.equal_band):
        return 2
    if scale.no_uptake_ratio is not None and x < liver * scale.no_uptake_ratio:
        return 0
    return 1
