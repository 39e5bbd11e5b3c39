"""Exercises with instant feedback, three or more per notebook.

In a notebook::

    from mnistlab.exercises import exercise
    q = exercise("01.2")      # its question is in the cell above
    answer = ...              # your answer: a value, or a function you wrote
    q.check(answer)           # right, or which mistake it sees; q.hint(), q.solution()

``progress()`` (or ``mnistlab progress``) lists what you solved; it is kept in your data folder (see ``record``).
"""

from __future__ import annotations

from importlib import import_module

from mnistlab.exercises.core import Exercise, ExerciseFailed, Feedback, Mistake, solved

__all__ = ["NOTEBOOKS", "Exercise", "ExerciseFailed", "Feedback", "Mistake", "all_exercises", "exercise", "progress",
           "solved"]

#: The module of each notebook's exercises, by the notebook's number.
NOTEBOOKS = {"00": "data", "01": "convolution", "02": "padding_stride", "03": "pooling", "04": "baselines",
             "05": "cnn", "06": "how_it_learns", "07": "evaluation", "08": "beyond_the_test_set"}


def all_exercises() -> dict[str, Exercise]:
    """Every exercise of the course, by key ("01.2"), in the course's order."""
    found: dict[str, Exercise] = {}
    for number, name in NOTEBOOKS.items():
        for ex in import_module(f"mnistlab.exercises.{name}").EXERCISES:
            if not ex.key.startswith(f"{number}."):
                raise ValueError(f"{name}: exercise {ex.key} is not numbered for notebook {number}")
            found[ex.key] = ex
    return found


def exercise(key: str) -> Exercise:
    """The exercise ``key`` ("01.2": notebook 01, exercise 2)."""
    number = str(key).split(".")[0]
    if number not in NOTEBOOKS:
        raise KeyError(f"exercise {key!r}: expected a key like '01.2' for notebooks {', '.join(NOTEBOOKS)}")
    for ex in import_module(f"mnistlab.exercises.{NOTEBOOKS[number]}").EXERCISES:
        if ex.key == key:
            return ex
    raise KeyError(f"exercise {key!r}: notebook {number} has no such exercise")


def progress(print_fn=print) -> dict[str, str]:
    """Print, notebook by notebook, which exercises are solved; return key -> when it was solved."""
    done = solved()
    exercises = all_exercises()
    for number in NOTEBOOKS:
        mine = [ex for key, ex in exercises.items() if key.startswith(f"{number}.")]
        marks = "  ".join(f"{'[x]' if ex.key in done else '[ ]'} {ex.key} {ex.title}" for ex in mine)
        print_fn(f"{number}: {sum(ex.key in done for ex in mine)}/{len(mine)}  {marks}")
    print_fn(f"solved {sum(key in done for key in exercises)} of {len(exercises)} exercises")
    return {key: when for key, when in done.items() if key in exercises}
