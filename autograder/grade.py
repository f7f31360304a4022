"""Grade one submission: plan its cells, run them and the probes in the sandbox, judge here.

Result (COURSE.md): {"assignment", "score", "max_score",
"tests": [{"name", "score", "max_score", "status", "message"}], "flags": [...]}
with status one of passed, failed, error, timeout, not-run.
"""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path


import numpy as np

from . import hidden, notebook, sandbox
from .notebook import GradeError

STATUSES = ("passed", "failed", "error", "timeout", "not-run")


def build_job(path: Path, seed: int | None = None) -> tuple[dict, dict]:
    """Read a submission and prepare the sandbox job and the judge's context."""
    nb = notebook.read(path)
    assignment = notebook.find_assignment(nb, path)
    source = notebook.source_notebook(assignment)
    released = notebook.released_notebook(assignment)
    plan = notebook.plan(nb, released)
    rng = np.random.default_rng(seed if seed is not None else secrets.randbits(64))
    tests, job_tests = [], []
    for t in notebook.tests_of(source):
        cases = hidden.cases_for(t.name, rng)
        tests.append((t, cases))
        job_tests.append({"test": t.grade_id, "name": t.name,
                          "cases": [{"probe": c.probe, "payload": c.payload} for c in cases]})
    job = {"cells": plan.cells, "tests": job_tests, "case_timeout": 30}
    context = {"assignment": assignment, "tests": tests, "plan": plan}
    return job, context


def _cell_where(events: list[dict], plan: notebook.Plan) -> str:
    started = [e["index"] for e in events if e.get("event") == "cell_start"]
    finished = {e["index"] for e in events if e.get("event") == "cell"}
    if started and started[-1] not in finished:
        return f" while running {plan.labels[started[-1]]}"
    if len(finished) == len(plan.cells):
        return " while running the hidden tests"
    return ""


def judge(context: dict, run: sandbox.RunResult) -> dict:
    """Turn the sandbox's observations into scores and messages."""
    plan: notebook.Plan = context["plan"]
    flags = list(plan.flags)
    by_test: dict[str, dict[int, dict]] = {}
    missing, reference = {}, {}
    for ev in run.events:
        kind = ev.get("event")
        if kind == "case" and isinstance(ev.get("i"), int):
            by_test.setdefault(str(ev.get("test")), {})[ev["i"]] = ev
        elif kind == "missing":
            missing[ev.get("test")] = ev.get("name")
        elif kind == "reference":
            reference[ev.get("test")] = ev.get("module")
        elif kind == "patched" and ev.get("names"):
            flags.append("patched:" + ",".join(map(str, ev["names"]))[:200])
    cell_errors = {e["index"]: e["error"] for e in run.events
                   if e.get("event") == "cell" and e.get("error")}
    if run.ended != "done":
        flags.append(f"stopped:{run.ended}")
    where = _cell_where(run.events, plan)
    results = []
    for t, cases in context["tests"]:
        entry = {"name": t.grade_id, "score": 0.0, "max_score": t.points}
        got = by_test.get(t.grade_id, {})
        status, message = _judge_test(t, cases, got, missing, reference, cell_errors, plan, run, where)
        entry["status"], entry["message"] = status, message
        if status == "passed":
            entry["score"] = t.points
        results.append(entry)
    for test_id, module in reference.items():
        flags.append(f"uses-reference:{test_id}")
    score = sum(r["score"] for r in results)
    return {"assignment": context["assignment"], "score": score,
            "max_score": sum(r["max_score"] for r in results), "tests": results,
            "flags": sorted(set(flags), key=flags.index)}


def _judge_test(t, cases, got, missing, reference, cell_errors, plan, run, where) -> tuple[str, str]:
    name = t.name
    if t.grade_id in missing:
        hint = ""
        for i, err in cell_errors.items():
            hint = f" (the notebook raised {err} in {plan.labels[i]})"
            break
        return "error", (f"`{name}` is not defined when the notebook runs: keep the cell that defines "
                         f"it, with its name unchanged{hint}.")
    if t.grade_id in reference:
        return "failed", (f"`{name}` is rlcore's reference implementation ({reference[t.grade_id]}), "
                          "not your own code.")
    if len(got) < len(cases):
        if run.ended == "timeout":
            return "timeout", f"not run: the notebook {run.detail}{where}."
        if run.ended in ("memory", "processes"):
            return "error", f"not run: the notebook {run.detail}{where} and was stopped."
        if run.ended == "crashed":
            return "not-run", f"not run: {run.detail}{where}."
        return "not-run", "not run: the grader received no result for this test."
    for k, case in enumerate(cases):
        ev = got[k]
        if "timeout" in ev:
            return "timeout", f"{case.call or name} did not return within {ev['timeout']} s (an endless loop?)."
        if "error" in ev:
            return "error", f"{case.call or name} raised {ev['error']}"
        try:
            case.judge(ev.get("obs"))
        except hidden.Mistake as e:
            return "failed", str(e)
        except Exception as e:  # noqa: BLE001 - a malformed observation is the student's failure
            return "failed", (f"{case.call or name} returned something the test could not read "
                              f"({type(e).__name__}: {str(e)[:160]}).")
    return "passed", f"{len(cases)} hidden checks passed."


def grade(path: str | Path, use_sandbox: bool = True, timeout: float = 120.0, memory_mb: int = 2048,
          seed: int | None = None) -> dict:
    """Grade the notebook at ``path``; raise GradeError if it is not a gradable course notebook."""
    path = Path(path)
    job, context = build_job(path, seed)
    if use_sandbox:
        sandbox.check_sandbox()
    run = sandbox.run_job(job, sandbox=use_sandbox, timeout=timeout, memory_mb=memory_mb)
    result = judge(context, run)
    if not use_sandbox:
        result["flags"].append("no-sandbox")
    return result


def summary(result: dict) -> str:
    """Human-readable: N passed, N failed per exercise, with messages."""
    lines = [f"{result['assignment']}: score {result['score']:g} / {result['max_score']:g}"]
    counts = {s: 0 for s in STATUSES}
    for t in result["tests"]:
        counts[t["status"]] += 1
        mark = "\u2713" if t["status"] == "passed" else "\u2717"
        lines.append(f"  {mark} {t['name']} [{t['status']}] {t['score']:g}/{t['max_score']:g}")
        if t["status"] != "passed":
            lines.append("      " + t["message"])
    lines.append(", ".join(f"{n} {s}" for s, n in counts.items() if n or s in ("passed", "failed")))
    if result["flags"]:
        lines.append("flags: " + ", ".join(result["flags"]))
    return "\n".join(lines)


def dumps(result: dict) -> str:
    return json.dumps(result, indent=2, allow_nan=False, default=float)


def main_grade(path: str, as_json: bool, use_sandbox: bool, timeout: float, memory_mb: int) -> int:
    try:
        result = grade(path, use_sandbox=use_sandbox, timeout=timeout, memory_mb=memory_mb)
    except GradeError as e:
        print(f"cannot grade: {e}", file=sys.stderr)
        return 2
    except sandbox.SandboxUnavailable as e:
        print(f"cannot grade: {e}", file=sys.stderr)
        return 3
    print(dumps(result) if as_json else summary(result))
    return 0


