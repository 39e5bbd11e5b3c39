"""The order of the tests and, under pytest-xdist, which worker runs what. Loaded by every pytest run from
this folder, whatever paths it is given.

The course (nbval's cells of every notebook, then the solved course, then the browser suite) runs in that
order. Under pytest-xdist (``-n 2``, the default in pyproject.toml; ``-n 0`` runs everything in this
process) the notebooks that share the model cache are split in two units of work that start first, one on
each worker: "the baselines" (notebook 04, which fits the classical models and reads no model) and "the
course" (05, 07 and 08 in that order, with their browser tests, which are quickest once nbval has filled
the cache). Notebook 07 reads 04's baselines: before its first cell it waits until 04 has run on the other
worker (while 05 trains, 04 has usually finished). Every other notebook is a unit of its own (its cells
share one kernel), and so is each unit test; the browser tests of the notebooks that read no cache and the
suite's own checks are one more ("the browser"). Both workers take these as they come free. Each worker
uses its share of the cores (:func:`share_the_cores`).
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from mnistlab.runtime import THREADS_ENV

# A notebook that calls these reads or fills the model cache (``baselines.load_or_compare``, ``training.cached``...).
_CACHE_CALLS = ("load_or_", "training.")
_BASELINES = "baselines.load_or_"
_NOTEBOOK_PARAMETER = re.compile(r"\[([^\]]+\.ipynb)\]")
# The most a notebook waits for the baselines' run on the other worker (then it goes on: it fits what it lacks).
BASELINES_WAIT_S = 900


@functools.cache
def _code(notebook: str) -> str | None:
    """The code cells of ``notebook`` (a path from this folder) as one text; ``None`` if there is no such file."""
    path = Path(__file__).resolve().parent / notebook
    if not path.is_file():
        return None
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "code")


def shares_the_cache(notebook: str) -> bool:
    """Whether ``notebook`` (a path from this folder) reads or fills the model cache; a notebook not found here
    is taken to share it (it then runs with the course)."""
    code = _code(notebook)
    return code is None or any(call in code for call in _CACHE_CALLS)


def fits_the_baselines(notebook: str) -> bool:
    """Whether ``notebook`` fits the classical baselines and reads no model (notebook 04): it can run apart from
    the course, on the other worker, while the course trains; the later notebooks that read the baselines wait
    for it (:func:`pytest_runtest_setup`)."""
    code = _code(notebook)
    return code is not None and _BASELINES in code and "training." not in code


def reads_the_baselines(notebook: str) -> bool:
    """Whether ``notebook`` reads the baselines that a notebook of :func:`fits_the_baselines` fits (notebook 07)."""
    code = _code(notebook)
    return code is not None and _BASELINES in code and not fits_the_baselines(notebook)


def unit_of_work(nodeid: str) -> str:
    """The unit of work a test belongs to under pytest-xdist: "the course", "the baselines", "the browser",
    "notebook NAME" (the cells of a notebook that shares no cache) or, for a unit test, its own nodeid."""
    if ".ipynb::" in nodeid:
        notebook = nodeid.split("::", 1)[0]
        if fits_the_baselines(notebook):
            return "the baselines"
        return "the course" if shares_the_cache(notebook) else f"notebook {Path(notebook).name}"
    if nodeid.startswith("tests/test_solutions.py::"):
        return "the course"
    if nodeid.startswith("tests/test_restart.py::"):  # a restart of 07 or 08 loads what 05 trains: after it
        named = _NOTEBOOK_PARAMETER.search(nodeid)
        return "the course" if named and shares_the_cache(f"notebooks/{named.group(1)}") else nodeid
    if nodeid.startswith("tests/e2e/"):
        named = _NOTEBOOK_PARAMETER.search(nodeid)
        return "the course" if named and shares_the_cache(f"notebooks/{named.group(1)}") else "the browser"
    return nodeid


# The units that go out first, in this order: the two longest, each to a worker of its own.
FIRST_UNITS = ("the course", "the baselines")


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


def _own_data_folder() -> None:
    """Exercises solved by the tests and the kernels they start are kept in a temporary data folder of this run,
    never in the user's own progress (``$MNISTLAB_DATA`` kept when set)."""
    if not os.environ.get("MNISTLAB_DATA"):
        import atexit

        folder = tempfile.mkdtemp(prefix="mnistlab-test-data-")
        os.environ["MNISTLAB_DATA"] = folder
        atexit.register(shutil.rmtree, folder, ignore_errors=True)


_own_data_folder()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Unit tests and nbval first, then the solved course, then the browser tests (a stable sort)."""
    items.sort(key=lambda item: 2 if item.get_closest_marker("e2e") else 1 if item.get_closest_marker("solutions")
               else 0)


def _markers(testrunuid: str) -> Path:
    """The folder of one test run's markers, in the temporary folder (workers and controller alike)."""
    return Path(tempfile.gettempdir()) / f"mnistlab-pytest-{testrunuid}"


def _done_marker(notebook: Path) -> Path:
    """The file that says a worker has run every cell of ``notebook`` (one folder per test run)."""
    return _markers(os.environ["PYTEST_XDIST_TESTRUNUID"]) / f"{notebook.name}.done"


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist, the controller names the test run itself (as ``--testrunuid`` would), so that it
    knows its workers' marker folder and can remove it at the end."""
    if not hasattr(config, "workerinput") and getattr(config.option, "numprocesses", None) and \
            getattr(config.option, "testrunuid", "") is None:
        config.option.testrunuid = uuid.uuid4().hex


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The controller, once every worker has finished, removes the test run's markers (if any were written)."""
    config = session.config
    testrunuid = getattr(config.option, "testrunuid", None)
    if testrunuid and not hasattr(config, "workerinput"):
        shutil.rmtree(_markers(testrunuid), ignore_errors=True)


def _notebook(item: pytest.Item) -> str | None:
    """The notebook of one of nbval's cells, as a path from this folder; ``None`` for any other test."""
    nodeid = item.nodeid
    return nodeid.split("::", 1)[0] if ".ipynb::" in nodeid else None


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Under pytest-xdist, before the first cell of a notebook that reads the baselines (07), wait until the
    notebook that fits them (04, on the other worker) has run, so that it is not fitted twice."""
    notebook = _notebook(item)
    if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) < 2 or notebook is None \
            or not item.nodeid.endswith("::Cell 0") or not reads_the_baselines(notebook):
        return  # one process, or one worker (-n 1): the notebooks run in order, nobody waits
    fitting = {other.path for other in item.session.items if _notebook(other) and fits_the_baselines(_notebook(other))}
    deadline = time.monotonic() + BASELINES_WAIT_S
    while any(not _done_marker(path).exists() for path in fitting) and time.monotonic() < deadline:
        time.sleep(1)


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Under pytest-xdist, after the last cell of a notebook that fits the baselines, say so (see above)."""
    notebook = _notebook(item)
    if "PYTEST_XDIST_TESTRUNUID" in os.environ and notebook and fits_the_baselines(notebook) and \
            (nextitem is None or nextitem.path != item.path):
        done = _done_marker(item.path)
        done.parent.mkdir(exist_ok=True)
        done.touch()


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """Units of work by :func:`unit_of_work`; :data:`FIRST_UNITS` go first, then the largest (the module's
    docstring says why)."""
    from xdist.scheduler import LoadScopeScheduling

    class CourseScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return unit_of_work(nodeid)

        def _assign_work_unit(self, node) -> None:
            for unit in reversed(FIRST_UNITS):  # once, before the first unit goes out: no-ops after
                if unit in self.workqueue and not any(self.assigned_work.values()):
                    self.workqueue.move_to_end(unit, last=False)
            super()._assign_work_unit(node)

    return CourseScheduling(config, log)
