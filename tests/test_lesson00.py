"""Lesson 00: the welcome tour runs, shows its pictures and the animation, and has no graded cells."""

from __future__ import annotations

import re

import gradelib
import nbformat
import pytest

from autograder import notebook as course_notebook

A = "00-welcome"
# The assignments of docs/contract.md, in order: the lesson's course map must list exactly these.
COURSE = course_notebook.assignments()  # the lessons, found in solutions/


def _solutions():
    return nbformat.read(gradelib.solutions_path(A), as_version=4)


def test_course_map_lists_every_assignment_in_order():
    text = "\n".join(c.source for c in _solutions().cells if c.cell_type == "markdown")
    table = [m for m in re.findall(r"^\| `(\d\d-[a-z0-9-]+)` \|", text, flags=re.MULTILINE)]
    assert table == COURSE
    assert set(course_notebook.assignments()) <= set(COURSE), "a lesson folder is missing from the course map"


def test_no_graded_cells_and_the_lesson_is_the_solutions_notebook():
    sol = _solutions()
    assert course_notebook.tests_of(sol) == []
    assert not [c for c in sol.cells if c.metadata.get("nbgrader", {}).get("solution")]
    lesson = nbformat.read(gradelib.lesson_path(A), as_version=4)
    assert [c.source for c in lesson.cells] == [c.source for c in sol.cells]


def test_ungraded_exercise_works_as_released():
    """`my_policy` is an ordinary cell with a working default, not an nbgrader answer cell."""
    cell = next(c for c in _solutions().cells if "def my_policy" in c.source)
    assert "nbgrader" not in cell.metadata and "NotImplementedError" not in cell.source


def test_demo_cells_are_only_the_animation():
    demos = [c.source for c in _solutions().cells if "demo" in c.metadata.get("tags", [])]
    assert demos == ["animate_episode(env, tau)"]


@pytest.mark.slow
def test_solutions_notebook_executes_with_pictures_doctor_and_animation():
    outputs = gradelib.outputs_of(gradelib.execute(gradelib.solutions_path(A)))
    text = "".join(str(o.get("text", "")) for o in outputs)
    assert "\u2713 PyTorch" in text and "\u2713 Gymnasium" in text  # rlcore.doctor() ran
    assert "\u2717 discounted_return" in text and "hint:" in text  # the failing-check example
    html = "".join(str(o.get("data", {}).get("text/html", "")) for o in outputs)
    assert "<script" in html and "Animation" in html  # the episode animation rendered
    images = sum("image/png" in o.get("data", {}) for o in outputs)
    assert images >= 4


@pytest.mark.slow
def test_released_lesson_grades_to_zero_of_zero_without_errors():
    result = gradelib.grade(gradelib.lesson_path(A))
    assert result["assignment"] == A
    assert result["score"] == result["max_score"] == 0
    assert result["tests"] == []
