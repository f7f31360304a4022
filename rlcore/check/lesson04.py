"""Visible checks for lesson 04: value functions, Bellman equations, the mean-squared Bellman error.

The cases are small and known: a two-state chain worked by hand, a 2x2 MDP whose
backup fits on a line, and the 5x5 gridworld whose values are figures 3.2 and 3.5 of
Sutton & Barto. When a result matches a typical mistake, the hint names it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import values as ref
from ..mdp import gridworld
from ._core import Checker, close, run_check

__all__ = [
    "check_greedy_policy",
    "check_mean_squared_bellman_error",
    "check_policy_evaluation",
    "check_policy_evaluation_exact",
    "check_q_from_v",
    "check_value_iteration",
]


def _hint(got: Any, expected: Any, known: dict[str, Any], default: str) -> str:
    """The hint of the first known mistake whose value ``got`` matches, else ``default``."""
    for hint, wrong in known.items():
        if close(got, wrong, atol=1e-4) and not close(expected, wrong, atol=1e-4):
            return hint
    return default


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


def _evaluation_mistakes(P: np.ndarray, R: np.ndarray, pi: np.ndarray, gamma: float) -> dict:
    """{hint: the value V^pi a typical wrong policy evaluation returns}."""
    S = len(R)
    P_pi = np.einsum("sa,sat->st", pi, P)
    R_pi = (pi * R).sum(axis=1)
    return {
        "these are the values of V*: you took the max over actions; V^pi weights each action by "
        "pi(a|s) (the Bellman *expectation* equation).": ref.value_iteration(P, R, gamma)[0],
        "the rewards are not weighted by pi(a|s): R_pi(s) = sum_a pi(a|s) R(s, a).":
            np.linalg.solve(np.eye(S) - gamma * P_pi, R.mean(axis=1)),
        "the transitions are not weighted by pi(a|s): P_pi(s'|s) = sum_a pi(a|s) P(s'|s, a).":
            np.linalg.solve(np.eye(S) - gamma * P.mean(axis=1), R_pi),
        "the transitions look transposed: P[s, a, s'] is the probability of s -> s', so sum over "
        "the last axis of P.": np.linalg.solve(np.eye(S) - gamma * np.einsum("sa,tas->st", pi, P), R_pi),
    }


def _is_truncated_sweep(got: Any, P: np.ndarray, R: np.ndarray, pi: np.ndarray, gamma: float,
                        expected: np.ndarray) -> bool:
    """True when ``got`` is V after 1..500 synchronous sweeps from 0 (and not the converged V)."""
    if close(got, expected):
        return False
    V = np.zeros(P.shape[0])
    for _ in range(500):
        V = np.sum(pi * (R + gamma * P @ V), axis=1)
        if close(got, V, atol=1e-6):
            return True
    return False


def _evaluation_body(c: Checker, what: str) -> None:
    P, R, pi = _chain()
    got = c.call(P, R, pi, 0.5)
    c.expect_close(got, np.array([1.0, 0.0]),
                   "state 1 earns 0 forever, so V(1) = 0; state 0 earns 1 once, then V(1): "
                   "V(0) = 1 + gamma * 0 = 1.", what="two-state chain, gamma=0.5")
    c.expect(isinstance(got, np.ndarray), type(got).__name__, "a numpy array",
             "return np.array(...) with one value per state.")
    P3, R3, pi3 = _chain3()
    c.expect_close(c.call(P3, R3, pi3, 0.5), np.array([0.5, 1.0, 0.0]),
                   "state 1 earns 1 and ends: V(1) = 1; state 0 earns 0, then gets V(1) one step "
                   "later: V(0) = 0 + gamma V(1) = 0.5. Did you multiply V(s') by gamma?",
                   what="chain 0 -> 1 -> 2 (absorbing), rewards 0, 1, 0, gamma=0.5")
    P2, R2 = _small_mdp()
    pi2 = np.array([[0.25, 0.75], [1.0, 0.0]])
    expected2 = ref.policy_evaluation_exact(P2, R2, pi2, 0.5)
    got = c.call(P2, R2, pi2, 0.5)
    hint = _hint(got, expected2, _evaluation_mistakes(P2, R2, pi2, 0.5),
                 "weight each action's reward and next values by pi(a|s).")
    if what == "iterative" and _is_truncated_sweep(got, P2, R2, pi2, 0.5, expected2):
        hint = ("close, but not converged: this is V after a fixed number of sweeps; sweep until the "
                "largest change max_s |V_new - V| is below tol.")
    c.expect_close(got, expected2, hint, what="2 states, 2 actions, pi = [[0.25, 0.75], [1, 0]], gamma=0.5")
    mdp, upi, expected = _grid_uniform()
    got = c.call(mdp.P, mdp.R, upi, 0.9)
    hint = _hint(got, expected, _evaluation_mistakes(mdp.P, mdp.R, upi, 0.9),
                 "compare with figure 3.2 (top-left row 3.3 8.8 4.4 5.3 1.5): V(s) = sum_a pi(a|s) "
                 "[R(s, a) + gamma sum_s' P(s'|s, a) V(s')].")
    if what == "iterative" and not close(got, expected) and close(got, expected, atol=0.5):
        hint = ("close, but not converged: sweep until the largest change max_s |V_new - V| is "
                "below tol.")
    c.expect_close(got, expected, hint, what="figure 3.2: gridworld, uniform random pi, gamma=0.9")


def check_policy_evaluation(fn: Any) -> None:
    """Check iterative policy evaluation on two chains, a 2x2 MDP and figure 3.2."""
    __tracebackhide__ = True
    run_check("policy_evaluation", fn, lambda c: _evaluation_body(c, "iterative"),
              extra="Your V matches figure 3.2.")


def check_policy_evaluation_exact(fn: Any) -> None:
    """Check exact (linear-solve) policy evaluation on two chains, a 2x2 MDP and figure 3.2."""
    __tracebackhide__ = True
    run_check("policy_evaluation_exact", fn, lambda c: _evaluation_body(c, "exact"),
              extra="Your V matches figure 3.2.")


def check_q_from_v(fn: Any) -> None:
    """Check one backup Q(s, a) = R(s, a) + gamma sum_s' P(s'|s, a) V(s') on a 2x2 MDP."""
    __tracebackhide__ = True

    def body(c: Checker) -> None:
        P, R = _small_mdp()
        V = np.array([1.0, 2.0])
        expected = np.array([[0.0 + 0.5 * 1.0, 1.0 + 0.5 * 2.0],
                             [2.0 + 0.5 * 1.0, 0.0 + 0.5 * (0.5 * 1.0 + 0.5 * 2.0)]])
        got = c.call(P, R, V, 0.5)
        hint = _hint(got, expected, {
            "gamma is missing: Q(s, a) = R(s, a) + gamma * sum_s' P(s'|s, a) V(s').": R + P @ V,
            "you used V(s) (the current state) instead of V(s') (the next one).": R + 0.5 * V[:, None],
            "P's axes look transposed: sum over the LAST axis of P, the next state s'.":
                R + 0.5 * np.einsum("tas,t->sa", P, V),
        }, "Q(s, a) = R(s, a) + gamma sum_s' P(s'|s, a) V(s'); e.g. Q(1, 1) = 0 + 0.5 * "
           "(0.5 * 1 + 0.5 * 2) = 0.75.")
        c.expect_close(got, expected, hint, what="[[0.5, 2.0], [2.5, 0.75]]")
        mdp, pi, V_pi = _grid_uniform()
        got = c.call(mdp.P, mdp.R, V_pi, 0.9)
        c.expect_close(np.sum(pi * np.asarray(got, dtype=float), axis=1), V_pi,
                       "with V = V^pi, Q = q_from_v(V) is Q^pi and V^pi(s) = sum_a pi(a|s) Q^pi(s, a).",
                       what="sum_a pi(a|s) Q^pi(s, a) = V^pi(s) on the gridworld")

    run_check("q_from_v", fn, body)


def check_value_iteration(fn: Any) -> None:
    """Check value iteration on a three-state chain and on figure 3.5 (V*), with Q* consistent."""
    __tracebackhide__ = True

    def body(c: Checker) -> None:
        P3, R3, _ = _chain3()  # first an episodic case, where even a loop without gamma stops
        out = c.call(P3, R3, 0.5)
        c.expect(isinstance(out, tuple) and len(out) == 2, type(out).__name__, "a tuple (V, Q)",
                 "return both: `return V, Q`.")
        shapes = tuple(np.shape(x) for x in out)
        c.expect(shapes != ((3, 1), (3,)), f"shapes {shapes}", "V of shape (3,), then Q of shape (3, 1)",
                 "you returned (Q, V): return them in the order (V, Q).", what="the order of (V, Q)")
        c.expect_close(np.asarray(out[0], dtype=float), np.array([0.5, 1.0, 0.0]),
                       "one action per state, so V* is that action's value: V(1) = 1, V(0) = 0 + "
                       "gamma V(1) = 0.5. Did you multiply V(s') by gamma?",
                       what="V* of the chain 0 -> 1 -> 2 (absorbing), rewards 0, 1, 0, gamma=0.5")
        mdp = gridworld()
        out = c.call(mdp.P, mdp.R, 0.9)
        V, Q = (np.asarray(x, dtype=float) for x in out)
        V_star, Q_star = ref.value_iteration(mdp.P, mdp.R, 0.9)
        V_unif = _grid_uniform()[2]
        hint = _hint(V, V_star, {
            "these are V^pi of the uniform random policy: V*(s) takes the MAX over actions.": V_unif,
            "V* holds values max_a Q(s, a), not the actions argmax_a.": Q_star.argmax(axis=1),
        }, "compare with figure 3.5 (top-left row 22.0 24.4 22.0 19.4 17.5): "
           "V(s) <- max_a [R(s, a) + gamma sum_s' P(s'|s, a) V(s')] until it stops changing.")
        if not close(V, V_star) and close(V, V_star, atol=0.5):
            hint = "close, but not converged: sweep until max_s |V_new - V| is below tol."
        c.expect_close(V, V_star, hint, what="V*, figure 3.5")
        c.expect_close(Q, Q_star, "Q*(s, a) = R(s, a) + gamma sum_s' P(s'|s, a) V*(s'), shape (S, A).",
                       what="Q*")
        c.expect_close(Q.max(axis=1), V, "V*(s) = max_a Q*(s, a) must hold for what you return.",
                       what="max_a Q*(s, a) = V*(s)")

    run_check("value_iteration", fn, body, extra="Your V* matches figure 3.5.",
              helpers={"q_from_v": _q_from_v_works})


def _q_from_v_works(q_from_v: Any) -> bool:
    """A quick test of a learner's q_from_v on the gridworld with a made-up V."""
    mdp = gridworld()
    V = np.linspace(-1.0, 2.0, mdp.P.shape[0])
    return close(np.asarray(q_from_v(mdp.P, mdp.R, V, 0.9), dtype=float),
                 ref.q_from_v(mdp.P, mdp.R, V, 0.9))


def check_greedy_policy(fn: Any) -> None:
    """Check the one-hot greedy policy, including ties (lowest index wins)."""
    __tracebackhide__ = True

    def body(c: Checker) -> None:
        Q = np.array([[1.0, 3.0, 2.0], [0.5, -1.0, 0.0]])
        c.expect_close(c.call(Q), np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]),
                       "pi[s, a] = 1 for the action with the largest Q[s, a] in each row, 0 elsewhere "
                       "(one row per state).")
        Q = np.array([[2.0, 5.0, 5.0], [0.0, 0.0, 0.0]])
        got = c.call(Q)
        expected = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
        hint = _hint(got, expected, {
            "ties go to the LOWEST action index (np.argmax returns the first maximum).":
                np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]]),
            "put all the probability on one action, the lowest index among the ties.":
                np.array([[0.0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]]),
        }, "one-hot rows: pi[s, argmax_a Q[s, a]] = 1, ties to the lowest index.")
        c.expect_close(got, expected, hint, what="ties")

    run_check("greedy_policy", fn, body)


def check_mean_squared_bellman_error(fn: Any) -> None:
    """Check the MSBE on a three-transition batch worked by hand (one terminal transition)."""
    __tracebackhide__ = True

    def body(c: Checker) -> None:
        q_sa = np.array([1.0, 2.0, 0.0])
        rewards = np.array([0.5, 1.0, 1.0])
        next_q = np.array([[1.0, 3.0], [0.0, -1.0], [5.0, 5.0]])
        dones = np.array([0.0, 0.0, 1.0])
        # targets y = r + 0.5 (1 - d) max_a' next_q: [2.0, 1.0, 1.0]; errors [-1, 1, -1]
        got = c.call(q_sa, rewards, next_q, dones, 0.5)
        hint = _hint(got, 1.0, {
            "(1 - done) is missing: the last transition is terminal, so its target is just r = 1.":
                (1 + 1 + 3.5 ** 2) / 3,
            "you summed the squared errors; take their mean.": 3.0,
            "you averaged next_q over actions; the target uses max_a' Q(s', a').":
                ((1 - 1.5) ** 2 + (2 - 0.75) ** 2 + 1) / 3,
        }, "targets y = r + gamma (1 - d) max_a' Q(s', a') = [2, 1, 1]; errors q - y = "
           "[-1, 1, -1]; their mean square is 1.")
        c.expect_close(got, 1.0, hint, what="mean of [1, 1, 1]")
        c.expect(np.ndim(got) == 0, got, "one number", "return a float: the mean over the batch.")
        got = c.call(q_sa, rewards, next_q, np.zeros(3), 0.0)
        c.expect_close(got, ((1 - 0.5) ** 2 + 1.0 + 1.0) / 3,
                       "with gamma = 0 the target is just r.", what="gamma=0")

    run_check("mean_squared_bellman_error", fn, body)
