"""Test digits changed on purpose (shifted, rotated) and a model's accuracy on them.

MNIST's digits are centred by their centre of mass and upright; a learner's are not. These transforms
measure how far a model's accuracy holds when they are not. Pure NumPy/SciPy; no TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["accuracy_under", "rotate", "shift"]


def _images(images: np.ndarray, name: str = "images") -> np.ndarray:
    images = np.asarray(images)
    if images.ndim not in (3, 4) or images.shape[1:3] != (28, 28):
        raise ValueError(f"{name}: expected (N, 28, 28) or (N, 28, 28, 1) digits, got shape {images.shape}")
    return images


def shift(images: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """Every digit moved ``dx`` pixels right and ``dy`` pixels down (negative: left, up); zeros enter.

    Whole pixels only, so nothing is blurred: pixel (r, c) of the result is pixel (r - dy, c - dx) of
    the input, or 0 where that lies outside.
    """
    images = _images(images)
    for name, value in (("dx", dx), ("dy", dy)):
        if int(value) != value or abs(value) >= 28:
            raise ValueError(f"{name}: expected a whole number of pixels from -27 to 27, got {value!r}")
    dx, dy = int(dx), int(dy)
    out = np.zeros_like(images)
    rows_out, rows_in = slice(max(dy, 0), 28 + min(dy, 0)), slice(max(-dy, 0), 28 - max(dy, 0))
    cols_out, cols_in = slice(max(dx, 0), 28 + min(dx, 0)), slice(max(-dx, 0), 28 - max(dx, 0))
    out[:, rows_out, cols_out] = images[:, rows_in, cols_in]
    return out


def rotate(images: np.ndarray, degrees: float) -> np.ndarray:
    """Every digit turned ``degrees`` counter-clockwise about the image centre (bilinear, zeros enter)."""
    from scipy import ndimage

    images = _images(images)
    turned = ndimage.rotate(images.astype(np.float32), degrees, axes=(2, 1), reshape=False, order=1,
                            mode="constant", cval=0.0)
    if np.issubdtype(images.dtype, np.integer):
        info = np.iinfo(images.dtype)
        return np.clip(np.rint(turned), info.min, info.max).astype(images.dtype)
    return turned.astype(images.dtype, copy=False)


def accuracy_under(predict: Callable[[np.ndarray], np.ndarray], images: np.ndarray, labels: np.ndarray,
                   transform: Callable[[np.ndarray], np.ndarray] | None = None) -> float:
    """The share of ``labels`` that ``predict`` (images -> probabilities) gets right after ``transform``."""
    images = _images(images)
    labels = np.asarray(labels)
    if labels.shape != (len(images),):
        raise ValueError(f"labels: expected {len(images)} labels, got shape {labels.shape}")
    changed = images if transform is None else transform(images)
    return float((np.asarray(predict(changed)).argmax(axis=1) == labels).mean())
