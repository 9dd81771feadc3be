"""DICOM dates, times and UTC offsets (PS3.5 §6.2: DA, TM, DT) as timezone-aware datetimes.

:func:`parse_datetime` keeps the ``&ZZXX`` offset a DT value carries; otherwise, like
:func:`combine_date_time`, it uses the caller's zone (the series' Timezone Offset From UTC
(0008,0201) when present, else an assumed zone: :func:`nelm.imaging.dicom_common.resolve_timezone`).
:func:`elapsed_s` subtracts aware datetimes in UTC, so date and daylight-saving changes count.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo

import pydicom

__all__ = [
    "combine_date_time",
    "elapsed_s",
    "format_tz_offset",
    "parse_date",
    "parse_datetime",
    "parse_tz_offset",
]

_TZ_OFFSET = re.compile(r"^([+-])(\d{2})(\d{2})$")


def parse_tz_offset(value: str) -> timezone:
    """Timezone from a DICOM ``&ZZXX`` offset such as ``"+0100"`` or ``"-0530"``.

    Raises
    ------
    ValueError
        If the value is not ``+HHMM``/``-HHMM`` within ±14 h (PS3.5 Table 6.2-1, DT).
    """
    m = _TZ_OFFSET.match(value.strip())
    if m is None:
        raise ValueError(f"{value!r} is not a UTC offset of the form +HHMM or -HHMM")
    hours, minutes = int(m.group(2)), int(m.group(3))
    if hours > 14 or minutes > 59:
        raise ValueError(f"{value!r} is outside the range of UTC offsets")
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if m.group(1) == "-" else delta)


def format_tz_offset(dt: datetime) -> str:
    """The ``&ZZXX`` offset string (e.g. ``"+0100"``) of an aware datetime."""
    offset = dt.utcoffset()
    if offset is None:
        raise ValueError(f"{dt.isoformat()} has no timezone")
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}{minutes % 60:02d}"


def parse_date(value: str) -> date | None:
    """A DA value (``YYYYMMDD``, or the ACR-NEMA ``YYYY.MM.DD``) as a date; ``None`` if empty."""
    value = value.strip()
    if not value:
        return None
    parsed = pydicom.valuerep.DA(value.replace(".", ""))
    return date(parsed.year, parsed.month, parsed.day)


def _parse_time(value: str) -> time:
    parsed = pydicom.valuerep.TM(value.strip().replace(":", ""))
    return time(parsed.hour, parsed.minute, parsed.second, parsed.microsecond)


def combine_date_time(date_value: str, time_value: str, tz: tzinfo) -> datetime | None:
    """A DA and a TM value as an aware datetime in ``tz``; ``None`` if the date is empty.

    An empty time means midnight (the date alone is known).

    Raises
    ------
    ValueError
        If either value is malformed.
    """
    d = parse_date(date_value)
    if d is None:
        return None
    t = _parse_time(time_value) if time_value.strip() else time(0, 0)
    return datetime.combine(d, t, tzinfo=tz)


def parse_datetime(value: str, tz: tzinfo) -> datetime | None:
    """A DT value as an aware datetime; its own ``&ZZXX`` offset wins over ``tz``.

    Raises
    ------
    ValueError
        If the value is malformed.
    """
    value = value.strip()
    if not value:
        return None
    parsed = pydicom.valuerep.DT(value)
    zone = parsed.tzinfo if parsed.tzinfo is not None else tz
    return datetime(
        parsed.year,
        parsed.month,
        parsed.day,
        parsed.hour,
        parsed.minute,
        parsed.second,
        parsed.microsecond,
        tzinfo=zone,
    )


def elapsed_s(start: datetime, end: datetime) -> float:
    """True elapsed seconds: both ends in UTC, so DST changes and date changes count correctly."""
    return (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds()
