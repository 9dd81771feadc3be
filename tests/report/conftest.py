"""Fixtures of the report tests: one :class:`~nelm.report.results.RunResults` of the synthetic patient.

``run_results`` is what the pipeline (:mod:`nelm.report.pipeline`) computes for ``nelm run``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nelm.report.results import RunResults


def build_run_results(case_yaml: Path) -> RunResults:
    """Every computing stage of ``nelm run`` on ``case_yaml`` (:func:`nelm.report.pipeline.compute`)."""
    from nelm.report.pipeline import compute

    return compute(case_yaml)


@pytest.fixture(scope="session")
def run_results(phantom_case: Path) -> RunResults:
    """The synthetic patient through every stage (about 10 s, once per session)."""
    return build_run_results(phantom_case)


@pytest.fixture(scope="session")
def report_figures(run_results: RunResults, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every figure of the synthetic patient, written once per session."""
    from nelm.report.figures import write_figures

    return write_figures(run_results, tmp_path_factory.mktemp("report_figures"))
