"""A notebook file of code cells, for the tests that run one (tests/test_course.py, tests/e2e); the cells a
restarted kernel must run (tests/test_restart.py, tests/e2e); the course's notebooks' text, for the tests of the
facts they state."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from mnistlab.course import fill_solutions


def write_notebook(path: Path, *sources: str) -> Path:
    """Write a notebook with one code cell per source, for the python3 kernel; return its path."""
    nb = new_notebook(cells=[new_code_cell(source) for source in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def markdown_text(*names: str) -> str:
    """The markdown of the course's notebooks ``names`` (file stems, e.g. ``"07_evaluation"``) as one text, each run
    of line breaks and spaces as one space: what a learner reads, for checking the numbers it quotes."""
    cells = [c for name in names
             for c in json.loads((NOTEBOOKS / f"{name}.ipynb").read_text(encoding="utf-8"))["cells"]]
    return " ".join(" ".join("".join(c["source"]).split()) for c in cells if c["cell_type"] == "markdown")


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def shows_a_widget(cell) -> bool:
    """Whether a stored code cell's outputs show a widget (an explorer, the drawing pad)."""
    return any(WIDGET_VIEW in out.get("data", {}) for out in cell.get("outputs", []))


#: Exercises whose solution trains a CNN for about a minute: their cells are left out of the restart cells (their
#: solution imports all it needs itself, and runs in tests/test_exercises.py).
TRAINS_A_CNN = {"05.5"}


def restart_cells(path: Path) -> tuple[nbformat.NotebookNode, list[int]]:
    """The notebook with its exercises solved, and the indices of the cells to run after its first code cell:
    the exercise cells and the cells that show a widget, in order."""
    nb = nbformat.read(path, as_version=4)
    widgets = {i for i, cell in enumerate(nb.cells) if cell.cell_type == "code" and shows_a_widget(cell)}
    slow = {i for i, cell in enumerate(nb.cells)
            if cell.cell_type == "code" and any(f'exercise("{key}")' in cell.source for key in TRAINS_A_CNN)}
    fill_solutions(nb)
    exercises = {i for i, cell in enumerate(nb.cells)
                 if cell.cell_type == "code" and cell.source.startswith("# EXERCISE ")}
    return nb, sorted((widgets | exercises) - slow)


def restart_sources(path: Path) -> list[str]:
    """The sources a restarted kernel runs: the notebook's first code cell, then its :func:`restart_cells`."""
    nb, wanted = restart_cells(path)
    first = next(i for i, cell in enumerate(nb.cells) if cell.cell_type == "code")
    return [nb.cells[i].source for i in [first, *(i for i in wanted if i != first)]]
