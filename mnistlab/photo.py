"""A user's own digit (a photo or a drawing, PNG or JPEG) made into a 28x28 MNIST-style image.

MNIST's digits were size-normalised to fit a 20x20 box, keeping their aspect ratio, and centred by
their centre of mass in a 28x28 field, white ink on black. :func:`prepare_digit` does the same.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from mnistlab.errors import MnistlabError
from mnistlab.preprocess import recentred

__all__ = ["MAX_PIXELS", "DigitImageError", "prepare_digit", "prepare_digits", "prepare_steps"]


class DigitImageError(MnistlabError):
    """An image that cannot be read as one handwritten digit; the message says why and what to try."""


#: The largest image :func:`prepare_digit` reads (25 megapixels: any phone photo); larger files are
#: refused before their pixels are decoded.
MAX_PIXELS = 25_000_000


def _grayscale(source: str | os.PathLike | np.ndarray) -> tuple[np.ndarray, str]:
    if isinstance(source, np.ndarray):
        if not (np.issubdtype(source.dtype, np.number) or source.dtype == np.bool_):
            raise DigitImageError(f"array: expected numbers (pixel values), got dtype {source.dtype}")
        image = np.asarray(source, dtype=np.float64)
        if source.dtype == np.bool_ or (source.dtype.kind == "f" and image.size and np.nanmax(image) <= 1.0):
            image = image * 255  # 0..1 (what plt.imread and x / 255 give) as 0..255
        elif source.dtype in (np.uint16, np.int32, np.int64, np.uint32) and image.size and np.nanmax(image) > 255:
            image = image * (255 / 65535)  # 16-bit pixels
        if image.ndim == 3 and image.shape[-1] in (3, 4):
            image = image[..., :3].mean(axis=-1)
        if image.ndim != 2:
            raise DigitImageError(f"array: expected (H, W) or (H, W, 3) pixels, got shape {source.shape}")
        if not np.isfinite(image).all():
            bad = int((~np.isfinite(image)).sum())
            raise DigitImageError(f"array: {bad} pixel(s) are NaN or infinite; expected finite values (0..255)")
        return image, "array"
    import warnings

    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(source)
    if path.is_dir():
        raise DigitImageError(f"{path}: is a folder; expected a PNG or JPEG file of one digit")
    if not path.exists():
        raise DigitImageError(f"{path}: no such file")
    if not path.is_file():  # a pipe or a device would be read forever
        raise DigitImageError(f"{path}: not a regular file; expected a PNG or JPEG file of one digit")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)  # a huge image is refused, not read
            with Image.open(path) as picture:
                width, height = picture.size
                if width * height > MAX_PIXELS:
                    raise DigitImageError(f"{path}: {width}x{height} pixels is too large for one digit (at most "
                                          f"{MAX_PIXELS:,} pixels); scale it down or crop it to the digit")
                picture.load()
                picture = ImageOps.exif_transpose(picture)  # a photo stored turned, with an orientation tag
                if picture.mode.startswith("I;16") or picture.mode in ("I", "F"):
                    return _wide_gray(np.asarray(picture, dtype=np.float64), picture.mode), str(path)
                if picture.mode in ("RGBA", "LA") or "transparency" in picture.info:
                    background = Image.new("RGBA", picture.size, "white")  # transparent drawings: ink on white
                    picture = Image.alpha_composite(background, picture.convert("RGBA"))
                return np.asarray(picture.convert("L"), dtype=np.float64), str(path)
    except DigitImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DigitImageError(f"{path}: refused as a possible decompression bomb ({exc}); expected a photo "
                              "or drawing of one digit") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DigitImageError(f"{path}: not a readable image ({exc}); expected a PNG or JPEG of one digit") from exc


def _wide_gray(pixels: np.ndarray, mode: str) -> np.ndarray:
    """16-bit, 32-bit and floating-point gray pixels as 0..255."""
    if mode.startswith("I;16"):
        return pixels * (255 / 65535)
    top = float(np.nanmax(pixels)) if pixels.size else 0.0
    if mode == "F" and top <= 1.0:
        return pixels * 255
    return pixels * (255 / 65535) if top > 255 else pixels


def _threshold(threshold: object) -> float:
    import numbers

    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or not 0 < float(threshold) < 1:
        raise DigitImageError(f"threshold: expected a number between 0 and 1 (a fraction of the brightest ink); "
                              f"got {threshold!r}")
    return float(threshold)


def prepare_digit(source: str | os.PathLike | np.ndarray, *, threshold: float = 0.25) -> np.ndarray:
    """A digit image as MNIST has them: (28, 28) float32 in [0, 1], white ink on black, centred.

    Steps: grayscale; invert when the background (the border's median) is light; scale to [0, 1];
    crop to the ink (pixels above ``threshold`` of the brightest); scale the crop to fit 20x20;
    place it in 28x28 so that its centre of mass is the centre. Raises :class:`DigitImageError` for
    a missing, unreadable or huge file, an array with NaN, an image with no ink (blank or uniform),
    or marks side by side (several digits); the message names the file.
    :func:`prepare_steps` gives every intermediate image.
    """
    return prepare_steps(source, threshold=threshold)["centred"]


def prepare_digits(images: np.ndarray, *, threshold: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """:func:`prepare_digit` on each image of a stack (N, H, W), as ``mnistlab predict`` prepares each photo: the
    (N, 28, 28) float32 digits, and a boolean mask of the images it refused (no ink, or marks side by side), whose
    digits are left blank."""
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"images: expected a stack (N, H, W), got shape {images.shape}")
    digits = np.zeros((len(images), 28, 28), np.float32)
    refused = np.zeros(len(images), bool)
    for i, image in enumerate(images):
        try:
            digits[i] = prepare_digit(image, threshold=threshold)
        except DigitImageError:
            refused[i] = True
    return digits, refused


def prepare_steps(source: str | os.PathLike | np.ndarray, *, threshold: float = 0.25) -> dict[str, np.ndarray]:
    """Each step of :func:`prepare_digit`, in order, by name: "grayscale" (0-255 as read), "ink" (white
    on black, [0, 1]), "cropped" (to the ink), "fitted" (20 pixels on its long side), "placed" (in
    28x28, box centred) and "centred" (by the centre of mass: the result). Raises as prepare_digit."""
    from PIL import Image
    from scipy import ndimage

    threshold = _threshold(threshold)
    gray, name = _grayscale(source)
    steps = {"grayscale": gray}
    if min(gray.shape) < 8:
        raise DigitImageError(f"{name}: {gray.shape[1]}x{gray.shape[0]} pixels is too small; expected a digit "
                              "at least 8 pixels tall and wide")
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if np.median(border) > 127:
        gray = 255 - gray  # dark ink on light paper: invert to MNIST's white on black
    ink = gray - np.median(border if np.median(border) <= 127 else 255 - border)
    ink = np.clip(ink, 0, None)
    if ink.max() < 32:
        raise DigitImageError(f"{name}: no digit found (the image is blank or has almost no contrast)")
    ink /= ink.max()
    steps["ink"] = ink
    mask = ink > threshold
    labels, count = ndimage.label(mask)
    if count > 1:
        sizes = ndimage.sum_labels(mask, labels, range(1, count + 1))
        big = [i + 1 for i, s in enumerate(sizes) if s >= 0.15 * sizes.max()]
        spans = sorted(tuple(np.flatnonzero((labels == i).any(axis=0))[[0, -1]]) for i in big)
        apart = any(nxt[0] > cur[1] for cur, nxt in zip(spans, spans[1:], strict=False))
        if apart:
            raise DigitImageError(f"{name}: found {len(big)} separate marks side by side; expected a single "
                                  "digit (crop the image to one digit)")
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    crop = steps["cropped"] = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    height, width = crop.shape
    scale = 20 / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    fitted = np.asarray(Image.fromarray((crop * 255).astype(np.uint8)).resize(size, Image.Resampling.LANCZOS),
                        dtype=np.float64) / 255
    steps["fitted"] = fitted
    canvas = np.zeros((28, 28))
    top, left = (28 - fitted.shape[0]) // 2, (28 - fitted.shape[1]) // 2
    canvas[top:top + fitted.shape[0], left:left + fitted.shape[1]] = fitted
    steps["placed"] = canvas
    steps["centred"] = np.clip(recentred(canvas[None])[0], 0, 1).astype(np.float32)  # as MNIST's makers did
    return steps
