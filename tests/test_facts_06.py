"""Facts notebook 06 states, checked here in seconds (no training), and what it must not do (score on test digits)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mnistlab import backprop, data, preprocess

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
def test_a_deep_relu_stack_fades_the_signal_about_a_thousandfold(batch, seed):
    """06: the 20th ReLU layer's outputs vary about a thousandth as much as the first's at the start."""
    outputs, spread = batch[0], []
    for layer in backprop.deep_mlp(depth=20, width=64, activation="relu", seed=seed).layers:
        outputs = layer.forward(outputs)
        if isinstance(layer, backprop.ReLU):
            spread.append(float(outputs.std()))
    assert 3e-4 < spread[-1] / spread[0] < 3e-3


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
