"""``nelm info PATH``: what a file or folder holds (series, geometry, modality, units)."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

from nelm.policy import Policy

__all__ = ["add_subparser", "run"]


def add_subparser(sub: Any) -> None:
    """Register ``nelm info``."""
    p = sub.add_parser(
        "info",
        help="describe the DICOM series, NIfTI files, masks and manifests at PATH",
        description=(
            "List what PATH holds: DICOM series (modality, geometry, units, radiopharmaceutical), "
            "NIfTI images and label maps, DICOM SEG and RTSTRUCT, nelm case manifests. "
            "Folders are searched recursively."
        ),
    )
    p.add_argument("path", type=Path, metavar="PATH", help="file or folder")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument(
        "--strict",
        action="store_true",
        help="treat tolerable DICOM problems (stray unreadable files …) as errors",
    )
    p.set_defaults(func=run)


def _text(item: Any) -> str:
    lines = [f"{item.kind}: {item.path}", f"  {item.summary}"]
    d = item.details
    if "radiopharmaceutical" in d:
        rp = d["radiopharmaceutical"]
        lines.append(
            f"  radiopharmaceutical: {rp['radiopharmaceutical'] or rp['radionuclide']}, "
            f"{(rp['injected_activity_bq'] or 0) / 1e6:.1f} MBq at {rp['injection_datetime']}, "
            f"half-life {rp['half_life_s']} s, decay correction {rp['decay_correction'] or '?'}"
        )
    for lab in d.get("labels", []):
        track = f" [{lab['tracking_id']}]" if lab["tracking_id"] else ""
        lines.append(f"  label {lab['value']}: {lab['name']}{track}, {lab['volume_ml']:.2f} mL")
    for seg in d.get("segments", []):
        track = f" [{seg['tracking_id']}]" if seg["tracking_id"] else ""
        lines.append(f"  segment {seg['number']}: {seg['name']}{track}")
    lines.extend(f"  {tp}" for tp in d.get("time_points", []))
    lines.extend(f"  warning: {w}" for w in d.get("warnings", []))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Print the inventory of ``args.path``."""
    from nelm.imaging.inventory import inventory

    # Tolerated problems are listed under each item; do not print them twice as log lines.
    nelm_log = logging.getLogger("nelm")
    previous = nelm_log.level
    if args.verbose == 0:
        nelm_log.setLevel(logging.ERROR)
    try:
        items = inventory(args.path, policy=Policy.RAISE if args.strict else Policy.WARN)
    finally:
        nelm_log.setLevel(previous)
    if args.json:
        print(json.dumps([item.__dict__ for item in items], indent=2, default=str))
    elif not items:
        print(f"{args.path}: nothing nelm reads was found")
    else:
        print("\n".join(_text(item) for item in items))
    bad = [i for i in items if i.kind == "unreadable"]
    return 2 if bad and len(bad) == len(items) else 0
