"""What a Keras model is made of, read once: its layers (:func:`read_layers`), the arithmetic each costs
(:func:`layer_flops`) and the input pixels a unit sees (:func:`receptive_field`).

:func:`read_layers` is the package's one reader of a model's layers by their class names; the NumPy
forward pass, the by-hand backpropagation, the drawing pad and the cache keys all go through it. The model
is passed in, so importing this module imports no TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import keras

__all__ = ["Layer", "forward_flops", "layer_flops", "read_layers", "receptive_field"]


@dataclass(frozen=True)
class Layer:
    """One layer of a Keras model as the course reads it: its name, its kind (the Keras class name, "Conv2D"),
    its settings (``get_config()``), its weights as NumPy arrays, and its output shape (``None`` if unknown)."""

    name: str
    kind: str
    config: dict = field(repr=False)
    weights: list[np.ndarray] = field(repr=False)
    output_shape: tuple | None = None


def read_layers(model: keras.Model) -> list[Layer]:
    """The layers of a Keras model (a Sequential's, in order), each read once as a :class:`Layer`."""
    layers = []
    for layer in model.layers:
        try:
            shape = tuple(layer.output.shape)
        except (AttributeError, ValueError):  # a layer never called on a symbolic input has no output yet
            shape = None
        layers.append(Layer(layer.name, type(layer).__name__, layer.get_config(),
                            [np.asarray(w) for w in layer.get_weights()], shape))
    return layers


def layer_flops(model: keras.Model) -> dict[str, int]:
    """Floating-point operations for one image in each convolution and dense layer, by layer name.

    Two per multiply-add: a Conv2D costs 2 * OH * OW * K * KH * KW * C, a Dense layer 2 * in * out.
    Pooling, activations and normalisation are left out (a few percent).
    """
    flops = {}
    for layer in read_layers(model):
        if layer.kind == "Conv2D":
            _, oh, ow, k = layer.output_shape
            kh, kw, c, _ = layer.weights[0].shape
            flops[layer.name] = int(2 * oh * ow * k * kh * kw * c)
        elif layer.kind == "Dense":
            n_in, n_out = layer.weights[0].shape
            flops[layer.name] = int(2 * n_in * n_out)
    return flops


def forward_flops(model: keras.Model) -> int:
    """Floating-point operations for one image through the model (the sum of :func:`layer_flops`).

    A training step costs about three times the forward pass (forward, then the gradients for the
    inputs and for the weights).
    """
    return sum(layer_flops(model).values())


def receptive_field(model: keras.Model, layer: str, row: int, col: int) -> tuple[int, int, int, int]:
    """The input pixels that unit (row, col) of ``layer``'s output can see: (top, left, bottom, right), inclusive.

    Walks back from the layer to the input: a k x k convolution at stride s maps rows [a, b] of its
    output to [a*s, b*s + k - 1] of its input, a pooling of size p likewise with k = p; layers that act
    pixel by pixel (normalisation, activations) keep the range. Valid padding only, as in the course's
    models; raises ``ValueError`` otherwise or for an unknown layer.
    """
    layers = read_layers(model)
    names = [item.name for item in layers]
    if layer not in names:
        raise ValueError(f"layer: expected one of {', '.join(names)}, got {layer!r}")
    top, bottom, left, right = row, row, col, col
    for item in reversed(layers[:names.index(layer) + 1]):
        kind, config = item.kind, item.config
        if kind == "Conv2D":
            (kh, kw), (sh, sw) = config["kernel_size"], config["strides"]
        elif kind in ("MaxPooling2D", "AveragePooling2D"):
            (kh, kw), (sh, sw) = config["pool_size"], config["strides"]
        else:
            continue
        if config["padding"] != "valid":
            raise ValueError(f"{item.name}: receptive fields are computed for valid padding only")
        top, bottom, left, right = top * sh, bottom * sh + kh - 1, left * sw, right * sw + kw - 1
    return top, left, bottom, right
