"""A notebook file of code cells, for the tests that run one (tests/test_course.py, tests/e2e); the course's
notebooks' text, for the tests of the facts they state."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook


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
