"""Transformed test digits: whole-pixel shifts, rotations, and accuracy under them."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mnistlab import attacks, fonts, inference, robustness, transforms


def dot(row: int, col: int, dtype=np.uint8) -> np.ndarray:
    image = np.zeros((1, 28, 28), dtype)
    image[0, row, col] = 200
    return image


@given(st.integers(0, 27), st.integers(0, 27), st.integers(-27, 27), st.integers(-27, 27))
def test_shift_moves_every_pixel_by_dx_dy_and_lets_zeros_in(row, col, dx, dy):
    moved = transforms.shift(dot(row, col), dx, dy)
    inside = 0 <= row + dy < 28 and 0 <= col + dx < 28
    expected = dot(row + dy, col + dx) if inside else np.zeros((1, 28, 28), np.uint8)
    np.testing.assert_array_equal(moved, expected)


def test_shift_keeps_channels_and_dtype_and_names_bad_arguments():
    images = np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32)
    moved = transforms.shift(images, 4, 4)
    assert moved.shape == images.shape and moved.dtype == np.float32
    np.testing.assert_array_equal(moved[:, 4:, 4:], images[:, :-4, :-4])
    assert not moved[:, :4].any() and not moved[:, :, :4].any()
    with pytest.raises(ValueError, match="dx: expected a whole number of pixels from -27 to 27, got 1.5"):
        transforms.shift(images, 1.5, 0)
    with pytest.raises(ValueError, match="dy: expected a whole number of pixels from -27 to 27, got 28"):
        transforms.shift(images, 0, 28)
    with pytest.raises(ValueError, match=r"images: expected \(N, 28, 28\) or \(N, 28, 28, 1\) digits, got shape"):
        transforms.shift(np.zeros((28, 28)), 1, 1)


def test_rotate_turns_counter_clockwise_about_the_centre():
    above = np.zeros((1, 28, 28), np.float32)
    above[0, 4, 13:15] = 1.0  # a mark above the centre (13.5, 13.5)
    left = transforms.rotate(above, 90)
    assert {tuple(p) for p in np.argwhere(left[0] > 0.5)} == {(13, 4), (14, 4)}
    right = transforms.rotate(above, -90)
    assert {tuple(p) for p in np.argwhere(right[0] > 0.5)} == {(13, 23), (14, 23)}
    np.testing.assert_allclose(transforms.rotate(above, 0), above)
    np.testing.assert_allclose(transforms.rotate(above, 360), above, atol=1e-5)


@pytest.mark.parametrize("degrees", [20, -33.5, 71, 137])
@pytest.mark.parametrize("shape", [(3, 28, 28), (2, 28, 28, 1)])
def test_rotate_of_uint8_digits_is_the_float_rotation_rounded_and_clipped(degrees, shape):
    """uint8 digits turn as the same digits as floats do, then each pixel is rounded to the nearest whole value
    (not cut down) and clipped to 0-255."""
    digits = np.random.default_rng(1).integers(0, 256, shape, dtype=np.uint8)
    digits[0, 8:20, 8:20] = 255  # saturated ink, where the turned values stay near 255
    turned = transforms.rotate(digits, degrees)
    as_floats = transforms.rotate(digits.astype(np.float32), degrees)
    assert turned.dtype == np.uint8 and turned.shape == digits.shape and as_floats.dtype == np.float32
    np.testing.assert_array_equal(turned, np.clip(np.rint(as_floats), 0, 255).astype(np.uint8))
    assert (np.rint(as_floats) != np.floor(as_floats)).mean() > 0.1  # rounding, not truncation, matters here
    assert not np.array_equal(turned, digits)


def test_accuracy_under_scores_the_transformed_digits():
    images = np.stack([dot(5, 5)[0], dot(20, 20)[0]])

    def predict(x):  # "1" when the top-left quarter has ink, else "0"
        top_left = x[:, :14, :14].reshape(len(x), -1).any(axis=1)
        return np.stack([~top_left, top_left], axis=1).astype(float)

    labels = np.array([1, 0])
    assert robustness.accuracy_under(predict, images, labels) == 1.0
    assert robustness.accuracy_under(predict, images, labels, lambda x: transforms.shift(x, 10, 10)) == 0.5
    with pytest.raises(ValueError, match="labels: expected 2 labels, got shape"):
        robustness.accuracy_under(predict, images, np.array([1]))


def bar(rows: slice = slice(10, 18), cols: slice = slice(12, 16), dtype=np.uint8) -> np.ndarray:
    image = np.zeros((1, 28, 28), dtype)
    image[0, rows, cols] = 255 if dtype == np.uint8 else 1.0
    return image


@pytest.mark.parametrize("factor", [0.5, 0.75, 1.5, 2.0])
def test_scale_grows_or_shrinks_about_the_centre(factor):
    square = bar(slice(10, 18), slice(10, 18), np.float32)  # 8x8, centred on 13.5
    scaled = transforms.scale(square, factor)[0]
    ink = np.argwhere(scaled > 0.5)
    assert ink.min(axis=0).tolist() == ink.min(axis=0)[::-1].tolist()  # still square
    side = ink.max(axis=0) - ink.min(axis=0) + 1
    assert abs(side[0] - 8 * factor) <= 1
    np.testing.assert_allclose(ink.mean(axis=0), [13.5, 13.5], atol=0.01)  # same centre
    np.testing.assert_allclose(transforms.scale(square, 1.0), square)
    with pytest.raises(ValueError, match="factor: expected a size factor from 0.1 to 5, got 0"):
        transforms.scale(square, 0)


@given(st.integers(-2, 3))
def test_thickness_adds_or_removes_pixels_on_each_side(pixels):
    stroke = bar(slice(4, 24), slice(10, 16))  # a vertical stroke 6 pixels wide
    changed = transforms.thickness(stroke, pixels)[0]
    row = changed[14]
    assert (row > 0).sum() == 6 + 2 * pixels
    assert changed.dtype == np.uint8


def test_thickness_noise_blur_invert_check_their_arguments():
    image = bar()
    for call, message in [(lambda: transforms.thickness(image, 1.5), "pixels: expected a whole number from -5 to 5"),
                          (lambda: transforms.noise(image, -0.1), "sigma: expected a share of full brightness"),
                          (lambda: transforms.blur(image, 11), "sigma: expected a blur radius"),
                          (lambda: transforms.invert(image, 2), "amount: expected a share from 0 to 1")]:
        with pytest.raises(ValueError, match=message):
            call()


def test_noise_is_seeded_clipped_and_of_the_asked_size():
    blank = np.full((50, 28, 28), 0.5, np.float32)
    noisy = transforms.noise(blank, 0.1, seed=3)
    np.testing.assert_array_equal(noisy, transforms.noise(blank, 0.1, seed=3))
    assert not np.array_equal(noisy, transforms.noise(blank, 0.1, seed=4))
    assert abs(float((noisy - 0.5).std()) - 0.1) < 0.005
    np.testing.assert_array_equal(transforms.noise(bar(), 0.0), bar())


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize(("sigma", "seed"), [(0.1, 0), (0.5, 7), (3.0, 11)])
def test_noise_saturates_full_ink_and_empty_paper_instead_of_wrapping(dtype, sigma, seed):
    """The same seed adds the same noise to a bar and to its inverse: where that noise is positive it brightens the
    inverse's paper and the bar's full ink stays full; where it is negative it darkens the inverse's ink and the
    bar's paper stays 0 (no uint8 wrap-around, no float above 1 or below 0)."""
    full = 255 if dtype == np.uint8 else 1.0
    image, inverse = bar(dtype=dtype), full - bar(dtype=dtype)
    noisy, noisy_inverse = transforms.noise(image, sigma, seed=seed), transforms.noise(inverse, sigma, seed=seed)
    assert noisy.dtype == noisy_inverse.dtype == dtype
    ink = image == full
    brightened = noisy_inverse > 0  # positive noise, where the inverse had paper (the bar's ink)
    darkened = noisy < full  # negative noise, where the bar had ink: the inverse's paper stayed 0 beneath it
    assert (ink & brightened).sum() > 5 and (~ink & (noisy_inverse < full)).sum() > 100
    np.testing.assert_array_equal(noisy[ink & brightened], full)
    np.testing.assert_array_equal(noisy[~ink & (noisy_inverse < full)], 0)
    np.testing.assert_array_equal(noisy_inverse[ink & darkened], 0)


def test_blur_keeps_the_ink_and_spreads_it():
    dot_image = dot(14, 14, np.float32)
    blurred = transforms.blur(dot_image, 1.0)[0]
    assert abs(float(blurred.sum()) - 200.0) < 1e-3  # a Gaussian keeps the total (away from the border)
    assert blurred[14, 14] < 200 and blurred[14, 15] > 0
    np.testing.assert_allclose(blurred, blurred.T, atol=1e-5)  # round
    np.testing.assert_array_equal(transforms.blur(dot_image, 0), dot_image)


def test_invert_swaps_ink_and_paper():
    np.testing.assert_array_equal(transforms.invert(bar()), 255 - bar())
    np.testing.assert_allclose(transforms.invert(bar(dtype=np.float32), 0.5), np.full((1, 28, 28), 0.5))
    np.testing.assert_array_equal(transforms.invert(bar(), 0.0), bar())


def test_every_transform_is_the_identity_at_its_identity_strength_and_keeps_shape_and_dtype():
    digits = np.random.default_rng(2).integers(0, 256, (4, 28, 28, 1), dtype=np.uint8)
    for name, transform in transforms.TRANSFORMS.items():
        np.testing.assert_array_equal(transforms.transformed(digits, name, transform.identity), digits, err_msg=name)
        assert transform.strengths[0] == transform.identity
        for strength in transform.strengths:
            changed = transforms.transformed(digits, name, strength)
            assert changed.shape == digits.shape and changed.dtype == digits.dtype, name
    with pytest.raises(ValueError, match="transform: expected one of shift right, .*; got 'zoom'"):
        transforms.transformed(digits, "zoom", 1)


def quarter_predict(x):  # "1" when the top-left quarter has ink, else "0"
    top_left = np.asarray(x).reshape(len(x), 28, 28)[:, :14, :14].reshape(len(x), -1).any(axis=1)
    return np.stack([~top_left, top_left], axis=1).astype(float)


def test_sweep_measures_every_strength_and_finds_the_first_failures():
    images = np.concatenate([dot(12, 12), dot(9, 9), dot(20, 20)])  # a "1" near the edge, a "1" deeper, a "0"
    labels = np.array([1, 1, 0])
    result = robustness.sweep(quarter_predict, images, labels, ["shift diagonal", "invert"])
    table = result.table
    assert list(table["transform"].unique()) == ["shift diagonal", "invert"]
    shifted = table[table["transform"] == "shift diagonal"].set_index("strength")["accuracy"]
    # shift by s: the first "1" leaves the quarter at s = 2, the second at s = 5; the "0" stays right
    np.testing.assert_allclose(shifted.to_numpy(), [1, 1, 2 / 3, 2 / 3, 2 / 3, 1 / 3, 1 / 3])
    assert result.accuracy("shift diagonal", 5) == pytest.approx(1 / 3)
    failures = result.first_failures("shift diagonal")
    assert failures.to_dict("records") == [{"index": 0, "strength": 2, "predicted": 0},
                                           {"index": 1, "strength": 5, "predicted": 0}]
    # inverted, every quarter has ink: the "0" fails at the first strength (0.25)
    assert result.first_failures("invert")["index"].tolist() == [2]
    with pytest.raises(ValueError, match="names: expected transforms among .*; got 'zoom'"):
        robustness.sweep(quarter_predict, images, labels, ["zoom"])


def test_accuracy_table_puts_the_models_sweeps_side_by_side_in_percent():
    images = np.concatenate([dot(12, 12), dot(9, 9), dot(20, 20)])
    labels = np.array([1, 1, 0])
    both = robustness.sweep(quarter_predict, images, labels, ["shift diagonal", "invert"])
    one = robustness.sweep(quarter_predict, images, labels, ["invert"])
    table = robustness.accuracy_table({"both": both.table, "invert only": one.table})
    assert list(table.columns) == ["both", "invert only"] and table.index.names == ["transform", "strength"]
    rows = [(f"shift diagonal ({transforms.TRANSFORMS['shift diagonal'].unit})", f"{s:g}") for s in range(7)]
    assert list(table.index[:7]) == rows
    np.testing.assert_array_equal(table["both"].iloc[:7], [100, 100, 66.7, 66.7, 66.7, 33.3, 33.3])
    assert table["invert only"].iloc[:7].isna().all()  # a transform a model was not swept on: no number
    inverted = table.iloc[7:]
    np.testing.assert_array_equal(inverted["both"], inverted["invert only"])
    np.testing.assert_array_equal(inverted["both"], (100 * one.table["accuracy"]).round(1))


def test_printed_digits_are_prepared_mnist_style_for_each_font_size_and_angle():
    found = fonts.printed_fonts()
    assert "DejaVu Sans" in found and "cmr10" in found
    assert not {"cmsy10", "cmex10", "cmmi10"} & set(found)  # symbols, no digits, old-style figures
    chosen = {name: found[name] for name in ("DejaVu Sans", "cmtt10")}
    images, labels, info = fonts.printed_digits(sizes=(20, 40), angles=(0, 15), fonts=chosen)
    assert images.shape == (2 * 2 * 2 * 10, 28, 28) and images.dtype == np.float32
    assert labels.tolist() == list(range(10)) * 8
    assert info.groupby("font").size().to_dict() == {"DejaVu Sans": 40, "cmtt10": 40}
    assert 0 <= images.min() and images.max() <= 1
    ink_rows = np.flatnonzero(images[1].any(axis=1))  # a "1": 20 pixels tall, like MNIST
    assert ink_rows[-1] - ink_rows[0] + 1 in (20, 21)
    with pytest.raises(FileNotFoundError, match="no such folder of fonts"):
        fonts.printed_fonts("/no/such/folder")


@pytest.mark.tensorflow
def test_adversarial_finds_the_smallest_flipping_step_of_a_linear_model():
    keras = pytest.importorskip("keras")
    from mnistlab.runtime import configure

    configure(seed=0, tensorflow=True, plots=False)
    weights = np.zeros((784, 10), np.float32)
    weights[:, 1] = 1.0 / 784  # class 1 scores the mean brightness; class 0 a constant 0.2475
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    bias = np.full(10, -50.0, np.float32)
    bias[:2] = 0.2475, 0.0
    model.layers[-1].set_weights([weights, bias])
    image = np.full((28, 28), 0.3, np.float32)  # mean 0.3 > 0.25: a "1"
    found = attacks.adversarial(model, image, 1)
    # the step lowers every pixel: the mean must fall below 0.2475, so epsilon 0.055 (0.05 is not enough)
    assert found.predicted == 0 and found.epsilon == pytest.approx(0.055)
    np.testing.assert_allclose(found.changed, np.full((28, 28), 0.3 - 0.055), atol=1e-6)
    gradient = attacks.input_gradient(model, image[None], np.array([1]))
    assert gradient.shape == (1, 28, 28) and (gradient < 0).all()  # more ink, more "1": less loss
    # the same search for many digits at once: 0.3 needs 0.055; a 0.26 grey labelled 0 is read wrong already (the
    # first step counts, as in adversarial()); 0.6 would need 0.3525, more than 0.3 (inf); uint8 digits are scaled
    # as the models' input is
    images = np.stack([image, np.full((28, 28), 0.26, np.float32), np.full((28, 28), 0.6, np.float32)])
    steps = attacks.smallest_steps(model, images, np.array([1, 0, 1]))
    assert steps[0] == pytest.approx(0.055) and steps[2] == np.inf
    assert steps[1] == pytest.approx(attacks.adversarial(model, images[1], 0).epsilon)
    np.testing.assert_array_equal(attacks.smallest_steps(model, (images * 255).round().astype(np.uint8)[:1],
                                                         np.array([1])), attacks.smallest_steps(model, images[:1], [1]))


@pytest.mark.tensorflow
def test_input_gradient_is_the_op_by_op_gradient_follows_the_weights_and_lets_the_model_go():
    """The gradient is traced once per model: over random models and batch sizes it equals TensorFlow's gradient taken
    op by op, it reads the weights as they are now, and it keeps no model alive."""
    import gc
    import weakref

    keras = pytest.importorskip("keras")
    import tensorflow as tf

    from mnistlab.runtime import configure

    configure(seed=0, tensorflow=True, plots=False)
    rng = np.random.default_rng(1)

    def by_hand(model, images, labels):
        x = tf.convert_to_tensor(images[..., None])
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = keras.losses.sparse_categorical_crossentropy(labels, model(x, training=False))
        return tape.gradient(loss, x).numpy()[..., 0]

    for _ in range(4):
        model = keras.Sequential([keras.Input((28, 28, 1)),
                                  keras.layers.Conv2D(int(rng.integers(1, 6)), int(rng.integers(2, 6)),
                                                      strides=int(rng.integers(1, 3)), activation="relu"),
                                  keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
        for n in rng.integers(1, 40, 3):
            images, labels = rng.random((n, 28, 28), dtype=np.float32), rng.integers(0, 10, n)
            np.testing.assert_allclose(attacks.input_gradient(model, images, labels), by_hand(model, images, labels),
                                       rtol=1e-5, atol=1e-7)
        model.set_weights([w + rng.normal(0, 0.1, w.shape).astype(np.float32) for w in model.get_weights()])
        np.testing.assert_allclose(attacks.input_gradient(model, images, labels), by_hand(model, images, labels),
                                   rtol=1e-5, atol=1e-7)
    gone = weakref.ref(model)
    del model
    gc.collect()
    assert gone() is None


@pytest.mark.tensorflow
def test_iterated_steps_stay_within_epsilon_of_the_digits_and_within_0_and_1():
    keras = pytest.importorskip("keras")
    from mnistlab.runtime import configure

    configure(seed=0, tensorflow=True, plots=False)
    rng = np.random.default_rng(0)
    for n, epsilon, steps in [(1, 0.0, 1), (5, 0.05, 3), (17, 0.2, 4), (3, 1.5, 2)]:
        model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(4, 3, activation="relu"),
                                  keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
        images = rng.random((n, 28, 28), dtype=np.float32)
        changed = attacks.iterated(model, images, rng.integers(0, 10, n), epsilon, steps=steps)
        assert changed.shape == images.shape and changed.dtype == np.float32
        assert (np.abs(changed - images) <= epsilon + 1e-6).all() and changed.min() >= 0 and changed.max() <= 1
    uint8 = attacks.iterated(model, (images * 255).astype(np.uint8)[..., None], np.zeros(n, int), 0.1, steps=2)
    assert uint8.shape == (n, 28, 28) and uint8.dtype == np.float32 and 0 <= uint8.min() <= uint8.max() <= 1
    with pytest.raises(ValueError, match="epsilon must be at least 0"):
        attacks.iterated(model, images, np.zeros(n, int), -0.1)
    with pytest.raises(ValueError, match="images: expected"):
        attacks.iterated(model, images[:, :27], np.zeros(n, int), 0.1)


@pytest.mark.tensorflow
def test_iterated_steps_flip_a_digit_that_one_step_of_the_same_size_overshoots():
    keras = pytest.importorskip("keras")
    from mnistlab.runtime import configure

    configure(seed=0, tensorflow=True, plots=False)
    # Class 0's logit is a tent over the mean brightness m, 1 - 40 |m - 0.35|; class 1's is 0. From an even grey of
    # 0.3 (m = 0.3, read as 1), one signed step of 0.1 lands at m = 0.4, as far down the other side of the tent:
    # still a 1. Steps of 0.1 / 8 climb to the top (m near 0.35, logit near 1) and stay there: read as 0.
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(2, activation="relu"), keras.layers.Dense(10, activation="softmax")])
    model.layers[1].set_weights([np.tile(np.array([[1, -1]], np.float32) / 784, (784, 1)),
                                 np.array([-0.35, 0.35], np.float32)])
    head = np.zeros((2, 10), np.float32)
    head[:, 0] = -40
    bias = np.full(10, -50.0, np.float32)
    bias[:2] = 1.0, 0.0
    model.layers[2].set_weights([head, bias])
    image = np.full((1, 28, 28), 0.3, np.float32)
    label = np.array([1])
    assert inference.predict(model, image).argmax() == 1
    one_step = np.clip(image + 0.1 * np.sign(attacks.input_gradient(model, image, label)), 0, 1)
    assert one_step.mean() == pytest.approx(0.4) and inference.predict(model, one_step).argmax() == 1
    changed = attacks.iterated(model, image, label, 0.1)
    assert abs(changed.mean() - 0.35) <= 0.1 / 8 + 1e-6 and inference.predict(model, changed).argmax() == 0


@pytest.mark.tensorflow
def test_load_or_headline_and_sweep_compute_once_and_key_on_the_weights_and_digits(tmp_path, monkeypatch):
    keras = pytest.importorskip("keras")
    from mnistlab.data import load_mnist
    from mnistlab.runtime import configure

    monkeypatch.setenv("MNISTLAB_CACHE", str(tmp_path))
    configure(seed=0, tensorflow=True, plots=False)
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")], name="linear")
    _, (x_test, y_test) = load_mnist()
    images, labels = x_test[:300], y_test[:300]
    calls = []
    model.predict_on_batch = lambda x, f=model.predict_on_batch: calls.append(len(x)) or f(x)

    scores = robustness.load_or_headline(model, images, labels, warn=pytest.fail)
    assert scores == robustness.headline(inference.predictor(model), images, labels)
    assert list(scores) == ["unchanged", *robustness.HEADLINE]
    computed = len(calls)
    assert robustness.load_or_headline(model, images, labels, warn=pytest.fail) == scores
    assert len(calls) == computed  # read from the cache: nothing predicted

    names = ["shift right", "scale"]
    fresh = robustness.load_or_sweep(model, images, labels, names, warn=pytest.fail)
    computed = len(calls)
    cached = robustness.load_or_sweep(model, images, labels, names, warn=pytest.fail)
    assert len(calls) == computed
    assert cached.table.equals(fresh.table) and cached.predicted.keys() == fresh.predicted.keys()
    for key, guess in fresh.predicted.items():
        np.testing.assert_array_equal(cached.predicted[key], guess)
    assert cached.first_failures("scale").equals(fresh.first_failures("scale"))

    robustness.load_or_headline(model, images[:200], labels[:200], warn=pytest.fail)  # other digits
    assert len(calls) > computed
    computed = len(calls)
    kernel, bias = model.layers[-1].get_weights()
    model.layers[-1].set_weights([kernel, bias + 1])  # other weights
    robustness.load_or_headline(model, images, labels, warn=pytest.fail)
    assert len(calls) > computed

    entry = next(tmp_path.glob("robustness-sweep-linear-n300-*"))  # an entry edited by hand is computed again
    meta = json.loads((entry / "meta.json").read_text())
    meta["meta"]["predicted"] = meta["meta"]["predicted"][:-1]
    (entry / "meta.json").write_text(json.dumps(meta))
    warnings = []
    model.layers[-1].set_weights([kernel, bias])
    again = robustness.load_or_sweep(model, images, labels, names, warn=warnings.append)
    assert len(warnings) == 1 and "its sweep cannot be read" in warnings[0]
    assert again.table.equals(fresh.table)
