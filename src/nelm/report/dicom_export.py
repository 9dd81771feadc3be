"""DICOM export of a run: SEG and TID 1500 SR per time point, RT Dose for the Y-90 dose maps.

:func:`export_dicom` writes, under the output folder:

``<time point>/seg.dcm``
    The liver and one segment per lesion (:mod:`nelm.report.dicom_seg`) on the image series the
    lesion mask lies on (the manifest's ``masks: lesions: image:``, usually ``ct_portal``).
    Lesions carry their **tracking IDs** (from the response tracking,
    :func:`nelm.response.course.relabel_lesions`) and **Tracking UIDs** that are the same for the
    same lesion at every time point (:func:`lesion_tracking_uid`).
``<time point>/sr.dcm``
    The TID 1500 Measurement Report (:mod:`nelm.report.dicom_sr`): the liver volume and each
    lesion's volume and RECIST axial diameters, each group referencing its SEG segment, the
    source series and the segment's tracking identifier.
``<time point>/rtdose_delivered.dcm``, ``<time point>/rtdose_planned.dcm``
    The delivered Y-90 dose (Dose Summation Type ``RECORD``, on the Y-90 PET/SPECT grid) and the
    planned dose (``PLAN``, on the MAA SPECT grid) of :attr:`RunResults.y90_dose`
    (:func:`nelm.imaging.rtdose.write_rtdose`), in the folder of the time point whose images they
    were computed on, sharing that series' Study and Frame of Reference.

Which time points
-----------------
Every quantified time point whose lesion mask names the image it lies on, when that image is a
DICOM series and the liver and lesion masks were given (not made by a fallback segmentation,
which the run does not keep). Other time points are skipped with the reason logged and returned
(:attr:`DicomExport.skipped`): a NIfTI-only image has no DICOM series to reference.

Tracking IDs come from the response assessment's tracking records for baseline and follow-up
time points; other time points (planning, post-treatment) keep their masks' own lesion IDs.

De-identification
-----------------
Unless ``keep_identifiers``, the source datasets are de-identified before any object is built
from them (:mod:`nelm.report.deid`: PS3.15 Basic Profile with the Full Dates Option, keyed UID
remapping, pseudonym from the case id), so the SEG, SR and RT Dose inherit only pseudonymous
patient and study data and remapped UIDs, consistently across the objects (the SR references the
SEG and the same remapped source series; the RT Dose the remapped Frame of Reference).

Determinism
-----------
New UIDs are derived from the UID map's key (:meth:`UidMap.derived`) and what they identify;
content dates are the time point's date, never the clock. Two runs on the same input give
byte-identical files.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from nelm.atomic import atomic_path
from nelm.case.vocabulary import FileFormat, TimePointKind
from nelm.errors import DicomError
from nelm.imaging.dicom_discover import walk_files
from nelm.imaging.labelmap import LabelMap
from nelm.imaging.rtdose import write_rtdose
from nelm.imaging.seg.codes import tracking_uid_for
from nelm.imaging.volume import Volume
from nelm.report.deid import (
    Pseudonym,
    UidMap,
    default_deid_key,
    deidentify_metadata,
    deidentify_sources,
    mark_deidentified,
    pseudonym_for,
)
from nelm.report.dicom_seg import ExportSeg, write_export_seg
from nelm.report.dicom_sr import tracked_lesion_values, write_measurement_report
from nelm.report.results import RunResults
from nelm.response.course import relabel_lesions
from nelm.response.model import as_aware_datetime

__all__ = [
    "DicomExport",
    "SkippedExport",
    "export_dicom",
    "export_dicom_objects",
    "lesion_tracking_uid",
    "tracking_ids_by_time_point",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SkippedExport:
    """An object that was not exported, and why."""

    item: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return {"item": self.item, "reason": self.reason}


@dataclass(frozen=True)
class DicomExport:
    """The files :func:`export_dicom` wrote and what it skipped."""

    files: list[Path] = field(default_factory=list)
    skipped: list[SkippedExport] = field(default_factory=list)
    segs: dict[str, ExportSeg] = field(default_factory=dict)
    """Time point id → the SEG written (UIDs and segments), for the report and tests."""


def lesion_tracking_uid(tracking_id: str, given_uid: str, *, namespace: str, uid_map: UidMap | None) -> str:
    """The Tracking UID exported for a lesion.

    The UID the lesion mask carried (``given_uid``, e.g. from an input SEG) when there is one —
    remapped with ``uid_map`` when de-identifying, since it is an original UID — else
    :func:`nelm.imaging.seg.codes.tracking_uid_for` ``(namespace, tracking_id)``. The namespace
    is the case id, so the same tracking ID gets the same UID at every time point of the case
    (and in identified and de-identified exports alike).
    """
    if given_uid:
        return uid_map.map(given_uid) if uid_map is not None else given_uid
    return tracking_uid_for(namespace, tracking_id)


def tracking_ids_by_time_point(results: RunResults) -> dict[str, dict[str, str]]:
    """Per follow-up time point, quantified lesion ID → tracking ID, from the response's tracking
    records (:func:`nelm.response.tracking.follow_up_ids`: coalesced lesions keep none)."""
    out: dict[str, dict[str, str]] = {}
    if results.response is None:
        return out
    for record in results.response.tracking:
        tp_id = str(record.get("time_point", ""))
        ids: dict[str, str] = {}
        decisions = record.get("decisions", [])
        for d in decisions if isinstance(decisions, list) else []:
            if not isinstance(d, Mapping):
                continue
            tid = d.get("tracking_id")
            if tid is None or d.get("outcome") == "coalesced":
                continue
            for f in d.get("follow_up_ids", []):
                ids[str(f)] = str(tid)
        out[tp_id] = ids
    return out


def _read_series(folder: Path, series_uid: str) -> list[Dataset]:
    datasets: list[Dataset] = []
    for path in walk_files(folder):
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        except (InvalidDicomError, OSError, ValueError, EOFError) as exc:
            logger.debug("%s: not read as DICOM (%s); ignored", path, exc)  # e.g. a README in the folder
            continue
        if not series_uid or str(ds.get("SeriesInstanceUID", "")) == series_uid:
            datasets.append(ds)
    if not datasets:
        raise DicomError(f"{folder}: no DICOM file of series {series_uid or '(any)'} found")
    return datasets


def _local_datetime(when: date | datetime) -> datetime:
    """A manifest date as an aware date-time (a date-only value is 00:00 UTC of that day)."""
    return as_aware_datetime(when)


def _drop_empty(lesions: LabelMap) -> LabelMap:
    values = {int(v) for v in np.unique(lesions.array)}
    present = [v for v in lesions.labels if v in values]
    return lesions if len(present) == len(lesions.labels) else lesions.subset(present)


def _export_time_point(
    results: RunResults,
    tp_id: str,
    out_dir: Path,
    ids: Mapping[str, str],
    uid_map: UidMap,
    pseudonym: Pseudonym,
    keep_identifiers: bool,
    done: DicomExport,
) -> None:
    case = results.case
    quant = next(q for q in results.quants if q.time_point == tp_id)
    tpd = results.data.get(tp_id)
    if tpd is None:
        done.skipped.append(SkippedExport(f"{tp_id} SEG/SR", "the time point's images were not loaded"))
        return
    missing = [r for r in ("liver", "lesions") if r not in tpd.masks]
    if missing:
        done.skipped.append(
            SkippedExport(
                f"{tp_id} SEG/SR",
                f"no given {' and '.join(missing)} mask (fallback segmentations are not exported)",
            )
        )
        return
    role = tpd.mask_image.get("lesions")
    if role is None or role not in tpd.images:
        done.skipped.append(
            SkippedExport(
                f"{tp_id} SEG/SR", "the lesion mask does not name the image it lies on (masks: image:)"
            )
        )
        return
    ref = tpd.time_point.images[role]  # type: ignore[index]
    if ref.format is not FileFormat.DICOM_SERIES or not ref.path.is_dir():
        done.skipped.append(
            SkippedExport(
                f"{tp_id} SEG/SR",
                f"image {role} is not a DICOM series ({ref.path.name}); nothing to reference",
            )
        )
        return
    volume = tpd.images[role]
    datasets = _read_series(ref.path, volume.metadata.series_instance_uid)
    if any(int(ds.get("NumberOfFrames", 1) or 1) > 1 for ds in datasets):
        done.skipped.append(
            SkippedExport(
                f"{tp_id} SEG/SR",
                f"image {role} is a multi-frame series (e.g. NM SPECT); the SEG export supports "
                "single-frame series (CT, MR, PET)",
            )
        )
        return
    sources = datasets if keep_identifiers else deidentify_sources(datasets, uid_map, pseudonym=pseudonym)
    lesions = _drop_empty(relabel_lesions(tpd.masks["lesions"], ids))
    liver = tpd.masks["liver"]
    if not liver.geometry.same_as(lesions.geometry):
        liver = liver.resample_to(lesions.geometry)
    given: dict[str, str] = {}
    for lesion in quant.lesions:
        tid = ids.get(lesion.lesion_id, lesion.lesion_id)
        if lesion.tracking_uid and tid not in given:
            given[tid] = lesion.tracking_uid
    mapper = None if keep_identifiers else uid_map
    tracking_uids = {"liver": tracking_uid_for(case.case_id, "liver")}
    for lab in lesions.labels.values():
        tid = lab.tracking_id or lab.name
        tracking_uids[tid] = lesion_tracking_uid(
            tid, given.get(tid, ""), namespace=case.case_id, uid_map=mapper
        )
    when = _local_datetime(tpd.time_point.date)
    folder = out_dir / tp_id
    folder.mkdir(parents=True, exist_ok=True)
    seg = write_export_seg(
        liver,
        lesions,
        sources,
        folder / "seg.dcm",
        series_instance_uid=uid_map.derived("seg series", case.case_id, tp_id),
        sop_instance_uid=uid_map.derived("seg instance", case.case_id, tp_id),
        dimension_organization_uid=uid_map.derived("seg dimension organization", case.case_id, tp_id),
        tracking_uids=tracking_uids,
        content_datetime=when,
    )
    done.files.append(seg.path)
    done.segs[tp_id] = seg
    values = tracked_lesion_values(quant, ids)
    exported = {k: v for k, v in values.items() if k in {s.tracking_id for s in seg.segments}}
    for tid in sorted(set(values) - set(exported)):
        logger.warning(
            "time point %s: lesion %s is quantified but not in the lesion mask; not in the SR", tp_id, tid
        )
    sr_path = folder / "sr.dcm"
    write_measurement_report(
        quant,
        seg,
        exported,
        sources,
        sr_path,
        series_instance_uid=uid_map.derived("sr series", case.case_id, tp_id),
        sop_instance_uid=uid_map.derived("sr instance", case.case_id, tp_id),
        device_uid=uid_map.derived("nelm device observer", case.case_id),
        content_datetime=when,
    )
    done.files.append(sr_path)


def _dose_source(
    results: RunResults, dose: Volume, prefer_tp: str, prefer_role: str | None
) -> tuple[str, date | datetime | None, Volume | None]:
    """The time point and image the dose was computed on.

    ``prefer_tp``'s ``prefer_role`` image when given and present; else the image of any time
    point that shares the dose's Frame of Reference UID and grid (then only its Frame of
    Reference); else ``prefer_tp`` without an image.
    """
    if prefer_role is not None and prefer_tp in results.data:
        tpd = results.data[prefer_tp]
        if prefer_role in tpd.images:
            return prefer_tp, tpd.time_point.date, tpd.images[prefer_role]
    frame = dose.metadata.frame_of_reference_uid
    candidates = [
        (tp_id, tpd.time_point.date, vol)
        for tp_id, tpd in results.data.items()
        for vol in tpd.images.values()
        if frame and vol.metadata.frame_of_reference_uid == frame
    ]
    for tp_id, when, vol in candidates:
        if vol.geometry.same_as(dose.geometry):
            return tp_id, when, vol
    if candidates:
        return candidates[0]
    for tp in results.case.time_points:
        if tp.id == prefer_tp:
            return tp.id, tp.date, None
    return prefer_tp, None, None


def _export_dose(
    results: RunResults,
    dose: Volume,
    summation: str,
    prefer: tuple[str, str | None],
    out_dir: Path,
    uid_map: UidMap,
    pseudonym: Pseudonym,
    keep_identifiers: bool,
    done: DicomExport,
) -> None:
    tp_id, when, image = _dose_source(results, dose, *prefer)
    own = dose.metadata
    reference = image.metadata if image is not None else own
    if not keep_identifiers:
        own = deidentify_metadata(own, uid_map, pseudonym=pseudonym)
        reference = deidentify_metadata(reference, uid_map, pseudonym=pseudonym)
    written = dataclasses.replace(dose, metadata=own)
    name = "rtdose_delivered.dcm" if summation == "RECORD" else "rtdose_planned.dcm"
    folder = out_dir / tp_id
    folder.mkdir(parents=True, exist_ok=True)
    case_id = results.case.case_id
    path = write_rtdose(
        written,
        folder / name,
        reference=reference,
        dose_summation_type=summation,
        comment="nelm Y-90 delivered dose" if summation == "RECORD" else "nelm Y-90 planned dose",
        content_datetime=_local_datetime(when) if when is not None else None,
        series_instance_uid=uid_map.derived("rtdose series", case_id, tp_id, summation),
        sop_instance_uid=uid_map.derived("rtdose instance", case_id, tp_id, summation),
    )
    if not keep_identifiers:
        ds = pydicom.dcmread(path)
        mark_deidentified(ds)
        with atomic_path(path) as tmp:
            ds.save_as(tmp, enforce_file_format=True)
    done.files.append(path)


def export_dicom(
    results: RunResults,
    out_dir: Path,
    *,
    keep_identifiers: bool = False,
    deid_key: str | None = None,
) -> list[Path]:
    """Write the DICOM SEG, SR and RT Dose objects of a run; the files written, in order.

    :func:`export_dicom_objects` with the same arguments, returning only the files (the skipped
    items are logged); use that function to report the skipped items too.
    """
    return export_dicom_objects(results, out_dir, keep_identifiers=keep_identifiers, deid_key=deid_key).files


def export_dicom_objects(
    results: RunResults,
    out_dir: Path,
    *,
    keep_identifiers: bool = False,
    deid_key: str | None = None,
) -> DicomExport:
    """Write the DICOM SEG, SR and RT Dose objects of a run (see the module docstring).

    Parameters
    ----------
    results:
        The run's results (case, loaded data, quantifications, response, Y-90 dosimetry).
    out_dir:
        Output folder (created); one sub-folder per time point.
    keep_identifiers:
        Keep the source's patient and study identifiers and UIDs (``--keep-identifiers``);
        default: de-identify (:mod:`nelm.report.deid`).
    deid_key:
        Key of the UID remapping (``--deid-key``); default :func:`default_deid_key` of the case id
        (pseudonymisation: guessable by whoever knows the case id).

    Returns
    -------
    DicomExport
        The files written, in order, and the skipped items with their reasons.

    Raises
    ------
    DicomError, GeometryError, MaskError
        A source series that cannot be read or does not match its masks.
    """
    case = results.case
    uid_map = UidMap(deid_key if deid_key is not None else default_deid_key(case.case_id))
    pseudonym = pseudonym_for(case.case_id)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    done = DicomExport()
    links = tracking_ids_by_time_point(results)
    for quant in results.quants:
        _export_time_point(
            results,
            quant.time_point,
            out,
            links.get(quant.time_point, {}),
            uid_map,
            pseudonym,
            keep_identifiers,
            done,
        )
    dosimetry = results.y90_dose
    if dosimetry is not None:
        _export_dose(
            results,
            dosimetry.dose.dose_gy,
            "RECORD",
            (dosimetry.time_point_id, dosimetry.image_role),
            out,
            uid_map,
            pseudonym,
            keep_identifiers,
            done,
        )
        planned = dosimetry.planned
        if planned is None and results.y90_plan is not None:
            planned = results.y90_plan.voxel
        if planned is not None:
            planning = next(
                (tp.id for tp in case.time_points if tp.kind is TimePointKind.PLANNING), "planning"
            )
            _export_dose(
                results,
                planned.dose.dose_gy,
                "PLAN",
                (planning, None),
                out,
                uid_map,
                pseudonym,
                keep_identifiers,
                done,
            )
    else:
        done.skipped.append(SkippedExport("RT Dose", "no post-treatment Y-90 dosimetry in this run"))
    for s in done.skipped:
        logger.info("DICOM export: %s skipped: %s", s.item, s.reason)
    return done
