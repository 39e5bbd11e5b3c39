"""The CNN side: models, training and its cache, the open-box forward pass, evaluation, photos, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mnistlab.data import load_mnist

training = pytest.importorskip("mnistlab.training")  # imports TensorFlow
from mnistlab import architecture, models  # noqa: E402
from mnistlab.cli import main  # noqa: E402
from mnistlab.evaluation import evaluate_model, evaluate_predictions, pairs_compared  # noqa: E402
from mnistlab.forward import forward  # noqa: E402
from mnistlab.photo import DigitImageError, prepare_digit  # noqa: E402

TINY = training.TrainConfig(model="report", train_size=3000, epochs=2, batch_size=128)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MNISTLAB_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def tiny_training(tmp_path_factory):
    """The tiny config trained once for the module, into a cache of its own, and the lines its training printed."""
    import os

    old = os.environ.get("MNISTLAB_CACHE")
    os.environ["MNISTLAB_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    lines = []
    try:
        return training.load_or_train(TINY, print_fn=lines.append), lines
    finally:
        if old is None:
            del os.environ["MNISTLAB_CACHE"]
        else:
            os.environ["MNISTLAB_CACHE"] = old


@pytest.fixture(scope="module")
def tiny_model(tiny_training):
    return tiny_training[0]


def test_report_cnn_is_the_reports_model():
    model = models.report_cnn()
    assert model.count_params() == 232_650
    assert [layer.name for layer in model.layers] == ["conv1", "pool1", "conv2", "pool2", "flatten", "dense1",
                                                      "dropout1", "dense2", "dropout2", "probabilities"]
    assert model.get_layer("dense1").count_params() / model.count_params() == pytest.approx(0.88, abs=0.005)


def test_course_models_are_smaller_and_built_as_their_recipes_say():
    best = training.build(training.DEFAULTS["best"])
    quick = training.build(training.DEFAULTS["quick"])
    assert best.count_params() < models.report_cnn().count_params()
    assert quick.count_params() < models.report_cnn().count_params() / 20
    assert [layer.name for layer in best.layers][:6] == ["shift", "conv1", "pool1", "bn1", "relu1", "conv2"]
    assert best.get_layer("flatten").output.shape == (None, 3 * 3 * 256)
    assert quick.get_layer("flatten").output.shape == (None, 4 * 4 * 24)
    flops = architecture.layer_flops(best)
    assert flops["conv2"] == 2 * 11 * 11 * 64 * 3 * 3 * 32 and architecture.forward_flops(best) == sum(flops.values())
    with pytest.raises(ValueError, match=r"pools: expected one entry per convolution \(2\), got 3"):
        models.course_cnn(widths=(8, 16))


def test_digit_augmentation_changes_digits_only_while_training(tmp_path):
    """Thickened, blurred, dimmed and noised digits while training, in [0, 1]; untouched at prediction; saved and
    loaded in Keras' safe mode; passed through by the NumPy forward pass."""
    import keras

    rng = np.random.default_rng(0)
    x = np.zeros((64, 28, 28, 1), np.float32)
    x[:, 8:20, 12:15] = 1.0
    layer = models.DigitAugmentation(blur=2.0, noise=0.4, dim=0.5, p=0.5, seed=1)
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)
    changed = layer(x, training=True).numpy()
    assert changed.shape == x.shape and changed.min() >= 0 and changed.max() <= 1
    assert 10 < int((np.abs(changed - x).max(axis=(1, 2, 3)) > 1e-3).sum()) < 64  # some digits changed, not all
    ink = changed.sum(axis=(1, 2, 3))
    assert ink.max() > x[0].sum() * 1.5  # some thickened or noised
    never = models.DigitAugmentation(p=0.0)
    np.testing.assert_array_equal(never(x, training=True).numpy(), x)
    model = models.sturdy_cnn(widths=(4, 8), pools=(True, True), name="tiny_sturdy")
    assert [layer.name for layer in model.layers][:3] == ["photo_changes", "shift", "conv1"]
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    digits = rng.uniform(0, 1, (5, 28, 28, 1)).astype(np.float32)
    np.testing.assert_allclose(loaded.predict(digits, verbose=0), model.predict(digits, verbose=0), atol=1e-6)
    np.testing.assert_allclose(forward(model, digits), model.predict(digits, verbose=0), atol=1e-5)


def test_digit_augmentation_thickens_as_grey_dilation_does():
    """Each thickened digit is its grey dilation by 1 to ``thicken_steps`` steps, pixel for pixel, over random inks:
    a 3x3 square's (footprint="square"), a pixel and its four neighbours' as ``transforms.thickness``
    (footprint="plus"), or either (footprint="either"); every step count and footprint allowed turns up; a bad
    footprint or step count is one clear error."""
    from scipy import ndimage

    from mnistlab.transforms import thickness

    def dilations(digit, footprint, steps):
        found = [digit]
        for _ in range(steps):
            found.append(thickness(found[-1][None], 1)[0] if footprint == "plus" else
                         ndimage.grey_dilation(found[-1], size=(3, 3), mode="constant", cval=0.0))
        return found

    rng = np.random.default_rng(5)
    for trial in range(12):
        steps, footprint = int(rng.integers(1, 5)), ("square", "plus", "either")[trial % 3]
        x = rng.random((64, 28, 28)) * (rng.random((64, 28, 28)) < rng.uniform(0.02, 0.3))
        x = x.astype(np.float32)
        layer = models.DigitAugmentation(blur=0.0, noise=0.0, dim=1.0, p=0.0, thicken=1.0, thicken_steps=steps,
                                         footprint=footprint, seed=trial)
        out = layer(x[..., None], training=True).numpy()[..., 0]
        allowed = ("square", "plus") if footprint == "either" else (footprint,)
        found = []
        for digit, changed in zip(x, out, strict=True):
            found.append(next((shape, k) for shape in allowed for k, thick in enumerate(dilations(digit, shape, steps))
                              if k and np.array_equal(changed, thick)))
        assert {k for _, k in found} == set(range(1, steps + 1)), (steps, footprint, found)
        assert {shape for shape, _ in found} == set(allowed)
    with pytest.raises(ValueError, match="footprint: expected 'square', 'plus' or 'either', got 'disk'"):
        models.DigitAugmentation(footprint="disk")
    with pytest.raises(ValueError, match="thicken_steps: expected a whole number from 1 to 5, got 0"):
        models.DigitAugmentation(thicken_steps=0)


def test_digit_augmentation_thins_as_grey_erosion_does():
    """With ``thin``, each digit not thickened may be thinned instead: its grey erosion by one step of a pixel and
    its four neighbours, pixel for pixel as ``transforms.thickness(x, -1)`` (blank outside the digit, at the edges
    too), over random inks; a digit is thickened, thinned or left as it is, never two of them; a probability out of
    range is one clear error."""
    from mnistlab.transforms import thickness

    rng = np.random.default_rng(6)
    for trial in range(8):
        n, thicken = 64, (0.0, 0.4)[trial % 2]
        x = rng.random((n, 28, 28)) * (rng.random((n, 28, 28)) < rng.uniform(0.05, 0.9))
        x = x.astype(np.float32)
        layer = models.DigitAugmentation(blur=0.0, noise=0.0, dim=1.0, p=0.0, thicken=thicken, thin=1 - thicken - 0.2,
                                         footprint="plus", thicken_steps=1, seed=trial)
        out = layer(x[..., None], training=True).numpy()[..., 0]
        thinner, thicker = thickness(x, -1), thickness(x, 1)
        kinds = [next(kind for kind, y in (("thinner", thinner[i]), ("thicker", thicker[i]), ("same", x[i]))
                      if np.array_equal(out[i], y)) for i in range(n)]
        assert set(kinds) == ({"thinner", "same"} if thicken == 0 else {"thinner", "thicker", "same"}), kinds
        assert np.array_equal(layer(x[..., None], training=False).numpy()[..., 0], x)
    with pytest.raises(ValueError, match=r"thin: expected a probability from 0 to 1 - thicken \(0.6\), got 0.7"):
        models.DigitAugmentation(thicken=0.4, thin=0.7)


def test_recentre_moves_digits_exactly_as_numpy_does_while_training_and_predicting(tmp_path):
    """models.Recentre is preprocess.recentred in TensorFlow, pixel for pixel, over random sizes, centres and inks,
    in training and at prediction; centred_cnn puts it between the layers that change digits (its slant among them)
    and the first convolution; it is saved and loaded in Keras' safe mode and computed by the NumPy forward pass."""
    import keras

    from mnistlab.preprocess import recentred
    from mnistlab.transforms import shift

    rng = np.random.default_rng(3)
    for trial in range(40):
        n, height, width = rng.integers(1, 6), *rng.integers(4, 36, size=2)
        x = (rng.random((n, height, width, 1)) * (rng.random((n, height, width, 1)) < rng.uniform(0.05, 1)))
        x = x.astype(np.float32)
        x[0] = 0.0 if trial % 5 == 0 else x[0]
        centre = (rng.uniform(0, height - 1), rng.uniform(0, width - 1))
        layer = models.Recentre(centre)
        for training_mode in (False, True):
            np.testing.assert_array_equal(layer(x, training=training_mode).numpy(), recentred(x, centre))
    _, (x_test, _) = load_mnist()  # and MNIST's own digits, shifted as the robustness targets shift them
    shifted = shift(x_test[:2000], 4, 4)[..., None].astype(np.float32) / 255
    np.testing.assert_array_equal(models.Recentre()(shifted).numpy(), recentred(shifted))
    slanted = models.centred_cnn(widths=(4, 8), pools=(True, True), shear=0.2, name="tiny_slanted")
    assert [layer.name for layer in slanted.layers][:5] == ["photo_changes", "shift", "slant", "recentre", "conv1"]
    # the closing clean epochs drop every layer that changes digits, and keep the recentring
    assert [layer.name for layer in slanted.layers if isinstance(layer, training.CHANGING_LAYERS)] == [
        "photo_changes", "shift", "slant"]
    first = models.centred_cnn(widths=(4, 8), pools=(True, True), centre_first=True, name="tiny_centred_first")
    assert [layer.name for layer in first.layers][:4] == ["recentre", "photo_changes", "shift", "conv1"]
    model = models.centred_cnn(widths=(4, 8), pools=(True, True), name="tiny_centred")
    assert [layer.name for layer in model.layers][:4] == ["photo_changes", "shift", "recentre", "conv1"]
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    digits = np.zeros((6, 28, 28, 1), np.float32)
    for i, (top, left) in enumerate(zip(rng.integers(0, 14, size=6), rng.integers(1, 19, size=6), strict=True)):
        digits[i, top:top + 12, left:left + 8] = rng.uniform(0.2, 1, (12, 8, 1))
    np.testing.assert_allclose(loaded.predict(digits, verbose=0), model.predict(digits, verbose=0), atol=1e-6)
    np.testing.assert_allclose(forward(model, digits), model.predict(digits, verbose=0), atol=1e-5)
    moved = np.roll(digits, (2, -1), axis=(1, 2))  # the same marks elsewhere (none rolls past an edge): read the same
    np.testing.assert_allclose(model.predict(moved, verbose=0), model.predict(digits, verbose=0), atol=1e-6)


def test_train_config_validates_and_keys():
    with pytest.raises(ValueError, match=r"model \(--model\): expected one of"):
        training.TrainConfig(model="resnet")
    with pytest.raises(ValueError, match=r"train_size \(--train-size\): expected a whole number from 1 to 60,000"):
        training.TrainConfig(train_size=70_000)
    assert TINY.key() == training.TrainConfig(model="report", train_size=3000, epochs=2).key()
    assert TINY.key() != training.TrainConfig(model="report", train_size=3000, epochs=3).key()
    assert training.REPORT_PROTOCOL.validates and not training.DEFAULTS["report"].validates


def test_training_is_cached_and_said_one_line_per_epoch(tiny_training, monkeypatch):
    """Trained once (the module's fixture), said one line per epoch, then read from the cache. That training is
    repeatable is shown by test_a_notebooks_own_fit_is_the_recipes_training_and_is_cached: its own training of the
    same config scores the same."""
    first, lines = tiny_training
    root = first.path.parent.parent.parent
    assert not first.from_cache and first.path.parent.parent == root / TINY.key() and first.path.exists()
    assert len(first.history["loss"]) == 2 and "val_accuracy" in first.history
    assert 0.85 < first.test_accuracy < 1.0
    assert lines[0].startswith("training report on 3,000 digits for 2 epochs")
    assert [line.split()[1] for line in lines[1:]] == ["1/2", "2/2"]
    assert "validation accuracy" in lines[1]
    monkeypatch.setenv("MNISTLAB_CACHE", str(root))
    cached = training.load_or_train(TINY, progress=False, warn=pytest.fail)
    assert cached.from_cache and cached.test_accuracy == first.test_accuracy
    x = np.random.default_rng(0).random((4, 28, 28, 1), dtype=np.float32)
    np.testing.assert_allclose(cached.model.predict(x, verbose=0), first.model.predict(x, verbose=0), atol=1e-6)


def test_steps_per_execution_changes_speed_not_results():
    """Several steps per graph call (the default) trains bit for bit what one step per call does."""
    config = training.TrainConfig(model="best", train_size=3000, epochs=1, batch_size=128)
    (x, y), _, _ = training.training_data(config)
    weights = []
    for steps in (1, training.STEPS_PER_EXECUTION):
        model = training.build(config, steps_per_execution=steps)
        model.fit(x[:1500], y[:1500], batch_size=128, epochs=1, verbose=0)  # 12 steps: one partial call
        weights.append(model.get_weights())
    assert training.STEPS_PER_EXECUTION > 1
    for a, b in zip(*weights, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.fixture
def trainings(tiny_model, monkeypatch):
    """``training.train`` replaced by a stand-in that records its configs and returns the module's tiny model, as
    a fresh training would (repeatable training is tested above): for the tests of the cache's handling alone."""
    import dataclasses

    configs = []

    def train(config, **_):
        configs.append(config)
        return dataclasses.replace(tiny_model, from_cache=False, path=None)

    monkeypatch.setattr(training, "train", train)
    return configs


def test_a_stale_cache_entry_is_retrained(cache, tiny_model, trainings):
    import shutil

    shutil.copytree(tiny_model.path.parent.parent, cache / TINY.key())  # the module's trained entry
    meta = cache / TINY.key() / "meta.json"
    record = json.loads(meta.read_text())
    record["meta"]["config"]["epochs"] = 99  # metadata that no longer matches the key's config
    meta.write_text(json.dumps(record))
    warnings = []
    again = training.load_or_train(TINY, progress=False, warn=warnings.append)
    assert not again.from_cache and len(warnings) == 1 and "its config differs" in warnings[0]
    assert trainings == [TINY]
    assert training.load_or_train(TINY, progress=False, warn=pytest.fail).from_cache and trainings == [TINY]


def test_retrain_trains_again_and_replaces_the_cached_entry(cache, tiny_model, trainings):
    import shutil

    shutil.copytree(tiny_model.path.parent.parent, cache / TINY.key())  # the module's trained entry
    assert training.load_or_train(TINY, progress=False, warn=pytest.fail).from_cache and trainings == []
    again = training.load_or_train(TINY, retrain=True, progress=False, warn=pytest.fail)
    assert not again.from_cache and trainings == [TINY] and again.path is not None and again.path.exists()
    assert training.load_or_train(TINY, progress=False, warn=pytest.fail).from_cache and trainings == [TINY]


# Every corruption of an entry is covered without TensorFlow in test_cache.py; here the two that a model adds:
# weights cut short, and weights that match their checksum yet are no model Keras can load.
@pytest.mark.parametrize("how", ["truncated weights", "weights not a model"])
def test_a_broken_model_entry_is_a_miss_said_once_then_replaced(cache, tiny_model, trainings, how):
    import shutil

    shutil.copytree(tiny_model.path.parent.parent, cache / TINY.key())  # the module's trained entry
    meta = cache / TINY.key() / "meta.json"
    weights = training.load_or_train(TINY, progress=False, warn=pytest.fail).path
    if how == "truncated weights":
        weights.write_bytes(weights.read_bytes()[:5000])
    else:  # intact by its checksum, yet Keras cannot load it
        weights.write_bytes(b"PK not a zip")
        record = json.loads(meta.read_text())
        import hashlib

        record["files"]["model.keras"] = hashlib.sha256(b"PK not a zip").hexdigest()
        meta.write_text(json.dumps(record))
    warnings = []
    again = training.load_or_train(TINY, progress=False, warn=warnings.append)
    assert not again.from_cache and len(warnings) == 1 and warnings[0].startswith("cache: ignoring ")
    assert trainings == [TINY]  # trained again (the stand-in), and that replaced the broken entry:
    cached = training.load_or_train(TINY, progress=False, warn=pytest.fail)
    assert cached.from_cache and cached.path != weights and trainings == [TINY]
    x = np.random.default_rng(0).random((4, 28, 28, 1), dtype=np.float32)
    np.testing.assert_array_equal(cached.model.predict(x, verbose=0), tiny_model.model.predict(x, verbose=0))


def test_a_notebooks_own_fit_is_the_recipes_training_and_is_cached(cache, tiny_model):
    """Notebook 05 builds the report's model as Keras code and calls fit itself: the same model as train()."""
    import keras

    (x, y), validation, _ = training.training_data(TINY)
    keras.utils.set_random_seed(TINY.seed)
    model = models.report_cnn()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.001), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    assert training.is_recipe(TINY, model)
    assert training.cached(TINY, model, progress=False) is None
    history = model.fit(x, y, batch_size=TINY.batch_size, epochs=TINY.epochs, validation_data=validation, verbose=0)
    kept = training.score_and_cache(TINY, model, history.history, 1.5)
    assert kept.train_seconds == 1.5 and kept.path.exists() and len(kept.history["val_accuracy"]) == 2
    assert kept.test_accuracy == tiny_model.test_accuracy  # what train() makes: training is repeatable

    keras.utils.set_random_seed(0)
    fresh = models.report_cnn()
    fresh.compile(optimizer=keras.optimizers.Adam(learning_rate=0.001), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    found = training.cached(TINY, fresh, progress=False, warn=pytest.fail)
    assert found.from_cache and found.model is fresh  # the cached weights, loaded into the caller's model
    for a, b in zip(fresh.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def changing_layers_seen():
    """A Keras callback whose ``seen`` lists, at the start of each epoch, the epoch and the layers that change digits
    in the model being fitted (``training.fit``'s closing epochs fit a model of their own)."""
    import keras

    class Layers(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seen = []

        def on_epoch_begin(self, epoch, logs=None):
            self.seen.append((epoch, [layer for layer in self.model.layers
                                      if isinstance(layer, training.CHANGING_LAYERS)]))

    return Layers()


def test_a_recipes_clean_epochs_train_without_the_layers_that_change_digits(cache, monkeypatch):
    """fit: the last clean_epochs epochs run without the changing layers, on the same weights, and the learning-rate
    schedule runs on through them; the model returned still holds those layers (they act only while training)."""
    import dataclasses

    monkeypatch.setitem(training.RECIPES, "clean-tail",
                        dataclasses.replace(training.RECIPES["robust"], clean_epochs=2, clean_thicken=0.0))
    config = training.TrainConfig(model="clean-tail", train_size=512, epochs=3, batch_size=128)

    model = training.build(config)
    (x, y), validation, _ = training.training_data(config)
    validation = tuple(part[:1000] for part in validation)  # enough for a validation accuracy each epoch
    layers = changing_layers_seen()
    history = training.fit(model, config, x, y, validation, callbacks=[layers])
    assert [(epoch, bool(found)) for epoch, found in layers.seen] == [(0, True), (1, False), (2, False)]
    assert len(history["loss"]) == len(history["val_accuracy"]) == 3
    assert int(model.optimizer.iterations) == 3 * 4  # one schedule over all the steps
    changing = [layer.name for layer in model.layers if isinstance(layer, training.CHANGING_LAYERS)]
    assert changing == [layer.name for layer in training.build(config).layers
                        if isinstance(layer, training.CHANGING_LAYERS)] and len(changing) == 3
    lines = []
    kept = training.score_and_cache(config, model, history, 1.0, print_fn=lines.append)
    assert kept.path is None and "last 2 epoch(s) on unchanged digits" in lines[-1]
    one = dataclasses.replace(config, epochs=1)  # fewer epochs than clean ones: the one epoch keeps the changes
    layers = changing_layers_seen()
    assert len(training.fit(training.build(one), one, x, y, callbacks=[layers])["loss"]) == 1
    assert [(epoch, bool(found)) for epoch, found in layers.seen] == [(0, True)]


def test_a_recipes_closing_epochs_can_keep_thickening_strokes_and_nothing_else(cache, monkeypatch):
    """clean_thicken: the closing epochs keep one layer that changes digits, a thickening-only copy of the recipe's
    DigitAugmentation (its steps and footprint, that share of digits, no blur, dimming, noise, shift or turn); each
    digit it passes is unchanged or thickened exactly as the recipe's layer thickens; the model returned is the
    recipe's, its layers as built."""
    import dataclasses

    from scipy import ndimage

    recipe = dataclasses.replace(training.RECIPES["robust"], clean_epochs=1, clean_thicken=0.3)
    monkeypatch.setitem(training.RECIPES, "thick-tail", recipe)
    config = training.TrainConfig(model="thick-tail", train_size=256, epochs=2, batch_size=128)

    model = training.build(config)
    built = [layer.name for layer in model.layers]
    (x, y), _, _ = training.training_data(config)
    layers = changing_layers_seen()
    training.fit(model, config, x, y, callbacks=[layers])
    assert [len(found) for _, found in layers.seen] == [3, 1]
    (augmentation,) = [layer for layer in model.layers if isinstance(layer, models.DigitAugmentation)]
    (closing,) = layers.seen[1][1]
    assert isinstance(closing, models.DigitAugmentation) and closing is not augmentation
    assert (closing.thicken, closing.thicken_steps, closing.footprint) == (0.3, augmentation.thicken_steps,
                                                                            augmentation.footprint)
    assert (closing.blur, closing.noise, closing.dim, closing.p, closing.thin) == (0.0, 0.0, 1.0, 0.0, 0.0)
    assert [layer.name for layer in model.layers] == built

    rng = np.random.default_rng(7)
    digits = (rng.random((200, 28, 28, 1)) * (rng.random((200, 28, 28, 1)) < 0.2)).astype(np.float32)
    out = closing(digits, training=True).numpy()
    one = ndimage.grey_dilation(digits, size=(1, 3, 3, 1), mode="constant", cval=0.0)  # the recipe's 3x3 square
    two = ndimage.grey_dilation(one, size=(1, 3, 3, 1), mode="constant", cval=0.0)
    same, *thickened = (np.all(out == y, axis=(1, 2, 3)) for y in (digits, one, two))
    assert np.all(same | thickened[0] | thickened[1]) and all(t.any() for t in thickened)
    assert 0.15 < 1 - same.mean() < 0.45, same.mean()
    np.testing.assert_array_equal(closing(digits, training=False).numpy(), digits)


def test_a_recipes_moving_average_of_the_weights_is_what_training_leaves(cache, monkeypatch):
    """ema_momentum: the optimiser keeps a moving average of the weights, and the model fit returns holds it, clean
    epochs or not; a recipe without one trains its weights plainly."""
    import dataclasses

    (x, y), _, _ = training.training_data(training.TrainConfig(model="robust", train_size=512))
    for clean_epochs in (0, 1):
        recipe = dataclasses.replace(training.RECIPES["robust"], ema_momentum=0.9, clean_epochs=clean_epochs)
        monkeypatch.setitem(training.RECIPES, "averaged", recipe)
        config = training.TrainConfig(model="averaged", train_size=512, epochs=2, batch_size=128)
        model = training.build(config)
        assert model.optimizer.use_ema and model.optimizer.ema_momentum == 0.9
        training.fit(model, config, x, y)
        averages = model.optimizer._model_variables_moving_average
        assert len(averages) == len(model.trainable_variables)
        for weight, average in zip(model.trainable_variables, averages, strict=True):
            np.testing.assert_array_equal(weight.numpy(), average.numpy())
    assert not training.build(training.DEFAULTS["robust"]).optimizer.use_ema


def test_a_model_that_is_not_the_recipes_is_never_cached_as_it(cache):
    import keras

    other = models.report_cnn(dropout=0.5)  # an edited layer
    other.compile(optimizer=keras.optimizers.Adam(learning_rate=0.001), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    assert not training.is_recipe(TINY, other)
    faster = models.report_cnn()
    faster.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="categorical_crossentropy")
    assert not training.is_recipe(TINY, faster)  # another learning rate
    lines = []
    assert training.cached(TINY, other, print_fn=lines.append) is None
    assert lines == ["this model is not the report recipe's: it is trained, not taken from the cache"]
    kept = training.score_and_cache(TINY, other, {"loss": [1.0]}, 0.1, print_fn=lines.append)
    assert kept.path is None and lines[-1] == "not cached: this model is not the report recipe's"
    assert not list(cache.glob("*/meta.json"))


def test_building_and_training_do_not_reseed_the_global_generators(cache):
    import random

    np.random.seed(123)
    random.seed(123)
    expected = np.random.random(), random.random()
    np.random.seed(123)
    random.seed(123)
    training.build(TINY)
    training.train(training.TrainConfig(model="report", train_size=256, epochs=1), progress=False)
    assert (np.random.random(), random.random()) == expected


def test_open_box_forward_matches_keras(tiny_model):
    _, (x_test, _) = load_mnist()
    x = x_test[:500, :, :, None].astype(np.float32) / 255
    ours, inside = forward(tiny_model.model, x, batch_size=200, keep=True)
    theirs = tiny_model.model.predict(x, verbose=0)
    np.testing.assert_allclose(ours, theirs, atol=1e-4)
    np.testing.assert_array_equal(ours.argmax(1), theirs.argmax(1))
    assert inside["conv1"].shape == (200, 26, 26, 32) and inside["flatten"].shape == (200, 1600)


def test_open_box_handles_the_best_model(cache):
    trained = training.from_shipped(training.DEFAULTS["best"], progress=False, warn=pytest.fail)  # trained, not here
    _, (x_test, _) = load_mnist()
    x = x_test[:300, :, :, None].astype(np.float32) / 255
    np.testing.assert_allclose(forward(trained.model, x), trained.model.predict(x, verbose=0), atol=1e-4)


@pytest.mark.parametrize("seed", range(3))
def test_open_box_with_batch_statistics_normalises_as_keras_does_while_training(seed):
    """forward(batch_statistics=True) is Keras' batch normalisation in training mode, over random shapes."""
    import keras

    rng = np.random.default_rng(seed)
    n, filters, units = int(rng.integers(2, 40)), int(rng.integers(1, 9)), int(rng.integers(2, 12))
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(filters, 3, use_bias=False),
                              keras.layers.BatchNormalization(), keras.layers.Activation("relu"),
                              keras.layers.Flatten(), keras.layers.Dense(units, use_bias=False),
                              keras.layers.BatchNormalization(), keras.layers.Activation("softmax")])
    model.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32) if "variance" not in w.path
                       else rng.uniform(0.5, 2, w.shape).astype(np.float32) for w in model.weights])
    x = rng.uniform(0, 1, (n, 28, 28, 1)).astype(np.float32)
    np.testing.assert_allclose(forward(model, x), model(x, training=False).numpy(), atol=1e-5)
    np.testing.assert_allclose(forward(model, x, batch_statistics=True, batch_size=7), model(x, training=True).numpy(),
                               atol=1e-4)


@pytest.mark.parametrize("seed", range(6))
def test_open_box_group_normalisation_matches_keras(seed):
    """forward's group normalisation is Keras' GroupNormalization, over random shapes and group counts, at
    prediction and (the same thing for this layer) in training mode."""
    import keras

    rng = np.random.default_rng(seed)
    groups = int(rng.choice([1, 2, 4, -1]))
    filters = groups * int(rng.integers(1, 5)) if groups > 0 else int(rng.integers(1, 9))
    units = int(rng.integers(2, 12))
    model = keras.Sequential([keras.Input((int(rng.integers(5, 29)), int(rng.integers(5, 29)), 1)),
                              keras.layers.Conv2D(filters, 3, use_bias=False), keras.layers.MaxPooling2D(2),
                              keras.layers.GroupNormalization(groups=groups, center=bool(rng.integers(2)),
                                                              scale=bool(rng.integers(2))),
                              keras.layers.Activation("relu"), keras.layers.Flatten(),
                              keras.layers.Dense(units), keras.layers.Activation("softmax")])
    model.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32) for w in model.weights])
    x = rng.uniform(0, 1, (int(rng.integers(1, 30)), *model.input_shape[1:])).astype(np.float32)
    np.testing.assert_allclose(forward(model, x, batch_size=7), model(x, training=False).numpy(), atol=1e-5)
    np.testing.assert_allclose(forward(model, x), model(x, training=True).numpy(), atol=1e-5)


def test_open_box_names_a_layer_it_cannot_compute():
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.LayerNormalization(name="norm")])
    with pytest.raises(ValueError, match="norm: layer type LayerNormalization has no by-hand version"):
        forward(model, np.zeros((1, 4)))


def test_evaluation(tiny_model):
    report = evaluate_model(tiny_model.model)
    assert report.accuracy == pytest.approx(tiny_model.test_accuracy, abs=1e-4)
    assert report.errors == 10_000 - int(round(report.accuracy * 10_000))
    assert report.confusion().sum() == 10_000
    pairs = report.confused_pairs(3)
    assert list(pairs.columns) == ["true", "predicted", "count"] and (pairs["true"] != pairs["predicted"]).all()
    assert pairs["count"].is_monotonic_decreasing
    assert "precision" in report.per_digit_scores
    small = evaluate_predictions(np.array([0, 1, 1]), np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]]))
    assert small.errors == 1 and small.confused_pairs().values.tolist() == [[1, 0, 1]]


def test_pairs_compared_counts_every_listed_pair_for_every_model():
    truth = np.array([7, 7, 7, 9, 9, 5, 5, 3])
    one = evaluate_predictions(truth, np.eye(10)[[2, 2, 2, 4, 4, 3, 5, 3]])   # 7->2 three times, 9->4 twice, 5->3
    other = evaluate_predictions(truth, np.eye(10)[[2, 7, 7, 4, 9, 3, 3, 5]])  # 5->3 twice, 7->2, 9->4, 3->5
    table = pairs_compared({"one": one, "other": other}, n=2)
    # one's top two (7->2, 9->4) and other's (5->3, then 7->2, 9->4 or 3->5 tied at 1): each counted for both
    assert table.loc[(7, 2)].tolist() == [3, 1] and table.loc[(9, 4)].tolist() == [2, 1]
    assert table.loc[(5, 3)].tolist() == [1, 2]
    assert list(table.columns) == ["one", "other"] and table["one"].is_monotonic_decreasing


def _save_digit_png(path, digit, scale=4, pad=30, ink_on_white=True):
    from PIL import Image

    image = np.kron(digit, np.ones((scale, scale), np.uint8))
    image = 255 - image if ink_on_white else image
    Image.fromarray(np.pad(image, pad, constant_values=255 if ink_on_white else 0)).save(path)
    return path


def test_prepare_digit_recreates_mnist_from_a_photo_like_png(tmp_path):
    _, (x_test, _) = load_mnist()
    for i in range(5):
        for ink_on_white in (True, False):
            path = _save_digit_png(tmp_path / f"d{i}.png", x_test[i], ink_on_white=ink_on_white)
            prepared = prepare_digit(path)
            assert prepared.shape == (28, 28) and prepared.dtype == np.float32
            assert np.abs(prepared - x_test[i] / 255).mean() < 0.05


def _huge_png(path, width=20_000, height=20_000):
    """A valid PNG header for a huge image (its pixels are never needed: the size alone is refused)."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


def test_prepare_digit_errors(tmp_path):
    from PIL import Image

    Image.fromarray(np.full((40, 40), 230, np.uint8)).save(tmp_path / "blank.png")
    with pytest.raises(DigitImageError, match=r"blank\.png: no digit found"):
        prepare_digit(tmp_path / "blank.png")
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(DigitImageError, match=r"notes\.png: not a readable image"):
        prepare_digit(tmp_path / "notes.png")
    _, (x_test, _) = load_mnist()
    pair = np.hstack([x_test[0], x_test[1]])
    _save_digit_png(tmp_path / "pair.png", pair)
    with pytest.raises(DigitImageError, match=r"pair\.png: found 2 separate marks side by side"):
        prepare_digit(tmp_path / "pair.png")
    with pytest.raises(DigitImageError, match=r"missing\.png: no such file"):
        prepare_digit(tmp_path / "missing.png")
    with pytest.raises(DigitImageError, match=r"is a folder; expected a PNG or JPEG"):
        prepare_digit(tmp_path)
    with pytest.raises(DigitImageError, match=r"bomb\.png: refused as a possible decompression bomb"):
        prepare_digit(_huge_png(tmp_path / "bomb.png"))
    with pytest.raises(DigitImageError, match=r"bomb2\.png: refused as a possible decompression bomb"):
        prepare_digit(_huge_png(tmp_path / "bomb2.png", 10_000, 10_000))  # Pillow's warning, made an error
    with pytest.raises(DigitImageError, match=r"big\.png: 6000x6000 pixels is too large for one digit"):
        prepare_digit(_huge_png(tmp_path / "big.png", 6_000, 6_000))
    with pytest.raises(DigitImageError, match=r"array: 1 pixel\(s\) are NaN or infinite"):
        prepare_digit(np.pad([[np.nan]], ((3, 24), (4, 23))))
    with pytest.raises(DigitImageError, match=r"array: expected numbers"):
        prepare_digit(np.full((28, 28), "x"))


def test_cli_predict_reads_pngs_and_answers(tmp_path, tiny_model, monkeypatch, capsys):
    monkeypatch.setenv("MNISTLAB_CACHE", str(tiny_model.path.parent.parent.parent))
    _, (x_test, y_test) = load_mnist()
    paths = [str(_save_digit_png(tmp_path / f"digit{i}.png", x_test[i])) for i in range(4)]
    (tmp_path / "broken.png").write_text("nope")
    (tmp_path / "notes.txt").write_text("a text file")
    bad = [str(tmp_path / "broken.png"), str(_huge_png(tmp_path / "bomb.png")), str(tmp_path),
           str(tmp_path / "notes.txt"), str(tmp_path / "missing.png")]
    options = ["--model", "report", "--train-size", "3000", "--epochs", "2", "--quiet"]
    args = ["predict", paths[0], *bad, *paths[1:], *options]
    assert main(args) == 1  # some images unreadable: the others are still predicted
    out, err = capsys.readouterr()
    answers = [int(line.split(": ")[1].split()[0]) for line in out.strip().splitlines()]
    assert answers == y_test[:4].tolist()  # 7, 2, 1, 0
    lines = err.strip().splitlines()
    assert len(lines) == len(bad) and "Traceback" not in err  # one line each, naming the file
    for line, path in zip(lines, bad, strict=True):
        assert line.startswith(f"cannot read a digit: {path}: "), line


def test_bad_training_options_fail_at_once_without_tensorflow():
    """In a fresh process, as a user types them: one line, exit status 2, before TensorFlow, the data or the
    training code is imported (what would make it slow; checked by module, not by the clock, which a loaded
    machine makes unreliable)."""
    import subprocess
    import sys

    heavy = ("tensorflow", "keras", "mnistlab.training", "mnistlab.data")
    for option, value in (("--epochs", "0"), ("--train-size", "0"), ("--batch-size", "-3"), ("--model", "seed")):
        code = ("import sys\nfrom mnistlab.cli import main\nstatus = main(sys.argv[1:])\n"
                f"loaded = [m for m in {heavy!r} if m in sys.modules]\n"
                "assert not loaded, f'imported {loaded}'\nsys.exit(status)")
        run = subprocess.run([sys.executable, "-c", code, "train", option, value], capture_output=True, text=True)
        assert run.returncode == 2 and run.stdout == "", run.stderr
        assert run.stderr.count("\n") == 1 and run.stderr.startswith("mnistlab train: "), run.stderr
        assert f"(--{option[2:]})" in run.stderr


def test_cli_train_and_evaluate_use_the_cache(tiny_model, monkeypatch, capsys):
    monkeypatch.setenv("MNISTLAB_CACHE", str(tiny_model.path.parent.parent.parent))
    options = ["--model", "report", "--train-size", "3000", "--epochs", "2"]
    assert main(["train", *options]) == 0
    out = capsys.readouterr().out
    assert "loaded the report model from the cache" in out and "232,650 parameters" in out and "trained in" in out
    assert main(["evaluate", *options]) == 0
    out = capsys.readouterr().out
    assert "test accuracy" in out and "most confused pairs" in out and "trained in" in out
    assert main(["train", "--model", "report", "--train-size", "0"]) == 2


def test_cli_robustness_prints_every_transform_the_headline_and_the_printed_digits(tiny_model, monkeypatch, capsys):
    monkeypatch.setenv("MNISTLAB_CACHE", str(tiny_model.path.parent.parent.parent))
    options = ["--model", "report", "--train-size", "3000", "--epochs", "2", "--quiet"]
    assert main(["robustness", *options, "--digits", "200"]) == 0
    out = capsys.readouterr().out
    from mnistlab.fonts import printed_fonts
    from mnistlab.transforms import TRANSFORMS

    for name, transform in TRANSFORMS.items():
        assert f"  {name} ({transform.unit})" in out
    assert "accuracy (%) on the first 200 test digits" in out
    assert "on all 10,000 test digits: unchanged " in out and "shift 4 diagonal" in out and "rotate 20" in out
    fonts = len(printed_fonts())  # 21 from matplotlib 3.11 (cmti10), 20 before
    assert f"printed digits ({fonts} fonts of matplotlib, sizes and angles: {fonts * 2 * 3 * 10:,} digits): " in out
    assert main(["robustness", *options, "--digits", "0"]) == 2
    assert "digits (--digits): expected a whole number from 1 to 10,000; got 0" in capsys.readouterr().err


def test_cli_defaults_to_the_robust_model_and_offers_the_others():
    from mnistlab.cli import build_parser

    for command in (["train"], ["evaluate"], ["predict", "digit.png"], ["robustness"]):
        assert build_parser().parse_args(command).model == "robust"
    for model in ("best", "quick", "report"):
        assert build_parser().parse_args(["train", "--model", model]).model == model
    assert training.DEFAULTS["quick"].epochs == 2 and training.DEFAULTS["best"].train_size == 60_000


def test_forward_flops_counts_multiply_adds_twice():
    macs = 26 * 26 * 32 * 9 + 11 * 11 * 64 * 9 * 32 + 1600 * 128 + 128 * 64 + 64 * 10
    assert architecture.forward_flops(models.report_cnn()) == 2 * macs


def test_prepare_steps_show_each_step_of_prepare_digit():
    from mnistlab.photo import prepare_steps

    page = np.full((120, 90), 240.0)
    page[30:90, 40:52] = 20.0  # a dark vertical bar on light paper, off-centre
    steps = prepare_steps(page)
    assert list(steps) == ["grayscale", "ink", "cropped", "fitted", "placed", "centred"]
    np.testing.assert_array_equal(steps["grayscale"], page)
    assert steps["ink"].max() == 1.0 and steps["ink"][0, 0] == 0.0  # inverted: white ink on black
    assert steps["cropped"].shape == (60, 12) and max(steps["fitted"].shape) == 20
    assert steps["placed"].shape == steps["centred"].shape == (28, 28)
    np.testing.assert_array_equal(steps["centred"], prepare_digit(page))
