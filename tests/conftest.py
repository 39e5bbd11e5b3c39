"""Configure TensorFlow once, before any test runs an op: later configure() calls with the same
threads are then no-ops, as in a fresh process, and every test that trains is repeatable."""

import mnistlab

mnistlab.configure(seed=0, tensorflow=True, plots=False)


def pytest_collection_modifyitems(items):
    """The solved course, then the browser tests, last (a stable sort): they run notebooks again, quickest
    once nbval has filled the model cache."""
    items.sort(key=lambda item: 2 if item.get_closest_marker("e2e") else 1 if item.get_closest_marker("solutions")
               else 0)
