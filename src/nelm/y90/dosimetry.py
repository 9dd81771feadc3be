"""Post-treatment (and MAA-based) Y-90 voxel dosimetry: activity calibration and absorbed dose.

Sources: ``reference/y90-dosimetry.md`` §2.5 and §6 items 7-8; EANM Dosimetry Committee SOP
(Chiesa et al., EJNMMI Phys 2021, doi 10.1186/s40658-021-00394-3); MIRD Pamphlets 17 and 21.

Activity at administration per voxel (MBq), permanent trapping (microspheres do not wash out):

* :func:`activity_from_pet` — absolute, from a Y-90 PET in Bq/mL:
  ``A0_v = C_v · V_voxel · 2^(Δt/T½)``, Δt from the administration to the PET's acquisition
  start. The input must hold the activity concentration at acquisition time, which is what
  nelm's PET loader gives for DICOM ``DecayCorrection`` START (decay-corrected to the scan
  start); a header saying ``ADMIN`` (already at administration) is not decayed again.
* :func:`activity_patient_relative` — bremsstrahlung SPECT or MAA SPECT, scaled to the
  administered activity: ``A0_v = A_adm · (1 − LSF) · (1 − R) · C_v / Σ_mask C`` (EANM SOP).
  The sum runs over the normalisation mask (liver or perfused territory), never over the
  field of view (the Taranis caveat, §1.1, §6 item 7).

Absorbed dose (:func:`absorbed_dose`), with ρ_v the voxel density (a density map floored at
``minimum_density_g_per_ml``, or the reference density) and V the voxel volume:

* local energy deposition (EANM default): ``D_v = K · A0_v / (ρ_v · V)`` with the dose
  coefficient K (Gy·kg/GBq);
* kernel convolution (MIRD 17): ``D = (Ã ⊛ S) · ρ_kernel / ρ_v`` with ``Ã = A0 · τ``
  (MBq·s, τ the mean life) and S the voxel S-values of the grid (mGy/(MBq·s),
  :mod:`nelm.y90.kernels`), linear FFT convolution (:mod:`nelm.y90.convolve`).

Both distribute the same energy per decay (``constants.energy_per_decay_j``), so in the
interior of a uniform region they agree. The factor ``ρ_kernel/ρ_v`` is the first-order
density correction (PyTheranostics' ``dose/ρ(HU)``); it is exact for a uniform medium and
approximate at interfaces. Air would blow it up (PyTheranostics issue #41), so ρ_v is floored
at ``minimum_density_g_per_ml`` (default 0.1 g/mL: below lung, ≈ 0.26, so lungs keep their
correction while air is capped at about ten times the soft-tissue dose of the same energy).
Without a density map ρ_v is the reference density, by default the constants' liver density
(1.03 g/mL, as in the planning formulas), and nelm's kernel is computed for that density.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from fractions import Fraction
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from nelm.errors import ConfigError, GeometryError, InputError, MaskError, UnitsError
from nelm.imaging.labelmap import LabelMap
from nelm.imaging.metadata import SeriesMetadata, ValueUnit
from nelm.imaging.volume import Volume
from nelm.y90.checks import decimal_fraction, finite_number
from nelm.y90.constants import DEFAULT_CONSTANTS, Y90Constants
from nelm.y90.convolve import convolve_linear
from nelm.y90.kernels import VoxelKernel, voxel_kernel

__all__ = [
    "AIR_DENSITY_G_PER_ML",
    "DEFAULT_MINIMUM_DENSITY_G_PER_ML",
    "ActivityMap",
    "ActivityMethod",
    "DoseMap",
    "DoseMethod",
    "OutsideMask",
    "absorbed_dose",
    "activity_from_pet",
    "activity_patient_relative",
    "density_from_hu",
]

logger = logging.getLogger(__name__)

#: Dry air at 20 °C and 101.325 kPa (g/mL).
AIR_DENSITY_G_PER_ML: Final[float] = 0.0012
#: Floor of the voxel density in the density correction (g/mL), see the module docstring.
DEFAULT_MINIMUM_DENSITY_G_PER_ML: Final[float] = 0.1
_HALF_LIFE_HEADER_TOLERANCE: Final[float] = 0.01


class DoseMethod(StrEnum):
    """How activity becomes absorbed dose."""

    LOCAL_DEPOSITION = "local_deposition"
    KERNEL = "kernel"


class ActivityMethod(StrEnum):
    """How an image became activity at administration."""

    PET_ABSOLUTE = "pet_absolute"
    PATIENT_RELATIVE = "patient_relative"


class OutsideMask(StrEnum):
    """Patient-relative calibration: what happens to counts outside the normalisation mask."""

    ZERO = "zero"
    """Set to zero: the map holds exactly A·(1 − LSF)·(1 − R), all of it in the mask."""
    KEEP = "keep"
    """Scaled like the counts inside: extrahepatic uptake keeps its relative activity, on top."""


def _require_volume(image: object, what: str) -> Volume:
    if not isinstance(image, Volume):
        raise InputError(f"{what} must be a nelm Volume, got {type(image).__name__}")
    return image


def _checked_values(image: Volume, what: str, *, clip_negative: bool) -> npt.NDArray[np.float64]:
    values = np.asarray(image.array, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise InputError(f"{what} holds NaN or infinite voxel values")
    negative = int(np.count_nonzero(values < 0))
    if negative and not clip_negative:
        raise InputError(
            f"{what} has {negative} negative voxels (minimum {float(values.min()):.4g} {image.units.value}); "
            "activity cannot be negative: fix the reconstruction or pass clip_negative=True"
        )
    return np.maximum(values, 0.0) if negative else values


@dataclass(frozen=True, eq=False)
class ActivityMap:
    """Activity at administration per voxel (MBq), assuming permanent trapping.

    Parameters
    ----------
    activity_mbq:
        Voxel activities at the administration time (MBq per voxel; the volume's ``units``
        is ``arbitrary`` because :class:`~nelm.imaging.metadata.ValueUnit` has no activity unit).
    method:
        How it was calibrated.
    administration_datetime:
        The time the activity refers to, when known.
    notes:
        Calibration details for the report.

    Raises
    ------
    InputError
        Non-finite or negative activities, or no activity at all.
    """

    activity_mbq: Volume
    method: ActivityMethod
    administration_datetime: datetime | None = None
    notes: tuple[str, ...] = ()
    total_mbq: float = field(init=False)

    def __post_init__(self) -> None:
        vol = _require_volume(self.activity_mbq, "activity map")
        object.__setattr__(self, "method", ActivityMethod(self.method))
        values = np.asarray(vol.array)
        low, high = values.min(), values.max()  # NaN and ±inf propagate to min/max
        if not (np.isfinite(low) and np.isfinite(high)) or low < 0:
            raise InputError("activity map: activities must be finite and non-negative")
        total = float(values.sum(dtype=np.float64))
        if total <= 0:
            raise InputError("activity map: the image holds no activity")
        object.__setattr__(self, "total_mbq", total)
        object.__setattr__(self, "notes", tuple(self.notes))

    def to_dict(self) -> dict[str, Any]:
        """Metadata (not the array), JSON-serialisable."""
        when = self.administration_datetime
        return {
            "method": self.method.value,
            "total_mbq": self.total_mbq,
            "administration_datetime": when.isoformat() if when else None,
            "grid": self.activity_mbq.geometry.to_dict(),
            "notes": list(self.notes),
        }


def activity_from_pet(
    pet: Volume,
    administration_datetime: datetime,
    *,
    clip_negative: bool = False,
    constants: Y90Constants = DEFAULT_CONSTANTS,
) -> ActivityMap:
    """Activity at administration per voxel from a quantitative Y-90 PET (Bq/mL).

    ``A0_v [MBq] = C_v [Bq/mL] · V_voxel [mL] · 2^(Δt/T½) / 10⁶`` with Δt from
    ``administration_datetime`` to ``pet.acquisition_datetime`` (both timezone-aware).

    Parameters
    ----------
    pet:
        Activity concentration at acquisition time (``units`` Bq/mL).
    administration_datetime:
        Start of the Y-90 administration, timezone-aware.
    clip_negative:
        Set negative voxels (some reconstructions) to zero instead of refusing them.
    constants:
        Supplies the half-life.

    Raises
    ------
    UnitsError
        The PET is not in Bq/mL (counts, SUV …).
    InputError
        A naive or date-only administration time, a PET without acquisition datetime, a PET
        before the administration, a header half-life that is not Y-90's, negative or
        non-finite voxels.
    """
    pet = _require_volume(pet, "Y-90 PET")
    if pet.units is not ValueUnit.BQ_PER_ML:
        raise UnitsError(
            f"Y-90 PET: voxel values are in {pet.units.value!r}; absolute dosimetry needs activity "
            "concentration in Bq/mL (use the patient-relative calibration for counts)"
        )
    if not isinstance(administration_datetime, datetime):
        kind = "a date without a time" if isinstance(administration_datetime, date) else "not a datetime"
        raise InputError(
            f"administration_datetime is {kind} ({administration_datetime!r}); Y-90 decays about 1 % per "
            "hour: give the date and time of the administration with its timezone"
        )
    if administration_datetime.tzinfo is None or administration_datetime.utcoffset() is None:
        raise InputError(
            f"administration_datetime {administration_datetime.isoformat()} has no timezone; give a "
            "timezone-aware date-time"
        )
    scan = pet.acquisition_datetime
    if scan is None:
        raise InputError(
            "Y-90 PET: acquisition_datetime is missing; the decay from administration to the scan "
            "cannot be corrected (check Acquisition Date/Time in the PET header)"
        )
    elapsed_s = (scan - administration_datetime).total_seconds()
    if elapsed_s < 0:
        raise InputError(
            f"Y-90 PET: acquisition_datetime {scan.isoformat()} is before the administration "
            f"{administration_datetime.isoformat()}; check both dates and timezones"
        )
    notes = [f"PET {elapsed_s / 3600.0:.2f} h after administration"]
    radio = pet.metadata.radiopharmaceutical
    header_half_life_s = radio.half_life_s if radio is not None else None
    if (
        header_half_life_s
        and abs(header_half_life_s / constants.half_life_s - 1.0) > _HALF_LIFE_HEADER_TOLERANCE
    ):
        raise InputError(
            f"Y-90 PET: the header's radionuclide half-life is {header_half_life_s:.0f} s, not Y-90's "
            f"{constants.half_life_s:.0f} s; is this the Y-90 series?"
        )
    if radio is not None and radio.decay_correction.upper() == "ADMIN":
        factor = 1.0
        notes.append("header DecayCorrection ADMIN: values already refer to the administration")
    else:
        factor = 2.0 ** (elapsed_s / constants.half_life_s)
        notes.append(f"decay correction to administration ×{factor:.5f} (T½ {constants.half_life_h} h)")
    values = _checked_values(pet, "Y-90 PET", clip_negative=clip_negative)
    mbq = values * (pet.geometry.voxel_volume_ml * factor / 1e6)
    activity = pet.with_array(mbq.astype(np.float32), units=ValueUnit.ARBITRARY)
    return ActivityMap(activity, ActivityMethod.PET_ABSOLUTE, administration_datetime, tuple(notes))


def activity_patient_relative(
    image: Volume,
    administered_activity_gbq: float,
    normalisation_mask: LabelMap | npt.NDArray[np.bool_],
    *,
    lung_shunt_fraction: float = 0.0,
    residual_fraction: float = 0.0,
    outside_mask: OutsideMask | str = OutsideMask.ZERO,
) -> ActivityMap:
    """Activity at administration per voxel, scaled to the administered activity (EANM SOP).

    ``A0_v = A_adm · (1 − LSF) · (1 − R) · C_v / Σ_mask C``.

    Parameters
    ----------
    image:
        Bremsstrahlung or MAA SPECT (``counts`` or ``Bq/mL``; only ratios are used).
    administered_activity_gbq:
        Activity at administration (GBq), > 0.
    normalisation_mask:
        Liver or perfused territory, as a label map on the image grid or a boolean array of
        the image shape.
    lung_shunt_fraction, residual_fraction:
        LSF and residual fraction, each in [0, 1): 0 inclusive, 1 exclusive, compared exactly
        on the decimal written (``Fraction(repr(value))``).
    outside_mask:
        :attr:`OutsideMask.ZERO` (default) sets counts outside the mask to zero;
        :attr:`OutsideMask.KEEP` scales them like the inside (their activity then comes on
        top of the calibrated total).

    Raises
    ------
    UnitsError
        An image that is not counts or Bq/mL.
    GeometryError
        A mask on another grid.
    MaskError
        An empty mask or no counts inside it.
    InputError
        Non-positive activity, LSF or residual outside [0, 1), negative or non-finite counts.
    """
    image = _require_volume(image, "SPECT image")
    if image.units not in (ValueUnit.COUNTS, ValueUnit.BQ_PER_ML):
        raise UnitsError(
            f"patient-relative calibration: the image is in {image.units.value!r}; it needs counts or Bq/mL"
        )
    activity_gbq = finite_number(administered_activity_gbq, "administered_activity_gbq")
    if activity_gbq <= 0:
        raise InputError(f"administered_activity_gbq must be positive, got {activity_gbq}")
    lsf = finite_number(lung_shunt_fraction, "lung_shunt_fraction")
    residual = finite_number(residual_fraction, "residual_fraction")
    for name, value in (("lung_shunt_fraction", lsf), ("residual_fraction", residual)):
        if not Fraction(0) <= decimal_fraction(value) < Fraction(1):
            raise InputError(f"{name} = {value} must be in [0, 1) (a fraction, not a percentage)")
    try:
        outside = OutsideMask(outside_mask)
    except ValueError as exc:
        raise ConfigError(
            f"outside_mask must be one of {[o.value for o in OutsideMask]}, got {outside_mask!r}"
        ) from exc
    if isinstance(normalisation_mask, LabelMap):
        image.geometry.require_same(
            normalisation_mask.geometry, what="the SPECT image", other_what="the mask"
        )
        mask = normalisation_mask.any_mask()
    else:
        mask = np.asarray(normalisation_mask) != 0
        if mask.shape != image.shape:
            raise GeometryError(
                f"normalisation mask shape {mask.shape} does not match the image's {image.shape}"
            )
    if not mask.any():
        raise MaskError("patient-relative calibration: the normalisation mask is empty")
    counts = _checked_values(image, "SPECT image", clip_negative=False)
    inside = float(counts[mask].sum())
    if inside <= 0:
        raise MaskError("patient-relative calibration: the image has no counts inside the normalisation mask")
    target_mbq = activity_gbq * 1000.0 * (1.0 - lsf) * (1.0 - residual)
    mbq = counts * (target_mbq / inside)
    notes = [
        f"patient-relative: {activity_gbq:g} GBq × (1 − LSF {lsf:g}) × (1 − R {residual:g}) spread "
        "in proportion to the counts inside the normalisation mask (EANM SOP)"
    ]
    if outside is OutsideMask.ZERO:
        mbq[~mask] = 0.0
    else:
        extra = float(mbq[~mask].sum())
        notes.append(f"counts outside the mask kept at the same scale: {extra:.4g} MBq on top of the total")
    activity = image.with_array(mbq.astype(np.float32), units=ValueUnit.ARBITRARY)
    return ActivityMap(activity, ActivityMethod.PATIENT_RELATIVE, None, tuple(notes))


def density_from_hu(
    ct: Volume,
    *,
    calibration: Sequence[tuple[float, float]] | None = None,
    air_density_g_per_ml: float = AIR_DENSITY_G_PER_ML,
) -> Volume:
    """Mass density (g/mL) from a CT in Hounsfield units.

    Default: ``ρ = 1 + HU/1000`` (the Hounsfield scale's own two points, water 0 HU and air
    −1000 HU: exact for water–air mixtures such as lung, within a few % for soft tissue and
    fat; it overestimates dense bone), floored at the density of air. Density calibration is
    scanner-specific (Mull RT, AJR 1984;143:1101, "Mass estimates by computed tomography:
    physical density from CT numbers"): pass the scanner's curve as ``calibration``, (HU,
    g/mL) points with increasing HU, interpolated linearly and held constant beyond the ends
    (the air floor applies to it too).

    Raises
    ------
    UnitsError
        The image is not in HU.
    ConfigError
        A calibration with fewer than 2 points, non-increasing HU or non-positive densities.
    InputError
        NaN or infinite HU values.
    """
    ct = _require_volume(ct, "CT")
    if ct.units is not ValueUnit.HU:
        raise UnitsError(f"density from CT: the image is in {ct.units.value!r}, not HU")
    hu = np.asarray(ct.array, dtype=np.float32)
    if not np.all(np.isfinite(hu)):
        raise InputError("density from CT: the CT holds NaN or infinite values")
    floor = finite_number(air_density_g_per_ml, "air_density_g_per_ml")
    if calibration is None:
        rho = 1.0 + hu / np.float32(1000.0)
    else:
        points = np.asarray(calibration, dtype=np.float64)
        if points.ndim != 2 or points.shape[0] < 2 or points.shape[1] != 2:
            raise ConfigError("density calibration: give at least two (HU, g/mL) points")
        if np.any(np.diff(points[:, 0]) <= 0) or np.any(points[:, 1] <= 0) or not np.all(np.isfinite(points)):
            raise ConfigError("density calibration: HU must increase and densities must be positive")
        rho = np.interp(hu, points[:, 0], points[:, 1]).astype(np.float32)
    rho = np.maximum(rho, np.float32(floor)).astype(np.float32)
    meta = SeriesMetadata(source=f"density from {ct.metadata.source or 'CT'}")
    return Volume(rho, ct.geometry, "CT", ValueUnit("g/mL"), ct.acquisition_datetime, meta)


@dataclass(frozen=True, eq=False)
class DoseMap:
    """Absorbed dose per voxel and how it was computed.

    Parameters
    ----------
    dose_gy:
        Absorbed dose (Gy, float32, modality RTDOSE), on the activity grid.
    method:
        Local deposition or kernel convolution.
    kernel_source:
        Citation of the voxel S-values (empty for local deposition).
    constants:
        The constants used.
    reference_density_g_per_ml:
        Density of tissue without a density map.
    density_corrected:
        Whether a density map was used.
    notes:
        Details for the report.

    Raises
    ------
    UnitsError
        A dose volume not in Gy.
    InputError
        Negative, non-finite or non-float32 doses; a kernel method without kernel source.
    """

    dose_gy: Volume
    method: DoseMethod
    kernel_source: str
    constants: Y90Constants
    reference_density_g_per_ml: float
    density_corrected: bool = False
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        vol = _require_volume(self.dose_gy, "dose map")
        if vol.units is not ValueUnit.GY:
            raise UnitsError(f"dose map: the volume is in {vol.units.value!r}, not Gy")
        values = np.asarray(vol.array)
        low, high = (values.min(), values.max()) if values.size else (0.0, 0.0)
        if values.dtype != np.float32 or not (np.isfinite(low) and np.isfinite(high)) or low < 0:
            raise InputError("dose map: doses must be finite, non-negative float32 values")
        object.__setattr__(self, "method", DoseMethod(self.method))
        if self.method is DoseMethod.KERNEL and not self.kernel_source:
            raise InputError("dose map: a kernel dose needs the kernel's source")
        object.__setattr__(self, "notes", tuple(self.notes))

    def to_dict(self) -> dict[str, Any]:
        """Metadata (not the array), JSON-serialisable."""
        return {
            "method": self.method.value,
            "kernel_source": self.kernel_source,
            "reference_density_g_per_ml": self.reference_density_g_per_ml,
            "density_corrected": self.density_corrected,
            "max_dose_gy": float(np.max(self.dose_gy.array)),
            "grid": self.dose_gy.geometry.to_dict(),
            "constants": self.constants.as_dict(),
            "notes": list(self.notes),
        }


def _density_array(density: Volume, activity: Volume, minimum: float) -> npt.NDArray[np.float32]:
    density = _require_volume(density, "density map")
    if density.units is ValueUnit.HU:
        raise UnitsError("density map is a CT in HU: convert it with nelm.y90.dosimetry.density_from_hu")
    if density.units.value != "g/mL" or density.modality in ("PT", "NM"):
        raise UnitsError(
            f"density map: a {density.modality} volume in {density.units.value!r} is not a mass density "
            "map in g/mL (an SUV PET is not a density)"
        )
    activity.geometry.require_same(density.geometry, what="the activity map", other_what="the density map")
    rho = np.asarray(density.array, dtype=np.float32)
    if not np.all(np.isfinite(rho)):
        raise InputError("density map holds NaN or infinite values")
    return np.maximum(rho, np.float32(minimum))


def absorbed_dose(
    activity: ActivityMap,
    *,
    method: DoseMethod | str = DoseMethod.KERNEL,
    kernel: VoxelKernel | None = None,
    density: Volume | None = None,
    reference_density_g_per_ml: float | None = None,
    minimum_density_g_per_ml: float = DEFAULT_MINIMUM_DENSITY_G_PER_ML,
    constants: Y90Constants = DEFAULT_CONSTANTS,
) -> DoseMap:
    """Absorbed dose of an activity map, by local deposition or kernel convolution.

    Parameters
    ----------
    activity:
        Activity at administration per voxel.
    method:
        :attr:`DoseMethod.KERNEL` (default) or :attr:`DoseMethod.LOCAL_DEPOSITION`.
    kernel:
        Voxel S-values for the grid (e.g. a Lanconelli table of the same voxel size); default:
        computed by :func:`nelm.y90.kernels.voxel_kernel` for the grid and reference density.
    density:
        Mass density map (g/mL, e.g. :func:`density_from_hu`) on the activity grid.
    reference_density_g_per_ml:
        Tissue density without a map; default ``constants.liver_density_g_per_ml``.
    minimum_density_g_per_ml:
        Floor of the density map (keeps the correction finite in air).
    constants:
        Dose coefficient, half-life, densities.

    Raises
    ------
    GeometryError
        A density map on another grid, a kernel of another voxel size, an oblique grid
        (kernel method).
    UnitsError
        A density map not in g/mL.
    ConfigError
        An unknown method or a density setting out of range.
    """
    if not isinstance(activity, ActivityMap):
        raise InputError(f"absorbed dose needs an ActivityMap, got {type(activity).__name__}")
    try:
        method = DoseMethod(method)
    except ValueError as exc:
        raise ConfigError(
            f"dose method must be one of {[m.value for m in DoseMethod]}, got {method!r}"
        ) from exc
    rho_ref = (
        constants.liver_density_g_per_ml if reference_density_g_per_ml is None else reference_density_g_per_ml
    )
    rho_ref = finite_number(rho_ref, "reference_density_g_per_ml")
    minimum = finite_number(minimum_density_g_per_ml, "minimum_density_g_per_ml")
    if not 0.5 <= rho_ref <= 3.0:
        raise ConfigError(f"reference_density_g_per_ml must be 0.5-3 g/mL, got {rho_ref}")
    if not 0.0 < minimum <= rho_ref:
        raise ConfigError(f"minimum_density_g_per_ml must be in (0, {rho_ref}], got {minimum}")
    vol = activity.activity_mbq
    geometry = vol.geometry
    rho: npt.NDArray[np.float32] | float = rho_ref
    if density is not None:
        rho = _density_array(density, vol, minimum)
    a0_mbq = np.asarray(vol.array, dtype=np.float32)
    notes: list[str] = []
    if method is DoseMethod.LOCAL_DEPOSITION:
        voxel_ml = geometry.voxel_volume_ml
        gy_per_mbq = constants.dose_coefficient_gy_kg_per_gbq / 1000.0 / (voxel_ml / 1000.0)
        if isinstance(rho, np.ndarray):
            dose = a0_mbq * np.float32(gy_per_mbq) / rho
        else:
            dose = a0_mbq * np.float32(gy_per_mbq / rho)
        source = ""
        notes.append("local energy deposition (EANM SOP default)")
    else:
        if not geometry.is_orthogonal:
            raise GeometryError(
                f"kernel dosimetry needs an orthogonal grid (voxel boxes); got {geometry.describe()}"
            )
        if kernel is None:
            kernel = voxel_kernel(geometry.spacing_mm, density_g_per_ml=rho_ref, constants=constants)
        elif not isinstance(kernel, VoxelKernel):
            raise InputError(f"kernel must be a VoxelKernel, got {type(kernel).__name__}")
        else:
            kernel.require_spacing(geometry.spacing_mm)
        # Ã = A0·τ, mGy → Gy and ρ_kernel/ρ_v folded into the (small) kernel: one pass over the grid
        s_gy_per_mbq = kernel.s_values_mgy_per_mbq_s * (
            constants.mean_life_s * kernel.density_g_per_ml / 1000.0
        )
        if isinstance(rho, np.ndarray):
            dose = convolve_linear(a0_mbq, s_gy_per_mbq)
            dose /= rho
        else:
            dose = convolve_linear(a0_mbq, s_gy_per_mbq / rho)
        np.maximum(dose, np.float32(0.0), out=dose)  # FFT round-off (~1e-7 of the maximum) below zero
        source = kernel.source
        notes.append(
            f"kernel convolution, {'×'.join(str(n) for n in kernel.shape)} S-values, "
            f"truncated energy {kernel.truncated_energy_fraction:.1e}"
        )
    if density is not None:
        notes.append(f"density-corrected, density floored at {minimum:g} g/mL")
    dose32 = np.asarray(dose, dtype=np.float32)
    meta = SeriesMetadata(
        source="nelm absorbed dose",
        study_instance_uid=vol.metadata.study_instance_uid,
        frame_of_reference_uid=vol.metadata.frame_of_reference_uid,
        identity=vol.metadata.identity,
    )
    dose_volume = Volume(dose32, geometry, "RTDOSE", ValueUnit.GY, vol.acquisition_datetime, meta)
    return DoseMap(
        dose_volume,
        method,
        source,
        constants,
        rho_ref,
        density_corrected=density is not None,
        notes=tuple(notes),
    )
