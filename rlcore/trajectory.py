"""Trajectories tau = (s_0, a_0, s_1, a_1, ...), rollouts, and Monte Carlo estimates of J(pi).

The agent-environment loop of the talk, in Gymnasium's API:

    obs, info = env.reset(seed=seed)
    while not done:
        action = policy(obs)
        obs, reward, terminated, truncated, info = env.step(action)
        done = terminated or truncated
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validate import check_gamma, check_positive_int
from .returns import discounted_return

__all__ = ["Trajectory", "estimate_return", "rollout"]

Policy = Callable[[Any], Any]


@dataclass
class Trajectory:
    """One episode tau = (s_0, a_0, s_1, a_1, ..., s_{T-1}, a_{T-1}) with its rewards.

    observations: (T, ...) where observations[t] = s_t, what the agent saw before acting a_t.
    actions: (T, ...). rewards: (T,) with rewards[t] = r_t = R(s_t, a_t).
    terminated: the last step ended the episode (a terminal state was reached).
    truncated: the episode was cut short (time limit or ``max_steps``) without terminating.
    ``len(traj)`` is T.
    """

    observations: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminated: bool = False
    truncated: bool = False

    def __len__(self) -> int:
        return len(self.rewards)

    @property
    def total_reward(self) -> float:
        """R(tau) = sum_t r_t, the finite-horizon undiscounted return."""
        return float(np.sum(self.rewards))

    def __repr__(self) -> str:
        end = "terminated" if self.terminated else ("truncated" if self.truncated else "open")
        return f"Trajectory(T={len(self)}, R(tau)={self.total_reward:g}, {end})"


def _as_action(action: Any) -> Any:
    """Turn a policy's output (int, numpy scalar, 0-d tensor, array) into what env.step takes."""
    if hasattr(action, "detach"):
        action = action.detach().cpu().numpy()
    if isinstance(action, np.ndarray) and action.ndim == 0:
        action = action.item()
    return action


def rollout(env: Any, policy: Policy, max_steps: int = 1000, seed: int | None = None) -> Trajectory:
    """Run ``policy`` for one episode in ``env`` and return its trajectory tau.

    s_0 ~ mu comes from ``env.reset(seed=seed)``; then a_t = policy(s_t),
    (s_{t+1}, r_t) from ``env.step(a_t)``, until the episode terminates, is truncated
    by the env, or ``max_steps`` steps were taken (then ``truncated=True``; a
    termination on the last allowed step still counts as ``terminated=True``).

    Raises ValueError if ``max_steps`` < 1 or the policy returns an action outside
    ``env.action_space``; TypeError if ``policy`` is not callable.
    """
    if not callable(policy):
        raise TypeError(f"policy must be a callable obs -> action, got {type(policy).__name__}")
    max_steps = check_positive_int(max_steps, "max_steps")
    obs, _ = env.reset(seed=seed)
    observations, actions, rewards = [], [], []
    terminated = truncated = False
    for _ in range(max_steps):
        action = _as_action(policy(obs))
        space = getattr(env, "action_space", None)
        if space is not None and not space.contains(action):
            try:  # accept e.g. a Python float 1.0 for a Discrete space only if it is integral
                ok = space.contains(np.asarray(action, dtype=space.dtype))
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise ValueError(
                    f"policy returned an invalid action {action!r} for observation {obs!r}; "
                    f"expected an element of env.action_space = {space}"
                )
        observations.append(obs)
        actions.append(action)
        obs, reward, terminated, truncated, _ = env.step(action)
        rewards.append(float(reward))
        if terminated or truncated:
            break
    if not terminated:
        truncated = True if len(rewards) == max_steps else bool(truncated)
    return Trajectory(
        observations=np.asarray(observations),
        actions=np.asarray(actions),
        rewards=np.asarray(rewards, dtype=np.float64),
        terminated=bool(terminated),
        truncated=bool(truncated) and not terminated,
    )


def estimate_return(
    env: Any,
    policy: Policy,
    n_episodes: int,
    gamma: float = 1.0,
    seed: int | None = 0,
    max_steps: int = 1000,
) -> float:
    """Return the Monte Carlo estimate of J(pi) = E_{tau ~ pi}[R(tau)].

    J_hat = (1/n) sum_{i=1}^{n} R(tau_i) with R(tau_i) = sum_t gamma^t r_t over
    ``n_episodes`` rollouts. ``seed`` seeds the first ``reset`` only; later episodes
    continue the environment's random stream. Each episode stops at ``max_steps``.

    Raises ValueError if ``n_episodes`` < 1 or gamma lies outside [0, 1].
    """
    n_episodes = check_positive_int(n_episodes, "n_episodes")
    gamma = check_gamma(gamma)
    total = 0.0
    for i in range(n_episodes):
        traj = rollout(env, policy, max_steps=max_steps, seed=seed if i == 0 else None)
        total += discounted_return(traj.rewards, gamma)
    return total / n_episodes
