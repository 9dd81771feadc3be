"""Benchmark: lesion diameters and volumes with nelm against pyradiomics' shape features.

Two cases, the same masks for both tools, in one run:

(a) ``--n-lesions`` (default 100) spheres and ellipsoids of 5–40 mm (seeded, non-overlapping,
    ellipsoids rotated in-plane) rasterised by voxel-centre inclusion into one binary mask of
    200 × 512 × 512 voxels at 2.5 × 0.8 × 0.8 mm (slice, row, column). nelm: connected
    components (:func:`nelm.quant.lesions.lesion_instances`), the crop of each lesion
    (:func:`~nelm.quant.lesions.lesion_mask`), the axial and maximum 3-D diameters of all of
    them (:func:`nelm.quant.lesion_diameters`, as ``nelm quantify`` measures them) and each
    volume. pyradiomics: ``radiomics.shape.RadiomicsShape`` per lesion on its bounding-box crop
    (crops given to it for free), features ``Maximum2DDiameterSlice``, ``Maximum3DDiameter``,
    ``MeshVolume`` and ``VoxelVolume``, on SimpleITK images of the same arrays and spacing. Each
    step of each tool is run ``--repeat`` times and its shortest time kept (timeit's convention,
    the same for both tools).
(b) one liver-sized ellipsoid (semi-axes 90 × 70 × 57 mm ≈ 1.5 L, ≈ 2.35 M voxels at
    1 × 0.8 × 0.8 mm). pyradiomics runs in a child process capped at ``--cap-s`` seconds.

Conventions differ by construction: nelm measures edge-to-edge between pixel/voxel *corners*
(caliper, ImageJ ``edge=True``), pyradiomics between mesh vertices on voxel-*edge midpoints*;
nelm's values are larger by less than one voxel diagonal (in-plane for the axial diameter, 3-D
for the Feret diameter). ``VoxelVolume`` must agree exactly with nelm's volume.

Usage::

    python benchmarks/bench_diameters.py [--out DIR] [--n-lesions 100] [--repeat 3] [--cap-s 600]
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import multiprocessing as mp
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from timing import best_of

SPACING_A = (2.5, 0.8, 0.8)  # slice, row, column (mm)
SHAPE_A = (200, 512, 512)
SPACING_B = (1.0, 0.8, 0.8)
LIVER_SEMI_AXES_MM = (90.0, 70.0, 57.0)  # x, y, z: 4/3·π·abc ≈ 1504 mL


def _rasterise(
    mask: npt.NDArray[np.bool_],
    spacing: tuple[float, float, float],
    centre_xyz: npt.NDArray[np.float64],
    semi_xyz: tuple[float, float, float],
    angle_rad: float,
) -> None:
    """OR an ellipsoid (rotated about z by ``angle_rad``) into ``mask`` by voxel-centre inclusion."""
    reach = max(semi_xyz)
    lo = [max(0, math.floor((centre_xyz[2 - a] - reach) / spacing[a])) for a in range(3)]
    hi = [min(mask.shape[a], math.ceil((centre_xyz[2 - a] + reach) / spacing[a]) + 1) for a in range(3)]
    k, r, c = np.meshgrid(*(np.arange(lo[a], hi[a]) for a in range(3)), indexing="ij")
    z, y, x = k * spacing[0] - centre_xyz[2], r * spacing[1] - centre_xyz[1], c * spacing[2] - centre_xyz[0]
    ca, sa = math.cos(angle_rad), math.sin(angle_rad)
    u, v = ca * x + sa * y, -sa * x + ca * y
    inside = (u / semi_xyz[0]) ** 2 + (v / semi_xyz[1]) ** 2 + (z / semi_xyz[2]) ** 2 <= 1.0
    mask[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]] |= inside


def make_lesions(n: int, seed: int) -> tuple[npt.NDArray[np.bool_], list[dict[str, Any]]]:
    """``n`` non-overlapping spheres/ellipsoids of 5–40 mm in the case (a) grid."""
    rng = np.random.default_rng(seed)
    extent = np.array([SHAPE_A[2] * SPACING_A[2], SHAPE_A[1] * SPACING_A[1], SHAPE_A[0] * SPACING_A[0]])
    mask = np.zeros(SHAPE_A, dtype=bool)
    placed: list[dict[str, Any]] = []
    while len(placed) < n:
        diameter = float(rng.uniform(5.0, 40.0))
        sphere = len(placed) % 2 == 0
        ratios = (
            (1.0, 1.0, 1.0) if sphere else (1.0, float(rng.uniform(0.6, 1.0)), float(rng.uniform(0.6, 1.0)))
        )
        semi = tuple(diameter / 2 * q for q in ratios)
        centre = rng.uniform(diameter / 2 + 5.0, extent - diameter / 2 - 5.0)
        # bounding spheres at least 3 mm apart: no two lesions touch, even at a corner
        if any(np.linalg.norm(centre - p["centre"]) < diameter / 2 + p["radius"] + 3.0 for p in placed):
            continue
        angle = 0.0 if sphere else float(rng.uniform(0.0, math.pi))
        _rasterise(mask, SPACING_A, centre, semi, angle)  # type: ignore[arg-type]
        placed.append({"centre": centre, "radius": diameter / 2, "semi_axes_mm": semi, "angle_rad": angle})
    return mask, placed


def _pyradiomics_shape(
    crop: npt.NDArray[np.bool_], spacing: tuple[float, float, float]
) -> tuple[dict[str, float], float]:
    """pyradiomics shape features of a mask and the seconds spent in ``RadiomicsShape`` alone.

    Building the SimpleITK images is not timed (in pyradiomics' favour).
    """
    import SimpleITK as sitk  # noqa: N813 - the library's own idiom
    from radiomics import shape

    arr = crop.astype(np.uint8)
    image = sitk.GetImageFromArray(arr.astype(np.float32))
    mask = sitk.GetImageFromArray(arr)
    for im in (image, mask):
        im.SetSpacing((spacing[2], spacing[1], spacing[0]))  # SimpleITK: x (column), y (row), z (slice)
    names = ("Maximum2DDiameterSlice", "Maximum3DDiameter", "MeshVolume", "VoxelVolume")
    t0 = time.perf_counter()
    feat = shape.RadiomicsShape(image, mask, label=1)
    for name in names:
        feat.enableFeatureByName(name, True)
    values = feat.execute()
    seconds = time.perf_counter() - t0
    return {name: float(values[name]) for name in names}, seconds


def _pyradiomics_child(crop: npt.NDArray[np.bool_], spacing: tuple[float, float, float], queue: Any) -> None:
    values, seconds = _pyradiomics_shape(crop, spacing)
    queue.put({"values": values, "seconds": seconds})


def _nelm_measure(mask: npt.NDArray[np.bool_], geometry: Any) -> tuple[dict[str, float], dict[str, float]]:
    """nelm's diameters and volume of one mask (case b), with the seconds of each."""
    from nelm.quant import lesion_diameters, mask_volume_ml

    t0 = time.perf_counter()
    (size,) = lesion_diameters([(mask, geometry)])
    t1 = time.perf_counter()
    volume = mask_volume_ml(mask, geometry)
    t2 = time.perf_counter()
    values = {
        "long_mm": size.axial.long_mm,
        "short_mm": size.axial.short_mm,
        "max_3d_mm": size.max_3d_mm,
        "volume_ml": volume,
    }
    return values, {"diameters": t1 - t0, "volume": t2 - t1}


def case_a(n: int, seed: int, repeat: int = 1) -> dict[str, Any]:
    """Case (a); each tool's time is the shortest of ``repeat`` runs over all lesions."""
    from nelm.imaging import Geometry, LabelMap
    from nelm.quant import lesion_diameters, lesion_instances, lesion_mask, mask_volume_ml

    mask, placed = make_lesions(n, seed)
    geometry = Geometry.from_spacing(SHAPE_A, SPACING_A)
    lesions = LabelMap.from_binary(mask, geometry, "lesions", source="benchmark lesions")
    t_inst, instances = best_of(lambda: lesion_instances(lesions, min_volume_ml=0.0), repeat)
    t_crop, crops = best_of(lambda: [lesion_mask(lesions, inst) for inst in instances], repeat)
    t_diam, sizes = best_of(lambda: lesion_diameters(crops), repeat)
    t_vol, volumes = best_of(lambda: [mask_volume_ml(m, g) for m, g in crops], repeat)
    nelm_rows = [
        {"long_mm": s.axial.long_mm, "short_mm": s.axial.short_mm, "max_3d_mm": s.max_3d_mm, "volume_ml": v}
        for s, v in zip(sizes, volumes, strict=True)
    ]
    times = {"instances": t_inst, "crop": t_crop, "diameters": t_diam, "volume": t_vol}
    nelm_total = sum(times.values())

    def pyradiomics_all() -> tuple[list[dict[str, float]], float]:
        rows, seconds = [], 0.0
        for crop, _ in crops:
            values, dt = _pyradiomics_shape(crop, SPACING_A)
            rows.append(values)
            seconds += dt
        return rows, seconds

    runs = [pyradiomics_all() for _ in range(repeat)]
    pyr_rows, t_pyr = runs[0][0], min(r[1] for r in runs)
    d2 = [abs(a["long_mm"] - b["Maximum2DDiameterSlice"]) for a, b in zip(nelm_rows, pyr_rows, strict=True)]
    d3 = [abs(a["max_3d_mm"] - b["Maximum3DDiameter"]) for a, b in zip(nelm_rows, pyr_rows, strict=True)]
    dv = [abs(a["volume_ml"] * 1000 - b["VoxelVolume"]) for a, b in zip(nelm_rows, pyr_rows, strict=True)]
    dmesh = [a["volume_ml"] * 1000 - b["MeshVolume"] for a, b in zip(nelm_rows, pyr_rows, strict=True)]
    return {
        "grid": {"shape": list(SHAPE_A), "spacing_mm": list(SPACING_A)},
        "lesions_placed": len(placed),
        "lesions_found": len(instances),
        "voxels": int(mask.sum()),
        "repeat": repeat,
        "nelm_seconds": {**times, "total": nelm_total},
        "pyradiomics_seconds": t_pyr,
        "ratio_total": t_pyr / nelm_total,
        "ratio_diameters": t_pyr / t_diam,
        "max_abs_diff_long_vs_max2dslice_mm": max(d2),
        "max_abs_diff_max3d_mm": max(d3),
        "max_abs_diff_voxel_volume_mm3": max(dv),
        "mean_voxel_minus_mesh_volume_mm3": float(np.mean(dmesh)),
        "bound_inplane_diagonal_mm": math.hypot(SPACING_A[1], SPACING_A[2]),
        "bound_voxel_diagonal_mm": math.sqrt(sum(s * s for s in SPACING_A)),
        "nelm_short_mm_range": [min(r["short_mm"] for r in nelm_rows), max(r["short_mm"] for r in nelm_rows)],
    }


def case_b(cap_s: float) -> dict[str, Any]:
    from nelm.imaging import Geometry

    a, b, c = LIVER_SEMI_AXES_MM
    shape = tuple(int(2 * math.ceil(r / s)) + 5 for r, s in zip((c, b, a), SPACING_B, strict=True))
    mask = np.zeros(shape, dtype=bool)
    centre = np.array(
        [(shape[2] // 2) * SPACING_B[2], (shape[1] // 2) * SPACING_B[1], (shape[0] // 2) * SPACING_B[0]]
    )
    _rasterise(mask, SPACING_B, centre, LIVER_SEMI_AXES_MM, 0.0)
    geometry = Geometry.from_spacing(shape, SPACING_B)  # type: ignore[arg-type]
    t0 = time.perf_counter()
    values, dt = _nelm_measure(mask, geometry)
    nelm_s = time.perf_counter() - t0
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_pyradiomics_child, args=(mask, SPACING_B, queue))
    t0 = time.perf_counter()
    child.start()
    result: dict[str, Any] | None = None
    try:
        result = queue.get(timeout=cap_s)
    except Exception:  # queue.Empty after the cap
        result = None
    child.join(timeout=5)
    if child.is_alive():
        child.terminate()
        child.join()
    wall = time.perf_counter() - t0
    out: dict[str, Any] = {
        "grid": {"shape": list(shape), "spacing_mm": list(SPACING_B)},
        "voxels": int(mask.sum()),
        "truth_volume_ml": 4 / 3 * math.pi * a * b * c / 1000,
        "truth_long_mm": 2 * a,
        "truth_short_mm": 2 * b,
        "nelm": values,
        "nelm_seconds": {**dt, "total": nelm_s},
        "pyradiomics_cap_s": cap_s,
    }
    if result is None:
        out["pyradiomics"] = None
        out["pyradiomics_seconds"] = f"> {wall:.0f} (capped)"
        return out
    pv = result["values"]
    out["pyradiomics"] = pv
    out["pyradiomics_seconds"] = result["seconds"]
    out["ratio_total"] = result["seconds"] / nelm_s
    out["abs_diff_long_vs_max2dslice_mm"] = abs(values["long_mm"] - pv["Maximum2DDiameterSlice"])
    out["abs_diff_max3d_mm"] = abs(values["max_3d_mm"] - pv["Maximum3DDiameter"])
    out["abs_diff_voxel_volume_mm3"] = abs(values["volume_ml"] * 1000 - pv["VoxelVolume"])
    return out


def _table(a: dict[str, Any], b: dict[str, Any]) -> str:
    na, nb = a["nelm_seconds"], b["nelm_seconds"]
    pyr_b = b["pyradiomics_seconds"]
    pyr_b_text = f"{pyr_b:.2f}" if isinstance(pyr_b, float) else str(pyr_b)
    ratio_b = f"{b['ratio_total']:.0f}x" if "ratio_total" in b else "n/a"
    lines = [
        "case                         nelm (s)   pyradiomics (s)   ratio",
        f"(a) {a['lesions_found']} lesions, total       {na['total']:8.3f}   {a['pyradiomics_seconds']:15.2f}"
        f"   {a['ratio_total']:.1f}x",
        f"    of which instances       {na['instances']:8.3f}",
        f"    of which crops           {na['crop']:8.3f}",
        f"    diameters (axial + 3-D)  {na['diameters']:8.3f}   {a['pyradiomics_seconds']:15.2f}"
        f"   {a['ratio_diameters']:.1f}x",
        f"(b) liver {b['voxels'] / 1e6:.2f} M voxels       {nb['total']:8.3f}   {pyr_b_text:>15}   {ratio_b}",
        "",
        "agreement (nelm corner convention vs pyradiomics edge midpoints)",
        f"(a) max |long - Maximum2DDiameterSlice| = {a['max_abs_diff_long_vs_max2dslice_mm']:.3f} mm"
        f" (bound: in-plane voxel diagonal {a['bound_inplane_diagonal_mm']:.3f} mm)",
        f"(a) max |max3d - Maximum3DDiameter|     = {a['max_abs_diff_max3d_mm']:.3f} mm"
        f" (bound: voxel diagonal {a['bound_voxel_diagonal_mm']:.3f} mm)",
        f"(a) max |volume - VoxelVolume|          = {a['max_abs_diff_voxel_volume_mm3']:.3g} mm3"
        f"; mean voxel - mesh volume {a['mean_voxel_minus_mesh_volume_mm3']:.1f} mm3",
        f"(b) nelm long/short {b['nelm']['long_mm']:.2f}/{b['nelm']['short_mm']:.2f} mm"
        f" (truth {b['truth_long_mm']:.0f}/{b['truth_short_mm']:.0f}),"
        f" max3d {b['nelm']['max_3d_mm']:.2f}, volume {b['nelm']['volume_ml']:.1f} mL"
        f" (truth {b['truth_volume_ml']:.1f})",
    ]
    if b.get("pyradiomics"):
        lines.append(
            f"(b) |long - Max2DSlice| = {b['abs_diff_long_vs_max2dslice_mm']:.3f} mm,"
            f" |max3d - Max3D| = {b['abs_diff_max3d_mm']:.3f} mm,"
            f" |volume - VoxelVolume| = {b['abs_diff_voxel_volume_mm3']:.3g} mm3"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=None, help="folder for bench_diameters.json")
    parser.add_argument("--n-lesions", type=int, default=100)
    parser.add_argument("--seed", type=int, default=20260112)
    parser.add_argument("--cap-s", type=float, default=600.0, help="time cap for pyradiomics on case (b)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="case (a): each tool's time is the shortest of this many runs"
    )
    args = parser.parse_args(argv)
    logging.getLogger("radiomics").setLevel(logging.ERROR)
    import radiomics

    radiomics.setVerbosity(logging.ERROR)
    a = case_a(args.n_lesions, args.seed, args.repeat)
    b = case_b(args.cap_s)
    summary = {"benchmark": "bench_diameters", "peer": f"pyradiomics {radiomics.__version__}", "a": a, "b": b}
    print(_table(a, b))
    ok = (
        a["lesions_found"] == a["lesions_placed"]
        and a["max_abs_diff_long_vs_max2dslice_mm"] <= a["bound_inplane_diagonal_mm"]
        and a["max_abs_diff_max3d_mm"] <= a["bound_voxel_diagonal_mm"]
        and a["max_abs_diff_voxel_volume_mm3"] < 1e-6
    )
    summary["agreement_within_one_voxel"] = ok
    if args.out is not None:
        from nelm.atomic import write_text_atomic

        args.out.mkdir(parents=True, exist_ok=True)
        write_text_atomic(args.out / "bench_diameters.json", json.dumps(summary, indent=2, default=float))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
