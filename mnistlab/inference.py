"""Digits through a Keras model: one way to predict, for the command line, the evaluation, the sweeps and the pads.

The model is passed in, so importing this module imports no TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from mnistlab.preprocess import model_input

if TYPE_CHECKING:
    import keras

__all__ = ["BATCH_SIZE", "predict", "predictor"]

#: Digits per call when predicting. Smaller batches stay in the processor's cache: 256 predicted the 10,000 test
#: digits 1.5 to 1.8 times as fast as 2,000 with the course's three CNNs (one and two threads), to the same
#: predictions.
BATCH_SIZE = 256


def predict(model, images: np.ndarray, *, batch_size: int = BATCH_SIZE) -> np.ndarray:
    """The probabilities (N, classes) a Keras model gives digits ``images`` (see
    :func:`mnistlab.preprocess.model_input`), predicted in batches without Keras' progress bar."""
    x = model_input(images)
    if not len(x):
        return np.zeros((0, int(model.output_shape[-1])), np.float32)
    return np.concatenate([np.asarray(model.predict_on_batch(x[i:i + batch_size]))
                           for i in range(0, len(x), batch_size)])


def predictor(model: keras.Model, batch_size: int = BATCH_SIZE) -> Callable[[np.ndarray], np.ndarray]:
    """``images -> probabilities`` for a Keras model (:func:`predict`), for code that takes any predicting
    function (:func:`mnistlab.robustness.sweep`, the transform explorer)."""

    def predicting(images: np.ndarray) -> np.ndarray:
        return predict(model, images, batch_size=batch_size)

    return predicting
