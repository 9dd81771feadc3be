"""``nelm run``: every stage of nelm on a case, then the report, the JSON and the DICOM export."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from nelm import RESEARCH_USE_DISCLAIMER
from nelm.errors import InputError

__all__ = ["add_subparser", "print_outcome", "run", "run_with_progress"]


def add_subparser(sub: Any) -> None:
    """Register ``nelm run``."""
    p = sub.add_parser(
        "run",
        help="run every stage on a case and write the report, JSON and DICOM outputs",
        description=(
            "Quantify every time point, assess the response, plan the Y-90 treatment and compute the "
            "delivered dose when the case has their inputs, give decision support and imaging advice, "
            "then write report.html, report.pdf, results.json, figures/, dose/ and dicom/ into DIR "
            "(replacing an earlier run there). Outputs are de-identified unless --keep-identifiers."
        ),
    )
    p.add_argument("case", type=Path, metavar="CASE.yaml", help="the case manifest")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    p.add_argument(
        "--keep-identifiers",
        action="store_true",
        help="keep the patient's name, ID, birth date and other identifiers in the outputs",
    )
    p.add_argument(
        "--deid-key",
        metavar="KEY",
        help="secret for the de-identified UIDs (default: derived from the case id; see README)",
    )
    p.add_argument(
        "--dose-method",
        choices=("kernel", "local_deposition"),
        default="kernel",
        help="post-treatment dose calculation (default kernel)",
    )
    p.add_argument("--no-pdf", action="store_true", help="write the HTML report only")
    p.set_defaults(func=run)


def _check_out(out: Path, case: Path) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file; give a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / "results.json").is_file():
        raise InputError(f"--out {out} is not empty and holds no earlier nelm run; choose an empty folder")
    if out.resolve() in case.resolve().parents:
        raise InputError(f"--out {out} holds the case {case}; choose a folder outside the case")


def run_with_progress(console: Console, **kwargs: Any) -> Any:
    """:func:`nelm.report.pipeline.run_case` with a progress bar per stage."""
    from nelm.report.pipeline import OUTPUT_STAGES, STAGES, run_case

    columns = (TextColumn("{task.description:<28}"), BarColumn(), TextColumn("{task.completed}/{task.total}"))
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task("starting", total=len(STAGES) + len(OUTPUT_STAGES))

        def step(name: str) -> None:
            bar.update(task, description=name.replace("_", " "), advance=1)

        return run_case(progress=step, **kwargs)


def print_outcome(console: Console, outputs: Any) -> None:
    """Stage outcomes and where the outputs are."""
    for s in outputs.results.stages:
        mark = {
            "ok": "[green]ok[/green]",
            "skipped": "[yellow]skipped[/yellow]",
            "failed": "[red]FAILED[/red]",
        }
        console.print(f"  {s.name:<16} {mark[s.status]} {s.message}")
    console.print(f"results JSON  {outputs.results_json}")
    if outputs.report_html is not None:
        console.print(f"report (HTML) {outputs.report_html}")
    if outputs.report_pdf is not None:
        console.print(f"report (PDF)  {outputs.report_pdf}")
    if outputs.dicom:
        console.print(f"DICOM         {len(outputs.dicom)} file(s) in {outputs.folder / 'dicom'}")


def run(args: argparse.Namespace) -> int:
    """Run the pipeline and print where everything went."""
    _check_out(args.out, args.case)
    console = Console(highlight=False, soft_wrap=True)
    console.print(f"[bold]nelm run[/bold] {args.case} — [italic]{RESEARCH_USE_DISCLAIMER}[/italic]")
    outputs = run_with_progress(
        console,
        case_path=args.case,
        out_dir=args.out,
        keep_identifiers=args.keep_identifiers,
        deid_key=args.deid_key,
        dose_method=args.dose_method,
        pdf=not args.no_pdf,
    )
    print_outcome(console, outputs)
    return 0
