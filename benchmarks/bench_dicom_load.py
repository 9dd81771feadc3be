"""Benchmark: loading a CT series with nelm against SimpleITK and a naive pydicom loop.

Writes a synthetic body-like CT series (default 300 slices of 512x512, int16) with
:func:`nelm.imaging.dicom_write.write_series` into a temporary folder, then loads it with

* ``nelm``: :func:`nelm.imaging.dicom_read.read_series`,
* ``simpleitk``: ``SimpleITK.ImageSeriesReader`` (``GetGDCMSeriesFileNames`` + ``Execute``),
* ``pydicom-loop``: ``dcmread`` of every file, sort by Image Position (Patient) z,
  ``np.stack`` of ``pixel_array * slope + intercept``.

Every load runs in a fresh Python subprocess so that its memory is measured alone: the child
reads its resident set size (``VmRSS``) after its imports and its high-water mark (``VmHWM``,
Linux ``/proc/self/status``) after the load; the difference is the load's peak memory, which
``tracemalloc`` would miss for SimpleITK's C++ allocations. Times are the best of ``--repeat``
runs with a warm file cache. The table gives the ratios nelm/SimpleITK and nelm/pydicom-loop
and each loader's peak memory relative to the volume size (int16 voxels).

Usage::

    python benchmarks/bench_dicom_load.py [--slices 300] [--size 512] [--repeat 3] [--out DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

LOADERS = ("nelm", "simpleitk", "pydicom-loop")


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status (Linux only)")


def _synthetic_ct(slices: int, size: int) -> Any:
    """A body-like CT: air, an elliptic body (fat rim, soft tissue), liver, spine; seeded noise."""
    from nelm.imaging import Geometry, SeriesMetadata, ValueUnit, Volume

    rng = np.random.default_rng(20240301)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
    body = (x / 0.42) ** 2 + (y / 0.30) ** 2 <= 1.0
    inner = (x / 0.39) ** 2 + (y / 0.27) ** 2 <= 1.0
    liver = ((x + 0.15) / 0.16) ** 2 + ((y + 0.02) / 0.14) ** 2 <= 1.0
    spine = (x / 0.04) ** 2 + ((y - 0.18) / 0.04) ** 2 <= 1.0
    plane = np.full((size, size), -1000, np.int16)
    plane[body] = -100
    plane[inner] = 40
    plane[liver] = 60
    plane[spine] = 700
    array = np.empty((slices, size, size), np.int16)
    for k in range(slices):
        array[k] = plane + rng.normal(0, 12, (size, size)).astype(np.int16)
    geometry = Geometry.from_spacing((slices, size, size), (1.5, 0.78125, 0.78125), (-200.0, -200.0, -450.0))
    return Volume(
        array=array,
        geometry=geometry,
        modality="CT",
        units=ValueUnit.HU,
        acquisition_datetime=dt.datetime(2024, 3, 1, 9, 30, tzinfo=dt.UTC),
        metadata=SeriesMetadata(series_description="nelm benchmark CT", series_number=1),
    )


def _load(loader: str, folder: Path) -> Any:
    if loader == "nelm":
        from nelm.imaging.dicom_read import read_series
        from nelm.policy import Policy

        return read_series(folder, policy=Policy.IGNORE).array
    if loader == "simpleitk":
        import SimpleITK as sitk  # noqa: N813

        reader = sitk.ImageSeriesReader()
        reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
        image = reader.Execute()
        return image  # the SimpleITK image itself: converting it to numpy would add a copy
    import pydicom

    datasets = [pydicom.dcmread(p) for p in sorted(folder.iterdir())]
    datasets.sort(key=lambda d: float(d.ImagePositionPatient[2]))
    return np.stack([d.pixel_array * float(d.RescaleSlope) + float(d.RescaleIntercept) for d in datasets])


def _worker(loader: str, folder: Path) -> None:
    """Child process: import, note RSS, load once, report time and peak memory as JSON."""
    if loader == "nelm":
        import nelm.imaging.dicom_read  # noqa: F401
    elif loader == "simpleitk":
        import SimpleITK  # noqa: F401
    else:
        import pydicom  # noqa: F401
    baseline = _status_kib("VmRSS")
    start = time.perf_counter()
    result = _load(loader, folder)
    seconds = time.perf_counter() - start
    peak = _status_kib("VmHWM")
    if loader == "simpleitk":
        import SimpleITK as sitk  # noqa: N813

        array = sitk.GetArrayViewFromImage(result)
    else:
        array = np.asarray(result)
    out = {
        "seconds": seconds,
        "peak_increase_bytes": (peak - baseline) * 1024,
        "dtype": str(array.dtype),
        "shape": list(array.shape),
        "checksum": float(np.asarray(array, dtype=np.float64).sum()),
    }
    print(json.dumps(out))


def _run_child(loader: str, folder: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", loader, "--dir", str(folder)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="folder for results.json")
    parser.add_argument("--worker", choices=LOADERS, help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args.worker, args.dir)
        return 0

    from nelm.imaging.dicom_write import write_series

    with tempfile.TemporaryDirectory(prefix="nelm-bench-") as tmp:
        folder = Path(tmp) / "ct"
        volume = _synthetic_ct(args.slices, args.size)
        start = time.perf_counter()
        write_series(volume, folder)
        write_s = time.perf_counter() - start
        volume_bytes = int(volume.array.nbytes)
        for p in folder.iterdir():  # warm the file cache
            p.read_bytes()
        results: dict[str, dict[str, Any]] = {}
        for loader in LOADERS:
            runs = [_run_child(loader, folder) for _ in range(args.repeat)]
            results[loader] = {
                "best_seconds": min(r["seconds"] for r in runs),
                "peak_increase_bytes": max(r["peak_increase_bytes"] for r in runs),
                "dtype": runs[0]["dtype"],
                "shape": runs[0]["shape"],
                "checksum": runs[0]["checksum"],
            }
    nelm_s = results["nelm"]["best_seconds"]
    summary = {
        "slices": args.slices,
        "size": args.size,
        "repeat": args.repeat,
        "volume_bytes_int16": volume_bytes,
        "write_seconds_nelm": write_s,
        "loaders": results,
        "ratio_nelm_over_simpleitk": nelm_s / results["simpleitk"]["best_seconds"],
        "ratio_nelm_over_pydicom_loop": nelm_s / results["pydicom-loop"]["best_seconds"],
        "same_values": len({r["checksum"] for r in results.values()}) == 1,
    }
    header = f"{'loader':<14}{'best s':>9}{'peak MB':>10}{'peak/vol':>10}  dtype"
    lines = [
        f"DICOM series load: {args.slices} x {args.size} x {args.size} CT, best of {args.repeat} "
        f"(fresh process per run), volume {volume_bytes / 1e6:.0f} MB as int16",
        header,
        "-" * len(header),
    ]
    for loader, r in results.items():
        lines.append(
            f"{loader:<14}{r['best_seconds']:>9.3f}{r['peak_increase_bytes'] / 1e6:>10.0f}"
            f"{r['peak_increase_bytes'] / volume_bytes:>10.2f}  {r['dtype']}"
        )
    lines.append(f"nelm / SimpleITK time:    {summary['ratio_nelm_over_simpleitk']:.2f}")
    lines.append(f"nelm / pydicom-loop time: {summary['ratio_nelm_over_pydicom_loop']:.2f}")
    lines.append(f"all loaders give the same voxel sum: {summary['same_values']}")
    lines.append(f"(writing the series with nelm took {write_s:.1f} s)")
    print("\n".join(lines))
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "bench_dicom_load.json").write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
