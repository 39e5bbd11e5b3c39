"""Digits unlike MNIST's test set, made on purpose: each transform changes one way digits differ.

MNIST's digits are centred by their centre of mass, upright, of one stroke width, clean and white on
black; a learner's are not. Each function here changes one of those at a chosen strength (shift, rotate,
scale, thickness, noise, blur, invert), for uint8 (0-255) or float (0-1) digits of shape (N, 28, 28) or
(N, 28, 28, 1), and gives back the input's shape and dtype. :data:`TRANSFORMS` names them with the
strengths the robustness sweep (:mod:`mnistlab.robustness`) measures. NumPy and SciPy only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mnistlab.preprocess import as_digits

__all__ = ["TRANSFORMS", "Transform", "blur", "invert", "noise", "rotate", "scale", "shift", "thickness",
           "transformed"]


def shift(images: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """Every digit moved ``dx`` pixels right and ``dy`` pixels down (negative: left, up); zeros enter.

    Whole pixels only, so nothing is blurred: pixel (r, c) of the result is pixel (r - dy, c - dx) of
    the input, or 0 where that lies outside.
    """
    images = as_digits(images)
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

    return _planes(as_digits(images), lambda x: ndimage.rotate(x, degrees, axes=(2, 1), reshape=False, order=1,
                                                             mode="constant", cval=0.0))


def _full_scale(images: np.ndarray) -> float:
    return float(np.iinfo(images.dtype).max) if np.issubdtype(images.dtype, np.integer) else 1.0


def _planes(images: np.ndarray, change: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Apply ``change`` to the digits as (N, 28, 28) float32 and give back the input's shape and dtype."""
    planes = images.reshape(len(images), 28, 28).astype(np.float32)
    out = change(planes).reshape(images.shape)
    if np.issubdtype(images.dtype, np.integer):
        info = np.iinfo(images.dtype)
        return np.clip(np.rint(out), info.min, info.max).astype(images.dtype)
    return out.astype(images.dtype, copy=False)


def scale(images: np.ndarray, factor: float) -> np.ndarray:
    """Every digit enlarged ``factor`` times about the image centre (below 1: shrunk; bilinear, zeros enter).

    MNIST's digits fit a 20x20 box: a factor of 1.4 fills the 28x28 field, 0.5 leaves a 10-pixel digit.
    """
    from scipy import ndimage

    images = as_digits(images)
    if not 0.1 <= factor <= 5:
        raise ValueError(f"factor: expected a size factor from 0.1 to 5, got {factor!r}")
    centre = 13.5 * (1 - 1 / factor)  # output pixel p reads input pixel centre + (p - centre) / factor
    return _planes(images, lambda x: ndimage.affine_transform(
        x, np.array([1.0, 1 / factor, 1 / factor]), offset=(0.0, centre, centre), order=1, mode="constant"))


_CROSS = np.array([[[0, 1, 0], [1, 1, 1], [0, 1, 0]]], dtype=bool)


def thickness(images: np.ndarray, pixels: int) -> np.ndarray:
    """Strokes made ``pixels`` thicker on each side (negative: thinner), by grey dilation or erosion.

    Each step takes the brightest (to thicken) or darkest (to thin) of a pixel and its four neighbours:
    a stroke of width w becomes w + 2 * pixels wide.
    """
    from scipy import ndimage

    images = as_digits(images)
    if int(pixels) != pixels or abs(pixels) > 5:
        raise ValueError(f"pixels: expected a whole number from -5 to 5, got {pixels!r}")
    step = ndimage.grey_dilation if pixels > 0 else ndimage.grey_erosion

    def change(x: np.ndarray) -> np.ndarray:
        for _ in range(abs(int(pixels))):
            x = step(x, footprint=_CROSS, mode="constant", cval=0.0)
        return x

    return _planes(images, change)


def noise(images: np.ndarray, sigma: float, *, seed: int = 0) -> np.ndarray:
    """Gaussian noise of standard deviation ``sigma`` (a share of full brightness) added, then clipped.

    Seeded: the same ``seed`` adds the same noise.
    """
    images = as_digits(images)
    if not 0 <= sigma <= 10:
        raise ValueError(f"sigma: expected a share of full brightness from 0 to 10, got {sigma!r}")
    full = _full_scale(images)
    rng = np.random.default_rng(seed)
    return _planes(images, lambda x: np.clip(x + rng.normal(0, sigma * full, x.shape), 0, full))


def blur(images: np.ndarray, sigma: float) -> np.ndarray:
    """Every digit blurred by a Gaussian of ``sigma`` pixels (0: unchanged)."""
    from scipy import ndimage

    images = as_digits(images)
    if not 0 <= sigma <= 10:
        raise ValueError(f"sigma: expected a blur radius from 0 to 10 pixels, got {sigma!r}")
    return _planes(images, lambda x: ndimage.gaussian_filter(x, (0, sigma, sigma), mode="constant"))


def invert(images: np.ndarray, amount: float = 1.0) -> np.ndarray:
    """Ink and paper swapped: ``(1 - amount) * x + amount * (full - x)``; 1 gives dark ink on white paper."""
    images = as_digits(images)
    if not 0 <= amount <= 1:
        raise ValueError(f"amount: expected a share from 0 to 1, got {amount!r}")
    full = _full_scale(images)
    return _planes(images, lambda x: (1 - amount) * x + amount * (full - x))


@dataclass(frozen=True)
class Transform:
    """One way of changing digits: ``apply(images, strength)``, the strengths to sweep and their unit."""

    apply: Callable[[np.ndarray, float], np.ndarray]
    strengths: tuple[float, ...]
    unit: str
    identity: float = 0.0  # the strength that leaves the digits unchanged


#: The transforms of the robustness sweep, by name, each with its strengths (the unchanged one first).
TRANSFORMS: dict[str, Transform] = {
    "shift right": Transform(lambda x, s: shift(x, s, 0), (0, 1, 2, 3, 4, 5, 6), "pixels"),
    "shift diagonal": Transform(lambda x, s: shift(x, s, s), (0, 1, 2, 3, 4, 5, 6), "pixels right and down"),
    "rotate": Transform(rotate, (0, 10, 15, 20, 25, 30, 45), "degrees"),
    "scale": Transform(scale, (1.0, 0.5, 0.7, 0.85, 1.15, 1.3, 1.5), "times the size", identity=1.0),
    "thickness": Transform(thickness, (0, -2, -1, 1, 2, 3), "pixels per side"),
    "noise": Transform(noise, (0, 0.1, 0.2, 0.3, 0.4, 0.5), "share of full brightness"),
    "blur": Transform(blur, (0, 0.5, 1, 1.5, 2, 3), "pixels (Gaussian sigma)"),
    "invert": Transform(invert, (0, 0.25, 0.5, 0.75, 1), "share inverted"),
}


def transformed(images: np.ndarray, name: str, strength: float) -> np.ndarray:
    """The digits changed by the transform ``name`` of :data:`TRANSFORMS` at ``strength``."""
    if name not in TRANSFORMS:
        raise ValueError(f"transform: expected one of {', '.join(TRANSFORMS)}; got {name!r}")
    return TRANSFORMS[name].apply(as_digits(images), strength)
