"""The order of the tests, and the share of the cores of each pytest-xdist worker. Loaded by every pytest run from
this folder, whatever paths it is given.

pyproject.toml runs pytest with ``-n 2 --dist loadfile --no-loadscope-reorder``: pytest-xdist sends each file
whole to one worker (a notebook's cells share one kernel), in the order of the collection, which
:func:`pytest_collection_modifyitems` sets, the longest work first so that the short files fill the gaps at the end:

1. :data:`FIRST`: the notebooks that train or fit what later ones read, longest first, one on each worker;
2. :data:`LONG`: long files that read nothing the first ones compute, while those still run;
3. :data:`AFTER`: the notebooks and tests that read what the first ones computed (by then it is in the cache);
4. the solved course (``solutions`` mark);
5. everything else, short files, as they come.

pytest-xdist sends a worker its next file while two tests of its current one are still to run; the short files
at the end even out what is left of the two workers' shares.

Two processes that need the same cached result at once never both compute it: the second waits for the first
and reads its result (:func:`mnistlab.cache.locked`). So the order only saves time; any order gives the same
results, and ``-n 0`` runs everything in this process.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

from mnistlab.runtime import THREADS_ENV

#: The files that go out first, in this order: the report's CNN and the best models trained (05), the classical
#: baselines fitted (04).
FIRST = ("notebooks/05_cnn.ipynb", "notebooks/04_baselines.ipynb")
#: Long files that need nothing :data:`FIRST` computes: they go out next, while the first ones still run (the
#: browser's explorers of notebooks 01 to 03, the CNN's unit tests, the exercises with 05.5's training, notebook 06).
LONG = ("tests/e2e/test_lab.py", "tests/test_cnn.py", "tests/test_exercises.py", "notebooks/06_how_it_learns.ipynb")
#: The files that read what :data:`FIRST` computed, in this order, after :data:`LONG`.
AFTER = ("notebooks/07_evaluation.ipynb", "notebooks/08_beyond_the_test_set.ipynb", "tests/test_restart.py",
         "tests/e2e/test_lab_trained.py")


def share_the_cores(environ: dict = os.environ) -> None:
    """Under pytest-xdist, give each worker its share of the cores (``$MNISTLAB_THREADS``, unless set already): its
    tests and the kernels it starts read it through ``mnistlab.configure``. TensorFlow's threads wait for work
    by spinning: two workers that each run it on every core of a 2-core machine took a third longer, side by
    side, than with one thread each (and alone, one thread trained the report's CNN 6% slower than two)."""
    workers = environ.get("PYTEST_XDIST_WORKER_COUNT")
    if workers and THREADS_ENV not in environ:
        environ[THREADS_ENV] = str(max(1, (os.cpu_count() or 1) // int(workers)))


# Now, not in a pytest_configure hook: tests/conftest.py calls mnistlab.configure when it is imported, and pytest
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


def rank(item: pytest.Item) -> tuple[int, int]:
    """Where a test goes in the run (the module's docstring): its phase, then its place within the phase."""
    path = item.nodeid.split("::", 1)[0]
    for phase, files in enumerate((FIRST, LONG, AFTER)):
        if path in files:
            return phase, files.index(path)
    if item.get_closest_marker("solutions"):
        return 3, 0
    return 4, 0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests in the order of :func:`rank` (a stable sort: within a rank, the order pytest collected)."""
    items.sort(key=rank)
