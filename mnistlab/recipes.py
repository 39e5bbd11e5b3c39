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
from typing import TYPE_CHECKING

from mnistlab.errors import MnistlabError

if TYPE_CHECKING:
    import pandas as pd

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
    clean_epochs: int = 0                        # the last epochs on the digits as they are: no augmentation layers
    clean_thicken: float = 0.0                   # in those, the share of digits still thickened (DigitAugmentation)
    ema_momentum: float = 0.0                    # above 0: the trained weights are this moving average of the steps'


#: The course's models. "report" is the student report's CNN trained as the report did (Adam at Keras' default rate,
#: one-hot labels, categorical cross-entropy). "quick" is the model a learner retrains while changing one thing (about
#: 99% of the test digits in two epochs); "best" is the course's most accurate on MNIST's test digits; "robust", the
#: default, reads digits as pens and photos change them (chosen on validation digits by benchmarks/search_robust.py).
#: benchmarks/bench_cnn.py and bench_robustness.py measure them.
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
    "robust": Recipe("the course's default CNN: the best CNN's convolutions with group normalisation, no dropout and "
                     "one-hot targets, each digit first moved to MNIST's centre of mass, trained on digits also "
                     "shifted further, turned, thickened, blurred, dimmed and noised, its last 2 epochs on digits as "
                     "they are but for a fifth of them, still thickened", "centred_cnn",
                     {"widths": (32, 64, 256), "kernel_size": 3, "pools": (True, True, False), "groups": 8,
                      "shift": 0.19, "rotation": 0.06, "dropout": 0.0, "blur": 2.0, "noise": 0.5, "dim": 0.5,
                      "p": 0.2, "centre_first": True, "name": "robust_cnn"},
                     learning_rate=3e-3, schedule="warmup-cosine", warmup_fraction=0.25, initial_fraction=0.1,
                     final_fraction=1e-3, label_smoothing=0.0, clean_epochs=2, clean_thicken=0.2),
}

#: The functions of ``training.py`` that decide what a trained model is (its data, schedule, seeding, compiling and
#: fitting): a model's identity digests them (:func:`mnistlab.cache.functions_digest`), so that printing,
#: caching and loading code can change without staling cached models or the shipped weights.
TRAINING_FUNCTIONS = ("training_data", "warmup_cosine", "_schedule", "_generators_kept", "seeded", "_compiled",
                      "train", "fit")

#: The functions of ``models.py`` a builder's model depends on, where they are more than the builder itself: a model's
#: identity digests them all, so that editing any of them stales the models built with it.
BUILDER_FUNCTIONS = {"sturdy_cnn": ("sturdy_cnn", "course_cnn", "DigitAugmentation"),
                     "centred_cnn": ("centred_cnn", "sturdy_cnn", "course_cnn", "DigitAugmentation", "Recentre")}

#: The model the command line trains, evaluates and predicts with unless told otherwise, and the drawing pad reads
#: with: the robust CNN, which reads blurred, noisy, thick-stroked, shifted and turned digits (the best CNN reads
#: more of MNIST's test digits and collapses on blur and noise; notebook 08 and BENCHMARKS.md measure both).
DEFAULT_MODEL = "robust"


def tried() -> pd.DataFrame:
    """The recipes tried on the way to the best one, as ``benchmarks/bench_cnn.py`` last measured them.

    A pandas table, one row per recipe (the best, then one change each from it): parameters, forward MFLOP,
    epochs, batch, training seconds, and accuracy on the validation digits as they are, shifted 4 pixels
    diagonally and turned 20 degrees, from one training each (seed 42) on the first 50,000 training digits. The
    last 10,000 training digits, which none of them trains on, score them: the test digits are not read. The
    seconds are those of the machine BENCHMARKS.md's CNN section names. Raises ``FileNotFoundError`` if the package
    was built without the file.
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

#: What the command line trains, and notebooks 07 and 08 load: each model on all 60,000 training digits but the
#: robust CNN, which leaves the last 10,000 aside as validation digits for its choices and its temperature.
DEFAULTS: dict[str, TrainConfig] = {
    "report": TrainConfig(model="report", train_size=60_000, epochs=10, batch_size=128),
    "quick": TrainConfig(model="quick", train_size=60_000, epochs=2, batch_size=256),
    "best": TrainConfig(model="best", train_size=60_000, epochs=10, batch_size=128),
    # 12 epochs of 50,000 digits: as many digits seen, and as much arithmetic, as the best's 10 of 60,000.
    "robust": TrainConfig(model="robust", train_size=50_000, epochs=12, batch_size=128),
}
