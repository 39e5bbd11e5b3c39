#!/usr/bin/env python3
"""The CNN targets of issue 5, trained from scratch here (the cache is not used), and training speed.

Targets: the report's model on the report's protocol >= 98.0%; on all 60,000 digits >= 99.0%; the
compact model >= 99.5% with at most 5 minutes (300 s) of training. Throughput is printed beside the
FLOPs of one training step (about 3x the forward pass) and the machine's float32 matrix-multiply
peak, so the distance to the limit is visible.

Usage: python benchmarks/bench_cnn.py [--skip-training]
"""

from __future__ import annotations

import argparse
import time


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


def throughput(config, steps: int = 60) -> float:
    """Training images per second, after one warm-up epoch slice, on the config's recipe."""
    from mnistlab import training

    (x, y), _, _ = training.training_data(config)
    model = training.build(config)
    n = config.batch_size * steps
    model.fit(x[: config.batch_size * 5], y[: config.batch_size * 5], batch_size=config.batch_size, verbose=0)
    start = time.perf_counter()
    model.fit(x[:n], y[:n], batch_size=config.batch_size, epochs=1, verbose=0)
    return n / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-training", action="store_true", help="only the throughput table")
    args = parser.parse_args()

    import mnistlab

    print(mnistlab.configure(seed=42, tensorflow=True, plots=False))
    from mnistlab import models, training

    peak = matmul_peak_gflops()
    print(f"\nfloat32 matrix-multiply peak here (NumPy BLAS, 2048x2048): {peak:.0f} GFLOP/s\n")
    print("| model | parameters | forward MFLOP / image | training step (batch 128) GFLOP | images/s | "
          "achieved GFLOP/s | share of peak |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name in ("report", "compact"):
        config = training.DEFAULTS[name]
        recipe = training.RECIPES[name]
        model = getattr(models, recipe.build)(**recipe.build_args)
        flops = models.forward_flops(model)
        rate = throughput(config)
        achieved = 3 * flops * rate / 1e9
        print(f"| {name} | {model.count_params():,} | {flops / 1e6:.1f} | {3 * flops * 128 / 1e9:.2f} | "
              f"{rate:,.0f} | {achieved:.1f} | {achieved / peak:.0%} |")
    if args.skip_training:
        return 0

    targets = [("report's model, report's protocol (20,000 digits, 10 epochs)", training.REPORT_PROTOCOL, 0.980, None),
               ("report's model, 60,000 digits, 10 epochs", training.DEFAULTS["report"], 0.990, None),
               ("compact model, 60,000 digits, 20 epochs", training.DEFAULTS["compact"], 0.995, 300.0)]
    print("\n| target | test accuracy | needed | training s | allowed s | met |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for what, config, needed, allowed in targets:
        trained = training.train(config, progress=False)
        met = trained.test_accuracy >= needed and (allowed is None or trained.train_seconds <= allowed)
        print(f"| {what} | {100 * trained.test_accuracy:.2f}% | {100 * needed:.1f}% | {trained.train_seconds:.0f} | "
              f"{'' if allowed is None else f'{allowed:.0f}'} | {'yes' if met else 'NO'} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
