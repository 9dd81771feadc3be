"""A light synthetic TARE patient (MAA planning, right-lobe glass TARE, Y-90 PET) for y90 tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from nelm.phantom import PhantomConfig, generate_patient
from nelm.phantom.truth import PhantomTruth
from nelm.phantom.write import write_patient


@pytest.fixture(scope="session")
def tare_case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, PhantomTruth]:
    """(case.yaml, truth) of a NIfTI-only phantom with the default TARE and no follow-ups."""
    config = PhantomConfig(seed=0, include_mri=False, include_pet=False, follow_ups=())
    patient = generate_patient(config)
    out = tmp_path_factory.mktemp("tare_phantom")
    write_patient(patient, out, formats=("nifti",))
    return out / "case.yaml", patient.truth
