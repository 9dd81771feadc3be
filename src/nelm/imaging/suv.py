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
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from nelm.errors import InputError, UnitsError
from nelm.imaging.body_size import (
    JAMES_FEMALE_COEFFICIENT,
    JAMES_MALE_COEFFICIENT,
    body_surface_area_m2,
    lean_body_mass_kg,
)
from nelm.imaging.dicom_datetime import elapsed_s
from nelm.imaging.metadata import ValueUnit
from nelm.imaging.suv_inputs import UNIT_OF_VALUE, SuvInputs
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

#: A Radiopharmaceutical Start Time without a date is completed with the Series Date only for
#: nuclides whose half-life is at most one day; for longer-lived ones (Zr-89, Y-90, I-124) a scan
#: days after the injection is plausible and the day cannot be guessed (IBSI DRO_error_4_1).
ASSUMED_DATE_MAX_HALF_LIFE_S: Final[float] = 86400.0

_VALUE_OF_UNIT: Final[dict[str, ValueUnit]] = {v: k for k, v in UNIT_OF_VALUE.items()}


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
    if acq is None or elapsed_s(series, acq) >= 0:
        return series, "QIBA: Series Date/Time (not after the earliest Acquisition Date/Time)"
    if inputs.ge_scan_datetime is not None and "GE" in inputs.manufacturer.upper():
        return inputs.ge_scan_datetime, "QIBA: Series after Acquisition; GE private scan DateTime (0009,100d)"
    if "SIEMENS" in inputs.manufacturer.upper() and elapsed_s(acq, series) > 1.0:
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
    dt_s = elapsed_s(injection, reference)
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
