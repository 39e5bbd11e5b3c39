"""The drawing pad without a browser: every callback, the rasterised strokes, what it shows and when it refuses."""

from __future__ import annotations

import numpy as np
import pytest

from mnistlab import architecture, drawing, models, render


@pytest.fixture(scope="module")
def model():
    """A small untrained CNN: the pad's mechanics, not its accuracy (the browser suite reads digits with a
    trained model)."""
    import keras

    keras.utils.set_random_seed(0)
    return models.course_cnn(widths=(4, 8), kernel_size=3, pools=(True, True), shift=0.0, dropout=0.0)


def line(a, b, n=10):
    return [(a[0] + (b[0] - a[0]) * k / n, a[1] + (b[1] - a[1]) * k / n) for k in range(n + 1)]


def test_rasterize_draws_round_strokes_of_the_pen_width():
    image = drawing.rasterize([line((50, 100), (200, 100))], size=280, pen_width=20)
    assert image.shape == (280, 280) and image.dtype == np.uint8
    rows = np.flatnonzero(image[:, 120])
    assert rows.min() >= 89 and rows.max() <= 111 and len(rows) >= 19  # 20 px thick
    assert image[100, 41] == 255 and image[100, 209] == 255 and image[100, 30] == 0  # round caps of radius 10
    dot = drawing.rasterize([[(140, 140)]], pen_width=10)
    assert dot[140, 140] == 255 and dot[140, 147] == 0 and 60 < (dot > 0).sum() < 100  # a disc of radius 5
    assert not drawing.rasterize([]).any()


def test_tile_maps_lays_maps_out_in_reading_order():
    maps = np.arange(2 * 3 * 5, dtype=float).reshape(2, 3, 5)
    tiled = render.tile_maps(maps, cols=3)
    assert tiled.shape == (2 * 3 - 1, 3 * 4 - 1)
    np.testing.assert_array_equal(tiled[0:2, 0:3], maps[:, :, 0])
    np.testing.assert_array_equal(tiled[0:2, 8:11], maps[:, :, 2])
    np.testing.assert_array_equal(tiled[3:5, 4:7], maps[:, :, 4])
    assert np.isnan(tiled[2, 0]) and np.isnan(tiled[:, 3]).all()  # the gaps hold no value
    rgb = render.to_rgb(tiled - 10)  # signed (-10 to 19): the gaps are grey, the values scaled as without them
    assert (rgb[np.isnan(tiled)] == 160).all()
    np.testing.assert_array_equal(rgb[0:2, 4:7], render.to_rgb(maps[:, :, 1] - 10, vmin=-19, vmax=19, cmap="RdBu_r"))


def test_a_stroke_is_read_by_the_model_as_keras_reads_the_prepared_digit(model):
    from mnistlab.photo import prepare_digit

    pad = drawing.DrawingPad(model)
    assert "draw a digit" in pad.prediction.value
    reading = pad.stroke(line((140, 50), (130, 230)))
    digit = prepare_digit(pad.image)
    expected = model.predict(digit[np.newaxis, :, :, np.newaxis], verbose=0)[0]
    np.testing.assert_allclose(reading.probabilities, expected, atol=1e-5)
    np.testing.assert_array_equal(reading.digit, digit)
    assert f"reads <b>{expected.argmax()}</b>" in pad.prediction.value and pad.bars.value.count("%") == 10
    assert pad.maps.layout.display is None
    assert [t.value.split(":")[0] for t in pad.map_titles.values()] == ["<b>conv1</b>", "<b>conv2</b>"]
    assert pad.map_images["conv1"].value[:4] == b"\x89PNG" and pad.latency_ms > 0


def test_undo_clear_and_the_pen(model):
    pad = drawing.DrawingPad(model)
    pad.stroke(line((140, 50), (140, 230)))
    one = pad.image.copy()
    pad.stroke(line((90, 60), (190, 60)))
    assert len(pad.strokes) == 2 and (pad.image > 0).sum() > (one > 0).sum()
    pad.undo()
    np.testing.assert_array_equal(pad.image, one)
    pad.pen.value = 30
    assert (pad.image > 0).sum() > (one > 0).sum()
    pad.clear()
    assert pad.strokes == [] and "the pad is empty" in pad.prediction.value and pad.bars.value == ""
    assert pad.maps.layout.display == "none"
    pad.undo()  # nothing to undo: still empty, no error
    assert "the pad is empty" in pad.prediction.value


def test_moves_without_a_pressed_button_draw_nothing_and_touch_draws(model):
    pad = drawing.DrawingPad(model)
    pad._move(10, 10)
    pad._up(10, 10)
    assert pad.strokes == []
    pad.canvas._touch_start_callbacks([(140, 50)])
    pad.canvas._touch_move_callbacks([(140, 140)])
    pad.canvas._touch_end_callbacks([])
    assert pad.strokes == [[(140, 50), (140, 140)]] and pad.reading.probabilities is not None


def test_marks_that_are_not_one_digit_show_prepare_digits_message_in_place(model):
    pad = drawing.DrawingPad(model)
    pad.stroke(line((20, 140), (60, 140)))
    pad.stroke(line((200, 140), (260, 140)))
    assert pad.reading.probabilities is None
    assert "found 2 separate marks side by side; expected a single digit" in pad.prediction.value
    assert "the pad" in pad.prediction.value and "&#9888;" in pad.prediction.value


def test_receptive_fields_grow_through_convolutions_and_pooling(model):
    """conv2 of the (4, 8) model: 3x3 on 13x13 pooled maps of 3x3 convolutions: 8x8 input pixels."""
    assert architecture.receptive_field(model, "conv1", 0, 0) == (0, 0, 2, 2)
    assert architecture.receptive_field(model, "pool1", 1, 2) == (2, 4, 5, 7)
    assert architecture.receptive_field(model, "conv2", 3, 4) == (6, 8, 13, 15)
    with pytest.raises(ValueError, match="layer: expected one of"):
        architecture.receptive_field(model, "conv9", 0, 0)


def test_the_receptive_field_holds_every_pixel_the_unit_depends_on(model):
    """Perturb every input pixel: the unit changes only for pixels inside its computed field."""
    import keras

    upto = keras.Model(model.inputs[0], model.get_layer("conv2").output)
    rng = np.random.default_rng(0)
    x = rng.random((1, 28, 28, 1)).astype(np.float32)
    base = upto(x).numpy()[0, 3, 4]
    batch = np.repeat(x, 28 * 28, axis=0)
    batch[np.arange(28 * 28), np.arange(28 * 28) // 28, np.arange(28 * 28) % 28, 0] += 0.5
    changed = (np.abs(upto(batch).numpy()[:, 3, 4] - base).max(axis=1) > 1e-6).reshape(28, 28)
    top, left, bottom, right = architecture.receptive_field(model, "conv2", 3, 4)
    inside = np.zeros((28, 28), bool)
    inside[top:bottom + 1, left:right + 1] = True
    assert changed.any() and not (changed & ~inside).any()


def test_clicking_a_feature_map_unit_marks_its_receptive_field(model):
    pad = drawing.DrawingPad(model)
    pad.stroke(line((140, 50), (130, 230)))
    maps = pad.reading.layers["conv2"]  # (11, 11, 8): tiles of 12 pixels, 8 to a row
    factor = 640 // max(render.tile_maps(maps, cols=16).shape)
    pad._events[1]._dom_handlers({"type": "click", "dataX": (2 * 12 + 4) * factor + 1, "dataY": 3 * factor + 1})
    assert pad.field[:4] == ("conv2", 2, 3, 4) and pad.field[4] == (6, 8, 13, 15)
    assert "conv2, map 2, unit (3, 4)" in pad.field_text.value and "8x8 pixels" in pad.field_text.value
    pad._events[1]._dom_handlers({"type": "click", "dataX": 11 * factor + 1, "dataY": 0})  # a separator line
    assert pad.field[:4] == ("conv2", 2, 3, 4)


def test_the_pad_draws_a_static_figure_of_what_it_shows():
    import matplotlib

    matplotlib.use("Agg")
    from mnistlab.drawing import DrawingPad
    from mnistlab.models import course_cnn

    pad = DrawingPad(course_cnn(widths=(4, 8, 8), name="tiny"))
    empty = pad.figure()
    assert len(empty.axes) == 4
    pad.stroke([(85, 60), (195, 60), (120, 230)])
    figure = pad.figure()
    assert figure.axes[2].get_title().startswith(f"reads {pad.reading.predicted} (")
    matplotlib.pyplot.close("all")
