"""PET and NM specifics: voxel units and the radiopharmaceutical administration.

Units (PET Series module, PS3.3 C.8.9.1; Units (0054,1001), defined terms):

========  =========================================  ============================
Units     meaning                                    nelm
========  =========================================  ============================
BQML      Bq/mL                                      ``ValueUnit.BQ_PER_ML``
CNTS      counts                                     ``ValueUnit.COUNTS``
GML       g/mL (SUV body weight, scanner-applied)    ``ValueUnit.SUV_BW``
others    PROPCNTS, CPS, NPERCENT, CM2ML, MGMINML,   policy: ``ARBITRARY`` with a
          UMOLMINML, MLMING, MLG, 1CM, UMOLML,       warning (WARN/IGNORE) or
          NONE, …                                    :class:`UnitsError` (RAISE)
========  =========================================  ============================

NM images have no Units attribute in their IOD; nelm reads them as ``COUNTS``, except that a
Units (0054,1001) of BQML (written by quantitative SPECT software as a standard extension) is
honoured as Bq/mL. MR gives ``ARBITRARY``; CT gives ``HU``.

Radiopharmaceutical (Radiopharmaceutical Information Sequence (0054,0016), PS3.3 C.8.4.10 and
C.8.9.2): the first item is used. The injection time is Radiopharmaceutical Start DateTime
(0018,1078) when present. Otherwise Radiopharmaceutical Start Time (0018,1072) is combined with
Series Date (0008,0021) — the rule of the QIBA/UWPET vendor-neutral SUV pseudo-code — and, if
that puts the injection *after* the series start (an injection before midnight for a scan after
midnight), one day is subtracted. Local times are in the zone given by the caller (the series'
Timezone Offset From UTC, or the assumed zone).
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta, tzinfo

from pydicom.dataset import Dataset

from nelm.errors import DicomError, UnitsError
from nelm.imaging.dicom_common import (
    combine_date_time,
    float_or_none,
    parse_datetime,
    resolve_timezone,
    text_of,
)
from nelm.imaging.metadata import Radiopharmaceutical, ValueUnit
from nelm.policy import Policy, apply_policy

__all__ = [
    "PET_UNITS",
    "RADIONUCLIDE_CODES",
    "nuclide_symbol",
    "radionuclide_code",
    "read_radiopharmaceutical",
    "value_unit_of",
]

logger = logging.getLogger(__name__)

#: PET Units (0054,1001) values nelm maps to a physical unit.
PET_UNITS: dict[str, ValueUnit] = {
    "BQML": ValueUnit.BQ_PER_ML,
    "CNTS": ValueUnit.COUNTS,
    "GML": ValueUnit.SUV_BW,
}


#: Radionuclide codes (Code Value, Coding Scheme Designator, Code Meaning) by nuclide, from DICOM
#: PS3.16 CID 4020 "PET Radionuclide" (SNOMED CT codes of the 2022 edition; the legacy SNOMED-RT
#: codes were C-111A1, C-131A3 and C-162A7). Nuclides outside CID 4020 that nelm handles
#: (Tc-99m, Lu-177, In-111, I-131) are written with their DICOM-style Code Meaning under the
#: private coding scheme ``99NELM``: their SNOMED codes (CID 18/25) were not verified.
RADIONUCLIDE_CODES: dict[str, tuple[str, str, str]] = {
    "F-18": ("77004003", "SCT", "^18^Fluorine"),
    "Ga-68": ("35337001", "SCT", "^68^Gallium"),
    "Y-90": ("14691008", "SCT", "^90^Yttrium"),
    "Cu-64": ("3932008", "SCT", "^64^Copper"),
    "Zr-89": ("63360001", "SCT", "^89^Zirconium"),
    "Tc-99m": ("Tc-99m", "99NELM", "^99m^Technetium"),
    "Lu-177": ("Lu-177", "99NELM", "^177^Lutetium"),
    "In-111": ("In-111", "99NELM", "^111^Indium"),
    "I-131": ("I-131", "99NELM", "^131^Iodine"),
}

_ELEMENTS: dict[str, str] = {
    "fluorine": "F",
    "gallium": "Ga",
    "yttrium": "Y",
    "technetium": "Tc",
    "lutetium": "Lu",
    "indium": "In",
    "iodine": "I",
    "copper": "Cu",
    "zirconium": "Zr",
    "carbon": "C",
    "nitrogen": "N",
    "oxygen": "O",
    "rubidium": "Rb",
    "holmium": "Ho",
    "rhenium": "Re",
    "thallium": "Tl",
    "germanium": "Ge",
}
_SYMBOLS: dict[str, str] = {v.lower(): v for v in _ELEMENTS.values()}


def _element(name: str) -> str | None:
    return _ELEMENTS.get(name.lower()) or _SYMBOLS.get(name.lower())


def nuclide_symbol(text: str) -> str | None:
    """Canonical ``"Ga-68"``-style name of a radionuclide written in any common way.

    Accepts DICOM code meanings (``"^68^Gallium"``, ``"F^18^[^18^Fluorine]"``), ``"Ga-68"``,
    ``"68Ga"``, ``"Gallium-68"``, ``"Tc-99m"``, ``"^99m^Technetium"``; ``None`` if not recognised.
    """
    patterns = (
        r"\^(\d+)(m?)\^\s*([A-Za-z]+)",  # ^68^Gallium
        r"(?<![A-Za-z])(\d+)(m?)\s*-?\s*([A-Za-z]+)",  # 68Ga, 99mTc
    )
    for pattern in patterns:
        for m in re.finditer(pattern, text):
            element = _element(m.group(3))
            if element:
                return f"{element}-{m.group(1)}{m.group(2)}"
    for m in re.finditer(r"([A-Za-z]+)[\s^-]*(\d+)(m?)", text):  # Ga-68, Gallium 68, F^18^
        element = _element(m.group(1))
        if element:
            return f"{element}-{m.group(2)}{m.group(3)}"
    return None


def radionuclide_code(text: str) -> tuple[str, str, str]:
    """(Code Value, Coding Scheme Designator, Code Meaning) for a radionuclide name.

    Known nuclides get the codes of :data:`RADIONUCLIDE_CODES`; others keep ``text`` as Code
    Meaning under the private scheme ``99NELM``.
    """
    symbol = nuclide_symbol(text)
    if symbol is not None and symbol in RADIONUCLIDE_CODES:
        return RADIONUCLIDE_CODES[symbol]
    return (symbol or text)[:16], "99NELM", text[:64]


def value_unit_of(
    ds: Dataset,
    modality: str,
    *,
    source: str = "",
    policy: Policy = Policy.WARN,
    warnings: list[str] | None = None,
) -> ValueUnit:
    """The unit of rescaled voxel values of a CT, MR, PT or NM dataset (see module docstring).

    Raises
    ------
    UnitsError
        Under ``Policy.RAISE``, for PET Units nelm does not know or a missing PET Units.
    """
    if modality == "CT":
        return ValueUnit.HU
    if modality == "MR":
        return ValueUnit.ARBITRARY
    units = text_of(ds, "Units").upper()
    if modality == "NM":
        return ValueUnit.BQ_PER_ML if units == "BQML" else ValueUnit.COUNTS
    if modality == "PT":
        if units in PET_UNITS:
            return PET_UNITS[units]
        what = f"Units (0054,1001) {units!r}" if units else "no Units (0054,1001)"
        apply_policy(
            policy,
            f"{source}: PET series has {what}; nelm knows BQML, CNTS and GML, so voxel values are "
            "treated as arbitrary units (no SUV or activity can be derived)",
            logger=logger,
            warnings=warnings,
            error=UnitsError,
        )
        return ValueUnit.ARBITRARY
    raise DicomError(f"{source}: modality {modality!r} has no known voxel unit")


def _radionuclide_name(item: Dataset) -> str:
    codes = item.get("RadionuclideCodeSequence") or []
    if codes:
        meaning = text_of(codes[0], "CodeMeaning")
        if meaning:
            return meaning
        value = text_of(codes[0], "CodeValue")
        if value:
            return value
    return ""


def _injection_datetime(
    item: Dataset,
    ds: Dataset,
    tz: tzinfo,
    source: str,
    policy: Policy,
    warnings: list[str] | None,
) -> datetime | None:
    try:
        start = parse_datetime(text_of(item, "RadiopharmaceuticalStartDateTime"), tz)
        if start is not None:
            return start
        start_time = text_of(item, "RadiopharmaceuticalStartTime")
        series_date = text_of(ds, "SeriesDate") or text_of(ds, "AcquisitionDate") or text_of(ds, "StudyDate")
        if not start_time or not series_date:
            return None
        start = combine_date_time(series_date, start_time, tz)
        series_start = combine_date_time(series_date, text_of(ds, "SeriesTime"), tz)
    except ValueError as exc:
        apply_policy(
            policy,
            f"{source}: malformed radiopharmaceutical start date/time ({exc}); injection time unknown",
            logger=logger,
            warnings=warnings,
            error=DicomError,
        )
        return None
    if start is not None and series_start is not None and text_of(ds, "SeriesTime") and start > series_start:
        # Injected before midnight, scanned after: the injection was on the previous day.
        start -= timedelta(days=1)
    return start


def read_radiopharmaceutical(
    ds: Dataset,
    *,
    tz: tzinfo | None = None,
    source: str = "",
    policy: Policy = Policy.WARN,
    warnings: list[str] | None = None,
) -> Radiopharmaceutical:
    """Radiopharmaceutical administration and PET quantitation fields of a PT or NM dataset.

    Parameters
    ----------
    ds:
        A header of the series (the first slice).
    tz:
        Zone of the dataset's local dates and times. Default: its Timezone Offset From UTC
        (0008,0201), else UTC.
    source:
        File name for messages.

    Returns
    -------
    Radiopharmaceutical
        Fields absent from the header stay empty/``None``. Activity is Radionuclide Total Dose
        (0018,1074) in Bq, half-life (0018,1075) in s, weight (0010,1030) in kg, size
        (0010,1020) in m — DICOM's own units, kept as written.

    Raises
    ------
    UnitsError
        A negative activity, half-life or weight (impossible values).
    """
    if tz is None:
        try:
            tz, _ = resolve_timezone(ds, UTC)
        except ValueError:
            tz = UTC
    seq = ds.get("RadiopharmaceuticalInformationSequence") or []
    item = seq[0] if len(seq) else Dataset()
    if len(seq) > 1:
        apply_policy(
            policy,
            f"{source}: Radiopharmaceutical Information Sequence (0054,0016) has {len(seq)} items; "
            "only the first is used",
            logger=logger,
            warnings=warnings,
            error=DicomError,
        )
    activity = float_or_none(item.get("RadionuclideTotalDose"))
    half_life = float_or_none(item.get("RadionuclideHalfLife"))
    weight = float_or_none(ds.get("PatientWeight"))
    for name, value, tag in (
        ("Radionuclide Total Dose", activity, "(0018,1074)"),
        ("Radionuclide Half Life", half_life, "(0018,1075)"),
        ("Patient's Weight", weight, "(0010,1030)"),
    ):
        if value is not None and value < 0:
            raise UnitsError(f"{source}: {name} {tag} is negative ({value}); the header is corrupt")
    if weight == 0:
        weight = None  # 0 is a common "unknown" placeholder
    height = float_or_none(ds.get("PatientSize"))
    decay_factor = float_or_none(ds.get("DecayFactor"))
    return Radiopharmaceutical(
        radionuclide=_radionuclide_name(item),
        radiopharmaceutical=text_of(item, "Radiopharmaceutical"),
        injected_activity_bq=activity,
        injection_datetime=_injection_datetime(item, ds, tz, source, policy, warnings),
        half_life_s=half_life,
        positron_fraction=float_or_none(item.get("RadionuclidePositronFraction")),
        decay_correction=text_of(ds, "DecayCorrection").upper(),
        decay_factor=decay_factor,
        units=text_of(ds, "Units").upper(),
        patient_weight_kg=weight,
        patient_height_m=height if height else None,
    )
