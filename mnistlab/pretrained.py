"""Trained weights shipped with the course: the slow models need no training on a learner's machine.

The best and the robust CNN take minutes to train on a laptop.
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

from mnistlab.cache import arrays_digest
from mnistlab.errors import MnistlabError
from mnistlab.runtime import cpu_name

__all__ = ["ENV", "SHIPPED", "PretrainedError", "enabled", "folder", "path", "read", "same_training",
           "weights", "write"]

#: Set to 0 to train every model instead of taking the shipped weights.
ENV = "MNISTLAB_PRETRAINED"

#: The models whose weights the course ships (their configs are ``recipes.DEFAULTS[name]``).
SHIPPED = ("best", "robust")

_META = "meta"


class PretrainedError(MnistlabError):
    """A shipped weights file that cannot be used (damaged, changed, or holding non-finite numbers)."""


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
    """The record of a shipped model (what trained it and how it scored), or ``None`` if none is shipped.
    Raises :class:`PretrainedError` (one line) for a file that cannot be read."""
    file = path(name)
    if not file.is_file():
        return None
    try:
        with np.load(file, allow_pickle=False) as data:
            record = json.loads(str(data[_META]))
    except Exception as exc:  # noqa: BLE001 - truncated, not a zip, no record: the file is damaged
        raise PretrainedError(f"{file}: damaged ({type(exc).__name__}: {exc})") from exc
    if not isinstance(record, dict) or not isinstance(record.get("arrays"), int):
        raise PretrainedError(f"{file}: its record is not a shipped model's")
    return record


def same_training(record: dict, identity: dict) -> bool:
    """Whether a shipped record was trained from ``identity`` (a ``TrainConfig.identity()``), versions aside."""
    def without_versions(d: dict) -> dict:  # as JSON has it: tuples become lists
        return json.loads(json.dumps({k: v for k, v in d.items() if k != "versions"}, sort_keys=True))

    return without_versions(record.get("identity", {})) == without_versions(identity)


def weights(name: str) -> list[np.ndarray]:
    """The shipped weight arrays of a model, in the order of Keras' ``model.get_weights()``, checked against the
    SHA-256 in its record and for finite values; raises :class:`PretrainedError` (one line) otherwise."""
    file = path(name)
    record = read(name)
    if record is None:
        raise PretrainedError(f"{file}: no such file")
    try:
        with np.load(file, allow_pickle=False) as data:
            arrays = [data[f"w{i:03d}"] for i in range(record["arrays"])]
    except Exception as exc:  # noqa: BLE001 - a missing or damaged array
        raise PretrainedError(f"{file}: damaged ({type(exc).__name__}: {exc})") from exc
    if record.get("sha256") != arrays_digest(arrays):
        raise PretrainedError(f"{file}: its weights do not match the SHA-256 of its record (changed or damaged)")
    if not all(np.isfinite(a).all() for a in arrays):
        raise PretrainedError(f"{file}: its weights hold NaN or infinite values")
    return arrays


def write(name: str, arrays: Sequence[np.ndarray], record: dict, *, target: Path | None = None) -> Path:
    """Write a model's weights and its record to ``target`` (default :func:`path`); returns the file.

    The record gains the number of arrays and the machine it was written on.
    """
    target = path(name) if target is None else target
    arrays = [np.asarray(a) for a in arrays]
    if not all(np.isfinite(a).all() for a in arrays):
        raise PretrainedError(f"{name}: the weights hold NaN or infinite values; not shipped")
    record = {**record, "arrays": len(arrays), "sha256": arrays_digest(arrays),
              "machine": f"{cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}"}
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial.npz")
    np.savez_compressed(partial, **{f"w{i:03d}": np.asarray(a) for i, a in enumerate(arrays)},
                        **{_META: np.array(json.dumps(record, sort_keys=True))})
    partial.replace(target)
    return target
