"""Repeatable tests: NumPy seeded when this file loads, TensorFlow configured once, before the first test that uses
it runs an op (later ``configure()`` calls with the same threads are then no-ops, as in a fresh process). Tests
that need only NumPy never import TensorFlow.

A test module that imports TensorFlow when it is loaded (``from mnistlab import training``) needs nothing more; a
test that imports it only inside its body carries ``@pytest.mark.tensorflow`` (or its module
``pytestmark = pytest.mark.tensorflow``), so that TensorFlow is configured before that test starts.
"""

import sys

import pytest

import mnistlab

mnistlab.configure(seed=0, plots=False)

_configured = []


def _configure_tensorflow() -> None:
    if not _configured:
        mnistlab.configure(seed=0, tensorflow=True, plots=False)
        _configured.append(True)


@pytest.fixture(scope="session", autouse=True)
def _tensorflow_configured_at_start():
    """A test module that imports TensorFlow when it is collected: configure it before any fixture or test runs an
    op (a session fixture comes before the module fixtures that train)."""
    if "tensorflow" in sys.modules:
        _configure_tensorflow()


@pytest.fixture(autouse=True)
def _tensorflow_configured_first(request):
    """Configure TensorFlow before a test that may use it (it is imported, or the test is marked ``tensorflow``);
    after a test that imported it unannounced (its ops may have run on unconfigured threads), say which."""
    if "tensorflow" in sys.modules or request.node.get_closest_marker("tensorflow"):
        _configure_tensorflow()
    yield
    if "tensorflow" in sys.modules and not _configured:
        _configured.append(False)  # said once, here; the tests after it go on as they can
        pytest.fail(f"{request.node.nodeid} imported TensorFlow inside the test: mark it @pytest.mark.tensorflow",
                    pytrace=False)


@pytest.fixture
def own_folders(tmp_path, monkeypatch):
    """A test's own model cache and data folder (exercise progress), hints from the first step again, and exercises
    checked as a learner's, not in solutions mode: ``pytestmark = pytest.mark.usefixtures("own_folders")``."""
    from mnistlab.exercises import core

    monkeypatch.setattr(core, "_HINTS_GIVEN", {})
    monkeypatch.setenv("MNISTLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("MNISTLAB_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("MNISTLAB_SOLUTIONS", raising=False)
