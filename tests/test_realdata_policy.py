"""The real-data policy: without ../shared/data a real-data test skips on a user's machine and
fails under CI=true (never a silent skip in CI)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TARGET = "tests/imaging/test_nifti.py::test_totalsegmentator_liver_volume"


def _run(ci: str | None, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"CI", "PYTEST_XDIST_WORKER"}}
    env["NELM_DATA_DIR"] = str(tmp_path / "no-such-folder")
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", TARGET],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_missing_data_skips_for_users_and_fails_in_ci(tmp_path: Path) -> None:
    user = _run(None, tmp_path)
    assert user.returncode == 0, user.stdout + user.stderr
    assert "1 skipped" in user.stdout
    ci = _run("true", tmp_path)
    assert ci.returncode == 1, ci.stdout + ci.stderr
    assert "in CI the real-data tests must run" in ci.stdout
