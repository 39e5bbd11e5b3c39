"""Exercises of notebook 05: the CNN.

05.5 is the course's one checked challenge: a Keras model under a parameter budget, trained by the learner,
which the check scores itself on the validation digits. TensorFlow is imported only inside its check (and
only when the answer may be a Keras model): importing the exercises stays free of TensorFlow.
"""

from __future__ import annotations

import hashlib
import sys

import numpy as np

from mnistlab.exercises.core import Exercise, Mistake, _pristine, choice

# 05.4: the loss ------------------------------------------------------------------------------------------------


def _cases() -> list[tuple]:
    rng = np.random.default_rng(505)
    cases = [(rng.normal(0, scale, (n, 10)), rng.integers(0, 10, n)) for n, scale in ((4, 1), (32, 3), (7, 0.1))]
    # Logits near +1000 and -1000: exp() of them overflows to inf (or underflows to 0, and 0 / 0) unless each
    # row's largest is subtracted first; after that, every probability is a modest number and the loss finite.
    offsets = np.array([[1000.0], [-1000.0], [800.0], [1000.0], [-750.0], [0.0]])
    cases.append((rng.normal(0, 3, (6, 10)) + offsets, rng.integers(0, 10, 6)))
    return cases


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


SOLUTION_LOSS = '''def mean_cross_entropy(logits, labels):
    z = logits - logits.max(axis=1, keepdims=True)          # stable: the largest logit becomes 0
    probabilities = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    return -np.log(probabilities[np.arange(len(labels)), labels]).mean()

answer = mean_cross_entropy'''

# 05.5: the challenge -------------------------------------------------------------------------------------------

#: The challenge's parameter budget and accuracy bar on the validation digits.
BUDGET = 20_000
BAR = 0.99

SOLUTION_CHALLENGE = '''import math

import keras

from mnistlab import models, training
from mnistlab.preprocess import add_channel, one_hot, scale

x_fit, y_fit = add_channel(scale(x_train[:50_000])), one_hot(y_train[:50_000])  # never the validation digits
keras.utils.set_random_seed(42)
model = models.course_cnn(widths=(16, 32), kernel_size=5, pools=(True, True), shift=0.0, dropout=0.0,
                          name="budget_cnn")  # the quick model, a third wider: 18,522 parameters
epochs, batch_size = 5, 256                        # three epochs more than the quick model
steps = epochs * math.ceil(len(x_fit) / batch_size)
model.compile(optimizer=keras.optimizers.Adam(learning_rate=training.warmup_cosine(0.01, steps)),
              loss="categorical_crossentropy", metrics=["accuracy"])
model.fit(x_fit, y_fit, batch_size=batch_size, epochs=epochs, verbose=2)
answer = model'''


def _keras_model(answer: object) -> bool:
    """Whether ``answer`` is a Keras model (without importing TensorFlow when Keras was never imported)."""
    if "keras" not in sys.modules:
        return False
    import keras

    return isinstance(answer, keras.Model)


def _history(answer: object) -> bool:
    """Whether ``answer`` is what ``model.fit`` returns (a History), not the model."""
    return type(answer).__name__ == "History" and "keras" in type(answer).__module__


def _params(model) -> int:
    return int(model.count_params())


_SCORED: dict[int, tuple[str, float]] = {}  # id(model) -> (its weights' digest, its validation accuracy)


def _validation_accuracy(model) -> float:
    """The model's accuracy on the validation digits (the last 10,000 training digits, scaled as
    mnistlab.preprocess does), computed here with Keras' own predict; kept while the weights stay the same."""
    import keras

    digest = hashlib.sha1(b"".join(np.ascontiguousarray(w).tobytes() for w in model.get_weights())).hexdigest()
    kept = _SCORED.get(id(model))
    if kept is not None and kept[0] == digest:
        return kept[1]
    with _pristine():  # the package's own loading and scaling, whatever the learner replaced
        from mnistlab.data import load_mnist
        from mnistlab.inference import BATCH_SIZE
        from mnistlab.preprocess import add_channel, scale
        from mnistlab.recipes import VALIDATION_DIGITS

        (x_train, y_train), _ = load_mnist()
        x_val, y_val = add_channel(scale(x_train[-VALIDATION_DIGITS:])), y_train[-VALIDATION_DIGITS:]
    scores = keras.Model.predict(model, x_val, batch_size=BATCH_SIZE, verbose=0)  # Keras' predict, not a replacement
    accuracy = float(np.mean(np.asarray(scores).argmax(axis=1) == y_val))
    _SCORED[id(model)] = (digest, accuracy)
    return accuracy


def _fits(model) -> bool:
    """Whether a Keras model takes one digit (28, 28, 1) and gives 10 numbers."""
    try:
        return tuple(model.input_shape) == (None, 28, 28, 1) and tuple(model.output_shape) == (None, 10)
    except Exception:  # noqa: BLE001 - a model not built yet has no shapes
        return False


def _challenge(answer: object) -> tuple[bool, str]:
    if not _keras_model(answer):
        return False, f"expected your trained Keras model (answer = model), got {type(answer).__name__}"
    try:
        shape_in, shape_out = tuple(answer.input_shape), tuple(answer.output_shape)
    except Exception:  # noqa: BLE001 - a model not built yet has no shapes
        return False, "your model has no input shape yet: begin it with keras.Input(shape=(28, 28, 1))"
    if shape_in != (None, 28, 28, 1):
        return False, (f"your model takes inputs of shape {shape_in[1:]}; the check gives it digits of shape "
                       "(28, 28, 1): begin it with keras.Input(shape=(28, 28, 1))")
    if shape_out != (None, 10):
        return False, (f"your model gives outputs of shape {shape_out[1:]}; expected 10 numbers per digit: end it "
                       "with keras.layers.Dense(10, activation=\"softmax\")")
    params = _params(answer)
    if params > BUDGET:
        return False, f"{params:,} parameters, over the budget of {BUDGET:,}"
    accuracy = _validation_accuracy(answer)
    said = (f"{100 * accuracy:.2f}% of the 10,000 validation digits right, scored by the check, with {params:,} "
            f"parameters (budget {BUDGET:,})")
    if accuracy >= BAR:
        return True, f"{said}: over the {100 * BAR:.1f}% bar"
    return False, (f"{said}: below the {100 * BAR:.1f}% bar; train longer (an epoch or two more), or widen the "
                   "convolutions within the budget, and compare on the validation digits")


def _over_budget(answer: object) -> bool:
    return _keras_model(answer) and _fits(answer) and _params(answer) > BUDGET


def _guessing(answer: object) -> bool:
    """A model within the budget that gets no more right than guessing would (about one digit in ten)."""
    return (_keras_model(answer) and _fits(answer) and _params(answer) <= BUDGET
            and _validation_accuracy(answer) < 0.2)


def _a_history():
    import keras

    return keras.callbacks.History()


def _report_model():
    from mnistlab import models

    return models.report_cnn()  # 232,650 parameters, untrained


def _untrained_model():
    import keras

    return keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Flatten(),
                             keras.layers.Dense(10, activation="softmax", kernel_initializer="zeros")])


# ---------------------------------------------------------------------------------------------------------------

EXERCISES = [
    Exercise(
        "05.1", "the second convolution's parameters",
        "Predict, then run the cell below to see: `conv2` has 64 filters of 3x3, and it reads the 32 maps that "
        "`conv1` made (pooled to 13x13). How many parameters has `conv2`?",
        ("A filter spans every channel of its input (notebook 02): a 3x3 filter on 32 maps has 3 x 3 x 32 "
         "weights.",
         "Each filter also has one bias: 3 x 3 x 32 + 1 parameters per filter. The maps' size (13x13) does not "
         "enter: the same filter slides over every position.",
         "(3 * 3 * 32 + 1) * 64."),
        "answer = (3 * 3 * 32 + 1) * 64",
        expected=18_496,
        mistakes=(Mistake("no bias", 18_432, "the weights are right: add one bias per filter, 64 more"),
                  Mistake("one channel", 640, "each filter spans all 32 of conv1's maps: 3 x 3 x 32 weights, not "
                                              "3 x 3"),
                  Mistake("one channel, no bias", 576, "each filter spans all 32 of conv1's maps (3 x 3 x 32 "
                                                       "weights), and has a bias"),
                  Mistake("output size", 11 * 11 * 64, "that is how many numbers conv2 outputs (11 x 11 x 64); its "
                                                       "parameters are its filters' weights and biases")),
        right="(3 x 3 x 32 + 1) x 64 = 18,496, whatever the image's size: 8% of the model, where `dense1`, which "
              "connects every one of 1,600 numbers to each of its 128 units, holds 88%"),
    choice(
        "05.2", "what the winner's score says",
        "Before you read on: you tried 12 settings of the quick model, each scored on the validation digits, and "
        "the best of them reads 99.2% of those digits right. What does that 99.2% say about how the model will "
        "read digits it has never seen?",
        options={"a": "it is an honest estimate: the model never trained on the validation digits",
                 "b": "it is probably a little high: the winner won partly by luck on these 10,000 digits; score "
                      "it once on the test digits for an honest number",
                 "c": "nothing: the validation digits come from MNIST's training set, so they say nothing about "
                      "new digits"},
        right="b",
        reasons={"a": "never trained on, yes, but chosen on: each of the 12 scores has some luck in it, and the "
                      "highest is likely one whose luck was good; choosing it carries that luck in",
                 "c": "they are held out: the model never trains on them, so they measure new digits well enough "
                      "to choose with; only the winner's score is flattered by the choice"},
        hint=("Each of the 12 scores is a measurement with some luck in it: another 10,000 digits would move it "
              "a little, up or down.",
              "Which of the 12 is most likely to have had good luck: a row taken at random, or the highest one?"),
        explanation="a score used to choose is spent: the test digits, which played no part in the choice, give "
                    "the honest number, scored once; the cells below measure how much choosing flatters"),
    Exercise(
        "05.3", "a shape through the layers",
        "Never printed in this notebook: if `conv2` had 5x5 kernels instead of 3x3 (still 'valid', everything "
        "else as in the report's model), what shape would `pool2`'s output have for one digit? A tuple "
        "(height, width, channels).",
        ("Follow one digit: `pool1`'s output is unchanged, 13 x 13 x 32.",
         "A 'valid' convolution with an f x f kernel takes f - 1 from each side length: 13 - 5 + 1; 2x2 pooling "
         "then halves it, rounding down.",
         "13 - 5 + 1 = 9, and 9 // 2 = 4; conv2 still has 64 filters."),
        "answer = (4, 4, 64)",
        expected=(4, 4, 64),
        mistakes=(Mistake("3x3", (5, 5, 64), "that is the report's pool2, with 3x3 kernels (or 9 / 2 rounded up): "
                                             "13 - 5 + 1 = 9, pooled to 4 (the last row dropped)"),
                  Mistake("no pooling", (9, 9, 64), "that is conv2's output: pool2 halves it, rounding down"),
                  Mistake("same padding", (6, 6, 64), "that is with 'same' padding (13 stays 13, pooled to 6); the "
                                                      "report's convolutions are 'valid'"),
                  Mistake("channels in", (4, 4, 32), "32 is conv2's input channels; it has 64 filters, so pool2 "
                                                     "has 64 channels"),
                  Mistake("channels first", (64, 4, 4), "Keras puts the channels last: (height, width, channels)")),
        right="(4, 4, 64): 1,024 numbers, so `dense1` would hold 1,024 x 128 + 128 = 131,200 parameters "
              "instead of 204,928"),
    Exercise(
        "05.4", "the loss",
        "Write `mean_cross_entropy(logits, labels)`: the mean cross-entropy of a batch, from the last layer's "
        "*logits* (N, 10): the ten scores a network computes before the softmax turns them into probabilities "
        "(softmax(z)_i = exp(z_i) / sum_j exp(z_j)), and the labels (N,) as integers. Compute the softmax "
        "yourself.",
        ("Row by row: the softmax turns the logits into probabilities; the loss of one digit is -log of its true "
         "class's probability; then the mean over the batch.",
         "exp() overflows for logits above about 709: subtract each row's largest logit first (the softmax does "
         "not change). `probabilities[np.arange(N), labels]` picks each row's true class.",
         "z = logits - logits.max(axis=1, keepdims=True); p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True); "
         "then -np.log of the true classes' p, and .mean()."),
        SOLUTION_LOSS,
        reference=_reference, cases=_cases,
        forbidden=("cross_entropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
                   "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "softmax_cross_entropy_with_logits",
                   "sparse_softmax_cross_entropy_with_logits"),
        mistakes=(Mistake("sum", _summed, "that is the batch's sum: Keras reports (and minimises) the mean"),
                  Mistake("mean square", _mean_square, "that is the mean square error the report names; the model "
                                                       "trained with cross-entropy: -log p(true class)"),
                  Mistake("no softmax", _no_softmax, "you took -logit of the true class: turn the logits into "
                                                     "probabilities with a softmax first, then take -log"),
                  Mistake("overflow", _naive, "right on small logits, but on large ones exp() overflows to inf and "
                                              "the loss is nan: subtract each row's largest logit before exp() "
                                              "(the softmax does not change)", matches=_overflows)),
        right="the loss Keras' categorical cross-entropy computes from the softmax's probabilities"),
    Exercise(
        "05.5", "the challenge: 99% under a budget",
        f"Build and train a Keras CNN with at most {BUDGET:,} parameters that reads at least {100 * BAR:.1f}% of "
        "the validation digits right, in about a minute of training. Train it on the first 50,000 training "
        "digits only (`x_fit, y_fit` of the experiments: never the validation digits, never the test digits). "
        "The check scores it itself, with `predict`, on the 10,000 validation digits (the last 10,000 training "
        "digits, scaled to [0, 1] with a channel axis, as `x_val`): nothing you print counts. Start from the "
        "quick model's cell if you like (11,494 parameters, about 98.8% in two epochs). Build and train it in a "
        "cell of your own, then assign the trained model: `answer = model`.",
        (f"The quick model is well under the budget ({BUDGET:,}): it needs more training, or a little more width, "
         "not a new design. Change one thing at a time and read the validation accuracy of each try.",
         "More epochs cost seconds each and give the schedule longer to settle; wider convolutions cost parameters "
         "(model.count_params() counts them). Mind the dense layer after the flatten: it grows with the last "
         "maps' size times their channels.",
         "models.course_cnn(widths=(16, 32), kernel_size=5, pools=(True, True), shift=0.0, dropout=0.0) has "
         "18,522 parameters; train it as the quick model is trained, with EPOCHS = 5."),
        SOLUTION_CHALLENGE,
        check_answer=_challenge,
        mistakes=(Mistake("history", _a_history, "that is what fit returns (a History: the loss and accuracy of "
                                                 "each epoch), not the model: assign the model itself, "
                                                 "answer = model", matches=_history),
                  Mistake("over budget", _report_model, f"more than {BUDGET:,} parameters (model.count_params() "
                                                        "counts yours): narrow the convolutions, or make the maps "
                                                        "before the flatten smaller: the Dense layer after it "
                                                        "holds one weight per number of the flatten and unit",
                          matches=_over_budget),
                  Mistake("guessing", _untrained_model, "about one validation digit in ten right, as good as "
                                                        "guessing: is the model trained (model.fit on x_fit, "
                                                        "y_fit), on pixels scaled to [0, 1] with a channel axis as "
                                                        "the check's are (add_channel(scale(x)))?",
                          matches=_guessing))),
]
