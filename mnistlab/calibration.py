"""How sure a model is, and whether it is right that often: reliability, calibration error, temperature.

A model is calibrated when, of the digits it gives 80% confidence, 80% are right. The reliability
table bins predictions by confidence (the top probability) and compares each bin's mean confidence
with its accuracy; the expected calibration error (ECE) is their gap, weighted by the bins' sizes.
Temperature scaling (Guo et al., 2017) divides the logits by one number T fitted on held-out digits:
T > 1 softens over-confident predictions, T < 1 sharpens under-confident ones, and the predicted
digit never changes. NumPy and SciPy only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["expected_calibration_error", "fit_temperature", "reliability", "with_temperature"]


def _checked(probabilities: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    probabilities, labels = np.asarray(probabilities, dtype=np.float64), np.asarray(labels)
    if probabilities.ndim != 2:
        raise ValueError(f"probabilities: expected (N, classes), got shape {probabilities.shape}")
    if labels.shape != (len(probabilities),):
        raise ValueError(f"labels: expected {len(probabilities)} labels, got shape {labels.shape}")
    return probabilities, labels


def reliability(probabilities: np.ndarray, labels: np.ndarray, bins: int = 15) -> pd.DataFrame:
    """Predictions binned by confidence into ``bins`` equal-width bins of (0, 1].

    A DataFrame, one row per bin: ``low``, ``high``, ``count``, ``confidence`` (mean top probability)
    and ``accuracy`` (share right); empty bins have NaN confidence and accuracy.
    """
    import pandas as pd

    probabilities, labels = _checked(probabilities, labels)
    if int(bins) != bins or bins < 1:
        raise ValueError(f"bins: expected a whole number of at least 1, got {bins!r}")
    confidence = probabilities.max(axis=1)
    right = probabilities.argmax(axis=1) == labels
    edges = np.linspace(0, 1, bins + 1)
    # bin k holds (edges[k], edges[k + 1]]: searched among the edges themselves, so that a confidence of
    # exactly 0.6 lands in (0.4, 0.6] (ceil(0.6 * 5) would give 4: 0.6 * 5 is 3.0000000000000004)
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    count = np.bincount(which, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.bincount(which, confidence, minlength=bins) / count
        accuracy = np.bincount(which, right.astype(float), minlength=bins) / count
    return pd.DataFrame({"low": edges[:-1], "high": edges[1:], "count": count, "confidence": mean_confidence,
                         "accuracy": accuracy})


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """ECE: the sum over confidence bins of (share of digits in the bin) * |accuracy - mean confidence|."""
    table = reliability(probabilities, labels, bins)
    used = table["count"] > 0
    weights = table["count"][used] / table["count"].sum()
    return float((weights * (table["accuracy"][used] - table["confidence"][used]).abs()).sum())


def with_temperature(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Softmax probabilities recomputed with their logits divided by ``temperature``.

    The logits are taken as log-probabilities (a softmax output determines its logits up to a
    constant per row, which a softmax ignores).
    """
    if not temperature > 0:
        raise ValueError(f"temperature: expected a positive number, got {temperature!r}")
    from mnistlab.ops import softmax

    return softmax(np.log(np.clip(np.asarray(probabilities, dtype=np.float64), 1e-300, None)) / temperature, axis=1)


def fit_temperature(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that minimises the cross-entropy of ``labels`` (fit it on held-out digits)."""
    from scipy.optimize import minimize_scalar

    probabilities, labels = _checked(probabilities, labels)
    rows = np.arange(len(labels))

    def loss(log_t: float) -> float:
        return float(-np.log(np.clip(with_temperature(probabilities, np.exp(log_t))[rows, labels], 1e-300, None))
                     .mean())

    result = minimize_scalar(loss, bounds=(np.log(0.05), np.log(20.0)), method="bounded",
                             options={"xatol": 1e-6})
    return float(np.exp(result.x))
