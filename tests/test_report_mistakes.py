"""The instructor's "most common mistakes" report, on a generated class with a known mix."""

from __future__ import annotations

import csv

import pytest
from fixtures import classgen

from autograder import batch
from autograder.collect import collect
from autograder.feedback import write_feedback
from autograder.report import write_report

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("report-mistakes")]
A = "05-policy-gradients"
# 9 students: who made which named mistakes (several in one notebook, and none)
MIX = {
    "ann": "mistake:pg_loss/no_minus",
    "ben": "mistake:pg_loss/no_minus,batch_reward_to_go/dones_ignored",
    "cem": "mistake:pg_loss/no_minus,normalize/ddof1",
    "dia": "mistake:pg_loss/sum",
    "eli": "mistake:batch_reward_to_go/dones_ignored",
    "fay": "mistake:normalize/ddof1,batch_reward_to_go/excludes_rt",
    "gus": "correct",
    "hal": "correct",
    "ivy": "unwritten",
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("class")
    for student, kind in MIX.items():
        classgen.submission(kind, A, base / "hand-ins" / student)
    grading = base / "grading"
    collect(base / "hand-ins", grading)
    summary = batch.grade_all(grading, jobs=2, timeout=60)
    assert len(summary.graded) == len(MIX)
    return grading


def test_grade_json_names_each_students_mistakes(graded):
    records = {r["student"]: r["result"] for r in batch.load_records(graded)}
    for student, kind in MIX.items():
        named = {t["mistake"] for t in records[student]["tests"] if t["mistake"]}
        expected = set(kind.removeprefix("mistake:").split(",")) if kind.startswith("mistake:") else set()
        assert named == expected, (student, records[student]["tests"])


def test_report_counts_each_mistake_exactly_in_csv_and_chart(graded):
    paths = write_report(graded)
    with open(graded / "report-mistakes.csv") as f:
        rows = {r["mistake"]: r for r in csv.DictReader(f)}
    expected = {"pg_loss/no_minus": ["ann", "ben", "cem"], "batch_reward_to_go/dones_ignored": ["ben", "eli"],
                "normalize/ddof1": ["cem", "fay"], "pg_loss/sum": ["dia"],
                "batch_reward_to_go/excludes_rt": ["fay"]}
    assert set(rows) == set(expected)
    for mistake_id, students in expected.items():
        row = rows[mistake_id]
        assert int(row["students"]) == len(students) and row["who"].split() == students
        assert int(row["of"]) == len(MIX) and row["assignment"] == A
    assert rows["pg_loss/no_minus"]["description"] == "forgot the minus sign"
    order = list(rows)  # most common first
    assert order[0] == "pg_loss/no_minus"
    assert (graded / "report-mistakes.png") in paths
    assert (graded / "report-mistakes.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with open(graded / "report-tests.csv") as f:
        ben = [r for r in csv.DictReader(f) if r["student"] == "ben" and r["mistake"]]
    assert sorted(r["mistake"] for r in ben) == ["batch_reward_to_go/dones_ignored", "pg_loss/no_minus"]


def test_feedback_names_the_mistake(graded):
    write_feedback(graded, ["ben"])
    page = (graded / "feedback" / "ben" / A / f"{A}.html").read_text()
    assert "Mistake: forgot the minus sign" in page and "pg_loss/no_minus" in page
    assert "Mistake: summed across episode ends" in page
