"""Value functions of a tabular MDP: the reference answers of lesson 04.

Notation of the talk. For a policy pi and discount gamma,

    V^pi(s)    = E_{tau~pi}[R(tau) | s_0 = s]                  start in s, then sample from pi
    Q^pi(s, a) = E_{tau~pi}[R(tau) | s_0 = s, a_0 = a]         take a first, then follow pi
    V*(s)      = max_pi E_{tau~pi}[R(tau) | s_0 = s]           act optimally
    Q*(s, a)   = max_pi E_{tau~pi}[R(tau) | s_0 = s, a_0 = a]

with R(tau) = sum_t gamma^t r_t. They satisfy the Bellman equations

    V^pi(s)    = E_{a~pi, s'~P}[r(s, a) + gamma V^pi(s')]
    Q^pi(s, a) = E_{s'~P}[r(s, a) + gamma E_{a'~pi}[Q^pi(s', a')]]
    V*(s)      = max_a E_{s'~P}[r(s, a) + gamma V*(s')]
    Q*(s, a)   = E_{s'~P}[r(s, a) + gamma max_a' Q*(s', a')]

and are linked by V^pi(s) = sum_a pi(a|s) Q^pi(s, a), V*(s) = max_a Q*(s, a) and
Q(s, a) = R(s, a) + gamma sum_s' P(s'|s, a) V(s') (one backup, :func:`q_from_v`).

Arrays (docs/contract.md): P (S, A, S) with P[s, a, s'] = P(s'|s, a); R (S, A) expected
reward; pi (S, A) with pi[s, a] = pi(a|s). Every function checks its arguments
and raises ``ValueError``/``TypeError`` naming the bad one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from ._validate import as_float_array, check_gamma, check_positive_int
from .mdp import TabularMDP

__all__ = [
    "BOOK_V_STAR",
    "BOOK_V_UNIFORM",
    "check_mdp",
    "check_policy",
    "greedy_policy",
    "mean_squared_bellman_error",
    "policy_evaluation",
    "policy_evaluation_exact",
    "q_from_v",
    "random_mdp",
    "uniform_policy",
    "value_iteration",
]

_ATOL = 1e-8

#: Sutton & Barto (2nd ed.), figure 3.2: V^pi of the uniform random policy on the 5x5
#: gridworld with gamma = 0.9, to one decimal, row by row from the top-left.
BOOK_V_UNIFORM = np.array([
    [3.3, 8.8, 4.4, 5.3, 1.5],
    [1.5, 3.0, 2.3, 1.9, 0.5],
    [0.1, 0.7, 0.7, 0.4, -0.4],
    [-1.0, -0.4, -0.4, -0.6, -1.2],
    [-1.9, -1.3, -1.2, -1.4, -2.0],
])

#: Sutton & Barto (2nd ed.), figure 3.5: V* of the same gridworld (gamma = 0.9).
BOOK_V_STAR = np.array([
    [22.0, 24.4, 22.0, 19.4, 17.5],
    [19.8, 22.0, 19.8, 17.8, 16.0],
    [17.8, 19.8, 17.8, 16.0, 14.4],
    [16.0, 17.8, 16.0, 14.4, 13.0],
    [14.4, 16.0, 14.4, 13.0, 11.7],
])


# ------------------------------------------------------------------ argument checks
def _check_distribution(x: np.ndarray, name: str, over: str) -> None:
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must contain only finite numbers")
    if (x < -_ATOL).any():
        idx = tuple(int(i) for i in np.argwhere(x < -_ATOL)[0])
        where = ", ".join(str(i) for i in idx)
        raise ValueError(f"{name} must be non-negative probabilities, but {name}[{where}] = {x[idx]:g}")
    sums = x.sum(axis=-1)
    bad = np.argwhere(~np.isclose(sums, 1.0, atol=1e-6))
    if bad.size:
        idx = tuple(int(i) for i in bad[0])
        where = ", ".join(str(i) for i in idx)
        raise ValueError(f"each row of {name} must sum to 1 over {over}, but {name}[{where}, :] "
                         f"sums to {sums[idx]:.6g}")


def check_mdp(P: ArrayLike, R: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Return (P, R) as float64 arrays after checking they form a tabular MDP.

    P: (S, A, S), P[s, a, s'] = P(s'|s, a), each P[s, a] a distribution over s'.
    R: (S, A), R[s, a] the expected reward r(s, a).
    Raises ValueError naming P or R for a wrong shape, negative or non-normalized
    probabilities, or non-finite rewards; TypeError for non-numeric input.
    """
    P = as_float_array(P, "P", ndim=3)
    R = as_float_array(R, "R", ndim=2)
    S, A, S2 = P.shape
    if S == 0 or A == 0:
        raise ValueError(f"P must have at least one state and one action, got shape {P.shape}")
    if S != S2:
        raise ValueError(f"P must have shape (S, A, S) (same number of states on axes 0 and 2), "
                         f"got {P.shape}")
    if R.shape != (S, A):
        raise ValueError(f"R must have shape (S, A) = {(S, A)} to match P {P.shape}, got {R.shape}")
    if not np.all(np.isfinite(R)):
        raise ValueError("R must contain only finite numbers")
    _check_distribution(P, "P", "next states s'")
    return P, R


def check_policy(pi: ArrayLike, n_states: int, n_actions: int) -> np.ndarray:
    """Return pi as a float64 (S, A) array after checking each row is a distribution over actions.

    Raises ValueError naming pi for a wrong shape, negative probabilities or rows
    that do not sum to 1.
    """
    p = as_float_array(pi, "pi", ndim=2)
    if p.shape != (n_states, n_actions):
        raise ValueError(f"pi must have shape (S, A) = {(n_states, n_actions)}, got {p.shape}")
    _check_distribution(p, "pi", "actions")
    return p


def uniform_policy(n_states: int, n_actions: int) -> np.ndarray:
    """Return the uniform random policy pi(a|s) = 1/A as an (S, A) array."""
    S = check_positive_int(n_states, "n_states")
    A = check_positive_int(n_actions, "n_actions")
    return np.full((S, A), 1.0 / A)


def random_mdp(n_states: int, n_actions: int, rng: np.random.Generator | int | None = None,
               density: float = 1.0, terminal: bool = False) -> TabularMDP:
    """Return a random TabularMDP with S = n_states, A = n_actions (for tests and experiments).

    Each P[s, a] is a random distribution over next states; with ``density`` < 1 only
    about that fraction of next states is reachable (at least one, so P stays sparse
    but valid). Rewards R[s, a] ~ Normal(0, 1). With ``terminal=True`` the last state
    is absorbing with zero reward and every other (s, a) reaches it with probability
    >= 0.1, so the MDP is episodic and values stay finite even with gamma = 1.
    rng: a numpy Generator or a seed. Raises ValueError for bad sizes or density.
    """
    S = check_positive_int(n_states, "n_states", minimum=2 if terminal else 1)
    A = check_positive_int(n_actions, "n_actions")
    if not (0.0 < float(density) <= 1.0):
        raise ValueError(f"density must lie in (0, 1], got {density!r}")
    gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    weights = gen.exponential(size=(S, A, S))
    mask = gen.random((S, A, S)) < density
    mask[np.arange(S)[:, None], np.arange(A)[None, :], gen.integers(S, size=(S, A))] = True
    P = weights * mask
    P /= P.sum(axis=2, keepdims=True)
    R = gen.normal(size=(S, A))
    if terminal:
        end = gen.uniform(0.1, 0.5, size=(S, A, 1))
        P = (1.0 - end) * P
        P[:, :, -1] += end[:, :, 0]
        P[-1] = 0.0
        P[-1, :, -1] = 1.0
        R[-1] = 0.0
    return TabularMDP(P=P, R=R, name=f"random_mdp(S={S}, A={A})")


def _check_tol(tol: float) -> float:
    t = float(tol)
    if not (t > 0 and np.isfinite(t)):
        raise ValueError(f"tol must be a positive number, got {tol!r}")
    return t


# ------------------------------------------------------------------ backups
def q_from_v(P: ArrayLike, R: ArrayLike, V: ArrayLike, gamma: float) -> np.ndarray:
    """Return Q(s, a) = R(s, a) + gamma sum_s' P(s'|s, a) V(s'): one backup of V, shape (S, A).

    With V = V^pi this gives Q^pi; with V = V* it gives Q*.
    P: (S, A, S); R: (S, A); V: (S,); gamma in [0, 1].
    Raises ValueError naming P, R, V or gamma when shapes disagree or values are invalid.
    """
    P, R = check_mdp(P, R)
    v = as_float_array(V, "V", ndim=1)
    if v.shape != (P.shape[0],):
        raise ValueError(f"V must have shape (S,) = ({P.shape[0]},) to match P, got {v.shape}")
    g = check_gamma(gamma)
    return _backup(P, R, v, g)


def _backup(P: np.ndarray, R: np.ndarray, V: np.ndarray, gamma: float) -> np.ndarray:
    # P @ V contracts the last axis (next state s'): (S, A, S) @ (S,) -> (S, A).
    return R + gamma * (P @ V)


def _iterate(backup: Callable[[np.ndarray], np.ndarray], n_states: int, tol: float,
             max_sweeps: int, what: str, gamma: float) -> np.ndarray:
    """Apply V <- backup(V) from V = 0 until the largest change of a sweep is below tol."""
    V = np.zeros(n_states)
    for _ in range(max_sweeps):
        V_new = backup(V)
        delta = float(np.max(np.abs(V_new - V)))
        V = V_new
        if delta < tol:
            return V
    hint = " (with gamma = 1 the values need not converge)" if gamma >= 1.0 else ""
    raise RuntimeError(f"{what} did not converge within max_sweeps={max_sweeps} sweeps: the "
                       f"last change was {delta:.3g} >= tol={tol:g}{hint}")


def policy_evaluation(P: ArrayLike, R: ArrayLike, pi: ArrayLike, gamma: float,
                      tol: float = 1e-10, max_sweeps: int = 100_000) -> np.ndarray:
    """Return V^pi (S,) by iterating the Bellman expectation backup until it stops changing.

    Each sweep computes, for every state at once (a synchronous update),
        V_{k+1}(s) = sum_a pi(a|s) [R(s, a) + gamma sum_s' P(s'|s, a) V_k(s')],
    starting from V_0 = 0, and stops when max_s |V_{k+1}(s) - V_k(s)| < tol.
    For gamma < 1 the backup is a gamma-contraction, so the error is then at most
    tol * gamma / (1 - gamma).
    P: (S, A, S); R: (S, A); pi: (S, A); gamma in [0, 1]; tol > 0.
    Raises ValueError naming a bad argument, RuntimeError if max_sweeps sweeps do
    not converge (possible only with gamma = 1).
    """
    P, R = check_mdp(P, R)
    S, A, _ = P.shape
    p = check_policy(pi, S, A)
    g = check_gamma(gamma)
    t = _check_tol(tol)
    n = check_positive_int(max_sweeps, "max_sweeps")
    return _iterate(lambda V: np.sum(p * _backup(P, R, V, g), axis=1), S, t, n,
                    "policy_evaluation", g)


def policy_evaluation_exact(P: ArrayLike, R: ArrayLike, pi: ArrayLike, gamma: float) -> np.ndarray:
    """Return V^pi (S,) by solving the Bellman expectation equation as a linear system.

    In matrix form V^pi = R_pi + gamma P_pi V^pi, so (I - gamma P_pi) V^pi = R_pi with
    P_pi[s, s'] = sum_a pi(a|s) P(s'|s, a) and R_pi[s] = sum_a pi(a|s) R(s, a).
    P: (S, A, S); R: (S, A); pi: (S, A); gamma in [0, 1).
    Raises ValueError naming a bad argument; gamma = 1 raises ValueError because
    I - P_pi is singular (P_pi has eigenvalue 1) and V^pi may be infinite.
    """
    P, R = check_mdp(P, R)
    S, A, _ = P.shape
    p = check_policy(pi, S, A)
    g = check_gamma(gamma)
    if g >= 1.0:
        raise ValueError("gamma must be < 1 for exact policy evaluation: with gamma = 1 the matrix "
                         "I - gamma P_pi is singular (every row of P_pi sums to 1); use gamma < 1 "
                         "or policy_evaluation on an episodic MDP")
    P_pi = np.einsum("sa,sat->st", p, P)
    R_pi = np.sum(p * R, axis=1)
    return np.linalg.solve(np.eye(S) - g * P_pi, R_pi)


def value_iteration(P: ArrayLike, R: ArrayLike, gamma: float, tol: float = 1e-10,
                    max_sweeps: int = 100_000) -> tuple[np.ndarray, np.ndarray]:
    """Return (V*, Q*) with shapes (S,) and (S, A), by iterating the Bellman optimality backup.

    Each sweep computes Q_k(s, a) = R(s, a) + gamma sum_s' P(s'|s, a) V_k(s') and
    V_{k+1}(s) = max_a Q_k(s, a), from V_0 = 0, until max_s |V_{k+1} - V_k| < tol;
    the Q returned is one backup of the final V, so V* = max_a Q* holds exactly.
    P: (S, A, S); R: (S, A); gamma in [0, 1]; tol > 0.
    Raises ValueError naming a bad argument, RuntimeError if max_sweeps sweeps do
    not converge (possible only with gamma = 1).
    """
    P, R = check_mdp(P, R)
    g = check_gamma(gamma)
    t = _check_tol(tol)
    n = check_positive_int(max_sweeps, "max_sweeps")
    V = _iterate(lambda V: _backup(P, R, V, g).max(axis=1), P.shape[0], t, n,
                 "value_iteration", g)
    Q = _backup(P, R, V, g)
    return Q.max(axis=1), Q


def greedy_policy(Q: ArrayLike) -> np.ndarray:
    """Return the greedy policy pi(a|s) = 1 for a = argmax_a Q(s, a), as a one-hot (S, A) array.

    With Q = Q* this is an optimal policy, a*(s) = argmax_a Q*(s, a). Ties go to the
    lowest action index (as ``np.argmax``).
    Q: (S, A). Raises ValueError naming Q if it is not 2-D or holds NaN.
    """
    q = as_float_array(Q, "Q", ndim=2)
    if q.shape[1] == 0:
        raise ValueError(f"Q must have at least one action, got shape {q.shape}")
    if np.isnan(q).any():
        raise ValueError("Q must not contain NaN")
    pi = np.zeros_like(q)
    pi[np.arange(q.shape[0]), np.argmax(q, axis=1)] = 1.0
    return pi


def mean_squared_bellman_error(q_sa: ArrayLike, rewards: ArrayLike, next_q: ArrayLike,
                               dones: ArrayLike, gamma: float) -> float:
    """Return the mean-squared Bellman error of a batch of transitions (s, a, r, s', d).

        l = (1/B) sum_i (Q(s_i, a_i) - (r_i + gamma (1 - d_i) max_a' Q(s'_i, a')))^2

    where (1 - d_i) drops the bootstrap term when s'_i is terminal (d_i = 1).
    q_sa: (B,) Q(s, a); rewards: (B,); next_q: (B, A) Q(s', .); dones: (B,) bools or
    0/1; gamma in [0, 1]. Tensors are accepted (used without gradient).
    Raises ValueError naming the argument whose shape disagrees, or gamma out of range.
    """
    q = as_float_array(q_sa, "q_sa", ndim=1)
    B = q.shape[0]
    r = as_float_array(rewards, "rewards", ndim=1)
    nq = as_float_array(next_q, "next_q", ndim=2)
    d = as_float_array(dones, "dones", ndim=1)
    for name, arr, shape in (("rewards", r, (B,)), ("dones", d, (B,))):
        if arr.shape != shape:
            raise ValueError(f"{name} must have shape (B,) = {shape} like q_sa, got {arr.shape}")
    if nq.shape[0] != B or nq.shape[1] == 0:
        raise ValueError(f"next_q must have shape (B, A) with B = {B} like q_sa, got {nq.shape}")
    g = check_gamma(gamma)
    if B == 0:
        raise ValueError("q_sa must hold at least one transition")
    targets = r + g * (1.0 - d) * nq.max(axis=1)
    return float(np.mean((q - targets) ** 2))
