"""Restart-safe notebooks: in a fresh kernel, after only a notebook's first code cell, every exercise cell (with its
solution filled in, so a solution that leans on a later cell fails) and every cell that shows a widget runs
without an error. A learner who comes back to a notebook, restarts its kernel and jumps to an exercise or an
explorer is never met by a ``NameError``."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from notebook_files import restart_cells, restart_sources

from mnistlab.exercises.core import SOLUTIONS_ENV

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_every_notebook_has_cells_to_restart_into():
    assert sum(len(restart_cells(path)[1]) for path in NOTEBOOKS) > len(NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_cell_sets_up_every_exercise_and_widget(path):
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    cells = [nbformat.v4.new_code_cell(source) for source in restart_sources(path)]
    trimmed = nbformat.v4.new_notebook(cells=cells, metadata=nb.metadata)
    client = NotebookClient(trimmed, timeout=600, kernel_name="python3", extra_arguments=["--log-level=ERROR"],
                            resources={"metadata": {"path": str(path.parent)}})
    env = {**os.environ, SOLUTIONS_ENV: "1", "TQDM_DISABLE": "1"}
    try:
        client.execute(env=env)
    except CellExecutionError as exc:
        failed = next((cell.source.splitlines()[0] for cell in cells
                       if any(out.get("output_type") == "error" for out in cell.get("outputs", []))), "?")
        pytest.fail(f"{path.name}: after only the first code cell, the cell {failed!r} fails: "
                    f"{exc.ename}: {exc.evalue}", pytrace=False)
