"""Run submissions in a sandbox: bubblewrap, a pre-imported zygote, limits and watchdogs.

A ``Worker`` is one sandbox (``bwrap``) holding one zygote (``autograder.runner``)
that has imported numpy, torch, gymnasium, matplotlib, IPython and rlcore once; each
submission runs in a child forked from it, one at a time, so the 3-4 s of imports
are paid once per worker instead of once per submission. Between two submissions
the zygote kills every process of the previous one and empties /tmp.

The sandbox sees only what running Python needs, read-only: the system's library
folders, the Python installation, the virtual environment, and the ``rlcore`` and
``autograder`` packages with ``autograder/hidden`` (the hidden tests) masked by an
empty folder. It has no network (its own network namespace), a private size-limited
/tmp as its home, its own PID namespace, and dies with the grader. Solutions, the
gradebook, other submissions and the instructor's home are simply not there.

Limits, in layers:
- time: the zygote stops the child after ``timeout`` s; the grader kills the whole
  sandbox if the zygote does not answer 30 s after that;
- memory: ``RLIMIT_AS`` of the child (its address space may grow by ``memory_mb``)
  and a watchdog on the resident memory of every process in the sandbox; where the
  cgroup v1 memory controller is writable (root), a cgroup caps the sandbox as well;
- processes: ``RLIMIT_NPROC`` inside the sandbox (threads count) and a watchdog on
  the process count. As root, ``RLIMIT_NPROC`` does not bind uid 0, so the sandbox
  drops to an unused unprivileged uid first; the pids cgroup caps it too if writable.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_PROCESSES = 64          # processes a submission may have at once (watchdog)
MAX_EVENT_BYTES = 32 * 2**20  # what one notebook may send on the event channel (legit: a few MiB)
MAX_EVENTS = 20_000  # events kept per notebook (legit: a few per cell and per case)
MAX_THREADS = 256           # RLIMIT_NPROC inside the sandbox: every thread of every process
TMP_SIZE = 512 * 2**20      # bytes of /tmp (tmpfs) per sandbox
GRACE = 30.0                # seconds the grader waits for the zygote after the time limit
START_TIMEOUT = 240.0       # seconds a new sandbox may take to import everything


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create namespaces here."""


@dataclass
class RunResult:
    events: list[dict] = field(default_factory=list)
    ended: str = "done"  # done | timeout | memory | processes | crashed | worker
    detail: str = ""
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    nonce: str = ""
    exit_code: int | None = None
    bad_lines: int = 0


def _etc_binds() -> list[str]:
    args = []
    for p in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives",
              "/etc/fonts", "/etc/localtime", "/etc/ssl", "/etc/mime.types", "/etc/matplotlibrc"):
        if os.path.exists(p):
            args += ["--ro-bind", p, p]
    return args


def sandbox_uid() -> int:
    """An unused unprivileged uid for one sandbox (only used when the grader runs as root)."""
    return 2_000_000_000 + secrets.randbelow(100_000_000)


def bwrap_command(python: str, args: list[str], uid: int | None = None) -> list[str]:
    """The bubblewrap command line that runs ``python -m autograder.runner ARGS`` confined.

    ``uid``: when the grader is root, the sandbox starts as root without a user
    namespace (so it can drop to ``uid``, a real unprivileged uid that RLIMIT_NPROC binds)
    and keeps only CAP_SETUID/CAP_SETGID until the runner drops them.
    """
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailable("bubblewrap (bwrap) is not installed: run `make setup-grader` "
                                 "(apt-get install bubblewrap), or pass --no-sandbox for trusted notebooks")
    if uid is None:
        cmd = [bwrap, "--unshare-all"]
    else:
        cmd = [bwrap, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
               "--unshare-cgroup-try", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    cmd += ["--die-with-parent", "--new-session", "--clearenv", "--proc", "/proc", "--dev", "/dev",
            "--perms", "1777", "--size", str(TMP_SIZE), "--tmpfs", "/tmp",
            "--perms", "1777", "--size", str(TMP_SIZE // 2), "--tmpfs", "/dev/shm"]
    binds = [p for p in ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/sys") if os.path.exists(p)]
    binds += sorted({sys.base_prefix, sys.prefix, os.path.realpath(sys.base_prefix)})
    binds += [str(ROOT / "rlcore"), str(ROOT / "autograder")]
    made: set[str] = set()
    for p in binds:  # parents of mount points: traversable (bwrap would make them 0700)
        for parent in reversed(Path(p).parents[:-1] if len(Path(p).parents) > 1 else []):
            if str(parent) not in made and str(parent) not in binds:
                made.add(str(parent))
                cmd += ["--perms", "0755", "--dir", str(parent)]
        cmd += ["--ro-bind", p, p]
    cmd += _etc_binds()
    cmd += ["--tmpfs", str(ROOT / "autograder" / "hidden")]
    # the course's own packages (only rlcore/ and autograder/ of ROOT are mounted): this
    # checkout's, whatever the venv's editable install points at
    for k, v in {**_env("/tmp/home"), "PYTHONPATH": str(ROOT)}.items():
        cmd += ["--setenv", k, v]
    cmd += ["--chdir", "/tmp", python, "-m", "autograder.runner", "--pidns"] + args
    if uid is not None:
        cmd += ["--uid", str(uid)]
    return cmd


def _env(home: str) -> dict[str, str]:
    return {"HOME": home, "MPLBACKEND": "Agg", "MPLCONFIGDIR": home + "/.mpl",
            "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1", "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
            "PYTHONHASHSEED": "0"}


class _Cgroups:
    """Per-sandbox cgroup v1 memory and pids limits, when this machine lets us make them."""

    def __init__(self, tag: str):
        self.dirs: dict[str, Path] = {}
        if os.geteuid() != 0:
            return
        try:
            mine = dict(ln.strip().split(":", 2)[1:] for ln in open("/proc/self/cgroup"))  # noqa: SIM115
        except (OSError, ValueError):
            return
        for ctl in ("memory", "pids"):
            base = Path("/sys/fs/cgroup") / ctl
            if ctl not in mine or not (base / "cgroup.procs").exists():
                continue
            d = base / mine[ctl].lstrip("/") / f"autograder-{tag}"
            try:
                d.mkdir(exist_ok=True)
                self.dirs[ctl] = d
            except OSError:
                pass

    def files(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self.dirs.values()]

    def set(self, ctl: str, name: str, value: int) -> None:
        if ctl in self.dirs:
            try:
                (self.dirs[ctl] / name).write_text(str(value))
            except OSError:
                pass

    def read(self, ctl: str, name: str) -> str:
        try:
            return (self.dirs[ctl] / name).read_text()
        except (KeyError, OSError):
            return ""

    def oom_kills(self) -> int:
        m = re.search(r"oom_kill (\d+)", self.read("memory", "memory.oom_control"))
        return int(m.group(1)) if m else 0

    def remove(self) -> None:
        for d in self.dirs.values():
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)


def _wrap_cgroup(cmd: list[str], procs_files: list[str]) -> list[str]:
    """Start ``cmd`` already inside the cgroups (children inherit them)."""
    if not procs_files:
        return cmd
    script = 'for f in "$@"; do [ "$f" = -- ] && break; echo $$ > "$f"; shift; done; shift; exec "$@"'
    return ["/bin/sh", "-c", script, "sh"] + procs_files + ["--"] + cmd


class Worker:
    """One sandbox with a pre-imported zygote; grades submissions one after another."""

    def __init__(self, sandbox: bool = True, python: str = sys.executable,
                 preload: list[str] | tuple[str, ...] = ()):
        self.sandbox = sandbox
        # normalized: "lessons/../.venv/bin/python" (a learner's `make check` from lessons/)
        # names a folder the sandbox does not mount
        self.python = os.path.abspath(python)
        self.preload = list(preload)
        self.proc: subprocess.Popen | None = None
        self.ctl: socket.socket | None = None
        self.info: dict = {}
        self.cgroups: _Cgroups | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._err = None
        self.base_memory = 0
        self.starts = 0

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start the sandbox and wait until its zygote has imported everything."""
        self.spawn()
        self.wait_ready()

    def spawn(self) -> None:
        """Start the sandbox without waiting (several workers then import in parallel)."""
        self.close()
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        child.set_inheritable(True)
        args = ["--control", str(child.fileno()), "--preload", ",".join(self.preload),
                "--max-threads", str(MAX_THREADS)]
        self._err = tempfile.TemporaryFile("w+b")  # noqa: SIM115 - read back after the child exits
        env, cwd = None, None
        if self.sandbox:
            uid = sandbox_uid() if os.geteuid() == 0 else None
            cmd = bwrap_command(self.python, args, uid)
            self.cgroups = _Cgroups(f"{os.getpid()}-{id(self):x}-{self.starts}")
            self.cgroups.set("pids", "pids.max", MAX_THREADS + 64)
            cmd = _wrap_cgroup(cmd, self.cgroups.files())
        else:
            self._tmp = tempfile.TemporaryDirectory(prefix="autograder-")
            cwd = self._tmp.name
            env = {**os.environ, **_env(cwd)}
            env["PATH"] = os.environ.get("PATH", "/usr/bin:/bin")
            env["PYTHONPATH"] = str(ROOT)
            cmd = [self.python, "-m", "autograder.runner"] + args
        self.starts += 1
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=self._err, pass_fds=(child.fileno(),), env=env,
                                         cwd=cwd, start_new_session=True)
        except OSError as e:
            raise SandboxUnavailable(f"the sandbox could not start: {e}") from None
        finally:
            child.close()
        self.ctl = parent

    def wait_ready(self) -> None:
        msg = self._recv(START_TIMEOUT)
        if not msg or msg.get("event") != "ready":
            tail = self.stderr_tail()
            self.close()
            if self.sandbox:
                raise SandboxUnavailable(f"bubblewrap could not start a sandbox here: "
                                         f"{tail or 'no answer from the runner'} (run `make setup-grader`, "
                                         "or pass --no-sandbox for trusted notebooks)")
            raise SandboxUnavailable(f"the grader's runner did not start: {tail or 'no answer'}")
        self.info = msg
        usage = self.cgroups.read("memory", "memory.usage_in_bytes") if self.cgroups else ""
        self.base_memory = int(usage) if usage.strip().isdigit() else 0

    def stderr_tail(self) -> str:
        if self._err is None:
            return ""
        try:
            self._err.seek(0)
            lines = self._err.read(50_000).decode(errors="replace").strip().splitlines()
        except (OSError, ValueError):
            return ""
        return lines[-1] if lines else ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None and self.ctl is not None

    def close(self) -> None:
        if self.ctl is not None:
            try:
                self.ctl.send(b'{"op": "quit"}')
            except OSError:
                pass
            self.ctl.close()
            self.ctl = None
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            try:
                self.proc.kill()
            except OSError:
                pass
            self.proc.wait()
            self.proc = None
        if self.cgroups is not None:
            self.cgroups.remove()
            self.cgroups = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        if self._err is not None:
            self._err.close()
            self._err = None

    def _recv(self, timeout: float) -> dict | None:
        end = time.monotonic() + timeout
        while self.ctl is not None:
            r, _, _ = select.select([self.ctl], [], [], min(1.0, max(0.0, end - time.monotonic())))
            if r:
                try:
                    data = self.ctl.recv(1 << 16)
                except OSError:
                    return None
                return json.loads(data) if data else None
            if self.proc is None or self.proc.poll() is not None or time.monotonic() > end:
                return None
        return None

    # ------------------------------------------------------------------ run
    def run(self, job: dict, phase2: dict, timeout: float = 120.0, memory_mb: int = 2048,
            max_procs: int = MAX_PROCESSES) -> RunResult:
        """Run one submission: ``job`` (cells) first, ``phase2`` (probes) after its cells ran."""
        if not self.alive():
            self.start()
        assert self.ctl is not None and self.proc is not None
        res = RunResult(nonce=secrets.token_hex(16))
        if self.cgroups is not None and self.base_memory:
            self.cgroups.set("memory", "memory.limit_in_bytes",
                             self.base_memory + (memory_mb + 512) * 2**20 + TMP_SIZE)
        oom_before = self.cgroups.oom_kills() if self.cgroups else 0
        job_r, job_w = os.pipe()
        ev_r, ev_w = os.pipe()
        req = {"op": "run", "timeout": timeout, "memory_mb": memory_mb, "max_procs": max_procs}
        start = time.monotonic()
        try:
            socket.send_fds(self.ctl, [json.dumps(req).encode()], [job_r, ev_w])
        except OSError:
            self.close()
            for fd in (job_r, job_w, ev_r, ev_w):
                os.close(fd)
            res.ended, res.detail = "worker", "the grader's sandbox stopped before this notebook ran"
            return res
        os.close(job_r)
        os.close(ev_w)
        os.set_blocking(job_w, False)
        out = (json.dumps(job) + "\n").encode()
        phase2_bytes = (json.dumps({**phase2, "nonce": res.nonce}) + "\n").encode()
        sent2 = False
        exit_msg: dict | None = None
        buf = b""
        total = 0
        deadline = start + timeout + GRACE
        ev_open = True
        while ev_open or exit_msg is None:
            now = time.monotonic()
            if now > deadline:
                break
            rlist = ([ev_r] if ev_open else []) + ([self.ctl] if exit_msg is None else [])
            wlist = [job_w] if out and job_w >= 0 else []
            r, w, _ = select.select(rlist, wlist, [], min(1.0, deadline - now))
            if w:
                try:
                    n = os.write(job_w, out[:1 << 16])
                    out = out[n:]
                except BlockingIOError:
                    pass
                except OSError:  # the child is gone
                    out = b""
            if ev_r in r:
                data = os.read(ev_r, 1 << 20)
                if not data:
                    ev_open = False
                elif total < MAX_EVENT_BYTES:
                    total += len(data)
                    buf += data
                    *lines, buf = buf.split(b"\n")
                    for line in lines:
                        ev = self._parse(line, res)
                        if ev is not None and ev.get("event") == "cells_done" and not sent2:
                            out += phase2_bytes
                            sent2 = True
            if self.ctl in r:
                try:
                    data = self.ctl.recv(1 << 16)
                except OSError:
                    data = b""
                if data:
                    msg = json.loads(data)
                    if msg.get("event") == "exit":
                        exit_msg = msg
                        deadline = min(deadline, time.monotonic() + 10)
                else:
                    exit_msg = {"reason": "worker", "code": None}
                    deadline = min(deadline, time.monotonic() + 5)
        os.close(ev_r)
        os.close(job_w)
        res.seconds = time.monotonic() - start
        if exit_msg is None:  # the zygote did not report: kill the whole sandbox
            self.close()
            exit_msg = {"reason": "timeout" if res.seconds >= timeout else "worker", "code": None}
        if exit_msg.get("reason") == "worker":
            self.close()
        res.peak_rss_mb = float(exit_msg.get("peak_rss_mb", 0.0))
        res.exit_code = exit_msg.get("code")
        self._classify(res, exit_msg["reason"], timeout, memory_mb, max_procs,
                       oom=self.cgroups is not None and self.cgroups.oom_kills() > oom_before)
        return res

    @staticmethod
    def _parse(line: bytes, res: RunResult) -> dict | None:
        try:
            ev = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            res.bad_lines += 1
            return None
        if not isinstance(ev, dict):
            res.bad_lines += 1
            return None
        if len(res.events) >= MAX_EVENTS and ev.get("event") not in ("cells_done", "done", "limit"):
            res.bad_lines += 1  # a flood: counted (flagged forged-events), not kept in memory
            return None
        res.events.append(ev)
        return ev

    @staticmethod
    def _classify(res: RunResult, reason: str, timeout: float, memory_mb: int, max_procs: int,
                  oom: bool) -> None:
        done = any(e.get("event") == "done" and e.get("n") == res.nonce for e in res.events)
        limit = any(e.get("event") == "limit" and e.get("kind") == "memory" for e in res.events)
        if reason == "timeout":
            res.ended, res.detail = "timeout", f"did not finish within the time limit of {timeout:g} s"
        elif reason == "memory" or limit or oom:
            res.ended, res.detail = "memory", f"used more than its {memory_mb} MiB of memory"
        elif reason == "processes":
            res.ended, res.detail = "processes", f"started more than {max_procs} processes (a fork bomb?)"
        elif reason == "worker":
            res.ended, res.detail = "worker", "stopped the grader's sandbox (it killed its parent process)"
        elif not done and res.exit_code in (70, 71):
            err = next((str(e.get("error")) for e in res.events if e.get("event") == "runner-error"), "")
            res.ended = "crashed"
            res.detail = ("the notebook broke the grader's Python process (did it replace built-in "
                          f"functions or delete modules?){': ' + err if err else ''}")
        elif not done:
            code = res.exit_code
            how = (f"was killed by signal {-code} ({signal.Signals(-code).name})"
                   if code is not None and code < 0 and -code in signal.valid_signals()
                   else f"exited with code {code}")
            res.ended = "crashed"
            res.detail = (f"the notebook's process {how} before the grader finished (os._exit, "
                          "sys.exit from a thread, a crash or a killed kernel)")


# ------------------------------------------------------------ shared workers
_workers: dict[tuple, Worker] = {}
_lock = threading.Lock()


def default_worker(sandbox: bool = True, python: str = sys.executable) -> Worker:
    """A worker kept for this process (reused by successive ``grade`` calls)."""
    from .notebook import preload_modules

    key = (sandbox, python, threading.get_ident())
    with _lock:
        w = _workers.get(key)
        if w is None:
            w = _workers[key] = Worker(sandbox, python, preload_modules())
    if not w.alive():
        w.start()
    return w


def close_all() -> None:
    with _lock:
        for w in _workers.values():
            w.close()
        _workers.clear()


atexit.register(close_all)


def check_sandbox(python: str = sys.executable) -> None:
    """Raise SandboxUnavailable unless a sandboxed runner starts here."""
    default_worker(True, python)


def run_job(job: dict, phase2: dict, sandbox: bool = True, timeout: float = 120.0,
            memory_mb: int = 2048, python: str = sys.executable) -> RunResult:
    """Run one grading job in this process's shared worker."""
    return default_worker(sandbox, python).run(job, phase2, timeout=timeout, memory_mb=memory_mb)
