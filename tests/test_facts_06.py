"""Facts notebook 06 states, checked here in seconds (no training), and what it must not do (score on test digits)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mnistlab import backprop, data, ops, preprocess

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "06_how_it_learns.ipynb"


@pytest.fixture(scope="module")
def batch():
    (x, y), _ = data.load_mnist()
    return preprocess.add_channel(preprocess.scale(x[:256])), y[:256]


def cells(kind: str) -> list[str]:
    return ["".join(c["source"]) for c in json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
            if c["cell_type"] == kind]


def test_gradient_norms_cover_convolutions_and_dense_layers(batch):
    assert len(backprop.gradient_norms(backprop.report_network(seed=0), *batch)) == 5  # 2 Conv2D + 3 Dense
    assert len(backprop.gradient_norms(backprop.deep_mlp(3, 8, "relu", seed=0), *batch)) == 4


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_reports_cnn_neither_vanishes_nor_explodes_at_the_start(batch, seed):
    """06: "within a factor of about 2" (first convolution's gradient / last dense layer's)."""
    norms = backprop.gradient_norms(backprop.report_network(seed=seed), *batch)
    assert 1.5 < norms[0] / norms[-1] < 3


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_deep_relu_stack_fades_the_signal_about_a_thousandfold_both_ways(batch, seed):
    """06: the 20th ReLU layer's outputs vary about a thousandth as much as the first's at the start, and the gradient
    arriving at the 1st layer's outputs about a thousandth of the one arriving at the 20th's; the weights' gradients,
    input times gradient, come out alike (the first layer's 1.9 to 5 times the last's)."""
    x, y = batch
    stack = backprop.deep_mlp(depth=20, width=64, activation="relu", seed=seed)
    outputs, forward = x, []
    for layer in stack.layers:
        outputs = layer.forward(outputs)
        if isinstance(layer, backprop.ReLU):
            forward.append(float(outputs.std()))
    gradient, backward = ops.cross_entropy_backward(outputs, y), []
    for layer in reversed(stack.layers):
        if isinstance(layer, backprop.ReLU):
            backward.append(float(gradient.std()))
        gradient = layer.backward(gradient)
    backward.reverse()
    assert len(forward) == len(backward) == 20
    assert 3e-4 < forward[-1] / forward[0] < 3e-3
    assert 3e-4 < backward[0] / backward[-1] < 3e-3
    norms = backprop.gradient_norms(stack, x, y)
    assert 1.5 < norms[0] / norms[-1] < 6


def test_notebook_06_never_touches_the_test_digits():
    code = "\n".join(cells("code"))
    assert not re.search(r"\b[xy]_test\b", code)
    assert "(x_train, y_train), _ = load_mnist()" in code
    assert "recipes.VALIDATION_DIGITS" in code


def test_notebook_06_ends_with_what_we_learned_and_the_next_notebook():
    last = cells("markdown")[-1]
    assert last.startswith("## What we learned")
    assert last.rstrip().endswith("makes the course's best model better.")
    assert "Next: [07 · Evaluation](07_evaluation.ipynb)" in last
    headings = [c.splitlines()[0] for c in cells("markdown")]
    assert headings.index("## Exercises") < headings.index("## What we learned")
