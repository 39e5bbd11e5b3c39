"""Digits unlike MNIST's test set, made on purpose, and a model's accuracy on them.

MNIST's digits are centred by their centre of mass, upright, of one stroke width, clean and white on
black; a learner's are not. The transforms here change one of those at a chosen strength (shift,
rotate, scale, thickness, noise, blur, invert); :func:`sweep` measures a model's accuracy along each;
:func:`printed_digits` renders the ten digits in the TrueType fonts that ship with matplotlib; and
:func:`adversarial` finds the smallest signed gradient step that changes a prediction. Everything but
:func:`input_gradient` and :func:`adversarial` is NumPy/SciPy; those two import TensorFlow when called.
:func:`load_or_headline` and :func:`load_or_sweep` keep a model's scores in the user's cache.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mnistlab import cache

__all__ = ["HEADLINE", "TRANSFORMS", "Adversarial", "Sweep", "Transform", "accuracy_under", "adversarial", "blur",
           "headline", "input_gradient", "invert", "load_or_headline", "load_or_sweep", "noise", "predictor",
           "printed_digits", "printed_fonts", "rotate", "scale", "shift", "sweep", "thickness", "transformed"]


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

    return _planes(_images(images), lambda x: ndimage.rotate(x, degrees, axes=(2, 1), reshape=False, order=1,
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

    images = _images(images)
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

    images = _images(images)
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
    images = _images(images)
    if not 0 <= sigma <= 10:
        raise ValueError(f"sigma: expected a share of full brightness from 0 to 10, got {sigma!r}")
    full = _full_scale(images)
    rng = np.random.default_rng(seed)
    return _planes(images, lambda x: np.clip(x + rng.normal(0, sigma * full, x.shape), 0, full))


def blur(images: np.ndarray, sigma: float) -> np.ndarray:
    """Every digit blurred by a Gaussian of ``sigma`` pixels (0: unchanged)."""
    from scipy import ndimage

    images = _images(images)
    if not 0 <= sigma <= 10:
        raise ValueError(f"sigma: expected a blur radius from 0 to 10 pixels, got {sigma!r}")
    return _planes(images, lambda x: ndimage.gaussian_filter(x, (0, sigma, sigma), mode="constant"))


def invert(images: np.ndarray, amount: float = 1.0) -> np.ndarray:
    """Ink and paper swapped: ``(1 - amount) * x + amount * (full - x)``; 1 gives dark ink on white paper."""
    images = _images(images)
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
    return TRANSFORMS[name].apply(_images(images), strength)


def predictor(model, batch_size: int = 2000) -> Callable[[np.ndarray], np.ndarray]:
    """``images -> probabilities`` for a Keras model: uint8 (0-255) or float [0, 1] digits, any of
    (N, 28, 28) or (N, 28, 28, 1), predicted in batches without Keras' progress bar."""

    def predict(images: np.ndarray) -> np.ndarray:
        images = _images(images)
        x = images.reshape(len(images), 28, 28, 1).astype(np.float32)
        if np.issubdtype(images.dtype, np.integer):
            x /= 255.0
        return np.concatenate([np.asarray(model.predict_on_batch(x[i:i + batch_size]))
                               for i in range(0, len(x), batch_size)]) if len(x) else np.zeros((0, 10))

    return predict


@dataclass
class Sweep:
    """A model's accuracy along each transform (:attr:`table`) and its predictions (:attr:`predicted`)."""

    table: object                      # pandas DataFrame: transform, strength, unit, accuracy
    labels: np.ndarray
    predicted: dict[tuple[str, float], np.ndarray] = field(repr=False)

    def accuracy(self, name: str, strength: float) -> float:
        """The accuracy under one transform at one strength."""
        return float((self.predicted[name, strength] == self.labels).mean())

    def first_failures(self, name: str) -> object:
        """Digits right when unchanged and wrong at some strength of ``name``, at the mildest such strength.

        A DataFrame (index, strength, predicted), the mildest failures first.
        """
        import pandas as pd

        transform = TRANSFORMS[name]
        right = self.predicted[name, transform.identity] == self.labels
        found: dict[int, tuple[float, int]] = {}
        changed = sorted((s for s in transform.strengths if s != transform.identity),
                         key=lambda s: abs(s - transform.identity))
        for strength in changed:
            wrong = np.flatnonzero(right & (self.predicted[name, strength] != self.labels))
            for i in wrong:
                found.setdefault(int(i), (strength, int(self.predicted[name, strength][i])))
        rows = [{"index": i, "strength": s, "predicted": p} for i, (s, p) in found.items()]
        order = {s: k for k, s in enumerate(changed)}
        table = pd.DataFrame(rows, columns=["index", "strength", "predicted"])
        return table.sort_values("strength", key=lambda c: c.map(order), kind="stable").reset_index(drop=True)


def sweep(predict: Callable[[np.ndarray], np.ndarray], images: np.ndarray, labels: np.ndarray,
          names: Iterable[str] | None = None) -> Sweep:
    """``predict``'s accuracy on ``images`` under each transform of :data:`TRANSFORMS` (or ``names``) at
    each of its strengths. The unchanged digits are predicted once."""
    import pandas as pd

    images = _images(images)
    labels = np.asarray(labels)
    if labels.shape != (len(images),):
        raise ValueError(f"labels: expected {len(images)} labels, got shape {labels.shape}")
    names = list(TRANSFORMS if names is None else names)
    for name in names:
        if name not in TRANSFORMS:
            raise ValueError(f"names: expected transforms among {', '.join(TRANSFORMS)}; got {name!r}")
    clean = np.asarray(predict(images)).argmax(axis=1)
    predicted, rows = {}, []
    for name in names:
        transform = TRANSFORMS[name]
        for strength in sorted(transform.strengths):
            guess = clean if strength == transform.identity else np.asarray(
                predict(transform.apply(images, strength))).argmax(axis=1)
            predicted[name, strength] = guess
            rows.append({"transform": name, "strength": strength, "unit": transform.unit,
                         "accuracy": float((guess == labels).mean())})
    return Sweep(pd.DataFrame(rows), labels, predicted)


#: The changes the course's targets name: a 4-pixel shift (right; right and down) and a 20-degree turn.
HEADLINE: dict[str, tuple[str, float]] = {"shift 4 right": ("shift right", 4),
                                          "shift 4 diagonal": ("shift diagonal", 4), "rotate 20": ("rotate", 20)}


def headline(predict: Callable[[np.ndarray], np.ndarray], images: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Accuracy on the unchanged digits and under each change of :data:`HEADLINE`, by name."""
    scores = {"unchanged": accuracy_under(predict, images, labels)}
    for name, (transform, strength) in HEADLINE.items():
        scores[name] = accuracy_under(predict, images, labels, lambda x, t=transform, s=strength: transformed(x, t, s))
    return scores


def accuracy_under(predict: Callable[[np.ndarray], np.ndarray], images: np.ndarray, labels: np.ndarray,
                   transform: Callable[[np.ndarray], np.ndarray] | None = None) -> float:
    """The share of ``labels`` that ``predict`` (images -> probabilities) gets right after ``transform``."""
    images = _images(images)
    labels = np.asarray(labels)
    if labels.shape != (len(images),):
        raise ValueError(f"labels: expected {len(images)} labels, got shape {labels.shape}")
    changed = images if transform is None else transform(images)
    return float((np.asarray(predict(changed)).argmax(axis=1) == labels).mean())


def _digest(*arrays: np.ndarray) -> str:
    hasher = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        hasher.update(f"{array.dtype.str}{array.shape}".encode())
        hasher.update(array.tobytes())
    return hasher.hexdigest()[:16]


def _key(kind: str, model, images: np.ndarray, labels: np.ndarray, **settings) -> str:
    """The cache key of a result of ``model`` on these digits: its layers and weights, the digits, this
    module's code and the library versions."""
    layers = [(type(layer).__name__, layer.name) for layer in model.layers]
    identity = {"kind": kind, "layers": layers, "weights": _digest(*model.get_weights()),
                "digits": _digest(np.asarray(images), np.asarray(labels)), **settings,
                "code": cache.code_digest(sys.modules[__name__]),
                "versions": cache.versions("mnistlab", "numpy", "scipy", "keras", "tensorflow")}
    return f"robustness-{kind}-{model.name}-n{len(images)}-{cache.digest(identity)}"


def load_or_headline(model, images: np.ndarray, labels: np.ndarray, *,
                     warn: Callable[[str], None] = cache.warn) -> dict[str, float]:
    """:func:`headline` of a Keras model, computed once and kept in the user's cache (:mod:`mnistlab.cache`).

    The key is made of the model's layers and weights, the digits and labels, this module's code and the
    library versions, so notebooks 07 and 08 share one computation. An entry that cannot be used is
    reported through ``warn`` and computed again.
    """
    key = _key("headline", model, images, labels)
    entry = cache.load(key, required=("scores",), log=warn)
    if entry is not None:
        scores = entry.meta["scores"]
        if (isinstance(scores, dict) and list(scores) == ["unchanged", *HEADLINE]
                and all(isinstance(v, float) and 0 <= v <= 1 for v in scores.values())):
            return scores
        warn(f"cache: ignoring {entry.folder}: its scores are not the headline's; computing them again")
    scores = headline(predictor(model), images, labels)
    cache.save(key, {"scores": scores})
    return scores


def load_or_sweep(model, images: np.ndarray, labels: np.ndarray, names: Iterable[str] | None = None, *,
                  warn: Callable[[str], None] = cache.warn) -> Sweep:
    """:func:`sweep` of a Keras model, computed once and kept in the user's cache like
    :func:`load_or_headline`."""
    import pandas as pd

    names = list(TRANSFORMS if names is None else names)
    labels = np.asarray(labels)
    key = _key("sweep", model, images, labels, names=names)
    entry = cache.load(key, required=("table", "predicted"), log=warn)
    if entry is not None:
        try:
            table = pd.DataFrame(**entry.meta["table"])
            predicted = {(name, strength): np.asarray(guess, dtype=np.int64)
                         for name, strength, guess in entry.meta["predicted"]}
            expected = {(name, s) for name in names for s in TRANSFORMS[name].strengths}
            if set(predicted) != expected or any(p.shape != labels.shape for p in predicted.values()):
                raise ValueError("its predictions are not one per digit for each transform and strength")
            return Sweep(table, labels, predicted)
        except (TypeError, ValueError, KeyError) as exc:
            warn(f"cache: ignoring {entry.folder}: its sweep cannot be read ({exc}); computing it again")
    result = sweep(predictor(model), images, labels, names)
    cache.save(key, {"table": result.table.to_dict(orient="split"),
                     "predicted": [[name, strength, guess.tolist()] for (name, strength), guess in
                                   result.predicted.items()]})
    return result


_DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def printed_fonts(folder: str | Path | None = None) -> dict[str, Path]:
    """The TrueType fonts of ``folder`` (default: matplotlib's own) that draw the ten digits, by name.

    A font qualifies when it maps '0'..'9' to glyphs named zero..nine: symbol fonts, fonts without
    digits and old-style figures (``zerooldstyle``: digits of lower-case height) are left out.
    """
    import matplotlib
    from fontTools.ttLib import TTFont
    from PIL import ImageFont

    folder = Path(folder) if folder is not None else Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder of fonts")
    fonts = {}
    for path in sorted(folder.glob("*.ttf")):
        with TTFont(path, lazy=True) as font:
            cmap = font.getBestCmap() or {}
        if [cmap.get(ord(str(d))) for d in range(10)] == list(_DIGIT_NAMES):
            family, style = ImageFont.truetype(str(path), 12).getname()
            fonts[family if style in ("Book", "Regular") else f"{family} {style}"] = path
    return fonts


def _render(font_path: Path, digit: int, size: int, angle: float) -> np.ndarray:
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(font_path), size)
    side = 3 * size
    page = Image.new("L", (side, side), 255)
    ImageDraw.Draw(page).text((side / 2, side / 2), str(digit), font=font, fill=0, anchor="mm")
    if angle:
        page = page.rotate(angle, resample=Image.Resampling.BILINEAR, fillcolor=255)
    return np.asarray(page)


def printed_digits(sizes: Sequence[int] = (24, 64), angles: Sequence[float] = (-10, 0, 10),
                   fonts: dict[str, Path] | None = None):
    """The ten digits printed in each font (default :func:`printed_fonts`) at each point size and angle,
    dark on white, then made MNIST-like by :func:`mnistlab.photo.prepare_digit`.

    Returns ``(images, labels, info)``: (N, 28, 28) float32 in [0, 1], the digits, and a DataFrame
    with each image's font, size and angle (degrees, counter-clockwise).
    """
    import pandas as pd

    from mnistlab.photo import prepare_digit

    fonts = printed_fonts() if fonts is None else fonts
    images, rows = [], []
    for name, path in fonts.items():
        for size in sizes:
            for angle in angles:
                for digit in range(10):
                    images.append(prepare_digit(_render(Path(path), digit, size, angle)))
                    rows.append({"font": name, "size": size, "angle": angle, "digit": digit})
    info = pd.DataFrame(rows, columns=["font", "size", "angle", "digit"])
    stack = np.stack(images) if images else np.zeros((0, 28, 28), np.float32)
    return stack, info["digit"].to_numpy(), info


def input_gradient(model, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """d loss / d pixel: the gradient of the cross-entropy of ``labels`` with respect to each input pixel.

    ``images`` are (N, 28, 28) floats in [0, 1]; the result has their shape. Imports TensorFlow.
    """
    from mnistlab.runtime import import_tensorflow

    tf = import_tensorflow()
    images = _images(images)
    x = tf.convert_to_tensor(images.reshape(len(images), 28, 28, 1), dtype=tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        probabilities = model(x, training=False)
        loss = tf.keras.losses.sparse_categorical_crossentropy(np.asarray(labels), probabilities)
    return tape.gradient(loss, x).numpy().reshape(images.shape)


@dataclass(frozen=True)
class Adversarial:
    """The smallest signed gradient step found that changes a digit's prediction (``epsilon``: its size)."""

    original: np.ndarray        # (28, 28) in [0, 1]
    changed: np.ndarray         # original + epsilon * sign(gradient), clipped to [0, 1]
    label: int
    predicted: int              # the prediction for ``changed``
    epsilon: float              # the step per pixel, a share of full brightness (nan: none found)
    probabilities: np.ndarray   # for ``changed``


def adversarial(model, image: np.ndarray, label: int,
                epsilons: Sequence[float] = tuple(np.round(np.arange(0.005, 0.3001, 0.005), 3))) -> Adversarial:
    """The fast gradient sign step (Goodfellow et al., 2015): every pixel moved by ``epsilon`` in the
    direction that raises the loss; the smallest of ``epsilons`` that changes the prediction is kept."""
    image = np.asarray(image, dtype=np.float32).reshape(28, 28)
    direction = np.sign(input_gradient(model, image[None], np.array([label]))[0])
    candidates = np.clip(image[None] + np.asarray(epsilons, np.float32)[:, None, None] * direction, 0, 1)
    probabilities = np.asarray(model.predict_on_batch(candidates[..., None]))
    flipped = np.flatnonzero(probabilities.argmax(axis=1) != label)
    k = int(flipped[0]) if len(flipped) else len(epsilons) - 1
    return Adversarial(image, candidates[k], int(label), int(probabilities[k].argmax()),
                       float(epsilons[k]) if len(flipped) else float("nan"), probabilities[k])
