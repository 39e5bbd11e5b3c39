"""`mnistlab grade`: a class's notebooks run in fresh kernels; each scores what its code does, never its outputs."""

from __future__ import annotations

import csv

import nbformat
import pytest

from mnistlab import grading
from mnistlab.cli import main
from mnistlab.errors import MnistlabError
from mnistlab.exercises import all_exercises, exercise

SETUP = ("import numpy as np\nfrom mnistlab.data import load_mnist\nfrom mnistlab.exercises import exercise\n"
         "(x_train, y_train), (x_test, y_test) = load_mnist()")
KEYS = [key for key in all_exercises() if key.startswith("00.")]


def submission(folder, name, *, solved=(), before_exercises="", faked=False):
    """A notebook of notebook 00's exercises: ``solved`` ones hold their solution, the others are left as given."""
    cells = [nbformat.v4.new_code_cell(SETUP)]
    if before_exercises:
        cells.append(nbformat.v4.new_code_cell(before_exercises))
    for key in KEYS:
        cell = nbformat.v4.new_code_cell(exercise(key).cell(solved=key in solved))
        if faked:  # an unsolved cell with a pasted-in "Correct" output
            pasted = f"{key}: \u2714 Correct: that is it\n"
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=pasted)]
            cell.execution_count = 1
        cells.append(cell)
    path = folder / name
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    return path


pytestmark = pytest.mark.usefixtures("own_folders")


def test_grade_a_solved_an_unsolved_a_faked_and_a_broken_notebook(tmp_path, capsys):
    class_folder = tmp_path / "class"
    class_folder.mkdir()
    submission(class_folder, "ada.ipynb", solved=KEYS)
    submission(class_folder, "bob.ipynb")
    submission(class_folder, "cy.ipynb", faked=True)
    submission(class_folder, "dee.ipynb", solved=("00.1", "00.3"), before_exercises="1 / 0")
    out = tmp_path / "grades.csv"
    assert main(["grade", str(class_folder), "--out", str(out), "--no-progress"]) == 0
    rows = {row["file"].rsplit("/", 1)[-1]: row for row in csv.DictReader(out.open())}
    assert list(next(iter(rows.values()))) == ["file", *KEYS, "error"]
    assert [rows["ada.ipynb"][k] for k in KEYS] == ["1"] * len(KEYS) and rows["ada.ipynb"]["error"] == ""
    assert [rows["bob.ipynb"][k] for k in KEYS] == ["0"] * len(KEYS)
    assert [rows["cy.ipynb"][k] for k in KEYS] == ["0"] * len(KEYS)  # its pasted outputs count for nothing
    assert [rows["dee.ipynb"][k] for k in KEYS] == [str(int(k in ("00.1", "00.3"))) for k in KEYS]  # past its error
    assert rows["dee.ipynb"]["error"].startswith("ZeroDivisionError")
    printed = capsys.readouterr().out
    assert f"graded 4 notebook(s) on {len(KEYS)} exercise(s)" in printed and "00.1: solved by 2 of 4" in printed
    assert not (tmp_path / "data").exists()  # the kernels' progress is kept apart


def test_a_notebook_that_never_ends_is_stopped_at_its_time_limit(tmp_path):
    path = submission(tmp_path, "loop.ipynb", solved=("00.1",), before_exercises="while True:\n    pass")
    grade = grading.grade_notebook(path, time_limit=5)
    assert "time limit" in grade.error and grade.scores["00.1"] == 0


def test_grade_refuses_bad_arguments_in_one_line(tmp_path, capsys):
    out = tmp_path / "grades.csv"
    out.write_text("the teacher's own file")
    submission(tmp_path, "ada.ipynb")
    assert main(["grade", str(tmp_path / "ada.ipynb"), "--out", str(out)]) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err and out.read_text() == "the teacher's own file"
    assert main(["grade", str(tmp_path / "missing"), "--out", str(tmp_path / "g.csv")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    assert main(["grade", str(tmp_path), "--time-limit", "0", "--out", str(tmp_path / "g.csv")]) == 2
    assert "--time-limit" in capsys.readouterr().err


def test_an_unwritable_out_is_said_before_any_notebook_is_graded(tmp_path, capsys, monkeypatch):
    submission(tmp_path, "ada.ipynb")
    (tmp_path / "a file").write_text("not a folder")
    graded = []
    monkeypatch.setattr(grading, "grade_notebooks", lambda *args, **kwargs: graded.append(args) or [])
    assert main(["grade", str(tmp_path / "ada.ipynb"), "--out", str(tmp_path / "a file" / "grades.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"mnistlab grade: --out: cannot write {tmp_path / 'a file' / 'grades.csv'} (") and \
        err.count("\n") == 1
    assert graded == []  # nothing graded, nothing lost
    with pytest.raises(MnistlabError, match="cannot write the grades"):
        grading.write_grades([], tmp_path / "a file" / "grades.csv")
