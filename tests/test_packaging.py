"""The install: pyproject.toml and environment.yml agree, and `import mnistlab` stays light."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+; the course itself runs on 3.10 too

ROOT = Path(__file__).resolve().parents[1]


def _requirement(spec: str) -> tuple[str, str]:
    """('scikit-learn', '>=1.3') from 'scikit-learn>=1.3' (names normalised as pip does)."""
    match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*", spec)
    assert match, spec
    return re.sub(r"[-_.]+", "-", match[1]).lower(), match[2].replace(" ", "")


def pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        specs += extra
    return dict(_requirement(s) for s in specs)


def conda_requirements() -> dict[str, str]:
    """The conda entries of environment.yml (a flat YAML list, read without a YAML dependency)."""
    entries, in_deps = {}, False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        code = line.split("#", 1)[0].rstrip()
        if code.startswith("dependencies:"):
            in_deps = True
            continue
        match = re.fullmatch(r"  - ([^:]+)", code)
        if in_deps and match:
            name, bound = _requirement(match[1])
            entries[name] = bound
    return entries


def test_environment_yml_matches_pyproject():
    conda = conda_requirements()
    assert conda.pop("python") == ">=3.10"
    assert conda.pop("pip") == ""
    assert conda == pyproject_requirements()


def test_environment_yml_installs_the_package_with_pip():
    text = (ROOT / "environment.yml").read_text()
    assert re.search(r"^\s+- pip:\n\s+- -e \.", text, re.M)


def test_no_exact_pins():
    assert all(not bound.startswith("==") for bound in pyproject_requirements().values())


def test_import_is_light_and_skips_tensorflow():
    code = ("import sys, time; t = time.perf_counter(); import mnistlab, mnistlab.data, mnistlab.preprocess; "
            "print(time.perf_counter() - t); "
            "print(sorted(m for m in ('tensorflow', 'keras', 'matplotlib', 'pandas', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[1] == "[]", f"import mnistlab pulled in {out[1]}"
    assert float(out[0]) < 1.0


def test_console_command_is_installed():
    out = subprocess.run([sys.executable, "-m", "mnistlab.cli", "--help"], capture_output=True, text=True, check=True)
    assert "course" in out.stdout and "data" in out.stdout


def test_bundled_data_is_package_data():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "datasets/mnist/*.gz" in project["tool"]["setuptools"]["package-data"]["mnistlab"]
    assert "measured/*.csv" in project["tool"]["setuptools"]["package-data"]["mnistlab"]
    assert "pretrained/*.npz" in project["tool"]["setuptools"]["package-data"]["mnistlab"]


def test_the_measured_recipes_table_ships_with_the_package():
    """Notebook 07 shows what benchmarks/bench_cnn.py measured; the table must load without TensorFlow."""
    import subprocess
    import sys

    code = ("import sys\nfrom mnistlab.recipes import tried\nt = tried()\n"
            "print('tensorflow' in sys.modules, t.index[0], len(t), '|'.join(t.columns), sep='\\n')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[:3] == ["False", "best", "7"], out
    assert out[3].split("|") == ["what changes", "parameters", "forward MFLOP", "epochs", "batch", "training s",
                                 "validation accuracy %", "shift 4 diagonal %", "rotate 20 %"]
