"""Exercises of notebook 01: convolution by hand."""

from __future__ import annotations

import numpy as np

from mnistlab.exercises.core import Exercise, Mistake


def _report_output(row: int, col: int) -> float:
    from mnistlab import ops
    from mnistlab.examples import REPORT_IMAGE, REPORT_KERNEL

    return float(ops.conv2d(REPORT_IMAGE, REPORT_KERNEL)[row, col])


def _window_sum() -> float:
    from mnistlab.examples import REPORT_IMAGE

    return float(REPORT_IMAGE[1:4, 2:5].sum())


def _cases() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(101)
    shapes = [((6, 6), (3, 3)), ((7, 9), (2, 3)), ((10, 8), (5, 4)), ((4, 4), (4, 4)), ((12, 5), (1, 2))]
    return [(rng.normal(size=image), rng.normal(size=kernel)) for image, kernel in shapes]


def _reference(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    from mnistlab import ops

    return ops.conv2d(image, kernel)


def _flipped(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    return _reference(image, kernel[::-1, ::-1])


def _one_short(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    return _reference(image, kernel)[:-1, :-1]


SOLUTION_CONV = '''def conv2d_valid(image, kernel):
    kh, kw = kernel.shape
    oh, ow = image.shape[0] - kh + 1, image.shape[1] - kw + 1
    out = np.zeros((oh, ow))
    for i in range(oh):
        for j in range(ow):
            out[i, j] = (image[i:i + kh, j:j + kw] * kernel).sum()
    return out

answer = conv2d_valid'''

EXERCISES = [
    Exercise(
        "01.1", "one more output pixel",
        "On the report's 6x6 image and X kernel (`REPORT_IMAGE`, `REPORT_KERNEL`), output[0, 0] is 429. "
        "Compute output[1, 2] (row 1, column 2) with the window and the kernel, by hand or with NumPy.",
        "The window of output[i, j] is image[i:i + 3, j:j + 3]; multiply it by the kernel, element by element, "
        "and sum.",
        "from mnistlab.examples import REPORT_IMAGE, REPORT_KERNEL\n"
        "answer = (REPORT_IMAGE[1:4, 2:5] * REPORT_KERNEL).sum()",
        expected=lambda: _report_output(1, 2),
        mistakes=(Mistake("row and column swapped", lambda: _report_output(2, 1),
                          "that is output[2, 1]: the first index is the row (down), the second the column"),
                  Mistake("window off by one", lambda: _report_output(2, 3),
                          "that is output[2, 3]: windows start at the output's own row and column, counted from 0"),
                  Mistake("no multiply", _window_sum,
                          "that is the window's sum: multiply by the kernel first (its zeros drop four pixels)")),
        right="the window times the X kernel keeps its four corners and its centre"),
    Exercise(
        "01.2", "write the convolution loop",
        "Write `conv2d_valid(image, kernel)` for a 2-D image and a 2-D kernel of any sizes: the 'valid' "
        "cross-correlation a Conv2D layer computes (no padding, stride 1). It is checked on hidden cases "
        "against `mnistlab.ops.conv2d`.",
        "The output has image.shape[0] - kernel.shape[0] + 1 rows (and likewise columns); output[i, j] is the sum "
        "of image[i:i + kh, j:j + kw] * kernel.",
        SOLUTION_CONV,
        reference=_reference, cases=_cases,
        mistakes=(Mistake("flipped kernel", _flipped,
                          "you flipped the kernel: that is convolution in the mathematical sense. CNN layers (and "
                          "TensorFlow) compute cross-correlation: the kernel is not flipped"),
                  Mistake("one window short", _one_short,
                          "one window short on each axis: there are H - F + 1 positions (range(H - F + 1)), "
                          "not H - F")),
        right="your loop agrees with TensorFlow's convolution on every hidden case"),
    Exercise(
        "01.3", "a layer's parameters",
        "How many trainable parameters has `Conv2D(32, 3)` (32 filters of 3x3) on a one-channel digit?",
        "Each filter has a weight per kernel cell and per input channel, and one bias.",
        "answer = 32 * (3 * 3 * 1 + 1)",
        expected=320,
        mistakes=(Mistake("no bias", 288, "you forgot the biases: one per filter"),
                  Mistake("one filter", 10, "that is one filter; the layer has 32"),
                  Mistake("per pixel", 32 * 26 * 26, "the weights are shared over the image: a filter's 9 weights "
                                                     "serve every position")),
        right="320 = 32 x (9 weights + 1 bias): the same few weights slide over every position"),
]
