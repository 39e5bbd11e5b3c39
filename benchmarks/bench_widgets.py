#!/usr/bin/env python3
"""How long each explorer control takes to re-render (target, issue 3: under 50 ms a change), and how long
the drawing pad takes to read a digit once a stroke ends (target, issue 13: under 100 ms).

Sets each control as a learner would, headless, and prints the median milliseconds a change. The pad
reads with the course's best CNN from the model cache (the quick one, trained first if need be, when
the best was never trained); the browser adds its round trip, which tests/e2e prints.
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
    drawing_pad(args.changes)
    return 0


def drawing_pad(strokes: int) -> None:
    """Median milliseconds from a stroke's end to the pad's widgets updated (rasterise, prepare, read, draw)."""
    import mnistlab

    mnistlab.configure(seed=42, tensorflow=True, plots=False)
    from mnistlab import drawing, training

    model = training.course_model(progress=False)
    pad = drawing.DrawingPad(model)
    seven = [(85, 60), (195, 60), (120, 230)]
    times = []
    for i in range(strokes + 1):
        pad.clear()
        pad.stroke([(x + i % 5, y) for x, y in seven])
        assert pad.reading.predicted == 7, pad.prediction.value
        times.append(pad.latency_ms)
    convolutions, median = ", ".join(pad.map_images), statistics.median(times[1:])
    print(f"\nDrawing pad, {model.name} ({convolutions}): a 7 drawn, read in a median {median:.1f} ms from the "
          f"stroke's end (slowest {max(times[1:]):.1f} ms; target 100 ms) -> {'met' if median <= 100 else 'NOT met'}")


if __name__ == "__main__":
    raise SystemExit(main())
