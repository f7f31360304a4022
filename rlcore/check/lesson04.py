"""Visible checks for lesson 04: value functions, Bellman equations, the mean-squared Bellman error.

The cases are small and known: a two- and a three-state chain worked by hand, a 2x2 MDP whose
backup fits on a line, and the 5x5 gridworld whose values are figures 3.2 and 3.5 of Sutton &
Barto, plus a list and a bool-dones input. When a result is what a catalogued mistake
(``rlcore/catalog/lesson04.py``) gives on the same inputs, the hint names it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import values as ref
from ..mdp import gridworld
from ._core import Checker, check, close

__all__ = [
    "check_greedy_policy",
    "check_mean_squared_bellman_error",
    "check_policy_evaluation",
    "check_policy_evaluation_exact",
    "check_q_from_v",
    "check_value_iteration",
]


def _chain() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two states, one action: 0 -> 1 with reward 1, then 1 -> 1 with reward 0 forever."""
    P = np.zeros((2, 1, 2))
    P[0, 0, 1] = P[1, 0, 1] = 1.0
    return P, np.array([[1.0], [0.0]]), np.ones((2, 1))


def _chain3() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three states, one action: 0 -> 1 (reward 0), 1 -> 2 (reward 1), 2 absorbing (reward 0).

    Episodic, so even a backup without gamma converges (to a wrong value we can name)
    instead of running forever.
    """
    P = np.zeros((3, 1, 3))
    P[0, 0, 1] = P[1, 0, 2] = P[2, 0, 2] = 1.0
    return P, np.array([[0.0], [1.0], [0.0]]), np.ones((3, 1))


def _small_mdp() -> tuple[np.ndarray, np.ndarray]:
    """Two states, two actions; small enough to back up by hand."""
    P = np.array([[[1.0, 0.0], [0.0, 1.0]],
                  [[1.0, 0.0], [0.5, 0.5]]])
    R = np.array([[0.0, 1.0], [2.0, 0.0]])
    return P, R


def _grid_uniform() -> tuple[Any, np.ndarray, np.ndarray]:
    mdp = gridworld()
    pi = ref.uniform_policy(25, 4)
    return mdp, pi, ref.policy_evaluation_exact(mdp.P, mdp.R, pi, 0.9)


def _episodic_2x2() -> tuple[np.ndarray, np.ndarray]:
    """Two states, two actions, episodic: from 0, action 0 earns 1 and ends with probability 1/2,
    action 1 earns 0.5 and ends; state 1 is absorbing with reward 0. With gamma = 0.5,
    V*(0) = 1 + 0.5 * 0.5 V*(0), so V* = [4/3, 0]."""
    P = np.array([[[0.5, 0.5], [0.0, 1.0]],
                  [[0.0, 1.0], [0.0, 1.0]]])
    return P, np.array([[1.0, 0.5], [0.0, 0.0]])


def _stopped_early(got: Any, expected: np.ndarray) -> bool:
    """True when ``got`` is near ``expected`` (within 0.5) but not equal: a loop stopped too soon."""
    return not close(got, expected) and close(got, expected, atol=0.5)


def _evaluation_body(c: Checker, iterative: bool) -> None:
    known = {} if iterative else {"Singular matrix": c.says("no_gamma")}

    def chains() -> None:
        P, R, pi = _chain()
        got = c.call_naming(known, P, R, pi, 0.5)
        c.expect_close(got, np.array([1.0, 0.0]),
                       "state 1 earns 0 forever, so V(1) = 0; state 0 earns 1 once, then V(1): "
                       "V(0) = 1 + gamma * 0 = 1.", what="two-state chain, gamma=0.5")
        c.expect(isinstance(got, np.ndarray), type(got).__name__, "a numpy array",
                 "return np.array(...) with one value per state.", what="type")
        P3, R3, pi3 = _chain3()
        c.expect_close(c.call_naming(known, P3, R3, pi3, 0.5), np.array([0.5, 1.0, 0.0]),
                       "state 1 earns 1 and ends: V(1) = 1; state 0 earns 0, then gets V(1) one step "
                       "later: V(0) = 0 + gamma V(1) = 0.5.",
                       what="chain 0 -> 1 -> 2 (absorbing), rewards 0, 1, 0, gamma=0.5")
        got = c.call_naming({"": c.says("lists_rejected")}, P3.tolist(), R3.tolist(), pi3.tolist(), 0.5)
        c.expect_close(got, np.array([0.5, 1.0, 0.0]), c.says("lists_rejected"),
                       what="the same chain as nested lists")

    def two_actions() -> None:
        P2, R2 = _small_mdp()
        pi2 = np.array([[0.25, 0.75], [1.0, 0.0]])
        got = c.call_naming(known, P2, R2, pi2, 0.5)
        c.expect_close(got, ref.policy_evaluation_exact(P2, R2, pi2, 0.5),
                       "weight each action's reward and next values by pi(a|s).",
                       what="2 states, 2 actions, pi = [[0.25, 0.75], [1, 0]], gamma=0.5")

    # an iterative version without gamma loops forever on a continuing MDP: the episodic chains
    # come first for it; one-action chains cannot tell the transposes of P apart: the 2x2 MDP
    # comes first for the exact solve
    for step in ((chains, two_actions) if iterative else (two_actions, chains)):
        step()
    mdp, upi, expected = _grid_uniform()
    got = c.call_naming(known, mdp.P, mdp.R, upi, 0.9)
    hint = ("compare with figure 3.2 (top-left row 3.3 8.8 4.4 5.3 1.5): V(s) = sum_a pi(a|s) "
            "[R(s, a) + gamma sum_s' P(s'|s, a) V(s')].")
    if iterative and _stopped_early(got, expected):
        hint = c.says("not_converged")
    c.expect_close(got, expected, hint, what="figure 3.2: gridworld, uniform random pi, gamma=0.9")


@check("policy_evaluation", extra="Your V matches figure 3.2.")
def check_policy_evaluation(c: Checker) -> None:
    """Check iterative policy evaluation on two chains (one as lists), a 2x2 MDP and figure 3.2."""
    _evaluation_body(c, iterative=True)


@check("policy_evaluation_exact", extra="Your V matches figure 3.2.")
def check_policy_evaluation_exact(c: Checker) -> None:
    """Check exact (linear-solve) policy evaluation on two chains (one as lists), a 2x2 MDP and figure 3.2."""
    _evaluation_body(c, iterative=False)


@check("q_from_v")
def check_q_from_v(c: Checker) -> None:
    """Check one backup Q(s, a) = R(s, a) + gamma sum_s' P(s'|s, a) V(s') on a 2x2 MDP and the gridworld."""
    P, R = _small_mdp()
    V = np.array([1.0, 2.0])
    expected = np.array([[0.0 + 0.5 * 1.0, 1.0 + 0.5 * 2.0],
                         [2.0 + 0.5 * 1.0, 0.0 + 0.5 * (0.5 * 1.0 + 0.5 * 2.0)]])
    c.expect_close(c.call(P, R, V, 0.5), expected,
                   "Q(s, a) = R(s, a) + gamma sum_s' P(s'|s, a) V(s'); e.g. Q(1, 1) = 0 + 0.5 * "
                   "(0.5 * 1 + 0.5 * 2) = 0.75.", what="[[0.5, 2.0], [2.5, 0.75]]")
    got = c.call_naming({"": c.says("lists_rejected")}, P.tolist(), R.tolist(), V.tolist(), 0.5)
    c.expect_close(got, expected, c.says("lists_rejected"), what="the same MDP as nested lists")
    mdp, _pi, V_pi = _grid_uniform()
    got = c.call(mdp.P, mdp.R, V_pi, 0.9)
    c.expect_close(got, ref.q_from_v(mdp.P, mdp.R, V_pi, 0.9),
                   "with V = V^pi, Q = q_from_v(V) is Q^pi and V^pi(s) = sum_a pi(a|s) Q^pi(s, a): "
                   "shape (25, 4) on the gridworld.", what="Q^pi on the gridworld")


def _q_from_v_works(q_from_v: Any) -> bool:
    """A quick test of a learner's q_from_v on the gridworld with a made-up V."""
    mdp = gridworld()
    V = np.linspace(-1.0, 2.0, mdp.P.shape[0])
    return close(np.asarray(q_from_v(mdp.P, mdp.R, V, 0.9), dtype=float),
                 ref.q_from_v(mdp.P, mdp.R, V, 0.9))


def _pair(c: Checker, out: Any, n_states: int) -> tuple[np.ndarray, np.ndarray]:
    __tracebackhide__ = True
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        only_v = np.shape(out) == (n_states,)
        c.expect(False, type(out).__name__, "a tuple (V, Q)",
                 c.says("returns_only_V") if only_v else "return both: `return V, Q`.")
    shapes = tuple(np.shape(x) for x in out)
    c.expect(len(shapes[0]) != 2 or len(shapes[1]) != 1, f"shapes {shapes}",
             f"V of shape ({n_states},), then Q of shape ({n_states}, A)", c.says("returns_Q_V"),
             what="the order of (V, Q)")
    return tuple(np.asarray(x, dtype=float) for x in out)


@check("value_iteration", extra="Your V* matches figure 3.5.", helpers={"q_from_v": _q_from_v_works})
def check_value_iteration(c: Checker) -> None:
    """Check value iteration on an episodic 2x2 MDP (also as lists), a continuing one and figure 3.5 (V*, Q*)."""
    P1, R1 = _episodic_2x2()  # first an episodic case, where even a loop without gamma stops
    V, _ = _pair(c, c.call(P1, R1, 0.5), 2)
    c.expect_close(V, np.array([4 / 3, 0.0]),
                   "V*(1) = 0 (absorbing); in state 0, action 0 is best: V*(0) = 1 + gamma (0.5 V*(0) "
                   "+ 0.5 V*(1)), so V*(0) = 1 / (1 - 0.25) = 4/3.", part=0,
                   what="V* of an episodic 2x2 MDP, gamma=0.5")
    out = c.call_naming({"": c.says("lists_rejected")}, P1.tolist(), R1.tolist(), 0.5)
    V, _ = _pair(c, out, 2)
    c.expect_close(V, np.array([4 / 3, 0.0]), c.says("lists_rejected"), part=0,
                   what="the same MDP as nested lists")
    P2, R2 = _small_mdp()
    V, Q = _pair(c, c.call(P2, R2, 0.5), 2)
    V2, _Q2 = ref.value_iteration(P2, R2, 0.5)
    c.expect_close(V, V2, "V*(s) = max_a [R(s, a) + gamma sum_s' P(s'|s, a) V*(s')]: the max over "
                   "the actions of each state.", part=0, what="V* of the 2x2 MDP, gamma=0.5")
    mdp = gridworld()
    V, Q = _pair(c, c.call(mdp.P, mdp.R, 0.9), 25)
    V_star, Q_star = ref.value_iteration(mdp.P, mdp.R, 0.9)
    hint = ("compare with figure 3.5 (top-left row 22.0 24.4 22.0 19.4 17.5): "
            "V(s) <- max_a [R(s, a) + gamma sum_s' P(s'|s, a) V(s')] until it stops changing.")
    if _stopped_early(V, V_star):
        hint = c.says("not_converged")
    c.expect_close(V, V_star, hint, what="V*, figure 3.5", part=0)
    c.expect_close(Q, Q_star, "Q*(s, a) = R(s, a) + gamma sum_s' P(s'|s, a) V*(s'), shape (S, A).",
                   what="Q*", part=1)
    c.expect_close(Q.max(axis=1), V, "V*(s) = max_a Q*(s, a) must hold for what you return.",
                   what="max_a Q*(s, a) = V*(s)")


@check("greedy_policy")
def check_greedy_policy(c: Checker) -> None:
    """Check the one-hot greedy policy on a square Q, ties (lowest index wins) and a list."""
    hint = "one-hot rows: pi[s, argmax_a Q[s, a]] = 1, 0 elsewhere (one row per state)."
    Q = np.array([[1.0, 3.0, 2.0], [0.5, -1.0, 0.0], [0.0, 0.2, -0.5]])
    c.expect_close(c.call(Q), np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), hint,
                   what="a 3x3 Q")
    Q = np.array([[2.0, 5.0, 5.0], [0.0, 0.0, 0.0]])
    c.expect_close(c.call(Q), np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]),
                   "ties go to the LOWEST action index (np.argmax returns the first maximum).",
                   what="ties")
    got = c.call_naming({"": c.says("lists_rejected")}, [[0.5, -1.0], [1.0, 2.0]])
    c.expect_close(got, np.array([[1.0, 0.0], [0.0, 1.0]]), c.says("lists_rejected"),
                   what="Q as a nested list")


@check("mean_squared_bellman_error")
def check_mean_squared_bellman_error(c: Checker) -> None:
    """Check the MSBE on batches worked by hand: float and bool dones, B = A, lists, gamma = 0."""
    q_sa = np.array([1.0, 2.5, 2.0])
    rewards = np.array([0.5, 1.0, 1.0])
    next_q = np.array([[1.0, 3.0, 0.0], [0.0, -1.0, -2.0], [5.0, 4.0, 5.0]])  # B = A = 3
    dones = np.array([0.0, 0.0, 1.0])
    # targets y = r + 0.5 (1 - d) max_a' next_q = [2.0, 1.0, 1.0]; errors [-1, 1.5, 1]
    got = c.call_naming({"ufunc 'invert'": c.says("invert_float_dones")}, q_sa, rewards, next_q, dones, 0.5)
    c.expect_close(got, 4.25 / 3, "targets y = r + gamma (1 - d) max_a' Q(s', a') = [2, 1, 1]; errors "
                   "q - y = [-1, 1.5, 1]; their mean square is (1 + 2.25 + 1) / 3 = 1.4167.",
                   what="mean of [1, 2.25, 1]")
    c.expect(np.ndim(got) == 0, got, "one number", "return a float: the mean over the batch.", what="shape")
    got = c.call(q_sa, rewards, next_q, np.zeros(3), 0.0)
    c.expect_close(got, (0.5 ** 2 + 1.5 ** 2 + 1.0 ** 2) / 3, "with gamma = 0 the target is just r.",
                   what="gamma=0")
    q3, r3 = np.array([1.0, 0.5, 2.0]), np.array([1.0, 1.0, -1.0])
    nq3 = np.array([[0.0, 2.0, 1.0], [3.0, 1.0, 0.0], [1.0, 0.0, 4.0]])
    d3 = np.array([False, True, False])
    # targets [1 + 0.5 * 2, 1, -1 + 0.5 * 4] = [2, 1, 1]; errors [-1, -0.5, 1]
    c.expect_close(c.call(q3, r3, nq3, d3, 0.5), 0.75,
                   "bool dones work like 0/1: targets [2, 1, 1], errors [-1, -0.5, 1]; the max runs "
                   "over the actions of each transition (axis=1).", what="bool dones, B = A = 3")
    got = c.call_naming({"": c.says("lists_rejected")}, q3.tolist(), r3.tolist(), nq3.tolist(),
                        d3.tolist(), 0.5)
    c.expect_close(got, 0.75, c.says("lists_rejected"), what="the same batch as lists")
