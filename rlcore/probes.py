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

Use: ``run_probe(k, **parts)`` trains DQN (``rlcore.algos.dqn.train``, with the learner's
exercise functions when given) on probe k and returns a ``ProbeResult``;
``check_probes(**parts)`` runs all of them, prints one line each and raises an
``AssertionError`` naming the part that is likely broken.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch

__all__ = [
    "PROBES",
    "PROBE_GAMMA",
    "ProbeEnv",
    "ProbeResult",
    "check_probes",
    "expected_q",
    "probe_env_id",
    "run_probe",
]

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
    if k not in PROBES:
        raise ValueError(f"k must be one of {sorted(PROBES)}, got {k!r}")
    return f"rlcore/Probe{k}-v0"


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


@dataclass
class ProbeResult:
    """What ``run_probe`` learned: Q_theta next to Q*, whether they match, and a diagnosis."""

    k: int
    passed: bool
    learned: dict[float, tuple[float, float]]
    expected: dict[float, tuple[float, float]]
    message: str
    error: str | None = None
    details: dict = field(default_factory=dict)

    def __str__(self) -> str:
        mark = "\u2713" if self.passed else "\u2717"
        return f"{mark} probe {self.k} ({PROBES[self.k]}): {self.message}"


def _probe_config(k: int, seed: int, **overrides: Any):
    from .algos.dqn import Config

    settings = {
        "env_id": probe_env_id(k), "seed": seed, "n_envs": 8, "max_env_steps": 3_000,
        "eval_every": 3_000, "eval_episodes": 4, "gamma": PROBE_GAMMA, "n_step": 1, "lr": 1e-2, "lr_end": 5e-4,
        "lr_decay_steps": 3_000, "hidden_sizes": (32,), "buffer_size": 1_000, "batch_size": 64,
        "learning_starts": 200, "train_freq": 1, "gradient_steps": 1, "tau": 1.0,
        "target_update_every": 10, "eps_start": 1.0, "eps_end": 0.5, "eps_duration": 3_000,
        "max_grad_norm": None, "reward_scale": 1.0, "polyak_average": 1.0,
    }
    settings.update(overrides)
    return Config(**settings)


def _format_q(table: dict[float, tuple[float, float]]) -> str:
    return ", ".join(f"Q({s:+g}, {a}) = {q[a]:.3f}" for s, q in table.items() for a in (0, 1))


def _diagnose(k: int, learned: dict, expected: dict, gamma: float) -> str:
    """Return the part of DQN most likely broken, given probe k's learned Q-values."""
    if k == 1:
        q = np.mean(learned[0.0])
        if abs(q - 1.0 / (1.0 - gamma)) < abs(q - 1.0):
            return ("Q grows toward r / (1 - gamma): your dqn_targets bootstrap from s' even when "
                    "the episode ended. Multiply gamma * max_a' Q_targ(s', a') by (1 - dones).")
        return ("the network cannot even learn a constant: check dqn_loss (mean of "
                "(Q(s, a) - y)^2 with the gradient flowing through q_values, not through the targets) "
                "and that dqn_targets return r when done.")
    if k == 2:
        return ("Q does not follow the observation: your ReplayBuffer probably pairs observations with "
                "the wrong rewards (different indices for obs and rewards in sample, storing next_obs "
                "as obs, or an add that does not keep rows together).")
    if k == 3:
        q0, q1 = np.mean(learned[0.0]), np.mean(learned[1.0])
        if abs(q1 - 1.0) > 0.1:
            return ("Q at the last step is wrong: the terminal target must be r alone "
                    "(check (1 - dones) in dqn_targets).")
        if abs(q0) < 0.3 * gamma:
            return ("Q(0) stays near 0: nothing is bootstrapped. dqn_targets must add "
                    "gamma * max_a' Q_targ(s', a') for non-terminal steps, and update_target must "
                    "copy the online weights into the target network (in place).")
        if abs(q0 - 1.0) < abs(q0 - gamma):
            return "Q(0) is about 1, not gamma: dqn_targets forget to multiply by gamma."
        return ("Q(0) should be gamma * Q(1): check the discount in dqn_targets and that "
                "update_target moves the target network toward the online one.")
    if k == 4:
        q_a0, q_a1 = learned[0.0]
        if abs(q_a0 - q_a1) < 0.5:
            return ("both actions get the same value: dqn_loss must compare the Q-value of the "
                    "action taken, q_values.gather(1, actions[:, None]), with the target "
                    "(or the ReplayBuffer loses the actions).")
        return ("the values of the two actions are wrong: check that dqn_loss gathers along the "
                "action dimension (dim 1) and that epsilon_greedy explores both actions.")
    return ("Q depends on observation and action in the wrong way: check that the ReplayBuffer keeps "
            "obs, actions and rewards of a transition together, and that dqn_loss gathers by action.")


def run_probe(
    k: int,
    seed: int = 0,
    atol: float = 0.03,
    config_overrides: dict | None = None,
    **parts: Any,
) -> ProbeResult:
    """Return a ``ProbeResult`` after training DQN on probe k and comparing Q_theta with Q*.

    parts: the learner's exercise functions by name (``ReplayBuffer``, ``linear_schedule``,
    ``epsilon_greedy``, ``dqn_targets``, ``dqn_loss``, ``update_target``); missing ones
    use rlcore's reference. A probe passes when every |Q_theta(s, a) - Q*(s, a)| <= atol.
    Errors raised by the learner's functions are caught and reported in the result.
    Raises ValueError for an unknown k or a part name that is not an exercise.
    """
    from .algos.dqn import LearnerFunctionError, train

    probe_env_id(k)
    allowed = {"ReplayBuffer", "linear_schedule", "epsilon_greedy", "dqn_targets", "dqn_loss",
               "update_target"}
    unknown = set(parts) - allowed
    if unknown:
        raise ValueError(f"unknown DQN parts {sorted(unknown)}; expected some of {sorted(allowed)}")
    config = _probe_config(k, seed, **(config_overrides or {}))
    expected = expected_q(k, config.gamma)
    try:
        result = train(config, progress=False, **parts)
    except LearnerFunctionError as e:
        return ProbeResult(k, False, {}, expected, f"training stopped: {e}", error=str(e))
    obs = torch.tensor([[s] for s in expected], dtype=torch.float32)
    with torch.no_grad():
        q = result.q_net(obs).numpy().astype(np.float64)
    learned = {s: (float(row[0]), float(row[1])) for s, row in zip(expected, q)}
    errors = [abs(learned[s][a] - expected[s][a]) for s in expected for a in (0, 1)]
    passed = bool(np.isfinite(errors).all() and max(errors) <= atol)
    summary = f"learned {_format_q(learned)}; expected {_format_q(expected)}"
    if passed:
        message = summary
    else:
        message = summary + "\n    likely cause: " + _diagnose(k, learned, expected, config.gamma)
    return ProbeResult(k, passed, learned, expected, message,
                       details={"max_abs_error": float(max(errors)), "final_loss": result.losses[-1]})


def check_probes(probes: tuple[int, ...] = (1, 2, 3, 4, 5), seed: int = 0, **parts: Any) -> list[ProbeResult]:
    """Return the ``ProbeResult`` of each probe after printing one line per probe.

    Probes run in order and stop at the first failure (later probes assume the earlier
    parts work). Raises ``rlcore.check.CheckFailed`` (an AssertionError) naming the likely
    broken part when a probe fails.
    """
    from .check._core import CheckFailed

    results = []
    for k in probes:
        r = run_probe(k, seed=seed, **parts)
        print(r, flush=True)
        results.append(r)
        if not r.passed:
            raise CheckFailed(str(r))
    print(f"\u2713 all {len(results)} probes passed: your DQN parts learn the right Q-values.")
    return results
