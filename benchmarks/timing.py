"""Timing helper shared by the benchmarks (run as scripts: this folder is on ``sys.path``)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def best_of(run: Callable[[], T], repeat: int) -> tuple[float, T]:
    """The shortest of ``repeat`` timings of ``run()`` in seconds (timeit's convention) and its result."""
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - t0)
    return best, result
