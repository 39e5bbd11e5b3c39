"""Stored notebooks: executed top to bottom, no errors and no stderr kept, fixed checks in place."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def code_cells(path: Path) -> list[dict]:
    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


def test_there_are_notebooks_in_course_order():
    names = [p.name for p in NOTEBOOKS]
    assert names and names[0].startswith("00_")
    assert [n[:2] for n in names] == [f"{i:02d}" for i in range(len(names))]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_stored_errors_or_stderr(path):
    for i, cell in enumerate(code_cells(path)):
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", f"{path.name} cell {i}: stored error {out.get('ename')}"
            assert out.get("name") != "stderr", f"{path.name} cell {i}: stored stderr {''.join(out['text'])[:200]!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_executed_top_to_bottom(path):
    counts = [c["execution_count"] for c in code_cells(path) if "".join(c["source"]).strip()]
    assert None not in counts, f"{path.name}: cells never executed"
    assert counts == list(range(1, len(counts) + 1)), f"{path.name}: not run top to bottom in one fresh kernel"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_starts_with_configure_and_checks_its_facts(path):
    cells = code_cells(path)
    assert "mnistlab.configure(" in "".join(cells[0]["source"]), f"{path.name}: first code cell must configure"
    assert any("# NBVAL_CHECK_OUTPUT" in "".join(c["source"]) for c in cells), f"{path.name}: nothing checked"
