"""Criterion settings from a YAML/JSON file: one section per criterion, any field overridable.

Example (``--config thresholds.yaml``)::

    recist:
      too_small_mm: "5"
      bor:
        confirmation: true
    who:
      progression_mode: per_lesion
    easl:
      progression_inclusive: true

Every criterion's settings are a frozen dataclass whose defaults are the sourced values; a section
replaces only the fields it names. Values are converted by the field's type: exact numbers
(``Fraction``) from decimal strings or integers (a float is read through its shortest decimal
form), ``bool`` from booleans, ``int`` from integers, text choices (``Literal`` or enums) from
their names, nested settings (``Change``, ``SumThresholds``, ``BorSettings`` …) from mappings.
An unknown section or field, or a value of the wrong kind, is a :class:`~nelm.errors.ConfigError`
naming the file and the dotted field.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import types
import typing
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeVar

import yaml

from nelm.errors import ConfigError, InputError

__all__ = ["load_settings_file", "override"]

_T = TypeVar("_T")


def _convert(value: object, kind: Any, where: str) -> object:
    """``value`` as the type ``kind`` (see the module docstring)."""
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(kind)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _convert(value, option, where)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(
            errors[0] if len(errors) == 1 else f"{where}: {value!r} fits none of the allowed kinds"
        )
    if origin is typing.Literal:
        allowed = typing.get_args(kind)
        if value not in allowed:
            raise ConfigError(f"{where}: expected one of {', '.join(map(str, allowed))}, got {value!r}")
        return value
    if origin in (tuple, list) or kind in (tuple, list):
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        args = typing.get_args(kind)
        item = args[0] if args else Any
        return tuple(_convert(v, item, f"{where}[{i}]") for i, v in enumerate(value))
    if kind is Any or kind is object:
        return value
    if kind is Fraction:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ConfigError(f'{where}: expected a number (e.g. "30" or "0.8"), got {value!r}')
        try:
            return Fraction(repr(value) if isinstance(value, float) else str(value).strip())
        except (ValueError, ZeroDivisionError):
            raise ConfigError(f"{where}: cannot read {value!r} as a number") from None
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected a whole number, got {value!r}")
        return value
    if kind is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected text, got {value!r}")
        return value
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        try:
            return kind(value)
        except ValueError:
            names = ", ".join(str(e.value) for e in kind)
            raise ConfigError(f"{where}: expected one of {names}, got {value!r}") from None
    if dataclasses.is_dataclass(kind) and isinstance(kind, type):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping of {kind.__name__} fields, got {value!r}")
        return _build(kind, value, where)
    raise ConfigError(f"{where}: settings of type {kind!r} cannot be set from a file")


def _build(kind: type[_T], values: Mapping[str, object], where: str, base: _T | None = None) -> _T:
    hints = typing.get_type_hints(kind)
    names = {f.name for f in dataclasses.fields(kind) if f.init}  # type: ignore[arg-type]
    unknown = sorted(set(values) - names)
    if unknown:
        raise ConfigError(
            f"{where}: unknown setting(s) {', '.join(unknown)}; "
            f"{kind.__name__} has {', '.join(sorted(names))}"
        )
    changes: dict[str, object] = {}
    for name, value in values.items():
        current = getattr(base, name) if base is not None else None
        field_where = f"{where}.{name}"
        if isinstance(value, Mapping) and current is not None and dataclasses.is_dataclass(current):
            changes[name] = _build(type(current), value, field_where, current)
        else:
            changes[name] = _convert(value, hints[name], field_where)
    try:
        if base is not None:
            return dataclasses.replace(base, **changes)  # type: ignore[type-var]
        return kind(**changes)
    except (InputError, TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def override(settings: _T, values: Mapping[str, object], where: str) -> _T:
    """``settings`` (a frozen dataclass) with the fields in ``values`` replaced and validated.

    Raises
    ------
    ConfigError
        An unknown field, a value of the wrong kind, or a value the settings' constructor
        rejects; the message starts with ``where`` and the dotted field.
    """
    if not dataclasses.is_dataclass(settings) or isinstance(settings, type):
        raise TypeError("override() needs a dataclass instance")
    return _build(type(settings), values, where, settings)


def load_settings_file(path: str | os.PathLike[str]) -> dict[str, Mapping[str, object]]:
    """The sections of a settings file (``.yaml``, ``.yml`` or ``.json``) by criterion key.

    Raises
    ------
    ConfigError
        A missing or unreadable file, bad YAML/JSON, or a top level that is not a mapping of
        mappings.
    """
    source = Path(path)
    if not source.is_file():
        raise ConfigError(f"{source}: settings file not found")
    try:
        text = source.read_text(encoding="utf-8")
        doc = json.loads(text) if source.suffix.lower() == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"{source}: cannot read the settings ({exc})") from None
    if doc is None:
        return {}
    if not isinstance(doc, Mapping) or not all(isinstance(v, Mapping) for v in doc.values()):
        raise ConfigError(
            f'{source}: expected one mapping per criterion (e.g. recist: {{too_small_mm: "5"}})'
        )
    return {str(k): v for k, v in doc.items()}
