#!/usr/bin/env python3
"""Beyond the test set (issues 14 and 30): each CNN on changed and printed digits, its calibration, its training
cost, and notebook 08's run time with the models cached.

Targets for the course's default model (the robust CNN), over three seeds (42, 43, 44) trained on the first 50,000
training digits: on the 10,000 test digits at least 99.6% mean and 99.5% lowest; at least 98.5% shifted 4 pixels
right, 4 right and 4 down, and turned 20 degrees; at least 97% blurred by a Gaussian of 1.5 pixels and with Gaussian
noise of 0.3; at least 98% with strokes 2 pixels thicker on each side; at least 99.5% of the printed digits; an
expected calibration error of at most 0.5% after temperature scaling (fitted on the 10,000 training digits it did
not train on); at most 14 TFLOP of training arithmetic (digits seen x 3 x the forward FLOPs), which the issue put at
about 90 s of training on the targets' machine (the longest seed's seconds, scaled by the two peaks, are checked
against it). The changed-digit and printed targets are checked on the mean of the seeds; each seed is printed, and
the targets each seed alone misses are listed. The best CNN (the seed the course
ships) is measured against the same targets, to say which it misses. Notebook 08 runs in at most 60 s with the
models cached, on the targets' machine (float32 matrix-multiply peak about 250 GFLOP/s; elsewhere the seconds
are scaled by the two peaks). Models come from the cache, or the weights the course ships, or are trained first
(and cached).

Usage: python benchmarks/bench_robustness.py [--no-notebook]
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SEEDS = (42, 43, 44)
ITERATED_EPSILON = 0.1  # the bound of attacks.iterated's change, as notebook 08 uses it
TRAINING_SECONDS = 90.0  # at most, on the targets' machine: the issue's estimate for 14 TFLOP at today's best's pace

#: (what, score, at least); scores in percent. The ECE's ("ece_t", ECE_TARGET) and the training arithmetic's ("tflop")
#: are at most.
TARGETS = (("unchanged, mean of the seeds", "unchanged", 99.6), ("shift 4 right", "shift 4 right", 98.5),
           ("shift 4 diagonal", "shift 4 diagonal", 98.5), ("rotate 20", "rotate 20", 98.5),
           ("blur 1.5", "blur 1.5", 97.0), ("noise 0.3", "noise 0.3", 97.0), ("thicker 2", "thicker 2", 98.0),
           ("printed digits", "printed", 99.5))
ECE_TARGET = 0.5  # at most, in percent: the expected calibration error after temperature scaling
#: Every robust recipe this benchmark has scored, one row each (the means over SEEDS of the test digits' scores):
#: BENCHMARKS.md holds only the latest, and notebook 08 tells what the recipe before it scored.
HISTORY = Path(__file__).resolve().with_name("robustness_history.csv")
HISTORY_COLUMNS = ("unchanged", "unchanged, lowest seed", "shift 4 right", "shift 4 diagonal", "rotate 20", "blur 1.5",
                   "noise 0.3", "thicker 2", "printed", "ECE after T")


def remember(mean: dict, lowest: float, builder: str, description: str) -> int:
    """Append the robust recipe's means to HISTORY, unless its last row is already this recipe with these scores;
    returns how many robust recipes HISTORY then holds."""
    import csv
    import datetime

    scores = {**{k: mean[k] for k in HISTORY_COLUMNS if k in mean}, "unchanged, lowest seed": lowest,
              "ECE after T": mean["ece_t"]}
    row = {"date": datetime.date.today().isoformat(), "builder": builder, "recipe": description,
           **{f"{k} %": f"{scores[k]:.2f}" for k in HISTORY_COLUMNS}}
    rows = []
    if HISTORY.exists():
        with HISTORY.open(encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
    same = [k for k in row if k != "date"]
    if rows and all(rows[-1].get(k) == row[k] for k in same):
        return len(rows)
    with HISTORY.open("a", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(row))
        if not rows:
            writer.writeheader()
        writer.writerow(row)
    return len(rows) + 1


def scored(trained, x_train, y_train, x_test, y_test, printed, printed_labels, peak: float) -> dict:
    """Every measure of one trained model, accuracies in percent."""
    from mnistlab import architecture, attacks, calibration, inference, robustness

    config, model = trained.config, trained.model
    predict = inference.predictor(model)
    scores = {name: 100 * value for name, value in robustness.headline(predict, x_test, y_test).items()}
    scores["printed"] = 100 * robustness.accuracy_under(predict, printed, printed_labels)
    test_p = predict(x_test)
    held = slice(config.train_size, None) if config.train_size <= 50_000 else slice(-10_000, None)
    temperature = calibration.fit_temperature(predict(x_train[held]), y_train[held])
    scores["ece"] = 100 * calibration.expected_calibration_error(test_p, y_test)
    scores["ece_t"] = 100 * calibration.expected_calibration_error(
        calibration.with_temperature(test_p, temperature), y_test)
    scores["t"] = temperature
    scores["held_out"] = config.train_size <= 50_000
    steps = attacks.smallest_steps(model, x_test[:100], y_test[:100])  # inf where no step flips a digit
    scores["fgsm"] = float(np.median(steps))
    scores["unflipped"] = float(np.isinf(steps).sum())
    changed = attacks.iterated(model, x_test[:100], y_test[:100], ITERATED_EPSILON)
    scores["iterated"] = float((predict(changed).argmax(axis=1) != y_test[:100]).sum())
    flops = architecture.forward_flops(model)
    scores["tflop"] = config.epochs * config.train_size * 3 * flops / 1e12
    # The photo changes' blur, one convolution of every digit with each Gaussian kernel while training (no backward
    # pass, nothing at prediction): outside the formula (3 x the forward FLOPs), reported beside it.
    kernels = [layer._kernels for layer in model.layers if getattr(layer, "_kernels", None) is not None]
    scores["augment_tflop"] = sum(config.epochs * config.train_size * 28 * 28 * 2 * k.size
                                  for k in kernels) / 1e12
    scores["seconds"] = trained.train_seconds
    scores["share"] = scores["tflop"] * 1e3 / trained.train_seconds / peak
    return scores


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-notebook", action="store_true", help="skip timing notebook 08")
    args = parser.parse_args()

    from mnistlab.runtime import configure

    configure(seed=42, tensorflow=True, plots=False)
    from timing import matmul_peak_gflops, on_reference_machine

    from mnistlab import fonts, robustness, training
    from mnistlab.data import load_mnist
    from mnistlab.recipes import DEFAULT_MODEL

    peak = matmul_peak_gflops()
    (x_train, y_train), (x_test, y_test) = load_mnist()
    printed, printed_labels, info = fonts.printed_digits()
    configs = {"report": training.REPORT_PROTOCOL, "best": training.DEFAULTS["best"],
               **{f"robust, seed {seed}": dataclasses.replace(training.DEFAULTS["robust"], seed=seed)
                  for seed in SEEDS}}
    rows = {}
    for name, config in configs.items():
        trained = training.load_or_train(config, progress=False)
        rows[name] = scored(trained, x_train, y_train, x_test, y_test, printed, printed_labels, peak)
    seeds = [rows[f"robust, seed {seed}"] for seed in SEEDS]
    rows["robust, mean"] = {k: float(np.mean([s[k] for s in seeds])) for k in seeds[0]}
    lowest_clean = min(s["unchanged"] for s in seeds)
    robust = training.RECIPES[DEFAULT_MODEL]
    recipes_scored = remember(rows["robust, mean"], lowest_clean, robust.build, robust.description)

    print(f"All 10,000 test digits; printed: {len(printed):,} digits ({info['font'].nunique()} fonts of matplotlib, "
          f"sizes {sorted(info['size'].unique().tolist())} pt, angles {sorted(info['angle'].unique().tolist())} "
          "degrees). Thicker 2: strokes grown 2 pixels on each side (grey dilation). ECE: 15 bins; the temperature "
          "fitted on the training digits a model did not train on (the report's: 40,000; the robust CNN's: "
          "10,000); the best CNN trained on all 60,000, so its temperature is fitted on 10,000 it saw. Training "
          "TFLOP: digits seen (epochs x training digits) x 3 x the forward FLOPs. Training s: as the cache or the "
          "shipped record says it took when the model was trained; share of peak: its TFLOP over those seconds, "
          f"over the float32 matrix-multiply peak measured here ({peak:.0f} GFLOP/s). Adversarial step: the median "
          "over the first 100 test digits of the smallest fast-gradient-sign step (a share of full brightness, "
          "tried in steps of 0.005 up to 0.3) that changes the prediction (inf: half of them or more flip at none), "
          "and how many of the 100 no step up to 0.3 flips. Iterated: how many of the 100 digits twenty steps of "
          f"{ITERATED_EPSILON / 8:g}, each pixel kept within {ITERATED_EPSILON:g} of its value, flip "
          "(attacks.iterated).\n")
    columns = ["unchanged", *robustness.HEADLINE, "printed"]
    print("| model | " + " | ".join(f"{c} %" for c in columns) + " | ECE % | T | ECE after T % | adversarial step | "
          f"not flipped | iterated {ITERATED_EPSILON:g}: flipped | training TFLOP | training s | share of peak |")
    print("| --- |" + " ---: |" * (len(columns) + 9))
    for name, s in rows.items():
        held = "" if s["held_out"] else " (not held out)"
        print(f"| {name} | " + " | ".join(f"{s[c]:.2f}" for c in columns) +
              f" | {s['ece']:.2f} | {s['t']:.2f}{held} | {s['ece_t']:.2f} | {s['fgsm']:.3f} | {s['unflipped']:.0f} | "
              f"{s['iterated']:.0f} | {s['tflop']:.2f} | "
              f"{s['seconds']:.0f} | {s['share']:.0%} |")

    def checks(name: str, s: dict, lowest_clean: float | None,
               seconds: float | None = None) -> list[tuple[str, str, str, bool]]:
        """(model, target, the score against it, met) for each target; ``seconds``: its longest training here."""
        found = [(name, what if lowest_clean is not None or key != "unchanged" else "unchanged",
                  f"{s[key]:.2f}% >= {needed}%", s[key] >= needed) for what, key, needed in TARGETS]
        if lowest_clean is not None:
            found.insert(1, (name, "unchanged, lowest seed", f"{lowest_clean:.2f}% >= 99.5%", lowest_clean >= 99.5))
        found += [(name, "ECE after temperature scaling", f"{s['ece_t']:.2f}% <= {ECE_TARGET}%",
                   s["ece_t"] <= ECE_TARGET),
                  (name, "training arithmetic", f"{s['tflop']:.2f} TFLOP <= 14", s["tflop"] <= 14)]
        if seconds is not None:
            scaled = on_reference_machine(seconds, peak)
            found.append((name, "training time", f"{seconds:.0f} s here, about {scaled:.0f} s on the targets' machine "
                          f"<= {TRAINING_SECONDS:.0f} s", scaled <= TRAINING_SECONDS))
        return found

    extra = rows["robust, seed 42"]["augment_tflop"]
    print(f"\nThe robust CNN's photo changes also blur every training digit (one convolution per Gaussian width, "
          f"forward only): {extra:.2f} TFLOP more, outside the formula above.")
    default = f"{DEFAULT_MODEL} (the default; mean of seeds {', '.join(map(str, SEEDS))})"
    listed = checks(default, rows["robust, mean"], lowest_clean, max(s["seconds"] for s in seeds))
    listed += checks("best (the seed the course ships, 42)", rows["best"], None, rows["best"]["seconds"])
    alone = {f"{DEFAULT_MODEL}, seed {seed}" + (" (the one the course ships)" if seed == 42 else ""):
             [what for _, what, _, met in checks("", rows[f"robust, seed {seed}"], None) if not met]
             for seed in SEEDS}
    ok = True
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
        scaled = on_reference_machine(seconds, peak)
        listed.append(("the course", "notebook 08 with cached models",
                       f"{seconds:.0f} s here, about {scaled:.0f} s on the targets' machine <= 60 s",
                       ok and scaled <= 60))
    print()
    for name, what, score, met in listed:
        print(f"- {name}: {what} {score}: {'met' if met else 'NOT met'}")
    print()
    for name in dict.fromkeys(name for name, *_ in listed):
        missed = [what for n, what, _, met in listed if n == name and not met]
        print(f"{name} misses: {'; '.join(missed) if missed else 'none'}")
    print("\nEach seed alone, against the same targets (those for the mean of the seeds):")
    for name, missed in alone.items():
        print(f"- {name} misses: {'; '.join(missed) if missed else 'none'}")
    print(f"\nWhat these test-digit scores are worth: the test digits have scored {recipes_scored} robust recipes "
          "(robustness_history.csv, one row each), and the search's later rounds were begun because of those scores, "
          "their margins set from them (docs/robust_search.md). The recipe was chosen on validation digits, but the "
          "test digits have steered the search: they are no longer an untouched estimate. The printed digits are "
          "those the search also scored its candidates on.")
    return 0 if args.no_notebook or ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
