"""Threshold overrides from a file, and one test per kind of bad configuration."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from decision_helpers import finding, run

from nelm.decision import Level, Thresholds, load_thresholds
from nelm.errors import ConfigError


def _write(tmp_path: Path, text: str, name: str = "thresholds.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_override_debulking_to_70(tmp_path: Path) -> None:
    # the 70 % school (Chambers, Graff-Baker, Maxwell): 75 % resectable becomes appropriate
    path = _write(tmp_path, "nelm_decision_thresholds: 1\nresection_debulking_percent: 70\n")
    thresholds = load_thresholds(path)
    assert thresholds.number("resection_debulking_percent") == Decimal(70)
    assert finding(run(resectable_percent=Decimal(75)), "RES-DEBULK-1", "resection").level is Level.CAUTION
    f = finding(run(thresholds, resectable_percent=Decimal(75)), "RES-DEBULK-1", "resection")
    assert f.level is Level.APPROPRIATE
    assert str(path) in f.thresholds["resection_debulking_percent"]


def test_override_level_and_age_json(tmp_path: Path) -> None:
    path = _write(tmp_path, '{"debtace_level": "caution", "transplant_age_max_years": 60}', "t.json")
    thresholds = load_thresholds(path)
    result = run(thresholds, age_years=58)
    assert finding(result, "DEB-DEFAULT-1", "debtace").level is Level.CAUTION
    assert finding(result, "TX-AGE-1", "transplant").level is Level.APPROPRIATE
    assert finding(run(age_years=58), "TX-AGE-1", "transplant").level is Level.CAUTION


def test_float_in_yaml_is_exact(tmp_path: Path) -> None:
    thresholds = load_thresholds(_write(tmp_path, "embolization_inr_max: 1.3\n"))
    assert thresholds.number("embolization_inr_max") == Decimal("1.3")
    assert finding(run(thresholds, inr=Decimal("1.3")), "EMB-INR-1", "tae").level is Level.APPROPRIATE


def test_unknown_key(tmp_path: Path) -> None:
    path = _write(tmp_path, "resection_debulking_pct: 70\n")
    with pytest.raises(
        ConfigError, match=r"thresholds\.yaml: unknown threshold 'resection_debulking_pct'.*mean"
    ):
        load_thresholds(path)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("tare_lung_dose_max_gy: abc\n", "tare_lung_dose_max_gy: 'abc' is not a number"),
        ("tare_lung_dose_max_gy: -1\n", "tare_lung_dose_max_gy: -1 is outside"),
        ("tare_lung_dose_max_gy: true\n", "tare_lung_dose_max_gy: must be a number"),
        ("tare_lung_dose_max_gy: .nan\n", "must be a finite number"),
        ("tare_lung_dose_max_gy: [1, 2]\n", "must be a number"),
        ("tare_ecog_max: 1.5\n", "tare_ecog_max: must be a whole number"),
        ("transplant_burden_max_percent: 150\n", "transplant_burden_max_percent: 150 is outside"),
        ("debtace_level: maybe\n", "debtace_level: 'maybe' is not a level"),
        (
            "ablation_size_caution_mm: 60\n",
            "ablation_size_caution_mm .* must not exceed ablation_size_max_mm",
        ),
        ("nelm_decision_thresholds: 2\n", "only version 1"),
        ("- 1\n- 2\n", "top level must be a mapping"),
        ("", "empty"),
    ],
)
def test_bad_config(tmp_path: Path, text: str, match: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError, match=match) as info:
        load_thresholds(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_thresholds(tmp_path / "none.yaml")


def test_thresholds_in_python() -> None:
    with pytest.raises(ConfigError, match="python: unknown threshold"):
        Thresholds({"nope": 1}, source="python")
    assert Thresholds().text("tare_lsf_prognosis_percent") == "10 %"
