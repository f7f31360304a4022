"""Grade one submission: plan its cells, run them and the probes in the sandbox, judge here.

Result (docs/contract.md): {"assignment", "score", "max_score",
"tests": [{"name", "score", "max_score", "status", "message", "mistake"}], "flags": [...]}
with status one of passed, failed, error, timeout, not-run, and ``mistake`` the catalog id
of the named mistake a failed test matched (``"dqn_targets/no_done_mask"``) or None.
"""

from __future__ import annotations

import json
import re
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import hidden, notebook, sandbox
from .notebook import GradeError

STATUSES = ("passed", "failed", "error", "timeout", "not-run")
# rlcore functions that do an exercise's job under another name (watched like the exercises;
# not private helpers such as rlcore.values._backup, which the references themselves call)
REFERENCE_ALIASES = {"sample_categorical": "categorical_sample"}


def _lesson_tools(source: object) -> set[str]:
    """The names the instructor's notebook imports from rlcore (``from rlcore... import a, b``)."""
    names: set[str] = set()
    for cell in getattr(source, "cells", []):
        if cell.get("cell_type") != "code":
            continue
        for m in re.finditer(r"^\s*from\s+rlcore[\w.]*\s+import\s+(\([^)]*\)|[^\n#]+)", cell.get("source", ""),
                             re.MULTILINE):
            for part in m.group(1).strip("()").replace("\n", " ").split(","):
                words = part.split()
                if words:
                    names.add(words[-1])  # `x as y`: allow both names
                    names.add(words[0])
    return names


def build_job(path: Path, seed: int | None = None, timeout: float = 120.0) -> tuple[dict, dict, dict]:
    """Read a submission; return the sandbox's job (cells), its probes (phase 2) and the judge's context."""
    nb = notebook.read(path)
    assignment = notebook.find_assignment(nb, path)
    source = notebook.source_notebook(assignment)
    released = notebook.released_notebook(assignment)
    plan = notebook.plan(nb, released, source)
    meta = nb.metadata.get("course", {}) if isinstance(nb.metadata, dict) else {}
    if not isinstance(meta, dict) or meta.get("assignment") != assignment:
        plan.flags.insert(0, "assignment-metadata:" + ("missing" if not isinstance(meta, dict) or
                                                         "assignment" not in meta else "changed"))
    seed = seed if seed is not None else secrets.randbits(63)
    rng = np.random.default_rng(seed)
    tests, job_tests = [], []
    for t in notebook.tests_of(source):
        try:
            cases = hidden.cases_for(t.name, rng)
        except KeyError:
            cases = None
        tests.append((t, cases))
        if cases:
            job_tests.append({"test": t.grade_id, "name": t.name,
                              "cases": [{"probe": c.probe, "payload": c.payload} for c in cases]})
    # The tripwires watch rlcore's reference of EVERY exercise of the course (and its aliases):
    # finite_horizon_return = discounted_return(r, 1.0) is caught too. A test may call what the
    # lesson imports for the learner (tools) and the helpers its probes swap in, never itself.
    tools = _lesson_tools(source)
    allowed = {t.name: sorted((tools | {h for c in cases or [] for h in c.payload.get("reference_helpers", {})})
                              - {t.name})
               for t, cases in tests}
    job = {"cells": plan.cells, "names": [t.name for t, _ in tests],
           "watch": sorted(set(hidden.load_all()) | set(REFERENCE_ALIASES)), "allowed": allowed}
    phase2 = {"tests": job_tests, "case_timeout": max(1, int(min(30.0, timeout / 4)))}
    context = {"assignment": assignment, "tests": tests, "plan": plan, "seed": seed}
    return job, phase2, context


def _cell_where(events: list[dict], plan: notebook.Plan) -> str:
    started = [e.get("index") for e in events if e.get("event") == "cell_start"]
    finished = {e.get("index") for e in events if e.get("event") == "cell" and isinstance(e.get("index"), int)}
    if started and started[-1] not in finished and isinstance(started[-1], int) \
            and 0 <= started[-1] < len(plan.labels):
        return f" while running {plan.labels[started[-1]]}"
    if any(e.get("event") == "cells_done" for e in events):
        return " while the hidden tests ran"
    return ""


@dataclass
class Observed:
    """What the sandbox reported, after checking each event's nonce."""

    cases: dict[str, dict[int, dict]] = field(default_factory=dict)
    duplicates: set[tuple[str, int]] = field(default_factory=set)
    missing: dict[str, str] = field(default_factory=dict)
    reference: dict[str, str] = field(default_factory=dict)
    patched: list[str] = field(default_factory=list)
    cell_errors: dict[int, str] = field(default_factory=dict)
    forged: int = 0


def observe(run: sandbox.RunResult) -> Observed:
    """Sort the events; count those not from the grader's runner (wrong or missing nonce)."""
    o = Observed(forged=run.bad_lines)
    cells_done = 0
    for ev in run.events:
        kind = ev.get("event")
        if kind in ("cell_start", "limit", "test_time"):
            continue
        if kind == "cell":
            if ev.get("error") and isinstance(ev.get("index"), int):
                o.cell_errors.setdefault(ev["index"], str(ev["error"])[:400])
            continue
        if kind == "cells_done":
            cells_done += 1
            continue
        if not run.nonce or ev.get("n") != run.nonce:
            o.forged += 1
            continue
        test = str(ev.get("test"))
        if kind == "case" and isinstance(ev.get("i"), int):
            if ev["i"] in o.cases.setdefault(test, {}):
                o.duplicates.add((test, ev["i"]))
            o.cases[test][ev["i"]] = ev
        elif kind == "missing":
            o.missing[test] = str(ev.get("name"))
        elif kind == "reference":
            o.reference.setdefault(test, str(ev.get("module")))
        elif kind == "patched" and isinstance(ev.get("names"), list):
            o.patched += [str(n) for n in ev["names"]]
    o.forged += max(0, cells_done - 1)
    return o


def judge(context: dict, run: sandbox.RunResult) -> dict:
    """Turn the sandbox's observations into scores and messages."""
    plan: notebook.Plan = context["plan"]
    flags = list(plan.flags)
    o = observe(run)
    if o.patched:
        flags.append("patched:" + ",".join(o.patched)[:200])
    if run.ended != "done":
        flags.append(f"stopped:{run.ended}")
    if o.forged or o.duplicates:
        flags.append("forged-events")
    where = _cell_where(run.events, plan)
    results = []
    for t, cases in context["tests"]:
        status, message, mistake = _judge_test(t, cases, o, plan, run, where)
        if t.grade_id in plan.deleted_tests:
            passed = status == "passed"
            status, message = "not-run", (
                f"The test cell `{t.grade_id}` was deleted from your notebook, so this test earns no "
                "marks. Copy the cell back from the released lesson and hand the notebook in again."
                + (f" (Your `{t.name}` passed the hidden checks.)" if passed else f" ({message})"))
        if t.grade_id in o.reference:
            flags.append(f"uses-reference:{t.grade_id}")
        if cases is None:
            flags.append(f"no-hidden-tests:{t.grade_id}")
        results.append({"name": t.grade_id, "score": t.points if status == "passed" else 0.0,
                        "max_score": t.points, "status": status, "message": message,
                        "mistake": mistake if status == "failed" else None})
    return {"assignment": context["assignment"], "score": sum(r["score"] for r in results),
            "max_score": sum(r["max_score"] for r in results), "tests": results,
            "flags": sorted(set(flags), key=flags.index)}


def _judge_test(t, cases, o: Observed, plan: notebook.Plan, run: sandbox.RunResult,
                where: str) -> tuple[str, str, str | None]:
    name, gid = t.name, t.grade_id
    if cases is None:
        return "error", (f"The grader has no hidden tests for `{name}` (instructor: add its spec to "
                         "autograder/hidden/); it was not graded."), None
    if gid in o.missing:
        hint = ""
        for i, err in sorted(o.cell_errors.items()):
            if i < len(plan.labels):
                hint = f" (the notebook raised {err} in {plan.labels[i]})"
                break
        return "error", (f"`{name}` is not defined when the notebook runs: keep the cell that defines "
                         f"it, with its name unchanged{hint}."), None
    if gid in o.reference:
        return "failed", (f"`{name}` uses rlcore's reference implementation ({o.reference[gid]}) "
                          "instead of your own code."), None
    got = o.cases.get(gid, {})
    if len(got) < len(cases):
        if run.ended == "timeout":
            return "timeout", f"Not run: the notebook {run.detail}{where}. Look for an endless loop.", None
        if run.ended in ("memory", "processes", "worker"):
            return "error", f"Not run: the notebook {run.detail}{where} and was stopped.", None
        if run.ended == "crashed":
            return "not-run", f"Not run: {run.detail}{where}.", None
        return "not-run", ("Not run: the grader received no result for this test (the notebook "
                           f"stopped early{where})."), None
    for k, case in enumerate(cases):
        ev = got[k]
        call = case.call or name
        if (gid, k) in o.duplicates:
            return "failed", (f"The grader received two results for the same check of `{name}`: "
                              "something in the notebook wrote to the grader's channel."), None
        if "skipped" in ev:
            return "not-run", f"{call} was not run (an earlier check of `{name}` stopped).", None
        if "timeout" in ev:
            return "timeout", f"{call} did not return within {ev['timeout']} s (an endless loop?).", None
        if "error" in ev:
            return "error", f"{call} raised {ev['error']}", None
        try:
            hidden.judge_case(name, case, ev.get("obs"))
        except hidden.Mistake as e:
            return "failed", str(e), e.id
        except Exception as e:  # noqa: BLE001 - a malformed observation is the student's failure
            return "failed", (f"{call} returned something the test could not read "
                              f"({type(e).__name__}: {str(e)[:160]})."), None
    return "passed", f"{len(cases)} hidden checks passed.", None


def grade(path: str | Path, use_sandbox: bool = True, timeout: float = 120.0, memory_mb: int = 2048,
          seed: int | None = None, worker: sandbox.Worker | None = None,
          details: dict | None = None) -> dict:
    """Grade the notebook at ``path``; raise GradeError if it is not a gradable course notebook.

    ``worker``: the sandbox to use (default: one kept for this thread). ``details``, if
    given, receives the seed, the run's seconds and peak memory, and how it ended.
    """
    path = Path(path)
    job, phase2, context = build_job(path, seed, timeout)
    w = worker or sandbox.default_worker(use_sandbox)
    run = w.run(job, phase2, timeout=timeout, memory_mb=memory_mb)
    result = judge(context, run)
    if not w.sandbox:
        result["flags"].append("no-sandbox")
    if details is not None:
        details.update(seed=context["seed"], seconds=round(run.seconds, 3),
                       peak_rss_mb=run.peak_rss_mb, ended=run.ended)
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
            if t.get("mistake"):
                lines.append(f"      (mistake: {t['mistake']})")
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


