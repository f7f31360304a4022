"""nbgrader's gradebook, the store of record: students, submissions and scores.

The grader writes what it found into ``grading/gradebook.db`` (``nbgrader.api.Gradebook``)
the way ``nbgrader autograde`` would: a submission per student and assignment, an
``auto_score`` per test cell (grade id ``test_NAME``) and the test's message as the
``auto_comment`` of the answer cell ``NAME``. Tests of a flagged submission are marked
``needs_manual_grade`` so formgrader lists them for review; a manual score set there
wins over ours, as in nbgrader.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from datetime import datetime, timezone
from pathlib import Path

from .notebook import ROOT, source_notebook, tests_of

# Flags that ask for a person's look at the test they name (or, without a name, at all tests).
REVIEW_FLAGS = ("edited-test-cell", "deleted-test-cell", "stripped-metadata", "uses-reference",
                "forged-events", "patched", "stopped", "no-sandbox", "no-hidden-tests")


def db_url(grading: Path) -> str:
    return "sqlite:///" + str(Path(grading).resolve() / "gradebook.db")


def open_gradebook(grading: Path):
    from nbgrader.api import Gradebook

    bindir = str(Path(sys.executable).parent)  # nbgrader runs `alembic` to create a new database
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    Path(grading).mkdir(parents=True, exist_ok=True)
    return Gradebook(db_url(grading), course_id="deep-rl-course")


def _assignment_ok(gb, assignment: str) -> bool:
    from nbgrader.api import MissingEntry

    try:
        nb = gb.find_notebook(assignment, assignment)
    except MissingEntry:
        return False
    have = {g.name: g.max_score for g in nb.grade_cells}
    want = {t.grade_id: t.points for t in tests_of(source_notebook(assignment))}
    return have == want


def ensure_assignment(grading: Path, assignment: str) -> None:
    """Make sure the gradebook knows ``assignment`` and its grade cells (as ``make release`` does).

    Runs ``nbgrader generate_assignment`` on a temporary copy of the course whose
    database is this gradebook, so lessons/ is not touched.
    """
    with open_gradebook(grading) as gb:
        if _assignment_ok(gb, assignment):
            return
    with tempfile.TemporaryDirectory(prefix="autograder-release-") as tmp:
        shutil.copy(ROOT / "nbgrader_config.py", tmp)
        shutil.copytree(ROOT / "solutions" / assignment, Path(tmp) / "solutions" / assignment)
        (Path(tmp) / "grading").mkdir()
        bindir = str(Path(sys.executable).parent)
        env = {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}
        cmd = [sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--force",
               f"--CourseDirectory.root={tmp}", f"--CourseDirectory.db_url={db_url(grading)}",
               "--log-level=ERROR"]
        proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"nbgrader could not add {assignment} to the gradebook:\n"
                               f"{proc.stdout}\n{proc.stderr}")


def add_students(grading: Path, students: list[str]) -> None:
    with open_gradebook(grading) as gb:
        for s in students:
            gb.update_or_create_student(s)


def needs_review(result: dict, test: str) -> bool:
    for flag in result.get("flags", []):
        kind, _, target = flag.partition(":")
        if kind in REVIEW_FLAGS and (not target or target == test or kind in ("patched", "stopped",
                                                                              "forged-events")):
            return True
    return False


def record(gb, student: str, result: dict, timestamp: datetime | None = None) -> None:
    """Write one graded submission into an open gradebook."""
    from nbgrader.api import MissingEntry

    assignment = result["assignment"]
    gb.update_or_create_student(student)
    ts = timestamp or datetime.now(timezone.utc)
    try:
        sub = gb.find_submission(assignment, student)
        sub.timestamp = ts.replace(tzinfo=None)
    except MissingEntry:
        with warnings.catch_warnings():  # nbgrader 0.9 + SQLAlchemy 2 warn about autoflush here
            warnings.simplefilter("ignore")
            gb.add_submission(assignment, student, timestamp=ts.replace(tzinfo=None))
    for t in result["tests"]:
        try:
            g = gb.find_grade(t["name"], assignment, assignment, student)
        except MissingEntry:
            continue
        g.auto_score = float(t["score"])
        g.needs_manual_grade = needs_review(result, t["name"])
        name = t["name"][5:] if t["name"].startswith("test_") else t["name"]
        try:
            c = gb.find_comment(name, assignment, assignment, student)
            c.auto_comment = f"{t['status']}: {t['message']}"
        except MissingEntry:
            pass
    gb.db.commit()


def scores(grading: Path) -> dict[tuple[str, str], float]:
    """(student, assignment) -> total score, as the gradebook has it (manual scores included)."""
    out = {}
    with open_gradebook(grading) as gb:
        for a in gb.assignments:
            for sub in a.submissions:
                out[(sub.student.id, a.name)] = float(sub.score)
    return out
