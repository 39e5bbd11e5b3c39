"""The course as a static website (``mnistlab site``): every notebook with its stored outputs, a front page
and a page each for learners, teachers and developers, built offline by Sphinx with myst-nb and
sphinx-book-theme.

Nothing is executed: a page shows what its notebook stored (figures, tables, the explorers' PNG views).
The small functions here prepare the pages; :func:`build_site` copies them into a temporary source folder,
laid out as the repository is (so that links such as ``../docs/teachers.md`` resolve), and runs Sphinx once.
The notebooks and ``docs/`` are only read. Sphinx is imported by :func:`build_site` alone.
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from mnistlab.course import exercise_key, read_notebook
from mnistlab.errors import MnistlabError

if TYPE_CHECKING:
    from collections.abc import Callable

    from nbformat import NotebookNode
    from sphinx.application import Sphinx

__all__ = ["SiteBuild", "build_site", "front_page", "learners_page", "link_targets", "read_notebook",
           "readme_sections", "rewrite_links", "strip_widgets", "unsolve_exercises"]

#: Output types of ipywidgets: a live widget's view and the whole widget state. Neither means anything on a
#: static page (each explorer stores a PNG of its default view beside it), and the state is megabytes.
WIDGET_MIMES = ("application/vnd.jupyter.widget-view+json", "application/vnd.jupyter.widget-state+json")
#: README.md's section that becomes the learners' page; the front page has the rest, less :data:`LEFT_OUT`.
LEARNERS_SECTION = "Start"
LEFT_OUT = ("Test",)          # running the tests: docs/developers.md says it for developers
DOCS = ("teachers", "developers")
#: Where README.md's content is on the site: the front page, less its setup section (the learners' page).
MOVED = {"README.md": "index.md", f"README.md#{LEARNERS_SECTION.lower()}": "learners.md"}
_LINK = re.compile(r"(!?\[[^\]]*\]\()([^)\s]+)(\))")          # [text](target) and ![alt](target)
_FENCE = re.compile(r"^(```|~~~)")


def strip_widgets(nb: NotebookNode) -> int:
    """Remove the notebook's widget state and its widgets' view outputs, in place; return how many outputs went.

    A widget's output holds only a reference into the state (and a text repr like ``VBox(...)``); on a
    static page it shows nothing, so the whole output goes. The explorers' PNG views stay.
    """
    nb.metadata.pop("widgets", None)
    removed = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = [out for out in cell.get("outputs", []) if not any(m in out.get("data", {}) for m in WIDGET_MIMES)]
        removed += len(cell.get("outputs", [])) - len(kept)
        cell.outputs = kept
    return removed


def unsolve_exercises(nb: NotebookNode) -> list[str]:
    """Put every exercise cell (first line ``# EXERCISE 01.2: ...``) back to its unsolved form, in place, and
    clear the outputs of those that were not; return the keys changed. The site never shows a solution, even
    when built from a solved copy (``mnistlab course --solutions`` writes those)."""
    from mnistlab.exercises import exercise

    changed = []
    for cell in nb.cells:
        key = exercise_key(cell)
        if key is not None:
            try:
                unsolved = exercise(key).cell(solved=False)
            except KeyError as exc:
                raise MnistlabError(f"exercise cell '{cell.source.splitlines()[0]}': {exc.args[0]}") from None
            if cell.source != unsolved:
                cell.source, cell.outputs = unsolved, []
                changed.append(key)
    return changed


def readme_sections(text: str) -> dict[str, str]:
    """README.md's parts by their ``## `` heading (the text before the first one under ``""``); headings inside
    code fences are not headings."""
    sections, title, lines, fenced = {}, "", [], False
    for line in text.splitlines():
        if _FENCE.match(line.strip()):
            fenced = not fenced
        if not fenced and line.startswith("## "):
            sections[title] = "\n".join(lines).strip() + "\n"
            title, lines = line[3:].strip(), []
        lines.append(line)
    sections[title] = "\n".join(lines).strip() + "\n"
    return sections


def _sections(text: str, path: str) -> dict[str, str]:
    sections = readme_sections(text)
    if LEARNERS_SECTION not in sections:
        raise MnistlabError(f"{path}: no '## {LEARNERS_SECTION}' section; the learners' page is made from it")
    return sections


def front_page(readme: str, path: str = "README.md") -> str:
    """The site's front page (MyST markdown) from README.md: its introduction, the notebook table and the rest,
    less the learners' setup (a page of its own) and the tests (for developers). The page tree is added by
    :func:`build_site`."""
    sections = _sections(readme, path)
    return "\n".join(text for title, text in sections.items() if title not in (LEARNERS_SECTION, *LEFT_OUT))


def learners_page(readme: str, path: str = "README.md") -> str:
    """The learners' page (MyST markdown): README.md's ``## Start`` section under a title of its own."""
    start = _sections(readme, path)[LEARNERS_SECTION].split("\n", 1)[1]
    return f"# mnistlab for learners: set up\n{start}"


def link_targets(markdown: str) -> list[str]:
    """The local targets of a markdown text's links and images (``[a](b)``, ``![a](b)``, ``<img src="b">``):
    not web addresses, not ``mailto:``, not fragments of the same page; fragments cut."""
    targets = [m.group(2) for m in _LINK.finditer(markdown)] + re.findall(r"<img[^>]*\ssrc=\"([^\"]+)\"", markdown)
    local = [t.split("#", 1)[0] for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:|#|/", t, re.I)]
    return [t for t in local if t]


def rewrite_links(markdown: str, page: str, moved: dict[str, str]) -> str:
    """``markdown`` of the page at ``page`` (a path from the repository's root) with each link whose target is
    a key of ``moved`` (also a path from the root: ``README.md``, or ``README.md#start`` for one part) pointed
    at its value instead, relative to the page; a fragment is kept. Other links are left as written."""
    folder = PurePosixPath(page).parent

    def retarget(match: re.Match) -> str:
        target = match.group(2)
        path, _, fragment = target.partition("#")
        if not path or re.match(r"^[a-z][a-z0-9+.-]*:", path, re.I):
            return match.group(0)
        resolved = _normalise(folder / path)
        if f"{resolved}#{fragment}" in moved:  # a part of a page that is a page of its own
            resolved, fragment = f"{resolved}#{fragment}", ""
        if resolved not in moved:
            return match.group(0)
        new = os.path.relpath(moved[resolved], folder.as_posix() or ".").replace(os.sep, "/")
        return f"{match.group(1)}{new}{'#' + fragment if fragment else ''}{match.group(3)}"

    return _LINK.sub(retarget, markdown)


def _normalise(path: PurePosixPath) -> str:
    """``docs/../README.md`` as ``README.md``; a path that climbs out of the root keeps its ``..``."""
    return os.path.normpath(path.as_posix()).replace(os.sep, "/")


#: Sphinx's settings (no conf.py): stored outputs only, MyST's ``$$`` math as MathML (:func:`setup`), heading
#: anchors for ``page.md#part`` links, no copies of the sources, and the book theme's navigation without its
#: download button (the notebooks are in the repository) or the top bar (its search is the sidebar's twin).
SPHINX_CONFIG = {
    "project": "mnistlab",
    "author": "The mnistlab authors",
    "html_title": "mnistlab: a CNN course on MNIST",
    "extensions": ["myst_nb", "mnistlab.site"],
    "nb_execution_mode": "off",
    "nb_merge_streams": True,
    "myst_enable_extensions": ["dollarmath"],
    "myst_heading_anchors": 3,
    "html_theme": "sphinx_book_theme",
    "html_theme_options": {"home_page_in_toc": True, "show_toc_level": 2, "navbar_persistent": [],
                           "use_download_button": False, "use_fullscreen_button": False},
    "html_math_renderer": "mathml",
    "html_copy_source": False,
    "html_show_sourcelink": False,
}


@dataclass(frozen=True)
class SiteBuild:
    """What :func:`build_site` made: the folder, its pages in the site's order (Sphinx's names: ``index``,
    ``notebooks/00_data``...), the seconds it took, its size, and Sphinx's warnings (a link that goes nowhere
    is one)."""

    out: Path
    pages: list[str]
    seconds: float
    size_bytes: int
    warnings: list[str]


@dataclass
class _Source:
    """The site's source before it is written: Markdown pages and notebooks by their path from the repository's
    root, where each page's links were written (``README.md`` for the front page), and other files to copy."""

    pages: dict[str, str]
    books: dict[str, object]
    written_at: dict[str, str]
    files: set[str]
    extra_pages: list[str]

    def order(self) -> list[str]:
        """Every page's Sphinx name, in the order of the site's navigation."""
        return ["index", "learners", *(p.removesuffix(".ipynb") for p in self.books),
                *(f"docs/{name}" for name in DOCS), *(p.removesuffix(".md") for p in self.extra_pages)]


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MnistlabError(f"{path}: cannot read {what} ({getattr(exc, 'strerror', None) or exc})") from None


def _toctree(caption: str, pages: list[str]) -> str:
    entries = "\n".join(pages)
    return f"```{{toctree}}\n:hidden:\n:caption: {caption}\n\n{entries}\n```\n"


def _markdown_cells(nb) -> str:
    return "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")


def _collect(paths: list[Path], root: Path) -> _Source:
    """Read every notebook (widgets stripped, exercises unsolved), README.md and ``docs/``, then any Markdown page
    of the repository they link to, page by page, and the other files they link to (images...)."""
    books = {}
    for path in paths:  # every notebook read before anything else
        nb = read_notebook(path)
        strip_widgets(nb)
        try:
            unsolve_exercises(nb)
        except MnistlabError as exc:
            raise MnistlabError(f"{path}: {exc}") from None
        books[path.resolve().relative_to(root).as_posix()] = nb
    readme_path = root / "README.md"
    readme = _read_text(readme_path, "the README the front page is made from")
    source = _Source({"index.md": front_page(readme, str(readme_path)),
                      "learners.md": learners_page(readme, str(readme_path))},
                     books, {"index.md": "README.md", "learners.md": "README.md"}, set(), [])
    for name in DOCS:
        source.pages[f"docs/{name}.md"] = _read_text(root / "docs" / f"{name}.md", f"the {name}' page")
    queue = [*source.pages, *books]
    while queue:
        page = queue.pop(0)
        text = _markdown_cells(books[page]) if page in books else source.pages[page]
        for target in link_targets(text):
            found = _normalise(PurePosixPath(source.written_at.get(page, page)).parent / target)
            if found in MOVED or found in source.pages or found in books or found in source.files \
                    or found.startswith("../") or not (root / found).is_file():
                continue  # a page already, outside the course, or missing (Sphinx warns, the site's tests fail)
            if found.endswith(".md"):
                source.pages[found] = _read_text(root / found, "a page the course links to")
                source.extra_pages.append(found)
                queue.append(found)
            else:
                source.files.add(found)
    return source


def _write(source: _Source, root: Path, src: Path) -> None:
    """The Sphinx source folder: the pages (the front page with the navigation's page tree) and the notebooks,
    their links to README.md pointed at the front page, and the files they link to."""
    import nbformat

    books = [p.removesuffix(".ipynb") for p in source.books]
    tree = [_toctree("Start", ["learners"]), _toctree("The notebooks", books),
            _toctree("Teachers and developers", [f"docs/{name}" for name in DOCS])]
    if source.extra_pages:
        tree.append(_toctree("More", [p.removesuffix(".md") for p in source.extra_pages]))
    for name, text in source.pages.items():
        if name == "index.md":
            text += "\n" + "\n".join(tree)
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text(rewrite_links(text, source.written_at.get(name, name), MOVED), encoding="utf-8")
    for name, nb in source.books.items():
        nb = copy.deepcopy(nb)
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = rewrite_links(cell.source, name, MOVED)
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, src / name)
    for name in source.files:
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / name, src / name)


def _prepare_out(out: Path) -> None:
    """``out`` is new, empty, or an earlier site (replaced); anything else is refused."""
    if out.exists() and not out.is_dir():
        raise MnistlabError(f"--out: {out} is a file; expected a folder for the site")
    if out.is_dir() and any(out.iterdir()) and not (out / ".buildinfo").is_file():
        raise MnistlabError(f"--out: {out} holds files that are not a site built here; name a new or empty folder")


def build_site(notebooks: str | os.PathLike = "notebooks", out: str | os.PathLike = "build/site", *,
               log: Callable[[str], None] = print) -> SiteBuild:
    """Build the course's website into ``out`` from ``notebooks`` (read, never written) and, from the folder
    above it, README.md (the front page and the learners' page) and ``docs/`` (the teachers' and developers'
    pages). Any other Markdown page of the repository they link to (BENCHMARKS.md...) is a page too, and the
    images and other files they link to are copied. Widget state is left out; exercise cells are shown
    unsolved. Returns a :class:`SiteBuild`; bad input raises :class:`MnistlabError` before Sphinx starts.
    """
    from mnistlab.course import find_notebooks

    missing = [name for name in ("sphinx", "myst_nb", "sphinx_book_theme", "latex2mathml") if find_spec(name) is None]
    if missing:
        raise MnistlabError(f"the site is built with Sphinx, myst-nb, sphinx-book-theme and latex2mathml; "
                            f"{', '.join(missing)} not installed (pip install -e '.[course]')")
    start = time.perf_counter()
    notebooks, out = Path(notebooks), Path(out)
    paths = find_notebooks(notebooks)
    if not paths:
        raise MnistlabError(f"{notebooks}: no notebooks (*.ipynb) to build the site from")
    _prepare_out(out)
    root = notebooks.resolve().parent
    source = _collect(paths, root)
    with tempfile.TemporaryDirectory(prefix="mnistlab-site-") as tmp:
        src, html = Path(tmp) / "source", Path(tmp) / "build" / "html"
        _write(source, root, src)
        warnings = _sphinx_apart(src, html, Path(tmp) / "doctrees")
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(html, out)
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    seconds = time.perf_counter() - start
    pages = source.order()
    log(f"site: {len(pages)} pages, {size / 1e6:.1f} MB, built in {seconds:.0f} s; open {out / 'index.html'}")
    return SiteBuild(out, pages, seconds, size, warnings)


def _sphinx_apart(src: Path, html: Path, doctrees: Path) -> list[str]:
    """:func:`_sphinx` in a fresh Python process: Sphinx and docutils register their nodes and directives for the
    whole process, so a second build in one process (a notebook's, a test run's) would warn about the first's."""
    import json
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "mnistlab.site", str(src), str(html), str(doctrees)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise MnistlabError(f"site: Sphinx failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _sphinx(src: Path, html: Path, doctrees: Path) -> list[str]:
    """Run Sphinx's HTML builder on ``src`` into ``html``; return its warnings, one line each."""
    import io

    from sphinx.application import Sphinx
    from sphinx.util.console import nocolor

    nocolor()
    warnings = io.StringIO()
    app = Sphinx(str(src), None, str(html), str(doctrees), "html", confoverrides=copy.deepcopy(SPHINX_CONFIG),
                 status=None, warning=warnings, freshenv=True)
    app.build()
    for source_map in (html / "_static").rglob("*.map"):  # the theme's, for its own developers' debuggers: 3 MB
        source_map.unlink()
    prefix = f"{src}{os.sep}"
    return [line.replace(prefix, "") for line in warnings.getvalue().splitlines() if line.strip()]


def setup(app: Sphinx) -> dict:
    """Sphinx's hook for this module as an extension (:data:`SPHINX_CONFIG` names it): math (``$$...$$`` in the
    notebooks) is written as MathML by latex2mathml when the site is built. Browsers show MathML natively, so
    the pages load no script from the internet (Sphinx's MathJax would)."""
    from docutils import nodes
    from latex2mathml.converter import convert

    def renderer(display: str):
        def visit(translator, node):
            mathml = convert(node.astext(), display=display)
            if display == "block":  # not Sphinx's div.math, which the theme styles for MathJax
                mathml = f'<div class="mnistlab-math" style="overflow-x: auto; padding: 0.4em 0">{mathml}</div>\n'
            translator.body.append(mathml)
            raise nodes.SkipNode

        return visit, None

    app.add_html_math_renderer("mathml", renderer("inline"), renderer("block"))
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":  # _sphinx_apart's child process: the build, its warnings as one JSON line
    import json
    import sys

    print(json.dumps(_sphinx(*(Path(arg) for arg in sys.argv[1:4]))))
