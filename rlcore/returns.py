"""Returns of a trajectory: R(tau) in its two forms, and the reward-to-go.

Notation of the talk: a trajectory tau = (s_0, a_0, s_1, a_1, ...) earns rewards
r_t = R(s_t, a_t). Its return is either the finite-horizon undiscounted sum
R(tau) = sum_{t=0}^{T} r_t or the infinite-horizon discounted sum
R(tau) = sum_{t=0}^{inf} gamma^t r_t with gamma in (0, 1).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ._validate import as_float_array, check_gamma

__all__ = ["batch_reward_to_go", "discounted_return", "finite_horizon_return", "reward_to_go"]


def finite_horizon_return(rewards: ArrayLike) -> float:
    """Return R(tau) = sum_{t=0}^{T} r_t, the undiscounted sum of one episode's rewards.

    rewards: shape (T,), any array-like of real numbers (an empty episode returns 0.0).
    Raises ValueError if rewards is not one-dimensional.
    """
    r = as_float_array(rewards, "rewards", ndim=1)
    return float(r.sum())


def discounted_return(rewards: ArrayLike, gamma: float) -> float:
    """Return R(tau) = sum_t gamma^t r_t, the discounted sum of one episode's rewards.

    rewards: shape (T,). gamma: discount factor in [0, 1] (gamma = 1 gives the
    undiscounted sum). Raises ValueError if rewards is not one-dimensional or gamma
    lies outside [0, 1].
    """
    r = as_float_array(rewards, "rewards", ndim=1)
    g = check_gamma(gamma)
    return float(np.sum(g ** np.arange(len(r)) * r))


def reward_to_go(rewards: ArrayLike, gamma: float = 1.0) -> np.ndarray:
    """Return G_t = sum_{k>=t} gamma^(k-t) r_k for every step t of one episode.

    The reward-to-go at t is what the agent can still influence after acting at t;
    G_t = r_t + gamma G_{t+1} with G_T = r_T, computed backwards in O(T).
    rewards: shape (T,). Returns a float64 array of shape (T,).
    Raises ValueError if rewards is not one-dimensional or gamma lies outside [0, 1].
    """
    r = as_float_array(rewards, "rewards", ndim=1)
    g = check_gamma(gamma)
    out = np.zeros_like(r)
    running = 0.0
    for t in range(len(r) - 1, -1, -1):
        running = r[t] + g * running
        out[t] = running
    return out


def batch_reward_to_go(rewards: ArrayLike, dones: ArrayLike, gamma: float = 1.0) -> np.ndarray:
    """Return G[t, i] = sum_{k=t}^{end} gamma^(k-t) r[k, i] for a vectorized rollout.

    rewards, dones: shape (T, N) for N environments stepped T times. dones[t, i] is
    True when env i's episode ended at step t; the sum for step t runs to the end of
    that episode, or to the end of the batch (T - 1) if it has not ended yet:
    G[t] = r[t] + gamma (1 - d[t]) G[t + 1], with G[T] = 0.
    Returns float64 (T, N). Raises ValueError on mismatched shapes or gamma outside [0, 1].
    """
    r = as_float_array(rewards, "rewards", ndim=2)
    d = as_float_array(dones, "dones")
    if d.shape != r.shape:
        raise ValueError(f"dones must have the shape of rewards {r.shape}, got {d.shape}")
    g = check_gamma(gamma)
    out = np.zeros_like(r)
    running = np.zeros(r.shape[1])
    for t in range(r.shape[0] - 1, -1, -1):
        running = r[t] + g * (1.0 - d[t]) * running
        out[t] = running
    return out
