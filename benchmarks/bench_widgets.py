#!/usr/bin/env python3
"""How long each explorer control takes to re-render (target, issue 3: under 50 ms a change).

Sets each control as a learner would, headless, and prints the median milliseconds a change.
Usage: python benchmarks/bench_widgets.py [--changes N]
"""

from __future__ import annotations

import argparse
import statistics
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--changes", type=int, default=30)
    args = parser.parse_args()

    from mnistlab.data import load_mnist
    from mnistlab.widgets import ConvolutionExplorer, PaddingStrideExplorer, PoolingExplorer

    (x, y), _ = load_mnist()
    x, y = x[:100], y[:100]
    conv, pad, pool = ConvolutionExplorer(x, y), PaddingStrideExplorer(x, y), PoolingExplorer(x, y)
    changes = {
        "convolution: digit": (conv.digit, lambda i: i),
        "convolution: preset": (conv.preset, lambda i: ["blur", "sobel x", "outline"][i % 3]),
        "convolution: edit a kernel cell": (conv.cells[0][0], lambda i: float(i)),
        "padding/stride: kernel size": (pad.size, lambda i: 1 + i % 7),
        "padding/stride: padding": (pad.padding, lambda i: i % (pad.size.value)),
        "padding/stride: stride": (pad.stride, lambda i: 1 + i % 4),
        "pooling: window": (pool.size, lambda i: 1 + i % 4),
        "pooling: mode": (pool.mode, lambda i: ["max", "avg", "l2"][i % 3]),
        "pooling: source": (pool.source, lambda i: PoolingExplorer.SOURCES[i % 3]),
    }
    print(f"| control (median of {args.changes} changes) | ms a change |")
    print("| --- | ---: |")
    for name, (control, value) in changes.items():
        times = []
        for i in range(1, args.changes + 1):
            start = time.perf_counter()
            control.value = value(i)
            times.append(time.perf_counter() - start)
        print(f"| {name} | {1e3 * statistics.median(times):.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
