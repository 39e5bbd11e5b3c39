"""Preprocessing shared by the notebooks and the package: scaling, the channel axis, digits as a model takes
them, digits moved to MNIST's centre of mass, one-hot labels, seeded splits."""

from __future__ import annotations

import numpy as np

__all__ = ["MNIST_CENTRE", "add_channel", "as_digits", "centre_of_mass", "model_input", "one_hot", "recentred", "scale",
           "stratified_split", "stratified_subset"]

#: Where MNIST's digits have their centre of mass, (row, column) in array coordinates: its makers moved every digit
#: there (the training digits' mean is 14.00, 14.01, each within about 0.3 pixels).
MNIST_CENTRE = (14.0, 14.0)


def scale(images: np.ndarray) -> np.ndarray:
    """Pixels 0..255 to float32 in [0, 1] (divide by 255), any shape."""
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise ValueError(f"images: expected uint8 pixels 0..255, got dtype {images.dtype}")
    return images.astype(np.float32) / np.float32(255)


def add_channel(images: np.ndarray) -> np.ndarray:
    """(N, H, W) to Keras' channels-last (N, H, W, 1); a view, no copy."""
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"images: expected shape (N, H, W), got {images.shape}")
    return images[..., np.newaxis]


def as_digits(images: np.ndarray, name: str = "images") -> np.ndarray:
    """``images`` as an array, checked to be digits of shape (N, 28, 28) or (N, 28, 28, 1); a ``ValueError``
    names ``name`` and the shape otherwise. The one shape check of what the package's models and transforms take."""
    images = np.asarray(images)
    if images.ndim not in (3, 4) or images.shape[1:3] != (28, 28) or images.ndim == 4 and images.shape[3] != 1:
        raise ValueError(f"{name}: expected (N, 28, 28) or (N, 28, 28, 1) digits, got shape {images.shape}")
    return images


def model_input(images: np.ndarray, name: str = "images") -> np.ndarray:
    """Digits as the course's Keras models take them: float32 (N, 28, 28, 1) in [0, 1]. ``images`` are
    (N, 28, 28) or (N, 28, 28, 1), uint8 pixels 0..255 (divided by 255) or floats already in [0, 1]."""
    images = as_digits(images, name)
    x = images.reshape(len(images), 28, 28, 1)
    if np.issubdtype(x.dtype, np.integer) or x.dtype == bool:
        if x.dtype != np.uint8:
            raise ValueError(f"{name}: expected uint8 pixels 0..255 or floats in [0, 1], got dtype {x.dtype}")
        return scale(x)
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"{name}: expected uint8 pixels 0..255 or floats in [0, 1], got dtype {x.dtype}")
    return x.astype(np.float32, copy=False)


def one_hot(labels: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """Integer labels (N,) to float32 one-hot rows (N, num_classes), like ``keras.utils.to_categorical``."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels: expected a 1-D integer array, got shape {labels.shape} of {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels: expected values in 0..{num_classes - 1}, got {labels.min()}..{labels.max()}")
    return np.eye(num_classes, dtype=np.float32)[labels]


def stratified_split(x: np.ndarray, y: np.ndarray, val_size: float | int = 0.1, *, seed: int = 42
                     ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """A seeded train/validation split with the same digit proportions in both parts.

    ``val_size`` is a fraction (0 < f < 1) or a count. Returns ``(x_train, y_train), (x_val, y_val)``.
    """
    from sklearn.model_selection import train_test_split

    if len(x) != len(y):
        raise ValueError(f"x and y: expected the same length, got {len(x)} and {len(y)}")
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=val_size, stratify=y, random_state=seed)
    return (x_train, y_train), (x_val, y_val)


def stratified_subset(x: np.ndarray, y: np.ndarray, n: int, *, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    """A seeded subset of ``n`` examples with the digit proportions of the whole (all of it if n >= len)."""
    if n < 1:
        raise ValueError(f"n: expected at least 1 example, got {n}")
    if n >= len(x):
        return x, y
    (x_sub, y_sub), _ = stratified_split(x, y, val_size=len(x) - n, seed=seed)
    return x_sub, y_sub


def centre_of_mass(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each image's centre of mass, its pixels' values as weights: (rows, cols), float64 arrays of length N, in array
    coordinates. Images of shape (N, H, W) or (N, H, W, 1); an image with no ink has its centre at (0, 0)."""
    images = np.asarray(images, dtype=np.float64)
    planes = images[..., 0] if images.ndim == 4 else images
    mass = planes.sum(axis=(1, 2))
    mass = np.where(mass > 0, mass, 1.0)
    rows = planes.sum(axis=2) @ np.arange(planes.shape[1]) / mass
    cols = planes.sum(axis=1) @ np.arange(planes.shape[2]) / mass
    return rows, cols


def recentred(images: np.ndarray, centre: tuple[float, float] = MNIST_CENTRE) -> np.ndarray:
    """Each image moved by whole pixels so that its centre of mass lands as close as rounding allows to ``centre``
    (default :data:`MNIST_CENTRE`), as MNIST's makers placed its digits; zeros enter, ink moved past the edge is
    lost, an image with no ink stays as it is. Same shape and dtype as ``images``, (N, H, W) or (N, H, W, 1).

    The moves are ``round(centre - centre_of_mass)``, halves to even (NumPy's and TensorFlow's rounding), so that
    :class:`mnistlab.models.Recentre` moves each digit exactly as this does."""
    images = np.asarray(images)
    planes = images[..., 0] if images.ndim == 4 else images
    if planes.ndim != 3:
        raise ValueError(f"images: expected shape (N, H, W) or (N, H, W, 1), got {images.shape}")
    n, height, width = planes.shape
    rows, cols = centre_of_mass(planes)  # a blank image, moved anywhere, stays blank
    dy, dx = np.rint(centre[0] - rows).astype(int), np.rint(centre[1] - cols).astype(int)
    source_rows = np.arange(height)[None, :, None] - dy[:, None, None]
    source_cols = np.arange(width)[None, None, :] - dx[:, None, None]
    inside = (source_rows >= 0) & (source_rows < height) & (source_cols >= 0) & (source_cols < width)
    moved = planes[np.arange(n)[:, None, None], source_rows.clip(0, height - 1), source_cols.clip(0, width - 1)]
    return np.where(inside, moved, 0).astype(images.dtype).reshape(images.shape)
