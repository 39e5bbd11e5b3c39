"""Classical baselines: the report's four scikit-learn models, timed and compared on identical data.

>>> (x_train, y_train), (x_test, y_test) = load_mnist()                       # doctest: +SKIP
>>> compare(report_models(), x_train[:20000], y_train[:20000], x_test, y_test)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import pickle
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mnistlab import cache

if TYPE_CHECKING:
    import pandas as pd
    from sklearn.base import BaseEstimator

__all__ = [
    "REPORT_ACCURACY",
    "REPORT_TRAIN_SIZE",
    "PCAChoice",
    "choose_pca",
    "compare",
    "display_table",
    "features",
    "fit_and_score",
    "learning_curve",
    "load_or_choose_pca",
    "load_or_compare",
    "load_or_curve",
    "pca_models",
    "predict",
    "report_models",
    "validation_accuracy",
]

#: The test accuracies the report gives for its models (20,000 training digits, the 10,000 test digits).
REPORT_ACCURACY = {"logistic regression": 0.918, "SVM": 0.970, "random forest": 0.959, "kNN (k=3)": 0.959}
REPORT_TRAIN_SIZE = 20_000
#: The functions whose code decides a :func:`load_or_compare` table: its key digests them
#: (:func:`mnistlab.cache.functions_digest`).
_CODE = ("features", "_jobs", "predict", "fit_and_score", "_fit", "_score", "_size_mb", "compare",
         "validation_accuracy")
#: The same for a :func:`load_or_choose_pca` choice.
_CHOICE_CODE = ("features", "_jobs", "predict", "_fit", "_score", "_size_mb", "pca_models", "_components",
                "_choose", "choose_pca")


def report_models(seed: int = 42, n_jobs: int = -1) -> dict:
    """The report's four models exactly as it configured them, seeded, using every core they can.

    ``LogisticRegression(max_iter=1000)``, ``SVC()``, ``RandomForestClassifier(n_estimators=100)`` and
    ``KNeighborsClassifier(n_neighbors=3)``. The forest and kNN run on ``n_jobs`` cores (-1: all);
    logistic regression uses the cores through NumPy's BLAS; libsvm's SVC fits on one (:func:`fit_and_score`
    predicts on all of them).
    """
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.svm import SVC

    return {
        "logistic regression": LogisticRegression(max_iter=1000, random_state=seed),
        "SVM": SVC(random_state=seed),
        "random forest": RandomForestClassifier(n_estimators=100, random_state=seed, n_jobs=n_jobs),
        "kNN (k=3)": KNeighborsClassifier(n_neighbors=3, n_jobs=n_jobs),
    }


def pca_models(n_components: int = 50, seed: int = 42, n_jobs: int = -1) -> dict:
    """SVM and kNN (k=3) after a PCA to ``n_components`` dimensions: what helps the classical models."""
    from sklearn.decomposition import PCA
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import SVC

    def pca():
        return PCA(n_components=n_components, random_state=seed)

    return {
        f"PCA {n_components} + SVM": make_pipeline(pca(), SVC(random_state=seed)),
        f"PCA {n_components} + kNN (k=3)": make_pipeline(pca(), KNeighborsClassifier(n_neighbors=3, n_jobs=n_jobs)),
    }


def features(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) uint8 digits as the report fed them to scikit-learn: (N, 784) float32 pixels / 255."""
    from mnistlab.preprocess import scale

    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"images: expected (N, H, W) digits, got shape {images.shape}")
    return scale(images).reshape(len(images), -1)


def _jobs(n_jobs: int) -> int:
    if n_jobs == -1:
        return os.cpu_count() or 1
    if not isinstance(n_jobs, int) or isinstance(n_jobs, bool) or n_jobs < 1:
        raise ValueError(f"n_jobs: expected a whole number of cores from 1 up, or -1 for all; got {n_jobs!r}")
    return n_jobs


def predict(model, x: np.ndarray, n_jobs: int = -1) -> np.ndarray:
    """``model.predict(x)``, the rows split into ``n_jobs`` parts predicted at once (-1: one per core),
    unless the model (or a pipeline's last step) spreads its own work (an ``n_jobs`` other than 1).

    The parts run in threads: libsvm releases Python's lock while it computes, so the SVM, which
    predicts on one core, predicts on all of them. Each row's prediction is the same as in one call.
    """
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    parts = [part for part in np.array_split(x, _jobs(n_jobs)) if len(part)]
    if len(parts) < 2 or getattr(final, "n_jobs", None) not in (None, 1):
        return model.predict(x)
    with ThreadPoolExecutor(len(parts)) as pool:
        return np.concatenate(list(pool.map(model.predict, parts)))


def fit_and_score(model, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray) -> dict:
    """Fit ``model`` on the training digits and score it on the test digits (predicted on every core, see
    :func:`predict`).

    Images are (N, 28, 28) uint8 (flattened and scaled here). Returns test accuracy, fit and predict
    seconds, the pickled model's size in MB, and the predictions.
    """
    fit_s = _fit(model, features(x_train), y_train)
    scored = _score(model, features(x_test), y_test)
    return {"accuracy": scored["accuracy"], "fit_s": fit_s, "predict_s": scored["predict_s"],
            "size_mb": _size_mb(model), "predicted": scored["predicted"]}


def _size_mb(model) -> float:
    """The pickled model's size in MB."""
    return len(pickle.dumps(model)) / 1e6


def _fit(model, x: np.ndarray, y: np.ndarray) -> float:
    """Fit ``model`` on features ``x`` and labels ``y``; the seconds it took."""
    start = time.perf_counter()
    model.fit(x, y)
    return time.perf_counter() - start


def _score(model, x: np.ndarray, y: np.ndarray) -> dict:
    """A fitted model's accuracy on features ``x`` and labels ``y``, the seconds its prediction took, and the
    predictions."""
    start = time.perf_counter()
    predicted = predict(model, x)
    predict_s = time.perf_counter() - start
    return {"accuracy": float(np.mean(predicted == y)), "predict_s": predict_s, "predicted": predicted}


def compare(models: Mapping, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, *,
            predictions: dict | None = None, progress: bool = True):
    """Fit and score each model on the same data; one row per model (a pandas DataFrame).

    Columns: train digits, test accuracy, fit seconds, predict seconds, model size in MB. Pass a
    dict as ``predictions`` to receive each model's predicted test labels (for confusion matrices).
    """
    import pandas as pd

    from mnistlab.runtime import progress_bar

    rows = []
    bar = progress_bar(models.items(), enabled=progress, total=len(models), unit="model", leave=False)
    for name, model in bar:
        bar.set_description(f"{name} on {len(x_train):,} digits")
        result = fit_and_score(model, x_train, y_train, x_test, y_test)
        predicted = result.pop("predicted")
        if predictions is not None:
            predictions[name] = predicted
        rows.append({"model": name, "train digits": len(x_train), **result})
    return pd.DataFrame(rows).set_index("model")


def display_table(table: pd.DataFrame, reference: Mapping[str, float] | None = None) -> pd.DataFrame:
    """A :func:`compare` table rounded for reading: accuracy in %, seconds, MB. A table of
    :func:`load_or_compare` that has the validation digits' accuracy shows it as "validation %", and the
    test digits' as "test %".

    With ``reference`` (model name -> accuracy, such as :data:`REPORT_ACCURACY`), the reference
    accuracy and our difference from it in percentage points stand beside ours.
    """
    import pandas as pd

    out = pd.DataFrame({"train digits": table["train digits"].astype(int)}, index=table.index)
    accuracy = "accuracy %"
    if "val_accuracy" in table:  # a table of load_or_compare: the validation digits' accuracy, then the test digits'
        out["validation %"] = (100 * table["val_accuracy"]).round(2)
        accuracy = "test %"
    out[accuracy] = (100 * table["accuracy"]).round(2)
    if reference is not None:
        report = pd.Series({name: 100 * reference[name] for name in table.index if name in reference}, dtype=float)
        out["report %"] = report.reindex(table.index)
        out["difference (points)"] = (out[accuracy] - out["report %"]).round(2)
    out["fit s"] = table["fit_s"].round(1)
    out["predict s"] = table["predict_s"].round(1)
    out["size MB"] = table["size_mb"].round(1)
    return out


def learning_curve(make_models: Callable[[], Mapping[str, BaseEstimator]], sizes: Iterable[int], x_train: np.ndarray,
                   y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, *,
                   skip: Mapping[str, int] | None = None, progress: bool = True) -> pd.DataFrame:
    """Accuracy and fit time of every model against training-set size, on identical nested subsets.

    For each size n the models train on the first n training digits (the same for every model) and
    are scored on the whole test set. ``make_models()`` returns fresh models; ``skip`` maps a model
    name to the largest size to fit it on (slow fits); ``known`` is a :func:`compare` table whose
    rows are reused for its size instead of fitting again. Returns a long table: model, train
    digits, accuracy, fit_s, predict_s.
    """

    skip = dict(skip or {})
    parts = []
    for n in sizes:
        if n > len(x_train):
            raise ValueError(f"sizes: {n} is more than the {len(x_train)} training digits")
        models = {name: m for name, m in make_models().items() if n <= skip.get(name, n)}
        parts.append(compare(models, x_train[:n], y_train[:n], x_test, y_test, progress=progress).reset_index())
    return _long_table(parts)


def _long_table(parts: list):
    import pandas as pd

    return pd.concat(parts, ignore_index=True)[["model", "train digits", "accuracy", "fit_s", "predict_s"]]


def load_or_curve(sizes: Iterable[int], *, skip: Mapping[str, int] | None = None, seed: int = 42,
                  progress: bool = True, warn: Callable[[str], None] = cache.warn) -> pd.DataFrame:
    """:func:`learning_curve` of the report's models, each size through :func:`load_or_compare` (cached).

    ``skip`` maps a model name to the largest size to fit it on. A size already fitted (the report's
    20,000 digits by notebook 04's first table) is read from the cache, not fitted again.
    """
    skip = dict(skip or {})
    parts = []
    for n in sizes:
        left_out = tuple(name for name, largest in skip.items() if n > largest)
        table, _ = load_or_compare(n, seed=seed, exclude=left_out, progress=progress, warn=warn)
        parts.append(table.reset_index())
    return _long_table(parts)


def validation_accuracy(models: Mapping, x_val: np.ndarray, y_val: np.ndarray) -> dict:
    """The accuracy of each fitted model on held-out validation digits (model name -> accuracy): the score
    to make choices on (which model, how many PCA components), leaving the test digits for the final numbers."""
    x = features(x_val)
    return {name: float(np.mean(predict(model, x) == y_val)) for name, model in models.items()}


def load_or_compare(train_size: int = REPORT_TRAIN_SIZE, *, pca: bool = False, n_components: int = 50,
                    seed: int = 42, exclude: Iterable[str] = (), progress: bool = True,
                    warn: Callable[[str], None] = cache.warn) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The :func:`compare` table of the report's models (or, with ``pca=True``, the PCA pipelines to
    ``n_components`` dimensions) on the first ``train_size`` training digits and the test digits, and
    each model's predictions. ``exclude`` leaves models out by name (a slow fit).

    Up to 50,000 training digits the table also has ``val_accuracy``: each fitted model's accuracy on
    the validation digits, the last :data:`mnistlab.recipes.VALIDATION_DIGITS` training digits, which
    it did not train on (:func:`validation_accuracy`).

    Computed once and kept in the user's cache (:mod:`mnistlab.cache`) under a key made of the
    models' settings, the code that fits and scores them and the library versions, so that notebook
    07 reuses what notebook 04 fitted (``mnistlab baselines`` fits anew). An entry that cannot be used is reported
    through ``warn`` (default: one line on stderr) and computed again. Returns ``(table, predictions)``.
    """
    import pandas as pd

    from mnistlab.data import load_mnist
    from mnistlab.recipes import VALIDATION_DIGITS

    models = pca_models(n_components, seed=seed) if pca else report_models(seed=seed)
    unknown = set(exclude) - set(models)
    if unknown:
        raise ValueError(f"exclude: {sorted(unknown)} are not among the models {list(models)}")
    models = {name: model for name, model in models.items() if name not in set(exclude)}
    if not 1 <= train_size <= 60_000:
        raise ValueError(f"train_size: expected 1 to 60,000 training digits, got {train_size}")
    validates = train_size <= 60_000 - VALIDATION_DIGITS
    identity = {"train_size": train_size, "models": {name: repr(m) for name, m in models.items()},
                "code": cache.functions_digest(cache.module_source(__name__), _CODE),
                "validation": VALIDATION_DIGITS if validates else None,
                "versions": cache.versions("mnistlab", "scikit-learn", "numpy", "pandas")}
    key = f"baselines-{'pca' if pca else 'report'}-n{train_size}-s{seed}-{cache.digest(identity)}"

    def read(entry: cache.Entry):
        table, predictions = _scores_read(entry.meta)
        if validates != ("val_accuracy" in table):
            raise cache.Unusable("its validation accuracy is missing" if validates else "it has a validation "
                                 "accuracy, yet the models trained on the validation digits")
        return table, predictions

    def compute():
        (x_train, y_train), (x_test, y_test) = load_mnist()
        predictions: dict = {}
        table = compare(models, x_train[:train_size], y_train[:train_size], x_test, y_test, predictions=predictions,
                        progress=progress)
        if validates:
            scores = validation_accuracy(models, x_train[-VALIDATION_DIGITS:], y_train[-VALIDATION_DIGITS:])
            table["val_accuracy"] = pd.Series(scores)
        return table, predictions

    def write(result):
        return _scores_written(*result), {}

    return cache.load_or_compute(key, compute, read=read, write=write, required={"table": dict, "predictions": dict},
                                 log=warn)


def _scores_written(table: pd.DataFrame, predictions: Mapping[str, np.ndarray]) -> dict:
    """A scores table and its models' test predictions as a cache entry's JSON (:func:`_scores_read` reads it)."""
    return {"table": table.to_dict(orient="split"),
            "predictions": {name: p.tolist() for name, p in predictions.items()}}


def _scores_read(meta: Mapping) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The table and predictions :func:`_scores_written` wrote; :class:`mnistlab.cache.Unusable` unless they agree."""
    import pandas as pd

    table = pd.DataFrame(**meta["table"])
    table.index.name = "model"
    predictions = {name: np.asarray(p, dtype=np.uint8) for name, p in meta["predictions"].items()}
    if set(predictions) != set(table.index) or any(p.shape != (10_000,) for p in predictions.values()):
        raise cache.Unusable("its predictions do not match the table's models and the 10,000 test digits")
    return table, predictions


@dataclass(frozen=True)
class PCAChoice:
    """What :func:`choose_pca` found: every pipeline's validation accuracy, the number of components chosen
    for each model, and the chosen pipelines' scores on the test digits (the only ones scored there)."""

    #: Validation accuracy (0..1): a row per model ("SVM", "kNN (k=3)"), a column per number of components.
    validation: pd.DataFrame
    #: Model -> the number of components with the best validation accuracy (the fewest, on a tie).
    chosen: pd.Series
    #: The chosen pipelines' rows, as :func:`compare`'s with ``val_accuracy``: fitted once, scored on the test digits.
    table: pd.DataFrame
    #: Pipeline name ("PCA 50 + SVM") -> its predicted labels of the test digits.
    predictions: dict[str, np.ndarray]


def choose_pca(components: Iterable[int], x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray,
               y_val: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, *, seed: int = 42,
               progress: bool = True) -> PCAChoice:
    """Choose, for the SVM and for kNN (k=3), how many PCA components to keep, on the validation digits.

    Each pipeline of :func:`pca_models` is fitted once per number of ``components`` and scored on the
    validation digits; for each model the number with the best validation accuracy is chosen (the fewest on
    a tie), and only that pipeline predicts the test digits. Images are (N, 28, 28) uint8.
    """
    import pandas as pd

    from mnistlab.runtime import progress_bar

    components = _components(components)
    xtr, xval = features(x_train), features(x_val)
    fitted, fit_s, scores = {}, {}, {}
    steps = [(k, name, model) for k in components for name, model in pca_models(k, seed=seed).items()]
    bar = progress_bar(steps, enabled=progress, total=len(steps), unit="pipeline", leave=False)
    for k, name, model in bar:
        bar.set_description(f"{name} on {len(x_train):,} digits")
        model_name = name.split(" + ", 1)[1]
        fit_s[model_name, k] = _fit(model, xtr, y_train)
        scores[model_name, k] = _score(model, xval, y_val)["accuracy"]
        fitted[model_name, k] = model
    validation = pd.Series(scores).unstack().loc[list(dict.fromkeys(name for name, _ in scores))]
    validation.index.name, validation.columns.name = "model", "PCA components"
    chosen = _choose(validation)
    rows, predictions, xte = [], {}, features(x_test)
    for model_name, k in chosen.items():
        model, name = fitted[model_name, k], f"PCA {k} + {model_name}"
        scored = _score(model, xte, y_test)
        predictions[name] = scored["predicted"]
        rows.append({"model": name, "train digits": len(x_train), "accuracy": scored["accuracy"],
                     "fit_s": fit_s[model_name, k], "predict_s": scored["predict_s"], "size_mb": _size_mb(model),
                     "val_accuracy": validation.loc[model_name, k]})
    return PCAChoice(validation, chosen, pd.DataFrame(rows).set_index("model"), predictions)


def _choose(validation: pd.DataFrame) -> pd.Series:
    """For each model (row), the number of components (column, in increasing order) with the best validation
    accuracy: the first of the best, so the fewest on a tie."""
    return validation.idxmax(axis=1)


def _components(components: Iterable[int]) -> list[int]:
    """The numbers of PCA components asked for, sorted, each once; a clear error unless each is 1 to 784."""
    found = sorted({int(k) for k in components})
    if not found or not all(1 <= k <= 784 for k in found):
        raise ValueError(f"components: expected numbers of PCA components from 1 to 784, got {found}")
    return found


def load_or_choose_pca(components: Iterable[int], train_size: int = REPORT_TRAIN_SIZE, *, seed: int = 42,
                       progress: bool = True, warn: Callable[[str], None] = cache.warn) -> PCAChoice:
    """:func:`choose_pca` on the first ``train_size`` training digits, the validation digits (the last
    :data:`mnistlab.recipes.VALIDATION_DIGITS` training digits) and the test digits, computed once and kept in
    the user's cache (:mod:`mnistlab.cache`) like :func:`load_or_compare`'s tables.
    """
    import pandas as pd

    from mnistlab.data import load_mnist
    from mnistlab.recipes import VALIDATION_DIGITS

    components = _components(components)
    if not components[-1] <= train_size <= 60_000 - VALIDATION_DIGITS:
        raise ValueError(f"train_size: expected {components[-1]:,} (the most components) to "
                         f"{60_000 - VALIDATION_DIGITS:,} training digits (the rest validate), got {train_size}")
    identity = {"train_size": train_size, "components": components, "validation": VALIDATION_DIGITS,
                "models": {name: repr(m) for k in components for name, m in pca_models(k, seed=seed).items()},
                "code": cache.functions_digest(cache.module_source(__name__), _CHOICE_CODE),
                "versions": cache.versions("mnistlab", "scikit-learn", "numpy", "pandas")}
    key = f"baselines-pca-choice-n{train_size}-s{seed}-{cache.digest(identity)}"

    def read(entry: cache.Entry) -> PCAChoice:
        validation = pd.DataFrame(**entry.meta["validation"])
        validation.index.name, validation.columns.name = "model", "PCA components"
        if list(validation.columns) != components:
            raise cache.Unusable("its validation scores are not for the components asked for")
        return PCAChoice(validation, _choose(validation), *_scores_read(entry.meta))

    def compute() -> PCAChoice:
        (x_train, y_train), (x_test, y_test) = load_mnist()
        return choose_pca(components, x_train[:train_size], y_train[:train_size], x_train[-VALIDATION_DIGITS:],
                          y_train[-VALIDATION_DIGITS:], x_test, y_test, seed=seed, progress=progress)

    def write(result: PCAChoice):
        return {"validation": result.validation.to_dict(orient="split"),
                **_scores_written(result.table, result.predictions)}, {}

    return cache.load_or_compute(key, compute, read=read, write=write,
                                 required={"validation": dict, "table": dict, "predictions": dict}, log=warn)
