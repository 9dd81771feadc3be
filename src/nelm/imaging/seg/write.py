"""Writing label maps as DICOM SEG files: :func:`write_seg`.

One segment per label on the grid of the source series; highdicom encodes. Segmented property
codes and Tracking UIDs come from :mod:`nelm.imaging.seg.codes` (see :mod:`nelm.imaging.seg`).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final, Literal

import highdicom as hd
import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid

from nelm import RESEARCH_USE_DISCLAIMER, __version__
from nelm.atomic import atomic_path
from nelm.errors import DicomError, InputError, MaskError
from nelm.imaging.dicom_common import FramePlane, stack_planes
from nelm.imaging.geometry import Geometry
from nelm.imaging.labelmap import LabelMap
from nelm.imaging.seg.codes import KIND_ALIASES, PROPERTY_KINDS, property_codes, tracking_uid_for
from nelm.imaging.seg.highdicom_log import highdicom_warnings_to_log
from nelm.imaging.seg.planes import floats

__all__ = ["LABELMAP_MIN_HIGHDICOM", "SegmentationType", "source_grid", "write_seg"]

logger = logging.getLogger(__name__)

#: First highdicom release that writes Label Map Segmentation Storage (release notes 0.23.0).
LABELMAP_MIN_HIGHDICOM: Final[tuple[int, int]] = (0, 23)

SegmentationType = Literal["BINARY", "LABELMAP"]


def _read_sources(source_images: Sequence[Dataset | str | os.PathLike[str]]) -> list[Dataset]:
    if len(source_images) == 0:
        raise InputError("write_seg needs the source images of the segmented series; none were given")
    out: list[Dataset] = []
    for item in source_images:
        if isinstance(item, Dataset):
            out.append(item)
            continue
        p = Path(item)
        try:
            out.append(pydicom.dcmread(p, stop_before_pixels=True))
        except (InvalidDicomError, OSError, ValueError, EOFError) as exc:
            raise DicomError(f"source image {p} is not a readable DICOM file: {exc}") from exc
    return out


def _source_name(ds: Dataset, i: int) -> str:
    filename = getattr(ds, "filename", None)
    return str(filename) if isinstance(filename, str) and filename else f"source image {i + 1}"


def source_grid(datasets: list[Dataset]) -> tuple[Geometry, list[Dataset]]:
    """Grid of a single-frame source series and its datasets in slice order.

    Stacking is :func:`nelm.imaging.dicom_common.stack_planes`, the same as nelm's DICOM series
    reader, so a label map on a series read by nelm lies on exactly this grid.
    """
    series = {str(ds.get("SeriesInstanceUID", "")) for ds in datasets}
    if len(series) > 1:
        raise DicomError(
            f"the source images belong to {len(series)} series ({sorted(series)}); pass one series"
        )
    frames_of_ref = {str(ds.get("FrameOfReferenceUID", "")) for ds in datasets}
    if len(frames_of_ref) > 1:
        raise DicomError(f"the source images have several Frame of Reference UIDs: {sorted(frames_of_ref)}")
    planes: list[FramePlane] = []
    for i, ds in enumerate(datasets):
        where = _source_name(ds, i)
        if int(ds.get("NumberOfFrames", 1) or 1) > 1:
            raise DicomError(f"{where} is a multi-frame image; write_seg supports single-frame series")
        for kw, tag in (
            ("ImagePositionPatient", "(0020,0032)"),
            ("ImageOrientationPatient", "(0020,0037)"),
            ("PixelSpacing", "(0028,0030)"),
            ("Rows", "(0028,0010)"),
            ("Columns", "(0028,0011)"),
        ):
            if ds.get(kw) is None:
                raise DicomError(f"{where} lacks {kw} {tag}, needed to place the segmentation")
        iop = floats(ds.ImageOrientationPatient, 6, "Image Orientation (Patient)", where)
        spacing = floats(ds.PixelSpacing, 2, "Pixel Spacing", where)
        ipp = floats(ds.ImagePositionPatient, 3, "Image Position (Patient)", where)
        planes.append(
            FramePlane(
                source=where,
                position_mm=(float(ipp[0]), float(ipp[1]), float(ipp[2])),
                orientation=(
                    float(iop[0]),
                    float(iop[1]),
                    float(iop[2]),
                    float(iop[3]),
                    float(iop[4]),
                    float(iop[5]),
                ),
                pixel_spacing_mm=(float(spacing[0]), float(spacing[1])),
                rows=int(ds.Rows),
                columns=int(ds.Columns),
            )
        )
    single_step = float(datasets[0].get("SpacingBetweenSlices") or datasets[0].get("SliceThickness") or 1.0)
    order, affine = stack_planes(planes, single_slice_step_mm=single_step)
    grid = Geometry(shape=(len(planes), planes[0].rows, planes[0].columns), affine=affine)
    return grid, [datasets[i] for i in order]


def _check_highdicom_labelmap() -> None:
    parts = re.findall(r"\d+", hd.__version__)[:2]
    version = (int(parts[0]), int(parts[1])) if len(parts) == 2 else (0, 0)
    if version < LABELMAP_MIN_HIGHDICOM:
        raise InputError(
            f"LABELMAP segmentations need highdicom >= {'.'.join(map(str, LABELMAP_MIN_HIGHDICOM))}, "
            f"installed {hd.__version__}; upgrade highdicom or write segmentation_type='BINARY'"
        )


def write_seg(
    labelmap: LabelMap,
    source_images: Sequence[Dataset | str | os.PathLike[str]],
    path: str | os.PathLike[str],
    *,
    segmentation_type: SegmentationType = "BINARY",
    series_number: int = 300,
    series_description: str = "nelm segmentation",
    categories: Mapping[int, str] | None = None,
    manufacturer: str = "nelm",
    series_instance_uid: str | None = None,
    sop_instance_uid: str | None = None,
    instance_number: int = 1,
    content_label: str = "NELM_SEG",
    content_description: str | None = None,
    algorithm_type: Literal["MANUAL", "SEMIAUTOMATIC", "AUTOMATIC"] = "MANUAL",
    algorithm_name: str = "",
    algorithm_version: str = "",
    tracking_namespace: str | None = None,
    omit_empty_frames: bool = True,
) -> Path:
    """Write a label map as a DICOM SEG referencing its source image series.

    One segment per label: Segment Label = the label's name; Tracking ID and Tracking UID are
    kept. A label with a Tracking ID but no Tracking UID gets :func:`tracking_uid_for`
    ``(namespace, tracking_id)``, stable across time points; a label with a UID but no ID gets
    its name as Tracking ID; a label with neither gets none. Segmented property codes come from
    ``categories`` or, by default, from the label name (:func:`property_codes`).

    Segment numbers: ``LABELMAP`` keeps the label values. ``BINARY`` requires segment numbers
    1, 2, … N (PS3.3 C.8.20.2.4; highdicom enforces it), so labels are numbered in ascending
    value order; the values round-trip unchanged when they are already 1…N, otherwise a
    warning is logged (tracking IDs keep the identity; use ``LABELMAP`` to keep the values).

    Parameters
    ----------
    labelmap:
        The segmentation; it must lie on the source series' grid.
    source_images:
        The single-frame images of the segmented series (pydicom datasets, pixel data not
        needed, or file paths).
    path:
        Output file; written atomically.
    segmentation_type:
        ``"BINARY"`` (Segmentation Storage, widely supported) or ``"LABELMAP"`` (Label Map
        Segmentation Storage; highdicom ≥ 0.23 and a recent viewer).
    series_number, series_description, manufacturer, instance_number:
        Written as is.
    categories:
        Label value → kind of structure (a key of :data:`PROPERTY_KINDS` or an alias such as
        ``"tumour"``); labels absent from it are classified by name.
    series_instance_uid, sop_instance_uid:
        Pass them for reproducible files; new random UIDs otherwise.
    content_label:
        Content Label (0070,0080), a DICOM code string (upper case, ≤ 16 characters).
    content_description:
        Content Description (0070,0081).
    algorithm_type, algorithm_name, algorithm_version:
        Segment Algorithm Type (0062,0008); ``SEMIAUTOMATIC`` and ``AUTOMATIC`` need the
        algorithm's name (its family is recorded as DCM "Artificial Intelligence").
    tracking_namespace:
        Namespace for generated Tracking UIDs; default the source Patient ID (0010,0020), or,
        when that is blank, the Study Instance UID (stable within the study only; warned).
    omit_empty_frames:
        Leave out frames without segmented pixels (highdicom keeps them all when the whole map
        is empty).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    GeometryError
        The label map is not on the source grid, or the sources do not form a regular volume.
    DicomError
        A source image is unreadable or lacks geometry, or highdicom rejects the content.
    MaskError
        The label map has no labels, or too many for the chosen type.
    InputError
        An unknown category, or a setting highdicom cannot honour.
    """
    if segmentation_type not in ("BINARY", "LABELMAP"):
        raise InputError(f"segmentation_type must be 'BINARY' or 'LABELMAP', got {segmentation_type!r}")
    if segmentation_type == "LABELMAP":
        _check_highdicom_labelmap()
    what = f"label map {labelmap.source or '(unnamed)'}"
    if not labelmap.labels:
        raise MaskError(f"{what} has no labels: there is no segment to write")
    if algorithm_type != "MANUAL" and not algorithm_name:
        raise InputError(
            f"algorithm_type {algorithm_type} needs algorithm_name (the software that segmented)"
        )
    categories = dict(categories or {})
    unknown = sorted(set(categories) - set(labelmap.labels))
    if unknown:
        raise InputError(f"categories name label values {unknown} that {what} does not have")
    datasets = _read_sources(source_images)
    grid, ordered = source_grid(datasets)
    src = ordered[0]
    grid.require_same(
        labelmap.geometry,
        what=f"source series {src.get('SeriesInstanceUID', '?')} ({len(ordered)} images)",
        other_what=what,
    )
    values = sorted(labelmap.labels)
    if segmentation_type == "BINARY":
        numbers = {v: i + 1 for i, v in enumerate(values)}
        if any(v != n for v, n in numbers.items()):
            logger.warning(
                "%s: BINARY SEG segments must be numbered 1..N; label values %s are written as "
                "segments %s (use segmentation_type='LABELMAP' to keep the values)",
                what,
                values,
                list(numbers.values()),
            )
    else:
        numbers = {v: v for v in values}
    top = max(numbers.values())
    if top > np.iinfo(np.uint16).max:
        raise MaskError(f"{what}: label value {top} exceeds the 65535 segments DICOM SEG can hold")
    lut = np.zeros(int(labelmap.array.max(initial=0)) + 1, dtype=np.uint16)
    for v, n in numbers.items():
        if v < lut.size:
            lut[v] = n
    pixels = lut[labelmap.array]
    pixels = pixels.astype(np.uint8) if top <= np.iinfo(np.uint8).max else pixels
    namespace = tracking_namespace or str(src.get("PatientID", "") or "")
    if not namespace and any(lab.tracking_id and not lab.tracking_uid for lab in labelmap.labels.values()):
        namespace = str(src.get("StudyInstanceUID", ""))
        logger.warning(
            "%s: the source Patient ID is blank, so generated Tracking UIDs use the Study Instance UID "
            "and are stable within this study only; pass tracking_namespace= for cross-study tracking",
            what,
        )
    algorithm_id = None
    if algorithm_type != "MANUAL":
        algorithm_id = hd.AlgorithmIdentificationSequence(
            name=algorithm_name,
            family=codes.cid7162.ArtificialIntelligence,
            version=algorithm_version or "unknown",
        )
    descriptions = []
    for v in values:
        lab = labelmap.labels[v]
        kind = categories.get(v)
        if kind is not None:
            key = KIND_ALIASES.get(kind.lower().strip(), kind.lower().strip())
            if key not in PROPERTY_KINDS:
                raise InputError(
                    f"category {kind!r} for label {v} ({lab.name!r}) is unknown; use one of "
                    f"{sorted(PROPERTY_KINDS)} or {sorted(KIND_ALIASES)}"
                )
            category, prop_type = PROPERTY_KINDS[key]
        else:
            category, prop_type = property_codes(lab.name)
        tracking_id = lab.tracking_id or (lab.name if lab.tracking_uid else "")
        tracking_uid = lab.tracking_uid or (tracking_uid_for(namespace, tracking_id) if tracking_id else "")
        descriptions.append(
            hd.seg.SegmentDescription(
                segment_number=numbers[v],
                segment_label=lab.name,
                segmented_property_category=category,
                segmented_property_type=prop_type,
                algorithm_type=algorithm_type,
                algorithm_identification=algorithm_id,
                tracking_id=tracking_id or None,
                tracking_uid=tracking_uid or None,
            )
        )
    charset = src.get("SpecificCharacterSet") or None
    try:
        with highdicom_warnings_to_log():
            seg = hd.seg.Segmentation(
                source_images=ordered,
                pixel_array=pixels,
                segmentation_type=segmentation_type,
                segment_descriptions=descriptions,
                series_instance_uid=series_instance_uid or generate_uid(),
                series_number=series_number,
                sop_instance_uid=sop_instance_uid or generate_uid(),
                instance_number=instance_number,
                manufacturer=manufacturer,
                manufacturer_model_name="nelm",
                software_versions=__version__,
                device_serial_number="0",
                series_description=series_description,
                content_label=content_label,
                content_description=content_description,
                omit_empty_frames=omit_empty_frames,
                specific_character_set=charset,
            )
    except (ValueError, TypeError) as exc:
        raise DicomError(f"cannot build the DICOM SEG {path} from {what}: {exc}") from exc
    seg.ImageComments = RESEARCH_USE_DISCLAIMER  # General Image module (PS3.3 C.7.6.1)
    target = Path(path)
    with atomic_path(target) as tmp:
        pydicom.dcmwrite(tmp, seg, enforce_file_format=True)
    logger.info("wrote DICOM SEG %s (%d segments, %s)", target, len(descriptions), segmentation_type)
    return target
