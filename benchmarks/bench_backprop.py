#!/usr/bin/env python3
"""The NumPy training loop (issue 12): the report's CNN trained by mnistlab.backprop alone.

Target on 2 cores: at least 98.5% test accuracy within 2 minutes of training (Adam at 0.001, batches
of 128, all 60,000 digits, at most 2 epochs or 120 s, whichever comes first). Printed beside Keras'
training throughput for the same model and batch, and where the NumPy step's time goes, layer by layer.

Usage: python benchmarks/bench_backprop.py
"""

from __future__ import annotations

import statistics
import time

from timing import median_seconds

ALLOWED_S = 120.0
NEEDED = 0.985


def layer_profile(net, x, labels) -> None:
    """Milliseconds of each layer's forward and backward pass on one batch (median of 5)."""
    import numpy as np

    from mnistlab import ops

    forward, backward = {}, {}
    for _ in range(5):
        a = x
        for i, layer in enumerate(net.layers):
            start = time.perf_counter()
            a = layer.forward(a, True)
            forward.setdefault(i, []).append(time.perf_counter() - start)
        g = ops.cross_entropy_backward(a, labels).astype(np.float32)
        for i in reversed(range(len(net.layers))):
            start = time.perf_counter()
            g = net.layers[i].backward(g)
            backward.setdefault(i, []).append(time.perf_counter() - start)
    rows = [(f"{i + 1}. {type(layer).__name__}", 1000 * statistics.median(forward[i]),
             1000 * statistics.median(backward[i])) for i, layer in enumerate(net.layers)]
    total = sum(f + b for _, f, b in rows)
    print(f"\nOne NumPy training step on a batch of {len(x)}, by layer (ms, median of 5):\n")
    print("| layer | forward | backward | share |")
    print("| --- | ---: | ---: | ---: |")
    for name, f, b in rows:
        print(f"| {name} | {f:.1f} | {b:.1f} | {(f + b) / total:.0%} |")
    print(f"| all | {sum(r[1] for r in rows):.1f} | {sum(r[2] for r in rows):.1f} | 100% |")


def main() -> int:
    import mnistlab

    print(mnistlab.configure(seed=42, tensorflow=True, plots=False))
    from bench_cnn import throughput

    from mnistlab import backprop, training
    from mnistlab.data import load_mnist
    from mnistlab.preprocess import add_channel, scale

    (x_train, y_train), (x_test, y_test) = load_mnist()
    x, x_test = add_channel(scale(x_train)), add_channel(scale(x_test))

    net = backprop.report_network(seed=0)
    steps = 40
    numpy_rate = 128 * steps / median_seconds(
        lambda: backprop.train(net, backprop.Adam(), x[:128 * steps], y_train[:128 * steps], batch_size=128,
                               progress=False), 5)
    keras_rate = throughput(training.DEFAULTS["report"])
    print("\nTraining throughput of the report's CNN, batch 128 (digits per second, medians):\n")
    print("| implementation | digits/s | relative |")
    print("| --- | ---: | ---: |")
    print(f"| Keras (TensorFlow) | {keras_rate:,.0f} | 1.00 |")
    print(f"| NumPy (mnistlab.backprop) | {numpy_rate:,.0f} | {numpy_rate / keras_rate:.2f} |")
    layer_profile(net, x[:128], y_train[:128])

    net = backprop.report_network(seed=42)
    history = backprop.train(net, backprop.Adam(1e-3), x, y_train, epochs=2, batch_size=128, seed=42,
                             test=(x_test, y_test), max_seconds=ALLOWED_S, progress=False)
    print(f"\nThe report's CNN trained in NumPy: Adam 0.001, batches of 128, 60,000 digits, up to 2 epochs or "
          f"{ALLOWED_S:.0f} s\n")
    print("| epoch | test accuracy |")
    print("| ---: | ---: |")
    for epoch, accuracy in enumerate(history.test_accuracy, start=1):
        print(f"| {epoch} | {100 * accuracy:.2f}% |")
    final = history.test_accuracy[-1]
    met = final >= NEEDED and history.seconds <= ALLOWED_S + 1
    print(f"\n{history.images:,} digits in {history.seconds:.0f} s of training ({history.images_per_second:,.0f} "
          f"digits/s): {100 * final:.2f}% (needed {100 * NEEDED:.1f}% within {ALLOWED_S:.0f} s) -> "
          f"{'met' if met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
