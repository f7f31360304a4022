"""Run the grader's runner in a sandbox: bubblewrap, limits, and a watchdog.

The sandbox (``bwrap``) sees only what running Python needs, read-only: the system's
library folders, the Python installation, the virtual environment, and the
``rlcore`` and ``autograder`` packages with ``autograder/hidden`` (the hidden tests)
masked by an empty folder. It has no network, a private /tmp as its home, its own
PID namespace (killing it kills every process the notebook started) and dies with
the grader. Solutions, the gradebook, other submissions and the instructor's home
are simply not there.

A watchdog enforces the time limit, the memory limit (resident memory of all the
sandbox's processes) and a process-count limit (fork bombs).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
MAX_PROCESSES = 64


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create namespaces here."""


@dataclass
class RunResult:
    events: list[dict] = field(default_factory=list)
    ended: str = "done"  # done | timeout | memory | processes | crashed
    detail: str = ""
    seconds: float = 0.0
    peak_rss_mb: float = 0.0


def _etc_binds() -> list[str]:
    args = []
    for p in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives",
              "/etc/fonts", "/etc/localtime", "/etc/ssl", "/etc/mime.types", "/etc/matplotlibrc"):
        if os.path.exists(p):
            args += ["--ro-bind", p, p]
    return args


def bwrap_command(python: str, events_fd: int = 3) -> list[str]:
    """The bubblewrap command line that runs ``python -m autograder.runner`` confined."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailable("bubblewrap (bwrap) is not installed: run `make setup-grader` "
                                 "(apt-get install bubblewrap), or pass --no-sandbox for trusted notebooks")
    cmd = [bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--clearenv",
           "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--dir", "/tmp/home"]
    for p in ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/sys"):
        if os.path.exists(p):
            cmd += ["--ro-bind", p, p]
    cmd += _etc_binds()
    for p in sorted({sys.base_prefix, sys.prefix, os.path.realpath(sys.base_prefix)}):
        cmd += ["--ro-bind", p, p]
    for pkg in ("rlcore", "autograder"):
        cmd += ["--ro-bind", str(ROOT / pkg), str(ROOT / pkg)]
    cmd += ["--tmpfs", str(ROOT / "autograder" / "hidden")]
    env = {"HOME": "/tmp/home", "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp/home/.mpl",
           "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin",
           "LANG": "C.UTF-8", "AUTOGRADER_FD": str(events_fd), "PYTHONHASHSEED": "0"}
    for k, v in env.items():
        cmd += ["--setenv", k, v]
    cmd += ["--chdir", "/tmp/home", python, "-m", "autograder.runner"]
    return cmd


def plain_command(python: str) -> list[str]:
    return [python, "-m", "autograder.runner"]


_checked: dict[str, bool] = {}


def check_sandbox(python: str = sys.executable) -> None:
    """Raise SandboxUnavailable unless bubblewrap can start a Python here."""
    if _checked.get(python):
        return
    cmd = bwrap_command(python)[:-2] + ["-c", "import rlcore, autograder.probes"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise SandboxUnavailable(f"bubblewrap could not start: {e}") from None
    if proc.returncode != 0:
        raise SandboxUnavailable("bubblewrap could not start a sandbox here: "
                                 + (proc.stderr.strip().splitlines() or ["unknown error"])[-1])
    _checked[python] = True


def run_job(job: dict, sandbox: bool = True, timeout: float = 120.0, memory_mb: int = 2048,
            python: str = sys.executable) -> RunResult:
    """Run one grading job and collect its events, enforcing the limits."""
    result = RunResult()
    with tempfile.TemporaryFile("w+b") as events_file, tempfile.TemporaryFile("w+b") as job_file, \
            tempfile.TemporaryFile("w+b") as err_file:
        fd = events_file.fileno()
        cmd = bwrap_command(python, fd) if sandbox else plain_command(python)
        env = None
        if not sandbox:
            env = {**os.environ, "AUTOGRADER_FD": str(fd), "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
        job_file.write(json.dumps(job).encode())
        job_file.seek(0)
        start = time.monotonic()
        proc = subprocess.Popen(
            cmd, stdin=job_file, stdout=subprocess.DEVNULL, stderr=err_file,
            pass_fds=(fd,), env=env, start_new_session=True,
        )
        try:
            parent = psutil.Process(proc.pid)
        except psutil.NoSuchProcess:
            parent = None
        while True:
            try:
                proc.wait(timeout=0.1)
                break
            except subprocess.TimeoutExpired:
                pass
            elapsed = time.monotonic() - start
            rss, n = _tree_usage(parent)
            result.peak_rss_mb = max(result.peak_rss_mb, rss / 2**20)
            if elapsed > timeout:
                result.ended, result.detail = "timeout", f"did not finish within {timeout:g} s"
            elif rss > memory_mb * 2**20:
                result.ended, result.detail = "memory", f"used more than {memory_mb} MiB of memory"
            elif n > MAX_PROCESSES:
                result.ended, result.detail = "processes", f"started more than {MAX_PROCESSES} processes"
            else:
                continue
            _kill_tree(proc, parent)
            break
        result.seconds = time.monotonic() - start
        err_file.seek(0)
        stderr = err_file.read(20_000).decode(errors="replace")
        events_file.seek(0)
        for line in events_file.read().decode(errors="replace").splitlines():
            try:
                ev = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(ev, dict):
                result.events.append(ev)
    if result.ended == "done" and not any(e.get("event") == "done" for e in result.events):
        result.ended = "crashed"
        code = proc.returncode
        result.detail = (f"the notebook's process ended abruptly (exit code {code}; os._exit, "
                         "a crash or a killed kernel)")
        if sandbox and "bwrap:" in stderr:
            result.detail += f"; sandbox: {stderr.strip().splitlines()[-1]}"
    return result


def _tree_usage(parent: psutil.Process | None) -> tuple[int, int]:
    if parent is None:
        return 0, 0
    try:
        procs = [parent] + parent.children(recursive=True)
    except psutil.NoSuchProcess:
        return 0, 0
    rss = 0
    for p in procs:
        try:
            rss += p.memory_info().rss
        except psutil.Error:
            pass
    return rss, len(procs)


def _kill_tree(proc: subprocess.Popen, parent: psutil.Process | None) -> None:
    try:
        os.killpg(proc.pid, 9)
    except OSError:
        pass
    if parent is not None:
        try:
            for p in parent.children(recursive=True):
                p.kill()
        except psutil.Error:
            pass
    try:
        proc.kill()
    except OSError:
        pass
    proc.wait()
