"""The results document: values equal the modules' results, schema, identifiers, determinism."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from nelm import RESEARCH_USE_DISCLAIMER
from nelm.report.document import (
    SCHEMA_NAME,
    build_document,
    dumps,
    load_schema,
    schema_path,
    write_document,
)
from nelm.report.results import RunResults

PHANTOM_IDENTIFIERS = ("Phantom^Synthetic", "PHANTOM000000", "1961-04-12", "19610412")


@pytest.fixture(scope="module")
def doc(run_results: RunResults) -> dict[str, Any]:
    return build_document(run_results, {"report.html": "the HTML report", "figures/dvh.png": "DVHs"})


def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(load_schema())


# -- values equal the module results -----------------------------------------------------------


def test_burden_and_lesions_equal_quantification(doc: dict[str, Any], run_results: RunResults) -> None:
    assert len(doc["quantification"]) == len(run_results.quants)
    for dumped, q in zip(doc["quantification"], run_results.quants, strict=True):
        assert dumped["time_point"] == q.time_point
        assert dumped["patient"]["hepatic_tumour_burden_percent"] == q.patient.hepatic_tumour_burden_percent
        assert dumped["patient"]["lesion_count"] == q.patient.lesion_count == len(q.lesions)
        assert [les["lesion_id"] for les in dumped["lesions"]] == [les.lesion_id for les in q.lesions]
    base = run_results.quants[0].patient
    # The burden is the tumour volume over the liver volume (Luo et al. 2019), recomputed here.
    assert doc["quantification"][0]["patient"]["hepatic_tumour_burden_percent"] == pytest.approx(
        100.0 * base.tumour_volume_ml / base.liver_volume_ml
    )


def test_response_equals_assessment(doc: dict[str, Any], run_results: RunResults) -> None:
    assert run_results.response is not None
    got = {c["criterion"]: c["best_overall_response"] for c in doc["response"]["criteria"]}
    want = {c.criterion: c.best_overall_response for c in run_results.response.criteria}
    assert got == want


def test_y90_plan_and_dose_equal_module_results(doc: dict[str, Any], run_results: RunResults) -> None:
    plan, dose = run_results.y90_plan, run_results.y90_dose
    assert plan is not None
    assert dose is not None
    assert [p["activity_gbq"] for p in doc["y90"]["plan"]["plans"]] == [p.activity_gbq for p in plan.plans]
    tumour = doc["y90"]["dose"]["structures"]["tumour"]
    assert tumour["metrics"]["D90"]["value"] == dose.dvhs["tumour"].dose_at_volume_percent(90.0)
    assert tumour["mean_gy"] == dose.dvhs["tumour"].mean_gy
    assert doc["y90"]["dose"]["administered_activity_gbq"] == run_results.case.treatments[0].activity_gbq


def test_stages_and_header(doc: dict[str, Any], run_results: RunResults) -> None:
    assert doc["nelm_results"] == 1
    assert doc["schema"] == SCHEMA_NAME
    assert doc["disclaimer"] == RESEARCH_USE_DISCLAIMER
    assert [s["name"] for s in doc["stages"]] == [s.name for s in run_results.stages]
    assert list(doc) == [
        "nelm_results", "schema", "nelm_version", "disclaimer", "case", "stages", "quantification",
        "response", "y90", "decision", "imaging_advice", "methods", "outputs",
    ]  # fmt: skip


def test_methods_list_the_settings_used(doc: dict[str, Any], run_results: RunResults) -> None:
    methods = doc["methods"]
    assert methods["quantification"][0]["time_points"] == [q.time_point for q in run_results.quants]
    assert (
        methods["quantification"][0]["settings"]["enhancement"]
        == run_results.quants[0].settings["enhancement"]
    )
    assert run_results.response is not None
    recist = next(c for c in methods["response"]["criteria"] if c["criterion"] == "RECIST 1.1")
    assert recist["settings"] == run_results.response.criteria[0].settings
    assert run_results.y90_plan is not None
    assert methods["y90"]["plan"]["constants"]["half_life_h"] == run_results.y90_plan.constants.half_life_h
    # the phantom's plan overrides no limit: the applied ones are nelm's published defaults
    assert methods["y90"]["plan"]["safety_limits"]["lung_dose_per_treatment_gy"] == 30.0
    assert methods["y90"]["plan"]["safety_limits"]["resin_lsf_bands"]["not_deliverable_above"] == 0.20
    assert methods["y90"]["plan"]["safety_limits_overridden"] == []


# -- schema -------------------------------------------------------------------------------------


def test_schema_is_valid_draft_2020_12() -> None:
    schema = load_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema_path().name == SCHEMA_NAME


def test_document_validates(doc: dict[str, Any]) -> None:
    _validator().validate(json.loads(dumps(doc)))


@pytest.mark.parametrize(
    ("break_it", "why"),
    [
        (lambda d: d.pop("methods"), "missing required key"),
        (lambda d: d.update(nelm_results="1"), "wrong type of the version"),
        (lambda d: d["stages"][0].update(status="maybe"), "unknown stage status"),
        (lambda d: d.update(extra_key=1), "unknown top-level key"),
        (lambda d: d["quantification"][0]["patient"].update(lesion_count="twelve"), "wrong type inside"),
        (lambda d: d["outputs"].update({"/tmp/abs.json": "absolute"}), "absolute output path"),
        (lambda d: d["y90"].pop("dose"), "missing y90.dose"),
    ],
)
def test_broken_document_fails_validation(doc: dict[str, Any], break_it: Any, why: str) -> None:
    broken = json.loads(dumps(doc))
    break_it(broken)
    errors = list(_validator().iter_errors(broken))
    assert errors, why


# -- identifiers, paths, determinism ---------------------------------------------------------------


def test_no_patient_identifiers(doc: dict[str, Any]) -> None:
    text = dumps(doc)
    for ident in PHANTOM_IDENTIFIERS:
        assert ident not in text
    assert "name" not in doc["case"]["patient"]


def test_identifiers_kept_when_asked(run_results: RunResults) -> None:
    kept = build_document(dataclasses.replace(run_results, include_identifiers=True))
    assert kept["case"]["patient"]["name"] == "Phantom^Synthetic"
    assert kept["case"]["patient"]["id"] == "PHANTOM000000"


def test_identifiers_scrubbed_from_free_text(run_results: RunResults) -> None:
    case = run_results.case
    note = "seen by Dr X for Phantom^Synthetic (Synthetic Phantom), MRN PHANTOM000000, born 19610412"
    treated = case.treatments[0].model_copy(update={"notes": note})
    noted = case.model_copy(update={"treatments": (treated, *case.treatments[1:])})
    doc = build_document(dataclasses.replace(run_results, case=noted))
    text = dumps(doc)
    for ident in (*PHANTOM_IDENTIFIERS, "Synthetic Phantom"):
        assert ident not in text
    assert doc["case"]["treatments"][0]["notes"].startswith("seen by Dr X for [removed]")


def test_no_absolute_paths(doc: dict[str, Any], phantom_case: Path) -> None:
    text = dumps(doc)
    assert str(phantom_case.parent) not in text
    assert str(phantom_case.parent.resolve()) not in text
    masks = doc["quantification"][0]["masks"]
    assert masks["liver"] == "given: baseline/masks/ct_portal/liver.nii.gz"


def test_outputs_relative_and_sorted(run_results: RunResults, tmp_path: Path) -> None:
    doc = build_document(
        run_results,
        {str(tmp_path / "report.pdf"): "PDF", "figures/a.png": "figure"},
        output_root=tmp_path,
    )
    assert list(doc["outputs"]) == ["figures/a.png", "report.pdf"]
    with pytest.raises(ValueError, match="absolute"):
        build_document(run_results, {str(tmp_path / "report.pdf"): "PDF"})


def test_deterministic(run_results: RunResults) -> None:
    assert dumps(build_document(run_results)) == dumps(build_document(run_results))


def test_write_document(doc: dict[str, Any], tmp_path: Path) -> None:
    path = write_document(doc, tmp_path / "out" / "results.json")
    text = path.read_text(encoding="utf-8")
    assert text.endswith("}\n")
    assert json.loads(text) == json.loads(dumps(doc))
    assert not [p.name for p in path.parent.iterdir() if p.name != "results.json"]  # no temporary left
