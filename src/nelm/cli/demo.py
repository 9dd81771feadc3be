"""``nelm demo``: the synthetic patient, end to end.

The demo generates the synthetic NELM patient, writes it as DICOM and NIfTI with its case
manifest and ground truth, loads every series and mask of the manifest back through nelm's
loaders (checking each mask against the image it lies on), quantifies every time point with
CT/MR phases, assesses the response across the follow-ups by every criterion, and prints a
summary beside the known truth. Later stages (Y-90,
reports) join here.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from nelm import RESEARCH_USE_DISCLAIMER
from nelm.atomic import atomic_dir, write_text_atomic
from nelm.cli.phantom import add_arguments, config_from_args
from nelm.cli.response import print_assessment, write_plots
from nelm.errors import InputError

__all__ = ["add_subparser", "run"]

DEFAULT_OUT = Path("demo-output")


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
    """Generate, write, reload and summarise the synthetic patient."""
    from nelm.case import load_case
    from nelm.phantom import generate_patient, write_patient
    from nelm.quant.timepoint import ANATOMIC_PHASES, quantify_time_point
    from nelm.response.course import assess_course
    from nelm.timepoint_data import load_case_data

    out: Path = args.out
    _check_out(out)
    console = Console(highlight=False, soft_wrap=True)
    started = time.perf_counter()
    config = config_from_args(args)
    columns = (
        TextColumn("{task.description:<34}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("generating the synthetic patient", total=None)
        patient = generate_patient(config)
        progress.update(task, description="writing DICOM and NIfTI")
        with atomic_dir(out) as tmp:
            write_patient(patient, tmp)
        case = load_case(out / "case.yaml")
        n_items = sum(len(tp.images) + len(tp.masks) for tp in case.time_points)
        progress.update(task, description="loading series and masks", total=n_items, completed=0)

        def step(label: str) -> None:
            progress.update(task, description=f"loading {label}"[:34], advance=1)

        data = load_case_data(case, progress=step)
        quantified = [
            d
            for d in data.values()
            if {"liver", "lesions"} <= set(d.masks) and set(d.images) & set(ANATOMIC_PHASES)
        ]
        progress.update(task, description="quantifying", total=len(quantified), completed=0)
        quants = []
        for d in quantified:
            quants.append(quantify_time_point(d, patient=case.patient))
            progress.update(task, advance=1)
        progress.update(task, description="response assessment", total=None)
        response_case, assessment = assess_course(case, data, quants)
        write_text_atomic(out / "response.json", assessment.model_dump_json(indent=2) + "\n")
        plots = write_plots(out / "response", response_case, assessment)
    elapsed = time.perf_counter() - started

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
                f"  mask {role:<9} {len(lm.labels):>3} label(s), {total:9.1f} mL"
                + (f"  on {on} grid ✓" if on else "")
            )
    console.print("\n[bold]quantification[/bold] (nelm quantify; ground truth below)")
    for q in quants:
        p = q.patient
        console.print(
            f"  {q.time_point:<12} {p.lesion_count:>3} lesion(s), tumour {p.tumour_volume_ml:.1f} mL, "
            f"hepatic tumour burden {p.hepatic_tumour_burden_percent:.1f} % ({p.burden_category}), "
            f"enhancing {p.enhancing_tumour_burden_percent:.1f} %, {p.distribution}"
            if p.enhancing_tumour_burden_percent is not None
            else f"{p.distribution}"
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
    console.print("\n[bold]response[/bold] (nelm response; every criterion side by side)")
    print_assessment(console, assessment, rules=False)
    console.print(f"response JSON {out / 'response.json'}, plots {', '.join(str(p) for p in plots)}")
    console.print(f"\ndone in {elapsed:.1f} s")
    return 0
