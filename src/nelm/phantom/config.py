"""Configuration of the synthetic NELM patient: :class:`PhantomConfig` and its parts.

Every setting has a default, so ``PhantomConfig()`` is the demo patient: seed 0, 12 bilobar
metastases, baseline multiphase CT, 68Ga-DOTATATE PET and hepatobiliary-phase MRI, Tc-99m MAA
planning (SPECT/CT and planar), a right-lobe glass TARE with post-treatment Y-90 PET, and two
follow-up CTs. Constructors validate and raise :class:`~nelm.errors.ConfigError` naming the
field and the offending value; strings are accepted for the enumerations (``"bilobar"``,
``"glass"``, ``"right_lobe"``), as a CLI passes them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import Enum, StrEnum
from typing import Any

from nelm.case.vocabulary import TareDevice
from nelm.errors import ConfigError

__all__ = [
    "AcquisitionConfig",
    "FollowUpConfig",
    "LesionChange",
    "LesionShape",
    "PhantomConfig",
    "Placement",
    "TareConfig",
    "TareDevice",
    "Territory",
]


class Placement(StrEnum):
    """Where the metastases are placed."""

    BILOBAR = "bilobar"
    """Both lobes (at least one lesion in the right lobe and one in the left liver, segments 1–4)."""
    RIGHT = "right"
    """Right lobe only: every lesion lies entirely in segments 5–8."""
    LEFT = "left"
    """Left lobe only: every lesion lies entirely in segments 2–4."""


class LesionShape(StrEnum):
    """Shape of the metastases (axes always parallel to the patient axes)."""

    SPHERE = "sphere"
    ELLIPSOID = "ellipsoid"


class Territory(StrEnum):
    """Liver territory perfused by the MAA and Y-90 injection."""

    WHOLE_LIVER = "whole_liver"
    RIGHT_LOBE = "right_lobe"
    LEFT_LOBE = "left_lobe"

    @property
    def segments(self) -> frozenset[int]:
        """Couinaud-like segments of the territory (see :mod:`nelm.phantom.anatomy`)."""
        if self is Territory.RIGHT_LOBE:
            return frozenset({5, 6, 7, 8})
        if self is Territory.LEFT_LOBE:
            return frozenset({2, 3, 4})
        return frozenset(range(1, 9))


def _enum(cls: type[Enum], value: object, name: str) -> Any:
    try:
        return cls(value)
    except ValueError:
        known = ", ".join(str(m.value) for m in cls)
        raise ConfigError(f"phantom config: {name} = {value!r} is not one of {known}") from None


def _positive(value: float, name: str, *, allow_zero: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"phantom config: {name} must be a finite number, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise ConfigError(f"phantom config: {name} must be {'≥' if allow_zero else '>'} 0, got {value!r}")


def _range(value: tuple[float, float], name: str, lo: float, hi: float) -> tuple[float, float]:
    try:
        a, b = (float(value[0]), float(value[1]))
    except (TypeError, ValueError, IndexError):
        raise ConfigError(f"phantom config: {name} must be a pair (low, high), got {value!r}") from None
    if len(value) != 2 or not (lo <= a <= b <= hi) or not (math.isfinite(a) and math.isfinite(b)):
        raise ConfigError(f"phantom config: {name} = {value!r} must satisfy {lo} ≤ low ≤ high ≤ {hi}")
    return (a, b)


def _fraction(value: float, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ConfigError(f"phantom config: {name} must be between 0 and 1, got {value!r}")


@dataclass(frozen=True)
class LesionChange:
    """An explicit change of one lesion at one follow-up, relative to its first appearance.

    Parameters
    ----------
    scale:
        Linear factor on the semi-axes (volume changes by ``scale³``); 0.1 to 3.
    necrotic_fraction:
        New necrotic-core size as a fraction of the semi-axes (0 to 1, 1 = no enhancing
        tissue left); ``None`` keeps the previous core.
    disappeared:
        The lesion is gone at this follow-up (and stays gone).
    """

    scale: float = 1.0
    necrotic_fraction: float | None = None
    disappeared: bool = False

    def __post_init__(self) -> None:
        _positive(self.scale, "LesionChange.scale")
        if not 0.1 <= self.scale <= 3.0:
            raise ConfigError(f"phantom config: LesionChange.scale must be 0.1–3, got {self.scale}")
        if self.necrotic_fraction is not None:
            _fraction(self.necrotic_fraction, "LesionChange.necrotic_fraction")


@dataclass(frozen=True)
class FollowUpConfig:
    """One follow-up CT (late arterial and portal venous phases).

    Changes are prescribed relative to baseline size: lesions in the treated territory shrink
    by ``treated_scale`` and lose enhancement (their necrotic core grows to
    ``treated_necrotic_fraction`` of the semi-axes); treated lesions whose baseline largest
    diameter is below ``disappear_below_mm`` disappear; untreated lesions grow by
    ``untreated_scale``. ``overrides`` (tracking ID → :class:`LesionChange`) replace the rule
    for single lesions. ``new_lesions`` new metastases appear (new tracking IDs), anywhere in
    the liver, sized like the smaller baseline lesions.

    Parameters
    ----------
    days_after_treatment:
        Days after the Y-90 treatment (after baseline when there is no treatment), > 0.
    """

    days_after_treatment: float
    treated_scale: float = 0.8
    untreated_scale: float = 1.15
    treated_necrotic_fraction: float = 0.6
    disappear_below_mm: float = 10.0
    new_lesions: int = 0
    overrides: Mapping[str, LesionChange] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _positive(self.days_after_treatment, "FollowUpConfig.days_after_treatment")
        for name in ("treated_scale", "untreated_scale"):
            value = getattr(self, name)
            _positive(value, f"FollowUpConfig.{name}")
            if not 0.1 <= value <= 3.0:
                raise ConfigError(f"phantom config: FollowUpConfig.{name} must be 0.1–3, got {value}")
        _fraction(self.treated_necrotic_fraction, "FollowUpConfig.treated_necrotic_fraction")
        _positive(self.disappear_below_mm, "FollowUpConfig.disappear_below_mm", allow_zero=True)
        if (
            isinstance(self.new_lesions, bool)
            or not isinstance(self.new_lesions, int)
            or self.new_lesions < 0
        ):
            raise ConfigError(
                f"phantom config: FollowUpConfig.new_lesions must be an integer ≥ 0, got {self.new_lesions!r}"
            )
        for key, change in self.overrides.items():
            if not isinstance(change, LesionChange):
                raise ConfigError(
                    f"phantom config: override for {key!r} must be a LesionChange, got {change!r}"
                )
        object.__setattr__(self, "overrides", dict(self.overrides))


@dataclass(frozen=True)
class TareConfig:
    """Y-90 radioembolisation with Tc-99m MAA planning.

    Parameters
    ----------
    device:
        Glass or resin microspheres.
    activity_gbq:
        Administered Y-90 activity at the treatment time (GBq), 0.1–20.
    territory:
        Perfused territory of both the MAA and the Y-90 injection.
    tn_ratio:
        Prescribed tumour-to-normal-liver ratio of activity *concentration* (viable tumour vs
        normal perfused liver; Ho et al., Eur J Nucl Med 1996), 0.5–20.
    lung_shunt_fraction:
        Lung activity / (lung + liver activity) of the MAA (and the Y-90), 0–0.5.
    maa_activity_mbq:
        Tc-99m MAA injected activity (MBq).
    maa_days_after_baseline, treatment_days_after_baseline:
        Timing of the MAA work-up and of the treatment (treatment after the MAA).
    y90_pet_delay_h:
        Hours from treatment to the start of the Y-90 PET.
    """

    device: TareDevice = TareDevice.GLASS
    activity_gbq: float = 2.5
    territory: Territory = Territory.RIGHT_LOBE
    tn_ratio: float = 3.0
    lung_shunt_fraction: float = 0.06
    maa_activity_mbq: float = 150.0
    maa_days_after_baseline: float = 21.0
    treatment_days_after_baseline: float = 35.0
    y90_pet_delay_h: float = 22.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "device", _enum(TareDevice, self.device, "TareConfig.device"))
        object.__setattr__(self, "territory", _enum(Territory, self.territory, "TareConfig.territory"))
        _positive(self.activity_gbq, "TareConfig.activity_gbq")
        if not 0.1 <= self.activity_gbq <= 20.0:
            raise ConfigError(
                f"phantom config: TareConfig.activity_gbq must be 0.1–20 GBq, got {self.activity_gbq}"
            )
        _positive(self.tn_ratio, "TareConfig.tn_ratio")
        if not 0.5 <= self.tn_ratio <= 20.0:
            raise ConfigError(f"phantom config: TareConfig.tn_ratio must be 0.5–20, got {self.tn_ratio}")
        lsf = self.lung_shunt_fraction
        if not isinstance(lsf, bool) and isinstance(lsf, (int, float)) and 1.0 < lsf <= 100.0:
            raise ConfigError(
                f"phantom config: TareConfig.lung_shunt_fraction {lsf} is above 1; "
                "give the fraction (e.g. 0.06), not a percentage"
            )
        _fraction(lsf, "TareConfig.lung_shunt_fraction")
        if lsf > 0.5:
            raise ConfigError(
                f"phantom config: TareConfig.lung_shunt_fraction {lsf} is above 0.5, "
                "beyond any treatable shunt"
            )
        _positive(self.maa_activity_mbq, "TareConfig.maa_activity_mbq")
        _positive(self.maa_days_after_baseline, "TareConfig.maa_days_after_baseline")
        _positive(self.treatment_days_after_baseline, "TareConfig.treatment_days_after_baseline")
        if self.treatment_days_after_baseline <= self.maa_days_after_baseline:
            raise ConfigError(
                "phantom config: TareConfig.treatment_days_after_baseline "
                f"({self.treatment_days_after_baseline}) must come after maa_days_after_baseline "
                f"({self.maa_days_after_baseline})"
            )
        _positive(self.y90_pet_delay_h, "TareConfig.y90_pet_delay_h")


@dataclass(frozen=True)
class AcquisitionConfig:
    """Grids, resolution and noise of the synthetic studies.

    Spacings are (slice, row, column) in mm. Resolution is a Gaussian point-spread function of
    the given full width at half maximum (FWHM = 2·sqrt(2·ln 2)·σ ≈ 2.3548·σ).

    Defaults: diagnostic CT 2.5 mm slices × 1.5 mm pixels with in-plane PSF 1.2 mm and a slice
    sensitivity profile equal to the slice thickness, noise σ 12 HU (portal-venous liver CT
    at routine dose is typically 10–15 HU); low-dose CT of the SPECT/CT 4.8 × 3 × 3 mm, σ 30 HU;
    MRI 4 × 2 × 2 mm; SSTR PET 4 mm, 6 mm FWHM, 12 % voxel noise in the liver; MAA SPECT 4.8 mm,
    12 mm FWHM (LEHR collimator at ~10–15 cm), 2e6 counts; planar 4.8 mm pixels, 10 mm FWHM,
    90 counts/s/MBq per view (LEHR planar sensitivity), 300 s per view; Y-90 PET 4 mm, 8 mm FWHM
    (positron range and low count statistics), 35 % voxel noise in normal perfused liver.
    """

    ct_spacing_mm: tuple[float, float, float] = (2.5, 1.5, 1.5)
    ct_psf_fwhm_mm: tuple[float, float, float] = (2.5, 1.2, 1.2)
    ct_noise_hu: float = 12.0
    lowdose_ct_spacing_mm: tuple[float, float, float] = (4.8, 3.0, 3.0)
    lowdose_ct_noise_hu: float = 30.0
    mr_spacing_mm: tuple[float, float, float] = (4.0, 2.0, 2.0)
    mr_noise: float = 20.0
    pet_spacing_mm: float = 4.0
    pet_psf_fwhm_mm: float = 6.0
    pet_liver_noise_cov: float = 0.12
    spect_spacing_mm: float = 4.8
    spect_psf_fwhm_mm: float = 12.0
    spect_total_counts: float = 2.0e6
    planar_psf_fwhm_mm: float = 10.0
    planar_sensitivity_cps_per_mbq: float = 90.0
    planar_duration_s: float = 300.0
    y90_pet_psf_fwhm_mm: float = 8.0
    y90_pet_liver_noise_cov: float = 0.35
    noise: bool = True
    """False gives noise-free (but blurred) images."""

    def __post_init__(self) -> None:
        for name in ("ct_spacing_mm", "ct_psf_fwhm_mm", "lowdose_ct_spacing_mm", "mr_spacing_mm"):
            value = getattr(self, name)
            if len(value) != 3:
                raise ConfigError(
                    f"phantom config: AcquisitionConfig.{name} needs three values, got {value!r}"
                )
            for v in value:
                _positive(v, f"AcquisitionConfig.{name}")
            object.__setattr__(self, name, tuple(float(v) for v in value))
        for name in (
            "pet_spacing_mm",
            "spect_spacing_mm",
            "spect_total_counts",
            "planar_sensitivity_cps_per_mbq",
            "planar_duration_s",
        ):
            _positive(getattr(self, name), f"AcquisitionConfig.{name}")
        for name in (
            "ct_noise_hu",
            "lowdose_ct_noise_hu",
            "mr_noise",
            "pet_psf_fwhm_mm",
            "pet_liver_noise_cov",
            "spect_psf_fwhm_mm",
            "planar_psf_fwhm_mm",
            "y90_pet_psf_fwhm_mm",
            "y90_pet_liver_noise_cov",
        ):
            _positive(getattr(self, name), f"AcquisitionConfig.{name}", allow_zero=True)
        for name in ("ct_spacing_mm", "mr_spacing_mm", "lowdose_ct_spacing_mm"):
            if min(getattr(self, name)) < 0.5:
                raise ConfigError(f"phantom config: AcquisitionConfig.{name} below 0.5 mm would be too slow")
        for name in ("pet_spacing_mm", "spect_spacing_mm"):
            if getattr(self, name) < 1.5:
                raise ConfigError(f"phantom config: AcquisitionConfig.{name} below 1.5 mm would be too slow")


def _default_follow_ups() -> tuple[FollowUpConfig, ...]:
    return (
        FollowUpConfig(
            days_after_treatment=90.0,
            treated_scale=0.8,
            untreated_scale=1.12,
            treated_necrotic_fraction=0.6,
            disappear_below_mm=10.0,
            new_lesions=0,
        ),
        FollowUpConfig(
            days_after_treatment=180.0,
            treated_scale=0.65,
            untreated_scale=1.3,
            treated_necrotic_fraction=0.75,
            disappear_below_mm=10.0,
            new_lesions=2,
        ),
    )


_CET = timezone(timedelta(hours=1), "CET")


@dataclass(frozen=True)
class PhantomConfig:
    """Everything that defines one synthetic patient; generation is deterministic from it.

    Parameters
    ----------
    seed:
        Random seed (≥ 0); the same configuration gives identical arrays and truth.
    n_lesions:
        Number of baseline liver metastases, 1–300.
    placement:
        ``bilobar``, ``right`` or ``left`` (see :class:`Placement`).
    lesion_shape:
        ``sphere`` or ``ellipsoid`` (axis-aligned; the other semi-axes are the largest one times
        a ratio drawn from ``ellipsoid_axis_ratio_range``, the longest axis along a random
        patient axis).
    diameter_range_mm:
        Range of the largest lesion diameter; diameters are log-uniform in it (many small, few
        large lesions). ``None`` (default) chooses (8, 40) mm for up to 12 lesions and shrinks
        both ends by ``(12 / n)^(1/3)`` for more (never below 4 and 12 mm), which keeps the
        expected tumour burden of the default patient (≈ 5 % of the liver) and lets 300
        lesions be placed.
    min_gap_mm:
        Smallest distance between two lesions (between their bounding spheres, including the
        room reserved for their largest follow-up size) and between a lesion and the liver
        surface or an intrahepatic vessel.
    hypervascular_fraction:
        Share of lesions with arterial hyperenhancement and portal-venous washout (the rest
        are hypoenhancing in both phases).
    necrotic_lesion_fraction, necrotic_core_range, necrosis_min_diameter_mm:
        Share of lesions at least ``necrosis_min_diameter_mm`` large that have a non-enhancing
        central core at baseline, and the core size as a fraction of the semi-axes.
    sstr_ratio_range:
        SSTR-PET uptake of viable tumour relative to normal liver, log-uniform (values below 1
        are Krenning-like grade 1–2 lesions, far above 1 grade 4).
    follow_ups:
        The follow-up CTs (default: 90 and 180 days after treatment, two new lesions at the
        second).
    tare:
        The Y-90 treatment with its MAA planning, or ``None`` for no treatment (then no MAA,
        no Y-90 PET, and every lesion counts as untreated at follow-up).
    include_mri, include_pet, include_lowdose_ct:
        Whether to synthesise the baseline hepatobiliary-phase MRI, the baseline SSTR PET and
        the low-dose CT of the MAA SPECT/CT.
    sstr_activity_mbq:
        Injected 68Ga-DOTATATE activity (MBq), injected 1 h after the baseline CT and imaged
        60 min later.
    anatomy_scale:
        Multiplies every organ length (0.8–1.25).
    baseline_datetime:
        Start of the baseline CT (timezone-aware).
    patient_weight_kg, patient_height_m, patient_sex, patient_birth_year:
        Synthetic demographics (used for SUV and written to the manifest).
    acquisition:
        Grids, resolution and noise (:class:`AcquisitionConfig`).
    """

    seed: int = 0
    n_lesions: int = 12
    placement: Placement = Placement.BILOBAR
    lesion_shape: LesionShape = LesionShape.ELLIPSOID
    diameter_range_mm: tuple[float, float] | None = None
    ellipsoid_axis_ratio_range: tuple[float, float] = (0.7, 1.0)
    min_gap_mm: float = 3.0
    hypervascular_fraction: float = 0.85
    necrotic_lesion_fraction: float = 0.3
    necrotic_core_range: tuple[float, float] = (0.3, 0.6)
    necrosis_min_diameter_mm: float = 15.0
    sstr_ratio_range: tuple[float, float] = (0.6, 5.0)
    follow_ups: tuple[FollowUpConfig, ...] = field(default_factory=_default_follow_ups)
    tare: TareConfig | None = field(default_factory=TareConfig)
    include_mri: bool = True
    include_pet: bool = True
    include_lowdose_ct: bool = True
    sstr_activity_mbq: float = 150.0
    anatomy_scale: float = 1.0
    baseline_datetime: datetime = datetime(2026, 1, 12, 9, 0, tzinfo=_CET)
    patient_weight_kg: float = 72.0
    patient_height_m: float = 1.68
    patient_sex: str = "F"
    patient_birth_year: int = 1961
    acquisition: AcquisitionConfig = field(default_factory=AcquisitionConfig)

    def __post_init__(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"phantom config: seed must be an integer ≥ 0, got {self.seed!r}")
        if (
            isinstance(self.n_lesions, bool)
            or not isinstance(self.n_lesions, int)
            or not 1 <= self.n_lesions <= 300
        ):
            raise ConfigError(
                f"phantom config: n_lesions must be an integer from 1 to 300, got {self.n_lesions!r}"
            )
        object.__setattr__(self, "placement", _enum(Placement, self.placement, "placement"))
        object.__setattr__(self, "lesion_shape", _enum(LesionShape, self.lesion_shape, "lesion_shape"))
        if self.diameter_range_mm is not None:
            object.__setattr__(
                self, "diameter_range_mm", _range(self.diameter_range_mm, "diameter_range_mm", 3.0, 120.0)
            )
        object.__setattr__(
            self,
            "ellipsoid_axis_ratio_range",
            _range(self.ellipsoid_axis_ratio_range, "ellipsoid_axis_ratio_range", 0.3, 1.0),
        )
        _positive(self.min_gap_mm, "min_gap_mm", allow_zero=True)
        _fraction(self.hypervascular_fraction, "hypervascular_fraction")
        _fraction(self.necrotic_lesion_fraction, "necrotic_lesion_fraction")
        object.__setattr__(
            self, "necrotic_core_range", _range(self.necrotic_core_range, "necrotic_core_range", 0.0, 0.95)
        )
        _positive(self.necrosis_min_diameter_mm, "necrosis_min_diameter_mm", allow_zero=True)
        object.__setattr__(
            self, "sstr_ratio_range", _range(self.sstr_ratio_range, "sstr_ratio_range", 0.05, 50.0)
        )
        follow_ups = tuple(self.follow_ups)
        for i, fu in enumerate(follow_ups):
            if not isinstance(fu, FollowUpConfig):
                raise ConfigError(f"phantom config: follow_ups[{i}] must be a FollowUpConfig, got {fu!r}")
        days = [fu.days_after_treatment for fu in follow_ups]
        if days != sorted(days) or len(set(days)) != len(days):
            raise ConfigError(f"phantom config: follow-up days must be strictly increasing, got {days}")
        object.__setattr__(self, "follow_ups", follow_ups)
        if self.tare is not None and not isinstance(self.tare, TareConfig):
            raise ConfigError(f"phantom config: tare must be a TareConfig or None, got {self.tare!r}")
        for name in ("include_mri", "include_pet", "include_lowdose_ct"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(
                    f"phantom config: {name} must be true or false, got {getattr(self, name)!r}"
                )
        _positive(self.sstr_activity_mbq, "sstr_activity_mbq")
        _positive(self.anatomy_scale, "anatomy_scale")
        if not 0.8 <= self.anatomy_scale <= 1.25:
            raise ConfigError(f"phantom config: anatomy_scale must be 0.8–1.25, got {self.anatomy_scale}")
        dt = self.baseline_datetime
        if not isinstance(dt, datetime) or dt.tzinfo is None or dt.utcoffset() is None:
            raise ConfigError(f"phantom config: baseline_datetime {dt!r} must be a timezone-aware datetime")
        _positive(self.patient_weight_kg, "patient_weight_kg")
        if not 20 <= self.patient_weight_kg <= 300:
            raise ConfigError(
                f"phantom config: patient_weight_kg must be 20–300 kg, got {self.patient_weight_kg}"
            )
        _positive(self.patient_height_m, "patient_height_m")
        if not 1.0 <= self.patient_height_m <= 2.5:
            raise ConfigError(
                "phantom config: patient_height_m must be 1.0–2.5 m (metres, not cm), "
                f"got {self.patient_height_m}"
            )
        if self.patient_sex not in ("M", "F", "O"):
            raise ConfigError(f"phantom config: patient_sex must be M, F or O, got {self.patient_sex!r}")
        if not 1900 <= self.patient_birth_year <= self.baseline_datetime.year:
            raise ConfigError(f"phantom config: patient_birth_year {self.patient_birth_year} is implausible")
        if not isinstance(self.acquisition, AcquisitionConfig):
            raise ConfigError(
                f"phantom config: acquisition must be an AcquisitionConfig, got {self.acquisition!r}"
            )

    @property
    def effective_diameter_range_mm(self) -> tuple[float, float]:
        """The diameter range actually used (resolves the automatic default)."""
        if self.diameter_range_mm is not None:
            return self.diameter_range_mm
        shrink = min(1.0, (12.0 / self.n_lesions) ** (1.0 / 3.0))
        return (max(8.0 * shrink, 4.0), max(40.0 * shrink, 12.0))

    @property
    def treatment_datetime(self) -> datetime | None:
        """Start of the Y-90 injection (10:30 on the treatment day), or ``None``."""
        if self.tare is None:
            return None
        day = self.baseline_datetime + timedelta(days=self.tare.treatment_days_after_baseline)
        return day.replace(hour=10, minute=30, second=0, microsecond=0)

    @property
    def patient_id(self) -> str:
        """Synthetic, non-identifying patient ID derived from the seed."""
        return f"PHANTOM{self.seed:06d}"

    @property
    def case_id(self) -> str:
        """Case identifier for the manifest."""
        return f"NELM-PHANTOM-{self.seed:04d}"
