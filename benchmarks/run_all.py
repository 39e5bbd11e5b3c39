#!/usr/bin/env python3
"""Run every benchmark script and write BENCHMARKS.md with the machine it ran on.

The README's numbers come from that file. Takes about 20 minutes on a 2-core machine (the CNN
trainings and the notebooks dominate). Usage: python benchmarks/run_all.py [--out BENCHMARKS.md]
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

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = [
    ("Data loading", "bench_data.py"),
    ("Operations against TensorFlow", "bench_ops.py"),
    ("Explorers", "bench_widgets.py"),
    ("Classical baselines (the report's protocol)", "bench_baselines.py"),
    ("CNNs: targets and training speed", "bench_cnn.py"),
    ("Notebooks' run times (empty cache)", "bench_notebooks.py"),
]


def machine() -> str:
    """One line about the machine: CPU model, cores, memory, Python and library versions."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        memory = int(Path("/proc/meminfo").read_text().split()[1]) / 2**20
    except OSError:
        memory = float("nan")
    versions = subprocess.run([sys.executable, "-c", "import numpy, sklearn, tensorflow, keras; print("
                               "f'NumPy {numpy.__version__}, scikit-learn {sklearn.__version__}, "
                               "TensorFlow {tensorflow.__version__}, Keras {keras.__version__}')"],
                              capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}).stdout
    return (f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB; {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}; {versions.strip()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args()
    sections = [f"# Benchmarks\n\nWritten by `python benchmarks/run_all.py` on "
                f"{datetime.date.today().isoformat()}.\n\nMachine: {machine()}\n\n"
                "Timings on shared machines are noisy: each script quotes medians or ratios within one run."]
    status = 0
    for title, script in SCRIPTS:
        start = time.perf_counter()
        run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script)], capture_output=True, text=True,
                             env={**os.environ, "TQDM_DISABLE": "1"})
        took = time.perf_counter() - start
        status |= run.returncode
        body = run.stdout.strip() + (f"\n\nFAILED (exit {run.returncode}):\n{run.stderr[-2000:]}"
                                      if run.returncode else "")
        sections.append(f"## {title}\n\n`python benchmarks/{script}` ({took:.0f} s)\n\n```text\n{body}\n```")
        print(f"{script}: {took:.0f} s{'' if not run.returncode else ' FAILED'}", flush=True)
    args.out.write_text("\n\n".join(sections) + "\n")
    print(f"wrote {args.out}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
