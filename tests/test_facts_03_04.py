"""Facts notebooks 03 (pooling) and 04 (classical baselines) teach, checked cheaply: no training, seconds."""

from __future__ import annotations

import numpy as np
import pytest

from mnistlab import baselines, ops
from mnistlab.data import load_mnist
from mnistlab.recipes import VALIDATION_DIGITS


def test_l2_pooling_is_never_below_the_max_and_the_root_mean_square_lies_between():
    """Notebook 03: L2 pooling (root of the summed squares) is at least the window's maximum; divided by the root
    of the window's size (the root-mean-square) it lies between the average and the maximum, for values >= 0."""
    rng = np.random.default_rng(3)
    for size in (2, 3):
        x = rng.random((12, 12, 4)) * rng.integers(1, 1000)
        x[rng.random(x.shape) < 0.3] = 0  # as after a ReLU
        maximum, average = ops.pool2d(x, size), ops.pool2d(x, size, mode="avg")
        l2 = ops.pool2d(x, size, mode="l2")
        rms = l2 / size  # the root of size * size values
        assert np.all(l2 >= maximum - 1e-9)
        assert np.all(average <= rms + 1e-9) and np.all(rms <= maximum + 1e-9)
    assert np.all(ops.pool2d(np.array([[-10.0, 1.0], [0.0, 0.0]]), 2, mode="l2") / 2 > 1)  # negatives: not so


def test_load_or_compare_scores_the_held_out_validation_digits(tmp_path, monkeypatch):
    """Notebook 04 makes its choices on the last 10,000 training digits, which no model trained on."""
    monkeypatch.setenv("MNISTLAB_CACHE", str(tmp_path))
    (x, y), _ = load_mnist()
    table, _ = baselines.load_or_compare(300, exclude=["logistic regression", "SVM", "random forest"],
                                         progress=False)
    model = baselines.report_models()["kNN (k=3)"].fit(baselines.features(x[:300]), y[:300])
    expected = np.mean(model.predict(baselines.features(x[-VALIDATION_DIGITS:])) == y[-VALIDATION_DIGITS:])
    assert table.loc["kNN (k=3)", "val_accuracy"] == pytest.approx(expected)
    again, _ = baselines.load_or_compare(300, exclude=["logistic regression", "SVM", "random forest"],
                                         progress=False, warn=pytest.fail)  # read back from the cache
    assert again.loc["kNN (k=3)", "val_accuracy"] == table.loc["kNN (k=3)", "val_accuracy"]
    shown = baselines.display_table(table, baselines.REPORT_ACCURACY)
    assert list(shown.columns[:3]) == ["train digits", "validation %", "test %"]
    assert shown.loc["kNN (k=3)", "difference (points)"] == pytest.approx(shown.loc["kNN (k=3)", "test %"] - 95.9,
                                                                          abs=0.011)


def test_load_or_compare_fits_the_pca_components_asked_for(tmp_path, monkeypatch):
    monkeypatch.setenv("MNISTLAB_CACHE", str(tmp_path))
    table, predictions = baselines.load_or_compare(300, pca=True, n_components=10, exclude=["PCA 10 + SVM"],
                                                   progress=False)
    assert list(table.index) == ["PCA 10 + kNN (k=3)"] and set(predictions) == {"PCA 10 + kNN (k=3)"}
    assert 0 < table.loc["PCA 10 + kNN (k=3)", "val_accuracy"] < 1
