#!/usr/bin/env python3
"""mnistlab.ops against TensorFlow on this machine: the issue's two speed targets and a few more rows.

Targets (issue 3): a batch of 1,000 28x28 digits through 32 3x3 filters in at most 1.5x the time of
``tf.nn.conv2d`` on the same input in the same process; one digit through one 3x3 kernel in under
1 ms, so the explorers stay live. Rounds alternate between the two implementations and the table
quotes medians, since this machine's timings are noisy.

Usage: python benchmarks/bench_ops.py [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
from timing import median_seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds (each times 5 calls a side)")
    args = parser.parse_args()

    import mnistlab

    config = mnistlab.configure(seed=0, tensorflow=True, plots=False)
    import tensorflow as tf

    from mnistlab import ops
    from mnistlab.data import load_mnist
    from mnistlab.preprocess import scale

    (x_train, _), _ = load_mnist()
    digits = scale(x_train[:1000])[..., None]
    rng = np.random.default_rng(0)
    cases = {
        "conv 1000x28x28x1, 32 3x3, valid": (
            lambda x, k: ops.conv2d(x, k), lambda x, k: tf.nn.conv2d(x, k, 1, "VALID").numpy(),
            digits, rng.standard_normal((3, 3, 1, 32)).astype(np.float32)),
        "conv 1000x28x28x1, 32 3x3, same, stride 2": (
            lambda x, k: ops.conv2d(x, k, stride=2, padding="same"),
            lambda x, k: tf.nn.conv2d(x, k, 2, "SAME").numpy(),
            digits, rng.standard_normal((3, 3, 1, 32)).astype(np.float32)),
        "conv 1000x13x13x32, 64 3x3, valid": (
            lambda x, k: ops.conv2d(x, k), lambda x, k: tf.nn.conv2d(x, k, 1, "VALID").numpy(),
            rng.random((1000, 13, 13, 32), dtype=np.float32), rng.standard_normal((3, 3, 32, 64)).astype(np.float32)),
        "max pool 2x2, 1000x26x26x32": (
            lambda x, _: ops.pool2d(x, 2), lambda x, _: tf.nn.max_pool2d(x, 2, 2, "VALID").numpy(),
            rng.random((1000, 26, 26, 32), dtype=np.float32), None),
    }
    print(f"machine: {config}; TensorFlow {tf.__version__}, NumPy {np.__version__}\n")
    print("| operation | mnistlab.ops (ms) | TensorFlow (ms) | ratio |")
    print("| --- | ---: | ---: | ---: |")
    for name, (ours, theirs, x, k) in cases.items():
        x_tf = tf.constant(x)
        k_tf = tf.constant(k) if k is not None else None
        np.testing.assert_allclose(ours(x, k), theirs(x_tf, k_tf), rtol=1e-4, atol=1e-4)
        a, b = [], []
        for _ in range(args.rounds):
            a.append(median_seconds(lambda: ours(x, k), 5))  # noqa: B023
            b.append(median_seconds(lambda: theirs(x_tf, k_tf), 5))  # noqa: B023
        ratio = statistics.median(ai / bi for ai, bi in zip(a, b, strict=True))
        print(f"| {name} | {1e3 * statistics.median(a):.2f} | {1e3 * statistics.median(b):.2f} | {ratio:.2f} |")

    digit = scale(x_train[0])
    kernel = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)
    single = statistics.median(median_seconds(lambda: ops.conv2d(digit, kernel), 50) for _ in range(5))
    print(f"\none digit (28x28) through one 3x3 kernel: {1e3 * single:.3f} ms (target: under 1 ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
