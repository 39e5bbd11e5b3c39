"""The user's cache of what the course computes once and reuses (trained models, baseline tables).

This module is the only code that reads or writes the cache. An entry is a folder named by its key:
``meta.json`` there is the entry (its metadata, the version folder that holds its files and a SHA-256
of each), and each version folder holds files that never change once written (a model's
``model.keras``). A writer fills a new version folder under a temporary unique name, renames it,
then replaces ``meta.json`` with ``os.replace``: nothing half-written is ever visible, a reader
never sees a file vanish under it, and two processes that compute the same entry at once both
succeed and leave one valid entry. Versions no longer named by ``meta.json`` are removed once they
are older than :data:`GRACE_SECONDS`. An entry that cannot be read (missing, empty or invalid
metadata, a wrong schema, a file missing, truncated or changed) is a miss: :func:`load` says so in
one line and the caller computes it again, which replaces it.

Keys come from :func:`digest` over everything that changes the result: settings, the functions that
compute it (:func:`functions_digest`: their syntax trees, so that moving or reformatting code stales
nothing) and the library versions (:func:`versions`). :func:`load_or_compute` is the one way a result
is taken from the cache or computed and kept there; while one process computes an entry, another that
asks for it waits and then reads it (a lock per key), so nothing is computed twice at once. The cache
lives in the user's cache folder (:func:`cache_dir`), never in the repository.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TypeVar

import numpy as np

__all__ = ["SCHEMA", "Entry", "Unusable", "arrays_digest", "cache_dir", "digest", "fetch", "functions_digest", "load",
           "load_or_compute", "locked", "module_source", "read_record", "save", "shown", "versions", "warn",
           "write_record"]

T = TypeVar("T")

#: The layout version of ``meta.json``; an entry written with another one is a miss.
SCHEMA = 3
#: How long a version folder that ``meta.json`` no longer names is kept for readers still using it.
GRACE_SECONDS = 600
_META = "meta.json"
_LOCK = ".lock"
_STALE_SECONDS = 24 * 3600  # temporary files older than this were left by a crashed writer


def cache_dir() -> Path:
    """$MNISTLAB_CACHE, else $XDG_CACHE_HOME/mnistlab, else ~/.cache/mnistlab."""
    if os.environ.get("MNISTLAB_CACHE"):
        return Path(os.environ["MNISTLAB_CACHE"]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mnistlab"


def shown(path: Path) -> str:
    """``path`` as a person reads it in a message: under the home folder, from ``~``."""
    try:
        return str(Path("~") / path.relative_to(Path.home()))
    except ValueError:
        return str(path)


def digest(identity: Mapping) -> str:
    """A short stable hash of a JSON-able description of what was computed and with which versions."""
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:10]


def module_source(name: str) -> str:
    """The source text of the module ``name`` (``"mnistlab.training"``), read without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        raise ValueError(f"module_source: no Python source for {name!r}")
    return Path(spec.origin).read_text(encoding="utf-8")


def functions_digest(source: str, names: Iterable[str]) -> str:
    """A hash of what the functions (or classes) ``names`` of a module's ``source`` text do: their syntax trees,
    docstrings left out. Editing their code changes it; moving them, reformatting them, rewording their
    docstrings or comments, or editing any other part of the module does not. Reading the text imports nothing
    (:func:`module_source` gives a module's text by its name).
    """
    import ast

    found = {node.name: node for node in ast.parse(source).body
             if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    missing = [name for name in names if name not in found]
    if missing:
        raise ValueError(f"functions_digest: the source defines no {', '.join(missing)}")
    # The same text on every Python, as 3.10 and 3.11 dump a tree (3.12 adds an empty type_params to every function
    # and class; 3.13 leaves empty lists out unless asked), so that cache keys and the shipped weights' records hold.
    options = {"show_empty": True} if sys.version_info >= (3, 13) else {}
    dumps = []
    for name in names:
        node = found[name]
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
                and isinstance(body[0].value.value, str):
            node = type(node)(**{**{f: getattr(node, f) for f in node._fields}, "body": body[1:] or [ast.Pass()]})
        dumps.append(ast.dump(node, **options).replace(", type_params=[]", ""))
    return hashlib.sha256("\n\0".join(dumps).encode()).hexdigest()[:16]


def arrays_digest(arrays: Sequence[np.ndarray]) -> str:
    """A SHA-256 of arrays (weights, digits): their order, dtypes, shapes and bytes."""
    hasher = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        hasher.update(f"{array.dtype.str}{array.shape}".encode())
        hasher.update(array.tobytes())
    return hasher.hexdigest()


def versions(*distributions: str) -> dict[str, str]:
    """The installed version of each distribution (read from its metadata: nothing is imported)."""
    found = {}
    for name in distributions:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def warn(line: str) -> None:
    """Print one line on stderr: how the cache reports an entry it cannot use."""
    print(line, file=sys.stderr)


@dataclass(frozen=True)
class Entry:
    """A readable cache entry: its key, its metadata and the folder that holds its files."""

    key: str
    meta: dict
    folder: Path

    def file(self, name: str) -> Path:
        """The path of one of the entry's files."""
        return self.folder / name


def _sha256(path: Path) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(block)
    return hasher.hexdigest()


def _record(folder: Path, key: str) -> tuple[str | None, dict | None]:
    """``(problem, record)``: the entry's ``meta.json`` read and its layout checked (not its files)."""
    try:
        record = json.loads((folder / _META).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return f"{_META} is missing (an interrupted write, or files put there by hand)", None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return f"{_META} is not valid JSON ({exc})", None
    if not isinstance(record, dict) or record.get("schema") != SCHEMA:
        found = record.get("schema") if isinstance(record, dict) else type(record).__name__
        return f"{_META} has schema {found!r}; expected {SCHEMA}", None
    version, meta, files = record.get("version"), record.get("meta"), record.get("files")
    if (record.get("key") != key or not isinstance(meta, dict) or not isinstance(files, dict)
            or not isinstance(version, str) or Path(version).name != version or version.startswith(".")):
        return f"{_META} does not describe the entry {key}", None
    return None, record


def _check(folder: Path, key: str, required: Iterable[str] = (), matches: Mapping | None = None
           ) -> tuple[str | None, dict | None]:
    """``(problem, record)``: why the entry in ``folder`` cannot be used (``None`` when it can), and its record."""
    problem, record = _record(folder, key)
    if problem is not None:
        return problem, None
    version, meta = record["version"], record["meta"]
    missing = [name for name in required if name not in meta]
    if missing:
        return f"{_META} lacks {missing}", None
    if isinstance(required, Mapping):
        for name, kind in required.items():
            value = meta[name]
            if not isinstance(value, kind) or isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple)
                                                                                     else (kind,)):
                return f"{_META} has {name} of type {type(value).__name__}; expected {_type_names(kind)}", None
    for name, expected in (matches or {}).items():
        if meta.get(name) != expected:
            return f"its {name} differs from the one asked for", None
    for name, checksum in record["files"].items():
        path = folder / version / name
        if not path.is_file():
            return f"{version}/{name} is missing", None
        if _sha256(path) != checksum:
            return f"{version}/{name} is truncated or changed (its SHA-256 differs from the one recorded)", None
    return None, record


def _type_names(kind) -> str:
    return " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))


def load(key: str, *, required: Iterable[str] | Mapping[str, type | tuple[type, ...]] = (),
         matches: Mapping | None = None, log: Callable[[str], None] = warn) -> Entry | None:
    """The cache entry for ``key``, or ``None`` (a miss) when there is none or it cannot be used.

    ``required`` names the metadata fields the entry must have (a mapping also gives each field's type,
    as ``isinstance`` takes it), ``matches`` the values some of them must equal. An entry that exists but cannot be
    used is reported in one line through ``log`` (by default on stderr); the caller computes it again and
    :func:`save` replaces it.
    """
    folder = cache_dir() / key
    try:
        present = (folder / _META).exists()
    except OSError:  # a file where a folder should be, no permission: nothing usable there
        return None
    if not present and not any(not p.name.startswith(".") for p in _children(folder)):
        return None  # nothing there, or only a write in progress
    problem, record = _check(folder, key, required, matches)
    if problem is not None:
        log(f"cache: ignoring {folder}: {problem}; computing it again")
        return None
    return Entry(key, record["meta"], folder / record["version"])


class Unusable(ValueError):
    """Raised by a reader given to :func:`fetch` or :func:`load_or_compute`: the entry's content cannot be used (the
    message says why, in a few words)."""


def fetch(key: str, read: Callable[[Entry], T], *, required: Iterable[str] | Mapping[str, type | tuple[type, ...]] = (),
          matches: Mapping | None = None, log: Callable[[str], None] = warn) -> T | None:
    """``read(entry)`` for the entry ``key`` (see :func:`load`), or ``None`` when there is none or it cannot be used.

    ``read`` turns the entry into the result; it raises :class:`Unusable` (or ``TypeError``, ``ValueError``,
    ``KeyError``) for content it cannot use, which is said in one line through ``log`` and is a miss.
    """
    entry = load(key, required=required, matches=matches, log=log)
    if entry is None:
        return None
    try:
        return read(entry)
    except Unusable as exc:
        log(f"cache: ignoring {entry.folder}: {exc}; computing it again")
    except (TypeError, ValueError, KeyError) as exc:
        log(f"cache: ignoring {entry.folder}: its content cannot be read ({type(exc).__name__}: {exc}); "
            "computing it again")
    return None


@contextmanager
def locked(key: str, waiting: Callable[[], object] | None = None) -> Iterator[None]:
    """Hold the lock of the entry ``key`` (the file ``.lock`` in its folder) while computing it: a second process
    that asks for the same entry waits here until the first is done. ``waiting()`` is called once if the lock
    is held by another. Where the cache cannot be written, nothing is locked."""
    from filelock import FileLock, Timeout

    try:
        folder = cache_dir() / key
        folder.mkdir(parents=True, exist_ok=True)
        lock = FileLock(folder / _LOCK)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if waiting is not None:
                waiting()
            lock.acquire()
    except OSError:  # no cache to write: every process computes for itself
        yield
        return
    try:
        yield
    finally:
        lock.release()


def load_or_compute(key: str, compute: Callable[[], T | None], *, read: Callable[[Entry], T],
                    write: Callable[[T], tuple[Mapping, Mapping[str, Callable[[Path], object]]]],
                    required: Iterable[str] | Mapping[str, type | tuple[type, ...]] = (),
                    matches: Mapping | None = None, refresh: bool = False, log: Callable[[str], None] = warn,
                    waiting: Callable[[], object] | None = None,
                    saved: Callable[[T, Entry | None], object] | None = None) -> T | None:
    """The result kept under ``key`` (:func:`fetch` with ``read``), or else ``compute()``'s, then kept.

    ``write(result)`` gives the entry's metadata and files (as :func:`save` takes them); ``saved(result, entry)``,
    if given, is told the entry written (``None`` when the cache cannot be written). ``refresh=True`` computes in
    any case and replaces the entry. While one process computes, another asking for the same key waits for it
    (:func:`locked`, ``waiting``) and then reads its result. ``compute`` may return ``None``: nothing to keep, and
    ``None`` is returned.
    """
    if not refresh:
        found = fetch(key, read, required=required, matches=matches, log=log)
        if found is not None:
            return found
    with locked(key, waiting):
        if not refresh:  # another process may have computed it while this one waited
            found = fetch(key, read, required=required, matches=matches, log=lambda line: None)
            if found is not None:
                return found
        result = compute()
        if result is None:
            return None
        meta, files = write(result)
        entry = save(key, meta, files, log=log)
    if saved is not None:
        saved(result, entry)
    return result


def _children(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except OSError:
        return []


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _collect(folder: Path) -> None:
    """Remove versions that ``meta.json`` no longer names once they are old, and what crashed writers left."""
    _, record = _record(folder, folder.name)  # which version is current: no need to hash its files again
    current = record["version"] if record else None
    now = time.time()
    for path in folder.iterdir():
        if path.name in (_META, _LOCK, current):
            continue
        try:
            age = now - path.stat().st_mtime
        except OSError:
            continue
        limit = _STALE_SECONDS if path.name.startswith(".") else GRACE_SECONDS
        if age > limit:
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)


def _replace(source: Path, target: Path) -> None:
    """os.replace, retried briefly where a reader holding the file blocks it (Windows)."""
    for attempt in range(50):
        try:
            os.replace(source, target)
            return
        except PermissionError:
            if attempt == 49:
                raise
            time.sleep(0.02)


def save(key: str, meta: Mapping, files: Mapping[str, Callable[[Path], object]] | None = None, *,
         replace: bool = True, log: Callable[[str], None] = warn) -> Entry | None:
    """Write an entry: ``meta`` (JSON-able) and files, each written by ``files[name](path)``.

    The files go into a new version folder (written under a temporary unique name, then renamed),
    and the entry's ``meta.json`` is replaced in one ``os.replace``: what a caller computes after a
    miss replaces what made it miss. With ``replace=False`` an intact entry already there is kept
    instead (another process computed the same thing). Returns the entry as published, or ``None``
    when the cache cannot be written (a file in its place, no permission, a full disk): that is said
    in one line through ``log``, nothing half-written is left, and the caller goes on with its result
    in memory.
    """
    for name in files or {}:
        if name == _META or Path(name).name != name or name.startswith("."):
            raise ValueError(f"files: {name!r} is not a plain file name other than {_META}")
    try:
        return _save(key, meta, files, replace)
    except OSError as exc:
        log(f"cache: cannot write {cache_dir() / key} ({exc.strerror or exc}); the result is kept in memory only "
            f"(set MNISTLAB_CACHE to a folder you can write)")
        return None


def _save(key: str, meta: Mapping, files: Mapping[str, Callable[[Path], object]] | None, replace: bool) -> Entry:
    folder = cache_dir() / key
    folder.mkdir(parents=True, exist_ok=True)
    version = f"v{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
    building = Path(tempfile.mkdtemp(prefix=f".{version}.", suffix=".tmp", dir=folder))
    staged = None
    try:
        checksums = {}
        for name, write in (files or {}).items():
            write(building / name)
            _fsync(building / name)
            checksums[name] = _sha256(building / name)
        existing = None if replace else load(key, log=lambda line: None)
        if existing is not None:
            return existing  # another process computed it: keep theirs
        os.rename(building, folder / version)
        record = {"schema": SCHEMA, "key": key, "version": version, "meta": dict(meta), "files": checksums}
        fd, name = tempfile.mkstemp(prefix=".meta.", suffix=".tmp", dir=folder)
        staged = Path(name)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(record, handle, indent=1)
            handle.flush()
            os.fsync(handle.fileno())
        _replace(staged, folder / _META)
        staged = None
    finally:
        shutil.rmtree(building, ignore_errors=True)
        if staged is not None:
            staged.unlink(missing_ok=True)
    _collect(folder)
    return Entry(key, dict(meta), folder / version)


def _record_path(name: str) -> Path:
    if Path(name).name != name or not name.endswith(".json") or name.startswith("."):
        raise ValueError(f"name: expected a plain file name ending in .json, got {name!r}")
    return cache_dir() / "records" / name


def read_record(name: str) -> dict:
    """A small JSON record of the user's (exercise progress, say) from the cache; ``{}`` if there is none
    or it cannot be read."""
    try:
        data = json.loads(_record_path(name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_record(name: str, data: Mapping) -> Path:
    """Replace a record in one ``os.replace`` (a reader sees the old or the new one, never half of one)."""
    path = _record_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, staged = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(dict(data), handle, indent=1, sort_keys=True)
        _replace(Path(staged), path)
    finally:
        Path(staged).unlink(missing_ok=True)
    return path
