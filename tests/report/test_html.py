"""The HTML report: self-contained, carries the disclaimer and the case's numbers, escapes text."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from nelm import RESEARCH_USE_DISCLAIMER
from nelm.report.document import build_document, dumps, load_schema
from nelm.report.html import render_html
from nelm.report.results import RunResults

#: The synthetic patient's identifiers (nelm.phantom writes them into the manifest and the DICOM).
PHANTOM_IDENTIFIERS = ("Phantom^Synthetic", "PHANTOM000000", "1961-04-12", "19610412")


class _FakeDecision:
    """Duck-typed stand-in for nelm.decision's result (its JSON shape from the decision brief)."""

    def model_dump(self, mode: str = "python") -> dict[str, Any]:
        finding = {
            "rule_id": "ABL-SIZE-1", "therapy": "ablation", "level": "CAUTION",
            "message": "largest lesion 32 mm > 30 mm", "inputs": {"largest_lesion_mm": "32.0 mm (measured)"},
            "thresholds": {"ablation_max_diameter_mm": "30 mm"}, "citations": ["ESMO2023"],
            "disagreement": None,
        }  # fmt: skip
        return {
            "disclaimer": RESEARCH_USE_DISCLAIMER,
            "assessment_date": "2026-01-12",
            "therapies": [
                {
                    "therapy": "ablation",
                    "label": "Thermal ablation",
                    "level": "CAUTION",
                    "findings": [finding],
                }
            ],
            "cross_cutting": [],
            "missing_inputs": [{"input": "albumin_g_dl", "needed_by": ["TAE-ALB-1"]}],
            "disagreements": [
                {"parameter": "debulking", "default": "90 %", "alternatives": "70 %", "citations": []}
            ],
            "citations": {"ESMO2023": {"text": "Pavel M et al. ESMO guideline 2020", "url": None}},
            "inputs": {},
            "not_encoded": [],
        }


@pytest.fixture(scope="module")
def doc(run_results: RunResults) -> dict[str, Any]:
    return build_document(run_results)


@pytest.fixture(scope="module")
def html(doc: dict[str, Any], report_figures: dict[str, Path]) -> str:
    return render_html(doc, report_figures)


def test_nothing_is_fetched(html: str) -> None:
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", html, flags=re.IGNORECASE)
    assert refs, "the figures should be embedded as src= data URIs"
    assert all(r.startswith("data:image/png;base64,") for r in refs)
    assert "@import" not in html
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()


def test_figures_embedded(html: str, report_figures: dict[str, Path]) -> None:
    assert html.count('src="data:image/png;base64,') == len(report_figures)


def test_disclaimer_in_header_and_footer(html: str) -> None:
    assert html.count(RESEARCH_USE_DISCLAIMER) >= 2
    assert html.index(RESEARCH_USE_DISCLAIMER) < html.index('id="status"')
    assert html.rindex(RESEARCH_USE_DISCLAIMER) > html.index("<footer>")


def test_key_numbers_of_the_case(html: str, run_results: RunResults) -> None:
    base = run_results.quants[0]
    assert f"{base.patient.hepatic_tumour_burden_percent:.2f}" in html
    assert f"{base.patient.liver_volume_ml:.1f}" in html
    for les in base.lesions:
        assert f"<td>{les.lesion_id}</td>" in html
    assert run_results.y90_plan is not None
    for p in run_results.y90_plan.plans:
        assert f"{p.activity_gbq:.2f}" in html
    assert run_results.y90_dose is not None
    assert f"{run_results.y90_dose.dvhs['tumour'].dose_at_volume_percent(90.0):.1f}" in html
    assert run_results.response is not None
    for crit in run_results.response.criteria:
        assert f"<td>{crit.criterion}</td>" in html


def test_no_identifiers_in_html(html: str) -> None:
    for ident in PHANTOM_IDENTIFIERS:
        assert ident not in html


def test_absent_stage_says_not_run(run_results: RunResults) -> None:
    import dataclasses

    from nelm.report.results import StageOutcome

    stages = tuple(s for s in run_results.stages if s.name not in ("decision", "imaging_advice"))
    stages += (
        StageOutcome("decision", "failed", "no grade"),
        StageOutcome("imaging_advice", "skipped", "off"),
    )
    bare = dataclasses.replace(run_results, decision=None, imaging_advice=None, stages=stages)
    out = render_html(build_document(bare), {})
    assert "not run: failed: no grade" in out
    assert "not run: skipped: off" in out


def test_text_is_escaped(doc: dict[str, Any]) -> None:
    evil = copy.deepcopy(doc)
    evil["stages"][0]["message"] = "<script>alert(1)</script>"
    out = render_html(evil, {})
    assert "<script>alert(1)</script>" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out


def test_decision_section_rendered_and_valid(run_results: RunResults) -> None:
    import dataclasses

    doc = build_document(dataclasses.replace(run_results, decision=_FakeDecision()))
    jsonschema.Draft202012Validator(load_schema()).validate(doc)
    out = render_html(doc, {})
    assert "Thermal ablation" in out
    assert "ABL-SIZE-1" in out
    assert "ESMO2023" in out
    assert "largest lesion 32 mm &gt; 30 mm" in out


def test_render_is_deterministic(doc: dict[str, Any], report_figures: dict[str, Path]) -> None:
    assert render_html(doc, report_figures) == render_html(doc, report_figures)
    assert dumps(doc) == dumps(copy.deepcopy(doc))
