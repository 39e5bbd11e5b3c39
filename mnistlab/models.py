"""Keras models of the course. Importing this module imports TensorFlow (through mnistlab.runtime)."""

from __future__ import annotations

from mnistlab.runtime import import_tensorflow

__all__ = ["compact_cnn", "forward_flops", "report_cnn"]

NUM_CLASSES = 10
INPUT_SHAPE = (28, 28, 1)


def report_cnn(input_shape: tuple[int, int, int] = INPUT_SHAPE, num_classes: int = NUM_CLASSES, *,
             pooling: bool = True, dropout: float = 0.2):
    """The student report's CNN, exactly: 232,650 parameters on 28x28x1 digits.

    Conv2D 32 3x3 relu, MaxPool 2, Conv2D 64 3x3 relu, MaxPool 2, Flatten, Dense 128 relu, Dropout,
    Dense 64 relu, Dropout, Dense 10 softmax. Layers are named so summaries are stable across runs.
    ``pooling=False`` drops the two pooling layers, to show what they save (4.7 million parameters).
    """
    keras = import_tensorflow().keras
    layers = [keras.Input(shape=input_shape, name="digit"),
              keras.layers.Conv2D(32, 3, activation="relu", name="conv1")]
    if pooling:
        layers.append(keras.layers.MaxPooling2D(2, name="pool1"))
    layers.append(keras.layers.Conv2D(64, 3, activation="relu", name="conv2"))
    if pooling:
        layers.append(keras.layers.MaxPooling2D(2, name="pool2"))
    layers += [
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(128, activation="relu", name="dense1"),
        keras.layers.Dropout(dropout, name="dropout1"),
        keras.layers.Dense(64, activation="relu", name="dense2"),
        keras.layers.Dropout(dropout, name="dropout2"),
        keras.layers.Dense(num_classes, activation="softmax", name="probabilities"),
    ]
    return keras.Sequential(layers, name="report_cnn" if pooling else "report_cnn_no_pooling")


def compact_cnn(input_shape: tuple[int, int, int] = INPUT_SHAPE, num_classes: int = NUM_CLASSES, *,
                widths: tuple[int, int, int] = (32, 64, 128), shift: float = 0.075, rotation: float = 0.0,
                dropout: float = 0.25):
    """The course's own model: small, fast on a CPU, and more accurate than the report's.

    Three 3x3 convolutions with batch normalisation (32 -> pool -> 64 -> pool -> 128), then global
    average pooling instead of a large dense layer, and dropout. While training, each digit is
    shifted by up to ``shift`` of its size (0.075: 2 pixels) and turned by up to ``rotation`` of a
    full turn (0.022: 8 degrees); 0 turns either off. Augmentation layers do nothing at prediction.
    """
    keras = import_tensorflow().keras
    w1, w2, w3 = widths

    def conv_bn(filters, padding, name):
        return [keras.layers.Conv2D(filters, 3, padding=padding, use_bias=False, name=name),
                keras.layers.BatchNormalization(name=f"{name}_bn"),
                keras.layers.Activation("relu", name=f"{name}_relu")]

    layers = [keras.Input(shape=input_shape, name="digit")]
    if rotation:
        layers.append(keras.layers.RandomRotation(rotation, fill_mode="constant", name="rotate"))
    if shift:
        layers.append(keras.layers.RandomTranslation(shift, shift, fill_mode="constant", name="shift"))
    layers += [*conv_bn(w1, "valid", "conv1"), keras.layers.MaxPooling2D(2, name="pool1"),
               *conv_bn(w2, "same", "conv2"), keras.layers.MaxPooling2D(2, name="pool2"),
               *conv_bn(w3, "valid", "conv3"),
               keras.layers.GlobalAveragePooling2D(name="average"),
               keras.layers.Dropout(dropout, name="dropout"),
               keras.layers.Dense(num_classes, activation="softmax", name="probabilities")]
    return keras.Sequential(layers, name="compact_cnn")


def forward_flops(model) -> int:
    """Floating-point operations for one image through the model's convolutions and dense layers.

    Two per multiply-add: a Conv2D costs 2 * OH * OW * K * KH * KW * C, a Dense layer 2 * in * out.
    Pooling, activations and normalisation are left out (a few percent). A training step costs about
    three times the forward pass (forward, then gradients for the inputs and for the weights).
    """
    total = 0
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "Conv2D":
            _, oh, ow, k = layer.output.shape
            kh, kw, c, _ = layer.kernel.shape
            total += 2 * oh * ow * k * kh * kw * c
        elif kind == "Dense":
            n_in, n_out = layer.kernel.shape
            total += 2 * n_in * n_out
    return int(total)
