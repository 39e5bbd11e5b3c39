"""Training the course's CNNs: one config, readable progress, a history, and a per-user model cache.

Trained models live in the user's cache folder (:func:`mnistlab.cache.cache_dir`), never in the
repository, under a key made of everything that changes the result: the config, the model's recipe,
and the mnistlab, Keras and TensorFlow versions. A notebook or the command line asks
:func:`load_or_train` and gets the cached model when one matches, or trains it.
Importing this module imports TensorFlow.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mnistlab import models
from mnistlab.cache import cache_dir, digest
from mnistlab.runtime import import_tensorflow

tf = import_tensorflow()
keras = tf.keras

__all__ = ["DEFAULTS", "RECIPES", "REPORT_PROTOCOL", "STEPS_PER_EXECUTION", "TrainConfig", "Trained", "load_or_train",
           "train", "training_data"]

#: How each model is trained. The seed model is trained as the report did (Adam, one-hot labels,
#: categorical cross-entropy); changing a recipe changes the cache key, so stale models retrain.
RECIPES: dict[str, dict] = {
    "seed": {"build": "seed_cnn", "optimizer": "adam", "learning_rate": 1e-3, "schedule": "constant"},
    "compact": {"build": "compact_cnn", "optimizer": "adam", "learning_rate": 3e-3, "schedule": "one-cycle",
                "label_smoothing": 0.1},
}

#: Training digits never used for training below 50,000: validation curves are drawn on them.
VALIDATION_DIGITS = 10_000


@dataclass(frozen=True)
class TrainConfig:
    """What to train: a model of :data:`RECIPES` on the first ``train_size`` training digits."""

    model: str = "seed"
    train_size: int = 60_000
    epochs: int = 10
    batch_size: int = 128
    seed: int = 42

    def __post_init__(self) -> None:
        if self.model not in RECIPES:
            raise ValueError(f"model: expected one of {sorted(RECIPES)}, got {self.model!r}")
        for name, low, high in (("train_size", 1, 60_000), ("epochs", 1, 1000), ("batch_size", 1, 60_000)):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or not low <= value <= high:
                raise ValueError(f"{name}: expected an int in {low}..{high}, got {value!r}")

    @property
    def validates(self) -> bool:
        """Whether held-out training digits remain for a validation curve (train_size <= 50,000)."""
        return self.train_size <= 60_000 - VALIDATION_DIGITS

    def key(self) -> str:
        """A file name that changes whenever anything that changes the trained model does."""
        from mnistlab import __version__

        identity = {"config": dataclasses.asdict(self), "recipe": RECIPES[self.model], "mnistlab": __version__,
                    "keras": keras.__version__, "tensorflow": tf.__version__}
        return f"{self.model}-n{self.train_size}-e{self.epochs}-b{self.batch_size}-s{self.seed}-{digest(identity)}"


#: The report's protocol: its model on the first 20,000 digits, 10 epochs, batch 128.
REPORT_PROTOCOL = TrainConfig(model="seed", train_size=20_000, epochs=10, batch_size=128)

#: Each model on all 60,000 training digits, as the command line and notebook 06 train them.
DEFAULTS = {
    "seed": TrainConfig(model="seed", train_size=60_000, epochs=10, batch_size=128),
    "compact": TrainConfig(model="compact", train_size=60_000, epochs=20, batch_size=128),
}


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
    recipe = RECIPES[config.model]
    peak = recipe["learning_rate"]
    if recipe["schedule"] == "constant":
        return peak
    total = config.epochs * steps_per_epoch
    warmup = max(1, int(0.25 * total))
    decay = keras.optimizers.schedules.CosineDecay(peak / 10, total - warmup, alpha=1e-3, warmup_target=peak,
                                                   warmup_steps=warmup)
    return decay


def build(config: TrainConfig, *, steps_per_execution: int = STEPS_PER_EXECUTION):
    """A fresh, compiled model for a config, its weights seeded by ``config.seed``."""
    keras.utils.set_random_seed(config.seed)
    recipe = RECIPES[config.model]
    model = getattr(models, recipe["build"])()
    steps = -(-config.train_size // config.batch_size)
    optimizer = keras.optimizers.Adam(learning_rate=_schedule(config, steps))
    loss = keras.losses.CategoricalCrossentropy(label_smoothing=recipe.get("label_smoothing", 0.0))
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"], steps_per_execution=steps_per_execution)
    return model


def train(config: TrainConfig, *, progress: bool = True, print_fn=print) -> Trained:
    """Train a model for a config (seeded: the same config gives the same model on this machine)."""
    (x, y), validation, (x_test, y_test) = training_data(config)
    model = build(config)
    callbacks = [_EpochLines(config.epochs, print_fn)] if progress else []
    start = time.perf_counter()
    history = model.fit(x, y, batch_size=config.batch_size, epochs=config.epochs, validation_data=validation,
                        shuffle=True, verbose=0, callbacks=callbacks)
    seconds = time.perf_counter() - start
    _, accuracy = model.evaluate(x_test, y_test, batch_size=1000, verbose=0)
    return Trained(model, config, {k: [float(v) for v in vs] for k, vs in history.history.items()}, seconds,
                   float(accuracy))


def load_or_train(config: TrainConfig, *, retrain: bool = False, progress: bool = True, print_fn=print) -> Trained:
    """The cached model for a config if there is one (loaded in Keras' safe mode), else train and cache it."""
    folder, key = cache_dir(), config.key()
    weights, meta = folder / f"{key}.keras", folder / f"{key}.json"
    if not retrain and weights.exists() and meta.exists():
        info = json.loads(meta.read_text())
        if info.get("config") == dataclasses.asdict(config):
            model = keras.models.load_model(weights, safe_mode=True)
            if progress:
                print_fn(f"loaded {config.model} model from the cache ({weights.name}): "
                         f"{100 * info['test_accuracy']:.2f}% test accuracy, trained in {info['train_seconds']:.0f} s")
            return Trained(model, config, info["history"], info["train_seconds"], info["test_accuracy"],
                           from_cache=True, path=weights)
    if progress:
        print_fn(f"training {config.model} on {config.train_size:,} digits for {config.epochs} epochs "
                 f"(batch {config.batch_size}); it is cached in {folder} for next time")
    trained = train(config, progress=progress, print_fn=print_fn)
    folder.mkdir(parents=True, exist_ok=True)
    partial = weights.with_suffix(".partial.keras")
    trained.model.save(partial)
    partial.replace(weights)  # never leave a half-written model under the real name
    meta.write_text(json.dumps({"config": dataclasses.asdict(config), "history": trained.history,
                                "train_seconds": trained.train_seconds, "test_accuracy": trained.test_accuracy},
                               indent=1))
    trained.path = weights
    return trained
