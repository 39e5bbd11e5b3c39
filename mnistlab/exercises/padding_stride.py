"""Exercises of notebook 02: padding and stride.

02.1 is a prediction, asked inline just before the cell that prints the output's size; the others sit in the
notebook's Exercises section. 02.3 is a debugging exercise: its question shows :data:`BUGGY_ONE_SHORT` (a
"same" convolution whose loops stop one window short), whose unfixed version is a catalogued mistake.
"""

from __future__ import annotations

import numpy as np

from mnistlab.exercises.convolution import PACKAGE_CONVOLUTIONS
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
    return _reference(image, kernel, stride, ((padding, 0), (padding, 0)))


# The debugging exercise: a "same" convolution (stride 1, odd kernels) whose loops stop one window short on each
# axis. The question shows this code; the unfixed copy is a catalogued mistake.
BUGGY_ONE_SHORT = '''def conv2d_same(image, kernel):
    kh, kw = kernel.shape                      # odd sizes: 3x3, 5x5, 3x1, ...
    padded = np.pad(image, ((kh // 2, kh // 2), (kw // 2, kw // 2)))
    h, w = padded.shape
    out = np.zeros((h - kh, w - kw))
    for i in range(h - kh):
        for j in range(w - kw):
            out[i, j] = (padded[i:i + kh, j:j + kw] * kernel).sum()
    return out'''

SOLUTION_ONE_SHORT = '''def conv2d_same(image, kernel):
    kh, kw = kernel.shape                      # odd sizes: 3x3, 5x5, 3x1, ...
    padded = np.pad(image, ((kh // 2, kh // 2), (kw // 2, kw // 2)))
    h, w = padded.shape
    out = np.zeros((h - kh + 1, w - kw + 1))   # the fix: H - KH + 1 windows fit, not H - KH
    for i in range(h - kh + 1):
        for j in range(w - kw + 1):
            out[i, j] = (padded[i:i + kh, j:j + kw] * kernel).sum()
    return out

answer = conv2d_same'''


def _defined(source: str):
    """The function that ``source`` defines (NumPy in its namespace, as in a notebook)."""
    namespace: dict = {"np": np}
    exec(source, namespace)  # noqa: S102 - the package's own example code
    return next(v for k, v in namespace.items() if callable(v) and k != "np")


def _same_cases() -> list[tuple]:
    rng = np.random.default_rng(212)
    shapes = [((6, 6), (3, 3)), ((8, 7), (5, 5)), ((7, 9), (3, 1)), ((5, 8), (1, 3)), ((9, 6), (5, 3))]
    return [(rng.normal(size=image), rng.normal(size=kernel)) for image, kernel in shapes]


def _same(image, kernel):
    from mnistlab import ops

    return ops.conv2d(image, kernel, padding="same")


def _zero_edge(image, kernel):
    out = _same(image, kernel).copy()
    out[-1, :] = 0
    out[:, -1] = 0
    return out


def _rows_short(image, kernel):
    return _same(image, kernel)[:-1, :]


def _columns_short(image, kernel):
    return _same(image, kernel)[:, :-1]


def _padded_more(image, kernel):
    ph, pw = kernel.shape[0] // 2, kernel.shape[1] // 2
    return _reference(image, kernel, 1, ((ph + 1, ph), (pw + 1, pw)))[:-1, :-1]


SOLUTION_CONV = '''def conv2d_strided(image, kernel, stride, padding):
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

answer = conv2d_strided'''

EXERCISES = [
    Exercise(
        "02.1", "an output size",
        "Predict, then run the cell below to see: a 5x5 kernel slides over a 28x28 digit with stride 2 and no "
        "padding. How wide is the output?",
        ("Use the formula (W - F + 2P) / S + 1 with W = 28, F = 5, P = 0, S = 2.",
         "(28 - 5) / 2 is 11.5: the last half step has no full window under it. What do frameworks do with "
         "'valid' padding when the stride does not tile?",
         "They drop the partial window: round the division down, (28 - 5) // 2, then add 1 for the first window."),
        "answer = (28 - 5 + 2 * 0) // 2 + 1",
        expected=12,
        mistakes=(Mistake("no floor", 12.5, "round the division down: the last half step has no full window, so "
                                            "frameworks drop it ((28 - 5) // 2 + 1)"),
                  Mistake("no +1", 11, "you forgot the + 1: the first window sits at position 0 before any step"),
                  Mistake("no +1, no floor", 11.5, "two slips: round (28 - 5) / 2 down, then add 1 for the first "
                                                   "window"),
                  Mistake("ceil", 13, "that rounds (28 - 5) / 2 up, keeping the last partial window ('same' "
                                      "padding would give ceil(28 / 2) = 14); with no padding the partial window "
                                      "is dropped")),
        right="(28 - 5) // 2 + 1 = 12: the windows start at columns 0, 2, ..., 22, so column 27 is never seen"),
    Exercise(
        "02.2", "'same' padding at stride 2",
        "A 5x5 kernel runs over a 28x28 digit with stride 2 and TensorFlow's 'same' padding. How many columns of "
        "zeros go on the left and how many on the right? Answer with the pair (left, right), worked out with "
        "TensorFlow's rule from the section \"TensorFlow's 'same' is not always symmetric\" (`ops.same_padding` "
        "can confirm it afterwards).",
        ("'Same' at stride S means ceil(W / S) outputs: how many outputs is that here?",
         "14 windows of width 5, starting 2 columns apart, span (14 - 1) * 2 + 5 columns; the zeros make up the "
         "difference with the 28 columns of the digit.",
         "31 - 28 = 3 zeros in all; when the total is odd, TensorFlow puts the extra one on the right."),
        "answer = (1, 2)  # 14 outputs span (14 - 1) * 2 + 5 = 31 columns: 3 zeros, the extra one on the right",
        expected=(1, 2),
        mistakes=(Mistake("extra on the left", (2, 1), "the right total, on the wrong sides: TensorFlow puts the "
                                                       "odd extra zero at the bottom and right"),
                  Mistake("stride-1 rule", (2, 2),
                          "2 on each side is the stride-1 rule, (F - 1) / 2. It gives 14 outputs too, but TensorFlow "
                          "pads only what 14 windows need, (14 - 1) * 2 + 5 - 28 zeros in all, so its windows sit "
                          "one column further right"),
                  Mistake("too few", (1, 1),
                          "2 zeros in all give (28 - 5 + 2) // 2 + 1 = 13 outputs; 'same' at stride 2 gives "
                          "ceil(28 / 2) = 14"),
                  Mistake("the total", 3, "3 is the total: split it into (left, right), the extra zero on the "
                                          "right")),
        right="(1, 2): 3 zeros in all, the odd one on the right, as TensorFlow pads"),
    Exercise(
        "02.3", "debug: one window short",
        "The function below should compute a 'same' convolution at stride 1 for odd-sized kernels: pad the image "
        "with kh // 2 rows of zeros above and below (and kw // 2 columns on each side), then slide the kernel, so "
        "that a 28x28 digit stays 28x28. It returns 27x27. Copy it into the cell below, over the two lines "
        "`def conv2d_same(image, kernel):` and `...  # your code`, then find the bug and fix it.\n\n```python\n"
        + BUGGY_ONE_SHORT + "\n```",
        ("Count the windows on a small case: a 3-row kernel on the 30 rows of a padded 28-row digit. Where can the "
         "top of the window be?",
         "The window's top row can be 0, 1, ..., 30 - 3: that is 28 positions, one more than range(30 - 3) gives.",
         "Both the output's shape and both loops need h - kh + 1 and w - kw + 1."),
        SOLUTION_ONE_SHORT,
        reference=_same, cases=_same_cases, forbidden=PACKAGE_CONVOLUTIONS,
        mistakes=(Mistake("still one short", _defined(BUGGY_ONE_SHORT),
                          "this is still the function as given: range(h - kh) stops one window short (an h-row "
                          "input has h - kh + 1 positions for a kh-row window), on both axes"),
                  Mistake("last row and column zero", _zero_edge,
                          "the shape is right now, but the last row and column stay 0: the loops still stop at "
                          "range(h - kh); make them range(h - kh + 1) and range(w - kw + 1)"),
                  Mistake("rows still one short", _rows_short,
                          "the columns are fixed, but the rows still stop one window short: h - kh + 1 positions"),
                  Mistake("columns still one short", _columns_short,
                          "the rows are fixed, but the columns still stop one window short: w - kw + 1 positions"),
                  Mistake("padded more", _padded_more,
                          "the size is right, but the output is shifted by one pixel: the extra zeros at the top "
                          "and left move every window. Keep kh // 2 zeros on each side and fix the loops instead: "
                          "h - kh + 1 positions")),
        right="fixed: h - kh + 1 windows fit, the fencepost the output-size formula's + 1 counts"),
    Exercise(
        "02.4", "convolution with stride and padding",
        "Write `conv2d_strided(image, kernel, stride, padding)`: zero-pad the 2-D image by `padding` on every "
        "side, then slide the kernel with `stride` (cross-correlation, as in 01.2). Checked on hidden cases "
        "against `mnistlab.ops.conv2d`; a function that calls the package's convolution is refused.",
        ("Two steps: pad first (np.pad(image, padding) puts `padding` zeros on every side), then slide the kernel "
         "over the padded image.",
         "The output has (H - F + 2P) // S + 1 rows (likewise columns); window (i, j) starts at row i * stride, "
         "column j * stride of the padded image.",
         "out[i, j] = (padded[i * stride:i * stride + kh, j * stride:j * stride + kw] * kernel).sum()."),
        SOLUTION_CONV,
        reference=_reference, cases=_cases, forbidden=PACKAGE_CONVOLUTIONS,
        mistakes=(Mistake("flipped kernel", _flipped, "you flipped the kernel: CNN layers compute cross-correlation"),
                  Mistake("no padding", _no_padding, "your output is the unpadded one: pad the image with zeros first"),
                  Mistake("no stride", _no_stride, "your windows move one pixel at a time: step by `stride`"),
                  Mistake("one side padded", _padded_once,
                          "you padded only the top and left: `padding` zeros go on every side")),
        right="stride and padding, by hand, as TensorFlow computes them"),
]
