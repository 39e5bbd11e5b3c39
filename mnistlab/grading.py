"""Grading a class's notebooks: each submission runs in a fresh kernel and scores what its code does.

A submitted notebook's stored outputs are never read: its outputs are cleared, and before each exercise cell
the grader inserts a cell that forgets any earlier ``answer``, after it a cell that checks the learner's
``answer`` with the exercise's own check and prints the verdict behind a token made for that cell only. A
notebook with pasted-in "Correct" outputs scores what its code does; an exercise whose cell was deleted or
never assigned an ``answer`` scores 0. A cell that raises does not stop the notebook (the later exercises are
still graded): the first error is reported in its own column. Each notebook has a time limit; the kernels
keep their exercise progress in a folder of their own, never the teacher's. Importing this module imports no
TensorFlow.
"""

from __future__ import annotations

import csv
import os
import re
import secrets
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mnistlab.course import clear_outputs, read_notebook
from mnistlab.errors import MnistlabError

__all__ = ["Grade", "check_writable", "find_submissions", "grade_notebook", "grade_notebooks", "summary",
           "write_grades"]

_EXERCISE = re.compile(r"""\bexercise\(\s*["'](\d\d\.\d+)["']\s*\)""")
_VERDICT = re.compile(r"^(\w+) (\d\d\.\d+) ([01])$", re.M)


@dataclass
class Grade:
    """One submission: 1 or 0 for each exercise found in it, and the first error that stopped a cell, if any."""

    path: Path
    scores: dict[str, int] = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0

    @property
    def solved(self) -> int:
        """How many of its exercises passed."""
        return sum(self.scores.values())


def find_submissions(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """The notebooks named, and those inside the folders named (recursively, checkpoints skipped), in order."""
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        elif path.is_file():
            if path.suffix != ".ipynb":
                raise MnistlabError(f"{path}: not a notebook (expected a .ipynb file or a folder of them)")
            found.append(path)
        else:
            raise MnistlabError(f"{path}: no such file or folder")
    if not found:
        raise MnistlabError("no notebooks to grade in " + ", ".join(str(p) for p in paths))
    return list(dict.fromkeys(found))


def _exercise_key(source: str) -> str | None:
    match = _EXERCISE.search(source)
    return match.group(1) if match else None


def _instrument(nb) -> dict[str, str]:
    """Clear the outputs, and put a reset before and a check after each exercise cell; return key -> token."""
    import nbformat

    tokens: dict[str, str] = {}
    cells = []
    clear_outputs(nb)
    for cell in nb.cells:
        key = _exercise_key(cell.source) if cell.cell_type == "code" else None
        if key is None or key in tokens:
            cells.append(cell)
            continue
        token = "g" + secrets.token_hex(8)
        tokens[key] = token
        cells.append(nbformat.v4.new_code_cell("answer = ..."))
        cells.append(cell)
        cells.append(nbformat.v4.new_code_cell(
            f"from mnistlab.grading import _verdict as _mnistlab_verdict\n"
            f"_mnistlab_verdict({key!r}, globals().get('answer', ...), {token!r})"))
    nb.cells = cells
    return tokens


def _verdict(key: str, answer: object, token: str) -> None:
    """Run in the learner's kernel after an exercise cell: print ``TOKEN KEY 1`` if ``answer`` passes the check."""
    import contextlib
    import io

    from mnistlab.exercises import exercise

    try:
        with contextlib.redirect_stdout(io.StringIO()):
            right = bool(exercise(key).feedback(answer).correct)
    except Exception:  # noqa: BLE001 - a check that cannot run is a wrong answer
        right = False
    print(f"{token} {key} {int(right)}")


def _read_verdicts(nb, tokens: dict[str, str]) -> dict[str, int]:
    scores = dict.fromkeys(tokens, 0)
    wanted = {token: key for key, token in tokens.items()}
    for cell in nb.cells:
        if cell.cell_type != "code" or "_mnistlab_verdict(" not in cell.source:
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stdout":
                for token, key, right in _VERDICT.findall(out.get("text", "")):
                    if wanted.get(token) == key:
                        scores[key] = int(right)
    return scores


def _first_error(nb) -> str:
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if out.get("output_type") == "error":
                return f"{out.get('ename', 'Error')}: {out.get('evalue', '')}".strip()[:300]
    return ""


def grade_notebook(path: Path, *, time_limit: float = 600, kernel_name: str = "python3") -> Grade:
    """Run one submission in a fresh kernel, in its own folder, within ``time_limit`` seconds, and grade it."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    start = time.perf_counter()
    try:
        nb = read_notebook(path)
    except MnistlabError as exc:  # an unreadable file is that submission's error
        return Grade(path, error=str(exc)[:300])
    tokens = _instrument(nb)
    deadline = time.monotonic() + time_limit
    with tempfile.TemporaryDirectory(prefix="mnistlab-grade-") as data:
        client = NotebookClient(nb, timeout=int(time_limit), kernel_name=kernel_name, allow_errors=True,
                                extra_arguments=["--log-level=ERROR"],
                                resources={"metadata": {"path": str(path.parent.resolve())}})
        client.timeout_func = lambda cell: max(1, int(deadline - time.monotonic()))
        env = {**os.environ, "MNISTLAB_DATA": data, "TQDM_DISABLE": "1", "MNISTLAB_SOLUTIONS": "0"}
        error = ""
        try:
            client.execute(env=env)
        except CellTimeoutError:
            error = f"stopped at the time limit of {time_limit:g} s"
        except DeadKernelError as exc:
            error = f"the kernel died: {exc}"[:300]
        except Exception as exc:  # noqa: BLE001 - a kernel that cannot start: that submission's error
            error = f"{type(exc).__name__}: {exc}"[:300]
    return Grade(path, _read_verdicts(nb, tokens), error or _first_error(nb), time.perf_counter() - start)


def grade_notebooks(paths: Sequence[Path], *, time_limit: float = 600, progress: bool = True,
                    grade: Callable[..., Grade] = grade_notebook) -> list[Grade]:
    """Grade each submission in turn (a progress bar over the notebooks)."""
    from mnistlab.runtime import progress_bar

    grades = []
    for path in progress_bar(paths, enabled=progress, unit="notebook", leave=False):
        grades.append(grade(path, time_limit=time_limit))
    return grades


def _course_order(keys: Iterable[str]) -> list[str]:
    return sorted(set(keys), key=lambda k: tuple(int(part) for part in k.split(".")))


def _staged(out: Path) -> Path:
    """Where the grades are written first, then moved over ``out`` in one step."""
    return out.with_name(f".{out.name}.partial")


def check_writable(out: Path) -> None:
    """Raise :class:`MnistlabError` unless the grades' CSV ``out`` can be written (its folder is made if need be): said
    before any notebook is graded, so that a class's grading is not lost at the end."""
    staged = _staged(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(staged, "w", encoding="utf-8"):
            pass
        staged.unlink()
    except OSError as exc:
        raise MnistlabError(f"--out: cannot write {out} ({exc.strerror or exc})") from None


def write_grades(grades: Sequence[Grade], out: Path) -> list[str]:
    """Write one row per submission to ``out`` (CSV): the file, 1 or 0 per exercise key, then the error; return
    the exercise columns. Every exercise of the notebooks graded has a column (0 where a submission lacks it)."""
    from mnistlab.exercises import all_exercises

    numbers = {key.split(".")[0] for g in grades for key in g.scores}
    keys = _course_order([k for k in all_exercises() if k.split(".")[0] in numbers] +
                         [k for g in grades for k in g.scores])
    staged = _staged(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(staged, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["file", *keys, "error"])
            for g in grades:
                writer.writerow([str(g.path), *(g.scores.get(k, 0) for k in keys), g.error])
        staged.replace(out)
    except OSError as exc:
        raise MnistlabError(f"{out}: cannot write the grades ({exc.strerror or exc})") from None
    return keys


def summary(grades: Sequence[Grade], keys: Sequence[str]) -> list[str]:
    """Lines for the end of a grading run: each exercise's solvers, the mean score, the errors."""
    n = len(grades)
    lines = [f"graded {n} notebook(s) on {len(keys)} exercise(s)"]
    for key in keys:
        lines.append(f"  {key}: solved by {sum(g.scores.get(key, 0) for g in grades)} of {n}")
    if keys:
        mean = sum(g.solved for g in grades) / n
        lines.append(f"mean score {mean:.1f} of {len(keys)}")
    stopped = [g for g in grades if g.error]
    if stopped:
        lines.append(f"{len(stopped)} notebook(s) had an error (see the error column): "
                     + ", ".join(g.path.name for g in stopped[:5]) + (" ..." if len(stopped) > 5 else ""))
    return lines
