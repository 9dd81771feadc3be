"""The PDF report renders (page 1 as an image is not blank) and fails clearly without WeasyPrint."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nelm.report.document import build_document
from nelm.report.html import write_report
from nelm.report.pdf import PdfUnavailableError
from nelm.report.results import RunResults


@pytest.fixture(scope="module")
def written(
    run_results: RunResults, report_figures: dict[str, Path], tmp_path_factory: Any
) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("report")
    html_path, pdf_path = write_report(build_document(run_results), report_figures, out)
    assert pdf_path is not None
    return html_path, pdf_path


def test_pdf_has_pages_and_page_one_is_not_blank(written: tuple[Path, Path]) -> None:
    import pypdfium2 as pdfium

    html_path, pdf_path = written
    assert html_path.name == "report.html"
    assert pdf_path.read_bytes()[:5] == b"%PDF-"
    pdf = pdfium.PdfDocument(str(pdf_path))
    try:
        assert len(pdf) > 1
        page = pdf[0]
        width, height = page.get_size()
        assert width == pytest.approx(595.3, abs=1.0)  # A4 in points
        assert height == pytest.approx(841.9, abs=1.0)
        image = np.asarray(page.render(scale=1.0).to_pil().convert("L"), dtype=float)
        assert image.std() > 20.0
        assert (image < 128).mean() > 0.01  # some ink on the page
    finally:
        pdf.close()


def test_missing_weasyprint_raises_and_keeps_html(
    run_results: RunResults, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import weasyprint -> ImportError
    with pytest.raises(PdfUnavailableError, match="pango"):
        write_report(build_document(run_results), {}, tmp_path)
    assert (tmp_path / "report.html").is_file()
    assert not (tmp_path / "report.pdf").exists()
