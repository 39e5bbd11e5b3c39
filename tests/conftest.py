"""Configure TensorFlow once, before any test runs an op: later configure() calls with the same
threads are then no-ops, as in a fresh process, and every test that trains is repeatable."""

import mnistlab

mnistlab.configure(seed=0, tensorflow=True, plots=False)

