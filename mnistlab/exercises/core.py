"""The exercise machinery: an exercise checks an answer at once, names the mistake it recognises, and
gives a hint (in steps) or its solution only when asked. Progress is kept in the user's data folder
(:mod:`mnistlab.exercises.record`).

An :class:`Exercise` has a question, a reference answer (a value, or a function run on hidden cases)
and a catalogue of :class:`Mistake` s, each with an example of the wrong answer and its own message.
:meth:`Exercise.feedback` compares an answer with the reference first, then with each catalogued
mistake; :meth:`Exercise.check` prints that feedback, records a solved exercise and, in solutions mode
(``MNISTLAB_SOLUTIONS=1``, set by ``mnistlab course --solutions``), raises unless the answer is right.

A learner's function cannot fool a check: the reference's answers are computed first, on copies of the hidden
inputs, with the package's own functions as they were when the exercises were loaded (a function that mutates
its inputs or replaces a package function changes nothing the reference sees); the learner's function then runs
on fresh copies under a time limit (an endless loop ends with a message, the kernel stays usable); text,
complex and object results are refused with a message; whole-number answers are compared exactly.
"""

from __future__ import annotations

import contextlib
import copy
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from mnistlab.errors import MnistlabError

__all__ = ["SOLUTIONS_ENV", "TIME_LIMIT_S", "Exercise", "ExerciseFailed", "Feedback", "Mistake", "record_solved",
           "solved", "words", "choice"]

#: Set to 1 by ``mnistlab course --solutions``: a check that is not right raises instead of printing.
SOLUTIONS_ENV = "MNISTLAB_SOLUTIONS"

#: Seconds a learner's function may take over all the hidden cases of one check (an exercise may set its own).
TIME_LIMIT_S = 10.0


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

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython shows the message, not the dataclass
        printer.text(str(self))


class _Printed(Feedback):
    """The feedback :meth:`Exercise.check` returns: it has printed its message already, so a notebook that
    ends its cell with ``q.check(answer)`` shows it once."""

    def _ipython_display_(self) -> None:
        pass


class _TimeUp(Exception):
    pass


@contextlib.contextmanager
def _time_limit(seconds: float):
    """Interrupt the block after ``seconds`` with :class:`_TimeUp` (Unix, main thread: where a kernel runs a
    cell); elsewhere the block runs unlimited."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise _TimeUp

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


_PRISTINE: dict[str, dict[str, object]] = {}


def _snapshot() -> None:
    """Remember the functions and classes of every ``mnistlab`` module loaded now and not seen before."""
    for name, module in list(sys.modules.items()):
        if (name == "mnistlab" or name.startswith("mnistlab.")) and module is not None and name not in _PRISTINE:
            _PRISTINE[name] = {k: v for k, v in vars(module).items() if callable(v) and not k.startswith("__")}


@contextlib.contextmanager
def _pristine():
    """Inside the block, the package's functions are the ones first seen (a learner's replacement is put aside,
    and put back afterwards, so the learner's kernel is as they left it)."""
    _snapshot()
    replaced = []
    for name, original in _PRISTINE.items():
        module = sys.modules.get(name)
        for attr, value in original.items():
            current = getattr(module, attr, None)
            if current is not value:
                replaced.append((module, attr, current))
                setattr(module, attr, value)
    try:
        yield
    finally:
        for module, attr, current in replaced:
            setattr(module, attr, current)


_snapshot()


def _value(value: object) -> object:
    """A value exercise's expected answer or wrong example, computed when first needed if it is a function."""
    return value() if callable(value) else value


def _not_a_number(value: object) -> str | None:
    """What kind of non-number ``value`` holds (text, complex numbers, objects), or ``None`` for real numbers."""
    if isinstance(value, (str, bytes)):
        return "text"
    try:
        kind = np.asarray(value).dtype.kind
    except Exception:  # noqa: BLE001 - arrays that cannot even be built
        return "objects"
    return {"c": "complex numbers", "U": "text", "S": "text", "O": "objects", "V": "objects"}.get(kind)


def _whole(expected: object) -> bool:
    """Whether ``expected`` is a whole-number answer (an int or an integer array), compared exactly."""
    try:
        return not isinstance(expected, bool) and np.asarray(expected).dtype.kind in "iu"
    except Exception:  # noqa: BLE001
        return False


def _names_used(function: Callable) -> set[str]:
    """The global and attribute names a function's code (and the functions defined inside it) refers to, and
    its own name: ``answer = conv2d_loop`` and ``def f(...): return ops.conv2d(...)`` both show ``conv2d...``."""
    code = getattr(function, "__code__", None)
    if code is None:
        return {getattr(function, "__name__", "")}
    names, stack = {function.__name__, code.co_name}, [code]
    while stack:
        current = stack.pop()
        names.update(current.co_names)
        stack.extend(c for c in current.co_consts if hasattr(c, "co_names"))
    found = getattr(function, "__globals__", {})  # ``c = ops.conv2d`` earlier, then ``c(...)``: conv2d
    names.update(getattr(found.get(name), "__name__", "") for name in list(names) if callable(found.get(name)))
    return names - {""}


def choice(key: str, title: str, question: str, options: dict[str, str], right: str, reasons: dict[str, str],
           hint: str | tuple[str, ...], explanation: str) -> Exercise:
    """A conceptual question with lettered options: the right letter passes with ``explanation``; each wrong
    letter gets its own reason (``reasons[letter]``). The learner answers with the letter ("b", "(b)", "B")."""
    if set(reasons) | {right} != set(options) or right in reasons:
        raise ValueError(f"{key}: expected one reason for every wrong option of {sorted(options)}")
    import re

    def letter(answer: object) -> str | None:
        found = re.fullmatch(r"\W*([a-z])\W*", str(answer).strip().lower()) if isinstance(answer, str) else None
        return found.group(1) if found else None

    def check(answer: object) -> tuple[bool, str]:
        if letter(answer) == right:
            return True, explanation
        if letter(answer) is None:
            return False, f"answer with one letter as a string, one of {', '.join(repr(k) for k in options)}"
        return False, "that is not it; q.hint() gives a hint"

    listed = "; ".join(f"({k}) {text}" for k, text in options.items())
    mistakes = tuple(Mistake(f"chose {k}", k, f"({k}) {reason}", matches=lambda a, k=k: letter(a) == k)
                     for k, reason in reasons.items())
    return Exercise(key, title, f"{question} {listed}. Answer with a letter, as a string.", hint,
                    f'answer = "{right}"', mistakes=mistakes, check_answer=check)


_ARTICLES = {"a", "an", "the"}


def words(text: object) -> str:
    """A learner's words, normalised for comparing: lower case, punctuation and articles dropped, plurals made
    singular ("The Support Vector Machines!" -> "support vector machine")."""
    import re

    kept = []
    for word in re.findall(r"[a-z0-9]+", str(text).lower()):
        if word in _ARTICLES:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        kept.append(word)
    return " ".join(kept)


def _same(answer: object, expected: object, tolerance: float) -> bool:
    if isinstance(expected, str):
        return isinstance(answer, str) and words(answer) == words(expected)
    if _not_a_number(answer) is not None:
        return False
    try:
        a, e = np.asarray(answer, dtype=float), np.asarray(expected, dtype=float)
    except (TypeError, ValueError):
        return False
    if a.shape != e.shape:
        return False
    if _whole(expected):
        return bool(np.array_equal(a, e))
    return bool(np.allclose(a, e, rtol=tolerance, atol=tolerance))


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
    hint_text: str | tuple[str, ...]
    solution_code: str
    expected: object = None
    reference: Callable | None = None
    cases: Callable[[], Sequence[tuple]] | None = None
    mistakes: tuple[Mistake, ...] = ()
    tolerance: float = 1e-6
    right: str = ""                   # said when the answer is right
    check_answer: Callable[[object], tuple[bool, str]] | None = None   # a custom check (answers found by search)
    time_limit: float = TIME_LIMIT_S  # seconds for a learner's function over all the hidden cases
    forbidden: tuple[str, ...] = ()   # names a learner's function may not use (the notebook's or package's own)

    @property
    def is_function(self) -> bool:
        """Whether the answer is a function, run on hidden cases."""
        return self.reference is not None

    def _outputs(self, function: Callable, cases: Sequence[tuple] | None = None) -> list:
        """``function`` on a fresh copy of every hidden case (it may change its arguments: nothing else sees it);
        NumPy's overflow and invalid-value warnings are silenced (a result that is not finite is the message)."""
        with np.errstate(all="ignore"):
            return [function(*copy.deepcopy(args)) for args in (self.cases() if cases is None else cases)]

    def _reference_outputs(self, cases: Sequence[tuple]) -> list:
        with _pristine():
            return self._outputs(self.reference, cases)

    def _function_feedback(self, answer: object) -> Feedback:
        if not callable(answer):
            return Feedback(False, f"expected a function (def ...), got {type(answer).__name__}")
        used = sorted(set(self.forbidden) & _names_used(answer))
        if used:
            return Feedback(False, f"your function uses {', '.join(used)}, which computes the answer already: "
                                   "write it yourself")
        cases = self.cases()
        want = self._reference_outputs(cases)  # first: the learner's function cannot change what it sees
        try:
            with _time_limit(self.time_limit):
                got = self._outputs(answer, cases)
        except _TimeUp:
            return Feedback(False, f"your function did not finish the {len(cases)} hidden cases within "
                                   f"{self.time_limit:g} s and was stopped (an endless loop?)")
        except Exception as exc:  # noqa: BLE001 - the learner's function raised: say which error
            return Feedback(False, f"your function raised {type(exc).__name__}: {exc}")
        if all(g is None for g in got):
            return Feedback(False, "your function returns None: write its body and return the result "
                                   "(q.hint() helps, q.solution() shows one)", attempted=False)
        for k, g in enumerate(got):
            kind = _not_a_number(g)
            if kind is not None and _not_a_number(want[k]) is None:
                return Feedback(False, f"hidden case {k + 1}: your function returned {kind}; expected real numbers")
        if all(_same(g, w, self.tolerance) for g, w in zip(got, want, strict=True)):
            return Feedback(True, self.right or f"your function agrees with the reference on {len(want)} hidden cases")
        for mistake in self.mistakes:
            if mistake.matches is not None and mistake.matches(answer):
                return Feedback(False, mistake.message, mistake.name)
            if callable(mistake.example):
                with _pristine():
                    wrong = self._outputs(mistake.example, cases)
                if all(_same(g, w, self.tolerance) for g, w in zip(got, wrong, strict=True)):
                    return Feedback(False, mistake.message, mistake.name)
        for k, (g, w, args) in enumerate(zip(got, want, cases, strict=True)):
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
        """Check ``answer``: print the feedback; remember a solved exercise in the user's data folder.

        In solutions mode (``MNISTLAB_SOLUTIONS=1``) an answer that is not right raises
        :class:`ExerciseFailed`.
        """
        result = self.feedback(answer)
        if result.correct:
            record_solved(self.key)
        elif os.environ.get(SOLUTIONS_ENV) == "1":
            raise ExerciseFailed(f"exercise {self.key} ({self.title}): {result}")
        print(f"{self.key} {self.title}: {result}")
        return _Printed(result.correct, result.message, result.mistake, result.attempted)

    @property
    def hints(self) -> tuple[str, ...]:
        """The hints, from the first nudge to the last step before the solution."""
        return (self.hint_text,) if isinstance(self.hint_text, str) else tuple(self.hint_text)

    def hint(self) -> None:
        """Print the next hint: the first on the first call, then one more step each call (the last repeats)."""
        steps = self.hints
        given = _HINTS_GIVEN.get(self.key, 0)
        step = min(given, len(steps) - 1)
        _HINTS_GIVEN[self.key] = given + 1
        more = (f" (hint {step + 1} of {len(steps)}; q.hint() again for the next)" if step + 1 < len(steps)
                else (f" (hint {step + 1} of {len(steps)}; q.solution() shows a solution)" if len(steps) > 1 else ""))
        print(f"Hint ({self.key}){more}: {steps[step]}")

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


#: How many hints each exercise has given in this session (the next :meth:`Exercise.hint` gives one more step).
_HINTS_GIVEN: dict[str, int] = {}


def solved() -> dict[str, str]:
    """The solved exercises: key -> when it was first solved (kept in the user's data folder)."""
    from mnistlab.exercises.record import solved as kept

    return kept()


def record_solved(key: str) -> None:
    """Remember that exercise ``key`` is solved (see :mod:`mnistlab.exercises.record`)."""
    from mnistlab.exercises.record import record_solved as keep

    keep(key)
