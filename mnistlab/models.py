"""Keras models of the course. Importing this module imports TensorFlow (through mnistlab.runtime)."""

from __future__ import annotations

from mnistlab.preprocess import MNIST_CENTRE
from mnistlab.runtime import import_tensorflow

__all__ = ["DigitAugmentation", "Recentre", "centred_cnn", "course_cnn", "report_cnn", "sturdy_cnn"]

_tf = import_tensorflow()
import keras as _keras  # noqa: E402 - after TensorFlow, quietly imported

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
               groups: int = 0, head: str = "flatten", shift: float = 0.1, rotation: float = 0.0,
               dropout: float = 0.25, name: str = "course_cnn"):
    """The course's own CNNs (the quick and the best model of :mod:`mnistlab.recipes`): fast on a CPU.

    One block per entry of ``widths``: a ``kernel_size`` convolution ("valid", no bias: the
    normalisation adds its own), 2x2 max pooling where ``pools`` says so, batch normalisation, ReLU.
    Normalising after the pooling costs a quarter of normalising before it (``batch_norm=False``: a
    bias and ReLU instead). The normalisation's running averages, used at prediction, follow the
    batches with ``bn_momentum`` 0.9 rather than Keras' 0.99: after a short training the 0.99 averages
    still lag behind the weights (measured on the quick model: 98.5% instead of 99.0%). ``groups`` > 0 puts group
    normalisation in its place: each digit's maps, in ``groups`` groups of channels, normalised by their own mean
    and spread, the same at training and at prediction, so that a blurred or faint digit is measured against
    itself rather than against averages of the training digits (notebook 08). Then the maps
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
        if batch_norm and groups:
            layers.append(keras.layers.GroupNormalization(groups, name=f"gn{i}"))
        elif batch_norm:
            layers.append(keras.layers.BatchNormalization(momentum=bn_momentum, name=f"bn{i}"))
        layers.append(keras.layers.Activation("relu", name=f"relu{i}"))
    layers += [keras.layers.Flatten(name="flatten") if head == "flatten"
               else keras.layers.GlobalAveragePooling2D(name="average"),
               keras.layers.Dropout(dropout, name="dropout"),
               keras.layers.Dense(num_classes, activation="softmax", name="probabilities")]
    return keras.Sequential(layers, name=name)


@_keras.saving.register_keras_serializable(package="mnistlab")
class DigitAugmentation(_keras.layers.Layer):
    """While training only, each digit changed at random as photos and pens change digits: its strokes thickened
    by 1 to ``thicken_steps`` pixels (grey dilation: each step takes the brightest pixel of a 3x3 square, or with
    ``footprint="plus"`` of a pixel and its four neighbours, as ``transforms.thickness`` does; ``"either"``: one of
    the two, at random for each digit), or, with probability ``thin``, thinned instead (grey erosion: one step of the
    darkest pixel of a pixel and its four neighbours, as ``transforms.thickness`` thins), blurred (a Gaussian of up to
    ``blur`` pixels), dimmed (its ink times a factor down to ``dim``) and noised (Gaussian noise of up to ``noise`` of
    full brightness, then clipped to [0, 1]). Each change acts on a digit with probability ``p`` (the thickening with
    ``thicken``, if given), independently; at prediction the layer passes digits through unchanged. Inputs are
    (N, 28, 28, 1) floats in [0, 1]."""

    _SIGMAS = (0.5, 1.0, 1.5, 2.0, 2.5)

    def __init__(self, blur: float = 2.0, noise: float = 0.4, dim: float = 0.5, p: float = 0.5, seed=None,
                 thicken: float | None = None, thicken_steps: int = 2, footprint: str = "square", thin: float = 0.0,
                 **kwargs):
        super().__init__(**kwargs)
        if footprint not in ("square", "plus", "either"):
            raise ValueError(f"footprint: expected 'square', 'plus' or 'either', got {footprint!r}")
        if int(thicken_steps) != thicken_steps or not 1 <= thicken_steps <= 5:
            raise ValueError(f"thicken_steps: expected a whole number from 1 to 5, got {thicken_steps!r}")
        self.blur, self.noise, self.dim, self.p, self.seed = float(blur), float(noise), float(dim), float(p), seed
        self.thicken = self.p if thicken is None else float(thicken)
        self.thicken_steps, self.footprint = int(thicken_steps), footprint
        self.thin = float(thin)
        if not 0 <= self.thin <= 1 - self.thicken:
            raise ValueError(f"thin: expected a probability from 0 to 1 - thicken ({1 - self.thicken:g}), got {thin!r}")
        self.generator = _keras.random.SeedGenerator(seed)
        import numpy as np

        kernels = []
        for sigma in (s for s in self._SIGMAS if s <= self.blur):
            radius = int(np.ceil(3 * sigma))
            line = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
            kernel = np.zeros((15, 15), np.float32)
            kernel[7 - radius:8 + radius, 7 - radius:8 + radius] = np.outer(line, line) / line.sum() ** 2
            kernels.append(kernel)
        self._kernels = np.stack(kernels, axis=-1)[:, :, None, :] if kernels else None  # (15, 15, 1, K)

    @staticmethod
    def _plus_max(z):
        """The brightest of each pixel and its four neighbours, blank (0) outside the digit, as scipy's
        ``mode="constant"`` sees it: one step of grey dilation; ``-_plus_max(-z)`` is one step of grey erosion."""
        tf = _tf
        padded = tf.pad(z, [[0, 0], [1, 1], [1, 1], [0, 0]])
        return tf.maximum(tf.nn.max_pool2d(padded, (3, 1), 1, "VALID")[:, :, 1:-1],
                          tf.nn.max_pool2d(padded, (1, 3), 1, "VALID")[:, 1:-1, :])

    def _thickened(self, x, footprint: str):
        """Each digit dilated by 1 to ``thicken_steps`` steps of ``footprint``, the count drawn at random."""
        tf = _tf
        step = (lambda z: tf.nn.max_pool2d(z, 3, 1, "SAME")) if footprint == "square" else self._plus_max
        thicker = [step(x)]
        for _ in range(self.thicken_steps - 1):
            thicker.append(step(thicker[-1]))
        steps = _keras.random.uniform((tf.shape(x)[0], 1, 1, 1), seed=self.generator) * self.thicken_steps
        thick = thicker[-1]
        for k in range(self.thicken_steps - 2, -1, -1):  # k + 1 steps where the draw is below k + 1
            thick = tf.where(steps < k + 1, thicker[k], thick)
        return thick

    def thickening_only(self, thicken: float) -> DigitAugmentation:
        """A layer that thickens strokes as this one does (its steps and footprint), on a share ``thicken`` of the
        digits, and changes them in no other way."""
        return DigitAugmentation(blur=0.0, noise=0.0, dim=1.0, p=0.0, seed=self.seed, thicken=thicken,
                                 thicken_steps=self.thicken_steps, footprint=self.footprint,
                                 name=f"{self.name}_thickening")

    def _chosen(self, n):
        return _keras.random.uniform((n, 1, 1, 1), seed=self.generator) < self.p

    def call(self, x, training=None):
        if not training:
            return x
        tf = _tf
        n = tf.shape(x)[0]
        thick = self._thickened(x, "plus" if self.footprint == "plus" else "square")
        if self.footprint == "either":
            thick = tf.where(_keras.random.uniform((n, 1, 1, 1), seed=self.generator) < 0.5, thick,
                             self._thickened(x, "plus"))
        draw = _keras.random.uniform((n, 1, 1, 1), seed=self.generator)  # below thicken: thicker; then thin: thinner
        if self.thin:
            x = tf.where(draw < self.thicken + self.thin, -self._plus_max(-x), x)
        x = tf.where(draw < self.thicken, thick, x)
        if self._kernels is not None:  # every blur at once, one output channel each; each digit keeps one of them
            blurred = tf.nn.conv2d(x, tf.constant(self._kernels), 1, "SAME")
            which = _keras.random.randint((n,), 0, self._kernels.shape[-1], seed=self.generator)
            picked = tf.reduce_sum(blurred * tf.one_hot(which, self._kernels.shape[-1])[:, None, None, :], axis=-1,
                                   keepdims=True)
            x = tf.where(self._chosen(n), picked, x)
        factor = _keras.random.uniform((n, 1, 1, 1), self.dim, 1.0, seed=self.generator)
        x = tf.where(self._chosen(n), x * factor, x)
        sigma = _keras.random.uniform((n, 1, 1, 1), 0.0, self.noise, seed=self.generator)
        noisy = x + sigma * _keras.random.normal(tf.shape(x), seed=self.generator)
        return tf.clip_by_value(tf.where(self._chosen(n), noisy, x), 0.0, 1.0)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "blur": self.blur, "noise": self.noise, "dim": self.dim, "p": self.p,
                "seed": self.seed, "thicken": self.thicken, "thicken_steps": self.thicken_steps,
                "footprint": self.footprint, "thin": self.thin}


def sturdy_cnn(*, blur: float = 2.0, noise: float = 0.4, dim: float = 0.5, p: float = 0.5,
               thicken: float | None = None, thicken_steps: int = 2, footprint: str = "square", thin: float = 0.0,
               name: str = "sturdy_cnn", **course):
    """:func:`course_cnn` (its arguments in ``course``) with :class:`DigitAugmentation` after the input: while
    training, digits also thickened, blurred, dimmed and noised at random, so that the filters (and batch
    normalisation's moving averages, where the network has them) meet such digits before a learner's photo
    brings them."""
    base = course_cnn(name=name, **course)
    layers = [_keras.Input(shape=base.input_shape[1:], name="digit"),
              DigitAugmentation(blur, noise, dim, p, thicken=thicken, thicken_steps=thicken_steps,
                                footprint=footprint, thin=thin, name="photo_changes"), *base.layers]
    return _keras.Sequential(layers, name=name)


@_keras.saving.register_keras_serializable(package="mnistlab")
class Recentre(_keras.layers.Layer):
    """Each digit moved by whole pixels so that its centre of mass lands on ``centre`` (row, column; MNIST's makers
    put every digit's at about (14, 14)), while training and at prediction alike: a digit drawn off-centre reaches
    the convolutions where MNIST's digits are. Exactly :func:`mnistlab.preprocess.recentred`, in TensorFlow.
    Inputs are (N, H, W, 1); a digit with no ink passes unchanged."""

    def __init__(self, centre: tuple[float, float] = MNIST_CENTRE, **kwargs):
        super().__init__(**kwargs)
        self.centre = (float(centre[0]), float(centre[1]))

    def call(self, x):
        tf = _tf
        height, width = x.shape[1], x.shape[2]
        planes = tf.cast(x[..., 0], "float64")
        mass = tf.reduce_sum(planes, axis=(1, 2))
        mass = tf.where(mass > 0, mass, tf.ones_like(mass))  # a blank digit, moved anywhere, stays blank
        rows = tf.reduce_sum(tf.reduce_sum(planes, axis=2) * tf.range(height, dtype="float64"), axis=1) / mass
        cols = tf.reduce_sum(tf.reduce_sum(planes, axis=1) * tf.range(width, dtype="float64"), axis=1) / mass
        dy = tf.cast(tf.round(self.centre[0] - rows), "int32")
        dx = tf.cast(tf.round(self.centre[1] - cols), "int32")
        source_rows = tf.range(height)[None, :] - dy[:, None]                       # (N, H)
        source_cols = tf.range(width)[None, :] - dx[:, None]                        # (N, W)
        moved = tf.gather(x, tf.clip_by_value(source_rows, 0, height - 1), axis=1, batch_dims=1)
        moved = tf.gather(moved, tf.clip_by_value(source_cols, 0, width - 1), axis=2, batch_dims=1)
        rows_in = tf.cast((source_rows >= 0) & (source_rows < height), x.dtype)[:, :, None, None]
        cols_in = tf.cast((source_cols >= 0) & (source_cols < width), x.dtype)[:, None, :, None]
        return moved * rows_in * cols_in

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "centre": list(self.centre)}


def centred_cnn(*, centre: tuple[float, float] = MNIST_CENTRE, shear: float = 0.0, centre_first: bool = False,
                name: str = "centred_cnn", **sturdy):
    """:func:`sturdy_cnn` (its arguments in ``sturdy``) with :class:`Recentre` between the layers that change
    training digits and the first convolution: whatever shift a digit arrives with, the network reads it with its
    centre of mass where MNIST's digits have theirs. ``centre_first=True`` puts it before them instead: the network
    still trains on shifted digits, and at prediction, when those layers pass digits through, reads them centred.
    ``shear`` > 0 also slants training digits sideways by up to that share of their height
    (``keras.layers.RandomShear``; 0.2: about 11 degrees), as italic type slants them."""
    base = sturdy_cnn(name=name, **sturdy)
    first_conv = next(i for i, layer in enumerate(base.layers) if isinstance(layer, _keras.layers.Conv2D))
    slant = [_keras.layers.RandomShear(x_factor=shear, fill_mode="constant", name="slant")] if shear else []
    changing, convolutions = [*base.layers[:first_conv], *slant], base.layers[first_conv:]
    recentre = Recentre(centre, name="recentre")
    layers = [_keras.Input(shape=base.input_shape[1:], name="digit"),
              *([recentre, *changing] if centre_first else [*changing, recentre]), *convolutions]
    return _keras.Sequential(layers, name=name)
