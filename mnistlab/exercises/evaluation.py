"""Exercises of notebook 07: evaluation."""

from __future__ import annotations

import numpy as np

from mnistlab.exercises.core import Exercise, Mistake


def _cases() -> list[tuple]:
    rng = np.random.default_rng(707)
    cases = []
    for n, c in ((3, 0), (5, 2), (10, 7), (10, 1)):
        cm = rng.integers(0, 30, (n, n))
        cm[np.diag_indices(n)] += rng.integers(100, 900, n)
        cases.append((cm, c))
    return cases


def _precision(cm, c):
    cm = np.asarray(cm)
    return cm[c, c] / cm[:, c].sum()


def _recall(cm, c):
    cm = np.asarray(cm)
    return cm[c, c] / cm[c, :].sum()


def _f1_cases() -> list[tuple]:
    return [(0.9, 0.5), (0.99, 0.98), (0.5, 0.5), (1.0, 0.2)]


def _f1(p, r):
    return 2 * p * r / (p + r)


def _arithmetic(p, r):
    return (p + r) / 2


EXERCISES = [
    Exercise(
        "07.1", "precision from a confusion matrix",
        "Write `precision(cm, c)`: the precision of class `c` from a confusion matrix `cm` (rows: true classes, "
        "columns: predictions).",
        "Precision asks: of everything predicted as c, how much was c? Everything predicted as c is column c.",
        "def precision(cm, c):\n    return cm[c, c] / cm[:, c].sum()\n\nanswer = precision",
        reference=_precision, cases=_cases,
        mistakes=(Mistake("recall", _recall, "that is recall (row c: every true c); precision divides by column c "
                                             "(every prediction of c)"),),
        right="the column: every prediction of c"),
    Exercise(
        "07.2", "F1",
        "Write `f1(precision, recall)`: the F1 score of one class.",
        "F1 is the harmonic mean of precision and recall.",
        "def f1(precision, recall):\n    return 2 * precision * recall / (precision + recall)\n\nanswer = f1",
        reference=_f1, cases=_f1_cases,
        mistakes=(Mistake("arithmetic mean", _arithmetic, "that is the arithmetic mean; F1 is the harmonic mean "
                                                          "2pr / (p + r), which stays low when either is low"),),
        right="a precision of 1.0 cannot make up for a recall of 0.2: F1 is 0.33"),
    Exercise(
        "07.3", "errors behind an accuracy",
        "A model scores 99.61% on the 10,000 test digits. How many test digits does it get wrong?",
        "100% - 99.61% of 10,000.",
        "answer = round(10_000 * (1 - 0.9961))",
        expected=39, tolerance=1e-6,
        mistakes=(Mistake("tenfold", 3.9, "0.39% of 10,000 is 39, not 3.9"),
                  Mistake("right ones", 9_961, "that is how many it gets right")),
        right="39 digits: few enough to look at every one of them"),
]
