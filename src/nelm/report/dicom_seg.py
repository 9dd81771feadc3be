"""The export SEG of one time point: the liver and one segment per tracked lesion, overlapping.

:func:`nelm.imaging.seg.write.write_seg` writes one label map (one segment per voxel). The export
needs the liver *and* its lesions, which lie inside the liver, so this module builds a ``BINARY``
Segmentation (PS3.3 C.8.20.2, where segments may overlap) with highdicom from a 4-D boolean array
``[slice, row, column, segment]``. It reuses the SEG writer's pieces: the source grid and slice
order (the same stacking as nelm's DICOM reader) and the segmented property codes
(:data:`nelm.imaging.seg.codes.PROPERTY_KINDS`).

Segments: 1 is the liver (SCT 91723000 "Anatomical Structure" / SCT 10200004 "Liver"), then the
lesions in natural order of their tracking IDs (``L2`` before ``L10``; SCT 49755003
"Morphologically Abnormal Structure" / SCT 108369006 "Neoplasm"). Each segment carries Tracking ID
(0062,0020) and Tracking UID (0062,0021); the lesion's UID is the same at every time point (see
:func:`nelm.report.dicom_export.lesion_tracking_uid`).

Determinism: highdicom stamps Instance Creation Date/Time, Content Date/Time and the Contributing
Equipment's date-time with the clock and draws a random Dimension Organization UID; all are
replaced (by the time point's date-time and a UID derived from the SEG's SOP Instance UID), so the
same input gives a byte-identical file.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
from pydicom.dataset import Dataset

from nelm import RESEARCH_USE_DISCLAIMER, __version__
from nelm.atomic import atomic_path
from nelm.errors import DicomError, MaskError
from nelm.imaging.labelmap import LabelMap
from nelm.imaging.seg.codes import PROPERTY_KINDS
from nelm.imaging.seg.highdicom_log import highdicom_warnings_to_log
from nelm.imaging.seg.write import source_grid

__all__ = ["ExportSeg", "SegSegment", "natural_key", "write_export_seg"]

logger = logging.getLogger(__name__)

_SEG_SERIES_NUMBER = 300


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that orders ``L2`` before ``L10`` (digit runs compare as numbers)."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.findall(r"\d+|\D+", text))


@dataclass(frozen=True)
class SegSegment:
    """One segment of an export SEG."""

    number: int
    label: str
    tracking_id: str
    tracking_uid: str
    voxel_count: int
    kind: str
    """``"liver"`` or ``"lesion"``."""


@dataclass(frozen=True)
class ExportSeg:
    """What was written: the SEG's UIDs, its segments, and the source series it references."""

    path: Path
    dataset: Dataset
    sop_class_uid: str
    sop_instance_uid: str
    series_instance_uid: str
    source_series_instance_uid: str
    segments: tuple[SegSegment, ...]

    def segment_of(self, tracking_id: str) -> SegSegment:
        """The segment with this tracking ID."""
        for s in self.segments:
            if s.tracking_id == tracking_id:
                return s
        raise KeyError(tracking_id)


def _dicom_date_time(when: datetime) -> tuple[str, str]:
    return when.strftime("%Y%m%d"), when.strftime("%H%M%S")


def stamp_datetimes(ds: Dataset, when: datetime) -> None:
    """Replace highdicom's clock-based dates with ``when`` (local time of the time point)."""
    date, time = _dicom_date_time(when)
    ds.InstanceCreationDate, ds.InstanceCreationTime = date, time
    if "ContentDate" in ds:
        ds.ContentDate, ds.ContentTime = date, time
    for item in ds.get("ContributingEquipmentSequence", []):
        if "ContributionDateTime" in item:
            item.ContributionDateTime = date + time


def write_export_seg(
    liver: LabelMap,
    lesions: LabelMap,
    sources: Sequence[Dataset],
    path: Path,
    *,
    series_instance_uid: str,
    sop_instance_uid: str,
    dimension_organization_uid: str,
    tracking_uids: Mapping[str, str],
    content_datetime: datetime,
    series_description: str = "nelm liver and lesions",
) -> ExportSeg:
    """Write the liver and the tracked lesions as one BINARY DICOM SEG on the source series.

    Parameters
    ----------
    liver:
        The liver mask (any label counts as liver), on the source grid.
    lesions:
        One label per tracked lesion whose Tracking ID is the lesion's tracking ID (the output
        of :func:`nelm.response.course.relabel_lesions`), on the source grid.
    sources:
        The source series' datasets (de-identified when identifiers are not kept).
    path:
        Output file, written atomically.
    series_instance_uid, sop_instance_uid, dimension_organization_uid:
        Deterministic UIDs of the new object.
    tracking_uids:
        Tracking ID → Tracking UID for the liver (``"liver"``) and every lesion.
    content_datetime:
        Content and instance-creation date-time (the time point's).
    series_description:
        Series Description (0008,103E).

    Raises
    ------
    GeometryError
        The masks are not on the source grid.
    MaskError
        The liver mask is empty.
    DicomError
        highdicom rejects the content.
    """
    grid, ordered = source_grid(list(sources))
    src = ordered[0]
    where = f"source series {src.get('SeriesInstanceUID', '?')} ({len(ordered)} images)"
    grid.require_same(liver.geometry, what=where, other_what=f"liver mask {liver.source or ''}".strip())
    grid.require_same(lesions.geometry, what=where, other_what=f"lesion mask {lesions.source or ''}".strip())
    liver_mask = liver.any_mask()
    if not liver_mask.any():
        raise MaskError(f"liver mask {liver.source or ''}: empty, there is no liver segment to export")
    lesion_labels = sorted(lesions.labels.values(), key=lambda lab: natural_key(lab.tracking_id or lab.name))
    layers = [liver_mask]
    segments = [
        SegSegment(1, "liver", "liver", tracking_uids["liver"], int(np.count_nonzero(liver_mask)), "liver")
    ]
    for lab in lesion_labels:
        tid = lab.tracking_id or lab.name
        mask = np.asarray(lesions.array == lab.value)
        layers.append(mask)
        segments.append(
            SegSegment(
                len(segments) + 1,
                f"lesion {tid}",
                tid,
                tracking_uids[tid],
                int(np.count_nonzero(mask)),
                "lesion",
            )
        )
    pixels = np.stack(layers, axis=-1)
    descriptions = []
    for s in segments:
        category, prop_type = PROPERTY_KINDS[s.kind]
        descriptions.append(
            hd.seg.SegmentDescription(
                segment_number=s.number,
                segment_label=s.label,
                segmented_property_category=category,
                segmented_property_type=prop_type,
                algorithm_type="MANUAL",
                tracking_id=s.tracking_id,
                tracking_uid=s.tracking_uid,
            )
        )
    date, time = _dicom_date_time(content_datetime)
    try:
        with highdicom_warnings_to_log():
            seg = hd.seg.Segmentation(
                source_images=ordered,
                pixel_array=pixels,
                segmentation_type="BINARY",
                segment_descriptions=descriptions,
                series_instance_uid=series_instance_uid,
                series_number=_SEG_SERIES_NUMBER,
                sop_instance_uid=sop_instance_uid,
                instance_number=1,
                manufacturer="nelm",
                manufacturer_model_name="nelm",
                software_versions=__version__,
                device_serial_number="0",
                series_description=series_description,
                content_label="NELM_LIVER_LES",
                content_description="liver and tracked lesions",
                omit_empty_frames=True,
                specific_character_set=src.get("SpecificCharacterSet") or None,
                content_date=date,
                content_time=time,
            )
    except (ValueError, TypeError) as exc:
        raise DicomError(f"cannot build the DICOM SEG {path}: {exc}") from exc
    stamp_datetimes(seg, content_datetime)
    for item in seg.get("DimensionOrganizationSequence", []):
        item.DimensionOrganizationUID = dimension_organization_uid
    for item in seg.get("DimensionIndexSequence", []):
        if "DimensionOrganizationUID" in item:
            item.DimensionOrganizationUID = dimension_organization_uid
    seg.ImageComments = RESEARCH_USE_DISCLAIMER  # General Image module (PS3.3 C.7.6.1)
    with atomic_path(path) as tmp:
        pydicom.dcmwrite(tmp, seg, enforce_file_format=True)
    logger.info("wrote DICOM SEG %s (liver and %d lesions)", path, len(segments) - 1)
    return ExportSeg(
        path=path,
        dataset=seg,
        sop_class_uid=str(seg.SOPClassUID),
        sop_instance_uid=str(seg.SOPInstanceUID),
        series_instance_uid=str(seg.SeriesInstanceUID),
        source_series_instance_uid=str(src.get("SeriesInstanceUID", "")),
        segments=tuple(segments),
    )
