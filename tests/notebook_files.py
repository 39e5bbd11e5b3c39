"""A notebook file of code cells, for the tests that run one (tests/test_course.py, tests/e2e)."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook


def write_notebook(path: Path, *sources: str) -> Path:
    """Write a notebook with one code cell per source, for the python3 kernel; return its path."""
    nb = new_notebook(cells=[new_code_cell(source) for source in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path
