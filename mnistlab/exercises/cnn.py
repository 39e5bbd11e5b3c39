"""Exercises of notebook 05: the CNN."""

from __future__ import annotations

import numpy as np

from mnistlab.exercises.core import Exercise, Mistake


def _cases() -> list[tuple]:
    rng = np.random.default_rng(505)
    # The last case's logits reach about +-2000: exp() of them overflows unless the largest is subtracted first.
    return [(rng.normal(0, scale, (n, 10)), rng.integers(0, 10, n))
            for n, scale in ((4, 1), (32, 3), (7, 0.1), (6, 1000))]


def _naive(logits, labels):
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return float(-np.log(p[np.arange(len(labels)), labels]).mean())


def _overflows(function) -> bool:
    """Whether ``function`` gives no finite loss on large logits (a softmax without the maximum subtracted)."""
    logits, labels = _cases()[-1]
    try:
        with np.errstate(all="ignore"):
            return not np.all(np.isfinite(function(logits.copy(), labels.copy())))
    except Exception:  # noqa: BLE001 - any other failure is not this mistake
        return False


def _softmax(logits):
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def _reference(logits, labels):
    p = _softmax(np.asarray(logits, float))
    return float(-np.log(p[np.arange(len(labels)), labels]).mean())


def _summed(logits, labels):
    return _reference(logits, labels) * len(labels)


def _mean_square(logits, labels):
    p = _softmax(np.asarray(logits, float))
    return float(((p - np.eye(10)[labels]) ** 2).mean())


def _no_softmax(logits, labels):
    return float(-np.asarray(logits, float)[np.arange(len(labels)), labels].mean())


SOLUTION_LOSS = '''def cross_entropy(logits, labels):
    z = logits - logits.max(axis=1, keepdims=True)          # stable: the largest logit becomes 0
    probabilities = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    return -np.log(probabilities[np.arange(len(labels)), labels]).mean()

answer = cross_entropy'''

EXERCISES = [
    Exercise(
        "05.1", "the dense layer's parameters",
        "The report's CNN flattens its last pooled maps into `dense1`, a Dense layer of 128 units. How many "
        "parameters has `dense1`?",
        "28 - 3 + 1 = 26, pooled 13; 13 - 3 + 1 = 11, pooled 5 (rounded down): the flatten holds 5 x 5 x 64 "
        "numbers. Then one weight per input and unit, and one bias per unit.",
        "answer = (5 * 5 * 64) * 128 + 128",
        expected=204_928,
        mistakes=(Mistake("no bias", 204_800, "you forgot the 128 biases"),
                  Mistake("same padding", 7 * 7 * 64 * 128 + 128, "7 x 7 x 64 would come from 'same' padding; the "
                                                                 "report's convolutions are 'valid': 5 x 5 x 64"),
                  Mistake("no floor", 6 * 6 * 64 * 128 + 128, "11 pooled by 2 is 5 (the last row is dropped), "
                                                             "not 6")),
        right="204,928: 88% of the whole model sits in this one layer"),
    Exercise(
        "05.2", "a shape through the layers",
        "What is the shape of one digit's output of the report's `pool1` (after conv1 with 32 3x3 filters and "
        "2x2 max pooling)? A tuple (height, width, channels).",
        "A 'valid' 3x3 convolution takes 2 from each side length; pooling halves it.",
        "answer = (13, 13, 32)",
        expected=(13, 13, 32),
        mistakes=(Mistake("same padding", (14, 14, 32), "that is with 'same' padding; the report's conv1 is 'valid': "
                                                        "28 - 3 + 1 = 26, pooled to 13"),
                  Mistake("no pooling", (26, 26, 32), "that is conv1's output: pool1 halves it"),
                  Mistake("channels first", (32, 13, 13), "Keras puts the channels last: (height, width, channels)")),
        right="(13, 13, 32): 5,408 numbers for one digit"),
    Exercise(
        "05.3", "the loss",
        "Write `cross_entropy(logits, labels)`: the mean cross-entropy of a batch, from the last layer's logits "
        "(N, 10) and the labels (N,) as integers. Compute the softmax yourself.",
        "softmax(z) = exp(z) / sum(exp(z)), row by row (subtract each row's max first: exp overflows); the loss "
        "of one digit is -log of its true class's probability; then the mean.",
        SOLUTION_LOSS,
        reference=_reference, cases=_cases,
        mistakes=(Mistake("sum", _summed, "that is the batch's sum: Keras reports (and minimises) the mean"),
                  Mistake("mean square", _mean_square, "that is the mean square error the report names; the model "
                                                       "trained with cross-entropy: -log p(true class)"),
                  Mistake("no softmax", _no_softmax, "you took -logit of the true class: turn the logits into "
                                                     "probabilities with a softmax first, then take -log"),
                  Mistake("overflow", _naive, "right on small logits, but on large ones exp() overflows to inf and "
                                              "the loss is nan: subtract each row's largest logit before exp() "
                                              "(the softmax does not change)", matches=_overflows)),
        right="the loss Keras' categorical cross-entropy computes from the softmax's probabilities"),
]
