"""The TID 1500 Measurement Report of one time point (Comprehensive 3D SR, highdicom).

One report per exported time point (DICOM PS3.16 TID 1500 "Measurement Report"), built with
``highdicom.sr``:

* observation context: a device observer (DCM 121007 "Device", name ``nelm``, a UID derived from
  the export key) — the measurements are software measurements of the given masks;
* procedure reported: LN 25045-6 "CT unspecified body region" for CT sources, otherwise SCT
  363679005 "Imaging procedure";
* one TID 1411 "Volumetric ROI Measurements and Qualitative Evaluations" group per region, whose
  ROI is a Referenced Segment (DCM 121191) of the export SEG (its SOP Instance UID and segment
  number, and the source series as Source Series for Segmentation), with the segment's Tracking
  Identifier and Tracking UID (TID 4108) and the time point as Time Point Context (TID 1502):

  - the **liver**: finding SCT 10200004 "Liver", Volume (SCT 118565006) in mL (UCUM ``ml``);
  - each **lesion**: finding SCT 108369006 "Neoplasm" in category SCT 49755003 "Morphologically
    Abnormal Structure", finding site Liver; Volume (mL), and, when the lesion has axial RECIST
    diameters, Long axis (SCT 103339001) and Short axis (SCT 103340004) in mm (UCUM ``mm``) —
    edge-to-edge axial calipers as measured by :mod:`nelm.quant.diameters` (RECIST 1.1,
    Eisenhauer et al., Eur J Cancer 2009;45:228-247); with an SSTR PET, SUVmax (the SUV concept
    of the normalisation used, :data:`SUV_CONCEPTS`, derivation SCT 56851009 "Maximum"), measured
    on the PET grid within the lesion as :mod:`nelm.quant.pet` maps it there.

A tracked lesion made of several quantified fragments (a split lesion) reports the sums of the
fragments' volumes and diameters, as RECIST 1.1 sums the diameters of the fragments of a split
lesion (the rule :mod:`nelm.response.from_quant` applies).

Values are written as DS (PS3.5 6.2: at most 16 characters), i.e. about 14 significant digits;
:func:`read_measurement_report` reads them back. The research-use statement is written as Image
Comments (0020,4000), a Standard Extended SOP Class attribute (PS3.4 B.1.3) as nelm does for
its other objects; the clock-based dates highdicom stamps are replaced by the time point's.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

import highdicom as hd
import pydicom
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

from nelm import RESEARCH_USE_DISCLAIMER
from nelm.atomic import atomic_path
from nelm.errors import DicomError, InputError
from nelm.quant.results import TimePointQuant
from nelm.report.dicom_seg import ExportSeg, stamp_datetimes

__all__ = [
    "MILLILITRE",
    "SUV_CONCEPTS",
    "ReadBackGroup",
    "RegionValues",
    "read_measurement_report",
    "tracked_lesion_values",
    "write_measurement_report",
]

logger = logging.getLogger(__name__)

#: UCUM millilitre (``ml``); pydicom's code dictionary has no entry for it.
MILLILITRE = Code("ml", "UCUM", "milliliter")
_SR_SERIES_NUMBER = 301

#: SUV normalisation of :mod:`nelm.imaging.suv` → (measurement concept, UCUM unit): DCM 126401
#: "SUVbw", 126406 "SUVlbm(James128)", 126405 "SUVlbm(Janma)", 126403 "SUVbsa" (PS3.16 CID 85
#: "SUV Units"-related concepts in pydicom's code dictionary), units g/ml{SUVbw}, g/ml{SUVlbm},
#: cm2/ml{SUVbsa} (PS3.16 CID 85).
SUV_CONCEPTS: Final[dict[str, tuple[Code, Code]]] = {
    "bw": (codes.DCM.Suvbw, Code("g/ml{SUVbw}", "UCUM", "Standardized Uptake Value body weight")),
    "lbm_james128": (
        codes.DCM.SuvlbmJames128,
        Code("g/ml{SUVlbm}", "UCUM", "Standardized Uptake Value lean body mass"),
    ),
    "lbm_janmahasatian": (
        codes.DCM.SuvlbmJanma,
        Code("g/ml{SUVlbm}", "UCUM", "Standardized Uptake Value lean body mass"),
    ),
    "bsa": (codes.DCM.Suvbsa, Code("cm2/ml{SUVbsa}", "UCUM", "Standardized Uptake Value body surface area")),
}


@dataclass(frozen=True)
class RegionValues:
    """The measurements of one region (the liver, or one tracked lesion)."""

    tracking_id: str
    volume_ml: float
    long_mm: float | None = None
    short_mm: float | None = None
    suv_max: float | None = None
    fragments: int = 1


def tracked_lesion_values(
    quant: TimePointQuant, tracking_id_of: Mapping[str, str]
) -> dict[str, RegionValues]:
    """The lesions of a quantified time point by tracking ID (fragments summed, see the module).

    ``tracking_id_of`` maps the quantified lesion IDs to tracking IDs; IDs not listed keep
    their own. A long or short axis is ``None`` when any fragment has no axial measurement.
    """
    grouped: dict[str, list[tuple[float, float | None, float | None, float | None]]] = {}
    for lesion in quant.lesions:
        tid = tracking_id_of.get(lesion.lesion_id, lesion.lesion_id)
        axial = lesion.axial
        grouped.setdefault(tid, []).append(
            (
                lesion.volume_ml,
                axial.long_mm if axial else None,
                axial.short_mm if axial else None,
                lesion.pet.suv_max if lesion.pet is not None else None,
            )
        )
    out: dict[str, RegionValues] = {}
    for tid, parts in grouped.items():
        longs = [p[1] for p in parts]
        shorts = [p[2] for p in parts]
        suvs = [p[3] for p in parts if p[3] is not None]
        out[tid] = RegionValues(
            tracking_id=tid,
            volume_ml=sum(p[0] for p in parts),
            long_mm=None if any(v is None for v in longs) else sum(v for v in longs if v is not None),
            short_mm=None if any(v is None for v in shorts) else sum(v for v in shorts if v is not None),
            suv_max=max(suvs) if suvs else None,
            fragments=len(parts),
        )
    return out


def _group(
    seg: ExportSeg,
    tracking_id: str,
    values: RegionValues,
    time_point: str,
    *,
    liver: bool,
    suv: tuple[Code, Code] | None = None,
) -> hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations:
    segment = seg.segment_of(tracking_id)
    measurements = [hd.sr.Measurement(name=codes.SCT.Volume, value=values.volume_ml, unit=MILLILITRE)]
    if values.long_mm is not None:
        measurements.append(
            hd.sr.Measurement(name=codes.SCT.LongAxis, value=values.long_mm, unit=codes.UCUM.Millimeter)
        )
    if values.short_mm is not None:
        measurements.append(
            hd.sr.Measurement(name=codes.SCT.ShortAxis, value=values.short_mm, unit=codes.UCUM.Millimeter)
        )
    if values.suv_max is not None and suv is not None:
        measurements.append(
            hd.sr.Measurement(name=suv[0], value=values.suv_max, unit=suv[1], derivation=codes.SCT.Maximum)
        )
    return hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(
            uid=segment.tracking_uid, identifier=segment.tracking_id
        ),
        referenced_segment=hd.sr.ReferencedSegment(
            sop_class_uid=seg.sop_class_uid,
            sop_instance_uid=seg.sop_instance_uid,
            segment_number=segment.number,
            source_series=hd.sr.SourceSeriesForSegmentation(seg.source_series_instance_uid),
        ),
        time_point_context=hd.sr.TimePointContext(time_point=time_point),
        finding_type=codes.SCT.Liver if liver else codes.SCT.Neoplasm,
        finding_category=codes.SCT.AnatomicalStructure
        if liver
        else codes.SCT.MorphologicallyAbnormalStructure,
        finding_sites=None if liver else [hd.sr.FindingSite(anatomic_location=codes.SCT.Liver)],
        measurements=measurements,
    )


def write_measurement_report(
    quant: TimePointQuant,
    seg: ExportSeg,
    lesions: Mapping[str, RegionValues],
    sources: Sequence[Dataset],
    path: Path,
    *,
    series_instance_uid: str,
    sop_instance_uid: str,
    device_uid: str,
    content_datetime: datetime,
) -> Dataset:
    """Write the TID 1500 report of one time point (see the module docstring).

    Parameters
    ----------
    quant:
        The time point's quantification (the liver volume and the time point id come from it).
    seg:
        The export SEG of the same time point; every lesion of ``lesions`` must be one of its
        segments.
    lesions:
        Tracking ID → the lesion's values (:func:`tracked_lesion_values`).
    sources:
        The source series' datasets (de-identified when identifiers are not kept).
    path:
        Output file, written atomically.
    series_instance_uid, sop_instance_uid, device_uid:
        Deterministic UIDs.
    content_datetime:
        Content and instance-creation date-time (the time point's).

    Returns
    -------
    pydicom.dataset.Dataset
        The SR document written.

    Raises
    ------
    InputError
        A lesion without a SEG segment.
    DicomError
        highdicom rejects the content.
    """
    missing = sorted(set(lesions) - {s.tracking_id for s in seg.segments})
    if missing:
        raise InputError(f"time point {quant.time_point}: lesions {missing} have no segment in {seg.path}")
    modality = str(sources[0].get("Modality", "")) if sources else ""
    procedure = codes.LN.CTUnspecifiedBodyRegion if modality == "CT" else codes.SCT.ImagingProcedure
    groups = [
        _group(
            seg,
            "liver",
            RegionValues("liver", quant.patient.liver_volume_ml),
            quant.time_point,
            liver=True,
        )
    ]
    suv = SUV_CONCEPTS.get(quant.pet.normalisation) if quant.pet is not None else None
    groups += [
        _group(seg, s.tracking_id, lesions[s.tracking_id], quant.time_point, liver=False, suv=suv)
        for s in seg.segments
        if s.kind == "lesion" and s.tracking_id in lesions
    ]
    observer = hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=device_uid, name="nelm", manufacturer_name="nelm"
        ),
    )
    date, time = content_datetime.strftime("%Y%m%d"), content_datetime.strftime("%H%M%S")
    try:
        report = hd.sr.MeasurementReport(
            observation_context=hd.sr.ObservationContext(observer_device_context=observer),
            procedure_reported=procedure,
            imaging_measurements=groups,
        )
        sr = hd.sr.Comprehensive3DSR(
            evidence=[seg.dataset, *sources],
            content=report[0],
            series_instance_uid=series_instance_uid,
            series_number=_SR_SERIES_NUMBER,
            sop_instance_uid=sop_instance_uid,
            instance_number=1,
            manufacturer="nelm",
            is_complete=True,
            is_final=False,
            is_verified=False,
            series_description="nelm measurements (TID 1500)",
            content_date=date,
            content_time=time,
        )
    except (ValueError, TypeError, AttributeError) as exc:
        raise DicomError(f"cannot build the TID 1500 report {path}: {exc}") from exc
    stamp_datetimes(sr, content_datetime)
    sr.ImageComments = RESEARCH_USE_DISCLAIMER
    with atomic_path(path) as tmp:
        pydicom.dcmwrite(tmp, sr, enforce_file_format=True)
    logger.info("wrote TID 1500 SR %s (liver and %d lesions)", path, len(groups) - 1)
    return sr


@dataclass(frozen=True)
class ReadBackGroup:
    """One measurement group of a report, as read back."""

    tracking_id: str
    tracking_uid: str
    segment_number: int
    seg_sop_instance_uid: str
    source_series_instance_uid: str
    values: dict[str, float]
    """Measurement concept meaning (``Volume``, ``Long axis``, ``Short axis``) → value."""
    units: dict[str, str]


def read_measurement_report(path: str | os.PathLike[str]) -> list[ReadBackGroup]:
    """Read a TID 1500 report's volumetric measurement groups back with highdicom.

    Raises
    ------
    DicomError
        The file is not a measurement report highdicom can parse.
    """
    p = Path(path)
    try:
        sr = hd.sr.srread(p)
    except (ValueError, TypeError, AttributeError, OSError) as exc:
        raise DicomError(f"{p} is not a readable SR document: {exc}") from exc
    out: list[ReadBackGroup] = []
    for group in sr.content.get_volumetric_roi_measurement_groups():  # type: ignore[attr-defined]
        ref = group.referenced_segment
        if ref is None:
            continue
        segment_item = ref[0]
        source = ref[1] if len(ref) > 1 else None
        values: dict[str, float] = {}
        units: dict[str, str] = {}
        for m in group.get_measurements():
            values[str(m.name.meaning)] = float(m.value)
            units[str(m.name.meaning)] = str(m.unit.value)
        out.append(
            ReadBackGroup(
                tracking_id=str(group.tracking_identifier),
                tracking_uid=str(group.tracking_uid),
                segment_number=int(segment_item.referenced_segment_numbers[0]),
                seg_sop_instance_uid=str(segment_item.referenced_sop_instance_uid),
                source_series_instance_uid=str(source.value) if source is not None else "",
                values=values,
                units=units,
            )
        )
    return out
