"""Exercises of notebook 03: pooling.

03.1 and 03.2 are predictions, asked inline just before the cell that shows the answer (the average pooling of
the report's map; the parameters of the report's first dense layer); 03.3 (a conceptual question) and 03.4 (max
pooling written in NumPy, the package's and TensorFlow's pooling refused) sit in the notebook's Exercises section.
"""

from __future__ import annotations

import numpy as np

from mnistlab.exercises.core import Exercise, Mistake, choice

#: The pooling functions a learner's 03.4 may not call: the package's own, and TensorFlow's and Keras'.
FORBIDDEN = ("pool2d", "pool2d_backward", "_reduce_windows", "max_pool", "max_pool2d", "avg_pool2d",
             "max_pool_with_argmax", "MaxPooling2D", "MaxPool2D")


def _pool(x, size, **options):
    from mnistlab import ops

    return ops.pool2d(x, size, **options)


def _pooled(mode: str, stride: int = 2) -> np.ndarray:
    from mnistlab.examples import REPORT_FEATURE_MAP

    return _pool(REPORT_FEATURE_MAP.astype(float), 2, stride=stride, mode=mode)


def _cases() -> list[tuple]:
    rng = np.random.default_rng(303)
    shapes = [((4, 4, 3), 2), ((6, 8, 2), 2), ((9, 9, 4), 3), ((8, 8, 1), 4), ((5, 7, 2), 2)]
    return [(rng.normal(size=shape), size) for shape, size in shapes]


def _reference(x, size):
    return _pool(x, size)


def _mixed_channels(x, size):
    pooled = _pool(x, size)
    return np.repeat(pooled.max(axis=-1, keepdims=True), x.shape[-1], axis=-1)


def _average(x, size):
    return _pool(x, size, mode="avg")


def _partial_windows(x, size):
    return _pool(x, size, padding="same")


def _dense1(side: int, channels: int = 64, units: int = 128, bias: bool = True) -> int:
    """The parameters of a dense layer of ``units`` reading side x side x channels flattened values."""
    return side * side * channels * units + (units if bias else 0)


SOLUTION_POOL = '''def max_pool_maps(x, size):
    h, w, c = x.shape
    oh, ow = h // size, w // size                # windows that fit; the rest is dropped
    windows = x[:oh * size, :ow * size].reshape(oh, size, ow, size, c)
    return windows.max(axis=(1, 3))              # each channel on its own

answer = max_pool_maps'''

EXERCISES = [
    Exercise(
        "03.1", "average pooling of the report's map",
        "Predict, then run the cell below to see: the report max-pools its 4x4 feature map (`REPORT_FEATURE_MAP`, "
        "its four 2x2 blocks printed above) into [[792, 856], [913, 851]]. What does 2x2 *average* pooling with "
        "stride 2 give? A 2x2 array: work it out from the blocks (NumPy may do the sums).",
        ("Average pooling replaces each 2x2 block by the mean of its four values; the blocks are the ones printed "
         "above, each in its place.",
         "The top-left block is [429, 505, 261, 792]: its mean is (429 + 505 + 261 + 792) / 4. Do the same for the "
         "other three blocks.",
         "In NumPy, REPORT_FEATURE_MAP[0:2, 0:2].mean() is the top-left output; all four at once: "
         "REPORT_FEATURE_MAP.reshape(2, 2, 2, 2).mean(axis=(1, 3))."),
        "from mnistlab.examples import REPORT_FEATURE_MAP\n"
        "answer = REPORT_FEATURE_MAP.reshape(2, 2, 2, 2).mean(axis=(1, 3))",
        expected=lambda: _pooled("avg"),
        mistakes=(Mistake("max", lambda: _pooled("max"), "that is max pooling, the report's; average pooling takes "
                                                        "each block's mean"),
                  Mistake("sum", lambda: 4 * _pooled("avg"), "that is each block's sum: divide by the 4 values"),
                  Mistake("overlapping", lambda: _pooled("avg", stride=1),
                          "that is 3x3: windows at stride 1 overlap. At stride 2 the 2x2 windows tile the map into "
                          "its four blocks, one output each")),
        right="average pooling keeps the blocks' mean brightness; max pooling keeps their strongest response"),
    Exercise(
        "03.2", "where pooling saves parameters",
        "Predict, then run the cell below to see: the report's network reads a 28x28 digit with Conv2D(32, 3) "
        "(32 filters of 3x3, no padding), MaxPooling2D(2), Conv2D(64, 3) (no padding), MaxPooling2D(2), then "
        "Flatten and a Dense layer of 128 units, `dense1`. How many parameters has `dense1`? Follow the maps' shape "
        "layer by layer first.",
        ("Follow the shape: a 3x3 convolution without padding takes 2 off the size (28 -> 26); 2x2 pooling at "
         "stride 2 halves it, dropping a last row or column that has no full window.",
         "28 -> 26 -> 13 -> 11 -> 5: the last maps are 5x5 with 64 channels, so Flatten lays 5 * 5 * 64 values "
         "end to end.",
         "A dense layer has one weight per input per unit, and one bias per unit: 1,600 inputs times 128 units, "
         "plus 128."),
        "answer = (5 * 5 * 64) * 128 + 128  # 28 -> 26 -> 13 -> 11 -> 5; weights, then one bias per unit",
        expected=_dense1(5),
        mistakes=(Mistake("no bias", _dense1(5, bias=False),
                          "the weights are right: add one bias per unit, 128 more"),
                  Mistake("rounded up", _dense1(6),
                          "the 11x11 maps pool to 5x5, not 6x6: 11 // 2 = 5, and the 11th row and column, which "
                          "have no full 2x2 window, are dropped"),
                  Mistake("a quarter exactly", _dense1(5.5),
                          "11 x 11 / 4 is not a whole number of windows: 2x2 pooling at stride 2 keeps 11 // 2 = 5 "
                          "windows per side, so 5 x 5 x 64 values"),
                  Mistake("flatten", 5 * 5 * 64,
                          "1,600 is what Flatten lays end to end; dense1 has a weight for each of them in each of "
                          "its 128 units, plus one bias per unit"),
                  Mistake("padded", _dense1(7),
                          "that is with 'same' padding (28 -> 14 -> 7): the report's convolutions have none, so "
                          "each 3x3 takes 2 off the size first (28 -> 26 -> 13 -> 11 -> 5)"),
                  Mistake("one channel", _dense1(5, channels=1),
                          "Flatten keeps every channel: the last maps are 5x5 with 64 channels, 1,600 values")),
        right="5 x 5 x 64 = 1,600 inputs x 128 units + 128 biases: 88% of the network's parameters sit in this "
              "one layer, and without the pooling its input would be 23 times larger"),
    choice(
        "03.3", "what max pooling buys and costs",
        "After a one-pixel shift, 2x2 max pooling made the edge maps agree better with the unshifted ones, but not "
        "perfectly: the correlation stayed below 1. Which sentence says what max pooling buys and what it costs?",
        options={
            "a": "it buys exact invariance to one-pixel shifts; it costs nothing here: the correlation stays below 1 "
                 "only because np.roll wraps the digit's last column around to its first",
            "b": "it buys tolerance to shifts that keep a stroke inside its window; it costs knowing where exactly "
                 "in the window the stroke was",
            "c": "it buys weights that learn which position in each window matters most; it costs parameters and "
                 "training time",
            "d": "it buys a sharper map, at a higher resolution; it costs the weaker responses of each window, "
                 "which it sets to zero",
        },
        right="b",
        reasons={
            "a": "the wrapped column is blank: the first 500 training digits have no ink in their last column, so "
                 "np.roll moves zeros. The correlation stays below 1 because a stroke that moves across the edge "
                 "between two windows changes both of their maxima",
            "c": "pooling has no weights: it takes each window's maximum, nothing is learnt, and it adds no "
                 "parameters (it saves them in the dense layer after it)",
            "d": "the pooled map has a quarter of the values: it is coarser, not sharper. The weaker values of a "
                 "window are not set to zero, they are dropped with their positions",
        },
        hint=("Think of one stroke in one 2x2 window. What happens to the window's maximum when the stroke moves one "
              "pixel but stays inside the window? And when it moves across into the next window?",
              "Pooling has no weights (the pooling layer's parameters are counted above: 0), and the pooled map has "
              "a quarter of the values. Which options does that rule out?",
              "The sentence you want says what the maximum keeps when a stroke moves inside its window, and what "
              "the pooled value can no longer tell you."),
        explanation="a window's maximum does not care where in the window the stroke is, so a stroke that moves "
                    "without leaving its window leaves the pooled value unchanged. That same indifference is the "
                    "cost: the pooled map no longer says where in the window the stroke was. And a stroke that "
                    "crosses a window's edge changes two pooled values: the tolerance is partial, hence a "
                    "correlation below 1"),
    Exercise(
        "03.4", "max pooling of feature maps",
        "Write `max_pool_maps(x, size)` for feature maps `x` of shape (H, W, C): non-overlapping size x size "
        "windows (stride = size), windows that do not fit dropped, each channel pooled on its own. Vectorised "
        "NumPy, no loop over pixels. Checked on hidden cases against `mnistlab.ops.pool2d`; a function that calls "
        "the package's pooling (`pool2d`) or TensorFlow's is refused: write it yourself.",
        ("Crop first: keep the first (H // size) * size rows and (W // size) * size columns, so that the windows "
         "tile exactly.",
         "Reshape the cropped array to (H // size, size, W // size, size, C): axis 1 runs along a window's rows, "
         "axis 3 along its columns.",
         "Then .max(axis=(1, 3)): one maximum per window and per channel; axes 0, 2 and 4 stay."),
        SOLUTION_POOL,
        reference=_reference, cases=_cases, forbidden=FORBIDDEN,
        mistakes=(Mistake("mixed channels", _mixed_channels, "your pooling mixes channels: each channel is a different "
                                                            "feature and is pooled on its own (max over axes 1 and 3 "
                                                            "only)"),
                  Mistake("average", _average, "that is average pooling: take the maximum of each window"),
                  Mistake("partial windows kept", _partial_windows,
                          "you kept the windows that hang over the edge ('same' padding): windows that do not fit "
                          "are dropped, H // size rows and W // size columns")),
        right="the reshape trick: one max over a 5-D view, no loop"),
]
