"""Every lesson: released by nbgrader, in sync with solutions/, no outputs, no answers leaked."""

from __future__ import annotations

import json
import shutil

import nbformat
import pytest
from gradelib import ROOT

from autograder.notebook import assignments
from autograder.release import release

ASSIGNMENTS = assignments()


def _normal(path):
    nb = json.loads(path.read_text())
    return nb


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solutions_have_no_outputs(assignment):
    nb = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs, f"{assignment}: a solutions cell has outputs; commit it cleared"
            assert cell.execution_count is None, f"{assignment}: execution counts in solutions"
    assert nb.metadata["course"]["assignment"] == assignment


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_lesson_has_no_solutions_or_hidden_tests(assignment):
    text = (ROOT / "lessons" / assignment / f"{assignment}.ipynb").read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "run_hidden"):
        assert marker not in text, f"lessons/{assignment} leaks {marker!r}"


@pytest.mark.slow
def test_lessons_are_in_sync_with_make_release(tmp_path):
    """`make release` on a copy of the course reproduces the committed lessons exactly."""
    for item in ("solutions", "nbgrader_config.py"):
        src = ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / item)
    release(root=tmp_path)
    for assignment in ASSIGNMENTS:
        fresh = _normal(tmp_path / "lessons" / assignment / f"{assignment}.ipynb")
        committed = _normal(ROOT / "lessons" / assignment / f"{assignment}.ipynb")
        assert fresh == committed, (f"lessons/{assignment} is out of date: run `make release` "
                                    "and commit the result")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_graded_name_has_answer_test_and_spec(assignment):
    from autograder.hidden import load_all
    from autograder.notebook import tests_of

    specs = load_all()
    nb = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"] for c in nb.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    for t in tests_of(nb):
        assert t.name in specs, f"{assignment}: test cell {t.grade_id} has no hidden-test spec"
        assert t.points > 0
    for name in answers:
        assert f"test_{name}" in {t.grade_id for t in tests_of(nb)}, f"{name} has no test cell"
