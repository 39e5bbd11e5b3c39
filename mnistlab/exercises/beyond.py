"""Exercises of notebook 08: beyond the test set."""

from __future__ import annotations

import numpy as np

from mnistlab.exercises.core import Exercise, Mistake

_SEARCHED = 2000  # the answer to 08.1 must be among the first 2,000 test digits


def _predict(images: np.ndarray) -> np.ndarray:
    """The course's best CNN (from the cache, trained if missing) as images -> probabilities."""
    from mnistlab import robustness, training

    model = training.load_or_train(training.DEFAULTS["best"], progress=False).model
    return robustness.predictor(model)(images)


def _reads(index: int) -> tuple[int, int, int]:
    """(label, reading unchanged, reading turned 10 degrees) of one test digit."""
    from mnistlab import robustness
    from mnistlab.data import load_mnist

    _, (x_test, y_test) = load_mnist()
    digit = x_test[index:index + 1]
    readings = _predict(np.concatenate([digit, robustness.rotate(digit, 10)])).argmax(axis=1)
    return int(y_test[index]), int(readings[0]), int(readings[1])


def _index(answer: object) -> int | None:
    if isinstance(answer, bool) or not isinstance(answer, (int, np.integer)) or not 0 <= answer < _SEARCHED:
        return None
    return int(answer)


def _turned_failure(answer: object) -> tuple[bool, str]:
    index = _index(answer)
    if index is None:
        return False, f"expected the index of a test digit, a whole number from 0 to {_SEARCHED - 1}"
    label, unchanged, turned = _reads(index)
    if unchanged == label and turned != label:
        return True, f"test digit {index} (label {label}) is read as {turned} once turned 10 degrees"
    return False, (f"test digit {index} (label {label}): the best CNN reads {unchanged} unchanged and {turned} "
                   "turned")


def _already_wrong(answer: object) -> bool:
    index = _index(answer)
    if index is None:
        return False
    label, unchanged, _ = _reads(index)
    return unchanged != label


def _still_right(answer: object) -> bool:
    index = _index(answer)
    if index is None:
        return False
    label, unchanged, turned = _reads(index)
    return unchanged == label == turned


SOLUTION_SEARCH = '''from mnistlab import robustness, training

best = robustness.predictor(training.load_or_train(training.DEFAULTS["best"], progress=False).model)
first = slice(0, 2000)
right = best(x_test[first]).argmax(axis=1) == y_test[first]
wrong_turned = best(robustness.rotate(x_test[first], 10)).argmax(axis=1) != y_test[first]
answer = int(np.flatnonzero(right & wrong_turned)[0])'''

_CONFIDENCE = [0.6, 0.65, 0.95, 0.99]
_CORRECT = [True, False, True, True]


def _unchanged_accuracy(answer: object) -> bool:
    try:
        return float(answer) != 0.0
    except (TypeError, ValueError):
        return False


EXERCISES = [
    Exercise(
        "08.1", "a digit that a small turn breaks",
        f"Find a test digit among the first {_SEARCHED:,} (its index in `x_test`) that the best CNN reads right "
        "as it is and wrong once turned 10 degrees (`robustness.rotate`).",
        "Predict the first 2,000 digits unchanged and turned; the answer is where the first is right and the "
        "second is wrong (np.flatnonzero). `best_sweep.first_failures(\"rotate\")` is another way in.",
        SOLUTION_SEARCH,
        check_answer=_turned_failure,
        mistakes=(Mistake("already wrong", 0, "the best CNN already gets that digit wrong unchanged: look for one it "
                                             "reads right before the turn", matches=_already_wrong),
                  Mistake("still right", 0, "that digit is still read right after a 10-degree turn",
                          matches=_still_right))),
    Exercise(
        "08.2", "a calibration error by hand",
        f"Four predictions have confidences {_CONFIDENCE} and are right or wrong as {_CORRECT}. With 5 bins of "
        "width 0.2 ((0, 0.2], ..., (0.8, 1]), what is the expected calibration error?",
        "Per bin: |accuracy - mean confidence|, weighted by the bin's share of the predictions; bins (0.4, 0.6], "
        "(0.6, 0.8] and (0.8, 1] hold 1, 1 and 2 of them.",
        "answer = 1/4 * abs(1 - 0.6) + 1/4 * abs(0 - 0.65) + 2/4 * abs(1 - (0.95 + 0.99) / 2)",
        expected=0.2775, tolerance=1e-4,
        mistakes=(Mistake("unweighted", (0.4 + 0.65 + 0.03) / 3, "you averaged the bins' gaps equally: weight each "
                                                                 "by its share of the predictions (1/4, 1/4, 2/4)"),
                  Mistake("one bin", abs(0.75 - float(np.mean(_CONFIDENCE))),
                          "that is the gap over all four at once: in one bin, over- and under-confidence cancel; "
                          "bin them first")),
        right="0.2775: in calibration.expected_calibration_error(probabilities, labels, bins=5) too"),
    Exercise(
        "08.3", "what temperature scaling costs",
        "By how many percentage points does temperature scaling change the robust CNN's test accuracy?",
        "Dividing every logit of a digit by the same positive T: does the largest stay the largest?",
        "answer = 0",
        expected=0,
        mistakes=(Mistake("it changes", 0.1, "dividing a digit's logits by one positive number keeps their order: "
                                             "the predicted digit, hence the accuracy, cannot change; only the "
                                             "confidence does", matches=_unchanged_accuracy),),
        right="none: T changes how sure the network says it is, never what it says"),
]
