"""The explorers of the notebooks with widgets, driven in JupyterLab as a learner uses them, each beside its
oracle: the same explorer built headless in this process and given the same changes, whose pixels are proven
by the unit tests. After a change the page must show the oracle's output image pixel for pixel, its shape label
and its status line. Digits are drawn with the mouse on notebook 07's drawing pad.

The tests that run them are in two files: test_lab.py (notebooks 01 to 03, and the checks of the suite's own
eyes), which needs nothing trained and runs early, and test_lab_trained.py (notebooks 07 and 08), which runs after
notebook 08 has computed what they read (the root conftest.py orders them).
"""

from __future__ import annotations

import math
import re
import time

from labpage import (
    callback_errors,
    control,
    move_slider,
    open_notebook,
    png_pixels,
    run_all,
    slider_value,
    wait_for_pixels,
)
from labserver import NOTEBOOKS, ROOT
from notebook_files import restart_cells, shows_a_widget

from mnistlab.data import load_mnist
from mnistlab.widgets import ConvolutionExplorer, PaddingStrideExplorer, PoolingExplorer


def first_digits():
    """The first 100 training digits and their labels, as the notebooks' explorers show them."""
    (x_train, y_train), _ = load_mnist()
    return x_train[:100], y_train[:100]


class Explorer:
    """One explorer in the page beside its headless oracle; ``check`` compares what the learner sees."""

    def __init__(self, page, oracle, what: str, nth: int = 0) -> None:
        self.page = page
        found = page.locator(f".mnistlab-{oracle.css_name}")
        assert found.count() > nth, f"{what}: expected explorer {nth + 1} in the page, found {found.count()}"
        self.root = found.nth(nth)
        self.oracle = oracle
        self.what = what

    def text(self, css: str) -> str:
        return self.root.locator(css).inner_text().strip()

    def check(self, step: str, timeout_s: float = 15) -> None:
        """The page shows the oracle's input and output images, output title and status line."""
        oracle, what = self.oracle, f"{self.what}, {step}"
        wait_for_pixels(self.root.locator("img.mnistlab-output"),
                        png_pixels(oracle.output_image.value), f"{what}: output image", timeout_s)
        wait_for_pixels(self.root.locator("img.mnistlab-input"),
                        png_pixels(oracle.input_image.value), f"{what}: input image")
        expected_title = re.sub(r"<[^>]+>", "", oracle.output_title.value)
        assert self.text(".mnistlab-output-title") == expected_title, f"{what}: output title"
        if getattr(oracle, "selected", None) is not None:
            assert self.text(".mnistlab-sum-terms") == oracle.selected.terms(), f"{what}: the clicked pixel's sum"
        status = self.text(".mnistlab-status")
        assert status.endswith(oracle.status_text), f"{what}: status {status!r}, expected {oracle.status_text!r}"
        assert status.startswith("\u26a0") == (not oracle.status_ok), f"{what}: warning mark"


def explore_convolution(page, shots) -> None:
    x, y = first_digits()
    ex = Explorer(page, ConvolutionExplorer(x, y, preset="sobel x"), "01 convolution explorer")
    ex.check("default view")

    control(ex.root, "kernel").locator("select").select_option("sharpen")
    ex.oracle.preset.value = "sharpen"
    ex.check("preset 'sharpen'")

    cells = ex.root.locator(".widget-text input")
    assert cells.count() == 9, f"expected 9 kernel cells, found {cells.count()}"
    cells.nth(4).fill("9")
    ex.oracle.cells[1][1].value = 9.0
    ex.check("centre cell edited to 9")
    assert control(ex.root, "kernel").locator("select").input_value() == "custom", "edited kernel not 'custom'"

    move_slider(ex.root, "digit", 3)
    ex.oracle.digit.value = 3
    ex.check("digit slider moved to 3")
    assert ex.text(".mnistlab-input-title") == "input: digit #3 (label 1), 28x28"

    click_output(ex, 12, 9)
    ex.check("output pixel (12, 9) clicked")
    ex.root.screenshot(path=shots / "01_convolution_explorer.png")

    from mnistlab.examples import REPORT_IMAGE

    report = Explorer(page, ConvolutionExplorer(REPORT_IMAGE[None], preset="report X", scale=False),
                      "01 the report's 6x6 example", nth=1)
    report.oracle.select(0, 0)  # the notebook's code selects it after the page ran
    report.check("the notebook's selection of (0, 0)")
    assert report.text(".mnistlab-sum-terms") == "18 + 51 + 121 + 35 + 204 = 429"
    click_output(report, 2, 3)
    report.check("output pixel (2, 3) clicked")
    assert report.text(".mnistlab-sum-terms").endswith("= 751")


def click_output(ex, row: int, col: int) -> None:
    """Click output pixel (row, col) in the page, as the oracle's ``select`` does headless; then the sums agree."""
    image = ex.root.locator("img.mnistlab-output")
    box = image.bounding_box()
    rows, cols = ex.oracle.output.shape
    factor = max(1, 196 // max(rows, cols))  # the PNG's pixels a cell; the image is shown at its PNG size
    scale = box["width"] / (cols * factor)
    image.click(position={"x": (col + 0.5) * factor * scale, "y": (row + 0.5) * factor * scale})
    ex.oracle.select(row, col)
    expected = ex.oracle.selected.terms()
    wait = time.perf_counter()
    while ex.text(".mnistlab-sum-terms") != expected:
        assert time.perf_counter() - wait < 15, (f"{ex.what}: after clicking ({row}, {col}) the sum shows "
                                                 f"{ex.text('.mnistlab-sum-terms')!r}, expected {expected!r}")
        time.sleep(0.05)


def explore_padding_stride(page, shots) -> None:
    x, y = first_digits()
    oracle = PaddingStrideExplorer(x, y, kind="vertical edges", size=3, padding=1, stride=2)
    ex = Explorer(page, oracle, "02 padding and stride explorer")
    ex.check("default view (3x3, padding 1, stride 2: does not tile)")
    assert "does not tile" in ex.text(".mnistlab-status")

    for name, steps, value, label in [("stride", -1, 1, "output 28x28"), ("kernel size", 2, 5, "output 26x26"),
                                      ("padding", 1, 2, "output 28x28"), ("stride", 1, 2, "output 14x14")]:
        move_slider(ex.root, name, steps)
        getattr(oracle, {"kernel size": "size"}.get(name, name)).value = value
        ex.check(f"{name} moved to {value}")
        assert ex.text(".mnistlab-output-title") == label
    status = ex.text(".mnistlab-status")
    assert "does not tile: frameworks give 14x14" in status, status

    move_slider(ex.root, "kernel size", -4)  # padding is tied to the kernel: at most size - 1, so 0
    oracle.size.value = 1
    ex.check("kernel size moved to 1")
    assert slider_value(ex.root, "padding") == "0", "padding not clamped to kernel size - 1"
    move_slider(ex.root, "kernel size", 2)
    oracle.size.value = 3
    ex.check("kernel size moved back to 3")
    rows, cols = oracle.output.shape
    click_output(ex, rows - 1, cols - 1)  # the last window: the padded columns after it are in none
    ex.check("the last output pixel clicked")
    ex.root.screenshot(path=shots / "02_padding_stride_explorer.png")


def explore_pooling(page, shots) -> None:
    x, y = first_digits()
    oracle = PoolingExplorer(x, y, source="feature map: vertical edges", size=2, mode="max")
    ex = Explorer(page, oracle, "03 pooling explorer")
    ex.check("default view")

    control(ex.root, "mode").locator("button", has_text="avg").click()
    oracle.mode.value = "avg"
    ex.check("mode avg")
    assert ex.text(".mnistlab-output-title") == "avg pooled 14x14"

    move_slider(ex.root, "window", 1)
    oracle.size.value = 3
    ex.check("window 3, stride 2")
    assert "does not tile: frameworks give 13x13" in ex.text(".mnistlab-status")

    move_slider(ex.root, "window", 1)
    oracle.size.value = 4
    move_slider(ex.root, "stride", 2)
    oracle.stride.value = 4
    ex.check("window 4, stride 4")
    assert ex.text(".mnistlab-output-title") == "avg pooled 7x7"

    control(ex.root, "mode").locator("button", has_text="l2").click()
    oracle.mode.value = "l2"
    control(ex.root, "pool").locator("select").select_option("digit")
    oracle.source.value = "digit"
    ex.check("l2 pooling of the digit itself")
    ex.root.screenshot(path=shots / "03_pooling_explorer.png")


def ellipse(cx, cy, rx, ry, n=36):
    return [(cx + rx * math.sin(2 * math.pi * k / n), cy - ry * math.cos(2 * math.pi * k / n)) for k in range(n + 1)]


def through(*points, n=8):
    """A polyline through ``points``, with ``n`` mouse positions per segment."""
    path = [points[0]]
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        path += [(x0 + (x1 - x0) * k / n, y0 + (y1 - y0) * k / n) for k in range(1, n + 1)]
    return path


#: Digits drawn with the mouse, stroke by stroke, on the 280x280 pad.
DRAWN = {0: [ellipse(140, 140, 55, 85)], 1: [through((145, 50), (135, 230))],
         7: [through((85, 60), (195, 60), (120, 230))], 4: [through((170, 50), (80, 170), (210, 170)),
                                                            through((170, 50), (170, 240))]}


def wait_for_text(locator, pattern: str, what: str, timeout_s: float = 15) -> float:
    """Poll until the locator's text matches; returns the seconds it took."""
    start = time.perf_counter()
    while True:
        text = locator.inner_text().strip()
        if re.search(pattern, text):
            return time.perf_counter() - start
        if time.perf_counter() - start > timeout_s:
            raise AssertionError(f"{what}: expected text matching {pattern!r}, the page shows {text!r}")
        time.sleep(0.02)


def draw_digits(page, shots) -> None:
    """The drawing pad of notebook 07: digits drawn with the mouse are read; undo, clear, an empty pad."""
    pad = page.locator(".mnistlab-drawing")
    assert pad.count() == 1, f"expected one drawing pad, found {pad.count()}"
    prediction = pad.locator(".mnistlab-prediction")
    wait_for_text(prediction, r"^reads 7 ", "the 7 drawn by the notebook's code")
    canvas = pad.locator(".mnistlab-pad")

    def draw(stroke) -> None:
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()  # again for every stroke: a screenshot or a new output may scroll the page
        assert abs(box["width"] - 280) < 2 and abs(box["height"] - 280) < 2, f"the pad is {box}"
        page.mouse.move(box["x"] + stroke[0][0], box["y"] + stroke[0][1])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y)
        page.mouse.up()

    # Timed in the page: from the mouse's release to the first change of the answer shown.
    prediction.evaluate("""(node) => {
      const clock = window.mnistlabPad = {up: null, shown: null};
      document.addEventListener('mouseup', () => { clock.up = performance.now(); clock.shown = null; }, true);
      new MutationObserver(() => { if (clock.up !== null && clock.shown === null) clock.shown = performance.now(); })
        .observe(node, {subtree: true, childList: true, characterData: true});
    }""")
    latencies = []
    for digit, strokes in DRAWN.items():
        pad.get_by_role("button", name="clear").click()
        wait_for_text(prediction, "the pad is empty", f"clear before drawing a {digit}")
        for stroke in strokes:
            draw(stroke)
        wait_for_text(prediction, rf"^reads {digit} ", f"a {digit} drawn with the mouse")
        latencies.append(page.evaluate("() => window.mnistlabPad.shown - window.mnistlabPad.up"))
        assert pad.locator("img.mnistlab-maps-conv1").count() == 1
    print(f"\ndrawing pad in the browser: from the mouse's release to the answer shown, {min(latencies):.0f}-"
          f"{max(latencies):.0f} ms (median {sorted(latencies)[len(latencies) // 2]:.0f})")
    # The pad with its feature maps is taller than the window: JupyterLab shows only what fits its panel, so the
    # window grows for the picture (else the maps below the fold come out grey), then goes back.
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": 2400})
    pad.scroll_into_view_if_needed()
    pad.screenshot(path=shots / "07_drawing_pad.png")
    page.set_viewport_size(size)

    draw(through((252, 60), (252, 220)))  # a second mark, like a 1, beside the 4
    wait_for_text(prediction, "separate marks side by side", "a second mark beside the digit")
    pad.get_by_role("button", name="undo").click()
    wait_for_text(prediction, r"^reads 4 ", "undo the second mark")
    pad.get_by_role("button", name="clear").click()
    wait_for_text(prediction, "the pad is empty: draw a digit", "an empty pad")


def explore_transforms(page, shots) -> None:
    """Notebook 08's transform explorer, beside an oracle reading with the same cached robust CNN."""
    from mnistlab import inference, training
    from mnistlab.widgets import TransformExplorer

    _, (x_test, y_test) = load_mnist()
    model = training.load_or_train(training.DEFAULTS["robust"], progress=False).model
    oracle = TransformExplorer(inference.predictor(model), x_test[:100], y_test[:100], transform="rotate",
                               strength=30)
    ex = Explorer(page, oracle, "08 transform explorer")
    ex.check("default view: turned 30 degrees")

    move_slider(ex.root, "strength", 1)
    oracle.strength.value = 45
    ex.check("turned 45 degrees")

    control(ex.root, "transform").locator("select").select_option("shift diagonal")
    oracle.transform.value = "shift diagonal"
    ex.check("a new transform starts unchanged")
    assert slider_value(ex.root, "strength") == "0"
    move_slider(ex.root, "strength", 5)
    oracle.strength.value = 5
    ex.check("shifted 5 pixels right and down")

    move_slider(ex.root, "digit", 8)
    oracle.digit.value = 8
    ex.check("digit 8")
    ex.root.screenshot(path=shots / "08_transform_explorer.png")


EXPLORERS = {"01_convolution.ipynb": explore_convolution, "02_padding_stride.ipynb": explore_padding_stride,
             "03_pooling.ipynb": explore_pooling, "07_evaluation.ipynb": draw_digits,
             "08_beyond_the_test_set.ipynb": explore_transforms}


# The notebooks with widgets: only they need a browser. The others run once, under nbval, and their exercise
# cells, solved and unsolved, run in tests/test_exercises.py.
WIDGET_NOTEBOOKS = [p.name for p in NOTEBOOKS if p.name in EXPLORERS]


#: The notebooks that read the trained models (cached by nbval's run by then): driven in test_lab_trained.py. nbval
#: runs them whole (08 evaluates models for about two minutes); in the browser each is cut to :func:`browser_cells`.
READ_TRAINED_MODELS = ("07_evaluation.ipynb", "08_beyond_the_test_set.ipynb")


def browser_cells(path) -> list[str]:
    """The sources of a notebook cut for the browser: its first code cell, its exercises solved (the cells a restarted
    kernel runs, tests/test_restart.py) and every code cell from its first widget on (the cells that use it). What a
    page adds to nbval's whole run: the widgets rendered and used, no error or stderr in JupyterLab."""
    nb, wanted = restart_cells(path)
    code = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"]
    widget = min(i for i in code if shows_a_widget(nb.cells[i]))
    return [nb.cells[i].source for i in sorted({code[0], *wanted, *(i for i in code if i >= widget)})]


def run_in_jupyterlab(lab, page, screenshot_dir, notebook: str) -> None:
    """Run all cells in the browser (of :data:`READ_TRAINED_MODELS`, their :func:`browser_cells`): no error, no
    stderr, every widget rendered; then use its explorer."""
    lab.shutdown_kernels()  # the notebooks opened before: a fresh kernel, as for a learner opening this one
    if notebook in READ_TRAINED_MODELS:
        lab.add_notebook(notebook, *browser_cells(ROOT / "notebooks" / notebook))
    open_notebook(page, lab.notebook_url(notebook))
    report = run_all(page, notebook)
    assert not report.problems(), f"{notebook} in JupyterLab:\n" + "\n".join(report.problems())
    if notebook in EXPLORERS:
        assert report.widgets >= 1, f"{notebook}: no widget output at all"
        EXPLORERS[notebook](page, screenshot_dir)
    errors = callback_errors(page)
    assert not errors, f"{notebook}: a widget callback raised:\n" + "\n".join(errors)
