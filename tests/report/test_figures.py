"""Figures of the report: written, non-trivial, correctly oriented, skipped without their inputs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from matplotlib.image import imread

from nelm.report.figures import write_figures
from nelm.report.results import RunResults

ALL_FIGURES = {
    "ct_axial", "pet_mip", "dose_fused", "dvh",
    "waterfall_criteria", "spider_criteria", "waterfall_lesions", "spider_lesions",
}  # fmt: skip
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_every_figure_is_a_non_trivial_png(report_figures: dict[str, Path]) -> None:
    assert set(report_figures) == ALL_FIGURES
    for name, path in report_figures.items():
        data = path.read_bytes()
        assert data[:8] == PNG_SIGNATURE, name
        assert len(data) > 10_000, name
        pixels = imread(path)
        assert pixels.shape[0] > 300, name
        assert pixels.shape[1] > 300, name
        assert float(np.std(pixels[..., :3])) > 0.05, f"{name} looks blank"


def test_png_has_no_timestamp_or_software_tag(report_figures: dict[str, Path]) -> None:
    data = report_figures["ct_axial"].read_bytes()
    assert b"tIME" not in data
    assert b"Software" not in data


def test_figures_are_reproducible(
    run_results: RunResults, report_figures: dict[str, Path], tmp_path: Path
) -> None:
    again = write_figures(run_results, tmp_path)
    for name in ("ct_axial", "pet_mip", "dose_fused", "dvh"):
        assert again[name].read_bytes() == report_figures[name].read_bytes(), name


def test_figures_without_inputs_are_skipped(run_results: RunResults, tmp_path: Path) -> None:
    bare = dataclasses.replace(run_results, y90_plan=None, y90_dose=None, response=None, response_case=None)
    written = write_figures(bare, tmp_path)
    assert set(written) == {"ct_axial", "pet_mip"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ct_axial.png", "pet_mip.png"]


def test_nothing_quantified_gives_no_anatomic_figure(run_results: RunResults, tmp_path: Path) -> None:
    bare = dataclasses.replace(
        run_results, quants=(), y90_plan=None, y90_dose=None, response=None, response_case=None
    )
    # The PET MIP needs only the PET (no lesion labels then); the axial CT needs the calipers.
    assert set(write_figures(bare, tmp_path)) == {"pet_mip"}
