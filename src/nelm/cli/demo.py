"""``nelm demo``: the synthetic patient, end to end.

The demo generates the synthetic NELM patient, writes it as DICOM and NIfTI with its case
manifest and ground truth into ``OUT``, then runs ``nelm run`` on it (quantification, response,
Y-90 planning and dosimetry, decision support and imaging advice, the report, the JSON and the
DICOM export, into ``OUT/results``) and prints a summary beside the known truth and where the
report is.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress, TextColumn

from nelm import RESEARCH_USE_DISCLAIMER
from nelm.atomic import atomic_dir
from nelm.cli.phantom import add_arguments, config_from_args
from nelm.cli.response import print_assessment
from nelm.errors import InputError

__all__ = ["add_subparser", "run"]

DEFAULT_OUT = Path("demo-output")
#: Where the demo's ``nelm run`` outputs go, inside ``--out``.
RESULTS_DIR = "results"


def add_subparser(sub: Any) -> None:
    """Register ``nelm demo``."""
    p = sub.add_parser(
        "demo",
        help="generate the synthetic patient and run nelm on it",
        description=(
            "Generate the synthetic NELM patient into DIR (replacing an earlier demo there), "
            "load every series and mask of its case manifest, and print a summary."
        ),
    )
    p.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, metavar="DIR", help=f"output folder (default {DEFAULT_OUT})"
    )
    add_arguments(p)
    p.set_defaults(func=run)


def _check_out(out: Path) -> None:
    """Refuse to replace a non-empty folder that is not an earlier nelm demo."""
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file; give a folder")
    if out.is_dir() and any(out.iterdir()):
        truth = out / "truth.json"
        try:
            ours = json.loads(truth.read_text(encoding="utf-8")).get("nelm_truth") == 1
        except (OSError, ValueError, AttributeError):
            ours = False
        if not ours:
            raise InputError(
                f"--out {out} is not empty and holds no earlier nelm demo; choose an empty folder"
            )


def _fmt_spacing(sp: tuple[float, float, float]) -> str:
    return "x".join(f"{s:.3g}" for s in sp)


def run(args: argparse.Namespace) -> int:
    """Generate and write the synthetic patient, run ``nelm run`` on it, and summarise."""
    from nelm.cli.run import print_outcome, run_with_progress
    from nelm.phantom import generate_patient, write_patient

    out: Path = args.out
    _check_out(out)
    console = Console(highlight=False, soft_wrap=True)
    started = time.perf_counter()
    config = config_from_args(args)
    with Progress(TextColumn("{task.description}"), console=console, transient=True) as progress:
        progress.add_task("generating and writing the synthetic patient", total=None)
        patient = generate_patient(config)
        with atomic_dir(out) as tmp:
            write_patient(patient, tmp)
    outputs = run_with_progress(console, case_path=out / "case.yaml", out_dir=out / RESULTS_DIR)
    elapsed = time.perf_counter() - started
    results = outputs.results
    case, data = results.case, results.data

    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    console.print(f"[bold]nelm demo[/bold]: synthetic NELM patient {case.case_id} (seed {config.seed})")
    console.print(f"[italic]{RESEARCH_USE_DISCLAIMER}[/italic]")
    console.print(f"written to {out}/ — manifest {out / 'case.yaml'}, ground truth {out / 'truth.json'}")
    for tp_id, tpd in data.items():
        tp = tpd.time_point
        console.print(f"\n[bold]{tp_id}[/bold] ({tp.kind.value}, {tp.date})")
        for role, v in tpd.images.items():
            console.print(
                f"  {role:<14} {v.modality:<3} {v.units.value:<7} {v.shape[0]}x{v.shape[1]}x{v.shape[2]} "
                f"@ {_fmt_spacing(v.spacing_mm)} mm {v.orientation}  {v.metadata.series_description}"
            )
        for role, views in tpd.planar.items():
            names = ", ".join(f"{k} {vv.shape[1]}x{vv.shape[2]}" for k, vv in views.items())
            console.print(f"  {role:<14} NM  counts  planar views: {names}")
        for role, lm in tpd.masks.items():
            on = tpd.mask_image.get(role, "")
            total = sum(lm.volume_ml(k) for k in lm.labels)
            console.print(
                f"  mask {role:<12} {len(lm.labels):>3} label(s), {total:9.1f} mL"
                + (f"  on {on} grid ✓" if on else "")
            )
    console.print("\n[bold]quantification[/bold] (nelm quantify; ground truth below)")
    for q in results.quants:
        p = q.patient
        console.print(
            f"  {q.time_point:<12} {p.lesion_count:>3} lesion(s), tumour {p.tumour_volume_ml:.1f} mL, "
            f"hepatic tumour burden {p.hepatic_tumour_burden_percent:.1f} % ({p.burden_category}), "
            f"enhancing {p.enhancing_tumour_burden_percent:.1f} %, {p.distribution}"
            if p.enhancing_tumour_burden_percent is not None
            else f"  {q.time_point:<12} {p.lesion_count:>3} lesion(s), {p.distribution}"
        )
    console.print("\n[bold]ground truth[/bold] (truth.json)")
    organs = truth["organs"]
    console.print(f"  liver {organs['liver_volume_ml']:.0f} mL, spleen {organs['spleen_volume_ml']:.0f} mL")
    for tpt in truth["time_points"]:
        console.print(
            f"  {tpt['id']:<12} {tpt['lesion_count']:>3} lesion(s), tumour {tpt['tumour_volume_ml']:.1f} mL, "
            f"hepatic tumour burden {tpt['hepatic_tumour_burden_percent']:.1f} %, "
            f"enhancing {tpt['enhancing_tumour_burden_percent']:.1f} %, {tpt['distribution']}"
        )
    if results.response is not None:
        console.print("\n[bold]response[/bold] (nelm response; every criterion side by side)")
        print_assessment(console, results.response, rules=False)
    if results.y90_plan is not None:
        from nelm.y90.summary import plan_lines

        console.print("\n[bold]Y-90 plan[/bold] (nelm y90 plan)")
        for line in plan_lines(results.y90_plan):
            console.print(f"  {line}")
    if results.y90_dose is not None:
        from nelm.y90.summary import dose_lines

        console.print("\n[bold]Y-90 delivered dose[/bold] (nelm y90 dose)")
        for line in dose_lines(results.y90_dose):
            console.print(f"  {line}")
    for title, part in (("decision support", results.decision), ("imaging advice", results.imaging_advice)):
        if part is not None:
            console.print(f"\n[bold]{title}[/bold] (nelm advise; supports a tumour board, does not decide)")
            for line in part.summary_lines():
                console.print(f"  {line}")
    console.print("\n[bold]nelm run[/bold] stages and outputs")
    print_outcome(console, outputs)
    shown = outputs.report_pdf or outputs.report_html or outputs.results_json
    console.print(f"\n[bold]report: {shown}[/bold]")
    console.print(f"done in {elapsed:.1f} s")
    return 0
