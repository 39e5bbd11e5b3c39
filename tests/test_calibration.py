"""Reliability bins, expected calibration error and temperature scaling, against hand computations."""

from __future__ import annotations

import numpy as np
import pytest

from mnistlab import calibration


def two_class(confidences, right):
    """Probabilities whose top class (0) has ``confidences``; labels 0 where ``right``, else 1."""
    c = np.asarray(confidences, float)
    return np.stack([c, 1 - c], axis=1), np.where(right, 0, 1)


def test_reliability_bins_and_the_ece_by_hand():
    # bins of 0.2: (0.4, 0.6] holds 0.55 (wrong); (0.6, 0.8] holds 0.7, 0.8 (right, wrong); (0.8, 1] 0.9, 1.0 (right)
    p, y = two_class([0.55, 0.7, 0.8, 0.9, 1.0], [False, True, False, True, True])
    table = calibration.reliability(p, y, bins=5)
    assert table["count"].tolist() == [0, 0, 1, 2, 2]
    np.testing.assert_allclose(table["confidence"][2:], [0.55, 0.75, 0.95])
    np.testing.assert_allclose(table["accuracy"][2:], [0.0, 0.5, 1.0])
    assert table["accuracy"][:2].isna().all()
    # ECE = 1/5 * 0.55 + 2/5 * 0.25 + 2/5 * 0.05
    assert calibration.expected_calibration_error(p, y, bins=5) == pytest.approx(0.11 + 0.10 + 0.02)


def test_a_calibrated_model_has_an_ece_near_zero():
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.5, 1.0, 200_000)
    p, y = two_class(confidence, rng.random(len(confidence)) < confidence)
    assert calibration.expected_calibration_error(p, y) < 0.005


def test_temperature_keeps_the_prediction_and_is_fitted_back():
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 3, (20_000, 10))
    true_p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(10, p=row) for row in true_p])
    overconfident = calibration.with_temperature(true_p, 0.5)  # logits doubled
    np.testing.assert_array_equal(overconfident.argmax(axis=1), true_p.argmax(axis=1))
    temperature = calibration.fit_temperature(overconfident, labels)
    assert temperature == pytest.approx(2.0, rel=0.05)
    fixed = calibration.with_temperature(overconfident, temperature)
    assert (calibration.expected_calibration_error(fixed, labels)
            < calibration.expected_calibration_error(overconfident, labels) / 3)
    np.testing.assert_allclose(calibration.with_temperature(true_p, 1.0), true_p, atol=1e-12)


def test_bad_arguments_are_named():
    p, y = two_class([0.9], [True])
    with pytest.raises(ValueError, match=r"labels: expected 1 labels, got shape \(2,\)"):
        calibration.reliability(p, np.array([0, 1]))
    with pytest.raises(ValueError, match=r"probabilities: expected \(N, classes\), got shape \(2,\)"):
        calibration.expected_calibration_error(np.array([0.9, 0.1]), y)
    with pytest.raises(ValueError, match="bins: expected a whole number of at least 1, got 0"):
        calibration.reliability(p, y, bins=0)
    with pytest.raises(ValueError, match="temperature: expected a positive number, got 0"):
        calibration.with_temperature(p, 0)


def test_a_confidence_on_a_bin_edge_falls_in_the_lower_bin():
    p, y = two_class([0.6, 0.65, 0.95, 0.99], [True, False, True, True])  # exercise 08.2's example
    assert calibration.reliability(p, y, bins=5)["count"].tolist() == [0, 0, 1, 1, 2]
    assert calibration.expected_calibration_error(p, y, bins=5) == pytest.approx(0.2775)
