"""The cache: atomic entries, every corruption a logged miss, concurrent writers, keys that cover the code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mnistlab import cache
from mnistlab.recipes import RECIPES, ConfigError, TrainConfig


@pytest.fixture
def folder(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("MNISTLAB_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _payload(text: str):
    def write(path: Path) -> None:
        path.write_text(text)
    return write


def _entry(key: str = "demo-1", text: str = "weights " * 1000) -> cache.Entry:
    return cache.save(key, {"accuracy": 0.99, "history": [1, 2]}, {"model.bin": _payload(text)})


def test_a_saved_entry_loads_with_its_files(folder):
    saved = _entry()
    assert saved.folder.parent == folder / "demo-1" and saved.meta == {"accuracy": 0.99, "history": [1, 2]}
    loaded = cache.load("demo-1", required=("accuracy",), matches={"history": [1, 2]})
    assert loaded is not None and loaded.file("model.bin").read_text().startswith("weights")
    assert sorted(p.name for p in folder.iterdir()) == ["demo-1"]  # no temporary folder left behind
    assert cache.load("absent") is None


def _corrupt(folder: Path, how: str) -> None:
    entry = cache.load("demo-1").folder  # the version folder that holds the files
    meta = folder / "demo-1" / "meta.json"
    if how == "truncated file":
        data = (entry / "model.bin").read_bytes()
        (entry / "model.bin").write_bytes(data[: len(data) // 2])
    elif how == "changed file":
        (entry / "model.bin").write_text("other weights of the same length?")
    elif how == "missing file":
        (entry / "model.bin").unlink()
    elif how == "empty metadata":
        meta.write_text("")
    elif how == "invalid JSON":
        meta.write_text('{"schema": 2, "key": ')
    elif how == "not UTF-8":
        meta.write_bytes(b"\xff\xfe\x00")
    elif how == "wrong schema":
        record = json.loads(meta.read_text())
        record["schema"] = 1
        meta.write_text(json.dumps(record))
    elif how == "a list, not a record":
        meta.write_text("[1, 2, 3]")
    elif how == "another key":
        record = json.loads(meta.read_text())
        record["key"] = "demo-2"
        meta.write_text(json.dumps(record))
    elif how == "weights without metadata":
        meta.unlink()
    elif how == "missing field":
        record = json.loads(meta.read_text())
        del record["meta"]["accuracy"]
        meta.write_text(json.dumps(record))
    else:  # pragma: no cover
        raise AssertionError(how)


CORRUPTIONS = ["truncated file", "changed file", "missing file", "empty metadata", "invalid JSON", "not UTF-8",
               "wrong schema", "a list, not a record", "another key", "weights without metadata", "missing field"]


@pytest.mark.parametrize("how", CORRUPTIONS)
def test_an_unusable_entry_is_a_miss_said_in_one_line_then_replaced(folder, how):
    _entry()
    _corrupt(folder, how)
    lines = []
    assert cache.load("demo-1", required=("accuracy",), log=lines.append) is None
    assert len(lines) == 1 and lines[0].startswith(f"cache: ignoring {folder / 'demo-1'}: ")
    assert lines[0].endswith("; computing it again")
    _entry(text="fresh weights")  # recomputed: replaces the broken entry
    again = cache.load("demo-1", required=("accuracy",), log=lines.append)
    assert again is not None and again.file("model.bin").read_text() == "fresh weights" and len(lines) == 1


def test_a_stale_value_is_a_miss(folder):
    _entry()
    lines = []
    assert cache.load("demo-1", matches={"history": [9]}, log=lines.append) is None
    assert "its history differs" in lines[0]


def test_what_is_computed_replaces_the_entry_unless_asked_to_keep_an_intact_one(folder):
    _entry(text="first")
    cache.save("demo-1", {"accuracy": 0.5}, {"model.bin": _payload("second")}, replace=False)
    assert cache.load("demo-1").file("model.bin").read_text() == "first"  # someone computed it already
    cache.save("demo-1", {"accuracy": 0.5}, {"model.bin": _payload("third")})
    assert cache.load("demo-1").file("model.bin").read_text() == "third"
    assert sorted(p.name for p in folder.iterdir()) == ["demo-1"]
    current = cache.load("demo-1").folder
    [replaced] = [p for p in (folder / "demo-1").iterdir() if p.name != "meta.json" and p != current]
    assert replaced.exists()  # a reader may still be using it: it waits out its grace period
    os.utime(replaced, (0, 0))  # long ago
    cache.save("demo-1", {"accuracy": 0.5}, {"model.bin": _payload("fourth")})
    assert not replaced.exists() and current.exists()  # the old one collected, the one just replaced kept
    assert len(list((folder / "demo-1").iterdir())) == 3


def test_a_failed_write_leaves_nothing_visible(folder):
    def crash(path: Path) -> None:
        path.write_text("half a mod")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cache.save("demo-1", {"accuracy": 1.0}, {"model.bin": crash})
    assert cache.load("demo-1", log=pytest.fail) is None
    assert list((folder / "demo-1").iterdir()) == []
    with pytest.raises(ValueError, match="not a plain file name"):
        cache.save("demo-1", {}, {"../escape": _payload("x")})


_RACER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from mnistlab import cache

    start, tag = float(sys.argv[1]), sys.argv[2]
    while time.time() < start:
        pass
    for round in range(40):
        def write(path, round=round):
            with open(path, "w") as f:
                for _ in range(50):
                    f.write(tag * 2000)  # written in pieces: a reader must never see a part
        entry = cache.save(f"race-{round % 4}", {"writer": tag, "round": round}, {"model.bin": write})
        loaded = cache.load(f"race-{round % 4}", required=("writer",), log=lambda line: sys.exit(line))
        assert loaded is not None, "an entry vanished"
        text = loaded.file("model.bin").read_text()
        assert len(text) == 100_000 and text == loaded.meta["writer"] * 100_000, "a torn or mixed entry"
    print("ok")
""")


def test_processes_racing_on_the_same_entries_all_succeed_and_leave_valid_ones(folder, tmp_path):
    """Three processes write the same four keys 40 times each, at the same moment."""
    import time

    script = tmp_path / "racer.py"
    script.write_text(_RACER)
    start = str(time.time() + 1.5)
    env = {**os.environ, "MNISTLAB_CACHE": str(folder)}
    racers = [subprocess.Popen([sys.executable, str(script), start, tag], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True) for tag in "abc"]
    for racer in racers:
        out, err = racer.communicate(timeout=120)
        assert racer.returncode == 0 and out.strip() == "ok", err
    for k in range(4):
        entry = cache.load(f"race-{k}", required=("writer",), log=pytest.fail)
        assert entry is not None and entry.file("model.bin").read_text() == entry.meta["writer"] * 100_000
    assert sorted(p.name for p in folder.iterdir()) == [f"race-{k}" for k in range(4)]


def test_two_processes_computing_the_same_baseline_table_both_succeed(folder, tmp_path):
    """A real computation twice at once: both processes get the table, one valid entry remains."""
    code = ("from mnistlab.baselines import load_or_compare\n"
            "table, _ = load_or_compare(300, progress=False, warn=lambda line: print('WARN', line))\n"
            "print(table['accuracy'].round(4).to_dict())\n")
    env = {**os.environ, "MNISTLAB_CACHE": str(folder), "OMP_NUM_THREADS": "1"}
    runs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(2)]
    outputs = []
    for run in runs:
        out, err = run.communicate(timeout=300)
        assert run.returncode == 0, err
        assert "WARN" not in out
        outputs.append(out)
    assert outputs[0] == outputs[1]
    entries = [p for p in folder.iterdir()]
    assert len(entries) == 1 and entries[0].name.startswith("baselines-report-n300-s42-")
    from mnistlab.baselines import load_or_compare

    table, predictions = load_or_compare(300, progress=False, warn=pytest.fail)
    assert set(predictions) == set(table.index)


def test_an_unreadable_baseline_table_is_recomputed(folder):
    from mnistlab.baselines import load_or_compare

    table, _ = load_or_compare(200, progress=False)
    [entry] = folder.iterdir()
    record = json.loads((entry / "meta.json").read_text())
    record["meta"]["table"] = {"columns": "nonsense"}
    (entry / "meta.json").write_text(json.dumps(record))
    lines = []
    again, _ = load_or_compare(200, progress=False, warn=lines.append)
    assert len(lines) == 1 and "its content cannot be read" in lines[0]
    assert again["accuracy"].tolist() == table["accuracy"].tolist()
    assert load_or_compare(200, progress=False, warn=pytest.fail)[0]["accuracy"].tolist() == table["accuracy"].tolist()


_COMPUTER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from mnistlab import cache

    calls, release, waiting = (Path(name) for name in sys.argv[1:4])

    def compute():
        with calls.open("a") as f:
            f.write("computed ")
        deadline = time.monotonic() + 120  # the test releases it; the deadline only keeps a broken test from hanging
        while not release.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        return {"answer": 42}

    def wait():
        print("waited", flush=True)
        waiting.touch()  # the test sees this one is blocked on the lock, and only then lets the computation end

    found = cache.load_or_compute("shared-1", compute, read=lambda entry: entry.meta,
                                  write=lambda result: (result, {}), waiting=wait)
    print(found["answer"])
""")


def _poll(until, runs, calls: Path, what: str, seconds: float = 120) -> None:
    """Wait for ``until()``; fail at once if an entry is computed twice, or a process exits first."""
    deadline = time.monotonic() + seconds
    while not until():
        if calls.exists() and calls.read_text().count("computed") > 1:
            pytest.fail(f"computed twice at once, while waiting for {what}: the lock did not serialise them")
        ended = [run for run in runs if run.poll() is not None]
        if ended:
            pytest.fail(f"a process exited while waiting for {what}: {ended[0].communicate()}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


def test_a_result_another_process_is_computing_is_waited_for_then_read(folder, tmp_path):
    """Two processes ask for the same entry at once: one computes it, the other waits for it and reads it.

    No race on the clock: the first one's computation lasts until the test sees the second one blocked on the
    lock (its ``waiting`` called), so the second one waits, however slowly either starts."""
    script, calls, release = tmp_path / "computer.py", tmp_path / "calls.txt", tmp_path / "release"
    script.write_text(_COMPUTER)
    env = {**os.environ, "MNISTLAB_CACHE": str(folder)}
    waiting = [tmp_path / "waiting-first", tmp_path / "waiting-second"]
    runs = []

    def start(index: int) -> None:
        runs.append(subprocess.Popen([sys.executable, str(script), str(calls), str(release), str(waiting[index])],
                                     env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))

    try:
        start(0)
        _poll(lambda: calls.exists() and calls.read_text() == "computed ", runs, calls, "the first to compute")
        start(1)
        _poll(waiting[1].exists, runs, calls, "the second to wait on the lock")
        assert calls.read_text() == "computed "  # the second one is blocked, not computing
        release.touch()
        outputs = []
        for run in runs:
            out, err = run.communicate(timeout=120)
            assert run.returncode == 0, err
            outputs.append(out.split())
    finally:
        release.touch()
        for run in runs:
            if run.poll() is None:
                run.kill()
                run.communicate()
    assert calls.read_text() == "computed "  # once
    assert outputs == [["42"], ["waited", "42"]] and not waiting[0].exists()
    assert cache.load("shared-1", log=pytest.fail).meta == {"answer": 42}


def test_load_or_compute_reads_computes_refreshes_and_keeps_nothing_for_none(folder):
    calls = []

    def compute():
        calls.append(1)
        return {"n": len(calls)}

    def ask(**options):
        return cache.load_or_compute("lc-1", compute, read=lambda entry: entry.meta, write=lambda r: (r, {}),
                                     required={"n": int}, log=pytest.fail, **options)

    assert ask() == {"n": 1} and ask() == {"n": 1} and len(calls) == 1  # computed once, then read
    assert ask(refresh=True) == {"n": 2} and ask() == {"n": 2}  # refreshed: computed again and replaced
    assert cache.load_or_compute("lc-2", lambda: None, read=lambda e: e.meta, write=lambda r: (r, {})) is None
    assert cache.load("lc-2") is None  # nothing to keep
    lines = []
    unusable = cache.load_or_compute("lc-1", compute, read=lambda e: (_ for _ in ()).throw(cache.Unusable("bad")),
                                     write=lambda r: (r, {}), log=lines.append)
    assert unusable == {"n": 3} and len(lines) == 1 and lines[0].endswith(": bad; computing it again")


def test_without_a_writable_cache_load_or_compute_computes_and_says_so_once(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("MNISTLAB_CACHE", str(blocker))
    lines = []
    found = cache.load_or_compute("lc-3", lambda: {"n": 1}, read=lambda e: e.meta, write=lambda r: (r, {}),
                                  log=lines.append)
    assert found == {"n": 1} and len(lines) == 1 and "cannot write" in lines[0]


# --- keys ------------------------------------------------------------------------------------

def test_keys_cover_every_hyperparameter_of_the_recipe(monkeypatch):
    import dataclasses

    config = TrainConfig(model="best", train_size=1000, epochs=2)
    key = config.key()
    assert key == TrainConfig(model="best", train_size=1000, epochs=2).key()
    assert key.startswith("best-n1000-e2-b128-s42-")
    recipe = RECIPES["best"]
    changes = [{"learning_rate": 1e-3}, {"warmup_fraction": 0.1}, {"initial_fraction": 0.2},
               {"final_fraction": 0.0}, {"label_smoothing": 0.0}, {"schedule": "constant"},
               {"build_args": {**recipe.build_args, "shift": 0.0}},
               {"build_args": {**recipe.build_args, "rotation": 0.05}},
               {"build_args": {**recipe.build_args, "widths": (16, 32, 64)}},
               {"build_args": {**recipe.build_args, "kernel_size": 5}},
               {"build_args": {**recipe.build_args, "pools": (True, False, False)}},
               {"build_args": {**recipe.build_args, "dropout": 0.1}}]
    for change in changes:
        monkeypatch.setitem(RECIPES, "best", dataclasses.replace(recipe, **change))
        assert config.key() != key, change
    monkeypatch.setitem(RECIPES, "best", recipe)
    for change in ({"epochs": 3}, {"batch_size": 64}, {"seed": 1}, {"train_size": 999}):
        assert dataclasses.replace(config, **change).key() != key


def test_editing_the_model_code_or_a_library_changes_the_key(monkeypatch):
    """The builder's code is in the key; another function of models.py, or its docstring, is not."""
    config = TrainConfig(model="best", train_size=1000, epochs=2)
    key = config.key()
    real = cache.module_source

    def edited(old: str, new: str):
        def source(name: str) -> str:
            text = real(name)
            if name == "mnistlab.models":
                assert old in text
                return text.replace(old, new)
            return text
        return source

    monkeypatch.setattr(cache, "module_source", edited("bn_momentum: float = 0.9", "bn_momentum: float = 0.8"))
    assert config.key() != key
    monkeypatch.setattr(cache, "module_source", edited("dropout: float = 0.2):", "dropout: float = 0.3):"))
    assert config.key() == key  # report_cnn's default: not the best model's builder
    monkeypatch.setattr(cache, "module_source", edited("The course's own CNNs", "The course's CNNs"))
    assert config.key() == key  # a docstring
    monkeypatch.setattr(cache, "module_source", real)
    real_versions = cache.versions
    monkeypatch.setattr(cache, "versions", lambda *names: {**real_versions(*names), "keras": "99.0"})
    assert config.key() != key


def test_the_training_code_is_in_the_key(monkeypatch):
    from importlib import resources

    config = TrainConfig(model="report", train_size=1000, epochs=2)
    key = config.key()
    text = resources.files("mnistlab").joinpath("training.py").read_text()
    assert "shuffle=True" in text
    real = cache.functions_digest  # an edit inside train(): the key changes
    monkeypatch.setattr(cache, "functions_digest", lambda source, names: real(source.replace("shuffle=True",
                                                                                              "shuffle=False"), names))
    assert config.key() != key


def test_config_errors_name_the_option():
    with pytest.raises(ConfigError,
                       match=r"model \(--model\): expected one of report, quick, best, robust; got 'seed'"):
        TrainConfig(model="seed")
    with pytest.raises(ConfigError, match=r"batch_size \(--batch-size\): expected a whole number from 1 to 60,000"):
        TrainConfig(batch_size=-1)
    with pytest.raises(ConfigError, match="epochs"):
        TrainConfig(epochs=True)
    assert isinstance(ConfigError("x"), ValueError)


def test_recipes_and_keys_do_not_import_tensorflow():
    code = ("import sys\nfrom mnistlab.recipes import DEFAULTS\n[c.key() for c in DEFAULTS.values()]\n"
            "import mnistlab.cache, mnistlab.cli\nprint('tensorflow' in sys.modules, 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_functions_digest_follows_what_the_functions_do():
    from mnistlab.cache import functions_digest

    source = 'import os\n\ndef f(x):\n    """Double."""\n    return 2 * x\n\n\ndef g():\n    return os.sep\n'
    moved = ('def g():\n    return os.sep  # a comment\n\nimport os\n\n\ndef f(x):\n    """Twice x, reworded."""\n'
             '    return (2 *\n            x)\n\nprint("more code")\n')
    assert functions_digest(source, ["f", "g"]) == functions_digest(moved, ["f", "g"])
    assert functions_digest(source, ["f"]) != functions_digest(source.replace("2 * x", "3 * x"), ["f"])
    assert functions_digest(source, ["f"]) != functions_digest(source, ["g"])
    with pytest.raises(ValueError, match="defines no h"):
        functions_digest(source, ["f", "h"])


def test_functions_digest_is_the_same_on_every_python():
    """Python 3.12 and 3.13 dump syntax trees differently from 3.10 and 3.11 (type_params, empty lists): the digest
    must not follow, or the shipped weights would be refused there. The value was computed on Python 3.10 to 3.13."""
    from mnistlab.cache import functions_digest

    source = (
        'class Layer:\n    """A layer."""\n'
        '    def __init__(self, units: int = 3, *args, name=None, **kwargs) -> None:\n'
        '        self.units = [u for u in range(units) if u]\n        self.seen = {}\n'
        '    def call(self, x):\n        with open(x) as f:\n            return lambda: f\n'
        'def build(seed, layers=(), /, *, rate=0.5):\n    try:\n        return [Layer(n) for n in layers][::2]\n'
        '    except (ValueError, KeyError) as error:\n        raise RuntimeError() from error\n')
    assert functions_digest(source, ["Layer", "build"]) == "d11fb1d318510dbe"


def test_a_model_identity_ignores_training_code_outside_the_training_functions():
    from importlib import resources

    from mnistlab.cache import functions_digest
    from mnistlab.recipes import DEFAULTS, TRAINING_FUNCTIONS

    text = resources.files("mnistlab").joinpath("training.py").read_text(encoding="utf-8")
    assert DEFAULTS["best"].identity()["code"]["training"] == functions_digest(text, TRAINING_FUNCTIONS)
    edited = text.replace('"""Train a model for a config', '"""Trains a model for a config') + "\n# a note\n"
    assert functions_digest(edited, TRAINING_FUNCTIONS) == functions_digest(text, TRAINING_FUNCTIONS)


def test_a_builder_that_builds_on_others_is_keyed_on_all_of_them():
    """sturdy_cnn wraps course_cnn and adds DigitAugmentation: a model built with it is keyed on all three."""
    from mnistlab.recipes import BUILDER_FUNCTIONS

    source = cache.module_source("mnistlab.models")
    for builder, names in BUILDER_FUNCTIONS.items():
        assert builder in names
        digest = cache.functions_digest(source, names)
        for name in names:
            assert name in source
            edited = source.replace(f"def {name}(", f"def {name}(_unused=None, ").replace(
                f"class {name}(", f"class {name}(object, ")
            assert cache.functions_digest(edited, names) != digest, name


def test_the_cache_folder_is_shown_from_the_home_folder_when_under_it(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("MNISTLAB_CACHE", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert cache.shown(cache.cache_dir()) == str(Path("~") / ".cache" / "mnistlab")
    elsewhere = tmp_path.parent / "elsewhere"
    assert cache.shown(elsewhere) == str(elsewhere)
