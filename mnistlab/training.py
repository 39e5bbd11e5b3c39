"""Training the course's CNNs: readable progress, a history, and trained models kept in the cache.

What to train is a :class:`mnistlab.recipes.TrainConfig` (that module imports no TensorFlow); this
module trains it. Trained models live in the user's cache (:mod:`mnistlab.cache`), never in the
repository, under the config's key, which covers the config, its recipe, the code that builds and
trains the model, and the library versions. A notebook or the command line asks
:func:`load_or_train` and gets the cached model when one matches, else the weights the course ships, or
trains it; :func:`course_model` is the model the drawing pad reads digits with.
Importing this module imports TensorFlow.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mnistlab import cache, inference, models
from mnistlab.recipes import DEFAULT_MODEL, DEFAULTS, RECIPES, REPORT_PROTOCOL, VALIDATION_DIGITS, TrainConfig
from mnistlab.runtime import import_tensorflow

tf = import_tensorflow()
keras = tf.keras

__all__ = ["CHANGING_LAYERS", "DEFAULTS", "RECIPES", "REPORT_PROTOCOL", "STEPS_PER_EXECUTION", "EpochLines",
           "TrainConfig", "Trained", "build", "cached", "compiled_setup", "course_model", "fit", "from_shipped",
           "is_recipe", "load", "load_or_train", "score_and_cache", "seeded", "train", "training_data",
           "warmup_cosine"]

_MODEL_FILE = "model.keras"


@dataclass
class Trained:
    """A trained model with its config, per-epoch history, training seconds and test accuracy."""

    model: object
    config: TrainConfig
    history: dict[str, list[float]]
    train_seconds: float
    test_accuracy: float
    from_cache: bool = False
    path: Path | None = field(default=None, repr=False)


def training_data(config: TrainConfig):
    """``(x, y), validation, (x_test, y_test)`` for a config: scaled (N, 28, 28, 1) float32, one-hot labels.

    Training uses the first ``train_size`` training digits; validation (or ``None``) the last 10,000.
    """
    from mnistlab.data import load_mnist
    from mnistlab.preprocess import add_channel, one_hot, scale

    (x_train, y_train), (x_test, y_test) = load_mnist()

    def prepare(x, y):
        return add_channel(scale(x)), one_hot(y)

    n = config.train_size
    validation = prepare(x_train[-VALIDATION_DIGITS:], y_train[-VALIDATION_DIGITS:]) if config.validates else None
    return prepare(x_train[:n], y_train[:n]), validation, prepare(x_test, y_test)


class EpochLines(keras.callbacks.Callback):
    """A ``fit`` callback: one readable line per epoch (loss, accuracy, validation accuracy, seconds).

    Also keeps the seconds ``fit`` spent in its epochs, in :attr:`seconds`.
    """

    def __init__(self, print_fn: Callable[[str], None] = print, epochs: int | None = None) -> None:
        super().__init__()
        self.print_fn, self.seconds, self.epochs = print_fn, 0.0, epochs

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.fit_start = time.perf_counter()

    def on_train_end(self, logs: dict | None = None) -> None:
        self.seconds += time.perf_counter() - self.fit_start

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        epochs = self.epochs or self.params.get("epochs") or "?"
        val = f"  validation accuracy {100 * logs['val_accuracy']:6.2f}%" if "val_accuracy" in logs else ""
        self.print_fn(f"epoch {epoch + 1:2d}/{epochs}  loss {logs['loss']:.4f}  "
                      f"accuracy {100 * logs['accuracy']:6.2f}%{val}  ({time.perf_counter() - self.start:.1f} s)")


#: Steps Keras runs per call into its compiled training graph. The results are the same bit for bit
#: (tests/test_cnn.py checks it); the per-step overhead is paid once per 16 steps (benchmarks/bench_cnn.py
#: measures the gain).
STEPS_PER_EXECUTION = 16


def warmup_cosine(peak: float, total_steps: int, *, warmup_fraction: float = 0.2, initial_fraction: float = 0.1,
                  final_fraction: float = 1e-3):
    """A learning-rate schedule for ``total_steps`` steps: a linear warm-up, then a cosine decay.

    The rate climbs from ``initial_fraction * peak`` to ``peak`` in the first ``warmup_fraction`` of
    the steps, then falls along a half cosine to ``final_fraction * peak``: large steps while the
    weights are far from good, small ones to settle at the end (a "one-cycle" schedule).
    """
    warmup = max(1, int(warmup_fraction * total_steps))
    return keras.optimizers.schedules.CosineDecay(peak * initial_fraction, total_steps - warmup,
                                                  alpha=final_fraction, warmup_target=peak, warmup_steps=warmup)


def _schedule(config: TrainConfig, steps_per_epoch: int):
    recipe = config.recipe
    if recipe.schedule == "constant":
        return recipe.learning_rate
    if recipe.schedule != "warmup-cosine":
        raise ValueError(f"{config.model}: schedule: expected 'constant' or 'warmup-cosine', got {recipe.schedule!r}")
    return warmup_cosine(recipe.learning_rate, config.epochs * steps_per_epoch, warmup_fraction=recipe.warmup_fraction,
                         initial_fraction=recipe.initial_fraction, final_fraction=recipe.final_fraction)


@contextlib.contextmanager
def _generators_kept():
    """Inside the block, Python's and NumPy's global generators may be used; afterwards they are as before."""
    saved = random.getstate(), np.random.get_state()
    try:
        yield
    finally:
        random.setstate(saved[0])
        np.random.set_state(saved[1])


@contextlib.contextmanager
def seeded(seed: int):
    """Seed Keras and TensorFlow (and, inside the block, Python and NumPy) with ``seed``.

    Building and training inside the block is repeatable; when it ends, Python's and NumPy's global
    generators are back in the state the caller left them, so training never reseeds them silently.
    """
    with _generators_kept():
        keras.utils.set_random_seed(seed)
        yield


def build(config: TrainConfig, *, steps_per_execution: int = STEPS_PER_EXECUTION) -> keras.Model:
    """A fresh, compiled model for a config, its weights seeded by ``config.seed`` (see :func:`seeded`)."""
    with seeded(config.seed):
        return _compiled(config, steps_per_execution)


def _compiled(config: TrainConfig, steps_per_execution: int):
    recipe = config.recipe
    if recipe.optimizer != "adam":
        raise ValueError(f"{config.model}: optimizer: expected 'adam', got {recipe.optimizer!r}")
    model = getattr(models, recipe.build)(**recipe.build_args)
    steps = -(-config.train_size // config.batch_size)
    # A moving average of the weights, where the recipe asks for one: fit() ends by putting it in the weights' place.
    average = {"use_ema": True, "ema_momentum": recipe.ema_momentum} if recipe.ema_momentum else {}
    optimizer = keras.optimizers.Adam(learning_rate=_schedule(config, steps), **average)
    # The loss by its name where the recipe adds nothing to it: the way a learner writes it in a notebook.
    loss = (keras.losses.CategoricalCrossentropy(label_smoothing=recipe.label_smoothing) if recipe.label_smoothing
            else "categorical_crossentropy")
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"], steps_per_execution=steps_per_execution)
    return model


def compiled_setup(model: keras.Model) -> str:
    """What makes a compiled model the one it is, as text: its layers, optimiser and loss (not its weights)."""
    loss = model.loss if isinstance(model.loss, str) else keras.losses.serialize(model.loss)
    optimizer = keras.optimizers.serialize(model.optimizer)
    optimizer["config"].pop("name", None)  # "adam", "adam_1", ...: a counter, not a setting
    return json.dumps({"model": model.get_config(), "optimizer": optimizer, "loss": loss}, sort_keys=True,
                      default=str)


def is_recipe(config: TrainConfig, model: keras.Model) -> bool:
    """Whether ``model`` is built and compiled exactly as ``config``'s recipe builds it (weights aside).

    Building the reference draws no random number the caller will see: Python's and NumPy's generators
    are put back, and TensorFlow's global seed is not touched.
    """
    with _generators_kept():
        reference = _compiled(config, STEPS_PER_EXECUTION)
    return compiled_setup(reference) == compiled_setup(model)


def train(config: TrainConfig, *, progress: bool = True, print_fn=print) -> Trained:
    """Train a model for a config (seeded: the same config gives the same model on one computer; another computer's
    arithmetic may differ in the last bits)."""
    (x, y), validation, (x_test, y_test) = training_data(config)
    lines = EpochLines(print_fn if progress else (lambda line: None), config.epochs)
    with seeded(config.seed):
        model = _compiled(config, STEPS_PER_EXECUTION)
        history = fit(model, config, x, y, validation, callbacks=[lines])
    return _trained(config, model, history, lines.seconds, (x_test, y_test))


#: The layers that change digits while training (and pass them through at prediction).
CHANGING_LAYERS = (keras.layers.RandomRotation, keras.layers.RandomTranslation, keras.layers.RandomShear,
                   models.DigitAugmentation)


def fit(model, config: TrainConfig, x, y, validation=None, *, callbacks=()) -> dict[str, list[float]]:
    """Fit a compiled model as ``config`` says (its epochs, batch size and recipe); returns the history.

    The recipe's last ``clean_epochs`` epochs (at most all but the first) train on the digits as they are: the same
    layers, weights and optimiser, without the layers that change digits, so the learning-rate schedule runs on; with
    the recipe's ``clean_thicken``, that share of them still has its strokes thickened, as its
    :class:`~mnistlab.models.DigitAugmentation` thickens them, and nothing else changed.
    With the recipe's ``ema_momentum`` the optimiser keeps a moving average of the weights, and Keras ends each fit
    by putting it in their place: the clean epochs start from the average, and the model returned holds it.
    """
    changed = max(1, config.epochs - config.recipe.clean_epochs)
    history = model.fit(x, y, batch_size=config.batch_size, epochs=changed, validation_data=validation, shuffle=True,
                        verbose=0, callbacks=list(callbacks)).history
    if changed < config.epochs:
        thicken, closing = config.recipe.clean_thicken, []
        for layer in model.layers:
            if thicken and isinstance(layer, models.DigitAugmentation):
                closing.append(layer.thickening_only(thicken))
            elif not isinstance(layer, CHANGING_LAYERS):
                closing.append(layer)
        plain = keras.Sequential([keras.Input(model.input_shape[1:]), *closing], name=model.name)
        plain.compile(optimizer=model.optimizer, loss=model.loss, metrics=["accuracy"],
                      steps_per_execution=model.steps_per_execution)
        tail = plain.fit(x, y, batch_size=config.batch_size, initial_epoch=changed, epochs=config.epochs,
                         validation_data=validation, shuffle=True, verbose=0, callbacks=list(callbacks)).history
        history = {name: values + tail[name] for name, values in history.items()}
    return history


def _trained(config: TrainConfig, model, history: dict, seconds: float, test=None) -> Trained:
    if test is None:
        *_, test = training_data(config)
    _, accuracy = model.evaluate(*test, batch_size=inference.BATCH_SIZE, verbose=0)
    return Trained(model, config, {k: [float(v) for v in vs] for k, vs in history.items()}, float(seconds),
                   float(accuracy))


_REQUIRED = {"history": dict, "train_seconds": (int, float), "test_accuracy": (int, float)}


def _reader(config: TrainConfig, model=None, *, progress: bool = True, print_fn=print):
    """How a cache entry of ``config`` becomes a :class:`Trained` (loaded in Keras' safe mode; with ``model``, its
    weights loaded into that model)."""
    def read(entry: cache.Entry) -> Trained:
        try:
            loaded = keras.models.load_model(entry.file(_MODEL_FILE), safe_mode=True)
        except Exception as exc:  # noqa: BLE001 - any unreadable model is a cache miss, said in one line
            raise cache.Unusable(f"{_MODEL_FILE} does not load ({type(exc).__name__}: {exc})") from exc
        if model is not None:
            model.set_weights(loaded.get_weights())
        meta = entry.meta
        if progress:
            print_fn(f"loaded the {config.model} model from the cache ({entry.key}): "
                     f"{100 * meta['test_accuracy']:.2f}% test accuracy")
        return Trained(loaded if model is None else model, config, meta["history"], meta["train_seconds"],
                       meta["test_accuracy"], from_cache=True, path=entry.file(_MODEL_FILE))

    return read


def _entry(trained: Trained):
    """A trained model as a cache entry: its metadata and its ``model.keras``."""
    return ({"config": dataclasses.asdict(trained.config), "history": trained.history,
             "train_seconds": trained.train_seconds, "test_accuracy": trained.test_accuracy},
            {_MODEL_FILE: trained.model.save})


def _saved(trained: Trained, entry: cache.Entry | None) -> None:
    trained.path = entry.file(_MODEL_FILE) if entry is not None else None


def _through_cache(config: TrainConfig, compute, *, refresh: bool = False, progress: bool = True, print_fn=print,
                   warn=cache.warn) -> Trained | None:
    """The cached model for ``config``, or else ``compute()``'s, then cached
    (:func:`mnistlab.cache.load_or_compute`)."""
    def waiting() -> None:
        if progress:
            print_fn(f"another process is training or loading the {config.model} model: waiting for it")

    return cache.load_or_compute(config.key(), compute, read=_reader(config, progress=progress, print_fn=print_fn),
                                 write=_entry, required=_REQUIRED, matches={"config": dataclasses.asdict(config)},
                                 refresh=refresh, log=warn, waiting=waiting, saved=_saved)


def cached(config: TrainConfig, model: keras.Model | None = None, *, progress: bool = True,
           print_fn: Callable[[str], None] = print, warn: Callable[[str], None] = cache.warn) -> Trained | None:
    """The cached trained model for a config (loaded in Keras' safe mode), or ``None`` if there is none.

    With ``model`` (one the caller built and compiled, for instance in a notebook): ``None`` unless it is
    the recipe's model (:func:`is_recipe`); when found, the trained weights are loaded into ``model``.
    A cache entry that cannot be used is reported in one line through ``warn`` (stderr by default).
    """
    if model is not None and not is_recipe(config, model):
        if progress:
            print_fn(f"this model is not the {config.model} recipe's: it is trained, not taken from the cache")
        return None
    return cache.fetch(config.key(), _reader(config, model, progress=progress, print_fn=print_fn), required=_REQUIRED,
                       matches={"config": dataclasses.asdict(config)}, log=warn)


def score_and_cache(config: TrainConfig, model: keras.Model, history: dict, seconds: float, *,
                    print_fn: Callable[[str], None] = print) -> Trained:
    """A model trained for ``config`` outside :func:`train` (a notebook's own ``fit``), scored on the test digits and
    cached.

    ``history`` is ``fit``'s ``History.history``, ``seconds`` its training time. A model that is not the
    recipe's (:func:`is_recipe`), or whose recipe trains in two fits (``clean_epochs``), is scored but not cached,
    so it never stands in for the recipe's.
    """
    trained = _trained(config, model, history, seconds)
    if config.recipe.clean_epochs:  # its training is two fits (see fit): one fit of the caller's is not it
        print_fn(f"not cached: the {config.model} recipe trains its last {config.recipe.clean_epochs} epoch(s) on "
                 "unchanged digits (mnistlab.training.fit)")
    elif is_recipe(config, model):
        meta, files = _entry(trained)
        _saved(trained, cache.save(config.key(), meta, files))
    else:
        print_fn(f"not cached: this model is not the {config.model} recipe's")
    return trained


def from_shipped(config: TrainConfig, *, progress: bool = True, print_fn: Callable[[str], None] = print,
                 warn: Callable[[str], None] = cache.warn) -> Trained | None:
    """The model built from the weights the course ships for ``config`` (:mod:`mnistlab.pretrained`).

    ``None`` if none are shipped for this config, if ``$MNISTLAB_PRETRAINED`` is 0, or if they were
    trained from another recipe or other code (said in one line through ``warn``). Nothing is cached here:
    :func:`load` and :func:`load_or_train` cache it.
    """
    from mnistlab import pretrained

    if not pretrained.enabled() or config.model not in pretrained.SHIPPED or config != DEFAULTS[config.model]:
        return None
    try:
        record = pretrained.read(config.model)
    except pretrained.PretrainedError as exc:
        warn(f"pretrained: not using it: {exc}; training instead")
        return None
    if record is None:
        return None
    if not pretrained.same_training(record, config.identity()):
        warn(f"pretrained: not using {pretrained.path(config.model)}: it was trained from another version of "
             f"the {config.model} recipe or its code (python scripts/ship_pretrained.py trains it again)")
        return None
    try:
        arrays = pretrained.weights(config.model)
    except pretrained.PretrainedError as exc:
        warn(f"pretrained: not using it: {exc}; training instead")
        return None
    model = build(config)
    if [a.shape for a in arrays] != [tuple(w.shape) for w in model.weights]:
        warn(f"pretrained: not using {pretrained.path(config.model)}: its arrays do not fit the model")
        return None
    model.set_weights(arrays)
    model.optimizer.build(model.trainable_variables)  # cached with its optimizer's (unused) slots, as a trained model
    if progress:
        print_fn(f"took the {config.model} model the course ships: {100 * record['test_accuracy']:.2f}% test "
                 f"accuracy; mnistlab train --model {config.model} --retrain trains it on your computer")
    return Trained(model, config, record["history"], record["train_seconds"], record["test_accuracy"],
                   from_cache=True)


def load(config: TrainConfig, *, progress: bool = True, print_fn: Callable[[str], None] = print,
         warn: Callable[[str], None] = cache.warn) -> Trained | None:
    """The trained model for a config without training: the cached one, else the one the course ships (then
    cached); ``None`` if there is neither."""
    return _through_cache(config, lambda: from_shipped(config, progress=progress, print_fn=print_fn, warn=warn),
                          progress=progress, print_fn=print_fn, warn=warn)


def load_or_train(config: TrainConfig, *, retrain: bool = False, progress: bool = True,
                  print_fn: Callable[[str], None] = print, warn: Callable[[str], None] = cache.warn) -> Trained:
    """The cached model for a config if there is one (see :func:`cached`), else the weights the course ships
    for it (see :func:`from_shipped`), else train it; the last two are cached. ``retrain`` trains in any case.

    Progress goes to ``print_fn``; a cache entry that cannot be used is reported in one line through
    ``warn`` (stderr by default), and the model is trained again and replaces it.
    """
    def compute() -> Trained:
        found = None if retrain else from_shipped(config, progress=progress, print_fn=print_fn, warn=warn)
        if found is not None:
            return found
        if progress:
            print_fn(f"training {config.model} on {config.train_size:,} digits for {config.epochs} epochs "
                     f"(batch {config.batch_size}); it is cached in {cache.shown(cache.cache_dir())} for next time")
        return train(config, progress=progress, print_fn=print_fn)

    return _through_cache(config, compute, refresh=retrain, progress=progress, print_fn=print_fn, warn=warn)


def course_model(progress: bool = True) -> keras.Model:
    """The Keras model the drawing pad reads digits with: the course's default CNN (:data:`DEFAULT_MODEL`, the
    robust one; :func:`load`: cached or shipped); failing both, the quick one (trained now if needed, with
    progress: seconds, not minutes)."""
    found = load(DEFAULTS[DEFAULT_MODEL], progress=progress)
    return (found or load_or_train(DEFAULTS["quick"], progress=progress)).model
