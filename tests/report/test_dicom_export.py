"""DICOM export of a run: SEG, TID 1500 SR and RT Dose read back to the same values (issue 7, item 5)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest

from nelm.imaging.rtdose import read_rtdose
from nelm.imaging.seg import read_seg_segments
from nelm.imaging.seg.codes import tracking_uid_for
from nelm.report.deid import UidMap, default_deid_key
from nelm.report.dicom_export import DicomExport, export_dicom, export_dicom_objects
from nelm.report.dicom_sr import SUV_CONCEPTS, read_measurement_report
from nelm.report.results import RunResults

CT_TIME_POINTS = ("baseline", "fu1", "fu2")


@pytest.fixture(scope="module")
def export(run_results: RunResults, tmp_path_factory: pytest.TempPathFactory) -> DicomExport:
    return export_dicom_objects(run_results, tmp_path_factory.mktemp("dicom_export"))


@pytest.fixture(scope="module")
def uid_map(run_results: RunResults) -> UidMap:
    return UidMap(default_deid_key(run_results.case.case_id))


def _tracked_ids(run_results: RunResults, tp_id: str) -> dict[str, str]:
    """Quantified lesion ID → tracking ID, read from the response's tracking records."""
    assert run_results.response is not None
    for record in run_results.response.tracking:
        if record["time_point"] == tp_id:
            out: dict[str, str] = {}
            for d in record["decisions"]:  # type: ignore[attr-defined]
                if d["tracking_id"] is not None and d["outcome"] != "coalesced":
                    for f in d["follow_up_ids"]:
                        out[f] = d["tracking_id"]
            return out
    return {}


def test_files_written(export: DicomExport) -> None:
    names = sorted(f"{p.parent.name}/{p.name}" for p in export.files)
    expected = [f"{tp}/{kind}.dcm" for tp in CT_TIME_POINTS for kind in ("seg", "sr")]
    assert sorted([*expected, "y90/rtdose_delivered.dcm", "maa/rtdose_planned.dcm"]) == names


def test_export_dicom_returns_the_paths(run_results: RunResults, tmp_path: Path) -> None:
    only = replace(run_results, quants=run_results.quants[:1], y90_dose=None)
    paths = export_dicom(only, tmp_path)
    assert [p.name for p in paths] == ["seg.dcm", "sr.dcm"]
    assert all(p.is_file() for p in paths)


@pytest.mark.parametrize("tp_id", CT_TIME_POINTS)
def test_seg_segments_and_voxels(run_results: RunResults, export: DicomExport, tp_id: str) -> None:
    seg_path = export.segs[tp_id].path
    seg = hd.seg.segread(seg_path)
    tpd = run_results.data[tp_id]
    liver = tpd.masks["liver"].any_mask()
    lesions = tpd.masks["lesions"]
    ids = _tracked_ids(run_results, tp_id)
    # The lesions the mask holds, by tracking ID (its own IDs mapped through the tracking).
    present = {
        ids.get(lab.tracking_id, lab.tracking_id): value
        for value, lab in lesions.labels.items()
        if (lesions.array == value).any()
    }
    descriptions = {
        seg.get_segment_description(n).segment_label: seg.get_segment_description(n)
        for n in seg.segment_numbers
    }
    assert set(descriptions) == {"liver"} | {f"lesion {tid}" for tid in present}
    assert descriptions["liver"].tracking_id == "liver"
    segments = read_seg_segments(seg_path, reference=tpd.images["ct_portal"].geometry)
    by_label = {m.labels[1].name: m for m in segments.values()}
    np.testing.assert_array_equal(by_label["liver"].array.astype(bool), liver)
    for tid, value in present.items():
        assert descriptions[f"lesion {tid}"].tracking_id == tid
        np.testing.assert_array_equal(by_label[f"lesion {tid}"].array.astype(bool), lesions.array == value)


def test_tracking_uids_match_the_quantification(run_results: RunResults, export: DicomExport) -> None:
    """Each quantified lesion's Tracking UID is its SEG segment's (the mask carries none here, so
    it is the one derived from the case id and the tracking ID)."""
    case_id = run_results.case.case_id
    checked = 0
    for quant in run_results.quants:
        ids = _tracked_ids(run_results, quant.time_point)
        seg = export.segs[quant.time_point]
        for lesion in quant.lesions:
            tid = ids.get(lesion.lesion_id, lesion.lesion_id)
            expected = lesion.tracking_uid or tracking_uid_for(case_id, tid)
            assert seg.segment_of(tid).tracking_uid == expected
            checked += 1
    assert checked > 20


def test_tracking_uid_stable_across_time_points(export: DicomExport) -> None:
    uids = {tp: {s.tracking_id: s.tracking_uid for s in export.segs[tp].segments} for tp in CT_TIME_POINTS}
    common = set(uids["baseline"]) & set(uids["fu1"]) & set(uids["fu2"])
    assert {"liver", "L1", "L2"} <= common
    for tid in common:
        assert uids["baseline"][tid] == uids["fu1"][tid] == uids["fu2"][tid]
    everything = [u for per_tp in uids.values() for u in per_tp.values()]
    assert len(set(everything)) == len({t for per_tp in uids.values() for t in per_tp})


def test_given_tracking_uids_are_remapped(run_results: RunResults, tmp_path: Path) -> None:
    """A Tracking UID the mask carried is an original UID: remapped with the key when de-identifying."""
    quant = run_results.quants[0]
    given = {lesion.lesion_id: f"1.2.3.999.{i}" for i, lesion in enumerate(quant.lesions, start=1)}
    with_uids = quant.model_copy(
        update={
            "lesions": [
                lesion.model_copy(update={"tracking_uid": given[lesion.lesion_id]})
                for lesion in quant.lesions
            ]
        }
    )
    one = replace(run_results, quants=(with_uids,), y90_dose=None)
    secret = UidMap("a secret key")
    seg = export_dicom_objects(one, tmp_path / "deid", deid_key="a secret key").segs[quant.time_point]
    kept = export_dicom_objects(one, tmp_path / "kept", keep_identifiers=True).segs[quant.time_point]
    for lesion_id, uid in given.items():
        assert seg.segment_of(lesion_id).tracking_uid == secret.map(uid)
        assert kept.segment_of(lesion_id).tracking_uid == uid


@pytest.mark.parametrize("tp_id", CT_TIME_POINTS)
def test_sr_reads_back_the_quantification(
    run_results: RunResults, export: DicomExport, uid_map: UidMap, tp_id: str
) -> None:
    quant = next(q for q in run_results.quants if q.time_point == tp_id)
    ids = _tracked_ids(run_results, tp_id)
    seg = export.segs[tp_id]
    groups = {g.tracking_id: g for g in read_measurement_report(seg.path.parent / "sr.dcm")}
    assert set(groups) == {"liver"} | {ids.get(q.lesion_id, q.lesion_id) for q in quant.lesions}
    assert groups["liver"].values == {"Volume": pytest.approx(quant.patient.liver_volume_ml, rel=1e-12)}
    original_series = run_results.data[tp_id].images["ct_portal"].metadata.series_instance_uid
    suv_checked: list[str] = []
    for lesion in quant.lesions:
        group = groups[ids.get(lesion.lesion_id, lesion.lesion_id)]
        assert group.values["Volume"] == pytest.approx(lesion.volume_ml, rel=1e-12)
        assert group.units["Volume"] == "ml"
        assert lesion.axial is not None
        assert group.values["Long axis"] == pytest.approx(lesion.axial.long_mm, rel=1e-12)
        assert group.values["Short axis"] == pytest.approx(lesion.axial.short_mm, rel=1e-12)
        assert group.units["Long axis"] == "mm"
        if lesion.pet is not None and quant.pet is not None:
            concept, unit = SUV_CONCEPTS[quant.pet.normalisation]
            assert group.values[concept.meaning] == pytest.approx(lesion.pet.suv_max, rel=1e-12)
            assert group.units[concept.meaning] == unit.value
            suv_checked.append(lesion.lesion_id)
    if tp_id == "baseline":  # the baseline has the SSTR PET
        assert len(suv_checked) == len(quant.lesions)
    for tid, group in groups.items():
        segment = seg.segment_of(tid)
        assert group.segment_number == segment.number
        assert group.tracking_uid == segment.tracking_uid
        assert group.seg_sop_instance_uid == pydicom.dcmread(seg.path).SOPInstanceUID
        assert group.source_series_instance_uid == uid_map.map(original_series)


def test_seg_and_sr_reference_the_remapped_source_series(
    run_results: RunResults, export: DicomExport, uid_map: UidMap
) -> None:
    md = run_results.data["baseline"].images["ct_portal"].metadata
    seg = pydicom.dcmread(export.segs["baseline"].path)
    sr = pydicom.dcmread(export.segs["baseline"].path.parent / "sr.dcm")
    assert seg.StudyInstanceUID == uid_map.map(md.study_instance_uid)
    assert seg.FrameOfReferenceUID == uid_map.map(md.frame_of_reference_uid)
    assert seg.ReferencedSeriesSequence[0].SeriesInstanceUID == uid_map.map(md.series_instance_uid)
    referenced = {
        item.ReferencedSOPInstanceUID for item in seg.ReferencedSeriesSequence[0].ReferencedInstanceSequence
    }
    assert referenced == {uid_map.map(u) for u in md.sop_instance_uids}
    assert sr.StudyInstanceUID == seg.StudyInstanceUID
    evidence = {
        ref.ReferencedSOPInstanceUID
        for study in sr.CurrentRequestedProcedureEvidenceSequence
        for series in study.ReferencedSeriesSequence
        for ref in series.ReferencedSOPSequence
    }
    assert seg.SOPInstanceUID in evidence


def test_rtdose_reads_back(run_results: RunResults, export: DicomExport, uid_map: UidMap) -> None:
    assert run_results.y90_dose is not None
    path = next(p for p in export.files if p.name == "rtdose_delivered.dcm")
    written = run_results.y90_dose.dose.dose_gy
    back = read_rtdose(path)
    ds = pydicom.dcmread(path)
    scaling = float(ds.DoseGridScaling)
    assert back.shape == written.shape
    np.testing.assert_allclose(back.affine, written.affine, atol=1e-4)
    assert np.max(np.abs(back.array - np.asarray(written.array, dtype=np.float64))) <= scaling / 2 * (
        1 + 1e-6
    )
    assert ds.DoseSummationType == "RECORD"
    image = run_results.data["y90"].images["pet_y90"].metadata
    assert ds.FrameOfReferenceUID == uid_map.map(image.frame_of_reference_uid)
    assert ds.ReferencedSeriesSequence[0].SeriesInstanceUID == uid_map.map(image.series_instance_uid)
    assert ds.PatientIdentityRemoved == "YES"


def test_planned_rtdose(run_results: RunResults, export: DicomExport, uid_map: UidMap) -> None:
    assert run_results.y90_dose is not None
    assert run_results.y90_dose.planned is not None
    path = next(p for p in export.files if p.name == "rtdose_planned.dcm")
    ds = pydicom.dcmread(path)
    assert ds.DoseSummationType == "PLAN"
    spect = run_results.data["maa"].images["spect_maa"].metadata
    assert ds.FrameOfReferenceUID == uid_map.map(spect.frame_of_reference_uid)
    planned = run_results.y90_dose.planned.dose.dose_gy
    back = read_rtdose(path)
    assert float(np.max(back.array)) == pytest.approx(float(np.max(planned.array)), rel=1e-6)


def test_two_runs_give_identical_files(run_results: RunResults, export: DicomExport, tmp_path: Path) -> None:
    again = export_dicom_objects(run_results, tmp_path)
    assert [p.relative_to(tmp_path) for p in again.files] == [
        p.relative_to(export.files[0].parent.parent) for p in export.files
    ]
    for first, second in zip(export.files, again.files, strict=True):
        assert first.read_bytes() == second.read_bytes(), first.name


def test_keep_identifiers_keeps_the_source_uids(run_results: RunResults, tmp_path: Path) -> None:
    only = replace(run_results, quants=run_results.quants[:1], y90_dose=None)
    seg = pydicom.dcmread(export_dicom_objects(only, tmp_path, keep_identifiers=True).segs["baseline"].path)
    md = run_results.data["baseline"].images["ct_portal"].metadata
    assert seg.StudyInstanceUID == md.study_instance_uid
    assert seg.PatientID == md.identity.patient_id
    assert "PatientIdentityRemoved" not in seg


def test_nifti_only_time_point_is_skipped(run_results: RunResults, tmp_path: Path) -> None:
    """A time point whose lesion image is NIfTI has no series to reference: skipped, with the reason."""
    tpd = run_results.data["baseline"]
    nifti = tpd.time_point.images["ct_portal"].path.with_name("ct_portal.nii.gz")
    assert nifti.is_file()
    refs = dict(tpd.time_point.images)
    refs["ct_portal"] = refs["ct_portal"].model_copy(update={"path": nifti, "format": "nifti"})  # type: ignore[index]
    nifti_tp = tpd.time_point.model_copy(update={"images": refs})
    data = {**run_results.data, "baseline": replace(tpd, time_point=nifti_tp)}
    only = replace(run_results, data=data, quants=run_results.quants[:1], y90_dose=None)
    done = export_dicom_objects(only, tmp_path)
    assert done.files == []
    reasons = {s.item: s.reason for s in done.skipped}
    assert "not a DICOM series" in reasons["baseline SEG/SR"]
    assert "no post-treatment Y-90 dosimetry" in reasons["RT Dose"]


def test_time_point_without_lesions_exports_the_liver(run_results: RunResults, tmp_path: Path) -> None:
    """A complete response (no lesion left in the mask): the SEG and SR hold the liver alone."""
    tpd = run_results.data["baseline"]
    lesions = tpd.masks["lesions"]
    empty = replace(lesions, array=np.zeros_like(lesions.array), labels={})
    data = {**run_results.data, "baseline": replace(tpd, masks={**tpd.masks, "lesions": empty})}
    quant = run_results.quants[0].model_copy(update={"lesions": []})
    only = replace(run_results, data=data, quants=(quant,), y90_dose=None)
    seg = export_dicom_objects(only, tmp_path).segs["baseline"]
    assert [s.tracking_id for s in seg.segments] == ["liver"]
    groups = read_measurement_report(seg.path.parent / "sr.dcm")
    assert [g.tracking_id for g in groups] == ["liver"]
