"""The probe check of lesson 08: train the learner's actor-critic parts on probe environments.

Each probe has V^pi (and, for the action probe, the optimal policy) known by hand, so after
a few thousand steps of PPO the critic V_phi and the policy pi_theta either match it or
say which part is broken. The probes (``rlcore.probe_envs``), with gamma = 0.9:

=====  ==========================================  =================================
probe  the environment                             what must be learned
=====  ==========================================  =================================
1      obs 0: reward +1, episode ends              V(0) = 1
2      obs -1 or +1: reward = obs, ends            V(-1) = -1, V(+1) = +1
3      obs 0: reward 0, then obs 1: reward +1,     V(0) = gamma, V(1) = 1
       ends (two steps)
4      obs 0: action 0 gives +1, action 1 -1, ends pi(0|0) -> 1, V(0) -> 1
5      obs 0: reward +1 forever, cut by a          V(0) = 1 / (1 - gamma) = 10
       time limit after 5 steps (truncated)
=====  ==========================================  =================================

``run_ac_probe(k, **parts)`` trains PPO (``rlcore.algos.ppo.train``, with the learner's
exercise functions when given) on probe k and returns an ``ACProbeResult``;
``check_ac_probes(**parts)`` runs them in order, prints one line each and raises
``CheckFailed`` naming the likely broken part at the first failure.

Not imported by ``rlcore.check`` itself (it trains): ``from rlcore.check.ac_probes import check_ac_probes``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..probe_envs import PROBE_GAMMA, TRUNCATION_PROBE_ID, probe_env_id

__all__ = ["AC_PROBES", "ACProbeResult", "check_ac_probes", "run_ac_probe"]

AC_PROBES = {
    1: "one step, constant reward +1",
    2: "one step, reward = observation",
    3: "two steps, reward only at the end (discounting)",
    4: "one step, reward depends on the action",
    5: "reward +1 forever, cut by a time limit (truncation)",
}
PARTS = ("gae_advantages", "ppo_clip_loss", "categorical_entropy", "explained_variance", "approx_kl")


@dataclass
class ACProbeResult:
    """What ``run_ac_probe`` learned: V_phi (and pi_theta(0|s)) next to the known values, and a diagnosis."""

    k: int
    passed: bool
    learned: dict[float, float]
    expected: dict[float, float]
    message: str
    pi0: float | None = None  # pi_theta(a=0|s=0) for probe 4
    error: str | None = None

    def __str__(self) -> str:
        mark = "\u2713" if self.passed else "\u2717"
        return f"{mark} probe {self.k} ({AC_PROBES[self.k]}): {self.message}"


def expected_v(k: int, gamma: float = PROBE_GAMMA) -> dict[float, float]:
    """Return V^pi(s) of actor-critic probe k as {observation: value}; ValueError for a bad k."""
    table = {1: {0.0: 1.0}, 2: {-1.0: -1.0, 1.0: 1.0}, 3: {0.0: gamma, 1.0: 1.0}, 4: {0.0: 1.0},
             5: {0.0: 1.0 / (1.0 - gamma)}}
    if k not in table:
        raise ValueError(f"k must be one of {sorted(table)}, got {k!r}")
    return table[k]


def probe_config(k: int, seed: int = 0, **overrides: Any):
    """The PPO config of probe k: small nets, many short updates, gamma = 0.9, no early stop."""
    from ..algos.ppo import Config

    env_id = TRUNCATION_PROBE_ID if k == 5 else probe_env_id(k)
    settings = dict(env_id=env_id, seed=seed, n_envs=16, steps_per_env=8, max_env_steps=2_000,
                    eval_every=2_000, eval_episodes=1, target_return=1e9, stop_on_solve=False,
                    gamma=PROBE_GAMMA, gae_lambda=0.95, n_epochs=4, n_minibatches=2, lr=2e-2,
                    hidden_sizes=(16,), ent_coef=0.0, patience_steps=10**9, max_grad_norm=1.0)
    if k == 5:  # V = 10: a longer run with rewards scaled to keep the critic's targets near 1
        settings.update(max_env_steps=4_000, eval_every=4_000, reward_scale=0.1)
    settings.update(overrides)
    return Config(**settings)


def _diagnose(k: int, learned: dict[float, float], gamma: float, pi0: float | None) -> str:
    if k == 1:
        v = learned[0.0]
        if abs(v - 1 / (1 - gamma)) < abs(v - 1.0):
            return ("V grows toward r / (1 - gamma): your gae_advantages bootstrap from s' even though "
                    "the episode ended. delta_t = r_t + gamma (1 - d_t) V_{t+1} - V_t, with step t's own done.")
        if abs(v - 0.5) < 0.15:
            return ("V settles at r / 2: the critic's targets are the advantages alone. gae_advantages "
                    "must return returns = advantages + values.")
        return "the critic cannot learn a constant: check the returns gae_advantages gives as its targets."
    if k == 2:
        return ("V does not follow the observation: the critic's targets (returns of gae_advantages) "
                "are paired with the wrong steps (swapped axes, or a shifted done mask?).")
    if k == 3:
        v0 = learned[0.0]
        if learned[1.0] > 0.5 * (1 + 1 / (1 - gamma)):
            return _diagnose(1, {0.0: learned[1.0]}, gamma, pi0)
        if abs(v0) < 0.3 * gamma:
            return ("V(0) stays near 0: nothing is bootstrapped from the second step. Use step t's own "
                    "done (dones[t], not dones[t + 1]) and V_{t+1} (last_values at the batch end).")
        if abs(v0 - 1.0) < abs(v0 - gamma):
            return "V(0) is about 1, not gamma: the TD error must discount V_{t+1} by gamma."
        return "V(0) should be gamma * V(1): check the discount and the bootstrap in gae_advantages."
    if k == 4:
        if pi0 is not None and pi0 < 0.5:
            return ("the policy learned the WORSE action: the policy loss has the wrong sign (ppo_clip_loss "
                    "is minus the clipped objective, with min, not max).")
        return ("the policy does not prefer the better action: check ppo_clip_loss (the ratio "
                "exp(logp - logp_old), min of the two terms, a gradient into logp) and that the "
                "advantages of gae_advantages are r - V here.")
    return ("V(0) is far below 1 / (1 - gamma): the time limit was treated as the end of the "
            "episode. At a truncation the episode goes on: bootstrap gamma V(s_T) "
            "(the trainer does it when Config.bootstrap_truncation is True).")


def run_ac_probe(k: int, seed: int = 0, rtol: float = 0.05, config_overrides: dict | None = None,
                 check_functions: bool = True, **parts: Any) -> ACProbeResult:
    """Return an ``ACProbeResult`` after training PPO on probe k and comparing V_phi with V^pi.

    parts: the learner's exercise functions by name (gae_advantages, ppo_clip_loss,
    categorical_entropy, explained_variance, approx_kl); missing ones use rlcore's reference.
    A probe passes when every |V_phi(s) - V^pi(s)| <= rtol * max(1, |V^pi(s)|) (and, for
    probe 4, pi_theta(0|0) >= 0.9). Errors raised by the learner's functions are reported in
    the result. Raises ValueError for an unknown k or part name.
    """
    from ..algos.ppo import LearnerFunctionError, train

    unknown = set(parts) - set(PARTS)
    if unknown:
        raise ValueError(f"unknown actor-critic parts {sorted(unknown)}; expected some of {list(PARTS)}")
    config = probe_config(k, seed, **(config_overrides or {}))
    expected = expected_v(k, config.gamma)
    try:
        result = train(config, progress=False, check_functions=check_functions, **parts)
    except LearnerFunctionError as e:
        return ACProbeResult(k, False, {}, expected, "training stopped: " + str(e).removeprefix("\u2717 "),
                             error=str(e))
    agent = result.agent
    obs = torch.tensor([[s] for s in expected], dtype=torch.float32)
    with torch.no_grad():
        values = agent.value(agent.normalize(obs)).numpy().astype(np.float64) / config.reward_scale
        probs = torch.softmax(agent.actor(agent.normalize(obs)), -1).numpy()
    learned = {s: float(v) for s, v in zip(expected, values)}
    pi0 = float(probs[0, 0]) if k == 4 else None
    ok = all(abs(learned[s] - expected[s]) <= rtol * max(1.0, abs(expected[s])) for s in expected)
    if k == 4:
        ok = ok and pi0 >= 0.9
    shown = ", ".join(f"V({s:+g}) = {learned[s]:.3f}" for s in expected)
    want = ", ".join(f"V({s:+g}) = {expected[s]:.3f}" for s in expected)
    summary = f"learned {shown}" + (f", pi(0|0) = {pi0:.3f}" if pi0 is not None else "") + f"; expected {want}" + (
        ", pi(0|0) -> 1" if k == 4 else "")
    message = summary if ok else summary + "\n    likely cause: " + _diagnose(k, learned, config.gamma, pi0)
    return ACProbeResult(k, bool(ok), learned, expected, message, pi0=pi0)


def check_ac_probes(probes: tuple[int, ...] = (1, 2, 3, 4, 5), seed: int = 0, check_functions: bool = True,
                    **parts: Any) -> list[ACProbeResult]:
    """Return the ``ACProbeResult`` of each probe after printing one line per probe.

    Probes run in order and stop at the first failure (later probes assume the earlier
    parts work). Raises ``rlcore.check.CheckFailed`` naming the likely broken part.
    """
    from ._core import run_probes

    return run_probes(lambda k: run_ac_probe(k, seed=seed, check_functions=check_functions, **parts), probes,
                      "your actor-critic parts learn the right values")
