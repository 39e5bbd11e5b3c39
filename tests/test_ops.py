"""mnistlab.ops against the TensorFlow/Keras ops they teach, over many random shapes (hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mnistlab import ops
from mnistlab.backprop import numerical_gradient
from mnistlab.runtime import import_tensorflow

tf = import_tensorflow()
keras = tf.keras

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ATOL = 1e-4


def onednn_gets_it_wrong(x: np.ndarray, out_shape: tuple, stride: tuple[int, int]) -> bool:
    """Where TensorFlow 2.21's oneDNN CPU convolution returns garbage (found by these tests).

    A batch of more than one single-channel image, an output one column wide and unequal strides:
    ``tf.nn.conv2d`` and Keras' Conv2D return uninitialised memory there (correct with
    TF_ENABLE_ONEDNN_OPTS=0). We skip comparing with TensorFlow in that corner only;
    test_conv2d_where_tensorflow_is_wrong checks ours there against a plain loop.
    """
    return x.shape[0] > 1 and x.shape[3] == 1 and out_shape[2] == 1 and stride[0] != stride[1]


def loop_conv2d(x: np.ndarray, kernels: np.ndarray, stride: tuple[int, int]) -> np.ndarray:
    """The definition, in float64 loops: the reference where TensorFlow cannot be one."""
    n, h, w, _ = x.shape
    kh, kw, _, k = kernels.shape
    oh, ow = (h - kh) // stride[0] + 1, (w - kw) // stride[1] + 1
    out = np.zeros((n, oh, ow, k))
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                window = x[b, i * stride[0]:i * stride[0] + kh, j * stride[1]:j * stride[1] + kw, :]
                out[b, i, j] = np.tensordot(window.astype(np.float64), kernels, axes=3)
    return out


@st.composite
def conv_case(draw):
    """A random batch, kernel bank, stride and padding that fit together."""
    n = draw(st.integers(1, 3))
    c = draw(st.integers(1, 4))
    k = draw(st.integers(1, 5))
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    h, w = draw(st.integers(kh, 12)), draw(st.integers(kw, 12))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, h, w, c)).astype(np.float32)
    kernels = rng.standard_normal((kh, kw, c, k)).astype(np.float32)
    bias = rng.standard_normal(k).astype(np.float32)
    return x, kernels, bias, (sh, sw)


@SETTINGS
@given(conv_case(), st.sampled_from(["valid", "same"]))
def test_conv2d_matches_tf_nn_conv2d(case, padding):
    x, kernels, _, stride = case
    expected = tf.nn.conv2d(x, kernels, strides=stride, padding=padding.upper()).numpy()
    got = ops.conv2d(x, kernels, stride=stride, padding=padding)
    assert got.shape == expected.shape
    assume(not onednn_gets_it_wrong(x, got.shape, stride))
    np.testing.assert_allclose(got, expected, atol=ATOL, rtol=1e-5)


@SETTINGS
@given(conv_case(), st.integers(0, 3), st.integers(0, 3), st.integers(0, 3), st.integers(0, 3))
def test_conv2d_explicit_padding_matches_tf(case, top, bottom, left, right):
    x, kernels, _, stride = case
    explicit = [[0, 0], [top, bottom], [left, right], [0, 0]]
    expected = tf.nn.conv2d(x, kernels, strides=stride, padding=explicit).numpy()
    got = ops.conv2d(x, kernels, stride=stride, padding=((top, bottom), (left, right)))
    assume(not onednn_gets_it_wrong(x, got.shape, stride))
    np.testing.assert_allclose(got, expected, atol=ATOL, rtol=1e-5)


@SETTINGS
@given(conv_case(), st.sampled_from(["valid", "same"]))
def test_conv2d_matches_keras_conv2d_layer_with_the_same_weights(case, padding):
    x, kernels, bias, stride = case
    layer = keras.layers.Conv2D(kernels.shape[3], kernels.shape[:2], strides=stride, padding=padding)
    layer.build(x.shape)
    layer.set_weights([kernels, bias])
    expected = np.asarray(layer(x))
    assume(not onednn_gets_it_wrong(x, expected.shape, stride))
    np.testing.assert_allclose(ops.conv2d(x, kernels, bias, stride, padding), expected, atol=ATOL, rtol=1e-5)


@SETTINGS
@given(conv_case())
def test_conv2d_matches_the_loop_definition(case):
    x, kernels, _, stride = case
    np.testing.assert_allclose(ops.conv2d(x, kernels, stride=stride), loop_conv2d(x, kernels, stride), atol=ATOL,
                               rtol=1e-5)


def test_conv2d_where_tensorflow_is_wrong():
    """The corner onednn_gets_it_wrong() describes: ours still equals the definition."""
    x = np.arange(2 * 7 * 6, dtype=np.float32).reshape(2, 7, 6, 1)
    kernels = np.ones((4, 4, 1, 2), np.float32)
    got = ops.conv2d(x, kernels, stride=(1, 3))
    assert onednn_gets_it_wrong(x, got.shape, (1, 3))
    np.testing.assert_array_equal(got, loop_conv2d(x, kernels, (1, 3)))


@st.composite
def pool_case(draw):
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    ph, pw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    h, w = draw(st.integers(ph, 12)), draw(st.integers(pw, 12))
    stride = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    return rng.standard_normal((n, h, w, c)).astype(np.float32), (ph, pw), stride


@SETTINGS
@given(pool_case(), st.sampled_from(["valid", "same"]))
def test_max_pool_matches_tf(case, padding):
    x, size, stride = case
    expected = tf.nn.max_pool2d(x, size, stride, padding.upper()).numpy()
    got = ops.pool2d(x, size, stride, "max", padding)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, atol=ATOL)


@SETTINGS
@given(pool_case(), st.sampled_from(["valid", "same"]))
def test_avg_pool_matches_tf(case, padding):
    x, size, stride = case
    expected = tf.nn.avg_pool2d(x, size, stride, padding.upper()).numpy()
    np.testing.assert_allclose(ops.pool2d(x, size, stride, "avg", padding), expected, atol=ATOL, rtol=1e-5)


@SETTINGS
@given(pool_case(), st.sampled_from(["valid", "same"]))
def test_l2_pool_matches_tf_root_of_summed_squares(case, padding):
    """TensorFlow has no L2 pool op: sum of squares = avg_pool(x**2) * (real pixels in the window)."""
    x, size, stride = case
    mean_sq = tf.nn.avg_pool2d(x * x, size, stride, padding.upper())
    ones = tf.ones((1, *x.shape[1:3], 1))
    counts = tf.nn.conv2d(ones, tf.ones((*size, 1, 1)), stride, padding.upper())  # zero padding: counts real pixels
    expected = tf.sqrt(mean_sq * counts).numpy()
    np.testing.assert_allclose(ops.pool2d(x, size, stride, "l2", padding), expected, atol=ATOL, rtol=1e-5)


@SETTINGS
@given(pool_case(), st.sampled_from(["valid", "same"]), st.sampled_from(["max", "avg"]))
def test_pool_matches_keras_layers(case, padding, mode):
    x, size, stride = case
    layer = (keras.layers.MaxPool2D if mode == "max" else keras.layers.AveragePooling2D)(size, stride, padding)
    np.testing.assert_allclose(ops.pool2d(x, size, stride, mode, padding), np.asarray(layer(x)), atol=ATOL,
                               rtol=1e-5)


#: A batch of feature maps (n, h, w, c): several channels and at least two pixels, so that flattening in another
#: order (channels first, or columns before rows) gives other features, not the same ones.
feature_maps = st.tuples(st.integers(1, 6), st.integers(1, 5), st.integers(2, 5), st.integers(2, 4))


@SETTINGS
@given(feature_maps, st.integers(2, 12), st.integers(0, 2**31 - 1))
def test_dense_relu_softmax_flatten_match_keras(shape, units, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32) * 3
    kernel = rng.standard_normal((int(np.prod(shape[1:])), units)).astype(np.float32)
    bias = rng.standard_normal(units).astype(np.float32)
    flat = ops.flatten(x)
    np.testing.assert_array_equal(flat, np.asarray(keras.layers.Flatten()(x)))
    layer = keras.layers.Dense(units)
    layer.build(flat.shape)
    layer.set_weights([kernel, bias])
    np.testing.assert_allclose(ops.dense(flat, kernel, bias), np.asarray(layer(flat)), atol=ATOL, rtol=1e-5)
    z = ops.dense(flat, kernel, bias)
    np.testing.assert_array_equal(ops.relu(z), np.asarray(keras.activations.relu(z)))
    np.testing.assert_allclose(ops.softmax(z), np.asarray(keras.activations.softmax(z)), atol=1e-6)


def test_softmax_is_stable_for_large_logits():
    p = ops.softmax(np.array([[1000.0, 1000.0, -1000.0]]))
    np.testing.assert_allclose(p, [[0.5, 0.5, 0.0]])


@SETTINGS
@given(st.integers(1, 40), st.integers(1, 7), st.integers(1, 5))
def test_same_padding_gives_ceil_and_matches_tf_shape(size, f, s):
    before, after = ops.same_padding(size, f, s)
    assert (size + before + after - f) // s + 1 == -(-size // s)
    assert after - before in (0, 1)  # the odd extra goes after
    x = np.zeros((1, size, size, 1), np.float32)
    assert ops.conv2d(x, np.zeros((f, f, 1, 1), np.float32), stride=s, padding="same").shape[1] == \
        tf.nn.conv2d(x, np.zeros((f, f, 1, 1), np.float32), s, "SAME").shape[1]


def test_same_padding_is_asymmetric_at_stride_2():
    """28 wide, 3x3 kernel, stride 2: 14 outputs need 1 padded column in all, and TF puts it on the right."""
    assert ops.same_padding(28, 3, 2) == (0, 1)
    assert ops.same_padding(6, 3, 1) == (1, 1)
    assert ops.same_padding(7, 4, 1) == (1, 2)


# --- the worked examples and the 2-D conveniences --------------------------------------------

def test_report_worked_examples():
    """Every number the report prints follows from its printed 6x6 image and 3x3 weight."""
    from mnistlab import examples as ex

    assert ex.REPORT_IMAGE.shape == (6, 6) and ex.REPORT_IMAGE[0].tolist() == [18, 54, 51, 239, 244, 188]
    valid = ops.conv2d(ex.REPORT_IMAGE, ex.REPORT_KERNEL)
    assert valid.dtype == np.int64
    np.testing.assert_array_equal(valid, ex.REPORT_FEATURE_MAP)  # 429 at the top left
    same = ops.conv2d(ex.REPORT_IMAGE, ex.REPORT_KERNEL, padding="same")
    assert same.shape == (6, 6) and same[0, 0] == ex.REPORT_SAME_TOP_LEFT == 139
    np.testing.assert_array_equal(ops.conv2d(ex.REPORT_IMAGE, ex.REPORT_KERNEL, padding=1), same)
    np.testing.assert_array_equal(same[1:-1, 1:-1], valid)  # "the middle 4*4 pixels would be the same"
    np.testing.assert_array_equal(ops.pool2d(valid, 2), ex.REPORT_POOLED)
    strided = ops.conv2d(ex.REPORT_STRIDE_CROP, ex.REPORT_KERNEL, stride=2)
    assert ex.REPORT_STRIDE_CROP.shape == (5, 5) and ops.output_size(5, 3, 0, 2) == 2
    np.testing.assert_array_equal(strided, valid[::2, ::2])  # stride 2 keeps every other value
    assert strided[0, 0] == 429
    for array in (ex.REPORT_IMAGE, ex.REPORT_KERNEL, ex.REPORT_FEATURE_MAP, ex.REPORT_POOLED):
        assert not array.flags.writeable


def test_the_report_kernel_is_the_x_preset():
    from mnistlab.examples import REPORT_KERNEL
    from mnistlab.kernels import PRESETS

    assert PRESETS["report X"] is REPORT_KERNEL


def test_conv2d_equals_the_teaching_loop_on_a_real_digit():
    from mnistlab.data import load_mnist

    (x, _), _ = load_mnist()
    image, kernel = x[0].astype(float), np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], float)
    loop = np.array([[(image[i:i + 3, j:j + 3] * kernel).sum() for j in range(26)] for i in range(26)])
    np.testing.assert_array_equal(ops.conv2d(image, kernel), loop)


def test_ranks_are_preserved():
    rng = np.random.default_rng(0)
    k2, k4 = rng.random((3, 3)), rng.random((3, 3, 2, 5))
    assert ops.conv2d(rng.random((8, 9)), k2).shape == (6, 7)
    assert ops.conv2d(rng.random((8, 9, 1)), k2).shape == (6, 7, 1)
    assert ops.conv2d(rng.random((8, 9, 2)), k4).shape == (6, 7, 5)
    assert ops.conv2d(rng.random((4, 8, 9, 2)), k4, stride=2).shape == (4, 3, 4, 5)
    assert ops.pool2d(rng.random((8, 9)), 2).shape == (4, 4)
    assert ops.pool2d(rng.random((8, 9, 3)), 3, 1, "avg").shape == (6, 7, 3)
    assert ops.pad2d(rng.random((8, 9)), 2).shape == (12, 13)
    assert ops.pad2d(rng.random((2, 8, 9, 3)), ((1, 0), (0, 3))).shape == (2, 9, 12, 3)


def test_large_batches_are_chunked_but_equal(monkeypatch):
    monkeypatch.setattr(ops, "_COLUMN_BUDGET", 72 * 100 * 7)  # 7 images a chunk: 43 chunks
    rng = np.random.default_rng(1)
    x = rng.standard_normal((300, 12, 12, 8)).astype(np.float32)
    k = rng.standard_normal((3, 3, 8, 16)).astype(np.float32)
    whole = ops.conv2d(x, k)
    np.testing.assert_allclose(whole[::37], np.stack([ops.conv2d(xi, k) for xi in x[::37]]), rtol=1e-5, atol=1e-5)


def test_pool_keeps_integer_dtype_for_max():
    x = np.arange(16, dtype=np.uint8).reshape(4, 4)
    assert ops.pool2d(x, 2).dtype == np.uint8
    assert ops.pool2d(x, 2, mode="avg").tolist() == [[2.5, 4.5], [10.5, 12.5]]


@pytest.mark.parametrize(("w", "f", "p", "s", "out"), [(6, 3, 0, 1, 4), (6, 3, 1, 1, 6), (64, 3, 0, 1, 62),
                                                   (32, 5, 0, 1, 28), (28, 2, 0, 2, 14), (7, 3, 0, 2, 3)])
def test_output_size(w, f, p, s, out):
    assert ops.output_size(w, f, p, s) == out


def test_output_size_that_does_not_tile_says_what_frameworks_do():
    with pytest.raises(ValueError, match=r"\(6 - 3 \+ 2\*0\) / 2 \+ 1 = 2\.5 is not a whole number.*"
                                         r"floor\(3/2\) \+ 1 = 2 \(padding='valid'\).*ceil\(6/2\) = 3"):
        ops.output_size(6, 3, 0, 2)
    with pytest.raises(ValueError, match="does not fit"):
        ops.output_size(2, 5)
    assert ops.output_size(6, 3, 0, 2, partial="drop") == 2
    assert not ops.tiles(6, 3, 0, 2) and ops.tiles(5, 3, 0, 2) and ops.tiles(28, 3, 1, 1)
    assert ops.output_size_formula(6, 3, 0, 2) == "(6 - 3 + 2*0) / 2 + 1 = 2.5"
    with pytest.raises(ValueError, match="partial: expected 'error' or 'drop'"):
        ops.output_size(6, 3, partial="floor")


@settings(max_examples=300, deadline=None)
@given(w=st.integers(1, 40), f=st.integers(1, 9), p=st.integers(0, 4), s=st.integers(1, 5))
def test_output_size_is_the_size_conv2d_and_pool2d_give(w, f, p, s):
    """The one formula agrees with the shapes the ops produce (frameworks' floor when it does not tile)."""
    if f > w + 2 * p:
        return
    x = np.zeros((w, w + 1))
    expected = (ops.output_size(w, f, p, s, partial="drop"), ops.output_size(w + 1, f, p, s, partial="drop"))
    assert ops.conv2d(x, np.ones((f, f)), stride=s, padding=p).shape == expected
    if p == 0:
        assert ops.pool2d(x, f, s).shape == expected


# --- bad arguments ------------------------------------------------------------------------

@pytest.mark.parametrize(("call", "message"), [
    (lambda: ops.conv2d(np.zeros((4, 4)), np.zeros((5, 5))),
     r"kernels: a 5x5 kernel is larger than the padded input 4x4"),
    (lambda: ops.conv2d(np.zeros((6, 6)), np.zeros((3, 3)), stride=0), r"stride: expected values >= 1"),
    (lambda: ops.conv2d(np.zeros((6, 6, 3)), np.zeros((3, 3, 2, 4))), r"kernels: expected 3 input channel\(s\)"),
    (lambda: ops.conv2d(np.zeros((6, 6)), np.zeros((3, 3, 3))), r"kernels: expected \(KH, KW\) or \(KH, KW, C, K\)"),
    (lambda: ops.conv2d(np.zeros(6), np.zeros((3, 3))), r"x: expected shape \(H, W\), \(H, W, C\) or \(N, H, W, C\)"),
    (lambda: ops.conv2d(np.zeros((6, 6)), np.zeros((3, 3)), padding="full"), r"padding: expected 'valid', 'same'"),
    (lambda: ops.conv2d(np.zeros((6, 6)), np.zeros((3, 3)), padding=-1), r"padding: expected values >= 0"),
    (lambda: ops.conv2d(np.zeros((6, 6)), np.zeros((3, 3, 1, 2)), bias=np.zeros(3)),
     r"bias: expected a scalar or shape \(2,\)"),
    (lambda: ops.pool2d(np.zeros((6, 6)), 2, mode="median"), r"mode: expected 'max', 'avg' or 'l2'"),
    (lambda: ops.pool2d(np.zeros((2, 2)), 3), r"size: a 3x3 window is larger than the input 2x2"),
    (lambda: ops.pool2d(np.zeros((6, 6)), 2, stride=0), r"stride: expected values >= 1"),
    (lambda: ops.pool2d(np.zeros((6, 6)), 2, padding=1), r"padding: expected 'valid' or 'same' for pooling"),
    (lambda: ops.dense(np.zeros((2, 5)), np.zeros((4, 3))), r"kernel: expected shape \(5, units\)"),
    (lambda: ops.pad2d(np.zeros((3, 3)), "same"), r"padding: pad2d takes amounts"),
    (lambda: ops.output_size(6, 3, s=0), r"s: expected an int >= 1"),
])
def test_bad_arguments_name_what_was_expected(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --- gradients: against tf.GradientTape and against central differences in float64 -------------

def tape_gradients(fn, grad_out, *inputs):
    """The gradients of sum(fn(*inputs) * grad_out) with respect to each input, by TensorFlow."""
    variables = [tf.constant(v) for v in inputs]
    with tf.GradientTape() as tape:
        tape.watch(variables)
        y = fn(*variables)
        loss = tf.reduce_sum(y * grad_out)
    return [g.numpy() for g in tape.gradient(loss, variables)]


def small(case):
    """A conv case cut to at most 2 images and 6x6, in float64, for the numerical checks."""
    x, kernels, bias, stride = case
    x = x[:2, :max(6, kernels.shape[0]), :max(6, kernels.shape[1])].astype(np.float64)
    return x, kernels.astype(np.float64), bias.astype(np.float64), stride


def random_like(shape, seed: int = 0, dtype=np.float32) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@SETTINGS
@given(conv_case(), st.sampled_from(["valid", "same", "explicit"]), st.integers(0, 3))
def test_conv2d_backward_matches_gradient_tape(case, padding, pad):
    x, kernels, bias, stride = case
    if padding == "explicit":
        ours, theirs = ((pad, 1), (0, pad)), [[0, 0], [pad, 1], [0, pad], [0, 0]]
    else:
        ours, theirs = padding, padding.upper()
    out = ops.conv2d(x, kernels, bias, stride=stride, padding=ours)
    assume(not onednn_gets_it_wrong(x, out.shape, stride))
    grad_out = random_like(out.shape, seed=out.size)
    expected = tape_gradients(lambda a, k, b: tf.nn.conv2d(a, k, stride, theirs) + b, grad_out, x, kernels, bias)
    got = ops.conv2d_backward(x, kernels, grad_out, stride=stride, padding=ours)
    for name, g, e in zip(("grad_x", "grad_kernels", "grad_bias"), got, expected, strict=True):
        assert g.shape == e.shape, name
        np.testing.assert_allclose(g, e, atol=1e-3, rtol=1e-4, err_msg=name)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conv_case(), st.sampled_from(["valid", "same"]))
def test_conv2d_backward_matches_central_differences(case, padding):
    x, kernels, bias, stride = small(case)
    grad_out = random_like(ops.conv2d(x, kernels, stride=stride, padding=padding).shape, 1, np.float64)
    grad_x, grad_k, grad_b = ops.conv2d_backward(x, kernels, grad_out, stride=stride, padding=padding)

    def loss(xx=x, kk=kernels, bb=bias):
        return float((ops.conv2d(xx, kk, bb, stride=stride, padding=padding) * grad_out).sum())

    np.testing.assert_allclose(grad_x, numerical_gradient(lambda v: loss(xx=v), x), atol=1e-6)
    np.testing.assert_allclose(grad_k, numerical_gradient(lambda v: loss(kk=v), kernels), atol=1e-6)
    np.testing.assert_allclose(grad_b, numerical_gradient(lambda v: loss(bb=v), bias), atol=1e-6)


@SETTINGS
@given(conv_case())
def test_conv2d_backward_to_the_input_is_a_full_convolution_with_the_flipped_kernel(case):
    """At stride 1, grad_x = conv2d(grad_out zero-padded by the kernel size - 1, kernel rotated 180 degrees)."""
    x, kernels, _, _ = case
    grad_out = random_like(ops.conv2d(x, kernels).shape, 2)
    kh, kw = kernels.shape[:2]
    flipped = kernels[::-1, ::-1].transpose(0, 1, 3, 2)  # rotated, and from K outputs back to C inputs
    full = ops.conv2d(grad_out, flipped, padding=((kh - 1, kh - 1), (kw - 1, kw - 1)))
    np.testing.assert_allclose(ops.conv2d_backward(x, kernels, grad_out)[0], full, atol=1e-4, rtol=1e-5)


def test_conv2d_backward_on_the_report_example():
    """The gradient of the report's top-left output (429) with respect to the kernel is the patch under it."""
    from mnistlab import examples

    image, kernel = examples.REPORT_IMAGE, examples.REPORT_KERNEL
    out = ops.conv2d(image, kernel)
    grad_out = np.zeros_like(out)
    grad_out[0, 0] = 1
    grad_x, grad_k, grad_b = ops.conv2d_backward(image, kernel, grad_out)
    np.testing.assert_array_equal(grad_k, image[:3, :3])
    expected_x = np.zeros_like(image)
    expected_x[:3, :3] = kernel
    np.testing.assert_array_equal(grad_x, expected_x)
    assert grad_b == 1 and grad_x.dtype.kind == "i" and int((grad_k * kernel).sum()) == out[0, 0] == 429


def tf_pool(mode, size, stride, padding):
    if mode == "max":
        return lambda a: tf.nn.max_pool2d(a, size, stride, padding.upper())
    if mode == "avg":
        return lambda a: tf.nn.avg_pool2d(a, size, stride, padding.upper())

    def l2(a):  # TensorFlow places the padding: its average of squares times its count of real pixels per window
        ones = tf.ones((1, *a.shape[1:3], 1))
        counts = tf.nn.conv2d(ones, tf.ones((*size, 1, 1)), stride, padding.upper())  # zero padding counts nothing
        return tf.sqrt(tf.nn.avg_pool2d(a * a, size, stride, padding.upper()) * counts)
    return l2


@SETTINGS
@given(pool_case(), st.sampled_from(["valid", "same"]), st.sampled_from(["max", "avg", "l2"]))
def test_pool2d_backward_matches_gradient_tape(case, padding, mode):
    x, size, stride = case
    grad_out = random_like(ops.pool2d(x, size, stride, mode, padding).shape, 3)
    (expected,) = tape_gradients(tf_pool(mode, size, stride, padding), grad_out, x)
    got = ops.pool2d_backward(x, grad_out, size, stride, mode, padding)
    assert got.shape == x.shape
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=1e-4)


@SETTINGS
@given(pool_case(), st.sampled_from(["valid", "same"]))
def test_max_pool2d_backward_routes_ties_as_tensorflow(case, padding):
    """Digits of 0, 1 and 2 tie in most windows: the gradient goes to the first maximum, overlap or not."""
    x, size, stride = case
    ties = np.random.default_rng(x.size).integers(0, 3, x.shape).astype(np.float32)
    grad_out = random_like(ops.pool2d(ties, size, stride, "max", padding).shape, 4)
    (expected,) = tape_gradients(tf_pool("max", size, stride, padding), grad_out, ties)
    np.testing.assert_allclose(ops.pool2d_backward(ties, grad_out, size, stride, "max", padding), expected,
                               atol=1e-5)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pool_case(), st.sampled_from(["valid", "same"]), st.sampled_from(["max", "avg", "l2"]))
def test_pool2d_backward_matches_central_differences(case, padding, mode):
    x, size, stride = case
    x = x[:2, :max(6, size[0]), :max(6, size[1])].astype(np.float64)
    grad_out = random_like(ops.pool2d(x, size, stride, mode, padding).shape, 5, np.float64)
    numerical = numerical_gradient(lambda v: float((ops.pool2d(v, size, stride, mode, padding) * grad_out).sum()), x)
    np.testing.assert_allclose(ops.pool2d_backward(x, grad_out, size, stride, mode, padding), numerical, atol=1e-6)


@SETTINGS
@given(feature_maps, st.integers(2, 12), st.integers(0, 2**31 - 1))
def test_dense_relu_flatten_softmax_cross_entropy_backward_match_gradient_tape(shape, units, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    kernel = rng.standard_normal((int(np.prod(shape[1:])), units)).astype(np.float32)
    bias = rng.standard_normal(units).astype(np.float32)
    labels = rng.integers(0, units, shape[0])
    flat = ops.flatten(x)
    grad_flat = rng.standard_normal(flat.shape).astype(np.float32)  # folded back where Keras' Flatten sends it
    np.testing.assert_array_equal(ops.flatten_backward(x, grad_flat),
                                  tape_gradients(keras.layers.Flatten(), grad_flat, x)[0])
    z = ops.dense(flat, kernel, bias)
    g = random_like(z.shape, seed)
    for got, expected in zip(ops.dense_backward(flat, kernel, g),
                             tape_gradients(lambda a, k, b: a @ k + b, g, flat, kernel, bias), strict=True):
        np.testing.assert_allclose(got, expected, atol=1e-4, rtol=1e-4)
    np.testing.assert_array_equal(ops.relu_backward(z, g), tape_gradients(tf.nn.relu, g, z)[0])
    np.testing.assert_allclose(ops.softmax_backward(ops.softmax(z), g), tape_gradients(tf.nn.softmax, g, z)[0],
                               atol=1e-5, rtol=1e-4)
    one_hot = np.eye(units, dtype=np.float32)[labels]
    keras_loss = keras.losses.CategoricalCrossentropy(from_logits=True)
    np.testing.assert_allclose(ops.cross_entropy(z, labels), float(keras_loss(one_hot, z)), rtol=1e-4)
    variable = tf.constant(z)
    with tf.GradientTape() as tape:
        tape.watch(variable)
        loss = keras.losses.CategoricalCrossentropy(from_logits=True)(one_hot, variable)
    np.testing.assert_allclose(ops.cross_entropy_backward(z, labels), tape.gradient(loss, variable).numpy(),
                               atol=1e-6)
    np.testing.assert_allclose(ops.cross_entropy_backward(z, one_hot), ops.cross_entropy_backward(z, labels))


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 4), st.integers(1, 6), st.integers(2, 5), st.integers(0, 2**31 - 1))
def test_dense_softmax_cross_entropy_backward_match_central_differences(n, features, units, seed):
    rng = np.random.default_rng(seed)
    x, kernel = rng.standard_normal((n, features)), rng.standard_normal((features, units))
    bias, g, labels = rng.standard_normal(units), rng.standard_normal((n, units)), rng.integers(0, units, n)
    grad_x, grad_k, grad_b = ops.dense_backward(x, kernel, g)

    def loss(xx=x, kk=kernel, bb=bias):
        return float((ops.dense(xx, kk, bb) * g).sum())

    np.testing.assert_allclose(grad_x, numerical_gradient(lambda v: loss(xx=v), x), atol=1e-6)
    np.testing.assert_allclose(grad_k, numerical_gradient(lambda v: loss(kk=v), kernel), atol=1e-6)
    np.testing.assert_allclose(grad_b, numerical_gradient(lambda v: loss(bb=v), bias), atol=1e-6)
    z = x @ kernel
    np.testing.assert_allclose(ops.softmax_backward(ops.softmax(z), g),
                               numerical_gradient(lambda v: float((ops.softmax(v) * g).sum()), z), atol=1e-6)
    np.testing.assert_allclose(ops.cross_entropy_backward(z, labels),
                               numerical_gradient(lambda v: ops.cross_entropy(v, labels), z), atol=1e-6)
    np.testing.assert_allclose(ops.relu_backward(z, g), numerical_gradient(lambda v: float((ops.relu(v) * g).sum()), z),
                               atol=1e-6)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: ops.conv2d_backward(np.zeros((6, 6)), np.zeros((3, 3)), np.zeros((3, 3))),
     r"grad_out: expected the shape of the forward output \(4, 4\), got \(3, 3\)"),
    (lambda: ops.pool2d_backward(np.zeros((2, 6, 6, 1)), np.zeros((2, 3, 3))),
     r"grad_out: expected the shape of the forward output \(2, 3, 3, 1\)"),
    (lambda: ops.dense_backward(np.zeros((2, 5)), np.zeros((5, 3)), np.zeros((2, 4))),
     r"grad_out: expected the shape of the forward output \(2, 3\)"),
    (lambda: ops.relu_backward(np.zeros(3), np.zeros(4)), r"grad_out: expected the shape"),
    (lambda: ops.cross_entropy(np.zeros((2, 3)), np.array([0, 3])), r"labels: expected classes 0 to 2, got 0 to 3"),
    (lambda: ops.cross_entropy(np.zeros((2, 3)), np.zeros((2, 4))), r"labels: expected integer classes of shape"),
])
def test_bad_gradient_arguments_name_what_was_expected(call, message):
    with pytest.raises(ValueError, match=message):
        call()
