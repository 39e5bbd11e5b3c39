"""mnistlab.backprop: the NumPy network trains as Keras does, step for step, and its pieces are right."""

from __future__ import annotations

import numpy as np
import pytest

from mnistlab import backprop, data, models, ops, preprocess
from mnistlab.runtime import import_tensorflow

keras = import_tensorflow().keras


@pytest.fixture(scope="module")
def digits():
    (x, y), _ = data.load_mnist()
    return preprocess.add_channel(preprocess.scale(x[:3200])), y[:3200]


def f32(value: float) -> float:
    """The float32 nearest to ``value``, as a Python float."""
    return float(np.float32(value))


def relative(a: np.ndarray, b: np.ndarray) -> float:
    """||a - b|| / ||b||: how far ours is from Keras', relative to Keras'."""
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-12))


@pytest.fixture
def float64_keras():
    """Keras computing in float64 while the test runs (and float32 again after it)."""
    policy, floatx = keras.config.dtype_policy(), keras.config.floatx()
    keras.config.set_dtype_policy("float64")
    keras.config.set_floatx("float64")  # the loss's dtype
    yield
    keras.config.set_dtype_policy(policy)
    keras.config.set_floatx(floatx)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_the_numpy_loop_matches_keras_step_for_step(digits, float64_keras, optimizer):
    """The report's CNN, dropout off, the same initial weights and the same batches of 32: after each of
    100 steps the loss and every weight agree with Keras' to 1e-4 (relative).

    Both compute in float64. In float32 they agree to 1e-7 for about 50 steps, until one activation
    within rounding of zero, or one pooling window within rounding of a tie, goes one way in NumPy and
    the other in TensorFlow (their sums run in different orders); from then on the two drift apart as
    any two training runs do.
    """
    x, y = digits[0].astype(np.float64), digits[1]
    keras.utils.set_random_seed(7)
    model = models.report_cnn(dropout=0.0)
    # Keras keeps its hyperparameters in float32 (0.999 becomes 0.99900001...): ours get those same values.
    if optimizer == "sgd":
        settings = {"learning_rate": f32(0.05)}
        model.compile(optimizer=keras.optimizers.SGD(**settings), loss="categorical_crossentropy")
        ours = backprop.SGD(**settings)
    else:
        settings = {"learning_rate": f32(1e-3), "beta_1": f32(0.9), "beta_2": f32(0.999), "epsilon": f32(1e-7)}
        model.compile(optimizer=keras.optimizers.Adam(**settings), loss="categorical_crossentropy")
        ours = backprop.Adam(**settings)
    net = backprop.from_keras(model)
    assert net.count_params() == model.count_params() == 232_650
    assert all(w.dtype == np.float64 for w in net.weights())
    worst_loss = worst_weight = 0.0
    for step in range(100):
        batch = slice(32 * step, 32 * (step + 1))
        model.reset_metrics()  # train_on_batch returns the running mean of the loss since the last reset (Keras < 3.15)
        keras_loss = float(model.train_on_batch(x[batch], preprocess.one_hot(y[batch])))
        loss = net.loss_and_gradients(x[batch], y[batch])
        ours.step(net)
        worst_loss = max(worst_loss, abs(loss - keras_loss) / keras_loss)
        worst_weight = max(worst_weight, *(relative(a, b) for a, b in zip(net.weights(), model.get_weights(),
                                                                        strict=True)))
        assert worst_loss < 1e-4 and worst_weight < 1e-4, f"step {step + 1}: {worst_loss:.1e}, {worst_weight:.1e}"
    assert keras_loss < 0.8  # it learned: the first batches' loss is about 2.3


def test_gradients_match_gradient_tape_through_the_whole_network(digits):
    tf = import_tensorflow()
    x, y = digits[0][:16], digits[1][:16]
    keras.utils.set_random_seed(3)
    model = models.report_cnn(dropout=0.0)
    net = backprop.from_keras(model)
    net.loss_and_gradients(x, y)
    with tf.GradientTape() as tape:
        loss = keras.losses.categorical_crossentropy(preprocess.one_hot(y), model(x))
        loss = tf.reduce_mean(loss)
    for ours, theirs in zip(net.gradients(), tape.gradient(loss, model.trainable_weights), strict=True):
        assert relative(ours, theirs.numpy()) < 1e-4


def test_report_network_is_the_reports_architecture_initialised_as_keras():
    net = backprop.report_network(seed=0)
    keras_shapes = [tuple(w.shape) for w in models.report_cnn().get_weights()]
    assert [w.shape for w in net.weights()] == keras_shapes
    assert net.count_params() == 232_650
    kernel = net.weights()[0]
    limit = np.sqrt(6 / (9 + 9 * 32))
    assert kernel.dtype == np.float32 and np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.9 * limit
    assert not net.weights()[1].any()


def test_training_learns_and_is_repeatable(digits):
    x, y = digits

    def run():
        net = backprop.report_network(seed=1)
        history = backprop.train(net, backprop.Adam(2e-3), x[:2560], y[:2560], epochs=2, batch_size=64, seed=5,
                                 test=(x[2560:], y[2560:]), progress=False)
        return net, history

    net, history = run()
    again, history_again = run()
    assert history.loss == history_again.loss
    assert all(np.array_equal(a, b) for a, b in zip(net.weights(), again.weights(), strict=True))
    assert np.mean(history.loss[:5]) > 2 > 0.6 > np.mean(history.loss[-5:])
    assert history.test_accuracy[-1] > 0.85 and history.images == 2 * 2560 and history.images_per_second > 0


def test_dropout_scales_what_it_keeps_and_passes_the_gradient_the_same_way():
    layer = backprop.Dropout(0.25, seed=0)
    x = np.ones((1000, 10), np.float32)
    y = layer.forward(x, training=True)
    assert set(np.unique(y)) == {0, np.float32(1 / 0.75)} and abs((y == 0).mean() - 0.25) < 0.02
    np.testing.assert_array_equal(layer.backward(x), y)
    np.testing.assert_array_equal(layer.forward(x, training=False), x)


def test_from_keras_names_what_it_cannot_train():
    model = models.course_cnn(widths=(4,), pools=(True,), shift=0.0, dropout=0.0)
    with pytest.raises(ValueError, match="bn1: a BatchNormalization layer is not supported"):
        backprop.from_keras(model)


def test_train_names_bad_input():
    with pytest.raises(ValueError, match=r"x: expected \(N, H, W, C\) images with one label each"):
        backprop.train(backprop.report_network(), backprop.SGD(), np.zeros((4, 28, 28)), np.zeros(4, int))


def test_cross_entropy_backward_is_p_minus_y_over_the_batch():
    logits = np.array([[2.0, 1.0, 0.1], [0.0, 0.0, 0.0]])
    grad = ops.cross_entropy_backward(logits, np.array([0, 2]))
    np.testing.assert_allclose(grad, (ops.softmax(logits) - np.eye(3)[[0, 2]]) / 2)


def batch_norm_case(seed: int) -> dict:
    """A random BatchNorm case: a rank 2-4 input whose batch is 1, 2, 3, 5 or 8 (every rank meets every batch
    size over 15 seeds), random gamma, beta and starting moving statistics, one of four momenta and four epsilons,
    and 1-3 training batches (the moving averages compound over them)."""
    rng = np.random.default_rng(seed)
    rank, batch = 2 + seed % 3, (1, 2, 3, 5, 8)[seed % 5]
    shape = (batch, *(int(d) for d in rng.integers(1, 6, rank - 2)), int(rng.integers(1, 7)))
    features = shape[-1]

    def batch_of(size: int) -> np.ndarray:  # each feature its own spread and offset
        spread, offset = rng.uniform(0.1, 4, features), rng.uniform(-3, 3, features)
        return (rng.standard_normal((size, *shape[1:])) * spread + offset).astype(np.float32)

    return {"xs": [batch_of(batch) for _ in range(int(rng.integers(1, 4)))],
            "grad_out": rng.standard_normal(shape).astype(np.float32),
            "later": batch_of(int(rng.integers(1, 6))),  # predicted with the moving statistics
            "weights": [rng.uniform(-2, 2, features).astype(np.float32),  # gamma, beta (Keras' get_weights order)
                        rng.uniform(-2, 2, features).astype(np.float32),
                        rng.uniform(-1, 1, features).astype(np.float32),  # moving mean and variance
                        rng.uniform(0.2, 3, features).astype(np.float32)],
            "momentum": f32((0.9, 0.99, 0.5, 0.0)[seed % 4]),
            "epsilon": f32((1e-3, 1e-5, 0.1, 0.5)[seed // 4 % 4])}


def assert_close(ours: np.ndarray, theirs, what: str, tolerance: float = 1e-4) -> None:
    """Equal to Keras' within ``tolerance``, relative to the larger of 1 and Keras' largest value (float32 sums)."""
    theirs = np.asarray(theirs)
    assert np.shape(ours) == theirs.shape, what
    np.testing.assert_allclose(ours, theirs, rtol=tolerance, atol=tolerance * max(1.0, float(np.abs(theirs).max())),
                               err_msg=what)


@pytest.mark.parametrize("seed", range(24))
def test_batch_norm_matches_keras_in_training_and_inference(seed):
    """BatchNorm against Keras' BatchNormalization with the same weights and statistics: each training batch's
    output and moving statistics, the last batch's gradients (input, gamma, beta) under a GradientTape, then
    prediction from the moving statistics."""
    tf = import_tensorflow()
    case = batch_norm_case(seed)
    gamma, beta, moving_mean, moving_variance = case["weights"]
    ours = backprop.BatchNorm(len(gamma), momentum=case["momentum"], epsilon=case["epsilon"])
    ours.params = {"gamma": gamma.copy(), "beta": beta.copy()}
    ours.moving_mean, ours.moving_variance = moving_mean.copy(), moving_variance.copy()
    theirs = keras.layers.BatchNormalization(momentum=case["momentum"], epsilon=case["epsilon"])
    theirs.build(case["xs"][0].shape)
    theirs.set_weights(case["weights"])
    *earlier, x = case["xs"]
    for step, batch in enumerate(earlier):
        assert_close(ours.forward(batch, training=True), theirs(batch, training=True), f"training output {step}")
    variable = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(variable)
        y = theirs(variable, training=True)
        loss = tf.reduce_sum(y * case["grad_out"])
    grad_x, grad_gamma, grad_beta = tape.gradient(loss, [variable, theirs.gamma, theirs.beta])
    assert_close(ours.forward(x, training=True), y, "training output")
    assert_close(ours.backward(case["grad_out"]), grad_x, "grad x", 1e-3)
    assert_close(ours.grads["gamma"], grad_gamma, "grad gamma")
    assert_close(ours.grads["beta"], grad_beta, "grad beta")
    for _ in range(2):  # predicting leaves the moving statistics as they are
        assert_close(ours.moving_mean, theirs.moving_mean, "moving mean", 1e-5)
        assert_close(ours.moving_variance, theirs.moving_variance, "moving variance", 1e-5)
        assert_close(ours.forward(case["later"]), theirs(case["later"], training=False), "inference output")


@pytest.mark.parametrize("seed", range(8))
def test_sigmoid_matches_keras_forward_and_backward(seed):
    """Sigmoid against Keras' sigmoid and its GradientTape gradient, on random shapes of rank 1-4 with values out
    to +-60 (where it saturates), in float32 and float64 (kept)."""
    tf = import_tensorflow()
    rng = np.random.default_rng(100 + seed)
    shape = tuple(int(d) for d in rng.integers(1, 7, 1 + seed % 4))
    dtype = (np.float32, np.float64)[seed % 2]
    x = (rng.standard_normal(shape) * rng.choice([1, 5, 20])).astype(dtype)
    x.flat[0] = (60, -60)[seed // 2 % 2]
    grad_out = rng.standard_normal(shape).astype(dtype)
    variable = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(variable)
        y = keras.activations.sigmoid(variable)
        loss = tf.reduce_sum(y * grad_out)
    sigmoid = backprop.Sigmoid()
    forward = sigmoid.forward(x, training=True)
    assert forward.dtype == dtype
    np.testing.assert_allclose(forward, y.numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(sigmoid.backward(grad_out), tape.gradient(loss, variable).numpy(), rtol=1e-5,
                               atol=1e-7)


class Weights(backprop.Layer):
    """A layer that is only weights: the optimisers read each layer's ``params`` and ``grads``, set here by hand."""

    def __init__(self, params: dict[str, np.ndarray]):
        super().__init__()
        self.params = params


OPTIMIZER_CASES = [
    ("sgd", {"learning_rate": 0.05, "momentum": 0.0}),
    ("sgd", {"learning_rate": 0.1, "momentum": 0.9}),
    ("sgd", {"learning_rate": 0.01, "momentum": 0.5}),
    ("sgd", {"learning_rate": 0.3, "momentum": 0.99}),
    ("adam", {"learning_rate": 1e-3, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}),
    ("adam", {"learning_rate": 0.01, "beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-3}),
    ("adam", {"learning_rate": 0.1, "beta_1": 0.8, "beta_2": 0.99, "epsilon": 0.1}),
]


@pytest.mark.parametrize(("case", "kind", "settings"), [(i, *case) for i, case in enumerate(OPTIMIZER_CASES)],
                         ids=[f"{kind}-{'-'.join(map(str, s.values()))}" for kind, s in OPTIMIZER_CASES])
def test_sgd_with_momentum_and_adam_step_as_keras_optimizers(case, kind, settings):
    """Six steps of our SGD (with and without momentum) or Adam and of Keras' on the same random weights (two
    layers, four arrays of random shapes) and the same random gradients, whose sizes differ from array to array and
    step to step (1e-4 to 10, so Adam's epsilon counts): every weight has moved as far after every step."""
    rng = np.random.default_rng(case)
    settings = {name: f32(value) for name, value in settings.items()}  # Keras keeps them in float32
    shapes = [tuple(int(d) for d in rng.integers(1, 5, rank)) for rank in (4, 1, 2, 1)]
    start = [rng.standard_normal(shape).astype(np.float32) for shape in shapes]
    layers = [Weights({"kernel": start[0].copy(), "bias": start[1].copy()}),
              Weights({"kernel": start[2].copy(), "bias": start[3].copy()})]
    net = backprop.Network(layers)
    variables = [keras.Variable(w.copy()) for w in start]
    ours = (backprop.SGD if kind == "sgd" else backprop.Adam)(**settings)
    theirs = (keras.optimizers.SGD if kind == "sgd" else keras.optimizers.Adam)(**settings)
    for step in range(6):
        grads = [(rng.standard_normal(shape) * 10 ** rng.uniform(-4, 1)).astype(np.float32) for shape in shapes]
        for layer, pair in zip(layers, (grads[:2], grads[2:]), strict=True):
            layer.grads = dict(zip(("kernel", "bias"), pair, strict=True))
        ours.step(net)
        theirs.apply_gradients(zip(grads, variables, strict=True))
        for i, (w, v, w0) in enumerate(zip(net.weights(), variables, start, strict=True)):
            assert w.dtype == np.float32
            # how far each moved it, to 1e-5 relative or a few float32 steps of weights of size 1-4
            np.testing.assert_allclose(w - w0, np.asarray(v) - w0, rtol=1e-5, atol=2e-6,
                                       err_msg=f"step {step + 1}, weight {i}")

def test_a_deep_sigmoid_stack_vanishes_and_batch_norm_restores_the_gradient(digits):
    x, y = digits[0][:256], digits[1][:256]
    plain = backprop.gradient_norms(backprop.deep_mlp(20, 64, "sigmoid", seed=0), x, y)
    normalised = backprop.gradient_norms(backprop.deep_mlp(20, 64, "sigmoid", batch_norm=True, seed=0), x, y)
    assert len(plain) == len(normalised) == 21
    assert plain[0] / plain[-1] < 1e-8 < 0.1 < normalised[0] / normalised[-1] < 10


def test_numerical_gradient_and_relative_error():
    def f(v):
        return float((v ** 3).sum())

    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    assert backprop.relative_error(backprop.numerical_gradient(f, x), 3 * x ** 2) < 1e-8
    assert backprop.relative_error(np.zeros(3), np.zeros(3)) == 0
    assert backprop.relative_error(np.array([1.0]), np.array([-1.0])) == 2
    np.testing.assert_allclose(backprop.running_mean([1, 3, 5]), [1, 2, 3])
