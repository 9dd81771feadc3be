"""Run every benchmark in this folder (``make bench``), each in its own process.

Each ``bench_*.py`` runs nelm beside a named peer in one run and prints a table of ratios;
results are also written as JSON under ``bench-output/<benchmark>/``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    """Run the benchmarks one after another; return non-zero if any failed."""
    failed = []
    for script in sorted(HERE.glob("bench_*.py")):
        out = HERE.parent / "bench-output" / script.stem
        print(f"== {script.name}", flush=True)
        status = subprocess.call([sys.executable, str(script), "--out", str(out)])
        if status != 0:
            failed.append(script.name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
