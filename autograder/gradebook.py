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
    gb = Gradebook(db_url(grading), course_id="deep-rl-course")
    # No fsync per commit (nbgrader commits several times per submission): a crash of the
    # grader cannot corrupt the database, a power cut could; grading/results/ can rebuild it.
    from sqlalchemy import text
    gb.db.execute(text("PRAGMA synchronous=OFF"))
    return gb


def _assignment_ok(gb, assignment: str) -> bool:
    from nbgrader.api import MissingEntry

    try:
        nb = gb.find_notebook(assignment, assignment)
    except MissingEntry:
        return False
    have = {g.name: g.max_score for g in nb.grade_cells}
    want = {t.grade_id: t.points for t in tests_of(source_notebook(assignment))}
    return have == want


def missing_assignments(grading: Path, names: list[str]) -> list[str]:
    """The assignments the gradebook does not know yet (or knows with other test cells)."""
    with open_gradebook(grading) as gb:
        return [a for a in names if not _assignment_ok(gb, a)]


def ensure_assignments(grading: Path, names: list[str]) -> subprocess.Popen | None:
    """Start adding the missing assignments to the gradebook, as ``make release`` does.

    Runs nbgrader's own ``generate_assignment`` (one process for all of them) on a
    temporary copy of the course whose database is this gradebook, so lessons/ is not
    touched. Returns the running process (``finish_ensure`` waits for it), or None.
    """
    missing = missing_assignments(grading, names)
    if not missing:
        return None
    tmp = tempfile.mkdtemp(prefix="autograder-release-")
    shutil.copy(ROOT / "nbgrader_config.py", tmp)
    for a in missing:
        shutil.copytree(ROOT / "solutions" / a, Path(tmp) / "solutions" / a)
    (Path(tmp) / "grading").mkdir()
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}
    proc = subprocess.Popen([sys.executable, "-m", "autograder.gradebook", tmp, db_url(grading)] + missing,
                            cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    proc.tmp = tmp  # type: ignore[attr-defined]
    return proc


def finish_ensure(proc: subprocess.Popen | None) -> None:
    if proc is None:
        return
    out, _ = proc.communicate()
    shutil.rmtree(proc.tmp, ignore_errors=True)  # type: ignore[attr-defined]
    if proc.returncode != 0:
        raise RuntimeError(f"nbgrader could not add the assignments to the gradebook:\n{out}")


def ensure_assignment(grading: Path, assignment: str) -> None:
    finish_ensure(ensure_assignments(grading, [assignment]))


def _generate(root: str, url: str, names: list[str]) -> int:
    """In a course copy at ``root``: nbgrader generate_assignment for ``names`` into ``url``."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    cfg = PyFileConfigLoader("nbgrader_config.py", path=root).load_config()
    cfg.CourseDirectory.root = root
    cfg.CourseDirectory.db_url = url
    cfg.Application.log_level = "ERROR"
    api = NbGraderAPI(CourseDirectory(config=cfg), config=cfg)
    failed = 0
    for a in names:
        r = api.generate_assignment(a, force=True)
        if not r["success"]:
            print(f"{a}: {r.get('error') or r.get('log')}")
            failed += 1
    return 1 if failed else 0


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
        name = t["name"].removeprefix("test_")
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


if __name__ == "__main__":
    sys.exit(_generate(sys.argv[1], sys.argv[2], sys.argv[3:]))
