"""The classical baselines: the report's configurations, the comparison table, the learning curve, the CLI."""

from __future__ import annotations

import numpy as np
import pytest

from mnistlab import baselines
from mnistlab.cli import main
from mnistlab.data import load_mnist


@pytest.fixture(scope="module")
def small():
    (x, y), (xt, yt) = load_mnist()
    return x[:600], y[:600], xt[:300], yt[:300]


def test_report_models_are_configured_as_the_report_did():
    models = baselines.report_models(seed=1)
    assert list(models) == list(baselines.REPORT_ACCURACY)
    assert models["logistic regression"].max_iter == 1000
    assert models["SVM"].get_params()["kernel"] == "rbf" and models["SVM"].C == 1.0
    assert models["random forest"].n_estimators == 100 and models["random forest"].random_state == 1
    assert models["kNN (k=3)"].n_neighbors == 3
    assert models["random forest"].n_jobs == -1 and models["kNN (k=3)"].n_jobs == -1


def test_features_scale_and_flatten():
    x = np.full((2, 28, 28), 255, np.uint8)
    f = baselines.features(x)
    assert f.shape == (2, 784) and f.dtype == np.float32 and f.max() == 1.0
    with pytest.raises(ValueError, match=r"images: expected \(N, H, W\)"):
        baselines.features(x[0])


def test_compare_table_is_complete_and_repeatable(small):
    x, y, xt, yt = small
    predictions = {}
    first = baselines.compare(baselines.report_models(), x, y, xt, yt, predictions=predictions, progress=False)
    again = baselines.compare(baselines.report_models(), x, y, xt, yt, progress=False)
    assert list(first.columns) == ["train digits", "accuracy", "fit_s", "predict_s", "size_mb"]
    assert list(first.index) == list(baselines.REPORT_ACCURACY)
    assert (first["train digits"] == 600).all()
    assert first["accuracy"].between(0.7, 1.0).all()  # 600 digits already go far
    np.testing.assert_array_equal(first["accuracy"], again["accuracy"])  # seeded
    predicted = predictions["SVM"]
    assert predicted.shape == (300,) and np.mean(predicted == yt) == first.loc["SVM", "accuracy"]


def test_predict_in_parts_on_every_core_is_one_call(small):
    x, y, xt, _ = small
    features, test = baselines.features(x), baselines.features(xt)
    for name, model in baselines.report_models().items():
        model.fit(features, y)
        whole = model.predict(test)
        for n_jobs in (1, 2, 3, -1):
            np.testing.assert_array_equal(baselines.predict(model, test, n_jobs), whole, err_msg=f"{name}, {n_jobs}")
    np.testing.assert_array_equal(baselines.predict(model, test[:1], 4), whole[:1])  # fewer rows than parts
    calls = {}
    for name, model in baselines.report_models().items():
        model.fit(features, y)
        model.predict = lambda rows, f=model.predict, name=name: calls.setdefault(name, []).append(len(rows)) or f(rows)
        baselines.predict(model, test, 3)
    # split where the model predicts on one core; kNN and the forest spread their own work (n_jobs=-1)
    assert calls == {"logistic regression": [100, 100, 100], "SVM": [100, 100, 100], "random forest": [300],
                     "kNN (k=3)": [300]}
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ValueError, match=r"n_jobs: expected a whole number of cores from 1 up, or -1 for all"):
            baselines.predict(model, test, bad)


def test_display_table_puts_the_report_beside_ours(small):
    x, y, xt, yt = small
    table = baselines.compare({"kNN (k=3)": baselines.report_models()["kNN (k=3)"]}, x, y, xt, yt, progress=False)
    shown = baselines.display_table(table, baselines.REPORT_ACCURACY)
    assert shown.loc["kNN (k=3)", "report %"] == pytest.approx(95.9)
    assert shown.loc["kNN (k=3)", "difference (points)"] == pytest.approx(
        round(100 * table.loc["kNN (k=3)", "accuracy"], 2) - 95.9, abs=0.011)
    assert "report %" not in baselines.display_table(table).columns


def test_learning_curve_nested_subsets_and_skip(small):
    x, y, xt, yt = small
    curve = baselines.learning_curve(baselines.report_models, [100, 400, 600], x, y, xt, yt,
                                     skip={"SVM": 400}, progress=False)
    assert set(curve["train digits"]) == {100, 400, 600}
    assert "SVM" not in set(curve[curve["train digits"] == 600]["model"])
    assert len(curve) == 4 + 4 + 3
    with pytest.raises(ValueError, match="sizes: 601 is more than the 600 training digits"):
        baselines.learning_curve(baselines.report_models, [601], x, y, xt, yt, progress=False)


def test_load_or_curve_fits_each_size_once_through_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MNISTLAB_CACHE", str(tmp_path))
    table, _ = baselines.load_or_compare(150, progress=False)  # as notebook 04's first table
    curve = baselines.load_or_curve([100, 150, 200], skip={"SVM": 150}, progress=False)
    assert len(curve) == 4 + 4 + 3 and "SVM" in set(curve[curve["train digits"] == 150]["model"])
    assert "SVM" not in set(curve[curve["train digits"] == 200]["model"])
    reused = curve[curve["train digits"] == 150].set_index("model")
    np.testing.assert_array_equal(reused["fit_s"], table.loc[reused.index, "fit_s"])  # the table's fits, reused
    again = baselines.load_or_curve([100, 150, 200], skip={"SVM": 150}, progress=False)
    np.testing.assert_array_equal(again["fit_s"], curve["fit_s"])  # nothing fitted again
    assert len(list(tmp_path.glob("baselines-report-*/meta.json"))) == 3
    with pytest.raises(ValueError, match=r"exclude: \['perceptron'\] are not among the models"):
        baselines.load_or_compare(100, exclude=["perceptron"])
    with pytest.raises(ValueError, match="train_size: expected 1 to 60,000 training digits, got 0"):
        baselines.load_or_compare(0)


def test_pca_models_help_knn(small):
    x, y, xt, yt = small
    table = baselines.compare(baselines.pca_models(n_components=30), x, y, xt, yt, progress=False)
    assert list(table.index) == ["PCA 30 + SVM", "PCA 30 + kNN (k=3)"]


def test_cli_prints_the_table(capsys):
    assert main(["baselines", "--train-size", "500", "--models", "kNN (k=3)", "random forest", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "first 500 training digits" in out and "kNN (k=3)" in out and "random forest" in out
    assert "SVM" not in out and "report %" not in out  # the report's numbers are for 20,000 digits


def test_cli_rejects_bad_arguments(capsys):
    assert main(["baselines", "--models", "perceptron"]) == 2
    assert "unknown ['perceptron']" in capsys.readouterr().err
    assert main(["baselines", "--train-size", "0"]) == 2
    expected = "mnistlab baselines: --train-size: expected a whole number from 1 to 60,000; got 0\n"
    assert expected == capsys.readouterr().err


def test_load_or_compare_caches_table_and_predictions(tmp_path, monkeypatch):
    monkeypatch.setenv("MNISTLAB_CACHE", str(tmp_path))
    table, predictions = baselines.load_or_compare(500, pca=True, progress=False)
    assert len(list(tmp_path.glob("baselines-pca-n500-s42-*/meta.json"))) == 1
    again, cached_predictions = baselines.load_or_compare(500, pca=True, progress=False)
    np.testing.assert_array_equal(again["accuracy"], table["accuracy"])
    np.testing.assert_array_equal(again["fit_s"], table["fit_s"])  # read back, not refitted
    assert list(again.index) == list(table.index) and again.index.name == "model"
    for name in predictions:
        np.testing.assert_array_equal(cached_predictions[name], predictions[name])


def test_choose_pca_chooses_on_validation_digits_and_scores_only_the_chosen_on_test_digits(small, monkeypatch):
    x, y, xt, yt = small
    (x_all, y_all), _ = load_mnist()
    x_val, y_val = x_all[-400:], y_all[-400:]
    scored = []
    score = baselines._score
    monkeypatch.setattr(baselines, "_score", lambda model, f, labels: scored.append(len(labels)) or score(model, f,
                                                                                                           labels))
    choice = baselines.choose_pca([30, 5, 15, 30], x, y, x_val, y_val, xt, yt, progress=False)
    assert list(choice.validation.columns) == [5, 15, 30] and list(choice.validation.index) == ["SVM", "kNN (k=3)"]
    assert scored.count(400) == 6 and scored.count(300) == 2  # six pipelines validated, two tested
    for model, k in choice.chosen.items():
        best = choice.validation.loc[model]
        assert best[k] == best.max() and all(best[j] < best.max() for j in best.index if j < k)  # the fewest best
        name = f"PCA {k} + {model}"
        row = choice.table.loc[name]
        assert row["val_accuracy"] == best[k] and row["train digits"] == 600
        assert row["accuracy"] == np.mean(choice.predictions[name] == yt)
    assert list(choice.table.columns) == ["train digits", "accuracy", "fit_s", "predict_s", "size_mb", "val_accuracy"]
    # The test digits play no part in the choice: other test digits, the same choice and validation scores.
    other = baselines.choose_pca([5, 15, 30], x, y, x_val, y_val, xt[::-1], yt[::-1], progress=False)
    assert other.chosen.to_dict() == choice.chosen.to_dict()
    np.testing.assert_array_equal(other.validation, choice.validation)


def test_choose_pca_takes_the_fewest_components_on_a_tie(small, monkeypatch):
    x, y, xt, yt = small
    monkeypatch.setattr(baselines, "_score", lambda model, f, labels: {"accuracy": 0.5, "predict_s": 0.0,
                                                                       "predicted": np.zeros(len(labels), np.uint8)})
    choice = baselines.choose_pca([20, 10], x[:200], y[:200], xt[:50], yt[:50], xt[:50], yt[:50], progress=False)
    assert choice.chosen.to_dict() == {"SVM": 10, "kNN (k=3)": 10}


def test_load_or_choose_pca_caches_the_choice(tmp_path, monkeypatch):
    monkeypatch.setenv("MNISTLAB_CACHE", str(tmp_path))
    choice = baselines.load_or_choose_pca([8, 16], 500, progress=False)
    assert len(list(tmp_path.glob("baselines-pca-choice-n500-s42-*/meta.json"))) == 1
    again = baselines.load_or_choose_pca([16, 8], 500, progress=False, warn=pytest.fail)  # the same, read back
    assert again.chosen.to_dict() == choice.chosen.to_dict()
    np.testing.assert_array_equal(again.validation, choice.validation)
    assert list(again.validation.columns) == [8, 16] and again.validation.columns.name == "PCA components"
    np.testing.assert_array_equal(again.table["fit_s"], choice.table["fit_s"])  # not refitted
    assert list(again.table.index) == list(choice.table.index) and again.table.index.name == "model"
    for name, predicted in choice.predictions.items():
        np.testing.assert_array_equal(again.predictions[name], predicted)


@pytest.mark.parametrize(("components", "train_size", "expected"), [
    ([], 500, "components: expected numbers of PCA components from 1 to 784"),
    ([0, 10], 500, "components: expected numbers of PCA components from 1 to 784"),
    ([10, 785], 5_000, "components: expected numbers of PCA components from 1 to 784"),
    ([10], 50_001, "train_size: expected 10 (the most components) to 50,000 training digits"),
    ([100], 50, "train_size: expected 100 (the most components) to 50,000 training digits"),
])
def test_load_or_choose_pca_rejects_bad_arguments(components, train_size, expected):
    with pytest.raises(ValueError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        baselines.load_or_choose_pca(components, train_size)
