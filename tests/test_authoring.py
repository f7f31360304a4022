"""Adding a lesson is what docs/authoring.md says: a throwaway lesson, built from the template in a
copy of the course, is found by the release, the grader, the report, the docs and the contract
tests without editing any list; a lesson missing a part is reported by name."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys

import nbformat
import pytest
from gradelib import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("authoring")]
NEW = "10-throwaway-lesson"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A copy of the course (its tracked files) with the template lesson added and released."""
    base = tmp_path_factory.mktemp("course") / "course"
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    for rel in files:
        if rel.startswith(("rlcore/", "autograder/", "solutions/", "lessons/", "tests/", "tools/", "docs/")) \
                or rel in ("nbgrader_config.py", "pyproject.toml"):
            (base / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, base / rel)
    env = {**os.environ, "PYTHONPATH": str(base)}  # the copy's rlcore and autograder, not ours

    def run(*args, check=True, timeout=600):
        proc = subprocess.run([sys.executable, *args], cwd=base, env=env, capture_output=True,
                              text=True, timeout=timeout, check=False)
        if check:
            assert proc.returncode == 0, f"{args}: {proc.stdout}\n{proc.stderr}"
        return proc

    out = run("tools/new_lesson.py", NEW).stdout
    assert "wrote rlcore/catalog/lesson10.py" in out
    run("-m", "autograder", "release", NEW)
    run("tools/exercises_doc.py")
    return {"base": base, "run": run}


def _hand_in(course, answer: str, folder: str, into: str = "hand-ins"):
    base = course["base"]
    nb = nbformat.read(base / "lessons" / NEW / f"{NEW}.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "double":
            cell.source = answer
    path = base / into / folder / f"{NEW}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


RIGHT = "def double(x):\n    return 2 * np.asarray(x, dtype=float)\n"
WRONG = "def double(x):\n    return np.asarray(x, dtype=float) ** 2\n"


def test_the_new_lesson_is_released_and_listed(course):
    base = course["base"]
    text = (base / "lessons" / NEW / f"{NEW}.ipynb").read_text()
    assert "def double(x)" in text and "BEGIN SOLUTION" not in text
    assert f"{NEW}: complete" in course["run"]("-m", "autograder", "lessons", check=False).stdout
    assert "`double/square`" in (base / "docs" / "exercises.md").read_text()


def test_the_grader_grades_it_and_names_the_catalogued_mistake(course):
    right = course["run"]("-m", "autograder", "grade", str(_hand_in(course, RIGHT, "ann")), "--json")
    result = json.loads(right.stdout)
    assert result["assignment"] == NEW and result["score"] == result["max_score"] == 1
    wrong = json.loads(course["run"]("-m", "autograder", "grade", str(_hand_in(course, WRONG, "ben")),
                                     "--json").stdout)
    assert wrong["score"] == 0 and wrong["tests"][0]["mistake"] == "double/square"
    assert "you squared x" in wrong["tests"][0]["message"]


def test_the_report_counts_its_mistakes(course):
    base, run = course["base"], course["run"]
    # a class of its own: the hand-ins of the other tests (which may run first or not) stay out of it
    _hand_in(course, RIGHT, "cat", into="class-hand-ins")
    _hand_in(course, WRONG, "dan", into="class-hand-ins")
    grading = base / "grading"
    run("-m", "autograder", "--grading", str(grading), "collect", str(base / "class-hand-ins"))
    run("-m", "autograder", "--grading", str(grading), "grade", "--jobs", "1")
    run("-m", "autograder", "--grading", str(grading), "report")
    with open(grading / "report-mistakes.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["mistake"], r["students"], r["of"]) for r in rows] == [("double/square", "1", "2")]


def test_the_contract_tests_find_it(course):
    proc = course["run"]("-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not slow",
                         "tests/test_lesson_contract.py",
                         "tests/test_docs.py", "-k", "double or throwaway or docs", check=False,
                         timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "double/square" in proc.stdout or " passed" in proc.stdout
    collected = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                                "tests/test_lesson_contract.py", "-k", "throwaway or double"],
                               cwd=course["base"], env={**os.environ, "PYTHONPATH": str(course["base"])},
                               capture_output=True, text=True, check=False).stdout
    assert "double/square" in collected and NEW in collected


def test_a_lesson_missing_a_part_is_reported_by_name(course):
    base = course["base"]
    catalog = base / "rlcore" / "catalog" / "lesson10.py"
    saved = catalog.read_text()
    catalog.unlink()
    try:
        proc = course["run"]("-m", "autograder", "lessons", check=False)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr
        assert f"{NEW}: missing rlcore/catalog/lesson10.py" in proc.stdout
    finally:
        catalog.write_text(saved)
