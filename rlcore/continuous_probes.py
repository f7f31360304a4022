"""Probe environments with continuous actions: tiny MDPs whose Q* and best action are known by hand.

Lesson 06's probes (``rlcore.probe_envs``) pin down the parts of DQN; these do the same
for DDPG, TD3 and SAC. Observations have shape (1,), actions are in [-1, 1] (shape (1,)),
every episode ends with ``terminated=True``, and with gamma = ``PROBE_GAMMA`` (0.5):

=====  ============================================  ======================================
probe  the environment                               what is known
=====  ============================================  ======================================
1      obs 0, action a: reward 1 - (a - 0.5)^2, ends  Q*(0, a) = 1 - (a - 0.5)^2, best a = 0.5
2      obs s = -1 or +1 at random: reward            best a = 0.5 s (the optimum depends
       1 - (a - 0.5 s)^2, ends                       on the state), Q*(s, 0.5 s) = 1
3      obs 0: reward 0, then obs 1: reward           Q*(0, .) = gamma = 0.5 (discounting),
       1 - (a - 0.5)^2, ends (two steps)             Q*(1, 0.5) = 1, best a at obs 1 = 0.5
=====  ============================================  ======================================

The terminal transition's s' repeats s, so a target without ``(1 - done)`` bootstraps from
itself and drifts toward r / (1 - gamma) (probe 1: 2 instead of 1). ``rlcore.check.
probes_continuous`` trains the learner's TD3 or SAC on them and says which part is broken.
"""

from __future__ import annotations

from functools import partial
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from ._probe_ids import probe_id

__all__ = ["BEST_ACTION", "CONTINUOUS_PROBES", "PROBE_GAMMA", "ContinuousProbeEnv", "continuous_probe_id"]

PROBE_GAMMA = 0.5  # far from 0 and 1, so "no discount" (Q(0) = 1) and "no bootstrap" (0) both show
BEST_ACTION = 0.5  # the peak of the reward 1 - (a - 0.5 s)^2 (s = 1 in probes 1 and 3)

CONTINUOUS_PROBES = {
    1: "one step, reward peaked at the action 0.5",
    2: "one step, the best action depends on the observation",
    3: "two steps, reward only at the end (discounting)",
}


def continuous_probe_id(k: int) -> str:
    """Return the Gymnasium id of continuous probe k, e.g. ``"rlcore/ContinuousProbe1-v0"``."""
    return probe_id("ContinuousProbe", k, CONTINUOUS_PROBES)


class ContinuousProbeEnv(gym.Env):
    """Continuous probe number ``probe`` (1-3, see the module table): obs (1,), actions in [-1, 1]."""

    metadata: ClassVar[dict] = {"render_modes": []}

    def __init__(self, probe: int = 1) -> None:
        continuous_probe_id(probe)
        self.probe = probe
        self.observation_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self._obs = 0.0

    def _observation(self) -> np.ndarray:
        return np.array([self._obs], dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._obs = float(self.np_random.choice([-1.0, 1.0])) if self.probe == 2 else 0.0
        return self._observation(), {}

    def step(self, action: Any):
        a = float(np.clip(np.asarray(action, dtype=np.float64).reshape(-1)[0], -1.0, 1.0))
        s = self._obs
        if self.probe == 3 and s == 0.0:  # first of two steps: no reward, move to obs 1
            self._obs = 1.0
            return self._observation(), 0.0, False, False, {}
        best = BEST_ACTION * (s if self.probe == 2 else 1.0)
        return self._observation(), 1.0 - (a - best) ** 2, True, False, {}  # s' repeats s


for _k in CONTINUOUS_PROBES:
    if continuous_probe_id(_k) not in gym.registry:
        gym.register(id=continuous_probe_id(_k), entry_point=partial(ContinuousProbeEnv, _k),
                     max_episode_steps=10)
