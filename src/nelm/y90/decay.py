"""Y-90 vial logistics: decay between date-times, vial choice and activity lost on delivery.

Decay (reference ``y90-dosimetry.md`` §2.6): ``A(t) = A_ref · 2^(−Δt / T½)`` with T½ from
:class:`~nelm.y90.constants.Y90Constants` (64.1 h, TheraSphere package insert v12). Δt is the
**true elapsed time** between two timezone-aware date-times, computed in UTC
(:func:`nelm.imaging.dicom_datetime.elapsed_s`): Python subtracts two datetimes that share one
``zoneinfo`` zone by wall clock, which is an hour wrong across a daylight-saving change (Europe/Berlin
loses an hour on 2026-03-29). A naive datetime, or a local time that does not exist because the
clocks skip it, is an :class:`~nelm.errors.InputError` naming the field.

Decaying *backwards* (an end before the start, e.g. a treatment before the vial's calibration) is
refused unless the caller asks for it with ``allow_before=True``, so that a swapped or mistyped
date cannot silently give a larger activity.

Vial choice (:func:`choose_vial`): the vial must hold ``A_presc / (1 − R)`` at treatment (the
residual fraction ``R`` stays in the vial and delivery set; Hoang et al., JVIR, "Quantification of
Activity Lost to Delivery System Residual and Decay in Y90 RE"; reference §6 item 2), i.e.
``A_presc / (1 − R) · 2^(Δt / T½)`` at its calibration. The smallest catalogue size at least that
large is chosen. TheraSphere glass vials: :data:`DEFAULT_GLASS_VIAL_SIZES_GBQ` (insert v12; newer
instructions allow custom sizes in 0.5 GBq steps, so the sizes are an argument). SIR-Spheres resin:
one 3 GBq vial (:data:`DEFAULT_RESIN_VIAL_SIZES_GBQ`, reference §2.3) from which a fraction is
drawn. The reference document gives no vial volume, so the volume to draw is reported only when the
caller gives the vial's volume (the SIR-Spheres instructions state 3 GBq in 5 mL; not verified
here).

Delivery losses (:func:`delivery_losses`) reproduce Hoang et al.'s quantities: the decay between
the vial assay and the administration (median 2.20 h → 2.35 %) and the residual (median 0.61 %
glass, 3.01 % resin).
"""

from __future__ import annotations

import logging
import math
import numbers
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any, Final

from nelm.case.vocabulary import TareDevice
from nelm.errors import InputError
from nelm.imaging.dicom_datetime import elapsed_s
from nelm.y90.checks import residual_fraction as check_residual
from nelm.y90.constants import DEFAULT_CONSTANTS, Y90Constants

__all__ = [
    "DEFAULT_GLASS_VIAL_SIZES_GBQ",
    "DEFAULT_RESIN_VIAL_SIZES_GBQ",
    "DeliveryLosses",
    "Vial",
    "VialChoice",
    "activity_at",
    "activity_needed_at",
    "choose_vial",
    "decay_factor",
    "delivery_losses",
    "require_aware",
]

logger = logging.getLogger(__name__)

#: TheraSphere glass-microsphere vial sizes (GBq at calibration), package insert v12 (reference §2.6).
DEFAULT_GLASS_VIAL_SIZES_GBQ: Final[tuple[float, ...]] = (3.0, 5.0, 7.0, 10.0, 15.0, 20.0)
#: SIR-Spheres resin-microsphere vial (GBq at calibration, ± 10 %), reference §2.3.
DEFAULT_RESIN_VIAL_SIZES_GBQ: Final[tuple[float, ...]] = (3.0,)

_EXAMPLE_DT: Final[str] = "2026-02-15T12:00:00-05:00"


# -- validation -------------------------------------------------------------------------------
def require_aware(value: object, field_name: str) -> datetime:
    """``value`` if it is a timezone-aware :class:`~datetime.datetime` that exists on the clock.

    Raises
    ------
    InputError
        Not a datetime, a naive datetime (no timezone), or a local time inside a daylight-saving
        gap (e.g. 02:30 on 2026-03-29 in Europe/Berlin), naming ``field_name``.
    """
    if not isinstance(value, datetime):
        raise InputError(
            f"{field_name} must be a date-time with a timezone (e.g. {_EXAMPLE_DT}), got {value!r}"
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputError(f"{field_name} {value.isoformat()} has no timezone; write e.g. {_EXAMPLE_DT}")
    back = value.astimezone(UTC).astimezone(value.tzinfo)
    if back.replace(tzinfo=None) != value.replace(tzinfo=None):
        raise InputError(
            f"{field_name} {value.replace(tzinfo=None).isoformat()} does not exist in time zone "
            f"{value.tzinfo}: the clocks skip it (daylight-saving change); give the time with an explicit "
            "UTC offset"
        )
    return value


def _activity(value: object, field_name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(
            f"{field_name} must be a number in GBq, got {value!r} (convert text such as '81 mCi' with "
            "nelm.units.parse_activity_gbq)"
        )
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise InputError(f"{field_name} must be a positive activity in GBq, got {value!r}")
    return number


def _elapsed_s(start: datetime, end: datetime, start_field: str, end_field: str, allow_before: bool) -> float:
    seconds = elapsed_s(require_aware(start, start_field), require_aware(end, end_field))
    if seconds < 0 and not allow_before:
        raise InputError(
            f"{end_field} {end.isoformat()} is {-seconds / 3600:.2f} h before {start_field} "
            f"{start.isoformat()}; check both date-times (or pass allow_before=True to decay backwards on "
            "purpose)"
        )
    return seconds


def _factor(seconds: float, constants: Y90Constants) -> float:
    return float(2.0 ** (-seconds / constants.half_life_s))


# -- decay ------------------------------------------------------------------------------------
def decay_factor(
    start: datetime,
    end: datetime,
    constants: Y90Constants = DEFAULT_CONSTANTS,
    *,
    allow_before: bool = False,
) -> float:
    """Fraction of Y-90 activity left at ``end`` of what there was at ``start``: ``2^(−Δt/T½)``.

    Parameters
    ----------
    start, end:
        Timezone-aware date-times; Δt is the true elapsed time (UTC), so daylight-saving changes
        inside the interval count.
    constants:
        Source of the half-life.
    allow_before:
        Accept ``end`` before ``start`` (the factor is then above 1).

    Raises
    ------
    InputError
        A naive or non-existent date-time, or ``end`` before ``start`` without ``allow_before``
        (the message states both date-times).
    """
    return _factor(_elapsed_s(start, end, "start", "end", allow_before), constants)


def activity_at(
    activity_gbq: float,
    at: datetime,
    reference: datetime,
    *,
    allow_before: bool = False,
    constants: Y90Constants = DEFAULT_CONSTANTS,
) -> float:
    """Activity (GBq) at ``at`` of a source holding ``activity_gbq`` at ``reference``.

    ``A(at) = A(reference) · 2^(−(at − reference)/T½)``; ``at`` before ``reference`` only with
    ``allow_before``.
    """
    a = _activity(activity_gbq, "activity_gbq")
    return a * _factor(_elapsed_s(reference, at, "reference", "at", allow_before), constants)


def activity_needed_at(
    activity_gbq: float,
    at: datetime,
    reference: datetime,
    *,
    allow_before: bool = False,
    constants: Y90Constants = DEFAULT_CONSTANTS,
) -> float:
    """Activity (GBq) needed at ``reference`` so that ``activity_gbq`` remains at the later ``at``.

    The inverse of :func:`activity_at`: ``A(reference) = A(at) · 2^((at − reference)/T½)``, e.g. the
    calibration activity a vial must have to hold the prescription at treatment.
    """
    a = _activity(activity_gbq, "activity_gbq")
    return a / _factor(_elapsed_s(reference, at, "reference", "at", allow_before), constants)


def _iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.isoformat()


def _device(value: object) -> TareDevice:
    if isinstance(value, TareDevice):
        return value
    known = [d.value for d in TareDevice]
    if not isinstance(value, str) or value.strip().lower() not in known:
        raise InputError(f"device must be one of {known}, got {value!r}")
    return TareDevice(value.strip().lower())


# -- vials ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Vial:
    """One Y-90 microsphere vial as labelled.

    Parameters
    ----------
    nominal_activity_gbq:
        Activity at calibration (GBq).
    calibration_datetime:
        Calibration date-time, timezone-aware (TheraSphere: 12:00 US Eastern on the Sunday before
        the treatment week, reference §2.6 [B]).
    device:
        :class:`~nelm.case.vocabulary.TareDevice` (``"glass"`` or ``"resin"`` accepted).
    volume_ml:
        Liquid volume of the vial (mL), when known; used to turn a drawn fraction into a volume.

    Raises
    ------
    InputError
        A non-positive activity or volume, a naive calibration date-time, an unknown device.
    """

    nominal_activity_gbq: float
    calibration_datetime: datetime
    device: TareDevice = TareDevice.GLASS
    volume_ml: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "nominal_activity_gbq", _activity(self.nominal_activity_gbq, "nominal_activity_gbq")
        )
        require_aware(self.calibration_datetime, "calibration_datetime")
        object.__setattr__(self, "device", _device(self.device))
        if self.volume_ml is not None:
            v = self.volume_ml
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v) or v <= 0:
                raise InputError(f"volume_ml of the vial must be a positive number of mL, got {v!r}")
            object.__setattr__(self, "volume_ml", float(v))

    def activity_at(
        self, when: datetime, *, allow_before: bool = False, constants: Y90Constants = DEFAULT_CONSTANTS
    ) -> float:
        """Activity (GBq) of this vial at ``when`` (after calibration unless ``allow_before``)."""
        seconds = _elapsed_s(self.calibration_datetime, when, "calibration_datetime", "when", allow_before)
        return self.nominal_activity_gbq * _factor(seconds, constants)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable description."""
        return {
            "nominal_activity_gbq": self.nominal_activity_gbq,
            "calibration_datetime": self.calibration_datetime.isoformat(),
            "device": self.device.value,
            "volume_ml": self.volume_ml,
        }


@dataclass(frozen=True)
class VialChoice:
    """The vial :func:`choose_vial` picked for a prescription, and what it means at treatment.

    All activities in GBq; ``excess_percent`` is relative to ``needed_at_treatment_gbq``.
    ``best_infusion_datetime`` is when the chosen vial has decayed to exactly the need (in the
    treatment's time zone): infusing then delivers the prescription with no excess.
    ``draw_fraction`` (resin only) is the part of the vial to draw at ``treatment_datetime``;
    ``draw_volume_ml`` is that part of the vial's volume when the volume is known.
    """

    vial: Vial
    treatment_datetime: datetime
    prescribed_activity_gbq: float
    residual_fraction: float
    needed_at_treatment_gbq: float
    needed_at_calibration_gbq: float
    decay_factor: float
    vial_activity_at_treatment_gbq: float
    excess_gbq: float
    excess_percent: float
    best_infusion_datetime: datetime
    sizes_gbq: tuple[float, ...]
    draw_fraction: float | None = None
    draw_volume_ml: float | None = None
    constants: Y90Constants = field(default=DEFAULT_CONSTANTS)

    def __post_init__(self) -> None:
        require_aware(self.treatment_datetime, "treatment_datetime")
        require_aware(self.best_infusion_datetime, "best_infusion_datetime")
        # Equality up to rounding: a vial of exactly the needed size is a valid choice.
        if self.vial_activity_at_treatment_gbq < self.needed_at_treatment_gbq * (1.0 - 1e-12):
            raise InputError(
                f"a {self.vial.nominal_activity_gbq:g} GBq vial holds "
                f"{self.vial_activity_at_treatment_gbq:.4g} GBq at treatment, less than the "
                f"{self.needed_at_treatment_gbq:.4g} GBq needed"
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary (date-times as ISO 8601 with their UTC offset)."""
        return {
            "vial": self.vial.to_dict(),
            "treatment_datetime": self.treatment_datetime.isoformat(),
            "prescribed_activity_gbq": self.prescribed_activity_gbq,
            "residual_fraction": self.residual_fraction,
            "needed_at_treatment_gbq": self.needed_at_treatment_gbq,
            "needed_at_calibration_gbq": self.needed_at_calibration_gbq,
            "decay_factor": self.decay_factor,
            "vial_activity_at_treatment_gbq": self.vial_activity_at_treatment_gbq,
            "excess_gbq": self.excess_gbq,
            "excess_percent": self.excess_percent,
            "best_infusion_datetime": self.best_infusion_datetime.isoformat(),
            "sizes_gbq": list(self.sizes_gbq),
            "draw_fraction": self.draw_fraction,
            "draw_volume_ml": self.draw_volume_ml,
            "constants": self.constants.as_dict(),
        }


def _sizes(sizes_gbq: tuple[float, ...] | None, device: TareDevice) -> tuple[float, ...]:
    if sizes_gbq is None:
        return DEFAULT_GLASS_VIAL_SIZES_GBQ if device is TareDevice.GLASS else DEFAULT_RESIN_VIAL_SIZES_GBQ
    try:
        values = [_activity(s, "sizes_gbq entry") for s in sizes_gbq]
    except TypeError as exc:
        raise InputError(
            f"sizes_gbq must be a sequence of vial activities in GBq, got {sizes_gbq!r}"
        ) from exc
    if not values:
        raise InputError("sizes_gbq is empty; give at least one vial size in GBq")
    return tuple(sorted(set(values)))


def choose_vial(
    prescribed_activity_gbq: float,
    treatment_datetime: datetime,
    calibration_datetime: datetime,
    *,
    residual_fraction: float = 0.0,
    sizes_gbq: tuple[float, ...] | None = None,
    device: TareDevice | str = TareDevice.GLASS,
    vial_volume_ml: float | None = None,
    allow_before: bool = False,
    constants: Y90Constants = DEFAULT_CONSTANTS,
) -> VialChoice:
    """The smallest vial that still holds the prescription at treatment.

    Parameters
    ----------
    prescribed_activity_gbq:
        Activity to inject (GBq), e.g. from the planning model.
    treatment_datetime, calibration_datetime:
        Timezone-aware date-times; the treatment must not precede the calibration unless
        ``allow_before``.
    residual_fraction:
        Fraction ``R`` of the vial activity left in vial and delivery set, 0 ≤ R < 1 (Hoang et al.:
        median 0.0061 glass, 0.0301 resin).
    sizes_gbq:
        Catalogue sizes at calibration (GBq); default :data:`DEFAULT_GLASS_VIAL_SIZES_GBQ` for glass,
        :data:`DEFAULT_RESIN_VIAL_SIZES_GBQ` for resin.
    device:
        Glass (whole vial infused) or resin (a fraction drawn: ``draw_fraction`` is reported).
    vial_volume_ml:
        Volume of a vial (mL), to report the volume to draw for resin.
    constants:
        Source of the half-life.

    Returns
    -------
    VialChoice

    Notes
    -----
    Needed at treatment: ``A_presc / (1 − R)``; needed at calibration: that × ``2^(Δt/T½)``. A size
    qualifies when ``size ≥ need`` (**inclusive**), compared exactly: the size, the prescription,
    the residual and the decay factor are converted to :class:`fractions.Fraction` from their
    shortest decimal representation (``Fraction(repr(float(x)))``) and the need is computed from
    them in rational arithmetic, so 4.9 GBq with R = 0.02 at the calibration time takes the 5 GBq
    vial (in floating point 4.9 / 0.98 is 5.000000000000001).

    Raises
    ------
    InputError
        Bad activities, date-times, residual or sizes; no catalogue size is large enough (the
        message gives the largest size and the need).
    """
    a = _activity(prescribed_activity_gbq, "prescribed_activity_gbq")
    r = check_residual(residual_fraction)
    dev = _device(device)
    sizes = _sizes(sizes_gbq, dev)
    seconds = _elapsed_s(
        calibration_datetime, treatment_datetime, "calibration_datetime", "treatment_datetime", allow_before
    )
    factor = _factor(seconds, constants)
    need_treatment = a / (1.0 - r)
    need_calibration = need_treatment / factor
    # Exact rational need from the decimal inputs and the (float) decay factor, so that e.g.
    # 4.9 GBq with R = 0.02 at the calibration time needs exactly 5 GBq, not 5.000000000000001.
    need_exact = Fraction(repr(a)) / (1 - Fraction(repr(r))) / Fraction(repr(factor))
    fitting = [s for s in sizes if Fraction(repr(float(s))) >= need_exact]
    if not fitting:
        raise InputError(
            f"no {dev.value} vial is large enough: {need_calibration:.3f} GBq is needed at calibration "
            f"({calibration_datetime.isoformat()}) to hold {need_treatment:.3f} GBq at treatment "
            f"({treatment_datetime.isoformat()}), but the largest size is {max(sizes):g} GBq; order a larger "
            "or later-calibrated vial, or split the treatment"
        )
    size = fitting[0]
    vial = Vial(size, calibration_datetime, dev, vial_volume_ml)
    at_treatment = size * factor
    excess = at_treatment - need_treatment
    if abs(excess) <= 1e-12 * need_treatment:  # a vial of exactly the need: no rounding residue
        excess = 0.0
    # Time at which size · 2^(−t/T½) = need_treatment, counted from the calibration in UTC.
    best_s = constants.half_life_s * math.log2(size / need_treatment)
    best = (calibration_datetime.astimezone(UTC) + timedelta(seconds=best_s)).astimezone(
        treatment_datetime.tzinfo
    )
    draw_fraction = draw_volume = None
    if dev is TareDevice.RESIN:
        draw_fraction = need_treatment / at_treatment
        draw_volume = draw_fraction * vial.volume_ml if vial.volume_ml is not None else None
    logger.debug("vial %g GBq chosen for %.4g GBq needed at calibration", size, need_calibration)
    return VialChoice(
        vial=vial,
        treatment_datetime=treatment_datetime,
        prescribed_activity_gbq=a,
        residual_fraction=r,
        needed_at_treatment_gbq=need_treatment,
        needed_at_calibration_gbq=need_calibration,
        decay_factor=factor,
        vial_activity_at_treatment_gbq=at_treatment,
        excess_gbq=excess,
        excess_percent=100.0 * excess / need_treatment,
        best_infusion_datetime=best,
        sizes_gbq=sizes,
        draw_fraction=draw_fraction,
        draw_volume_ml=draw_volume,
        constants=constants,
    )


# -- delivery losses --------------------------------------------------------------------------
@dataclass(frozen=True)
class DeliveryLosses:
    """Where the assayed vial activity went between assay and administration (Hoang et al.).

    ``decay_loss_percent`` and ``total_loss_percent`` are relative to the assayed activity;
    ``residual_percent`` is relative to the activity at administration (``100 · R``).
    """

    vial_activity_gbq: float
    assay_datetime: datetime
    administration_datetime: datetime
    residual_fraction: float
    elapsed_h: float
    decay_factor: float
    activity_at_administration_gbq: float
    decay_loss_gbq: float
    decay_loss_percent: float
    residual_gbq: float
    residual_percent: float
    injected_activity_gbq: float
    total_loss_gbq: float
    total_loss_percent: float
    constants: Y90Constants = field(default=DEFAULT_CONSTANTS)

    def __post_init__(self) -> None:
        require_aware(self.assay_datetime, "assay_datetime")
        require_aware(self.administration_datetime, "administration_datetime")

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary (date-times as ISO 8601 with their UTC offset)."""
        out: dict[str, Any] = {
            k: getattr(self, k)
            for k in (
                "vial_activity_gbq",
                "residual_fraction",
                "elapsed_h",
                "decay_factor",
                "activity_at_administration_gbq",
                "decay_loss_gbq",
                "decay_loss_percent",
                "residual_gbq",
                "residual_percent",
                "injected_activity_gbq",
                "total_loss_gbq",
                "total_loss_percent",
            )
        }
        out["assay_datetime"] = self.assay_datetime.isoformat()
        out["administration_datetime"] = self.administration_datetime.isoformat()
        out["constants"] = self.constants.as_dict()
        return out


def delivery_losses(
    vial_activity_gbq: float,
    assay_datetime: datetime,
    administration_datetime: datetime,
    residual_fraction: float,
    *,
    constants: Y90Constants = DEFAULT_CONSTANTS,
) -> DeliveryLosses:
    """Decay and residual losses between the vial assay and the administration.

    ``A_adm = A_assay · 2^(−Δt/T½)``; decay loss ``A_assay − A_adm``; residual ``R · A_adm`` (left
    in vial, tubing and catheter); injected ``(1 − R) · A_adm``. Hoang et al. (JVIR) report a median
    2.20 h between premeasurement and administration, i.e. ``1 − 2^(−2.2/64.1)`` = 2.35 % decay.

    Raises
    ------
    InputError
        A non-positive activity, a residual outside [0, 1), naive date-times, or an administration
        before the assay.
    """
    a = _activity(vial_activity_gbq, "vial_activity_gbq")
    r = check_residual(residual_fraction)
    seconds = _elapsed_s(
        assay_datetime, administration_datetime, "assay_datetime", "administration_datetime", False
    )
    factor = _factor(seconds, constants)
    at_admin = a * factor
    residual = r * at_admin
    injected = at_admin - residual
    return DeliveryLosses(
        vial_activity_gbq=a,
        assay_datetime=assay_datetime,
        administration_datetime=administration_datetime,
        residual_fraction=r,
        elapsed_h=seconds / 3600.0,
        decay_factor=factor,
        activity_at_administration_gbq=at_admin,
        decay_loss_gbq=a - at_admin,
        decay_loss_percent=100.0 * (1.0 - factor),
        residual_gbq=residual,
        residual_percent=100.0 * r,
        injected_activity_gbq=injected,
        total_loss_gbq=a - injected,
        total_loss_percent=100.0 * (a - injected) / a,
        constants=constants,
    )
