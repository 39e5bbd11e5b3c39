"""The ten digits printed in the fonts that ship with matplotlib, made MNIST-like: digits no one wrote by hand.

Notebook 08 reads them with the course's models, to see how far "handwritten" reaches.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["printed_digits", "printed_fonts"]

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
                   fonts: dict[str, Path] | None = None) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
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
