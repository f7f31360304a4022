"""Probe environments: tiny MDPs with known Q-values, each pinning down one part of DQN.

Debugging deep RL on CartPole is slow and vague ("it does not learn"). A probe is an
environment so small that the optimal Q*(s, a) is known by hand, so after a few hundred
updates we can compare the learned Q_theta with it and say which part is broken
(the idea comes from Andy Jones's "Debugging RL, Without the Agonizing Pain" and the
ARENA course). Every probe has observations of shape (1,) and two actions, and ends
with ``terminated=True``; with discount gamma (``PROBE_GAMMA`` = 0.9 here):

=====  ==========================================  ======================================
probe  the environment                             Q*(s, a)
=====  ==========================================  ======================================
1      obs 0, any action: reward +1, episode ends  Q(0, .) = 1
2      obs -1 or +1 at random: reward = obs, ends  Q(-1, .) = -1, Q(+1, .) = +1
3      obs 0: reward 0, then obs 1: reward +1,     Q(0, .) = gamma, Q(1, .) = 1
       ends (two steps)
4      obs 0: action 0 gives +1, action 1 gives    Q(0, 0) = +1, Q(0, 1) = -1
       -1, ends
5      obs -1 or +1: +1 if the action matches      Q(-1, 0) = +1, Q(-1, 1) = -1,
       (action 1 for obs +1, 0 for -1), else -1    Q(+1, 0) = -1, Q(+1, 1) = +1
=====  ==========================================  ======================================

The terminal transition's s' repeats s, so a target that forgets ``(1 - done)``
bootstraps from itself and drifts to r / (1 - gamma) (probe 1: 10 instead of 1).

This module holds the environments only (gymnasium and numpy); ``rlcore.check.probes``
trains the learner's DQN on them and says which part is broken (``check_probes``).
"""

from __future__ import annotations

from functools import partial
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from ._probe_ids import probe_id

__all__ = ["PROBES", "PROBE_GAMMA", "TRUNCATION_PROBE_ID", "TRUNCATION_STEPS", "ProbeEnv",
           "TruncationProbeEnv", "expected_q", "probe_env_id"]

PROBE_GAMMA = 0.9  # far from 0 and 1, so "no discount" and "no bootstrap" both show

PROBES = {
    1: "one step, constant reward +1",
    2: "one step, reward = observation",
    3: "two steps, reward only at the end (discounting)",
    4: "one step, reward depends on the action",
    5: "one step, reward depends on observation and action",
}


def probe_env_id(k: int) -> str:
    """Return the Gymnasium id of probe k, e.g. ``"rlcore/Probe1-v0"``; raise ValueError for a bad k."""
    return probe_id("Probe", k, PROBES)


def expected_q(k: int, gamma: float = PROBE_GAMMA) -> dict[float, tuple[float, float]]:
    """Return Q*(s, a) of probe k as {observation: (Q*(s, 0), Q*(s, 1))}; raise ValueError for a bad k."""
    probe_env_id(k)
    table = {
        1: {0.0: (1.0, 1.0)},
        2: {-1.0: (-1.0, -1.0), 1.0: (1.0, 1.0)},
        3: {0.0: (gamma, gamma), 1.0: (1.0, 1.0)},
        4: {0.0: (1.0, -1.0)},
        5: {-1.0: (1.0, -1.0), 1.0: (-1.0, 1.0)},
    }
    return table[k]


class ProbeEnv(gym.Env):
    """Return-known probe environment number ``probe`` (1-5, see the module table).

    Observations: float32 array of shape (1,); actions: Discrete(2).
    Raises ValueError for an unknown probe number.
    """

    metadata: ClassVar[dict] = {"render_modes": []}

    def __init__(self, probe: int = 1) -> None:
        probe_env_id(probe)
        self.probe = probe
        self.observation_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self._obs = 0.0

    def _observation(self) -> np.ndarray:
        return np.array([self._obs], dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if self.probe in (2, 5):
            self._obs = float(self.np_random.choice([-1.0, 1.0]))
        else:
            self._obs = 0.0
        return self._observation(), {}

    def step(self, action: Any):
        a, s = int(action), self._obs
        if self.probe == 3 and s == 0.0:  # first of two steps: no reward, move to obs 1
            self._obs = 1.0
            return self._observation(), 0.0, False, False, {}
        reward = {
            1: 1.0,
            2: s,
            3: 1.0,
            4: 1.0 if a == 0 else -1.0,
            5: 1.0 if a == int(s > 0) else -1.0,
        }[self.probe]
        return self._observation(), reward, True, False, {}  # s' repeats s (see module doc)


def _make_vector(probe: int, num_envs: int = 1, **kwargs: Any) -> gym.vector.VectorEnv:
    kwargs.pop("max_episode_steps", None)
    return gym.vector.SyncVectorEnv([partial(ProbeEnv, probe) for _ in range(num_envs)])


for _k in PROBES:
    if probe_env_id(_k) not in gym.registry:
        gym.register(id=probe_env_id(_k), entry_point=partial(ProbeEnv, _k),
                     vector_entry_point=partial(_make_vector, _k), max_episode_steps=10)




# The actor-critic probes (lesson 08) add one that never terminates: a time limit cuts it.
TRUNCATION_PROBE_ID = "rlcore/ProbeTruncation-v0"
TRUNCATION_STEPS = 5


class TruncationProbeEnv(gym.Env):
    """Obs 0, reward +1 every step, never terminates; truncated after ``TRUNCATION_STEPS`` steps.

    The MDP goes on forever, so V^pi(0) = 1 / (1 - gamma) (10 for gamma 0.9). A learner that
    treats the time limit as the end of the world learns the average of the truncated sums
    instead, sum_{k<5-t} gamma^k averaged over t (about 2.6): bootstrapping at truncation is
    what this probe checks. Observations: float32 (1,); actions: Discrete(2).
    """

    metadata: ClassVar[dict] = {"render_modes": []}

    def __init__(self, max_steps: int = TRUNCATION_STEPS) -> None:
        self.observation_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.max_steps = int(max_steps)
        self._t = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._t = 0
        return np.zeros(1, dtype=np.float32), {}

    def step(self, action: Any):
        self._t += 1
        return np.zeros(1, dtype=np.float32), 1.0, False, self._t >= self.max_steps, {}


def _make_truncation_vector(num_envs: int = 1, **kwargs: Any) -> gym.vector.VectorEnv:
    kwargs.pop("max_episode_steps", None)
    return gym.vector.SyncVectorEnv([TruncationProbeEnv for _ in range(num_envs)])


if TRUNCATION_PROBE_ID not in gym.registry:
    gym.register(id=TRUNCATION_PROBE_ID, entry_point=TruncationProbeEnv,
                 vector_entry_point=_make_truncation_vector)


from . import continuous_probes as _continuous_probes  # noqa: F401 - registers lesson 09's probes too
