"""Validation helpers of the case manifest: context, issues, dates, quantities and paths.

Internal to :mod:`nelm.case`; the models in :mod:`nelm.case.model` call these from their
validators. A problem is raised as one pydantic error of type :data:`ISSUE_ERROR_TYPE` whose
``ctx["issues"]`` lists ``(sub_location, message)`` pairs, so a model-level check can still name
the exact field; :mod:`nelm.case.messages` turns them into the manifest's dotted paths.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationInfo
from pydantic_core import PydanticCustomError

from nelm.case.vocabulary import FileFormat
from nelm.errors import ManifestError, UnitsError
from nelm.units import Dimension, parse_quantity

__all__ = [
    "ISSUE_ERROR_TYPE",
    "BareNumber",
    "ManifestContext",
    "PathProblem",
    "When",
    "calendar_date",
    "detect_format",
    "fail",
    "is_earlier",
    "is_number",
    "issue",
    "manifest_context",
    "parse_unit_field",
    "parse_when",
    "resolve_existing",
    "sort_key",
]

#: Pydantic error type of every problem nelm's validators report; ``ctx["issues"]`` holds
#: ``(sub_location, message)`` pairs relative to the error's location.
ISSUE_ERROR_TYPE = "nelm_manifest"

_CONTEXT_KEY = "nelm_manifest"
_NUMBER_TEXT = re.compile(r"^\s*[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*$")
_NIFTI_SUFFIXES = (".nii", ".nii.gz")

#: A point in time of the manifest: a calendar date or a timezone-aware date-time.
When = dt.datetime | dt.date


@dataclass(frozen=True)
class ManifestContext:
    """Validation context of a manifest being loaded.

    Parameters
    ----------
    root:
        Absolute folder that relative paths are resolved against (the manifest's folder).
    manifest_path:
        The manifest file, when there is one.
    """

    root: Path
    manifest_path: Path | None = None

    def as_context(self) -> dict[str, Any]:
        """The ``context`` mapping to pass to :meth:`pydantic.BaseModel.model_validate`."""
        return {_CONTEXT_KEY: self}


def manifest_context(info: ValidationInfo) -> ManifestContext | None:
    """The manifest being loaded, or ``None`` when a model is built from Python."""
    context = info.context
    if isinstance(context, dict):
        found = context.get(_CONTEXT_KEY)
        if isinstance(found, ManifestContext):
            return found
    return None


def issue(*issues: tuple[tuple[str | int, ...], str]) -> PydanticCustomError:
    """Build the pydantic error nelm's validators raise for one or more problems.

    Each issue is ``(sub_location, message)``; the location is relative to where the validator
    runs, so a model validator can name the exact field (``("masks", "liver", "image")``).
    """
    summary = "; ".join(
        (".".join(str(part) for part in loc) + ": " + text) if loc else text for loc, text in issues
    )
    return PydanticCustomError(ISSUE_ERROR_TYPE, "{summary}", {"summary": summary, "issues": issues})


def fail(text: str) -> PydanticCustomError:
    """:func:`issue` for one problem at the validator's own location."""
    return issue(((), text))


@dataclass(frozen=True)
class BareNumber:
    """A number found under a unit-less manifest key (``activity: 2.1``); always an error."""

    value: float


def is_number(value: object) -> bool:
    """Whether ``value`` is an int or float (``bool`` is not a number here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def calendar_date(when: When) -> dt.date:
    """The calendar date of a date, or of a date-time in its own UTC offset."""
    return when.date() if isinstance(when, dt.datetime) else when


def is_earlier(a: When, b: When) -> bool:
    """Whether ``a`` is strictly before ``b`` under the manifest's ordering rule.

    Two timezone-aware date-times compare as instants. When either is a plain date, the two
    compare on their calendar dates (:func:`calendar_date`), so the same day is never earlier.
    """
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime):
        return a < b
    return calendar_date(a) < calendar_date(b)


def sort_key(when: When) -> tuple[dt.date, int, dt.datetime]:
    # Calendar date first; within one day a plain date before the date-times, which go by instant.
    if isinstance(when, dt.datetime):
        return (when.date(), 1, when.astimezone(dt.UTC))
    return (when, 0, dt.datetime.min.replace(tzinfo=dt.UTC))


def parse_when(value: object, *, allow_datetime: bool = True) -> When:
    """Validate a manifest date: a date, an aware date-time, or ISO 8601 text of either."""
    expected = (
        "a date (YYYY-MM-DD) or a date-time with a UTC offset (e.g. 2026-02-16T10:30:00+01:00)"
        if allow_datetime
        else "a date (YYYY-MM-DD)"
    )
    parsed: When
    if isinstance(value, dt.datetime | dt.date):
        parsed = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            has_time = any(mark in text for mark in "T :")
            parsed = dt.datetime.fromisoformat(text) if has_time else dt.date.fromisoformat(text)
        except ValueError:
            raise fail(f"cannot read {value!r} as {expected}") from None
    else:
        raise fail(f"expected {expected}, got {type(value).__name__} {value!r}")
    if isinstance(parsed, dt.datetime):
        if not allow_datetime:
            raise fail(
                f"{parsed.isoformat()} has a time of day; write the date only, e.g. "
                f"{parsed.date().isoformat()}"
            )
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            raise fail(
                f"date-time {parsed.isoformat()} has no UTC offset; add a UTC offset, "
                f"e.g. {parsed.isoformat()}+01:00 (or Z for UTC)"
            )
    return parsed


def parse_unit_field(
    value: object, info: ValidationInfo, dimension: Dimension, unit: str, *, allow_zero: bool
) -> float | None:
    """Validate a quantity field: unit text (any context) or a number in ``unit`` (Python only).

    Returns the value in ``unit``, the canonical unit of the field's name.
    """
    if value is None:
        return None
    if isinstance(value, BareNumber):
        value = value.value
        bare = True
    else:
        bare = (is_number(value) and manifest_context(info) is not None) or (
            isinstance(value, str) and _NUMBER_TEXT.match(value) is not None
        )
    if bare:
        number = str(value).strip()
        raise fail(f"bare number {number} has no unit; write '{number} {unit}'")
    if isinstance(value, int | float) and not isinstance(value, bool):
        number_value = float(value)
        if not math.isfinite(number_value):
            raise fail(f"{number_value} is not a finite number")
        if number_value < 0 or (number_value == 0 and not allow_zero):
            bound = "positive" if not allow_zero else "zero or positive"
            raise fail(f"{number_value:g} {unit} is impossible; it must be {bound}")
        return number_value
    token = "\u241f"
    try:
        parsed = parse_quantity(value, dimension, field=token, allow_zero=allow_zero).to(unit)
    except UnitsError as exc:
        raise fail(str(exc).replace(f"{token}: ", "").replace(token, "value")) from None
    return parsed


def detect_format(path: Path) -> FileFormat:
    """Decide how an existing image or mask path is stored.

    A folder is a DICOM series; a ``.nii``/``.nii.gz`` file is NIfTI; a ``.dcm`` file, or any
    other file carrying the DICOM preamble (``DICM`` at byte 128, PS3.10 7.1), is one DICOM file.

    Raises
    ------
    ManifestError
        Any other file.
    """
    if path.is_dir():
        return FileFormat.DICOM_SERIES
    name = path.name.lower()
    if name.endswith(_NIFTI_SUFFIXES):
        return FileFormat.NIFTI
    if name.endswith(".dcm"):
        return FileFormat.DICOM_FILE
    try:
        with path.open("rb") as handle:
            head = handle.read(132)
    except OSError as exc:
        raise ManifestError(f"{path}: cannot be read ({exc.strerror})") from None
    if head[128:132] == b"DICM":
        return FileFormat.DICOM_FILE
    raise ManifestError(
        f"{path}: unknown file type; an image or mask is a folder (DICOM series), a .nii/.nii.gz "
        "file (NIfTI) or a .dcm file (single DICOM)"
    )


class PathProblem(Exception):
    """A referenced path is missing or of an unknown type (internal; becomes an issue)."""


def resolve_existing(raw: object, info: ValidationInfo, what: str) -> tuple[Path, FileFormat]:
    """Resolve an image or mask path, check that it exists, and decide its format.

    Relative paths start at the manifest's folder, or at the current working directory when a
    model is built from Python (as :func:`open` does).

    Raises
    ------
    PathProblem
        Not text, missing, or of an unknown type; the message names the path as given and as
        resolved.
    """
    if isinstance(raw, Path):
        given = raw
    elif isinstance(raw, str) and raw.strip():
        given = Path(raw.strip())
    else:
        raise PathProblem(f"expected the path of the {what} as text, got {raw!r}")
    context = manifest_context(info)
    base = context.root if context is not None else Path.cwd()
    start = "the manifest's folder" if context is not None else f"the working directory {base}"
    resolved = Path(os.path.normpath(given if given.is_absolute() else base / given))
    if not resolved.exists():
        raise PathProblem(
            f"{what} {str(raw)!r} resolves to {resolved}, which does not exist; check the path "
            f"(relative paths start at {start})"
        )
    try:
        return resolved, detect_format(resolved)
    except ManifestError as exc:
        raise PathProblem(f"{what} {str(raw)!r}: {str(exc).removeprefix(f'{resolved}: ')}") from None
