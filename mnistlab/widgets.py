"""Live explorers: thin ipywidgets wrappers over :mod:`mnistlab.ops`.

Each explorer computes with the package's pure functions and shows the result as ``Image`` widgets
(PNG bytes) and a status line, so it can be tested without a browser: set a control's ``value``, then
read ``explorer.output``, ``explorer.status.value`` or an image's bytes. Display one by leaving it as
the last expression of a cell.
"""

from __future__ import annotations

import html
import textwrap
from dataclasses import dataclass

import numpy as np

from mnistlab import ops
from mnistlab.kernels import PRESETS, make_kernel
from mnistlab.render import to_png

__all__ = ["ConvolutionExplorer", "OutputSum", "PaddingStrideExplorer", "PoolingExplorer", "TransformExplorer",
           "on_image_click", "output_sum", "shape_message"]

_SIZE = 196  # pixels of each image panel


def shape_message(h: int, w: int, f: int, p: int, s: int) -> tuple[str, bool]:
    """The output size of an (h, w) input under an f x f filter, padding p and stride s, in words.

    Returns ``(text, tiles)``: the formula of :func:`mnistlab.ops.output_size` worked for each axis,
    and whether the filter tiles the padded input exactly. When it does not, the text says what
    frameworks do (drop the last partial window) and the resulting shape, instead of raising.
    """
    if f > min(h, w) + 2 * p:
        return f"the {f}x{f} filter is larger than the padded input {h + 2 * p}x{w + 2 * p}", False
    parts, sizes, tiles = [], [], True
    for name, size in ((("each side", h),) if h == w else (("height", h), ("width", w))):
        out = ops.output_size(size, f, p, s, partial="drop")
        whole = ops.tiles(size, f, p, s)
        tiles &= whole
        formula = ops.output_size_formula(size, f, p, s)
        parts.append(f"{name}: {formula}" if whole else
                     f"{name}: {formula}, not whole: the last partial window is dropped, {out}")
        sizes.append(out)
    oh, ow = sizes if len(sizes) == 2 else sizes * 2
    head = f"output {oh}x{ow}" if tiles else f"does not tile: frameworks give {oh}x{ow}"
    return f"{head}. " + "; ".join(parts), tiles


@dataclass(frozen=True)
class OutputSum:
    """The terms behind one output pixel of a convolution: its window of the (padded) input, the kernel,
    their products and the products' sum, which is the output pixel."""

    row: int
    col: int
    top: int   # the window's top-left corner in the padded input
    left: int
    window: np.ndarray
    kernel: np.ndarray
    products: np.ndarray
    total: float

    def terms(self) -> str:
        """The sum written out over its non-zero products: "18 + 51 + 121 + 35 + 204 = 429"."""
        values = [v for v in self.products.ravel() if v != 0]
        text = " + ".join(_number(v) for v in values).replace("+ -", "- ") or "0"
        return f"{text} = {_number(self.total)}"


def _number(value: float) -> str:
    return f"{value:g}" if float(value).is_integer() else f"{value:.3f}"


def output_sum(image: np.ndarray, kernel: np.ndarray, row: int, col: int, stride: int = 1,
               padding: int = 0) -> OutputSum:
    """Where output[row, col] of ``ops.conv2d(image, kernel, stride=stride, padding=padding)`` comes from.

    Raises ``ValueError`` naming the output's size when (row, col) is outside it.
    """
    image, kernel = np.asarray(image), np.asarray(kernel)
    padded = ops.pad2d(image, padding)
    kh, kw = kernel.shape
    oh = ops.output_size(padded.shape[0], kh, 0, stride, partial="drop")
    ow = ops.output_size(padded.shape[1], kw, 0, stride, partial="drop")
    if not (0 <= row < oh and 0 <= col < ow):
        raise ValueError(f"row, col: expected an output pixel of the {oh}x{ow} output, got ({row}, {col})")
    top, left = row * stride, col * stride
    window = padded[top:top + kh, left:left + kw]
    products = window * kernel
    return OutputSum(row, col, top, left, window, kernel, products, products.sum())


def _grid(array: np.ndarray, css: str, mark: np.ndarray | None = None) -> str:
    """A small array as an HTML table (``mark``: cells shown in bold)."""
    rows = []
    for i, line in enumerate(array):
        cells = "".join(f"<td style='padding:0 4px;text-align:right;"
                        f"{'font-weight:bold' if mark is not None and mark[i, j] else 'color:#888'}'>"
                        f"{_number(v)}</td>" for j, v in enumerate(line))
        rows.append(f"<tr>{cells}</tr>")
    return f"<table class='{css}' style='border-collapse:collapse;font-family:monospace'>{''.join(rows)}</table>"


def on_image_click(image, callback):
    """Call ``callback(x, y)`` with the PNG's own pixel coordinates when ``image`` (an Image widget) is
    clicked; returns the ipyevents ``Event`` that listens (keep it alive with the widget)."""
    from ipyevents import Event

    def handle(event) -> None:
        if "dataX" in event:
            callback(event["dataX"], event["dataY"])

    event = Event(source=image, watched_events=["click"])
    event.on_dom_event(handle)
    return event


def _cell_mask(shape: tuple[int, int], row: int, col: int) -> np.ndarray:
    mask = np.zeros(shape, bool)
    mask[row, col] = True
    return mask


def _digits(images: np.ndarray, pixels: bool = True) -> np.ndarray:
    """``images`` as an (N, H, W) array; with ``pixels``, checked to be uint8 pixels 0..255 or floats in [0, 1] (what
    the explorers scale to [0, 1]), so that floats already scaled are not divided by 255 again."""
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(f"images: expected (N, H, W) digits, got shape {images.shape}")
    if pixels and images.dtype != np.uint8 and not (
            np.issubdtype(images.dtype, np.floating) and images.size and 0 <= images.min() and images.max() <= 1):
        low, high = (images.min(), images.max()) if images.size else (None, None)
        raise ValueError(f"images: expected uint8 pixels 0..255 or floats in [0, 1], got {images.dtype} "
                         f"from {low} to {high}")
    return images


class _Explorer:
    """Shared parts: a digit slider, image panels with titles, a status line, notebook display."""

    css_name = "explorer"  # the root widget's CSS class is mnistlab-<css_name>

    def __init__(self, images: np.ndarray, labels: np.ndarray | None, index: int, *, pixels: bool = True) -> None:
        import ipywidgets as w

        self._w = w
        self.images = _digits(images, pixels)
        self.labels = None if labels is None else np.asarray(labels)
        if not 0 <= index < len(self.images):
            raise ValueError(f"index: expected 0..{len(self.images) - 1}, got {index}")
        self.digit = w.IntSlider(value=index, min=0, max=len(self.images) - 1, description="digit",
                                 continuous_update=False)
        self.status = w.HTML()
        self.widget = None

    def _panel(self, title: str, role: str):
        """An image with its title above; ``role`` names both in the page (CSS classes ``mnistlab-<role>``
        and ``mnistlab-<role>-title``) for styling and for the browser tests."""
        w = self._w
        image = w.Image(format="png", layout=w.Layout(width=f"{_SIZE}px", height=f"{_SIZE}px"))
        label = w.HTML(f"<b>{html.escape(title)}</b>")
        image.add_class(f"mnistlab-{role}")
        label.add_class(f"mnistlab-{role}-title")
        return image, label, w.VBox([label, image], layout=w.Layout(align_items="center", margin="0 8px"))

    def _clickable(self, image, on_pixel) -> None:
        """Call ``on_pixel(row, col)`` when the learner clicks a pixel of the array shown in ``image``.

        ipyevents reports the click in the PNG's own pixels (``dataX``, ``dataY``); the PNG is the
        array scaled up by a whole factor (:func:`mnistlab.render.to_png`), so dividing gives the cell.
        """
        def handle(x: float, y: float) -> None:
            array = self._arrays.get(id(image))
            if array is None:
                return
            factor = max(1, _SIZE // max(array.shape))
            row, col = int(y // factor), int(x // factor)
            if 0 <= row < array.shape[0] and 0 <= col < array.shape[1]:
                on_pixel(row, col)

        self._events = [*getattr(self, "_events", []), on_image_click(image, handle)]

    def _finish(self, widget) -> None:
        """Keep the explorer's root widget, classed ``mnistlab-explorer`` and ``mnistlab-<kind>``."""
        widget.add_class("mnistlab-explorer")
        widget.add_class(f"mnistlab-{self.css_name}")
        self.status.add_class("mnistlab-status")
        self.widget = widget

    @property
    def image(self) -> np.ndarray:
        """The current digit as float32 in [0, 1] (uint8 pixels divided by 255, floats as they are)."""
        from mnistlab.preprocess import scale

        digit = self.images[self.digit.value]
        return scale(digit) if digit.dtype == np.uint8 else digit.astype(np.float32)

    def _digit_title(self) -> str:
        label = "" if self.labels is None else f" (label {self.labels[self.digit.value]})"
        return f"digit #{self.digit.value}{label}"

    def _observe(self, *controls) -> None:
        for control in controls:
            control.observe(lambda change: self.update(), names="value")

    def _set_status(self, text: str, ok: bool = True) -> None:
        self.status_text, self.status_ok = text, ok
        colour = "inherit" if ok else "#b00020"
        mark = "" if ok else "&#9888; "
        self.status.value = f"<span style='color:{colour}'>{mark}{html.escape(text)}</span>"

    def update(self) -> None:  # pragma: no cover - each explorer defines it
        raise NotImplementedError

    def _show(self, panels: list[tuple[object, object, str, np.ndarray, dict]]) -> None:
        """Draw each (image widget, title widget, title, array, colours) panel and remember it for figure()."""
        self._views = [(title, array, colours) for _, _, title, array, colours in panels]
        self._arrays = {id(image): array for image, _, _, array, _ in panels}
        for image, label, title, array, colours in panels:
            image.value = to_png(array, size=_SIZE, **colours)
            if label is not None:
                label.value = f"<b>{html.escape(title)}</b>"

    def figure(self):
        """A static matplotlib figure of the panels as they are now, with the status line as its title."""
        import matplotlib.pyplot as plt

        from mnistlab.render import to_rgb

        fig, axes = plt.subplots(1, len(self._views), figsize=(3.2 * len(self._views), 3.6))
        for ax, (title, array, colours) in zip(np.atleast_1d(axes), self._views, strict=True):
            ax.imshow(to_rgb(array, **colours), interpolation="nearest")
            ax.set_title(title, fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
        fig.suptitle(textwrap.fill(self.status_text, 50 * len(self._views)), fontsize=9)
        fig.tight_layout()
        return fig

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


class _SumExplorer(_Explorer):
    """An explorer of a convolution: a click on an output pixel (or :meth:`select`) shows the window, the kernel
    and the products behind it."""

    def select(self, row: int, col: int) -> OutputSum:
        """Show where output[row, col] comes from (what a click on that output pixel does)."""
        self._cell = (row, col)
        self.update()
        return self.selected

    def _sum_html(self) -> str:
        terms = self.selected
        if terms is None:
            return "<i>click an output pixel to see the sum behind it</i>"
        nonzero = terms.products != 0
        tables = "".join(f"<div style='margin-right:14px'><div>{title}</div>{table}</div>" for title, table in (
            (f"window at row {terms.top}, column {terms.left}", _grid(terms.window, "mnistlab-sum-window", nonzero)),
            ("kernel", _grid(terms.kernel, "mnistlab-sum-kernel", nonzero)),
            ("products", _grid(terms.products, "mnistlab-sum-products", nonzero))))
        return (f"<div><b>output[{terms.row}, {terms.col}]</b> = the sum of the window times the kernel:</div>"
                f"<div style='display:flex'>{tables}</div>"
                f"<div class='mnistlab-sum-terms'>{html.escape(terms.terms())}</div>")

    def _window_mask(self, shape: tuple[int, int]) -> np.ndarray | None:
        """The clicked output pixel's window on an input of ``shape`` (None when nothing is clicked)."""
        if self.selected is None:
            return None
        kh, kw = self.selected.kernel.shape
        mask = np.zeros(shape, bool)
        mask[self.selected.top:self.selected.top + kh, self.selected.left:self.selected.left + kw] = True
        return mask

    def _clicked_mask(self) -> np.ndarray | None:
        """The clicked output pixel, marked on the output (None when nothing is clicked)."""
        return None if self.selected is None else _cell_mask(self.output.shape, *self._cell)

    def _select_again(self, image: np.ndarray, kernel: np.ndarray, stride: int = 1, padding: int = 0) -> None:
        """Recompute the clicked pixel's sum after a change; forget it when the output no longer has it."""
        self.selected = None
        if self._cell is not None and self._cell[0] < self.output.shape[0] and self._cell[1] < self.output.shape[1]:
            self.selected = output_sum(image, kernel, *self._cell, stride=stride, padding=padding)
        self.sum_panel.value = self._sum_html()

    def _add_sum_panel(self) -> None:
        import ipywidgets as w

        self.selected: OutputSum | None = None
        self._cell: tuple[int, int] | None = None
        self.sum_panel = w.HTML()
        self.sum_panel.add_class("mnistlab-sum")


class ConvolutionExplorer(_SumExplorer):
    """Pick a digit and a kernel preset, or edit the 3x3 kernel cell by cell; see input, kernel, output.

    ``explorer.kernel`` is the kernel shown, ``explorer.output`` the convolution (valid padding,
    stride 1) that the output panel shows. Every cell edit updates the output as you type. Click an
    output pixel (or call ``explorer.select(row, col)``): its window is marked in orange on the input and
    the panel below shows the window, the kernel, their products and the sum, which is the clicked value.
    ``scale=False`` shows images as they are (the report's 6x6 example) instead of scaled to [0, 1].
    """

    css_name = "convolution"

    def __init__(self, images: np.ndarray, labels: np.ndarray | None = None, *, index: int = 0,
                 preset: str = "sobel x", scale: bool = True) -> None:
        self.scale = scale
        super().__init__(images, labels, index, pixels=scale)
        self._add_sum_panel()
        w = self._w
        if preset not in PRESETS:
            raise ValueError(f"preset: expected one of {sorted(PRESETS)}, got {preset!r}")
        self.preset = w.Dropdown(options=[*PRESETS, "custom"], value=preset, description="kernel")
        self.cells = [[w.FloatText(value=float(PRESETS[preset][i, j]), continuous_update=True, step=1,
                                   layout=w.Layout(width="64px")) for j in range(3)] for i in range(3)]
        self._syncing = False
        self.input_image, self.input_title, input_box = self._panel("input", "input")
        self.kernel_image, _, kernel_box = self._panel("kernel", "kernel")
        self.output_image, self.output_title, output_box = self._panel("output", "output")
        grid = w.VBox([w.HBox(row) for row in self.cells], layout=w.Layout(margin="0 0 0 16px"))
        self._finish(w.VBox([w.HBox([self.digit, self.preset]), w.HBox([input_box, kernel_box, output_box, grid]),
                             self.status, self.sum_panel]))
        self._clickable(self.output_image, self.select)
        self.preset.observe(self._on_preset, names="value")
        for cell in (c for row in self.cells for c in row):
            cell.observe(self._on_cell, names="value")
        self._observe(self.digit)
        self.output = np.empty((0, 0))
        self.update()

    @property
    def kernel(self) -> np.ndarray:
        """The 3x3 kernel in the cells."""
        return np.array([[cell.value for cell in row] for row in self.cells], dtype=np.float64)

    def _on_preset(self, change) -> None:
        if change["new"] == "custom":
            return
        self._syncing = True
        try:
            for (i, j), value in np.ndenumerate(PRESETS[change["new"]]):
                self.cells[i][j].value = float(value)
        finally:
            self._syncing = False
        self.update()

    def _on_cell(self, change) -> None:
        if self._syncing:
            return
        if self.preset.value != "custom" and not np.array_equal(self.kernel, PRESETS[self.preset.value]):
            self._syncing = True
            self.preset.value = "custom"
            self._syncing = False
        self.update()

    @property
    def image(self) -> np.ndarray:
        """The current image: scaled to [0, 1] as float32, or as it is with ``scale=False``."""
        return super().image if self.scale else self.images[self.digit.value]

    def update(self) -> None:
        """Recompute the output and redraw the three panels, the status line and the clicked pixel's sum."""
        image, kernel = self.image, self.kernel
        if not self.scale and np.issubdtype(image.dtype, np.integer) and np.array_equal(kernel, np.round(kernel)):
            kernel = kernel.astype(np.int64)  # whole numbers stay whole, as in the report's example
        self.output = ops.conv2d(image, kernel)
        oh, ow = self.output.shape
        h, w = image.shape
        self._select_again(image, kernel)
        levels = {"vmin": 0, "vmax": 1} if self.scale else {"vmin": 0, "vmax": float(max(1, image.max()))}
        self._show([(self.input_image, self.input_title, f"input: {self._digit_title()}, {h}x{w}", image,
                     {**levels, "mark": self._window_mask(image.shape)}),
                    (self.kernel_image, None, "kernel", kernel, {}),
                    (self.output_image, self.output_title, f"output {oh}x{ow}", self.output,
                     {"mark": self._clicked_mask()})])
        # the output is drawn in colour only when it has negative values (render.to_rgb), else in grey
        colours = " (blue < 0 < red)" if self.output.min() < 0 else ""
        low, high = ((f"{v:d}" if np.issubdtype(self.output.dtype, np.integer) else f"{v:.2f}")
                     for v in (self.output.min(), self.output.max()))  # whole numbers as the report prints them
        self._set_status(f"output {self.output.shape[0]}x{self.output.shape[1]}, values {low} to {high}{colours}")


class PaddingStrideExplorer(_SumExplorer):
    """Kernel size, zero padding and stride on a real digit, tied together: padding <= kernel size - 1.

    Shows the padded input (padding tinted blue) and the output with its shape. A configuration
    that does not tile is marked in the status line, and the output shown is what frameworks give.
    Click an output pixel (or ``explorer.select(row, col)``): its window is marked in orange on the
    padded input (the last one shows which columns a stride that does not tile leaves out) and its sum
    is written out below.
    """

    css_name = "padding-stride"

    def __init__(self, images: np.ndarray, labels: np.ndarray | None = None, *, index: int = 0,
                 kind: str = "vertical edges", size: int = 3, padding: int = 0, stride: int = 1) -> None:
        super().__init__(images, labels, index)
        w = self._w
        make_kernel(kind, size)  # validates both
        self.kind = w.Dropdown(options=["blur", "vertical edges", "horizontal edges"], value=kind, description="kernel")
        self.size = w.IntSlider(value=size, min=1, max=7, description="kernel size", continuous_update=False)
        self.padding = w.IntSlider(value=min(padding, size - 1), min=0, max=size - 1, description="padding",
                                   continuous_update=False)
        self.stride = w.IntSlider(value=stride, min=1, max=4, description="stride", continuous_update=False)
        self.input_image, self.input_title, input_box = self._panel("padded input", "input")
        self.output_image, self.output_title, output_box = self._panel("output", "output")
        self._add_sum_panel()
        self._finish(w.VBox([w.HBox([self.digit, self.kind]), w.HBox([self.size, self.padding, self.stride]),
                             w.HBox([input_box, output_box]), self.status, self.sum_panel]))
        self._clickable(self.output_image, self.select)
        self.size.observe(self._on_size, names="value")
        self._observe(self.digit, self.kind, self.padding, self.stride)
        self.output = np.empty((0, 0))
        self.tiles = True
        self.update()

    def _on_size(self, change) -> None:
        # Tie padding to the kernel: more than size - 1 would add outputs that see only zeros.
        self.padding.max = change["new"] - 1  # clamps padding.value, which may fire an update itself
        self.update()

    def update(self) -> None:
        """Recompute the padded input and the output, and redraw."""
        f, p, s = self.size.value, self.padding.value, self.stride.value
        image = self.image
        padded = ops.pad2d(image, p)
        inside = np.zeros(padded.shape, bool)
        inside[p:p + image.shape[0], p:p + image.shape[1]] = True
        kernel = make_kernel(self.kind.value, f)
        self.output = ops.conv2d(image, kernel, stride=s, padding=p)
        text, self.tiles = shape_message(*image.shape, f, p, s)
        self._select_again(image, kernel, stride=s, padding=p)
        self._show([(self.input_image, self.input_title, f"padded input {padded.shape[0]}x{padded.shape[1]}", padded,
                     {"vmin": 0, "vmax": 1, "highlight": ~inside, "mark": self._window_mask(padded.shape)}),
                    (self.output_image, self.output_title, f"output {self.output.shape[0]}x{self.output.shape[1]}",
                     self.output, {"mark": self._clicked_mask()})])
        name = "valid" if p == 0 else ("same" if s == 1 and f == 2 * p + 1 else f"padding {p}")
        if not kernel.any():  # a 1x1 edge kernel: no two sides to compare
            text += f"; a {f}x{f} edge kernel is all zeros (an edge needs two sides), so the output is 0"
        self._set_status(f"{f}x{f} kernel, {name}, stride {s}: {text}", ok=self.tiles)


class PoolingExplorer(_Explorer):
    """Pooling window size, stride and mode (max, avg, l2) on a digit or on one of its feature maps."""

    css_name = "pooling"

    SOURCES = ("digit", "feature map: vertical edges", "feature map: horizontal edges")

    def __init__(self, images: np.ndarray, labels: np.ndarray | None = None, *, index: int = 0, size: int = 2,
                 stride: int | None = None, mode: str = "max", source: str = "digit") -> None:
        super().__init__(images, labels, index)
        w = self._w
        if source not in self.SOURCES:
            raise ValueError(f"source: expected one of {self.SOURCES}, got {source!r}")
        self.source = w.Dropdown(options=self.SOURCES, value=source, description="pool")
        self.size = w.IntSlider(value=size, min=1, max=4, description="window", continuous_update=False)
        self.stride = w.IntSlider(value=stride or size, min=1, max=4, description="stride", continuous_update=False)
        self.mode = w.ToggleButtons(options=["max", "avg", "l2"], value=mode, description="mode")
        self.input_image, self.input_title, input_box = self._panel("input", "input")
        self.output_image, self.output_title, output_box = self._panel("pooled", "output")
        self._finish(w.VBox([w.HBox([self.digit, self.source]), w.HBox([self.size, self.stride]), self.mode,
                             w.HBox([input_box, output_box]), self.status]))
        self._observe(self.digit, self.source, self.size, self.stride, self.mode)
        self.output = np.empty((0, 0))
        self.tiles = True
        self.update()

    @property
    def feature(self) -> np.ndarray:
        """What is pooled: the digit, or a ReLU feature map of it (a 3x3 edge kernel, same padding)."""
        if self.source.value == "digit":
            return self.image
        kind = self.source.value.split(": ")[1]
        return ops.relu(ops.conv2d(self.image, PRESETS[kind], padding="same"))

    def update(self) -> None:
        """Pool the current input and redraw."""
        feature = self.feature
        f, s = self.size.value, self.stride.value
        self.output = ops.pool2d(feature, f, s, self.mode.value)
        text, self.tiles = shape_message(*feature.shape, f, 0, s)
        oh, ow = self.output.shape
        self._show([(self.input_image, self.input_title, f"input {feature.shape[0]}x{feature.shape[1]}", feature,
                     {"vmin": 0}),
                    (self.output_image, self.output_title, f"{self.mode.value} pooled {oh}x{ow}", self.output,
                     {"vmin": 0})])
        kept = self.output.size / feature.size
        self._set_status(f"{f}x{f} {self.mode.value} pooling, stride {s}: {text}; keeps {kept:.0%} of the values",
                         ok=self.tiles)


class TransformExplorer(_Explorer):
    """A digit changed by one transform of :mod:`mnistlab.transforms` at a chosen strength, and what a
    model reads before and after. ``predict`` maps (N, 28, 28) uint8 digits to probabilities."""

    css_name = "transform"

    def __init__(self, predict, images: np.ndarray, labels: np.ndarray | None = None, *, index: int = 0,
                 transform: str = "rotate", strength: float | None = None) -> None:
        from mnistlab.transforms import TRANSFORMS

        super().__init__(images, labels, index)
        w = self._w
        if transform not in TRANSFORMS:
            raise ValueError(f"transform: expected one of {', '.join(TRANSFORMS)}; got {transform!r}")
        self.predict = predict
        self.transform = w.Dropdown(options=list(TRANSFORMS), value=transform, description="transform")
        self.strength = w.SelectionSlider(options=self._strengths(transform), description="strength",
                                          continuous_update=False)
        if strength is not None:
            self.strength.value = strength
        self.input_image, self.input_title, input_box = self._panel("unchanged", "input")
        self.output_image, self.output_title, output_box = self._panel("changed", "output")
        self._finish(w.VBox([w.HBox([self.digit, self.transform]), self.strength, w.HBox([input_box, output_box]),
                             self.status]))
        self._observe(self.digit, self.strength)
        self.transform.observe(self._new_transform, names="value")
        self.update()

    @staticmethod
    def _strengths(name: str) -> list[float]:
        from mnistlab.transforms import TRANSFORMS

        return sorted(TRANSFORMS[name].strengths)

    def _new_transform(self, change) -> None:
        from mnistlab.transforms import TRANSFORMS

        with self.strength.hold_trait_notifications():
            self.strength.options = self._strengths(change["new"])
            self.strength.value = TRANSFORMS[change["new"]].identity
        self.update()

    def update(self) -> None:
        """Change the current digit, read both versions and redraw."""
        from mnistlab.transforms import TRANSFORMS, transformed

        digit = self.images[self.digit.value]
        self.output = transformed(digit[None], self.transform.value, self.strength.value)[0]
        before, after = np.asarray(self.predict(np.stack([digit, self.output])))
        self.readings = int(before.argmax()), int(after.argmax())
        unit = TRANSFORMS[self.transform.value].unit
        scale = {"vmin": 0, "vmax": 255 if np.issubdtype(digit.dtype, np.integer) else 1}
        self._show([(self.input_image, self.input_title, self._digit_title(), digit, scale),
                    (self.output_image, self.output_title, f"{self.transform.value} {self.strength.value:g} {unit}",
                     self.output, scale)])
        right = self.labels is None or self.readings[1] == self.labels[self.digit.value]
        self._set_status(f"the model reads {self.readings[0]} ({before.max():.0%}) unchanged and {self.readings[1]} "
                         f"({after.max():.0%}) changed", ok=right)
