"""`nelm demo` and `nelm phantom` end to end on the synthetic patient."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nelm.case import load_case
from nelm.cli.main import main


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "out"
    assert main(["demo", "--out", str(out), "--lesions", "5", "--seed", "3"]) == 0
    return out


def test_demo_writes_a_loadable_case_with_its_truth(
    demo_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = load_case(demo_dir / "case.yaml")
    truth = json.loads((demo_dir / "truth.json").read_text())
    baseline = next(tp for tp in truth["time_points"] if tp["id"] == case.baseline.id)
    # The lesion count asked for on the command line reaches the truth and the lesion mask.
    assert baseline["lesion_count"] == 5
    from nelm.imaging.nifti import read_labelmap

    lesions = read_labelmap(case.baseline.mask("lesions").path)
    assert len(lesions.labels) == 5
    assert truth["seed"] == 3


def test_demo_summary_lists_every_time_point(demo_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Run again into the same folder: an earlier demo is replaced, not refused.
    assert main(["demo", "--out", str(demo_dir), "--lesions", "5", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    case = load_case(demo_dir / "case.yaml")
    for tp in case.time_points:
        assert f"{tp.id} (" in out
    assert "research use" in out.lower()
    assert "5 lesion(s)" in out


def test_demo_refuses_a_foreign_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    assert main(["demo", "--out", str(tmp_path)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert (tmp_path / "precious.txt").read_text() == "keep me"


@pytest.mark.parametrize("lesions", ["0", "301"])
def test_phantom_rejects_impossible_lesion_counts(
    tmp_path: Path, lesions: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["phantom", "--out", str(tmp_path / "p"), "--lesions", lesions]) == 2
    assert "--lesions" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()
