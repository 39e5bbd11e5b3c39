"""`mnistlab site`: the course's website, built from the notebooks' stored outputs (the browser checks it in
tests/e2e/test_site_browser.py)."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
from notebook_files import write_notebook

from mnistlab.cli import main
from mnistlab.exercises import all_exercises, exercise
from mnistlab.site import (
    WIDGET_MIMES,
    build_site,
    front_page,
    learners_page,
    link_targets,
    readme_sections,
    rewrite_links,
    strip_widgets,
    unsolve_exercises,
)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
README = """# course

Intro, see [the start](#start).

## Start

```bash
## not a heading: inside a fence
pip install -e .
```

## Test

pytest

## The notebooks

| [00](notebooks/00_data.ipynb) |
"""


# --- the command ---------------------------------------------------------------------------------------------

def test_help_exits_0():
    out = subprocess.run([sys.executable, "-m", "mnistlab.cli", "site", "--help"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "--notebooks" in out.stdout and "--out" in out.stdout


def test_unreadable_notebook_is_one_line_naming_it(tmp_path, capsys):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    write_notebook(notebooks / "00_fine.ipynb", "print(1)")
    (notebooks / "01_broken.ipynb").write_text('{"cells": [')
    assert main(["site", "--notebooks", str(notebooks), "--out", str(tmp_path / "site")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "01_broken.ipynb: not a readable notebook" in err
    assert not (tmp_path / "site").exists()


def test_refuses_an_out_folder_that_is_not_a_site(tmp_path, capsys):
    (tmp_path / "mine.txt").write_text("keep me")
    assert main(["site", "--notebooks", str(ROOT / "notebooks"), "--out", str(tmp_path)]) == 2
    assert "holds files that are not a site" in capsys.readouterr().err
    assert (tmp_path / "mine.txt").read_text() == "keep me"


# --- the pure parts ------------------------------------------------------------------------------------------

def test_strip_widgets_keeps_the_static_view():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("explorer")])
    nb.metadata["widgets"] = {WIDGET_MIMES[1]: {"state": {"x": "megabytes"}}}
    nb.cells[0].outputs = [
        nbformat.v4.new_output("execute_result", {WIDGET_MIMES[0]: {"model_id": "x"}, "text/plain": "VBox(...)"}),
        nbformat.v4.new_output("display_data", {"image/png": "iVBOR", "text/plain": "<Figure>"}),
    ]
    assert strip_widgets(nb) == 1
    assert "widgets" not in nb.metadata
    assert [list(out.data) for out in nb.cells[0].outputs] == [["image/png", "text/plain"]]


def test_a_solved_exercise_is_shown_unsolved():
    key = next(k for k, ex in all_exercises().items() if ex.is_function)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(exercise(key).cell(solved=True)),
                                         nbformat.v4.new_code_cell(exercise(key).cell())])
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="right!")]
    assert unsolve_exercises(nb) == [key]
    assert nb.cells[0].source == nb.cells[1].source == exercise(key).cell()
    assert nb.cells[0].outputs == []


def test_readme_is_split_into_front_page_and_setup():
    assert list(readme_sections(README)) == ["", "Start", "Test", "The notebooks"]
    front, setup = front_page(README), learners_page(README)
    assert "Intro" in front and "notebooks/00_data.ipynb" in front
    assert "pip install" not in front and "pytest" not in front
    assert setup.startswith("# mnistlab for learners: set up\n") and "## not a heading" in setup


def test_readme_without_start_is_a_clear_error():
    with pytest.raises(ValueError, match="README.md: no '## Start' section"):
        front_page("# course\n\n## Other\n")


def test_links():
    text = "[a](01_convolution.ipynb) ![b](img/x.png) [c](https://x.org) [d](#here) [e](../README.md#start) " \
           '<img src="y.png"> [f](mailto:a@b.c)'
    assert link_targets(text) == ["01_convolution.ipynb", "img/x.png", "../README.md", "y.png"]
    moved = {"README.md": "index.md", "README.md#test": "learners.md"}
    assert rewrite_links(text, "notebooks/08.ipynb", moved) == text.replace("../README.md#", "../index.md#")
    assert rewrite_links("[t](../README.md#test)", "notebooks/08.ipynb", moved) == "[t](../learners.md)"
    assert rewrite_links("[r](README.md)", "index.md", moved) == "[r](index.md)"
    assert rewrite_links("[r](../README.md)", "docs/teachers.md", moved) == "[r](../index.md)"


# --- the site, built once -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return build_site(ROOT / "notebooks", tmp_path_factory.mktemp("site") / "site", log=lambda s: None)


def _text(page: Path) -> str:
    """A page's text as a reader sees it: tags dropped, entities decoded, white space collapsed."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page.read_text(encoding="utf-8"), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", body)).split())


def test_builds_every_page_without_warnings(site):
    assert site.warnings == []
    names = [p.relative_to(ROOT).with_suffix("").as_posix() for p in NOTEBOOKS]
    assert site.pages[:2] == ["index", "learners"] and site.pages[2:2 + len(names)] == names
    assert {"docs/teachers", "docs/developers"} <= set(site.pages)
    for name in [*site.pages, "search"]:
        assert (site.out / f"{name}.html").is_file(), name
    assert (site.out / "searchindex.js").is_file()
    assert site.seconds < 60
    assert site.size_bytes < 15e6, f"{site.size_bytes / 1e6:.1f} MB"


def test_pages_hold_no_widget_state_and_load_nothing_from_the_web(site):
    for page in site.out.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert not any(mime in text for mime in WIDGET_MIMES), page
        loaded = re.findall(r"<(?:script|link|img)\b[^>]*\b(?:src|href)=\"([^\"]+)\"", text)
        assert not [url for url in loaded if re.match(r"(https?:)?//", url)], page


def test_every_stored_figure_is_on_its_page(site):
    """Each notebook's PNG outputs (its figures, and each explorer's view) are images of its page."""
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        pngs = sum("image/png" in out.get("data", {}) for cell in cells for out in cell.get("outputs", []))
        page = site.out / "notebooks" / f"{path.stem}.html"
        images = re.findall(r"<img\b[^>]*\bsrc=\"([^\"]+)\"", page.read_text(encoding="utf-8"))
        assert len(images) >= pngs, f"{path.name}: {len(images)} images for {pngs} stored figures"
        for src in images:
            assert (page.parent / unquote(src)).is_file(), f"{path.name}: {src}"


def test_local_links_resolve(site):
    for page in site.out.rglob("*.html"):
        for href in re.findall(r"<a\b[^>]*\bhref=\"([^\"]+)\"", page.read_text(encoding="utf-8")):
            target = urlsplit(html.unescape(href))
            if target.scheme or target.netloc or not target.path:
                continue
            assert (page.parent / unquote(target.path)).exists(), f"{page.relative_to(site.out)}: {href}"


@pytest.mark.parametrize("key", ["01.2", "06.1", "07.1"])
def test_exercises_show_the_question_and_no_solution(site, key):
    ex = exercise(key)
    assert ex.is_function, f"{key}: pick a function exercise"
    page = _text(next((site.out / "notebooks").glob(f"{key[:2]}_*.html")))
    assert f"Exercise {key}" in page  # the question...
    assert " ".join(ex.template.split()) in page  # ...the unsolved cell...
    lines = ex.solution_code.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("def ")) + 1
    body = lines[start:next(i for i, line in enumerate(lines) if line.startswith("answer ="))]
    assert " ".join(" ".join(body).split()) not in page  # ...never its solution
