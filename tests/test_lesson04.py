"""Lesson 04, what is special to it: the notebook reproduces the book, grading value_iteration apart
from q_from_v, loops stopped after any number of sweeps, mistakes that cannot be confused.

The contract every lesson shares (references, alternatives and catalogued mistakes against the
visible checks, the hidden tests and the grader) is tests/test_lesson_contract.py.
"""

from __future__ import annotations

import json

import gradelib
import nbformat
import numpy as np
import pytest

import rlcore.values as ref
from autograder.hidden import Mistake, run_hidden
from rlcore import catalog
from rlcore.check import CheckFailed
from rlcore.check import lesson04 as checks

A = "04-value-functions"


def _define(source: str, name: str, **namespace):
    return gradelib.define(source, name, {"np": np, **namespace})


# ------------------------------------------------------------------ not converged, any number of sweeps
SWEEPS = """
def policy_evaluation(P, R, pi, gamma, tol=1e-10):
    P, R, pi = np.asarray(P, float), np.asarray(R, float), np.asarray(pi, float)
    V = np.zeros(len(R))
    for _ in range(37):  # a fixed number of sweeps
        V = np.sum(pi * (R + gamma * P @ V), axis=1)
    return V
"""

IN_PLACE_SWEEPS = """
def value_iteration(P, R, gamma, tol=1e-10):
    P, R = np.asarray(P, float), np.asarray(R, float)
    V = np.zeros(len(R))
    for _ in range(20):  # in-place sweeps, but a fixed number of them
        for s in range(len(R)):
            V[s] = max(R[s] + gamma * P[s] @ V)
    return V, R + gamma * P @ V
"""


def test_a_loop_stopped_after_any_number_of_sweeps_is_named_not_converged():
    fn = _define(SWEEPS, "policy_evaluation")
    for seed in range(3):
        with pytest.raises(Mistake) as err:
            run_hidden("policy_evaluation", fn, seed=seed, verbose=False)
        assert err.value.id == "policy_evaluation/not_converged", str(err.value)
        assert "after 37 sweeps" in str(err.value)
    with pytest.raises(CheckFailed, match="not converged"):
        checks.check_policy_evaluation(fn)


def test_in_place_sweeps_stopped_early_fail_and_the_check_says_not_converged():
    fn = _define(IN_PLACE_SWEEPS, "value_iteration")
    for seed in range(3):
        with pytest.raises(Mistake):
            run_hidden("value_iteration", fn, seed=seed, verbose=False)
    with pytest.raises(CheckFailed, match="not converged"):
        checks.check_value_iteration(fn)


def test_exact_evaluation_without_gamma_by_least_squares_fails():
    """lstsq on the singular I - P_pi raises nothing; the values are wrong, whatever the name."""
    fn = _define("""
def policy_evaluation_exact(P, R, pi, gamma):
    P_pi = np.einsum("sa,sat->st", pi, P)
    return np.linalg.lstsq(np.eye(len(R)) - P_pi, (pi * R).sum(1), rcond=None)[0]  # no gamma
""", "policy_evaluation_exact")
    for seed in range(3):
        with pytest.raises(Mistake):
            run_hidden("policy_evaluation_exact", fn, seed=seed, verbose=False)


# ------------------------------------------------------------------ value_iteration and q_from_v
VI_CALLING_Q_FROM_V = """
def value_iteration(P, R, gamma, tol=1e-10):
    V = np.zeros(np.shape(P)[0])
    while True:
        V_new = q_from_v(P, R, V, gamma).max(axis=1)
        if np.max(np.abs(V_new - V)) < tol:
            return V_new, q_from_v(P, R, V_new, gamma)
        V = V_new
"""


def _broken_q_from_v():
    ex = catalog.get("q_from_v")
    return ex.define(ex.mistake("no_gamma").wrong)


def test_value_iteration_is_graded_with_rlcore_q_from_v_not_the_learners():
    """A mistake in q_from_v is charged to q_from_v only: value_iteration calling it still passes."""
    broken = _broken_q_from_v()
    fn = _define(VI_CALLING_Q_FROM_V, "value_iteration", q_from_v=broken)
    for seed in range(3):
        run_hidden("value_iteration", fn, seed=seed, verbose=False)
    assert fn.__globals__["q_from_v"] is broken  # the learner's namespace is restored


def test_visible_value_iteration_check_points_at_a_broken_q_from_v(capsys):
    fn = _define(VI_CALLING_Q_FROM_V, "value_iteration", q_from_v=_broken_q_from_v())
    with pytest.raises(CheckFailed, match=r"note: value_iteration calls your `q_from_v`"):
        checks.check_value_iteration(fn)
    capsys.readouterr()  # the failure printed above
    good = _define(VI_CALLING_Q_FROM_V, "value_iteration", q_from_v=ref.q_from_v)
    checks.check_value_iteration(good)
    assert "note:" not in capsys.readouterr().out


# ------------------------------------------------------------------ naming races
@pytest.mark.parametrize("seeds", [range(8), range(8, 16)])
def test_no_two_mistakes_look_alike_on_fresh_inputs(seeds):
    gradelib.assert_mistakes_unambiguous(A, seeds)


# ------------------------------------------------------------------ the notebook
@pytest.mark.slow
def test_solutions_notebook_executes_and_reproduces_the_book(tmp_path):
    """Run the lesson, then read the V^pi and V* it computed: figures 3.2 and 3.5 to one decimal."""
    nb = nbformat.read(gradelib.solutions_path(A), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(
        'import json\nprint("FIGURES=" + json.dumps({"V_pi": V_pi.tolist(), "V_star": V_star.tolist(),'
        ' "pi_star": pi_star.tolist()}))'))
    path = tmp_path / A / f"{A}.ipynb"
    path.parent.mkdir()
    nbformat.write(nb, path)
    done = gradelib.execute(path)
    outputs = gradelib.outputs_of(done)  # asserts that no cell raised
    text = "".join(o.get("text", "") for o in done.cells[-1].outputs)
    figures = json.loads(text.split("FIGURES=", 1)[1])
    np.testing.assert_array_equal(np.round(np.reshape(figures["V_pi"], (5, 5)), 1), ref.BOOK_V_UNIFORM)
    np.testing.assert_array_equal(np.round(np.reshape(figures["V_star"], (5, 5)), 1), ref.BOOK_V_STAR)
    pi_star = np.asarray(figures["pi_star"])
    assert pi_star[0].tolist() == [0, 0, 1, 0]  # figure 3.5: from the top-left corner go east, to A
    images = sum("image/png" in o.get("data", {}) for o in outputs)
    assert images >= 3  # the two heat maps of the book's figures and the MSBE plot
