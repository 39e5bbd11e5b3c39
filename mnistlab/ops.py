"""The operations a CNN is made of, in NumPy: convolution, padding, stride, pooling, dense, softmax.

Each one computes what the TensorFlow/Keras op it teaches computes (the tests check this over many
random shapes), vectorised: a convolution lays its windows out as the rows of one matrix (im2col,
one strided copy per kernel offset) and multiplies it by the kernels once; pooling combines one
strided slice per window offset. No Python loop runs over pixels. Images are (H, W), (H, W, C) or a
batch (N, H, W, C), channels last as in Keras; the result has the same rank as the input. Integer
inputs give exact integer results (the worked examples), floats keep their precision.

The output size of a convolution or pooling, (W - F + 2P) / S + 1, lives in :func:`output_size`;
everything else that states it (the explorers' messages, the notebooks) calls it.

>>> image = np.arange(36).reshape(6, 6)
>>> conv2d(image, np.ones((3, 3), int)).shape
(4, 4)
"""

from __future__ import annotations

from typing import Literal

import numpy as np

__all__ = [
    "conv2d",
    "conv2d_backward",
    "cross_entropy",
    "cross_entropy_backward",
    "dense",
    "dense_backward",
    "flatten",
    "flatten_backward",
    "output_size",
    "output_size_formula",
    "pad2d",
    "pool2d",
    "pool2d_backward",
    "relu",
    "relu_backward",
    "resolve_padding",
    "same_padding",
    "softmax",
    "softmax_backward",
    "tiles",
]

_COLUMN_BUDGET = 1 << 20  # elements of the im2col buffer (4 MB of float32): memory stays small whatever the batch

IntPair = int | tuple[int, int]
Padding = str | int | tuple[int, int] | tuple[tuple[int, int], tuple[int, int]]
Sides = tuple[tuple[int, int], tuple[int, int]]
PoolMode = Literal["max", "avg", "l2"]


def _pair(value: IntPair, name: str, minimum: int = 1) -> tuple[int, int]:
    """An int or a pair of ints as a pair, each at least ``minimum``."""
    pair = (value, value) if np.isscalar(value) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in pair):
        raise ValueError(f"{name}: expected an int or a pair of ints, got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{name}: expected values >= {minimum}, got {value!r}")
    return int(pair[0]), int(pair[1])


def _as_batch(x: np.ndarray, name: str = "x") -> tuple[np.ndarray, int]:
    """(H, W), (H, W, C) or (N, H, W, C) as (N, H, W, C), and the original rank to restore."""
    x = np.asarray(x)
    if x.ndim == 2:
        return x[np.newaxis, :, :, np.newaxis], 2
    if x.ndim == 3:
        return x[np.newaxis], 3
    if x.ndim == 4:
        return x, 4
    raise ValueError(f"{name}: expected shape (H, W), (H, W, C) or (N, H, W, C), got {x.shape}")


def _restore(y: np.ndarray, ndim: int) -> np.ndarray:
    if ndim == 2:
        return y[0, :, :, 0]
    if ndim == 3:
        return y[0]
    return y


def output_size_formula(w: int, f: int, p: int = 0, s: int = 1) -> str:
    """The output-size formula worked out in words: "(6 - 3 + 2*0) / 2 + 1 = 2.5"."""
    span = w - f + 2 * p
    return f"({w} - {f} + 2*{p}) / {s} + 1 = {span / s + 1:g}"


def tiles(w: int, f: int, p: int = 0, s: int = 1) -> bool:
    """Whether an f-wide filter at stride s tiles a w-wide input padded by p exactly: (W - F + 2P) % S == 0."""
    return (w - f + 2 * p) % s == 0


def output_size(w: int, f: int, p: int = 0, s: int = 1, *, partial: Literal["error", "drop"] = "error") -> int:
    """The output width of a convolution or pooling: (W - F + 2P) / S + 1.

    ``w`` input width, ``f`` filter width, ``p`` zero padding on each side, ``s`` stride. When the
    filter does not tile the padded input exactly, ``partial="error"`` raises a ``ValueError``
    saying what frameworks do instead, and ``partial="drop"`` does what they do: drop the last
    partial window, floor((W - F + 2P) / S) + 1.

    >>> output_size(6, 3), output_size(6, 3, p=1), output_size(32, 5), output_size(6, 3, s=2, partial="drop")
    (4, 6, 28, 2)
    """
    for name, value, low in (("w", w, 1), ("f", f, 1), ("p", p, 0), ("s", s, 1)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
            raise ValueError(f"{name}: expected an int >= {low}, got {value!r}")
    if partial not in ("error", "drop"):
        raise ValueError(f"partial: expected 'error' or 'drop', got {partial!r}")
    span = w - f + 2 * p
    if span < 0:
        raise ValueError(f"f: a filter of {f} does not fit an input of {w} padded by {p} on each side "
                         f"(needs f <= w + 2p = {w + 2 * p})")
    if partial == "error" and not tiles(w, f, p, s):
        raise ValueError(f"(W - F + 2P) / S + 1 = {output_size_formula(w, f, p, s)} is not a whole "
                         f"number: a {f}-wide filter at stride {s} does not tile this input. Frameworks drop the "
                         f"last partial window and give floor({span}/{s}) + 1 = {span // s + 1} "
                         f"(padding='valid'), or pad to ceil({w}/{s}) = {-(-w // s)} outputs (padding='same')")
    return span // s + 1


def same_padding(size: int, f: int, s: int = 1) -> tuple[int, int]:
    """TensorFlow's 'same' padding along one axis: (before, after) so that out = ceil(size / s).

    The total is max((out - 1) * s + f - size, 0); when it is odd, the extra row or column goes
    *after* (bottom or right), which is where TensorFlow differs from a symmetric hand calculation.
    """
    out = -(-size // s)
    total = max((out - 1) * s + f - size, 0)
    return total // 2, total - total // 2


def resolve_padding(padding: Padding, h: int, w: int, kh: int, kw: int, sh: int = 1, sw: int = 1) -> Sides:
    """Padding as ((top, bottom), (left, right)) from "valid", "same", an int, (ph, pw) or explicit sides."""
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return (0, 0), (0, 0)
        if mode == "same":
            return same_padding(h, kh, sh), same_padding(w, kw, sw)
        raise ValueError(f"padding: expected 'valid', 'same', an int or per-side amounts, got {padding!r}")
    if np.isscalar(padding):
        p = _pair(padding, "padding", minimum=0)[0]
        return (p, p), (p, p)
    sides = tuple(padding)
    if len(sides) == 2 and all(np.isscalar(v) for v in sides):
        ph, pw = _pair(sides, "padding", minimum=0)
        return (ph, ph), (pw, pw)
    if len(sides) == 2:
        return _pair(sides[0], "padding", minimum=0), _pair(sides[1], "padding", minimum=0)
    raise ValueError(f"padding: expected 'valid', 'same', an int, (ph, pw) or ((top, bottom), (left, right)), "
                     f"got {padding!r}")


def pad2d(x: np.ndarray, padding: Padding, value: float = 0) -> np.ndarray:
    """Pad the two spatial axes of (H, W), (H, W, C) or (N, H, W, C) with ``value`` (zeros by default).

    ``padding`` is an int (all sides), (ph, pw) or ((top, bottom), (left, right)); strings need a
    kernel size, so use :func:`resolve_padding` for "same".
    """
    if isinstance(padding, str):
        raise ValueError(f"padding: pad2d takes amounts, not {padding!r}; use resolve_padding() for 'same'")
    x4, ndim = _as_batch(x)
    (top, bottom), (left, right) = resolve_padding(padding, *x4.shape[1:3], 1, 1)
    padded = np.pad(x4, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=value)
    return _restore(padded, ndim)


def _conv_geometry(x: np.ndarray, kernels: np.ndarray, stride: IntPair, padding: Padding):
    """A convolution's arguments checked and as batches: (x4, rank of x, k4, padding sides, strides)."""
    x4, ndim = _as_batch(x)
    kernels = np.asarray(kernels)
    if kernels.ndim == 2:
        k4 = kernels[:, :, np.newaxis, np.newaxis]
    elif kernels.ndim == 4:
        k4 = kernels
    else:
        raise ValueError(f"kernels: expected (KH, KW) or (KH, KW, C, K), got shape {kernels.shape}")
    _, h, w, c = x4.shape
    kh, kw, kc, _ = k4.shape
    if kc != c:
        raise ValueError(f"kernels: expected {c} input channel(s) to match x's {c}, got {kc} (shape {kernels.shape})")
    sh, sw = _pair(stride, "stride")
    (top, bottom), (left, right) = resolve_padding(padding, h, w, kh, kw, sh, sw)
    if kh > h + top + bottom or kw > w + left + right:
        raise ValueError(f"kernels: a {kh}x{kw} kernel is larger than the padded input "
                         f"{h + top + bottom}x{w + left + right}")
    return x4, ndim, k4, (top, bottom), (left, right), (sh, sw)


def _restore_conv(y: np.ndarray, ndim: int, kernel_ndim: int) -> np.ndarray:
    """A (N, OH, OW, K) convolution result in the rank :func:`conv2d` returns for these inputs."""
    if kernel_ndim == 2 and ndim == 2:
        return y[0, :, :, 0]
    return y[0] if ndim in (2, 3) else y


def _as_conv_grad(grad_out: np.ndarray, expected: tuple[int, ...], ndim: int, kernel_ndim: int) -> np.ndarray:
    """``grad_out`` checked against the forward output's shape and returned as (N, OH, OW, K)."""
    g = np.asarray(grad_out)
    shape = _restore_conv(np.empty(expected, np.int8), ndim, kernel_ndim).shape
    if g.shape != shape:
        raise ValueError(f"grad_out: expected the shape of the forward output {shape}, got {g.shape}")
    return g.reshape(expected)


def _offsets(kh: int, kw: int, sh: int, sw: int, oh: int, ow: int):
    """For each kernel offset (i, j): the spatial slices that offset sees under every output pixel."""
    for i in range(kh):
        for j in range(kw):
            yield i, j, slice(i, i + sh * (oh - 1) + 1, sh), slice(j, j + sw * (ow - 1) + 1, sw)


def _im2col(x4: np.ndarray, kh: int, kw: int, sh: int, sw: int, oh: int, ow: int, dtype: np.dtype) -> np.ndarray:
    """The (N*OH*OW, KH*KW*C) matrix whose row m holds the window under output pixel m.

    Built with one strided slice copy per kernel offset (KH*KW copies, never a loop over pixels),
    with columns in the (i, j, c) order of Keras' kernel layout, so a convolution is
    ``columns @ kernel.reshape(-1, K)``. With one channel the copies go into a (KH*KW, M) buffer,
    returned transposed (BLAS reads it as is), so each copy writes a contiguous block.
    """
    n, c = x4.shape[0], x4.shape[3]
    if c == 1:
        columns = np.empty((kh, kw, n, oh, ow), dtype)
        for i, j, rows, cols in _offsets(kh, kw, sh, sw, oh, ow):
            columns[i, j] = x4[:, rows, cols, 0]
        return columns.reshape(kh * kw, n * oh * ow).T
    columns = np.empty((n, oh, ow, kh, kw, c), dtype)
    for i, j, rows, cols in _offsets(kh, kw, sh, sw, oh, ow):
        columns[:, :, :, i, j, :] = x4[:, rows, cols, :]
    return columns.reshape(n * oh * ow, kh * kw * c)


def _work_dtype(*arrays: np.ndarray) -> np.dtype:
    dtype = np.result_type(*arrays)
    if dtype == np.bool_ or np.issubdtype(dtype, np.integer):
        return np.dtype(np.int64)  # exact integer arithmetic for the worked examples
    return dtype


def conv2d(x: np.ndarray, kernels: np.ndarray, bias: np.ndarray | float | None = None, stride: IntPair = 1,
           padding: Padding = "valid") -> np.ndarray:
    """2-D convolution as Keras' ``Conv2D`` and ``tf.nn.conv2d`` compute it (a cross-correlation).

    ``x`` is (H, W), (H, W, C) or (N, H, W, C). ``kernels`` is one (KH, KW) kernel, or Keras' layout
    (KH, KW, C, K): K filters, each spanning all C input channels. ``bias`` is a scalar or (K,).
    ``stride`` an int or (SH, SW); ``padding`` "valid", "same" (TensorFlow's rule, the extra row or
    column at the bottom/right when the total is odd), an int, (PH, PW) or ((top, bottom), (left,
    right)). Returns (OH, OW) for a 2-D input and a 2-D kernel, else (..., OH, OW, K).

    How: the windows are laid out as columns of one matrix (im2col) and multiplied by the kernels
    reshaped to (KH*KW*C, K), one matrix product for the whole batch.

    The kernel is not flipped: output[i, j] = sum(window(i, j) * kernel). Mathematical convolution
    flips it first; deep-learning libraries skip the flip since the kernel is learned anyway.
    """
    x4, ndim, k4, (top, bottom), (left, right), (sh, sw) = _conv_geometry(x, kernels, stride, padding)
    n, _, _, c = x4.shape
    kh, kw, _, k = k4.shape
    dtype = _work_dtype(x4, k4)
    if top or bottom or left or right:
        x4 = np.pad(x4, ((0, 0), (top, bottom), (left, right), (0, 0)))
    oh = output_size(x4.shape[1], kh, 0, sh, partial="drop")
    ow = output_size(x4.shape[2], kw, 0, sw, partial="drop")
    weights = k4.astype(dtype, copy=False).reshape(kh * kw * c, k)
    y = np.empty((n, oh, ow, k), dtype)
    # Chunks of images keep the column buffer near _COLUMN_BUDGET elements whatever the batch size.
    chunk = max(1, _COLUMN_BUDGET // max(1, kh * kw * c * oh * ow))
    for start in range(0, n, chunk):
        columns = _im2col(x4[start:start + chunk], kh, kw, sh, sw, oh, ow, dtype)
        np.matmul(columns, weights, out=y[start:start + chunk].reshape(-1, k))
    if bias is not None:
        bias = np.asarray(bias, dtype=np.result_type(dtype, np.asarray(bias).dtype))
        if bias.ndim > 1 or (bias.ndim == 1 and bias.shape[0] != k):
            raise ValueError(f"bias: expected a scalar or shape ({k},), got {bias.shape}")
        y = y + bias
    return _restore_conv(y, ndim, np.ndim(kernels))


def conv2d_backward(x: np.ndarray, kernels: np.ndarray, grad_out: np.ndarray, stride: IntPair = 1,
                    padding: Padding = "valid") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The gradients of :func:`conv2d`: ``(grad_x, grad_kernels, grad_bias)``, given ``grad_out``.

    ``grad_out`` is the gradient of the loss with respect to conv2d's output (its shape); each result
    has the shape of what it is the gradient of (``grad_bias``: (K,), or a scalar for a 2-D kernel).
    Every argument conv2d takes is accepted, with the same meaning.

    - ``grad_kernels[i, j, c, k]`` sums, over every output pixel, ``grad_out`` times the input pixel
      that kernel weight (i, j, c) saw there: the windows (im2col's rows) times ``grad_out``.
    - ``grad_x`` sends each output pixel's gradient back through the weights to the pixels of its
      window, adding where windows overlap: a "full" convolution of ``grad_out`` with the flipped
      kernel (at stride 1), done here as the windows' gradients (``grad_out @ kernels.T``) added back
      in place, one strided slice per kernel offset (col2im). Padding receives gradient too; it is
      cropped away, as are pixels no window reached (a stride that does not tile).
    - ``grad_bias[k]`` is the sum of ``grad_out`` over the batch and the positions.
    """
    x4, ndim, k4, (top, bottom), (left, right), (sh, sw) = _conv_geometry(x, kernels, stride, padding)
    n, h, w, c = x4.shape
    kh, kw, _, k = k4.shape
    oh = output_size(h + top + bottom, kh, 0, sh, partial="drop")
    ow = output_size(w + left + right, kw, 0, sw, partial="drop")
    g4 = _as_conv_grad(grad_out, (n, oh, ow, k), ndim, np.ndim(kernels))
    dtype = _work_dtype(x4, k4, g4)
    padded = np.pad(x4, ((0, 0), (top, bottom), (left, right), (0, 0))) if top or bottom or left or right else x4
    weights = k4.astype(dtype, copy=False).reshape(kh * kw * c, k)
    grad_weights = np.zeros((kh * kw * c, k), dtype)
    grad_padded = np.zeros(padded.shape, dtype)
    chunk = max(1, _COLUMN_BUDGET // max(1, kh * kw * c * oh * ow))
    for start in range(0, n, chunk):
        grads = g4[start:start + chunk].astype(dtype, copy=False).reshape(-1, k)
        columns = _im2col(padded[start:start + chunk], kh, kw, sh, sw, oh, ow, dtype)
        grad_weights += columns.T @ grads
        window_grads = (grads @ weights.T).reshape(-1, oh, ow, kh, kw, c)
        target = grad_padded[start:start + chunk]
        for i, j, rows, cols in _offsets(kh, kw, sh, sw, oh, ow):
            target[:, rows, cols, :] += window_grads[:, :, :, i, j, :]
    grad_x = _restore(grad_padded[:, top:top + h, left:left + w, :], ndim)
    grad_bias = g4.sum(axis=(0, 1, 2), dtype=dtype)
    if np.ndim(kernels) == 2:
        return grad_x, grad_weights.reshape(kh, kw), grad_bias[0]
    return grad_x, grad_weights.reshape(k4.shape), grad_bias


def _pool_geometry(x: np.ndarray, size: IntPair, stride: IntPair | None, mode: str, padding: str):
    """A pooling's arguments checked: (x4, rank of x, window, strides, np.pad widths, output size)."""
    if mode not in ("max", "avg", "l2"):
        raise ValueError(f"mode: expected 'max', 'avg' or 'l2', got {mode!r}")
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise ValueError(f"padding: expected 'valid' or 'same' for pooling, got {padding!r}")
    x4, ndim = _as_batch(x)
    kh, kw = _pair(size, "size")
    sh, sw = _pair(stride if stride is not None else (kh, kw), "stride")
    h, w = x4.shape[1:3]
    (top, bottom), (left, right) = resolve_padding(padding, h, w, kh, kw, sh, sw)
    if kh > h + top + bottom or kw > w + left + right:
        raise ValueError(f"size: a {kh}x{kw} window is larger than the input {h}x{w}")
    oh = output_size(h + top + bottom, kh, 0, sh, partial="drop")
    ow = output_size(w + left + right, kw, 0, sw, partial="drop")
    return x4, ndim, (kh, kw), (sh, sw), ((0, 0), (top, bottom), (left, right), (0, 0)), (oh, ow)


def pool2d(x: np.ndarray, size: IntPair = 2, stride: IntPair | None = None, mode: PoolMode = "max",
           padding: str = "valid") -> np.ndarray:
    """2-D pooling as ``tf.nn.max_pool2d`` / ``tf.nn.avg_pool2d`` (and Keras' pooling layers) compute it.

    ``size`` the window (int or pair), ``stride`` defaults to ``size`` (non-overlapping windows).
    ``mode``: "max", "avg" or "l2" (the square root of the sum of squares in each window). With
    ``padding="same"`` the windows that overhang the border only see the real pixels: padding never
    wins a max and is not counted in an average, as in TensorFlow. Channels are pooled separately.
    """
    x4, ndim, (kh, kw), (sh, sw), pads, (oh, ow) = _pool_geometry(x, size, stride, mode, padding)
    h, w = x4.shape[1:3]
    if mode == "max":
        low = np.iinfo(x4.dtype).min if np.issubdtype(x4.dtype, np.integer) else -np.inf
        padded = np.pad(x4, pads, constant_values=low) if any(pads[1] + pads[2]) else x4
        return _restore(_reduce_windows(padded, np.maximum, kh, kw, sh, sw, oh, ow), ndim)
    dtype = np.result_type(x4.dtype, np.float32) if x4.dtype != np.float16 else np.float32
    values = x4.astype(dtype, copy=False)
    if mode == "l2":
        values = values * values
    sums = _reduce_windows(np.pad(values, pads), np.add, kh, kw, sh, sw, oh, ow)
    if mode == "l2":
        return _restore(np.sqrt(sums), ndim)
    inside = np.pad(np.ones((1, h, w, 1), dtype), pads)  # which positions are real pixels
    counts = _reduce_windows(inside, np.add, kh, kw, sh, sw, oh, ow)
    return _restore(sums / counts, ndim)


def pool2d_backward(x: np.ndarray, grad_out: np.ndarray, size: IntPair = 2, stride: IntPair | None = None,
                    mode: PoolMode = "max", padding: str = "valid") -> np.ndarray:
    """The gradient of :func:`pool2d` with respect to ``x``, given ``grad_out`` (the output's gradient).

    Pooling has no weights, so this is its only gradient. Max pooling routes each window's gradient to
    the window's maximum and nowhere else (to the first one, in reading order, when several tie, as
    TensorFlow does); where windows overlap, a pixel collects from every window it wins. Average
    pooling spreads each window's gradient evenly over the real pixels it averaged; L2 pooling gives
    pixel v of a window with norm r the share v / r. Same arguments as pool2d.
    """
    x4, ndim, (kh, kw), (sh, sw), pads, (oh, ow) = _pool_geometry(x, size, stride, mode, padding)
    n, h, w, c = x4.shape
    g = np.asarray(grad_out)
    _same_shape(g, _restore(np.empty((n, oh, ow, c), np.int8), ndim).shape)
    g4 = g.reshape(n, oh, ow, c)
    dtype = np.result_type(x4.dtype, g4.dtype, np.float32) if mode != "max" else _work_dtype(g4)
    grad = np.zeros((n, h + pads[1][0] + pads[1][1], w + pads[2][0] + pads[2][1], c), dtype)
    offsets = list(_offsets(kh, kw, sh, sw, oh, ow))
    if mode == "max":
        low = np.iinfo(x4.dtype).min if np.issubdtype(x4.dtype, np.integer) else -np.inf
        padded = np.pad(x4, pads, constant_values=low) if any(pads[1] + pads[2]) else x4
        best = _reduce_windows(padded, np.maximum, kh, kw, sh, sw, oh, ow)
        unrouted = g4.astype(dtype)  # each window's gradient, until it has gone to the window's first maximum
        for _, _, rows, cols in offsets:
            wins = padded[:, rows, cols, :] == best
            grad[:, rows, cols, :] += unrouted * wins
            unrouted *= ~wins
    elif mode == "avg":
        inside = np.pad(np.ones((1, h, w, 1), dtype), pads)
        share = g4 / _reduce_windows(inside, np.add, kh, kw, sh, sw, oh, ow)
        for _, _, rows, cols in offsets:
            grad[:, rows, cols, :] += share
    else:
        padded = np.pad(x4.astype(dtype, copy=False), pads)
        norms = np.sqrt(_reduce_windows(padded * padded, np.add, kh, kw, sh, sw, oh, ow))
        share = np.divide(g4, norms, out=np.zeros(norms.shape, dtype), where=norms > 0)
        for _, _, rows, cols in offsets:
            grad[:, rows, cols, :] += share * padded[:, rows, cols, :]
    return _restore(grad[:, pads[1][0]:pads[1][0] + h, pads[2][0]:pads[2][0] + w, :], ndim)


def _reduce_windows(x4: np.ndarray, ufunc: np.ufunc, kh: int, kw: int, sh: int, sw: int, oh: int, ow: int
                    ) -> np.ndarray:
    """Combine every (kh, kw) window with ``ufunc`` (np.maximum, np.add): one strided slice per offset."""
    out = None
    for _, _, rows, cols in _offsets(kh, kw, sh, sw, oh, ow):
        window = x4[:, rows, cols, :]
        out = window.copy() if out is None else ufunc(out, window, out=out)
    return out


def relu(x: np.ndarray) -> np.ndarray:
    """max(x, 0), elementwise."""
    x = np.asarray(x)
    return np.maximum(x, np.zeros((), x.dtype))


def flatten(x: np.ndarray) -> np.ndarray:
    """(N, ...) to (N, features), row-major (channels last), as Keras' ``Flatten``."""
    x = np.asarray(x)
    if x.ndim < 2:
        raise ValueError(f"x: expected a batch (N, ...), got shape {x.shape}")
    return x.reshape(len(x), -1)


def dense(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray | None = None) -> np.ndarray:
    """x @ kernel + bias, as Keras' ``Dense`` (kernel (in, out), bias (out,)), before its activation."""
    x, kernel = np.asarray(x), np.asarray(kernel)
    if kernel.ndim != 2 or x.shape[-1] != kernel.shape[0]:
        raise ValueError(f"kernel: expected shape ({x.shape[-1]}, units) to match x's last axis, got {kernel.shape}")
    y = x @ kernel
    if bias is not None:
        bias = np.asarray(bias)
        if bias.shape != (kernel.shape[1],):
            raise ValueError(f"bias: expected shape ({kernel.shape[1]},), got {bias.shape}")
        y = y + bias
    return y


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """exp(z) / sum(exp(z)) along ``axis``, computed stably (the maximum is subtracted first)."""
    z = np.asarray(z)
    if not np.issubdtype(z.dtype, np.floating):
        z = z.astype(np.float64)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def relu_backward(x: np.ndarray, grad_out: np.ndarray) -> np.ndarray:
    """The gradient of :func:`relu`: ``grad_out`` where x > 0, else 0 (also at 0, as TensorFlow)."""
    x, grad_out = np.asarray(x), np.asarray(grad_out)
    _same_shape(grad_out, x.shape)
    return np.where(x > 0, grad_out, np.zeros((), grad_out.dtype))


def flatten_backward(x: np.ndarray, grad_out: np.ndarray) -> np.ndarray:
    """The gradient of :func:`flatten`: ``grad_out`` folded back to x's shape (flattening moves, never mixes)."""
    x, grad_out = np.asarray(x), np.asarray(grad_out)
    _same_shape(grad_out, flatten(x).shape)
    return grad_out.reshape(x.shape)


def dense_backward(x: np.ndarray, kernel: np.ndarray, grad_out: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The gradients of :func:`dense`: ``(grad_x, grad_kernel, grad_bias)``, given ``grad_out``.

    For y = x @ kernel + bias: grad_x = grad_out @ kernel.T, grad_kernel = x.T @ grad_out (summed over
    the batch), grad_bias = grad_out summed over the batch.
    """
    x, kernel, grad_out = np.asarray(x), np.asarray(kernel), np.asarray(grad_out)
    if kernel.ndim != 2 or x.shape[-1] != kernel.shape[0]:
        raise ValueError(f"kernel: expected shape ({x.shape[-1]}, units) to match x's last axis, got {kernel.shape}")
    _same_shape(grad_out, x.shape[:-1] + kernel.shape[1:])
    rows, grads = x.reshape(-1, kernel.shape[0]), grad_out.reshape(-1, kernel.shape[1])
    return grad_out @ kernel.T, rows.T @ grads, grads.sum(axis=0)


def softmax_backward(probabilities: np.ndarray, grad_out: np.ndarray, axis: int = -1) -> np.ndarray:
    """The gradient of :func:`softmax` with respect to its logits, given its output and that output's gradient.

    Each probability depends on every logit: grad_z = p * (grad_out - sum(grad_out * p)).
    """
    p, grad_out = np.asarray(probabilities), np.asarray(grad_out)
    _same_shape(grad_out, p.shape)
    return p * (grad_out - (grad_out * p).sum(axis=axis, keepdims=True))


def _one_hot_like(labels: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Integer labels (N,) or one-hot (N, classes) as one-hot rows matching logits ``z``."""
    labels = np.asarray(labels)
    if labels.shape == z.shape:
        return labels.astype(z.dtype, copy=False)
    if labels.shape == z.shape[:-1] and np.issubdtype(labels.dtype, np.integer):
        if labels.size and (labels.min() < 0 or labels.max() >= z.shape[-1]):
            raise ValueError(f"labels: expected classes 0 to {z.shape[-1] - 1}, got {labels.min()} to {labels.max()}")
        return np.eye(z.shape[-1], dtype=z.dtype)[labels]
    raise ValueError(f"labels: expected integer classes of shape {z.shape[:-1]} or one-hot rows of shape "
                     f"{z.shape}, got {labels.dtype} {labels.shape}")


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    """The mean cross-entropy of softmax(logits) against ``labels`` (classes or one-hot rows).

    -mean(log p[true class]), with log-softmax computed stably: Keras' categorical (or sparse
    categorical) cross-entropy ``from_logits=True``. (Given probabilities instead, Keras clips them to
    [1e-7, 1 - 1e-7] first, which only matters for a loss above 16.)
    """
    z = np.asarray(logits)
    z = z if np.issubdtype(z.dtype, np.floating) else z.astype(np.float64)
    y = _one_hot_like(labels, z)
    shifted = z - z.max(axis=-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return float(-(y * log_p).sum(axis=-1).mean())


def cross_entropy_backward(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The gradient of :func:`cross_entropy` with respect to the logits: (p - y) / N.

    The softmax's Jacobian and the logarithm's 1/p cancel, leaving the probabilities minus the one-hot
    labels, divided by the batch size because the loss is a mean.
    """
    z = np.asarray(logits)
    z = z if np.issubdtype(z.dtype, np.floating) else z.astype(np.float64)
    y = _one_hot_like(labels, z)
    return (softmax(z) - y) / (z.size // z.shape[-1])


def _same_shape(grad_out: np.ndarray, shape: tuple[int, ...]) -> None:
    if grad_out.shape != tuple(shape):
        raise ValueError(f"grad_out: expected the shape of the forward output {tuple(shape)}, got {grad_out.shape}")
