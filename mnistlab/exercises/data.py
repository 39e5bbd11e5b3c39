"""Exercises of notebook 00: the data."""

from __future__ import annotations

from functools import cache

from mnistlab.exercises.core import Exercise, Mistake


@cache
def _mnist():
    from mnistlab.data import load_mnist

    return load_mnist()


def _test_sevens() -> int:
    return int((_mnist()[1][1] == 7).sum())


def _background() -> float:
    return float((_mnist()[0][0] == 0).mean())


EXERCISES = [
    Exercise(
        "00.1", "a pixel's index",
        "A digit is stored as 784 numbers, row after row (as in the report's CSV). At which index is the pixel in "
        "row 5, column 7 (both counted from 0)?",
        "Rows come first: every row before row 5 holds 28 pixels.",
        "answer = 5 * 28 + 7",
        expected=147,
        mistakes=(Mistake("swapped", 7 * 28 + 5, "rows and columns swapped: x = i * 28 + j with i the row, j the "
                                                   "column"),
                  Mistake("one-based", 148, "one too many: Python counts from 0, so the first pixel is index 0"),
                  Mistake("27 per row", 5 * 27 + 7, "a row has 28 pixels, not 27")),
        right="147 = 5 * 28 + 7"),
    Exercise(
        "00.2", "sevens in the test set",
        "How many of the 10,000 test digits are 7s? Compute it from `y_test`.",
        "A comparison gives an array of True/False; True counts as 1 in a sum.",
        "answer = int((y_test == 7).sum())",
        expected=_test_sevens,
        mistakes=(Mistake("training set", lambda: int((_mnist()[0][1] == 7).sum()),
                          "that is the training set's count: use y_test"),
                  Mistake("equal classes", 1000, "MNIST's classes are not equal in size: count them")),
        right="MNIST's test set is close to balanced, not exactly: the counts range from 892 (5s) to 1,135 "
              "(1s)"),
    Exercise(
        "00.3", "how much is background",
        "What fraction of all the training images' pixels is exactly 0 (pure black background)? A number "
        "between 0 and 1, to three decimals.",
        "Compare the whole `x_train` array with 0 and take the mean.",
        "answer = float((x_train == 0).mean())",
        expected=_background, tolerance=1e-3,
        mistakes=(Mistake("percent", lambda: 100 * _background(), "a fraction between 0 and 1, not a percentage"),
                  Mistake("ink", lambda: 1 - _background(), "that is the share of pixels with some ink (not 0)")),
        right="about four pixels in five are pure black background"),
]
