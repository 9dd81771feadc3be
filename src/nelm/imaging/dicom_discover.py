"""Find the DICOM series in a folder tree.

:func:`find_series` walks a folder recursively, reads only the headers
(``stop_before_pixels=True``) and groups the files by Series Instance UID (0020,000E). Files that
are not DICOM (text, JSON, thumbnails, a ``DICOMDIR`` index) are skipped silently; a file that
looks like DICOM but cannot be read (truncated, corrupt) is handled by the ``policy``: skipped
with a warning (WARN), skipped silently (IGNORE) or an error (RAISE).

Files without a Series Instance UID (some anonymisers blank it) are grouped by folder,
Modality, Frame of Reference UID, Series Number and Series Description instead, with a policy
message.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pydicom.dataset import Dataset

from nelm.errors import DicomError, InputError
from nelm.imaging.dicom_common import looks_like_dicom, read_header, sop_class_uid_of, text_of
from nelm.policy import Policy, apply_policy

__all__ = ["Header", "SeriesInfo", "find_series", "group_headers", "scan_files", "series_info", "walk_files"]

logger = logging.getLogger(__name__)

#: SOP classes that are indexes or documents, never image series (PS3.4 Annex B).
_NOT_SERIES_SOP_CLASSES = frozenset({"1.2.840.10008.1.3.10"})  # Media Storage Directory (DICOMDIR)


@dataclass(frozen=True)
class Header:
    """One file's header (read without pixel data) and where it came from."""

    path: Path
    dataset: Dataset
    pixel_offset: int | None = None
    """Byte offset of the Pixel Data element (for direct reads of uncompressed frames)."""


@dataclass(frozen=True)
class SeriesInfo:
    """A series found on disk.

    Parameters
    ----------
    series_instance_uid:
        Series Instance UID (0020,000E); ``""`` when the files carry none.
    study_instance_uid, modality, sop_class_uid, series_description:
        From the first file of the series.
    series_number:
        Series Number (0020,0011), or ``None``.
    files:
        Every file of the series, sorted by path.
    n_frames:
        Total number of frames: one per single-frame file, Number of Frames for multi-frame.
    rows, columns:
        Image size of the first file (0 for non-image objects).
    """

    series_instance_uid: str
    study_instance_uid: str
    modality: str
    sop_class_uid: str
    series_description: str
    series_number: int | None
    files: tuple[Path, ...]
    n_frames: int
    rows: int
    columns: int

    def __post_init__(self) -> None:
        if not self.files:
            raise InputError(f"series {self.series_instance_uid!r} has no files")
        if self.n_frames < 0 or self.rows < 0 or self.columns < 0:
            raise InputError(f"series {self.series_instance_uid!r} has negative frame counts or sizes")

    def describe(self) -> str:
        """One line for listings: UID, modality, description, number, file and frame counts."""
        uid = self.series_instance_uid or "(no Series Instance UID)"
        number = "" if self.series_number is None else f" #{self.series_number}"
        return (
            f"{uid} [{self.modality or '?'}{number}] {self.series_description!r}: "
            f"{len(self.files)} file(s), {self.n_frames} frame(s), {self.rows}x{self.columns}"
        )


def _series_key(ds: Dataset, path: Path) -> str:
    uid = text_of(ds, "SeriesInstanceUID")
    if uid:
        return uid
    parts = (
        str(path.parent),
        text_of(ds, "Modality"),
        text_of(ds, "FrameOfReferenceUID"),
        text_of(ds, "SeriesNumber"),
        text_of(ds, "SeriesDescription"),
    )
    return "no-uid:" + "|".join(parts)


def _walk(folder: Path) -> list[Path]:
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(Path(root) / name for name in sorted(files) if not name.startswith("."))
    return found


def scan_files(
    paths: Iterable[Path], *, policy: Policy, warnings: list[str] | None = None, strict: bool = False
) -> list[Header]:
    """Read the headers of the DICOM files among ``paths``.

    Parameters
    ----------
    paths:
        Candidate files.
    policy:
        What to do with a file that looks like DICOM but cannot be read.
    warnings:
        Collects policy WARN messages.
    strict:
        Every path was named by the user: a non-DICOM or unreadable file is a
        :class:`DicomError` whatever the policy.
    """
    headers: list[Header] = []
    for path in paths:
        if not strict and not looks_like_dicom(path):
            logger.debug("skipping non-DICOM file %s", path)
            continue
        try:
            ds, offset = read_header(path)
        except DicomError as exc:
            if strict:
                raise
            apply_policy(
                policy,
                f"{exc} — skipped",
                logger=logger,
                warnings=warnings,
                error=DicomError,
            )
            continue
        if sop_class_uid_of(ds) in _NOT_SERIES_SOP_CLASSES or path.name.upper() == "DICOMDIR":
            logger.debug("skipping DICOMDIR %s", path)
            continue
        headers.append(Header(path=path, dataset=ds, pixel_offset=offset))
    return headers


def group_headers(
    headers: Iterable[Header], *, policy: Policy, warnings: list[str] | None = None
) -> dict[str, list[Header]]:
    """Group headers by series (see the module docstring), keeping first-seen order."""
    groups: dict[str, list[Header]] = {}
    blank_uid_reported = False
    for h in headers:
        key = _series_key(h.dataset, h.path)
        if key.startswith("no-uid:") and not blank_uid_reported:
            blank_uid_reported = True
            apply_policy(
                policy,
                f"{h.path}: Series Instance UID (0020,000E) is empty; files are grouped by folder, "
                "Modality, Frame of Reference UID, Series Number and Series Description instead",
                logger=logger,
                warnings=warnings,
                error=DicomError,
            )
        groups.setdefault(key, []).append(h)
    return groups


def series_info(headers: list[Header]) -> SeriesInfo:
    """Summarise one group of headers."""
    first = headers[0].dataset
    number_text = text_of(first, "SeriesNumber")
    try:
        number = int(float(number_text)) if number_text else None
    except ValueError:
        number = None
    n_frames = 0
    for h in headers:
        try:
            n_frames += max(int(h.dataset.get("NumberOfFrames") or 1), 1)
        except (TypeError, ValueError):
            n_frames += 1
    return SeriesInfo(
        series_instance_uid=text_of(first, "SeriesInstanceUID"),
        study_instance_uid=text_of(first, "StudyInstanceUID"),
        modality=text_of(first, "Modality"),
        sop_class_uid=sop_class_uid_of(first),
        series_description=text_of(first, "SeriesDescription"),
        series_number=number,
        files=tuple(sorted(h.path for h in headers)),
        n_frames=n_frames,
        rows=int(first.get("Rows") or 0),
        columns=int(first.get("Columns") or 0),
    )


def find_series(folder: str | os.PathLike[str], *, policy: Policy = Policy.WARN) -> list[SeriesInfo]:
    """List the DICOM series under ``folder`` (recursively), reading headers only.

    Parameters
    ----------
    folder:
        Root folder; nested folders and several interleaved series in one folder are fine.
    policy:
        What to do with a file that looks like DICOM but cannot be read (see the module
        docstring).

    Returns
    -------
    list of SeriesInfo
        Sorted by Study Instance UID, Series Number, then Series Instance UID.

    Raises
    ------
    InputError
        If ``folder`` is not a folder.
    DicomError
        Under ``Policy.RAISE``, for the first unreadable DICOM-looking file.
    """
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"{root}: not a folder; give the folder that holds the DICOM files")
    headers = scan_files(_walk(root), policy=policy)
    groups = group_headers(headers, policy=policy)
    infos = [series_info(g) for g in groups.values()]
    infos.sort(
        key=lambda s: (
            s.study_instance_uid,
            s.series_number if s.series_number is not None else -1,
            s.series_instance_uid,
            str(s.files[0]),
        )
    )
    return infos


def walk_files(folder: Path) -> list[Path]:
    """All non-hidden files under ``folder``, in sorted order (used by the reader)."""
    return _walk(folder)
