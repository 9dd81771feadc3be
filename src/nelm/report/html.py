"""The HTML report (and, through :mod:`nelm.report.pdf`, the PDF) from the results document.

One Jinja2 template (``templates/report.html.j2``, autoescaped) with one stylesheet
(``templates/report.css``, inlined) renders the document of :func:`nelm.report.document.build_document`:
so the report shows exactly the JSON's numbers. Figures are embedded as base64 ``data:`` URIs;
the page loads nothing from anywhere (no external URL, font or script), and reads on screen and
on A4 paper (``@page`` size, page numbers, tables and figures kept whole where they fit).

Sections: header with the research-use disclaimer; run status; tumour burden per time point;
baseline lesion table; response (every criterion side by side, waterfall and spider plots);
Y-90 plan (every model, safety findings); dosimetry (fused dose, DVHs, planned against
delivered); decision support and imaging advice (with references); methods (every constant and
setting used); outputs; footer with the disclaimer.
"""

from __future__ import annotations

import base64
import logging
import math
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Final

from nelm.atomic import write_text_atomic
from nelm.report.pdf import ReportRenderError, write_pdf

__all__ = ["render_html", "write_report"]

logger = logging.getLogger(__name__)

#: DVH metrics shown in the planned-against-delivered table.
TABLE_METRICS: Final[tuple[str, ...]] = ("mean", "D70", "D90", "V100Gy", "V205Gy")
#: Figure captions, in display order within their sections.
CAPTIONS: Final[dict[str, str]] = {
    "ct_axial": "Baseline CT at the dominant lesion's RECIST slice: liver and lesion contours, "
    "RECIST calipers.",
    "pet_mip": "SSTR PET, coronal maximum-intensity projection, lesion tracking IDs at their centroids.",
    "waterfall_criteria": "Best change from baseline by criterion (up to its first progression).",
    "spider_criteria": "Change from baseline by criterion over time.",
    "waterfall_lesions": "Best change of each baseline lesion's long axis.",
    "spider_lesions": "Long axis of each baseline lesion over time.",
    "dose_fused": "Y-90 absorbed dose fused on CT through the dose maximum, with isodose lines.",
    "dvh": "Cumulative DVHs: delivered (solid) against the planned MAA voxel plan (dashed).",
}


def _fmt(value: Any, digits: int = 1) -> str:
    """A number for a table cell; ``—`` for a missing value."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return "—"
        return f"{value:.{digits}f}"
    return str(value)


def _metric(structure: Mapping[str, Any] | None, name: str) -> float | None:
    if not structure:
        return None
    entry = structure.get("metrics", {}).get(name)
    if isinstance(entry, Mapping):
        value = entry.get("value")
        return float(value) if isinstance(value, int | float) else None
    return None


def _dvh_rows(dose: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Planned against delivered, one row per structure, metrics of :data:`TABLE_METRICS`."""
    if not dose:
        return []
    planned = (dose.get("planned") or {}).get("structures", {})
    rows = []
    for name, s in dose.get("structures", {}).items():
        p = planned.get(name)
        rows.append(
            {
                "name": name,
                "volume_ml": s.get("volume_ml"),
                "delivered": [_metric(s, m) for m in TABLE_METRICS],
                "planned": [_metric(p, m) for m in TABLE_METRICS],
            }
        )
    return rows


def _response_table(response: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Criteria (rows) × follow-ups (columns): category and change from baseline."""
    if not response:
        return None
    follow_ups = [tp for tp in response.get("time_points", []) if tp != response.get("baseline")]
    rows = []
    for crit in response.get("criteria", []):
        by_tp = {row["time_point"]: row for row in crit.get("time_points", [])}
        base = by_tp.get(response.get("baseline"), {})
        rows.append(
            {
                "criterion": crit["criterion"],
                "measure": base.get("measure", ""),
                "unit": base.get("unit", ""),
                "baseline": base.get("value"),
                "cells": [by_tp.get(tp) for tp in follow_ups],
                "bor": crit.get("best_overall_response", ""),
                "ttp": crit.get("time_to_progression_days"),
                "source": crit.get("source", ""),
            }
        )
    return {"follow_ups": follow_ups, "rows": rows}


def _stage_message(doc: Mapping[str, Any], *names: str) -> str:
    for stage in doc.get("stages", []):
        if stage.get("name") in names and stage.get("status") != "ok":
            return f"{stage['status']}: {stage.get('message') or 'no message'}"
    return "not run: the run did not reach this stage"


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """``(dotted key, text)`` pairs of a nested mapping, for the methods tables."""
    if isinstance(value, Mapping):
        out: list[tuple[str, str]] = []
        for k, v in value.items():
            out.extend(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        out = []
        for i, v in enumerate(value):
            out.extend(_flatten(v, f"{prefix}[{i}]"))
        return out
    if isinstance(value, list):
        return [(prefix, ", ".join(f"{v:.6g}" if isinstance(v, float) else _fmt(v) for v in value))]
    return [(prefix, f"{value:.6g}" if isinstance(value, float) else _fmt(value))]


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("nelm.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["num"] = _fmt
    env.filters["flatten"] = _flatten
    return env


def render_html(doc: Mapping[str, Any], figures: Mapping[str, Path]) -> str:
    """The report as one self-contained HTML page.

    Parameters
    ----------
    doc:
        The results document (:func:`nelm.report.document.build_document`).
    figures:
        Figure name (see :func:`nelm.report.figures.write_figures`) → PNG path; missing figures
        are left out.
    """
    from markupsafe import Markup

    css = resources.files("nelm.report").joinpath("templates", "report.css").read_text(encoding="utf-8")
    images = {
        name: {"src": _data_uri(Path(path)), "caption": CAPTIONS.get(name, name)}
        for name, path in figures.items()
        if Path(path).is_file()
    }
    quants = doc.get("quantification") or []
    y90 = doc.get("y90") or {}
    context = {
        "doc": doc,
        "css": Markup(css),
        "images": images,
        "baseline": quants[0] if quants else None,
        "response_table": _response_table(doc.get("response")),
        "dvh_rows": _dvh_rows(y90.get("dose")),
        "table_metrics": TABLE_METRICS,
        "quant_missing": _stage_message(doc, "quantification"),
        "plan_missing": _stage_message(doc, "y90_plan"),
        "dose_missing": _stage_message(doc, "y90_dose"),
        "response_missing": _stage_message(doc, "response"),
        "decision_missing": _stage_message(doc, "decision"),
        "advice_missing": _stage_message(doc, "imaging_advice"),
    }
    html: str = _environment().get_template("report.html.j2").render(**context)
    return html


def write_report(
    doc: Mapping[str, Any],
    figures: Mapping[str, Path],
    out_dir: str | os.PathLike[str],
    *,
    pdf: bool = True,
) -> tuple[Path, Path | None]:
    """Write ``report.html`` and (unless ``pdf=False``) ``report.pdf`` into ``out_dir``.

    The HTML is written first, so it exists even when the PDF fails.

    Returns
    -------
    (html_path, pdf_path)
        ``pdf_path`` is ``None`` only when ``pdf=False`` (a failure raises).

    Raises
    ------
    nelm.report.pdf.PdfUnavailableError
        WeasyPrint or the pango library is missing (the HTML was written).
    nelm.report.pdf.ReportRenderError
        WeasyPrint failed on the page (the HTML was written).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    html = render_html(doc, figures)
    html_path = out / "report.html"
    write_text_atomic(html_path, html)
    if not pdf:
        return html_path, None
    try:
        pdf_path = write_pdf(html, out / "report.pdf")
    except ReportRenderError:
        logger.warning("report.html written to %s; the PDF failed", out)
        raise
    return html_path, pdf_path
