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


@pytest.mark.parametrize("shape", [(32, 7), (4, 5, 5, 3)])
def test_batch_norm_and_sigmoid_backward_match_keras(shape):
    """BatchNorm in training mode (the batch's statistics) and Sigmoid, against Keras' layers under a GradientTape."""
    tf = import_tensorflow()
    rng = np.random.default_rng(sum(shape))
    x = (rng.standard_normal(shape) * 3 + 1).astype(np.float32)
    grad_out = rng.standard_normal(shape).astype(np.float32)
    ours = backprop.BatchNorm(shape[-1])
    ours.params["gamma"] = rng.standard_normal(shape[-1]).astype(np.float32)
    theirs = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-3)
    theirs.build(shape)
    theirs.gamma.assign(ours.params["gamma"])
    variable = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(variable)
        y = theirs(variable, training=True)
        loss = tf.reduce_sum(y * grad_out)
    grad_x, grad_gamma, grad_beta = tape.gradient(loss, [variable, theirs.gamma, theirs.beta])
    np.testing.assert_allclose(ours.forward(x, training=True), y.numpy(), atol=1e-5)
    np.testing.assert_allclose(ours.backward(grad_out), grad_x.numpy(), atol=1e-4)
    np.testing.assert_allclose(ours.grads["gamma"], grad_gamma.numpy(), atol=1e-4, rtol=1e-5)
    np.testing.assert_allclose(ours.grads["beta"], grad_beta.numpy(), atol=1e-4, rtol=1e-5)
    np.testing.assert_allclose(ours.moving_mean, theirs.moving_mean.numpy(), atol=1e-5)
    np.testing.assert_allclose(ours.moving_variance, theirs.moving_variance.numpy(), atol=1e-4)
    np.testing.assert_allclose(ours.forward(x), theirs(x, training=False).numpy(), atol=1e-4)
    sigmoid = backprop.Sigmoid()
    with tf.GradientTape() as tape:
        tape.watch(variable)
        loss = tf.reduce_sum(tf.sigmoid(variable) * grad_out)
    np.testing.assert_allclose(sigmoid.forward(x), tf.sigmoid(x).numpy(), atol=1e-6)
    np.testing.assert_allclose(sigmoid.backward(grad_out), tape.gradient(loss, variable).numpy(), atol=1e-6)


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
