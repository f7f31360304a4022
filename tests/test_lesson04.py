"""Lesson 04: the notebook runs and reproduces the book, checks are kind, hidden tests catch mistakes."""

from __future__ import annotations

import json
import textwrap

import gradelib
import nbformat
import numpy as np
import pytest

import rlcore.values as ref
from autograder.hidden import Mistake, run_hidden
from rlcore.check import CheckFailed
from rlcore.check import lesson04 as checks

A = "04-value-functions"
NAMES = ["policy_evaluation", "policy_evaluation_exact", "q_from_v", "value_iteration",
         "greedy_policy", "mean_squared_bellman_error"]


def _d(src: str) -> str:
    return textwrap.dedent(src).strip() + "\n"


# Correct implementations in other styles than the reference (must earn full marks).
ALTERNATIVES = {
    # in-place (Gauss-Seidel) sweeps with plain loops, visiting states in reverse order
    "policy_evaluation": _d("""
        def policy_evaluation(P, R, pi, gamma, tol=1e-10):
            S, A = len(R), len(R[0])
            V = [0.0] * S
            while True:
                delta = 0.0
                for s in reversed(range(S)):
                    v = 0.0
                    for a in range(A):
                        expected_next = sum(P[s][a][t] * V[t] for t in range(S))
                        v += pi[s][a] * (R[s][a] + gamma * expected_next)
                    delta = max(delta, abs(v - V[s]))
                    V[s] = v
                if delta < tol:
                    return np.array(V)
    """),
    "policy_evaluation_exact": _d("""
        def policy_evaluation_exact(P, R, pi, gamma):
            P, R, pi = np.asarray(P), np.asarray(R), np.asarray(pi)
            S = P.shape[0]
            P_pi = np.zeros((S, S))
            for a in range(P.shape[1]):
                P_pi += pi[:, a:a + 1] * P[:, a, :]
            r_pi = (pi * R).sum(axis=1)
            return np.linalg.inv(np.identity(S) - gamma * P_pi) @ r_pi
    """),
    "q_from_v": _d("""
        def q_from_v(P, R, V, gamma):
            return np.asarray(R) + gamma * np.tensordot(P, V, axes=([2], [0]))
    """),
    # in-place sweeps over states; Q built at the end with loops; returns a list
    "value_iteration": _d("""
        def value_iteration(P, R, gamma, tol=1e-10):
            P, R = np.asarray(P), np.asarray(R)
            S, A = R.shape
            V = np.zeros(S)
            delta = np.inf
            while delta >= tol:
                delta = 0.0
                for s in range(S):
                    best = max(R[s, a] + gamma * P[s, a] @ V for a in range(A))
                    delta = max(delta, abs(best - V[s]))
                    V[s] = best
            Q = np.array([[R[s, a] + gamma * P[s, a] @ V for a in range(A)] for s in range(S)])
            return V, Q
    """),
    "greedy_policy": _d("""
        def greedy_policy(Q):
            Q = np.asarray(Q)
            pi = np.zeros(Q.shape, dtype=int)
            for s, row in enumerate(Q):
                best = 0
                for a in range(1, len(row)):
                    if row[a] > row[best]:
                        best = a
                pi[s, best] = 1
            return pi
    """),
    "mean_squared_bellman_error": _d("""
        def mean_squared_bellman_error(q_sa, rewards, next_q, dones, gamma):
            total = 0.0
            for q, r, nq, d in zip(q_sa, rewards, next_q, dones):
                y = r if d else r + gamma * max(nq)
                total += (q - y) ** 2
            return total / len(q_sa)
    """),
}

# Realistic mistakes (at least three per exercise); each must fail the hidden tests.
MUTANTS = {
    "policy_evaluation": [
        _d("""
        def policy_evaluation(P, R, pi, gamma, tol=1e-10):
            V = np.zeros(len(R))
            while True:
                V_new = np.sum(pi * (R + P @ V), axis=1)  # gamma forgotten
                if np.max(np.abs(V_new - V)) < tol:
                    return V_new
                V = V_new
        """),
        _d("""
        def policy_evaluation(P, R, pi, gamma, tol=1e-10):
            V = np.zeros(len(R))
            while True:
                V_new = np.max(R + gamma * P @ V, axis=1)  # max instead of the expectation over pi
                if np.max(np.abs(V_new - V)) < tol:
                    return V_new
                V = V_new
        """),
        _d("""
        def policy_evaluation(P, R, pi, gamma, tol=1e-10):
            V = np.zeros(len(R))
            for _ in range(100):  # a fixed number of sweeps
                V = np.sum(pi * (R + gamma * P @ V), axis=1)
            return V
        """),
        _d("""
        def policy_evaluation(P, R, pi, gamma, tol=1e-10):
            V = np.zeros(len(R))
            P_pi = np.einsum("sa,sat->st", pi, P)
            while True:
                V_new = R.sum(axis=1) + gamma * P_pi @ V  # rewards summed over actions, not weighted
                if np.max(np.abs(V_new - V)) < tol:
                    return V_new
                V = V_new
        """),
        _d("""
        def policy_evaluation(P, R, pi, gamma, tol=1e-10):
            V = np.zeros(len(R))
            while True:
                V_new = np.sum(pi * (R + gamma * V[:, None]), axis=1)  # V(s) instead of E V(s')
                if np.max(np.abs(V_new - V)) < tol:
                    return V_new
                V = V_new
        """),
    ],
    "policy_evaluation_exact": [
        _d("""
        def policy_evaluation_exact(P, R, pi, gamma):
            P_pi = np.einsum("sa,sat->st", pi, P)
            return np.linalg.solve(np.eye(len(R)) - gamma * P_pi.T, (pi * R).sum(1))  # transposed
        """),
        _d("""
        def policy_evaluation_exact(P, R, pi, gamma):
            P_pi = np.einsum("sa,sat->st", pi, P)
            return np.linalg.solve(np.eye(len(R)) - gamma * P_pi, R.mean(axis=1))  # R not weighted by pi
        """),
        _d("""
        def policy_evaluation_exact(P, R, pi, gamma):
            P_pi = P.mean(axis=1)  # the policy is ignored in the transitions
            return np.linalg.solve(np.eye(len(R)) - gamma * P_pi, (pi * R).sum(1))
        """),
        _d("""
        def policy_evaluation_exact(P, R, pi, gamma):
            P_pi = np.einsum("sa,sat->st", pi, P)
            R_pi = (pi * R).sum(1)
            return R_pi + gamma * P_pi @ R_pi  # one backup instead of solving
        """),
        _d("""
        def policy_evaluation_exact(P, R, pi, gamma):
            P_pi = np.einsum("sa,sat->st", pi, P)
            return np.linalg.lstsq(np.eye(len(R)) - P_pi, (pi * R).sum(1), rcond=None)[0]  # no gamma
        """),
    ],
    "q_from_v": [
        "def q_from_v(P, R, V, gamma):\n    return R + P @ V  # gamma forgotten\n",
        "def q_from_v(P, R, V, gamma):\n    return R + gamma * np.einsum('tas,t->sa', P, V)  # transposed P\n",
        "def q_from_v(P, R, V, gamma):\n    return R + gamma * np.asarray(V)[:, None]  # V(s), not V(s')\n",
        "def q_from_v(P, R, V, gamma):\n    return gamma * P @ V  # rewards forgotten\n",
    ],
    "value_iteration": [
        _d("""
        def value_iteration(P, R, gamma, tol=1e-10):
            V = np.zeros(len(R))
            while True:
                Q = R + gamma * P @ V
                V_new = Q.mean(axis=1)  # expectation instead of the max
                if np.max(np.abs(V_new - V)) < tol:
                    return V_new, Q
                V = V_new
        """),
        _d("""
        def value_iteration(P, R, gamma, tol=1e-10):
            V = np.zeros(len(R))
            for _ in range(100):  # a fixed number of sweeps
                Q = R + gamma * P @ V
                V = Q.max(axis=1)
            return V, Q
        """),
        _d("""
        def value_iteration(P, R, gamma, tol=1e-10):
            V = np.zeros(len(R))
            while True:
                Q = R + gamma * P @ V
                V_new = Q.max(axis=1)
                if np.max(np.abs(V_new - V)) < tol:
                    return Q, V_new  # wrong order
                V = V_new
        """),
        _d("""
        def value_iteration(P, R, gamma, tol=1e-10):
            V = np.zeros(len(R))
            while True:
                Q = R + gamma * P @ V
                V_new = Q.max(axis=0)  # max over the wrong axis
                if np.max(np.abs(V_new - V)) < tol:
                    return V_new, Q
                V = V_new
        """),
        _d("""
        def value_iteration(P, R, gamma, tol=1e-10):
            V = np.zeros(len(R))
            while True:
                Q = R + P @ V  # gamma forgotten
                V_new = Q.max(axis=1)
                if np.max(np.abs(V_new - V)) < tol:
                    return V_new, Q
                V = V_new
        """),
    ],
    "greedy_policy": [
        _d("""
        def greedy_policy(Q):
            Q = np.asarray(Q)
            A = Q.shape[1]
            return np.eye(A)[A - 1 - np.argmax(Q[:, ::-1], axis=1)]  # ties to the highest index
        """),
        _d("""
        def greedy_policy(Q):
            Q = np.asarray(Q)
            return np.eye(Q.shape[1])[np.argmax(Q, axis=0)]  # argmax over states
        """),
        "def greedy_policy(Q):\n    return np.argmax(Q, axis=1)  # indices, not one-hot\n",
        _d("""
        def greedy_policy(Q):
            Q = np.asarray(Q)
            best = (Q == Q.max(axis=1, keepdims=True)).astype(float)
            return best / best.sum(axis=1, keepdims=True)  # ties split
        """),
        "def greedy_policy(Q):\n    return np.eye(np.shape(Q)[1])[np.argmin(Q, axis=1)]\n",
    ],
    "mean_squared_bellman_error": [
        _d("""
        def mean_squared_bellman_error(q_sa, rewards, next_q, dones, gamma):
            return float(np.mean((q_sa - (rewards + gamma * next_q.max(axis=1))) ** 2))  # no (1 - d)
        """),
        _d("""
        def mean_squared_bellman_error(q_sa, rewards, next_q, dones, gamma):
            y = rewards + gamma * (1 - dones) * next_q.max(axis=1)
            return float(np.sqrt(np.mean((q_sa - y) ** 2)))  # root mean square
        """),
        _d("""
        def mean_squared_bellman_error(q_sa, rewards, next_q, dones, gamma):
            y = rewards + gamma * (1 - dones) * next_q.max(axis=1)
            return float(np.sum((q_sa - y) ** 2))  # sum, not mean
        """),
        _d("""
        def mean_squared_bellman_error(q_sa, rewards, next_q, dones, gamma):
            y = rewards + gamma * (1 - dones) * next_q.mean(axis=1)  # mean, not max
            return float(np.mean((q_sa - y) ** 2))
        """),
        _d("""
        def mean_squared_bellman_error(q_sa, rewards, next_q, dones, gamma):
            y = rewards + gamma * (1 - dones) * np.max(next_q)  # max over the whole batch
            return float(np.mean((q_sa - y) ** 2))
        """),
        _d("""
        def mean_squared_bellman_error(q_sa, rewards, next_q, dones, gamma):
            y = rewards + (1 - dones) * next_q.max(axis=1)  # gamma forgotten
            return float(np.mean((q_sa - y) ** 2))
        """),
    ],
}

N_MUTANTS = min(len(v) for v in MUTANTS.values())


def _define(source: str, name: str):
    return gradelib.define(source, name, {"np": np})


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hidden_tests_pass_reference(name, seed):
    run_hidden(name, getattr(ref, name), seed=seed, verbose=False)


@pytest.mark.parametrize("name", NAMES)
def test_hidden_tests_pass_alternative_style(name):
    for seed in range(3):
        run_hidden(name, _define(ALTERNATIVES[name], name), seed=seed, verbose=False)


@pytest.mark.parametrize("name,index", [(n, i) for n in NAMES for i in range(len(MUTANTS[n]))])
def test_hidden_tests_catch_mutant_with_named_message(name, index):
    fn = _define(MUTANTS[name][index], name)
    for seed in range(3):  # every seed must catch it, not just a lucky one
        with pytest.raises(Mistake) as err:
            run_hidden(name, fn, seed=seed, verbose=False)
        assert name in str(err.value)


# the mistake each message must name (one phrase per mutant, in MUTANTS order)
NAMED = {
    "policy_evaluation": ["gamma is missing", "max over actions", "after 100 sweeps",
                          "not weighted by pi", "V(s) instead of V(s')"],
    "policy_evaluation_exact": ["transposed", "averaged uniformly", "ignore the policy",
                                "one backup is not enough", None],
    "q_from_v": ["gamma is missing", "transposed", "V(s) instead", "rewards are missing"],
    "value_iteration": ["averaged over actions", "after 100 sweeps", "(Q, V)", "wrong axis",
                        "gamma is missing"],
    "greedy_policy": ["highest", "argmax over states", "one-hot", "not be split", "argmin"],
    "mean_squared_bellman_error": ["(1 - done) is missing", "square root", "summed",
                                   "averaged next_q", "whole batch", "gamma is missing"],
}


@pytest.mark.parametrize("name,index", [(n, i) for n in NAMES for i in range(len(MUTANTS[n]))
                                        if NAMED[n][i]])
def test_hidden_test_messages_name_the_mistake(name, index):
    fn = _define(MUTANTS[name][index], name)
    with pytest.raises(Mistake) as err:
        run_hidden(name, fn, seed=11, verbose=False)
    assert NAMED[name][index] in str(err.value), str(err.value)


@pytest.mark.parametrize("name", NAMES)
def test_visible_checks_pass_reference_and_fail_mutants(name, capsys):
    check = getattr(checks, f"check_{name}")
    check(getattr(ref, name))
    assert "\u2713" in capsys.readouterr().out
    for source in MUTANTS[name][:3]:
        with pytest.raises(CheckFailed) as err:
            check(_define(source, name))
        text = str(err.value)
        assert ("expected" in text and "hint" in text) or "raised" in text


@pytest.mark.parametrize("name", NAMES)
def test_visible_checks_pass_alternatives(name, capsys):
    getattr(checks, f"check_{name}")(_define(ALTERNATIVES[name], name))
    assert "\u2713" in capsys.readouterr().out


def test_visible_check_explains_unwritten_exercise(capsys):
    def value_iteration(P, R, gamma, tol=1e-10):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="not written yet"):
        checks.check_value_iteration(value_iteration)
    assert "NotImplementedError" in capsys.readouterr().out


def test_visible_checks_name_common_mistakes():
    with pytest.raises(CheckFailed, match="max over actions"):
        checks.check_policy_evaluation(_define(MUTANTS["policy_evaluation"][1], "policy_evaluation"))
    with pytest.raises(CheckFailed, match="not converged"):
        checks.check_value_iteration(_define(MUTANTS["value_iteration"][1], "value_iteration"))
    # without gamma the gridworld would loop forever: an episodic chain comes first and names it
    with pytest.raises(CheckFailed, match="multiply V\\(s'\\) by gamma"):
        checks.check_value_iteration(_define(MUTANTS["value_iteration"][4], "value_iteration"))
    with pytest.raises(CheckFailed, match="multiply V\\(s'\\) by gamma"):
        checks.check_policy_evaluation(_define(MUTANTS["policy_evaluation"][0], "policy_evaluation"))
    with pytest.raises(CheckFailed, match="LOWEST"):
        checks.check_greedy_policy(_define(MUTANTS["greedy_policy"][0], "greedy_policy"))
    with pytest.raises(CheckFailed, match=r"\(1 - done\) is missing"):
        checks.check_mean_squared_bellman_error(
            _define(MUTANTS["mean_squared_bellman_error"][0], "mean_squared_bellman_error"))


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


@pytest.mark.slow
def test_released_lesson_fails_checks_kindly():
    gradelib.assert_released_fails_kindly(A)


@pytest.mark.slow
def test_grades_filled_in_full_and_released_zero(tmp_path):
    gradelib.assert_full_and_zero(A, NAMES, tmp_path)


@pytest.mark.slow
def test_grades_alternatives_full_marks(tmp_path):
    result = gradelib.grade(gradelib.with_answers(A, ALTERNATIVES, tmpdir=tmp_path))
    assert result["score"] == result["max_score"], result


@pytest.mark.slow
@pytest.mark.parametrize("index", range(N_MUTANTS))
def test_grades_mutants_below_full(index, tmp_path):
    answers = {name: MUTANTS[name][index] for name in NAMES}
    named = {name: NAMED[name][index] for name in NAMES if NAMED[name][index]}
    gradelib.assert_mutants_graded_below_full(A, answers, tmp_path,
                                              named=named if len(named) == len(NAMES) else None)


# a correct value_iteration that calls the learner's q_from_v
VI_CALLING_Q_FROM_V = """
def value_iteration(P, R, gamma, tol=1e-10):
    V = np.zeros(np.shape(P)[0])
    while True:
        V_new = q_from_v(P, R, V, gamma).max(axis=1)
        if np.max(np.abs(V_new - V)) < tol:
            return V_new, q_from_v(P, R, V_new, gamma)
        V = V_new
"""


def test_value_iteration_is_graded_with_rlcore_q_from_v_not_the_learners():
    """A mistake in q_from_v is charged to q_from_v only: value_iteration calling it still passes."""
    broken = gradelib.define(MUTANTS["q_from_v"][0], "q_from_v", {"np": np})  # gamma forgotten
    fn = gradelib.define(VI_CALLING_Q_FROM_V, "value_iteration", {"np": np, "q_from_v": broken})
    for seed in range(3):
        run_hidden("value_iteration", fn, seed=seed, verbose=False)
    assert fn.__globals__["q_from_v"] is broken  # the learner's namespace is restored


def test_visible_value_iteration_check_points_at_a_broken_q_from_v(capsys):
    broken = gradelib.define(MUTANTS["q_from_v"][0], "q_from_v", {"np": np})  # gamma forgotten
    fn = gradelib.define(VI_CALLING_Q_FROM_V, "value_iteration", {"np": np, "q_from_v": broken})
    with pytest.raises(CheckFailed, match=r"note: value_iteration calls your `q_from_v`"):
        checks.check_value_iteration(fn)
    capsys.readouterr()  # the failure printed above
    good = gradelib.define(VI_CALLING_Q_FROM_V, "value_iteration", {"np": np, "q_from_v": ref.q_from_v})
    checks.check_value_iteration(good)
    assert "note:" not in capsys.readouterr().out


def test_visible_value_iteration_check_names_a_swapped_v_and_q():
    def value_iteration(P, R, gamma, tol=1e-10):
        V, Q = ref.value_iteration(P, R, gamma, tol)
        return Q, V

    with pytest.raises(CheckFailed, match=r"you returned \(Q, V\)"):
        checks.check_value_iteration(value_iteration)
