"""The pure plotting functions: each draws what it is given on the axes it is given, and returns them."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from mnistlab import plots  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_digit_draws_the_image_on_the_given_axes_with_its_values():
    image = np.arange(9, dtype=np.uint8).reshape(3, 3) * 30
    fig, ax = plt.subplots()
    assert plots.digit(image, title="three by three", ax=ax, annotate=True) is ax
    [shown] = ax.get_images()
    np.testing.assert_array_equal(shown.get_array(), image)
    assert shown.get_clim() == (0, 255) and ax.get_title() == "three by three"
    assert [t.get_text() for t in ax.texts] == [str(v) for v in image.ravel()]


def test_digit_keeps_a_dim_float_digit_dim_and_stretches_other_values():
    dim = np.full((4, 4), 0.25)
    assert plots.digit(dim).get_images()[0].get_clim() == (0, 1.0)  # a digit at a quarter of full ink looks dim
    wide = np.array([[0.0, 3.0], [1.0, 2.0]])
    assert plots.digit(wide).get_images()[0].get_clim() == (0.0, 3.0)
    signed = np.array([[-1.0, 0.5]])
    assert plots.digit(signed).get_images()[0].get_clim() == (-1.0, 0.5)


def test_feature_map_is_symmetric_about_zero_when_signed():
    ax = plots.feature_map(np.array([[-2.0, 1.0], [0.5, 0.0]]))
    [shown] = ax.get_images()
    assert shown.get_clim() == (-2.0, 2.0) and shown.get_cmap().name == "RdBu_r"
    ax = plots.feature_map(np.array([[0.0, 3.0]]))
    assert ax.get_images()[0].get_cmap().name == "gray"


def test_digit_grid_titles_and_hides_unused_axes():
    images = np.zeros((5, 28, 28), np.uint8)
    fig = plots.digit_grid(images, [7, 2, 1, 0, 4], rows=2, cols=3)
    axes = fig.get_axes()
    assert len(axes) == 6 and [ax.get_title() for ax in axes[:5]] == ["7", "2", "1", "0", "4"]
    assert not axes[5].axison


def test_label_counts_draws_one_bar_per_digit_with_its_count():
    labels = np.array([0, 0, 1, 9, 9, 9])
    ax = plots.label_counts(labels, title="counts")
    heights = [bar.get_height() for bar in ax.patches]
    assert heights == [2, 1, 0, 0, 0, 0, 0, 0, 0, 3]
    assert [t.get_text() for t in ax.texts] == ["2", "1", "0", "0", "0", "0", "0", "0", "0", "3"]


def test_pixel_histogram_counts_every_intensity():
    images = np.array([[[0, 0, 255]]], np.uint8)
    ax = plots.pixel_histogram(images)
    heights = [bar.get_height() for bar in ax.patches]
    assert len(heights) == 256 and heights[0] == 2 and heights[255] == 1 and sum(heights) == 3
    assert ax.get_yscale() == "log"


def test_mean_digits_shows_each_digits_mean_image():
    images = np.stack([np.full((2, 2), 10 * d, np.uint8) for d in range(10) for _ in range(2)])
    labels = np.repeat(np.arange(10), 2)
    fig = plots.mean_digits(images, labels)
    axes = fig.get_axes()
    assert [ax.get_title() for ax in axes] == [str(d) for d in range(10)]
    assert axes[3].get_images()[0].get_array().mean() == 30


def test_confusion_matrix_annotates_the_counts():
    ax = plots.confusion_matrix(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 2]), num_classes=3, title="cm")
    cells = [t.get_text() for t in ax.texts]
    assert cells == ["1", "1", "0", "0", "1", "0", "0", "0", "1"]
    assert ax.get_xlabel() == "predicted" and ax.get_ylabel() == "true" and ax.get_title() == "cm"


def test_mistakes_shows_only_the_wrong_predictions():
    images = np.zeros((4, 28, 28), np.uint8)
    fig = plots.mistakes(images, np.array([1, 2, 3, 4]), np.array([1, 7, 3, 9]), rows=1, cols=3,
                         confidence=np.array([0.9, 0.8, 0.7, 0.55]))
    assert [ax.get_title() for ax in fig.get_axes()[:2]] == ["2 -> 7 (80%)", "4 -> 9 (55%)"]
    assert not fig.get_axes()[2].axison


def test_learning_curve_draws_a_line_per_model_on_log_axes():
    table = pd.DataFrame({"model": ["a", "a", "b", "b"], "train digits": [100, 1000, 100, 1000],
                          "accuracy": [0.8, 0.9, 0.7, 0.95], "fit_s": [0.1, 1.0, 0.2, 3.0]})
    acc_ax, time_ax = plots.learning_curve(table, reference={"CNN": 0.99})
    lines = [line for line in acc_ax.get_lines() if line.get_label() in ("a", "b")]
    assert [list(line.get_ydata()) for line in lines] == [[80.0, 90.0], [70.0, 95.0]]
    assert acc_ax.get_xscale() == "log" and time_ax.get_yscale() == "log"
    assert any(line.get_ydata()[0] == 99.0 for line in acc_ax.get_lines())


def test_training_curves_with_and_without_validation():
    history = {"loss": [1.0, 0.5], "accuracy": [0.5, 0.8], "val_loss": [1.1, 0.6], "val_accuracy": [0.4, 0.7]}
    acc_ax, loss_ax = plots.training_curves(history, title="run")
    assert [list(line.get_ydata()) for line in acc_ax.get_lines()] == [[50.0, 80.0], [40.0, 70.0]]
    # The figure's title, through the public API on every supported matplotlib (get_suptitle() is 3.8+;
    # pyproject.toml allows 3.7): suptitle adds a Text to the figure's texts.
    assert [text.get_text() for text in acc_ax.figure.texts] == ["run"]
    acc_ax, _ = plots.training_curves({"loss": [1.0], "accuracy": [0.5]})
    assert len(acc_ax.get_lines()) == 1


def test_filters_draws_each_kernel():
    kernels = np.random.default_rng(0).standard_normal((3, 3, 1, 5))
    fig = plots.filters(kernels, cols=4)
    axes = fig.get_axes()
    assert len(axes) == 8 and [ax.get_title() for ax in axes[:5]] == ["0", "1", "2", "3", "4"]
    np.testing.assert_array_equal(axes[2].get_images()[0].get_array(), kernels[:, :, 0, 2])
    assert not axes[7].axison


@pytest.mark.parametrize("count", [1, 8, 13, 32])
def test_feature_maps_draws_every_channel_whatever_their_number(count):
    maps = np.random.default_rng(count).random((5, 6, count))
    axes = plots.feature_maps(maps).get_axes()
    assert len(axes) == 8 * -(-count // 8)
    assert [ax.get_title() for ax in axes if ax.axison] == [str(k) for k in range(count)]
    np.testing.assert_array_equal(axes[count - 1].get_images()[0].get_array(), maps[:, :, count - 1])
    with pytest.raises(ValueError, match=r"maps: expected \(H, W, K\), one map per channel; got shape \(5, 6\)"):
        plots.feature_maps(maps[:, :, 0])


def test_confidence_histogram_normalises_each_group():
    confidence = np.array([0.99, 0.98, 0.6, 0.55])
    correct = np.array([True, True, True, False])
    ax = plots.confidence_histogram(confidence, correct, bins=10)
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels == ["right (3)", "wrong (1)"]
    right = sum(p.get_height() for p in ax.patches[:10])
    wrong = sum(p.get_height() for p in ax.patches[10:])
    assert right == pytest.approx(100) and wrong == pytest.approx(100)


def test_robustness_curves_draw_one_panel_per_transform_and_one_line_per_model():
    from mnistlab import robustness, transforms

    images = np.random.default_rng(0).integers(0, 256, (20, 28, 28), dtype=np.uint8)
    labels = np.arange(20) % 2

    def predict(x):
        bright = np.asarray(x).reshape(len(x), -1).mean(axis=1) > 127
        return np.stack([~bright, bright], axis=1).astype(float)

    table = robustness.sweep(predict, images, labels, ["shift right", "blur", "invert"]).table
    fig = plots.robustness_curves({"a": table, "b": table}, cols=2)
    drawn = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in drawn] == ["shift right", "blur", "invert"]
    assert all(len(ax.lines) == 2 for ax in drawn)
    np.testing.assert_allclose(drawn[0].lines[0].get_xdata(), transforms.TRANSFORMS["shift right"].strengths)
    assert not fig.axes[3].axison  # the unused fourth panel


def test_reliability_diagram_draws_the_diagonal_and_the_used_bins():
    from mnistlab import calibration

    p = np.array([[0.9, 0.1], [0.7, 0.3], [0.95, 0.05]])
    table = calibration.reliability(p, np.array([0, 1, 0]), bins=5)
    ax = plots.reliability_diagram({"model": table})
    diagonal, line = ax.lines
    np.testing.assert_allclose(diagonal.get_xdata(), [0, 1])
    np.testing.assert_allclose(line.get_xdata(), [0.7, 0.925])
    np.testing.assert_allclose(line.get_ydata(), [0.0, 1.0])
