"""The sandbox itself: who the code runs as, what it can see, and the grader's channel.

Each check runs a one-cell job in a real sandbox; the cell reports what it found by
raising SystemExit(text), which the runner records as the cell's error.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from fixtures import sandboxes

from autograder import sandbox

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("sandbox")]  # one sandbox per module


worker = pytest.fixture(scope="module")(sandboxes.worker)


def cell_says(worker, code: str, phase2: dict | None = None, **kw) -> str:
    run = worker.run({"cells": [code + "\nraise SystemExit(json.dumps(found))"], "names": []},
                     phase2 or {"tests": []}, **kw)
    assert run.ended == "done", (run.ended, run.detail)
    err = next(e["error"] for e in run.events if e.get("event") == "cell")
    return json.JSONDecoder().raw_decode(err.split("SystemExit: ", 1)[1])[0]


def test_runs_unprivileged_without_capabilities(worker):
    found = cell_says(worker, """
import json, os, resource
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
found = {"uid": os.getuid(), "caps": status["CapEff"].strip(), "nnp": status["NoNewPrivs"].strip(),
         "nproc": resource.getrlimit(resource.RLIMIT_NPROC)[0], "pid": os.getpid(),
         "ifaces": [n for _, n in __import__("socket").if_nameindex()], "home": os.environ["HOME"],
         "cwd": os.getcwd()}
""")
    if os.geteuid() == 0:
        assert found["uid"] >= 2_000_000_000
    assert found["caps"] == "0000000000000000" and found["nnp"] == "1"
    assert found["nproc"] == sandbox.MAX_THREADS
    assert found["pid"] < 100  # its own PID namespace
    assert found["ifaces"] == ["lo"]
    assert found["home"] == "/tmp/home" and found["cwd"] == "/tmp/home"


def test_tmp_is_private_writable_and_bounded(worker):
    found = cell_says(worker, """
import json, os
found = {"mine": sorted(os.listdir("/tmp"))}
with open("/tmp/home/x", "wb") as f:
    try:
        for _ in range(700):
            f.write(b"x" * 2**20)
            f.flush()
        found["full"] = False
    except OSError as e:
        found["full"] = e.errno
""")
    # Only the private home, plus the mount points of the course's own read-only folders when the
    # checkout (or its .venv) itself lies under /tmp, as in a CI clone.
    expected = {"home"}
    for path in (sandbox.ROOT, sys.prefix, sys.base_prefix):
        parts = Path(os.path.realpath(path)).parts
        if parts[:2] == ("/", "tmp") and len(parts) > 2:
            expected.add(parts[2])
    assert set(found["mine"]) == expected
    assert found["full"] == 28  # ENOSPC: /tmp holds 512 MiB


def test_the_zygote_cannot_be_read_or_traced(worker):
    found = cell_says(worker, """
import json, os, ctypes
z = os.getppid()
found = {}
for what in ("mem", "environ", "fd", "maps"):
    try:
        p = f"/proc/{z}/{what}"
        found[what] = os.listdir(p) if what == "fd" else open(p, "rb").read(10).hex()
    except OSError as e:
        found[what] = e.errno
libc = ctypes.CDLL(None, use_errno=True)
found["ptrace"] = libc.ptrace(16, z, 0, 0)   # PTRACE_ATTACH
""")
    assert found["mem"] == found["environ"] == found["fd"] == found["maps"] == 13, found  # EACCES
    assert found["ptrace"] == -1


def test_hidden_inputs_are_not_in_the_sandbox_while_cells_run(worker):
    marker = 987654.3210123
    phase2 = {"tests": [{"test": "test_x", "name": "x",
                         "cases": [{"probe": "call", "payload": {"args": [marker]}}]}]}
    found = cell_says(worker, f"""
import json, os
found = []
for fd in range(3, 64):
    try:
        os.set_blocking(fd, False)
        found.append(os.read(fd, 1 << 20).decode(errors="replace"))
    except OSError:
        pass
found = [s for s in found if "{marker}" in s]
""", phase2=phase2)
    assert found == []


def test_events_need_the_runs_nonce(worker):
    run = worker.run({"cells": ["x = lambda v: v * 2"], "names": ["x"]},
                     {"tests": [{"test": "test_x", "name": "x",
                                 "cases": [{"probe": "call", "payload": {"args": [21]}}]}]})
    case = next(e for e in run.events if e.get("event") == "case")
    assert case["obs"] == {"out": 42} and case["n"] == run.nonce and len(run.nonce) == 32
    assert any(e.get("event") == "done" and e.get("n") == run.nonce for e in run.events)


def test_a_forked_copy_of_the_notebook_stays_silent(worker):
    run = worker.run({"cells": ["import os, time\npid = os.fork()\nif pid: time.sleep(0.5)"],
                      "names": []}, {"tests": []})
    cells = [e for e in run.events if e.get("event") == "cell"]
    assert len(cells) == 1 and run.ended == "done"


def test_worker_comes_back_after_its_sandbox_died(worker):
    kill = "import os, signal, time\nos.kill(os.getppid(), signal.SIGKILL)\ntime.sleep(20)"
    run = worker.run({"cells": [kill], "names": []}, {"tests": []}, timeout=20)
    assert run.ended == "worker"
    again = worker.run({"cells": ["y = 1"], "names": []}, {"tests": []})
    assert again.ended == "done"


def test_cgroup_backstop_where_the_machine_allows_it(worker):
    if worker.cgroups is None or not worker.cgroups.dirs:
        pytest.skip("no writable cgroup v1 controllers here (not root, or cgroup v2 only)")
    worker.run({"cells": ["x = 1"], "names": []}, {"tests": []}, memory_mb=1024)
    assert int(worker.cgroups.read("pids", "pids.max")) == sandbox.MAX_THREADS + 64
    limit = int(worker.cgroups.read("memory", "memory.limit_in_bytes"))
    assert worker.base_memory + 1024 * 2**20 < limit < worker.base_memory + 3 * 2**30
    procs = worker.cgroups.read("memory", "cgroup.procs").split()
    assert str(worker.proc.pid) in procs or len(procs) >= 2
