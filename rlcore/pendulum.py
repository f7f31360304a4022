"""Pendulum-v1 for many envs at once, in numpy: Gymnasium's dynamics, step for step.

Gymnasium 1.4 has a vectorized CartPole but no vectorized Pendulum; stepping 16 copies
of its Python env costs 16 Python calls per step. ``VectorPendulum`` steps all of them in
a few numpy operations, with Gymnasium's exact equations (``PendulumEnv.step``):

    u = clip(a, -2, 2)
    cost = angle_normalize(theta)^2 + 0.1 thetadot^2 + 0.001 u^2,   reward r = -cost
    thetadot' = clip(thetadot + (3 g / (2 l) sin(theta) + 3 / (m l^2) u) dt, -8, 8)
    theta' = theta + thetadot' dt,   observation (cos theta, sin theta, thetadot)

with g = 10, m = l = 1, dt = 0.05, starts theta ~ U(-pi, pi), thetadot ~ U(-1, 1), and
``TimeLimit``'s truncation after 200 steps (Pendulum never terminates). Like Gymnasium's
vector envs it auto-resets on the step *after* an episode ended ("next-step" autoreset:
that step returns the new episode's first observation, reward 0, and ignores the
action). ``tests/test_pendulum.py`` checks it against Gymnasium's own env step for step.
Training uses it; evaluation uses Gymnasium's ``Pendulum-v1`` itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

__all__ = ["VectorPendulum"]


class VectorPendulum(VectorEnv):
    """``num_envs`` Pendulum-v1 envs stepped together: actions (n, 1) -> obs (n, 3), rewards (n,).

    max_episode_steps: the time limit (Gymnasium's registration uses 200).
    Raises ValueError for num_envs < 1.
    """

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}  # noqa: RUF012

    max_speed, max_torque, dt, g, m, l = 8.0, 2.0, 0.05, 10.0, 1.0, 1.0

    def __init__(self, num_envs: int = 1, max_episode_steps: int = 200, **kwargs: Any) -> None:
        if int(num_envs) < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs!r}")
        self.num_envs = int(num_envs)
        self.max_episode_steps = int(max_episode_steps)
        high = np.array([1.0, 1.0, self.max_speed], dtype=np.float32)
        self.single_observation_space = spaces.Box(-high, high, dtype=np.float32)
        self.single_action_space = spaces.Box(-self.max_torque, self.max_torque, shape=(1,),
                                              dtype=np.float32)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.theta = np.zeros(self.num_envs)
        self.thetadot = np.zeros(self.num_envs)
        self.steps = np.zeros(self.num_envs, dtype=np.int64)
        self.prev_done = np.zeros(self.num_envs, dtype=bool)

    def _obs(self) -> np.ndarray:
        return np.stack([np.cos(self.theta), np.sin(self.theta), self.thetadot], axis=1).astype(np.float32)

    def _starts(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        state = self.np_random.uniform(low=-np.array([np.pi, 1.0]), high=np.array([np.pi, 1.0]),
                                       size=(n, 2))
        return state[:, 0], state[:, 1]

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.theta, self.thetadot = self._starts(self.num_envs)
        self.steps[:] = 0
        self.prev_done[:] = False
        return self._obs(), {}

    def step(self, actions: Any):
        # float32 like Gymnasium's action (its u-terms are float32 arithmetic under NumPy 2)
        u = np.clip(np.asarray(actions, dtype=np.float32).reshape(self.num_envs, -1)[:, 0],
                    np.float32(-self.max_torque), np.float32(self.max_torque))
        th, thdot = self.theta, self.thetadot
        costs = (((th + np.pi) % (2 * np.pi)) - np.pi) ** 2 + 0.1 * thdot**2 + 0.001 * u**2
        new_thdot = thdot + (3 * self.g / (2 * self.l) * np.sin(th) + 3.0 / (self.m * self.l**2) * u) * self.dt
        new_thdot = np.clip(new_thdot, -self.max_speed, self.max_speed)
        self.theta, self.thetadot = th + new_thdot * self.dt, new_thdot
        self.steps += 1
        rewards = -costs.astype(np.float32)
        truncated = self.steps >= self.max_episode_steps
        terminated = np.zeros(self.num_envs, dtype=bool)
        reset = self.prev_done  # next-step autoreset: these envs start a new episode instead
        if reset.any():
            self.theta[reset], self.thetadot[reset] = self._starts(int(reset.sum()))
            self.steps[reset] = 0
            rewards[reset] = 0.0
            truncated[reset] = False
        self.prev_done = terminated | truncated
        return self._obs(), rewards, terminated, truncated, {}
