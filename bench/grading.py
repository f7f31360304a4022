"""make bench-grading: a class of 30 students x every lesson, graded sandboxed in parallel.

Writes bench/results/grading.json: submissions, wall seconds, seconds per submission,
peak memory of the grader and its sandboxes, where the time goes, and, in the same
run, plain ``nbgrader autograde`` on a sample of 16 of the same submissions for the
per-submission ratio. The class is generated from whatever solutions/ holds now.

    .venv/bin/python bench/grading.py [--students 30] [--sample 16] [--jobs N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fixtures import classgen

from autograder import batch, collect, notebook


class PeakMemory:
    """Peak resident and proportional memory of this process and all its descendants."""

    def __init__(self, interval: float = 0.25):
        self.interval, self.rss, self.pss = interval, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            rss = pss = 0
            try:
                procs = [me] + me.children(recursive=True)
            except psutil.Error:
                procs = [me]
            for p in procs:
                try:
                    info = p.memory_full_info()
                    rss += info.rss
                    pss += getattr(info, "pss", info.rss)
                except psutil.Error:
                    pass
            self.rss, self.pss = max(self.rss, rss), max(self.pss, pss)
            self._stop.wait(self.interval)


def run_autograder(hand_ins: Path, grading: Path, jobs: int | None) -> dict:
    t0 = time.monotonic()
    col = collect.collect(hand_ins, grading)
    collect_s = time.monotonic() - t0
    with PeakMemory() as mem:
        t1 = time.monotonic()
        summary = batch.grade_all(grading, jobs=jobs, log=lambda s: None)
        grade_s = time.monotonic() - t1
    records = summary.graded
    n = len(records)
    full = sum(r["result"]["score"] == r["result"]["max_score"] for r in records)
    sandbox_s = [r.get("seconds", 0.0) for r in records]
    return {
        "submissions": n, "full_marks": full, "workers": summary.workers,
        "wall_seconds": round(collect_s + grade_s, 2), "collect_seconds": round(collect_s, 2),
        "grade_seconds": round(grade_s, 2),
        "seconds_per_submission": round((collect_s + grade_s) / n, 3),
        "sandbox_seconds_per_submission": {"mean": round(statistics.mean(sandbox_s), 3),
                                           "max": round(max(sandbox_s), 3)},
        "peak_rss_mb": round(mem.rss / 2**20), "peak_pss_mb": round(mem.pss / 2**20),
        "collected": len(col.collected), "not_collected": len(col.skipped),
        "flagged": sum(bool(r["result"]["flags"]) for r in records),
    }


def run_nbgrader(sample: list[tuple[str, str, Path]], work: Path) -> dict:
    """Plain nbgrader: generate_assignment (untimed set-up), then autograde, timed."""
    course = work / "nbgrader-course"
    course.mkdir()
    shutil.copy(ROOT / "nbgrader_config.py", course)
    env = {**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]}
    assignments = sorted({a for _, a, _ in sample})
    (course / "grading").mkdir()
    for a in assignments:
        shutil.copytree(ROOT / "solutions" / a, course / "solutions" / a)
        subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", a, "--force",
                        f"--CourseDirectory.root={course}", "--log-level=ERROR"],
                       cwd=course, env=env, check=True, capture_output=True)
    for student, a, path in sample:
        dest = course / "grading" / "submitted" / student / a / f"{a}.ipynb"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, dest)
    per_command = []
    t0 = time.monotonic()
    with PeakMemory() as mem:
        for a in assignments:
            t = time.monotonic()
            proc = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", a, "--force",
                                   f"--CourseDirectory.root={course}", "--log-level=ERROR"],
                                  cwd=course, env=env, capture_output=True, text=True)
            per_command.append({"assignment": a, "submissions": sum(x[1] == a for x in sample),
                                "seconds": round(time.monotonic() - t, 2), "exit_code": proc.returncode})
    wall = time.monotonic() - t0
    full = 0
    from nbgrader.api import Gradebook
    with Gradebook("sqlite:///" + str(course / "grading" / "gradebook.db")) as gb:
        for student, a, _ in sample:
            try:
                sub = gb.find_submission(a, student)
                full += sub.score == sub.max_score
            except Exception:  # noqa: BLE001 - not graded
                pass
    return {"submissions": len(sample), "commands": per_command, "wall_seconds": round(wall, 2),
            "seconds_per_submission": round(wall / len(sample), 3), "full_marks": full,
            "peak_rss_mb": round(mem.rss / 2**20), "peak_pss_mb": round(mem.pss / 2**20)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--students", type=int, default=30)
    ap.add_argument("--sample", type=int, default=16, help="submissions graded by plain nbgrader")
    ap.add_argument("--jobs", type=int, default=None, help="sandboxes (default: cores)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "grading.json"))
    args = ap.parse_args()
    lessons = [a for a in notebook.assignments() if (notebook.LESSONS / a / f"{a}.ipynb").exists()]
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        work = Path(tmp)
        hand_ins = work / "hand-ins"
        t = time.monotonic()
        classgen.make_class(hand_ins, args.students, lessons, ["correct"])
        generate_s = time.monotonic() - t
        print(f"class: {args.students} students x {len(lessons)} lessons ({generate_s:.0f} s to generate)",
              flush=True)
        ours = run_autograder(hand_ins, work / "grading", args.jobs)
        print(f"autograder: {ours['submissions']} submissions in {ours['wall_seconds']} s", flush=True)
        subs = collect.submissions(work / "grading")
        step = max(1, len(subs) // args.sample)
        sample = subs[::step][:args.sample]
        theirs = run_nbgrader(sample, work)
        print(f"nbgrader autograde: {theirs['submissions']} submissions in {theirs['wall_seconds']} s",
              flush=True)
    target = {"submissions": 240, "wall_seconds": 600}
    projected = ours["seconds_per_submission"] * target["submissions"]
    result = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cores": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30),
                    "python": platform.python_version(), "root": os.geteuid() == 0},
        "class": {"students": args.students, "lessons": lessons, "submissions": ours["submissions"]},
        "autograder": ours,
        "nbgrader_autograde": theirs,
        "ratio_nbgrader_per_submission_over_ours": round(theirs["seconds_per_submission"]
                                                         / ours["seconds_per_submission"], 1),
        "target": {**target, "met": ours["submissions"] >= 240 and ours["wall_seconds"] < 600,
                   "projected_wall_seconds_for_240": round(projected, 1)},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    rows = [("", "autograder (sandboxed, parallel)", "nbgrader autograde"),
            ("submissions", ours["submissions"], theirs["submissions"]),
            ("wall seconds", ours["wall_seconds"], theirs["wall_seconds"]),
            ("seconds / submission", ours["seconds_per_submission"], theirs["seconds_per_submission"]),
            ("full marks", ours["full_marks"], theirs["full_marks"]),
            ("peak RSS MiB (sum)", ours["peak_rss_mb"], theirs["peak_rss_mb"]),
            ("peak PSS MiB", ours["peak_pss_mb"], theirs["peak_pss_mb"])]
    for r in rows:
        print(f"| {r[0]:<22} | {r[1]!s:>32} | {r[2]!s:>20} |")
    print(f"ratio per submission: {result['ratio_nbgrader_per_submission_over_ours']}x; "
          f"target 240 in < 600 s: projected {projected:.0f} s -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
