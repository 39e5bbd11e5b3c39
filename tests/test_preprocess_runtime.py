"""Preprocessing helpers and the configure() call."""

from __future__ import annotations

import random

import numpy as np
import pytest

import mnistlab
from mnistlab.preprocess import add_channel, one_hot, scale, stratified_split, stratified_subset


def test_scale_and_channel():
    x = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)
    scaled = scale(x)
    assert scaled.dtype == np.float32 and scaled.max() == 1.0 and scaled[0, 1, 0] == pytest.approx(0.2)
    assert add_channel(scaled).shape == (1, 2, 2, 1)
    with pytest.raises(ValueError, match="images: expected uint8"):
        scale(scaled)
    with pytest.raises(ValueError, match=r"expected shape \(N, H, W\)"):
        add_channel(scaled[0])


def test_one_hot():
    out = one_hot(np.array([0, 3, 9]))
    assert out.shape == (3, 10) and out.dtype == np.float32
    assert out.argmax(axis=1).tolist() == [0, 3, 9] and out.sum() == 3
    with pytest.raises(ValueError, match=r"labels: expected values in 0\.\.9, got 0\.\.10"):
        one_hot(np.array([0, 10]))


def test_stratified_split_is_seeded_and_balanced():
    y = np.repeat(np.arange(10), 100)
    x = np.arange(1000)
    (xa, ya), (xv, yv) = stratified_split(x, y, 0.2, seed=1)
    (xb, _), _ = stratified_split(x, y, 0.2, seed=1)
    assert np.array_equal(xa, xb)
    assert np.bincount(yv).tolist() == [20] * 10 and len(xa) == 800
    xs, ys = stratified_subset(x, y, 100, seed=3)
    assert np.bincount(ys).tolist() == [10] * 10
    assert stratified_subset(x, y, 5000)[0] is x


def test_configure_seeds_everything():
    mnistlab.configure(seed=7, plots=False)
    a = (random.random(), np.random.rand())
    mnistlab.configure(seed=7, plots=False)
    assert (random.random(), np.random.rand()) == a


def test_configure_rejects_bad_arguments():
    with pytest.raises(ValueError, match="seed: expected a non-negative int"):
        mnistlab.configure(seed=-1)
    with pytest.raises(ValueError, match="threads: expected at least 1"):
        mnistlab.configure(threads=0)
