"""Every lesson: released by nbgrader, in sync with solutions/, no outputs, no answers leaked."""

from __future__ import annotations

import json
import shutil

import nbformat
import pytest
from gradelib import ROOT

from autograder.notebook import assignments
from autograder.release import learner_work, release

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


def course_copy(tmp_path):
    """A course folder with solutions/ and the nbgrader config, as release needs it."""
    for item in ("solutions", "nbgrader_config.py"):
        src = ROOT / item
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / item)
    return tmp_path


def out_of_date_message(assignment: str, fresh: dict, current: dict) -> str:
    """Why lessons/ differs from a new release, and a way forward that loses nothing."""
    work = learner_work(current, [fresh])
    if work:
        return (f"lessons/{assignment} holds a learner's work ({'; '.join(work)}), so it is not the "
                "released lesson this test expects. Your work is safe: copy it to your workspace "
                "(`make lab` copies every lesson into workspace/ once and never overwrites it), then "
                "`make release FORCE=1` restores the released lesson and keeps the old file in backups/ "
                "(it prints where).")
    return (f"lessons/{assignment} is out of date with solutions/{assignment}: run `make release` "
            "and commit the result (release never overwrites a learner's work without FORCE=1 "
            "and a backup)")


@pytest.mark.slow
def test_lessons_are_in_sync_with_make_release(tmp_path):
    """`make release` on a copy of the course reproduces the committed lessons exactly."""
    release(root=course_copy(tmp_path))
    for assignment in ASSIGNMENTS:
        fresh = _normal(tmp_path / "lessons" / assignment / f"{assignment}.ipynb")
        committed = _normal(ROOT / "lessons" / assignment / f"{assignment}.ipynb")
        assert fresh == committed, out_of_date_message(assignment, fresh, committed)


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


# ------------------------------------------------------------------ a learner's work is never lost
R = "02-trajectories-and-returns"


def _fill(path, answer: str = "rollout", source: str = "def rollout(env, policy, max_steps=1000, "
          "seed=None):\n    return 'my answer'\n", run: bool = False) -> bytes:
    """Type an answer into a lesson notebook (and optionally 'run' a cell); return the new bytes."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == answer:
            cell.source = source
    if run:
        code = next(c for c in nb.cells if c.cell_type == "code")
        code.execution_count = 1
        code.outputs = [nbformat.v4.new_output("stream", text="hello\n")]
    nbformat.write(nb, path)
    return path.read_bytes()


def test_learner_work_is_empty_for_the_release_and_names_what_a_learner_did():
    released = _normal(ROOT / "lessons" / R / f"{R}.ipynb")
    assert learner_work(released, [released]) == []
    nb = json.loads(json.dumps(released))
    answer = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "rollout")
    answer["source"] = "def rollout(env, policy):\n    return None\n"
    code = next(c for c in nb["cells"] if c["cell_type"] == "code" and c is not answer)
    code["execution_count"], code["outputs"] = 3, [{"output_type": "stream", "name": "stdout", "text": "x"}]
    nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": "my notes"})
    found = learner_work(nb, [released])
    assert found == ["answers typed in: `rollout`", "1 other cell edited or added", "1 cell run",
                     "outputs in 1 cell"], found
    # an answer committed to git is still an answer: the stub is gone
    assert learner_work(nb, [released, nb])[0] == "answers typed in: `rollout`"


@pytest.mark.slow
def test_release_refuses_to_overwrite_answers_and_force_keeps_a_backup(tmp_path):
    course = course_copy(tmp_path)
    (done,) = release([R], root=course)
    assert done.status == "written"
    lesson = course / "lessons" / R / f"{R}.ipynb"
    notes = lesson.parent / "my-notes.txt"  # a learner's own file in the lesson folder
    notes.write_text("keep me")
    mine = _fill(lesson, run=True)

    (refused,) = release([R], root=course)
    assert refused.status == "refused" and lesson.read_bytes() == mine
    text = refused.message(course)
    assert "answers typed in: `rollout`" in text and "outputs in 1 cell" in text
    assert "Nothing was changed" in text and "workspace/" in text and "FORCE=1" in text

    (forced,) = release([R], root=course, force=True)
    assert forced.status == "forced" and forced.backup.read_bytes() == mine
    assert forced.backup.is_relative_to(course / "backups")
    assert str(forced.backup.relative_to(course)) in forced.message(course)
    assert _normal(lesson) == _normal(ROOT / "lessons" / R / f"{R}.ipynb")  # the release again
    assert notes.read_text() == "keep me"  # release never deletes other files


@pytest.mark.slow
def test_release_over_its_own_earlier_release_needs_no_force(tmp_path):
    """The instructor's loop (edit solutions, release, edit, release) is never refused."""
    course = course_copy(tmp_path)
    release([R], root=course)
    src = course / "solutions" / R / f"{R}.ipynb"
    nb = nbformat.read(src, as_version=4)
    md = next(c for c in nb.cells if c.cell_type == "markdown")
    md.source += "\n\nOne more sentence by the instructor."
    nbformat.write(nb, src)
    (again,) = release([R], root=course)
    assert again.status == "written"
    assert "One more sentence" in (course / "lessons" / R / f"{R}.ipynb").read_text()
    (same,) = release([R], root=course)
    assert same.status == "unchanged"
