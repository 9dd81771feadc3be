"""``nelm advise``: clinical-only case, overrides, bad input, and one run on the phantom."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nelm.cli.main import main

_CASE = """\
nelm_manifest: 1
case_id: ADVISE-1
patient:
  birth_date: '1970-06-01'
clinical:
  grade: G2
  ki67_percent: 5.0
  primary_site: pancreas
  primary_resected: true
  extrahepatic_disease: false
  functional_syndrome: none
  somatostatin_analogue: true
  ecog: 1
  bilirubin_mg_dl: 2.4
  albumin_g_dl: 3.5
  bilioenteric_anastomosis: true
time_points:
- id: baseline
  date: '2026-01-12'
  kind: baseline
treatments:
- type: prrt
  date: '2025-06-01'
  activity: 7.4 GBq
"""


@pytest.fixture
def case_yaml(tmp_path: Path) -> Path:
    path = tmp_path / "case.yaml"
    path.write_text(_CASE, encoding="utf-8")
    return path


def _levels(doc: dict) -> dict[str, str]:  # type: ignore[type-arg]
    return {t["therapy"]: t["level"] for t in doc["therapies"]}


def test_clinical_only_case(case_yaml: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "advice.json"
    assert main(["advise", str(case_yaml), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "not a medical device" in text
    assert "EMB-BILI-1" in text
    doc = json.loads(out.read_text())
    assert doc["case_id"] == "ADVISE-1"
    assert doc["assessment_date"] == "2026-01-12"
    levels = _levels(doc)
    assert levels["tae"] == "CONTRAINDICATED"  # bilirubin 2.4 > 2.0 (RETNET)
    assert levels["tare"] == "CONTRAINDICATED"  # bilirubin 2.4 > 2 (van Roekel)
    assert levels["ctace"] == "CONTRAINDICATED"  # bilioenteric anastomosis
    assert doc["inputs"]["bilirubin_mg_dl"] == {"value": 2.4, "source": "case: clinical.bilirubin_mg_dl"}
    assert doc["inputs"]["prior_prrt"]["value"] is True
    assert any("measurement not available" in n for n in doc["notes"])
    assert "imaging" in doc


def test_config_and_given_inputs(case_yaml: Path, tmp_path: Path) -> None:
    config = tmp_path / "t.yaml"
    config.write_text("embolization_bilirubin_max_mg_dl: 2.5\nresection_debulking_percent: 70\n")
    out = tmp_path / "a.json"
    argv = ["advise", str(case_yaml), "--config", str(config), "--json", str(out)]
    assert main([*argv, "--input", "resectable_percent=75", "--date", "2026-02-01"]) == 0
    doc = json.loads(out.read_text())
    assert doc["assessment_date"] == "2026-02-01"
    tae = next(t for t in doc["therapies"] if t["therapy"] == "tae")
    bili = next(f for f in tae["findings"] if f["rule_id"] == "EMB-BILI-1")
    assert bili["level"] == "APPROPRIATE"  # 2.4 <= 2.5 as configured
    resection = next(t for t in doc["therapies"] if t["therapy"] == "resection")
    debulk = next(f for f in resection["findings"] if f["rule_id"] == "RES-DEBULK-1")
    assert debulk["level"] == "APPROPRIATE"
    assert debulk["inputs"]["resectable_percent"] == "75 % (given: command line (--input))"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--date", "12/01/2026"], "--date"),
        (["--input", "resectable_percent"], "NAME=VALUE"),
        (["--input", "no_such_input=3"], "not a decision input"),
        (["--input", "resectable_percent=150"], "resectable_percent"),
        (["--timepoint", "nope"], "no time point"),
    ],
)
def test_bad_arguments(
    case_yaml: Path, extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["advise", str(case_yaml), *extra]) == 2
    assert message in capsys.readouterr().err


def test_bad_config_exit_2(case_yaml: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "t.yaml"
    config.write_text("no_such_threshold: 1\n")
    assert main(["advise", str(case_yaml), "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "no_such_threshold" in err
    assert str(config) in err


def test_phantom(phantom_case: Path, tmp_path: Path) -> None:
    out = tmp_path / "phantom.json"
    assert main(["advise", str(phantom_case), "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    sources = doc["inputs"]
    assert sources["hepatic_tumour_burden_percent"]["source"].startswith("measured: time point 'baseline'")
    assert sources["lsf_percent"]["source"].startswith("measured: y90 plan")
    assert 0 < sources["lsf_percent"]["value"] < 100
    assert sources["planned_tare_target"]["value"] == "right_lobe"
    tare = next(t for t in doc["therapies"] if t["therapy"] == "tare")
    assert {f["rule_id"] for f in tare["findings"]} >= {
        "TARE-LUNG-1",
        "TARE-LUNG-2",
        "TARE-LSF-1",
        "TARE-Y90-1",
    }
    assert all(f["level"] != "UNDETERMINED" for f in tare["findings"])
    for therapy in doc["therapies"]:
        for f in therapy["findings"]:
            assert f["citations"]
    assert doc["imaging"] is not None
