"""References to the image and mask files of a time point."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import Strict, ValidationInfo, field_validator

from nelm.case.base import ManifestModel
from nelm.case.validation import PathProblem, fail, issue, resolve_existing
from nelm.case.vocabulary import FileFormat, ImageRole

__all__ = ["FileRef", "ImageRef", "MaskRef"]

_UID = re.compile(r"^(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))*$")


class FileRef(ManifestModel):
    """A referenced file or folder; a manifest may give just the path as text."""

    _DERIVED_FIELDS: ClassVar[frozenset[str]] = frozenset({"format"})
    _WHAT: ClassVar[str] = "file"

    path: Path
    # Always set from the path before field validation (_prepare, which also insists on a path),
    # so the None default is never kept; it only lets Python callers leave the format out.
    format: Annotated[FileFormat, Strict(False)] = None  # type: ignore[assignment]

    @classmethod
    def _short_form(cls, data: object) -> dict[str, Any] | None:
        return {"path": data} if isinstance(data, str | Path) else None

    @classmethod
    def _prepare(cls, data: dict[str, Any], info: ValidationInfo, *, short_form: bool) -> dict[str, Any]:
        if "path" not in data:
            raise issue((("path",), f"required but missing: the {cls._WHAT}'s file or folder"))
        where: tuple[str | int, ...] = () if short_form else ("path",)
        try:
            path, found = resolve_existing(data["path"], info, cls._WHAT)
        except PathProblem as exc:
            raise issue((where, str(exc))) from None
        given = data.get("format")
        if given is not None and given != found:
            raise issue((("format",), f"{given!r} does not match the path, which is {found.value}"))
        return {**data, "path": path, "format": found}


class ImageRef(FileRef):
    """An image of a time point.

    Parameters
    ----------
    path:
        Absolute path of the folder (DICOM series) or file (NIfTI, single DICOM).
    format:
        Decided from the path (:func:`detect_format`); never written in the manifest.
    series_uid:
        Series Instance UID to pick one series from a DICOM folder or file holding several.
    """

    _WHAT: ClassVar[str] = "image"

    series_uid: str | None = None

    @field_validator("series_uid")
    @classmethod
    def _uid(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if len(value) > 64 or not _UID.match(value):
            raise fail(f"{value!r} is not a DICOM UID (digits and dots, at most 64 characters, PS3.5 9.1)")
        if info.data.get("format") is FileFormat.NIFTI:
            raise fail("a series UID applies only to DICOM; this image is a NIfTI file")
        return value


class MaskRef(FileRef):
    """A mask of a time point.

    Parameters
    ----------
    path:
        Absolute path of the mask (NIfTI label map, DICOM SEG/RTSTRUCT file, or a folder).
    format:
        Decided from the path; never written in the manifest.
    image:
        Role of the image in the same time point whose grid the mask lies on.
    labels:
        Label values of the file that make up this mask, for a multi-label file such as a
        TotalSegmentator output (``{path: seg.nii.gz, labels: [5]}`` for its liver). All
        labels when omitted.
    """

    _WHAT: ClassVar[str] = "mask"

    image: Annotated[ImageRole, Strict(False)] | None = None
    labels: Annotated[tuple[int, ...], Strict(False)] | None = None

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: tuple[int, ...] | None) -> tuple[int, ...] | None:
        if value is None:
            return None
        if not value or any(v < 1 for v in value) or len(set(value)) != len(value):
            raise fail(f"labels must be distinct positive label values, got {list(value)}")
        return value
