"""``nelm run`` end to end: every stage, every output, failures recorded, reruns identical (issue 7)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nelm.cli.main import main
from nelm.errors import InputError
from nelm.report.pipeline import RunOutputs, compute, write_outputs
from nelm.report.results import RunResults

STAGES_OK = (
    "load",
    "quantification",
    "response",
    "y90_plan",
    "y90_dose",
    "decision",
    "imaging_advice",
    "figures",
    "dose_maps",
    "dicom_export",
    "report_html",
    "report_pdf",
)


@pytest.fixture(scope="module")
def outputs(run_results: RunResults, tmp_path_factory: pytest.TempPathFactory) -> RunOutputs:
    return write_outputs(run_results, tmp_path_factory.mktemp("run") / "out")


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_every_stage_runs_on_the_synthetic_patient(outputs: RunOutputs) -> None:
    stages = {s.name: s for s in outputs.results.stages}
    assert tuple(stages) == STAGES_OK
    assert all(s.status == "ok" for s in stages.values()), stages
    doc = json.loads(outputs.results_json.read_text(encoding="utf-8"))
    assert [s["name"] for s in doc["stages"]] == list(STAGES_OK)


def test_the_document_lists_exactly_the_files_written(outputs: RunOutputs) -> None:
    doc = json.loads(outputs.results_json.read_text(encoding="utf-8"))
    assert sorted(doc["outputs"]) == sorted(_files(outputs.folder))
    names = set(doc["outputs"])
    # the report, figures, dose maps and DICOM objects of every kind
    assert {"report.html", "report.pdf", "results.json"} <= names
    assert any(n.startswith("figures/") for n in names)
    assert any(n.startswith("dose/") and n.endswith("_delivered_dose.nii.gz") for n in names)
    assert {n.rsplit("/", 1)[-1] for n in names if n.startswith("dicom/")} >= {
        "seg.dcm",
        "sr.dcm",
        "rtdose_delivered.dcm",
    }


def test_the_document_validates_and_carries_the_module_results(outputs: RunOutputs) -> None:
    import jsonschema

    from nelm.report.document import load_schema

    doc = json.loads(outputs.results_json.read_text(encoding="utf-8"))
    jsonschema.validate(doc, load_schema())
    results = outputs.results
    baseline = results.quants[0]
    assert doc["quantification"][0]["patient"]["lesion_count"] == baseline.patient.lesion_count
    assert results.y90_plan is not None
    assert doc["y90"]["plan"]["plans"][0]["activity_gbq"] == results.y90_plan.plans[0].activity_gbq
    assert results.decision is not None
    levels = {t["therapy"]: t["level"] for t in doc["decision"]["therapies"]}
    assert levels == {
        str(t.therapy): str(getattr(t.level, "value", t.level)) for t in results.decision.therapies
    }


def test_krenning_scores_come_from_the_latest_pet_not_the_latest_ct(outputs: RunOutputs) -> None:
    """The follow-ups are CT only: the decision's SSTR input is the baseline PET's (with its source)."""
    decision = outputs.results.decision
    assert decision is not None
    baseline = next(q for q in outputs.results.quants if q.time_point == "baseline")
    expected = {
        les.lesion_id: les.pet.krenning_score
        for les in baseline.lesions
        if les.pet is not None and les.pet.krenning_score is not None
    }
    assert expected
    inputs = decision.model_dump(mode="json")["inputs"]
    assert "baseline" in inputs["krenning_scores"]["source"]


def test_a_rerun_gives_identical_files(
    outputs: RunOutputs, phantom_case: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``nelm run`` from the command line on the same case writes the same bytes (the PDF too)."""
    again = tmp_path / "again"
    assert main(["run", str(phantom_case), "--out", str(again)]) == 0
    first, second = _files(outputs.folder), _files(again)
    assert sorted(first) == sorted(second)
    differing = [name for name in first if first[name] != second[name]]
    assert differing == []
    printed = capsys.readouterr().out
    assert "report (PDF)" in printed
    assert "research use" in printed.lower()


def test_a_failing_optional_stage_is_reported_not_raised(
    run_results: RunResults, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nelm.report.figures

    def broken(*args: object, **kwargs: object) -> None:
        raise InputError("figure backend exploded")

    monkeypatch.setattr(nelm.report.figures, "write_figures", broken)
    done = write_outputs(run_results, tmp_path / "out", pdf=False)
    stages = {s.name: s for s in done.results.stages}
    assert stages["figures"].status == "failed"
    assert "figure backend exploded" in stages["figures"].message
    assert stages["report_pdf"].status == "skipped"
    assert stages["report_html"].status == "ok"
    doc = json.loads(done.results_json.read_text(encoding="utf-8"))
    failed = {s["name"]: s["message"] for s in doc["stages"] if s["status"] == "failed"}
    assert "figure backend exploded" in failed["figures"]
    assert "figure backend exploded" in (tmp_path / "out" / "report.html").read_text(encoding="utf-8")


def test_a_case_without_images_skips_the_imaging_stages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Clinical data only: decision support runs, the image stages say why they did not."""
    case = tmp_path / "case.yaml"
    case.write_text(
        "nelm_manifest: 1\ncase_id: CLINICAL-ONLY\nclinical:\n  grade: G1\n  ki67_percent: 2\n"
        "  bilirubin_mg_dl: 0.8\ntime_points:\n- id: baseline\n  date: '2026-01-12'\n  kind: baseline\n",
        encoding="utf-8",
    )
    results = compute(case)
    stages = {s.name: s for s in results.stages}
    for name in ("quantification", "response", "y90_plan", "y90_dose"):
        assert stages[name].status == "skipped", stages[name]
        assert stages[name].message
    assert stages["decision"].status == "ok"
    assert stages["imaging_advice"].status == "ok"

    import nelm.decision

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("rule engine exploded")

    monkeypatch.setattr(nelm.decision, "advise", broken)
    failed = {s.name: s for s in compute(case).stages}
    assert failed["decision"].status == "failed"
    assert "rule engine exploded" in failed["decision"].message
    assert failed["imaging_advice"].status == "ok"  # runs without the decision's missing inputs


def test_run_refuses_a_foreign_output_folder(
    phantom_case: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "precious.txt").write_text("keep me", encoding="utf-8")
    assert main(["run", str(phantom_case), "--out", str(tmp_path)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert (tmp_path / "precious.txt").read_text(encoding="utf-8") == "keep me"
    assert main(["run", str(phantom_case), "--out", str(phantom_case.parent)]) == 2


def test_a_bad_case_fails_clearly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = tmp_path / "case.yaml"
    case.write_text("nelm_manifest: 1\ncase_id: X\ntime_points: []\n", encoding="utf-8")
    assert main(["run", str(case), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert str(case) in err
    assert "time_points" in err
    assert not (tmp_path / "out").exists()
