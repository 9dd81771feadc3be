"""Planned versus delivered dose: MAA-based (planned) against Y-90-based (delivered) dose maps.

Per structure: planned and delivered mean dose, their difference in Gy and %, voxel-wise
Pearson r and Spearman rho (``scipy.stats``) and any DVH metric of :mod:`nelm.y90.dvh`; over the
whole grid a dose-difference map (delivered − planned) and, in the style of
``JuliaOri/raystation-radioembolization`` (``reference/y90-dosimetry.md`` §1.11), the overlap
(Dice) of the isodose regions at 50 % and 90 % of each map's maximum. Voxel-wise agreement
metrics follow ``mariainesribeiro/MasterThesis`` (Pearson r inside the structures).

**No registration is done.** The two maps are brought onto one grid by trilinear resampling
(:meth:`nelm.imaging.volume.Volume.resample_to`) in the patient coordinates their affines state,
so they must share a frame of reference (same scanner couch position or a hybrid SPECT/CT and
PET/CT registered beforehand). When both maps carry a DICOM FrameOfReferenceUID and the UIDs
differ, the result carries a warning.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt
from scipy import stats

from nelm.errors import ConfigError, GeometryError, InputError, UnitsError
from nelm.imaging.metadata import SeriesMetadata, ValueUnit
from nelm.imaging.volume import Volume, resample_array
from nelm.y90.dvh import DVH, MaskLike, Metric, MetricValue, parse_metric, sample_maps

__all__ = [
    "DoseComparison",
    "IsodoseOverlap",
    "ResampleMode",
    "StructureComparison",
    "compare_doses",
]

logger = logging.getLogger(__name__)

#: Which map is resampled onto which grid; ``"none"`` requires both on the same grid.
ResampleMode = Literal["planned_to_delivered", "delivered_to_planned", "none"]
#: Fewest voxels for which a correlation is reported.
MIN_CORRELATION_SAMPLES = 3


def _optional_finite(value: float | None, what: str) -> float | None:
    if value is None:
        return None
    v = float(value)
    if not math.isfinite(v):
        raise InputError(f"{what} must be finite or None, got {v!r}")
    return v


@dataclass(frozen=True)
class StructureComparison:
    """Planned versus delivered dose in one structure.

    ``pearson_r`` and ``spearman_rho`` are ``None`` (with a note saying why) when undefined:
    fewer than :data:`MIN_CORRELATION_SAMPLES` voxels or a constant dose in either map. They
    count every sampled voxel once (not volume-weighted).

    Raises
    ------
    InputError
        Non-finite means or correlations outside [-1, 1], or metrics with different names.
    """

    name: str
    volume_ml: float
    n_samples: int
    planned_mean_gy: float
    delivered_mean_gy: float
    pearson_r: float | None
    spearman_rho: float | None
    planned_metrics: Mapping[str, MetricValue] = field(default_factory=dict)
    delivered_metrics: Mapping[str, MetricValue] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for what in ("volume_ml", "planned_mean_gy", "delivered_mean_gy"):
            v = float(getattr(self, what))
            if not math.isfinite(v):
                raise InputError(f"structure {self.name!r}: {what} is not finite ({v!r})")
            object.__setattr__(self, what, v)
        if self.volume_ml <= 0 or self.n_samples < 1:
            raise InputError(f"structure {self.name!r}: needs a positive volume and at least one sample")
        for what in ("pearson_r", "spearman_rho"):
            v2 = _optional_finite(getattr(self, what), f"structure {self.name!r} {what}")
            if v2 is not None and not -1.0 - 1e-9 <= v2 <= 1.0 + 1e-9:
                raise InputError(f"structure {self.name!r}: {what} {v2} is outside [-1, 1]")
            object.__setattr__(self, what, v2)
        if set(self.planned_metrics) != set(self.delivered_metrics):
            raise InputError(f"structure {self.name!r}: planned and delivered metrics differ in names")
        object.__setattr__(self, "planned_metrics", dict(self.planned_metrics))
        object.__setattr__(self, "delivered_metrics", dict(self.delivered_metrics))
        object.__setattr__(self, "notes", tuple(self.notes))

    @property
    def difference_gy(self) -> float:
        """Delivered minus planned mean dose (Gy)."""
        return self.delivered_mean_gy - self.planned_mean_gy

    @property
    def difference_percent(self) -> float | None:
        """``100 · (delivered − planned) / planned`` mean dose; ``None`` when the planned mean is 0."""
        if self.planned_mean_gy == 0:
            return None
        return 100.0 * self.difference_gy / self.planned_mean_gy

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary (metric differences in the metric's own unit)."""
        metrics = {
            k: {
                "planned": p.value,
                "delivered": self.delivered_metrics[k].value,
                "difference": self.delivered_metrics[k].value - p.value,
                "unit": p.unit,
            }
            for k, p in self.planned_metrics.items()
        }
        return {
            "name": self.name,
            "volume_ml": self.volume_ml,
            "n_samples": self.n_samples,
            "planned_mean_gy": self.planned_mean_gy,
            "delivered_mean_gy": self.delivered_mean_gy,
            "difference_gy": self.difference_gy,
            "difference_percent": self.difference_percent,
            "pearson_r": self.pearson_r,
            "spearman_rho": self.spearman_rho,
            "metrics": metrics,
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class IsodoseOverlap:
    """Overlap of the planned and delivered isodose regions at ``percent_of_max`` of each maximum.

    A region is every voxel of the common grid whose dose is at least (inclusive)
    ``percent_of_max`` % of its own map's maximum. ``dice = 2|P∩D| / (|P| + |D|)``; ``None``
    when a map has no positive dose.
    """

    percent_of_max: float
    planned_volume_ml: float
    delivered_volume_ml: float
    overlap_volume_ml: float
    dice: float | None

    def __post_init__(self) -> None:
        if not 0 < self.percent_of_max <= 100:
            raise ConfigError(
                f"isodose level must lie in (0, 100] % of the maximum, got {self.percent_of_max!r}"
            )
        if self.dice is not None and not 0.0 <= self.dice <= 1.0:
            raise InputError(f"Dice {self.dice!r} is outside [0, 1]")

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary."""
        return {
            "percent_of_max": self.percent_of_max,
            "planned_volume_ml": self.planned_volume_ml,
            "delivered_volume_ml": self.delivered_volume_ml,
            "overlap_volume_ml": self.overlap_volume_ml,
            "dice": self.dice,
        }


@dataclass(frozen=True, eq=False)
class DoseComparison:
    """Result of :func:`compare_doses`.

    Parameters
    ----------
    structures:
        Structure name → :class:`StructureComparison`.
    difference:
        Delivered − planned dose (Gy, float32) on the common grid; 0 Gy where the resampled
        map does not cover the grid (``uncovered_voxels`` of them).
    resample:
        How the common grid was chosen.
    isodose_overlaps:
        Isodose-region overlaps, one per requested level.
    uncovered_voxels:
        Voxels of the common grid outside the resampled map's grid.
    warnings:
        Caveats for the report (different frames of reference, uncovered voxels).
    """

    structures: Mapping[str, StructureComparison]
    difference: Volume = field(repr=False)
    resample: ResampleMode
    isodose_overlaps: tuple[IsodoseOverlap, ...] = ()
    uncovered_voxels: int = 0
    warnings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.resample not in get_args(ResampleMode):
            raise ConfigError(f"resample must be one of {get_args(ResampleMode)}, got {self.resample!r}")
        if self.difference.units is not ValueUnit.GY:
            raise UnitsError(f"the difference map must be in Gy, got {self.difference.units.value!r}")
        object.__setattr__(self, "structures", dict(self.structures))
        object.__setattr__(self, "isodose_overlaps", tuple(self.isodose_overlaps))
        object.__setattr__(self, "warnings", tuple(self.warnings))

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary, without voxel arrays (the difference map is summarised)."""
        diff = np.asarray(self.difference.array, dtype=np.float64)
        return {
            "resample": self.resample,
            "registration": "none: the maps are assumed to share a frame of reference",
            "difference_grid": self.difference.geometry.to_dict(),
            "difference_min_gy": float(diff.min()),
            "difference_max_gy": float(diff.max()),
            "uncovered_voxels": self.uncovered_voxels,
            "structures": {k: v.to_dict() for k, v in self.structures.items()},
            "isodose_overlaps": [o.to_dict() for o in self.isodose_overlaps],
            "warnings": list(self.warnings),
        }


def _common_grid(
    planned: Volume, delivered: Volume, resample: ResampleMode
) -> tuple[Volume, Volume, npt.NDArray[np.bool_]]:
    """Both maps on the common grid, and which common-grid voxels the resampled map covers."""
    if resample not in get_args(ResampleMode):
        raise ConfigError(f"resample must be one of {list(get_args(ResampleMode))}, got {resample!r}")
    if planned.same_grid(delivered):
        return planned, delivered, np.ones(delivered.shape, dtype=bool)
    if resample == "none":
        delivered.geometry.require_same(planned.geometry, what="delivered dose", other_what="planned dose")
    moving, fixed = (planned, delivered) if resample == "planned_to_delivered" else (delivered, planned)
    moved = moving.resample_to(fixed, interpolation="linear", fill_value=0.0)
    ones = np.ones(moving.shape, dtype=np.float32)
    coverage = resample_array(ones, moving.geometry, fixed.geometry, interpolation="linear", fill_value=0.0)
    covered = np.asarray(coverage, dtype=np.float64) > 0.5
    if resample == "planned_to_delivered":
        return moved, delivered, covered
    return planned, moved, covered


def _correlations(
    planned: npt.NDArray[np.float64], delivered: npt.NDArray[np.float64]
) -> tuple[float | None, float | None, tuple[str, ...]]:
    if planned.size < MIN_CORRELATION_SAMPLES:
        return None, None, (f"correlation undefined: fewer than {MIN_CORRELATION_SAMPLES} voxels",)
    notes = []
    if np.ptp(planned) == 0:
        notes.append("correlation undefined: the planned dose is constant in the structure")
    if np.ptp(delivered) == 0:
        notes.append("correlation undefined: the delivered dose is constant in the structure")
    if notes:
        return None, None, tuple(notes)
    r = float(stats.pearsonr(planned, delivered).statistic)
    rho = float(stats.spearmanr(planned, delivered).statistic)
    return min(1.0, max(-1.0, r)), min(1.0, max(-1.0, rho)), ()


def _isodose(
    planned: npt.NDArray[np.float64],
    delivered: npt.NDArray[np.float64],
    percent: float,
    voxel_ml: float,
) -> IsodoseOverlap:
    p_max, d_max = float(planned.max()), float(delivered.max())
    if p_max <= 0 or d_max <= 0:
        return IsodoseOverlap(float(percent), 0.0, 0.0, 0.0, None)
    a = planned >= p_max * percent / 100.0
    b = delivered >= d_max * percent / 100.0
    na, nb, nab = int(a.sum()), int(b.sum()), int(np.count_nonzero(a & b))
    return IsodoseOverlap(float(percent), na * voxel_ml, nb * voxel_ml, nab * voxel_ml, 2.0 * nab / (na + nb))


def compare_doses(
    planned: Volume,
    delivered: Volume,
    structures: Mapping[str, MaskLike],
    *,
    resample: ResampleMode = "planned_to_delivered",
    metrics: Iterable[str | Metric] = ("mean",),
    isodose_percent: Sequence[float] = (50.0, 90.0),
    supersample: int | None = None,
) -> DoseComparison:
    """Compare a planned (MAA) and a delivered (Y-90) dose map per structure and voxel-wise.

    Parameters
    ----------
    planned, delivered:
        Dose maps in Gy. No registration is done (see the module docstring).
    structures:
        Structure name → mask (see :func:`nelm.y90.dvh.sample_structure`). Each is sampled on
        the common grid from both maps at the same points, so means, correlations and the
        difference map agree.
    resample:
        ``"planned_to_delivered"`` (default: the difference map lies on the delivered grid),
        ``"delivered_to_planned"``, or ``"none"`` (the grids must already match). Trilinear,
        0 Gy outside the resampled map's grid.
    metrics:
        DVH metrics reported for both maps (``"mean"``, ``"D70"``, ``"V100Gy"`` …).
    isodose_percent:
        Isodose levels (% of each map's maximum) whose regions' overlap (Dice) is reported.
    supersample:
        Passed to the structure sampling.

    Raises
    ------
    UnitsError
        A map not in Gy.
    GeometryError
        Grids differ with ``resample="none"``, or a structure reaches outside the part of the
        common grid covered by both maps.
    MaskError, ConfigError
        Empty structure, unknown metric or resample mode, isodose level outside (0, 100].
    """
    for what, vol in (("planned", planned), ("delivered", delivered)):
        if vol.units is not ValueUnit.GY:
            raise UnitsError(f"the {what} dose map is in {vol.units.value!r}; expected Gy")
    parsed = [parse_metric(m) for m in metrics]
    levels = [float(p) for p in isodose_percent]
    for p in levels:
        if not (math.isfinite(p) and 0 < p <= 100):
            raise ConfigError(f"isodose level must lie in (0, 100] % of the maximum, got {p!r}")
    warnings: list[str] = []
    for_p = planned.metadata.frame_of_reference_uid
    for_d = delivered.metadata.frame_of_reference_uid
    if for_p and for_d and for_p != for_d:
        warnings.append(
            "planned and delivered dose maps have different frames of reference (their Frame of Reference "
            "UIDs differ); nelm does not register them: register the maps first or the comparison is "
            "meaningless unless both studies share the patient frame"
        )
    p_c, d_c, covered = _common_grid(planned, delivered, resample)
    uncovered = int(covered.size - np.count_nonzero(covered))
    if uncovered:
        moved = "planned" if resample == "planned_to_delivered" else "delivered"
        warnings.append(
            f"{uncovered} voxels of the common grid lie outside the {moved} dose grid; "
            "the difference map holds 0 Gy there"
        )
    p_arr = np.asarray(p_c.array, dtype=np.float64)
    d_arr = np.asarray(d_c.array, dtype=np.float64)
    cover_vol = d_c.with_array(covered.astype(np.float64), units=ValueUnit.ARBITRARY)
    results: dict[str, StructureComparison] = {}
    for name, mask in structures.items():
        if not name:
            raise InputError("every structure needs a non-empty name")
        (cov, pv, dv), vol_ml = sample_maps([cover_vol, p_c, d_c], mask, name=name, supersample=supersample)
        outside = int(np.count_nonzero(cov < 1.0 - 1e-9))
        if outside:
            raise GeometryError(
                f"structure {name!r}: {outside} sample points lie outside the region covered by both dose "
                "maps; enlarge the reconstructed field of view or crop the structure"
            )
        p_dvh = DVH.from_samples(pv, vol_ml, name)
        d_dvh = DVH.from_samples(dv, vol_ml, name)
        r, rho, notes = _correlations(pv, dv)
        results[name] = StructureComparison(
            name=name,
            volume_ml=p_dvh.volume_ml,
            n_samples=p_dvh.n_samples,
            planned_mean_gy=p_dvh.mean_gy,
            delivered_mean_gy=d_dvh.mean_gy,
            pearson_r=r,
            spearman_rho=rho,
            planned_metrics=p_dvh.metrics(parsed),
            delivered_metrics=d_dvh.metrics(parsed),
            notes=notes,
        )
    diff = np.where(covered, d_arr - p_arr, 0.0).astype(np.float32)
    meta = SeriesMetadata(
        source="nelm.y90.compare",
        series_description="Dose difference (delivered - planned)",
        frame_of_reference_uid=d_c.metadata.frame_of_reference_uid or p_c.metadata.frame_of_reference_uid,
    )
    difference = Volume(
        array=diff, geometry=d_c.geometry, modality="RTDOSE", units=ValueUnit.GY, metadata=meta
    )
    voxel_ml = d_c.geometry.voxel_volume_ml
    overlaps = tuple(
        _isodose(np.where(covered, p_arr, 0.0), np.where(covered, d_arr, 0.0), p, voxel_ml) for p in levels
    )
    for w in warnings:
        logger.warning(w)
    return DoseComparison(
        structures=results,
        difference=difference,
        resample=resample,
        isodose_overlaps=overlaps,
        uncovered_voxels=uncovered,
        warnings=tuple(warnings),
    )
