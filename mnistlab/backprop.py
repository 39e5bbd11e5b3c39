"""A CNN trained in NumPy alone: every layer's forward and backward pass, SGD, Adam and a training loop.

The layers call the operations of :mod:`mnistlab.ops` and their ``*_backward`` gradients, so this is
backpropagation written out: the loss's gradient, p - y, goes back through the network layer by layer,
each layer turning the gradient of its output into the gradients of its weights and of its input.
Nothing here imports TensorFlow; :func:`from_keras` copies a Keras model's weights into a
:class:`Network` (and tests show that both then train step for step alike).

>>> net = report_network(seed=0)
>>> net.count_params()
232650
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from mnistlab import ops

if TYPE_CHECKING:
    import keras
    from numpy.typing import DTypeLike

__all__ = ["SGD", "Adam", "BatchNorm", "Conv2D", "Dense", "Dropout", "Flatten", "History", "MaxPool2D", "Network",
           "ReLU", "Sigmoid", "accuracy", "deep_mlp", "from_keras", "gradient_norms", "numerical_gradient",
           "relative_error", "report_network", "running_mean", "train"]


class Layer:
    """A layer: ``forward`` keeps what ``backward`` needs; ``backward`` fills ``grads`` and returns the input's."""

    params: dict[str, np.ndarray]
    grads: dict[str, np.ndarray]

    def __init__(self) -> None:
        self.params, self.grads = {}, {}

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """The layer's output for ``x`` (``training``: as while training), keeping what :meth:`backward` needs."""
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """The gradient of the loss for the layer's input, from that for its output; fills :attr:`grads`."""
        raise NotImplementedError

    def __repr__(self) -> str:
        shapes = ", ".join(f"{name} {tuple(v.shape)}" for name, v in self.params.items())
        return f"{type(self).__name__}({shapes})"


class Conv2D(Layer):
    """A convolution with a bias: :func:`ops.conv2d` forward, :func:`ops.conv2d_backward` back."""

    def __init__(self, kernel: np.ndarray, bias: np.ndarray, stride: int = 1, padding: ops.Padding = "valid"):
        super().__init__()
        self.params = {"kernel": kernel, "bias": bias}
        self.stride, self.padding = stride, padding

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self.x = x
        return ops.conv2d(x, self.params["kernel"], self.params["bias"], self.stride, self.padding)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        grad_x, self.grads["kernel"], self.grads["bias"] = ops.conv2d_backward(
            self.x, self.params["kernel"], grad_out, self.stride, self.padding)
        return grad_x


class MaxPool2D(Layer):
    """Max pooling: no weights; its backward pass routes each window's gradient to the window's maximum."""

    def __init__(self, size: int = 2):
        super().__init__()
        self.size = size

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self.x = x
        return ops.pool2d(x, self.size)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return ops.pool2d_backward(self.x, grad_out, self.size)


class ReLU(Layer):
    """max(x, 0): the gradient passes where the input was positive and stops elsewhere."""

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self.x = x
        return ops.relu(x)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return ops.relu_backward(self.x, grad_out)


class Sigmoid(Layer):
    """1 / (1 + exp(-x)); its gradient s * (1 - s) is at most 0.25, which is why deep sigmoid stacks vanish."""

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self.s = np.exp(-np.logaddexp(0, -x)).astype(x.dtype, copy=False)  # stable for large |x|
        return self.s

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out * self.s * (1 - self.s)


class BatchNorm(Layer):
    """Batch normalisation over the last axis, as Keras' ``BatchNormalization``.

    While training, each feature is normalised with the batch's mean and (biased) variance, then scaled
    by ``gamma`` and shifted by ``beta``; the running averages (``momentum``) are what prediction uses.
    Its backward pass is the one that makes it work: the gradient of a normalised value also flows
    through the batch's mean and variance, so it is centred and decorrelated from x-hat.
    """

    def __init__(self, features: int, momentum: float = 0.9, epsilon: float = 1e-3, dtype: DTypeLike = np.float32):
        super().__init__()
        self.params = {"gamma": np.ones(features, dtype), "beta": np.zeros(features, dtype)}
        self.moving_mean, self.moving_variance = np.zeros(features, dtype), np.ones(features, dtype)
        self.momentum, self.epsilon = momentum, epsilon

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        axes = tuple(range(x.ndim - 1))
        if training:
            mean, variance = x.mean(axis=axes), x.var(axis=axes)
            self.moving_mean = self.momentum * self.moving_mean + (1 - self.momentum) * mean
            self.moving_variance = self.momentum * self.moving_variance + (1 - self.momentum) * variance
        else:
            mean, variance = self.moving_mean, self.moving_variance
        self.inv_std = 1 / np.sqrt(variance + self.epsilon)
        self.x_hat = (x - mean) * self.inv_std
        return self.params["gamma"] * self.x_hat + self.params["beta"]

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        axes = tuple(range(grad_out.ndim - 1))
        count = grad_out.size // grad_out.shape[-1]
        self.grads["gamma"] = (grad_out * self.x_hat).sum(axis=axes)
        self.grads["beta"] = grad_out.sum(axis=axes)
        g = grad_out * self.params["gamma"]
        return self.inv_std / count * (count * g - g.sum(axis=axes) - self.x_hat * (g * self.x_hat).sum(axis=axes))


class Flatten(Layer):
    """(N, H, W, C) to (N, H*W*C); the gradient is folded back."""

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self.x = x
        return ops.flatten(x)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return ops.flatten_backward(self.x, grad_out)


class Dense(Layer):
    """x @ kernel + bias."""

    def __init__(self, kernel: np.ndarray, bias: np.ndarray):
        super().__init__()
        self.params = {"kernel": kernel, "bias": bias}

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        self.x = x
        return ops.dense(x, self.params["kernel"], self.params["bias"])

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        grad_x, self.grads["kernel"], self.grads["bias"] = ops.dense_backward(self.x, self.params["kernel"], grad_out)
        return grad_x


class Dropout(Layer):
    """While training, zeroes each value with probability ``rate`` and scales the rest by 1 / (1 - rate)."""

    def __init__(self, rate: float, seed: int = 0):
        super().__init__()
        if not 0 <= rate < 1:
            raise ValueError(f"rate: expected 0 <= rate < 1, got {rate!r}")
        self.rate, self.rng = rate, np.random.default_rng(seed)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if not training or self.rate == 0:
            self.mask = None
            return x
        self.mask = (self.rng.random(x.shape) >= self.rate).astype(x.dtype) / (1 - self.rate)
        return x * self.mask

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out if self.mask is None else grad_out * self.mask


class Network:
    """Layers in a row ending in logits; the softmax and the cross-entropy come in :meth:`loss_and_gradients`."""

    def __init__(self, layers: Iterable[Layer]):
        self.layers = list(layers)

    def __repr__(self) -> str:
        return "Network([\n" + "".join(f"  {layer!r},\n" for layer in self.layers) + "])"

    def parameters(self) -> list[tuple[Layer, str]]:
        """Every weight array as (layer, name), in order."""
        return [(layer, name) for layer in self.layers for name in layer.params]

    def weights(self) -> list[np.ndarray]:
        """The weight arrays in the order of :meth:`parameters` (Keras' ``get_weights`` order)."""
        return [layer.params[name] for layer, name in self.parameters()]

    def count_params(self) -> int:
        """The number of weights, as Keras' ``count_params``."""
        return sum(w.size for w in self.weights())

    def logits(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """The forward pass: each layer's output is the next one's input."""
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def backward(self, grad_logits: np.ndarray) -> np.ndarray:
        """The backward pass: the gradient goes through the layers in reverse; returns the input's."""
        grad = grad_logits
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad

    def loss_and_gradients(self, x: np.ndarray, labels: np.ndarray, training: bool = True) -> float:
        """Forward, the mean cross-entropy, then backward: returns the loss; each layer's ``grads`` are set."""
        logits = self.logits(x, training)
        self.backward(ops.cross_entropy_backward(logits, labels).astype(logits.dtype, copy=False))
        return ops.cross_entropy(logits, labels)

    def gradients(self) -> list[np.ndarray]:
        """The gradients of the last :meth:`loss_and_gradients`, in the order of :meth:`parameters`."""
        return [layer.grads[name] for layer, name in self.parameters()]

    def predict(self, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
        """The ten probabilities of each image (softmax of the logits), in batches."""
        return np.concatenate([ops.softmax(self.logits(x[i:i + batch_size])) for i in range(0, len(x), batch_size)])


class SGD:
    """Stochastic gradient descent, as Keras: velocity = momentum * velocity - rate * grad; w += velocity.

    With ``momentum`` 0 (plain SGD) that is w -= rate * grad.
    """

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0):
        self.learning_rate, self.momentum = learning_rate, momentum
        self.velocity: list[np.ndarray] | None = None

    def step(self, network: Network) -> None:
        """Update every weight of ``network`` in place from its last gradients."""
        weights, grads = network.weights(), network.gradients()
        if self.momentum == 0:
            for w, g in zip(weights, grads, strict=True):
                w -= self.learning_rate * g
            return
        if self.velocity is None:
            self.velocity = [np.zeros_like(w) for w in weights]
        for w, g, v in zip(weights, grads, self.velocity, strict=True):
            v *= self.momentum
            v -= self.learning_rate * g
            w += v


class Adam:
    """Adam, as Keras computes it: running means of the gradients (m) and of their squares (v), then
    w -= rate * sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) + epsilon)."""

    def __init__(self, learning_rate: float = 1e-3, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7):
        self.learning_rate, self.beta_1, self.beta_2, self.epsilon = learning_rate, beta_1, beta_2, epsilon
        self.t = 0
        self.m: list[np.ndarray] | None = None
        self.v: list[np.ndarray] | None = None

    def step(self, network: Network) -> None:
        """Update every weight of ``network`` in place from its last gradients."""
        weights, grads = network.weights(), network.gradients()
        if self.m is None:
            self.m = [np.zeros_like(w) for w in weights]
            self.v = [np.zeros_like(w) for w in weights]
        self.t += 1
        rate = self.learning_rate * np.sqrt(1 - self.beta_2 ** self.t) / (1 - self.beta_1 ** self.t)
        for w, g, m, v in zip(weights, grads, self.m, self.v, strict=True):
            m += (g - m) * (1 - self.beta_1)
            v += (g * g - v) * (1 - self.beta_2)
            w -= (rate * m / (np.sqrt(v) + self.epsilon)).astype(w.dtype, copy=False)


def _glorot(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int, fan_out: int) -> np.ndarray:
    """Keras' default initialiser: uniform in +-sqrt(6 / (fan_in + fan_out))."""
    limit = np.sqrt(6 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, shape).astype(np.float32)


def conv_layer(rng: np.random.Generator, kernel_size: int, channels: int, filters: int) -> Conv2D:
    """A Conv2D initialised as Keras does (Glorot uniform kernel, zero bias)."""
    area = kernel_size * kernel_size
    kernel = _glorot(rng, (kernel_size, kernel_size, channels, filters), area * channels, area * filters)
    return Conv2D(kernel, np.zeros(filters, np.float32))


def dense_layer(rng: np.random.Generator, inputs: int, units: int) -> Dense:
    """A Dense layer initialised as Keras does (Glorot uniform kernel, zero bias)."""
    return Dense(_glorot(rng, (inputs, units), inputs, units), np.zeros(units, np.float32))


def report_network(seed: int = 42, dropout: float = 0.2) -> Network:
    """The report's CNN (232,650 weights) as a :class:`Network`, initialised as Keras initialises it.

    Conv 32 3x3, ReLU, MaxPool, Conv 64 3x3, ReLU, MaxPool, Flatten, Dense 128, ReLU, Dropout, Dense 64,
    ReLU, Dropout, Dense 10 (the logits; the softmax is in the loss).
    """
    rng = np.random.default_rng(seed)
    return Network([
        conv_layer(rng, 3, 1, 32), ReLU(), MaxPool2D(2),
        conv_layer(rng, 3, 32, 64), ReLU(), MaxPool2D(2),
        Flatten(),
        dense_layer(rng, 5 * 5 * 64, 128), ReLU(), Dropout(dropout, seed + 1),
        dense_layer(rng, 128, 64), ReLU(), Dropout(dropout, seed + 2),
        dense_layer(rng, 64, 10),
    ])


def deep_mlp(depth: int = 20, width: int = 64, activation: str = "sigmoid", batch_norm: bool = False,
             seed: int = 0, inputs: int = 784, classes: int = 10) -> Network:
    """``depth`` dense layers of ``width`` units, each followed by batch normalisation if asked, then a
    sigmoid or ReLU; flattened digits in, ten logits out. Initialised as Keras does (Glorot uniform)."""
    if depth < 1:
        raise ValueError(f"depth: expected at least 1 layer, got {depth!r}")
    if activation not in ("sigmoid", "relu"):
        raise ValueError(f"activation: expected 'sigmoid' or 'relu', got {activation!r}")
    rng = np.random.default_rng(seed)
    layers: list[Layer] = [Flatten()]
    for i in range(depth):
        layers.append(dense_layer(rng, inputs if i == 0 else width, width))
        if batch_norm:
            layers.append(BatchNorm(width))
        layers.append(Sigmoid() if activation == "sigmoid" else ReLU())
    layers.append(dense_layer(rng, width, classes))
    return Network(layers)


def gradient_norms(network: Network, x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The norm of the loss's gradient for each Conv2D and Dense layer's kernel, first layer first (one batch)."""
    network.loss_and_gradients(x, labels)
    return np.array([float(np.linalg.norm(layer.grads["kernel"])) for layer in network.layers
                     if isinstance(layer, (Conv2D, Dense))])


def from_keras(model: keras.Model, seed: int = 0) -> Network:
    """A :class:`Network` with a copy of a Keras Sequential model's weights (its softmax moves into the loss).

    Conv2D (any stride and padding), MaxPooling2D (2x2, stride 2), Flatten, Dense, Dropout and ReLU or
    softmax activations are supported; anything else raises a ``ValueError`` naming the layer.
    """
    from mnistlab.architecture import read_layers

    read = read_layers(model)
    for layer in read:
        if layer.kind not in ("InputLayer", "Activation", "Conv2D", "Dense", "MaxPooling2D", "Flatten", "Dropout"):
            raise ValueError(f"{layer.name}: a {layer.kind} layer is not supported by mnistlab.backprop")
    for layer in read:
        if layer.kind in ("Conv2D", "Dense") and not layer.config["use_bias"]:
            raise ValueError(f"{layer.name}: a {layer.kind} layer without a bias is not supported by mnistlab.backprop")
    layers: list[Layer] = []
    last = len(read) - 1
    for i, layer in enumerate(read):
        kind, config = layer.kind, layer.config
        if kind == "Conv2D":
            kernel, bias = (np.array(w) for w in layer.weights)
            layers.append(Conv2D(kernel, bias, tuple(config["strides"]), config["padding"]))
        elif kind == "Dense":
            kernel, bias = (np.array(w) for w in layer.weights)
            layers.append(Dense(kernel, bias))
        elif kind == "MaxPooling2D":
            if not tuple(config["pool_size"]) == tuple(config["strides"]) == (2, 2) or config["padding"] != "valid":
                raise ValueError(f"{layer.name}: only 2x2 max pooling at stride 2 is supported by mnistlab.backprop")
            layers.append(MaxPool2D(2))
        elif kind == "Flatten":
            layers.append(Flatten())
        elif kind == "Dropout":
            layers.append(Dropout(config["rate"], seed + i))
        activation = config.get("activation", "linear")
        if activation == "relu":
            layers.append(ReLU())
        elif activation == "softmax" and i != last:
            raise ValueError(f"{layer.name}: softmax is supported only as the last layer's activation")
        elif activation not in ("relu", "softmax", "linear"):
            raise ValueError(f"{layer.name}: activation {activation!r} is not supported by mnistlab.backprop")
    return Network(layers)


@dataclass
class History:
    """What :func:`train` measured: the loss of every step, images per second, test accuracy per epoch."""

    loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    seconds: float = 0.0
    images: int = 0

    @property
    def images_per_second(self) -> float:
        """Training images per second, over all epochs (evaluation excluded)."""
        return self.images / self.seconds if self.seconds else 0.0


def batches(n: int, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """The indices of one epoch's mini-batches: a fresh shuffle, the last batch possibly smaller (as Keras)."""
    order = rng.permutation(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def accuracy(network: Network, x: np.ndarray, labels: np.ndarray) -> float:
    """The fraction of images whose most probable class is their label."""
    return float((network.predict(x).argmax(axis=1) == labels).mean())


def train(network: Network, optimizer: SGD | Adam, x: np.ndarray, labels: np.ndarray, *, epochs: int = 1,
          batch_size: int = 128, seed: int = 42, test: tuple[np.ndarray, np.ndarray] | None = None,
          max_seconds: float | None = None, progress: bool = True,
          on_step: Callable[[int, float], None] | None = None) -> History:
    """Train ``network`` in place: for each mini-batch, forward, loss, backward, one optimiser step.

    ``x`` is (N, 28, 28, 1) float32, ``labels`` the classes (N,). Batches are shuffled with ``seed``.
    With ``test`` = (x_test, labels_test) the test accuracy is measured after each epoch (outside the
    timed training); ``max_seconds`` stops after the step that passes it. ``on_step(step, loss)`` is
    called after every step (for a live plot). Shows a progress bar unless ``progress`` is false.
    """
    from mnistlab.runtime import progress_bar

    x, labels = np.asarray(x), np.asarray(labels)
    if x.ndim != 4 or len(x) != len(labels):
        raise ValueError(f"x: expected (N, H, W, C) images with one label each, got {x.shape} and {labels.shape} "
                         "labels")
    rng = np.random.default_rng(seed)
    history = History()
    for epoch in range(epochs):
        bar = progress_bar(batches(len(x), batch_size, rng), enabled=progress, desc=f"epoch {epoch + 1}/{epochs}",
                           unit="batch", leave=False)
        start = time.perf_counter()
        for indices in bar:
            loss = network.loss_and_gradients(x[indices], labels[indices])
            optimizer.step(network)
            history.loss.append(loss)
            history.images += len(indices)
            if on_step is not None:
                on_step(len(history.loss), loss)
            if len(history.loss) % 20 == 0:
                bar.set_postfix(loss=f"{np.mean(history.loss[-20:]):.3f}")
            if max_seconds is not None and history.seconds + time.perf_counter() - start >= max_seconds:
                break
        bar.close()
        history.seconds += time.perf_counter() - start
        if test is not None:
            history.test_accuracy.append(accuracy(network, *test))
        if max_seconds is not None and history.seconds >= max_seconds:
            break
    return history


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d f / d x by central differences, (f(x + eps) - f(x - eps)) / (2 eps), one element at a time.

    The check every hand-written gradient must pass. Computed in float64 (float32 rounding would
    swamp a step of 1e-6), so keep ``x`` small: it calls ``f`` twice per element.
    """
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        saved = x[index]
        x[index] = saved + eps
        up = f(x)
        x[index] = saved - eps
        down = f(x)
        x[index] = saved
        grad[index] = (up - down) / (2 * eps)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """The largest |a - b| / max(|a|, |b|) over the elements (0 where both are 0), as cs231n checks gradients."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    scale = np.maximum(np.abs(a), np.abs(b))
    return float(np.max(np.divide(np.abs(a - b), scale, out=np.zeros_like(scale), where=scale > 0), initial=0.0))


def running_mean(values: Iterable[float]) -> np.ndarray:
    """The mean of the first 1, 2, 3, ... values: how Keras reports the loss during an epoch."""
    values = np.asarray(list(values), dtype=np.float64)
    return np.cumsum(values) / np.arange(1, len(values) + 1)
