#!/usr/bin/env python3
"""Beyond the test set (issue 14): each CNN on changed and printed digits, its calibration, and
notebook 08's run time with the models cached.

Targets: the course's robust CNN keeps at least 98.5% on test digits turned 20 degrees and shifted 4
pixels (right; right and down), at least 99.5% on the printed digits, and an expected calibration error
of at most 0.5% after temperature scaling (fitted on the 10,000 training digits it did not train on);
notebook 08 runs in at most 60 s with cached models. Models come from the cache, or are trained first.

Usage: python benchmarks/bench_robustness.py [--no-notebook]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-notebook", action="store_true", help="skip timing notebook 08")
    args = parser.parse_args()

    from mnistlab.runtime import configure

    configure(seed=42, tensorflow=True, plots=False)
    ok = True
    from mnistlab import attacks, calibration, fonts, inference, robustness, training
    from mnistlab.data import load_mnist

    (x_train, y_train), (x_test, y_test) = load_mnist()
    configs = {"report": training.REPORT_PROTOCOL, "best": training.DEFAULTS["best"],
               "robust": training.DEFAULTS["robust"]}
    printed, printed_labels, info = fonts.printed_digits()
    rows = {}
    for name, config in configs.items():
        trained = training.load_or_train(config, progress=False)
        predict = inference.predictor(trained.model)
        scores = robustness.headline(predict, x_test, y_test)
        scores["printed"] = robustness.accuracy_under(predict, printed, printed_labels)
        test_p = predict(x_test)
        held = slice(config.train_size, None) if config.train_size <= 50_000 else slice(-10_000, None)
        temperature = calibration.fit_temperature(predict(x_train[held]), y_train[held])
        scores["ece"] = calibration.expected_calibration_error(test_p, y_test)
        scores["ece_t"] = calibration.expected_calibration_error(calibration.with_temperature(test_p, temperature),
                                                                 y_test)
        scores["t"] = temperature
        scores["held_out"] = config.train_size <= 50_000
        scores["seconds"] = trained.train_seconds
        import numpy as np

        steps = [attacks.adversarial(trained.model, x_test[i] / 255, int(y_test[i])).epsilon for i in range(100)]
        scores["fgsm"] = float(np.nanmedian(steps))
        rows[name] = scores

    print(f"All 10,000 test digits; printed: {len(printed):,} digits ({info['font'].nunique()} fonts of matplotlib, "
          f"sizes {sorted(info['size'].unique().tolist())} pt, angles {sorted(info['angle'].unique().tolist())} "
          "degrees). ECE: 15 bins; the temperature fitted on the training digits a model did not train on (the "
          "report's: 40,000; the robust CNN's: 10,000); the best CNN trained on all 60,000, so its temperature is "
          "fitted on 10,000 it saw. Training s: as the cache recorded it when the model was trained. "
          "Adversarial step: the median over the first 100 test digits of the smallest "
          "fast-gradient-sign step (a share of full brightness, tried in steps of 0.005) that changes the "
          "prediction.\n")
    print("| model | unchanged % | shift 4 right % | shift 4 diagonal % | rotate 20 % | printed % | ECE % | "
          "T | ECE after T % | adversarial step | training s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, s in rows.items():
        held = "" if s["held_out"] else " (not held out)"
        print(f"| {name} | {100 * s['unchanged']:.2f} | {100 * s['shift 4 right']:.2f} | "
              f"{100 * s['shift 4 diagonal']:.2f} | {100 * s['rotate 20']:.2f} | {100 * s['printed']:.2f} | "
              f"{100 * s['ece']:.2f} | {s['t']:.2f}{held} | {100 * s['ece_t']:.2f} | {s['fgsm']:.3f} | "
              f"{s['seconds']:.0f} |")

    robust = rows["robust"]
    checks = [("robust: shift 4 right >= 98.5%", robust["shift 4 right"] >= 0.985),
              ("robust: shift 4 diagonal >= 98.5%", robust["shift 4 diagonal"] >= 0.985),
              ("robust: rotate 20 >= 98.5%", robust["rotate 20"] >= 0.985),
              ("robust: printed digits >= 99.5%", robust["printed"] >= 0.995),
              ("robust: ECE after temperature scaling <= 0.5%", robust["ece_t"] <= 0.005)]
    if not args.no_notebook:
        import tempfile

        from mnistlab.course import run_course

        with tempfile.TemporaryDirectory() as build:
            start = time.perf_counter()
            results = run_course(ROOT / "notebooks", build, select=["08"], html=False, progress=False,
                                 log=lambda line: None)
            seconds = time.perf_counter() - start
        ok = all(r.ok for r in results)
        if not ok:
            print(f"notebook 08 FAILED: {results[0].error}")
        checks.append((f"notebook 08 with cached models: {seconds:.0f} s <= 60 s", ok and seconds <= 60))
    print()
    for text, met in checks:
        print(f"- {text}: {'met' if met else 'NOT met'}")
    return 0 if args.no_notebook or ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
