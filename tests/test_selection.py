"""mnistlab.selection: choosing the best of several tries on the digits you report on overstates its accuracy."""

from __future__ import annotations

import numpy as np
import pytest

from mnistlab.selection import knn_tries, selection_bias


def equally_good(tries: int, digits: int, accuracy: float, seed: int) -> np.ndarray:
    """Tries that are all exactly as good: each digit right with the same probability, independently."""
    return np.random.default_rng(seed).random((tries, digits)) < accuracy


def test_choosing_on_the_test_digits_overstates_and_on_validation_digits_does_not():
    validation, test = equally_good(20, 4000, 0.9, 1), equally_good(20, 4000, 0.9, 2)
    table = selection_bias(validation, test, tries=(1, 20), digits=300, repeats=300, seed=0)
    over = table["overstated by (points)"].unstack()
    assert abs(over.loc[1, "on the test digits"]) < 0.3 and abs(over.loc[1, "on validation digits"]) < 0.3
    assert over.loc[20, "on the test digits"] > 1.5  # the best of 20 noisy draws of 300 digits
    assert abs(over.loc[20, "on validation digits"]) < 0.3
    assert list(table.columns) == ["reported %", "on unseen digits %", "overstated by (points)"]


def test_a_really_better_try_is_found_either_way():
    validation, test = equally_good(5, 3000, 0.8, 3), equally_good(5, 3000, 0.8, 4)
    validation[2], test[2] = equally_good(1, 3000, 0.95, 5), equally_good(1, 3000, 0.95, 6)
    table = selection_bias(validation, test, tries=(5,), digits=500, repeats=50)
    assert (table["on unseen digits %"] > 94).all()


@pytest.mark.parametrize("kwargs, match", [({"tries": (0,)}, "tries"), ({"tries": (21,)}, "tries"),
                                           ({"digits": 4000}, "digits"), ({"digits": 0}, "digits")])
def test_bad_arguments_are_named(kwargs, match):
    right = equally_good(20, 4000, 0.9, 0)
    with pytest.raises(ValueError, match=match):
        selection_bias(right, right, **kwargs)


def test_knn_tries_marks_each_held_out_digit():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (300, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, 300)
    val, test = knn_tries(x, y, [(x[:40], y[:40]), (x[40:70], y[40:70])], tries=4, train_size=300, ks=(1,))
    assert val.shape == (4, 40) and test.shape == (4, 30) and val.dtype == bool
    assert val.all() and test.all()  # 1-NN on its own training digits (all 300 drawn) is always right
    with pytest.raises(ValueError, match="train_size"):
        knn_tries(x, y, [(x, y)], train_size=2, ks=(3,))
