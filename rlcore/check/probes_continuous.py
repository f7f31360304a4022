"""The probe check of lesson 09: train the learner's TD3 or SAC pieces on continuous probes.

Each probe (``rlcore.continuous_probes``) has a known Q* and best action, so after a few
hundred updates the critic and the actor either match them or say which part is broken.
``run_continuous_probe(k, algo, **parts)`` trains (``rlcore.algos.td3`` or ``sac``, with the
learner's exercise functions when given) on probe k; ``check_continuous_probes(algo, **parts)``
runs all three, prints one line each and raises ``CheckFailed`` naming the likely culprit.

Not imported by ``rlcore.check`` itself (it trains, so it needs the trainers):
``from rlcore.check.probes_continuous import check_continuous_probes``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ..continuous_probes import BEST_ACTION, CONTINUOUS_PROBES, PROBE_GAMMA, continuous_probe_id
from ._core import report_failure

__all__ = ["ContinuousProbeResult", "check_continuous_probes", "run_continuous_probe"]

ACTION_TOL, Q_TOL = 0.15, 0.15


@dataclass
class ContinuousProbeResult:
    """What ``run_continuous_probe`` learned next to what is known, whether they match, and a diagnosis."""

    k: int
    algo: str
    passed: bool
    actions: dict[float, float]  # greedy action at each probe observation
    q: dict[float, float]  # Q_theta1(s, best action) at each observation
    message: str

    def __str__(self) -> str:
        mark = "\u2713" if self.passed else "\u2717"
        return f"{mark} probe {self.k} ({CONTINUOUS_PROBES[self.k]}): {self.message}"


def _config(algo: str, k: int, seed: int) -> Any:
    common = dict(env_id=continuous_probe_id(k), seed=seed, n_envs=8, max_env_steps=1_000,
                  eval_every=10**9, eval_episodes=1, gamma=PROBE_GAMMA, hidden_sizes=(32, 32),
                  buffer_size=5_000, batch_size=128, learning_starts=200, utd=0.5, tau=0.05,
                  actor_lr=3e-3, critic_lr=3e-3, threads=1, patience_steps=10**9)
    if algo == "td3":
        from ..algos import td3

        return td3.Config(exploration_noise=0.3, **common)
    from ..algos import sac

    return sac.Config(auto_alpha=False, init_alpha=0.01, **common)  # soft Q ~ Q: alpha tiny


def run_continuous_probe(k: int, algo: str = "sac", seed: int = 0, **parts: Any) -> ContinuousProbeResult:
    """Train ``algo`` ("td3" or "sac") with ``parts`` on probe k; compare actor and critic with the known answer."""
    if algo not in ("td3", "sac"):
        raise ValueError(f"algo must be 'td3' or 'sac', got {algo!r}")
    from ..algos import sac, td3

    module = td3 if algo == "td3" else sac
    result = module.train(_config(algo, k, seed), progress=False, **parts)
    states = [-1.0, 1.0] if k == 2 else ([0.0, 1.0] if k == 3 else [0.0])
    obs = np.array([[s] for s in states], dtype=np.float32)
    acts = np.asarray(result.act(obs)).reshape(-1)
    best = np.array([BEST_ACTION * (s if k == 2 else 1.0) for s in states], dtype=np.float32)
    with torch.no_grad():
        q = result.critic(torch.as_tensor(obs), torch.as_tensor(best[:, None]))[0].numpy()
    expected_q = {1: [1.0], 2: [1.0, 1.0], 3: [PROBE_GAMMA, 1.0]}[k]
    actions = dict(zip(states, acts.tolist()))
    qs = dict(zip(states, q.tolist()))
    q_ok = bool(np.all(np.abs(q - expected_q) < Q_TOL))
    # probe 3's first action does not matter (every action leads to obs 1)
    act_idx = [1] if k == 3 else list(range(len(states)))
    a_ok = bool(np.all(np.abs(acts[act_idx] - best[act_idx]) < ACTION_TOL))
    shown = (f"Q(s, best a) = {', '.join(f'{v:.2f}' for v in q)} (known {', '.join(f'{v:g}' for v in expected_q)}), "
             f"greedy action {', '.join(f'{a:+.2f}' for a in acts[act_idx])} "
             f"(best {', '.join(f'{b:+.2f}' for b in best[act_idx])})")
    if q_ok and a_ok:
        return ContinuousProbeResult(k, algo, True, actions, qs, shown)
    return ContinuousProbeResult(k, algo, False, actions, qs,
                                 f"{shown}\n    likely: {_diagnose(k, algo, q, q_ok, a_ok)}")


def _diagnose(k: int, algo: str, q: np.ndarray, q_ok: bool, a_ok: bool) -> str:
    targets = "clipped_double_q_targets" if algo == "td3" else "sac_targets"
    if not a_ok:
        first = ("the actor does not climb the critic: check sac_policy_loss (the mean of "
                 "alpha log pi - min(q1, q2), with the gradient through q and logp) and "
                 "squashed_gaussian_log_prob" if algo == "sac" else
                 "the actor does not climb the critic: check smoothed_target_actions (the target "
                 "action must stay near mu_targ(s'), inside the bounds)")
        return first + ("" if q_ok else f"; once it does, re-check the critic's {targets}") + "."
    if not q_ok:
        if abs(q[-1] - 1.0 / (1.0 - PROBE_GAMMA)) < abs(q[-1] - 1.0):
            return (f"Q grows toward r / (1 - gamma): your {targets} bootstrap from s' when the "
                    "episode ended; multiply the bootstrapped term by (1 - dones).")
        if k == 3 and abs(q[1] - 1.0) < Q_TOL:
            if abs(q[0] - 1.0) < abs(q[0] - PROBE_GAMMA):
                return f"Q(0) is about 1, not gamma: {targets} forget to multiply by gamma."
            if abs(q[0]) < 0.5 * PROBE_GAMMA:
                return f"Q(0) stays near 0: {targets} do not add gamma * (1 - d) * the next value."
        if algo == "sac":
            return ("the critic misses a terminal reward it sees every step: check sac_targets "
                    "(y = r + gamma (1 - d) (min Q - alpha log pi)) and squashed_gaussian_log_prob "
                    "(finite, with the tanh correction's minus sign).")
        return "the critic misses a terminal reward it sees every step: check clipped_double_q_targets."
    return "check the critic's targets."


def check_continuous_probes(algo: str = "sac", seed: int = 0, **parts: Any) -> list[ContinuousProbeResult]:
    """Run the three continuous probes with the learner's ``parts``; print a line each; raise if one fails."""
    __tracebackhide__ = True
    results = []
    for k in CONTINUOUS_PROBES:
        res = run_continuous_probe(k, algo, seed, **parts)
        print(res)
        results.append(res)
    failed = [r for r in results if not r.passed]
    if failed:
        report_failure("\u2717 continuous probes: " + "; ".join(f"probe {r.k} failed" for r in failed)
                       + "\n" + "\n".join(str(r) for r in failed))
    print(f"\u2713 {algo} passed all {len(results)} continuous probes.")
    return results


