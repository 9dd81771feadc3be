"""Load a DICOM series — single-frame files, an enhanced multi-frame file, or an NM file — as a
:class:`~nelm.imaging.volume.Volume`.

What is read, and how
---------------------
* **Which files.** ``path`` is a folder (searched recursively; it must hold exactly one image
  series unless ``series_uid`` picks one), a single file, or a list of files (which must all
  belong to one series).
* **Geometry.** Every frame's Image Position/Orientation (Patient) and Pixel Spacing — from the
  top level (CT, MR, PET Image Storage), the Per-frame or Shared Functional Groups (Enhanced and
  Legacy Converted Enhanced CT/MR/PET), or the Detector Information Sequence plus Spacing
  Between Slices (NM RECON TOMO) — goes through
  :func:`~nelm.imaging.dicom_common.stack_planes`: frames are sorted by their position along the
  normal ``IOP[:3] × IOP[3:]`` and the slice step is measured from the positions, never taken
  from Slice Thickness (which is kept in the metadata only). Missing tags, non-parallel frames,
  duplicates, gaps and frames of different sizes are errors whatever the policy.
* **Values.** Each frame's own Rescale Slope/Intercept (PS3.3 C.11.1.1.2, ``v = m·sv + b``) is
  applied: PET slices routinely have different slopes. The output is ``float32`` if any slope is
  not 1 or any intercept not an integer, else the smallest integer type that holds the stored
  range (see :func:`~nelm.imaging.dicom_common.output_dtype`).
* **Time.** The acquisition datetime of a frame is Acquisition DateTime (0008,002A), else
  Acquisition Date + Acquisition Time (the date falling back to Series Date when only the time
  is present), else Series Date + Series Time; Frame Acquisition DateTime in enhanced files. The
  volume's :attr:`~nelm.imaging.volume.Volume.acquisition_datetime` is the **earliest** over all
  frames (the start of the acquisition; for a multi-bed PET, the first bed). Local times are in
  Timezone Offset From UTC (0008,0201) when present, otherwise in ``assume_timezone`` — and the
  metadata's warnings say so.
* **Memory and pixels.** Headers are read first without pixel data; the output array is
  allocated once and filled frame by frame (:func:`~nelm.imaging.dicom_pixels.load_pixels`),
  so the peak is about one volume plus one frame. Uncompressed little-endian frames are read
  straight from the file into it; compressed frames go through pydicom's decoders one at a time.
* **Frame duration.** :attr:`~nelm.imaging.metadata.SeriesMetadata.frame_duration_s` is Actual
  Frame Duration (0018,1242, IS, in ms) of the first file divided by 1000, when present and
  positive; 0 (nelm writes it for planar NM of unknown duration) and absence give ``None``.

NM files are read by :mod:`nelm.imaging.dicom_nm`: RECON TOMO as one volume here, planar NM
(STATIC, WHOLE BODY) by :func:`read_nm_planar` (re-exported from this module), one volume per
view.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any, Final

import pydicom
from pydicom.dataset import Dataset
from pydicom.uid import UID

from nelm.errors import DicomError, InputError
from nelm.imaging import dicom_common as dc
from nelm.imaging.dicom_discover import Header, group_headers, scan_files, series_info, walk_files
from nelm.imaging.dicom_nm import PLANAR_TYPES, TOMO_TYPES, nm_image_type, nm_tomo_frames, read_nm_planar
from nelm.imaging.dicom_pet import read_radiopharmaceutical, value_unit_of
from nelm.imaging.dicom_pixels import Frame, check_pixel_module, direct_fields, load_pixels, rescale
from nelm.imaging.geometry import Geometry
from nelm.imaging.metadata import PatientIdentity, SeriesMetadata
from nelm.imaging.volume import Volume
from nelm.policy import Policy, apply_policy

__all__ = ["SUPPORTED_SOP_CLASSES", "read_nm_planar", "read_series"]

logger = logging.getLogger(__name__)

#: Image SOP classes nelm loads as volumes, with their modality.
SUPPORTED_SOP_CLASSES: Final[dict[str, str]] = {
    pydicom.uid.CTImageStorage: "CT",
    pydicom.uid.EnhancedCTImageStorage: "CT",
    pydicom.uid.LegacyConvertedEnhancedCTImageStorage: "CT",
    pydicom.uid.MRImageStorage: "MR",
    pydicom.uid.EnhancedMRImageStorage: "MR",
    pydicom.uid.LegacyConvertedEnhancedMRImageStorage: "MR",
    pydicom.uid.PositronEmissionTomographyImageStorage: "PT",
    pydicom.uid.EnhancedPETImageStorage: "PT",
    pydicom.uid.LegacyConvertedEnhancedPETImageStorage: "PT",
    pydicom.uid.NuclearMedicineImageStorage: "NM",
}


# -- choosing the files -----------------------------------------------------------------------
def _select_headers(
    path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    series_uid: str | None,
    policy: Policy,
    warnings: list[str],
) -> tuple[list[Header], str]:
    if isinstance(path, (str, os.PathLike)):
        p = Path(path)
        if p.is_file():
            return scan_files([p], policy=policy, strict=True), str(p)
        if not p.is_dir():
            raise InputError(f"{p}: no such file or folder")
        groups = group_headers(
            scan_files(walk_files(p), policy=policy, warnings=warnings), policy=policy, warnings=warnings
        )
        images = {k: g for k, g in groups.items() if modality_of(g[0].dataset) is not None}
        listing = "\n  ".join(series_info(g).describe() for g in groups.values()) or "(none)"
        if series_uid is not None:
            chosen = [
                g for g in images.values() if dc.text_of(g[0].dataset, "SeriesInstanceUID") == series_uid
            ]
            if not chosen:
                raise DicomError(
                    f"{p}: no image series with Series Instance UID {series_uid}; found:\n  {listing}"
                )
            return chosen[0], str(p)
        if len(images) == 1:
            return next(iter(images.values())), str(p)
        if not images:
            raise DicomError(f"{p}: no CT, MR, PET or NM image series found; found:\n  {listing}")
        raise DicomError(
            f"{p}: the folder holds {len(images)} image series; pass series_uid= to choose one:\n  {listing}"
        )
    files = [Path(f) for f in path]
    if not files:
        raise InputError("an empty list of files was given")
    headers = scan_files(files, policy=policy, strict=True)
    groups = group_headers(headers, policy=policy, warnings=warnings)
    if len(groups) > 1:
        detail = "\n  ".join(
            f"{series_info(g).describe()}: {', '.join(h.path.name for h in g)}" for g in groups.values()
        )
        raise DicomError(
            f"the {len(files)} files given belong to {len(groups)} different series:\n  {detail}"
        )
    return headers, f"{len(files)} files in {files[0].parent}"


def modality_of(ds: Dataset) -> str | None:
    """Modality nelm loads ``ds`` as (``"CT"``, ``"MR"``, ``"PT"``, ``"NM"``), or ``None``."""
    sop = dc.sop_class_uid_of(ds)
    if sop in SUPPORTED_SOP_CLASSES:
        return SUPPORTED_SOP_CLASSES[sop]
    modality = dc.text_of(ds, "Modality")
    if not sop and modality in {"CT", "MR", "PT", "NM"}:
        return modality
    return None


# -- per-frame geometry and rescale -------------------------------------------------------------
def floats(value: Any, n: int, what: str, where: str) -> tuple[float, ...]:
    """``n`` numbers of a multi-valued tag, else :class:`DicomError` naming ``what`` and ``where``."""
    try:
        out = tuple(float(v) for v in value)
    except (TypeError, ValueError) as exc:
        raise DicomError(f"{where}: {what} has non-numeric values {value!r}") from exc
    if len(out) != n:
        raise DicomError(f"{where}: {what} has {len(out)} values, expected {n}: {value!r}")
    return out


def required(ds: Dataset, keyword: str, tag: str, where: str) -> Any:
    """Value of a geometry tag needed to place a frame, else :class:`DicomError`."""
    value = ds.get(keyword)
    if value is None or value == "":
        raise DicomError(
            f"{where}: {keyword} {tag} is missing; the frame cannot be placed in patient space "
            "(the file is not a complete cross-sectional image)"
        )
    return value


def frame_plane(
    ds: Dataset, position_ds: Dataset, orientation_ds: Dataset, spacing_ds: Dataset, where: str
) -> dc.FramePlane:
    """Plane of one frame: position, orientation and pixel spacing from the given items (the
    top level, functional group items or a detector item), rows and columns from ``ds``."""
    ipp = floats(
        required(position_ds, "ImagePositionPatient", "(0020,0032)", where), 3, "ImagePositionPatient", where
    )
    iop = floats(
        required(orientation_ds, "ImageOrientationPatient", "(0020,0037)", where),
        6,
        "ImageOrientationPatient",
        where,
    )
    ps = floats(required(spacing_ds, "PixelSpacing", "(0028,0030)", where), 2, "PixelSpacing", where)
    return dc.FramePlane(
        source=where,
        position_mm=(ipp[0], ipp[1], ipp[2]),
        orientation=(iop[0], iop[1], iop[2], iop[3], iop[4], iop[5]),
        pixel_spacing_mm=(ps[0], ps[1]),
        rows=int(required(ds, "Rows", "(0028,0010)", where)),
        columns=int(required(ds, "Columns", "(0028,0011)", where)),
    )


def _single_frames(headers: list[Header]) -> list[Frame]:
    frames = []
    for h in headers:
        ds, where = h.dataset, str(h.path)
        check_pixel_module(ds, where)
        if int(ds.get("NumberOfFrames") or 1) > 1:
            raise DicomError(
                f"{where}: {ds.NumberOfFrames} frames without functional groups; not a supported layout"
            )
        ts = dc.check_transfer_syntax(ds, where)
        slope, intercept = rescale(ds, where)
        plane = frame_plane(ds, ds, ds, ds, where)
        frames.append(
            Frame(h.path, None, plane, slope, intercept, dc.stored_range(ds), ts, **direct_fields(h, ts))
        )
    return frames


def _group_item(ds: Dataset, per_frame: Dataset | None, keyword: str) -> Dataset | None:
    for groups in (per_frame, (ds.get("SharedFunctionalGroupsSequence") or [None])[0]):
        if groups is not None:
            seq = groups.get(keyword)
            if seq:
                item: Dataset = seq[0]
                return item
    return None


def _enhanced_frames(h: Header, tz: tzinfo, policy: Policy, warnings: list[str]) -> list[Frame]:
    ds = h.dataset
    check_pixel_module(ds, str(h.path))
    ts = dc.check_transfer_syntax(ds, h.path)
    n = int(ds.get("NumberOfFrames") or 1)
    per = ds.get("PerFrameFunctionalGroupsSequence") or []
    frames = []
    for i in range(n):
        where = f"{h.path} frame {i + 1}"
        pf = per[i] if i < len(per) else None
        items: dict[str, Dataset] = {}
        for keyword in ("PlanePositionSequence", "PlaneOrientationSequence", "PixelMeasuresSequence"):
            item = _group_item(ds, pf, keyword)
            if item is None:
                raise DicomError(f"{where}: functional group {keyword} is missing (per-frame and shared)")
            items[keyword] = item
        plane = frame_plane(
            ds,
            items["PlanePositionSequence"],
            items["PlaneOrientationSequence"],
            items["PixelMeasuresSequence"],
            where,
        )
        slope, intercept = rescale(_group_item(ds, pf, "PixelValueTransformationSequence"), where)
        content = _group_item(ds, pf, "FrameContentSequence")
        acquired = None
        if content is not None:
            frame_time = dc.text_of(content, "FrameAcquisitionDateTime")
            acquired = _parse_or_warn(
                functools.partial(dc.parse_datetime, frame_time, tz),
                where,
                "FrameAcquisitionDateTime (0018,9074)",
                policy,
                warnings,
            )
        frames.append(
            Frame(
                h.path, i, plane, slope, intercept, dc.stored_range(ds), ts, acquired, **direct_fields(h, ts)
            )
        )
    return frames


# -- metadata ---------------------------------------------------------------------------------
def _parse_or_warn(
    parse: Callable[[], datetime | None], where: str, what: str, policy: Policy, warnings: list[str]
) -> datetime | None:
    try:
        return parse()
    except ValueError as exc:
        apply_policy(
            policy,
            f"{where}: malformed {what} ({exc}); ignored",
            logger=logger,
            warnings=warnings,
            error=DicomError,
        )
        return None


def _header_datetime(
    ds: Dataset, tz: tzinfo, where: str, policy: Policy, warnings: list[str]
) -> datetime | None:
    t = dc.text_of

    def parse() -> datetime | None:
        dt = dc.parse_datetime(t(ds, "AcquisitionDateTime"), tz)
        if dt is None and t(ds, "AcquisitionTime"):
            date = t(ds, "AcquisitionDate") or t(ds, "SeriesDate") or t(ds, "StudyDate")
            dt = dc.combine_date_time(date, t(ds, "AcquisitionTime"), tz)
        if dt is None:
            dt = dc.combine_date_time(t(ds, "SeriesDate"), t(ds, "SeriesTime"), tz)
        return dt

    return _parse_or_warn(parse, where, "acquisition/series date or time", policy, warnings)


def _identity(ds: Dataset, where: str, policy: Policy, warnings: list[str]) -> PatientIdentity:
    birth = None
    try:
        birth = dc.parse_date(dc.text_of(ds, "PatientBirthDate"))
    except ValueError as exc:
        apply_policy(
            policy,
            f"{where}: malformed Patient's Birth Date (0010,0030) ({exc}); ignored",
            logger=logger,
            warnings=warnings,
            error=DicomError,
        )
    return PatientIdentity(
        patient_name=dc.text_of(ds, "PatientName"),
        patient_id=dc.text_of(ds, "PatientID"),
        birth_date=birth,
        sex=dc.text_of(ds, "PatientSex"),
        accession_number=dc.text_of(ds, "AccessionNumber"),
        institution_name=dc.text_of(ds, "InstitutionName"),
        referring_physician_name=dc.text_of(ds, "ReferringPhysicianName"),
    )


def series_timezone(ds: Dataset, where: str, assume: tzinfo, policy: Policy, warnings: list[str]) -> tzinfo:
    """Zone of the local DICOM times of ``ds``: its Timezone Offset From UTC, else ``assume``."""
    try:
        tz, assumed = dc.resolve_timezone(ds, assume)
    except ValueError as exc:
        apply_policy(
            policy,
            f"{where}: malformed Timezone Offset From UTC (0008,0201) ({exc}); using {assume}",
            logger=logger,
            warnings=warnings,
            error=DicomError,
        )
        return assume
    if assumed:
        note = f"{where}: no Timezone Offset From UTC (0008,0201); local DICOM times were taken as {assume}"
        apply_policy(
            Policy.IGNORE if policy is Policy.IGNORE else Policy.WARN, note, logger=logger, warnings=warnings
        )
    return tz


def build_volume(
    headers: list[Header],
    frames: list[Frame],
    *,
    modality: str,
    source: str,
    tz: tzinfo,
    policy: Policy,
    warnings: list[str],
    single_slice_step_mm: float,
) -> Volume:
    """Stack ``frames`` into a :class:`Volume` with its pixels and :class:`SeriesMetadata`."""
    order, affine = dc.stack_planes([f.plane for f in frames], single_slice_step_mm=single_slice_step_mm)
    array = load_pixels(frames, order)
    first = headers[0].dataset
    where = str(headers[0].path)
    units = value_unit_of(first, modality, source=where, policy=policy, warnings=warnings)
    times = [f.acquired for f in frames if f.acquired is not None]
    if not times:
        times = [t for h in headers if (t := _header_datetime(h.dataset, tz, str(h.path), policy, warnings))]
    study = _parse_or_warn(
        lambda: dc.combine_date_time(dc.text_of(first, "StudyDate"), dc.text_of(first, "StudyTime"), tz),
        where,
        "Study Date/Time",
        policy,
        warnings,
    )
    radiopharmaceutical = None
    if modality in {"PT", "NM"}:
        radiopharmaceutical = read_radiopharmaceutical(
            first, tz=tz, source=where, policy=policy, warnings=warnings
        )
    if len(headers) == len(frames):
        by_path = {h.path: h.dataset for h in headers}
        sop_uids = tuple(dc.sop_instance_uid_of(by_path[frames[i].path]) for i in order)
    else:
        sop_uids = tuple(dict.fromkeys(dc.sop_instance_uid_of(h.dataset) for h in headers))
    number = dc.text_of(first, "SeriesNumber")
    thickness = dc.float_or_none(first.get("SliceThickness"))
    if thickness is None:
        measures = _group_item(first, None, "PixelMeasuresSequence")
        thickness = dc.float_or_none(measures.get("SliceThickness")) if measures is not None else None
    metadata = SeriesMetadata(
        source=source,
        study_instance_uid=dc.text_of(first, "StudyInstanceUID"),
        series_instance_uid=dc.text_of(first, "SeriesInstanceUID"),
        frame_of_reference_uid=dc.text_of(first, "FrameOfReferenceUID"),
        sop_class_uid=dc.sop_class_uid_of(first),
        series_description=dc.text_of(first, "SeriesDescription"),
        series_number=int(float(number)) if number else None,
        manufacturer=dc.text_of(first, "Manufacturer"),
        slice_thickness_mm=thickness,
        sop_instance_uids=sop_uids,
        transfer_syntax_uid=str(frames[0].transfer_syntax),
        frame_duration_s=_frame_duration_s(first),
        study_datetime=study,
        identity=_identity(first, where, policy, warnings),
        radiopharmaceutical=radiopharmaceutical,
        warnings=tuple(warnings),
    )
    geometry = Geometry(shape=(len(frames), frames[0].plane.rows, frames[0].plane.columns), affine=affine)
    return Volume(
        array=array,
        geometry=geometry,
        modality=modality,
        units=units,
        acquisition_datetime=min(times) if times else None,
        metadata=metadata,
    )


def _frame_duration_s(ds: Dataset) -> float | None:
    """Actual Frame Duration (0018,1242, ms) in seconds; ``None`` when absent, malformed or not
    positive (nelm writes 0 for a planar NM file whose duration is unknown)."""
    ms = dc.float_or_none(ds.get("ActualFrameDuration"))
    return ms / 1000.0 if ms is not None and ms > 0 else None


def _single_step(ds: Dataset) -> float:
    for keyword in ("SpacingBetweenSlices", "SliceThickness"):
        value = dc.float_or_none(ds.get(keyword))
        if value is not None and value > 0:
            return value
    return 1.0


# -- public API -------------------------------------------------------------------------------
def read_series(
    path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    series_uid: str | None = None,
    policy: Policy = Policy.WARN,
    assume_timezone: tzinfo = UTC,
) -> Volume:
    """Load one DICOM image series as a :class:`Volume` (see the module docstring).

    Parameters
    ----------
    path:
        A folder (recursively), a single file, or a list of files of one series.
    series_uid:
        Series Instance UID to load when a folder holds several series.
    policy:
        What to do about tolerable problems (unreadable stray files in a folder, malformed
        optional dates, unknown PET units). Geometry problems always raise.
    assume_timezone:
        Zone of DICOM local times when Timezone Offset From UTC (0008,0201) is absent.

    Returns
    -------
    Volume
        Indexed ``[slice, row, column]`` with an index → LPS mm affine, rescaled values,
        a timezone-aware acquisition datetime and :class:`SeriesMetadata`.

    Raises
    ------
    DicomError
        Unreadable/truncated/corrupt files, unsupported transfer syntax or SOP class, several
        series where one is needed, missing position/orientation/spacing tags, frames of
        different sizes.
    GeometryError
        Non-parallel frames, duplicate positions, gaps.
    """
    warnings: list[str] = []
    headers, source = _select_headers(path, series_uid, policy, warnings)
    first = headers[0]
    modality = modality_of(first.dataset)
    if modality is None:
        sop = dc.sop_class_uid_of(first.dataset)
        raise DicomError(
            f"{first.path}: SOP Class {sop} ({UID(sop).name if sop else 'none'}) is not an image nelm "
            "loads as a volume; supported: CT, MR, PET (also Enhanced/Legacy Converted) and NM Image Storage"
        )
    tz = series_timezone(first.dataset, str(first.path), assume_timezone, policy, warnings)
    common: dict[str, Any] = {
        "modality": modality,
        "source": source,
        "tz": tz,
        "policy": policy,
        "warnings": warnings,
    }
    if modality == "NM":
        if len(headers) > 1:
            raise DicomError(
                f"{source}: {len(headers)} NM files in one series; NM images are multi-frame files: "
                "read each file on its own"
            )
        image_type = nm_image_type(first.dataset)
        if image_type in TOMO_TYPES:
            frames = nm_tomo_frames(first, policy, warnings)
            return build_volume(headers, frames, single_slice_step_mm=1.0, **common)
        if image_type in PLANAR_TYPES:
            views = read_nm_planar(first.path, policy=policy, assume_timezone=assume_timezone)
            if len(views) == 1:
                return next(iter(views.values()))
            raise DicomError(
                f"{first.path}: planar NM ({image_type}) with {len(views)} views ({', '.join(views)}); "
                "use read_nm_planar() to get each view"
            )
        raise DicomError(
            f"{first.path}: NM Image Type (0008,0008) value 3 is {image_type or 'missing'}; nelm reads "
            "reconstructed SPECT (RECON TOMO) and planar images, not raw projections"
        )
    if any(
        h.dataset.get("PerFrameFunctionalGroupsSequence") or h.dataset.get("SharedFunctionalGroupsSequence")
        for h in headers
    ):
        frames = [f for h in headers for f in _enhanced_frames(h, tz, policy, warnings)]
    else:
        frames = _single_frames(headers)
    return build_volume(headers, frames, single_slice_step_mm=_single_step(first.dataset), **common)
