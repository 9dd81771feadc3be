"""``nelm advise CASE.yaml``: tumour-board decision support for the therapies of NELM.

Loads the case, measures one time point (the baseline, or ``--timepoint``) when it has liver and
lesion masks, runs the Y-90 plan when the case has an MAA planning time point, then applies the
decision rules (:mod:`nelm.decision`) and prints per therapy its level and every finding with its
sources, the disagreements and the missing inputs, followed by the imaging advice
(:mod:`nelm.decision.protocol`). A measurement or a Y-90 plan that fails is reported as not
available, and the rules that need it are UNDETERMINED: the command does not stop for it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from nelm import RESEARCH_USE_DISCLAIMER
from nelm.atomic import write_text_atomic
from nelm.errors import InputError

__all__ = ["add_subparser", "parse_given", "run"]

logger = logging.getLogger(__name__)

_STYLE = {
    "APPROPRIATE": "green",
    "CONSIDER": "cyan",
    "UNDETERMINED": "yellow",
    "CAUTION": "bold yellow",
    "CONTRAINDICATED": "bold red",
}


def add_subparser(sub: Any) -> None:
    """Register ``nelm advise``."""
    p = sub.add_parser(
        "advise",
        help="which therapies fit, need caution or are contraindicated, and why (tumour-board support)",
        description=(
            "Apply nelm's cited decision rules to CASE.yaml: resection, transplantation, ablation, TAE, "
            "cTACE, DEB-TACE, TARE and PRRT, each APPROPRIATE/CONSIDER/UNDETERMINED/CAUTION/"
            "CONTRAINDICATED with its rules, values, thresholds and sources; then the imaging advice. "
            "Decision support for a tumour board, not a decision. " + RESEARCH_USE_DISCLAIMER
        ),
    )
    p.add_argument("case", type=Path, metavar="CASE.yaml", help="case manifest")
    p.add_argument("--json", type=Path, metavar="OUT", help="write the result as JSON to OUT")
    p.add_argument("--config", type=Path, metavar="thresholds.yaml", help="threshold overrides (YAML/JSON)")
    p.add_argument("--timepoint", metavar="ID", help="time point to measure (default: the baseline)")
    p.add_argument(
        "--date", metavar="YYYY-MM-DD", help="assessment date (default: the measured time point's)"
    )
    p.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an input the manifest cannot hold, e.g. resectable_percent=80, flr_percent=35, "
        "stable_disease_months=6, netpet_grade=P1 (repeatable)",
    )
    p.set_defaults(func=run)


def parse_given(items: list[str]) -> dict[str, object]:
    """``NAME=VALUE`` pairs: ``true``/``false`` as yes/no, numbers as exact decimals, else text.

    Raises
    ------
    InputError
        An item without ``=`` or with an empty name.
    """
    out: dict[str, object] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name, text = name.strip(), text.strip()
        if not sep or not name:
            raise InputError(f"--input {item!r}: write NAME=VALUE, e.g. resectable_percent=80")
        value: object
        if text.lower() in ("true", "yes"):
            value = True
        elif text.lower() in ("false", "no"):
            value = False
        else:
            try:
                value = Decimal(text)
            except InvalidOperation:
                value = text
            else:
                if not value.is_finite():
                    raise InputError(f"--input {item!r}: {text!r} is not a finite number")
        out[name] = value
    return out


def _date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"--date: {text!r} is not a date YYYY-MM-DD") from None


def _measure(case: Any, timepoint: str | None, notes: list[str]) -> list[Any]:
    """Quantify one time point when it has liver and lesion masks; failures become notes."""
    from nelm.quant.timepoint import QuantSettings, quantify_time_point
    from nelm.timepoint_data import load_time_point

    point = case.time_point(timepoint) if timepoint else case.baseline
    if not (point.has_mask("liver") and point.has_mask("lesions")):
        notes.append(f"measurement not available: time point {point.id!r} has no liver and lesion masks")
        return []
    try:
        data = load_time_point(point)
        return [quantify_time_point(data, patient=case.patient, settings=QuantSettings(allow_fallback=False))]
    except Exception as exc:  # a failed measurement leaves its rules UNDETERMINED
        logger.debug("quantification of %s failed", point.id, exc_info=True)
        notes.append(f"measurement of time point {point.id!r} not available: {exc}")
        return []


def _plan(case: Any, notes: list[str]) -> Any:
    """The Y-90 plan of a case with an MAA planning time point; failures become notes."""
    if not any(tp.kind.value == "planning" for tp in case.time_points):
        return None
    from nelm.y90.plan import plan_y90
    from nelm.y90.plan_file import PlanFile

    try:
        return plan_y90(PlanFile(), case)
    except Exception as exc:
        logger.debug("Y-90 plan failed", exc_info=True)
        notes.append(f"Y-90 plan not available: {exc}")
        return None


def _imaging(case: Any, on: dt.date | None, missing: list[str], notes: list[str]) -> Any:
    try:
        from nelm.decision.protocol import advise_imaging
    except ImportError:  # pragma: no cover - protocol.py is written separately
        return None
    try:
        return advise_imaging(case, on=on, missing_inputs=missing)
    except Exception as exc:
        logger.debug("imaging advice failed", exc_info=True)
        notes.append(f"imaging advice not available: {exc}")
        return None


def _print(console: Console, result: Any) -> None:
    overview = Table(title="Therapies (level = worst finding)", box=None, pad_edge=False)
    overview.add_column("therapy")
    overview.add_column("level")
    overview.add_column("findings", justify="right")
    for t in result.therapies:
        overview.add_row(t.label, f"[{_STYLE[t.level.value]}]{t.level.value}[/]", str(len(t.findings)))
    console.print(overview)
    for t in result.therapies:
        console.print(f"\n[bold]{t.label}[/bold]: [{_STYLE[t.level.value]}]{t.level.value}[/]")
        table = Table(box=None, pad_edge=False, show_header=False)
        table.add_column("level", no_wrap=True)
        table.add_column("rule", no_wrap=True)
        table.add_column("finding")
        for f in t.findings:
            table.add_row(
                f"[{_STYLE[f.level.value]}]{f.level.value}[/]",
                f.rule_id,
                escape(f"{f.message} [{', '.join(f.citations)}]"),
            )
        console.print(table)
    if result.cross_cutting:
        console.print("\n[bold]Cross-cutting[/bold]")
        for f in result.cross_cutting:
            console.print(
                f"  [{_STYLE[f.level.value]}]{f.level.value}[/] {f.rule_id}: "
                + escape(f"{f.message} [{', '.join(f.citations)}]")
            )
    if result.missing_inputs:
        console.print("\n[bold]Missing inputs[/bold] (the rules that need them are UNDETERMINED)")
        for m in result.missing_inputs:
            console.print(f"  {m.input}: needed by {', '.join(m.needed_by)}")
    console.print("\n[bold]Where the sources disagree[/bold] (default in force; alternatives)")
    for d in result.disagreements:
        console.print("  " + escape(f"{d.parameter}: {d.default}; {d.alternatives}"))


def run(args: argparse.Namespace) -> int:
    """Run the decision rules on a case; print; write JSON if asked."""
    from nelm.case import load_case
    from nelm.decision import advise, inputs_from_case, missing_inputs
    from nelm.decision.thresholds import Thresholds, load_thresholds

    case = load_case(args.case)
    thresholds = load_thresholds(args.config) if args.config else Thresholds()
    on = _date(args.date)
    given = parse_given(args.input)
    notes: list[str] = []
    quants = _measure(case, args.timepoint, notes)
    plan = _plan(case, notes)
    inputs = inputs_from_case(
        case, quants, plan, on=on, given=given, given_source="given: command line (--input)"
    )
    result = advise(inputs, thresholds)
    console = Console(highlight=False, soft_wrap=True)
    console.print(f"[bold]nelm advise[/bold] {case.case_id} — [italic]{escape(result.disclaimer)}[/italic]")
    if result.assessment_date:
        console.print(f"assessment date {result.assessment_date}")
    for note in notes:
        console.print(f"[yellow]note[/yellow]: {escape(note)}")
    _print(console, result)
    imaging = _imaging(case, inputs.assessment_date, missing_inputs(result), notes)
    if imaging is not None:
        console.print("\n[bold]Imaging advice[/bold]")
        for line in imaging.summary_lines():
            console.print("  " + escape(line))
    if args.json is not None:
        doc = {
            "nelm_advise": 1,
            "case_id": case.case_id,
            **result.model_dump(mode="json"),
            "notes": notes,
            "thresholds_source": thresholds.source,
            "imaging": None if imaging is None else imaging.model_dump(mode="json"),
        }
        write_text_atomic(args.json, json.dumps(doc, indent=2) + "\n")
        console.print(f"\nJSON written: {args.json}")
    return 0
