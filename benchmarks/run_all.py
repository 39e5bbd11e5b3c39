#!/usr/bin/env python3
"""Run every benchmark script and write BENCHMARKS.md with the machine it ran on.

The README's numbers come from that file. Takes about 40 minutes on a 2-core machine (the CNN
trainings and the notebooks dominate). ``--only bench_backprop.py`` re-runs the scripts named and
replaces only their sections, each then saying the date and machine it ran on.

Usage: python benchmarks/run_all.py [--out BENCHMARKS.md] [--only SCRIPT ...]
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from mnistlab.runtime import cpu_name

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = [
    ("Data loading", "bench_data.py"),
    ("Operations against TensorFlow", "bench_ops.py"),
    ("Explorers", "bench_widgets.py"),
    ("Classical baselines (the report's protocol)", "bench_baselines.py"),
    ("CNNs: targets and training speed", "bench_cnn.py"),
    ("The NumPy training loop (mnistlab.backprop)", "bench_backprop.py"),
    ("Beyond the test set: changed, printed and adversarial digits", "bench_robustness.py"),
    ("Notebooks' run times (empty cache)", "bench_notebooks.py"),
]


def machine() -> str:
    """One line about the machine: CPU model, cores, memory, Python and library versions."""
    try:
        memory = int(Path("/proc/meminfo").read_text().split()[1]) / 2**20
    except OSError:
        memory = float("nan")
    versions = subprocess.run([sys.executable, "-c", "import numpy, sklearn, tensorflow, keras; print("
                               "f'NumPy {numpy.__version__}, scikit-learn {sklearn.__version__}, "
                               "TensorFlow {tensorflow.__version__}, Keras {keras.__version__}')"],
                              capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}).stdout
    return (f"{cpu_name()}, {os.cpu_count()} cores, {memory:.0f} GiB; {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}; {versions.strip()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--only", nargs="+", choices=[script for _, script in SCRIPTS], metavar="SCRIPT",
                        help="run only these scripts and replace their sections of an existing --out")
    args = parser.parse_args()
    header = (f"# Benchmarks\n\nWritten by `python benchmarks/run_all.py` on {datetime.date.today().isoformat()}.\n\n"
              f"Machine: {machine()}\n\n"
              "Timings on shared machines are noisy: each script quotes medians or ratios within one run.")
    chosen = args.only or [script for _, script in SCRIPTS]
    kept = {}
    if args.only:
        if not args.out.exists():
            parser.error(f"--only replaces sections of {args.out}, which does not exist: run without --only first")
        header, *rest = args.out.read_text().rstrip("\n").split("\n\n## ")
        kept = {part.split("\n", 1)[0]: "## " + part for part in rest}
    status = 0
    for title, script in SCRIPTS:
        if script not in chosen:
            continue
        start = time.perf_counter()
        run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script)], capture_output=True, text=True,
                             env={**os.environ, "TQDM_DISABLE": "1"})
        took = time.perf_counter() - start
        status |= run.returncode
        body = run.stdout.strip() + (f"\n\nFAILED (exit {run.returncode}):\n{run.stderr[-2000:]}"
                                      if run.returncode else "")
        where = ""
        if args.only:  # a section run later than the header: say when, and where if the machine differs
            here = machine()
            where = f", run on {datetime.date.today().isoformat()}" + (
                "" if f"Machine: {here}\n" in header + "\n" else f" on {here}: not the machine above")
        kept[title] = f"## {title}\n\n`python benchmarks/{script}` ({took:.0f} s{where})\n\n```text\n{body}\n```"
        print(f"{script}: {took:.0f} s{'' if not run.returncode else ' FAILED'}", flush=True)
    sections = [header] + [kept[title] for title, _ in SCRIPTS if title in kept]
    args.out.write_text("\n\n".join(sections) + "\n")
    print(f"wrote {args.out}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
