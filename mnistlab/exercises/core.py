"""The exercise machinery: an exercise checks an answer at once, names the mistake it recognises, and
gives a hint or its solution only when asked. Progress is kept in the user's cache folder.

An :class:`Exercise` has a question, a reference answer (a value, or a function run on hidden cases)
and a catalogue of :class:`Mistake` s, each with an example of the wrong answer and its own message.
:meth:`Exercise.feedback` compares an answer with the reference first, then with each catalogued
mistake; :meth:`Exercise.check` prints that feedback, records a solved exercise and, in solutions mode
(``MNISTLAB_SOLUTIONS=1``, set by ``mnistlab course --solutions``), raises unless the answer is right.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from mnistlab.errors import MnistlabError

__all__ = ["SOLUTIONS_ENV", "Exercise", "ExerciseFailed", "Feedback", "Mistake", "record_solved", "solved"]

#: Set to 1 by ``mnistlab course --solutions``: a check that is not right raises instead of printing.
SOLUTIONS_ENV = "MNISTLAB_SOLUTIONS"


class ExerciseFailed(MnistlabError):
    """A check that failed in solutions mode (an exercise whose solution does not pass its own check)."""


@dataclass(frozen=True)
class Mistake:
    """A typical wrong answer: ``example`` is one (a value, or a wrong function), ``message`` says what
    went wrong. ``matches(answer)``, when given, recognises it instead of comparing with the example."""

    name: str
    example: object
    message: str
    matches: Callable[[object], bool] | None = None


@dataclass(frozen=True)
class Feedback:
    """The result of a check: right or not, what to say, and the catalogued mistake recognised (if any)."""

    correct: bool
    message: str
    mistake: str | None = None
    attempted: bool = True

    def __bool__(self) -> bool:
        return self.correct

    def __str__(self) -> str:
        mark = "\u2714 Correct" if self.correct else ("Not yet" if not self.attempted else "\u2718 Not quite")
        return f"{mark}: {self.message}"


def _value(value: object) -> object:
    """A value exercise's expected answer or wrong example, computed when first needed if it is a function."""
    return value() if callable(value) else value


def _same(answer: object, expected: object, tolerance: float) -> bool:
    if isinstance(expected, str):
        return isinstance(answer, str) and answer.strip().lower() == expected.strip().lower()
    try:
        a, e = np.asarray(answer, dtype=float), np.asarray(expected, dtype=float)
    except (TypeError, ValueError):
        return False
    return a.shape == e.shape and bool(np.allclose(a, e, rtol=tolerance, atol=tolerance))


@dataclass(frozen=True)
class Exercise:
    """One exercise of a notebook (``key`` like ``"01.2"``).

    A value exercise has ``expected`` (or a function computing it when first checked); a function
    exercise has ``reference`` (the right function) and ``cases`` (a function returning the hidden
    argument tuples). ``solution_code`` is what the notebook's exercise cell holds once solved:
    ``solution()`` shows it, ``--solutions`` runs it.
    """

    key: str
    title: str
    question: str
    hint_text: str
    solution_code: str
    expected: object = None
    reference: Callable | None = None
    cases: Callable[[], Sequence[tuple]] | None = None
    mistakes: tuple[Mistake, ...] = ()
    tolerance: float = 1e-6
    right: str = ""                   # said when the answer is right
    check_answer: Callable[[object], tuple[bool, str]] | None = None   # a custom check (answers found by search)

    @property
    def is_function(self) -> bool:
        """Whether the answer is a function, run on hidden cases."""
        return self.reference is not None

    def _outputs(self, function: Callable) -> list:
        return [function(*args) for args in self.cases()]

    def _function_feedback(self, answer: object) -> Feedback:
        if not callable(answer):
            return Feedback(False, f"expected a function (def ...), got {type(answer).__name__}")
        try:
            got = self._outputs(answer)
        except Exception as exc:  # noqa: BLE001 - the learner's function raised: say which error
            return Feedback(False, f"your function raised {type(exc).__name__}: {exc}")
        if all(g is None for g in got):
            return Feedback(False, "your function returns None: write its body and return the result "
                                   "(q.hint() helps, q.solution() shows one)", attempted=False)
        want = self._outputs(self.reference)
        if all(_same(g, w, self.tolerance) for g, w in zip(got, want, strict=True)):
            return Feedback(True, self.right or f"your function agrees with the reference on {len(want)} hidden cases")
        for mistake in self.mistakes:
            if mistake.matches is not None and mistake.matches(answer):
                return Feedback(False, mistake.message, mistake.name)
            if callable(mistake.example):
                wrong = self._outputs(mistake.example)
                if all(_same(g, w, self.tolerance) for g, w in zip(got, wrong, strict=True)):
                    return Feedback(False, mistake.message, mistake.name)
        for k, (g, w, args) in enumerate(zip(got, want, self.cases(), strict=True)):
            g_shape, w_shape = np.shape(g), np.shape(w)
            if g_shape != w_shape:
                shapes = ", ".join(str(np.shape(a)) for a in args)
                return Feedback(False, f"hidden case {k + 1} (arguments of shapes {shapes}): your output has shape "
                                       f"{g_shape}, expected {w_shape}")
            if not _same(g, w, self.tolerance):
                return Feedback(False, f"hidden case {k + 1}: your output differs from the reference by up to "
                                       f"{float(np.max(np.abs(np.asarray(g, float) - np.asarray(w, float)))):.3g}")
        return Feedback(False, "your function differs from the reference")  # pragma: no cover - caught above

    def feedback(self, answer: object) -> Feedback:
        """What a check says about ``answer``, without printing or recording anything."""
        if answer is Ellipsis or answer is None:
            return Feedback(False, "replace ... with your answer, then run the cell again "
                                   "(q.hint() helps, q.solution() shows one)", attempted=False)
        if self.check_answer is not None:
            ok, message = self.check_answer(answer)
            if ok:
                return Feedback(True, message)
            for mistake in self.mistakes:
                if mistake.matches is not None and mistake.matches(answer):
                    return Feedback(False, mistake.message, mistake.name)
            return Feedback(False, message)
        if self.is_function:
            return self._function_feedback(answer)
        if _same(answer, _value(self.expected), self.tolerance):
            return Feedback(True, self.right or "that is it")
        for mistake in self.mistakes:
            if (mistake.matches(answer) if mistake.matches is not None
                    else _same(answer, _value(mistake.example), self.tolerance)):
                return Feedback(False, mistake.message, mistake.name)
        return Feedback(False, "that is not it; q.hint() gives a hint")

    def check(self, answer: object) -> Feedback:
        """Check ``answer``: print the feedback; remember a solved exercise in the user's cache folder.

        In solutions mode (``MNISTLAB_SOLUTIONS=1``) an answer that is not right raises
        :class:`ExerciseFailed`.
        """
        result = self.feedback(answer)
        if result.correct:
            record_solved(self.key)
        elif os.environ.get(SOLUTIONS_ENV) == "1":
            raise ExerciseFailed(f"exercise {self.key} ({self.title}): {result}")
        print(f"{self.key} {self.title}: {result}")
        return result

    def hint(self) -> None:
        """Print the hint."""
        print(f"Hint ({self.key}): {self.hint_text}")

    def solution(self) -> None:
        """Print a solution: the code of the solved exercise cell."""
        print(f"Solution ({self.key}):\n{self.solution_code}")

    @property
    def template(self) -> str:
        """The exercise cell's code before it is solved: ``answer = ...``, or the function's empty body."""
        if not self.is_function:
            return "answer = ...  # your answer"
        head = next(line for line in self.solution_code.splitlines() if line.startswith("def "))
        name = head[4:head.index("(")]
        return f"{head}\n    ...  # your code\n\n\nanswer = {name}"

    def cell(self, solved: bool = False) -> str:
        """The notebook's exercise cell: the template, or (``solved=True``) the solution, then the check."""
        body = self.solution_code if solved else self.template
        note = "solution" if solved else "replace ... with your answer, then run the cell"
        return f"# EXERCISE {self.key}: {note}\nq = exercise(\"{self.key}\")\n{body}\nq.check(answer)"

    def _repr_markdown_(self) -> str:
        return f"**Exercise {self.key}: {self.title}.** {self.question}"


_PROGRESS = "exercises.json"


def solved() -> dict[str, str]:
    """The solved exercises: key -> when it was first solved (kept in the user's cache folder)."""
    from mnistlab.cache import read_record

    return {str(k): str(v) for k, v in read_record(_PROGRESS).items()}


def record_solved(key: str) -> None:
    """Remember that exercise ``key`` is solved; a cache folder that cannot be written is skipped silently."""
    from mnistlab.cache import write_record

    done = solved()
    if key not in done:
        done[key] = datetime.datetime.now().isoformat(timespec="seconds")
        try:
            write_record(_PROGRESS, done)
        except OSError:
            return
