"""The explorers, driven as a learner would (set a control), asserting on what they show."""

from __future__ import annotations

import numpy as np
import pytest

from mnistlab import ops, transforms
from mnistlab.data import load_mnist
from mnistlab.kernels import PRESETS, make_kernel
from mnistlab.render import to_png, to_rgb
from mnistlab.widgets import ConvolutionExplorer, PaddingStrideExplorer, PoolingExplorer, shape_message


@pytest.fixture(scope="module")
def digits():
    (x, y), _ = load_mnist()
    return x[:20], y[:20]


def scaled(x):
    return x.astype(np.float32) / 255


def test_convolution_explorer_default_view(digits):
    x, y = digits
    ex = ConvolutionExplorer(x, y)
    np.testing.assert_array_equal(ex.kernel, PRESETS["sobel x"])
    np.testing.assert_allclose(ex.output, ops.conv2d(scaled(x[0]), PRESETS["sobel x"]), rtol=1e-6)
    assert "output 26x26" in ex.status.value and "label 5" in ex.input_title.value
    assert bytes(ex.output_image.value).startswith(b"\x89PNG")


def test_convolution_explorer_names_colours_only_when_it_draws_them(digits):
    x, y = digits
    ex = ConvolutionExplorer(x, y)  # sobel x: negative values, drawn blue and red
    assert ex.output.min() < 0 and "blue &lt; 0 &lt; red" in ex.status.value
    ex.preset.value = "blur"  # no negative value: drawn in grey, so no colour legend
    assert ex.output.min() >= 0 and "blue" not in ex.status.value


def test_convolution_explorer_preset_digit_and_cells(digits):
    x, y = digits
    ex = ConvolutionExplorer(x, y)
    before = ex.output_image.value
    ex.preset.value = "blur"
    np.testing.assert_allclose(ex.kernel, PRESETS["blur"])
    np.testing.assert_allclose(ex.output, ops.conv2d(scaled(x[0]), PRESETS["blur"]), rtol=1e-6)
    assert ex.output_image.value != before
    ex.digit.value = 3
    assert "digit #3 (label 1)" in ex.input_title.value
    np.testing.assert_allclose(ex.output, ops.conv2d(scaled(x[3]), PRESETS["blur"]), rtol=1e-6)
    ex.cells[1][1].value = 5.0  # edit one cell: the preset becomes "custom", the output follows
    assert ex.preset.value == "custom"
    expected = PRESETS["blur"].copy()
    expected[1, 1] = 5.0
    np.testing.assert_allclose(ex.output, ops.conv2d(scaled(x[3]), expected), rtol=1e-6)
    ex.preset.value = "identity"
    np.testing.assert_allclose(ex.output, scaled(x[3])[1:-1, 1:-1])


def test_convolution_explorer_rejects_unknown_preset(digits):
    with pytest.raises(ValueError, match="preset: expected one of"):
        ConvolutionExplorer(digits[0], preset="emboss")


def test_padding_stride_explorer_shapes(digits):
    x, _ = digits
    ex = PaddingStrideExplorer(x)
    assert ex.output.shape == (26, 26) and "valid" in ex.status.value
    ex.padding.value = 1
    assert ex.output.shape == (28, 28) and "same" in ex.status.value and "padded input 30x30" in ex.input_title.value
    ex.stride.value = 2  # (28 - 3 + 2) / 2 + 1 = 14.5: frameworks keep 14
    assert ex.output.shape == (14, 14) and not ex.tiles and "output 14x14" in ex.output_title.value
    ex.padding.value = 0  # (28 - 3) / 2 + 1 = 13.5
    ex.size.value = 4  # (28 - 4) / 2 + 1 = 13: tiles
    assert ex.output.shape == (13, 13) and ex.tiles
    np.testing.assert_allclose(ex.output, ops.conv2d(scaled(x[0]), make_kernel("vertical edges", 4), stride=2),
                               rtol=1e-6)


def test_padding_is_tied_to_kernel_size(digits):
    ex = PaddingStrideExplorer(digits[0], size=5, padding=4)
    assert ex.padding.value == 4 and ex.padding.max == 4
    ex.size.value = 2
    assert ex.padding.max == 1 and ex.padding.value == 1
    assert ex.output.shape == (29, 29)


def test_a_configuration_that_does_not_tile_is_marked_in_place(digits):
    ex = PaddingStrideExplorer(digits[0])
    ex.stride.value = 4  # (28 - 3) / 4 + 1 = 7.25
    assert not ex.tiles
    assert "does not tile" in ex.status.value and "7.25" in ex.status.value and "&#9888;" in ex.status.value
    assert ex.output.shape == (7, 7)  # what frameworks give: the last partial window dropped
    ex.stride.value = 1
    assert ex.tiles and "&#9888;" not in ex.status.value


def test_kernel_kind_changes_the_output(digits):
    ex = PaddingStrideExplorer(digits[0])
    before = ex.output.copy()
    ex.kind.value = "blur"
    assert not np.allclose(before, ex.output)
    np.testing.assert_allclose(ex.output, ops.conv2d(scaled(digits[0][0]), np.full((3, 3), 1 / 9)), rtol=1e-6)


def test_a_one_pixel_edge_kernel_says_why_its_output_is_zero(digits):
    ex = PaddingStrideExplorer(digits[0])
    assert "all zeros" not in ex.status.value
    ex.size.value = 1
    assert not ex.output.any() and "a 1x1 edge kernel is all zeros" in ex.status.value
    ex.kind.value = "blur"  # a 1x1 mean is the identity: nothing to explain
    assert ex.output.any() and "all zeros" not in ex.status.value


def test_pooling_explorer(digits):
    x, _ = digits
    ex = PoolingExplorer(x)
    assert ex.output.shape == (14, 14) and "keeps 25%" in ex.status.value
    np.testing.assert_allclose(ex.output, ops.pool2d(scaled(x[0]), 2))
    ex.mode.value = "avg"
    np.testing.assert_allclose(ex.output, ops.pool2d(scaled(x[0]), 2, mode="avg"))
    ex.size.value = 3
    ex.stride.value = 3  # (28 - 3) / 3 + 1 = 9.33
    assert ex.output.shape == (9, 9) and not ex.tiles and "does not tile" in ex.status.value
    ex.source.value = "feature map: horizontal edges"
    feature = ops.relu(ops.conv2d(scaled(x[0]), PRESETS["horizontal edges"], padding="same"))
    np.testing.assert_allclose(ex.output, ops.pool2d(feature, 3, 3, "avg"), rtol=1e-6)
    ex.mode.value = "l2"
    np.testing.assert_allclose(ex.output, ops.pool2d(feature, 3, 3, "l2"), rtol=1e-6)


def test_shape_message():
    assert shape_message(6, 6, 3, 0, 1) == ("output 4x4. each side: (6 - 3 + 2*0) / 1 + 1 = 4", True)
    assert shape_message(6, 8, 3, 0, 1) == ("output 4x6. height: (6 - 3 + 2*0) / 1 + 1 = 4; "
                                             "width: (8 - 3 + 2*0) / 1 + 1 = 6", True)
    text, tiles = shape_message(28, 28, 3, 0, 2)
    assert not tiles and text.startswith("does not tile: frameworks give 13x13") and "13.5" in text
    assert shape_message(3, 3, 5, 0, 1)[1] is False


def test_render_signed_arrays_use_a_diverging_map():
    rgb = to_rgb(np.array([[-1.0, 0.0, 1.0]]))
    assert tuple(rgb[0, 1]) == (247, 247, 247) or rgb[0, 1].min() > 240  # 0 is (nearly) white
    assert rgb[0, 0, 2] > rgb[0, 0, 0] and rgb[0, 2, 0] > rgb[0, 2, 2]  # blue below, red above
    png = to_png(np.zeros((28, 28)), size=196)
    from io import BytesIO

    from PIL import Image

    assert Image.open(BytesIO(png)).size == (196, 196)


def test_make_kernel():
    assert make_kernel("vertical edges", 3).tolist() == [[-1, 0, 1]] * 3
    assert make_kernel("horizontal edges", 2).tolist() == [[-1, -1], [1, 1]]
    assert make_kernel("blur", 4).sum() == pytest.approx(1)
    with pytest.raises(ValueError, match="kind: expected"):
        make_kernel("emboss", 3)


@pytest.mark.parametrize(("cls", "kind"), [(ConvolutionExplorer, "convolution"),
                                           (PaddingStrideExplorer, "padding-stride"), (PoolingExplorer, "pooling")])
def test_explorers_name_their_parts_for_the_page(digits, cls, kind):
    """CSS classes that styles and the browser tests (tests/e2e) find the parts by."""
    ex = cls(*digits)
    assert {"mnistlab-explorer", f"mnistlab-{kind}"} <= set(ex.widget._dom_classes)
    assert "mnistlab-output" in ex.output_image._dom_classes and "mnistlab-input" in ex.input_image._dom_classes
    assert "mnistlab-output-title" in ex.output_title._dom_classes
    assert "mnistlab-status" in ex.status._dom_classes


# --- click an output pixel: the sum behind it ------------------------------------------------------

def test_clicking_the_reports_top_left_output_shows_429_as_its_five_terms():
    from mnistlab.examples import REPORT_IMAGE, REPORT_KERNEL

    ex = ConvolutionExplorer(REPORT_IMAGE[np.newaxis], preset="report X", scale=False)
    assert "click an output pixel" in ex.sum_panel.value and ex.selected is None
    factor = 196 // 4  # the 4x4 output is drawn 49 pixels a cell
    ex._events[0]._dom_handlers({"type": "click", "dataX": 10, "dataY": 30})  # inside cell (0, 0)
    terms = ex.selected
    assert (terms.row, terms.col, terms.total) == (0, 0, 429)
    assert terms.terms() == "18 + 51 + 121 + 35 + 204 = 429"
    np.testing.assert_array_equal(terms.window, REPORT_IMAGE[:3, :3])
    np.testing.assert_array_equal(terms.products, REPORT_IMAGE[:3, :3] * REPORT_KERNEL)
    assert "18 + 51 + 121 + 35 + 204 = 429" in ex.sum_panel.value and "output[0, 0]" in ex.sum_panel.value
    window = np.zeros((6, 6), bool)
    window[:3, :3] = True  # marked in orange
    assert ex.input_image.value == to_png(REPORT_IMAGE, size=196, vmin=0, vmax=float(REPORT_IMAGE.max()),
                                          mark=window)
    ex._events[0]._dom_handlers({"type": "click", "dataX": 3 * factor + 5, "dataY": 2 * factor + 1})
    assert (ex.selected.row, ex.selected.col, ex.selected.total) == (2, 3, 751)
    ex._events[0]._dom_handlers({"type": "click", "dataX": 4 * factor + 1, "dataY": 0})  # beside the image
    assert (ex.selected.row, ex.selected.col) == (2, 3)


def test_the_sum_behind_any_output_pixel_is_that_pixel(digits):
    x, y = digits
    ex = ConvolutionExplorer(x, y)
    rng = np.random.default_rng(0)
    for _ in range(30):
        ex.preset.value = str(rng.choice(list(PRESETS)))
        ex.digit.value = int(rng.integers(0, len(x)))
        row, col = (int(v) for v in rng.integers(0, 26, 2))
        terms = ex.select(row, col)
        assert terms.total == pytest.approx(ex.output[row, col], abs=1e-5)
        np.testing.assert_array_equal(terms.window, scaled(x[ex.digit.value])[row:row + 3, col:col + 3])
    ex.digit.value = 0  # the selection follows the learner's changes
    assert ex.selected.total == pytest.approx(ex.output[row, col], abs=1e-5)


def test_output_sum_with_padding_and_stride_and_bad_pixels():
    from mnistlab.widgets import output_sum

    image = np.arange(25).reshape(5, 5)
    kernel = np.ones((3, 3), int)
    out = ops.conv2d(image, kernel, stride=2, padding=1)
    for row in range(3):
        for col in range(3):
            assert output_sum(image, kernel, row, col, stride=2, padding=1).total == out[row, col]
    corner = output_sum(image, kernel, 0, 0, stride=2, padding=1)
    assert corner.window[0].tolist() == [0, 0, 0] and corner.terms() == "1 + 5 + 6 = 12"
    with pytest.raises(ValueError, match=r"row, col: expected an output pixel of the 3x3 output, got \(3, 0\)"):
        output_sum(image, kernel, 3, 0, stride=2, padding=1)


def test_padding_stride_explorer_shows_the_clicked_windows_in_the_padded_input(digits):
    x, y = digits
    ex = PaddingStrideExplorer(x, y, kind="vertical edges", size=3, padding=1, stride=2)
    assert ex.output.shape == (14, 14) and not ex.tiles
    last = ex.select(13, 13)  # the last window: it ends at column 28 of the 30 padded columns
    assert (last.top, last.left) == (26, 26) and last.total == pytest.approx(ex.output[13, 13], abs=1e-6)
    padded = ops.pad2d(scaled(x[0]), 1)
    inside = np.zeros((30, 30), bool)
    inside[1:29, 1:29] = True
    window = np.zeros((30, 30), bool)
    window[26:29, 26:29] = True  # the padded column 29 is in no window: the stride does not tile
    assert ex.input_image.value == to_png(padded, size=196, vmin=0, vmax=1, highlight=~inside, mark=window)
    np.testing.assert_array_equal(last.window, padded[26:29, 26:29])
    assert "output[13, 13]" in ex.sum_panel.value
    first = ex.select(0, 0)
    assert first.window[0].tolist() == [0, 0, 0] and first.window[:, 0].tolist() == [0, 0, 0]  # the zeros
    ex.stride.value = 4  # the output shrinks to 7x7: (13, 13) is gone, (0, 0) stays
    assert ex.selected is not None and ex.selected.total == pytest.approx(ex.output[0, 0], abs=1e-6)
    ex.select(6, 6)
    ex.stride.value = 1
    ex.stride.value = 4
    assert ex.selected.row == 6
    ex.size.value = 7  # 28 + 2 - 7 = 23 // 4 + 1 = 6 outputs: (6, 6) no longer exists
    assert ex.selected is None and "click an output pixel" in ex.sum_panel.value


# --- the transform explorer (notebook 08) ------------------------------------------------------------

def quarter_reader(x):
    """A stand-in model: '1' when the top-left quarter holds ink, else '0' (ten classes)."""
    ink = np.asarray(x).reshape(len(x), 28, 28)[:, :14, :14].reshape(len(x), -1).any(axis=1)
    p = np.zeros((len(x), 10))
    p[np.arange(len(x)), ink.astype(int)] = 1.0
    return p


def test_transform_explorer_changes_the_digit_and_reads_both_versions():
    from mnistlab.widgets import TransformExplorer

    dot = np.zeros((2, 28, 28), np.uint8)
    dot[:, 12, 12] = 255
    ex = TransformExplorer(quarter_reader, dot, np.array([1, 1]), transform="shift diagonal")
    assert ex.strength.value == 0 and ex.readings == (1, 1) and "reads 1 (100%) unchanged" in ex.status.value
    ex.strength.value = 3
    np.testing.assert_array_equal(ex.output, transforms.shift(dot[:1], 3, 3)[0])
    assert ex.readings == (1, 0) and "&#9888;" in ex.status.value  # wrong now: said in red
    assert "shift diagonal 3 pixels right and down" in ex.output_title.value
    ex.transform.value = "rotate"  # a new transform starts unchanged, with its own strengths
    assert ex.strength.value == 0 and list(ex.strength.options) == [0, 10, 15, 20, 25, 30, 45]
    assert ex.readings == (1, 1)
    assert {"mnistlab-explorer", "mnistlab-transform"} <= set(ex.widget._dom_classes)
    with pytest.raises(ValueError, match="transform: expected one of shift right, .*; got 'zoom'"):
        TransformExplorer(quarter_reader, dot, transform="zoom")


def test_only_the_convolution_explorers_select_an_output_pixel():
    from mnistlab.widgets import ConvolutionExplorer, PaddingStrideExplorer, PoolingExplorer, TransformExplorer

    assert hasattr(ConvolutionExplorer, "select") and hasattr(PaddingStrideExplorer, "select")
    assert not hasattr(PoolingExplorer, "select") and not hasattr(TransformExplorer, "select")


@pytest.mark.parametrize("explorer", [ConvolutionExplorer, PaddingStrideExplorer, PoolingExplorer])
def test_explorers_read_scaled_floats_as_they_are_and_refuse_other_pixels(digits, explorer):
    """Floats already in [0, 1] are not divided by 255 again; pixels that are neither uint8 nor such floats are
    refused in one line (they used to show a digit 255 times too faint, or 4 times too bright, without a word)."""
    images = digits[0][:5]
    from_bytes, from_floats = explorer(images), explorer(images / 255)
    np.testing.assert_allclose(from_floats.image, from_bytes.image, atol=1e-6)
    assert from_floats.image.max() > 0.9
    for bad, said in [(images.astype(np.int64) * 4, "got int64 from 0 to 1020"),
                      (images.astype(np.float32), "got float32 from 0.0 to 255.0")]:
        with pytest.raises(ValueError, match=r"images: expected uint8 pixels 0\.\.255 or floats in \[0, 1\], " + said):
            explorer(bad)


def test_the_report_s_6x6_example_is_shown_unscaled():
    from mnistlab.examples import REPORT_IMAGE

    ex = ConvolutionExplorer(REPORT_IMAGE[np.newaxis], preset="report X", scale=False)
    assert ex.image.max() == 253
    assert "values 261 to 913" in ex.status.value  # whole numbers, as the report prints them
