"""From masks to response: the phantom's prescribed follow-ups come out as constructed."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import pytest

from nelm.case import Case, load_case
from nelm.cli.main import main
from nelm.errors import InputError
from nelm.phantom import FollowUpConfig, LesionChange, PhantomConfig, generate_patient, write_patient
from nelm.quant.results import TimePointQuant
from nelm.quant.timepoint import quantify_time_point
from nelm.response.course import assess_course, relabel_lesions, response_time_points
from nelm.response.exact import LENGTH_MM, VOLUME_ML, exact
from nelm.response.from_quant import LesionLinks, response_case_from_quant
from nelm.response.model import LesionState, ResponseCase
from nelm.response.results import ResponseAssessment
from nelm.timepoint_data import TimePointData, load_time_point

# fu1: every lesion shrinks to 0.6 of its baseline size (RECIST: sum -40 %, PR) and the smallest
# disappears; fu2: every lesion back to 0.9 and one new lesion (PD by the new lesion).
CONFIG = PhantomConfig(
    seed=5,
    n_lesions=5,
    diameter_range_mm=(14.0, 40.0),
    tare=None,
    include_mri=False,
    include_pet=False,
    follow_ups=(
        FollowUpConfig(days_after_treatment=90.0, untreated_scale=0.6),
        FollowUpConfig(days_after_treatment=180.0, untreated_scale=0.9, new_lesions=1),
    ),
)


@pytest.fixture(scope="module")
def course(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, Case, dict[str, Any], dict[str, TimePointData], list[TimePointQuant]]:
    patient = generate_patient(CONFIG)
    smallest = min(patient.truth.time_point("baseline").lesions, key=lambda les: les.axial_long_diameter_mm)
    config = dataclasses.replace(
        CONFIG,
        follow_ups=(
            FollowUpConfig(
                days_after_treatment=90.0,
                untreated_scale=0.6,
                overrides={smallest.tracking_id: LesionChange(disappeared=True)},
            ),
            CONFIG.follow_ups[1],
        ),
    )
    patient = generate_patient(config)
    out = tmp_path_factory.mktemp("course")
    manifest = write_patient(patient, out, formats=("nifti",))
    case = load_case(manifest)
    truth = json.loads((out / "truth.json").read_text())
    data = {tp.id: load_time_point(tp) for tp in case.time_points}
    chosen = response_time_points(case, data)
    quants = [quantify_time_point(d, patient=case.patient) for d in chosen]
    return manifest, case, truth, {d.time_point.id: d for d in chosen}, quants


def _assessed(course: Any) -> tuple[ResponseCase, ResponseAssessment]:
    _, case, _, data, quants = course
    return assess_course(case, data, quants)


def _criterion(assessment: ResponseAssessment, name: str) -> Any:
    return next(c for c in assessment.criteria if c.criterion == name)


def test_recist_follows_the_prescribed_course(course: Any) -> None:
    _, _, truth, _, _ = course
    response_case, assessment = _assessed(course)
    tps = {tp["id"]: tp for tp in truth["time_points"]}
    base = {les["tracking_id"]: les for les in tps["baseline"]["lesions"]}
    # RECIST by hand from the truth: the two largest liver lesions (≤ 2 per organ) are targets
    targets = sorted(base, key=lambda t: -base[t]["axial_long_diameter_mm"])[:2]
    recist = _criterion(assessment, "RECIST 1.1")
    assert sorted(recist.targets) == sorted(targets)
    base_sum = sum(base[t]["axial_long_diameter_mm"] for t in targets)
    fu1 = {les["tracking_id"]: les for les in tps["fu1"]["lesions"]}
    fu1_sum = sum(fu1[t]["axial_long_diameter_mm"] if fu1[t]["present"] else 0.0 for t in targets)
    assert fu1_sum / base_sum == pytest.approx(0.6, abs=1e-9)  # prescribed
    rows = {r.time_point: r for r in recist.time_points}
    assert rows["fu1"].category == "PR"
    assert rows["fu2"].category == "PD"
    assert rows["fu2"].new_lesions == "definite"
    assert recist.best_overall_response == "PR"
    assert recist.progression_time_point == "fu2"
    # the measured sums agree with the truth within one in-plane pixel diagonal per target
    spacing = tps["baseline"]["images"]["ct_portal"]["grid"]["spacing_mm"]
    tol = len(targets) * math.hypot(spacing[1], spacing[2])
    assert rows["baseline"].value == pytest.approx(base_sum, abs=tol)
    assert rows["fu1"].value == pytest.approx(fu1_sum, abs=tol)
    # the lesion that disappeared is recorded as such; the new lesion as a definite new finding
    gone = [les["tracking_id"] for les in tps["fu1"]["lesions"] if not les["present"]]
    assert len(gone) == 1
    fu1_tp = response_case.time_points[1]
    assert fu1_tp.measurements[gone[0]].state is LesionState.DISAPPEARED
    new_truth = [les["tracking_id"] for les in tps["fu2"]["lesions"] if les["status"] == "new"]
    assert [n.lesion_id for n in response_case.time_points[2].new_lesions] == new_truth
    assert len(assessment.tracking) == 2


def test_every_criterion_is_assessed(course: Any) -> None:
    _, assessment = _assessed(course)
    names = [c.criterion for c in assessment.criteria]
    assert names[0] == "RECIST 1.1"
    assert len(names) == 9
    for crit in assessment.criteria:
        assert [r.time_point for r in crit.time_points] == ["baseline", "fu1", "fu2"]
        assert all(r.rule for r in crit.time_points[1:])
    # a definite new lesion is progression for every anatomic criterion with new-lesion logic
    for name in ("RECIST 1.1", "WHO", "mRECIST", "EASL", "Choi"):
        assert _criterion(assessment, name).time_points[2].category == "PD", name


def test_relabel_merges_fragments(course: Any) -> None:
    _, _, _, data, _ = course
    lesions = data["baseline"].masks["lesions"]
    values = list(lesions.labels)
    ids = [lesions.labels[v].tracking_id for v in values]
    relabelled = relabel_lesions(lesions, {ids[0]: "A", ids[1]: "A"})
    assert "A" in {lab.tracking_id for lab in relabelled.labels.values()}
    assert len(relabelled.labels) == len(ids) - 1
    merged = next(v for v, lab in relabelled.labels.items() if lab.tracking_id == "A")
    expected = lesions.voxel_count(values[0]) + lesions.voxel_count(values[1])
    assert relabelled.voxel_count(merged) == expected


def test_cli_response(course: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = course[0]
    out = tmp_path / "response.json"
    plots = tmp_path / "plots"
    assert main(["response", str(manifest), "--json", str(out), "--plots", str(plots), "--rules"]) == 0
    text = capsys.readouterr().out
    assert "RECIST 1.1" in text
    assert "best overall" in text
    doc = json.loads(out.read_text())
    assert doc["nelm_response"] == 1
    assert ResponseAssessment.model_validate(doc).case_id == doc["case_id"]
    assert sorted(p.name for p in plots.iterdir()) == [
        "spider_criteria.png",
        "spider_lesions.png",
        "waterfall_criteria.png",
        "waterfall_lesions.png",
    ]
    assert all(p.stat().st_size > 5000 for p in plots.iterdir())


def test_cli_bad_input(course: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = course[0]
    assert main(["response"]) == 2
    bad = tmp_path / "settings.yaml"
    bad.write_text("recist:\n  too_small_mm: five\n")
    assert main(["response", str(manifest), "--config", str(bad)]) == 2
    assert "recist.too_small_mm" in capsys.readouterr().err
    bad.write_text("lugano: {}\n")
    assert main(["response", str(manifest), "--config", str(bad)]) == 2
    assert "unknown criterion lugano" in capsys.readouterr().err
    match = tmp_path / "match.yaml"
    match.write_text("fu1: {L99: L1}\n")
    assert main(["response", str(manifest), "--match", str(match), "--criteria", "recist"]) == 2
    assert "L99" in capsys.readouterr().err


def test_settings_change_the_decision(course: Any, tmp_path: Path) -> None:
    # with a PR threshold of 45 % the -40 % course is SD at fu1 (the setting is honoured)
    _, case, _, data, quants = course
    _, assessment = assess_course(
        case,
        data,
        quants,
        settings={"recist": {"thresholds": {"response": {"percent": "45"}}}},
        only=["recist"],
    )
    rows = {r.time_point: r for r in assessment.criteria[0].time_points}
    assert rows["fu1"].category == "SD"
    assert assessment.criteria[0].settings  # recorded


def test_fragments_are_summed_and_coalesced_lesions_count_zero(course: Any) -> None:
    _, case, _, _, quants = course
    base, fu1 = quants[0], quants[1]
    a, b = fu1.lesions[0], fu1.lesions[1]
    assert a.axial is not None
    assert b.axial is not None
    # b is declared a fragment of a at fu1: one lesion whose diameters and volumes are the sums
    links = {"fu1": LesionLinks(tracking_id_of={b.lesion_id: a.lesion_id})}
    response_case, warnings = response_case_from_quant(case, [base, fu1], links=links)
    m = response_case.time_points[1].measurements[a.lesion_id]
    assert m.fragments == 2
    assert m.long_mm == exact(a.axial.long_mm, LENGTH_MM, field="a") + exact(
        b.axial.long_mm, LENGTH_MM, field="b"
    )
    assert m.volume_ml == exact(a.volume_ml, VOLUME_ML, field="a") + exact(b.volume_ml, VOLUME_ML, field="b")
    assert a.choi_portal_mean_hu is not None
    assert b.choi_portal_mean_hu is not None
    weighted = (a.choi_portal_mean_hu * a.volume_ml + b.choi_portal_mean_hu * b.volume_ml) / (
        a.volume_ml + b.volume_ml
    )
    assert m.mean_hu_portal is not None
    assert float(m.mean_hu_portal) == pytest.approx(weighted, abs=0.1)
    assert any("split into 2 fragments" in w for w in warnings)
    # b missing from fu1 and declared coalesced into a: state coalesced, not disappeared
    fu1_without_b = fu1.model_copy(
        update={"lesions": [lq for lq in fu1.lesions if lq.lesion_id != b.lesion_id]}
    )
    links = {"fu1": LesionLinks(coalesced_into={b.lesion_id: a.lesion_id})}
    response_case, _ = response_case_from_quant(case, [base, fu1_without_b], links=links)
    mb = response_case.time_points[1].measurements[b.lesion_id]
    assert mb.state is LesionState.COALESCED
    assert mb.coalesced_into == a.lesion_id


def test_from_quant_bad_input(course: Any) -> None:
    _, case, _, _, quants = course
    with pytest.raises(InputError, match="needs the quantified baseline"):
        response_case_from_quant(case, quants[1:])
    with pytest.raises(InputError, match="unknown time point"):
        response_case_from_quant(case, [quants[0].model_copy(update={"time_point": "fu9"})])
    with pytest.raises(InputError, match="unknown lesion"):
        response_case_from_quant(case, quants, links={"fu1": LesionLinks(tracking_id_of={"L99": "L1"})})
