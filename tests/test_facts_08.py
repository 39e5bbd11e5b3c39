"""Facts notebook 08 states, checked here rather than in a learner's cell: the numbers its text takes from the
recipes and from the tried-recipes table, and the shipped robust CNN's calibration with a temperature fitted on
validation digits (never the test digits)."""

from __future__ import annotations

import pytest

from mnistlab import pretrained, recipes
from mnistlab.recipes import DEFAULTS, RECIPES, REPORT_PROTOCOL, VALIDATION_DIGITS


def test_the_recipes_say_what_notebook_08_says_of_them():
    best, robust = RECIPES["best"], RECIPES["robust"]
    # "shifted by up to 3.6 pixels" (the best CNN), "5.6 pixels" and "25 degrees" (the robust CNN), "no turns"
    assert round(28 * best.build_args["shift"], 1) == 3.6 and best.build_args["rotation"] == 0
    assert round(28 * robust.build_args["shift"], 1) == 5.6 and round(360 * robust.build_args["rotation"]) == 25
    # label smoothing: "0.91 for the right digit and 0.01 for each other one"; the report's: one-hot targets
    for recipe in (best, robust):
        assert 1 - recipe.label_smoothing + recipe.label_smoothing / 10 == pytest.approx(0.91)
        assert recipe.label_smoothing / 10 == pytest.approx(0.01)
    assert RECIPES["report"].label_smoothing == 0
    # the training digits and epochs it names; the robust CNN leaves the last 10,000 aside, never trained on
    assert (REPORT_PROTOCOL.train_size, DEFAULTS["best"].train_size, DEFAULTS["robust"].train_size) == (
        20_000, 60_000, 50_000)
    assert (DEFAULTS["best"].epochs, DEFAULTS["robust"].epochs) == (10, 9)
    assert VALIDATION_DIGITS == 10_000 and DEFAULTS["robust"].train_size + VALIDATION_DIGITS == 60_000


def test_the_tried_table_says_what_notebook_08_quotes():
    tried = recipes.tried()
    assert tried.loc["no-shift", "rotate 20 %"] == pytest.approx(97.36)  # the best recipe without shifts
    assert tried.loc["best", "rotate 20 %"] == pytest.approx(98.17)
    assert "test accuracy %" in tried.columns  # the notebook says the table was scored on the test digits


def test_the_robust_cnn_is_calibrated_by_a_temperature_fitted_on_validation_digits(tmp_path, monkeypatch):
    training = pytest.importorskip("mnistlab.training")  # imports TensorFlow
    from mnistlab import calibration, inference
    from mnistlab.data import load_mnist

    monkeypatch.setenv("MNISTLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(pretrained.ENV, raising=False)
    robust = training.from_shipped(DEFAULTS["robust"], progress=False, warn=lambda line: None)
    if robust is None:  # never train here: tests/test_pretrained.py says why the shipped weights do not load
        pytest.skip("no usable shipped weights for the robust CNN")
    (x_train, y_train), (x_test, y_test) = load_mnist()
    predict = inference.predictor(robust.model)
    temperature = calibration.fit_temperature(predict(x_train[-VALIDATION_DIGITS:]), y_train[-VALIDATION_DIGITS:])
    test_p = predict(x_test)
    scaled_p = calibration.with_temperature(test_p, temperature)
    assert temperature < 1  # label smoothing left it under-confident: the temperature sharpens
    assert calibration.expected_calibration_error(test_p, y_test) > 0.05
    assert calibration.expected_calibration_error(scaled_p, y_test) < 0.01
    assert (scaled_p.argmax(1) == test_p.argmax(1)).all()  # no prediction changes
