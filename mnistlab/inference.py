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

__all__ = ["predict", "predictor"]


def predict(model, images: np.ndarray, *, batch_size: int = 2000) -> np.ndarray:
    """The probabilities (N, classes) a Keras model gives digits ``images`` (see
    :func:`mnistlab.preprocess.model_input`), predicted in batches without Keras' progress bar."""
    x = model_input(images)
    if not len(x):
        return np.zeros((0, int(model.output_shape[-1])), np.float32)
    return np.concatenate([np.asarray(model.predict_on_batch(x[i:i + batch_size]))
                           for i in range(0, len(x), batch_size)])


def predictor(model: keras.Model, batch_size: int = 2000) -> Callable[[np.ndarray], np.ndarray]:
    """``images -> probabilities`` for a Keras model (:func:`predict`), for code that takes any predicting
    function (:func:`mnistlab.robustness.sweep`, the transform explorer)."""

    def predicting(images: np.ndarray) -> np.ndarray:
        return predict(model, images, batch_size=batch_size)

    return predicting
