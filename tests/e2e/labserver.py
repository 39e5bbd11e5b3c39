"""A JupyterLab server for the browser tests: loopback, a token, a free port, a copy of the notebooks (with
their exercises solved, for the suite: see :class:`LabServer`)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from mnistlab.course import copy_course, fill_solutions
from mnistlab.exercises.core import SOLUTIONS_ENV

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SERVER_START_S = 90
# JupyterLab settings for the test server: nothing saved back, nothing fetched, every cell rendered.
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                         "checkForUpdates": False},
    "@jupyterlab/extensionmanager-extension/plugin.jupyterlab-settings": {"enabled": False},
}


def _solve(folder: Path) -> None:
    """Fill each exercise cell of the notebooks in ``folder`` with its solution (as ``mnistlab course --solutions``)."""
    import nbformat

    for path in sorted(folder.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        if fill_solutions(nb):
            nbformat.write(nb, path)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """``jupyter lab`` on 127.0.0.1 over a learner's copy of the notebooks (:func:`mnistlab.course.copy_course`:
    no stored outputs); its output goes to ``log``.

    With ``solutions`` every exercise cell of the copies holds its solution and the kernels run with
    ``MNISTLAB_SOLUTIONS=1``, so a check that is not right is an error in the page: the suite runs the
    solved notebooks with widgets in the browser (``mnistlab course --solutions`` for those). nbval runs every
    notebook as shipped, unsolved cells included.
    """

    def __init__(self, workdir: Path, *, disabled_extensions: tuple[str, ...] = (), solutions: bool = False) -> None:
        self.workdir = workdir
        self.token = os.urandom(16).hex()
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "server.log"
        home = workdir / "jupyter"
        settings = home / "lab-settings"
        for name, values in LAB_SETTINGS.items():
            (settings / name).parent.mkdir(parents=True, exist_ok=True)
            (settings / name).write_text(json.dumps(values))
        if disabled_extensions:
            (home / "config" / "labconfig").mkdir(parents=True, exist_ok=True)
            (home / "config" / "labconfig" / "page_config.json").write_text(
                json.dumps({"disabledExtensions": {name: True for name in disabled_extensions}}))
        copy_course(ROOT / "notebooks", workdir / "notebooks")  # as a learner opens them: `mnistlab copy`
        if solutions:
            _solve(workdir / "notebooks")
        env = {**os.environ, **({SOLUTIONS_ENV: "1"} if solutions else {}),
               "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
               "JUPYTERLAB_SETTINGS_DIR": str(settings), "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
               "TQDM_DISABLE": "1", "PYTHONUNBUFFERED": "1"}
        command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
                   "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
                   f"--ServerApp.root_dir={workdir}", "--LabApp.expose_app_in_browser=True",
                   "--ServerApp.terminals_enabled=False", "--LabApp.extension_manager=readonly"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers and CI runners
            command.append("--allow-root")
        self._log_file = self.log.open("w")
        self.process = subprocess.Popen(command, cwd=workdir, env=env, stdout=self._log_file,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self._wait_until_up()
        except BaseException:
            self.stop()
            raise

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + SERVER_START_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.process.returncode}:\n{self.log_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status?token={self.token}", timeout=2) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"jupyter lab did not answer within {SERVER_START_S} s:\n{self.log_text()}")

    def log_text(self) -> str:
        self._log_file.flush()
        return self.log.read_text(errors="replace")

    def _signal(self, sig: int) -> None:
        try:
            if hasattr(os, "killpg"):
                os.killpg(self.process.pid, sig)
            else:  # Windows: no process groups
                self.process.send_signal(sig)
        except ProcessLookupError:
            pass

    def add_notebook(self, name: str, *sources: str) -> None:
        """Write a notebook of code cells (``sources``) beside the course's copies, for a check that needs less."""
        from notebook_files import write_notebook  # tests/, on the path as tests/conftest.py's folder

        write_notebook(self.workdir / "notebooks" / name, *sources)

    def notebook_url(self, name: str) -> str:
        """The URL that opens ``name`` alone: ``reset`` starts from an empty workspace. Without it JupyterLab
        restores every notebook opened before on this server, each starting its kernel, and one of them can
        hold the focus when "Run All" is sent (the probe's cells then never ran: seen once in CI, 2026-11-29)."""
        return f"{self.url}/lab/tree/notebooks/{name}?reset&token={self.token}"

    def _api(self, method: str, path: str):
        request = urllib.request.Request(f"{self.url}/api/{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=30) as reply:
            body = reply.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """End every session and kernel, so that the next notebook opened starts a fresh kernel.

        Without it, a notebook opened a second time reconnects to the kernel of its first run, with that
        run's state and widgets, and the kernels of every notebook opened so far stay alive.
        """
        for session in self._api("GET", "sessions"):
            self._api("DELETE", f"sessions/{session['id']}")
        for kernel in self._api("GET", "kernels"):
            self._api("DELETE", f"kernels/{kernel['id']}")
        if left := self._api("GET", "kernels"):
            raise RuntimeError(f"kernels still running after their shutdown: {left}")

    def stop(self) -> None:
        """Stop the server (which shuts its kernels down), killing its process group if it hangs."""
        if self.process.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._signal(getattr(signal, "SIGKILL", signal.SIGTERM))
                self.process.wait(timeout=10)
        self._log_file.close()
