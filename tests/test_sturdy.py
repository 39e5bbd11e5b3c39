"""Real files, full disks and damaged downloads: a right answer, or one clear line, and nothing lost.

One test per class of fault: photos stored turned, CSVs as spreadsheets save them, pixels that are not whole
numbers, images in other bit depths, damaged shipped weights, a cache that cannot be written, bad options and
environment, a malformed notebook in the course, damaged files, and inputs that would make a command wait.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from mnistlab import cache
from mnistlab.cli import main
from mnistlab.course import run_course
from mnistlab.data import DataError, load_mnist, read_csv
from mnistlab.photo import DigitImageError, prepare_digit, prepare_digits


@pytest.fixture(scope="module")
def digits():
    (_, _), (x_test, y_test) = load_mnist()
    return x_test[:5], y_test[:5]


def paper(digit: np.ndarray, scale: int = 6) -> Image.Image:
    """A test digit as a photo of dark ink on light paper, larger than 28x28."""
    return Image.fromarray(255 - np.kron(digit, np.ones((scale, scale), dtype=np.uint8))).convert("L")


def test_a_photo_stored_turned_is_read_upright(tmp_path, digits):
    upright = paper(digits[0][0])
    upright.save(tmp_path / "upright.jpg", quality=95)
    for orientation, transpose in ((6, Image.Transpose.ROTATE_90), (8, Image.Transpose.ROTATE_270),
                                   (3, Image.Transpose.ROTATE_180)):
        exif = Image.Exif()
        exif[0x0112] = orientation  # the camera's orientation tag: how to turn the stored pixels for display
        upright.transpose(transpose).save(tmp_path / f"turned{orientation}.jpg", exif=exif, quality=95)
        read = prepare_digit(tmp_path / f"turned{orientation}.jpg")
        assert np.abs(read - prepare_digit(tmp_path / "upright.jpg")).mean() < 0.02, orientation


def csv_rows(images, labels) -> list[str]:
    return [",".join(str(v) for v in [int(label), *image.reshape(-1).tolist()]) for image, label in
            zip(images, labels, strict=True)]


@pytest.mark.parametrize("variant", ["bom", "quoted", "crlf", "gzip-named-csv"])
def test_csvs_as_spreadsheets_save_them_keep_their_first_digit(tmp_path, digits, variant):
    images, labels = digits
    rows = csv_rows(images, labels)
    path = tmp_path / "digits.csv"
    if variant == "bom":
        path.write_bytes(b"\xef\xbb\xbf" + "\n".join(rows).encode() + b"\n")
    elif variant == "quoted":
        path.write_text("\n".join(",".join(f'"{v}"' for v in row.split(",")) for row in rows) + "\n")
    elif variant == "crlf":
        path.write_bytes("\r\n".join(rows).encode() + b"\r\n")
    else:
        path.write_bytes(gzip.compress(("\n".join(rows) + "\n").encode()))
    got_images, got_labels = read_csv(path)
    assert got_labels.tolist() == labels.tolist() and np.array_equal(got_images, images)


def test_an_empty_cell_in_the_first_row_is_a_missing_pixel_not_a_header(tmp_path, digits):
    rows = csv_rows(*digits)
    fields = rows[0].split(",")
    fields[100] = ""
    rows[0] = ",".join(fields)
    path = tmp_path / "digits.csv"
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(DataError, match=r"digits.csv: line 1, column 101 is empty"):
        read_csv(path)


def test_pixels_and_labels_that_are_not_whole_numbers_are_refused(tmp_path, digits):
    (x_train, y_train), (x_test, y_test) = load_mnist()
    for name, bad in (("half", 0.5), ("nan", np.nan)):
        images = x_test.astype(np.float64)
        images[3, 4, 5] = bad
        path = tmp_path / f"{name}.npz"
        np.savez(path, x_train=x_train, y_train=y_train, x_test=images, y_test=y_test)
        with pytest.raises(DataError, match=rf"{name}.npz \(test\): images\[3, 4, 5\] is .*not a whole number"):
            load_mnist(path)
    labels = y_train.astype(np.float32)
    labels[7] = 2.5
    np.savez(tmp_path / "labels.npz", x_train=x_train, y_train=labels, x_test=x_test, y_test=y_test)
    with pytest.raises(DataError, match=r"labels\[7\] is 2.5"):
        load_mnist(tmp_path / "labels.npz")


def test_images_in_other_bit_depths_and_float_arrays_are_read(tmp_path, digits):
    digit = digits[0][0]
    expected = prepare_digit(np.kron(255 - digit, np.ones((6, 6))).astype(np.uint8))
    ink16 = (np.kron(255 - digit, np.ones((6, 6))).astype(np.float64) / 255 * 32768 + 32767).astype(np.uint16)
    Image.fromarray(ink16).save(tmp_path / "sixteen.png")  # mid-grey ink on white, 16 bits
    assert Image.open(tmp_path / "sixteen.png").mode.startswith("I")
    assert np.abs(prepare_digit(tmp_path / "sixteen.png") - expected).mean() < 0.05
    as_float = np.kron(255 - digit, np.ones((6, 6))) / 255  # what x / 255 and plt.imread give
    assert np.abs(prepare_digit(as_float) - expected).mean() < 0.01
    with pytest.raises(DigitImageError, match=r"threshold: expected a number between 0 and 1.*got 2"):
        prepare_digit(as_float, threshold=2)


def test_a_cache_that_cannot_be_written_is_said_and_the_result_kept(tmp_path, monkeypatch):
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("MNISTLAB_CACHE", str(blocker))
    lines = []
    assert cache.save("entry", {"a": 1}, log=lines.append) is None
    assert len(lines) == 1 and "cannot write" in lines[0] and "kept in memory" in lines[0]
    assert cache.load("entry", log=lines.append) is None and len(lines) == 1  # a miss, not a traceback


def test_cache_metadata_of_the_wrong_types_is_a_miss_said_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("MNISTLAB_CACHE", str(tmp_path / "cache"))
    cache.save("model", {"history": "not a dict", "train_seconds": "12", "test_accuracy": 0.99})
    lines = []
    required = {"history": dict, "train_seconds": (int, float), "test_accuracy": (int, float)}
    assert cache.load("model", required=required, log=lines.append) is None
    assert len(lines) == 1 and "history of type str; expected dict" in lines[0]


@pytest.mark.parametrize("argv, env, said", [
    (["baselines", "--seed", "-1"], {}, "--seed: expected a whole number from 0"),
    (["baselines", "--seed", "4294967296"], {}, "--seed: expected a whole number from 0"),
    (["data"], {"MNISTLAB_THREADS": "abc"}, "$MNISTLAB_THREADS: expected a whole number"),
    (["data"], {"MNISTLAB_THREADS": "0"}, "$MNISTLAB_THREADS: expected a whole number"),
    (["data"], {"MNISTLAB_THREADS": "-1"}, "$MNISTLAB_THREADS: expected a whole number"),
    (["course", "--timeout", "0"], {}, "--timeout: expected at least 1"),
])
def test_unusable_options_are_refused_in_one_line_before_any_work(argv, env, said, monkeypatch, capsys):
    """Before any work: none of the functions that do the commands' work is called (checked by what is called,
    not by the clock, which a loaded machine makes unreliable)."""
    import mnistlab.baselines
    import mnistlab.course
    import mnistlab.data
    import mnistlab.runtime

    called = []
    for module, name in ((mnistlab.data, "load_mnist"), (mnistlab.data, "verify_bundled"),
                         (mnistlab.baselines, "compare"), (mnistlab.course, "run_course"),
                         (mnistlab.runtime, "configure")):
        monkeypatch.setattr(module, name, lambda *args, _name=name, **kwargs: called.append(_name))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert said in err and err.count("\n") == 1 and called == []


def test_course_build_naming_a_file_is_refused(tmp_path, capsys):
    (tmp_path / "build").write_text("mine")
    assert main(["course", "--build", str(tmp_path / "build")]) == 2
    assert "--build:" in capsys.readouterr().err and (tmp_path / "build").read_text() == "mine"


def test_one_malformed_notebook_fails_alone_and_an_unwritable_build_is_said(tmp_path):
    import nbformat

    folder = tmp_path / "notebooks"
    folder.mkdir()
    (folder / "00_broken.ipynb").write_text('{"cells": [')
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")]), folder / "01_ok.ipynb")
    results = run_course(folder, tmp_path / "build", html=False, progress=False, log=lambda line: None)
    assert not results[0].ok and "not a readable notebook" in results[0].error
    assert results[1].ok and "42" in nbformat.read(tmp_path / "build" / "01_ok.ipynb", 4).cells[0].outputs[0]["text"]
    (tmp_path / "blocked").write_text("a file where a folder should be")
    results = run_course(folder, tmp_path / "blocked" / "build", select=["01"], html=False, progress=False,
                         log=lambda line: None)
    assert not results[0].ok and "ran, but cannot write" in results[0].error


@pytest.mark.parametrize("content, said", [(b"", "not a readable .npz"), (b"PK\x03\x04broken", "not a readable .npz")])
def test_damaged_npz_files_are_one_line(tmp_path, content, said):
    path = tmp_path / "mnist.npz"
    path.write_bytes(content)
    with pytest.raises(DataError, match=said):
        load_mnist(path)


@pytest.mark.parametrize("encoding", ["utf-16", "latin-1"])
def test_csvs_in_other_encodings_are_one_line(tmp_path, digits, encoding):
    path = tmp_path / "digits.csv"
    text = "\n".join(csv_rows(*digits)) + "\n"
    path.write_bytes(text.encode(encoding) if encoding == "utf-16" else b"label,\xe9t\xe9\n" + text.encode())
    with pytest.raises(DataError, match="UTF-16|not UTF-8"):
        read_csv(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are a Unix thing")
def test_inputs_that_never_end_are_refused_at_once_and_before_tensorflow(tmp_path):
    fifo = tmp_path / "digit.png"
    os.mkfifo(fifo)
    start = time.perf_counter()
    with pytest.raises(DigitImageError, match="not a regular file"):
        prepare_digit(fifo)
    with pytest.raises(DataError, match="not a regular file"):
        read_csv(fifo)
    code = ("import sys\nfrom mnistlab.cli import main\nstatus = main(['predict', sys.argv[1], sys.argv[2]])\n"
            "print('tensorflow' in sys.modules, status)")
    done = subprocess.run([sys.executable, "-c", code, str(fifo), str(tmp_path / "missing.png")], capture_output=True,
                          text=True, timeout=60)
    assert done.stdout.split() == ["False", "1"], done
    assert "not a regular file" in done.stderr and "no such file" in done.stderr
    assert time.perf_counter() - start < 30


def test_damaged_or_changed_shipped_weights_are_refused_in_one_line(tmp_path, monkeypatch):
    from mnistlab import pretrained

    source = pretrained.path("best")
    monkeypatch.setattr(pretrained, "folder", lambda: tmp_path)
    with np.load(source, allow_pickle=False) as npz:
        data = dict(npz)
    record = json.loads(str(data["meta"]))
    zeroed = {**data, "w000": np.zeros_like(data["w000"])}
    np.savez(tmp_path / "best.npz", **zeroed)
    with pytest.raises(pretrained.PretrainedError, match="do not match the SHA-256"):
        pretrained.weights("best")
    nans = {**data, "w000": np.full_like(data["w000"], np.nan)}
    nans["meta"] = np.array(json.dumps({**record, "sha256": cache.arrays_digest(
        [nans[f"w{i:03d}"] for i in range(record["arrays"])])}))
    np.savez(tmp_path / "best.npz", **nans)
    with pytest.raises(pretrained.PretrainedError, match="NaN or infinite"):
        pretrained.weights("best")
    for damaged in (source.read_bytes()[:1000], b"not a zip at all"):
        (tmp_path / "best.npz").write_bytes(damaged)
        with pytest.raises(pretrained.PretrainedError, match="damaged"):
            pretrained.read("best")
    np.savez(tmp_path / "best.npz", **{k: v for k, v in data.items() if k != "w003"})
    with pytest.raises(pretrained.PretrainedError, match="damaged"):
        pretrained.weights("best")


def test_prepare_digits_is_prepare_digit_on_each_image_and_marks_the_refused_ones():
    rng = np.random.default_rng(5)
    (_, _), (x_test, _) = load_mnist()
    images = np.concatenate([x_test[:6] / 255, np.zeros((1, 28, 28)), rng.random((1, 28, 28))])
    images[2, :, :3] = 1.0                      # a bar apart from the digit: marks side by side
    for dtype in (np.float32, np.float64):
        digits, refused = prepare_digits(images.astype(dtype))
        assert digits.shape == (8, 28, 28) and digits.dtype == np.float32 and refused.dtype == bool
        for image, digit, was_refused in zip(images.astype(dtype), digits, refused, strict=True):
            try:
                expected = prepare_digit(image)
            except DigitImageError:
                assert was_refused and not digit.any()
            else:
                assert not was_refused and np.array_equal(digit, expected)
        assert refused[2] and refused[6] and not refused[:2].any()  # the bar apart; the blank image
    with pytest.raises(ValueError, match="expected a stack"):
        prepare_digits(images[0])
