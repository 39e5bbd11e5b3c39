"""The course in a real browser: a JupyterLab server on loopback and headless Chromium driven by Playwright.

The server runs on a learner's copy of ``notebooks/`` (``mnistlab copy``) in a temporary folder, with its own
settings (no autosave, no news, every cell kept in the page), so nothing the user owns is touched. It is stopped
whatever happens. Without Chromium or Playwright the suite is skipped, unless ``MNISTLAB_E2E=1`` (set by CI),
where it fails instead.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest
from labserver import ROOT, LabServer

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _required() -> bool:
    return os.environ.get("MNISTLAB_E2E", "") not in ("", "0")


def _unavailable(reason: str):
    if _required():
        pytest.fail(f"browser tests required (MNISTLAB_E2E=1) but {reason}", pytrace=False)
    pytest.skip(reason)


def chromium_path() -> str | None:
    """Chromium for Playwright: $MNISTLAB_CHROMIUM, else the system's (Debian: apt-get install chromium)."""
    if os.environ.get("MNISTLAB_CHROMIUM"):
        return os.environ["MNISTLAB_CHROMIUM"]
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return None


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium, shared by the suite."""
    if importlib.util.find_spec("jupyterlab") is None:
        _unavailable("JupyterLab is not installed (pip install -e '.[course]')")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed (pip install playwright)")
    executable = chromium_path()
    if executable is None or not Path(executable).is_file():
        _unavailable(f"no Chromium found{f' at {executable}' if executable else ''} "
                     "(Debian: apt-get install chromium; or set MNISTLAB_CHROMIUM to a Chromium executable)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def lab(browser, tmp_path_factory):
    """A JupyterLab server for the suite, over the notebooks with their exercises solved; stopped at the end
    whatever happens."""
    server = LabServer(tmp_path_factory.mktemp("lab"), solutions=True)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def page(browser):
    """A fresh browser page at 1400x1000, closed after the test."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """Where explorer screenshots go: $MNISTLAB_SCREENSHOTS, else build/e2e/screenshots."""
    path = Path(os.environ.get("MNISTLAB_SCREENSHOTS", ROOT / "build" / "e2e" / "screenshots"))
    path.mkdir(parents=True, exist_ok=True)
    return path
