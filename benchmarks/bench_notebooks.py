#!/usr/bin/env python3
"""Each notebook's run time, executed as `mnistlab course` does, with an empty model cache.

With an empty cache every notebook pays for what it computes the first time (notebook 07 then reuses
what 04 and 05 cached, as it does for a learner who runs the course in order). The best and the robust
CNN come from the weights the course ships (mnistlab.pretrained), as on a learner's new machine;
``--no-pretrained`` trains them too. Target (issue 11): the whole course, every notebook, in at most 300 s on
a 2-core machine whose float32 matrix-multiply peak is about 250 GFLOP/s. The peak is measured here first, and the
seconds are also given scaled by the two peaks (an estimate: not all of the course is matrix products), which
the verdict uses.

Usage: python benchmarks/bench_notebooks.py [--only TEXT ...] [--keep-cache] [--no-pretrained]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from timing import REFERENCE_PEAK_GFLOPS, matmul_peak_gflops, on_reference_machine

from mnistlab import pretrained

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", metavar="TEXT", help="only notebooks whose name contains TEXT")
    parser.add_argument("--keep-cache", action="store_true", help="use the user's cache instead of an empty one")
    parser.add_argument("--no-pretrained", action="store_true", help="train the models the course ships weights for")
    args = parser.parse_args()
    if args.no_pretrained:
        os.environ[pretrained.ENV] = "0"

    from mnistlab.course import run_course

    peak = matmul_peak_gflops()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.keep_cache:
            os.environ["MNISTLAB_CACHE"] = str(Path(tmp) / "cache")
        results = run_course(ROOT / "notebooks", Path(tmp) / "build", select=args.only, html=False, progress=False,
                             log=lambda line: None)
    print("| notebook | seconds | ok |")
    print("| --- | ---: | --- |")
    for r in results:
        print(f"| {r.source.stem} | {r.seconds:.0f} | {'yes' if r.ok else 'FAILED: ' + str(r.error)} |")
    total = sum(r.seconds for r in results)
    print(f"| all | {total:.0f} | |")
    scaled = on_reference_machine(total, peak)
    print(f"\nfloat32 matrix-multiply peak here (NumPy BLAS, 2048x2048): {peak:.0f} GFLOP/s; the targets' machine: "
          f"about {REFERENCE_PEAK_GFLOPS}. All: {total:.0f} s here, about {scaled:.0f} s scaled to that machine")
    if not args.only:
        shipped = "training every model" if args.no_pretrained else "the shipped best and robust CNNs"
        print(f"the whole course from an empty model cache ({shipped}): about {scaled:.0f} s on the targets' machine "
              f"(target: at most 300 s) -> {'met' if scaled <= 300 else 'NOT met'}")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
