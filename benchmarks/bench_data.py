#!/usr/bin/env python3
"""Data loading: how long load_mnist() takes, cold (first call in a process) and cached, and read_csv.

Prints a table of medians over fresh processes. Usage: python benchmarks/bench_data.py [--repeats N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COLD = """
import time
t = time.perf_counter()
from mnistlab.data import load_mnist
t_import = time.perf_counter()
load_mnist()
t_cold = time.perf_counter()
load_mnist()
t_warm = time.perf_counter()
print(t_import - t, t_cold - t_import, t_warm - t_cold)
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    runs = [list(map(float, subprocess.run([sys.executable, "-c", COLD], capture_output=True, text=True,
                                           check=True).stdout.split())) for _ in range(args.repeats)]
    imports, colds, warms = zip(*runs, strict=True)

    import numpy as np

    from mnistlab.data import load_mnist, read_csv

    (x, y), _ = load_mnist()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "train.csv"
        np.savetxt(path, np.column_stack([y, x.reshape(len(x), -1)]), fmt="%d", delimiter=",")
        csv_times = []
        for _ in range(max(1, args.repeats // 2)):
            t = time.perf_counter()
            read_csv(path)
            csv_times.append(time.perf_counter() - t)

    print(f"| what (median of {args.repeats}) | seconds |")
    print("| --- | ---: |")
    print(f"| import mnistlab.data | {statistics.median(imports):.3f} |")
    print(f"| load_mnist(), first call (gunzip + MD5 check + parse) | {statistics.median(colds):.3f} |")
    print(f"| load_mnist(), cached (fresh copies) | {statistics.median(warms):.3f} |")
    print(f"| read_csv(), 60,000-row CSV (checked) | {statistics.median(csv_times):.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
