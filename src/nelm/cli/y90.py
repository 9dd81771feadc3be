"""``nelm y90 plan|vial|dose``: Y-90 activity planning, vial logistics and post-treatment dosimetry."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.console import Console

from nelm import RESEARCH_USE_DISCLAIMER
from nelm.atomic import write_text_atomic
from nelm.errors import InputError

__all__ = ["add_subparser"]


def add_subparser(sub: Any) -> None:
    """Register ``nelm y90`` and its sub-commands."""
    p = sub.add_parser(
        "y90",
        help="Y-90 radioembolisation: plan the activity, choose the vial, compute the delivered dose",
        description="Y-90 radioembolisation planning (MAA), vial logistics and post-treatment dosimetry.",
    )
    y90 = p.add_subparsers(dest="y90_command", metavar="STEP", required=True)

    plan = y90.add_parser(
        "plan",
        help="activity by BSA, MIRD, partition and voxel models, with safety checks",
        description=(
            "Plan the Y-90 activity from a plan file (nelm_y90_plan: 1; see the README) or a case "
            "manifest (nelm's defaults, inputs measured on its MAA planning study)."
        ),
    )
    plan.add_argument("source", type=Path, metavar="PLAN.yaml|CASE.yaml")
    plan.add_argument("--json", type=Path, metavar="OUT", help="write the plan as JSON to OUT")
    plan.add_argument(
        "--out", type=Path, metavar="DIR", help="write the voxel plan's dose map (NIfTI) to DIR"
    )
    plan.set_defaults(func=_run_plan)

    vial = y90.add_parser(
        "vial",
        help="decay a vial to the treatment time, or choose the vial to order",
        description=(
            "With --activity: the vial to order so that ACTIVITY is injected at --treatment. With "
            "--vial-activity: that vial's activity at --treatment. Date-times need a UTC offset."
        ),
    )
    vial.add_argument("--calibration", required=True, metavar="DATETIME", help="vial calibration date-time")
    vial.add_argument("--treatment", required=True, metavar="DATETIME", help="treatment date-time")
    group = vial.add_mutually_exclusive_group(required=True)
    group.add_argument("--activity", metavar="A", help="activity to inject, with unit (e.g. '2.5 GBq')")
    group.add_argument("--vial-activity", metavar="A", help="calibrated vial activity, with unit")
    vial.add_argument("--device", choices=("glass", "resin"), default="glass")
    vial.add_argument(
        "--residual", default="0 %", metavar="P", help="residual fraction in percent (e.g. '1 %%')"
    )
    vial.add_argument("--sizes", metavar="LIST", help="vial sizes, e.g. '3,5,7,10,15,20 GBq'")
    vial.add_argument("--half-life", default="64.1 h", metavar="T", help="Y-90 half-life (default 64.1 h)")
    vial.add_argument("--json", type=Path, metavar="OUT")
    vial.set_defaults(func=_run_vial)

    dose = y90.add_parser(
        "dose",
        help="delivered dose from Y-90 PET or bremsstrahlung SPECT, DVHs, planned versus delivered",
    )
    dose.add_argument("case", type=Path, metavar="CASE.yaml")
    dose.add_argument("--timepoint", required=True, metavar="ID", help="the post-treatment time point")
    dose.add_argument(
        "--method",
        choices=("local_deposition", "kernel"),
        default="local_deposition",
        help="local energy deposition (EANM default) or dose-voxel-kernel convolution",
    )
    dose.add_argument("--json", type=Path, metavar="OUT")
    dose.add_argument("--out", type=Path, metavar="DIR", help="write dose maps (NIfTI and RTDOSE) to DIR")
    dose.set_defaults(func=_run_dose)


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def _write_json(console: Console, path: Path | None, doc: dict[str, Any]) -> None:
    if path is not None:
        write_text_atomic(path, json.dumps(doc, indent=2, default=str) + "\n")
        console.print(f"JSON written: {path}")


def _run_plan(args: argparse.Namespace) -> int:
    from nelm.y90.outputs import write_dose_nifti
    from nelm.y90.plan import load_plan_source, plan_y90
    from nelm.y90.summary import plan_lines

    plan_file, case = load_plan_source(args.source)
    result = plan_y90(plan_file, case)
    console = _console()
    console.print(f"[bold]nelm y90 plan[/bold] — [italic]{RESEARCH_USE_DISCLAIMER}[/italic]")
    for line in plan_lines(result):
        console.print(line)
    if args.out is not None and result.voxel is not None:
        path = write_dose_nifti(result.voxel.dose.dose_gy, args.out / "planned_dose.nii.gz")
        console.print(f"planned dose map written: {path}")
    _write_json(console, args.json, {"nelm_y90_plan_result": 1, **result.to_dict()})
    return 0


def _run_vial(args: argparse.Namespace) -> int:
    from nelm.case.validation import parse_when
    from nelm.units import parse_activity_gbq, parse_duration_s
    from nelm.y90.constants import DEFAULT_CONSTANTS
    from nelm.y90.decay import choose_vial, delivery_losses
    from nelm.y90.plan_file import parse_percent
    from nelm.y90.summary import vial_lines

    def when(text: str, option: str) -> Any:
        try:
            value = parse_when(text)
        except Exception:  # pydantic custom error: re-raise as a clear input error
            raise InputError(f"{option}: cannot read {text!r} as a date-time with a UTC offset") from None
        return value

    calibration = when(args.calibration, "--calibration")
    treatment = when(args.treatment, "--treatment")
    constants = DEFAULT_CONSTANTS.with_(
        half_life_h=parse_duration_s(args.half_life, field="--half-life") / 3600.0
    )
    residual = parse_percent(args.residual, field="--residual")
    console = _console()
    if args.activity is not None:
        sizes = None
        if args.sizes:
            sizes = _sizes(args.sizes)
        choice = choose_vial(
            parse_activity_gbq(args.activity, field="--activity"),
            treatment,
            calibration,
            residual_fraction=residual,
            sizes_gbq=sizes,
            device=args.device,
            constants=constants,
        )
        doc = choice.to_dict()
    else:
        losses = delivery_losses(
            parse_activity_gbq(args.vial_activity, field="--vial-activity"),
            calibration,
            treatment,
            residual,
            constants=constants,
        )
        doc = losses.to_dict()
    for line in vial_lines(doc):
        console.print(line)
    _write_json(console, args.json, {"nelm_y90_vial": 1, "disclaimer": RESEARCH_USE_DISCLAIMER, **doc})
    return 0


def _sizes(text: str) -> tuple[float, ...]:
    from nelm.units import parse_activity_gbq

    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise InputError("--sizes: give a list such as '3,5,7,10 GBq'")
    unit = parts[-1].split()[-1] if len(parts[-1].split()) > 1 else None
    if unit is None:
        raise InputError(f"--sizes: {text!r} has no unit; write e.g. '3,5,7,10 GBq'")
    return tuple(
        sorted(parse_activity_gbq(p if len(p.split()) > 1 else f"{p} {unit}", field="--sizes") for p in parts)
    )


def _run_dose(args: argparse.Namespace) -> int:
    from nelm.case import load_case
    from nelm.y90.dosimetry import DoseMethod
    from nelm.y90.outputs import write_dose_outputs
    from nelm.y90.post import dose_time_point
    from nelm.y90.summary import dose_lines

    case = load_case(args.case)
    result = dose_time_point(case, args.timepoint, method=DoseMethod(args.method))
    console = _console()
    console.print(f"[bold]nelm y90 dose[/bold] {case.case_id} — [italic]{RESEARCH_USE_DISCLAIMER}[/italic]")
    for line in dose_lines(result):
        console.print(line)
    if args.out is not None:
        for path in write_dose_outputs(result, case, args.out):
            console.print(f"written: {path}")
    _write_json(
        console, args.json, {"nelm_y90_dose": 1, "disclaimer": RESEARCH_USE_DISCLAIMER, **result.to_dict()}
    )
    return 0
