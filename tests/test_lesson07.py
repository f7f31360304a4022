"""Lesson 07: the notebook runs; the quiz accepts every way of writing a right answer, and only those."""

from __future__ import annotations

import gradelib
import nbformat
import pytest

from autograder.hidden import Mistake, run_hidden
from autograder.hidden.lesson07 import QUIZ
from rlcore.check import CheckFailed, check_choice, parse_choice

A = "07-taxonomy-and-next-steps"
NAMES = sorted(QUIZ)
SINGLE = [n for n in NAMES if not QUIZ[n][2]]
MULTI = [n for n in NAMES if QUIZ[n][2]]


def _right(name: str) -> str:
    return QUIZ[name][0]


def _variants(name: str) -> list:
    """Ways a learner may write the right answer: case, spaces, separators, order, a list, a set."""
    r = _right(name)
    out = [r, r.upper(), f"  {r} ", f"{r})", f"({r})", f"{r}.", {r}, frozenset(r)]
    if len(r) > 1:
        out += [r[::-1], ", ".join(r), " and ".join(r.upper()), list(r), tuple(r[::-1]), set(r),
                r + r[0]]
    return out


def _wrong(name: str) -> list:
    """Realistic mistakes: other options, a missing or an extra option, malformed answers."""
    right, options, multiple, _ = QUIZ[name]
    out = [o for o in options if o != right][:2] + [1, None, "", "option e"]
    if multiple:
        out += [right[0], right + next(o for o in options if o not in right), options]
    else:
        out += [right + next(o for o in options if o != right)]
    return out


@pytest.mark.parametrize("name", NAMES)
def test_hidden_tests_accept_every_form_of_the_right_answer(name):
    for answer in _variants(name):
        run_hidden(name, answer, verbose=False)


@pytest.mark.parametrize("name", NAMES)
def test_hidden_tests_reject_wrong_answers_with_a_pointer_not_the_answer(name):
    right, _, _, section = QUIZ[name]
    for answer in _wrong(name):
        with pytest.raises(Mistake) as err:
            run_hidden(name, answer, verbose=False)
        text = str(err.value)
        assert name in text
        if parse_choice(answer) is not None and set(parse_choice(answer)) <= set("abcd") and (
                QUIZ[name][2] or len(parse_choice(answer)) == 1):
            assert section in text  # a well-formed wrong answer: re-read this section
        assert f'"{right}"' not in text and f"({', '.join(right)})" not in text  # never the key


def test_single_answer_questions_reject_several_letters():
    for name in SINGLE:
        with pytest.raises(Mistake, match="exactly one answer"):
            run_hidden(name, "ab", verbose=False)


@pytest.mark.parametrize("name", NAMES)
def test_visible_check_validates_the_format_only(name, capsys):
    _, options, multiple, _ = QUIZ[name]
    for answer in [options[0], options[-1].upper(), _right(name)]:  # wrong or right: both pass
        check_choice(answer, name, choices=options, multiple=multiple)
    out = capsys.readouterr().out
    assert out.count("\u2713") == 3 and "correct" not in out.replace("hidden tests grade", "")
    bad = [None, "", 3, "z", "option b"] + ([] if multiple else ["ab"])
    for answer in bad:
        with pytest.raises(CheckFailed) as err:
            check_choice(answer, name, choices=options, multiple=multiple)
        assert "hint" in str(err.value) and name in str(err.value)


def test_parse_choice_normalizes_case_spaces_separators_and_order():
    assert parse_choice(" B) ") == "b"
    assert parse_choice("d, b") == parse_choice(["B", "d"]) == parse_choice("DB") == "bd"
    assert parse_choice(2) is None and parse_choice(["a", 1]) is None and parse_choice("") is None


def test_solutions_answers_match_the_hidden_key():
    nb = nbformat.read(gradelib.solutions_path(A), as_version=4)
    answers = {}
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.metadata.get("nbgrader", {}).get("solution"):
            answers[gid] = gradelib.define(cell.source, gid, {})
    assert sorted(answers) == NAMES
    assert {n: parse_choice(a) for n, a in answers.items()} == {n: _right(n) for n in NAMES}


def test_released_lesson_does_not_leak_the_key():
    text = gradelib.lesson_path(A).read_text()
    for name in NAMES:
        assert f'{name} = \\"{_right(name)}\\"' not in text


@pytest.mark.slow
def test_solutions_notebook_executes():
    outputs = gradelib.outputs_of(gradelib.execute(gradelib.solutions_path(A)))
    text = "".join(o.get("text", "") for o in outputs)
    assert text.count("hidden tests of q") == len(NAMES)
    plan = next(line for line in text.splitlines() if "the learned model's plan achieves" in line)
    v_star, v_plan = (float(w.rstrip(";")) for w in plan.split() if w.rstrip(";").replace(".", "").isdigit())
    assert v_plan > v_star - 0.5  # planning with the learned model is nearly optimal in the real world
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 4


@pytest.mark.slow
def test_released_lesson_stops_at_the_first_unanswered_question():
    from nbclient.exceptions import CellExecutionError

    with pytest.raises(CellExecutionError) as err:
        gradelib.execute(gradelib.lesson_path(A))
    assert "NotImplementedError" in str(err.value) and "q1" in str(err.value)


@pytest.mark.slow
def test_grades_filled_in_full_and_released_zero(tmp_path):
    full = gradelib.grade(gradelib.filled_in(A, tmp_path / "full"))
    assert full["score"] == full["max_score"] == len(NAMES), full
    empty = gradelib.grade(gradelib.lesson_path(A))
    assert empty["score"] == 0 and len(empty["tests"]) == len(NAMES)
    assert all(t["status"] == "failed" and "not answered yet" in t["message"] for t in empty["tests"])


@pytest.mark.slow
def test_grades_other_forms_full_and_mutants_zero(tmp_path):
    for k, pick in enumerate([-1, 6]):  # "bdb" or "b)"; {"b", "d"} or {"b"}
        forms = {n: f"{n} = {_variants(n)[pick]!r}\n" for n in NAMES}
        result = gradelib.grade(gradelib.with_answers(A, forms, tmpdir=tmp_path / f"forms{k}"))
        assert result["score"] == result["max_score"], (forms, result)
    for k in range(3):  # three mutants per question: wrong option, malformed, wrong number of options
        answers = {n: f"{n} = {_wrong(n)[[0, 2, -1][k]]!r}\n" for n in NAMES}
        gradelib.assert_mutants_graded_below_full(A, answers, tmp_path / f"m{k}")
