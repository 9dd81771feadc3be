"""A reader's measurement table (CSV or JSON) as a :class:`~nelm.response.model.ResponseCase`.

**CSV**: one row per lesion per time point, UTF-8, a header row, comma-separated. Columns
(only ``time_point``, ``date`` and ``lesion_id`` are required; unknown columns are an error so
that a misspelt header is not silently ignored):

=========================  ==============================================================
``time_point``             time point ID; the earliest date is the baseline
``date``                   ``YYYY-MM-DD`` (read as 00:00 UTC) or an ISO date-time with offset
``lesion_id``              tracking ID; empty for a row that only carries time-point values
``organ``                  default ``liver``
``lesion_type``            ``non_nodal`` (default) or ``node``
``previously_treated``     ``yes``/``no`` (loco-regional therapy before the baseline)
``target``                 ``yes`` marks the reader's target lesions (baseline rows)
``state``                  ``present`` (default), ``too_small``, ``disappeared``, ``coalesced``,
                           ``not_evaluated``
``new``                    ``yes`` for a new-lesion finding at this time point
``certainty``              for new lesions: ``definite`` (default) or ``equivocal``
``enhancing``, ``avid``    for new lesions: ``yes``/``no`` (mRECIST, PERCIST)
``long_mm`` …              ``long_mm``, ``short_mm``, ``viable_long_mm``, ``enhancing_area_mm2``,
                           ``volume_ml``, ``enhancing_volume_ml``, ``mean_hu_portal``,
                           ``sul_peak``, ``tlg`` (numbers in the unit of the name)
``coalesced_into``         for coalesced lesions, the lesion carrying the mass
``fragments``              number of fragments summed (split lesions), default 1
``tp_…``                   time-point values, equal on every row of the time point:
                           ``tp_slice_thickness_mm``, ``tp_liver_sul_mean``, ``tp_liver_sul_sd``,
                           ``tp_uptake_time_min``, ``tp_liver_volume_ml``,
                           ``tp_liver_enhancing_tumour_ml``, ``tp_non_target_call``
                           (``unequivocal_progression`` or ``no_progression``)
=========================  ==============================================================

**JSON**: ``{"nelm_reader_table": 1, "case_id": …, "rows": [{column: value, …}, …]}`` with the
same columns (numbers may be JSON numbers; booleans may be JSON booleans).

Values are read exactly (:func:`nelm.response.exact.exact`): ``"25.2"`` is 25.2. Every error
names the file, the line (CSV) or row index (JSON) and the column.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from pathlib import Path
from typing import Final, TypeVar

from nelm.errors import InputError
from nelm.response.exact import AREA_MM2, HU, LENGTH_MM, SUV, VOLUME_ML, Resolution, exact
from nelm.response.model import (
    Certainty,
    Lesion,
    LesionMeasurement,
    LesionState,
    LesionType,
    NewLesionFinding,
    NonTargetCall,
    ResponseCase,
    TimePoint,
    as_aware_datetime,
)

__all__ = ["COLUMNS", "load_reader_table", "reader_case"]

_VALUE_COLUMNS: Final[dict[str, Resolution]] = {
    "long_mm": LENGTH_MM,
    "short_mm": LENGTH_MM,
    "viable_long_mm": LENGTH_MM,
    "enhancing_area_mm2": AREA_MM2,
    "volume_ml": VOLUME_ML,
    "enhancing_volume_ml": VOLUME_ML,
    "mean_hu_portal": HU,
    "sul_peak": SUV,
    "tlg": SUV,
}
_TP_COLUMNS: Final[dict[str, Resolution]] = {
    "tp_slice_thickness_mm": LENGTH_MM,
    "tp_liver_sul_mean": SUV,
    "tp_liver_sul_sd": SUV,
    "tp_uptake_time_min": Resolution("0.1", "min"),
    "tp_liver_volume_ml": VOLUME_ML,
    "tp_liver_enhancing_tumour_ml": VOLUME_ML,
}
#: Every column a reader's table may have.
COLUMNS: Final[tuple[str, ...]] = (
    "time_point",
    "date",
    "lesion_id",
    "organ",
    "lesion_type",
    "previously_treated",
    "target",
    "state",
    "new",
    "certainty",
    "enhancing",
    "avid",
    *_VALUE_COLUMNS,
    "coalesced_into",
    "fragments",
    *_TP_COLUMNS,
    "tp_non_target_call",
)
_YES: Final = {"yes", "y", "true", "1"}
_NO: Final = {"no", "n", "false", "0", ""}

Row = dict[str, object]
_E = TypeVar("_E", bound=StrEnum)
_D = TypeVar("_D")


@dataclass
class _Collected:
    """What the rows of one time point say."""

    date: dt.datetime
    where: str
    measurements: dict[str, LesionMeasurement] = field(default_factory=dict)
    new: list[NewLesionFinding] = field(default_factory=list)
    values: dict[str, object] = field(default_factory=dict)


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _flag(row: Row, column: str, where: str) -> bool | None:
    value = row.get(column)
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if text == "":
        return None
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise InputError(f"{where}, column {column}: expected yes or no, got {value!r}")


def _date(value: object, where: str) -> dt.datetime:
    text = _text(value)
    try:
        if "T" in text or " " in text:
            parsed = dt.datetime.fromisoformat(text)
        else:
            parsed = as_aware_datetime(dt.date.fromisoformat(text))
    except ValueError:
        raise InputError(
            f"{where}, column date: cannot read {value!r} as YYYY-MM-DD or an ISO date-time with offset"
        ) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise InputError(
            f"{where}, column date: {text} has no UTC offset; add one (e.g. +01:00) or give the date only"
        )
    return parsed


def _number(row: Row, column: str, resolution: Resolution, where: str) -> Fraction | None:
    value = row.get(column)
    if value is None or _text(value) == "":
        return None
    number: float | int | str = (
        value if isinstance(value, (int, float)) and not isinstance(value, bool) else _text(value)
    )
    return exact(
        number,
        resolution,
        field=f"{where}, column {column}",
        allow_negative=column == "mean_hu_portal",
    )


def _choice(row: Row, column: str, enum: type[_E], default: _D, where: str) -> _E | _D:
    text = _text(row.get(column)).lower()
    if text == "":
        return default
    try:
        return enum(text)
    except ValueError:
        allowed = ", ".join(str(e.value) for e in enum)
        raise InputError(
            f"{where}, column {column}: expected one of {allowed}, got {row.get(column)!r}"
        ) from None


def reader_case(rows: Sequence[tuple[str, Row]], case_id: str) -> ResponseCase:
    """Build the case from ``(where, row)`` pairs (``where`` names the file and line for errors).

    Raises
    ------
    InputError
        Unknown columns, missing required values, unreadable numbers or dates, a time point with
        two dates or two values of a ``tp_`` column, a lesion described two ways, and every
        inconsistency :class:`~nelm.response.model.ResponseCase` rejects.
    """
    if not rows:
        raise InputError(f"reader table for case {case_id}: no rows")
    tps: dict[str, _Collected] = {}
    lesions: dict[str, tuple[Lesion, str]] = {}
    targets: list[str] = []
    for where, row in rows:
        unknown = sorted(set(row) - set(COLUMNS))
        if unknown:
            raise InputError(
                f"{where}: unknown column(s) {', '.join(unknown)}; the columns are {', '.join(COLUMNS)}"
            )
        tp_id = _text(row.get("time_point"))
        if not tp_id:
            raise InputError(f"{where}, column time_point: required")
        date = _date(row.get("date"), where)
        tp = tps.setdefault(tp_id, _Collected(date, where))
        if tp.date != date:
            raise InputError(
                f"{where}, column date: time point {tp_id} has two dates ({tp.date} in {tp.where})"
            )
        values = tp.values
        for column in (*_TP_COLUMNS, "tp_non_target_call"):
            value = (
                _choice(row, column, NonTargetCall, None, where)
                if column == "tp_non_target_call"
                else _number(row, column, _TP_COLUMNS[column], where)
            )
            if value is None:
                continue
            if values.setdefault(column, value) != value:
                raise InputError(
                    f"{where}, column {column}: differs from an earlier row of time point {tp_id}"
                )
        lesion_id = _text(row.get("lesion_id"))
        if not lesion_id:
            continue
        measured = {c: _number(row, c, r, where) for c, r in _VALUE_COLUMNS.items()}
        if _flag(row, "new", where):
            tp.new.append(
                NewLesionFinding(
                    lesion_id,
                    certainty=_choice(row, "certainty", Certainty, Certainty.DEFINITE, where),
                    organ=_text(row.get("organ")) or "liver",
                    long_mm=measured["long_mm"],
                    enhancing=_flag(row, "enhancing", where),
                    avid=_flag(row, "avid", where),
                )
            )
            continue
        lesion = Lesion(
            lesion_id,
            organ=_text(row.get("organ")) or "liver",
            lesion_type=_choice(row, "lesion_type", LesionType, LesionType.NON_NODAL, where),
            previously_treated=bool(_flag(row, "previously_treated", where)),
        )
        if lesion_id in lesions and lesions[lesion_id][0] != lesion:
            raise InputError(
                f"{where}: lesion {lesion_id} is described differently in {lesions[lesion_id][1]} "
                "(organ, lesion_type or previously_treated)"
            )
        lesions.setdefault(lesion_id, (lesion, where))
        if _flag(row, "target", where) and lesion_id not in targets:
            targets.append(lesion_id)
        fragments = _text(row.get("fragments")) or "1"
        if not fragments.isdigit():
            raise InputError(
                f"{where}, column fragments: expected a whole number ≥ 1, got {row.get('fragments')!r}"
            )
        measurements = tp.measurements
        if lesion_id in measurements:
            raise InputError(f"{where}: lesion {lesion_id} appears twice at time point {tp_id}")
        try:
            measurements[lesion_id] = LesionMeasurement(
                lesion_id,
                state=_choice(row, "state", LesionState, LesionState.PRESENT, where),
                coalesced_into=_text(row.get("coalesced_into")) or None,
                fragments=int(fragments),
                **measured,
            )
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None
    ordered = sorted(tps.items(), key=lambda item: item[1].date)
    at_baseline = ordered[0][1].measurements
    # a lesion not measured at the baseline must be a new lesion (ResponseCase checks it)
    baseline_lesions = {lid: les for lid, (les, _) in lesions.items() if lid in at_baseline}
    time_points = []
    for tp_id, tp in ordered:
        values = tp.values
        try:
            time_points.append(
                TimePoint(
                    tp_id,
                    tp.date,
                    measurements=tp.measurements,
                    new_lesions=tp.new,
                    non_target_call=values.get("tp_non_target_call"),  # type: ignore[arg-type]
                    **{k[3:]: v for k, v in values.items() if k != "tp_non_target_call"},  # type: ignore[arg-type]
                )
            )
        except InputError as exc:
            raise InputError(f"reader table, time point {tp_id} (first row {tp.where}): {exc}") from None
    return ResponseCase(case_id, baseline_lesions, time_points, targets=targets or None)


def load_reader_table(path: str | os.PathLike[str], *, case_id: str | None = None) -> ResponseCase:
    """Read a reader's table (``.csv`` or ``.json``, see the module docstring).

    Parameters
    ----------
    path:
        The table.
    case_id:
        The case ID (default: the JSON's ``case_id``, else the file name without suffix).

    Raises
    ------
    InputError
        A missing or unreadable file, an unknown suffix, and every error of :func:`reader_case`,
        each naming the file and the line or row.
    """
    source = Path(path)
    if not source.is_file():
        raise InputError(f"{source}: reader table not found")
    suffix = source.suffix.lower()
    try:
        text = source.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{source}: cannot read the reader table ({exc})") from None
    rows: list[tuple[str, Row]] = []
    if suffix == ".csv":
        reader = csv.DictReader(text.splitlines())
        if not reader.fieldnames:
            raise InputError(f"{source}: the CSV has no header row")
        for line_no, record in enumerate(reader, start=2):
            if None in record:
                raise InputError(f"{source} line {line_no}: more values than header columns")
            rows.append(
                (f"{source} line {line_no}", {k.strip(): v for k, v in record.items() if k is not None})
            )
        default_id = source.stem
    elif suffix == ".json":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{source}: not valid JSON ({exc})") from None
        if not isinstance(doc, Mapping) or doc.get("nelm_reader_table") != 1:
            raise InputError(f'{source}: expected an object with "nelm_reader_table": 1 and "rows"')
        records = doc.get("rows")
        if not isinstance(records, list):
            raise InputError(f"{source}, field rows: expected a list of row objects")
        for i, record in enumerate(records):
            if not isinstance(record, Mapping):
                raise InputError(f"{source}, rows[{i}]: expected an object")
            rows.append((f"{source} rows[{i}]", dict(record)))
        default_id = _text(doc.get("case_id")) or source.stem
    else:
        raise InputError(f"{source}: unknown reader-table type {suffix or '(none)'!r}; use .csv or .json")
    try:
        return reader_case(rows, case_id or default_id)
    except InputError as exc:
        message = str(exc)
        raise InputError(message if str(source) in message else f"{source}: {message}") from None
