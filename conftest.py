"""The order of the tests and, under pytest-xdist, which worker runs what. Loaded by every pytest run from
this folder, whatever paths it is given.

The course (nbval's cells of every notebook, then the solved course, then the browser suite) runs in that
order: the notebooks share the model cache, and the later parts are quickest once nbval has filled it.
Under pytest-xdist (``-n 2``, the default in pyproject.toml; ``-n 0`` runs everything in this process)
the course is one unit of work for one worker, in that order. The other worker runs the browser tests that
read nothing the course caches (notebooks 01 to 03, the suite's own checks) as a second unit, then the
unit tests one by one: they need nothing from the course either, and the two workers share the cores.
"""

from __future__ import annotations

import re

import pytest

# The browser tests of notebooks 04 on: those notebooks read baselines and models that nbval's runs of the
# notebooks before them leave in the cache, so they run after nbval, with the course.
_READS_THE_CACHE = re.compile(r"\[0[4-9]_")


def unit_of_work(nodeid: str) -> str:
    """The unit of work a test belongs to under pytest-xdist: "the course", "the browser" or its own nodeid."""
    if ".ipynb::" in nodeid or nodeid.startswith("tests/test_solutions.py::"):
        return "the course"
    if nodeid.startswith("tests/e2e/"):
        return "the course" if _READS_THE_CACHE.search(nodeid) else "the browser"
    return nodeid


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
