"""The notebooks that read the trained models in JupyterLab in Chromium, cut to their first code cell, their
exercises solved and their cells from the first widget on (nbval runs them whole): digits drawn with the mouse on
notebook 07's drawing pad, and notebook 08's transform explorer beside an oracle reading with the same cached robust
CNN (tests/e2e/explorers.py drives them). A file of their own, run after notebook 08 has computed what they read,
where test_lab.py runs early (the root conftest.py orders them).
"""

from __future__ import annotations

import pytest
from explorers import READ_TRAINED_MODELS, WIDGET_NOTEBOOKS, run_in_jupyterlab

pytestmark = pytest.mark.e2e


# 08's explorer test reads with the cached robust CNN here, beside the page: TensorFlow in this process.
@pytest.mark.parametrize("notebook", [pytest.param(name, marks=pytest.mark.tensorflow) if name.startswith("08")
                                      else name for name in WIDGET_NOTEBOOKS if name in READ_TRAINED_MODELS])
def test_notebook_in_jupyterlab(lab, page, screenshot_dir, notebook):
    """Its cells cut for the browser, run there: no error, no stderr, every widget rendered; then use its explorer."""
    run_in_jupyterlab(lab, page, screenshot_dir, notebook)
