"""Loading MNIST: the bundled IDX files, any IDX file, the report's CSV layout and Keras' ``.npz``.

Every reader checks what it reads and raises :class:`DataError` (a ``ValueError``) naming the file,
the line or byte offset, and what was expected. Nothing here downloads anything.

>>> (x_train, y_train), (x_test, y_test) = load_mnist()
>>> x_train.shape, x_train.dtype, y_test.shape
((60000, 28, 28), dtype('uint8'), (10000,))
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mnistlab.errors import MnistlabError

__all__ = [
    "BUNDLED_DIR",
    "MNIST_MD5",
    "DataError",
    "MissingDataError",
    "FileCheck",
    "load_mnist",
    "read_csv",
    "read_idx",
    "verify_bundled",
]

Split = tuple[np.ndarray, np.ndarray]

#: Where the four gzipped IDX files live inside the installed package.
BUNDLED_DIR = Path(__file__).resolve().parent / "datasets" / "mnist"

#: The official MD5 of each *uncompressed* IDX file.
MNIST_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}

# IDX type codes (third byte of the magic number) and the big-endian dtype each one stores.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_GZIP_MAGIC = b"\x1f\x8b"
_PIXELS = 28 * 28


class DataError(MnistlabError):
    """Data that cannot be read as MNIST: the message names the file, where, and what was expected."""


class MissingDataError(DataError, FileNotFoundError):
    """A data file or folder that is not there: a :class:`DataError` (the command line says it in one line) that is
    also a ``FileNotFoundError``, for code that catches that."""


@dataclass(frozen=True)
class FileCheck:
    """The verification of one bundled file: its name, size on disk and MD5s."""

    name: str
    path: Path
    compressed_bytes: int
    expected_md5: str
    actual_md5: str

    @property
    def ok(self) -> bool:
        """Whether the uncompressed file's MD5 is the official one."""
        return self.actual_md5 == self.expected_md5


def _existing(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.exists():
        raise MissingDataError(f"{path}: no such file or folder")
    return path


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed when it starts with the gzip magic (whatever its name)."""
    raw = path.read_bytes()
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as exc:
        raise DataError(f"{path}: damaged or truncated gzip data ({exc}); expected a complete .gz file") from exc


def _parse_idx(data: bytes, path: Path) -> np.ndarray:
    """Parse the bytes of an IDX file; ``path`` is only for messages."""
    if not data:
        raise DataError(f"{path}: empty file; expected an IDX file (magic number 0x0000TTNN)")
    if len(data) < 4:
        raise DataError(f"{path}: truncated at byte offset {len(data)}; an IDX header needs 4 bytes of magic number")
    zero, code, ndim = data[0:2], data[2], data[3]
    if zero != b"\x00\x00" or code not in _IDX_DTYPES or ndim == 0:
        raise DataError(
            f"{path}: wrong IDX magic number 0x{data[:4].hex()} at byte offset 0; expected 0x0000TTNN with "
            f"type TT in {{08, 09, 0b, 0c, 0d, 0e}} and NN >= 1 dimensions "
            "(MNIST images: 0x00000803, labels: 0x00000801)"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(
            f"{path}: truncated at byte offset {len(data)}; the header of a {ndim}-dimensional IDX file "
            f"needs {header} bytes"
        )
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_DTYPES[code])
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(data) < expected:
        raise DataError(
            f"{path}: truncated at byte offset {len(data)}; its header promises shape {shape} of {dtype.name}, "
            f"which needs {expected} bytes"
        )
    if len(data) > expected:
        raise DataError(
            f"{path}: {len(data) - expected} unexpected trailing bytes from byte offset {expected}; "
            f"its header promises shape {shape} of {dtype.name}"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=True)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read any IDX file, gzipped or not, into a native-endian array of the shape its header gives.

    The format of MNIST, Fashion-MNIST, KMNIST and EMNIST: a magic number ``0x0000TTNN`` (type TT,
    NN dimensions), NN big-endian uint32 sizes, then the data. Raises :class:`DataError` on a wrong
    magic number, a truncated file or trailing bytes, naming the byte offset.
    """
    path = _existing(path)
    return _parse_idx(_read_bytes(path), path)


def _is_number(field: str) -> bool:
    try:
        float(field)
    except ValueError:
        return False
    return True


def _is_header(first: str) -> bool:
    """Whether a CSV's first line is a header: a field that is neither empty nor a number (quotes and spaces
    aside). A row of numbers with an empty cell is a digit with a missing value, not a header."""
    fields = [field.strip().strip('"').strip("'").strip() for field in first.split(",")]
    return any(field and not _is_number(field) for field in fields)


def _compression(path: Path) -> str | None:
    """``"gzip"`` when the file starts with the gzip magic (whatever its name), else ``None``."""
    with open(path, "rb") as f:
        head = f.read(4)
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise DataError(f"{path}: UTF-16 text; expected a CSV file in UTF-8 or ASCII (save it as 'CSV UTF-8')")
    return "gzip" if head[:2] == _GZIP_MAGIC else None


def _open_text(path: Path):
    """The file as text: gunzipped if gzipped, a UTF-8 byte-order mark (Excel's "CSV UTF-8") skipped."""
    if _compression(path) == "gzip":
        return gzip.open(path, "rt", newline="", encoding="utf-8-sig")
    return open(path, newline="", encoding="utf-8-sig")


def _first_line(path: Path) -> str:
    try:
        with _open_text(path) as f:
            return f.readline()
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text at byte offset {exc.start}; expected a CSV file of numbers") from exc
    except (EOFError, OSError, zlib.error) as exc:
        raise DataError(f"{path}: damaged or truncated gzip data ({exc}); expected a complete .gz file") from exc


def _line(path: Path, number: int) -> str:
    """Line ``number`` (1-based) of a text file, for error messages."""
    with _open_text(path) as f:
        for i, line in enumerate(f, start=1):
            if i == number:
                return line.rstrip("\r\n")
    return ""


def read_csv(path: str | os.PathLike) -> Split:
    """Read the report's CSV layout, one digit a row: the label, then 784 pixels (row-major).

    Returns ``(images, labels)`` as uint8 arrays of shape (N, 28, 28) and (N,). A first row whose
    fields are all numbers is a digit, not a header: ``pd.read_csv``'s default silently takes it as
    column names, which is how the report lost a digit. Raises :class:`DataError` naming the line and
    column of a row with the wrong number of columns, an empty or NaN cell, a non-integer pixel, a
    pixel outside 0..255 or a label outside 0..9.
    """
    import pandas as pd

    path = _existing(path)
    if not path.is_file():
        raise DataError(f"{path}: not a regular file; expected a CSV file of digits")
    first = _first_line(path).strip()
    if not first:
        raise DataError(f"{path}: empty file; expected rows of a label and {_PIXELS} pixels")
    has_header = _is_header(first)
    offset = 2 if has_header else 1  # the file's line number of data row 0
    try:
        frame = pd.read_csv(path, header=0 if has_header else None, skip_blank_lines=True, encoding="utf-8-sig",
                            compression=_compression(path))
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason} at byte offset {exc.start}); expected a CSV file "
                        "of numbers") from exc
    except pd.errors.ParserError as exc:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        where = f"line {found[2]} has {found[3]} columns" if found else f"a row has the wrong number of columns ({exc})"
        raise DataError(f"{path}: {where}; expected {_PIXELS + 1}: a label then 784 pixels") from exc
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{path}: no data rows; expected rows of a label and {_PIXELS} pixels") from exc
    if frame.shape[0] == 0:
        raise DataError(f"{path}: no data rows after the header; expected rows of a label and {_PIXELS} pixels")
    if frame.shape[1] != _PIXELS + 1:
        raise DataError(f"{path}: line {offset} has {frame.shape[1]} columns; expected {_PIXELS + 1}: "
                        "a label then 784 pixels")
    numeric = all(pd.api.types.is_numeric_dtype(dtype) for dtype in frame.dtypes)
    values = frame.to_numpy(dtype=np.float64) if numeric else None
    if values is None or not np.isfinite(values).all():
        _diagnose_csv(path, has_header, offset)  # slow path: find and name the first bad cell
    fractional = values != np.round(values)
    if fractional.any():
        row, col = map(int, np.argwhere(fractional)[0])
        raise DataError(f"{path}: line {row + offset}, column {col + 1} is {values[row, col]:g}, not an integer; "
                        f"expected {_what(col)}")
    labels, pixels = values[:, 0], values[:, 1:]
    for name, checked, high, first_col in (("label", labels[:, None], 9, 0), ("pixel", pixels, 255, 1)):
        outside = (checked < 0) | (checked > high)
        if outside.any():
            row, col = map(int, np.argwhere(outside)[0])
            raise DataError(f"{path}: line {row + offset}, column {col + first_col + 1}: {name} "
                            f"{checked[row, col]:g} is outside 0..{high}")
    return pixels.astype(np.uint8).reshape(-1, 28, 28), labels.astype(np.uint8)


def _diagnose_csv(path: Path, has_header: bool, offset: int) -> None:
    """Raise a :class:`DataError` naming the first short row, empty cell or non-number in a CSV."""
    import pandas as pd

    frame = pd.read_csv(path, header=0 if has_header else None, dtype=str, keep_default_na=False,
                        na_filter=False, skip_blank_lines=True, encoding="utf-8-sig", compression=_compression(path))
    text = frame.to_numpy(dtype=str)
    for row, col in np.argwhere(np.char.str_len(np.char.strip(text)) == 0):
        # pandas pads rows shorter than the first with "": tell them from empty cells.
        fields = _line(path, row + offset).split(",")
        if len(fields) != _PIXELS + 1:
            raise DataError(f"{path}: line {row + offset} has {len(fields)} columns; expected {_PIXELS + 1}: "
                            "a label then 784 pixels")
        raise DataError(f"{path}: line {row + offset}, column {col + 1} is empty; expected {_what(col)}")
    numbers = frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    for row, col in np.argwhere(~np.isfinite(numbers))[:1]:
        raise DataError(f"{path}: line {row + offset}, column {col + 1} is {str(text[row, col])!r}; "
                        f"expected {_what(col)}")
    raise DataError(f"{path}: could not be read as numbers; expected a label and {_PIXELS} pixels a row")


def _what(col: int) -> str:
    return "a label 0..9" if col == 0 else "a pixel 0..255"


def _check_pair(images: np.ndarray, labels: np.ndarray, source: str) -> Split:
    """Validate one split (images, labels) as MNIST and return it as uint8."""
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataError(f"{source}: images have shape {images.shape}; expected (N, 28, 28)")
    if labels.ndim != 1:
        raise DataError(f"{source}: labels have shape {labels.shape}; expected (N,)")
    if len(images) != len(labels):
        raise DataError(f"{source}: {len(images)} images but {len(labels)} labels; expected one label per image")
    for name, array, high in (("images", images, 255), ("labels", labels, 9)):
        if array.dtype.kind not in "iufb":
            raise DataError(f"{source}: {name} have dtype {array.dtype}; expected whole numbers 0..{high}")
        if array.dtype.kind == "f":
            bad = ~np.isfinite(array) | (array != np.round(array))
            if bad.any():
                where = tuple(int(i) for i in np.argwhere(bad)[0])
                raise DataError(f"{source}: {name}{list(where)} is {array[where].item()!r}, not a whole number; "
                                f"expected whole numbers 0..{high}")
        if array.size and (array.min() < 0 or array.max() > high):
            raise DataError(f"{source}: {name} range over {array.min()}..{array.max()}; expected 0..{high}")
    return images.astype(np.uint8, copy=False), labels.astype(np.uint8, copy=False)


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def verify_bundled(directory: str | os.PathLike | None = None) -> list[FileCheck]:
    """Check the MD5 of each bundled (uncompressed) IDX file against the official one."""
    directory = Path(directory) if directory is not None else BUNDLED_DIR
    checks = []
    for name, expected in MNIST_MD5.items():
        path = _existing(directory / f"{name}.gz")
        checks.append(FileCheck(name, path, path.stat().st_size, expected, _md5(_read_bytes(path))))
    return checks


def _load_idx_folder(directory: Path, *, verify: bool) -> tuple[Split, Split]:
    """Load the four MNIST IDX files (gzipped or not, official or Keras-style names) from a folder."""
    arrays = {}
    for name, expected in MNIST_MD5.items():
        variants = [name, f"{name}.gz", name.replace("-idx", ".idx"), name.replace("-idx", ".idx") + ".gz"]
        path = next((directory / v for v in variants if (directory / v).exists()), None)
        if path is None:
            raise MissingDataError(f"{directory / name}: no MNIST IDX file (tried {', '.join(variants)})")
        data = _read_bytes(path)
        if verify and (actual := _md5(data)) != expected:
            raise DataError(f"{path}: checksum mismatch (MD5 {actual}, expected {expected}); the file is "
                            "corrupted or not the official MNIST")
        arrays[name] = _parse_idx(data, path)
    train = _check_pair(arrays["train-images-idx3-ubyte"], arrays["train-labels-idx1-ubyte"], f"{directory} (train)")
    test = _check_pair(arrays["t10k-images-idx3-ubyte"], arrays["t10k-labels-idx1-ubyte"], f"{directory} (test)")
    return train, test


def _load_npz(path: Path) -> tuple[Split, Split]:
    """Load Keras' ``mnist.npz`` layout: x_train, y_train, x_test, y_test."""
    try:
        npz = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:  # not a zip of arrays, empty, or damaged
        raise DataError(f"{path}: not a readable .npz file of arrays ({exc})") from exc
    with npz:
        missing = {"x_train", "y_train", "x_test", "y_test"} - set(npz.files)
        if missing:
            raise DataError(f"{path}: missing arrays {sorted(missing)}; expected x_train, y_train, x_test, y_test")
        try:
            arrays = {name: npz[name] for name in ("x_train", "y_train", "x_test", "y_test")}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            raise DataError(f"{path}: an array could not be read ({exc}); the file is damaged") from exc
        train = _check_pair(arrays["x_train"], arrays["y_train"], f"{path} (train)")
        test = _check_pair(arrays["x_test"], arrays["y_test"], f"{path} (test)")
    return train, test


@functools.lru_cache(maxsize=1)
def _bundled() -> tuple[Split, Split]:
    return _load_idx_folder(BUNDLED_DIR, verify=True)


def load_mnist(path: str | os.PathLike | tuple[str | os.PathLike, str | os.PathLike] | None = None, *,
               verify: bool = True) -> tuple[Split, Split]:
    """Load MNIST as ``(x_train, y_train), (x_test, y_test)``, like ``keras.datasets.mnist.load_data()``.

    Images are uint8 of shape (N, 28, 28), labels uint8 of shape (N,). With no ``path``, the 60,000 +
    10,000 digits bundled with the course, checked against the official MD5s and cached per process
    (each call returns fresh copies). Otherwise ``path`` is a folder of the four IDX files (checked
    against the official MD5s unless ``verify=False``), a Keras-style ``.npz``, a folder holding
    ``mnist_train.csv`` and ``mnist_test.csv``, or a ``(train_csv, test_csv)`` pair.
    """
    if path is None:
        (x_train, y_train), (x_test, y_test) = _bundled()
        return (x_train.copy(), y_train.copy()), (x_test.copy(), y_test.copy())
    if isinstance(path, tuple):
        if len(path) != 2:
            raise DataError(f"path: a CSV pair must be (train_csv, test_csv), got {len(path)} items")
        train_csv, test_csv = (_existing(p) for p in path)
        return read_csv(train_csv), read_csv(test_csv)
    path = _existing(path)
    if path.is_file():
        if path.suffix == ".npz":
            return _load_npz(path)
        raise DataError(f"path: {path} is a file but not a .npz; expected a folder of IDX files, a .npz, "
                         "a folder with mnist_train.csv and mnist_test.csv, or a (train_csv, test_csv) pair")
    csvs = [path / "mnist_train.csv", path / "mnist_test.csv"]
    if all(p.exists() for p in csvs):
        return read_csv(csvs[0]), read_csv(csvs[1])
    return _load_idx_folder(path, verify=verify)
