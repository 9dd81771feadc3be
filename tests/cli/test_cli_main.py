"""The `nelm` command: exit codes, one-line errors, `nelm info`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from nelm.cli.main import main
from nelm.imaging import Geometry, ValueUnit, Volume
from nelm.imaging.nifti import write_nifti


def test_no_command_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage" in capsys.readouterr().err


def test_help_everywhere() -> None:
    for argv in (["--help"], ["info", "--help"], ["phantom", "--help"], ["demo", "--help"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 0


def test_bad_input_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert err.startswith("nelm info: error:")
    assert "missing" in err
    assert "Traceback" not in err


def test_internal_error_is_exit_1(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import nelm.imaging.inventory as inv

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(inv, "inventory", boom)
    assert main(["info", str(tmp_path)]) == 1
    assert "internal error: RuntimeError: disk on fire" in capsys.readouterr().err


def test_info_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    g = Geometry.from_spacing((3, 4, 5), (2.0, 1.0, 1.0))
    when = datetime(2026, 1, 1, tzinfo=UTC)
    write_nifti(
        Volume(np.linspace(-100, 300, 60).reshape(3, 4, 5), g, "CT", ValueUnit.HU, when),
        tmp_path / "ct.nii.gz",
    )
    assert main(["info", "--json", str(tmp_path)]) == 0
    items = json.loads(capsys.readouterr().out)
    assert [i["kind"] for i in items] == ["nifti-image"]
    assert items[0]["details"]["modality"] == "CT"
    assert items[0]["details"]["value_range"] == pytest.approx([-100.0, 300.0])


def test_info_on_real_dcmqi_folder(data_file, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    """dcmqi test data (QIICR/dcmqi, BSD-3): 3 CT slices, a liver SEG, and an SR and a Real
    World Value Mapping object that are listed but not loaded."""
    folder = data_file("dicom/dcmqi")
    assert main(["info", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "segment 1: Liver" in out
    assert "dicom-series" in out
    assert "shape 3x512x512" in out
    assert "Comprehensive SR Storage: not an image or mask nelm loads" in out
    assert "unreadable" not in out


def test_info_leaves_logging_as_it_found_it(tmp_path: Path) -> None:
    import logging

    nelm_log = logging.getLogger("nelm")
    before = nelm_log.level
    main(["info", str(tmp_path)])
    assert nelm_log.level == before
