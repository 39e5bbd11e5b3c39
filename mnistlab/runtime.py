"""The one call a notebook makes first (seeds, TensorFlow's log level and threads, plot defaults), and progress bars."""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from types import ModuleType

    from tqdm import tqdm

__all__ = ["THREADS_ENV", "RunConfig", "configure", "cpu_name", "default_threads", "import_tensorflow",
           "progress_bar"]

#: The number of threads :func:`configure` uses when not told (default: every core). Set it when several
#: notebooks or scripts share the cores: pytest's workers set it to their share (see conftest.py).
THREADS_ENV = "MNISTLAB_THREADS"


@dataclass(frozen=True)
class RunConfig:
    """What :func:`configure` set, for printing at the top of a notebook."""

    seed: int
    threads: int
    tensorflow: bool

    def __str__(self) -> str:
        tf = "TensorFlow seeded, deterministic ops" if self.tensorflow else "TensorFlow not loaded"
        return f"seed {self.seed}, {self.threads} thread(s), {tf}"


def default_threads() -> int:
    """The threads :func:`configure` uses when not told: ``$MNISTLAB_THREADS`` if set, else every core."""
    value = os.environ.get(THREADS_ENV, "").strip()
    if not value:
        return os.cpu_count() or 1
    if not (value.isascii() and value.isdigit()) or int(value) < 1:
        from mnistlab.errors import MnistlabError

        raise MnistlabError(f"${THREADS_ENV}: expected a whole number of threads from 1 up, got {value!r}")
    return int(value)


def configure(seed: int = 42, *, threads: int | None = None, tensorflow: bool = False,
              plots: bool = True) -> RunConfig:
    """Make the run repeatable and quiet: call once, first thing, in every notebook or script.

    Seeds Python's and NumPy's global generators with ``seed``; sets TensorFlow's C++ log level
    (``TF_CPP_MIN_LOG_LEVEL=3`` unless already set) before it is imported, so no log lines land in
    stored outputs; caps math-library threads at ``threads`` (default: :func:`default_threads`): the BLAS and
    OpenMP pools already loaded in this process (NumPy's, through threadpoolctl) and, through the
    usual environment variables, the ones loaded later. With
    ``tensorflow=True`` it also imports TensorFlow, fixes its thread pools, seeds it and Keras, and
    turns on deterministic ops: the thread count changes the last digits of a loss, so it must be
    set before the first TensorFlow op. ``plots=True`` sets the
    course's matplotlib defaults (gray colour map for digits, readable sizes).
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed: expected a non-negative int, got {seed!r}")
    threads = int(threads) if threads is not None else default_threads()
    if threads < 1:
        raise ValueError(f"threads: expected at least 1, got {threads}")

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # quiet; must precede `import tensorflow`
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)  # for math libraries loaded from now on
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)  # for those already loaded: environment variables no longer reach them
    random.seed(seed)
    np.random.seed(seed)

    if tensorflow:
        _configure_tensorflow(seed, threads)
    elif "tensorflow" in sys.modules:  # imported already, not asked to configure: seed it all the same
        sys.modules["tensorflow"].keras.utils.set_random_seed(seed)
    if plots:
        _configure_plots()
    return RunConfig(seed=int(seed), threads=threads, tensorflow=tensorflow)


def cpu_name() -> str:
    """The processor's model name (from /proc/cpuinfo where there is one), else what Python knows of it."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine() or "unknown CPU"


def import_tensorflow() -> ModuleType:
    """Import and return ``tensorflow`` without the log lines its C++ core writes to stderr.

    TensorFlow 2.21 writes its start-up lines (oneDNN, CUDA probing) before its log level applies, so
    they would land in notebooks as stderr. This sets ``TF_CPP_MIN_LOG_LEVEL=3`` unless the
    environment already sets it (``0`` shows everything: real failures still raise Python errors),
    then imports TensorFlow and lists its devices with file descriptor 2 pointed at the null device.
    Every mnistlab module that needs TensorFlow imports it through here.
    """
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        import tensorflow as tf

        tf.config.list_physical_devices()
    finally:
        os.dup2(saved, 2)
        os.close(null)
        os.close(saved)
    return tf


def _configure_tensorflow(seed: int, threads: int) -> None:
    tf = import_tensorflow()

    threading = tf.config.threading
    wanted = (threads, 1)
    if (threading.get_intra_op_parallelism_threads(), threading.get_inter_op_parallelism_threads()) != wanted:
        try:
            threading.set_intra_op_parallelism_threads(threads)
            threading.set_inter_op_parallelism_threads(1)
        except RuntimeError as exc:
            raise RuntimeError(
                "configure(tensorflow=True) must run before the first TensorFlow operation "
                f"(restart the kernel and call it first): {exc}"
            ) from exc
    tf.keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def _configure_plots() -> None:
    import matplotlib as mpl

    mpl.rcParams.update({
        "image.cmap": "gray",
        "image.interpolation": "nearest",
        "figure.dpi": 100,
        "figure.figsize": (6.4, 4.0),
        "axes.titlesize": "medium",
        "font.size": 10,
        # An opaque white page under every figure: black labels stay readable in a dark theme too.
        "figure.facecolor": "white",
        "savefig.facecolor": "white",
        "savefig.transparent": False,
    })


def progress_bar(iterable: Iterable, *, enabled: bool = True, **kwargs: Any) -> tqdm:
    """A tqdm progress bar over ``iterable``: a widget in a notebook, a line in a terminal.

    It is hidden when ``enabled`` is false, when ``TQDM_DISABLE`` is set to a true value (which tqdm's
    notebook bar ignores by itself; CI and ``mnistlab course`` set it so that stored outputs stay free
    of timings), and in a terminal when the output is not one. Other keywords go to tqdm.
    """
    from tqdm.auto import tqdm

    hidden = not enabled or os.environ.get("TQDM_DISABLE", "").strip().lower() not in ("", "0", "false", "no")
    return tqdm(iterable, disable=True if hidden else None, **kwargs)
