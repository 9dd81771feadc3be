"""The base of every case manifest model: strict, frozen, no unknown keys, manifest aware."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from nelm.case.validation import BareNumber, is_number, issue, manifest_context

__all__ = ["ManifestModel", "NonNegative", "Text"]

#: Non-empty text.
Text = Annotated[str, Field(min_length=1)]
#: A number >= 0.
NonNegative = Annotated[float, Field(ge=0)]


class ManifestModel(BaseModel):
    """Base of every manifest model: strict, frozen, no unknown keys.

    Fields with a ``validation_alias`` are quantities: the alias is the manifest key (unit text,
    ``weight``) and the field name the canonical, unit-named attribute (``weight_kg``). A manifest
    may use only the alias; Python code may use either.
    """

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
        allow_inf_nan=False,
    )

    #: Fields computed during validation, never written in a manifest.
    _DERIVED_FIELDS: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def manifest_keys(cls) -> tuple[str, ...]:
        """The keys this model accepts in a manifest, in schema order."""
        keys = []
        for name, info in cls.model_fields.items():
            if name in cls._DERIVED_FIELDS:
                continue
            keys.append(info.validation_alias if isinstance(info.validation_alias, str) else name)
        return tuple(keys)

    @classmethod
    def _prepare(cls, data: dict[str, Any], info: ValidationInfo, *, short_form: bool) -> dict[str, Any]:
        """Hook for subclasses: rewrite the manifest form before field validation.

        ``short_form`` is true when the input was the short text form (:meth:`_short_form`).
        """
        return data

    @classmethod
    def _short_form(cls, data: object) -> dict[str, Any] | None:
        """Hook for subclasses accepting a short form (a path as text for a file reference)."""
        return None

    @model_validator(mode="before")
    @classmethod
    def _from_manifest_form(cls, data: Any, info: ValidationInfo) -> Any:
        short = cls._short_form(data)
        if short is not None:
            return cls._prepare(short, info, short_form=True)
        if not isinstance(data, dict):
            return data
        aliased = {name: f.validation_alias for name, f in cls.model_fields.items()}
        aliases = {alias for alias in aliased.values() if isinstance(alias, str)}
        if manifest_context(info) is not None:
            hidden = {name for name, alias in aliased.items() if isinstance(alias, str)}
            hidden |= cls._DERIVED_FIELDS
            found = [key for key in data if key in hidden]
            if found:
                known = ", ".join(cls.manifest_keys())
                raise issue(*(((key,), f"unknown key; known: {known}") for key in found))
        out = dict(data)
        for alias in aliases:
            if is_number(out.get(alias)):
                out[alias] = BareNumber(out[alias])
        return cls._prepare(out, info, short_form=False)
