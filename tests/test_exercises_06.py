"""The exercises of notebook 06 as a learner meets them: the package's backward passes refused, hidden cases that
separate every catalogued mistake, hints in steps, and the measurements the two conceptual questions state (the
sigmoid stack at depth 10, batch normalisation's backward pass), checked here in seconds."""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pytest

from mnistlab import backprop, data, exercises, ops, preprocess
from mnistlab.exercises import how_it_learns

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "06_how_it_learns.ipynb"
MINE = {key: ex for key, ex in exercises.all_exercises().items() if key.startswith("06.")}
SEEDS = (0, 1, 2)


pytestmark = pytest.mark.usefixtures("own_folders")


@pytest.fixture(scope="module")
def batch():
    (x, y), _ = data.load_mnist()
    return preprocess.add_channel(preprocess.scale(x[:256])), y[:256]


def solved(key: str):
    namespace = {"np": np}
    exec(MINE[key].solution_code, namespace)  # noqa: S102 - the package's own solution code
    return namespace["answer"]


def test_four_to_seven_exercises_each_with_two_or_three_hint_steps(capsys):
    assert list(MINE) == [f"06.{k}" for k in range(1, 8)]
    for key, ex in MINE.items():
        assert 2 <= len(ex.hints) <= 3, key
        for step in ex.hints:
            ex.hint()
            assert capsys.readouterr().out.rstrip().endswith(step), key


def test_the_exercise_cells_are_the_packages_and_unsolved():
    nb = nbformat.read(NOTEBOOK, 4)
    sources = [c.source for c in nb.cells]
    for key, ex in MINE.items():
        assert ex.cell() in sources, key
        cell = nb.cells[sources.index(ex.cell())]
        assert cell.cell_type == "code", key
        printed = "".join(o.get("text", "") for o in cell.get("outputs", []))
        assert not printed or printed.startswith(f"{key} {ex.title}: Not yet: "), key  # unsolved, or not run
        above = nb.cells[sources.index(ex.cell()) - 1]
        assert above.source == f"**Exercise {key} · {ex.title}.** {ex.question}", key


@pytest.mark.parametrize(("key", "answer"), [
    ("06.1", ops.relu_backward),
    ("06.1", lambda x, grad_out: ops.relu_backward(x, grad_out)),
    ("06.1", lambda x, grad_out: backprop.ReLU().backward(grad_out)),
    ("06.2", lambda x, grad_out: ops.pool2d_backward(x, grad_out, 2)),
    ("06.2", lambda x, grad_out: backprop.MaxPool2D(2).backward(grad_out)),
    ("06.4", lambda image, kernel, grad_out: ops.conv2d_backward(image, kernel, grad_out)[1]),
    ("06.4", lambda image, kernel, grad_out: ops.conv2d(image, grad_out)),
    ("06.5", lambda image, kernel, grad_out: ops.conv2d_backward(image, kernel, grad_out)[0]),
    ("06.5", lambda image, kernel, grad_out: ops.conv2d(ops.pad2d(grad_out, kernel.shape[0] - 1), kernel[::-1, ::-1])),
    ("06.5", lambda image, kernel, grad_out: backprop.numerical_gradient(lambda i: 0.0, image)),
])
def test_the_packages_backward_passes_are_refused(key, answer):
    result = MINE[key].feedback(answer)
    assert not result.correct and "write it yourself" in result.message


def test_the_convolutions_hidden_cases_are_not_square_and_show_a_flip():
    cases = how_it_learns._conv_cases()
    assert any(image.shape[0] != image.shape[1] for image, _, _ in cases)
    assert any(kernel.shape[0] != kernel.shape[1] for _, kernel, _ in cases)
    for image, kernel, grad_out in cases:
        assert grad_out.shape == ops.conv2d(image, kernel).shape
        assert grad_out.shape[0] >= kernel.shape[0] and grad_out.shape[1] >= kernel.shape[1]  # "valid" has a shape
        assert not np.allclose(kernel, kernel[::-1, ::-1])


def test_the_image_gradient_as_a_scatter_passes_and_same_padding_is_told_its_shape():
    def scatter(image, kernel, grad_out):
        (kh, kw), (oh, ow) = kernel.shape, grad_out.shape
        grad = np.zeros(image.shape)
        for i in range(kh):
            for j in range(kw):
                grad[i:i + oh, j:j + ow] += kernel[i, j] * grad_out
        return grad

    def same_padding(image, kernel, grad_out):  # padded by half the kernel: the output's shape again
        (kh, kw), (oh, ow) = kernel.shape, grad_out.shape
        padded = np.pad(grad_out, ((kh // 2, (kh - 1) // 2), (kw // 2, (kw - 1) // 2)))
        return np.array([[(padded[r:r + kh, c:c + kw] * kernel[::-1, ::-1]).sum() for c in range(ow)]
                         for r in range(oh)])

    assert MINE["06.5"].feedback(scatter).correct
    message = MINE["06.5"].feedback(same_padding).message
    assert "your output has shape (4, 4), expected (6, 6)" in message


def test_the_solutions_match_the_formulas_the_notebook_prints():
    """06's cell: d loss / d kernel = conv2d(image, G); d loss / d image = conv2d(pad(G, 2), flipped kernel)."""
    from mnistlab.examples import REPORT_IMAGE
    from mnistlab.kernels import PRESETS

    kernel = PRESETS["sobel x"].astype(float)
    grad_out = (np.arange(16).reshape(4, 4) % 3 - 1).astype(float)
    image = REPORT_IMAGE.astype(float)
    assert np.allclose(solved("06.4")(image, kernel, grad_out), ops.conv2d(image, grad_out))
    assert np.allclose(solved("06.5")(image, kernel, grad_out), ops.conv2d(ops.pad2d(grad_out, 2), kernel[::-1, ::-1]))


def ratio(network, batch) -> float:
    norms = backprop.gradient_norms(network, *batch)
    return float(norms[0] / norms[-1])


def test_06_6_at_depth_10_the_sigmoid_stacks_ratio_is_about_a_millionth(batch):
    """06.6: 1.3e-6 to 2.1e-6 over seeds 0-2 (about 0.25 per layer); at depth 20, under 1e-12 (the notebook)."""
    at_10 = [ratio(backprop.deep_mlp(depth=10, activation="sigmoid", seed=seed), batch) for seed in SEEDS]
    at_20 = [ratio(backprop.deep_mlp(depth=20, activation="sigmoid", seed=seed), batch) for seed in SEEDS]
    assert f"{min(at_10):.1e}" == "1.3e-06" and f"{max(at_10):.1e}" == "2.1e-06"
    assert max(at_20) < 1e-12
    for r10, r20 in zip(at_10, at_20, strict=True):
        assert 0.2 < r20 ** (1 / 20) < 0.3 and 0.2 < r10 ** (1 / 10) < 0.3  # about 0.25 per layer
        assert 0.1 < r20 / r10 ** 2 < 10                                    # twice the layers: the square


def test_06_6_explanation_quotes_the_measurement():
    q = MINE["06.6"]
    assert q.feedback("b").message.count("1.3 \u00d7 10\u207b\u2076 to 2.1 \u00d7 10\u207b\u2076") == 1


def bn_stack_forward(seed, batch):
    """The sigmoid + batch norm stack's forward pass on the batch (training mode, as gradient_norms runs it)."""
    network = backprop.deep_mlp(depth=20, activation="sigmoid", batch_norm=True, seed=seed)
    outputs, spreads = batch[0], []
    for layer in network.layers:
        if isinstance(layer, backprop.BatchNorm):
            spreads.append(float(outputs.std(axis=0).mean()))  # each unit's spread over the batch
        outputs = layer.forward(outputs, training=True)
    return network, spreads


@pytest.mark.parametrize("seed", SEEDS)
def test_06_7_batch_norm_multiplies_the_gradient_by_one_over_sigma_about_5(batch, seed):
    """06.7: the dense layers' outputs vary with a standard deviation of about 0.2; each batch normalisation
    multiplies the gradient by about 5; gamma starts at 1; the plain stack's sigmoid slopes are about 0.24."""
    assert 1.05 <= ratio(backprop.deep_mlp(depth=20, activation="sigmoid", batch_norm=True, seed=seed), batch) < 1.45
    network, spreads = bn_stack_forward(seed, batch)
    assert 0.15 < np.median(spreads) < 0.25
    norms = [layer for layer in network.layers if isinstance(layer, backprop.BatchNorm)]
    assert all(np.all(layer.params["gamma"] == 1) for layer in norms)
    grad = np.random.default_rng(seed).normal(size=(256, 64)).astype(np.float32)
    gains = [float(np.linalg.norm(layer.backward(grad)) / np.linalg.norm(grad)) for layer in norms]
    assert 4 < np.median(gains) < 6
    assert np.allclose(gains, [float(layer.inv_std.mean()) for layer in norms], rtol=0.1)  # about 1/sigma
    outputs, slopes = batch[0], []
    for layer in backprop.deep_mlp(depth=20, activation="sigmoid", seed=seed).layers:
        outputs = layer.forward(outputs)
        if isinstance(layer, backprop.Sigmoid):
            slopes.append(float((outputs * (1 - outputs)).mean()))
    assert 0.22 < min(slopes) and max(slopes) < 0.25
