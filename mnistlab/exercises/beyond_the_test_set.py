"""Exercises of notebook 08: beyond the test set."""

from __future__ import annotations

import numpy as np

from mnistlab.exercises.core import Exercise, Mistake, choice

_SEARCHED = 2000  # the answer to 08.1 must be among the first 2,000 test digits


def _predict(images: np.ndarray) -> np.ndarray:
    """The course's best CNN (from the cache, trained if missing) as images -> probabilities."""
    from mnistlab import inference, training

    model = training.load_or_train(training.DEFAULTS["best"], progress=False).model
    return inference.predictor(model)(images)


def _reads(index: int) -> tuple[int, int, int]:
    """(label, reading unchanged, reading turned 10 degrees) of one test digit."""
    from mnistlab import transforms
    from mnistlab.data import load_mnist

    _, (x_test, y_test) = load_mnist()
    digit = x_test[index:index + 1]
    readings = _predict(np.concatenate([digit, transforms.rotate(digit, 10)])).argmax(axis=1)
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


SOLUTION_SEARCH = '''from mnistlab import inference, training, transforms

best = inference.predictor(training.load_or_train(training.DEFAULTS["best"], progress=False).model)
first = slice(0, 2000)
right = best(x_test[first]).argmax(axis=1) == y_test[first]
wrong_turned = best(transforms.rotate(x_test[first], 10)).argmax(axis=1) != y_test[first]
answer = int(np.flatnonzero(right & wrong_turned)[0])'''

_CONFIDENCE = [0.6, 0.65, 0.95, 0.99]
_CORRECT = [True, False, True, True]


def _temperature_cases() -> list[tuple]:
    """Rows of softmax probabilities (some sure, some unsure) and temperatures below and above 1."""
    rng = np.random.default_rng(808)
    cases = []
    for rows, spread, temperature in ((4, 1.0, 0.5), (6, 4.0, 2.0), (1, 2.0, 0.7), (5, 3.0, 1.6)):
        logits = rng.normal(0, spread, (rows, 10))
        probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
        cases.append((probabilities / probabilities.sum(axis=1, keepdims=True), temperature))
    logits = rng.normal(0, 2.0, (3, 10))
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    cases.append((probabilities.astype(np.float32), 0.8))  # float32, as a network gives them
    return cases


def _softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits - logits.max(axis=1, keepdims=True)
    scaled = np.exp(logits)
    return scaled / scaled.sum(axis=1, keepdims=True)


def _with_temperature(probabilities, temperature):
    from mnistlab import calibration

    return calibration.with_temperature(probabilities, temperature)


def _multiplied(probabilities, temperature):
    return _softmax(np.log(np.asarray(probabilities, dtype=np.float64)) * temperature)


def _not_renormalised(probabilities, temperature):
    return np.asarray(probabilities, dtype=np.float64) ** (1 / temperature)


def _probabilities_as_logits(probabilities, temperature):
    return _softmax(np.asarray(probabilities, dtype=np.float64) / temperature)


SOLUTION_TEMPERATURE = """def temperature_scale(probabilities, T):
    logits = np.log(probabilities) / T
    logits = logits - logits.max(axis=1, keepdims=True)
    scaled = np.exp(logits)
    return scaled / scaled.sum(axis=1, keepdims=True)

answer = temperature_scale"""

EXERCISES = [
    Exercise(
        "08.1", "a digit that a small turn breaks",
        f"Find a test digit among the first {_SEARCHED:,} (its index in `x_test`) that the best CNN reads right "
        "as it is and wrong once turned 10 degrees (`transforms.rotate`).",
        ("Read the first 2,000 test digits twice with the best CNN (`predict[\"best CNN\"]` in this notebook gives "
         "their probabilities): as they are, and turned by `transforms.rotate(x_test[:2000], 10)`.",
         "Compare each reading (`.argmax(axis=1)`) with `y_test[:2000]`: one boolean array for right as it is, "
         "one for wrong once turned.",
         "The answer is an index where both hold: `np.flatnonzero(right & wrong_turned)[0]`. "
         "(`best_sweep.first_failures(\"rotate\")` lists, among the first 1,000, the mildest turn that fails "
         "each digit: look for 10.)"),
        SOLUTION_SEARCH,
        check_answer=_turned_failure,
        mistakes=(Mistake("already wrong", 0, "the best CNN already gets that digit wrong unchanged: look for one it "
                                             "reads right before the turn", matches=_already_wrong),
                  Mistake("still right", 0, "that digit is still read right after a 10-degree turn",
                          matches=_still_right))),
    choice(
        "08.2", "what changed training digits buy",
        "The robust CNN has the best CNN's convolutions, each digit normalised by itself (group normalisation) "
        "and first moved to MNIST's centre of mass; its training digits were also shifted further (by up to 5.3 "
        "pixels, against 3.6), turned (by up to 22 degrees), and thickened, blurred, dimmed and noised at random. "
        "Predict, before the curves below: next to the best CNN's, what will its curves show?",
        {"a": "it holds further under every change, smaller and larger digits included: varied training digits "
              "make a network robust in general",
         "b": "it holds further under the changes its training digits showed it (shifts, turns, thicker strokes, "
              "blur, noise), and no further on smaller or larger digits, which they never showed",
         "c": "it holds no further under blur and noise: the measurement above showed that the filters already "
              "survive them, so nothing needed to change",
         "d": "it holds further under the changes it trained on, and reads more of the unchanged test digits too, "
              "having seen more varied digits"},
        right="b",
        reasons={"a": "nothing in its training digits was smaller or larger, so nothing taught it to read such "
                      "digits: its scale curve lies at or below the best CNN's",
                 "c": "the filters survived; the best CNN's normalisation, fixed on clean training digits, did "
                      "not. The robust CNN measures each digit against itself, and its filters learned from "
                      "blurred and noisy digits too: its blur and noise curves hold far further",
                 "d": "the unchanged test digits are centred, upright and clean, like MNIST's training digits: "
                      "changed copies teach nothing more about them, and take some of the network's capacity. The "
                      "robust CNN reads fewer of them than the best CNN"},
        hint=("What does a blurred copy of a training digit, under the same label, teach the network?",
              "That blur does not change the answer. Did any of its training digits show a smaller or a larger "
              "digit?",
              "A network learns to ignore what its training digits vary in, and only that."),
        explanation="a changed copy under the same label teaches that the change does not change the answer, so "
                    "the robust CNN holds much further under large turns, thicker strokes, blur and noise (and under "
                    "shifts, which its first layer also undoes by moving each digit back to the centre); it learns "
                    "nothing about what its training digits never vary in (size), and that curve does not "
                    "improve"),
    Exercise(
        "08.3", "a calibration error by hand",
        f"Four predictions have confidences {_CONFIDENCE} and are right or wrong as {_CORRECT}. With 5 bins of "
        "width 0.2 ((0, 0.2], ..., (0.8, 1]), what is the expected calibration error?",
        ("Put each prediction in its bin first: a bin holds its upper edge, so 0.6 is in (0.4, 0.6]. Which bins "
         "hold 0.65, 0.95 and 0.99?",
         "Bins (0.4, 0.6], (0.6, 0.8] and (0.8, 1] hold 1, 1 and 2 of the four. In each: the gap |accuracy - mean "
         "confidence|, weighted by the bin's share of the four predictions.",
         "1/4 * |1 - 0.6| + 1/4 * |0 - 0.65| + 2/4 * |1 - (0.95 + 0.99) / 2|, as in the worked example above."),
        "answer = 1/4 * abs(1 - 0.6) + 1/4 * abs(0 - 0.65) + 2/4 * abs(1 - (0.95 + 0.99) / 2)",
        expected=0.2775, tolerance=1e-4,
        mistakes=(Mistake("unweighted", (0.4 + 0.65 + 0.03) / 3, "you averaged the bins' gaps equally: weight each "
                                                                 "by its share of the predictions (1/4, 1/4, 2/4)"),
                  Mistake("one bin", abs(0.75 - float(np.mean(_CONFIDENCE))),
                          "that is the gap over all four at once: in one bin, over- and under-confidence cancel; "
                          "bin them first")),
        right="0.2775: in calibration.expected_calibration_error(probabilities, labels, bins=5) too"),
    choice(
        "08.4", "what temperature scaling changes",
        "Temperature scaling divides every logit of every digit by one positive number T, fitted on validation "
        "digits, and takes the softmax again. Predict, before the cells below: what does it change on the test "
        "digits?",
        {"a": "which digit is read for the digits the network is unsure of, so its accuracy rises a little",
         "b": "the network's weights: T is fitted on validation digits, like a short extra training",
         "c": "how sure the network says it is, never which digit it reads",
         "d": "the order of its second and third choices, while its first choice stays"},
        right="c",
        reasons={"a": "dividing a digit's ten logits by one positive number keeps their order: the largest stays "
                      "the largest, so not one reading changes, and neither does the accuracy",
                 "b": "T is one number applied after the last layer; every weight stays as it was trained. Fitting "
                      "it is a search for one number (calibration.fit_temperature), not a training",
                 "d": "dividing all ten logits by the same positive T keeps every order, not only the first: the "
                      "ranking of the ten digits stays; only the gaps between their probabilities grow (T < 1) or "
                      "shrink (T > 1)"},
        hint=("Take the logits 4, 2 and 1, and T = 2: what are they once divided, and which is the largest?",
              "Dividing by one positive number never changes which of two numbers is the larger, and the softmax "
              "keeps the order of what it is given.",
              "So the ranking of the ten digits stays. What can still change is how far apart their probabilities "
              "are."),
        explanation="T < 1 spreads a digit's logits apart (surer), T > 1 draws them together (less sure); their "
                    "order, hence every prediction and the accuracy, stays. Temperature scaling costs no accuracy "
                    "at all"),
    Exercise(
        "08.5", "temperature scaling by hand",
        "Write `temperature_scale(probabilities, T)`: for rows of softmax probabilities (one row per digit), the "
        "probabilities the network would give with its logits divided by `T`. You are given only the "
        "probabilities, not the logits.",
        ("First the logits: which numbers would a softmax turn into these probabilities? (Only up to a constant "
         "per row, which the softmax ignores.)",
         "`np.log(probabilities)` are logits for them; divide those by T.",
         "Then the softmax again, row by row: subtract each row's maximum, `np.exp`, and divide each row by its "
         "sum (`axis=1, keepdims=True`)."),
        SOLUTION_TEMPERATURE,
        reference=_with_temperature, cases=_temperature_cases, tolerance=1e-5, forbidden=("with_temperature",),
        mistakes=(Mistake("multiplied", _multiplied, "you multiplied the logits by T: temperature scaling divides "
                                                     "them (T < 1 sharpens, T > 1 softens)"),
                  Mistake("not renormalised", _not_renormalised, "each row must sum to 1 again: divide it by its "
                                                                 "sum, the softmax's denominator"),
                  Mistake("probabilities as logits", _probabilities_as_logits,
                          "you divided the probabilities themselves and took their softmax: the logits are their "
                          "logarithms, np.log(probabilities), up to a constant per row")),
        right="every row keeps its order and sums to 1; T < 1 sharpens it, T > 1 softens it, as "
              "calibration.with_temperature does"),
]
