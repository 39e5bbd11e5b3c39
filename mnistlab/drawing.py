"""Draw a digit and watch the network read it: a drawing pad (ipycanvas) over pure functions.

The pad keeps the strokes in Python (lists of points) and draws them on an ipycanvas ``Canvas``;
when a stroke ends, :func:`rasterize` turns the strokes into pixels, :func:`mnistlab.photo.prepare_digit`
makes them MNIST-like (28x28, centred by centre of mass), and :func:`mnistlab.forward.forward` runs the
trained model in NumPy, keeping every layer's output. So every callback can be tested without a
browser: call ``pad.stroke([(x, y), ...])`` and read ``pad.reading``.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from mnistlab.architecture import read_layers, receptive_field
from mnistlab.photo import DigitImageError, prepare_digit
from mnistlab.preprocess import model_input
from mnistlab.render import tile_maps, to_png

if TYPE_CHECKING:
    import keras
    from matplotlib.figure import Figure

__all__ = ["PAD", "DrawingPad", "Reading", "rasterize", "read_drawing"]

PAD = 280  # the pad's pixels on each side: 10 per MNIST pixel
_MAP_COLUMNS, _MAP_SIZE = 16, 640  # feature maps: tiles a row, and the picture's width in pixels

Stroke = list[tuple[float, float]]


def rasterize(strokes: list[Stroke], size: int = PAD, pen_width: float = 20) -> np.ndarray:
    """The strokes drawn in white on black into a (size, size) uint8 image, with round ends and joins."""
    from PIL import Image, ImageDraw

    picture = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(picture)
    radius = pen_width / 2
    for stroke in strokes:
        points = [(float(x), float(y)) for x, y in stroke]
        if len(points) > 1:
            draw.line(points, fill=255, width=max(1, round(pen_width)), joint="curve")
        for x, y in points:  # round caps (and dots for a single click)
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    return np.asarray(picture)


@dataclass
class Reading:
    """What the network made of a drawing: the 28x28 digit, the ten probabilities and every layer's output,
    or ``message`` (prepare_digit's) when there is no single digit to read."""

    digit: np.ndarray | None = None
    probabilities: np.ndarray | None = None
    layers: dict[str, np.ndarray] = field(default_factory=dict)
    message: str = ""

    @property
    def predicted(self) -> int | None:
        """The most probable digit, or None."""
        return None if self.probabilities is None else int(self.probabilities.argmax())


def read_drawing(model: keras.Model, image: np.ndarray) -> Reading:
    """Prepare a drawn image as MNIST digits are and run ``model`` on it in NumPy, keeping each layer's output."""
    from mnistlab.forward import forward

    try:
        digit = prepare_digit(image)
    except DigitImageError as exc:
        message = str(exc).replace("array: ", "the pad: ", 1)
        return Reading(message=message.replace("(crop the image to one digit)", "(undo, or clear and draw one)"))
    probabilities, layers = forward(model, model_input(digit[np.newaxis]), keep=True)
    return Reading(digit, probabilities[0], {name: out[0] for name, out in layers.items()})


def _bars(probabilities: np.ndarray) -> str:
    """The ten probabilities as HTML bars, the most probable in bold."""
    best = int(probabilities.argmax())
    rows = []
    for digit, p in enumerate(probabilities):
        weight = "bold" if digit == best else "normal"
        rows.append(f"<div style='display:flex;align-items:center;font-weight:{weight};height:18px'>"
                    f"<span style='width:14px'>{digit}</span>"
                    f"<span style='display:inline-block;height:12px;width:{150 * p:.0f}px;"
                    f"background:{'#1f77b4' if digit == best else '#9ecae1'};margin:0 6px'></span>"
                    f"<span>{100 * p:.1f}%</span></div>")
    return "".join(rows)


class DrawingPad:
    """A pad to draw a digit on with the mouse or a finger; each finished stroke is read by ``model``.

    Beside the pad: the 28x28 digit the network sees, its ten probabilities, and the feature maps of
    every convolution layer. ``undo`` removes the last stroke, ``clear`` all of them; the pen slider
    sets the stroke width. An empty pad, or marks that are not one digit, show prepare_digit's message.
    Click a unit in a feature map (or call ``pad.select_unit(layer, map, row, col)``): the input pixels
    it can see, its receptive field, are marked on the digit.
    ``latency_ms`` is how long the last reading took, from the stroke's end to the widgets updated.
    """

    def __init__(self, model: keras.Model, *, pen_width: int = 20) -> None:
        import ipywidgets as w
        from ipycanvas import Canvas

        self.model = model
        self.strokes: list[Stroke] = []
        self._drawing = False
        self.reading = Reading(message="draw a digit on the pad")
        self.latency_ms = 0.0
        self.canvas = Canvas(width=PAD, height=PAD, layout=w.Layout(width=f"{PAD}px", height=f"{PAD}px"))
        self.canvas.add_class("mnistlab-pad")
        self.pen = w.IntSlider(value=pen_width, min=6, max=40, description="pen", continuous_update=False)
        self.undo_button = w.Button(description="undo", icon="undo")
        self.clear_button = w.Button(description="clear", icon="trash")
        self.digit_image = w.Image(format="png", layout=w.Layout(width="112px", height="112px"))
        self.digit_image.add_class("mnistlab-pad-digit")
        self.prediction = w.HTML()
        self.prediction.add_class("mnistlab-prediction")
        self.bars = w.HTML()
        self._convolutions = [layer.name for layer in read_layers(model) if layer.kind == "Conv2D"]
        self.map_titles = {name: w.HTML() for name in self._convolutions}
        self.map_images = {name: w.Image(format="png") for name in self._convolutions}
        for name, image in self.map_images.items():
            image.add_class(f"mnistlab-maps-{name}")
            self._clickable_maps(name, image)
        self.field: tuple[str, int, int, int, tuple[int, int, int, int]] | None = None
        self.field_text = w.HTML("<i>click a unit in the feature maps below to see what it looks at</i>")
        self.field_text.add_class("mnistlab-field")
        self.maps = w.VBox([w.VBox([self.map_titles[name], self.map_images[name]]) for name in self._convolutions])
        self.widget = w.VBox([
            w.HBox([w.VBox([self.canvas, w.HBox([self.undo_button, self.clear_button]), self.pen]),
                    w.VBox([w.HTML("<b>what the network sees</b>"), self.digit_image, self.field_text,
                            self.prediction, self.bars],
                           layout=w.Layout(margin="0 0 0 16px"))]),
            self.maps])
        self.widget.add_class("mnistlab-drawing")
        self.canvas.on_mouse_down(self._down)
        self.canvas.on_mouse_move(self._move)
        self.canvas.on_mouse_up(self._up)
        self.canvas.on_mouse_out(self._up)
        self.canvas.on_touch_start(lambda touches: self._down(*touches[0]))
        self.canvas.on_touch_move(lambda touches: self._move(*touches[0]))
        self.canvas.on_touch_end(lambda touches: self._up(0, 0))
        self.canvas.on_client_ready(self._redraw)
        self.undo_button.on_click(lambda _: self.undo())
        self.clear_button.on_click(lambda _: self.clear())
        self.pen.observe(lambda _: (self._redraw(), self.update()), names="value")
        self._redraw()
        self._show()
        from mnistlab.forward import forward

        forward(model, np.zeros((1, 28, 28, 1), np.float32))  # the first reading costs no more than the next

    # --- the callbacks: each one works without a browser ---------------------------------------

    def _down(self, x: float, y: float) -> None:
        self._drawing = True
        self.strokes.append([(x, y)])
        self.canvas.fill_style = "white"
        self.canvas.fill_circle(x, y, self.pen.value / 2)

    def _move(self, x: float, y: float) -> None:
        if not self._drawing:
            return
        (x0, y0) = self.strokes[-1][-1]
        self.strokes[-1].append((x, y))
        self._pen_style()
        self.canvas.stroke_line(x0, y0, x, y)

    def _up(self, x: float, y: float) -> None:
        if not self._drawing:
            return
        self._drawing = False
        self.update()

    def stroke(self, points: list[tuple[float, float]]) -> Reading:
        """Draw one stroke through ``points`` as the mouse would, and return the new reading."""
        self._down(*points[0])
        for point in points[1:]:
            self._move(*point)
        self._up(*points[-1])
        return self.reading

    def undo(self) -> None:
        """Remove the last stroke and read the drawing again."""
        if self.strokes:
            self.strokes.pop()
        self._redraw()
        self.update()

    def clear(self) -> None:
        """Remove every stroke."""
        self.strokes = []
        self._redraw()
        self.update()

    def _clickable_maps(self, name: str, image) -> None:
        from mnistlab.widgets import on_image_click

        def handle(x: float, y: float) -> None:
            maps = self.reading.layers.get(name)
            if maps is None:
                return
            h, w, k = maps.shape
            factor = max(1, _MAP_SIZE // max(tile_maps(maps, cols=_MAP_COLUMNS).shape))
            (tile_row, row), (tile_col, col) = divmod(int(y // factor), h + 1), divmod(int(x // factor), w + 1)
            index = tile_row * min(_MAP_COLUMNS, k) + tile_col
            if row < h and col < w and index < k:
                self.select_unit(name, index, row, col)

        self._events = [*getattr(self, "_events", []), on_image_click(image, handle)]

    def select_unit(self, layer: str, index: int, row: int, col: int) -> tuple[int, int, int, int]:
        """Mark on the 28x28 digit what unit (row, col) of ``layer``'s map ``index`` sees (what a click does)."""
        field = receptive_field(self.model, layer, row, col)
        self.field = (layer, index, row, col, field)
        self._show()
        return field

    # --- drawing and reading ----------------------------------------------------------------------

    def _pen_style(self) -> None:
        canvas = self.canvas
        canvas.stroke_style, canvas.line_width = "white", self.pen.value
        canvas.line_cap, canvas.line_join = "round", "round"

    def _redraw(self) -> None:
        from ipycanvas import hold_canvas

        with hold_canvas():
            self.canvas.fill_style = "black"
            self.canvas.fill_rect(0, 0, PAD, PAD)
            self._pen_style()
            self.canvas.fill_style = "white"
            for stroke in self.strokes:
                if len(stroke) > 1:
                    self.canvas.stroke_lines(stroke)
                self.canvas.fill_circle(*stroke[0], self.pen.value / 2)

    @property
    def image(self) -> np.ndarray:
        """The pad's pixels (PAD x PAD, uint8), as the strokes draw them."""
        return rasterize(self.strokes, PAD, self.pen.value)

    def update(self) -> None:
        """Read the drawing with the model and show the result."""
        start = time.perf_counter()
        self.reading = read_drawing(self.model, self.image) if self.strokes else Reading(
            message="the pad is empty: draw a digit")
        self._show()
        self.latency_ms = 1000 * (time.perf_counter() - start)

    def _show(self) -> None:
        reading = self.reading
        if reading.probabilities is None:
            self.prediction.value = f"<span style='color:#b00020'>&#9888; {html.escape(reading.message)}</span>"
            self.bars.value = ""
            self.digit_image.value = to_png(np.zeros((28, 28)), size=112, vmin=0, vmax=1)
            self.maps.layout.display = "none"
            return
        p = reading.probabilities
        self.prediction.value = f"reads <b>{reading.predicted}</b> ({100 * p.max():.1f}%)"
        self.bars.value = _bars(p)
        mark = None
        if self.field is not None:
            layer, index, row, col, (top, left, bottom, right) = self.field
            mark = np.zeros((28, 28), bool)
            mark[max(top, 0):bottom + 1, max(left, 0):right + 1] = True
            value = reading.layers[layer][row, col, index]
            self.field_text.value = (f"{layer}, map {index}, unit ({row}, {col}) = {value:.2f} sees input rows "
                                     f"{top}-{bottom}, columns {left}-{right}: {bottom - top + 1}x{right - left + 1} "
                                     "pixels (orange)")
        self.digit_image.value = to_png(reading.digit, size=112, vmin=0, vmax=1, mark=mark)
        for name in self._convolutions:
            maps = reading.layers[name]
            self.map_titles[name].value = (f"<b>{name}</b>: {maps.shape[2]} feature maps of "
                                           f"{maps.shape[0]}x{maps.shape[1]} (blue &lt; 0 &lt; red)")
            self.map_images[name].value = to_png(tile_maps(maps, cols=_MAP_COLUMNS), size=_MAP_SIZE)
        self.maps.layout.display = None

    def figure(self) -> Figure:
        """A static matplotlib figure of the pad as it is now: the drawing, the digit as the network sees it, its
        probabilities, and the first convolution's feature maps (for readers of a static copy)."""
        import matplotlib.pyplot as plt

        from mnistlab.render import to_rgb

        reading = self.reading
        fig, axes = plt.subplots(1, 4, figsize=(13, 3.2), gridspec_kw={"width_ratios": [1, 1, 1.3, 1.6]})
        axes[0].imshow(255 - self.image, cmap="gray", vmin=0, vmax=255)
        axes[0].set_title("the pad")
        if reading.probabilities is None:
            for ax in axes[1:]:
                ax.set_axis_off()
            axes[1].text(0, 0.5, reading.message, wrap=True, fontsize=9)
        else:
            axes[1].imshow(reading.digit, cmap="gray", vmin=0, vmax=1)
            axes[1].set_title("as the network sees it")
            axes[2].bar(range(10), reading.probabilities, color="tab:blue")
            axes[2].set_xticks(range(10))
            axes[2].set_ylim(0, 1)
            axes[2].set_title(f"reads {reading.predicted} ({100 * reading.probabilities.max():.1f}%)")
            first = self._convolutions[0]
            axes[3].imshow(to_rgb(tile_maps(reading.layers[first], cols=8)), interpolation="nearest")
            axes[3].set_title(f"{first}'s feature maps")
        for ax in (axes[0], axes[1], axes[3]):
            ax.set_xticks([])
            ax.set_yticks([])
        fig.tight_layout()
        return fig

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
