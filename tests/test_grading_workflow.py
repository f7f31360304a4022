"""End to end: collect, grade (parallel, resumable), feedback and report on a generated class.

A small class here (make test); bench/grading.py runs 30 students x every lesson.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
from fixtures import classgen

from autograder import batch, gradebook
from autograder.__main__ import main as cli
from autograder.notebook import ROOT, assignments

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("grading-workflow")]  # one sandbox per module
A = "02-trajectories-and-returns"
OTHER = next((a for a in assignments() if a not in ("00-welcome", A)), None)
LESSONS = [A] + ([OTHER] if OTHER else [])
N = len(classgen.KINDS)  # each kind once per lesson


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A class handed in, collected and graded once; the tests below inspect the outcome."""
    base = tmp_path_factory.mktemp("course")
    hand_ins, grading = base / "hand-ins", base / "grading"
    roster = classgen.make_class(hand_ins, N, LESSONS, classgen.KINDS)
    # what real hand-ins look like besides: stray files, odd names, renamed files, LMS zips
    (hand_ins / "README.txt").write_text("submissions of week 2")
    (hand_ins / "loose.ipynb").write_text((hand_ins / "student00" / f"{A}.ipynb").read_text())
    (hand_ins / "student03" / "notes.ipynb").write_text(json.dumps(nbformat.v4.new_notebook()))
    jane = hand_ins / "Jane Doe"
    classgen.submission("correct", A, jane, marker="written by Jane")
    (jane / f"{A}.ipynb").rename(jane / "homework.ipynb")
    nb = nbformat.read(jane / "homework.ipynb", as_version=4)
    nb.cells.insert(0, nbformat.v4.new_markdown_cell('<script>alert("pwned")</script> **bold**'))
    nbformat.write(nb, jane / "homework.ipynb")
    roster[("jane-doe", A)] = "correct"
    canvas = base / "canvas.zip"
    with zipfile.ZipFile(canvas, "w") as z:
        old = classgen.submission("unwritten", A, base / "zoe-old")
        new = classgen.submission("correct", A, base / "zoe-new")
        z.writestr(zipfile.ZipInfo(f"zoe_12345_111_{A}.ipynb", (2026, 1, 1, 10, 0, 0)), old.read_bytes())
        z.writestr(zipfile.ZipInfo(f"zoe_LATE_12345_222_{A}-1.ipynb", (2026, 1, 2, 10, 0, 0)), new.read_bytes())
        z.writestr("__MACOSX/._junk", b"")
    roster[("zoe", A)] = "correct"
    log = []
    for source in (hand_ins, canvas):
        proc = subprocess.run([sys.executable, "-m", "autograder", "--grading", str(grading), "collect",
                               str(source)], capture_output=True, check=False, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr
        log.append(proc.stdout)
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "autograder", "--grading", str(grading), "grade",
                           "--timeout", "15", "--jobs", "2"], capture_output=True, check=False, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    return {"roster": roster, "grading": grading, "collect": "\n".join(log), "grade": proc.stdout,
            "hand_ins": hand_ins, "seconds": time.monotonic() - start}


def test_collect_reports_every_file_it_did_not_take(course):
    text = course["collect"]
    skipped = {ln.split("NOT COLLECTED ", 1)[1].split(": ", 1)[0]: ln.split(": ", 1)[1]
               for ln in text.splitlines() if "NOT COLLECTED" in ln}
    assert set(skipped) == {"README.txt", "loose.ipynb", "student03/notes.ipynb", "__MACOSX/._junk",
                            f"zoe_12345_111_{A}.ipynb"}, text
    assert skipped["README.txt"] == "not a notebook (.txt)"
    assert skipped["loose.ipynb"].startswith("no student")
    assert skipped["student03/notes.ipynb"].startswith("not a course notebook")
    assert skipped["__MACOSX/._junk"].startswith("system file")
    assert skipped[f"zoe_12345_111_{A}.ipynb"].startswith("older duplicate")
    assert "renamed to 'jane-doe'" in text and "assignment taken from the notebook's metadata" in text
    unreadable = [k for k, v in course["roster"].items() if v == "unreadable"]
    assert text.count("it will be graded 0") == len(unreadable)
    submitted = {(s.name, a.name) for s in (course["grading"] / "submitted").iterdir() for a in s.iterdir()}
    assert submitted == set(course["roster"])


def _records(course) -> dict[tuple[str, str], dict]:
    return {(r["student"], r["assignment"]): r for r in batch.load_records(course["grading"])}


def test_every_submission_graded_with_the_outcome_its_kind_deserves(course):
    records = _records(course)
    assert set(records) == set(course["roster"])
    for (student, assignment), kind in course["roster"].items():
        r = records[(student, assignment)]["result"]
        where = (student, assignment, kind, r["flags"], r["tests"][0]["message"])
        full = r["score"] == r["max_score"]
        if kind == "correct":
            assert full and r["flags"] == [], where
        elif kind == "patched":
            assert full and any(f.startswith("patched:numpy.allclose") for f in r["flags"]), where
        elif kind == "partial":
            assert 0 < r["score"] < r["max_score"], where
        elif kind == "unwritten":
            assert r["score"] == 0 and r["flags"] == [], where
        elif kind == "unreadable":
            assert r["score"] == 0 and r["flags"] == ["unreadable"], where
            assert {t["status"] for t in r["tests"]} == {"not-run"}, where
        elif kind == "loop":
            assert r["score"] == 0 and "stopped:timeout" in r["flags"], where
        elif kind == "fork-bomb":
            assert r["score"] == 0 and "stopped:processes" in r["flags"], where
        elif kind == "os-exit":
            assert r["score"] == 0 and "stopped:crashed" in r["flags"], where
        elif kind == "deleted-test":
            first = r["tests"][0]
            assert first["status"] == "not-run" and f"deleted-test-cell:{first['name']}" in r["flags"], where
            assert r["score"] == r["max_score"] - first["max_score"], where
        else:
            raise AssertionError(kind)
        for t in r["tests"]:
            assert t["status"] in ("passed", "failed", "error", "timeout", "not-run") and t["message"]


def test_gradebook_holds_the_same_scores(course):
    book = gradebook.scores(course["grading"])
    for key, rec in _records(course).items():
        assert book[key] == rec["result"]["score"], key
    for student, assignment in course["roster"]:
        assert (course["grading"] / "autograded" / student / assignment / f"{assignment}.ipynb").exists()


def test_regrading_only_grades_what_changed(course, capsys):
    grading = course["grading"]
    assert cli(["--grading", str(grading), "grade", "--timeout", "15"]) == 0
    assert "graded 0 submissions" in capsys.readouterr().out
    fixed = course["hand_ins"].parent / "resubmit" / "student02"
    classgen.submission("correct", A, fixed)
    assert cli(["--grading", str(grading), "collect", str(fixed.parent)]) == 0
    assert cli(["--grading", str(grading), "grade", "--timeout", "15"]) == 0
    out = capsys.readouterr().out
    assert "graded 1 submissions" in out and f"student02 {A}: 8/8" in out
    assert _records(course)[("student02", A)]["result"]["score"] == 8


def test_feedback_shows_the_students_code_and_results_never_hidden_tests(course):
    grading = course["grading"]
    assert cli(["--grading", str(grading), "feedback"]) == 0
    hidden_source = (ROOT / "autograder" / "hidden" / "lesson02.py").read_text()
    secret_lines = [ln.strip() for ln in hidden_source.splitlines() if len(ln.strip()) > 30][:40]
    pages = sorted((grading / "feedback").glob("*/*/*.html"))
    assert len(pages) == len(course["roster"])
    for page in pages:
        html = page.read_text()
        student = page.parent.parent.name
        for marker in ("run_hidden", "BEGIN HIDDEN", "@exercise"):
            assert marker not in html, (page, marker)
        assert not any(line in html for line in secret_lines), page
        if student.startswith("student") and course["roster"][(student, page.parent.name)] in ("correct", "partial"):
            assert f"written by {student}" in html
            assert "written by student" not in html.replace(f"written by {student}", "")
        assert "passed" in html or "error" in html or "not-run" in html
    jane = (grading / "feedback" / "jane-doe" / A / f"{A}.html").read_text()
    assert "<script>alert" not in jane and "&lt;script&gt;alert" in jane


def test_report_csv_and_png(course):
    grading = course["grading"]
    assert cli(["--grading", str(grading), "report"]) == 0
    with open(grading / "report.csv") as f:
        rows = list(csv.DictReader(f))
    students = sorted({s for s, _ in course["roster"]})
    assert [r["student"] for r in rows] == students
    by = {r["student"]: r for r in rows}
    for (student, assignment), kind in course["roster"].items():
        flags = by[student]["flags"]
        if kind in ("loop", "fork-bomb", "os-exit", "patched", "deleted-test", "unreadable"):
            assert assignment in flags, (student, kind, flags)
        rec = _records(course)[(student, assignment)]["result"]
        assert float(by[student][f"{assignment}/total"]) == rec["score"]
        for t in rec["tests"]:
            assert float(by[student][f"{assignment}/{t['name']}"]) == t["score"]
    with open(grading / "report-tests.csv") as f:
        assert len(list(csv.DictReader(f))) == sum(len(r["result"]["tests"]) for r in batch.load_records(grading))
    assert (grading / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_grading_output_lists_each_submission(course):
    out = course["grade"]
    assert out.count("/") >= len(course["roster"])
    assert f"graded {len(course['roster'])} submissions" in out and "on 2 sandboxes" in out


def test_no_sandbox_stops_with_a_clear_error_when_bwrap_is_missing(course, tmp_path):
    env = {**os.environ, "PATH": "/nonexistent"}
    grading = tmp_path / "g"
    (grading / "submitted" / "x" / A).mkdir(parents=True)
    (grading / "submitted" / "x" / A / f"{A}.ipynb").write_bytes(
        (course["grading"] / "submitted" / "student00" / A / f"{A}.ipynb").read_bytes())
    proc = subprocess.run([sys.executable, "-m", "autograder", "--grading", str(grading), "grade"],
                          capture_output=True, check=False, text=True, env=env, timeout=600)
    assert proc.returncode == 3
    assert "bubblewrap" in proc.stderr and "--no-sandbox" in proc.stderr
    assert not (grading / "results").exists()


def test_a_longer_time_limit_regrades_what_the_limit_stopped(course, capsys):
    grading = course["grading"]
    stopped = sum(1 for r in batch.load_records(grading) if "stopped:timeout" in r["result"]["flags"])
    assert stopped > 0
    assert cli(["--grading", str(grading), "grade", "--timeout", "16"]) == 0
    assert f"graded {stopped} submissions" in capsys.readouterr().out


def test_a_zip_with_one_wrapping_folder(tmp_path):
    from autograder.collect import collect

    hand_ins = tmp_path / "week2"
    classgen.submission("correct", A, hand_ins / "ann")
    classgen.submission("correct", A, hand_ins / "ben")
    z = tmp_path / "export.zip"
    with zipfile.ZipFile(z, "w") as f:
        for p in hand_ins.rglob("*.ipynb"):
            f.write(p, Path("export") / p.relative_to(tmp_path))
    col = collect(z, tmp_path / "grading")
    assert sorted((i.student, i.assignment) for i in col.collected) == [("ann", A), ("ben", A)]
    assert col.skipped == []
