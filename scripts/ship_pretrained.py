"""Train the models whose weights the course ships and write them into the package (mnistlab/pretrained/).

    python scripts/ship_pretrained.py            # every model of mnistlab.pretrained.SHIPPED
    python scripts/ship_pretrained.py robust     # one of them
    python scripts/ship_pretrained.py --cached   # models the cache holds from this very code: no training

Each is trained seeded, exactly as ``mnistlab train --model NAME --retrain`` trains it (minutes
each on a laptop). Run it after changing a shipped recipe or the code that builds and
trains it: tests/test_pretrained.py fails until the shipped weights are trained from the code again.
"""

from __future__ import annotations

import argparse
import sys

from mnistlab import pretrained
from mnistlab.recipes import DEFAULTS
from mnistlab.runtime import configure


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", metavar="MODEL",
                        help=f"one or more of {', '.join(pretrained.SHIPPED)} (default: all)")
    parser.add_argument("--cached", action="store_true",
                        help="take a model from the cache where it holds one trained from this code and versions")
    args = parser.parse_args()
    unknown = [name for name in args.models if name not in pretrained.SHIPPED]
    if unknown:
        parser.error(f"MODEL: expected one of {', '.join(pretrained.SHIPPED)}; got {', '.join(unknown)}")
    configure(seed=DEFAULTS[pretrained.SHIPPED[0]].seed, tensorflow=True, plots=False)
    from mnistlab import training  # after configure: it imports TensorFlow

    for name in args.models or pretrained.SHIPPED:
        config = DEFAULTS[name]  # training.train seeds each model with its own config.seed
        found = training.cached(config) if args.cached else None
        trained = found or training.train(config, progress=True)
        record = {"identity": config.identity(), "history": trained.history,
                  "train_seconds": trained.train_seconds, "test_accuracy": trained.test_accuracy}
        target = pretrained.write(name, trained.model.get_weights(), record)
        print(f"{name}: {100 * trained.test_accuracy:.2f}% test accuracy, trained in {trained.train_seconds:.0f} s; "
              f"wrote {target}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
