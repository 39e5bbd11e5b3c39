"""Checks a learner cannot fool, hints in steps, feedback shown once, and progress that is never lost."""

from __future__ import annotations

import json
import multiprocessing
import time

import numpy as np
import pytest

from mnistlab import exercises, ops
from mnistlab.exercises import core, record

pytestmark = pytest.mark.usefixtures("own_folders")


def loop_exercise(hint_text="Square, then sum.", **kwargs) -> core.Exercise:
    """A small function exercise: the sum of an array's squares."""
    return core.Exercise("99.1", "squares", "Sum the squares.", hint_text, "def f(a):\n    return (a ** 2).sum()",
                         reference=lambda a: float((a ** 2).sum()), cases=lambda: [(np.arange(4.0),), (np.ones(3),)],
                         **kwargs)


def test_an_endless_loop_is_stopped_with_a_message_and_the_kernel_goes_on():
    calls = []

    def forever(a):
        calls.append(1)
        while time.perf_counter() < give_up:  # "endless", but a limit that does not stop it fails, not hangs, the test
            pass
        return float((a ** 2).sum())  # a right answer: it passes unless it is stopped

    start = time.perf_counter()
    give_up = start + 120
    result = loop_exercise(time_limit=0.5).feedback(forever)
    # Stopped in the first case, by the 0.5 s limit: not run to its end (the bound is generous for a loaded machine).
    assert time.perf_counter() - start < 60 and calls == [1]
    assert not result.correct and "within 0.5 s" in result.message and "stopped" in result.message
    assert loop_exercise().feedback(lambda a: float((a ** 2).sum())).correct  # nothing left behind


def test_a_function_that_mutates_its_inputs_cannot_pass():
    def cheat(a):
        a[:] = 0  # the reference would now see zeros, were it computed after on the same array
        return 0.0

    assert not loop_exercise().feedback(cheat).correct


def test_a_function_that_replaces_a_package_function_cannot_pass():
    ex = exercises.exercise("01.2")
    original = ops.conv2d

    def wrong(image, kernel):
        ops.conv2d = lambda *args, **kwargs: np.zeros((1, 1))  # the reference's own function, replaced
        return np.zeros((1, 1))

    try:
        assert not ex.feedback(wrong).correct
        assert not ex.feedback(wrong).correct  # again, with the replacement still in place
    finally:
        ops.conv2d = original


@pytest.mark.parametrize("result, kind", [(lambda a: "14.0", "text"), (lambda a: complex(14, 0), "complex numbers"),
                                          (lambda a: np.array([object()]), "objects")])
def test_text_complex_and_object_results_are_refused_with_a_message(result, kind):
    feedback = loop_exercise().feedback(result)
    assert not feedback.correct and kind in feedback.message


def test_whole_number_answers_are_compared_exactly():
    ex = exercises.exercise("04.2")
    assert ex.feedback(200_000_000).correct and ex.feedback(200_000_000.0).correct
    assert not ex.feedback(200_000_150).correct and not ex.feedback(200_000_000.5).correct


def test_hints_come_in_steps():
    ex = loop_exercise(hint_text=("Square each number.", "Then add them up.", "a ** 2, then .sum()"))
    core._HINTS_GIVEN.pop(ex.key, None)
    said = [_captured(ex.hint) for _ in range(4)]
    assert "Square each number." in said[0] and "hint 1 of 3" in said[0]
    assert "Then add them up." in said[1] and "a ** 2" in said[2] and "q.solution()" in said[2]
    assert said[3] == said[2]  # the last step repeats


def _captured(call) -> str:
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        call()
    return buffer.getvalue()


def test_a_check_shows_its_feedback_once(capsys):
    result = exercises.exercise("00.1").check(...)
    printed = capsys.readouterr().out
    assert printed.count("Not yet") == 1
    assert result._ipython_display_() is None  # IPython shows nothing more for the cell's value
    assert "Not yet" in str(exercises.exercise("00.1").feedback(...))


def test_progress_lives_in_the_data_folder_not_the_cache(tmp_path):
    exercises.exercise("04.2").check(200_000_000)
    assert "04.2" in json.loads((tmp_path / "data" / "exercises.json").read_text())
    assert not (tmp_path / "cache").exists()


def test_a_damaged_progress_file_is_kept_aside_and_said_in_one_line(tmp_path, capsys):
    file = tmp_path / "data" / "exercises.json"
    file.parent.mkdir(parents=True)
    file.write_text('{"00.1": "2026-01-01T00:00:00", ')  # cut short
    assert core.solved() == {}
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "kept aside" in err
    kept = list(file.parent.glob("exercises.json.damaged-*"))
    assert len(kept) == 1 and kept[0].read_text().startswith('{"00.1"')
    core.record_solved("00.2")
    assert set(core.solved()) == {"00.2"} and kept[0].exists()


def test_progress_from_the_cache_folder_is_carried_over(tmp_path):
    from mnistlab.cache import write_record

    write_record("exercises.json", {"01.1": "2026-01-01T00:00:00"})
    assert core.solved() == {"01.1": "2026-01-01T00:00:00"}
    core.record_solved("01.2")
    assert set(core.solved()) == {"01.1", "01.2"}


def _solve_many(args):
    data, keys = args
    import os

    os.environ[record.DATA_ENV] = data
    for key in keys:
        record.record_solved(key)


def test_concurrent_writers_lose_nothing(tmp_path):
    keys = [[f"{w}.{i}" for i in range(40)] for w in range(3)]
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        pool.map(_solve_many, [(str(tmp_path / "data"), k) for k in keys])
    assert len(core.solved()) == 120


def test_an_unwritable_data_folder_is_said_and_the_check_still_answers(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "blocked"
    blocker.write_text("a file where the folder should be")
    monkeypatch.setenv(record.DATA_ENV, str(blocker / "data"))
    result = exercises.exercise("04.2").check(200_000_000)
    assert result.correct
    assert "cannot be written" in capsys.readouterr().err


def test_max_pool_backward_cases_separate_row_first_from_column_first_ties():
    from mnistlab.exercises.how_it_learns import _pool_column_first, _pool_reference

    ex = exercises.exercise("06.2")
    assert any(not np.array_equal(_pool_reference(*c), _pool_column_first(*c)) for c in ex.cases())
    assert ex.feedback(_pool_column_first).mistake == "column first"


def test_a_softmax_that_overflows_fails_the_loss_exercise():
    from mnistlab.exercises.cnn import _naive

    ex = exercises.exercise("05.4")
    result = ex.feedback(_naive)
    assert not result.correct and result.mistake == "overflow"


@pytest.mark.parametrize("answer", ["SVM", "svm", "Support Vector Machines", "the SVM.", "an SVC", "SVMs",
                                    "support vector classifier"])
def test_the_strongest_baseline_in_the_learners_own_words(answer):
    assert exercises.exercise("04.1").feedback(answer).correct


@pytest.mark.parametrize("answer", ["kNN", "random forest", "SVM or kNN", "logistic regression"])
def test_other_models_are_not_the_strongest_baseline(answer):
    assert not exercises.exercise("04.1").feedback(answer).correct


def test_a_function_the_notebook_or_package_defines_is_refused():
    ex = loop_exercise(forbidden=("conv2d_loop", "conv2d"))

    def conv2d_loop(a):
        return float((a ** 2).sum())

    def wrapped(a):
        return ops.conv2d(a, a)

    for answer in (conv2d_loop, wrapped):
        result = ex.feedback(answer)
        assert not result.correct and "write it yourself" in result.message


def test_a_conceptual_question_gives_a_reason_for_each_wrong_choice():
    q = core.choice("99.2", "why", "Why?", {"a": "one", "b": "two", "c": "three"}, "b",
                    {"a": "one is too few", "c": "three is too many"}, "count", "two it is")
    assert q.feedback("B").correct and q.feedback(" (b) ").correct and q.feedback("b").message == "two it is"
    assert q.feedback("a").message == "(a) one is too few" and q.feedback("(c)").mistake == "chose c"
    assert "one letter" in q.feedback("two").message
    with pytest.raises(ValueError, match="reason"):
        core.choice("99.3", "t", "q", {"a": "x", "b": "y"}, "a", {}, "h", "e")


def test_a_forbidden_function_under_another_name_is_refused():
    ex = loop_exercise(forbidden=("conv2d",))
    namespace = {"ops": ops}
    exec("c = ops.conv2d\ndef mine(a):\n    return c(a, a)", namespace)  # noqa: S102 - a learner's cell
    assert "uses conv2d" in ex.feedback(namespace["mine"]).message
