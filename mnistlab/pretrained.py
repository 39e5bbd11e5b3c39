"""Trained weights shipped with the course: the slow models need no training on a learner's machine.

The best and the robust CNN take minutes to train on a laptop (8 minutes each on a slow 2-core one).
``python scripts/ship_pretrained.py`` trains them, seeded, exactly as ``mnistlab train`` does, and
writes ``mnistlab/pretrained/NAME.npz``: the weights and a record of what trained them (the config,
the recipe, the digests of the builder's and the training code, the library versions, the machine,
the history, the training seconds and the test accuracy). :func:`mnistlab.training.load_or_train`
takes them, after the cache, only for the config and the code they were trained from (library
versions aside: the weights are plain arrays); any change to the recipe or to that code makes them
stale, and ``tests/test_pretrained.py`` says so. ``MNISTLAB_PRETRAINED=0`` or ``--retrain`` trains
instead. Importing this module imports no TensorFlow.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np

from mnistlab.runtime import cpu_name

__all__ = ["ENV", "SHIPPED", "enabled", "folder", "path", "read", "same_training", "weights", "write"]

#: Set to 0 to train every model instead of taking the shipped weights.
ENV = "MNISTLAB_PRETRAINED"

#: The models whose weights the course ships (their configs are ``recipes.DEFAULTS[name]``).
SHIPPED = ("best", "robust")

_META = "meta"


def enabled() -> bool:
    """Whether shipped weights may be used (``$MNISTLAB_PRETRAINED`` is not 0)."""
    return os.environ.get(ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def folder() -> Path:
    """The package folder that holds the shipped weights."""
    return Path(str(resources.files("mnistlab").joinpath("pretrained")))


def path(name: str) -> Path:
    """The file of a shipped model's weights (it may not exist)."""
    return folder() / f"{name}.npz"


def read(name: str) -> dict | None:
    """The record of a shipped model (what trained it and how it scored), or ``None`` if none is shipped."""
    file = path(name)
    if not file.is_file():
        return None
    with np.load(file, allow_pickle=False) as data:
        return json.loads(str(data[_META]))


def same_training(record: dict, identity: dict) -> bool:
    """Whether a shipped record was trained from ``identity`` (a ``TrainConfig.identity()``), versions aside."""
    def without_versions(d: dict) -> dict:  # as JSON has it: tuples become lists
        return json.loads(json.dumps({k: v for k, v in d.items() if k != "versions"}, sort_keys=True))

    return without_versions(record.get("identity", {})) == without_versions(identity)


def weights(name: str) -> list[np.ndarray]:
    """The shipped weight arrays of a model, in the order of Keras' ``model.get_weights()``."""
    with np.load(path(name), allow_pickle=False) as data:
        count = json.loads(str(data[_META]))["arrays"]
        return [data[f"w{i:03d}"] for i in range(count)]


def write(name: str, arrays: Sequence[np.ndarray], record: dict, *, target: Path | None = None) -> Path:
    """Write a model's weights and its record to ``target`` (default :func:`path`); returns the file.

    The record gains the number of arrays and the machine it was written on.
    """
    target = path(name) if target is None else target
    record = {**record, "arrays": len(arrays),
              "machine": f"{cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}"}
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial.npz")
    np.savez_compressed(partial, **{f"w{i:03d}": np.asarray(a) for i, a in enumerate(arrays)},
                        **{_META: np.array(json.dumps(record, sort_keys=True))})
    partial.replace(target)
    return target
