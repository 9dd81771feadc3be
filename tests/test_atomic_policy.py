"""Atomic writes leave nothing half-written; the IGNORE/WARN/RAISE policy does what it says."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from nelm.atomic import atomic_dir, atomic_path, write_text_atomic
from nelm.errors import DicomError
from nelm.policy import Policy, apply_policy


def test_atomic_path_failure_keeps_old_content(tmp_path: Path) -> None:
    target = tmp_path / "out" / "report.json"
    write_text_atomic(target, "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.json"]


def test_atomic_path_keeps_double_suffix(tmp_path: Path) -> None:
    with atomic_path(tmp_path / "a.nii.gz") as tmp:
        assert tmp.name.endswith(".nii.gz")
        tmp.write_bytes(b"x")
    assert (tmp_path / "a.nii.gz").read_bytes() == b"x"


def test_atomic_dir_replaces_only_when_complete(tmp_path: Path) -> None:
    target = tmp_path / "series"
    with atomic_dir(target) as d:
        (d / "1.dcm").write_text("one")
    assert [p.name for p in target.iterdir()] == ["1.dcm"]
    with pytest.raises(ValueError, match="bad slice"), atomic_dir(target) as d:
        (d / "2.dcm").write_text("two")
        raise ValueError("bad slice")
    assert [p.name for p in target.iterdir()] == ["1.dcm"]
    with atomic_dir(target) as d:
        (d / "3.dcm").write_text("three")
    assert [p.name for p in target.iterdir()] == ["3.dcm"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["series"]


def test_policy(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("nelm.test")
    seen: list[str] = []
    apply_policy(Policy.IGNORE, "a.dcm: odd", logger=log, warnings=seen)
    assert seen == []
    with caplog.at_level(logging.WARNING):
        apply_policy(Policy.WARN, "b.dcm: odd", logger=log, warnings=seen)
    assert seen == ["b.dcm: odd"]
    assert "b.dcm: odd" in caplog.text
    with pytest.raises(DicomError, match=r"c\.dcm: odd"):
        apply_policy(Policy.RAISE, "c.dcm: odd", logger=log, error=DicomError)
