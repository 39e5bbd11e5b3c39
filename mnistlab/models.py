"""Keras models of the course. Importing this module imports TensorFlow (through mnistlab.runtime)."""

from __future__ import annotations

from mnistlab.runtime import import_tensorflow

__all__ = ["course_cnn", "report_cnn"]

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


def course_cnn(input_shape: tuple[int, int, int] = INPUT_SHAPE, num_classes: int = NUM_CLASSES, *,
               widths: tuple[int, ...] = (32, 64, 128), kernel_size: int = 3,
               pools: tuple[bool, ...] = (True, True, False), batch_norm: bool = True, bn_momentum: float = 0.9,
               head: str = "flatten", shift: float = 0.1, rotation: float = 0.0, dropout: float = 0.25,
               name: str = "course_cnn"):
    """The course's own CNNs (the quick and the best model of :mod:`mnistlab.recipes`): fast on a CPU.

    One block per entry of ``widths``: a ``kernel_size`` convolution ("valid", no bias: the
    normalisation adds its own), 2x2 max pooling where ``pools`` says so, batch normalisation, ReLU.
    Normalising after the pooling costs a quarter of normalising before it (``batch_norm=False``: a
    bias and ReLU instead). The normalisation's running averages, used at prediction, follow the
    batches with ``bn_momentum`` 0.9 rather than Keras' 0.99: after a short training the 0.99 averages
    still lag behind the weights (measured on the quick model: 98.5% instead of 99.0%). Then the maps
    are flattened (``head="average"``: averaged over positions), dropped out at rate ``dropout`` while
    training, and a dense layer gives the softmax.
    While training, each digit is shifted by up to ``shift`` of its size (0.1: 2.8 pixels) and turned by
    up to ``rotation`` of a full turn (0.03: 11 degrees); 0 turns either off. Neither acts at prediction.
    """
    keras = import_tensorflow().keras
    if len(pools) != len(widths):
        raise ValueError(f"pools: expected one entry per convolution ({len(widths)}), got {len(pools)}")
    if head not in ("flatten", "average"):
        raise ValueError(f"head: expected 'flatten' or 'average', got {head!r}")
    layers = [keras.Input(shape=input_shape, name="digit")]
    if rotation:
        layers.append(keras.layers.RandomRotation(rotation, fill_mode="constant", name="rotate"))
    if shift:
        layers.append(keras.layers.RandomTranslation(shift, shift, fill_mode="constant", name="shift"))
    for i, (filters, pool) in enumerate(zip(widths, pools, strict=True), start=1):
        layers.append(keras.layers.Conv2D(filters, kernel_size, use_bias=not batch_norm, name=f"conv{i}"))
        if pool:
            layers.append(keras.layers.MaxPooling2D(2, name=f"pool{i}"))
        if batch_norm:
            layers.append(keras.layers.BatchNormalization(momentum=bn_momentum, name=f"bn{i}"))
        layers.append(keras.layers.Activation("relu", name=f"relu{i}"))
    layers += [keras.layers.Flatten(name="flatten") if head == "flatten"
               else keras.layers.GlobalAveragePooling2D(name="average"),
               keras.layers.Dropout(dropout, name="dropout"),
               keras.layers.Dense(num_classes, activation="softmax", name="probabilities")]
    return keras.Sequential(layers, name=name)
