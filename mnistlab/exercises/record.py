"""The record of a learner's progress: which exercises are solved, kept in the user's data folder (never the cache,
learner may delete to start the models afresh).

The record is one small JSON file, ``exercises.json``, in :func:`data_dir`. Every change is a read-modify-write
under a cross-process lock (filelock), so notebooks checking exercises at the same time lose nothing; the file
is replaced in one ``os.replace``, so a reader never sees half of it. A file that cannot be read as a record is
reported in one line and moved aside (``exercises.json.damaged-TIMESTAMP``), never silently overwritten. A
progress from before (in the cache folder's ``records/``) is carried over once.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
import tempfile
from pathlib import Path

__all__ = ["DATA_ENV", "data_dir", "path", "record_solved", "solved"]

#: Where the learner's data lives when set (tests, a class's shared machine); else platformdirs' user data folder.
DATA_ENV = "MNISTLAB_DATA"
_FILE = "exercises.json"
_LOCK_TIMEOUT_S = 30


def data_dir() -> Path:
    """``$MNISTLAB_DATA``, else the user's data folder for mnistlab (``~/.local/share/mnistlab`` on Linux)."""
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]).expanduser()
    from platformdirs import user_data_path

    return user_data_path("mnistlab", appauthor=False)


def path() -> Path:
    """The progress file."""
    return data_dir() / _FILE


def _warn(line: str) -> None:
    print(line, file=sys.stderr)


def _read(file: Path) -> dict[str, str]:
    """The record in ``file``; ``{}`` if there is none; a damaged one is moved aside and said in one line."""
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        _warn(f"progress: cannot read {file} ({exc.strerror or exc}); your solved exercises are not shown")
        return {}
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
            raise ValueError("expected an object of exercise keys and dates")
    except ValueError as exc:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        aside = file.with_name(f"{file.name}.damaged-{stamp}")
        try:
            os.replace(file, aside)
            _warn(f"progress: {file} could not be read ({exc}); kept aside as {aside.name}, starting a new record")
        except OSError:
            _warn(f"progress: {file} could not be read ({exc}) nor moved aside; your solved exercises are not shown")
        return {}
    return data


def _legacy() -> dict[str, str]:
    """Progress kept in the cache folder by earlier versions, if any (read only)."""
    from mnistlab.cache import read_record

    return {str(k): str(v) for k, v in read_record(_FILE).items()}


def solved() -> dict[str, str]:
    """The solved exercises: key -> when it was first solved."""
    file = path()
    if not file.exists():
        return _legacy()
    return _read(file)


def record_solved(key: str) -> bool:
    """Remember that exercise ``key`` is solved (the first date is kept); ``False`` (said in one line) if the
    data folder cannot be written."""
    from filelock import FileLock, Timeout

    file = path()
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(file) + ".lock", timeout=_LOCK_TIMEOUT_S):
            done = _read(file) if file.exists() else _legacy()
            if key in done:
                return True
            done[key] = datetime.datetime.now().isoformat(timespec="seconds")
            fd, staged = tempfile.mkstemp(prefix=f".{_FILE}.", suffix=".tmp", dir=file.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(done, handle, indent=1, sort_keys=True)
                os.replace(staged, file)
            finally:
                Path(staged).unlink(missing_ok=True)
    except (OSError, Timeout) as exc:
        _warn(f"progress: exercise {key} is solved, but {file.parent} cannot be written "
              f"({getattr(exc, 'strerror', None) or exc}); it is not remembered")
        return False
    return True
