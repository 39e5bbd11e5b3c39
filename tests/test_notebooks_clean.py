"""Stored notebooks: executed top to bottom, no errors and no stderr kept, fixed checks in place."""

from __future__ import annotations

import json
import re
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
    assert any("nbval-check-output" in c["metadata"].get("tags", []) for c in cells), f"{path.name}: nothing checked"


NBVAL_TAGS = {"nbval-check-output", "nbval-ignore-output", "nbval-skip", "raises-exception"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_learner_cells_hold_only_teaching(path):
    """nbval's markers are cell tags, not comments; the course's own asserts live in tests/; no machine talk."""
    for i, cell in enumerate(code_cells(path)):
        source = "".join(cell["source"])
        assert not re.search(r"^\s*#\s*NBVAL_", source, re.M), f"{path.name} cell {i}: an nbval comment marker"
        assert not re.search(r"^\s*assert\b", source, re.M), f"{path.name} cell {i}: an assert (tests go in tests/)"
        unknown = {t for t in cell["metadata"].get("tags", []) if t.startswith(("nbval", "raises"))} - NBVAL_TAGS
        assert not unknown, f"{path.name} cell {i}: tags nbval does not read: {unknown}"
    found = HOST_WORDS.findall(readable_text(path))
    assert not found, f"{path.name}: machine or host words in text or outputs: {sorted(set(found))}"


def readable_text(path: Path) -> str:
    """A notebook's cell sources and the text of its outputs: what a reader sees, without the images' base64, where
    any short word can occur by chance."""
    parts = []
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        parts.append("".join(cell["source"]))
        for output in cell.get("outputs", []):
            parts.append("".join(output.get("text", "")))
            data = output.get("data", {})
            parts += ["".join(value) for kind, value in data.items() if kind.startswith("text/")]
    return "\n".join(parts)


HOST_WORDS = re.compile(r"EPYC|Xeon|GFLOP|this machine|this host|other CPUs|BENCHMARKS\.md's machine|"
                        r"machine of BENCHMARKS|\bCI\b|on \d+ cores?|Python 3\.\d+\.\d+")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_opens_with_what_it_teaches_and_ends_with_a_link_on(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    first, last = "".join(cells[0]["source"]), "".join(cells[-1]["source"])
    assert cells[0]["cell_type"] == "markdown" and "what you'll learn" in first.lower(), path.name
    later = NOTEBOOKS[NOTEBOOKS.index(path) + 1:]
    wanted = later[0].name if later else "../README.md"
    assert cells[-1]["cell_type"] == "markdown" and f"]({wanted})" in last, f"{path.name}: no link to {wanted}"
