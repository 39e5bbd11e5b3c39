"""The exercises: every reference solution passes its own check, every catalogued wrong answer gets its
own message, an unanswered exercise says "not yet", and progress is kept in the data folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mnistlab import exercises
from mnistlab.data import load_mnist
from mnistlab.exercises import beyond_the_test_set, core

ALL = exercises.all_exercises()
NEEDS_THE_BEST_CNN = {"08.1"}  # its check reads the cached best CNN: tested below with a stand-in
TRAINS_A_CNN = {"05.5"}  # its solution trains for about a minute: run once, in the solutions test


pytestmark = pytest.mark.usefixtures("own_folders")


def notebook_namespace() -> dict:
    (x_train, y_train), (x_test, y_test) = load_mnist()
    return {"np": np, "x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def test_every_notebook_has_four_to_seven_exercises_in_order():
    for number in exercises.NOTEBOOKS:
        keys = [key for key in ALL if key.startswith(f"{number}.")]
        assert 4 <= len(keys) <= 7, f"notebook {number}: {keys}"
        assert keys == [f"{number}.{k}" for k in range(1, len(keys) + 1)]


@pytest.mark.tensorflow  # some checks build Keras models (05's)
@pytest.mark.parametrize("key", [k for k in ALL if k not in NEEDS_THE_BEST_CNN])
def test_the_reference_solution_passes_its_check(key):
    namespace = notebook_namespace()
    exec(ALL[key].solution_code, namespace)  # noqa: S102 - the package's own solution code
    result = ALL[key].feedback(namespace["answer"])
    assert result.correct, f"{key}: {result}"


@pytest.mark.parametrize(("key", "name"), [(k, m.name) for k, ex in ALL.items() if k not in NEEDS_THE_BEST_CNN
                                           for m in ex.mistakes])
def test_every_catalogued_mistake_gets_its_own_message(key, name):
    ex = ALL[key]
    mistake = next(m for m in ex.mistakes if m.name == name)
    wrong = mistake.example if ex.is_function else core._value(mistake.example)  # a wrong function, or value
    result = ex.feedback(wrong)
    assert not result.correct and result.mistake == name, f"{key} {name}: {result}"
    assert result.message == mistake.message
    others = [m.message for m in ex.mistakes if m.name != name]
    assert mistake.message not in others


def test_messages_are_distinct_and_every_exercise_has_a_hint_and_a_solution(capsys):
    for key, ex in ALL.items():
        assert len({m.message for m in ex.mistakes}) == len(ex.mistakes), key
        assert ex.question and ex.hint_text and "answer =" in ex.solution_code, key
        assert len(ex.hints) >= 2, f"{key}: hints come in steps (a nudge first, then more)"
        core._HINTS_GIVEN.pop(key, None)
        ex.hint()
        first = capsys.readouterr().out
        ex.hint()
        second = capsys.readouterr().out
        ex.solution()
        out = capsys.readouterr().out
        assert first.startswith(f"Hint ({key}) (hint 1 of {len(ex.hints)}") and ex.hints[0] in first, key
        assert ex.hints[1] in second and f"Solution ({key}):\n" in out, key


def test_an_unanswered_exercise_says_not_yet_and_never_raises(capsys):
    q = exercises.exercise("01.1")
    result = q.check(...)
    assert not result and not result.attempted
    assert capsys.readouterr().out.startswith("01.1 one more output pixel: Not yet: replace ... with your answer")
    assert exercises.solved() == {}


def test_a_right_answer_is_recorded_and_listed_in_the_progress(capsys):
    ex = exercises.exercise("02.1")
    namespace = notebook_namespace()
    exec(ex.solution_code, namespace)  # noqa: S102 - the package's own solution code
    ex.check(namespace["answer"])
    ex.check(namespace["answer"])
    assert "\u2714 Correct" in capsys.readouterr().out
    assert list(exercises.solved()) == ["02.1"]
    done = exercises.progress()
    out = capsys.readouterr().out
    in_02 = sum(key.startswith("02.") for key in ALL)
    assert list(done) == ["02.1"] and f"02: 1/{in_02}  [x] 02.1 {ex.title}" in out
    assert f"solved 1 of {len(ALL)} exercises" in out


def test_a_wrong_answer_names_the_mistake_then_solutions_mode_raises(monkeypatch, capsys):
    q = exercises.exercise("02.1")
    assert q.check(11).mistake == "no +1"
    assert "you forgot the + 1" in capsys.readouterr().out
    monkeypatch.setenv(core.SOLUTIONS_ENV, "1")
    with pytest.raises(exercises.ExerciseFailed, match="exercise 02.1 .*you forgot the \\+ 1"):
        q.check(11)
    with pytest.raises(exercises.ExerciseFailed, match="Not yet"):
        q.check(...)


def test_a_function_answer_that_raises_or_has_the_wrong_shape_is_explained():
    q = exercises.exercise("01.2")

    def broken(image, kernel):
        raise IndexError("index 6 is out of bounds")

    assert "your function raised IndexError: index 6 is out of bounds" in q.feedback(broken).message
    shape = q.feedback(lambda image, kernel: np.zeros((2, 2))).message
    assert shape.startswith("hidden case 1 (arguments of shapes (6, 6), (3, 3)): your output has shape (2, 2), "
                            "expected (4, 4)")
    assert "expected a function" in q.feedback(429).message
    assert "differs from the reference by up to" in q.feedback(lambda image, kernel: q.reference(image, kernel)
                                                               + 1).message


def test_an_unknown_exercise_is_named():
    with pytest.raises(KeyError, match="exercise '09.1': expected a key like '01.2'"):
        exercises.exercise("09.1")
    with pytest.raises(KeyError, match="exercise '01.9': notebook 01 has no such exercise"):
        exercises.exercise("01.9")


def test_the_search_exercise_reads_the_best_cnn(monkeypatch):
    readings = {5: (3, 3, 5), 6: (2, 1, 1), 7: (4, 4, 4)}  # label, unchanged, turned 10 degrees
    monkeypatch.setattr(beyond_the_test_set, "_reads", lambda index: readings[index])
    q = exercises.exercise("08.1")
    assert q.feedback(5).correct
    assert q.feedback(6).mistake == "already wrong"
    assert q.feedback(7).mistake == "still right"
    assert "a whole number from 0 to 1999" in q.feedback(2000).message
    assert "a whole number from 0 to 1999" in q.feedback("5").message


def test_the_unsolved_cells_run_and_say_not_yet_and_the_solved_ones_pass(capsys):
    namespace = {**notebook_namespace(), "exercise": exercises.exercise}
    for key, ex in ALL.items():
        if key in NEEDS_THE_BEST_CNN:
            continue
        exec(ex.cell(), namespace)  # noqa: S102 - the notebook's own cell
        out = capsys.readouterr().out
        assert out.startswith(f"{key} {ex.title}: Not yet: "), out
        if key in TRAINS_A_CNN:
            continue  # its solution passes in test_the_reference_solution_passes_its_check
        exec(ex.cell(solved=True), namespace)  # noqa: S102
        assert "\u2714 Correct" in capsys.readouterr().out, key
    assert exercises.exercise("01.2").cell().startswith('# EXERCISE 01.2: replace ... with your answer, then run '
                                                        'the cell\nq = exercise("01.2")\ndef conv2d_valid(image, '
                                                        'kernel):\n    ...  # your code\n')


def test_every_exercise_has_its_cell_in_its_notebook_in_order():
    import nbformat

    from mnistlab.course import fill_solutions, find_notebooks

    root = Path(__file__).resolve().parents[1]
    filled = []
    for path in find_notebooks(root / "notebooks"):
        nb = nbformat.read(path, 4)
        keys = fill_solutions(nb)
        assert all(key.startswith(path.name[:2] + ".") for key in keys), (path.name, keys)
        filled += keys
    assert filled == list(ALL)


def test_every_notebook_asks_the_question_its_exercise_checks():
    """The markdown above each exercise cell holds the package's question word for word: the two copies cannot drift."""
    import nbformat

    from mnistlab.course import exercise_key, find_notebooks

    asked = {}
    for path in find_notebooks(Path(__file__).resolve().parents[1] / "notebooks"):
        cells = nbformat.read(path, 4).cells
        for i, cell in enumerate(cells):
            if key := exercise_key(cell):
                asked[key] = next(c.source for c in reversed(cells[:i]) if c.cell_type == "markdown")
    assert sorted(asked) == sorted(ALL)
    drifted = [key for key, above in asked.items() if ALL[key].question not in above]
    assert not drifted, f"the notebook's question is not the package's: {drifted}"
