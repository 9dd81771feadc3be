"""``nelm quantify CASE.yaml``: liver, lesions, burden, enhancement and SSTR uptake per time point."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from nelm import RESEARCH_USE_DISCLAIMER
from nelm.atomic import write_text_atomic
from nelm.errors import InputError

__all__ = ["add_subparser", "run"]


def add_subparser(sub: Any) -> None:
    """Register ``nelm quantify``."""
    p = sub.add_parser(
        "quantify",
        help="measure the liver and its lesions at each time point of a case",
        description=(
            "Quantify each time point of CASE.yaml that has a CT, MR or SSTR PET image with liver and "
            "lesion masks (or a contrast CT to segment them from): lesion volumes, "
            "RECIST/WHO diameters, phase intensities and enhancement, viable tumour (mRECIST/EASL), "
            "SSTR PET uptake (SUV, Krenning-type score) and the tumour burden."
        ),
    )
    p.add_argument("case", type=Path, metavar="CASE.yaml", help="case manifest")
    p.add_argument(
        "--timepoint",
        action="append",
        metavar="ID",
        help="time point id (repeatable; default all with masks)",
    )
    p.add_argument("--json", type=Path, metavar="OUT", help="write the results as JSON to OUT")
    p.add_argument(
        "--no-fallback",
        action="store_true",
        help="never segment a missing liver or lesion mask (default: nelm's fallback, said so in the output)",
    )
    p.add_argument(
        "--liver-backend",
        choices=("auto", "fallback", "totalsegmentator"),
        default="auto",
        help="liver segmenter when no liver mask is given (auto: TotalSegmentator if its weights are here)",
    )
    p.set_defaults(func=run)


def _f(value: float | None, fmt: str = ".1f") -> str:
    return "-" if value is None else format(value, fmt)


def _print(console: Console, q: Any) -> None:
    p = q.patient
    console.print(f"\n[bold]{q.time_point}[/bold] ({q.date}) — phases: {', '.join(q.phases) or 'none'}")
    console.print(
        f"  liver {p.liver_volume_ml:.1f} mL, {p.lesion_count} lesion(s), "
        f"tumour {p.tumour_volume_ml:.1f} mL, "
        f"hepatic tumour burden {p.hepatic_tumour_burden_percent:.1f} % ({p.burden_category}), "
        f"enhancing {_f(p.enhancing_tumour_burden_percent)} %, {p.distribution}; "
        f"1D burden {_f(p.burden_1d_mm)} mm, 2D {_f(p.burden_2d_mm2, '.0f')} mm²"
    )
    table = Table(box=None, pad_edge=False)
    for col in (
        "lesion",
        "seg",
        "vol mL",
        "LD mm",
        "SA mm",
        "3D mm",
        "enh %",
        "viable LD",
        "Choi HU",
        "SUVmax",
        "SUVpeak",
        "Krenning",
    ):
        table.add_column(col, justify="left" if col == "lesion" else "right")
    for les in q.lesions:
        enh = les.enhancing
        table.add_row(
            les.lesion_id,
            str(les.segment) if les.segment else (les.lobe or "-"),
            f"{les.volume_ml:.2f}",
            _f(les.axial.long_mm if les.axial else None),
            _f(les.axial.short_mm if les.axial else None),
            _f(les.max_3d_diameter_mm),
            _f(100 * enh.enhancing_fraction if enh else None, ".0f"),
            _f(enh.viable_axial.long_mm if enh and enh.viable_axial else None),
            _f(les.choi_portal_mean_hu),
            _f(les.pet.suv_max if les.pet else None, ".2f"),
            _f(les.pet.suv_peak if les.pet else None, ".2f"),
            str(les.pet.krenning_score) if les.pet and les.pet.krenning_score is not None else "-",
        )
    console.print(table)
    for role, origin in q.masks.items():
        if not origin.startswith("given"):
            console.print(f"  [bold yellow]{role} mask segmented by nelm (fallback)[/bold yellow]: {origin}")
    for w in q.warnings:
        console.print(f"  [yellow]warning[/yellow]: {w}")


def run(args: argparse.Namespace) -> int:
    """Quantify the chosen time points; print tables; write JSON if asked."""
    from nelm.case import load_case
    from nelm.quant.timepoint import ANATOMIC_PHASES, QuantSettings, quantify_time_point
    from nelm.timepoint_data import load_time_point

    case = load_case(args.case)
    if args.timepoint:
        chosen = [case.time_point(tp_id) for tp_id in args.timepoint]
    else:
        fallback = not args.no_fallback
        measurable = (*ANATOMIC_PHASES, "pet_sstr")
        chosen = [
            tp
            for tp in case.time_points
            if (tp.has_mask("liver") and tp.has_mask("lesions") and any(tp.has_image(r) for r in measurable))
            or (fallback and any(tp.has_image(r) for r in ("ct_portal", "ct_arterial")))
        ]
        if not chosen:
            raise InputError(
                f"{args.case}: no time point has a CT/MR/SSTR-PET image with liver and lesion masks"
                + (" or a contrast CT to segment" if fallback else "")
            )
    settings = QuantSettings(allow_fallback=not args.no_fallback, liver_backend=args.liver_backend)
    console = Console(highlight=False, soft_wrap=True)
    console.print(f"[bold]nelm quantify[/bold] {case.case_id} — [italic]{RESEARCH_USE_DISCLAIMER}[/italic]")
    results = []
    for tp in chosen:
        data = load_time_point(tp)
        q = quantify_time_point(data, patient=case.patient, settings=settings)
        results.append(q)
        _print(console, q)
    if args.json:
        doc = {
            "nelm_quantify": 1,
            "disclaimer": RESEARCH_USE_DISCLAIMER,
            "case_id": case.case_id,
            "time_points": [q.model_dump(mode="json") for q in results],
        }
        write_text_atomic(args.json, json.dumps(doc, indent=2) + "\n")
        console.print(f"\nJSON written: {args.json}")
    return 0
