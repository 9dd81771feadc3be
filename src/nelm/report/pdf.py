"""PDF rendering of the HTML report with WeasyPrint.

WeasyPrint lays out the same HTML (with its ``@media print`` / ``@page`` rules: A4, page numbers)
into a PDF. It needs the pango system library (Debian/Ubuntu: ``libpango-1.0-0``,
``libpangoft2-1.0-0`` and a font such as ``fonts-dejavu-core``); when it cannot be loaded,
:class:`PdfUnavailableError` says so and the HTML report stands alone. Nothing is fetched: the
HTML embeds its images and styles, and WeasyPrint gets no base URL.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from nelm.atomic import atomic_path
from nelm.errors import NelmError

__all__ = ["PdfUnavailableError", "ReportRenderError", "write_pdf"]

logger = logging.getLogger(__name__)


class ReportRenderError(NelmError):
    """The report could not be rendered."""


class PdfUnavailableError(ReportRenderError):
    """WeasyPrint (or the pango library it needs) is not available on this machine."""


def _weasyprint_html() -> type:
    try:
        from weasyprint import HTML  # type: ignore[import-untyped]
    except (ImportError, OSError) as exc:  # OSError: pango/cairo shared library missing
        raise PdfUnavailableError(
            "the PDF report needs WeasyPrint and the pango library "
            "(Debian/Ubuntu: apt-get install libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core); "
            f"the HTML report was written without it ({type(exc).__name__}: {exc})"
        ) from exc
    html_cls: type = HTML
    return html_cls


def _offline_fetcher() -> dict[str, object]:
    """A URL fetcher that only opens ``data:`` URIs (WeasyPrint ≥ 66); older versions get none."""
    try:
        from weasyprint.urls import URLFetcher  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - WeasyPrint < 66: the HTML holds only data URIs anyway
        return {}
    return {"url_fetcher": URLFetcher(allowed_protocols=("data",))}


@contextmanager
def _fixed_font_timestamps() -> Iterator[None]:
    """Reproducible PDFs: fontTools stamps each embedded font subset with the current time
    (its ``head`` table) unless ``SOURCE_DATE_EPOCH`` is set (reproducible-builds.org), so it is
    set for the rendering (to 0 unless the caller set it) and restored afterwards."""
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    if previous is None:
        os.environ["SOURCE_DATE_EPOCH"] = "0"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)


def write_pdf(html: str, path: str | os.PathLike[str]) -> Path:
    """Render ``html`` to a PDF at ``path`` (atomically).

    Raises
    ------
    PdfUnavailableError
        WeasyPrint or pango cannot be loaded.
    ReportRenderError
        WeasyPrint failed on the document.
    """
    html_cls = _weasyprint_html()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_path(out) as tmp, _fixed_font_timestamps():
            html_cls(string=html, base_url=None, **_offline_fetcher()).write_pdf(tmp)
    except NelmError:
        raise
    except Exception as exc:  # WeasyPrint raises assorted errors; report them as one kind
        raise ReportRenderError(f"PDF report {out}: WeasyPrint failed ({type(exc).__name__}: {exc})") from exc
    logger.info("PDF report written: %s", out)
    return out
