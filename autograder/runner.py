"""The sandboxed side of grading: a zygote that forks one child per submission.

Started by ``autograder.sandbox.Worker`` (inside bubblewrap unless ``--no-sandbox``) as
``python -m autograder.runner --control FD``. The *zygote* imports what notebooks
need (numpy, torch, gymnasium, matplotlib, IPython, rlcore ...) once, then waits on
its control socket. For each submission the grader sends ``{"op": "run", ...}``
with two pipe ends (SCM_RIGHTS): the child reads its job from the first and writes
events to the second. The zygote forks a *child* that runs the submission, and
supervises it: time limit, memory (resident memory of every process in the sandbox)
and process count. When the child ends (or is stopped) the zygote kills every other
process in the sandbox, empties /tmp, and reports ``{"event": "exit", ...}`` on the
control socket, which student code cannot reach (the zygote is not dumpable, so a
child cannot ptrace it or open its file descriptors).

The child's job arrives in two messages (JSON lines):
  1. ``{"cells": [...], "names": [...]}``: the cells to run. Then the child reports
     ``cells_done``.
  2. ``{"nonce": str, "tests": [...], "case_timeout": s}``: the probes with their
     fresh random inputs. The grader sends it only after ``cells_done``, so code in
     the cells never sees the inputs; every event of this phase carries the nonce.

Events (JSON lines on the events pipe):
  {"event": "cell_start", "index": i}  {"event": "cell", "index": i, "error": str|None}
  {"event": "cells_done"}              {"event": "limit", "kind": "memory", "where": str}
  {"event": "patched", "names": [...], "n": nonce}
  {"event": "case", "test": id, "i": k, "obs"|"error"|"timeout": ..., "n": nonce}
  {"event": "missing", "test": id, "name": str, "n": nonce}
  {"event": "reference", "test": id, "name": str, "module": str, "how": str, "n": nonce}
  {"event": "done", "n": nonce}

Nothing here decides a score: judging happens in the grader's process.
"""

from __future__ import annotations

import ctypes
import importlib
import json
import os
import pkgutil
import resource
import shutil
import signal
import socket
import sys
import time
from typing import Any

SENTINELS = [
    ("builtins", ["abs", "sum", "len", "isinstance", "float", "int", "max", "min", "round", "print",
                  "range", "type", "hasattr", "getattr", "__import__"]),
    ("math", ["isclose", "isfinite"]),
    ("numpy", ["allclose", "isclose", "array_equal", "asarray", "array", "sum", "mean"]),
    ("numpy.testing", ["assert_allclose", "assert_array_equal"]),
    ("torch", ["allclose", "equal", "isclose", "tensor", "as_tensor"]),
    ("json", ["dumps"]),
]
BASE_PRELOAD = ["numpy", "numpy.testing", "torch", "torch.nn", "torch.nn.functional", "matplotlib",
                "matplotlib.pyplot", "gymnasium", "IPython.core.interactiveshell", "IPython.display",
                "rlcore", "autograder.probes"]
PAGE = os.sysconf("SC_PAGE_SIZE")
_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS = 4, 38


# ------------------------------------------------------------------ helpers
def _snapshot() -> dict[str, Any]:
    snap = {}
    for mod_name, names in SENTINELS:
        mod = sys.modules.get(mod_name)
        if mod is None:
            continue
        for n in names:
            if hasattr(mod, n):
                snap[f"{mod_name}.{n}"] = getattr(mod, n)
    return snap


def _read_line(fd: int) -> bytes:
    """Read one newline-terminated message from ``fd`` (unbuffered: nothing is read ahead)."""
    data = b""
    while not data.endswith(b"\n"):
        b = os.read(fd, 1 << 16)
        if not b:
            break
        data += b
    return data


def _rss(pid: int | str) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def _pss(pid: int | str) -> int:
    """Proportional set size: pages shared with other processes count by their share."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return _rss(pid)


def _pids(exclude: set[int]) -> list[int]:
    return [int(n) for n in os.listdir("/proc") if n.isdigit() and int(n) not in exclude]


def _pss_total(pids: list[int], count, max_procs: int) -> int | None:
    """The summed proportional set size of ``pids``; None as soon as ``count()`` passes ``max_procs``."""
    total = 0
    for i, p in enumerate(pids):
        if i % 8 == 7 and len(count()) > max_procs:
            return None
        total += _pss(p)
    return total


def _descendants_of_session(sid: int) -> list[int]:
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
                if int(fields[3]) == sid:
                    out.append(int(name))
            except (OSError, IndexError, ValueError):
                pass
    return out


def _vm_size() -> int:
    with open("/proc/self/statm", "rb") as f:
        return int(f.read().split()[0]) * PAGE


# -------------------------------------------------------------- tripwires
class _Tripwires:
    """Record calls to rlcore's reference implementations of the graded names.

    Every rlcore module attribute that *is* a reference object named like a graded
    exercise (a function, or a class's methods) is replaced by a recording wrapper,
    before the student's cells run, so ``from rlcore import x as y`` and wrappers
    around it are seen when the probes call the student's ``x``.
    """

    def __init__(self, names: list[str], watch: list[str] | None = None,
                 allowed: dict[str, list[str]] | None = None):
        self.current: str | None = None
        self.hits: dict[str, str] = {}
        self.allowed = {k: set(v) for k, v in (allowed or {}).items()}
        wanted = set(names) | set(watch or [])
        originals: dict[int, tuple[str, Any]] = {}
        mods = [m for k, m in list(sys.modules.items())
                if (k == "rlcore" or k.startswith("rlcore.")) and m is not None]
        for mod in mods:
            for attr, obj in list(vars(mod).items()):
                if attr in wanted and getattr(obj, "__module__", "").startswith("rlcore") \
                        and (callable(obj)):
                    originals[id(obj)] = (attr, obj)
        self.wrapped: dict[int, Any] = {}
        for key, (name, obj) in originals.items():
            if isinstance(obj, type):
                self._wrap_class(name, obj)
                self.wrapped[key] = obj
            else:
                self.wrapped[key] = self._wrap(name, obj)
        for mod in mods:
            d = vars(mod)
            for attr, obj in list(d.items()):
                w = self.wrapped.get(id(obj))
                if w is not None and w is not obj and originals[id(obj)][1] is obj:
                    d[attr] = w

    def _wrap(self, name: str, fn: Any) -> Any:
        trip = self

        def reference(*args, **kwargs):
            # any exercise's reference called while a test runs, unless the test allows it
            # (estimate_return may call rollout); a test's own reference is never allowed
            current = trip.current
            if current is not None and (current == name or name not in trip.allowed.get(current, ())):
                trip.hits.setdefault(current, f"{fn.__module__}.{fn.__qualname__}")
            return fn(*args, **kwargs)
        reference.__wrapped_reference__ = fn  # what probes.reference_helpers swaps in
        for a in ("__module__", "__name__", "__qualname__", "__doc__"):
            try:
                setattr(reference, a, getattr(fn, a))
            except (AttributeError, TypeError):
                pass
        return reference

    def _wrap_class(self, name: str, cls: type) -> None:
        for attr, val in list(vars(cls).items()):
            if callable(val) and not isinstance(val, type) and (not attr.startswith("__") or attr in (
                    "__init__", "__call__", "__len__", "__getitem__")):
                try:
                    setattr(cls, attr, self._wrap(name, val))
                except (AttributeError, TypeError):
                    pass


# ------------------------------------------------------------------ child
class _CaseTimeout(BaseException):
    """A probe ran too long (BaseException so a student's `except Exception` cannot swallow it)."""


def _alarm(signum, frame):
    raise _CaseTimeout()


def _is_memory_error(e: BaseException | None) -> bool:
    return isinstance(e, MemoryError) or (isinstance(e, RuntimeError) and "can't allocate memory" in str(e))


def child_main(job_fd: int, ev_fd: int, params: dict, shell: Any) -> None:
    """Run one submission in this (forked) process; never returns."""
    try:
        _child(job_fd, ev_fd, params, shell)
    except BaseException as e:  # noqa: BLE001 - the student's code broke the runner itself
        try:
            os.write(ev_fd, (json.dumps({"event": "runner-error",
                                         "error": f"{type(e).__name__}: {e}"[:300]}) + "\n").encode())
        except BaseException:  # noqa: BLE001, S110 - nothing left to report to
            pass
        os._exit(71)


def _child(job_fd: int, ev_fd: int, params: dict, shell: Any) -> None:
    me = os.getpid()
    _libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # the zygote may read our memory use (smaps_rollup)
    try:
        os.setsid()
    except OSError:
        pass
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD, signal.SIGALRM):
        signal.signal(sig, signal.SIG_DFL)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    memory = int(params.get("memory_mb", 2048)) * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (_vm_size() + memory,) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    out = os.fdopen(ev_fd, "w", buffering=1)
    _dumps = json.dumps
    nonce: list[str] = []

    def emit(obj: dict) -> None:
        if os.getpid() != me:  # a copy made by the student's os.fork(): stay silent
            os._exit(0)
        if nonce:
            obj = {**obj, "n": nonce[0]}
        try:
            line = _dumps(obj, allow_nan=True)
        except (TypeError, ValueError):
            line = _dumps({**obj, "obs": None, "error": "unserializable observation"})
        try:
            out.write(line + "\n")
            out.flush()
        except (OSError, ValueError):
            os._exit(0)

    def stop_for_memory(where: str) -> None:
        emit({"event": "limit", "kind": "memory", "where": where})
        os._exit(3)

    job = json.loads(_read_line(job_fd) or b"{}")
    from autograder import probes

    probe_table = dict(probes.PROBES)
    probe_funcs = {k: v for k, v in vars(probes).items() if callable(v)}
    run_probe_ref = probes.run_probe
    ProbeError = probes.ProbeError
    describe_error = probes.describe_error
    trip = _Tripwires(list(job.get("names", [])), list(job.get("watch", [])), job.get("allowed", {}))
    before = _snapshot()
    patched: list[str] = []

    def restore() -> None:
        """Put back what a cell replaced (comparison helpers, builtins, the probes); note it."""
        now = _snapshot()
        for key, value in before.items():
            if now.get(key) is not value:
                if key not in patched:
                    patched.append(key)
                mod_name, _, attr = key.rpartition(".")
                try:
                    setattr(sys.modules[mod_name], attr, value)
                except (KeyError, AttributeError, TypeError):
                    pass
        if probes.PROBES != probe_table or any(vars(probes).get(k) is not v for k, v in probe_funcs.items()):
            if "autograder.probes" not in patched:
                patched.append("autograder.probes")
            probes.PROBES.clear()
            probes.PROBES.update(probe_table)
            vars(probes).update(probe_funcs)

    clock = time.perf_counter
    for i, source in enumerate(job.get("cells", [])):
        emit({"event": "cell_start", "index": i})
        t0 = clock()
        try:
            result = shell.run_cell(source, store_history=False, silent=True)
            restore()
            err = result.error_in_exec or result.error_before_exec
            if _is_memory_error(err):
                stop_for_memory(f"cell {i}")
            emit({"event": "cell", "index": i, "error": None if err is None else describe_error(err),
                  "s": round(clock() - t0, 3)})
        except BaseException as e:  # noqa: BLE001 - SystemExit, KeyboardInterrupt from student code
            restore()
            emit({"event": "cell", "index": i, "error": f"{type(e).__name__}: {e}"[:300],
                  "s": round(clock() - t0, 3)})
    emit({"event": "cells_done"})

    for fd in (job_fd, ev_fd):  # the cells may have made them non-blocking
        try:
            os.set_blocking(fd, True)
        except OSError:
            pass
    phase2 = json.loads(_read_line(job_fd) or b"{}")
    nonce.append(str(phase2.get("nonce", "")))
    restore()
    emit({"event": "patched", "names": sorted(patched)})
    ns = shell.user_ns
    case_timeout = int(phase2.get("case_timeout", 30))
    for test in phase2.get("tests", []):
        name = test["name"]
        if name not in ns:
            emit({"event": "missing", "test": test["test"], "name": name})
            continue
        target = ns[name]
        module = getattr(target, "__module__", None) or ""
        if isinstance(module, str) and module.startswith(("rlcore", "autograder")):
            emit({"event": "reference", "test": test["test"], "name": name, "module": module,
                  "how": "is"})
        trip.current = name
        timed_out = False
        t0 = clock()
        for k, case in enumerate(test["cases"]):
            if timed_out:  # one endless loop is enough: do not wait for it again
                emit({"event": "case", "test": test["test"], "i": k, "skipped": True})
                continue
            signal.signal(signal.SIGALRM, _alarm)
            signal.alarm(case_timeout)
            try:
                obs = run_probe_ref(case["probe"], target, case["payload"])
                signal.alarm(0)
                emit({"event": "case", "test": test["test"], "i": k, "obs": obs})
            except ProbeError as e:
                signal.alarm(0)
                if "MemoryError" in str(e) or "can't allocate memory" in str(e):
                    stop_for_memory(f"{name}")
                emit({"event": "case", "test": test["test"], "i": k, "error": str(e)})
            except _CaseTimeout:
                timed_out = True
                emit({"event": "case", "test": test["test"], "i": k, "timeout": case_timeout})
            except BaseException as e:  # noqa: BLE001 - SystemExit etc. raised by student code
                signal.alarm(0)
                emit({"event": "case", "test": test["test"], "i": k,
                      "error": f"{type(e).__name__}: {e}"[:300]})
        trip.current = None
        emit({"event": "test_time", "test": test["test"], "s": round(clock() - t0, 3)})
        if name in trip.hits:
            emit({"event": "reference", "test": test["test"], "name": name,
                  "module": trip.hits[name], "how": "called"})
    emit({"event": "done"})
    out.close()
    os._exit(0)  # skip interpreter teardown: student atexit hooks must not run after "done"


# ------------------------------------------------------------------ zygote
class Zygote:
    def __init__(self, control: socket.socket, pidns: bool):
        self.control = control
        self.pidns = pidns
        self.shell = None

    def send(self, obj: dict) -> None:
        self.control.sendall(json.dumps(obj).encode())

    def preload(self, modules: list[str]) -> tuple[list[str], list[str]]:
        loaded, failed = [], []
        for name in BASE_PRELOAD + modules:
            if name in sys.modules:
                continue
            try:
                importlib.import_module(name)
                loaded.append(name)
            except Exception as e:  # noqa: BLE001 - a module a lesson imports may be absent
                failed.append(f"{name}: {type(e).__name__}")
        try:
            import rlcore
            for info in pkgutil.walk_packages(rlcore.__path__, "rlcore."):
                try:
                    importlib.import_module(info.name)
                except Exception as e:  # noqa: BLE001
                    failed.append(f"{info.name}: {type(e).__name__}")
        except ImportError:
            pass
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(1)
        if "matplotlib" in sys.modules:
            sys.modules["matplotlib"].use("Agg")
        from IPython.core.interactiveshell import InteractiveShell
        from traitlets.config import Config

        cfg = Config()
        cfg.HistoryManager.enabled = False
        self.shell = InteractiveShell.instance(config=cfg)
        self.shell.showtraceback = lambda *a, **k: None  # tracebacks go nowhere; errors are recorded
        return loaded, failed

    def serve(self) -> None:
        while True:
            try:
                msg, fds, _, _ = socket.recv_fds(self.control, 1 << 16, 4)
            except OSError:
                return
            if not msg:
                return
            req = json.loads(msg)
            if req.get("op") == "quit":
                return
            if req.get("op") != "run" or len(fds) != 2:
                for fd in fds:
                    os.close(fd)
                self.send({"event": "error", "detail": "bad request"})
                continue
            self.run_one(req, fds[0], fds[1])

    def run_one(self, req: dict, job_fd: int, ev_fd: int) -> None:
        timeout = float(req.get("timeout", 120))
        memory = int(req.get("memory_mb", 2048)) * 2**20
        max_procs = int(req.get("max_procs", 64))
        base_rss, base_pss = _rss("self"), _pss("self")  # the child starts out sharing our pages
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:
            try:
                self.control.close()
                child_main(job_fd, ev_fd, req, self.shell)
            finally:
                os._exit(70)
        os.close(job_fd)
        os.close(ev_fd)
        me = os.getpid()
        exclude = {me, 1} if self.pidns else set()

        def processes() -> list[int]:
            return _pids(exclude) if self.pidns else _descendants_of_session(pid)

        reason, status, peak = "done", None, 0
        while True:
            try:
                done, st = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done, st = pid, 0
            if done:
                status = st
                break
            members = processes()
            if len(members) > max_procs:
                reason = "processes"
                break
            if time.monotonic() - start > timeout:
                reason = "timeout"
                break
            # Resident memory counts the pages a fork shares with us once per process; when
            # that crude sum is over the limit, measure properly: the proportional sizes of
            # every process, ours included, minus what we had before the fork. Reading
            # smaps_rollup is slow and a growing fork bomb starves us of CPU while we read,
            # so count the processes again first, and give up measuring once they are too many.
            used = sum(_rss(p) for p in members) - base_rss
            if used > memory:
                members = processes()
                if len(members) > max_procs:
                    reason = "processes"
                    break
                pss = _pss_total(members + [me], processes, max_procs)
                if pss is None:  # the count went over the limit while we measured
                    reason = "processes"
                    break
                used = pss - base_pss
            peak = max(peak, used)
            if used > memory:
                # a fork bomb grows both; measuring took a while, so count again first
                reason = "processes" if len(processes()) > max_procs else "memory"
                break
            time.sleep(0.05)
        reaped = self.sweep(pid)
        if status is None:
            status = reaped
        code = os.waitstatus_to_exitcode(status) if status is not None else None
        if self.pidns:
            self.clean_tmp()
        self.send({"event": "exit", "reason": reason, "code": code,
                   "seconds": round(time.monotonic() - start, 3), "peak_rss_mb": round(peak / 2**20, 1)})

    def sweep(self, pid: int) -> int | None:
        """Kill every process the submission started (all of the sandbox but us and its init).

        Returns the child's wait status if it was reaped here.
        """
        status = None
        for _ in range(500):
            if self.pidns:
                try:
                    os.kill(-1, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            else:
                for p in [pid] + _descendants_of_session(pid):
                    try:
                        os.kill(p, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            while True:
                try:
                    reaped, st = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if not reaped:
                    break
                if reaped == pid:
                    status = st
            if not self._alive(pid):
                return status
            time.sleep(0.01)
        return status

    def _alive(self, pid: int) -> list[int]:
        out = []
        me = os.getpid()
        pids = [int(n) for n in os.listdir("/proc") if n.isdigit()] if self.pidns \
            else _descendants_of_session(pid)
        for p in pids:
            if p in (me, 1) and self.pidns:
                continue
            try:
                with open(f"/proc/{p}/stat", "rb") as f:
                    state = f.read().rsplit(b")", 1)[1].split()[0]
                if state not in (b"Z", b"X"):
                    out.append(p)
            except OSError:
                pass
        return out

    def clean_tmp(self) -> None:
        """Empty /tmp and /dev/shm so the next submission starts from nothing."""
        for root in ("/tmp", "/dev/shm"):
            try:
                entries = os.listdir(root)
            except OSError:
                continue
            for e in entries:
                p = os.path.join(root, e)
                try:
                    if os.path.isdir(p) and not os.path.islink(p):
                        _unlock_tree(p)  # a folder set to mode 000 would otherwise survive
                        shutil.rmtree(p, ignore_errors=True)
                    else:
                        os.unlink(p)
                except OSError:
                    pass
        home = os.environ.get("HOME", "/tmp/home")
        os.makedirs(home, mode=0o700, exist_ok=True)
        os.chdir(home)  # the old home was deleted: the next notebook must start in the new one
        if _sysv_ipc_left() and shutil.which("ipcrm"):  # shared memory, semaphores, queues
            import subprocess
            subprocess.run(["ipcrm", "--all"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           check=False)


def _unlock_tree(path: str) -> None:
    """Give the owner rwx on ``path`` and every folder below it, so that it can be deleted."""
    def unlock(p: str) -> None:
        if not os.path.islink(p):  # never follow a link out of /tmp
            try:
                os.chmod(p, 0o700)
            except OSError:
                pass
    unlock(path)
    for parent, dirs, _files in os.walk(path):  # top-down: a folder is opened after its chmod
        for d in dirs:
            unlock(os.path.join(parent, d))


def _sysv_ipc_left() -> bool:
    for kind in ("shm", "sem", "msg"):
        try:
            with open(f"/proc/sysvipc/{kind}") as f:
                if len(f.readlines()) > 1:
                    return True
        except OSError:
            return True
    return False


def _drop_privileges(uid: int) -> None:
    """Become ``uid`` (from root inside the sandbox) with no capabilities left."""
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    with open("/proc/self/status") as f:
        caps = {ln.split(":")[0]: ln.split()[1] for ln in f if ln.startswith("Cap")}
    if int(caps.get("CapEff", "1"), 16) or int(caps.get("CapPrm", "1"), 16):
        raise SystemExit("could not drop capabilities")


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--control", type=int, required=True)
    ap.add_argument("--preload", default="")
    ap.add_argument("--pidns", action="store_true", help="we are in our own PID namespace (bwrap)")
    ap.add_argument("--uid", type=int, default=None, help="drop to this uid first (sandbox as root)")
    ap.add_argument("--max-threads", type=int, default=256)
    args = ap.parse_args(argv)
    if args.uid is not None:
        _drop_privileges(args.uid)
    _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)  # children cannot ptrace us or open our fds
    pidns = args.pidns and os.getpid() <= 3
    if pidns:
        home = os.environ.get("HOME", "/tmp/home")
        os.makedirs(home, mode=0o700, exist_ok=True)
        os.chdir(home)
        # Threads count as processes: a fork bomb stops here, whoever we run as.
        resource.setrlimit(resource.RLIMIT_NPROC, (args.max_threads, args.max_threads))
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 30, 1 << 30))
    control = socket.socket(fileno=args.control)
    zyg = Zygote(control, pidns)
    t0 = time.monotonic()
    loaded, failed = zyg.preload([m for m in args.preload.split(",") if m])
    zyg.send({"event": "ready", "pid": os.getpid(), "uid": os.getuid(), "pidns": pidns,
              "seconds": round(time.monotonic() - t0, 3), "loaded": loaded, "failed": failed})
    zyg.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
