"""Benchmark: quantifying the whole synthetic patient with nelm, against pyradiomics.

The default synthetic patient (``nelm.phantom``, seed 0: 12 lesions; baseline with three CT
phases, MR hepatobiliary phase and SSTR PET; MAA, Y-90 and two follow-ups) is written as NIfTI to
a temporary folder. Then, in one run:

* **nelm**: :func:`nelm.quant.timepoint.quantify_time_point` on every time point with liver and
  lesion masks (loading not counted): per lesion volume, RECIST/WHO diameters, 3-D diameter,
  statistics on every phase, viable tumour with mRECIST/EASL diameters, PET SUVmax/peak/mean,
  Krenning score; the reference parenchyma; the burden. Target: ≤ 5 s in all.
* **pyradiomics** (``pyradiomics-bhklab``), the radiomics toolkit users reach for: shape and
  first-order features of every lesion on every CT/MR phase of the baseline only (crops given to
  it for free), i.e. a subset of what nelm computes.

Usage::

    python benchmarks/bench_quantify.py [--out DIR] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np


def _nelm(manifest: Path) -> dict[str, Any]:
    from nelm.case import load_case
    from nelm.quant.timepoint import ANATOMIC_PHASES, quantify_time_point
    from nelm.timepoint_data import load_time_point

    case = load_case(manifest)
    per_tp: dict[str, float] = {}
    lesions = 0
    load_s = 0.0
    for tp in case.time_points:
        measurable = any(tp.has_image(r) for r in (*ANATOMIC_PHASES, "pet_sstr"))
        if not (tp.has_mask("liver") and tp.has_mask("lesions") and measurable):
            continue
        t0 = time.perf_counter()
        data = load_time_point(tp)
        t1 = time.perf_counter()
        q = quantify_time_point(data, patient=case.patient)
        per_tp[tp.id] = time.perf_counter() - t1
        load_s += t1 - t0
        lesions += len(q.lesions)
    return {
        "seconds": sum(per_tp.values()),
        "per_time_point_s": per_tp,
        "load_s": load_s,
        "lesion_measurements": lesions,
    }


def _pyradiomics(manifest: Path) -> dict[str, Any]:
    import SimpleITK as sitk  # noqa: N813 - the library's own idiom
    from radiomics import firstorder, shape

    from nelm.case import load_case
    from nelm.quant.lesions import lesion_instances
    from nelm.timepoint_data import load_time_point

    logging.getLogger("radiomics").setLevel(logging.ERROR)
    case = load_case(manifest)
    data = load_time_point(case.baseline)
    lesions = data.masks["lesions"]
    phases = {r: v for r, v in data.images.items() if r.startswith(("ct_", "mr_"))}
    arrays = {
        r: (v if v.geometry.same_as(lesions.geometry) else v.resample_to(lesions.geometry)).array.astype(
            np.float32
        )
        for r, v in phases.items()
    }
    sp = lesions.geometry.spacing_mm
    seconds = 0.0
    n = 0
    for inst in lesion_instances(lesions):
        sl = inst.bbox
        m = (lesions.array[sl] == inst.label_value).astype(np.uint8)
        mask = sitk.GetImageFromArray(m)
        mask.SetSpacing((sp[2], sp[1], sp[0]))
        for arr in arrays.values():
            image = sitk.GetImageFromArray(arr[sl])
            image.SetSpacing((sp[2], sp[1], sp[0]))
            t0 = time.perf_counter()
            shape.RadiomicsShape(image, mask, label=1).execute()
            firstorder.RadiomicsFirstOrder(image, mask, label=1).execute()
            seconds += time.perf_counter() - t0
            n += 1
    return {"seconds": seconds, "lesion_phase_measurements": n, "phases": sorted(arrays)}


def main(argv: list[str] | None = None) -> int:
    """Write the phantom, time both tools, print the table, write JSON to --out."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=None, help="folder for bench_quantify.json")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from nelm.atomic import write_text_atomic
    from nelm.phantom import PhantomConfig, generate_patient, write_patient

    with tempfile.TemporaryDirectory() as tmp:
        manifest = write_patient(
            generate_patient(PhantomConfig(seed=args.seed)), Path(tmp), formats=("nifti",)
        )
        nelm = _nelm(manifest)
        try:
            peer: dict[str, Any] | None = _pyradiomics(manifest)
        except ImportError:
            peer = None
    print("Quantification of the whole synthetic patient (loading not counted)")
    print(f"{'tool':<14}{'seconds':>9}  what")
    print(
        f"{'nelm':<14}{nelm['seconds']:>9.2f}  {len(nelm['per_time_point_s'])} time points, "
        f"{nelm['lesion_measurements']} lesion measurements (all phases, viable tumour, PET, burden)"
    )
    for tp, s in nelm["per_time_point_s"].items():
        print(f"{'  ' + tp:<14}{s:>9.2f}")
    if peer is None:
        print("pyradiomics not installed (pip install -e '.[bench]'): no peer timing")
    else:
        print(
            f"{'pyradiomics':<14}{peer['seconds']:>9.2f}  baseline only: shape + first order of "
            f"{peer['lesion_phase_measurements']} lesion-phase pairs ({', '.join(peer['phases'])})"
        )
        print(
            "nelm (whole patient) / pyradiomics (baseline subset) time: "
            f"{nelm['seconds'] / peer['seconds']:.2f}"
        )
    print(f"target: nelm <= 5 s for the whole patient: {'met' if nelm['seconds'] <= 5 else 'NOT met'}")
    if args.out:
        write_text_atomic(
            args.out / "bench_quantify.json", json.dumps({"nelm": nelm, "pyradiomics": peer}, indent=2) + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
