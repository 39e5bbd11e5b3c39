"""`mnistlab course --solutions`: every notebook run with each exercise filled in by its solution; every
check must pass, so no exercise is unsolvable. Runs after nbval (the models are cached by then).

Where the browser suite must run (``MNISTLAB_E2E=1``, as in CI) this test steps aside rather than run every
notebook again: the suite runs the solved notebooks with widgets in JupyterLab (tests/e2e/labserver.py; 07 and 08
cut to their first cell, exercises and explorers), tests/test_restart.py runs every notebook's solved exercises after
only its first cell, and every exercise cell, solved and unsolved, runs in tests/test_exercises.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mnistlab.course import run_course

pytestmark = pytest.mark.solutions

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(os.environ.get("MNISTLAB_E2E", "") not in ("", "0"),
                    reason="the browser suite (required here by MNISTLAB_E2E) runs the solved notebooks with widgets")
def test_the_course_with_every_exercise_solved(tmp_path):
    results = run_course(ROOT / "notebooks", tmp_path, html=False, progress=False, log=lambda line: None,
                         solutions=True)
    failed = [f"{r.source.name}: {r.error}" for r in results if not r.ok]
    assert not failed, "\n".join(failed)
