"""Exercises of notebook 02: padding and stride."""

from __future__ import annotations

import numpy as np

from mnistlab.exercises.core import Exercise, Mistake


def _cases() -> list[tuple]:
    rng = np.random.default_rng(202)
    settings = [((7, 7), (3, 3), 2, 1), ((8, 6), (3, 2), 1, 2), ((9, 9), (5, 5), 3, 2), ((6, 10), (2, 2), 2, 0),
                ((5, 5), (3, 3), 1, 1)]
    return [(rng.normal(size=image), rng.normal(size=kernel), stride, padding)
            for image, kernel, stride, padding in settings]


def _reference(image, kernel, stride, padding):
    from mnistlab import ops

    return ops.conv2d(image, kernel, stride=stride, padding=padding)


def _flipped(image, kernel, stride, padding):
    return _reference(image, kernel[::-1, ::-1], stride, padding)


def _no_padding(image, kernel, stride, padding):
    return _reference(image, kernel, stride, 0)


def _no_stride(image, kernel, stride, padding):
    return _reference(image, kernel, 1, padding)


def _padded_once(image, kernel, stride, padding):
    from mnistlab import ops

    return ops.conv2d(image, kernel, stride=stride, padding=((padding, 0), (padding, 0)))


SOLUTION_CONV = '''def conv2d(image, kernel, stride, padding):
    padded = np.pad(image, padding)            # zeros on every side
    kh, kw = kernel.shape
    oh = (padded.shape[0] - kh) // stride + 1  # (W - F + 2P) // S + 1
    ow = (padded.shape[1] - kw) // stride + 1
    out = np.zeros((oh, ow))
    for i in range(oh):
        for j in range(ow):
            window = padded[i * stride:i * stride + kh, j * stride:j * stride + kw]
            out[i, j] = (window * kernel).sum()
    return out

answer = conv2d'''

EXERCISES = [
    Exercise(
        "02.1", "an output size",
        "A 5x5 kernel slides over a 28x28 digit with stride 2 and no padding. How wide is the output?",
        "(W - F + 2P) / S + 1, and a window that does not fit is not computed: round the division down.",
        "answer = (28 - 5 + 2 * 0) // 2 + 1",
        expected=12,
        mistakes=(Mistake("no floor", 12.5, "round the division down: the last half step has no full window, so "
                                            "frameworks drop it ((28 - 5) // 2 + 1)"),
                  Mistake("no +1", 11, "you forgot the + 1: the first window sits at position 0 before any step"),
                  Mistake("no +1, no floor", 11.5, "two slips: round (28 - 5) / 2 down, then add 1 for the first "
                                                   "window"),
                  Mistake("ceil", 13, "that rounds up, as 'same' padding does; with no padding the partial "
                                      "window is dropped")),
        right="(28 - 5) // 2 + 1 = 12: the windows start at columns 0, 2, ..., 22, so column 27 is never seen"),
    Exercise(
        "02.2", "'same' padding",
        "How many rows of zeros must be added on each side so that a 5x5 kernel with stride 1 keeps a 28x28 digit "
        "28x28 ('same' padding)?",
        "Solve 28 - 5 + 2P + 1 = 28 for P.",
        "answer = (5 - 1) // 2",
        expected=2,
        mistakes=(Mistake("valid", 0, "that is 'valid' padding: no zeros, and the output shrinks to 24x24"),
                  Mistake("both sides", 4, "that is the total over both sides; the question asks per side")),
        right="(F - 1) / 2 = 2 on each side, for any odd kernel"),
    Exercise(
        "02.3", "convolution with stride and padding",
        "Write `conv2d(image, kernel, stride, padding)`: zero-pad the 2-D image by `padding` on every side, then "
        "slide the kernel with `stride` (cross-correlation, as in 01.2). Checked on hidden cases against "
        "`mnistlab.ops.conv2d`.",
        "np.pad(image, padding) pads every side; window (i, j) starts at (i * stride, j * stride); the output size "
        "is (H - F + 2P) // S + 1.",
        SOLUTION_CONV,
        reference=_reference, cases=_cases,
        mistakes=(Mistake("flipped kernel", _flipped, "you flipped the kernel: CNN layers compute cross-correlation"),
                  Mistake("no padding", _no_padding, "your output is the unpadded one: pad the image with zeros first"),
                  Mistake("no stride", _no_stride, "your windows move one pixel at a time: step by `stride`"),
                  Mistake("one side padded", _padded_once,
                          "you padded only the top and left: `padding` zeros go on every side")),
        right="stride and padding, by hand, as TensorFlow computes them"),
]
