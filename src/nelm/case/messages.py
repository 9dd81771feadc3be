"""Turn pydantic validation errors into manifest messages a clinician can act on.

Every problem becomes one line ``<file>: <dotted.path[index]>: <reason>``, e.g.
``case.yaml: time_points[1].images.ct_portl: unknown image role; did you mean 'ct_portal'?
known: ...``. The path uses the manifest's own keys (``activity``, not ``activity_gbq``).
"""

from __future__ import annotations

import datetime as dt
import difflib
import types
import typing
from collections.abc import Iterator, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from nelm.case.validation import ISSUE_ERROR_TYPE
from nelm.errors import ManifestError

__all__ = ["ManifestValidationError", "format_location", "manifest_error", "problems_of"]

_KEY_MARK = "[key]"
_MAX_INPUT_CHARS = 80
_ROLE_FIELDS = {"images": "image role", "masks": "mask role"}
_BOUNDS = {
    "greater_than": ("gt", ">"),
    "greater_than_equal": ("ge", ">="),
    "less_than": ("lt", "<"),
    "less_than_equal": ("le", "<="),
}

Location = tuple[str | int, ...]


class ManifestValidationError(ManifestError):
    """A manifest failed validation; ``problems`` holds one line per failing field.

    The message is those lines joined by newlines, each naming the file and the field.
    """

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        super().__init__("\n".join(self.problems))


def format_location(loc: Location) -> str:
    """Dotted path with indices: ``("time_points", 1, "date")`` -> ``time_points[1].date``."""
    text = ""
    for part in loc:
        if part == _KEY_MARK:
            continue
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_INPUT_CHARS else text[: _MAX_INPUT_CHARS - 3] + "..."


def _strip_optional(annotation: Any) -> Any:
    # Annotated[X, ...] -> X; X | None -> X (only single-member unions are unwrapped).
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(members) == 1:
                annotation = members[0]
                continue
        return annotation


def model_at(root: type[BaseModel], loc: Location) -> type[BaseModel] | None:
    """The model class found at a location under ``root``, or ``None``."""
    current: Any = root
    for part in loc:
        current = _strip_optional(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = next(
                (f for name, f in current.model_fields.items() if part in (name, f.validation_alias)),
                None,
            )
            if field is None:
                return None
            current = field.annotation
            continue
        origin = typing.get_origin(current)
        args = typing.get_args(current)
        if origin in (tuple, list) and args:
            current = args[0]
        elif origin is dict and len(args) == 2:
            current = args[1]
        else:
            return None
    current = _strip_optional(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _known_keys(model: type[BaseModel] | None) -> list[str]:
    if model is None:
        return []
    keys = getattr(model, "manifest_keys", None)
    return list(keys()) if callable(keys) else list(model.model_fields)


def _did_you_mean(word: object, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(str(word), list(known), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""


def _describe(error: ErrorDetails, root: type[BaseModel]) -> str:
    kind = error["type"]
    loc = tuple(error["loc"])
    value = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        known = _known_keys(model_at(root, loc[:-1]))
        return f"unknown key; {_did_you_mean(loc[-1], known)}known: {', '.join(known)}"
    if kind == "enum" and loc and loc[-1] == _KEY_MARK:
        what = _ROLE_FIELDS.get(str(loc[-3]) if len(loc) >= 3 else "", "key")
        known = [part.strip(" '") for part in str(ctx.get("expected", "")).replace(" or ", ",").split(",")]
        known = [k for k in known if k]
        return f"unknown {what}; {_did_you_mean(value, known)}known: {', '.join(known)}"
    if kind == "enum":
        return f"{_show(value)} is not allowed; use one of {ctx.get('expected', '')}"
    if kind == "missing":
        return "required but missing"
    if kind == "string_type":
        hint = "; put it in quotes" if isinstance(value, int | float | bool | dt.date) else ""
        return f"expected text, got {type(value).__name__} {_show(value)}{hint}"
    if kind == "bool_type":
        return f"expected true or false, got {_show(value)}"
    if kind in ("int_type", "int_from_float"):
        return f"expected a whole number, got {_show(value)}"
    if kind in ("float_type", "finite_number"):
        return f"expected a finite number, got {_show(value)}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"expected a mapping of keys to values, got {type(value).__name__} {_show(value)}"
    if kind in ("tuple_type", "list_type"):
        return f"expected a list, got {type(value).__name__} {_show(value)}"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length', 1)} entry; got {_show(value)}"
    if kind in _BOUNDS:
        key, symbol = _BOUNDS[kind]
        return f"{_show(value)} is out of range; it must be {symbol} {ctx.get(key)}"
    message = error["msg"]
    return f"{message[:1].lower()}{message[1:]}, got {_show(value)}"


def problems_of(exc: ValidationError, root: type[BaseModel]) -> Iterator[tuple[Location, str]]:
    """Each problem of a validation error as (manifest location, reason)."""
    for error in exc.errors(include_url=False):
        loc: Location = tuple(error["loc"])
        if error["type"] == ISSUE_ERROR_TYPE:
            ctx = error.get("ctx") or {}
            for sub_loc, text in ctx.get("issues", [((), error["msg"])]):
                yield (*loc, *sub_loc), text
        else:
            yield loc, _describe(error, root)


def manifest_error(exc: ValidationError, source: str, root: type[BaseModel]) -> ManifestValidationError:
    """One :class:`ManifestValidationError` listing every problem, each naming ``source``."""
    lines = []
    for loc, text in problems_of(exc, root):
        where = format_location(loc)
        lines.append(f"{source}: {where}: {text}" if where else f"{source}: {text}")
    return ManifestValidationError(lines)
