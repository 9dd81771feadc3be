"""The case manifest model (schema version 1): frozen, strict pydantic models.

A :class:`Case` cannot exist in an invalid state: its constructor checks every field, every
referenced file, and the consistency rules across time points. Two ways in:

* from a manifest (:func:`nelm.case.load_case`, :func:`nelm.case.case_from_dict`): keys are
  the manifest's (``weight: "72 kg"``, ``activity: "2.1 GBq"``), quantities are unit strings
  and a bare number is an error, paths are relative to the manifest's folder, and errors come
  back as one :class:`~nelm.errors.ManifestError` naming the file and every failing field;
* from Python (``Treatment(type="tare", date=..., activity_gbq=2.1)``): canonical names, whose
  unit is in the name, take plain numbers; relative paths resolve against the current working
  directory, as :func:`open` does; errors are :class:`pydantic.ValidationError`.

Quantities are stored in canonical units named in the field (``weight_kg``, ``height_cm``,
``activity_gbq``, ``lung_dose_gy``). Height is in centimetres, the unit of the body-surface-area
formulas used in Y-90 activity planning (Mosteller, N Engl J Med 1987;317:1098); it is rounded
to 1e-6 cm so that converting it from millimetres and back reproduces the stored value.

Dates and their order
---------------------
A ``date`` field holds a calendar date or a timezone-aware date-time; a naive date-time is an
error, because decay and intervals need the absolute instant. The manifest has no case-wide
timezone, so ordering follows one rule (:func:`is_earlier`): two date-times compare as instants;
when either side is a plain date, the two compare on their calendar dates, a date-time's calendar
date being the one written in its own UTC offset. A follow-up on the same calendar day as a
date-only baseline is therefore not "before" it.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr, Strict, ValidationInfo, field_validator, model_validator

from nelm.case.base import ManifestModel, NonNegative, Text
from nelm.case.refs import FileRef, ImageRef, MaskRef
from nelm.case.validation import (
    When,
    fail,
    is_earlier,
    issue,
    manifest_context,
    parse_unit_field,
    parse_when,
    sort_key,
)
from nelm.case.vocabulary import (
    Differentiation,
    FunctionalSyndrome,
    Grade,
    ImageRole,
    MaskRole,
    PortalVeinThrombosis,
    PrimarySite,
    Sex,
    TareDevice,
    TimePointKind,
    TreatmentType,
)
from nelm.errors import ManifestError
from nelm.units import Dimension

__all__ = ["Case", "Clinical", "ImageRef", "MaskRef", "Patient", "TimePoint", "Treatment"]


_HEIGHT_DECIMALS = 6
_SEGMENT_TARGET = re.compile(r"^segment_(?P<n>[^\s]+)$")
_COUINAUD_SEGMENTS = frozenset({"1", "2", "3", "4", "4a", "4b", "5", "6", "7", "8"})


class Patient(ManifestModel):
    """Demographics. ``name``, ``id`` and ``birth_date`` identify the patient and are never
    copied to outputs unless asked (:meth:`Case.to_json_dict`).

    Parameters
    ----------
    name, id, birth_date:
        Identifying fields, all optional.
    sex:
        ``M``, ``F`` or ``O`` (DICOM Patient's Sex).
    weight_kg:
        Body weight; manifest key ``weight`` with a unit (``"72 kg"``, ``"160 lb"``).
    height_cm:
        Body height; manifest key ``height`` with a unit (``"168 cm"``, ``"1.68 m"``).
    """

    name: Text | None = None
    id: Text | None = None
    birth_date: dt.date | None = None
    sex: Annotated[Sex, Strict(False)] | None = None
    weight_kg: float | None = Field(default=None, validation_alias="weight")
    height_cm: float | None = Field(default=None, validation_alias="height")

    @field_validator("birth_date", mode="before")
    @classmethod
    def _birth_date(cls, value: object) -> object:
        return None if value is None else parse_when(value, allow_datetime=False)

    @field_validator("weight_kg", mode="before")
    @classmethod
    def _weight(cls, value: object, info: ValidationInfo) -> float | None:
        return parse_unit_field(value, info, Dimension.MASS, "kg", allow_zero=False)

    @field_validator("height_cm", mode="before")
    @classmethod
    def _height(cls, value: object, info: ValidationInfo) -> float | None:
        height = parse_unit_field(value, info, Dimension.LENGTH, "cm", allow_zero=False)
        return None if height is None else round(height, _HEIGHT_DECIMALS)


class Clinical(ManifestModel):
    """Clinical data for the therapy rules; every field optional (missing means unknown).

    Laboratory values carry their unit in the name and are plain numbers. ``ki67_percent`` is
    0-100; ``ecog`` is the ECOG performance status 0-4 (Oken et al., Am J Clin Oncol
    1982;5:649-655; grade 5, dead, does not apply to a living patient).
    """

    primary_site: Annotated[PrimarySite, Strict(False)] | None = None
    primary_resected: bool | None = None
    who_classification: Text | None = None
    grade: Annotated[Grade, Strict(False)] | None = None
    ki67_percent: float | None = Field(default=None, ge=0, le=100)
    differentiation: Annotated[Differentiation, Strict(False)] | None = None
    extrahepatic_disease: bool | None = None
    functional_syndrome: Annotated[FunctionalSyndrome, Strict(False)] | None = None
    somatostatin_analogue: bool | None = None
    ecog: int | None = Field(default=None, ge=0, le=4)
    bilirubin_mg_dl: NonNegative | None = None
    albumin_g_dl: NonNegative | None = None
    inr: NonNegative | None = None
    platelets_10e9_l: NonNegative | None = None
    leukocytes_10e9_l: NonNegative | None = None
    granulocytes_10e9_l: NonNegative | None = None
    ldh_u_l: NonNegative | None = None
    ast_u_l: NonNegative | None = None
    creatinine_mg_dl: NonNegative | None = None
    egfr_ml_min: NonNegative | None = None
    ascites: bool | None = None
    portal_vein_thrombosis: Annotated[PortalVeinThrombosis, Strict(False)] | None = None
    bilioenteric_anastomosis: bool | None = None
    biliary_stent: bool | None = None
    sphincterotomy: bool | None = None


def _role(kind: str, enum: type[ImageRole] | type[MaskRole], role: object) -> ImageRole | MaskRole:
    text = role.value if isinstance(role, ImageRole | MaskRole) else role
    try:
        return enum(str(text))
    except ValueError:
        known = ", ".join(member.value for member in enum)
        raise ManifestError(f"unknown {kind} role {text!r}; known: {known}") from None


def _absent_role(kind: str, role: ImageRole | MaskRole, present: list[str], point: str) -> ManifestError:
    listed = ", ".join(present) if present else "none"
    return ManifestError(
        f"time point {point!r} has no {kind} {role.value!r}; present: {listed}. Add it to the case manifest"
    )


class TimePoint(ManifestModel):
    """One imaging examination (or a few on the same occasion) of the case.

    Parameters
    ----------
    id:
        Unique within the case, e.g. ``"baseline"``, ``"fu1"``.
    date:
        A date or a timezone-aware date-time.
    kind:
        Its role in the course of treatment.
    images:
        Image role -> :class:`ImageRef`.
    masks:
        Mask role -> :class:`MaskRef`; a mask's ``image`` must be one of this time point's roles.
    """

    id: Text
    date: When
    kind: Annotated[TimePointKind, Strict(False)]
    images: dict[Annotated[ImageRole, Strict(False)], ImageRef] = Field(default_factory=dict)
    masks: dict[Annotated[MaskRole, Strict(False)], MaskRef] = Field(default_factory=dict)

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, value: object) -> When:
        return parse_when(value)

    @model_validator(mode="after")
    def _masks_on_present_images(self) -> TimePoint:
        present = ", ".join(role.value for role in self.images) or "none"
        problems = [
            (
                ("masks", role.value, "image"),
                f"refers to image role {mask.image.value!r}, which time point {self.id!r} does not have; "
                f"images present: {present}",
            )
            for role, mask in self.masks.items()
            if mask.image is not None and mask.image not in self.images
        ]
        if problems:
            raise issue(*problems)
        return self

    def has_image(self, role: ImageRole | str) -> bool:
        """Whether the time point has an image of this role."""
        return role in self.images

    def has_mask(self, role: MaskRole | str) -> bool:
        """Whether the time point has a mask of this role."""
        return role in self.masks

    def image(self, role: ImageRole | str) -> ImageRef:
        """The image of a role.

        Raises
        ------
        ManifestError
            Unknown role, or no image of that role (the message lists those present).
        """
        key = _role("image", ImageRole, role)
        found = self.images.get(ImageRole(key))
        if found is None:
            raise _absent_role("image", key, [r.value for r in self.images], self.id)
        return found

    def mask(self, role: MaskRole | str) -> MaskRef:
        """The mask of a role.

        Raises
        ------
        ManifestError
            Unknown role, or no mask of that role (the message lists those present).
        """
        key = _role("mask", MaskRole, role)
        found = self.masks.get(MaskRole(key))
        if found is None:
            raise _absent_role("mask", key, [r.value for r in self.masks], self.id)
        return found


class Treatment(ManifestModel):
    """A treatment given to the patient.

    Parameters
    ----------
    type:
        Kind of treatment.
    date:
        A date or a timezone-aware date-time.
    device:
        For TARE ``glass`` or ``resin``; free text for other types.
    activity_gbq:
        Administered activity; manifest key ``activity`` with a unit (``"2.1 GBq"``,
        ``"200 mCi"``). Required for TARE and PRRT; always positive.
    target:
        ``whole_liver``, ``right_lobe``, ``left_lobe``, ``segment_<n>`` or lesion ids. Segments
        follow Couinaud (Le foie: études anatomiques et chirurgicales, Masson 1957): 1-8, with
        4a/4b (Bismuth, World J Surg 1982;6:3-9); any other ``segment_`` name is an error.
    lung_dose_gy:
        Estimated lung absorbed dose; manifest key ``lung_dose`` with a unit (``"4.2 Gy"``).
    notes:
        Free text.
    """

    type: Annotated[TreatmentType, Strict(False)]
    date: When
    device: Text | None = None
    activity_gbq: float | None = Field(default=None, validation_alias="activity")
    target: Text | None = None
    lung_dose_gy: float | None = Field(default=None, validation_alias="lung_dose")
    notes: str = ""

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, value: object) -> When:
        return parse_when(value)

    @field_validator("activity_gbq", mode="before")
    @classmethod
    def _activity(cls, value: object, info: ValidationInfo) -> float | None:
        return parse_unit_field(value, info, Dimension.ACTIVITY, "GBq", allow_zero=False)

    @field_validator("lung_dose_gy", mode="before")
    @classmethod
    def _lung_dose(cls, value: object, info: ValidationInfo) -> float | None:
        return parse_unit_field(value, info, Dimension.DOSE, "Gy", allow_zero=True)

    @field_validator("target")
    @classmethod
    def _target(cls, value: str | None) -> str | None:
        if value is not None:
            segment = _SEGMENT_TARGET.match(value)
            if segment is not None and segment.group("n") not in _COUINAUD_SEGMENTS:
                raise fail(
                    f"{value!r} is not a Couinaud segment; use segment_1 ... segment_8 "
                    "(segment_4a, segment_4b)"
                )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Treatment:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        if self.type in (TreatmentType.TARE, TreatmentType.PRRT) and self.activity_gbq is None:
            problems.append(
                (
                    ("activity",),
                    f"required for a {self.type.value} treatment; "
                    "write it with its unit, e.g. activity: '2.1 GBq'",
                )
            )
        if (
            self.type is TreatmentType.TARE
            and self.device is not None
            and self.device not in {d.value for d in TareDevice}
        ):
            problems.append((("device",), f"{self.device!r} is not a Y-90 device; use glass or resin"))
        if problems:
            raise issue(*problems)
        return self

    @property
    def tare_device(self) -> TareDevice | None:
        """The microsphere type of a TARE treatment, when given."""
        if self.type is TreatmentType.TARE and self.device is not None:
            return TareDevice(self.device)
        return None


class Case(ManifestModel):
    """A patient's case: demographics, clinical data, imaging time points and treatments.

    Parameters
    ----------
    nelm_manifest:
        Schema version; only 1 exists.
    case_id:
        Non-identifying case identifier, used in output names.
    patient, clinical:
        See :class:`Patient`, :class:`Clinical`.
    time_points:
        At least one; ids unique; exactly one of kind ``baseline``, and no ``follow_up`` dated
        before it (:func:`is_earlier`).
    treatments:
        Treatments given, in manifest order.

    Notes
    -----
    Two cases are equal when their fields are; where their manifests live is not compared.

    The schema's comment calls the baseline "the earliest"; the rule enforced is the one that
    response assessment needs: no ``follow_up`` before the baseline. Planning, treatment and
    post-treatment imaging (e.g. of an earlier course) may precede it.
    """

    nelm_manifest: Literal[1] = 1
    case_id: Text
    patient: Patient = Field(default_factory=Patient)
    clinical: Clinical = Field(default_factory=Clinical)
    time_points: Annotated[tuple[TimePoint, ...], Strict(False), Field(min_length=1)]
    treatments: Annotated[tuple[Treatment, ...], Strict(False)] = ()

    _manifest_path: Path | None = PrivateAttr(default=None)
    _root: Path | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> Case:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        first_index: dict[str, int] = {}
        for index, point in enumerate(self.time_points):
            if point.id in first_index:
                problems.append(
                    (
                        ("time_points", index, "id"),
                        f"duplicate time point id {point.id!r} (also time_points[{first_index[point.id]}])",
                    )
                )
            else:
                first_index[point.id] = index
        baselines = [i for i, p in enumerate(self.time_points) if p.kind is TimePointKind.BASELINE]
        if not baselines:
            problems.append((("time_points",), "no time point has kind 'baseline'; mark exactly one"))
        for index in baselines[1:]:
            problems.append(
                (
                    ("time_points", index, "kind"),
                    f"second baseline {self.time_points[index].id!r}: time_points[{baselines[0]}] "
                    f"({self.time_points[baselines[0]].id!r}) is already the baseline; "
                    "exactly one is allowed",
                )
            )
        if len(baselines) == 1:
            base = self.time_points[baselines[0]]
            for index, point in enumerate(self.time_points):
                if point.kind is TimePointKind.FOLLOW_UP and is_earlier(point.date, base.date):
                    problems.append(
                        (
                            ("time_points", index, "date"),
                            f"follow-up {point.id!r} dated {point.date.isoformat()} is before the "
                            f"baseline {base.id!r} dated {base.date.isoformat()}",
                        )
                    )
        if problems:
            raise issue(*problems)
        context = manifest_context(info)
        if context is not None:
            self._manifest_path = context.manifest_path
            self._root = context.root
        return self

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Case):
            return NotImplemented
        return self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]

    @property
    def manifest_path(self) -> Path | None:
        """The manifest file the case was loaded from (``None`` if built in Python)."""
        return self._manifest_path

    @property
    def root(self) -> Path | None:
        """The folder relative paths were resolved against (the manifest's folder)."""
        return self._root

    def time_point(self, id: str) -> TimePoint:
        """The time point with this id.

        Raises
        ------
        ManifestError
            No such id (the message lists those present).
        """
        for point in self.time_points:
            if point.id == id:
                return point
        known = ", ".join(repr(p.id) for p in self.time_points)
        raise ManifestError(f"case {self.case_id!r} has no time point {id!r}; present: {known}")

    @property
    def baseline(self) -> TimePoint:
        """The single time point of kind ``baseline``."""
        return next(p for p in self.time_points if p.kind is TimePointKind.BASELINE)

    @property
    def follow_ups(self) -> tuple[TimePoint, ...]:
        """The ``follow_up`` time points by date (calendar date, then instant; stable)."""
        return tuple(
            sorted(
                (p for p in self.time_points if p.kind is TimePointKind.FOLLOW_UP),
                key=lambda p: sort_key(p.date),
            )
        )

    def to_json_dict(self, include_identifiers: bool = False) -> dict[str, Any]:
        """A JSON-ready dict of the case for outputs.

        Keys are the canonical field names (``weight_kg``, ``activity_gbq``), dates ISO 8601,
        enums their values, paths POSIX text relative to :attr:`root` when inside it (absolute
        otherwise, so folder names outside the case do not leak), each with its ``format``.

        Parameters
        ----------
        include_identifiers:
            Keep the patient's ``name``, ``id`` and ``birth_date``. Off by default: outputs
            must not identify the patient unless asked.
        """
        out = self.model_dump(mode="json")
        if not include_identifiers:
            for key in ("name", "id", "birth_date"):
                out["patient"].pop(key, None)
        for point, dumped in zip(self.time_points, out["time_points"], strict=True):
            for group in ("images", "masks"):
                refs: dict[Any, FileRef] = getattr(point, group)
                for role, ref in refs.items():
                    dumped[group][role.value]["path"] = self.relative_path(ref.path)
        return out

    def relative_path(self, path: Path, root: Path | None = None) -> str:
        """``path`` as POSIX text relative to ``root`` (default :attr:`root`) when inside it."""
        base = root if root is not None else self._root
        if base is not None:
            try:
                return path.relative_to(base).as_posix()
            except ValueError:
                pass
        return path.as_posix()
