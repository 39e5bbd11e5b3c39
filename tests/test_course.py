"""`mnistlab course` and `mnistlab data`: headless runs, build folder, exit codes."""

from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest
from notebook_files import write_notebook

from mnistlab.cli import main
from mnistlab.course import find_notebooks, run_course


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


def _root_conftest():
    """The repository's conftest.py (the test order, the workers' split), loaded as a module of its own."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("root_conftest", Path(__file__).resolve().parents[1] / "conftest.py")
    conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conftest)
    return conftest


def test_pytest_runs_the_course_in_order_on_one_worker():
    """Under pytest-xdist the cells of each notebook stay together on one worker; the notebook that fits the
    baselines alone (04) is a unit of its own that starts first beside the course, and every other notebook that
    reads or fills the model cache goes with the course (one worker, in order) with its browser test; the
    others, the unit tests and the other browser tests go to whichever worker is free."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    conftest = _root_conftest()
    unit = conftest.unit_of_work
    assert unit("tests/test_solutions.py::test_the_course_with_every_exercise_solved") == "the course"
    assert unit("tests/test_ops.py::test_max_pool_matches_tf") == "tests/test_ops.py::test_max_pool_matches_tf"
    assert unit("tests/e2e/test_lab.py::test_suite_sees_a_raising_callback") == "the browser"
    apart, fits_the_baselines = [], []
    for path in find_notebooks(root / "notebooks"):
        nb = nbformat.read(path, 4)
        units = {unit(f"notebooks/{path.name}::Cell {i}") for i in range(len(nb.cells))}
        assert len(units) == 1, f"the cells of {path.name} would run on different workers"
        code = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")
        reads_the_cache = any(word in code for word in ("load_or_", "training.", "cached("))
        browser = unit(f"tests/e2e/test_lab.py::test_notebook_in_jupyterlab[{path.name}]")
        if "baselines.load_or_" in code and "training." not in code:
            assert units == {"the baselines"}, f"{path.name} fits the baselines alone: it runs apart, first"
            fits_the_baselines.append(path.name)
        elif reads_the_cache:
            assert units == {"the course"} and browser == "the course", f"{path.name} reads the model cache, yet " \
                "it may run apart from the notebooks that fill it"
        else:
            apart.append(path.name)
            assert units != {"the course"} and browser == "the browser"
    assert "00_data.ipynb" in apart and "01_convolution.ipynb" in apart
    assert fits_the_baselines == ["04_baselines.ipynb"] and conftest.FIRST_UNITS == ("the course", "the baselines")
    # The notebook that reads the baselines waits for them; no other does.
    assert [p.name for p in find_notebooks(root / "notebooks")
            if conftest.reads_the_baselines(f"notebooks/{p.name}")] == ["07_evaluation.ipynb"]


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


def test_under_xdist_the_notebook_that_reads_the_baselines_waits_for_their_run(monkeypatch, tmp_path):
    """07's first cell waits (at most BASELINES_WAIT_S) until the last cell of 04 has run on the other worker."""
    import shutil
    import tempfile
    import time
    from pathlib import Path
    from types import SimpleNamespace

    conftest = _root_conftest()
    root = Path(conftest.__file__).parent
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the markers go to this test's own folder
    monkeypatch.setenv("PYTEST_XDIST_TESTRUNUID", "test")
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "2")
    monkeypatch.setattr(conftest, "BASELINES_WAIT_S", 1.5)
    session = SimpleNamespace(items=[])

    def cell(notebook: str, i: int):
        item = SimpleNamespace(nodeid=f"notebooks/{notebook}::Cell {i}", path=root / "notebooks" / notebook,
                               session=session)
        session.items.append(item)
        return item

    fitting = [cell("04_baselines.ipynb", i) for i in range(2)]
    reading = [cell("07_evaluation.ipynb", i) for i in range(2)]
    other = cell("08_beyond_the_test_set.ipynb", 0)

    def seconds(step) -> float:
        start = time.monotonic()
        step()
        return time.monotonic() - start

    assert seconds(lambda: conftest.pytest_runtest_setup(other)) < 0.5  # reads no baselines: never waits
    assert seconds(lambda: conftest.pytest_runtest_setup(reading[1])) < 0.5  # only the first cell waits
    assert seconds(lambda: conftest.pytest_runtest_setup(reading[0])) >= 1.5  # 04 has not run: waits, then goes on
    conftest.pytest_runtest_teardown(fitting[0], fitting[1])  # not 04's last cell yet
    assert seconds(lambda: conftest.pytest_runtest_setup(reading[0])) >= 1.5
    conftest.pytest_runtest_teardown(fitting[1], other)  # 04's last cell has run
    assert seconds(lambda: conftest.pytest_runtest_setup(reading[0])) < 0.5
    shutil.rmtree(conftest._markers("test"))
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "1")  # one worker runs the notebooks in order: nobody waits
    assert seconds(lambda: conftest.pytest_runtest_setup(reading[0])) < 0.5
    monkeypatch.delenv("PYTEST_XDIST_WORKER_COUNT")  # nor in one process (-n 0)
    assert seconds(lambda: conftest.pytest_runtest_setup(reading[0])) < 0.5


def test_under_xdist_the_controller_removes_the_runs_markers(monkeypatch, tmp_path):
    """The controller names the test run for its workers, and removes their marker folder when they are done;
    a worker's end removes nothing, nor does a run without workers."""
    import tempfile
    from types import SimpleNamespace

    conftest = _root_conftest()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    controller = SimpleNamespace(option=SimpleNamespace(numprocesses=2, testrunuid=None))
    conftest.pytest_configure(controller)
    uid = controller.option.testrunuid
    assert uid and len(uid) == 32
    conftest.pytest_configure(controller)
    assert controller.option.testrunuid == uid  # named once
    given = SimpleNamespace(option=SimpleNamespace(numprocesses=2, testrunuid="given"))
    conftest.pytest_configure(given)
    assert given.option.testrunuid == "given"  # --testrunuid on the command line is kept
    alone = SimpleNamespace(option=SimpleNamespace(numprocesses=0, testrunuid=None))
    conftest.pytest_configure(alone)
    assert alone.option.testrunuid is None  # -n 0: no workers, no markers

    monkeypatch.setenv("PYTEST_XDIST_TESTRUNUID", uid)
    marker = conftest._done_marker(tmp_path / "04_baselines.ipynb")
    assert marker.parent.parent == tmp_path
    marker.parent.mkdir()
    marker.touch()
    worker = SimpleNamespace(option=controller.option, workerinput={"testrunuid": uid})
    conftest.pytest_sessionfinish(SimpleNamespace(config=worker))
    assert marker.exists()  # the other worker may still wait on it
    conftest.pytest_sessionfinish(SimpleNamespace(config=controller))
    assert not marker.parent.exists()
    conftest.pytest_sessionfinish(SimpleNamespace(config=controller))  # nothing left to remove: no error
    conftest.pytest_sessionfinish(SimpleNamespace(config=alone))
