"""Why the test digits stay untouched: choosing the best of several tries on the digits you report on overstates
its accuracy; choosing on validation digits, then scoring the choice once on the test digits, does not.

:func:`knn_tries` makes many cheap tries (k-nearest-neighbour classifiers, each on its own random sample of training
digits) and records which held-out digits each gets right; :func:`selection_bias` then repeats the choice on many
random draws of a small validation and test set and measures, for each way of choosing, how far the accuracy it
reports lies above the winner's accuracy on digits that played no part in the choice. Importing this module
imports no TensorFlow.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["knn_tries", "selection_bias"]


def knn_tries(x_train: np.ndarray, y_train: np.ndarray, held_out: Sequence[tuple[np.ndarray, np.ndarray]], *,
              tries: int = 20, train_size: int = 1000, ks: Sequence[int] = (1, 3, 5, 7), seed: int = 0
              ) -> list[np.ndarray]:
    """Which held-out digits each of ``tries`` classifiers gets right: one (tries, N) boolean array per held-out set.

    Try ``i`` is a k-nearest-neighbour classifier (``k = ks[i % len(ks)]``) on its own random ``train_size``
    training digits (drawn with ``seed``): tries that are all about as good, like the runs of an experiment
    table. ``x_train`` is (N, 28, 28) or (N, 784) uint8 pixels; each held-out set is a pair ``(images, labels)``.
    """
    from sklearn.neighbors import KNeighborsClassifier

    from mnistlab.preprocess import scale

    if tries < 1 or train_size < max(ks):
        raise ValueError(f"tries: expected at least 1 (got {tries}); train_size: at least max(ks) = {max(ks)} "
                         f"(got {train_size})")
    rng = np.random.default_rng(seed)
    flat = scale(x_train).reshape(len(x_train), -1)
    sets = [(scale(x).reshape(len(x), -1), np.asarray(y)) for x, y in held_out]
    right = [np.zeros((tries, len(y)), dtype=bool) for _, y in sets]
    for i in range(tries):
        rows = rng.choice(len(flat), size=train_size, replace=False)
        model = KNeighborsClassifier(n_neighbors=ks[i % len(ks)], algorithm="brute").fit(flat[rows], y_train[rows])
        for out, (x, y) in zip(right, sets, strict=True):
            out[i] = model.predict(x) == y
    return right


def selection_bias(validation_right: np.ndarray, test_right: np.ndarray, *, tries: Sequence[int] = (1, 5, 20),
                   digits: int = 500, repeats: int = 500, seed: int = 0) -> pd.DataFrame:
    """How far the accuracy reported for the best of several tries lies above its accuracy on digits not yet seen.

    ``validation_right`` and ``test_right`` are (tries, N) booleans from :func:`knn_tries`. Each repeat draws
    ``digits`` validation digits and ``digits`` test digits at random; the remaining test digits stand for
    the digits not yet seen. For each number of tries in ``tries`` (the first ones of the arrays) it picks a
    winner two ways: **on the test digits** (the best test accuracy, which it then reports) and **on the
    validation digits** (the best validation accuracy, then its test accuracy reported once). The table gives,
    for each way, the mean reported accuracy, the mean accuracy of the winner on the unseen digits and the mean
    overstatement (reported minus unseen), in percentage points, over ``repeats`` draws.
    """
    validation_right, test_right = np.asarray(validation_right, bool), np.asarray(test_right, bool)
    available = min(len(validation_right), len(test_right))
    if any(n < 1 or n > available for n in tries):
        raise ValueError(f"tries: expected numbers from 1 to {available} (the tries made); got {list(tries)}")
    if not (0 < digits < test_right.shape[1] and digits <= validation_right.shape[1]):
        raise ValueError(f"digits: expected from 1 to {validation_right.shape[1]} and fewer than the "
                         f"{test_right.shape[1]} test digits; got {digits}")
    rng = np.random.default_rng(seed)
    rows = []
    sums = {}
    for _ in range(repeats):
        val_rows = rng.choice(validation_right.shape[1], size=digits, replace=False)
        order = rng.permutation(test_right.shape[1])
        test_rows, unseen_rows = order[:digits], order[digits:]
        val_acc = validation_right[:, val_rows].mean(axis=1)
        test_acc = test_right[:, test_rows].mean(axis=1)
        unseen_acc = test_right[:, unseen_rows].mean(axis=1)
        for n in tries:
            for way, winner in (("on the test digits", int(np.argmax(test_acc[:n]))),
                                ("on validation digits", int(np.argmax(val_acc[:n])))):
                total = sums.setdefault((n, way), np.zeros(2))
                total += test_acc[winner], unseen_acc[winner]
    for (n, way), (reported, unseen) in sums.items():
        reported, unseen = 100 * reported / repeats, 100 * unseen / repeats
        rows.append({"tries": n, "chosen": way, "reported %": round(reported, 2),
                     "on unseen digits %": round(unseen, 2),
                     "overstated by (points)": round(reported - unseen, 2)})
    return pd.DataFrame(rows).set_index(["tries", "chosen"])
