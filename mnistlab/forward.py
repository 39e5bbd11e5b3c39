"""The open box: a trained Keras model's prediction recomputed with :mod:`mnistlab.ops`, layer by layer.

Only the layers' weights come from Keras; every number after that is computed here with NumPy, so
equal predictions show that the by-hand operations are what the network does. Works on any
Sequential model made of the layers below (both course models are).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from mnistlab import ops
from mnistlab.architecture import Layer, read_layers
from mnistlab.preprocess import recentred

if TYPE_CHECKING:
    import keras

__all__ = ["SUPPORTED", "forward"]

_ACTIVATIONS = {"linear": lambda z: z, "relu": ops.relu, "softmax": ops.softmax}


def _activation(layer: Layer, z: np.ndarray) -> np.ndarray:
    name = layer.config.get("activation", "linear")
    if name not in _ACTIVATIONS:
        raise ValueError(f"{layer.name}: activation {name!r} is not one of {sorted(_ACTIVATIONS)}")
    return _ACTIVATIONS[name](z)


def _conv2d(layer: Layer, x):
    config = layer.config
    if tuple(config["dilation_rate"]) != (1, 1) or config.get("groups", 1) != 1:
        raise ValueError(f"{layer.name}: dilated or grouped convolutions are not taught here")
    weights = layer.weights
    bias = weights[1] if config["use_bias"] else None
    return _activation(layer, ops.conv2d(x, weights[0], bias, tuple(config["strides"]), config["padding"]))


def _pool(mode):
    def pool(layer: Layer, x):
        config = layer.config
        return ops.pool2d(x, tuple(config["pool_size"]), tuple(config["strides"]), mode, config["padding"])
    return pool


def _dense(layer: Layer, x):
    kernel, *bias = layer.weights
    return _activation(layer, ops.dense(x, kernel, bias[0] if bias else None))


def _batch_norm(layer: Layer, x):
    config = layer.config
    gamma, beta, mean, variance = layer.weights  # inference: the moving averages
    return (x - mean) / np.sqrt(variance + config["epsilon"]) * gamma + beta


def _group_norm(layer: Layer, x):
    """Each digit's channels split into ``groups`` groups, each group normalised by its own mean and variance over its
    positions and channels (the same at training and at prediction), then scaled and shifted per channel."""
    config = layer.config
    if config["axis"] not in (-1, x.ndim - 1):
        raise ValueError(f"{layer.name}: group normalisation over axis {config['axis']} is not taught here")
    groups = config["groups"] if config["groups"] != -1 else x.shape[-1]  # -1: one group per channel
    grouped = x.reshape(*x.shape[:-1], groups, x.shape[-1] // groups)
    axes = tuple(range(1, grouped.ndim - 2)) + (grouped.ndim - 1,)
    mean = grouped.mean(axis=axes, keepdims=True)
    variance = grouped.var(axis=axes, keepdims=True)
    normalised = ((grouped - mean) / np.sqrt(variance + config["epsilon"])).reshape(x.shape)
    weights = iter(layer.weights)
    gamma = next(weights) if config["scale"] else 1.0
    beta = next(weights) if config["center"] else 0.0
    return normalised * gamma + beta


#: What each supported layer class computes; layers that only act while training pass data through.
SUPPORTED = {
    "InputLayer": lambda layer, x: x,
    "Conv2D": _conv2d,
    "MaxPooling2D": _pool("max"),
    "AveragePooling2D": _pool("avg"),
    "Flatten": lambda layer, x: ops.flatten(x),
    "Dense": _dense,
    "Activation": _activation,
    "BatchNormalization": _batch_norm,
    "GroupNormalization": _group_norm,
    "GlobalAveragePooling2D": lambda layer, x: x.mean(axis=(1, 2)),
    "Dropout": lambda layer, x: x,           # only active while training
    "RandomRotation": lambda layer, x: x,    # augmentation: only active while training
    "RandomTranslation": lambda layer, x: x,
    "RandomShear": lambda layer, x: x,
    "DigitAugmentation": lambda layer, x: x,  # mnistlab.models': thickened, blurred, dimmed, noised while training
    "Recentre": lambda layer, x: recentred(x, tuple(layer.config["centre"])),  # mnistlab.models': by centre of mass
}


def forward(model: keras.Model, x: np.ndarray, *, batch_size: int = 2000, keep: bool = False,
            batch_statistics: bool = False) -> np.ndarray | tuple[np.ndarray, dict[str, np.ndarray]]:
    """The model's output for images ``x`` (N, 28, 28, 1), computed with NumPy layer by layer.

    Returns the probabilities (N, classes); with ``keep=True`` also a dict of every layer's output
    (for the first batch only, to look inside). Raises ``ValueError`` naming a layer it cannot compute.
    ``batch_statistics=True`` normalises each batch normalisation layer with the mean and variance of its input
    over all of ``x`` (one batch), as training does, instead of the moving averages training left: how the network
    reads these digits once its normalisation has seen their like.
    """
    layers = read_layers(model)
    for layer in layers:
        if layer.kind not in SUPPORTED:
            raise ValueError(f"{layer.name}: layer type {layer.kind} has no by-hand version "
                             f"(supported: {', '.join(sorted(SUPPORTED))})")
    x = np.asarray(x, dtype=np.float32)
    if batch_statistics:
        batch_size = max(1, len(x))
    outputs, inside = [], {}
    for start in range(0, len(x), batch_size):
        h = x[start:start + batch_size]
        for layer in layers:
            if batch_statistics and layer.kind == "BatchNormalization":
                gamma, beta, *_ = layer.weights
                axes = tuple(range(h.ndim - 1))
                layer = replace(layer, weights=[gamma, beta, h.mean(axis=axes), h.var(axis=axes)])
            h = SUPPORTED[layer.kind](layer, h).astype(np.float32, copy=False)
            if keep and start == 0:
                inside[layer.name] = h
        outputs.append(h)
    probabilities = np.concatenate(outputs)
    return (probabilities, inside) if keep else probabilities
