"""The sandboxed side of grading: run a submission's cells, then the probes.

Started by ``autograder.grade`` (inside bubblewrap unless ``--no-sandbox``) as
``python -m autograder.runner``; reads one job (JSON) on stdin and writes events
as JSON lines on the file descriptor it was given (``AUTOGRADER_FD``), never on
stdout, which the student's code owns. Events:

  {"event": "cell", "index": i, "error": str|None}     after each cell
  {"event": "patched", "names": [...]}                  library functions the notebook replaced
  {"event": "case", "test": id, "i": k, "obs": ...}     one probe observation
  {"event": "case", "test": id, "i": k, "error": str}   the student's code raised
  {"event": "missing", "test": id, "name": str}         the graded name is not defined
  {"event": "done"}

Judging happens in the grader's process; nothing here decides a score.
"""

from __future__ import annotations

import builtins  # noqa: F401 - sentinels are read through sys.modules
import json
import math  # noqa: F401
import os
import signal
import sys
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


class _CaseTimeout(BaseException):
    """A probe ran too long (BaseException so a student's `except Exception` cannot swallow it)."""


def _alarm(signum, frame):  # noqa: ARG001
    raise _CaseTimeout()


def main() -> int:
    fd = int(os.environ.get("AUTOGRADER_FD", "1"))
    out = os.fdopen(os.dup(fd), "w", buffering=1)
    job = json.loads(sys.stdin.read())
    # The student's code owns stdout/stderr: send them to /dev/null at the fd level.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.environ.setdefault("MPLBACKEND", "Agg")

    _dumps = json.dumps

    def emit(obj: dict) -> None:
        try:
            out.write(_dumps(obj, allow_nan=True) + "\n")
        except (TypeError, ValueError):
            out.write(_dumps({**obj, "obs": None, "error": "unserializable observation"}) + "\n")
        out.flush()

    import numpy  # noqa: F401 - imported before the student's code, so the snapshot sees them
    import numpy.testing  # noqa: F401
    import torch  # noqa: F401

    from autograder import probes

    probe_table = dict(probes.PROBES)
    run_probe_ref = probes.run_probe
    ProbeError = probes.ProbeError
    before = _snapshot()

    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.showtraceback = lambda *a, **k: None  # tracebacks go nowhere; we record the error
    for i, source in enumerate(job["cells"]):
        emit({"event": "cell_start", "index": i})
        try:
            result = shell.run_cell(source, store_history=False, silent=True)
            err = result.error_in_exec or result.error_before_exec
            emit({"event": "cell", "index": i,
                  "error": None if err is None else probes.describe_error(err)})
        except BaseException as e:  # noqa: BLE001 - SystemExit, KeyboardInterrupt from student code
            emit({"event": "cell", "index": i, "error": f"{type(e).__name__}: {e}"[:300]})

    after = _snapshot()
    patched = sorted(k for k, v in before.items() if after.get(k) is not v)
    if probes.PROBES != probe_table or probes.run_probe is not run_probe_ref:
        patched.append("autograder.probes")
    emit({"event": "patched", "names": patched})

    probes.PROBES.clear()
    probes.PROBES.update(probe_table)
    ns = shell.user_ns
    case_timeout = int(job.get("case_timeout", 30))
    signal.signal(signal.SIGALRM, _alarm)
    for test in job["tests"]:
        name = test["name"]
        if name not in ns:
            emit({"event": "missing", "test": test["test"], "name": name})
            continue
        target = ns[name]
        module = getattr(target, "__module__", None) or ""
        if isinstance(module, str) and module.startswith(("rlcore", "autograder")):
            emit({"event": "reference", "test": test["test"], "name": name, "module": module})
        for k, case in enumerate(test["cases"]):
            signal.alarm(case_timeout)
            try:
                obs = run_probe_ref(case["probe"], target, case["payload"])
                emit({"event": "case", "test": test["test"], "i": k, "obs": obs})
            except ProbeError as e:
                emit({"event": "case", "test": test["test"], "i": k, "error": str(e)})
            except _CaseTimeout:
                emit({"event": "case", "test": test["test"], "i": k, "timeout": case_timeout})
            except BaseException as e:  # noqa: BLE001 - SystemExit etc. raised by student code
                emit({"event": "case", "test": test["test"], "i": k,
                      "error": f"{type(e).__name__}: {e}"[:300]})
            finally:
                signal.alarm(0)
    emit({"event": "done"})
    out.close()
    os._exit(0)  # skip interpreter teardown: student atexit hooks must not run after "done"


if __name__ == "__main__":
    sys.exit(main())
