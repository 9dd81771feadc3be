"""``nelm response``: response by every criterion across a patient's time points, side by side."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import yaml
from rich import box
from rich.console import Console
from rich.table import Table

from nelm import RESEARCH_USE_DISCLAIMER
from nelm.atomic import write_text_atomic
from nelm.errors import ConfigError, InputError

__all__ = ["add_subparser", "print_assessment", "run", "write_plots"]


def add_subparser(sub: Any) -> None:
    """Register ``nelm response``."""
    p = sub.add_parser(
        "response",
        help="response assessment by RECIST 1.1, WHO, mRECIST, EASL, Choi, PERCIST and volumetric criteria",
        description=(
            "Classify the response at each follow-up of CASE.yaml by every criterion, side by side, from "
            "nelm's quantification of the lesion masks (tracked across time points), or from a reader's "
            "table (--table). Each category comes with the numbers and the rule that decided it."
        ),
    )
    p.add_argument(
        "case", type=Path, nargs="?", metavar="CASE.yaml", help="case manifest (masks are quantified)"
    )
    p.add_argument(
        "--table", type=Path, metavar="READS", help="a reader's table (.csv or .json) instead of masks"
    )
    p.add_argument(
        "--config", type=Path, metavar="FILE", help="criterion settings (YAML/JSON, one section each)"
    )
    p.add_argument(
        "--criteria",
        metavar="KEYS",
        help="comma-separated criteria to run (default all: recist,who,mrecist,…)",
    )
    p.add_argument(
        "--match",
        type=Path,
        metavar="FILE",
        help="lesion-matching overrides (YAML: {fu1: {L7: L3, L9: new}})",
    )
    p.add_argument("--json", type=Path, metavar="OUT", help="write the assessment as JSON to OUT")
    p.add_argument("--plots", type=Path, metavar="DIR", help="write waterfall and spider plots (PNG) to DIR")
    p.add_argument("--rules", action="store_true", help="print the deciding rule of every time point")
    p.set_defaults(func=run)


def _overrides(path: Path | None) -> dict[str, dict[str, str]] | None:
    if path is None:
        return None
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"--match {path}: cannot read it ({exc})") from None
    ok = isinstance(doc, dict) and all(
        isinstance(v, dict) and all(isinstance(a, str) and isinstance(b, str) for a, b in v.items())
        for v in doc.values()
    )
    if not ok:
        raise InputError(
            f"--match {path}: expected {{time point: {{follow-up lesion: reference lesion or new}}}}"
        )
    return {str(k): dict(v) for k, v in doc.items()}


def print_assessment(console: Console, assessment: Any, *, rules: bool) -> None:
    """Print the side-by-side table, each criterion's best overall response and the warnings."""
    from nelm.response.assess import side_by_side

    header, rows = side_by_side(assessment)
    table = Table(title=f"response of {assessment.case_id} (baseline {assessment.baseline})", box=box.SIMPLE)
    for name in header:
        table.add_column(name, no_wrap=True)
    for row in rows:
        table.add_row(*row)
    console.print(table, width=max(console.width, 150), overflow="ignore", crop=False)
    for crit in assessment.criteria:
        ttp = (
            f"; progression at {crit.progression_time_point}, day {crit.time_to_progression_days:g}"
            if crit.progression_time_point
            else ""
        )
        console.print(f"[bold]{crit.criterion}[/bold] targets {', '.join(crit.targets) or 'none'}{ttp}")
        console.print(f"  best overall response: {crit.best_overall_response_rule}")
        if rules:
            for r in crit.time_points[1:]:
                console.print(f"  {r.time_point}: {r.rule}")
    for w in assessment.warnings:
        console.print(f"[yellow]warning[/yellow] {w}")


def write_plots(out: Path, response_case: Any, assessment: Any) -> list[Path]:
    """Waterfall and spider plots of the criteria and of the lesions, as PNG files in ``out``."""
    from nelm.response.plots import write_response_plots

    return list(write_response_plots(out, response_case, assessment).values())


def run(args: argparse.Namespace) -> int:
    """Assess the response of a case (from masks) or of a reader's table."""
    from nelm.response.settings import load_settings_file

    if (args.case is None) == (args.table is None):
        raise InputError("give either CASE.yaml (measure the masks) or --table READS (a reader's table)")
    settings = load_settings_file(args.config) if args.config else None
    source = str(args.config) if args.config else "settings"
    only = [k.strip() for k in args.criteria.split(",") if k.strip()] if args.criteria else None
    if only is not None and not only:
        raise ConfigError("--criteria lists no criterion")
    console = Console(highlight=False, soft_wrap=True)
    if args.table is not None:
        from nelm.response.assess import assess_all
        from nelm.response.reader import load_reader_table

        response_case = load_reader_table(args.table)
        assessment = assess_all(response_case, settings=settings, settings_source=source, only=only)
    else:
        from nelm.case import load_case
        from nelm.quant.timepoint import quantify_time_point
        from nelm.response.course import assess_course, response_time_points
        from nelm.timepoint_data import load_time_point

        case = load_case(args.case)
        data = {tp.id: load_time_point(tp) for tp in case.time_points if "lesions" in tp.masks}
        course = response_time_points(case, data)
        quants = [quantify_time_point(d, patient=case.patient) for d in course]
        response_case, assessment = assess_course(
            case,
            {d.time_point.id: d for d in course},
            quants,
            settings=settings,
            settings_source=source,
            only=only,
            overrides=_overrides(args.match),
        )
    console.print(f"[italic]{RESEARCH_USE_DISCLAIMER}[/italic]")
    print_assessment(console, assessment, rules=args.rules)
    if args.json is not None:
        write_text_atomic(args.json, json.dumps(assessment.model_dump(mode="json"), indent=2) + "\n")
        console.print(f"JSON written to {args.json}")
    if args.plots is not None:
        for path in write_plots(args.plots, response_case, assessment):
            console.print(f"plot written to {path}")
    return 0
