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


def noisy_digits(rng: np.random.Generator, prototypes: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` uint8 "digits": a random class's prototype under heavy noise, so k-NN is right about half the time."""
    labels = rng.integers(0, len(prototypes), n)
    images = prototypes[labels] + rng.normal(0, 90, (n, 28, 28))
    return np.clip(np.rint(images), 0, 255).astype(np.uint8), labels


@pytest.mark.parametrize(("seed", "train_size", "ks"), [(0, 60, (1,)), (5, 90, (1, 3)), (11, 150, (1, 3, 5, 7))])
def test_knn_tries_marks_each_held_out_digit_as_scikit_learn_does(seed, train_size, ks):
    """Each try against scikit-learn's KNeighborsClassifier fitted on the same seeded rows of the pool (drawn as
    knn_tries documents: one ``rng.choice`` without replacement per try, from ``default_rng(seed)``), with the try's
    k, predicting digits outside the pool; the tries must differ, and be neither all right nor all wrong."""
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(100 + seed)
    prototypes = rng.uniform(40, 215, (28, 28)) + rng.normal(0, 20, (10, 28, 28))  # ten classes, close together
    x, y = noisy_digits(rng, prototypes, 300)
    held_out = [noisy_digits(rng, prototypes, 40), noisy_digits(rng, prototypes, 30)]
    tries = 2 * len(ks)
    right = knn_tries(x, y, held_out, tries=tries, train_size=train_size, ks=ks, seed=seed)
    assert [r.shape for r in right] == [(tries, 40), (tries, 30)] and all(r.dtype == bool for r in right)
    draws = np.random.default_rng(seed)
    flat = x.reshape(len(x), -1).astype(np.float32) / 255
    for i in range(tries):
        rows = draws.choice(len(x), size=train_size, replace=False)
        reference = KNeighborsClassifier(n_neighbors=ks[i % len(ks)]).fit(flat[rows], y[rows])
        for got, (images, labels) in zip(right, held_out, strict=True):
            expected = reference.predict(images.reshape(len(images), -1).astype(np.float32) / 255) == labels
            np.testing.assert_array_equal(got[i], expected, err_msg=f"try {i}")
    everything = np.concatenate(right, axis=1)
    assert 0.3 < everything.mean() < 0.8  # held out: not right by construction
    assert len({row.tobytes() for row in everything}) > 1  # each try on its own rows


def test_knn_tries_names_a_train_size_below_k():
    x = np.zeros((10, 28, 28), np.uint8)
    y = np.arange(10)
    with pytest.raises(ValueError, match="train_size"):
        knn_tries(x, y, [(x, y)], train_size=2, ks=(3,))
