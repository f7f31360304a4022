"""Shared by the hub tests: why a hub cannot run here, and a hub with logged-in accounts."""

from __future__ import annotations

import json
import os
import shutil

from deploy.hub import run
from deploy.hub.client import Kernel, Learner


def skip_reason() -> str:
    """'' when this machine can run the hub tests, else why not (for pytest.skip)."""
    if os.geteuid() != 0:
        return ("the hub tests need root: learners are real Unix accounts (useradd) and the "
                "hub starts their servers as them; .ci/run runs as root")
    if shutil.which("node") is None:
        return "node is missing (the hub's proxy, configurable-http-proxy, runs on it): apt-get install nodejs npm"
    if shutil.which("useradd") is None or shutil.which("runuser") is None:
        return "useradd/runuser are missing (package passwd, util-linux)"
    return ""


def running_hub(learners: int = 2, **kw):
    """A hub with fresh accounts for one test module (run.temporary_hub)."""
    return run.temporary_hub(learners=learners, **kw)


def session(hub: run.Hub, name: str, spawn: bool = True) -> Learner:
    """A logged-in browser session of ``name`` (its server started when ``spawn``)."""
    lr = Learner(hub.url, name, hub.passwords[name])
    lr.login()
    if spawn:
        lr.spawn(timeout=300)
    return lr


def shell(kernel: Kernel, command: str, cwd: str = "~", timeout: float = 600) -> tuple[int, str]:
    """Run a shell command from a kernel (as a terminal in JupyterLab would); (code, output)."""
    code = ("import json, os, subprocess\n"
            f"r = subprocess.run({command!r}, shell=True, capture_output=True, text=True, "
            f"cwd=os.path.expanduser({cwd!r}))\n"
            "print('\\n@@' + json.dumps([r.returncode, r.stdout[-6000:] + r.stderr[-6000:]]))")
    ex = kernel.execute(code, timeout=timeout)
    text = ex.text()
    if "@@" not in text:
        raise AssertionError(f"shell command did not report: {command}\n{text}")
    rc, out = json.loads(text.rsplit("@@", 1)[1])
    return rc, out
