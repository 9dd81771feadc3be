"""Shared fixtures.

Real data lives outside the repository in ``../shared/data`` (override with ``NELM_DATA_DIR``).
On a user's machine tests that need it skip when it is absent; in CI (``CI=true``) a missing
folder or file is a failure, never a skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_DEFAULT_DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real test data folder; skip (user) or fail (CI) when it is missing."""
    path = Path(os.environ.get("NELM_DATA_DIR", str(_DEFAULT_DATA_DIR)))
    if not path.is_dir():
        message = f"real test data folder {path} not found (set NELM_DATA_DIR)"
        if _in_ci():
            pytest.fail(f"{message}; in CI the real-data tests must run", pytrace=False)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def data_file(data_dir: Path):  # type: ignore[no-untyped-def]
    """Return a function mapping a path relative to the data folder to an existing file."""

    def _get(relative: str) -> Path:
        p = data_dir / relative
        if not p.exists():
            message = f"real test data file {p} not found"
            if _in_ci():
                pytest.fail(message, pytrace=False)
            pytest.skip(message)
        return p

    return _get


@pytest.fixture(scope="session")
def phantom_case(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``case.yaml`` of the default synthetic patient, written as DICOM and NIfTI (the demo's patient).

    Baseline multiphase CT, MRI and SSTR PET; MAA planning; right-lobe glass TARE with its Y-90
    PET; two follow-ups. Generated once per test session (about 10 s); read-only for tests.
    """
    from nelm.phantom import PhantomConfig, generate_patient
    from nelm.phantom.write import write_patient

    out = tmp_path_factory.mktemp("phantom_case")
    write_patient(generate_patient(PhantomConfig(seed=0)), out)
    return out / "case.yaml"
