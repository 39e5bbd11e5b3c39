"""The order of the tests and, under pytest-xdist, which worker runs what. Loaded by every pytest run from
this folder, whatever paths it is given.

The course (nbval's cells of every notebook, then the solved course, then the browser suite) runs in that
order. Under pytest-xdist (``-n 2``, the default in pyproject.toml; ``-n 0`` runs everything in this
process) the notebooks that share the model cache (04, 05, 07 and 08: the later ones read what the earlier
ones fit and train) are one unit of work, "the course", run in that order on one worker with the solved
course and their browser tests, which are quickest once nbval has filled the cache. Every other notebook is
a unit of its own (its cells share one kernel), and so is each unit test; the browser tests of the notebooks
that read no cache and the suite's own checks are one more ("the browser"). The other worker takes these
one after the other while the course runs: the two workers share the cores.
"""

from __future__ import annotations

import functools
import json
import os
import re
from pathlib import Path

import pytest

from mnistlab.runtime import THREADS_ENV

# A notebook that calls these reads or fills the model cache (``baselines.load_or_compare``, ``training.cached``...).
_CACHE_CALLS = ("load_or_", "training.")
_NOTEBOOK_PARAMETER = re.compile(r"\[([^\]]+\.ipynb)\]")


@functools.cache
def shares_the_cache(notebook: str) -> bool:
    """Whether ``notebook`` (a path from this folder) reads or fills the model cache; a notebook not found here
    is taken to share it (it then runs with the course)."""
    path = Path(__file__).resolve().parent / notebook
    if not path.is_file():
        return True
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return any(call in "".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"
               for call in _CACHE_CALLS)


def unit_of_work(nodeid: str) -> str:
    """The unit of work a test belongs to under pytest-xdist: "the course", "the browser", "notebook NAME" (the
    cells of a notebook that shares no cache) or, for a unit test, its own nodeid."""
    if ".ipynb::" in nodeid:
        notebook = nodeid.split("::", 1)[0]
        return "the course" if shares_the_cache(notebook) else f"notebook {Path(notebook).name}"
    if nodeid.startswith("tests/test_solutions.py::"):
        return "the course"
    if nodeid.startswith("tests/e2e/"):
        named = _NOTEBOOK_PARAMETER.search(nodeid)
        return "the course" if named and shares_the_cache(f"notebooks/{named.group(1)}") else "the browser"
    return nodeid


def share_the_cores(environ: dict = os.environ) -> None:
    """Under pytest-xdist, give each worker its share of the cores (``$MNISTLAB_THREADS``, unless set already): its
    tests and the kernels it starts read it through ``mnistlab.configure``. TensorFlow's threads wait for work
    by spinning: two workers that each run it on every core of a 2-core machine took a third longer, side by
    side, than with one thread each (and alone, one thread trained the report's CNN 6% slower than two)."""
    workers = environ.get("PYTEST_XDIST_WORKER_COUNT")
    if workers and THREADS_ENV not in environ:
        environ[THREADS_ENV] = str(max(1, (os.cpu_count() or 1) // int(workers)))


# Now, not in a pytest_configure hook: tests/conftest.py configures TensorFlow when it is imported, and pytest
# imports it before that hook runs. A worker's environment names the worker count before this file loads.
share_the_cores()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Unit tests and nbval first, then the solved course, then the browser tests (a stable sort)."""
    items.sort(key=lambda item: 2 if item.get_closest_marker("e2e") else 1 if item.get_closest_marker("solutions")
               else 0)


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """Units of work by :func:`unit_of_work`; the largest (the course) goes first (see the module's docstring)."""
    from xdist.scheduler import LoadScopeScheduling

    class CourseScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return unit_of_work(nodeid)

    return CourseScheduling(config, log)
