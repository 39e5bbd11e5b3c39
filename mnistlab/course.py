"""Run the course headless: execute every notebook in order, each in a fresh kernel."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mnistlab.errors import MnistlabError

if TYPE_CHECKING:
    from nbformat import NotebookNode

__all__ = ["NotebookCopy", "NotebookRun", "clear_outputs", "copy_course", "exercise_key", "fill_solutions",
           "find_notebooks", "read_notebook", "run_course", "run_notebook"]


@dataclass(frozen=True)
class NotebookRun:
    """The outcome of one notebook: where it went, how long it took, the error if it failed."""

    source: Path
    executed: Path | None
    html: Path | None
    seconds: float
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether every cell ran without an error."""
        return self.error is None


@dataclass(frozen=True)
class NotebookCopy:
    """One notebook of a learner's copy: where it is, and whether it was written (``False``: a file of that name
    was already there and was kept)."""

    path: Path
    written: bool


def read_notebook(path: str | os.PathLike) -> NotebookNode:
    """A notebook (nbformat 4) from ``path``; a :class:`MnistlabError` naming the file if it cannot be read (the one
    reader of the course's commands: ``course``, ``copy``, ``site``, ``grade``)."""
    import nbformat

    try:
        return nbformat.read(path, as_version=4)
    except Exception as exc:  # noqa: BLE001 - not JSON, not a notebook, not readable: said in one line
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise MnistlabError(f"{path}: not a readable notebook ({type(exc).__name__}: {first})") from None


def find_notebooks(folder: str | os.PathLike) -> list[Path]:
    """The notebooks of a folder in course order (by name: ``00_...``, ``01_...``), checkpoints skipped."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MnistlabError(f"{folder}: no such folder of notebooks (run from the course's root, "
                                "or pass --notebooks)")
    return sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))


def _error_summary(exc: Exception) -> str:
    name = getattr(exc, "ename", type(exc).__name__)
    value = getattr(exc, "evalue", str(exc))
    return f"{name}: {value}".strip()


_EXERCISE_MARK = "# EXERCISE "


def exercise_key(cell: NotebookNode) -> str | None:
    """The key of an exercise cell (a code cell whose first line is ``# EXERCISE 01.2: ...``), else ``None``."""
    if cell.cell_type != "code" or not cell.source.startswith(_EXERCISE_MARK):
        return None
    return cell.source[len(_EXERCISE_MARK):].split(":")[0].split()[0]


def fill_solutions(nb: NotebookNode) -> list[str]:
    """Replace each exercise cell of a notebook (its first line ``# EXERCISE 01.2...``) by the exercise's
    solution followed by its check; return the keys filled, in order."""
    from mnistlab.exercises import exercise

    filled = []
    for cell in nb.cells:
        key = exercise_key(cell)
        if key is not None:
            cell.source = exercise(key).cell(solved=True)
            filled.append(key)
    return filled


def run_notebook(source: Path, out_dir: Path | None, *, timeout: int = 1800, html: bool = True,
                 kernel_name: str = "python3", solutions: bool = False) -> NotebookRun:
    """Execute one notebook in a fresh kernel started in its own folder.

    The executed copy (and an HTML rendering) go to ``out_dir``; with ``out_dir=None`` the source
    itself is overwritten with its outputs. A failing cell does not raise: the result carries it.
    Progress bars inside the notebook are off (``TQDM_DISABLE=1`` unless set): run headless, no one
    sees them, and their timings would change the stored outputs on every run. With ``solutions``
    every exercise cell is filled with its solution (:func:`fill_solutions`) and a check that is not
    right fails the notebook (``MNISTLAB_SOLUTIONS=1``); the source is never overwritten then.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    from mnistlab.exercises.core import SOLUTIONS_ENV

    if solutions and out_dir is None:
        raise MnistlabError("solutions: the notebooks filled with their solutions are written to a build folder, "
                            "never over the sources (drop --in-place)")
    start = time.perf_counter()
    try:
        nb = read_notebook(source)
        if solutions:
            fill_solutions(nb)
    except Exception as exc:  # noqa: BLE001 - not JSON, not a notebook, an unknown exercise: this notebook fails
        said = str(exc) if isinstance(exc, MnistlabError) else f"{type(exc).__name__}: {exc}"
        return NotebookRun(source, None, None, time.perf_counter() - start, said[:300])
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel_name, extra_arguments=["--log-level=ERROR"],
                            resources={"metadata": {"path": str(source.parent)}})
    error = None
    env = {**os.environ, "TQDM_DISABLE": os.environ.get("TQDM_DISABLE", "1")}
    env[SOLUTIONS_ENV] = "1" if solutions else "0"
    try:
        client.execute(env=env)
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
        error = _error_summary(exc)
    seconds = time.perf_counter() - start
    target = source if out_dir is None else out_dir / source.name
    html_path = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
        if html:
            from nbconvert import HTMLExporter

            body, _ = HTMLExporter().from_notebook_node(nb)
            html_path = (out_dir if out_dir is not None else source.parent) / f"{source.stem}.html"
            html_path.write_text(body, encoding="utf-8")
    except OSError as exc:
        return NotebookRun(source, None, None, seconds, error or f"ran, but cannot write {exc.filename or target} "
                                                                  f"({exc.strerror or exc})")
    return NotebookRun(source, target, html_path, seconds, error)


#: The file that marks a folder as a build of :func:`run_course`, whose copies a later run may replace.
BUILD_MARK = ".mnistlab-course"


def _claim_build(out_dir: Path) -> None:
    """Refuse a build folder that holds anything but an earlier build (a learner's own notebooks, say), since a run
    replaces the copies it writes; mark a new or empty one as a build. A folder that cannot be made is left to
    :func:`run_notebook`, which says so for each notebook."""
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / BUILD_MARK).is_file():
        raise MnistlabError(f"build: {out_dir} holds files that are not an earlier build of `mnistlab course`, which "
                            "would replace notebooks of the same name; name a new or empty folder")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / BUILD_MARK).write_text("executed copies written by `mnistlab course`; a later run replaces them\n",
                                          encoding="utf-8")
    except OSError:
        pass


def run_course(notebooks: str | os.PathLike = "notebooks", build: str | os.PathLike | None = "build/course", *,
               select: list[str] | None = None, timeout: int = 1800, html: bool = True, fail_fast: bool = False,
               progress: bool = True, log: Callable[[str], None] = print, solutions: bool = False
               ) -> list[NotebookRun]:
    """Execute the course's notebooks in order, each in a fresh kernel, and log each one's time.

    Executed copies and HTML go to ``build``, a new or empty folder or an earlier build (anything else is refused:
    a run replaces its copies); ``build=None`` overwrites the sources in place (the command line asks for
    ``--in-place`` explicitly). ``select`` keeps notebooks whose name contains
    one of its strings. ``solutions`` runs each notebook with its exercises solved (see
    :func:`run_notebook`). Returns one :class:`NotebookRun` per notebook.
    """
    from mnistlab.runtime import progress_bar

    paths = find_notebooks(notebooks)
    if select:
        paths = [p for p in paths if any(s in p.name for s in select)]
    if not paths:
        raise MnistlabError(f"{notebooks}: no notebooks to run" + (f" matching {select}" if select else ""))
    out_dir = Path(build) if build is not None else None
    if out_dir is not None and out_dir.resolve() == Path(notebooks).resolve():
        raise MnistlabError(f"build: {out_dir} is the notebooks folder itself; pass --in-place to overwrite sources")
    if out_dir is not None:
        _claim_build(out_dir)
    results = []
    bar = progress_bar(paths, enabled=progress, unit="notebook", leave=False)
    for path in bar:
        bar.set_description(path.name)
        result = run_notebook(path, out_dir, timeout=timeout, html=html, solutions=solutions)
        results.append(result)
        mark = "ok  " if result.ok else "FAIL"
        line = f"{mark} {path.name:40s} {result.seconds:7.1f} s" + ("" if result.ok else f"  {result.error}")
        (bar.write if progress else log)(line)  # beside a bar, written above it
        if fail_fast and not result.ok:
            break
    bar.close()
    failed = sum(not r.ok for r in results)
    total = sum(r.seconds for r in results)
    where = f"executed copies and HTML in {out_dir}" if out_dir is not None else "sources updated in place"
    log(f"{len(results) - failed} passed, {failed} failed in {total:.1f} s; {where}")
    return results


def clear_outputs(nb: NotebookNode) -> None:
    """Clear every code cell's outputs and execution count, and the notebook's widget state, in place; sources and
    cell metadata (nbval's tags) are kept."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None


def _relink(nb, source: Path, dest: Path, copied: set[str]) -> None:
    """Point each markdown link of a notebook to one of the course's files that is not copied (``../README.md``) at
    that file from ``dest``; links between the copied notebooks, web addresses and fragments are left as written."""
    from mnistlab.site import link_targets, rewrite_links

    page = (dest / "page.ipynb").as_posix()
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        moved = {}
        for target in link_targets(cell.source):
            there = (source / target).resolve()
            if not there.exists() or (there.parent == source.resolve() and there.name in copied):
                continue  # not a file (a code span that looks like a link), or a notebook copied beside it
            moved[os.path.normpath((dest / target).as_posix())] = there.as_posix()
        if moved:
            cell.source = rewrite_links(cell.source, page, moved)


def copy_course(notebooks: str | os.PathLike = "notebooks", dest: str | os.PathLike = "my-course"
                ) -> list[NotebookCopy]:
    """Copy the course's notebooks into ``dest``, a learner's own folder to work in: outputs cleared (so that no
    exercise is answered on the screen before it is met), exercise cells unsolved, widget state dropped, links to
    the course's other files pointed at them from ``dest``. A notebook already in ``dest`` is kept as it is,
    never overwritten (delete it for a fresh copy). Returns one :class:`NotebookCopy` per notebook, in order."""
    import nbformat

    from mnistlab.site import unsolve_exercises

    source, dest = Path(notebooks), Path(dest)
    paths = find_notebooks(source)
    if not paths:
        raise MnistlabError(f"{source}: no notebooks to copy")
    if dest.exists() and not dest.is_dir():
        raise MnistlabError(f"{dest}: is a file; expected a folder for your copy of the notebooks")
    if dest.resolve() == source.resolve():
        raise MnistlabError(f"{dest}: is the course's own folder of notebooks; choose another folder for your copy")
    copies, copied = [], {p.name for p in paths}
    for path in paths:
        target = dest / path.name
        if target.exists():
            copies.append(NotebookCopy(target, False))
            continue
        nb = read_notebook(path)
        clear_outputs(nb)
        unsolve_exercises(nb)
        _relink(nb, source, dest.resolve(), copied)
        try:
            dest.mkdir(parents=True, exist_ok=True)
            with open(target, "x", encoding="utf-8") as f:  # "x": a file that appeared meanwhile is not replaced
                nbformat.write(nb, f)
        except OSError as exc:
            raise MnistlabError(f"{exc.filename or target}: cannot write ({exc.strerror or exc})") from None
        copies.append(NotebookCopy(target, True))
    return copies
