"""The exercises of notebooks 00-02 as a learner meets them: no answer on the screen before its question, the
notebook's and the package's convolutions refused, hints in steps, the debugging exercises' given code a
catalogued mistake, and the slips a learner really types recognised."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

from mnistlab import exercises, ops

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
MINE = {key: ex for key, ex in exercises.all_exercises().items() if key[:2] in {"00", "01", "02"}}


pytestmark = pytest.mark.usefixtures("own_folders")


def test_four_or_more_exercises_each_with_two_or_three_hint_steps():
    for number in ("00", "01", "02"):
        assert len([key for key in MINE if key.startswith(number)]) >= 4, number
    for key, ex in MINE.items():
        assert 2 <= len(ex.hints) <= 3, key


def conv2d_loop(image, kernel):  # the loop notebook 01 defines, under its name
    kh, kw = kernel.shape
    out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = (image[i:i + kh, j:j + kw] * kernel).sum()
    return out


def test_the_notebooks_loop_and_the_packages_convolutions_are_refused():
    refused = "which computes the answer already: write it yourself"
    assert refused in exercises.exercise("01.2").feedback(conv2d_loop).message  # answer = conv2d_loop

    def calls_the_loop(image, kernel):
        return conv2d_loop(image, kernel)

    def calls_ops(image, kernel):
        return ops.conv2d(image, kernel)

    def calls_ops_padded(image, kernel, stride, padding):
        return ops.conv2d(image, kernel, stride=stride, padding=padding)

    for key, cheats in [("01.2", (calls_the_loop, calls_ops)), ("01.3", (calls_the_loop, calls_ops)),
                        ("02.3", (calls_ops,))]:
        for cheat in cheats:
            result = exercises.exercise(key).feedback(cheat)
            assert not result.correct and refused in result.message, (key, cheat.__name__)
    assert refused in exercises.exercise("01.5").feedback(lambda image, kernels: ops.conv2d(image, kernels)).message
    assert refused in exercises.exercise("02.4").feedback(calls_ops_padded).message

    def builds_on_the_loop(image, kernels):  # 01.5 may sum the notebook's 2-D loop over the channels
        return np.stack([sum(conv2d_loop(image[:, :, c], kernels[:, :, c, k]) for c in range(image.shape[2]))
                         for k in range(kernels.shape[3])], axis=-1)

    assert exercises.exercise("01.5").feedback(builds_on_the_loop).correct


def given_code(key: str) -> str:
    """The buggy function a debugging exercise's question shows, in its code block."""
    return re.search(r"```python\n(.*?)\n```", exercises.exercise(key).question, re.S).group(1)


@pytest.mark.parametrize(("key", "mistake"), [("01.3", "still flipped"), ("02.3", "still one short")])
def test_the_given_buggy_function_is_a_catalogued_mistake_and_its_fix_passes(key, mistake):
    ex = exercises.exercise(key)
    namespace = {"np": np}
    exec(given_code(key), namespace)  # noqa: S102 - the code the question shows the learner
    name = ex.template.splitlines()[0][4:ex.template.index("(")]
    assert name in namespace, "the question's function has the name the exercise cell expects"
    result = ex.feedback(namespace[name])
    assert not result.correct and result.mistake == mistake
    solved = {"np": np}
    exec(ex.solution_code, solved)  # noqa: S102
    assert ex.feedback(solved["answer"]).correct


def test_the_slips_a_learner_types_are_named():
    def overwrites_channels(image, kernels):  # = where += was meant: only the last channel counts
        kh, kw, c, k = kernels.shape
        out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1, k))
        for i in range(out.shape[0]):
            for j in range(out.shape[1]):
                for f in range(k):
                    for ch in range(c):
                        out[i, j, f] = (image[i:i + kh, j:j + kw, ch] * kernels[:, :, ch, f]).sum()
        return out

    def reshapes_kernels(image, kernels):
        kh, kw, c, k = kernels.shape
        filters = kernels.reshape(k, kh, kw, c)
        out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1, k))
        for i in range(out.shape[0]):
            for j in range(out.shape[1]):
                for f in range(k):
                    out[i, j, f] = (image[i:i + kh, j:j + kw, :] * filters[f]).sum()
        return out

    multi = exercises.exercise("01.5")
    assert multi.feedback(overwrites_channels).mistake == "last channel only"
    assert multi.feedback(reshapes_kernels).mistake == "kernels reshaped, not transposed"

    def shape_fixed_loops_not(image, kernel):
        kh, kw = kernel.shape
        padded = np.pad(image, ((kh // 2, kh // 2), (kw // 2, kw // 2)))
        h, w = padded.shape
        out = np.zeros((h - kh + 1, w - kw + 1))
        for i in range(h - kh):
            for j in range(w - kw):
                out[i, j] = (padded[i:i + kh, j:j + kw] * kernel).sum()
        return out

    assert exercises.exercise("02.3").feedback(shape_fixed_loops_not).mistake == "last row and column zero"

    def rows_only_fixed(image, kernel):
        kh, kw = kernel.shape
        out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1))
        for i in range(out.shape[0]):
            for j in range(out.shape[1]):
                out[i, j] = sum(image[i + a, j + b] * kernel[a, kw - 1 - b] for a in range(kh) for b in range(kw))
        return out

    assert exercises.exercise("01.3").feedback(rows_only_fixed).mistake == "columns still flipped"
    assert exercises.exercise("02.2").feedback([1, 2]).correct
    assert exercises.exercise("02.2").feedback((2, 1)).mistake == "extra on the left"


def cells(name: str) -> list:
    return nbformat.read(NOTEBOOKS / name, as_version=4).cells


def exercise_cell(nb_cells: list, key: str) -> int:
    return next(i for i, c in enumerate(nb_cells) if c.cell_type == "code"
                and c.source.startswith(f"# EXERCISE {key}:"))


@pytest.mark.parametrize(("notebook", "key", "reveals"), [
    ("00_data.ipynb", "00.2", "right, by digit"),
    ("01_convolution.ipynb", "01.1", "feature_map = conv2d_loop(REPORT_IMAGE, REPORT_KERNEL)"),
    ("02_padding_stride.ipynb", "02.1", "stride=2"),
])
def test_a_prediction_is_asked_just_before_the_cells_that_show_it(notebook, key, reveals):
    nb_cells = cells(notebook)
    at = exercise_cell(nb_cells, key)
    assert nb_cells[at - 1].cell_type == "markdown" and f"Exercise {key} " in nb_cells[at - 1].source
    after = [c.source for c in nb_cells[at + 1:] if c.cell_type == "code"][:2]  # (01 defines its loop first)
    assert any(reveals in source for source in after), (key, after)
    shown_before = "".join(c.source for c in nb_cells[:at]) + "".join(
        str(out) for c in nb_cells[:at] if c.cell_type == "code" for out in c.get("outputs", []))
    answer = {"00.2": "5: 70%", "01.1": "412", "02.1": "(12, 12)"}[key]
    assert answer not in shown_before, key


@pytest.mark.parametrize(("notebook", "key", "never_shown"), [
    ("00_data.ipynb", "00.3", "41358"), ("00_data.ipynb", "00.4", "max(axis=0)"),
    ("02_padding_stride.ipynb", "02.2", "(1, 2)"),
])
def test_the_answers_the_notebook_never_prints(notebook, key, never_shown):
    nb_cells = cells(notebook)
    text = "".join(c.source for c in nb_cells) + "".join(
        str(out) for c in nb_cells if c.cell_type == "code" for out in c.get("outputs", []))
    assert exercise_cell(nb_cells, key)
    assert never_shown not in text.replace(exercises.exercise(key).cell(), "")
