"""The timing helpers the benchmark scripts share (they run as scripts: this folder is on sys.path)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    """The median wall time of ``repeats`` calls of ``fn``, after one warm-up call (tracing, caches)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


#: The float32 matrix-multiply peak (GFLOP/s) of the 2-core machine the targets in seconds are set for.
REFERENCE_PEAK_GFLOPS = 250


def on_reference_machine(seconds: float, peak: float) -> float:
    """``seconds`` measured on a machine of matrix-multiply peak ``peak`` (GFLOP/s), scaled by the two peaks to the
    targets' machine: an estimate, since not all of a run is matrix products."""
    return seconds * peak / REFERENCE_PEAK_GFLOPS


def matmul_peak_gflops(n: int = 2048, repeats: int = 5) -> float:
    """The best float32 GFLOP/s of an n x n matrix product through NumPy's BLAS on all cores."""
    import numpy as np

    a = np.random.default_rng(0).random((n, n), dtype=np.float32)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9
