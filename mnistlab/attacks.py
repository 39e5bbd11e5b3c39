"""The smallest change that fools a model: the input's gradient, the fast gradient sign step and its iterated form.

Both functions import TensorFlow when called (importing this module does not).
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from mnistlab.inference import predict
from mnistlab.preprocess import as_digits, model_input

if TYPE_CHECKING:
    import keras

__all__ = ["EPSILONS", "Adversarial", "adversarial", "input_gradient", "iterated", "smallest_steps"]


def input_gradient(model: keras.Model, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """d loss / d pixel: the gradient of the cross-entropy of ``labels`` with respect to each input pixel.

    ``images`` are (N, 28, 28) floats in [0, 1]; the result has their shape. Imports TensorFlow.
    """
    from mnistlab.runtime import import_tensorflow

    tf = import_tensorflow()
    images = as_digits(images)
    x = tf.convert_to_tensor(images.reshape(len(images), 28, 28, 1), dtype=tf.float32)
    gradient = _compiled_gradient(tf, model)(x, tf.convert_to_tensor(np.asarray(labels)))
    return gradient.numpy().reshape(images.shape)


#: One compiled gradient per model, made on its first use and dropped with the model.
_GRADIENTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _compiled_gradient(tf, model: keras.Model):
    """The input gradient of :func:`input_gradient` as a TensorFlow graph, traced once per model (and batch shape):
    the same numbers as running it op by op, in half the time, which the many steps of :func:`iterated` repeat."""
    if model not in _GRADIENTS:
        reference = weakref.ref(model)  # the graph must not keep the model alive, nor this entry with it

        @tf.function(reduce_retracing=True)
        def gradient(x, labels):
            with tf.GradientTape() as tape:
                tape.watch(x)
                probabilities = reference()(x, training=False)
                loss = tf.keras.losses.sparse_categorical_crossentropy(labels, probabilities)
            return tape.gradient(loss, x)

        _GRADIENTS[model] = gradient
    return _GRADIENTS[model]


@dataclass(frozen=True)
class Adversarial:
    """The smallest signed gradient step found that changes a digit's prediction (``epsilon``: its size)."""

    original: np.ndarray        # (28, 28) in [0, 1]
    changed: np.ndarray         # original + epsilon * sign(gradient), clipped to [0, 1]
    label: int
    predicted: int              # the prediction for ``changed``
    epsilon: float              # the step per pixel, a share of full brightness (nan: none found)
    probabilities: np.ndarray   # for ``changed``


#: The steps :func:`adversarial` and :func:`smallest_steps` try: 0.005, 0.01, ..., 0.3 (shares of full brightness).
EPSILONS: tuple[float, ...] = tuple(np.round(np.arange(0.005, 0.3001, 0.005), 3))


def adversarial(model: keras.Model, image: np.ndarray, label: int, epsilons: Sequence[float] = EPSILONS) -> Adversarial:
    """The fast gradient sign step (Goodfellow et al., 2015): every pixel moved by ``epsilon`` in the
    direction that raises the loss; the smallest of ``epsilons`` that changes the prediction is kept."""
    image = np.asarray(image, dtype=np.float32).reshape(28, 28)
    direction = np.sign(input_gradient(model, image[None], np.array([label]))[0])
    candidates = np.clip(image[None] + np.asarray(epsilons, np.float32)[:, None, None] * direction, 0, 1)
    probabilities = predict(model, candidates)
    flipped = np.flatnonzero(probabilities.argmax(axis=1) != label)
    k = int(flipped[0]) if len(flipped) else len(epsilons) - 1
    return Adversarial(image, candidates[k], int(label), int(probabilities[k].argmax()),
                       float(epsilons[k]) if len(flipped) else float("nan"), probabilities[k])


def smallest_steps(model: keras.Model, images: np.ndarray, labels: np.ndarray,
                   epsilons: Sequence[float] = EPSILONS) -> np.ndarray:
    """For each digit, the smallest of ``epsilons`` whose fast gradient sign step changes its prediction (``inf``:
    none does): :func:`adversarial`'s search for many digits at once, one gradient and one prediction per step.

    ``images`` are (N, 28, 28) or (N, 28, 28, 1), uint8 or floats in [0, 1]. Imports TensorFlow.
    """
    images = model_input(images)[..., 0]
    labels = np.asarray(labels)
    direction = np.sign(input_gradient(model, images, labels))
    smallest = np.full(len(images), np.inf)
    for epsilon in sorted(epsilons, reverse=True):  # from the largest down, so the smallest that flips is kept
        flipped = predict(model, np.clip(images + epsilon * direction, 0, 1)).argmax(axis=1) != labels
        smallest[flipped] = epsilon
    return smallest


def iterated(model: keras.Model, images: np.ndarray, labels: np.ndarray, epsilon: float, steps: int = 20) -> np.ndarray:
    """The signed gradient step taken ``steps`` times, each ``epsilon / 8`` long, with every pixel kept within
    ``epsilon`` of its original and within [0, 1] (projected gradient descent, Madry et al., 2018).

    ``images`` are (N, 28, 28) or (N, 28, 28, 1), uint8 or floats in [0, 1]; returns the changed images as
    (N, 28, 28) floats. Each step follows the gradient from where the last one led, so it finds changes a single
    step misses. Imports TensorFlow.
    """
    images = model_input(images)[..., 0]
    if not epsilon >= 0 or steps < 1:
        raise ValueError(f"epsilon must be at least 0 and steps at least 1, not epsilon={epsilon}, steps={steps}")
    low, high = np.clip(images - epsilon, 0, 1), np.clip(images + epsilon, 0, 1)
    changed = images.copy()
    for _ in range(steps):
        changed = np.clip(changed + epsilon / 8 * np.sign(input_gradient(model, changed, labels)), low, high)
    return changed
