"""Preprocessing helpers and the configure() call."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest

import mnistlab
from mnistlab.data import load_mnist
from mnistlab.preprocess import (
    MNIST_CENTRE,
    add_channel,
    centre_of_mass,
    one_hot,
    recentred,
    scale,
    stratified_split,
    stratified_subset,
)


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


def test_default_threads_come_from_the_environment_else_every_core(monkeypatch):
    import os

    from mnistlab import runtime

    monkeypatch.delenv(runtime.THREADS_ENV, raising=False)
    assert runtime.default_threads() == (os.cpu_count() or 1)
    monkeypatch.setenv(runtime.THREADS_ENV, " 1 ")
    assert runtime.default_threads() == 1
    for bad in ("0", "two", "-1", "1.5", "²"):
        monkeypatch.setenv(runtime.THREADS_ENV, bad)
        with pytest.raises(ValueError, match=rf"\$MNISTLAB_THREADS: expected a whole number of threads from 1 up, "
                                             rf"got '{re.escape(bad)}'"):
            runtime.default_threads()
        with pytest.raises(ValueError, match="MNISTLAB_THREADS"):
            mnistlab.configure(plots=False)  # it raises before it changes anything


def test_configure_tensorflow_is_quiet_and_repeatable():
    """In a fresh process, as a notebook does: nothing on stderr, the same random numbers twice."""
    import subprocess
    import sys

    code = ("import mnistlab; mnistlab.configure(seed=3, threads=1, tensorflow=True)\n"
            "import tensorflow as tf, keras\n"
            "m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])\n"
            "m.compile('adam', 'mse'); m.fit(tf.ones((8, 4)), tf.ones((8, 2)), verbose=0)\n"
            "print(tf.random.uniform((3,)).numpy().tolist(), m.predict(tf.ones((1, 4)), verbose=0).tolist(),\n"
            "      tf.config.threading.get_intra_op_parallelism_threads())")
    processes = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for _ in range(2)]  # side by side: each uses one thread
    outputs = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
        assert stderr == "", f"stderr noise: {stderr[:300]!r}"
        outputs.append(stdout)
    assert outputs[0] == outputs[1]
    assert outputs[0].strip().endswith(" 1")


@pytest.mark.parametrize(("enabled", "env", "hidden"), [(True, None, None), (False, None, True), (True, "1", True),
                                                        (True, "0", None), (True, "false", None)])
def test_progress_bar_obeys_enabled_and_tqdm_disable(monkeypatch, enabled, env, hidden):
    """TQDM_DISABLE hides our bars in notebooks too, where tqdm's notebook bar itself ignores it."""
    from unittest import mock

    if env is None:
        monkeypatch.delenv("TQDM_DISABLE", raising=False)
    else:
        monkeypatch.setenv("TQDM_DISABLE", env)
    with mock.patch("tqdm.auto.tqdm") as tqdm:
        mnistlab.runtime.progress_bar(range(3), enabled=enabled, unit="x")
    tqdm.assert_called_once_with(range(3), disable=hidden, unit="x")


def test_configure_threads_caps_numpys_blas_in_the_running_process():
    """After NumPy is loaded, environment variables do nothing; configure() must still cap its BLAS.

    Measured: with one thread, a large matrix product keeps about one core busy (CPU time / wall time).
    """
    import subprocess
    import sys

    code = ("import time, numpy as np\n"
            "from threadpoolctl import threadpool_info\n"
            "a = np.random.default_rng(0).random((1200, 1200))\n"
            "a @ a  # NumPy's BLAS is loaded and running before configure()\n"
            "import mnistlab\n"
            "mnistlab.configure(threads=1, plots=False)\n"
            "counts = sorted({pool['num_threads'] for pool in threadpool_info()})\n"
            "wall, cpu = time.perf_counter(), time.process_time()\n"
            "for _ in range(8): a @ a\n"
            "print(counts, (time.process_time() - cpu) / (time.perf_counter() - wall))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    counts, busy = out.rsplit(" ", 1)
    assert counts == "[1]"
    # About one core; two threads keep about two busy on a 2-core machine. The margin covers the
    # interpreter's own threads and a noisy neighbour (1.31 was seen once on a one-thread run).
    assert float(busy) < 1.6
    assert mnistlab.configure(threads=1, plots=False).threads == 1
    mnistlab.configure(plots=False)  # back to every core for the tests that follow


def test_mnist_s_digits_have_their_centre_of_mass_where_mnist_centre_says():
    (x_train, _), (x_test, _) = load_mnist()
    rows, cols = centre_of_mass(x_train)
    assert abs(rows.mean() - MNIST_CENTRE[0]) < 0.05 and abs(cols.mean() - MNIST_CENTRE[1]) < 0.05
    assert rows.std() < 0.5 and cols.std() < 0.5
    # MNIST's own digits are already there: recentring leaves every test digit as it is
    np.testing.assert_array_equal(recentred(x_test), x_test)


def test_recentred_is_scipys_centre_of_mass_and_whole_pixel_shift_for_many_shapes():
    """Against SciPy's centre of mass and shift (order 0), image by image, over random sizes, centres and inks."""
    from scipy import ndimage

    rng = np.random.default_rng(7)
    for trial in range(40):
        n, height, width = rng.integers(1, 6), *rng.integers(4, 36, size=2)
        images = rng.random((n, height, width)) * (rng.random((n, height, width)) < rng.uniform(0.05, 1))
        images[0] = 0.0 if trial % 5 == 0 else images[0]  # a blank image stays blank
        centre = (rng.uniform(0, height - 1), rng.uniform(0, width - 1))
        got = recentred(images, centre)
        for image, moved in zip(images, got, strict=True):
            if not image.any():
                np.testing.assert_array_equal(moved, image)
                continue
            cy, cx = ndimage.center_of_mass(image)
            move = (np.rint(centre[0] - cy), np.rint(centre[1] - cx))
            np.testing.assert_array_equal(moved, ndimage.shift(image, move, order=0, mode="constant"))


def test_recentred_undoes_a_shift_that_cuts_no_ink_and_keeps_shape_and_dtype():
    from mnistlab.transforms import shift

    _, (x_test, _) = load_mnist()
    digits = x_test[:500]
    rows, cols = digits.any(axis=2), digits.any(axis=1)  # (N, 28): which rows and columns hold ink
    margin = np.minimum.reduce([rows.argmax(1), cols.argmax(1), rows[:, ::-1].argmax(1), cols[:, ::-1].argmax(1)])
    roomy = digits[margin >= 3]
    assert len(roomy) > 100
    for dx, dy in ((3, 3), (-3, 2), (0, -3)):
        np.testing.assert_array_equal(recentred(shift(roomy, dx, dy)), roomy)
    as_floats = scale(roomy)[..., None]
    out = recentred(shift(as_floats, 2, -1))
    assert out.shape == as_floats.shape and out.dtype == np.float32
    np.testing.assert_array_equal(out, as_floats)
    with pytest.raises(ValueError, match=r"images: expected shape \(N, H, W\) or \(N, H, W, 1\)"):
        recentred(roomy[0])
