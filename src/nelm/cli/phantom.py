"""``nelm phantom``: write the synthetic NELM patient (images, masks, manifest, truth)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from nelm.errors import InputError

__all__ = ["add_subparser", "run"]

_FORMATS = ("dicom", "nifti")


def _formats(text: str) -> tuple[str, ...]:
    parts = tuple(p.strip().lower() for p in text.split(",") if p.strip())
    bad = [p for p in parts if p not in _FORMATS]
    if bad or not parts:
        raise argparse.ArgumentTypeError(
            f"formats must be a comma list of {', '.join(_FORMATS)}; got {text!r}"
        )
    return parts


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``nelm phantom`` and ``nelm demo``."""
    parser.add_argument(
        "--seed", type=int, default=0, help="random seed; the same seed gives identical files (default 0)"
    )
    parser.add_argument(
        "--lesions", type=int, default=None, metavar="K", help="number of liver metastases (1 to 300)"
    )
    parser.add_argument(
        "--placement",
        choices=("bilobar", "right", "left"),
        default=None,
        help="where the metastases lie (default bilobar)",
    )


def add_subparser(sub: Any) -> None:
    """Register ``nelm phantom``."""
    p = sub.add_parser(
        "phantom",
        help="write the synthetic NELM patient with known truth",
        description=(
            "Generate the synthetic patient (multiphase CT, SSTR PET, MAA SPECT and planar, "
            "post-treatment Y-90 PET, follow-ups) and write DICOM and/or NIfTI, label maps, "
            "case.yaml and truth.json into DIR."
        ),
    )
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    add_arguments(p)
    p.add_argument(
        "--format",
        dest="formats",
        type=_formats,
        default=_FORMATS,
        help="comma list of image formats to write: dicom,nifti (default both)",
    )
    p.set_defaults(func=run)


def config_from_args(args: argparse.Namespace) -> Any:
    """A :class:`nelm.phantom.PhantomConfig` from the shared options."""
    from nelm.phantom import PhantomConfig

    overrides: dict[str, Any] = {"seed": args.seed}
    if args.lesions is not None:
        if not 1 <= args.lesions <= 300:
            raise InputError(f"--lesions must be between 1 and 300, got {args.lesions}")
        overrides["n_lesions"] = args.lesions
    if args.placement is not None:
        overrides["placement"] = args.placement
    return PhantomConfig(**overrides)


def run(args: argparse.Namespace) -> int:
    """Generate and write the phantom; print where the manifest is."""
    from nelm.phantom import generate_patient, write_patient

    patient = generate_patient(config_from_args(args))
    manifest = write_patient(patient, args.out, formats=args.formats)
    print(f"synthetic patient written: {manifest}")
    return 0
