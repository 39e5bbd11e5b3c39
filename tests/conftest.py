"""Configure TensorFlow once, before any test runs an op: later configure() calls with the same
threads are then no-ops, as in a fresh process, and every test that trains is repeatable."""

import pytest

import mnistlab

mnistlab.configure(seed=0, tensorflow=True, plots=False)


@pytest.fixture
def own_folders(tmp_path, monkeypatch):
    """A test's own model cache and data folder (exercise progress), hints from the first step again, and exercises
    checked as a learner's, not in solutions mode: ``pytestmark = pytest.mark.usefixtures("own_folders")``."""
    from mnistlab.exercises import core

    monkeypatch.setattr(core, "_HINTS_GIVEN", {})
    monkeypatch.setenv("MNISTLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("MNISTLAB_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("MNISTLAB_SOLUTIONS", raising=False)
