"""Evaluating a classifier on the test digits: accuracy, per-digit scores, confused pairs, confidence."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import keras
    import pandas as pd

__all__ = ["Evaluation", "confusion_counts", "evaluate_model", "evaluate_predictions", "pairs_compared"]


def confusion_counts(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """A (num_classes, num_classes) int array: counts of (true digit, predicted digit)."""
    counts = np.zeros((num_classes, num_classes), dtype=int)
    np.add.at(counts, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return counts


@dataclass
class Evaluation:
    """Predictions on a labelled test set, and what they say about the model."""

    y_true: np.ndarray
    probabilities: np.ndarray
    predict_seconds: float = float("nan")

    @property
    def y_pred(self) -> np.ndarray:
        """The predicted digit for each test image."""
        return self.probabilities.argmax(axis=1)

    @property
    def confidence(self) -> np.ndarray:
        """The probability the model gives its own prediction."""
        return self.probabilities.max(axis=1)

    @property
    def correct(self) -> np.ndarray:
        """A boolean per test image: predicted right."""
        return self.y_pred == self.y_true

    @property
    def accuracy(self) -> float:
        """Fraction of test images predicted right."""
        return float(self.correct.mean())

    @property
    def errors(self) -> int:
        """How many test images are predicted wrong."""
        return int((~self.correct).sum())

    @property
    def per_digit_scores(self) -> str:
        """Precision, recall and F1 of each digit, as text (scikit-learn's ``classification_report``)."""
        from sklearn.metrics import classification_report

        return classification_report(self.y_true, self.y_pred, digits=4)

    def confusion(self, num_classes: int = 10) -> np.ndarray:
        """Counts (true digit, predicted digit)."""
        return confusion_counts(self.y_true, self.y_pred, num_classes)

    def confused_pairs(self, n: int = 5) -> pd.DataFrame:
        """The ``n`` most frequent mistakes as a table: true digit, predicted digit, count."""
        import pandas as pd

        counts = self.confusion()
        np.fill_diagonal(counts, 0)
        order = np.argsort(counts, axis=None)[::-1][:n]
        rows = [(int(t), int(p), int(counts[t, p])) for t, p in zip(*np.unravel_index(order, counts.shape),
                                                                     strict=True) if counts[t, p] > 0]
        return pd.DataFrame(rows, columns=["true", "predicted", "count"])


def pairs_compared(results: Mapping[str, Evaluation], n: int = 6) -> pd.DataFrame:
    """Each model's count of every mistake (true digit read as another) that is among the ``n`` most frequent of
    any of them: one column per model, so a 0 means that model never made it. Sorted by the counts, first
    model's first."""
    import pandas as pd

    wanted = pd.concat([r.confused_pairs(n)[["true", "predicted"]] for r in results.values()]).drop_duplicates()
    rows, cols = wanted["true"].to_numpy(), wanted["predicted"].to_numpy()
    table = pd.DataFrame({name: r.confusion()[rows, cols] for name, r in results.items()},
                         index=pd.MultiIndex.from_frame(wanted))
    return table.sort_values(list(table.columns), ascending=False)


def evaluate_predictions(y_true: np.ndarray, probabilities: np.ndarray, predict_seconds: float = float("nan")
                         ) -> Evaluation:
    """An :class:`Evaluation` from labels and predicted probabilities (N, classes)."""
    y_true, probabilities = np.asarray(y_true), np.asarray(probabilities)
    if probabilities.ndim != 2 or len(probabilities) != len(y_true):
        raise ValueError(f"probabilities: expected shape ({len(y_true)}, classes), got {probabilities.shape}")
    return Evaluation(y_true, probabilities, predict_seconds)


def evaluate_model(model: keras.Model, x_test: np.ndarray | None = None, y_test: np.ndarray | None = None
                   ) -> Evaluation:
    """Predict the test digits (default: MNIST's 10,000) with a Keras model, timed."""
    from mnistlab.data import load_mnist
    from mnistlab.inference import predict

    if x_test is None or y_test is None:
        _, (x_test, y_test) = load_mnist()
    start = time.perf_counter()
    probabilities = predict(model, x_test)
    return evaluate_predictions(y_test, probabilities, time.perf_counter() - start)
