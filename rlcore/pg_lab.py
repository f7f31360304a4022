"""Policy gradients where the true gradient is known exactly: a tabular softmax policy on a tabular MDP.

Lesson 08 measures the bias and the variance of policy-gradient estimates (with and
without a baseline, and with GAE(lambda) for every lambda) against the exact gradient.
On a tabular MDP (lesson 04's gridworld) with pi_theta(a|s) = softmax(theta[s])_a, lesson
04's exact policy evaluation gives V^pi and Q^pi, hence A^pi = Q^pi - V^pi, and the batch's
state distribution is computed exactly, so the expected estimate is known:

    g(theta) = E_{steps of the batch}[ grad_theta log pi_theta(a_t|s_t) A^pi(s_t, a_t) ],
    g[s, b] = mu(s) pi(b|s) A^pi(s, b),

with mu(s) the probability that a step of the batch is in s (start uniform, then
s_{t+1} ~ P(.|s_t, a_t), averaged over the T steps), because for a softmax
d log pi(a|s) / d theta[s', b] = 1[s = s'] (1[a = b] - pi(b|s)).
``sample_batches`` draws M batches of N envs x T steps at once; ``gradient_estimates`` turns
any weights Phi_t into M estimates g_hat = mean_t grad log pi(a_t|s_t) Phi_t.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Batches", "gradient_estimates", "sample_batches", "softmax_policy", "true_gradient"]


def softmax_policy(theta: np.ndarray) -> np.ndarray:
    """Return pi (S, A) = softmax(theta[s]) for each state s; theta: (S, A)."""
    z = np.exp(theta - theta.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


@dataclass
class Batches:
    """M batches of N envs x T steps, flattened to B = M * N columns: arrays (T, B) and last states (B,).

    Column j belongs to batch j // N. states[t, j], actions[t, j], rewards[t, j] = s_t, a_t, r_t;
    last[j] = s_T, the state after the last step (to bootstrap from).
    """

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    last: np.ndarray
    n_batches: int
    n_envs: int


def sample_batches(P: np.ndarray, R: np.ndarray, pi: np.ndarray, T: int, n_envs: int, n_batches: int,
                   rng: np.random.Generator) -> Batches:
    """Return ``n_batches`` batches of ``n_envs`` episodes of T steps of pi on the MDP (P, R).

    P: (S, A, S) transition probabilities, R: (S, A) rewards, pi: (S, A). Starts are uniform
    over states; the MDP is continuing (nothing terminates), so every step is a transition.
    Raises ValueError for sizes below 1.
    """
    if min(T, n_envs, n_batches) < 1:
        raise ValueError(f"T, n_envs and n_batches must be >= 1, got {T}, {n_envs}, {n_batches}")
    S = R.shape[0]
    B = n_envs * n_batches
    s = rng.integers(0, S, size=B)
    states, actions = np.zeros((T, B), dtype=np.int64), np.zeros((T, B), dtype=np.int64)
    rewards = np.zeros((T, B))
    cum_pi = pi.cumsum(axis=1)
    for t in range(T):
        a = (rng.random(B)[:, None] > cum_pi[s]).sum(axis=1).clip(max=pi.shape[1] - 1)
        states[t], actions[t], rewards[t] = s, a, R[s, a]
        s = (rng.random(B)[:, None] > P[s, a].cumsum(axis=1)).sum(axis=1).clip(max=S - 1)
    return Batches(states, actions, rewards, s, n_batches, n_envs)


def true_gradient(P: np.ndarray, pi: np.ndarray, advantages: np.ndarray, T: int) -> np.ndarray:
    """Return g[s, b] = mu(s) pi(b|s) A^pi(s, b): the expectation of every unbiased estimate.

    advantages: A^pi (S, A); mu: the exact distribution of a batch step's state (uniform
    start, T steps of P_pi(s'|s) = sum_a pi(a|s) P(s'|s, a), averaged over the T steps).
    """
    S = pi.shape[0]
    P_pi = np.einsum("sa,sap->sp", pi, P)
    d, mu = np.full(S, 1.0 / S), np.zeros(S)
    for _ in range(T):
        mu += d / T
        d = d @ P_pi
    return mu[:, None] * pi * advantages


def gradient_estimates(batches: Batches, pi: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Return M estimates (M, S, A) g_hat = (1/(N T)) sum_t grad_theta log pi(a_t|s_t) Phi_t, one per batch.

    weights: Phi_t, (T, B) (returns, advantages, ...).
    """
    T, B = batches.states.shape
    A = pi.shape[1]
    score = -pi[batches.states]  # (T, B, A): d log pi(a_t|s_t) / d theta[s_t, :] = onehot(a_t) - pi(.|s_t)
    np.put_along_axis(score, batches.actions[..., None],
                      np.take_along_axis(score, batches.actions[..., None], axis=2) + 1.0, axis=2)
    g = np.zeros((batches.n_batches, pi.shape[0], A))
    which = np.broadcast_to(np.arange(B) // batches.n_envs, (T, B))
    np.add.at(g, (which.ravel(), batches.states.ravel()),
              (score * np.asarray(weights, dtype=np.float64)[..., None]).reshape(-1, A))
    return g / (batches.n_envs * T)
