"""Lesson 07, what is special to it: the quiz never gives its key away, reads answers leniently,
and the notebook's demos run.

The contract every lesson shares (the right answer in every accepted form passes, each catalogued
wrong answer fails with its own message, the visible check passes well-formed wrong answers and
names malformed ones, grading) is tests/test_lesson_contract.py.
"""

from __future__ import annotations

import contextlib
import io

import gradelib
import nbformat
import pytest

from autograder.hidden import Mistake, run_hidden
from rlcore import catalog, check
from rlcore.catalog.lesson07 import QUIZ
from rlcore.check import CheckFailed, parse_choice

A = "07-taxonomy-and-next-steps"
NAMES = sorted(QUIZ)


def _key_shown(text: str, right: str) -> bool:
    return f'"{right}"' in text or f"'{right}'" in text or f"({', '.join(right)})" in text


@pytest.mark.parametrize("name", NAMES)
def test_no_message_gives_the_key_away(name):
    """Wrong answers point to a section; the visible check never judges the content."""
    ex, q = catalog.get(name), QUIZ[name]
    for m in ex.mistakes:
        with pytest.raises(Mistake) as err:
            run_hidden(name, m.wrong, verbose=False)
        assert not _key_shown(str(err.value), q.right), (m.id, str(err.value))
        if not m.visible:
            assert q.section in str(err.value)
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                getattr(check, f"check_{name}")(m.wrong)
            assert "recorded" in out.getvalue() and "correct" not in out.getvalue()


def test_parse_choice_normalizes_case_spaces_separators_and_order():
    assert parse_choice(" B) ") == "b"
    assert parse_choice("d, b") == parse_choice(["B", "d"]) == parse_choice("DB") == parse_choice({"d", "b"}) == "bd"
    assert parse_choice(2) is None and parse_choice(["a", 1]) is None and parse_choice("") is None


def test_an_unanswered_question_says_so_in_the_check_and_the_grader():
    for value in (None, "", "   "):
        with pytest.raises(CheckFailed, match="q1 is not answered yet"), contextlib.redirect_stdout(io.StringIO()):
            check.check_q1(value)
        with pytest.raises(Mistake, match="q1 is not answered yet"):
            run_hidden("q1", value, verbose=False)


def test_solutions_answers_match_the_catalog_key():
    nb = nbformat.read(gradelib.solutions_path(A), as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: gradelib.define(c.source, c.metadata["nbgrader"]["grade_id"], {})
               for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")}
    assert {n: parse_choice(a) for n, a in answers.items()} == {n: QUIZ[n].right for n in NAMES}


def test_released_lesson_does_not_leak_the_key():
    text = gradelib.lesson_path(A).read_text()
    for name in NAMES:
        assert f'{name} = \\"{QUIZ[name].right}\\"' not in text


@pytest.mark.slow
def test_solutions_notebook_executes():
    outputs = gradelib.outputs_of(gradelib.execute(gradelib.solutions_path(A)))
    text = "".join(o.get("text", "") for o in outputs)
    assert text.count("hidden tests of q") == len(NAMES)
    plan = next(line for line in text.splitlines() if "the learned model's plan achieves" in line)
    v_star, v_plan = (float(w.rstrip(";")) for w in plan.split() if w.rstrip(";").replace(".", "").isdigit())
    assert v_plan > v_star - 0.5  # planning with the learned model is nearly optimal in the real world
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 4
