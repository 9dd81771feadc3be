"""The SUV inputs in the DICOM headers of a PET series, for
:meth:`SuvInputs.from_datasets <nelm.imaging.suv.SuvInputs.from_datasets>`.

Series-level tags, the Radiopharmaceutical Information Sequence (0054,0016), the earliest
Acquisition Date/Time over all slices, and the vendor private tags the QIBA pseudo-code uses:
Philips (7053,1000)/(7053,1009) (creator ``Philips PET Private Group``) and the GE scan
DateTime (0009,xx0d) (creator ``GEMS_PETD_01``). The rules that use them are in
:mod:`nelm.imaging.suv`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Final, TypedDict

from pydicom.dataset import Dataset

from nelm.errors import DicomError
from nelm.imaging.dicom_common import (
    combine_date_time,
    float_or_none,
    parse_datetime,
    resolve_timezone,
    text_of,
)
from nelm.imaging.dicom_datetime import elapsed_s

__all__ = ["SuvHeaderValues", "read_suv_header_values"]

_PHILIPS_CREATOR: Final[str] = "Philips PET Private Group"
_GE_CREATOR: Final[str] = "GEMS_PETD_01"


class SuvHeaderValues(TypedDict):
    """The fields of :class:`~nelm.imaging.suv.SuvInputs` (its keyword arguments) read from PET
    headers; each field is described there."""

    units: str
    decay_correction: str
    injected_activity_bq: float | None
    half_life_s: float | None
    injection_datetime: datetime | None
    series_datetime: datetime | None
    acquisition_datetime: datetime | None
    patient_weight_kg: float | None
    patient_height_m: float | None
    patient_sex: str
    manufacturer: str
    corrected_image: tuple[str, ...] | None
    philips_suv_scale_factor: float | None
    philips_activity_scale_factor: float | None
    ge_scan_datetime: datetime | None
    injection_date_assumed: bool
    acquisition_time_count: int
    source: str


def read_suv_header_values(
    datasets: Iterable[Dataset], *, tz: tzinfo | None = None, source: str = ""
) -> SuvHeaderValues:
    """The SUV inputs in the headers of every slice of one PET series.

    See :meth:`SuvInputs.from_datasets <nelm.imaging.suv.SuvInputs.from_datasets>`, which
    builds its :class:`~nelm.imaging.suv.SuvInputs` from them, for the parameters and errors.
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
            if injection is not None and reference is not None and elapsed_s(injection, reference) < 0:
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
    return SuvHeaderValues(
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
