"""The loaders: the bundled data, IDX, CSV and .npz, and a clear DataError for every bad input."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from mnistlab import data
from mnistlab.data import DataError, load_mnist, read_csv, read_idx


def idx_bytes(array: np.ndarray, code: int = 0x08) -> bytes:
    header = struct.pack(">BBBB", 0, 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    dtype = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}[code]
    return header + array.astype(dtype).tobytes()


def write_csv(path: Path, rows: list[list], header: bool = False) -> Path:
    lines = []
    if header:
        lines.append(",".join(["label"] + [f"pixel{i}" for i in range(784)]))
    lines += [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def digit_row(label: int = 3, fill: int = 0) -> list:
    return [label] + [fill] * 784


# --- the bundled data -------------------------------------------------------------------------

def test_bundled_shapes_dtypes_and_checksums():
    (x_train, y_train), (x_test, y_test) = load_mnist()
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (60000,) and y_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert y_train[:5].tolist() == [5, 0, 4, 1, 9]  # the famous first training labels
    assert y_test[:5].tolist() == [7, 2, 1, 0, 4]
    assert np.bincount(y_train).tolist()[:3] == [5923, 6742, 5958]
    assert all(check.ok for check in data.verify_bundled())


def test_bundled_md5_is_of_the_idx_bytes_themselves():
    (x_train, y_train), _ = load_mnist()
    rebuilt = idx_bytes(x_train)
    assert hashlib.md5(rebuilt).hexdigest() == data.MNIST_MD5["train-images-idx3-ubyte"]


def test_each_call_returns_fresh_copies():
    (x_a, y_a), _ = load_mnist()
    x_a[0, 0, 0] = 99
    y_a[0] = 7
    (x_b, y_b), _ = load_mnist()
    assert x_b[0, 0, 0] == 0 and y_b[0] == 5


def test_corrupted_bundled_file_is_caught(tmp_path, monkeypatch):
    for name in data.MNIST_MD5:
        shutil.copy(data.BUNDLED_DIR / f"{name}.gz", tmp_path)
    raw = bytearray(gzip.decompress((tmp_path / "t10k-labels-idx1-ubyte.gz").read_bytes()))
    raw[100] = (raw[100] + 1) % 10  # one label changed: still a valid IDX file
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(bytes(raw)))
    monkeypatch.setattr(data, "BUNDLED_DIR", tmp_path)
    data._bundled.cache_clear()
    try:
        with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte\.gz: checksum mismatch"):
            load_mnist()
        assert [c.ok for c in data.verify_bundled()] == [True, True, True, False]
    finally:
        data._bundled.cache_clear()


# --- IDX ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("code", [0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E])
@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_round_trips_every_type(tmp_path, code, gz):
    rng = np.random.default_rng(code)
    array = rng.integers(0, 100, size=(3, 4, 5))
    raw = idx_bytes(array, code)
    path = tmp_path / ("a.idx.gz" if gz else "a.idx")
    path.write_bytes(gzip.compress(raw) if gz else raw)
    out = read_idx(path)
    assert out.shape == (3, 4, 5)
    np.testing.assert_array_equal(out, array)
    assert out.dtype.isnative


def test_gzip_is_detected_by_content_not_name(tmp_path):
    path = tmp_path / "labels-idx1-ubyte"  # no .gz, but gzipped
    path.write_bytes(gzip.compress(idx_bytes(np.arange(10))))
    assert read_idx(path).tolist() == list(range(10))


def test_wrong_magic_number(tmp_path):
    path = tmp_path / "x.idx"
    path.write_bytes(b"\x12\x34\x08\x01" + b"\x00" * 8)
    with pytest.raises(DataError, match=r"x\.idx: wrong IDX magic number 0x12340801 at byte offset 0"):
        read_idx(path)


def test_truncated_data(tmp_path):
    path = tmp_path / "x.idx"
    path.write_bytes(idx_bytes(np.zeros((10, 28, 28)))[:-100])
    with pytest.raises(DataError, match=r"x\.idx: truncated at byte offset 7756; .* shape \(10, 28, 28\)"):
        read_idx(path)


def test_truncated_header(tmp_path):
    path = tmp_path / "x.idx"
    path.write_bytes(b"\x00\x00\x08\x03\x00\x00")
    with pytest.raises(DataError, match=r"truncated at byte offset 6; .* needs 16 bytes"):
        read_idx(path)


def test_trailing_bytes(tmp_path):
    path = tmp_path / "x.idx"
    path.write_bytes(idx_bytes(np.zeros(4)) + b"junk")
    with pytest.raises(DataError, match=r"4 unexpected trailing bytes from byte offset 12"):
        read_idx(path)


def test_truncated_gzip(tmp_path):
    path = tmp_path / "x.idx.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros((5, 28, 28))))[:-20])
    with pytest.raises(DataError, match=r"x\.idx\.gz: damaged or truncated gzip"):
        read_idx(path)


def test_empty_idx_file(tmp_path):
    path = tmp_path / "empty.idx"
    path.write_bytes(b"")
    with pytest.raises(DataError, match=r"empty\.idx: empty file"):
        read_idx(path)


def test_missing_path_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.idx"):
        read_idx(tmp_path / "nope.idx")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_mnist(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        read_csv(tmp_path / "nope.csv")


def _idx_folder(tmp_path: Path, n_train=6, n_test=4, n_train_labels=None, gz=True) -> Path:
    rng = np.random.default_rng(0)
    files = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28)),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train_labels or n_train),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28)),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test),
    }
    for name, array in files.items():
        raw = idx_bytes(array)
        (tmp_path / (name + (".gz" if gz else ""))).write_bytes(gzip.compress(raw) if gz else raw)
    return tmp_path


@pytest.mark.parametrize("gz", [False, True])
def test_load_from_idx_folder(tmp_path, gz):
    folder = _idx_folder(tmp_path, gz=gz)
    with pytest.raises(DataError, match="checksum mismatch"):  # not the official files
        load_mnist(folder)
    (x_train, y_train), (x_test, y_test) = load_mnist(folder, verify=False)
    assert x_train.shape == (6, 28, 28) and y_test.shape == (4,) and x_test.dtype == np.uint8


def test_image_and_label_counts_must_agree(tmp_path):
    folder = _idx_folder(tmp_path, n_train=6, n_train_labels=5)
    with pytest.raises(DataError, match=r"\(train\): 6 images but 5 labels"):
        load_mnist(folder, verify=False)


def test_folder_missing_a_file(tmp_path):
    folder = _idx_folder(tmp_path)
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        load_mnist(folder, verify=False)


# --- .npz ---------------------------------------------------------------------------------------

def test_load_npz(tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=rng.integers(0, 256, (5, 28, 28), dtype=np.uint8), y_train=np.arange(5),
             x_test=np.zeros((2, 28, 28), np.uint8), y_test=np.array([1, 2]))
    (x_train, y_train), (x_test, y_test) = load_mnist(path)
    assert x_train.shape == (5, 28, 28) and y_train.tolist() == [0, 1, 2, 3, 4] and y_test.dtype == np.uint8


def test_npz_missing_arrays_and_bad_labels(tmp_path):
    path = tmp_path / "m.npz"
    np.savez(path, x_train=np.zeros((2, 28, 28)), y_train=np.zeros(2))
    with pytest.raises(DataError, match=r"m\.npz: missing arrays \['x_test', 'y_test'\]"):
        load_mnist(path)
    np.savez(path, x_train=np.zeros((2, 28, 28)), y_train=np.array([0, 12]),
             x_test=np.zeros((1, 28, 28)), y_test=np.zeros(1))
    with pytest.raises(DataError, match=r"\(train\): labels range over 0\.\.12; expected 0\.\.9"):
        load_mnist(path)


def test_not_an_npz(tmp_path):
    path = tmp_path / "fake.npz"
    path.write_bytes(b"not a zip file at all")
    with pytest.raises(DataError, match=r"fake\.npz: not a readable \.npz"):
        load_mnist(path)


# --- CSV ----------------------------------------------------------------------------------------

def test_headerless_csv_keeps_its_first_digit(tmp_path):
    rows = [digit_row(label, fill=label * 10) for label in (7, 2, 1)]
    x, y = read_csv(write_csv(tmp_path / "a.csv", rows))
    assert y.tolist() == [7, 2, 1]  # pd.read_csv's default would have eaten the 7 as a header
    assert x.shape == (3, 28, 28) and x[0, 0, 0] == 70


def test_csv_with_header_row(tmp_path):
    x, y = read_csv(write_csv(tmp_path / "a.csv", [digit_row(4), digit_row(5)], header=True))
    assert y.tolist() == [4, 5]


def test_csv_pixel_order_is_row_major(tmp_path):
    row = digit_row(0)
    row[1 + 31] = 200  # pixel31 -> row 1, column 3
    x, _ = read_csv(write_csv(tmp_path / "a.csv", [row]))
    assert x[0, 1, 3] == 200 and x.sum() == 200


def test_csv_pair_and_folder(tmp_path):
    write_csv(tmp_path / "mnist_train.csv", [digit_row(1), digit_row(2)])
    write_csv(tmp_path / "mnist_test.csv", [digit_row(3)])
    (_, y_train), (_, y_test) = load_mnist(tmp_path)
    assert y_train.tolist() == [1, 2] and y_test.tolist() == [3]
    (_, y_train), _ = load_mnist((tmp_path / "mnist_train.csv", tmp_path / "mnist_test.csv"))
    assert y_train.tolist() == [1, 2]


def test_gzipped_csv(tmp_path):
    path = tmp_path / "a.csv.gz"
    path.write_bytes(gzip.compress(write_csv(tmp_path / "a.csv", [digit_row(6)]).read_bytes()))
    assert read_csv(path)[1].tolist() == [6]


def _bad(tmp_path, rows, header=False):
    return write_csv(tmp_path / "bad.csv", rows, header=header)


def test_csv_short_row(tmp_path):
    path = _bad(tmp_path, [digit_row(1), digit_row(2)[:-3]])
    with pytest.raises(DataError, match=r"bad\.csv: line 2 has 782 columns; expected 785"):
        read_csv(path)


def test_csv_long_row(tmp_path):
    path = _bad(tmp_path, [digit_row(1), digit_row(2) + [0]])
    with pytest.raises(DataError, match=r"bad\.csv: line 2 has 786 columns; expected 785"):
        read_csv(path)


def test_csv_wrong_width_everywhere(tmp_path):
    path = _bad(tmp_path, [[1] * 10, [2] * 10])
    with pytest.raises(DataError, match=r"line 1 has 10 columns; expected 785"):
        read_csv(path)


def test_csv_empty_cell(tmp_path):
    row = digit_row(1)
    row[1 + 40] = ""
    path = _bad(tmp_path, [digit_row(0), row], header=True)
    with pytest.raises(DataError, match=r"bad\.csv: line 3, column 42 is empty; expected a pixel 0\.\.255"):
        read_csv(path)


def test_csv_nan(tmp_path):
    row = digit_row(1)
    row[5] = "NaN"
    with pytest.raises(DataError, match=r"line 1, column 6 is 'NaN'; expected a pixel"):
        read_csv(_bad(tmp_path, [row]))


def test_csv_text_cell(tmp_path):
    row = digit_row(1)
    row[0] = "seven"
    with pytest.raises(DataError, match=r"line 2, column 1 is 'seven'; expected a label 0\.\.9"):
        read_csv(_bad(tmp_path, [digit_row(0), row]))


def test_csv_non_integer_pixel(tmp_path):
    row = digit_row(1)
    row[10] = 12.5
    with pytest.raises(DataError, match=r"line 1, column 11 is 12\.5, not an integer"):
        read_csv(_bad(tmp_path, [row]))


@pytest.mark.parametrize("value", [256, -1])
def test_csv_pixel_out_of_range(tmp_path, value):
    row = digit_row(1)
    row[300] = value
    with pytest.raises(DataError, match=rf"line 1, column 301: pixel {value} is outside 0\.\.255"):
        read_csv(_bad(tmp_path, [row]))


def test_csv_label_out_of_range(tmp_path):
    with pytest.raises(DataError, match=r"line 3, column 1: label 10 is outside 0\.\.9"):
        read_csv(_bad(tmp_path, [digit_row(0), digit_row(10)], header=True))


def test_csv_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(DataError, match=r"empty\.csv: empty file"):
        read_csv(path)


def test_csv_header_only(tmp_path):
    with pytest.raises(DataError, match="no data rows"):
        read_csv(_bad(tmp_path, [], header=True))


def test_data_error_is_a_value_error():
    assert issubclass(DataError, ValueError)


def test_a_file_that_is_not_npz_or_folder(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(b"x")
    with pytest.raises(ValueError, match=r"path: .*data\.bin is a file but not a \.npz"):
        load_mnist(path)


def test_a_missing_bundled_file_is_one_line_from_the_command(tmp_path, capsys, monkeypatch):
    """`mnistlab data` with a bundled file gone: one line naming it (it was a FileNotFoundError traceback)."""
    import shutil

    from mnistlab import cli, data

    folder = tmp_path / "mnist"
    shutil.copytree(data.BUNDLED_DIR, folder)
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    monkeypatch.setattr(data, "BUNDLED_DIR", folder)
    assert cli.main(["data"]) == 2
    err = capsys.readouterr().err
    assert err == f"mnistlab data: {folder / 't10k-labels-idx1-ubyte.gz'}: no such file or folder\n"
