"""`mnistlab course` and `mnistlab data`: headless runs, build folder, exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from notebook_files import write_notebook

from mnistlab.cli import main
from mnistlab.course import copy_course, find_notebooks, run_course


@pytest.fixture
def course(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_notebook(folder / "01_second.ipynb", "print(6 * 7)")
    write_notebook(folder / "00_first.ipynb", "import os\nprint(os.path.basename(os.getcwd()))")
    (folder / ".ipynb_checkpoints").mkdir()
    return folder


def test_runs_in_order_into_build_without_touching_sources(course, tmp_path):
    before = {p.name: p.read_text() for p in course.glob("*.ipynb")}
    results = run_course(course, tmp_path / "build", progress=False, log=lambda s: None)
    assert [r.source.name for r in results] == ["00_first.ipynb", "01_second.ipynb"]
    assert all(r.ok for r in results)
    executed = nbformat.read(tmp_path / "build" / "01_second.ipynb", 4)
    assert executed.cells[0].outputs[0]["text"] == "42\n"
    first = nbformat.read(tmp_path / "build" / "00_first.ipynb", 4)
    assert first.cells[0].outputs[0]["text"] == "notebooks\n"  # the kernel starts in the notebook's folder
    assert (tmp_path / "build" / "00_first.html").exists()
    assert {p.name: p.read_text() for p in course.glob("*.ipynb")} == before


def test_failure_is_reported_and_exits_non_zero(course, tmp_path, capsys):
    write_notebook(course / "02_broken.ipynb", "raise ValueError('boom')")
    code = main(["course", "--notebooks", str(course), "--build", str(tmp_path / "b"), "--no-html", "--no-progress"])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL 02_broken.ipynb" in out and "ValueError: boom" in out
    assert "2 passed, 1 failed" in out


def test_refuses_to_build_into_the_sources(course):
    with pytest.raises(ValueError, match="--in-place"):
        run_course(course, course, progress=False)


def test_missing_folder_is_a_clear_error(tmp_path, capsys):
    assert main(["course", "--notebooks", str(tmp_path / "nope")]) == 2
    assert "nope: no such folder of notebooks" in capsys.readouterr().err


def test_find_notebooks_skips_checkpoints(course):
    assert [p.name for p in find_notebooks(course)] == ["00_first.ipynb", "01_second.ipynb"]


def test_data_command_verifies_checksums():
    out = subprocess.run([sys.executable, "-m", "mnistlab.cli", "data"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("verified") == 4
    assert "6bbc9ace898e44ae57da46a324031adb" in out.stdout and "CC BY-SA 3.0" in out.stdout


def test_every_input_error_is_one_class_reported_by_main_in_one_line(capsys, tmp_path):
    from mnistlab.data import DataError
    from mnistlab.errors import MnistlabError
    from mnistlab.photo import DigitImageError
    from mnistlab.recipes import ConfigError

    assert all(issubclass(cls, MnistlabError) for cls in (DataError, DigitImageError, ConfigError))
    assert main(["course", "--notebooks", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err == (f"mnistlab course: {tmp_path / 'nowhere'}: no such folder of notebooks "
                   "(run from the course's root, or pass --notebooks)\n")
    assert main(["course", "--notebooks", str(tmp_path), "--build", str(tmp_path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--epochs", "many"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err == ("mnistlab train: argument --epochs: invalid int value: 'many' "
                                       "(see 'mnistlab train --help')\n")


def test_the_model_options_state_each_model_s_own_defaults(capsys):
    """The defaults --help states are the ones the command uses: recipes.DEFAULTS (the robust CNN on 50,000)."""
    from mnistlab.recipes import DEFAULTS

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for field in ("train_size", "epochs", "batch_size"):
        assert ", ".join(f"{getattr(c, field)} for {name}" for name, c in DEFAULTS.items()) in text
    assert "50000 for robust" in text


def test_solutions_fill_every_exercise_and_fail_on_a_wrong_check(tmp_path, monkeypatch):
    from mnistlab.exercises import exercise

    monkeypatch.setenv("MNISTLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("MNISTLAB_DATA", str(tmp_path / "data"))
    folder = tmp_path / "notebooks"
    folder.mkdir()
    setup = "from mnistlab.exercises import exercise"
    source = write_notebook(folder / "00_solved.ipynb", setup, exercise("02.1").cell(), exercise("03.3").cell())
    write_notebook(folder / "01_wrong.ipynb", setup, 'exercise("02.1").check(11)  # not an exercise cell: kept as is')
    before = source.read_text()
    unsolved = run_course(folder, tmp_path / "plain", select=["00"], progress=False, log=lambda s: None)
    assert unsolved[0].ok  # unsolved exercises say "not yet" and never fail the notebook
    assert "Not yet" in nbformat.read(tmp_path / "plain" / "00_solved.ipynb", 4).cells[1].outputs[0]["text"]

    results = run_course(folder, tmp_path / "build", progress=False, log=lambda s: None, solutions=True)
    assert source.read_text() == before  # the learner's notebook is never filled in
    assert results[0].ok, results[0].error
    solved = nbformat.read(tmp_path / "build" / "00_solved.ipynb", 4)
    assert solved.cells[1].source.startswith('# EXERCISE 02.1: solution\nq = exercise("02.1")\nanswer = (28 - 5')
    assert "\u2714 Correct" in solved.cells[2].outputs[0]["text"]
    assert not results[1].ok and "ExerciseFailed" in results[1].error and "you forgot the + 1" in results[1].error
    from mnistlab.exercises import solved as solved_keys

    assert set(solved_keys()) == {"02.1", "03.3"}  # the kernels wrote the progress into this test's data folder
    assert main(["course", "--notebooks", str(folder), "--solutions", "--in-place"]) == 2


NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def test_a_learner_copy_has_the_course_s_cells_without_a_single_output(tmp_path):
    from mnistlab.site import link_targets

    copies = copy_course(NOTEBOOKS, tmp_path / "mine")
    assert [c.path.name for c in copies] == [p.name for p in find_notebooks(NOTEBOOKS)] and len(copies) == 9
    assert all(c.written for c in copies)
    relinked = 0
    for c in copies:
        course, mine = nbformat.read(NOTEBOOKS / c.path.name, 4), nbformat.read(c.path, 4)
        assert "widgets" not in mine.metadata and mine.metadata.kernelspec == course.metadata.kernelspec
        assert [cell.metadata for cell in mine.cells] == [cell.metadata for cell in course.cells]  # nbval's tags
        for ours, theirs in zip(mine.cells, course.cells, strict=True):
            if ours.cell_type == "code":
                assert ours.outputs == [] and ours.execution_count is None and ours.source == theirs.source
                continue
            relinked += ours.source != theirs.source
            for new, old in zip(link_targets(ours.source), link_targets(theirs.source), strict=True):
                if (NOTEBOOKS / old).resolve().parent == NOTEBOOKS:  # another notebook: the learner's own copy
                    assert new == old
                else:  # the README, docs/: the course's own files, from the copy
                    assert (c.path.parent / new).resolve() == (NOTEBOOKS / old).resolve()
                assert (c.path.parent / new).exists(), (c.path.name, new)
    assert relinked >= 1  # notebook 08's links to ../README.md and ../docs


def test_a_learner_copy_never_overwrites_a_notebook_already_there(tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "02_padding_stride.ipynb").write_text("my own work, not even JSON")
    assert main(["copy", str(mine), "--notebooks", str(NOTEBOOKS)]) == 0
    out = capsys.readouterr().out
    assert (mine / "02_padding_stride.ipynb").read_text() == "my own work, not even JSON"
    assert f"kept  {mine / '02_padding_stride.ipynb'}" in out and "delete it for a fresh copy" in out
    assert "8 notebooks copied" in out and "1 kept as they were" in out
    first = (mine / "05_cnn.ipynb").read_text()
    (mine / "05_cnn.ipynb").write_text(first.replace("Conv2D", "Conv2D "))  # a learner's edit
    assert main(["copy", str(mine), "--notebooks", str(NOTEBOOKS)]) == 0
    assert "0 notebooks copied" in capsys.readouterr().out
    assert (mine / "05_cnn.ipynb").read_text() == first.replace("Conv2D", "Conv2D ")


def test_a_learner_copy_refuses_a_file_and_the_course_s_own_folder_in_one_line(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert main(["copy", str(tmp_path / "file"), "--notebooks", str(NOTEBOOKS)]) == 2
    assert capsys.readouterr().err == (f"mnistlab copy: {tmp_path / 'file'}: is a file; expected a folder for your "
                                       "copy of the notebooks\n")
    assert main(["copy", str(NOTEBOOKS), "--notebooks", str(NOTEBOOKS)]) == 2
    assert "is the course's own folder" in capsys.readouterr().err
    assert main(["copy", str(tmp_path / "x"), "--notebooks", str(tmp_path / "none")]) == 2
    assert "no such folder of notebooks" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_course_never_writes_over_a_folder_that_is_not_its_own_build(course, tmp_path, capsys):
    """A learner's copy given as --build is refused, untouched; a new folder becomes a build a later run may replace."""
    mine = tmp_path / "my-course"
    copy_course(NOTEBOOKS, mine)
    before = {p.name: p.read_bytes() for p in mine.iterdir()}
    assert main(["course", "--notebooks", str(course), "--build", str(mine), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "holds files that are not an earlier build" in err and err.count("\n") == 1
    assert {p.name: p.read_bytes() for p in mine.iterdir()} == before
    build = tmp_path / "build"
    for _ in range(2):  # the second run replaces the first's copies
        assert all(r.ok for r in run_course(course, build, html=False, progress=False, log=lambda s: None))


def _root_conftest():
    """The repository's conftest.py (the test order, the workers' split), loaded as a module of its own."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("root_conftest", Path(__file__).resolve().parents[1] / "conftest.py")
    conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conftest)
    return conftest


def test_pytest_sends_each_file_whole_to_a_worker_in_the_course_order():
    """pytest-xdist's documented ``loadfile`` keeps a notebook's cells on one worker (they share a kernel), in the
    order the root conftest sets: the notebooks that train first, then the long files that need nothing they
    train, then those that read what they trained, then the solved course, then the short files."""
    from pathlib import Path
    from types import SimpleNamespace

    root = Path(__file__).resolve().parents[1]
    addopts = next(line for line in (root / "pyproject.toml").read_text().splitlines() if line.startswith("addopts"))
    assert "--dist loadfile" in addopts and "--no-loadscope-reorder" in addopts
    conftest = _root_conftest()
    for path in (*conftest.FIRST, *conftest.LONG, *conftest.AFTER):
        assert (root / path).is_file(), path

    def item(nodeid: str, mark: str | None = None):
        return SimpleNamespace(nodeid=nodeid, get_closest_marker=lambda name: name if name == mark else None)

    items = [item("tests/e2e/test_site_browser.py::test_front_page", "e2e"),
             item("tests/e2e/test_lab_trained.py::test_notebook_in_jupyterlab[07_evaluation.ipynb]", "e2e"),
             item("notebooks/08_beyond_the_test_set.ipynb::Cell 0"), item("tests/test_ops.py::test_conv"),
             item("tests/test_solutions.py::test_the_course_with_every_exercise_solved", "solutions"),
             item("tests/test_restart.py::test_first_cell_sets_up_every_exercise_and_widget[07_evaluation.ipynb]"),
             item("notebooks/04_baselines.ipynb::Cell 0"), item("notebooks/00_data.ipynb::Cell 0"),
             item("tests/test_exercises.py::test_x"), item("tests/e2e/test_lab.py::test_notebook_in_jupyterlab", "e2e"),
             item("notebooks/07_evaluation.ipynb::Cell 0"), item("notebooks/05_cnn.ipynb::Cell 0"),
             item("notebooks/05_cnn.ipynb::Cell 1"), item("tests/test_cnn.py::test_y"),
             item("notebooks/06_how_it_learns.ipynb::Cell 0")]
    conftest.pytest_collection_modifyitems(items)
    assert [i.nodeid.split("::")[0].split("/")[-1] for i in items] == [
        "05_cnn.ipynb", "05_cnn.ipynb", "04_baselines.ipynb", "test_lab.py", "test_cnn.py", "test_exercises.py",
        "06_how_it_learns.ipynb",
        "07_evaluation.ipynb", "08_beyond_the_test_set.ipynb", "test_restart.py", "test_lab_trained.py",
        "test_solutions.py", "test_site_browser.py", "test_ops.py", "00_data.ipynb"]


def test_pytest_workers_share_the_cores(monkeypatch):
    """Each xdist worker gets its share of the cores for TensorFlow and BLAS, and a value set by hand is kept."""
    import os

    conftest = _root_conftest()
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    for environ, threads in [({"PYTEST_XDIST_WORKER_COUNT": "2"}, "1"), ({"PYTEST_XDIST_WORKER_COUNT": "3"}, "1"),
                             ({"PYTEST_XDIST_WORKER_COUNT": "1"}, "2"),
                             ({"PYTEST_XDIST_WORKER_COUNT": "2", "MNISTLAB_THREADS": "2"}, "2"), ({}, None)]:
        conftest.share_the_cores(environ)
        assert environ.get("MNISTLAB_THREADS") == threads
