"""Keras models of the course. Importing this module imports TensorFlow (through mnistlab.runtime)."""

from __future__ import annotations

from mnistlab.runtime import import_tensorflow

__all__ = ["seed_cnn"]

NUM_CLASSES = 10
INPUT_SHAPE = (28, 28, 1)


def seed_cnn(input_shape: tuple[int, int, int] = INPUT_SHAPE, num_classes: int = NUM_CLASSES, *,
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
    return keras.Sequential(layers, name="seed_cnn" if pooling else "seed_cnn_no_pooling")
