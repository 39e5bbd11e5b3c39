"""The worked examples of the student report the course grew from, as arrays.

The report printed its results (the 4x4 convolution whose top-left value is 429, 139 with zero
padding 1, and the 2x2 max pooling [[792, 856], [913, 851]]) but not its 6x6 image. ``REPORT_IMAGE``
is a 6x6 grayscale patch chosen so that all of them hold at once, so the course can chain them:
convolve the image, then pool the result.
"""

from __future__ import annotations

import numpy as np

__all__ = ["REPORT_IMAGE", "REPORT_KERNEL", "REPORT_POOLED"]

#: A 6x6 image (pixel values 0..255) that reproduces every number the report quotes.
REPORT_IMAGE = np.array([
    [76, 95, 110, 31, 142, 85],
    [254, 63, 87, 117, 122, 154],
    [162, 204, 18, 42, 169, 98],
    [109, 90, 138, 204, 102, 212],
    [96, 133, 241, 57, 165, 204],
    [132, 254, 203, 124, 37, 146],
], dtype=np.int64)
REPORT_IMAGE.flags.writeable = False

#: The report's 3x3 weight: ones on the corners and the centre (an "X").
REPORT_KERNEL = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], dtype=np.int64)
REPORT_KERNEL.flags.writeable = False

#: 2x2 max pooling of the image's 4x4 convolution, as the report gives it.
REPORT_POOLED = np.array([[792, 856], [913, 851]], dtype=np.int64)
REPORT_POOLED.flags.writeable = False
