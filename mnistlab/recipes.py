"""What to train, without TensorFlow: the recipes of the course's CNNs and :class:`TrainConfig`.

A recipe is every hyperparameter of a model as data: the builder in :mod:`mnistlab.models` and its
arguments (widths, augmentation, dropout), the optimiser, the learning-rate schedule with its numbers,
the loss. A :class:`TrainConfig` picks a recipe and the data, epochs, batch size and seed. Its
:meth:`TrainConfig.key` names the trained model in the cache and changes whenever anything that
changes the trained model does, including the code that builds and trains it. Importing this module
is light, so the command line checks its options here before TensorFlow is imported.
"""

from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass, field
from importlib import resources

from mnistlab.errors import MnistlabError

__all__ = ["DEFAULTS", "DEFAULT_MODEL", "RECIPES", "REPORT_PROTOCOL", "VALIDATION_DIGITS", "ConfigError", "Recipe",
           "TrainConfig", "tried"]

#: Training digits never used for training below 50,000: validation curves are drawn on them.
VALIDATION_DIGITS = 10_000


class ConfigError(MnistlabError):
    """A training option out of range or unknown; the message names it and what was expected."""


@dataclass(frozen=True)
class Recipe:
    """How one model is built and trained (everything but the data, epochs, batch size and seed)."""

    description: str
    build: str                                   # a function of mnistlab.models
    build_args: dict = field(default_factory=dict)
    optimizer: str = "adam"
    learning_rate: float = 1e-3                  # the peak, with a schedule
    schedule: str = "constant"                   # or "warmup-cosine": linear warm-up, then cosine decay
    warmup_fraction: float = 0.0                 # of all steps, for "warmup-cosine"
    initial_fraction: float = 1.0                # of the peak, where the warm-up starts
    final_fraction: float = 1.0                  # of the peak, where the cosine decay ends
    label_smoothing: float = 0.0


#: The course's models. "report" is the student report's CNN trained as the report did (Adam at
#: Keras' default rate, one-hot labels, categorical cross-entropy). "quick" is the model a learner
#: retrains while changing one thing (99% in about 10 s); "best" is the course's most accurate.
#: benchmarks/bench_cnn.py measures them and the other recipes that were tried.
RECIPES: dict[str, Recipe] = {
    "report": Recipe("the report's CNN: 232,650 parameters, Adam", "report_cnn", {"dropout": 0.2}),
    "quick": Recipe("the quick CNN for experiments: two 5x5 convolutions, batch normalisation, 2 epochs",
                    "course_cnn", {"widths": (12, 24), "kernel_size": 5, "pools": (True, True), "shift": 0.0,
                                   "rotation": 0.0, "dropout": 0.0, "name": "quick_cnn"},
                    learning_rate=1e-2, schedule="warmup-cosine", warmup_fraction=0.2, initial_fraction=0.1,
                    final_fraction=1e-3),
    "best": Recipe("the course's best CNN: three convolutions, batch normalisation, shifted digits",
                   "course_cnn", {"widths": (32, 64, 256), "kernel_size": 3, "pools": (True, True, False),
                                  "shift": 0.13, "rotation": 0.0, "dropout": 0.25, "name": "best_cnn"},
                   learning_rate=3e-3, schedule="warmup-cosine", warmup_fraction=0.25, initial_fraction=0.1,
                   final_fraction=1e-3, label_smoothing=0.1),
    "robust": Recipe("the best CNN trained on digits shifted up to 5.6 pixels and turned up to 25 degrees",
                     "course_cnn", {"widths": (32, 64, 256), "kernel_size": 3, "pools": (True, True, False),
                                    "shift": 0.2, "rotation": 0.07, "dropout": 0.25, "name": "robust_cnn"},
                     learning_rate=3e-3, schedule="warmup-cosine", warmup_fraction=0.25, initial_fraction=0.1,
                     final_fraction=1e-3, label_smoothing=0.1),
}

#: The functions of ``training.py`` that decide what a trained model is (its data, schedule, seeding, compiling and
#: fitting): a model's identity digests them (:func:`mnistlab.cache.functions_digest`), so that printing,
#: caching and loading code can change without staling cached models or the shipped weights.
TRAINING_FUNCTIONS = ("training_data", "warmup_cosine", "_schedule", "_generators_kept", "seeded", "_compiled",
                      "train")

#: The functions of ``models.py`` a builder's model depends on, where they are more than the builder itself: a model's
#: identity digests them all, so that editing any of them stales the models built with it.
BUILDER_FUNCTIONS = {"sturdy_cnn": ("sturdy_cnn", "course_cnn", "DigitAugmentation")}

#: The model the command line trains, evaluates and predicts with unless told otherwise.
DEFAULT_MODEL = "best"


def tried():
    """The recipes tried on the way to the best one, as ``benchmarks/bench_cnn.py`` last measured them.

    A pandas table, one row per recipe (one change each from the best): parameters, forward MFLOP,
    epochs, batch, training seconds, test accuracy and accuracy on shifted and rotated digits, from one
    training each (seed 42). Every accuracy was scored on the TEST digits (the best recipe was chosen from
    this table, so its test accuracy is flattered: a later measurement on validation digits replaces it).
    The seconds are BENCHMARKS.md's machine's. Raises ``FileNotFoundError`` if the package was built
    without the file.
    """
    import pandas as pd

    with resources.files("mnistlab").joinpath("measured", "recipes_tried.csv").open(encoding="utf-8") as f:
        return pd.read_csv(f).set_index("recipe")

_LIMITS = (("train_size", 1, 60_000), ("epochs", 1, 1000), ("batch_size", 1, 60_000), ("seed", 0, 2**32 - 1))


@dataclass(frozen=True)
class TrainConfig:
    """What to train: a model of :data:`RECIPES` on the first ``train_size`` training digits.

    Raises :class:`ConfigError` for an unknown model or a number out of range.
    """

    model: str = "report"
    train_size: int = 60_000
    epochs: int = 10
    batch_size: int = 128
    seed: int = 42

    def __post_init__(self) -> None:
        if self.model not in RECIPES:
            raise ConfigError(f"model (--model): expected one of {', '.join(RECIPES)}; got {self.model!r}")
        for name, low, high in _LIMITS:
            value = getattr(self, name)
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or not low <= value <= high:
                raise ConfigError(f"{name} (--{name.replace('_', '-')}): expected a whole number from {low:,} to "
                                  f"{high:,}; got {value!r}")

    @property
    def recipe(self) -> Recipe:
        """The recipe of this config's model."""
        return RECIPES[self.model]

    @property
    def validates(self) -> bool:
        """Whether held-out training digits remain for a validation curve (train_size <= 50,000)."""
        return self.train_size <= 60_000 - VALIDATION_DIGITS

    def identity(self) -> dict:
        """Everything the trained model depends on: this config, its recipe, the code, the library versions."""
        from mnistlab.cache import functions_digest, module_source, versions

        return {"config": dataclasses.asdict(self), "recipe": dataclasses.asdict(self.recipe),
                "code": {"builder": functions_digest(module_source("mnistlab.models"),
                                                     BUILDER_FUNCTIONS.get(self.recipe.build, [self.recipe.build])),
                         "training": functions_digest(module_source("mnistlab.training"), TRAINING_FUNCTIONS)},
                "versions": versions("mnistlab", "keras", "tensorflow", "numpy")}

    def key(self) -> str:
        """The cache key: readable settings, then a digest of :meth:`identity`."""
        from mnistlab.cache import digest

        return (f"{self.model}-n{self.train_size}-e{self.epochs}-b{self.batch_size}-s{self.seed}-"
                f"{digest(self.identity())}")


#: The report's protocol as it meant it: its model on the first 20,000 digits, 10 epochs, batch 128.
REPORT_PROTOCOL = TrainConfig(model="report", train_size=20_000, epochs=10, batch_size=128)

#: Each model on all 60,000 training digits, as the command line and notebooks 05 and 07 train them.
DEFAULTS: dict[str, TrainConfig] = {
    "report": TrainConfig(model="report", train_size=60_000, epochs=10, batch_size=128),
    "quick": TrainConfig(model="quick", train_size=60_000, epochs=2, batch_size=256),
    "best": TrainConfig(model="best", train_size=60_000, epochs=10, batch_size=128),
    "robust": TrainConfig(model="robust", train_size=50_000, epochs=9, batch_size=128),
}
