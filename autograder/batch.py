"""``grade`` with no file: every collected submission, in parallel, resumable.

Each submission's result lands in ``grading/results/<assignment>/<student>.json`` with
the SHA-256 of the notebook and a fingerprint of what graded it (the instructor's
notebook, the released lesson, the hidden tests, the grader's code). A re-run grades
only submissions whose notebook or fingerprint changed (``--force`` grades all).
Results also go to nbgrader's gradebook and to ``grading/autograded/`` (the copy
formgrader shows), so nbgrader's own tools keep working.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import nbformat

from . import collect, gradebook, notebook, sandbox
from .grade import build_job, judge
from .notebook import ROOT, GradeError

GRADER_FILES = ["grade.py", "notebook.py", "probes.py", "runner.py", "sandbox.py", "hidden/__init__.py"]


@functools.cache
def fingerprint(assignment: str) -> str:
    """A hash of everything that decides this assignment's grades besides the submission."""
    h = hashlib.sha256()
    files = [ROOT / "solutions" / assignment / f"{assignment}.ipynb",
             ROOT / "lessons" / assignment / f"{assignment}.ipynb"]
    files += [ROOT / "autograder" / f for f in GRADER_FILES]
    files += sorted((ROOT / "autograder" / "hidden").glob("lesson*.py"))
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes() if f.exists() else b"-")
    return h.hexdigest()[:16]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def result_path(grading: Path, student: str, assignment: str) -> Path:
    return Path(grading) / "results" / assignment / f"{student}.json"


def load_records(grading: str | Path) -> list[dict]:
    """Every stored result record (student, assignment, result, ...), sorted."""
    out = []
    for p in sorted((Path(grading) / "results").glob("*/*.json")):
        try:
            out.append(json.loads(p.read_text()))
        except (OSError, json.JSONDecodeError):
            continue
    return sorted(out, key=lambda r: (r["student"], r["assignment"]))


def _unreadable(assignment: str, reason: str) -> dict:
    tests = notebook.tests_of(notebook.source_notebook(assignment))
    msg = f"Not run: the submitted file could not be graded ({reason}). Hand in the .ipynb notebook itself."
    return {"assignment": assignment, "score": 0.0, "max_score": sum(t.points for t in tests),
            "tests": [{"name": t.grade_id, "score": 0.0, "max_score": t.points, "status": "not-run",
                       "message": msg} for t in tests],
            "flags": ["unreadable"]}


def write_autograded(grading: Path, student: str, path: Path, result: dict) -> None:
    """The copy formgrader shows: the submission with the released test cells and our verdicts."""
    assignment = result["assignment"]
    dest = Path(grading) / "autograded" / student / assignment / f"{assignment}.ipynb"
    dest.parent.mkdir(parents=True, exist_ok=True)
    released = {c.metadata.get("nbgrader", {}).get("grade_id"): c
                for c in notebook.released_notebook(assignment).cells
                if c.metadata.get("nbgrader", {}).get("grade")}
    by_test = {t["name"]: t for t in result["tests"]}
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:  # noqa: BLE001 - unreadable: formgrader gets the released notebook
        nb = copy.deepcopy(notebook.released_notebook(assignment))
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell.cell_type == "code" and gid in released and gid in by_test:
            t = by_test[gid]
            cell.source = released[gid].source
            cell.metadata["nbgrader"] = dict(released[gid].metadata["nbgrader"])
            cell.outputs = [nbformat.v4.new_output(
                "stream", name="stdout",
                text=f"[{t['status']}] {t['score']:g}/{t['max_score']:g}: {t['message']}\n")]
        elif cell.cell_type == "code":
            cell.outputs = []
    nbformat.write(nb, dest)


@dataclass
class BatchSummary:
    graded: list[dict] = field(default_factory=list)
    unchanged: int = 0
    seconds: float = 0.0
    workers: int = 0

    def text(self) -> str:
        flagged = sum(bool(r["result"]["flags"]) for r in self.graded)
        per = self.seconds / len(self.graded) if self.graded else 0.0
        return (f"graded {len(self.graded)} submissions in {self.seconds:.1f} s on {self.workers} "
                f"sandboxes ({per:.2f} s each), {self.unchanged} unchanged since the last run; "
                f"{flagged} flagged")


def todo(grading: Path, force: bool = False, only: list[str] | None = None,
         limits: dict | None = None) -> tuple[list[tuple[str, str, Path, str]], int]:
    """Submissions to grade (student, assignment, path, sha) and how many are up to date.

    Up to date: same notebook, same fingerprint, and, if a limit stopped it, same limits.
    """
    out, same = [], 0
    for student, assignment, path in collect.submissions(grading):
        if only and assignment not in only:
            continue
        if assignment not in notebook.assignments():
            continue
        digest = sha256(path)
        rp = result_path(grading, student, assignment)
        if not force and rp.exists():
            try:
                old = json.loads(rp.read_text())
                stopped = any(f in ("stopped:timeout", "stopped:memory")
                              for f in old.get("result", {}).get("flags", []))
                if old.get("sha256") == digest and old.get("fingerprint") == fingerprint(assignment) \
                        and not (stopped and limits and old.get("limits") != limits):
                    same += 1
                    continue
            except (OSError, json.JSONDecodeError):
                pass
        out.append((student, assignment, path, digest))
    return out, same


def grade_all(grading: str | Path, jobs: int | None = None, timeout: float = 120.0,
              memory_mb: int = 2048, use_sandbox: bool = True, force: bool = False,
              only: list[str] | None = None, log: Callable[[str], None] = print) -> BatchSummary:
    """Grade every new or changed submission in ``grading/submitted`` on ``jobs`` sandboxes."""
    grading = Path(grading)
    start = time.monotonic()
    limits = {"timeout": timeout, "memory_mb": memory_mb}
    work, same = todo(grading, force, only, limits)
    summary = BatchSummary(unchanged=same)
    if not work:
        summary.seconds = time.monotonic() - start
        return summary
    n = max(1, min(jobs or os.cpu_count() or 1, len(work)))
    workers = [sandbox.Worker(use_sandbox, preload=notebook.preload_modules()) for _ in range(n)]
    ensuring = None
    try:
        for w in workers:  # the sandboxes import while nbgrader fills in the gradebook
            w.spawn()
        ensuring = gradebook.ensure_assignments(grading, sorted({w[1] for w in work}))
        from . import hidden
        hidden.load_all()  # the judges' imports (torch ...) once, before the threads start
        for w in workers:
            w.wait_ready()
        gradebook.finish_ensure(ensuring)
    except BaseException:
        for w in workers:
            w.close()
        if ensuring is not None and ensuring.poll() is None:
            ensuring.kill()
        raise
    summary.workers = n
    tasks: queue.Queue = queue.Queue()
    for item in work:
        tasks.put(item)
    done: queue.Queue = queue.Queue()

    def worker_loop(w: sandbox.Worker) -> None:
        while True:
            try:
                student, assignment, path, digest = tasks.get_nowait()
            except queue.Empty:
                return
            details: dict = {}
            try:
                job, phase2, context = build_job(path, timeout=timeout)
                run = w.run(job, phase2, timeout=timeout, memory_mb=memory_mb)
                result = judge(context, run)
                if not w.sandbox:
                    result["flags"].append("no-sandbox")
                details = {"seed": context["seed"], "seconds": round(run.seconds, 3),
                           "peak_rss_mb": run.peak_rss_mb, "ended": run.ended}
            except GradeError as e:
                result = _unreadable(assignment, str(e).split(": ", 1)[-1])
            except Exception as e:  # noqa: BLE001 - never lose a submission silently
                result = _unreadable(assignment, f"grader error {type(e).__name__}: {e}")
                result["flags"] = ["grader-error"]
            done.put((student, assignment, path, digest, result, details))

    threads = [threading.Thread(target=worker_loop, args=(w,), daemon=True) for w in workers]
    for t in threads:
        t.start()
    total = len(work)
    try:
        with gradebook.open_gradebook(grading) as gb:
            for k in range(total):
                student, assignment, path, digest, result, details = done.get()
                record = {"student": student, "assignment": assignment, "sha256": digest,
                          "fingerprint": fingerprint(assignment), "limits": limits,
                          "graded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                          **details, "result": result}
                rp = result_path(grading, student, assignment)
                rp.parent.mkdir(parents=True, exist_ok=True)
                tmp = rp.with_suffix(".tmp")
                tmp.write_text(json.dumps(record, indent=1, allow_nan=False, default=float))
                tmp.replace(rp)
                write_autograded(grading, student, path, result)
                gradebook.record(gb, student, result, collect.timestamp(path))
                summary.graded.append(record)
                flags = f"  flags: {', '.join(result['flags'])}" if result["flags"] else ""
                log(f"[{k + 1}/{total}] {student} {assignment}: {result['score']:g}/"
                    f"{result['max_score']:g} ({details.get('seconds', 0):.1f} s){flags}")
    finally:
        while True:  # on an interruption, let each sandbox finish only what it is doing
            try:
                tasks.get_nowait()
            except queue.Empty:
                break
        for t in threads:
            t.join()
        for w in workers:
            w.close()
    summary.seconds = time.monotonic() - start
    return summary
