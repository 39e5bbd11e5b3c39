"""Transformed test digits: whole-pixel shifts, rotations, and accuracy under them."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mnistlab import robustness


def dot(row: int, col: int, dtype=np.uint8) -> np.ndarray:
    image = np.zeros((1, 28, 28), dtype)
    image[0, row, col] = 200
    return image


@given(st.integers(0, 27), st.integers(0, 27), st.integers(-27, 27), st.integers(-27, 27))
def test_shift_moves_every_pixel_by_dx_dy_and_lets_zeros_in(row, col, dx, dy):
    moved = robustness.shift(dot(row, col), dx, dy)
    inside = 0 <= row + dy < 28 and 0 <= col + dx < 28
    expected = dot(row + dy, col + dx) if inside else np.zeros((1, 28, 28), np.uint8)
    np.testing.assert_array_equal(moved, expected)


def test_shift_keeps_channels_and_dtype_and_names_bad_arguments():
    images = np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32)
    moved = robustness.shift(images, 4, 4)
    assert moved.shape == images.shape and moved.dtype == np.float32
    np.testing.assert_array_equal(moved[:, 4:, 4:], images[:, :-4, :-4])
    assert not moved[:, :4].any() and not moved[:, :, :4].any()
    with pytest.raises(ValueError, match="dx: expected a whole number of pixels from -27 to 27, got 1.5"):
        robustness.shift(images, 1.5, 0)
    with pytest.raises(ValueError, match="dy: expected a whole number of pixels from -27 to 27, got 28"):
        robustness.shift(images, 0, 28)
    with pytest.raises(ValueError, match=r"images: expected \(N, 28, 28\) or \(N, 28, 28, 1\) digits, got shape"):
        robustness.shift(np.zeros((28, 28)), 1, 1)


def test_rotate_turns_counter_clockwise_about_the_centre():
    above = np.zeros((1, 28, 28), np.float32)
    above[0, 4, 13:15] = 1.0  # a mark above the centre (13.5, 13.5)
    left = robustness.rotate(above, 90)
    assert {tuple(p) for p in np.argwhere(left[0] > 0.5)} == {(13, 4), (14, 4)}
    right = robustness.rotate(above, -90)
    assert {tuple(p) for p in np.argwhere(right[0] > 0.5)} == {(13, 23), (14, 23)}
    np.testing.assert_allclose(robustness.rotate(above, 0), above)
    np.testing.assert_allclose(robustness.rotate(above, 360), above, atol=1e-5)


def test_rotate_keeps_uint8_digits_in_range():
    digits = np.random.default_rng(1).integers(0, 256, (2, 28, 28), dtype=np.uint8)
    turned = robustness.rotate(digits, 20)
    assert turned.dtype == np.uint8 and turned.shape == digits.shape and turned.max() <= 255


def test_accuracy_under_scores_the_transformed_digits():
    images = np.stack([dot(5, 5)[0], dot(20, 20)[0]])

    def predict(x):  # "1" when the top-left quarter has ink, else "0"
        top_left = x[:, :14, :14].reshape(len(x), -1).any(axis=1)
        return np.stack([~top_left, top_left], axis=1).astype(float)

    labels = np.array([1, 0])
    assert robustness.accuracy_under(predict, images, labels) == 1.0
    assert robustness.accuracy_under(predict, images, labels, lambda x: robustness.shift(x, 10, 10)) == 0.5
    with pytest.raises(ValueError, match="labels: expected 2 labels, got shape"):
        robustness.accuracy_under(predict, images, np.array([1]))
