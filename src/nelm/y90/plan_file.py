"""The Y-90 plan file (``nelm_y90_plan: 1``): what to plan, with a unit on every quantity.

A plan file is YAML or JSON. Every key is optional except the version; what it leaves out is
measured from the case (``case:``) or taken from nelm's documented defaults
(:mod:`nelm.y90.plan`). Example::

    nelm_y90_plan: 1
    case: case.yaml                 # relative to this file; gives images, masks, patient, treatments
    planning_time_point: maa        # default: the case's only time point of kind 'planning'
    device: glass                   # glass | resin; default: the case's TARE treatment, else glass
    models: [mird, partition, voxel]
    mird_dose: 120 Gy               # or mird_preset: radiation_segmentectomy
    partition_target: tumour        # tumour | normal_liver | max_safe
    partition_dose: 110 Gy
    bsa_form: whole_liver           # whole_liver | treated_fraction | ifu_scaled
    activity_ratio: 4               # Kao variant: tumour / normal-liver activity (not concentration)
    voxel_target: normal_liver      # voxel planning prescribes a mean dose to this compartment …
    voxel_dose: 40 Gy               # … or, without these two, shows the primary model's activity
    weight: 72 kg
    height: 168 cm
    liver_volume: 1546 mL
    perfused_volume: 1094 mL
    tumour_volume: 48 mL            # tumour inside the perfused territory
    lung_shunt: 6 %                 # or lung_shunt_method: spect | planar (from the case's images)
    lung_mass: 1 kg                 # or lung_volume: 2900 mL (CT lung volume × lung_density)
    tn_ratio: 3                     # tumour / normal-liver concentration ratio (default: MAA SPECT)
    residual: 1 %
    treatment_datetime: 2026-02-16T10:30:00+01:00
    vial_calibration: 2026-02-15T12:00:00-05:00
    vial_sizes: [3 GBq, 5 GBq, 7 GBq, 10 GBq, 15 GBq, 20 GBq]
    half_life: 64.1 h
    dose_coefficient: 49.67 Gy kg/GBq
    liver_density: 1.03 g/mL
    lung_density: 0.3 g/mL
    lung_limit_per_treatment: 30 Gy
    lung_limit_cumulative: 50 Gy
    normal_liver_limit: 70 Gy
    prior_lung_dose: 0 Gy           # default: the lung doses of earlier TARE treatments in the case
    cirrhosis: false

Fractions (``lung_shunt``, ``residual``) are written in percent with ``%``: a bare ``0.06`` could
be 6 % or 0.06 % and is refused, like every other bare number where a unit matters.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import Field, Strict, ValidationError, ValidationInfo, field_validator, model_validator

from nelm.case.base import ManifestModel, Text
from nelm.case.load import read_document
from nelm.case.messages import manifest_error
from nelm.case.validation import (
    BareNumber,
    ManifestContext,
    fail,
    is_number,
    manifest_context,
    parse_unit_field,
    parse_when,
)
from nelm.case.vocabulary import TareDevice
from nelm.errors import InputError, ManifestError
from nelm.units import Dimension

__all__ = ["PLAN_FILE_VERSION", "PlanFile", "load_plan_file", "parse_percent", "plan_file_from_dict"]

#: The plan-file schema version this nelm reads.
PLAN_FILE_VERSION: Final[int] = 1

_PERCENT = re.compile(r"^\s*(?P<num>[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*%\s*$")
_DENSITY = re.compile(
    r"^\s*(?P<num>[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*(?P<unit>g/ml|g/cm3|g/cm\^3|kg/l)\s*$",
    re.IGNORECASE,
)
_COEFFICIENT = re.compile(
    r"^\s*(?P<num>[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*"
    r"(?P<unit>gy\s*[·*.]?\s*kg\s*/\s*gbq|j\s*/\s*gbq|gy\s*/\s*\(gbq\s*/\s*kg\))\s*$",
    re.IGNORECASE,
)

Model = Literal["bsa", "mird", "partition", "partition_activity_ratio", "voxel"]


def _percent_of(text: str) -> float:
    """``"6 %"`` as the fraction 0.06; ``ValueError`` with the reason otherwise."""
    match = _PERCENT.match(text)
    if match is None:
        raise ValueError(f"cannot read {text!r} as a percentage; write e.g. '6 %'")
    fraction = float(match.group("num")) / 100.0
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"{fraction * 100:g} % is impossible; it must be at least 0 % and below 100 %")
    return fraction


def parse_percent(text: str, *, field: str) -> float:
    """A fraction in [0, 1) written in percent with ``%`` (``"6 %"`` → 0.06).

    Raises
    ------
    InputError
        No ``%``, not a number, or outside 0 % (inclusive) to 100 % (exclusive); names ``field``.
    """
    try:
        return _percent_of(text)
    except ValueError as exc:
        raise InputError(f"{field}: {exc}") from None


def _percent(value: object, info: ValidationInfo) -> float | None:
    """A fraction written as ``"6 %"`` (manifest) or a plain fraction 0-1 (Python)."""
    if value is None:
        return None
    if isinstance(value, BareNumber) or (is_number(value) and manifest_context(info) is not None):
        number = float(value.value if isinstance(value, BareNumber) else value)  # type: ignore[arg-type]
        raise fail(f"bare number {number:g} is ambiguous; write it in percent, e.g. '{number * 100:g} %'")
    if is_number(value):  # Python callers give the fraction itself
        fraction = float(value)  # type: ignore[arg-type]
        if not 0.0 <= fraction < 1.0:
            raise fail(f"{fraction * 100:g} % is impossible; it must be at least 0 % and below 100 %")
        return fraction
    try:
        return _percent_of(value if isinstance(value, str) else repr(value))
    except ValueError as exc:
        raise fail(str(exc)) from None


def _pattern_value(
    value: object, info: ValidationInfo, pattern: re.Pattern[str], example: str
) -> float | None:
    if value is None:
        return None
    if isinstance(value, BareNumber) or (is_number(value) and manifest_context(info) is not None):
        number = value.value if isinstance(value, BareNumber) else value
        raise fail(f"bare number {number} has no unit; write e.g. '{example}'")
    if is_number(value):
        return float(value)  # type: ignore[arg-type]
    if isinstance(value, str) and (match := pattern.match(value)) is not None:
        return float(match.group("num"))  # every accepted spelling is the canonical unit
    raise fail(f"cannot read {value!r}; write e.g. '{example}'")


class PlanFile(ManifestModel):
    """A validated Y-90 plan file; quantities in canonical units named in the field.

    See the module docstring for the manifest form. ``None`` means "not given": measure it from
    the case or use the default.
    """

    nelm_y90_plan: Literal[1] = 1
    case: Path | None = None
    planning_time_point: Text | None = None
    device: Annotated[TareDevice, Strict(False)] | None = None
    models: tuple[Model, ...] | None = None
    mird_dose_gy: float | None = Field(default=None, validation_alias="mird_dose")
    mird_preset: Text | None = None
    partition_target: Literal["tumour", "normal_liver", "max_safe"] | None = None
    partition_dose_gy: float | None = Field(default=None, validation_alias="partition_dose")
    bsa_form: Literal["whole_liver", "treated_fraction", "ifu_scaled"] | None = None
    activity_ratio: Annotated[float, Field(gt=0)] | None = None
    voxel_target: Literal["normal_liver", "tumour", "perfused"] | None = None
    voxel_dose_gy: float | None = Field(default=None, validation_alias="voxel_dose")
    weight_kg: float | None = Field(default=None, validation_alias="weight")
    height_cm: float | None = Field(default=None, validation_alias="height")
    liver_volume_ml: float | None = Field(default=None, validation_alias="liver_volume")
    perfused_volume_ml: float | None = Field(default=None, validation_alias="perfused_volume")
    tumour_volume_ml: float | None = Field(default=None, validation_alias="tumour_volume")
    lung_shunt_fraction: float | None = Field(default=None, validation_alias="lung_shunt")
    lung_shunt_method: Literal["spect", "planar"] | None = None
    lung_mass_kg: float | None = Field(default=None, validation_alias="lung_mass")
    lung_volume_ml: float | None = Field(default=None, validation_alias="lung_volume")
    tn_ratio: Annotated[float, Field(gt=0)] | None = None
    residual_fraction: float | None = Field(default=None, validation_alias="residual")
    treatment_datetime: dt.datetime | None = None
    vial_calibration: dt.datetime | None = None
    vial_sizes_gbq: tuple[float, ...] | None = Field(default=None, validation_alias="vial_sizes")
    half_life_h: float | None = Field(default=None, validation_alias="half_life")
    dose_coefficient_gy_kg_per_gbq: float | None = Field(default=None, validation_alias="dose_coefficient")
    liver_density_g_per_ml: float | None = Field(default=None, validation_alias="liver_density")
    lung_density_g_per_ml: float | None = Field(default=None, validation_alias="lung_density")
    lung_limit_per_treatment_gy: float | None = Field(
        default=None, validation_alias="lung_limit_per_treatment"
    )
    lung_limit_cumulative_gy: float | None = Field(default=None, validation_alias="lung_limit_cumulative")
    normal_liver_limit_gy: float | None = Field(default=None, validation_alias="normal_liver_limit")
    prior_lung_dose_gy: float | None = Field(default=None, validation_alias="prior_lung_dose")
    cirrhosis: bool | None = None

    @field_validator("case", mode="before")
    @classmethod
    def _case(cls, value: object, info: ValidationInfo) -> Path | None:
        if value is None:
            return None
        if not isinstance(value, str | Path) or not str(value).strip():
            raise fail(f"expected the path of a case manifest, got {value!r}")
        context = manifest_context(info)
        path = Path(value)
        if not path.is_absolute() and context is not None:
            path = context.root / path
        if not path.is_file():
            raise fail(f"case manifest {str(value)!r} not found (looked for {path})")
        return path

    @field_validator("models", mode="before")
    @classmethod
    def _models(cls, value: object) -> object:
        if isinstance(value, str):
            return (value,)
        if isinstance(value, list):
            if not value:
                raise fail("needs at least one model (bsa, mird, partition, partition_activity_ratio, voxel)")
            if len(set(value)) != len(value):
                raise fail(f"lists a model twice: {value}")
            return tuple(value)
        return value

    @field_validator(
        "mird_dose_gy",
        "partition_dose_gy",
        "voxel_dose_gy",
        "lung_limit_per_treatment_gy",
        "lung_limit_cumulative_gy",
        "normal_liver_limit_gy",
        mode="before",
    )
    @classmethod
    def _dose(cls, value: object, info: ValidationInfo) -> float | None:
        return parse_unit_field(value, info, Dimension.DOSE, "Gy", allow_zero=False)

    @field_validator("prior_lung_dose_gy", mode="before")
    @classmethod
    def _prior(cls, value: object, info: ValidationInfo) -> float | None:
        return parse_unit_field(value, info, Dimension.DOSE, "Gy", allow_zero=True)

    @field_validator("weight_kg", "lung_mass_kg", mode="before")
    @classmethod
    def _mass(cls, value: object, info: ValidationInfo) -> float | None:
        return parse_unit_field(value, info, Dimension.MASS, "kg", allow_zero=False)

    @field_validator("height_cm", mode="before")
    @classmethod
    def _height(cls, value: object, info: ValidationInfo) -> float | None:
        return parse_unit_field(value, info, Dimension.LENGTH, "cm", allow_zero=False)

    @field_validator("liver_volume_ml", "perfused_volume_ml", "lung_volume_ml", mode="before")
    @classmethod
    def _volume(cls, value: object, info: ValidationInfo) -> float | None:
        return parse_unit_field(value, info, Dimension.VOLUME, "mL", allow_zero=False)

    @field_validator("tumour_volume_ml", mode="before")
    @classmethod
    def _tumour_volume(cls, value: object, info: ValidationInfo) -> float | None:
        return parse_unit_field(value, info, Dimension.VOLUME, "mL", allow_zero=True)

    @field_validator("half_life_h", mode="before")
    @classmethod
    def _half_life(cls, value: object, info: ValidationInfo) -> float | None:
        seconds = parse_unit_field(value, info, Dimension.DURATION, "s", allow_zero=False)
        return None if seconds is None else seconds / 3600.0

    @model_validator(mode="after")
    def _one_lsf_source(self) -> PlanFile:
        if self.lung_shunt_fraction is not None and self.lung_shunt_method is not None:
            raise fail("give lung_shunt (a value) or lung_shunt_method (measure it), not both")
        return self

    @field_validator("lung_shunt_fraction", mode="before")
    @classmethod
    def _lsf(cls, value: object, info: ValidationInfo) -> float | None:
        return _percent(value, info)

    @field_validator("residual_fraction", mode="before")
    @classmethod
    def _residual(cls, value: object, info: ValidationInfo) -> float | None:
        return _percent(value, info)

    @field_validator("liver_density_g_per_ml", "lung_density_g_per_ml", mode="before")
    @classmethod
    def _density(cls, value: object, info: ValidationInfo) -> float | None:
        return _pattern_value(value, info, _DENSITY, "1.03 g/mL")

    @field_validator("dose_coefficient_gy_kg_per_gbq", mode="before")
    @classmethod
    def _coefficient(cls, value: object, info: ValidationInfo) -> float | None:
        return _pattern_value(value, info, _COEFFICIENT, "49.67 Gy kg/GBq")

    @field_validator("treatment_datetime", "vial_calibration", mode="before")
    @classmethod
    def _when(cls, value: object) -> dt.datetime | None:
        if value is None:
            return None
        parsed = parse_when(value)
        if not isinstance(parsed, dt.datetime):
            raise fail(f"{parsed.isoformat()} is a date; decay needs a date-time with a UTC offset")
        return parsed

    @field_validator("vial_sizes_gbq", mode="before")
    @classmethod
    def _sizes(cls, value: object, info: ValidationInfo) -> tuple[float, ...] | None:
        if value is None:
            return None
        if not isinstance(value, list | tuple) or not value:
            raise fail("must be a non-empty list of activities, e.g. [3 GBq, 5 GBq]")
        sizes = []
        for item in value:
            raw = BareNumber(item) if is_number(item) and manifest_context(info) is not None else item
            size = parse_unit_field(raw, info, Dimension.ACTIVITY, "GBq", allow_zero=False)
            assert size is not None
            sizes.append(size)
        return tuple(sorted(sizes))


def plan_file_from_dict(
    data: dict[str, Any], *, root: str | os.PathLike[str], source: str = "<plan file>"
) -> PlanFile:
    """Validate a plan file already parsed into a mapping (paths relative to ``root``)."""
    if "nelm_y90_plan" not in data:
        raise ManifestError(f"{source}: nelm_y90_plan: required; add 'nelm_y90_plan: 1' at the top")
    version = data["nelm_y90_plan"]
    if isinstance(version, bool) or version != PLAN_FILE_VERSION:
        raise ManifestError(
            f"{source}: nelm_y90_plan: schema version {version!r} is not supported; this nelm reads 1"
        )
    context = ManifestContext(root=Path(os.path.abspath(root)))
    try:
        return PlanFile.model_validate(dict(data), context=context.as_context())
    except ValidationError as exc:
        raise manifest_error(exc, source, PlanFile) from None


def load_plan_file(path: str | os.PathLike[str]) -> PlanFile:
    """Read and validate a plan file; every problem names the file and the key.

    Raises
    ------
    ManifestError
        Missing, unreadable or malformed file, unsupported version, or invalid keys.
    """
    data = read_document(
        path, what="Y-90 plan file", first_line="nelm_y90_plan: 1", top_keys="nelm_y90_plan, case, models, …"
    )
    return plan_file_from_dict(data, root=Path(os.path.abspath(path)).parent, source=os.fspath(path))
