"""The worked examples of the student report the course grew from, as printed there.

The report (sections 3.1, 3.2 and 3.5) prints a 6x6 grayscale image and a 3x3 weight with ones on
its corners and centre. Every number it quotes follows from these two arrays: the 4x4 convolution
:data:`REPORT_FEATURE_MAP` (top-left 429), 139 at the top left with one ring of zero padding, the
stride-2 example on the image's top-left 5x5 crop, and the 2x2 max pooling :data:`REPORT_POOLED`.
The course computes them from :data:`REPORT_IMAGE` and :data:`REPORT_KERNEL`; the printed results
are kept here only to check against.
"""

from __future__ import annotations

import numpy as np

__all__ = ["REPORT_FEATURE_MAP", "REPORT_IMAGE", "REPORT_KERNEL", "REPORT_POOLED", "REPORT_SAME_TOP_LEFT",
           "REPORT_STRIDE_CROP"]


def _frozen(rows) -> np.ndarray:
    array = np.array(rows, dtype=np.int64)
    array.flags.writeable = False
    return array


#: The report's 6x6 input image (section 3.1), pixel values 0..255.
REPORT_IMAGE = _frozen([
    [18, 54, 51, 239, 244, 188],
    [55, 121, 75, 78, 95, 88],
    [35, 24, 204, 113, 109, 221],
    [3, 154, 104, 235, 25, 130],
    [15, 253, 225, 159, 78, 233],
    [68, 85, 180, 214, 245, 0],
])

#: The report's 3x3 weight: ones on the corners and the centre (an "X").
REPORT_KERNEL = _frozen([[1, 0, 1], [0, 1, 0], [1, 0, 1]])

#: The report's stride example (section 3.2): the image's top-left 5x5 crop, where a 3x3 weight at
#: stride 2 tiles exactly ((5 - 3) / 2 + 1 = 2), which it does not on the whole 6x6 image.
REPORT_STRIDE_CROP = REPORT_IMAGE[:5, :5]

#: The report's printed 4x4 convolved output (section 3.5), before pooling.
REPORT_FEATURE_MAP = _frozen([[429, 505, 686, 856], [261, 792, 412, 640], [633, 653, 851, 751],
                              [608, 913, 713, 657]])

#: The report's printed top-left value with one ring of zero padding ("same padding", section 3.2).
REPORT_SAME_TOP_LEFT = 139

#: The report's printed 2x2 max pooling (stride 2) of the 4x4 output (section 3.5).
REPORT_POOLED = _frozen([[792, 856], [913, 851]])
