"""Hidden tests of lesson 04: value functions of tabular MDPs and the mean-squared Bellman error.

Every case draws a fresh random MDP (random S and A, dense or sparse P, Normal(0, 1) rewards,
gamma in (0, 1)), of every kind the contract admits (``rlcore/catalog/lesson04.py`` lists them
and the named mistakes): integer rewards, nested lists, the gridworld. Expected values come
from rlcore.values (exact linear solves; V* polished by evaluating its greedy policy exactly).
Any correct implementation passes: any sweep order, in-place or synchronous updates, loops or
matrix forms. A failure is named by the catalogued wrong implementation that behaves the same
(``judge_case``); the judges name by themselves what no wrong implementation reproduces
exactly: values that equal the k-th sweep from V = 0 for any k (stopped before converging),
and the errors of a list input or a singular system.

The first case of policy_evaluation and value_iteration is an *episodic* MDP (an absorbing
zero-reward state reached with probability >= 0.1 per step), so that a version without gamma
still converges and its mistake is named instead of looping.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from rlcore import gridworld
from rlcore.check import fmt
from rlcore.values import (
    greedy_policy,
    mean_squared_bellman_error,
    policy_evaluation_exact,
    q_from_v,
    random_mdp,
    uniform_policy,
    value_iteration,
)

from . import (
    Case,
    call_case,
    describe,
    exercise,
    expect_close,
    fail,
    named,
    obs_array,
    unambiguous,
    with_kind,
)

CLOSE = ("close to the right values but not equal: is the loop stopped before the largest change of "
         "a sweep, max_s |V_new(s) - V(s)|, is below tol?")


def _raised(o: Any, call: str, name: str, kind: str, known: dict[str, str] | None = None) -> None:
    """Fail if the probe observed an exception: on the list input it is ``NAME/lists_rejected``,
    else the catalogued mistake whose error text it shows (``known``: text -> slug), if any."""
    if not (isinstance(o, dict) and isinstance(o.get("error"), str)):
        return
    what = f"{call} raised {o['error']}"
    if kind == "list":
        raise named(f"{name}/lists_rejected", what)
    for text, slug in (known or {}).items():
        if text in o["error"]:
            raise named(f"{name}/{slug}", what)
    raise fail(what, "The docstring of the exercise says what each argument is and which shape it has.")


def _as_input(x: np.ndarray, kind: str) -> Any:
    return x.tolist() if kind == "list" else x


# ------------------------------------------------------------------ random problems
def _policy(rng: np.random.Generator, S: int, A: int, deterministic: bool = False) -> np.ndarray:
    if deterministic:
        return np.eye(A)[rng.integers(A, size=S)]
    pi = rng.exponential(size=(S, A))
    return pi / pi.sum(axis=1, keepdims=True)


def _problems(rng: np.random.Generator) -> list[dict]:
    """MDPs for the evaluation/iteration exercises, the episodic square one first (see module doc)."""
    out = []

    def add(kind, S, A, density, gamma, terminal=False):
        mdp = random_mdp(S, A, rng, density=density, terminal=terminal)
        R = rng.integers(-3, 4, size=(S, A)) if kind == "int" else np.round(mdp.R, 3)
        if terminal:
            R[-1] = 0
        out.append({"P": mdp.P, "R": R, "gamma": gamma, "kind": kind})

    n = int(rng.integers(3, 6))  # square (S == A) too, so that a max over the wrong axis runs
    add("episodic", n, n, 1.0, float(np.round(rng.uniform(0.8, 0.95), 3)), terminal=True)
    add("dense", int(rng.integers(6, 11)), int(rng.integers(2, 5)), 1.0, float(np.round(rng.uniform(0.5, 0.9), 3)))
    add("sparse", int(rng.integers(6, 11)), int(rng.integers(2, 5)), 0.2, float(np.round(rng.uniform(0.3, 0.8), 3)))
    S = int(rng.integers(3, 6))
    add("gamma near 1", S, S, 0.5, float(np.round(rng.uniform(0.97, 0.99), 3)))  # a fixed number of sweeps is short
    mdp = gridworld(float(np.round(rng.uniform(0.0, 0.3), 2)))
    out.append({"P": mdp.P, "R": mdp.R, "gamma": 0.9, "kind": "gridworld", "name": mdp.name})
    add("int", int(rng.integers(4, 8)), int(rng.integers(2, 4)), 0.6, float(np.round(rng.uniform(0.6, 0.9), 3)))
    add("list", int(rng.integers(3, 6)), int(rng.integers(2, 4)), 1.0, float(np.round(rng.uniform(0.6, 0.9), 3)))
    return out


def _desc(p: dict, extra: str = "") -> str:
    """The arguments of a call on problem ``p``, for messages (arrays by shape)."""
    S, A, _ = p["P"].shape
    if p["kind"] == "gridworld":
        return f"<{p['name']}>.P, .R{extra}, gamma={p['gamma']}"
    what = {"int": "an MDP with integer rewards", "list": "an MDP given as nested lists",
            "episodic": "an episodic MDP", "gamma near 1": "a square MDP"}.get(p["kind"], f"a {p['kind']} MDP")
    return f"P ({S}, {A}, {S}) of {what}, R ({S}, {A}){extra}, gamma={p['gamma']}"


def _sweeps_to(got: np.ndarray, sweep: Callable[[np.ndarray], np.ndarray], expected: np.ndarray) -> int | None:
    """k when ``got`` equals the k-th synchronous sweep from V = 0 (and not the fixed point), else None."""
    V = np.zeros_like(expected)
    for k in range(1, 5001):
        V_next = sweep(V)
        if np.allclose(got, V_next, rtol=1e-7, atol=1e-7) and not np.allclose(got, expected, atol=1e-6):
            return k
        if np.abs(V_next - V).max() < 1e-12:
            return None
        V = V_next
    return None


def _expect_converged(name: str, out: Any, expected: np.ndarray, call: str, hint: str,
                      sweep: Callable[[np.ndarray], np.ndarray]) -> None:
    """Compare with the fixed point; values equal to the k-th sweep from V = 0 are named as not converged."""
    got = obs_array(out)
    if got is not None and got.shape == expected.shape and not np.allclose(got, expected, rtol=1e-5, atol=1e-6):
        k = _sweeps_to(got, sweep, expected)
        if k is not None:
            raise named(f"{name}/not_converged", f"{call} returned the values after {k} sweeps from V = 0, "
                        "which are not converged yet")
        err = np.abs(got - expected).max()
        if err < 0.25 * (1.0 + np.abs(expected).max()):
            hint = CLOSE
    expect_close(out, expected, call, hint=hint)


# ------------------------------------------------------------------ policy evaluation
def _evaluation_cases(name: str, rng: np.random.Generator) -> list[Case]:
    cases = []
    for i, p in enumerate(_problems(rng)):
        P, R, g, kind = p["P"], p["R"], p["gamma"], p["kind"]
        S, A, _ = P.shape
        pi = uniform_policy(S, A) if kind == "gridworld" else _policy(rng, S, A, deterministic=(kind == "sparse"))
        expected = policy_evaluation_exact(P, R, pi, g)
        kwargs = {"tol": 1e-11} if (name == "policy_evaluation" and kind == "dense") else {}
        desc = _desc(p, ", uniform pi" if kind == "gridworld" else f", pi ({S}, {A})") + (", tol=1e-11" if kwargs else "")
        call = f"{name}({desc})"
        P_pi, R_pi = np.einsum("sa,sat->st", pi, P), (pi * R).sum(axis=1)

        def judge(o, expected=expected, call=call, kind=kind, P_pi=P_pi, R_pi=R_pi, g=g):
            _raised(o, call, name, kind, {"Singular matrix": "no_gamma"})
            hint = ("V^pi(s) = sum_a pi(a|s) [R(s, a) + gamma sum_s' P(s'|s, a) V^pi(s')], one value per state"
                    + (", swept until the largest change of a sweep is below tol" if name == "policy_evaluation" else "")
                    + ("; compare with figure 3.2 of the lesson." if kind == "gridworld" else "."))
            if name == "policy_evaluation":
                _expect_converged(name, o["out"], expected, call, hint, lambda V: R_pi + g * P_pi @ V)
            else:
                expect_close(o["out"], expected, call, hint=hint)
        args = [_as_input(x, kind) for x in (P, R, pi)] + [g]
        cases.append(with_kind(call_case(name, args, kwargs, judge=judge, desc=desc, probe="call_or_error"), kind))
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
    problems = _problems(rng)
    for p in [problems[3], *problems[1:3], *problems[4:]]:  # the square one first
        P, R, g, kind = p["P"], p["R"], p["gamma"], p["kind"]
        V = rng.integers(-5, 6, size=P.shape[0]) if kind == "int" else np.round(rng.normal(0, 3, size=P.shape[0]), 3)
        expected = q_from_v(P, R, V, g)
        desc = _desc(p).replace(", gamma", f", V {fmt(V, 60)}, gamma")
        call = f"q_from_v({desc})"

        def judge(o, expected=expected, call=call, kind=kind):
            _raised(o, call, "q_from_v", kind)
            expect_close(o["out"], expected, call,
                         hint="Q(s, a) = R(s, a) + gamma sum_s' P(s'|s, a) V(s'), shape (S, A).")
        args = [_as_input(x, kind) for x in (P, R, V)] + [g]
        cases.append(with_kind(call_case("q_from_v", args, judge=judge, desc=desc, probe="call_or_error"),
                           "square" if kind == "gamma near 1" else kind))
    return cases


# ------------------------------------------------------------------ value iteration
def _exact_optimum(P: np.ndarray, R: np.ndarray, gamma: float) -> tuple[np.ndarray, np.ndarray]:
    """(V*, Q*) by value iteration, polished by exactly evaluating its greedy policy."""
    _, Q = value_iteration(P, R, gamma, tol=1e-12)
    V = policy_evaluation_exact(P, R, greedy_policy(Q), gamma)
    return V, q_from_v(P, R, V, gamma)


def _pair(out: Any) -> list | None:
    if isinstance(out, dict) and "__tuple__" in out:
        out = out["__tuple__"]
    return out if isinstance(out, list) and len(out) == 2 else None


@exercise("value_iteration")
def value_iteration_spec(rng: np.random.Generator) -> list[Case]:
    cases = []
    for p in _problems(rng):
        P, R, g, kind = p["P"], p["R"], p["gamma"], p["kind"]
        S, A, _ = P.shape
        V_star, Q_star = _exact_optimum(P, R, g)
        desc = _desc(p)
        call = f"value_iteration({desc})"

        def judge(o, P=P, R=R, g=g, V_star=V_star, Q_star=Q_star, call=call, kind=kind, S=S, A=A):
            _raised(o, call, "value_iteration", kind)
            pair = _pair(o["out"])
            if pair is None:
                raise fail(f"{call} returned {describe(o['out'])}",
                           f"Return a tuple (V, Q) with V* of shape ({S},) and Q* of shape ({S}, {A}).")
            V, Q = pair
            _expect_converged("value_iteration", V, V_star, call + "[0] (V*)",
                              "V*(s) = max_a [R(s, a) + gamma sum_s' P(s'|s, a) V*(s')], one value per state, "
                              "swept until the largest change of a sweep is below tol.",
                              lambda V: (R + g * P @ V).max(axis=1))
            expect_close(Q, Q_star, call + "[1] (Q*)",
                         hint="Q* is one backup of V*: Q*(s, a) = R(s, a) + gamma sum_s' P(s'|s, a) V*(s').")
        # a learner's value_iteration may call their q_from_v: grade it with rlcore's, so a
        # mistake in q_from_v is charged once, to q_from_v
        args = [_as_input(x, kind) for x in (P, R)] + [g]
        cases.append(with_kind(call_case("value_iteration", args, judge=judge, desc=desc, probe="call_or_error",
                                     reference_helpers={"q_from_v": "rlcore.values:q_from_v"}), kind))
    return cases


# ------------------------------------------------------------------ greedy policy
@exercise("greedy_policy")
def greedy_policy_spec(rng: np.random.Generator) -> list[Case]:
    cases = []
    S, A = int(rng.integers(5, 12)), int(rng.integers(2, 6))
    n = int(rng.integers(3, 6))
    ties = rng.integers(0, 3, size=(S + 3, A + 1))
    ties[0] = 1  # at least one state where every action ties
    qs = [("square", "square Q", np.round(rng.normal(0, 1, size=(n, n)), 4)),  # an argmax over axis 0 runs
          ("random", "random Q", np.round(rng.normal(0, 1, size=(S, A)), 4)),
          ("int", "integer Q with ties", ties),
          ("list", "Q as a nested list", np.round(rng.normal(0, 1, size=(int(rng.integers(3, 7)), A)), 4))]
    while np.array_equal(np.argmax(qs[0][2], axis=0), np.argmax(qs[0][2], axis=1)):
        # the argmax over states must differ from the one over actions, or that mistake
        # passes the square case and is only seen (unnamed) as an IndexError later
        qs[0] = ("square", "square Q", np.round(rng.normal(0, 1, size=(n, n)), 4))
    for kind, label, Q in qs:
        expected = greedy_policy(Q)
        desc = f"{label} {fmt(Q, 70)}"
        call = f"greedy_policy({desc})"

        def judge(o, expected=expected, call=call, kind=kind):
            _raised(o, call, "greedy_policy", kind)
            expect_close(o["out"], expected, call,
                         hint="pi[s, a] = 1 for a = argmax_a Q[s, a] (the lowest index on ties), else 0; "
                              "shape (S, A).")
        cases.append(with_kind(call_case("greedy_policy", [_as_input(Q, kind)], judge=judge, desc=desc,
                                     probe="call_or_error"), kind))
    return cases


# ------------------------------------------------------------------ MSBE
@exercise("mean_squared_bellman_error")
def mean_squared_bellman_error_spec(rng: np.random.Generator) -> list[Case]:
    # one number out: two mistakes can give it by chance, so draw again until they cannot
    for _ in range(20):
        cases = _msbe_cases(rng)
        if unambiguous("mean_squared_bellman_error", cases):
            break
    return cases


def _msbe_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    big = int(rng.integers(20, 40))
    plans = [("float dones", 4, 4), ("float dones", int(rng.integers(6, 20)), int(rng.integers(2, 5))),
             ("bool dones", big, int(rng.integers(2, 7))), ("int", int(rng.integers(6, 15)), int(rng.integers(2, 5))),
             ("list", int(rng.integers(5, 10)), int(rng.integers(2, 4))), ("batch of one", 1, int(rng.integers(2, 5)))]
    for kind, B, A in plans:  # B = A first, so that a max over the wrong axis runs
        q_sa = np.round(rng.normal(0, 2, size=B), 3)
        r = rng.integers(-2, 3, size=B) if kind == "int" else np.round(rng.normal(0, 1, size=B), 3)
        next_q = np.round(rng.normal(0, 2, size=(B, A)), 3)
        d = rng.random(B) < 0.3
        d[0] = True
        if B > 1:
            d[1] = False  # both kinds of transitions in every batch
        dones = d if kind in ("bool dones", "list") else d.astype(float)
        g = float(np.round(rng.uniform(0.5, 0.99), 3))
        expected = mean_squared_bellman_error(q_sa, r, next_q, d, g)
        desc = (f"q_sa ({B},), rewards ({B},){' integer' if kind == 'int' else ''}, next_q ({B}, {A}), "
                f"dones {fmt(dones, 40)}, gamma={g}" + (" (as lists)" if kind == "list" else ""))
        call = f"mean_squared_bellman_error({desc})"

        def judge(o, expected=expected, call=call, kind=kind):
            _raised(o, call, "mean_squared_bellman_error", kind, {"ufunc 'invert'": "invert_float_dones"})
            expect_close(o["out"], expected, call, scalar=True,
                         hint="the mean over the batch of (q_sa - (r + gamma (1 - d) max_a' next_q))**2, "
                              "one number.")
        args = [_as_input(x, kind) for x in (q_sa, r, next_q, dones)] + [g]
        cases.append(with_kind(call_case("mean_squared_bellman_error", args, judge=judge, desc=desc,
                                     probe="call_or_error"), kind))
    return cases
