"""Exercises of notebook 01: convolution by hand.

01.1 is asked inline, before the cell that prints the report's whole 4x4 feature map; the others sit in the
notebook's Exercises section. 01.3 is a debugging exercise: its question shows :data:`BUGGY_FLIPPED` (a loop
that flips the kernel), whose unfixed version is a catalogued mistake.
"""

from __future__ import annotations

import numpy as np

from mnistlab.exercises.core import Exercise, Mistake

#: Names a learner's convolution may not use: the package's (or a library's) convolutions...
PACKAGE_CONVOLUTIONS = ("conv2d", "conv2d_backward", "_im2col", "correlate", "correlate2d", "convolve", "convolve2d",
                        "convolution", "fftconvolve", "oaconvolve")
#: ...and, where the exercise asks for the 2-D loop itself, the loop notebook 01 defines (01.5 may build on it).
FORBIDDEN = ("conv2d_loop", *PACKAGE_CONVOLUTIONS)


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


def _rows_flipped(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    return _reference(image, kernel[::-1, :])


def _columns_flipped(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    return _reference(image, kernel[:, ::-1])


def _debug_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    """Cases for the debugging exercise: non-symmetric kernels (a symmetric one hides a flip), some not square."""
    rng = np.random.default_rng(131)
    shapes = [((6, 6), (3, 3)), ((8, 7), (2, 3)), ((9, 9), (4, 4)), ((5, 8), (3, 1)), ((7, 7), (5, 5))]
    return [(rng.normal(size=image), rng.normal(size=kernel)) for image, kernel in shapes]


# The debugging exercise's function with its bug: written from the textbook's formula of convolution, which
# flips the kernel. The question shows this code; the unfixed copy is a catalogued mistake.
BUGGY_FLIPPED = '''def cross_correlate(image, kernel):
    kh, kw = kernel.shape
    oh, ow = image.shape[0] - kh + 1, image.shape[1] - kw + 1
    out = np.zeros((oh, ow))
    for i in range(oh):
        for j in range(ow):
            total = 0.0
            for a in range(kh):
                for b in range(kw):
                    total += image[i + a, j + b] * kernel[kh - 1 - a, kw - 1 - b]
            out[i, j] = total
    return out'''

SOLUTION_FIXED = '''def cross_correlate(image, kernel):
    kh, kw = kernel.shape
    oh, ow = image.shape[0] - kh + 1, image.shape[1] - kw + 1
    out = np.zeros((oh, ow))
    for i in range(oh):
        for j in range(ow):
            total = 0.0
            for a in range(kh):
                for b in range(kw):
                    total += image[i + a, j + b] * kernel[a, b]  # the fix: weight (a, b) meets pixel (i+a, j+b)
            out[i, j] = total
    return out

answer = cross_correlate'''


def _defined(source: str):
    """The function that ``source`` defines (NumPy in its namespace, as in a notebook)."""
    namespace: dict = {"np": np}
    exec(source, namespace)  # noqa: S102 - the package's own example code
    return next(v for k, v in namespace.items() if callable(v) and k != "np")


def _buggy_question() -> str:
    return ("Someone wrote the function below from the textbook's formula and tested it on the report's X kernel: "
            "it gives the report's 4x4 feature map. On Sobel x every output comes out with the wrong sign. Copy it "
            "into the cell below, over the two lines `def cross_correlate(image, kernel):` and `...  # your code`, "
            "then find the bug and fix it, so that it computes what a Conv2D layer computes.\n\n```python\n"
            + BUGGY_FLIPPED + "\n```")


def _multi_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(111)
    shapes = [((6, 6, 2), (3, 3, 2, 4)), ((7, 9, 3), (2, 3, 3, 2)), ((5, 5, 1), (3, 3, 1, 3)),
              ((8, 6, 4), (4, 1, 4, 1)), ((4, 5, 3), (4, 5, 3, 5))]
    return [(rng.normal(size=image), rng.normal(size=kernels)) for image, kernels in shapes]


def _multi_reference(image: np.ndarray, kernels: np.ndarray) -> np.ndarray:
    from mnistlab import ops

    return ops.conv2d(image, kernels)


def _first_channel(image, kernels):
    return _multi_reference(image[:, :, :1], kernels[:, :, :1, :])


def _last_channel(image, kernels):
    return _multi_reference(image[:, :, -1:], kernels[:, :, -1:, :])


def _channels_not_summed(image, kernels):
    kh, kw, c, k = kernels.shape
    maps = [[_reference(image[:, :, ch], kernels[:, :, ch, f]) for f in range(k)] for ch in range(c)]
    return np.array(maps).transpose(2, 3, 0, 1)  # (OH, OW, C, K): one map per channel and filter


def _reshaped_kernels(image, kernels):
    kh, kw, c, k = kernels.shape
    filters_first = kernels.reshape(k, kh, kw, c)  # reshape re-reads memory order: the weights move
    return _multi_reference(image, filters_first.transpose(1, 2, 3, 0))


def _multi_flipped(image, kernels):
    return _multi_reference(image, kernels[::-1, ::-1])


SOLUTION_CONV = '''def conv2d_valid(image, kernel):
    kh, kw = kernel.shape
    oh, ow = image.shape[0] - kh + 1, image.shape[1] - kw + 1
    out = np.zeros((oh, ow))
    for i in range(oh):
        for j in range(ow):
            out[i, j] = (image[i:i + kh, j:j + kw] * kernel).sum()
    return out

answer = conv2d_valid'''

SOLUTION_CHANNELS = '''def conv2d_channels(image, kernels):
    kh, kw, c, k = kernels.shape               # Keras' layout: (KH, KW, C, K)
    oh, ow = image.shape[0] - kh + 1, image.shape[1] - kw + 1
    out = np.zeros((oh, ow, k))
    for i in range(oh):
        for j in range(ow):
            window = image[i:i + kh, j:j + kw, :]            # (KH, KW, C): every channel
            for f in range(k):
                out[i, j, f] = (window * kernels[:, :, :, f]).sum()   # summed over rows, columns, channels
    return out

answer = conv2d_channels'''

EXERCISES = [
    Exercise(
        "01.1", "one more output pixel",
        "Before the loop below computes all sixteen outputs, work one out yourself. On the report's 6x6 image and "
        "X kernel (`REPORT_IMAGE`, `REPORT_KERNEL`), output[0, 0] is 429. Compute output[1, 2] (row 1, column 2), "
        "by hand or with NumPy, then run the cells below to see the whole feature map.",
        ("Output[i, j] comes from the 3x3 window whose top-left pixel is image[i, j].",
         "For output[1, 2] that window is REPORT_IMAGE[1:4, 2:5]: rows 1 to 3, columns 2 to 4.",
         "Multiply that window by REPORT_KERNEL, element by element, and sum: (REPORT_IMAGE[1:4, 2:5] * "
         "REPORT_KERNEL).sum()."),
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
        "against `mnistlab.ops.conv2d`; a function that calls `conv2d_loop` or `ops.conv2d` is refused: write the "
        "loop yourself.",
        ("First the output's shape: how many positions does a kh-row kernel have down an image of H rows?",
         "The output has image.shape[0] - kernel.shape[0] + 1 rows (and likewise columns): make an array of zeros "
         "of that shape, then loop over its rows i and columns j.",
         "output[i, j] is (image[i:i + kh, j:j + kw] * kernel).sum()."),
        SOLUTION_CONV,
        reference=_reference, cases=_cases, forbidden=FORBIDDEN,
        mistakes=(Mistake("flipped kernel", _flipped,
                          "you flipped the kernel: that is convolution in the mathematical sense. CNN layers (and "
                          "TensorFlow) compute cross-correlation: the kernel is not flipped"),
                  Mistake("one window short", _one_short,
                          "one window short on each axis: there are H - F + 1 positions (range(H - F + 1)), "
                          "not H - F")),
        right="your loop agrees with mnistlab.ops.conv2d, and so with TensorFlow's convolution, on every hidden "
              "case"),
    Exercise(
        "01.3", "debug: a sign error on Sobel x",
        _buggy_question(),
        ("The X kernel looks the same turned upside down and left to right; Sobel x turned that way is minus "
         "itself. So what does the function do to the kernel?",
         "Look at which kernel weight meets pixel image[i + a, j + b]: kernel[kh - 1 - a, kw - 1 - b] reads the "
         "kernel from its last row and column backwards, the mathematical convolution's flip.",
         "A Conv2D layer multiplies pixel image[i + a, j + b] by kernel[a, b]: change that one index."),
        SOLUTION_FIXED,
        reference=_reference, cases=_debug_cases, forbidden=FORBIDDEN,
        mistakes=(Mistake("still flipped", _defined(BUGGY_FLIPPED),
                          "this is still the function as given: it reads the kernel backwards "
                          "(kernel[kh - 1 - a, kw - 1 - b]), the textbook convolution's flip. A Conv2D layer "
                          "multiplies image[i + a, j + b] by kernel[a, b]"),
                  Mistake("rows still flipped", _rows_flipped,
                          "half fixed: the columns are right, but the rows of the kernel are still read from the "
                          "bottom up (kh - 1 - a): use kernel[a, b]"),
                  Mistake("columns still flipped", _columns_flipped,
                          "half fixed: the rows are right, but the columns of the kernel are still read from the "
                          "right (kw - 1 - b): use kernel[a, b]")),
        right="fixed: no flip, as TensorFlow computes it (the X kernel hid the bug, being the same flipped)"),
    Exercise(
        "01.4", "a layer's parameters",
        "How many trainable parameters has `Conv2D(32, 3)` (32 filters of 3x3) on a one-channel digit?",
        ("Count the numbers one filter learns, then multiply by the 32 filters.",
         "A filter has one weight per kernel cell and per input channel (3 x 3 x 1 here), and Keras adds one more "
         "learned number per filter.",
         "That extra number is the bias: 32 x (3 x 3 x 1 + 1)."),
        "answer = 32 * (3 * 3 * 1 + 1)",
        expected=320,
        mistakes=(Mistake("no bias", 288, "you forgot the biases: one per filter"),
                  Mistake("one filter", 10, "that is one filter; the layer has 32"),
                  Mistake("per pixel", 32 * 26 * 26, "the weights are shared over the image: a filter's 9 weights "
                                                     "serve every position")),
        right="320 = 32 x (9 weights + 1 bias): the same few weights slide over every position"),
    Exercise(
        "01.5", "several channels and filters",
        "A layer's input has C channels (an RGB photo has 3; a layer after a Conv2D(32, ...) has 32): shape "
        "(H, W, C). Its K filters are stored in Keras' layout, `kernels` of shape (KH, KW, C, K): "
        "`kernels[:, :, :, k]` is filter k, spanning all C channels. Write `conv2d_channels(image, kernels)` "
        "returning the (H - KH + 1, W - KW + 1, K) output ('valid', stride 1): output[i, j, k] is the sum, over "
        "the window's rows, columns and channels, of the window times filter k. Checked on hidden cases against "
        "`mnistlab.ops.conv2d`; the package's convolutions are refused.",
        ("Start from your 2-D loop: the window is now image[i:i + kh, j:j + kw, :], a (KH, KW, C) block, and there "
         "is one output per filter.",
         "Filter k is kernels[:, :, :, k], also (KH, KW, C): multiply it by the window element by element, and sum "
         "everything (rows, columns and channels) into one number.",
         "Make out = np.zeros((oh, ow, K)); loop over i, j and the filters f: out[i, j, f] = (window * "
         "kernels[:, :, :, f]).sum()."),
        SOLUTION_CHANNELS,
        reference=_multi_reference, cases=_multi_cases, forbidden=PACKAGE_CONVOLUTIONS,
        mistakes=(Mistake("first channel only", _first_channel,
                          "only the first input channel counts in your output: a filter spans all C channels, and "
                          "its products are summed over every one of them"),
                  Mistake("last channel only", _last_channel,
                          "only the last input channel counts in your output: an assignment (=) inside the loop "
                          "over channels overwrites the earlier ones; add them up (+=), or sum over the channel "
                          "axis too"),
                  Mistake("channels not summed", _channels_not_summed,
                          "your output keeps one map per input channel and filter, (OH, OW, C, K): a filter adds "
                          "its products over all C channels into one map, so the output is (OH, OW, K)"),
                  Mistake("kernels reshaped, not transposed", _reshaped_kernels,
                          "the kernel's axes are mixed up: kernels.reshape(K, KH, KW, C) does not move the filter "
                          "axis to the front, it re-reads the numbers in memory order, so weights land on the wrong "
                          "pixels and channels. Index filter k as kernels[:, :, :, k] (or use "
                          "kernels.transpose(3, 0, 1, 2))"),
                  Mistake("flipped kernels", _multi_flipped,
                          "you flipped the kernels: a Conv2D layer computes cross-correlation, no flip")),
        right="one output channel per filter, each summing over every input channel: what Conv2D computes"),
]
