"""Exercises of notebook 03: pooling."""

from __future__ import annotations

import numpy as np

from mnistlab.exercises.core import Exercise, Mistake


def _pooled(mode: str) -> np.ndarray:
    from mnistlab import ops
    from mnistlab.examples import REPORT_FEATURE_MAP

    return ops.pool2d(REPORT_FEATURE_MAP.astype(float), 2, mode=mode)


def _cases() -> list[tuple]:
    rng = np.random.default_rng(303)
    shapes = [((4, 4, 3), 2), ((6, 8, 2), 2), ((9, 9, 4), 3), ((8, 8, 1), 4), ((5, 7, 2), 2)]
    return [(rng.normal(size=shape), size) for shape, size in shapes]


def _reference(x, size):
    from mnistlab import ops

    return ops.pool2d(x, size)


def _mixed_channels(x, size):
    pooled = _reference(x, size)
    return np.repeat(pooled.max(axis=-1, keepdims=True), x.shape[-1], axis=-1)


def _average(x, size):
    from mnistlab import ops

    return ops.pool2d(x, size, mode="avg")


SOLUTION_POOL = '''def max_pool(x, size):
    h, w, c = x.shape
    oh, ow = h // size, w // size                # windows that fit; the rest is dropped
    windows = x[:oh * size, :ow * size].reshape(oh, size, ow, size, c)
    return windows.max(axis=(1, 3))              # each channel on its own

answer = max_pool'''

EXERCISES = [
    Exercise(
        "03.1", "average pooling of the report's map",
        "The report max-pools its 4x4 feature map (`REPORT_FEATURE_MAP`) into [[792, 856], [913, 851]]. What does "
        "2x2 *average* pooling with stride 2 give? A 2x2 array.",
        "Each output is the mean of one 2x2 block: REPORT_FEATURE_MAP[0:2, 0:2].mean() is the top-left one.",
        "from mnistlab.examples import REPORT_FEATURE_MAP\n"
        "answer = REPORT_FEATURE_MAP.reshape(2, 2, 2, 2).mean(axis=(1, 3))",
        expected=lambda: _pooled("avg"),
        mistakes=(Mistake("max", lambda: _pooled("max"), "that is max pooling, the report's; average pooling takes "
                                                        "each block's mean"),
                  Mistake("sum", lambda: 4 * _pooled("avg"), "that is each block's sum: divide by the 4 values")),
        right="average pooling keeps the blocks' mean brightness; max pooling keeps their strongest response"),
    Exercise(
        "03.2", "a pooling layer's parameters",
        "How many trainable parameters has `MaxPooling2D(2)`?",
        "What would training change in a layer that takes each window's maximum?",
        "answer = 0",
        expected=0,
        mistakes=(Mistake("window size", 4, "a pooling window has no weights: it only takes the maximum of 4 values "
                                            "(the report said pooling reduces trainable parameters; it has none, "
                                            "it shrinks the layers after it)"),),
        right="none: pooling saves parameters in the layers after it (a smaller flatten), not in itself"),
    Exercise(
        "03.3", "max pooling of feature maps",
        "Write `max_pool(x, size)` for feature maps `x` of shape (H, W, C): non-overlapping size x size windows "
        "(stride = size), windows that do not fit dropped, each channel pooled on its own. Vectorised NumPy, no "
        "loop over pixels. Checked on hidden cases against `mnistlab.ops.pool2d`.",
        "Crop to a multiple of size, then reshape (H, W, C) to (H // size, size, W // size, size, C) and take the "
        "max over axes 1 and 3.",
        SOLUTION_POOL,
        reference=_reference, cases=_cases,
        mistakes=(Mistake("mixed channels", _mixed_channels, "your pooling mixes channels: each channel is a different "
                                                            "feature and is pooled on its own (max over axes 1 and 3 "
                                                            "only)"),
                  Mistake("average", _average, "that is average pooling: take the maximum of each window")),
        right="the reshape trick: one max over a 5-D view, no loop"),
]
