"""Exercises of notebook 07: evaluation."""

from __future__ import annotations

import numpy as np

from mnistlab.exercises.core import Exercise, Mistake, choice

#: Library functions that compute precision, recall or F1 from labels: a learner's function may not use them.
_SCORERS = ("precision_score", "recall_score", "f1_score", "precision_recall_fscore_support", "classification_report")


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


def _share_of_all(cm, c):
    cm = np.asarray(cm)
    return cm[c, c] / cm.sum()


def _f1_cases() -> list[tuple]:
    return [(0.9, 0.5), (0.99, 0.98), (0.5, 0.5), (1.0, 0.2)]


def _f1(p, r):
    return 2 * p * r / (p + r)


def _arithmetic(p, r):
    return (p + r) / 2


def _geometric(p, r):
    return np.sqrt(p * r)


# 07.3: three trainings of the best recipe, differing only in their seed (notebook 07 quotes them)
_SEEDS = (0.9957, 0.9963, 0.9965)
_GAP = round(10_000 * (1 - min(_SEEDS))) - round(10_000 * (1 - max(_SEEDS)))  # 43 - 35 = 8


def _unrounded(answer: object) -> bool:
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return False
    return value != _GAP and abs(value - _GAP) < 1e-6


def _macro_cases() -> list[tuple]:
    """Confusion matrices with classes of very different sizes and qualities: the macro, weighted and micro
    averages all differ there."""
    rng = np.random.default_rng(7076)
    cases = []
    for n in (3, 4, 10):
        cm = rng.integers(0, 40, (n, n))
        cm[np.diag_indices(n)] += rng.integers(20, 2000, n)
        cases.append((cm,))
    cases.append((np.array([[50, 0, 0], [10, 5, 5], [0, 0, 930]]),))
    return cases


def _per_class(cm):
    cm = np.asarray(cm, dtype=float)
    right = np.diag(cm)
    return right / cm.sum(axis=0), right / cm.sum(axis=1), cm.sum(axis=1)


def _macro_f1(cm):
    precision, recall, _ = _per_class(cm)
    return float(np.mean(2 * precision * recall / (precision + recall)))


def _micro(cm):
    cm = np.asarray(cm, dtype=float)
    return float(np.trace(cm) / cm.sum())


def _weighted_f1(cm):
    precision, recall, support = _per_class(cm)
    return float(np.average(2 * precision * recall / (precision + recall), weights=support))


def _f1_of_means(cm):
    precision, recall, _ = _per_class(cm)
    p, r = precision.mean(), recall.mean()
    return float(2 * p * r / (p + r))


EXERCISES = [
    Exercise(
        "07.1", "precision from a confusion matrix",
        "Write `precision(cm, c)`: the precision of class `c` from a confusion matrix `cm` (rows: true classes, "
        "columns: predictions).",
        ("Precision asks: of everything predicted as c, what share really was c?",
         "Everything predicted as c sits in one column of `cm` (the rows are the true classes); the right ones "
         "sit where that column meets the diagonal.",
         "`cm[c, c]` divided by the sum of column c, `cm[:, c].sum()`."),
        "def precision(cm, c):\n    return cm[c, c] / cm[:, c].sum()\n\nanswer = precision",
        reference=_precision, cases=_cases, forbidden=_SCORERS,
        mistakes=(Mistake("recall", _recall, "that is recall (row c: every true c); precision divides by column c "
                                             "(every prediction of c)"),
                  Mistake("share of all", _share_of_all, "that divides by every digit in the matrix; precision "
                                                         "divides by the predictions of c only (column c)")),
        right="the column: every prediction of c"),
    Exercise(
        "07.2", "F1",
        "Write `f1(precision, recall)`: the F1 score of one class.",
        ("F1 combines precision and recall so that it stays low when either of them is low.",
         "It is their harmonic mean: the reciprocal of the mean of their reciprocals.",
         "1 / ((1/p + 1/r) / 2), which is 2pr / (p + r)."),
        "def f1(precision, recall):\n    return 2 * precision * recall / (precision + recall)\n\nanswer = f1",
        reference=_f1, cases=_f1_cases, forbidden=_SCORERS,
        mistakes=(Mistake("arithmetic mean", _arithmetic, "that is the arithmetic mean; F1 is the harmonic mean "
                                                          "2pr / (p + r), which stays low when either is low"),
                  Mistake("geometric mean", _geometric, "that is the geometric mean, sqrt(pr); F1 is the harmonic "
                                                        "mean 2pr / (p + r), lower still when p and r differ")),
        right="a precision of 1.0 cannot make up for a recall of 0.2: F1 is 0.33"),
    Exercise(
        "07.3", "errors behind an accuracy",
        "Three trainings of the best recipe that differ only in their random seed scored 99.57%, 99.63% and "
        "99.65% of the 10,000 test digits. How many more test digits does the worst of the three get wrong than "
        "the best?",
        ("Turn each accuracy into a count of wrong digits first.",
         "99.57% right is 0.43% wrong: 0.43% of 10,000 digits.",
         "43 wrong against 35 wrong. A count of digits is a whole number: round() what you compute."),
        "answer = round(10_000 * (1 - 0.9957)) - round(10_000 * (1 - 0.9965))",
        expected=_GAP,
        mistakes=(Mistake("points", 0.08, "that is the gap in percentage points; in digits it is 0.08% of 10,000"),
                  Mistake("tenfold", 80, "0.08% of 10,000 is 8, not 80: a percent is a hundredth"),
                  Mistake("worst alone", 43, "that is how many the worst seed gets wrong; the best gets 35 wrong"),
                  Mistake("unrounded", 10_000 * (0.9965 - 0.9957),
                          "that is 8 but for floating-point rounding: a count of digits is a whole number, round() it",
                          matches=_unrounded)),
        right="8 digits of 10,000: a gap of 0.08 points between two trainings of one recipe is a handful of "
              "digits, which the seed alone moves"),
    Exercise(
        "07.4", "a smoothed target",
        "The best CNN trains with label smoothing 0.1: the loss pulls the true digit's probability towards 0.91, "
        "and its right answers come with about 91% confidence. Trained with label smoothing 0.2 instead (20% of "
        "the target shared evenly among the ten digits), towards what probability would the loss pull the true "
        "digit's? Answer with a number between 0 and 1.",
        ("Label smoothing takes a share s of the one-hot target away and spreads it evenly over all ten digits, "
         "the true one included.",
         "With s = 0.1: 1 - 0.1 = 0.9 stays, and the true digit gets back its tenth of the 0.1 shared: 0.01. "
         "0.9 + 0.01 = 0.91. Do the same with 0.2.",
         "1 - 0.2, plus 0.2 / 10."),
        "answer = 1 - 0.2 + 0.2 / 10",
        expected=0.82, tolerance=1e-4,
        mistakes=(Mistake("share forgotten", 0.8, "that takes the 0.2 away but forgets that the true digit gets "
                                                 "its own tenth of it back: 0.2 / 10 = 0.02"),
                  Mistake("another digit's", 0.02, "that is the target of each of the nine other digits; the true "
                                                   "digit keeps 1 - 0.2 and gets 0.02 back"),
                  Mistake("percent", 82, "that is in percent: answer as a probability, between 0 and 1"),
                  Mistake("nine shares", 1 - 0.2 + 0.2 / 9, "the 0.2 is shared among all ten digits, the true "
                                                           "one included: 0.2 / 10, not 0.2 / 9")),
        right="0.82: the loss is smallest when the true digit gets 0.82 and each other digit 0.02, so training "
              "pulls right answers towards 82%, and rewards nothing beyond"),
    choice(
        "07.5", "why choose on validation digits",
        "Twenty versions of a recipe are trained, each scored on the 10,000 test digits, and the one that scores "
        "best, 99.70%, is kept. What can you expect it to score on 10,000 new digits written and prepared the "
        "same way?",
        {"a": "99.70%, to within a few digits: none of the twenty trained on the test digits, so its score there "
              "is as honest as on new digits",
         "b": "a little less than 99.70%: it was kept for scoring best on these digits, and part of that is luck "
              "with them that new digits will not repeat",
         "c": "more than 99.70%: the best of twenty is the best recipe, and its advantage shows more on new digits",
         "d": "about its accuracy on its own training digits, near 100%, since the new digits are written the same "
              "way as those"},
        right="b",
        reasons={"a": "not training on the test digits is not enough once they chose the winner. Twenty close "
                      "versions differ on them by a few digits, partly by chance (three seeds of one recipe span "
                      "8 digits); the one kept is the one whose chance fell best on these 10,000, and that luck does "
                      "not come with it to new digits",
                 "c": "scoring a model does not train it, and nothing about new digits favours the winner; its lead "
                      "on the test digits is partly luck with them, which shrinks, not grows, on new digits",
                 "d": "accuracy on the digits a network learned from flatters it: it has fitted them, quirks "
                      "included (overfitting). New digits behave like the test digits, not like the training "
                      "digits"},
        hint=("What did the test digits do here, besides measuring?",
              "Three seeds of one recipe scored 99.57% to 99.65%: among twenty close versions, which one tops a "
              "list scored on one set of digits?",
              "The one kept is partly the luckiest on these particular digits. Does that luck carry over?"),
        explanation="the test digits chose the winner, so its score there is flattered by the luck that made it "
                    "win. That is why choices belong on validation digits (the last 10,000 training digits, held "
                    "out of training), with only the one kept scored on the test digits, once: that score stays "
                    "an honest estimate. (The course's best recipe was first found by its test score, then checked "
                    "again on validation digits: notebook 07.)"),
    Exercise(
        "07.6", "macro F1 from a confusion matrix",
        "Write `macro_f1(cm)`: the F1 score of every class of a confusion matrix `cm` (rows: true classes, "
        "columns: predictions), averaged with the same weight for every class (the *macro average* of the "
        "per-digit table).",
        ("Three steps: every class's precision and recall, then every class's F1, then a plain mean over the "
         "classes.",
         "All classes at once: the diagonal `np.diag(cm)` divided by the column sums `cm.sum(axis=0)` is every "
         "precision; divided by the row sums `cm.sum(axis=1)`, every recall.",
         "`f1 = 2 * p * r / (p + r)` works on the arrays p and r, class by class; then `f1.mean()`."),
        "def macro_f1(cm):\n    right = np.diag(cm)\n    precision = right / cm.sum(axis=0)\n"
        "    recall = right / cm.sum(axis=1)\n    return np.mean(2 * precision * recall / (precision + recall))"
        "\n\nanswer = macro_f1",
        reference=_macro_f1, cases=_macro_cases, forbidden=_SCORERS,
        mistakes=(Mistake("micro", _micro, "that is the share of all digits right (the micro average, the accuracy "
                                           "here): the macro average gives each class's F1 the same weight"),
                  Mistake("weighted", _weighted_f1, "that weights each class's F1 by its number of true examples "
                                                    "(the weighted average); macro gives every class the same "
                                                    "weight, so a small class that is read badly shows"),
                  Mistake("F1 of the means", _f1_of_means, "that is the F1 of the mean precision and the mean "
                                                           "recall; macro F1 is the mean of the classes' F1 scores: "
                                                           "F1 per class first, then the mean")),
        right="every class counts once, so a small class read badly pulls the macro F1 down where the accuracy "
              "hardly moves"),
]
