"""The order of the tests and, under pytest-xdist, which worker runs what. Loaded by every pytest run from
this folder, whatever paths it is given.

The course (nbval's cells of every notebook, then the solved course, then the browser suite) runs in that
order: the notebooks share the model cache, and the later parts are quickest once nbval has filled it.
Under pytest-xdist (``-n 2``, the default in pyproject.toml; ``-n 0`` runs everything in this process)
the course is one unit of work for one worker, in that order, and the unit tests go, one by one, to the
other: they need nothing the course computes, and a notebook leaves a core idle much of the time.
"""

from __future__ import annotations

import pytest

# Where the course's tests are, in nodeids relative to this folder.
COURSE = (".ipynb::", "tests/e2e/", "tests/test_solutions.py::")


def in_course(nodeid: str) -> bool:
    """Whether a test is part of the course (run in order, on one worker) rather than a unit test."""
    return nodeid.startswith(COURSE[1:]) or COURSE[0] in nodeid


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Unit tests and nbval first, then the solved course, then the browser tests (a stable sort)."""
    items.sort(key=lambda item: 2 if item.get_closest_marker("e2e") else 1 if item.get_closest_marker("solutions")
               else 0)


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """The course as one unit of work, each unit test as its own (see the module's docstring)."""
    from xdist.scheduler import LoadScopeScheduling

    class CourseScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "the course" if in_course(nodeid) else nodeid

    return CourseScheduling(config, log)
