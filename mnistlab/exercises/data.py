"""Exercises of notebook 00: the data.

00.1 sits after the notebook's "Addressing a pixel" section; 00.2 is a prediction, asked just before the cell
that scores the nearest-average-digit classifier; 00.3 and 00.4 ask for numbers the notebook never prints.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from mnistlab.exercises.core import Exercise, Mistake


@cache
def _mnist():
    from mnistlab.data import load_mnist

    return load_mnist()


def _ink() -> np.ndarray:
    """Each training digit's ink: the sum of its pixel values."""
    x_train = _mnist()[0][0]
    return x_train.reshape(len(x_train), -1).sum(axis=1, dtype=np.int64)


def _most_ink() -> int:
    return int(_ink().argmax())


def _never_inked(split: int = 0) -> int:
    return int((_mnist()[split][0].max(axis=0) == 0).sum())


EXERCISES = [
    Exercise(
        "00.1", "a pixel's index",
        "A digit is stored as 784 numbers, row after row (as a CSV file or a classical model sees it). At which "
        "index is the pixel in row 5, column 7 (both counted from 0)?",
        ("Rows come first: how many pixels lie in the rows before row 5?",
         "Every row holds 28 pixels, so rows 0 to 4 hold 5 * 28; then count along row 5 to column 7.",
         "x = i * 28 + j with i = 5 (the row) and j = 7 (the column)."),
        "answer = 5 * 28 + 7",
        expected=147,
        mistakes=(Mistake("swapped", 7 * 28 + 5, "rows and columns swapped: x = i * 28 + j with i the row, j the "
                                                   "column"),
                  Mistake("one-based", 148, "one too many: Python counts from 0, so the first pixel is index 0"),
                  Mistake("27 per row", 5 * 27 + 7, "a row has 28 pixels, not 27")),
        right="147 = 5 * 28 + 7"),
    Exercise(
        "00.2", "the hardest digit to average",
        "Predict, then run the cell below to see: the nearest-average classifier gives each held-out digit the "
        "label of the closest of ten average digits like those drawn above, taken over the first 50,000 training "
        "digits only. Which digit (0 to 9) will it get right least often? Think of which digit is written in the "
        "most different ways, and whose average looks like another digit's.",
        ("A digit is hard for this classifier when many of its examples lie closer to another digit's average than "
         "to their own: which averages look alike?",
         "The 1s are the easiest (almost every 1 is one stroke in the middle, so their average is sharp). Look for "
         "a blurry average that shares a half with another digit's.",
         "The 5: its top (a bar and a short stem) is written in many ways, and its lower half is the lower half of "
         "a 3."),
        "answer = 5  # written in many ways, and its lower half is a 3's",
        expected=5,
        mistakes=(Mistake("the easiest", 1, "that is the easiest one: a 1 is nearly always one stroke in the middle, "
                                            "so its average is sharp and almost every 1 is closest to it"),
                  Mistake("second hardest", 8, "close: the 8s are the second hardest. One digit is misread even "
                                               "more often; compare the averages of 3, 5 and 8")),
        right="the 5s: only about 70% of them are right, and about one in eight held-out 5s is read as a 3 (121 "
              "of 915)"),
    Exercise(
        "00.3", "the digit with the most ink",
        "Which training digit has the most ink, the largest sum of its 784 pixel values? Give its index in "
        "`x_train` (a whole number from 0 to 59,999). The notebook never prints it: compute it.",
        ("First one number per digit: sum each image's pixels (a sum over the two pixel axes, not the whole "
         "array).",
         "x_train.sum(axis=(1, 2)) gives 60,000 sums, one per digit; then find where the largest one is.",
         "np.argmax of those sums is the index; int(...) makes it a plain whole number."),
        "answer = int(x_train.sum(axis=(1, 2)).argmax())",
        expected=_most_ink,
        mistakes=(Mistake("flat argmax", lambda: int(_mnist()[0][0].argmax()),
                          "that is the position of the first brightest pixel in the whole array, flattened: sum each "
                          "digit's pixels first (axis=(1, 2)), then take the argmax of the 60,000 sums"),
                  Mistake("least ink", lambda: int(_ink().argmin()),
                          "that is the digit with the least ink: argmin where you want argmax"),
                  Mistake("its label", lambda: int(_mnist()[0][1][_most_ink()]),
                          "that is the label of the digit with the most ink; the question asks for its index in "
                          "x_train")),
        right="a 0 (a big loop has many pixels to fill): plot it with plots.digit(x_train[answer]) to see"),
    Exercise(
        "00.4", "pixels no digit ever uses",
        "How many of the 784 pixel positions are background (exactly 0) in every one of the 60,000 training "
        "digits, so that no training digit ever puts ink there? The notebook never prints it.",
        ("The answer is one count over the 28x28 positions, so reduce over the digits (axis 0), not over the "
         "pixels of each digit.",
         "A position is never inked when its largest value over all 60,000 digits is 0: x_train.max(axis=0) is a "
         "28x28 array.",
         "Compare that 28x28 array with 0 and count the True values with .sum()."),
        "answer = int((x_train.max(axis=0) == 0).sum())",
        expected=lambda: _never_inked(0),
        mistakes=(Mistake("blank digits", 0,
                          "0 counts the blank images (the notebook checked there are none); the question asks about "
                          "pixel positions, so reduce over the digits: axis=0"),
                  Mistake("background in some digit", 784,
                          "every position is background in at least one digit: that is min(axis=0) == 0. Ask "
                          "instead whether the position's largest value over the digits is 0"),
                  Mistake("inked somewhere", lambda: 784 - _never_inked(0),
                          "that counts the positions some digit inks: the question asks for the others"),
                  Mistake("test digits", lambda: _never_inked(1),
                          "that is for the 10,000 test digits: use the 60,000 training digits (more digits reach "
                          "more of the corners)")),
        right="positions near the edges, mostly in the corners, that no training digit touches: a weight a "
              "classical model gives one of them sees nothing but 0 in training"),
]
