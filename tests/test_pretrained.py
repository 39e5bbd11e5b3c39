"""The weights the course ships (mnistlab.pretrained): trained from today's code, scoring what they say,
taken only for their own config, cached once taken, and never when told not to."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest

from mnistlab import inference, pretrained
from mnistlab.recipes import DEFAULTS

training = pytest.importorskip("mnistlab.training")  # imports TensorFlow


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MNISTLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(pretrained.ENV, raising=False)
    return tmp_path / "cache"


@pytest.mark.parametrize("name", pretrained.SHIPPED)
def test_shipped_weights_were_trained_from_this_code(name):
    record = pretrained.read(name)
    assert record is not None, f"{pretrained.path(name)} is missing: python scripts/ship_pretrained.py {name}"
    assert pretrained.same_training(record, DEFAULTS[name].identity()), (
        f"{pretrained.path(name)} was trained from another version of the {name} recipe, its builder or "
        f"mnistlab/training.py: train it again with python scripts/ship_pretrained.py {name}")
    assert record["identity"]["config"] == dataclasses.asdict(DEFAULTS[name])
    assert len(record["history"]["loss"]) == DEFAULTS[name].epochs and record["train_seconds"] > 0


@pytest.mark.parametrize("name", pretrained.SHIPPED)
def test_shipped_weights_score_what_their_record_says(name, cache):
    lines = []
    trained = training.load_or_train(DEFAULTS[name], print_fn=lines.append, warn=pytest.fail)
    assert lines and lines[0].startswith(f"took the {name} model the course ships")
    assert trained.from_cache and trained.path.exists()  # cached once taken
    *_, (x_test, y_test) = training.training_data(DEFAULTS[name])
    accuracy = float((inference.predict(trained.model, x_test).argmax(1) == y_test.argmax(1)).mean())
    assert abs(accuracy - pretrained.read(name)["test_accuracy"]) <= 3e-4  # 3 digits: another CPU's rounding
    again = training.load_or_train(DEFAULTS[name], print_fn=lines.append, warn=pytest.fail)
    assert again.from_cache and lines[-1].startswith(f"loaded the {name} model from the cache")


def test_shipped_weights_only_for_their_own_config(cache, monkeypatch):
    other_seed = dataclasses.replace(DEFAULTS["best"], seed=7)
    assert training.from_shipped(other_seed, warn=pytest.fail) is None
    assert training.from_shipped(DEFAULTS["quick"], warn=pytest.fail) is None  # none shipped
    monkeypatch.setenv(pretrained.ENV, "0")
    assert not pretrained.enabled() and training.from_shipped(DEFAULTS["best"], warn=pytest.fail) is None
    assert not cache.exists()


def test_stale_weights_are_refused_in_one_line(cache, tmp_path, monkeypatch):
    record = pretrained.read("best")
    record["identity"]["recipe"]["learning_rate"] = 0.1
    monkeypatch.setattr(pretrained, "folder", lambda: tmp_path / "shipped")
    pretrained.write("best", [np.zeros(1)], record)
    warnings = []
    assert training.from_shipped(DEFAULTS["best"], warn=warnings.append) is None
    assert len(warnings) == 1 and "another version of the best recipe" in warnings[0]
    assert "scripts/ship_pretrained.py" in warnings[0]


def test_weights_that_do_not_fit_are_refused(cache, tmp_path, monkeypatch):
    record = pretrained.read("best")
    monkeypatch.setattr(pretrained, "folder", lambda: tmp_path / "shipped")
    pretrained.write("best", [np.zeros((3, 3))], record)
    warnings = []
    assert training.from_shipped(DEFAULTS["best"], warn=warnings.append) is None
    assert warnings == [f"pretrained: not using {tmp_path / 'shipped' / 'best.npz'}: its arrays do not fit the model"]


def test_write_and_read_round_trip(tmp_path):
    arrays = [np.arange(6, dtype=np.float32).reshape(2, 3), np.ones(4, dtype=np.float32)]
    target = pretrained.write("x", arrays, {"identity": {"config": {"widths": (1, 2)}}}, target=tmp_path / "x.npz")
    with np.load(target) as data:
        record = json.loads(str(data["meta"]))
    assert record["arrays"] == 2 and record["identity"] == {"config": {"widths": [1, 2]}} and record["machine"]
    assert pretrained.same_training(record, {"config": {"widths": (1, 2)}, "versions": {"keras": "0"}})
    assert not pretrained.same_training(record, {"config": {"widths": (1, 3)}})
    assert not list(tmp_path.glob("*.partial*"))


@pytest.mark.parametrize(("value", "enabled"), [("0", False), ("off", False), ("1", True), ("", True)])
def test_the_switch(monkeypatch, value, enabled):
    monkeypatch.setenv(pretrained.ENV, value)
    assert pretrained.enabled() is enabled


def test_reading_the_record_imports_no_tensorflow():
    code = ("import sys\nfrom mnistlab import pretrained\nr = pretrained.read('best')\n"
            "print('tensorflow' in sys.modules, r['identity']['config']['model'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "best"]


def test_an_unwritable_cache_still_gives_the_shipped_model_in_memory(tmp_path, monkeypatch):
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("MNISTLAB_CACHE", str(blocker))
    monkeypatch.delenv(pretrained.ENV, raising=False)
    lines, warnings = [], []
    trained = training.load_or_train(DEFAULTS["best"], print_fn=lines.append, warn=warnings.append)
    assert trained.path is None and trained.model.count_params() > 0
    assert len(warnings) == 1 and "cannot write" in warnings[0]
    assert lines[0].startswith("took the best model the course ships")


def test_a_damaged_shipped_file_is_said_in_one_line_and_not_used(tmp_path, monkeypatch):
    monkeypatch.setenv("MNISTLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(pretrained.ENV, raising=False)
    (tmp_path / "best.npz").write_bytes(pretrained.path("best").read_bytes()[:5000])
    monkeypatch.setattr(pretrained, "folder", lambda: tmp_path)
    warnings = []
    assert training.from_shipped(DEFAULTS["best"], warn=warnings.append) is None  # load_or_train trains instead
    assert len(warnings) == 1 and "damaged" in warnings[0] and "training instead" in warnings[0]
