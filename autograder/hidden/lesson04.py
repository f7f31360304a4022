"""Hidden tests of lesson 04: value functions of tabular MDPs and the mean-squared Bellman error.

Every case draws a fresh random MDP (random S and A, dense or sparse P, Normal(0, 1)
rewards, gamma in (0, 1)); expected values come from rlcore.values, checked against an
independent method (exact solve vs iteration). Any correct implementation passes: any
sweep order, in-place or synchronous updates, loops or matrix forms.

The first case of policy_evaluation and value_iteration is an *episodic* MDP (an
absorbing zero-reward state reached with probability >= 0.1 per step), so that a
version without gamma still converges and its mistake can be named instead of looping.
Mistakes each test names are listed in docs/exercises/04.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from rlcore import gridworld
from rlcore.check import fmt
from rlcore.values import (
    greedy_policy,
    policy_evaluation,
    policy_evaluation_exact,
    q_from_v,
    random_mdp,
    uniform_policy,
    value_iteration,
)

from . import Case, Mistake, call_case, exercise, expect_close, obs_array

NOT_CONVERGED = ("your values are close to the right ones but not converged: keep sweeping until "
                 "the largest change of a sweep, max_s |V_new(s) - V(s)|, is below tol (a fixed "
                 "number of sweeps is not enough when gamma is close to 1).")


# ------------------------------------------------------------------ random problems
def _policy(rng: np.random.Generator, S: int, A: int, deterministic: bool = False) -> np.ndarray:
    if deterministic:
        return np.eye(A)[rng.integers(A, size=S)]
    pi = rng.exponential(size=(S, A))
    return pi / pi.sum(axis=1, keepdims=True)


def _problems(rng: np.random.Generator) -> list[dict]:
    """MDPs for the evaluation/iteration exercises; the episodic one first (see module doc)."""
    out = []

    def add(S, A, density, gamma, terminal=False, kind="random"):
        mdp = random_mdp(S, A, rng, density=density, terminal=terminal)
        out.append({"P": mdp.P, "R": np.round(mdp.R, 3), "gamma": gamma, "kind": kind,
                    "episodic": terminal})

    n = int(rng.integers(3, 6))  # square (S == A) too, so that a max over the wrong axis runs
    add(n, n, 1.0, float(np.round(rng.uniform(0.8, 0.95), 3)), terminal=True, kind="episodic")
    add(int(rng.integers(6, 11)), int(rng.integers(2, 5)), 1.0, float(np.round(rng.uniform(0.5, 0.9), 3)))
    add(int(rng.integers(6, 11)), int(rng.integers(2, 5)), 0.2, float(np.round(rng.uniform(0.3, 0.8), 3)),
        kind="sparse")
    S = int(rng.integers(3, 6))
    add(S, S, 0.5, float(np.round(rng.uniform(0.97, 0.99), 3)), kind="square")  # S == A, gamma ~ 1
    return out


def _desc(p: dict, extra: str = "") -> str:
    """The arguments of a call on problem ``p``, for messages (arrays by shape)."""
    S, A, _ = p["P"].shape
    article = "an" if p["kind"][0] in "aeiou" else "a"
    return f"P ({S}, {A}, {S}) of {article} {p['kind']} MDP, R ({S}, {A}){extra}, gamma={p['gamma']}"


def _solve(P_pi: np.ndarray, R_pi: np.ndarray, gamma: float) -> np.ndarray | None:
    """Solve (I - gamma P_pi) V = R_pi; None when singular (the wrong model has no value)."""
    try:
        V = np.linalg.solve(np.eye(len(R_pi)) - gamma * P_pi, R_pi)
    except np.linalg.LinAlgError:
        return None
    return V if np.all(np.isfinite(V)) and np.abs(V).max() < 1e8 else None


def _expectation_sweep(P: np.ndarray, R: np.ndarray, pi: np.ndarray,
                       gamma: float) -> Callable[[np.ndarray], np.ndarray]:
    """One synchronous Bellman expectation backup V -> R_pi + gamma P_pi V."""
    P_pi = np.einsum("sa,sat->st", pi, P)
    R_pi = (pi * R).sum(axis=1)
    return lambda V: R_pi + gamma * P_pi @ V


def _undiscounted(P: np.ndarray, R: np.ndarray, pi: np.ndarray) -> np.ndarray:
    """V^pi with gamma = 1 on an episodic MDP (the last state is terminal)."""
    return policy_evaluation(P, R, pi, 1.0)


def _close_hint(got: Any, expected: np.ndarray, hint: str,
                sweep: Callable[[np.ndarray], np.ndarray] | None = None) -> str:
    """Name an iteration stopped too early, else return ``hint``.

    sweep: one synchronous backup V -> V'; when ``got`` equals the k-th iterate from
    V = 0, the message says the loop stopped after k sweeps. Otherwise a result near
    ``expected`` (an in-place loop stopped early) gets NOT_CONVERGED.
    """
    g = obs_array(got)
    if g is None or g.shape != expected.shape:
        return hint
    if sweep is not None:
        V = np.zeros_like(expected)
        for k in range(1, 5001):
            V_next = sweep(V)
            if np.allclose(g, V_next, rtol=1e-7, atol=1e-7) and not np.allclose(g, expected, atol=1e-6):
                return (f"your values equal those after {k} sweeps from V = 0, which are not "
                        f"converged yet: {NOT_CONVERGED}")
            if np.abs(V_next - V).max() < 1e-12:
                break
            V = V_next
    err = np.abs(g - expected).max()
    if 1e-6 < err < 0.25 * (1.0 + np.abs(expected).max()):
        return NOT_CONVERGED
    return hint


def _drop_none(mistakes: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mistakes.items() if v is not None}


def _evaluation_mistakes(P: np.ndarray, R: np.ndarray, pi: np.ndarray, gamma: float,
                         episodic: bool) -> dict[str, Any]:
    """Values that the usual wrong versions of policy evaluation converge to."""
    P_pi = np.einsum("sa,sat->st", pi, P)
    R_pi = (pi * R).sum(axis=1)
    m = {
        "you took the max over actions (that is V*, the Bellman *optimality* equation); V^pi "
        "averages over actions with the policy's probabilities pi(a|s)":
            value_iteration(P, R, gamma)[0],
        "the rewards are not weighted by pi(a|s): R_pi(s) = sum_a pi(a|s) R(s, a)":
            _solve(P_pi, R.sum(axis=1), gamma),
        "the rewards are averaged uniformly over actions; weight them by pi(a|s)":
            _solve(P_pi, R.mean(axis=1), gamma),
        "the transitions ignore the policy: P_pi(s'|s) = sum_a pi(a|s) P(s'|s, a)":
            _solve(P.mean(axis=1), R_pi, gamma),
        "P's axes are transposed: P[s, a, s'] is the probability of moving from s to s'":
            _solve(np.einsum("sa,tas->st", pi, P), R_pi, gamma),
        "P_pi is transposed: P_pi[s, s'] = sum_a pi(a|s) P(s'|s, a) has one row per current state":
            _solve(P_pi.T, R_pi, gamma),
        "you bootstrapped from V(s) instead of V(s'): the backup needs sum_s' P(s'|s, a) V(s')":
            R_pi / (1.0 - gamma),
        "one backup is not enough: V^pi = R_pi + gamma P_pi V^pi must be solved (or iterated "
        "to convergence), not applied once to R_pi":
            R_pi + gamma * P_pi @ R_pi,
    }
    if episodic:
        m["gamma is missing: the backup is r + gamma * V(s'), not r + V(s')"] = _undiscounted(P, R, pi)
    return _drop_none(m)


# ------------------------------------------------------------------ policy evaluation
def _evaluation_cases(name: str, rng: np.random.Generator) -> list[Case]:
    cases = []
    for i, p in enumerate(_problems(rng)):
        P, R, g = p["P"], p["R"], p["gamma"]
        S, A, _ = P.shape
        pi = _policy(rng, S, A, deterministic=(i == 2))
        expected = policy_evaluation_exact(P, R, pi, g)
        kwargs = {"tol": 1e-11} if (name == "policy_evaluation" and i == 1) else {}
        desc = _desc(p, f", pi ({S}, {A})") + (", tol=1e-11" if kwargs else "")
        call = f"{name}({desc})"

        def judge(o, P=P, R=R, pi=pi, g=g, expected=expected, call=call, episodic=p["episodic"]):
            hint = ("V^pi(s) = sum_a pi(a|s) [R(s, a) + gamma sum_s' P(s'|s, a) V^pi(s')]; "
                    "return one value per state.")
            if name == "policy_evaluation":
                hint = _close_hint(o["out"], expected, hint, _expectation_sweep(P, R, pi, g))
            expect_close(o["out"], expected, call, _evaluation_mistakes(P, R, pi, g, episodic),
                         hint=hint)
        cases.append(call_case(name, [P, R, pi, g], kwargs, judge=judge, desc=desc))
    # the book's figure 3.2: gridworld, uniform random policy, gamma = 0.9
    mdp = gridworld(float(np.round(rng.uniform(0.0, 0.3), 2)))
    pi = uniform_policy(25, 4)
    expected = policy_evaluation_exact(mdp.P, mdp.R, pi, 0.9)
    desc = f"<{mdp.name}>.P, .R, uniform pi, gamma=0.9"
    call = f"{name}({desc})"

    def judge_grid(o, mdp=mdp, pi=pi, expected=expected, call=call):
        expect_close(o["out"], expected, call, _evaluation_mistakes(mdp.P, mdp.R, pi, 0.9, False),
                     hint=_close_hint(o["out"], expected, "compare with figure 3.2 of the lesson.",
                                      _expectation_sweep(mdp.P, mdp.R, pi, 0.9)))
    cases.append(call_case(name, [mdp.P, mdp.R, pi, 0.9], judge=judge_grid, desc=desc))
    return cases


@exercise("policy_evaluation")
def policy_evaluation_spec(rng: np.random.Generator) -> list[Case]:
    return _evaluation_cases("policy_evaluation", rng)


@exercise("policy_evaluation_exact")
def policy_evaluation_exact_spec(rng: np.random.Generator) -> list[Case]:
    return _evaluation_cases("policy_evaluation_exact", rng)


# ------------------------------------------------------------------ q_from_v
@exercise("q_from_v")
def q_from_v_spec(rng: np.random.Generator) -> list[Case]:
    cases = []
    for p in _problems(rng)[1:]:
        P, R, g = p["P"], p["R"], p["gamma"]
        V = np.round(rng.normal(0, 3, size=P.shape[0]), 3)
        expected = q_from_v(P, R, V, g)
        desc = _desc(p).replace(", gamma", f", V {fmt(V, 60)}, gamma")
        call = f"q_from_v({desc})"

        def judge(o, P=P, R=R, V=V, g=g, expected=expected, call=call):
            S, A, _ = P.shape
            mistakes = {
                "gamma is missing: Q(s, a) = R(s, a) + gamma sum_s' P(s'|s, a) V(s')": R + P @ V,
                "P's axes are transposed: sum over the LAST axis of P (the next state s')":
                    R + g * np.einsum("tas,t->sa", P, V),
                "you used V(s) instead of the expected next value sum_s' P(s'|s, a) V(s')":
                    R + g * V[:, None],
                "you summed P over the wrong axis (the current state s instead of the next "
                "state s')": R + g * np.einsum("sat,t->at", P, V) if S == A else None,
                "the rewards are missing: Q(s, a) = R(s, a) + gamma E[V(s')]": g * P @ V,
                "you returned Q transposed, shape (A, S); Q[s, a] has one row per state":
                    expected.T if S == A else None,
            }
            got = obs_array(o["out"])
            if got is not None and got.shape == (A, S) and S != A:
                raise Mistake(f"{call} returned shape {got.shape}, expected ({S}, {A}): Q[s, a] "
                              "has one row per state and one column per action.")
            expect_close(o["out"], expected, call, _drop_none(mistakes),
                         hint="Q(s, a) = R(s, a) + gamma sum_s' P(s'|s, a) V(s'), shape (S, A).")
        cases.append(call_case("q_from_v", [P, R, V, g], judge=judge, desc=desc))
    return cases


# ------------------------------------------------------------------ value iteration
def _exact_optimum(P: np.ndarray, R: np.ndarray, gamma: float) -> tuple[np.ndarray, np.ndarray]:
    """(V*, Q*) by value iteration, polished by exactly evaluating its greedy policy."""
    _, Q = value_iteration(P, R, gamma, tol=1e-12)
    V = policy_evaluation_exact(P, R, greedy_policy(Q), gamma)
    return V, q_from_v(P, R, V, gamma)


def _split_pair(out: Any) -> tuple[Any, Any] | None:
    if isinstance(out, dict) and "__tuple__" in out:
        out = out["__tuple__"]
    if isinstance(out, list) and len(out) == 2:
        return out[0], out[1]
    return None


@exercise("value_iteration")
def value_iteration_spec(rng: np.random.Generator) -> list[Case]:
    cases = []
    problems = _problems(rng)
    mdp = gridworld(float(np.round(rng.uniform(0.0, 0.3), 2)))
    problems.append({"P": mdp.P, "R": mdp.R, "gamma": 0.9, "kind": mdp.name, "episodic": False})
    for p in problems:
        P, R, g = p["P"], p["R"], p["gamma"]
        V_star, Q_star = _exact_optimum(P, R, g)
        desc = _desc(p)
        call = f"value_iteration({desc})"

        def judge(o, P=P, R=R, g=g, V_star=V_star, Q_star=Q_star, call=call, episodic=p["episodic"]):
            S, A, _ = P.shape
            pair = _split_pair(o["out"])
            if pair is None:
                raise Mistake(f"{call} returned {fmt(o['out'], 80)}; return a tuple (V, Q) "
                              f"with V* of shape ({S},) and Q* of shape ({S}, {A}).")
            V, Q = pair
            v, q = obs_array(V), obs_array(Q)
            if v is not None and q is not None and v.shape == (S, A) and q.shape == (S,):
                raise Mistake(f"{call} returned (Q, V); return them in the order (V, Q).")
            uniform = uniform_policy(S, A)
            V_unif = policy_evaluation_exact(P, R, uniform, g)
            mistakes_v = {
                "you averaged over actions (that is V^pi of the uniform random policy); V*(s) = "
                "max_a Q*(s, a)": V_unif,
                "V* holds the best VALUE max_a Q*(s, a), not the best action argmax_a":
                    Q_star.argmax(axis=1),
                "P's axes are transposed: sum over the LAST axis of P (the next state s')":
                    _transposed_optimum(P, R, g),
                "you took the max over the wrong axis (over states instead of actions)":
                    _wrong_axis_optimum(P, R, g) if S == A else None,
            }
            if episodic:
                mistakes_v["gamma is missing: the backup is max_a [r + gamma E V(s')]"] = \
                    value_iteration(P, R, 1.0)[0]
            expect_close(V, V_star, call + "[0] (V*)", _drop_none(mistakes_v),
                         hint=_close_hint(V, V_star, "V*(s) = max_a [R(s, a) + gamma sum_s' "
                                          "P(s'|s, a) V*(s')], one value per state.",
                                          lambda V: (R + g * P @ V).max(axis=1)))
            mistakes_q = {
                "Q is only R: Q*(s, a) = R(s, a) + gamma sum_s' P(s'|s, a) V*(s')": R,
                "Q is the uniform policy's Q^pi, not Q*": q_from_v(P, R, V_unif, g),
            }
            expect_close(Q, Q_star, call + "[1] (Q*)", mistakes_q,
                         hint=_close_hint(Q, Q_star, "Q* is one backup of V*: "
                                          "Q*(s, a) = R(s, a) + gamma sum_s' P(s'|s, a) V*(s')."))
        # a learner's value_iteration may call their q_from_v: grade it with rlcore's, so a
        # mistake in q_from_v is charged once, to q_from_v
        cases.append(call_case("value_iteration", [P, R, g], judge=judge, desc=desc,
                               reference_helpers={"q_from_v": "rlcore.values:q_from_v"}))
    return cases


def _iterate(backup, S: int) -> np.ndarray | None:
    V = np.zeros(S)
    for _ in range(20_000):
        V_new = backup(V)
        if not np.all(np.isfinite(V_new)) or np.abs(V_new).max() > 1e8:
            return None
        if np.abs(V_new - V).max() < 1e-11:
            return V_new
        V = V_new
    return None


def _transposed_optimum(P: np.ndarray, R: np.ndarray, g: float) -> np.ndarray | None:
    return _iterate(lambda V: (R + g * np.einsum("tas,t->sa", P, V)).max(axis=1), P.shape[0])


def _wrong_axis_optimum(P: np.ndarray, R: np.ndarray, g: float) -> np.ndarray | None:
    return _iterate(lambda V: (R + g * P @ V).max(axis=0), P.shape[0])


# ------------------------------------------------------------------ greedy policy
@exercise("greedy_policy")
def greedy_policy_spec(rng: np.random.Generator) -> list[Case]:
    cases = []
    S, A = int(rng.integers(5, 12)), int(rng.integers(2, 6))
    n = int(rng.integers(3, 6))
    qs = [  # the square one first, so that an argmax over the wrong axis can be named
        ("square Q", rng.normal(0, 1, size=(n, n))),
        ("random Q", rng.normal(0, 1, size=(S, A))),
        ("Q with ties", rng.integers(0, 3, size=(S + 3, A + 1)).astype(float)),
    ]
    qs[2][1][0] = 1.0  # at least one state where every action ties
    for label, Q in qs:
        expected = greedy_policy(Q)
        desc = f"{label} {fmt(Q, 70)}"
        call = f"greedy_policy({desc})"

        def judge(o, Q=Q, expected=expected, call=call):
            S, A = Q.shape
            best = np.isclose(Q, Q.max(axis=1, keepdims=True))
            highest = np.eye(A)[A - 1 - np.argmax(best[:, ::-1], axis=1)]
            e = np.exp(Q - Q.max(axis=1, keepdims=True))
            mistakes = {
                "ties must go to the LOWEST action index (np.argmax does that); yours go to the "
                "highest": highest,
                "ties must go to one action (the lowest index), not be split between them":
                    best / best.sum(axis=1, keepdims=True),
                "you took the argmax over states (axis 0); the greedy action of state s is "
                "argmax over the actions a of Q[s, a]": np.eye(A)[np.argmax(Q, axis=0)] if S == A else None,
                "you picked the worst action (argmin); greedy means argmax_a Q(s, a)":
                    np.eye(A)[np.argmin(Q, axis=1)],
                "you returned softmax probabilities; the greedy policy is one-hot":
                    e / e.sum(axis=1, keepdims=True),
            }
            got = obs_array(o["out"])
            if got is not None and got.shape == (S,):
                raise Mistake(f"{call} returned the actions {fmt(got, 60)}; return the policy as "
                              f"a one-hot array of shape ({S}, {A}): pi[s, a*(s)] = 1, 0 elsewhere.")
            expect_close(o["out"], expected, call, _drop_none(mistakes),
                         hint="pi[s, a] = 1 for a = argmax_a Q[s, a] (lowest index on ties), else 0.")
        cases.append(call_case("greedy_policy", [Q], judge=judge, desc=desc))
    return cases


# ------------------------------------------------------------------ MSBE
@exercise("mean_squared_bellman_error")
def mean_squared_bellman_error_spec(rng: np.random.Generator) -> list[Case]:
    cases = []
    sizes = [(int(rng.integers(6, 20)), int(rng.integers(2, 5))), (4, 4),
             (int(rng.integers(20, 40)), int(rng.integers(2, 7)))]
    for B, A in sizes:
        q_sa = np.round(rng.normal(0, 2, size=B), 3)
        r = np.round(rng.normal(0, 1, size=B), 3)
        next_q = np.round(rng.normal(0, 2, size=(B, A)), 3)
        d = (rng.random(B) < 0.3).astype(float)
        d[0], d[1] = 1.0, 0.0  # both kinds of transitions in every batch
        g = float(np.round(rng.uniform(0.5, 0.99), 3))
        m = next_q.max(axis=1)
        target = r + g * (1 - d) * m
        expected = np.mean((q_sa - target) ** 2)
        desc = f"q_sa ({B},), rewards ({B},), next_q ({B}, {A}), dones {fmt(d, 40)}, gamma={g}"
        call = f"mean_squared_bellman_error({desc})"

        def judge(o, q_sa=q_sa, r=r, next_q=next_q, d=d, g=g, m=m, target=target,
                  expected=expected, call=call, B=B, A=A):
            def msbe(y):
                return np.mean((q_sa - y) ** 2)
            mistakes = {
                "(1 - done) is missing: at a terminal transition the target is just r":
                    msbe(r + g * m),
                "the done mask is inverted: bootstrap with (1 - d), so terminal transitions drop "
                "the next value": msbe(r + g * d * m),
                "gamma is missing from the target r + gamma (1 - d) max_a' Q(s', a')":
                    msbe(r + (1 - d) * m),
                "you took the square root (that is the RMS error); return the MEAN of the squares":
                    np.sqrt(expected),
                "you summed the squared errors; the MSBE is their mean": B * expected,
                "you averaged next_q over actions; the target uses max_a' Q(s', a')":
                    msbe(r + g * (1 - d) * next_q.mean(axis=1)),
                "you took the max over the whole batch; take it over actions for each transition "
                "(axis 1)": msbe(r + g * (1 - d) * next_q.max()),
                "you took the max over the wrong axis (axis 0, over transitions); take it over "
                "actions (axis 1)": msbe(r + g * (1 - d) * next_q.max(axis=0)) if A == B else None,
                "you averaged absolute errors; square them": np.mean(np.abs(q_sa - target)),
                "(1 - done) multiplies the reward too; only the bootstrap term is masked":
                    msbe((1 - d) * (r + g * m)),
            }
            got = obs_array(o["out"])
            if got is not None and got.shape == (B,):
                raise Mistake(f"{call} returned an array of shape ({B},); return one number, the "
                              "mean of the squared errors.")
            expect_close(o["out"], expected, call, _drop_none(mistakes), scalar=True,
                         hint="mean over the batch of (q_sa - (r + gamma (1 - d) max_a' next_q))**2.")
        cases.append(call_case("mean_squared_bellman_error", [q_sa, r, next_q, d, g], judge=judge,
                               desc=desc))
    return cases
