"""The exercises of notebooks 03 and 04 as a learner meets them: no answer on the screen before its question, the
package's and TensorFlow's pooling refused, hints in steps, and the facts the conceptual questions rest on."""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pytest

from mnistlab import exercises, ops
from mnistlab.data import load_mnist

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
MINE = {key: ex for key, ex in exercises.all_exercises().items() if key[:2] in {"03", "04"}}


pytestmark = pytest.mark.usefixtures("own_folders")


def test_four_or_more_exercises_each_with_two_or_three_hint_steps():
    for number in ("03", "04"):
        assert len([key for key in MINE if key.startswith(number)]) >= 4, number
    for key, ex in MINE.items():
        assert 2 <= len(ex.hints) <= 3, key


def test_the_packages_and_tensorflows_pooling_are_refused():
    q = exercises.exercise("03.4")

    def max_pool_maps(x, size):
        return ops.pool2d(x, size)

    def with_tensorflow(x, size):
        import tensorflow as tf

        return tf.nn.max_pool2d(x[None], size, size, "VALID").numpy()[0]

    def with_keras(x, size):
        import keras

        return keras.ops.max_pool(x[None], size).numpy()[0]

    for answer in (max_pool_maps, ops.pool2d, with_tensorflow, with_keras):
        result = q.feedback(answer)
        assert not result.correct and "write it yourself" in result.message, answer
    namespace = {"np": np}
    exec(q.solution_code, namespace)  # noqa: S102 - the package's own solution code
    assert q.feedback(namespace["answer"]).correct


def test_the_choices_take_a_letter_in_any_dress_and_give_a_reason_for_each_wrong_one():
    for key, right in (("03.3", "b"), ("04.3", "c")):
        q = exercises.exercise(key)
        for answer in (right, f"({right})", right.upper(), f" {right}. "):
            assert q.feedback(answer).correct, (key, answer)
        reasons = {q.feedback(letter).message for letter in "abcd" if letter != right}
        assert len(reasons) == 3, key
        assert "one letter" in q.feedback("max pooling").message


@pytest.mark.tensorflow
def test_the_dense_layer_count_matches_the_report_network():
    from mnistlab.models import report_cnn

    assert exercises.exercise("03.2").expected == report_cnn().get_layer("dense1").count_params()
    assert exercises.exercise("05.1").expected == report_cnn().get_layer("conv2").count_params()


def test_no_two_exercises_ask_for_the_same_number():
    numbers = {}
    for q in exercises.all_exercises().values():
        if isinstance(q.expected, int | float) and not isinstance(q.expected, bool):
            assert q.expected not in numbers, f"{q.key} asks for {q.expected}, as {numbers.get(q.expected)} does"
            numbers[q.expected] = q.key


def cells(name: str) -> list:
    return nbformat.read(NOTEBOOKS / name, as_version=4).cells


def exercise_cell(nb_cells: list, key: str) -> int:
    return next(i for i, c in enumerate(nb_cells) if c.cell_type == "code"
                and c.source.startswith(f"# EXERCISE {key}:"))


def shown(nb_cells: list) -> str:
    return "".join(c.source for c in nb_cells) + "".join(
        str(out) for c in nb_cells if c.cell_type == "code" for out in c.get("outputs", []))


@pytest.mark.parametrize(("notebook", "key", "reveals", "answers"), [
    ("03_pooling.ipynb", "03.1", 'mode="avg"', ("496.75", "648.5", "701.75")),
    ("03_pooling.ipynb", "03.2", 'get_layer("dense1")', ("204,928", "204928", "1,600", "5x5x64", "5 x 5")),
    ("04_baselines.ipynb", "04.1", "baselines.load_or_compare(baselines.REPORT_TRAIN_SIZE)",
     ("97.0", "96.95", "most accurate")),
    ("05_cnn.ipynb", "05.1", "report_model.summary", ("18,496", "18496", "3 x 3 x 32 + 1")),
])
def test_a_prediction_is_asked_just_before_the_cell_that_shows_it(notebook, key, reveals, answers):
    nb_cells = cells(notebook)
    at = exercise_cell(nb_cells, key)
    assert nb_cells[at - 1].cell_type == "markdown" and f"Exercise {key} " in nb_cells[at - 1].source
    assert exercises.exercise(key).question in nb_cells[at - 1].source
    assert reveals in nb_cells[at + 1].source, key
    before = shown(nb_cells[:at - 1])  # the cells above the question
    for answer in answers:
        assert answer not in before, (key, answer)


@pytest.mark.parametrize(("notebook", "key", "never_shown"), [
    ("03_pooling.ipynb", "03.4", "reshape("), ("04_baselines.ipynb", "04.2", "200,000,000"),
    ("04_baselines.ipynb", "04.3", "own nearest neighbour"), ("04_baselines.ipynb", "04.4", "trace"),
])
def test_the_answers_the_notebook_never_prints(notebook, key, never_shown):
    nb_cells = cells(notebook)
    at = exercise_cell(nb_cells, key)
    assert never_shown not in shown(nb_cells[:at - 1]), key


def test_the_wrapped_column_of_the_shift_experiment_is_blank():
    """03.3's reason for (a): np.roll moves the last column of the first 500 training digits, which holds no ink."""
    (x_train, _), _ = load_mnist()
    assert not x_train[:500, :, -1].any()


def test_one_nearest_neighbour_gets_every_digit_it_stored_right_and_three_do_not():
    """04.3 and its explanation: fitted on the first 20,000 training digits, kNN reads them 100% right with k = 1
    (each is its own nearest neighbour) and 98.1% with k = 3, and the validation digits 96.2% and 96.25%."""
    from scipy.stats import mode
    from sklearn.neighbors import NearestNeighbors

    (x_train, y_train), _ = load_mnist()
    x, y = x_train[:20_000].reshape(20_000, -1) / 255, y_train[:20_000]
    queries, truth = np.concatenate([x, x_train[-10_000:].reshape(10_000, -1) / 255]), np.r_[y, y_train[-10_000:]]
    near = y[NearestNeighbors(n_neighbors=3).fit(x).kneighbors(queries, return_distance=False)]  # nearest first
    one = near[:, 0]
    # three votes: the majority, a three-way tie going to the smallest label, as KNeighborsClassifier votes
    three = mode(near, axis=1).mode
    own, val = slice(0, 20_000), slice(20_000, None)
    assert 100 * np.mean(one[own] == y) == 100.0 and round(100 * np.mean(three[own] == y), 1) == 98.1
    assert round(100 * np.mean(one[val] == truth[val]), 1) == 96.2
    assert round(100 * np.mean(three[val] == truth[val]), 2) == 96.25
