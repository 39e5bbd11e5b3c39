"""Training the course's CNNs: readable progress, a history, and trained models kept in the cache.

What to train is a :class:`mnistlab.recipes.TrainConfig` (that module imports no TensorFlow); this
module trains it. Trained models live in the user's cache (:mod:`mnistlab.cache`), never in the
repository, under the config's key, which covers the config, its recipe, the code that builds and
trains the model, and the library versions. A notebook or the command line asks
:func:`load_or_train` and gets the cached model when one matches, or trains it.
Importing this module imports TensorFlow.
"""

from __future__ import annotations

import contextlib
import dataclasses
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mnistlab import cache, models
from mnistlab.recipes import DEFAULTS, RECIPES, REPORT_PROTOCOL, VALIDATION_DIGITS, TrainConfig
from mnistlab.runtime import import_tensorflow

tf = import_tensorflow()
keras = tf.keras

__all__ = ["DEFAULTS", "RECIPES", "REPORT_PROTOCOL", "STEPS_PER_EXECUTION", "TrainConfig", "Trained", "build",
           "load_or_train", "seeded", "train", "training_data"]

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


class _EpochLines(keras.callbacks.Callback):
    """One readable line per epoch: loss, accuracy, validation accuracy, seconds."""

    def __init__(self, epochs: int, print_fn=print) -> None:
        super().__init__()
        self.epochs, self.print_fn = epochs, print_fn

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        val = f"  validation accuracy {100 * logs['val_accuracy']:6.2f}%" if "val_accuracy" in logs else ""
        self.print_fn(f"epoch {epoch + 1:2d}/{self.epochs}  loss {logs['loss']:.4f}  "
                      f"accuracy {100 * logs['accuracy']:6.2f}%{val}  ({time.perf_counter() - self.start:.1f} s)")


#: Steps Keras runs per call into its compiled training graph. The results are the same bit for bit
#: (tests/test_cnn.py checks it); the per-step overhead is paid once per 16 steps: about 1.2x the
#: images per second on this course's 2-core reference machine.
STEPS_PER_EXECUTION = 16


def _schedule(config: TrainConfig, steps_per_epoch: int):
    recipe = config.recipe
    peak = recipe.learning_rate
    if recipe.schedule == "constant":
        return peak
    if recipe.schedule != "warmup-cosine":
        raise ValueError(f"{config.model}: schedule: expected 'constant' or 'warmup-cosine', got {recipe.schedule!r}")
    total = config.epochs * steps_per_epoch
    warmup = max(1, int(recipe.warmup_fraction * total))
    return keras.optimizers.schedules.CosineDecay(peak * recipe.initial_fraction, total - warmup,
                                                  alpha=recipe.final_fraction, warmup_target=peak,
                                                  warmup_steps=warmup)


@contextlib.contextmanager
def seeded(seed: int):
    """Seed Keras and TensorFlow (and, inside the block, Python and NumPy) with ``seed``.

    Building and training inside the block is repeatable; when it ends, Python's and NumPy's global
    generators are back in the state the caller left them, so training never reseeds them silently.
    """
    saved = random.getstate(), np.random.get_state()
    keras.utils.set_random_seed(seed)
    try:
        yield
    finally:
        random.setstate(saved[0])
        np.random.set_state(saved[1])


def build(config: TrainConfig, *, steps_per_execution: int = STEPS_PER_EXECUTION):
    """A fresh, compiled model for a config, its weights seeded by ``config.seed`` (see :func:`seeded`)."""
    with seeded(config.seed):
        return _compiled(config, steps_per_execution)


def _compiled(config: TrainConfig, steps_per_execution: int):
    recipe = config.recipe
    if recipe.optimizer != "adam":
        raise ValueError(f"{config.model}: optimizer: expected 'adam', got {recipe.optimizer!r}")
    model = getattr(models, recipe.build)(**recipe.build_args)
    steps = -(-config.train_size // config.batch_size)
    optimizer = keras.optimizers.Adam(learning_rate=_schedule(config, steps))
    loss = keras.losses.CategoricalCrossentropy(label_smoothing=recipe.label_smoothing)
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"], steps_per_execution=steps_per_execution)
    return model


def train(config: TrainConfig, *, progress: bool = True, print_fn=print) -> Trained:
    """Train a model for a config (seeded: the same config gives the same model on this machine)."""
    (x, y), validation, (x_test, y_test) = training_data(config)
    callbacks = [_EpochLines(config.epochs, print_fn)] if progress else []
    with seeded(config.seed):
        model = _compiled(config, STEPS_PER_EXECUTION)
        start = time.perf_counter()
        history = model.fit(x, y, batch_size=config.batch_size, epochs=config.epochs, validation_data=validation,
                            shuffle=True, verbose=0, callbacks=callbacks)
        seconds = time.perf_counter() - start
    _, accuracy = model.evaluate(x_test, y_test, batch_size=1000, verbose=0)
    return Trained(model, config, {k: [float(v) for v in vs] for k, vs in history.history.items()}, seconds,
                   float(accuracy))


def load_or_train(config: TrainConfig, *, retrain: bool = False, progress: bool = True, print_fn=print,
                  warn=cache.warn) -> Trained:
    """The cached model for a config if there is one (loaded in Keras' safe mode), else train and cache it.

    Progress goes to ``print_fn``; a cache entry that cannot be used is reported in one line through
    ``warn`` (stderr by default), and the model is trained again and replaces it.
    """
    key = config.key()
    entry = None if retrain else cache.load(key, required=("history", "train_seconds", "test_accuracy"),
                                            matches={"config": dataclasses.asdict(config)}, log=warn)
    if entry is not None:
        try:
            model = keras.models.load_model(entry.file(_MODEL_FILE), safe_mode=True)
        except Exception as exc:  # noqa: BLE001 - any unreadable model is a cache miss, said in one line
            warn(f"cache: ignoring {entry.folder}: {_MODEL_FILE} does not load ({type(exc).__name__}: {exc}); "
                 "training it again")
        else:
            meta = entry.meta
            if progress:
                print_fn(f"loaded {config.model} model from the cache ({key}): "
                         f"{100 * meta['test_accuracy']:.2f}% test accuracy, trained in {meta['train_seconds']:.0f} s")
            return Trained(model, config, meta["history"], meta["train_seconds"], meta["test_accuracy"],
                           from_cache=True, path=entry.file(_MODEL_FILE))
    if progress:
        print_fn(f"training {config.model} on {config.train_size:,} digits for {config.epochs} epochs "
                 f"(batch {config.batch_size}); it is cached in {cache.cache_dir()} for next time")
    trained = train(config, progress=progress, print_fn=print_fn)
    meta = {"config": dataclasses.asdict(config), "history": trained.history,
            "train_seconds": trained.train_seconds, "test_accuracy": trained.test_accuracy}
    entry = cache.save(key, meta, {_MODEL_FILE: trained.model.save})
    trained.path = entry.file(_MODEL_FILE)
    return trained
