"""Classic 3x3 kernels, and kernels of any size for the padding and stride explorer."""

from __future__ import annotations

import numpy as np

from mnistlab.examples import REPORT_KERNEL

__all__ = ["PRESETS", "make_kernel"]

#: Named 3x3 kernels: what a hand-designed feature detector looks like before a CNN learns its own.
PRESETS: dict[str, np.ndarray] = {
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], float),
    "report X": REPORT_KERNEL,  # the same array as mnistlab.examples.REPORT_KERNEL (integers)
    "vertical edges": np.array([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]], float),
    "horizontal edges": np.array([[-1, -1, -1], [0, 0, 0], [1, 1, 1]], float),
    "sobel x": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], float),
    "sobel y": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], float),
    "outline": np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], float),
    "blur": np.full((3, 3), 1 / 9),
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], float),
}
for _kernel in PRESETS.values():
    _kernel.flags.writeable = False  # presets are shared: nobody edits them in place


def make_kernel(kind: str, size: int) -> np.ndarray:
    """A ``size`` x ``size`` kernel of a kind: "blur" (the mean), "vertical edges" or "horizontal edges".

    Edge kernels are -1 on one half and +1 on the other (0 on the middle line when size is odd).
    """
    if not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size: expected an int >= 1, got {size!r}")
    if kind == "blur":
        return np.full((size, size), 1 / size**2)
    ramp = np.sign(np.arange(size) - (size - 1) / 2)
    if kind == "vertical edges":
        return np.tile(ramp, (size, 1))
    if kind == "horizontal edges":
        return np.tile(ramp[:, None], (1, size))
    raise ValueError(f"kind: expected 'blur', 'vertical edges' or 'horizontal edges', got {kind!r}")
