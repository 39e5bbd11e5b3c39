"""A model's accuracy on digits changed on purpose: along each transform (:func:`sweep`) and at the changes
the course's targets name (:func:`headline`).

The transforms are :mod:`mnistlab.transforms`'; ``predict`` is any ``images -> probabilities`` function
(:func:`mnistlab.inference.predictor` makes one of a Keras model). :func:`load_or_headline` and
:func:`load_or_sweep` keep a Keras model's scores in the user's cache (:mod:`mnistlab.cache`), so that
notebooks 07 and 08 and the benchmarks share one computation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from mnistlab import cache
from mnistlab.inference import predictor
from mnistlab.preprocess import as_digits
from mnistlab.transforms import TRANSFORMS, transformed

if TYPE_CHECKING:
    import keras
    import pandas as pd

__all__ = ["HEADLINE", "Sweep", "accuracy_table", "accuracy_under", "headline", "load_or_headline", "load_or_sweep",
           "sweep"]


@dataclass
class Sweep:
    """A model's accuracy along each transform (:attr:`table`) and its predictions (:attr:`predicted`)."""

    table: object                      # pandas DataFrame: transform, strength, unit, accuracy
    labels: np.ndarray
    predicted: dict[tuple[str, float], np.ndarray] = field(repr=False)

    def accuracy(self, name: str, strength: float) -> float:
        """The accuracy under one transform at one strength."""
        return float((self.predicted[name, strength] == self.labels).mean())

    def first_failures(self, name: str) -> object:
        """Digits right when unchanged and wrong at some strength of ``name``, at the mildest such strength.

        A DataFrame (index, strength, predicted), the mildest failures first.
        """
        import pandas as pd

        transform = TRANSFORMS[name]
        right = self.predicted[name, transform.identity] == self.labels
        found: dict[int, tuple[float, int]] = {}
        changed = sorted((s for s in transform.strengths if s != transform.identity),
                         key=lambda s: abs(s - transform.identity))
        for strength in changed:
            wrong = np.flatnonzero(right & (self.predicted[name, strength] != self.labels))
            for i in wrong:
                found.setdefault(int(i), (strength, int(self.predicted[name, strength][i])))
        rows = [{"index": i, "strength": s, "predicted": p} for i, (s, p) in found.items()]
        order = {s: k for k, s in enumerate(changed)}
        table = pd.DataFrame(rows, columns=["index", "strength", "predicted"])
        return table.sort_values("strength", key=lambda c: c.map(order), kind="stable").reset_index(drop=True)


def sweep(predict: Callable[[np.ndarray], np.ndarray], images: np.ndarray, labels: np.ndarray,
          names: Iterable[str] | None = None) -> Sweep:
    """``predict``'s accuracy on ``images`` under each transform of :data:`TRANSFORMS` (or ``names``) at
    each of its strengths. The unchanged digits are predicted once."""
    import pandas as pd

    images = as_digits(images)
    labels = np.asarray(labels)
    if labels.shape != (len(images),):
        raise ValueError(f"labels: expected {len(images)} labels, got shape {labels.shape}")
    names = list(TRANSFORMS if names is None else names)
    for name in names:
        if name not in TRANSFORMS:
            raise ValueError(f"names: expected transforms among {', '.join(TRANSFORMS)}; got {name!r}")
    clean = np.asarray(predict(images)).argmax(axis=1)
    predicted, rows = {}, []
    for name in names:
        transform = TRANSFORMS[name]
        for strength in sorted(transform.strengths):
            guess = clean if strength == transform.identity else np.asarray(
                predict(transform.apply(images, strength))).argmax(axis=1)
            predicted[name, strength] = guess
            rows.append({"transform": name, "strength": strength, "unit": transform.unit,
                         "accuracy": float((guess == labels).mean())})
    return Sweep(pd.DataFrame(rows), labels, predicted)


def accuracy_table(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Several models' sweeps side by side, the numbers behind :func:`mnistlab.plots.robustness_curves`: accuracy
    in % (one decimal), a row per transform (with its unit) and strength, a column per model, in the sweeps' order.

    ``tables`` maps a model's name to its :attr:`Sweep.table`.
    """
    import pandas as pd

    columns = []
    for name, table in tables.items():
        transform = [f"{kind} ({unit})" for kind, unit in zip(table["transform"], table["unit"], strict=True)]
        strength = [f"{s:g}" for s in table["strength"]]
        index = pd.MultiIndex.from_arrays([transform, strength], names=["transform", "strength"])
        columns.append(pd.Series(100 * table["accuracy"].to_numpy(), index=index, name=name))
    return pd.concat(columns, axis=1, sort=False).round(1)


#: The changes the course's targets name: a 4-pixel shift (right; right and down), a 20-degree turn, a Gaussian blur
#: of 1.5 pixels, Gaussian noise of 0.3 and strokes 2 pixels thicker (name: (transform, strength)).
HEADLINE: dict[str, tuple[str, float]] = {"shift 4 right": ("shift right", 4),
                                          "shift 4 diagonal": ("shift diagonal", 4), "rotate 20": ("rotate", 20),
                                          "blur 1.5": ("blur", 1.5), "noise 0.3": ("noise", 0.3),
                                          "thicker 2": ("thickness", 2)}


def headline(predict: Callable[[np.ndarray], np.ndarray], images: np.ndarray, labels: np.ndarray,
             changes: dict[str, tuple[str, float]] | None = None) -> dict[str, float]:
    """Accuracy on the unchanged digits and under each change of ``changes`` (name: (transform, strength);
    default :data:`HEADLINE`), by name."""
    scores = {"unchanged": accuracy_under(predict, images, labels)}
    for name, (transform, strength) in (HEADLINE if changes is None else changes).items():
        scores[name] = accuracy_under(predict, images, labels, lambda x, t=transform, s=strength: transformed(x, t, s))
    return scores


def accuracy_under(predict: Callable[[np.ndarray], np.ndarray], images: np.ndarray, labels: np.ndarray,
                   transform: Callable[[np.ndarray], np.ndarray] | None = None) -> float:
    """The share of ``labels`` that ``predict`` (images -> probabilities) gets right after ``transform``."""
    images = as_digits(images)
    labels = np.asarray(labels)
    if labels.shape != (len(images),):
        raise ValueError(f"labels: expected {len(images)} labels, got shape {labels.shape}")
    changed = images if transform is None else transform(images)
    return float((np.asarray(predict(changed)).argmax(axis=1) == labels).mean())


#: The functions whose code decides a cached result (with those of :mod:`mnistlab.transforms` and the
#: transforms' strengths): its key digests them (:func:`mnistlab.cache.functions_digest`).
_CODE = ("sweep", "headline", "accuracy_under")
_TRANSFORMS_CODE = ("_full_scale", "_planes", "shift", "rotate", "scale", "thickness", "noise", "blur", "invert",
                    "transformed")
_PREDICT_CODE = ("predict",)


def _key(kind: str, model, images: np.ndarray, labels: np.ndarray, **settings) -> str:
    """The cache key of a result of ``model`` on these digits: its layers and weights, the digits, the
    transforms' strengths, the code that computes it and the library versions."""
    from mnistlab.architecture import read_layers

    identity = {"kind": kind, "layers": [(layer.kind, layer.name) for layer in read_layers(model)],
                "weights": cache.arrays_digest(model.get_weights())[:16],
                "digits": cache.arrays_digest([np.asarray(images), np.asarray(labels)])[:16], **settings,
                "transforms": {name: [list(t.strengths), t.unit, t.identity] for name, t in TRANSFORMS.items()},
                "code": [cache.functions_digest(cache.module_source(module), names) for module, names in
                         ((__name__, _CODE), ("mnistlab.transforms", _TRANSFORMS_CODE),
                          ("mnistlab.inference", _PREDICT_CODE))],
                "versions": cache.versions("mnistlab", "numpy", "scipy", "keras", "tensorflow")}
    return f"robustness-{kind}-{model.name}-n{len(images)}-{cache.digest(identity)}"


def load_or_headline(model: keras.Model, images: np.ndarray, labels: np.ndarray, *,
                     warn: Callable[[str], None] = cache.warn) -> dict[str, float]:
    """:func:`headline` of a Keras model, computed once and kept in the user's cache (:mod:`mnistlab.cache`).

    The key is made of the model's layers and weights, the digits and labels, the code that computes the
    scores and the library versions (:func:`_key`), so notebooks 07 and 08 share one computation. An entry that
    cannot be used is reported through ``warn`` and computed again.
    """
    def read(entry: cache.Entry) -> dict[str, float]:
        scores = entry.meta["scores"]
        if not (isinstance(scores, dict) and list(scores) == ["unchanged", *HEADLINE]
                and all(isinstance(v, float) and 0 <= v <= 1 for v in scores.values())):
            raise cache.Unusable("its scores are not the headline's")
        return scores

    return cache.load_or_compute(_key("headline", model, images, labels, changes=HEADLINE),
                                 lambda: headline(predictor(model), images, labels), read=read,
                                 write=lambda scores: ({"scores": scores}, {}), required={"scores": dict}, log=warn)


def load_or_sweep(model: keras.Model, images: np.ndarray, labels: np.ndarray, names: Iterable[str] | None = None, *,
                  warn: Callable[[str], None] = cache.warn) -> Sweep:
    """:func:`sweep` of a Keras model, computed once and kept in the user's cache like
    :func:`load_or_headline`."""
    import pandas as pd

    names = list(TRANSFORMS if names is None else names)
    labels = np.asarray(labels)

    def read(entry: cache.Entry) -> Sweep:
        table = pd.DataFrame(**entry.meta["table"])
        predicted = {(name, strength): np.asarray(guess, dtype=np.int64)
                     for name, strength, guess in entry.meta["predicted"]}
        expected = {(name, s) for name in names for s in TRANSFORMS[name].strengths}
        if set(predicted) != expected or any(p.shape != labels.shape for p in predicted.values()):
            raise cache.Unusable("its sweep cannot be read: its predictions are not one per digit for each "
                                 "transform and strength")
        return Sweep(table, labels, predicted)

    def write(result: Sweep):
        return {"table": result.table.to_dict(orient="split"),
                "predicted": [[name, strength, guess.tolist()] for (name, strength), guess in
                              result.predicted.items()]}, {}

    return cache.load_or_compute(_key("sweep", model, images, labels, names=names),
                                 lambda: sweep(predictor(model), images, labels, names), read=read, write=write,
                                 required={"table": dict, "predicted": list}, log=warn)
