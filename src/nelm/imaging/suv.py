"""Standardised uptake value (SUV) factors from PET headers, following the QIBA pseudo-code.

An SUV is an activity concentration normalised by the injected activity per unit of body size
(IBSI SUV manual, oncoray.github.io/suv_computation; reference/response-criteria.md §5.1)::

    SUVbw  = C [Bq/mL] · W [g]   / D_decayed [Bq]     (g/mL)
    SUVlbm = C [Bq/mL] · LBM [g] / D_decayed [Bq]     (g/mL, "SUL")
    SUVbsa = C [Bq/mL] · BSA [cm²] / D_decayed [Bq]   (cm²/mL)
    D_decayed = D · 2^(−Δt / T½)

:func:`suv_factor` returns the multiplier from the rescaled voxel values to SUV as a
:class:`SuvFactor`, with a ``formula`` string that records every number and rule used.
:class:`SuvInputs` holds exactly what the QIBA vendor-neutral pseudo-code needs (QIBA
``SUV_vendorneutral_pseudocode_20180626``, as summarised in response-criteria.md §5.2):

* **Units (0054,1001)** ``BQML``: Philips private factors are ignored. ``CNTS`` (Philips): the
  SUV Scale Factor (7053,1000) wins; when it is absent or 0 the Activity Concentration Scale
  Factor (7053,1009) converts the rescaled counts to Bq/mL and the BQML path follows (the
  behaviour of cornerstone calculate-suv's tests, §5.2). ``GML``: the scanner already stored
  SUVbw, factor 1 (other normalisations are refused: the body weight used is unknown).
* **Decay Correction (0054,1102)** ``START``: the dose is decayed from the injection to the *scan
  reference time*: Series Date/Time (0008,0021/0031) unless it is later than the earliest
  Acquisition Date/Time over all slices (0008,0022/0032), in which case (a post-processed
  series) the GE private scan DateTime (0009,xx0d, creator ``GEMS_PETD_01``) when present, else
  the earliest Acquisition Date/Time. The Siemens PETsyngo 3.x multi-injection back-computation
  from Frame Reference Time is *not* implemented (it is commented out in calculate-suv; §5.2).
  ``ADMIN``: the images are decay-corrected to the administration, Δt = 0 (the Horos bug #653
  decayed anyway; §5.3). ``NONE``: the images are not decay-corrected; the dose is decayed to the
  acquisition start. A series with several acquisition times under ``NONE`` needs a factor per
  frame, which nelm does not compute: it raises instead of guessing. Decay during a frame is
  not corrected (as in the QIBA pseudo-code); for a 3-min F-18 frame that is ≤ 0.9 %.
* **Times** are full timezone-aware date-times: multi-day decay (Y-90 PET days after the
  treatment) and daylight-saving changes use the true elapsed seconds (both converted to UTC
  before subtraction; §5.3 on the Slicer date bug). A start *time* without a date takes the
  Series Date (minus one day when that would put the injection after the scan, the midnight
  rule); for nuclides with T½ > :data:`ASSUMED_DATE_MAX_HALF_LIFE_S` that guess is refused.
* **Preconditions**: Corrected Image (0028,0051), when known, must contain ATTN, and DECY for
  START/ADMIN (QIBA; calculate-suv errors on both). Weight 0 is "unknown" (calculate-suv
  f2c4fda; IBSI DRO_error_2_1 expects an error).

Body-size normalisations (each formula's source in :func:`lean_body_mass_kg` and
:func:`body_surface_area_m2`): body weight; lean body mass after James (male coefficient 128,
the classical James/PERCIST/DICOM ``LBMJAMES128`` form; cornerstone calculate-suv and the
Ultima360 manual use 120, ≈ 2 % lower SUL for a 75 kg, 185 cm man; set
``james_male_coefficient=120`` to reproduce them) or Janmahasatian (EANM 2015); body surface
area after DuBois.

The factor multiplies *rescaled* voxel values: Rescale Slope can vary per slice (GE; §5.2) and
nelm's DICOM reader applies it per frame, so no slope enters here.

Missing or impossible values raise :class:`~nelm.errors.UnitsError` naming the DICOM tag; nelm
never returns an SUV of 0 or infinity.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt
from pydicom.dataset import Dataset

from nelm.errors import DicomError, InputError, UnitsError
from nelm.imaging.dicom_common import (
    combine_date_time,
    float_or_none,
    parse_datetime,
    resolve_timezone,
    text_of,
)
from nelm.imaging.metadata import ValueUnit
from nelm.imaging.volume import Volume

__all__ = [
    "ASSUMED_DATE_MAX_HALF_LIFE_S",
    "JAMES_FEMALE_COEFFICIENT",
    "JAMES_MALE_COEFFICIENT",
    "Normalisation",
    "SuvFactor",
    "SuvInputs",
    "body_surface_area_m2",
    "lean_body_mass_kg",
    "suv_array",
    "suv_factor",
    "suv_volume",
]

logger = logging.getLogger(__name__)

Normalisation = Literal["bw", "lbm_james128", "lbm_janmahasatian", "bsa"]
_NORMALISATIONS: Final[tuple[str, ...]] = ("bw", "lbm_james128", "lbm_janmahasatian", "bsa")

#: James LBM coefficients of (W/H_cm)²: male 128 (James 1976 as used by PERCIST, Wahl 2009, and
#: DICOM SUV Type LBMJAMES128), female 148. response-criteria.md §5.1 / §1.6.
JAMES_MALE_COEFFICIENT: Final[float] = 128.0
JAMES_FEMALE_COEFFICIENT: Final[float] = 148.0

#: A Radiopharmaceutical Start Time without a date is completed with the Series Date only for
#: nuclides whose half-life is at most one day; for longer-lived ones (Zr-89, Y-90, I-124) a scan
#: days after the injection is plausible and the day cannot be guessed (IBSI DRO_error_4_1).
ASSUMED_DATE_MAX_HALF_LIFE_S: Final[float] = 86400.0

_PHILIPS_CREATOR: Final[str] = "Philips PET Private Group"
_GE_CREATOR: Final[str] = "GEMS_PETD_01"
_UNIT_OF_VALUE: Final[dict[ValueUnit, str]] = {
    ValueUnit.BQ_PER_ML: "BQML",
    ValueUnit.COUNTS: "CNTS",
    ValueUnit.SUV_BW: "GML",
}
_VALUE_OF_UNIT: Final[dict[str, ValueUnit]] = {v: k for k, v in _UNIT_OF_VALUE.items()}


def _aware(name: str, value: datetime | None, source: str) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise InputError(f"{source}: {name} {value.isoformat()} has no timezone; SUV decay needs aware times")


def _elapsed_s(start: datetime, end: datetime) -> float:
    """True elapsed seconds: both ends in UTC, so DST changes and date changes count correctly."""
    return (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds()


@dataclass(frozen=True)
class SuvInputs:
    """Everything the QIBA SUV pseudo-code reads from a PET series, typed and in SI-like units.

    Build it with :meth:`from_datasets` (DICOM headers, the exact QIBA path), :meth:`from_dataset`
    or :meth:`from_volume` (nelm metadata, e.g. the synthetic PET). Values absent from the
    source are ``None``/empty; they are required only by the path that uses them and then raise
    in :func:`suv_factor` naming their tag.

    Parameters
    ----------
    units:
        Units (0054,1001): ``BQML``, ``CNTS``, ``GML`` … (rescaled voxel values).
    decay_correction:
        Decay Correction (0054,1102): ``START``, ``ADMIN`` or ``NONE``.
    injected_activity_bq:
        Radionuclide Total Dose (0018,1074) at the injection, Bq.
    half_life_s:
        Radionuclide Half Life (0018,1075), s.
    injection_datetime:
        Radiopharmaceutical Start DateTime (0018,1078), or Start Time (0018,1072) on an assumed
        date (then ``injection_date_assumed``).
    series_datetime:
        Series Date (0008,0021) + Series Time (0008,0031).
    acquisition_datetime:
        Earliest Acquisition DateTime (0008,002A) / Date + Time (0008,0022/0032) over all slices.
    patient_weight_kg, patient_height_m, patient_sex:
        Patient's Weight (0010,1030), Patient's Size (0010,1020), Patient's Sex (0010,0040).
    manufacturer:
        Manufacturer (0008,0070).
    corrected_image:
        Corrected Image (0028,0051) values, or ``None`` when unknown (then not checked).
    philips_suv_scale_factor, philips_activity_scale_factor:
        Philips private (7053,1000) SUV Scale Factor and (7053,1009) Activity Concentration
        Scale Factor.
    ge_scan_datetime:
        GE private scan DateTime (0009,xx0d), creator ``GEMS_PETD_01``.
    injection_date_assumed:
        Whether the injection date was taken from the Series Date (no (0018,1078)).
    acquisition_time_count:
        Number of distinct acquisition date-times over the slices.
    source:
        Where the values came from, for messages.
    """

    units: str
    decay_correction: str
    injected_activity_bq: float | None = None
    half_life_s: float | None = None
    injection_datetime: datetime | None = None
    series_datetime: datetime | None = None
    acquisition_datetime: datetime | None = None
    patient_weight_kg: float | None = None
    patient_height_m: float | None = None
    patient_sex: str = ""
    manufacturer: str = ""
    corrected_image: tuple[str, ...] | None = None
    philips_suv_scale_factor: float | None = None
    philips_activity_scale_factor: float | None = None
    ge_scan_datetime: datetime | None = None
    injection_date_assumed: bool = False
    acquisition_time_count: int = 1
    source: str = ""

    def __post_init__(self) -> None:
        src = self.source or "SUV inputs"
        object.__setattr__(self, "units", self.units.strip().upper())
        object.__setattr__(self, "decay_correction", self.decay_correction.strip().upper())
        object.__setattr__(self, "patient_sex", self.patient_sex.strip().upper())
        if self.corrected_image is not None:
            object.__setattr__(
                self, "corrected_image", tuple(v.strip().upper() for v in self.corrected_image)
            )
        # Negative or non-finite values are corrupt headers; 0 is kept (often "unknown") and refused
        # by suv_factor only when the value is actually needed.
        for name, tag, value in (
            ("Radionuclide Total Dose", "(0018,1074)", self.injected_activity_bq),
            ("Radionuclide Half Life", "(0018,1075)", self.half_life_s),
            ("Patient's Weight", "(0010,1030)", self.patient_weight_kg),
            ("Patient's Size", "(0010,1020)", self.patient_height_m),
            ("Philips SUV Scale Factor", "(7053,1000)", self.philips_suv_scale_factor),
            (
                "Philips Activity Concentration Scale Factor",
                "(7053,1009)",
                self.philips_activity_scale_factor,
            ),
        ):
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise UnitsError(f"{src}: {name} {tag} is {value}; it must be a finite number ≥ 0")
        for name, dt in (
            ("injection datetime (0018,1078)", self.injection_datetime),
            ("series datetime (0008,0021/0031)", self.series_datetime),
            ("acquisition datetime (0008,0022/0032)", self.acquisition_datetime),
            ("GE private scan datetime (0009,100d)", self.ge_scan_datetime),
        ):
            _aware(name, dt, src)
        if self.acquisition_time_count < 0:
            raise InputError(f"{src}: acquisition_time_count must be ≥ 0, got {self.acquisition_time_count}")

    # -- constructors ----------------------------------------------------------------------
    @classmethod
    def from_dataset(cls, ds: Dataset, *, tz: tzinfo | None = None, source: str = "") -> SuvInputs:
        """The inputs from one PET slice header (see :meth:`from_datasets`)."""
        return cls.from_datasets([ds], tz=tz, source=source)

    @classmethod
    def from_datasets(
        cls, datasets: Iterable[Dataset], *, tz: tzinfo | None = None, source: str = ""
    ) -> SuvInputs:
        """The inputs from the headers of every slice of one PET series.

        Series-level values come from the first header and must agree across the headers
        (calculate-suv refuses mixed series-level tags); the acquisition datetime is the
        earliest over all of them (QIBA).

        Parameters
        ----------
        datasets:
            pydicom datasets of the slices (pixel data not needed).
        tz:
            Zone of the local DICOM dates and times. Default: Timezone Offset From UTC
            (0008,0201) of the first header, else UTC. Pass a ``zoneinfo.ZoneInfo`` to get
            daylight-saving changes between injection and scan right.
        source:
            Name for messages (a path).

        Raises
        ------
        DicomError
            No headers, inconsistent series-level values or malformed dates.
        """
        headers = list(datasets)
        if not headers:
            raise DicomError(f"{source or 'SUV inputs'}: no DICOM headers given")
        first = headers[0]
        src = source or str(getattr(first, "filename", "") or "PET series")
        if tz is None:
            try:
                tz, _ = resolve_timezone(first, UTC)
            except ValueError as exc:
                raise DicomError(f"{src}: malformed Timezone Offset From UTC (0008,0201): {exc}") from exc
        _check_consistent(headers, src)
        item = _radiopharmaceutical_item(first)
        try:
            series_dt = combine_date_time(text_of(first, "SeriesDate"), text_of(first, "SeriesTime"), tz)
            acq_times = sorted({t for t in (_acquisition_datetime(h, tz) for h in headers) if t is not None})
            injection = parse_datetime(text_of(item, "RadiopharmaceuticalStartDateTime"), tz)
            assumed = False
            if injection is None and text_of(item, "RadiopharmaceuticalStartTime"):
                day = text_of(first, "SeriesDate") or text_of(first, "AcquisitionDate")
                injection = combine_date_time(day, text_of(item, "RadiopharmaceuticalStartTime"), tz)
                assumed = injection is not None
                reference = series_dt or (acq_times[0] if acq_times else None)
                if injection is not None and reference is not None and _elapsed_s(injection, reference) < 0:
                    injection -= timedelta(days=1)  # injected before midnight, scanned after
            ge_dt = _ge_scan_datetime(first, tz)
        except ValueError as exc:
            raise DicomError(f"{src}: malformed date or time in the PET header: {exc}") from exc
        corrected = first.get("CorrectedImage")
        if corrected is None:
            corrected_image = None
        else:
            corrected_image = (
                (str(corrected),) if isinstance(corrected, str) else tuple(str(v) for v in corrected)
            )
        return cls(
            units=text_of(first, "Units"),
            decay_correction=text_of(first, "DecayCorrection"),
            injected_activity_bq=float_or_none(item.get("RadionuclideTotalDose")),
            half_life_s=float_or_none(item.get("RadionuclideHalfLife")),
            injection_datetime=injection,
            series_datetime=series_dt,
            acquisition_datetime=acq_times[0] if acq_times else None,
            patient_weight_kg=float_or_none(first.get("PatientWeight")),
            patient_height_m=float_or_none(first.get("PatientSize")),
            patient_sex=text_of(first, "PatientSex"),
            manufacturer=text_of(first, "Manufacturer"),
            corrected_image=corrected_image,
            philips_suv_scale_factor=_private_float(first, 0x7053, _PHILIPS_CREATOR, 0x00),
            philips_activity_scale_factor=_private_float(first, 0x7053, _PHILIPS_CREATOR, 0x09),
            ge_scan_datetime=ge_dt,
            injection_date_assumed=assumed,
            acquisition_time_count=len(acq_times),
            source=src,
        )

    @classmethod
    def from_volume(
        cls,
        volume: Volume,
        *,
        sex: str | None = None,
        series_datetime: datetime | None = None,
        corrected_image: tuple[str, ...] | None = None,
        manufacturer: str | None = None,
    ) -> SuvInputs:
        """The inputs from a volume's nelm metadata (e.g. the synthetic PET).

        ``metadata.radiopharmaceutical`` gives the dose, half-life, injection time, Units,
        Decay Correction, weight and height; the acquisition datetime is the volume's (the
        earliest over its slices for DICOM input); the Series Date/Time is ``series_datetime`` or
        else ``metadata.series_datetime`` (filled by the DICOM reader). Without either, the scan
        reference is the acquisition datetime, which is the series time of the synthetic PET but
        not the QIBA rule for DICOM series whose Series Time precedes the acquisition (a warning is
        logged for non-synthetic volumes). Vendor private factors (Philips CNTS, GE scan time) are
        only read by :meth:`from_datasets`. ``sex`` defaults to
        ``metadata.identity.sex``.

        Raises
        ------
        InputError
            If the volume carries no radiopharmaceutical information.
        """
        radio = volume.metadata.radiopharmaceutical
        src = volume.metadata.source or f"{volume.modality} volume"
        if radio is None:
            raise InputError(
                f"{src}: the {volume.modality} volume has no radiopharmaceutical information "
                "(dose, injection time, half-life); SUV cannot be computed"
            )
        units = radio.units or _UNIT_OF_VALUE.get(volume.units, volume.units.value)
        if series_datetime is None:
            series_datetime = volume.metadata.series_datetime
        if series_datetime is None and radio.decay_correction.upper() == "START" and src != "synthetic":
            logger.warning(
                "%s: no Series Date/Time in nelm metadata; the acquisition datetime is used as the SUV "
                "scan reference (the QIBA rule needs the DICOM headers: SuvInputs.from_datasets)",
                src,
            )
        return cls(
            units=units,
            decay_correction=radio.decay_correction,
            injected_activity_bq=radio.injected_activity_bq,
            half_life_s=radio.half_life_s,
            injection_datetime=radio.injection_datetime,
            series_datetime=series_datetime,
            acquisition_datetime=volume.acquisition_datetime,
            patient_weight_kg=radio.patient_weight_kg,
            patient_height_m=radio.patient_height_m,
            patient_sex=volume.metadata.identity.sex if sex is None else sex,
            manufacturer=volume.metadata.manufacturer if manufacturer is None else manufacturer,
            corrected_image=corrected_image,
            acquisition_time_count=1 if volume.acquisition_datetime is not None else 0,
            source=src,
        )


def _radiopharmaceutical_item(ds: Dataset) -> Dataset:
    seq = ds.get("RadiopharmaceuticalInformationSequence") or []
    return seq[0] if len(seq) else Dataset()


def _acquisition_datetime(ds: Dataset, tz: tzinfo) -> datetime | None:
    dt = parse_datetime(text_of(ds, "AcquisitionDateTime"), tz)
    if dt is not None:
        return dt
    if not text_of(ds, "AcquisitionTime"):
        return None
    day = text_of(ds, "AcquisitionDate") or text_of(ds, "SeriesDate")
    return combine_date_time(day, text_of(ds, "AcquisitionTime"), tz)


def _private_value(ds: Dataset, group: int, creator: str, offset: int) -> Any:
    try:
        block = ds.private_block(group, creator)
    except KeyError:
        return None
    if offset not in block:
        return None
    value = block[offset].value
    if isinstance(value, bytes):
        value = value.decode("ascii", errors="replace").strip("\x00 ")
    return value


def _private_float(ds: Dataset, group: int, creator: str, offset: int) -> float | None:
    return float_or_none(_private_value(ds, group, creator, offset))


def _ge_scan_datetime(ds: Dataset, tz: tzinfo) -> datetime | None:
    value = _private_value(ds, 0x0009, _GE_CREATOR, 0x0D)
    return parse_datetime(str(value), tz) if value not in (None, "") else None


_SERIES_LEVEL: Final[tuple[tuple[str, str], ...]] = (
    ("Units", "(0054,1001)"),
    ("DecayCorrection", "(0054,1102)"),
    ("SeriesDate", "(0008,0021)"),
    ("SeriesTime", "(0008,0031)"),
    ("PatientWeight", "(0010,1030)"),
    ("PatientSize", "(0010,1020)"),
    ("PatientSex", "(0010,0040)"),
    ("SeriesInstanceUID", "(0020,000E)"),
)
_RADIO_LEVEL: Final[tuple[tuple[str, str], ...]] = (
    ("RadionuclideTotalDose", "(0018,1074)"),
    ("RadionuclideHalfLife", "(0018,1075)"),
    ("RadiopharmaceuticalStartDateTime", "(0018,1078)"),
    ("RadiopharmaceuticalStartTime", "(0018,1072)"),
)


def _check_consistent(headers: Sequence[Dataset], src: str) -> None:
    first, first_item = headers[0], _radiopharmaceutical_item(headers[0])
    for i, h in enumerate(headers[1:], start=1):
        item = _radiopharmaceutical_item(h)
        for obj, ref, fields in ((h, first, _SERIES_LEVEL), (item, first_item, _RADIO_LEVEL)):
            for keyword, tag in fields:
                if text_of(obj, keyword) != text_of(ref, keyword):
                    raise DicomError(
                        f"{src}: header {i} has {keyword} {tag} {text_of(obj, keyword)!r} but header 0 "
                        f"has {text_of(ref, keyword)!r}; the headers mix series, so no single SUV factor"
                    )
        for offset, tag in ((0x00, "(7053,1000)"), (0x09, "(7053,1009)")):
            a = _private_float(h, 0x7053, _PHILIPS_CREATOR, offset)
            b = _private_float(first, 0x7053, _PHILIPS_CREATOR, offset)
            if a != b:
                raise DicomError(
                    f"{src}: Philips private {tag} differs between header 0 ({b}) and header {i} ({a})"
                )


# -- body size -------------------------------------------------------------------------------
def _require_sex(sex: str, what: str, source: str) -> str:
    s = sex.strip().upper()
    if s not in ("M", "F"):
        shown = repr(sex) if sex else "missing"
        raise UnitsError(
            f"{source}: {what} needs Patient's Sex (0010,0040) M or F, got {shown}; the lean-body-mass "
            "formulas have male and female forms only. Supply the sex or use normalisation 'bw'"
        )
    return s


def lean_body_mass_kg(
    weight_kg: float,
    height_m: float,
    sex: str,
    *,
    formula: Literal["james", "janmahasatian"],
    james_male_coefficient: float = JAMES_MALE_COEFFICIENT,
    source: str = "",
) -> float:
    """Lean body mass (kg).

    James (James 1976; PERCIST, Wahl et al. JNM 2009): male ``1.10·W − 128·(W/H_cm)²``, female
    ``1.07·W − 148·(W/H_cm)²``; calculate-suv and the Ultima360 manual use 120 for men
    (response-criteria.md §5.1). Janmahasatian (Clin Pharmacokinet 2005; EANM 2015 guideline,
    Tahari et al. JNM 2014): male ``9270·W/(6680 + 216·BMI)``, female ``9270·W/(8780 + 244·BMI)``
    with BMI = W/H_m².

    Raises
    ------
    UnitsError
        Sex not M/F, or a non-positive result (James breaks down at high BMI; Tahari 2014).
    """
    s = _require_sex(sex, f"lean body mass ({formula})", source or "SUV")
    if formula == "james":
        h_cm = height_m * 100.0
        a, b = (1.10, james_male_coefficient) if s == "M" else (1.07, JAMES_FEMALE_COEFFICIENT)
        lbm = a * weight_kg - b * (weight_kg / h_cm) ** 2
    else:
        bmi = weight_kg / height_m**2
        lbm = 9270.0 * weight_kg / ((6680.0 + 216.0 * bmi) if s == "M" else (8780.0 + 244.0 * bmi))
    if not lbm > 0:
        raise UnitsError(
            f"{source or 'SUV'}: the {formula} lean body mass of W {weight_kg} kg, H {height_m} m is "
            f"{lbm:.3g} kg; the formula is invalid at this BMI (use 'lbm_janmahasatian')"
        )
    return lbm


def body_surface_area_m2(weight_kg: float, height_m: float) -> float:
    """Body surface area after DuBois & DuBois (1916): ``0.007184 · W^0.425 · H_cm^0.725`` m².

    calculate-suv ``calculateSUVbsaScalingFactor.ts`` writes it as ``× 71.84`` to give cm²
    (response-criteria.md §5.1).
    """
    return float(0.007184 * weight_kg**0.425 * (height_m * 100.0) ** 0.725)


# -- the factor ------------------------------------------------------------------------------
@dataclass(frozen=True)
class SuvFactor:
    """The multiplier from rescaled PET voxel values to SUV, with its provenance.

    Parameters
    ----------
    factor:
        SUV = voxel value × factor. For Units BQML the voxel is Bq/mL; for CNTS rescaled counts;
        for GML it is already SUVbw and the factor is 1.
    normalisation:
        ``bw``, ``lbm_james128``, ``lbm_janmahasatian`` or ``bsa``.
    input_units:
        Units (0054,1001) the factor applies to (``BQML``, ``CNTS``, ``GML``).
    suv_unit:
        ``g/mL`` (bw, lbm) or ``cm2/mL`` (bsa).
    formula:
        Human-readable record of the formula, numbers and rules used.
    decayed_dose_bq, decay_time_s, scan_reference_datetime, scan_time_rule:
        The decay step (``None`` when not used, e.g. GML or a Philips SUV scale factor).
    body_weight_kg, lean_body_mass_kg, body_surface_area_m2:
        The body size used (``None`` when not needed).
    """

    factor: float
    normalisation: Normalisation
    input_units: str
    suv_unit: str
    formula: str
    decayed_dose_bq: float | None = None
    decay_time_s: float | None = None
    scan_reference_datetime: datetime | None = None
    scan_time_rule: str = ""
    body_weight_kg: float | None = None
    lean_body_mass_kg: float | None = None
    body_surface_area_m2: float | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.factor) and self.factor > 0):
            raise UnitsError(f"SUV factor must be finite and positive, got {self.factor} ({self.formula})")
        if self.normalisation not in _NORMALISATIONS:
            raise InputError(
                f"unknown SUV normalisation {self.normalisation!r}; expected one of {_NORMALISATIONS}"
            )


def _scan_reference(inputs: SuvInputs, src: str) -> tuple[datetime, str]:
    """Scan reference time and the name of the QIBA rule that chose it (START)."""
    series, acq = inputs.series_datetime, inputs.acquisition_datetime
    if series is None and acq is None:
        raise UnitsError(
            f"{src}: Decay Correction START needs Series Date/Time (0008,0021)/(0008,0031) or Acquisition "
            "Date/Time (0008,0022)/(0008,0032); both are missing"
        )
    if series is None:
        assert acq is not None
        return acq, "earliest Acquisition Date/Time (no Series Date/Time)"
    if acq is None or _elapsed_s(series, acq) >= 0:
        return series, "QIBA: Series Date/Time (not after the earliest Acquisition Date/Time)"
    if inputs.ge_scan_datetime is not None and "GE" in inputs.manufacturer.upper():
        return inputs.ge_scan_datetime, "QIBA: Series after Acquisition; GE private scan DateTime (0009,100d)"
    if "SIEMENS" in inputs.manufacturer.upper() and _elapsed_s(acq, series) > 1.0:
        logger.warning(
            "%s: Siemens series time is after the acquisition time; the earliest acquisition time is used, "
            "which is wrong for PETsyngo 3.x multi-injection series (QIBA; not implemented)",
            src,
        )
    return acq, "QIBA: Series Date/Time after Acquisition; earliest Acquisition Date/Time over all slices"


def _decay(inputs: SuvInputs, src: str) -> tuple[float, float, datetime | None, str, str]:
    """(decayed dose Bq, decay time s, reference time, rule, formula text)."""
    dose, half_life = inputs.injected_activity_bq, inputs.half_life_s
    if dose is None:
        raise UnitsError(
            f"{src}: Radionuclide Total Dose (0018,1074) is missing; SUV needs the injected activity"
        )
    if dose <= 0:
        raise UnitsError(f"{src}: Radionuclide Total Dose (0018,1074) is {dose} Bq; it must be positive")
    if half_life is None or half_life <= 0:
        shown = "missing" if half_life is None else f"{half_life} s"
        raise UnitsError(f"{src}: Radionuclide Half Life (0018,1075) is {shown}; decay correction needs it")
    if inputs.corrected_image is not None:
        needed = ["ATTN"] + (["DECY"] if inputs.decay_correction in ("START", "ADMIN") else [])
        missing = [v for v in needed if v not in inputs.corrected_image]
        if missing:
            raise UnitsError(
                f"{src}: Corrected Image (0028,0051) {list(inputs.corrected_image)} lacks {missing}; "
                "QIBA SUV requires attenuation-corrected images (and DECY for Decay Correction "
                f"{inputs.decay_correction})"
            )
    dc = inputs.decay_correction
    if dc == "ADMIN":
        return (
            dose,
            0.0,
            inputs.injection_datetime,
            "ADMIN: images decay-corrected to the administration",
            (f"{dose:.6g} Bq (decay ADMIN: no decay, Δt = 0)"),
        )
    if dc == "START":
        reference, rule = _scan_reference(inputs, src)
    elif dc == "NONE":
        if inputs.acquisition_time_count > 1:
            raise UnitsError(
                f"{src}: Decay Correction (0054,1102) NONE with {inputs.acquisition_time_count} different "
                "acquisition times needs one SUV factor per frame; nelm does not compute per-frame factors"
            )
        if inputs.acquisition_datetime is None:
            raise UnitsError(
                f"{src}: Decay Correction NONE needs Acquisition Date/Time (0008,0022)/(0008,0032)"
            )
        reference, rule = inputs.acquisition_datetime, "NONE: decay to the acquisition start"
    elif not dc:
        raise UnitsError(f"{src}: Decay Correction (0054,1102) is missing; expected START, ADMIN or NONE")
    else:
        raise UnitsError(
            f"{src}: Decay Correction (0054,1102) {dc!r} is unknown; expected START, ADMIN or NONE"
        )
    injection = inputs.injection_datetime
    if injection is None:
        raise UnitsError(
            f"{src}: Radiopharmaceutical Start DateTime (0018,1078) and Start Time (0018,1072) are both "
            "missing; the decay from injection to scan cannot be computed"
        )
    if inputs.injection_date_assumed and half_life > ASSUMED_DATE_MAX_HALF_LIFE_S:
        raise UnitsError(
            f"{src}: only Radiopharmaceutical Start Time (0018,1072) is given, but the half-life "
            f"{half_life:.6g} s exceeds one day, so the injection day cannot be assumed; supply "
            "Radiopharmaceutical Start DateTime (0018,1078) or the injection datetime"
        )
    dt_s = _elapsed_s(injection, reference)
    if dt_s < 0:
        raise UnitsError(
            f"{src}: the injection {injection.isoformat()} (0018,1078/1072) is after the scan reference time "
            f"{reference.isoformat()} ({rule}); check the dates, times and timezone"
        )
    decayed = dose * 2.0 ** (-dt_s / half_life)
    text = (
        f"{dose:.6g} Bq × 2^(-({dt_s:.6g} s)/{half_life:.6g} s) = {decayed:.6g} Bq; decay {dc} from "
        f"injection {injection.isoformat()} to scan reference {reference.isoformat()} [{rule}]"
    )
    return decayed, dt_s, reference, rule, text


def _body_size(
    inputs: SuvInputs, normalisation: str, james_male_coefficient: float, src: str
) -> tuple[float, str, float, float | None, float | None]:
    """(normaliser in g or cm², its description, weight kg, LBM kg, BSA m²)."""
    w = inputs.patient_weight_kg
    if w is None:
        raise UnitsError(f"{src}: Patient's Weight (0010,1030) is missing; SUV needs the body weight")
    if w <= 0:
        raise UnitsError(
            f"{src}: Patient's Weight (0010,1030) is {w} kg (0 means unknown); SUV needs the weight"
        )
    if normalisation == "bw":
        return w * 1000.0, f"W {w:.6g} kg = {w * 1000.0:.6g} g", w, None, None
    h = inputs.patient_height_m
    if h is None or h <= 0:
        shown = "missing" if h is None else f"{h} m"
        raise UnitsError(
            f"{src}: Patient's Size (0010,1020) is {shown}; SUV normalisation {normalisation} needs it"
        )
    if normalisation == "bsa":
        bsa = body_surface_area_m2(w, h)
        return bsa * 1e4, f"BSA_DuBois {bsa * 1e4:.6g} cm² (W {w:.6g} kg, H {h * 100:.6g} cm)", w, None, bsa
    kind: Literal["james", "janmahasatian"] = "james" if normalisation == "lbm_james128" else "janmahasatian"
    lbm = lean_body_mass_kg(
        w, h, inputs.patient_sex, formula=kind, james_male_coefficient=james_male_coefficient, source=src
    )
    detail = f"male coefficient {james_male_coefficient:g}" if kind == "james" else "BMI form"
    return (
        lbm * 1000.0,
        f"LBM_{kind} {lbm * 1000.0:.6g} g ({detail}, sex {inputs.patient_sex}, W {w:.6g} kg, "
        f"H {h * 100:.6g} cm)",
        w,
        lbm,
        None,
    )


def suv_factor(
    inputs: SuvInputs,
    *,
    normalisation: Normalisation = "bw",
    james_male_coefficient: float = JAMES_MALE_COEFFICIENT,
) -> SuvFactor:
    """The SUV factor of a PET series (QIBA vendor-neutral pseudo-code; module docstring).

    Parameters
    ----------
    inputs:
        The header values (:class:`SuvInputs`).
    normalisation:
        ``bw`` (body weight), ``lbm_james128``, ``lbm_janmahasatian`` (lean body mass, "SUL";
        need height and sex M/F) or ``bsa`` (DuBois; needs height).
    james_male_coefficient:
        Male coefficient of the James formula, 128 by default (``LBMJAMES128``); 120 reproduces
        cornerstone calculate-suv.

    Raises
    ------
    UnitsError
        Any missing or impossible value the chosen path needs (the message names the tag), an
        unsupported Units, or a non-bw normalisation of GML images.
    """
    src = inputs.source or "PET series"
    if normalisation not in _NORMALISATIONS:
        raise InputError(f"unknown SUV normalisation {normalisation!r}; expected one of {_NORMALISATIONS}")
    label = {"bw": "SUVbw", "lbm_james128": "SULjames", "lbm_janmahasatian": "SULjanma", "bsa": "SUVbsa"}
    name = label[normalisation]
    suv_unit = "cm2/mL" if normalisation == "bsa" else "g/mL"
    units = inputs.units
    if units == "GML":
        if normalisation != "bw":
            raise UnitsError(
                f"{src}: Units (0054,1001) GML images already hold SUVbw; nelm cannot re-normalise them to "
                f"{normalisation} without the scanner's dose and timing — use the BQML images"
            )
        return SuvFactor(
            1.0, normalisation, units, suv_unit, "SUVbw = voxel value (Units GML: scanner SUVbw); ×1"
        )
    if units not in ("BQML", "CNTS"):
        shown = repr(units) if units else "missing"
        raise UnitsError(
            f"{src}: Units (0054,1001) is {shown}; nelm computes SUV from BQML, CNTS (Philips) or GML only"
        )
    sf, acf = inputs.philips_suv_scale_factor, inputs.philips_activity_scale_factor
    if units == "CNTS" and sf and normalisation == "bw":
        formula = f"SUVbw = counts × Philips SUV Scale Factor (7053,1000) {sf:.6g}"
        return SuvFactor(sf, normalisation, units, suv_unit, formula, body_weight_kg=inputs.patient_weight_kg)
    normaliser, norm_text, w, lbm, bsa = _body_size(inputs, normalisation, james_male_coefficient, src)
    if units == "CNTS":
        if sf:  # the scanner's SUVbw factor, re-normalised: SUVx = SUVbw × X / W
            factor = sf * normaliser / (w * 1000.0)
            formula = (
                f"{name} = counts × Philips SUV Scale Factor (7053,1000) {sf:.6g} × {norm_text} "
                f"/ W {w * 1000:.6g} g"
            )
            return SuvFactor(
                factor,
                normalisation,
                units,
                suv_unit,
                f"{formula}; factor {factor:.6g}",
                body_weight_kg=w,
                lean_body_mass_kg=lbm,
                body_surface_area_m2=bsa,
            )
        if not acf:
            raise UnitsError(
                f"{src}: Units (0054,1001) CNTS without a non-zero Philips SUV Scale Factor (7053,1000) or "
                "Activity Concentration Scale Factor (7053,1009); counts cannot be converted to SUV"
            )
        decayed, dt_s, ref, rule, decay_text = _decay(inputs, src)
        factor = acf * normaliser / decayed
        formula = (
            f"{name} = counts × Philips Activity Concentration Scale Factor (7053,1009) {acf:.6g} "
            f"[Bq/mL per count] × {norm_text} / ({decay_text})"
        )
    else:
        decayed, dt_s, ref, rule, decay_text = _decay(inputs, src)
        factor = normaliser / decayed
        formula = f"{name} = C[Bq/mL] × {norm_text} / ({decay_text})"
    result = SuvFactor(
        factor,
        normalisation,
        units,
        suv_unit,
        f"{formula}; factor {factor:.6g}",
        decayed_dose_bq=decayed,
        decay_time_s=dt_s,
        scan_reference_datetime=ref,
        scan_time_rule=rule,
        body_weight_kg=w,
        lean_body_mass_kg=lbm,
        body_surface_area_m2=bsa,
    )
    logger.debug("%s: %s", src, result.formula)
    return result


# -- applying it -----------------------------------------------------------------------------
def suv_array(volume: Volume, factor: SuvFactor) -> npt.NDArray[np.float32]:
    """The volume's voxel values times the SUV factor (float32), for any normalisation.

    Raises
    ------
    UnitsError
        If the volume's units are not the Units the factor was computed for.
    """
    expected = _VALUE_OF_UNIT.get(factor.input_units)
    if volume.modality not in ("PT", "NM") or volume.units is not expected:
        raise UnitsError(
            f"{volume.metadata.source or 'volume'}: the SUV factor is for {factor.input_units} PET voxels "
            f"({expected.value if expected else '?'}), but the volume is {volume.modality} in "
            f"{volume.units.value}"
        )
    return np.asarray(np.asarray(volume.array, dtype=np.float64) * factor.factor, dtype=np.float32)


def suv_volume(volume: Volume, factor: SuvFactor) -> Volume:
    """The PET volume in SUVbw (:attr:`ValueUnit.SUV_BW`, g/mL).

    Only body-weight SUV has a :class:`~nelm.imaging.metadata.ValueUnit`; for SUL and SUVbsa use
    :func:`suv_array`, which returns the array and keeps the :class:`SuvFactor` as the record of
    what it holds.

    Raises
    ------
    UnitsError
        For a non-bw factor or mismatched voxel units.
    """
    if factor.normalisation != "bw":
        raise UnitsError(
            f"suv_volume returns SUVbw volumes only; {factor.normalisation} has no nelm voxel unit yet — "
            "use suv_array(volume, factor) and keep the SuvFactor with it"
        )
    return dataclasses.replace(volume, array=suv_array(volume, factor), units=ValueUnit.SUV_BW)
