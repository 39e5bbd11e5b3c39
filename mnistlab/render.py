"""Arrays to pictures: PNG bytes for the explorers' Image widgets (fast, with Pillow; crisp, nearest neighbour),
and feature maps tiled into one array."""

from __future__ import annotations

import functools
import io

import numpy as np

__all__ = ["tile_maps", "to_png", "to_rgb"]


#: The colour of no value (NaN), such as the gaps between tiled maps: a mid grey, which the red-white-blue map of
#: signed maps never draws (its middle, 0, is white).
_GAP = np.array([160, 160, 160], dtype=np.uint8)


@functools.lru_cache(maxsize=8)
def _lut(cmap: str) -> np.ndarray:
    """A (256, 3) uint8 lookup table for a matplotlib colour map."""
    import matplotlib

    return (matplotlib.colormaps[cmap](np.linspace(0, 1, 256))[:, :3] * 255).round().astype(np.uint8)


def to_rgb(array: np.ndarray, *, vmin: float | None = None, vmax: float | None = None, cmap: str | None = None,
           highlight: np.ndarray | None = None, mark: np.ndarray | None = None) -> np.ndarray:
    """An (H, W) array as (H, W, 3) uint8 colours.

    Values are scaled from [vmin, vmax] (default: the array's range; for arrays with negative values
    a range symmetric about 0, drawn in a diverging map so that 0 is white). NaN is no value at all (the
    gaps between :func:`tile_maps`' maps) and is drawn grey. ``highlight`` is a boolean (H, W) mask drawn
    tinted blue, as padding is in the explorers; ``mark`` one drawn tinted orange, as a clicked output
    pixel's window is.
    """
    a = np.asarray(array, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"array: expected shape (H, W), got {a.shape}")
    gaps = np.isnan(a)
    values = a[~gaps] if gaps.sum() < a.size else np.zeros(1)  # the range of what has a value (0 if nothing has)
    signed = vmin is None and values.min() < 0
    if signed:
        bound = float(np.abs(values).max()) or 1.0
        vmin, vmax = -bound, bound
    lo = float(values.min()) if vmin is None else vmin
    hi = float(values.max()) if vmax is None else vmax
    scaled = np.zeros_like(a) if hi <= lo else np.clip((np.where(gaps, lo, a) - lo) / (hi - lo), 0, 1)
    rgb = _lut(cmap or ("RdBu_r" if signed else "gray"))[(scaled * 255).round().astype(np.uint8)]
    rgb[gaps] = _GAP
    if highlight is not None:
        rgb[highlight] = (rgb[highlight] * 0.5 + np.array([40, 80, 160]) * 0.5).astype(np.uint8)
    if mark is not None:
        rgb[mark] = (rgb[mark] * 0.5 + np.array([255, 140, 0]) * 0.5).astype(np.uint8)
    return rgb


def to_png(array: np.ndarray, *, size: int = 168, **colour) -> bytes:
    """PNG bytes of an (H, W) array scaled up by a whole factor to about ``size`` pixels (see :func:`to_rgb`)."""
    from PIL import Image

    rgb = to_rgb(array, **colour)
    factor = max(1, size // max(rgb.shape[:2]))
    picture = Image.fromarray(rgb).resize((rgb.shape[1] * factor, rgb.shape[0] * factor), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def tile_maps(maps: np.ndarray, cols: int = 8) -> np.ndarray:
    """(H, W, K) feature maps as one (rows*(H+1)-1, cols*(W+1)-1) array, the maps in reading order,
    separated by one line of NaN (no value, which :func:`to_rgb` draws grey)."""
    h, w, k = maps.shape
    cols = min(cols, k)
    rows = -(-k // cols)
    tiled = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1), np.nan)
    for i in range(k):
        r, c = divmod(i, cols)
        tiled[r * (h + 1):r * (h + 1) + h, c * (w + 1):c * (w + 1) + w] = maps[:, :, i]
    return tiled
