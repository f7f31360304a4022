"""Every lesson's contract, from the exercise catalog (rlcore/catalog): one test per promise.

For every catalogued exercise: the reference and each correct alternative pass the visible
check and the hidden tests; each named mistake fails both, the hidden tests name it by its
id on every seed and the visible check with its message; a mistake that the hidden inputs
cannot tell apart from the reference fails here by name; the inputs cover every kind the
contract admits. For every lesson: its graded names are catalogued, the filled-in notebook
grades full marks, the released one zero with kind messages, alternatives full marks, and
notebooks with mistakes substituted score below full with the mistake ids in the result.
Lesson test files keep only what is special to their lesson.
"""

from __future__ import annotations

import contextlib
import io

import gradelib
import nbformat
import pytest

from autograder import hidden, notebook
from rlcore import catalog, check

EXERCISES = list(catalog.load_all().values())
MISTAKES = [(ex, m) for ex in EXERCISES for m in ex.mistakes]
LESSONS = sorted({ex.lesson for ex in EXERCISES})
SEEDS = range(3)


def _ids(x):
    return getattr(x, "id", None) or getattr(x, "name", None) or str(x)


def _visible(ex):
    return getattr(check, f"check_{ex.name}")


def _quiet(fn, *args):
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args)


# ------------------------------------------------------------------ exercises
@pytest.mark.parametrize("ex", EXERCISES, ids=_ids)
def test_reference_and_alternatives_pass_visible_and_hidden(ex):
    assert ex.alternatives, f"{ex.name}: no correct alternative in another style is catalogued"
    for impl in (ex.reference, *[ex.define(a) for a in ex.alternatives]):
        _quiet(_visible(ex), impl)
        for seed in SEEDS:
            hidden.run_hidden(ex.name, impl, seed=seed, verbose=False)


@pytest.mark.parametrize("ex,m", MISTAKES, ids=lambda x: _ids(x) if hasattr(x, "message") else "")
def test_mistake_fails_both_checks_and_the_hidden_tests_name_it(ex, m):
    assert m.wrong is not None, f"{m.id}: no wrong implementation catalogued"
    wrong = ex.define(m.wrong)  # its source works as an answer cell
    for seed in SEEDS:  # every seed catches it, not just a lucky one
        with pytest.raises(hidden.Mistake) as err:
            hidden.run_hidden(ex.name, wrong, seed=seed, verbose=False)
        assert err.value.id == m.id, f"seed {seed}: {m.id} was reported as {err.value.id}: {err.value}"
        assert m.message in str(err.value)
    if not m.visible:  # a quiz answer's content: the visible check must not give it away
        _quiet(_visible(ex), wrong)
        return
    with pytest.raises(check.CheckFailed) as err:
        _quiet(_visible(ex), wrong)
    if m.named_by_check:
        assert m.message in str(err.value), f"the visible check does not name {m.id}:\n{err.value}"


@pytest.mark.parametrize("ex,m", [(ex, m) for ex, m in MISTAKES if m in ex.by_value],
                         ids=lambda x: _ids(x) if hasattr(x, "message") else "")
def test_by_value_mistake_differs_from_the_reference_on_the_hidden_inputs(ex, m):
    """A catalogued wrong implementation the inputs cannot tell apart would never be named."""
    import numpy as np

    for seed in SEEDS:
        cases = hidden.cases_for(ex.name, np.random.default_rng(seed))
        differs = [not hidden.same(hidden._observe(c, m.wrong), hidden._observe(c, ex.reference))
                   for c in cases]
        assert any(differs), (f"{m.id}: its wrong implementation observes exactly like the reference "
                              f"on every hidden case of seed {seed}: add an input that shows it")


@pytest.mark.parametrize("ex", [ex for ex in EXERCISES if ex.admits], ids=_ids)
def test_hidden_inputs_cover_every_kind_the_contract_admits(ex):
    import numpy as np

    kinds = {c.meta.get("kind") for seed in SEEDS
             for c in hidden.cases_for(ex.name, np.random.default_rng(seed))}
    missing = set(ex.admits) - kinds
    assert not missing, f"{ex.name}: the hidden tests never try {sorted(missing)}"


# ------------------------------------------------------------------ lessons
@pytest.mark.parametrize("lesson", LESSONS)
def test_every_graded_name_is_catalogued_with_a_check_and_a_spec(lesson):
    assert lesson in notebook.assignments(), f"catalog lesson {lesson} has no solutions/{lesson}/ notebook"
    nb = nbformat.read(gradelib.solutions_path(lesson), as_version=4)
    graded = [t.name for t in notebook.tests_of(nb)]
    assert sorted(graded) == sorted(ex.name for ex in catalog.exercises_of(lesson))
    specs = hidden.load_all()
    for name in graded:
        assert callable(getattr(check, f"check_{name}", None)), f"no visible check check_{name}"
        assert name in specs, f"no hidden-test spec for {name}"


def _substitute(lesson, pick, tmp_path):
    """The released lesson with each exercise's answer cell replaced by ``pick(ex)`` (None: its solution)."""
    answers = {}
    for ex in catalog.exercises_of(lesson):
        impl = pick(ex)
        answers[ex.name] = (gradelib.answer_source(lesson, ex.name) if impl is None
                            else ex.source_of(impl))
    return gradelib.with_answers(lesson, answers, tmpdir=tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("lesson", LESSONS)
def test_released_lesson_stops_kindly_and_filled_in_grades_full(lesson, tmp_path):
    exercises = catalog.exercises_of(lesson)
    if all(ex.is_value for ex in exercises):  # a quiz: the unanswered cell itself stops Run All
        stub = {"ename": "NotImplementedError", "says": "not answered yet", "status": "failed"}
    else:
        stub = {"ename": "CheckFailed", "says": "not written yet", "status": "error"}
    gradelib.assert_released_fails_kindly(lesson, stub["ename"], stub["says"])
    gradelib.assert_full_and_zero(lesson, [ex.name for ex in exercises], tmp_path, stub["status"],
                                  stub["says"])


@pytest.mark.slow
@pytest.mark.parametrize("lesson", LESSONS)
def test_alternatives_grade_full_marks(lesson, tmp_path):
    result = gradelib.grade(_substitute(lesson, lambda ex: ex.alternatives[0], tmp_path))
    assert result["score"] == result["max_score"], result


@pytest.mark.slow
@pytest.mark.parametrize("lesson,round_", [(lesson, k) for lesson in LESSONS for k in range(3)])
def test_mistakes_grade_below_full_and_the_result_names_them(lesson, round_, tmp_path):
    """Round k: every exercise's k-th mistake (cycling through short lists) in one notebook."""
    exercises = catalog.exercises_of(lesson)
    chosen = {ex.name: ex.mistakes[round_ % len(ex.mistakes)] for ex in exercises}
    result = gradelib.grade(_substitute(lesson, lambda ex: chosen[ex.name].wrong, tmp_path))
    by_name = {t["name"]: t for t in result["tests"]}
    for ex in exercises:
        t, m = by_name[f"test_{ex.name}"], chosen[ex.name]
        assert t["status"] == "failed" and t["score"] == 0, (m.id, t)
        assert t["mistake"] == m.id and m.message in t["message"], (m.id, t)
