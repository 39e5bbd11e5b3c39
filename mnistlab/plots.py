"""Pure plotting functions: each takes arrays and an optional ``ax=`` (or ``fig=``) and returns it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "confidence_histogram",
    "confusion_matrix",
    "digit",
    "digit_grid",
    "feature_map",
    "feature_maps",
    "filters",
    "label_counts",
    "learning_curve",
    "loss_curves",
    "mean_digits",
    "mistakes",
    "pixel_histogram",
    "reliability_diagram",
    "robustness_curves",
    "training_curves",
]


def _axes(ax=None):
    import matplotlib.pyplot as plt

    return ax if ax is not None else plt.subplots()[1]


def digit(image: np.ndarray, *, title: str | None = None, ax: Axes | None = None, annotate: bool = False) -> Axes:
    """Show one (H, W) image in gray: uint8 on 0-255, floats within [0, 1] on 0-1 (a dim digit looks dim), other
    values stretched to their range; with ``annotate=True`` each pixel's value is written on it."""
    ax = _axes(ax)
    image = np.asarray(image)
    low, high = float(image.min()), float(image.max())
    vmax = 255 if image.dtype == np.uint8 else 1.0 if low >= 0 and high <= 1 else None
    ax.imshow(image, cmap="gray", vmin=0 if low >= 0 else None, vmax=vmax, interpolation="nearest")
    if annotate:
        threshold = (float(image.max()) + float(image.min())) / 2
        for (i, j), value in np.ndenumerate(image):
            ax.text(j, i, f"{value:g}", ha="center", va="center", fontsize=7,
                    color="black" if value > threshold else "white")
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title)
    return ax


def feature_map(fmap: np.ndarray, *, title: str | None = None, ax: Axes | None = None) -> Axes:
    """A convolution output: blue < 0 < red (0 white) when it has negative values, else gray."""
    ax = _axes(ax)
    fmap = np.asarray(fmap)
    if fmap.min() < 0:
        bound = float(np.abs(fmap).max())
        ax.imshow(fmap, cmap="RdBu_r", vmin=-bound, vmax=bound, interpolation="nearest")
    else:
        ax.imshow(fmap, cmap="gray", interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title)
    return ax


def digit_grid(images: np.ndarray, labels: Sequence | None = None, *, rows: int = 2, cols: int = 8,
               titles: Sequence[str] | None = None, fig: Figure | None = None) -> Figure:
    """A grid of the first ``rows * cols`` images, titled with their labels (or ``titles``)."""
    import matplotlib.pyplot as plt

    n = min(rows * cols, len(images))
    fig = fig if fig is not None else plt.figure(figsize=(1.2 * cols, 1.35 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k >= n:
            ax.axis("off")
            continue
        title = titles[k] if titles is not None else (str(labels[k]) if labels is not None else None)
        digit(images[k], title=title, ax=ax)
    return fig


def label_counts(labels: np.ndarray, *, ax: Axes | None = None, title: str | None = None) -> Axes:
    """A bar chart of how many examples each digit 0-9 has, with the count on each bar."""
    ax = _axes(ax)
    counts = np.bincount(np.asarray(labels), minlength=10)
    bars = ax.bar(np.arange(len(counts)), counts, color="tab:blue")
    ax.bar_label(bars, fontsize=7)
    ax.set_xticks(np.arange(len(counts)))
    ax.set_xlabel("digit")
    ax.set_ylabel("examples")
    if title is not None:
        ax.set_title(title)
    return ax


def pixel_histogram(images: np.ndarray, *, ax: Axes | None = None, log: bool = True) -> Axes:
    """The histogram of all pixel intensities 0..255 (log scale: the background dominates)."""
    ax = _axes(ax)
    counts = np.bincount(np.asarray(images, dtype=np.uint8).ravel(), minlength=256)
    ax.bar(np.arange(256), counts, width=1.0, color="tab:gray")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("pixel intensity")
    ax.set_ylabel("pixels")
    ax.set_xlim(-1, 256)
    return ax


def mean_digits(images: np.ndarray, labels: np.ndarray, *, fig: Figure | None = None) -> Figure:
    """The mean image of each digit 0-9, side by side."""
    import matplotlib.pyplot as plt

    fig = fig if fig is not None else plt.figure(figsize=(12, 1.6))
    axes = fig.subplots(1, 10)
    for d, ax in enumerate(axes):
        digit(images[labels == d].mean(axis=0), title=str(d), ax=ax)
    return fig


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, *, ax: Axes | None = None, title: str | None = None,
                     num_classes: int = 10) -> Axes:
    """A heatmap of counts: row = true digit, column = predicted digit; the diagonal is correct."""
    import seaborn as sns

    from mnistlab.evaluation import confusion_counts

    ax = _axes(ax)
    counts = confusion_counts(y_true, y_pred, num_classes)
    off_diagonal = counts - np.diag(np.diag(counts))
    sns.heatmap(counts, annot=True, fmt="d", cmap="Blues", cbar=False, ax=ax, annot_kws={"fontsize": 7},
                vmax=max(1, off_diagonal.max()) * 3)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if title is not None:
        ax.set_title(title)
    return ax


def mistakes(images: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray, *, rows: int = 2, cols: int = 8,
             confidence: np.ndarray | None = None, fig: Figure | None = None) -> Figure:
    """A grid of the first misclassified digits, titled "true -> predicted" (and the confidence)."""
    wrong = np.flatnonzero(np.asarray(y_true) != np.asarray(y_pred))[: rows * cols]
    titles = [f"{y_true[i]} -> {y_pred[i]}" + ("" if confidence is None else f" ({confidence[i]:.0%})")
              for i in wrong]
    return digit_grid(images[wrong], rows=rows, cols=cols, titles=titles, fig=fig)


def learning_curve(table: pd.DataFrame, *, axes: Sequence[Axes] | np.ndarray | None = None,
                   reference: dict | None = None) -> Sequence[Axes] | np.ndarray:
    """Test accuracy and fit time against training-set size, one line per model (log-scale sizes).

    ``table`` has columns model, train digits, accuracy, fit_s (as from
    :func:`mnistlab.baselines.learning_curve`); ``reference`` maps a label to an accuracy drawn as a
    dashed line (the CNN's, say).
    """
    import matplotlib.pyplot as plt

    if axes is None:
        axes = plt.subplots(1, 2, figsize=(12, 4))[1]
    acc_ax, time_ax = axes
    for name, rows in table.groupby("model", sort=False):
        rows = rows.sort_values("train digits")
        acc_ax.plot(rows["train digits"], 100 * rows["accuracy"], marker="o", label=name)
        time_ax.plot(rows["train digits"], rows["fit_s"], marker="o", label=name)
    for label, accuracy in (reference or {}).items():
        acc_ax.axhline(100 * accuracy, color="black", linestyle="--", linewidth=1)
        acc_ax.annotate(label, (table["train digits"].min(), 100 * accuracy), xytext=(0, 3),
                        textcoords="offset points", fontsize=8)
    for ax, ylabel in ((acc_ax, "test accuracy (%)"), (time_ax, "fit time (s)")):
        ax.set_xscale("log")
        ax.set_xlabel("training digits")
        ax.set_ylabel(ylabel)
        ax.grid(True, alpha=0.3)
    time_ax.set_yscale("log")
    acc_ax.legend(fontsize=8)
    return axes


def training_curves(history: dict, *, axes: Sequence[Axes] | np.ndarray | None = None,
                    title: str | None = None) -> Sequence[Axes] | np.ndarray:
    """Accuracy and loss per epoch, training and (when present) validation, side by side."""
    import matplotlib.pyplot as plt

    if axes is None:
        axes = plt.subplots(1, 2, figsize=(11, 3.6))[1]
    epochs = np.arange(1, len(history["loss"]) + 1)
    for ax, metric, scale in ((axes[0], "accuracy", 100), (axes[1], "loss", 1)):
        ax.plot(epochs, scale * np.asarray(history[metric]), marker="o", label="training")
        if f"val_{metric}" in history:
            ax.plot(epochs, scale * np.asarray(history[f"val_{metric}"]), marker="o", label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"{metric} (%)" if scale == 100 else metric)
        ax.grid(True, alpha=0.3)
        ax.legend()
    if title is not None:
        axes[0].figure.suptitle(title)
    return axes


def loss_curves(curves: dict[str, Sequence[float]], *, ax: Axes | None = None, xlabel: str = "training step",
                log: bool = False) -> Axes:
    """One line per named sequence of losses (or gradient norms), against the step (or the layer)."""
    ax = _axes(ax)
    for name, values in curves.items():
        ax.plot(np.arange(1, len(values) + 1), values, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("loss")
    if log:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend()
    return ax


def filters(kernels: np.ndarray, *, cols: int = 8, fig: Figure | None = None) -> Figure:
    """A grid of a first layer's learned kernels (KH, KW, 1, K), blue < 0 < red."""
    return feature_maps(np.asarray(kernels)[:, :, 0, :], cols=cols, fig=fig)


def feature_maps(maps: np.ndarray, *, cols: int = 8, fig: Figure | None = None) -> Figure:
    """A grid of every channel of a stack of maps (H, W, K), each drawn by :func:`feature_map` and titled by its
    channel number, ``cols`` to a row."""
    import matplotlib.pyplot as plt

    maps = np.asarray(maps)
    if maps.ndim != 3:
        raise ValueError(f"maps: expected (H, W, K), one map per channel; got shape {maps.shape}")
    count = maps.shape[-1]
    rows = -(-count // cols)
    fig = fig if fig is not None else plt.figure(figsize=(1.3 * cols, 1.4 * rows))
    for k, ax in enumerate(fig.subplots(rows, cols, squeeze=False).flat):
        if k < count:
            feature_map(maps[:, :, k], title=str(k), ax=ax)
        else:
            ax.axis("off")
    return fig


def confidence_histogram(confidence: np.ndarray, correct: np.ndarray, *, ax: Axes | None = None,
                         bins: int = 20) -> Axes:
    """How sure the model was, for right and for wrong answers (each normalised to its own total)."""
    ax = _axes(ax)
    edges = np.linspace(0, 1, bins + 1)
    for mask, label, colour in ((correct, "right", "tab:green"), (~correct, "wrong", "tab:red")):
        if mask.any():
            ax.hist(confidence[mask], bins=edges, weights=np.full(mask.sum(), 100 / mask.sum()), alpha=0.6,
                    label=f"{label} ({mask.sum():,})", color=colour)
    ax.set_xlabel("confidence (probability of the predicted digit)")
    ax.set_ylabel("% of the answers")
    ax.legend()
    return ax


def robustness_curves(tables: dict, *, fig: Figure | None = None, cols: int = 4) -> Figure:
    """Accuracy against each transform's strength, one panel per transform, one line per model.

    ``tables`` maps a model's name to its :attr:`mnistlab.robustness.Sweep.table`.
    """
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(n for table in tables.values() for n in table["transform"]))
    rows = -(-len(names) // cols)
    fig = fig if fig is not None else plt.figure(figsize=(3.2 * cols, 2.7 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False, sharey=True)
    for ax, name in zip(axes.flat, names, strict=False):
        for model, table in tables.items():
            part = table[table["transform"] == name].sort_values("strength")
            ax.plot(part["strength"], 100 * part["accuracy"], marker="o", markersize=3, label=model)
        ax.set_title(name)
        ax.set_xlabel(part["unit"].iloc[0], fontsize=8)
        ax.set_ylim(0, 101)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(names):]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel("accuracy %")
    axes.flat[0].legend(fontsize=8)
    return fig


def reliability_diagram(tables: dict, *, ax: Axes | None = None) -> Axes:
    """Accuracy against confidence per bin (:func:`mnistlab.calibration.reliability`), one line per table;
    the diagonal is a calibrated model. ``tables`` maps a label (say, with its ECE) to a reliability table."""
    ax = _axes(ax)
    ax.plot([0, 1], [0, 1], color="gray", linestyle="--", linewidth=1, label="calibrated")
    for label, table in tables.items():
        used = table[table["count"] > 0]
        ax.plot(used["confidence"], used["accuracy"], marker="o", markersize=4, label=label)
    ax.set_xlabel("confidence (mean top probability in the bin)")
    ax.set_ylabel("accuracy in the bin")
    ax.set_xlim(0, 1.01)
    ax.set_ylim(0, 1.01)
    ax.legend(fontsize=8)
    return ax
