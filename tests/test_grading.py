"""The real grader on every lesson: filled-in notebooks earn full marks, released ones zero."""

from __future__ import annotations

import json
import subprocess
import sys

import gradelib
import nbformat
import pytest
from fixtures import sandboxes
from gradelib import grade

from autograder import notebook as nbmod
from autograder.notebook import assignments

ASSIGNMENTS = assignments()
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("grading")]  # one sandbox per module


worker = pytest.fixture(scope="module")(sandboxes.worker)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_filled_in_lesson_earns_full_marks(worker, assignment, tmp_path):
    result = grade(gradelib.filled_in(assignment, tmp_path), worker=worker)
    assert result["assignment"] == assignment
    assert result["score"] == result["max_score"], result
    assert all(t["status"] == "passed" for t in result["tests"]), result
    assert result["flags"] == []


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_released_lesson_earns_zero_with_a_message_per_test(worker, assignment):
    result = grade(gradelib.lesson_path(assignment), worker=worker)
    expected = nbmod.tests_of(nbmod.source_notebook(assignment))
    assert [t["name"] for t in result["tests"]] == [t.grade_id for t in expected]
    assert result["score"] == 0
    for t in result["tests"]:
        assert t["status"] in ("error", "failed") and t["message"], t
    assert result["flags"] == []


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solutions_notebook_is_not_flagged_as_tampered(worker, assignment):
    """The instructor's own notebook (hidden tests in its test cells) grades clean."""
    result = grade(gradelib.solutions_path(assignment), worker=worker)
    assert result["score"] == result["max_score"] and result["flags"] == [], result


def test_command_line_prints_the_json_contract(tmp_path):
    path = gradelib.filled_in("02-trajectories-and-returns", tmp_path)
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", str(path), "--json"],
                          capture_output=True, check=False, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert set(result) == {"assignment", "score", "max_score", "tests", "flags"}
    assert set(result["tests"][0]) == {"name", "score", "max_score", "status", "message", "mistake"}
    assert result["score"] == result["max_score"] == 8


def test_command_line_refuses_what_is_not_a_course_notebook(tmp_path):
    bad = tmp_path / "notes.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), bad)
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", str(bad)],
                          capture_output=True, check=False, text=True, timeout=600)
    assert proc.returncode == 2
    assert proc.stderr.startswith("cannot grade:") and "not a course notebook" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_renamed_file_grades_by_its_metadata(worker, tmp_path):
    path = gradelib.filled_in("02-trajectories-and-returns", tmp_path)
    renamed = tmp_path / "my homework (final).ipynb"
    path.rename(renamed)
    result = grade(renamed, worker=worker)
    assert result["assignment"] == "02-trajectories-and-returns" and result["score"] == 8


def test_a_test_without_hidden_spec_is_an_error_not_a_pass(worker, tmp_path, monkeypatch):
    from autograder import hidden

    real = hidden.cases_for

    def no_spec_for_rollout(name, rng):
        if name == "rollout":
            raise KeyError(name)
        return real(name, rng)

    monkeypatch.setattr(hidden, "cases_for", no_spec_for_rollout)
    result = grade(gradelib.filled_in("02-trajectories-and-returns", tmp_path), worker=worker)
    by = {t["name"]: t for t in result["tests"]}
    assert by["test_rollout"]["status"] == "error" and "no hidden tests" in by["test_rollout"]["message"]
    assert result["score"] == result["max_score"] - 2 and "no-hidden-tests:test_rollout" in result["flags"]
