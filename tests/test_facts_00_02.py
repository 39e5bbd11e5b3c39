"""Facts notebooks 00-02 state in their text that no checked output of theirs shows."""

from __future__ import annotations

import numpy as np

from mnistlab.data import load_mnist


def test_the_intensity_histogram_peaks_at_zero_and_at_252_to_255():
    """00: "two peaks: the zeros of the background and the 252-255 of solid ink"."""
    (x_train, _), _ = load_mnist()
    counts = np.bincount(x_train.ravel(), minlength=256)
    assert counts.argmax() == 0
    assert set(np.argsort(counts[1:])[::-1][:4] + 1) == {252, 253, 254, 255}


def test_the_printed_patch_starts_at_the_first_digits_top_stroke():
    """00: the 8x8 patch of rows 5-12 and columns 5-12 is "where its top stroke begins"."""
    (x_train, _), _ = load_mnist()
    rows = np.nonzero(x_train[0].any(axis=1))[0]
    assert rows[0] == 5 and x_train[0][5, 5:13].any()
