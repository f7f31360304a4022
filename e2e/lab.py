"""A real JupyterLab and a real Chromium for the end-to-end tests.

``ensure_chromium()`` finds Debian's ``/usr/bin/chromium`` (installing it with apt-get when
running as root); Playwright's own browser download is not used. ``JupyterLab`` starts
the project's JupyterLab (from ``.venv``) on a free port with a random token, serving a
folder of notebooks, and always stops it again, kernels included.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Self

import psutil

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "e2e" / "artifacts"
RUN_DIR = ARTIFACTS / "tmp"  # every screenshot and log of the last run (git-ignored)
CHROMIUM = Path(os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium"))
LEARNER_CONFIG = ROOT / "etc" / "jupyter-learner"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def ensure_chromium() -> tuple[Path | None, str]:
    """Return (path to chromium, "") or (None, why it cannot be had); apt-get installs it as root."""
    if CHROMIUM.exists():
        return CHROMIUM, ""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return None, (f"{CHROMIUM} is missing and this user cannot apt-get install it "
                      "(run `sudo apt-get install chromium`)")
    lock = Path(tempfile.gettempdir()) / "rl-course-e2e-apt.lock"
    with open(lock, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # two test workers must not run apt-get at once
        if not CHROMIUM.exists():
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
                run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1200,
                                     check=False)
                if run.returncode != 0:
                    return None, f"`{' '.join(cmd)}` failed: {(run.stderr or run.stdout)[-500:]}"
    if not CHROMIUM.exists():
        return None, f"apt-get installed chromium but {CHROMIUM} does not exist"
    return CHROMIUM, ""


def launch_browser(playwright, chromium: Path):
    """Return a headless Chromium launched through Playwright from Debian's binary."""
    return playwright.chromium.launch(executable_path=str(chromium), headless=True,
                                      args=CHROMIUM_ARGS)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterLab:
    """``with JupyterLab(folder) as lab:`` serves ``folder`` at ``lab.url(path)``; stops on exit.

    ``learner=True`` (the default) configures it as ``make lab`` does, without nbgrader's
    instructor tools; ``learner=False`` as ``make lab-instructor``.

    The server gets its own config/runtime/workspace folders (a learner's settings do
    not leak in), a random token, and a port picked just before start (retried if taken).
    On exit it is asked to shut down (kernels first), then its whole process tree is
    killed, whether the tests passed or failed. Its log goes to ``log_path``.
    """

    def __init__(self, root: Path, log_path: Path, jupyter: Path | None = None,
                 start_timeout: float = 180.0, learner: bool = True) -> None:
        self.root = Path(root)
        self.learner = learner  # the configuration of `make lab` (no nbgrader instructor tools)
        self.log_path = Path(log_path)
        self.jupyter = jupyter or Path(sys.executable).with_name("jupyter")
        self.start_timeout = start_timeout
        self.token = secrets.token_hex(16)
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self._home = Path(tempfile.mkdtemp(prefix="rl-course-e2e-home-"))

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "", workspace: str = "e2e") -> str:
        """Return the JupyterLab URL opening ``path`` (relative to the served folder) alone.

        Each ``workspace`` name is a fresh JupyterLab layout (``reset``), so tabs opened by
        an earlier scenario never come back in front of this one.
        """
        return f"{self.base}/lab/workspaces/{workspace}/tree/{path}?reset&token={self.token}"

    def _env(self) -> dict[str, str]:
        config = self._home / "config"
        (config / "labconfig").mkdir(parents=True, exist_ok=True)
        # no news/update pop-ups over the notebook in screenshots
        (config / "labconfig" / "page_config.json").write_text(json.dumps({"disabledExtensions": {
            "@jupyterlab/apputils-extension:announcements": True}}))
        # every cell in the page (no windowing), so a test can find any cell by its text
        settings = config / "lab" / "user-settings" / "@jupyterlab" / "notebook-extension"
        settings.mkdir(parents=True, exist_ok=True)
        (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
        env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
        if self.learner:  # as `make lab` starts it (etc/jupyter-learner/README.md)
            env["JUPYTER_CONFIG_PATH"] = str(LEARNER_CONFIG)
        env.update(JUPYTER_CONFIG_DIR=str(config), JUPYTER_RUNTIME_DIR=str(self._home / "runtime"),
                   JUPYTERLAB_WORKSPACES_DIR=str(self._home / "workspaces"),
                   PYTHONUNBUFFERED="1")
        return env

    def _start_once(self) -> bool:
        self.port = free_port()
        cmd = [str(self.jupyter), "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
               "--LabApp.news_url=None"]
        if os.geteuid() == 0:  # CI runs as root
            cmd.append("--allow-root")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed when the process ends
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self._env(),
                                     cwd=self.root, start_new_session=True)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(f"{self.base}/api/status?token={self.token}",
                                            timeout=5) as r:
                    if r.status == 200:
                        return True
            except OSError:
                time.sleep(0.5)
        raise TimeoutError(f"JupyterLab did not answer within {self.start_timeout:.0f} s; "
                           f"log: {self.log_path}\n{self.log_tail()}")

    def start(self) -> Self:
        for _ in range(3):
            if self._start_once():
                return self
        raise RuntimeError(f"JupyterLab would not start; log {self.log_path}:\n{self.log_tail()}")

    def log_tail(self, n: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Shut the server and every process it started down (idempotent, never raises)."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        tree: list[psutil.Process] = []
        with contextlib.suppress(psutil.Error):
            tree = psutil.Process(proc.pid).children(recursive=True)
        if proc.poll() is None:
            with contextlib.suppress(OSError):
                req = urllib.request.Request(f"{self.base}/api/shutdown?token={self.token}",
                                             method="POST", data=b"")
                urllib.request.urlopen(req, timeout=10).close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        for child in tree:  # kernels run in sessions of their own
            with contextlib.suppress(psutil.Error):
                child.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        shutil.rmtree(self._home, ignore_errors=True)

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
