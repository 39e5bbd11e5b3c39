"""The notebooks with widgets run in JupyterLab in Chromium, their exercises solved: here the explorers of notebooks
01 to 03 (tests/e2e/explorers.py drives them), and the checks that the suite sees what goes wrong; the notebooks
that read the trained models run in test_lab_trained.py.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from explorers import (
    READ_TRAINED_MODELS,
    WIDGET_NOTEBOOKS,
    Explorer,
    first_digits,
    run_in_jupyterlab,
    wait_for_text,
)
from labpage import control, move_slider, open_notebook, png_pixels, run_all, wait_for_callback_error
from labserver import NOTEBOOKS, LabServer
from notebook_files import shows_a_widget

from mnistlab.widgets import PaddingStrideExplorer

pytestmark = pytest.mark.e2e


def test_every_notebook_with_a_widget_is_driven_here():
    """A notebook that shows a widget (in its stored outputs) runs in JupyterLab (below or in test_lab_trained.py),
    and only those do."""
    import nbformat

    with_widgets = [p.name for p in NOTEBOOKS if any(shows_a_widget(cell) for cell in nbformat.read(p, 4).cells)]
    assert with_widgets == WIDGET_NOTEBOOKS, f"notebooks with widgets {with_widgets}, driven here {WIDGET_NOTEBOOKS}"


@pytest.mark.parametrize("notebook", [name for name in WIDGET_NOTEBOOKS if name not in READ_TRAINED_MODELS])
def test_notebook_in_jupyterlab(lab, page, screenshot_dir, notebook):
    """Run all cells in the browser: no error, no stderr, every widget rendered; then use its explorer."""
    run_in_jupyterlab(lab, page, screenshot_dir, notebook)


# One explorer and nothing else: the two checks below prove the suite's eyes, not a notebook.
PROBE = "probe_explorer.ipynb"
PROBE_CELLS = ("from mnistlab.data import load_mnist\nfrom mnistlab.widgets import PaddingStrideExplorer\n\n"
               "(x_train, y_train), _ = load_mnist()",
               "explorer = PaddingStrideExplorer(x_train[:100], y_train[:100], kind=\"vertical edges\", size=3, "
               "padding=1, stride=2)\nexplorer")


def test_suite_sees_a_missing_widget_extension(browser, page, tmp_path_factory):
    """The checks above fail when JupyterLab lacks the widget front-end: try it with it disabled."""
    server = LabServer(tmp_path_factory.mktemp("lab-no-widgets"),
                       disabled_extensions=("@jupyter-widgets/jupyterlab-manager",))
    try:
        server.add_notebook(PROBE, *PROBE_CELLS)
        open_notebook(page, server.notebook_url(PROBE))
        report = run_all(page, PROBE, render_s=5)
    finally:
        server.stop()
    problems = report.problems()
    assert any("did not render" in p for p in problems), f"a missing extension went unnoticed: {problems}"


def test_suite_sees_a_raising_callback(lab, page):
    """The checks above fail when an explorer's callback raises: break one in the kernel and move a slider.
    (And "Run All" is not sent to a notebook other than the one named.)"""
    lab.shutdown_kernels()  # not the kernel of the run above, with its widgets
    lab.add_notebook(PROBE, *PROBE_CELLS)
    open_notebook(page, lab.notebook_url(PROBE))
    elsewhere = run_all(page, "01_convolution.ipynb", render_s=0)
    assert elsewhere.result.startswith("not sent") and elsewhere.problems(), elsewhere
    assert not run_all(page, PROBE).problems()
    page.evaluate("""async () => {
      const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
      await kernel.requestExecute({code: 'explorer.update = lambda: 1 / 0', silent: true}).done;
    }""")
    x, y = first_digits()
    ex = Explorer(page, PaddingStrideExplorer(x, y, kind="vertical edges", size=3, padding=1, stride=2), PROBE)
    move_slider(ex.root, "stride", -1)
    ex.oracle.stride.value = 1
    wait_for_text(control(ex.root, "stride").locator(".widget-readout"), r"^1$", "the stride slider, one step left")
    errors = wait_for_callback_error(page, "ZeroDivisionError")
    raw = page.evaluate("() => window.mnistlabCallbackErrors")
    assert any("ZeroDivisionError" in e for e in errors), f"the raising callback went unnoticed: {errors} (all: {raw})"
    with pytest.raises(AssertionError, match="does not show the expected image"):
        ex.check("after the stride change", timeout_s=3)  # the callback has raised: nothing more will come


THEMES = ("JupyterLab Light", "JupyterLab Dark")


def _luminance(rgb) -> float:
    return float(0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2])


def test_figures_readable_in_light_and_dark_themes(lab, page, screenshot_dir):
    """A figure drawn in JupyterLab keeps its own white page in either theme, so its black titles, labels and ticks
    stay readable on a dark background; a screenshot of notebook 00 in each theme is kept."""
    lab.shutdown_kernels()
    open_notebook(page, lab.notebook_url("00_data.ipynb"))
    report = run_all(page, "00_data.ipynb")  # figures drawn by the kernel JupyterLab runs, not the stored ones
    assert not report.problems(), "\n".join(report.problems())
    figure = page.locator(".jp-OutputArea-output img").first
    try:
        for theme in THEMES:
            page.evaluate("theme => window.jupyterapp.commands.execute('apputils:change-theme', {theme})", theme)
            page.wait_for_function("theme => document.body.dataset.jpThemeName === theme", arg=theme,
                                   timeout=30_000)
            figure.scroll_into_view_if_needed()
            page.wait_for_timeout(500)  # the theme's stylesheet applied
            background = page.evaluate("() => getComputedStyle(document.querySelector('.jp-Notebook'))"
                                       ".backgroundColor")
            rgb = [int(v) for v in re.findall(r"\d+", background)[:3]]
            dark = theme.endswith("Dark")
            assert (_luminance(rgb) < 100) == dark, f"{theme}: the notebook's background is {background}"
            name = theme.split()[-1].lower()
            page.screenshot(path=str(screenshot_dir / f"theme-{name}.png"))
            pixels = png_pixels(figure.screenshot(path=str(screenshot_dir / f"theme-{name}-figure.png")))
            lum = 0.2126 * pixels[..., 0] + 0.7152 * pixels[..., 1] + 0.0722 * pixels[..., 2]
            border = np.concatenate([lum[:3].ravel(), lum[-3:].ravel(), lum[:, :3].ravel(), lum[:, -3:].ravel()])
            assert np.median(border) > 230, f"{theme}: the figure's page is not white (median {np.median(border)})"
            assert (lum < 80).mean() > 0.002, f"{theme}: no dark text or lines on the figure"
    finally:
        page.evaluate("theme => window.jupyterapp.commands.execute('apputils:change-theme', {theme})", THEMES[0])
