"""Pieces the trainers share: threads, seeding, and the greedy evaluation of the benchmark protocol.

Benchmark protocol (README, ``make bench``): every ``eval_every`` environment steps,
run the greedy policy for 20 episodes; "solved" when their mean return is >= 475.
Evaluation time is excluded from the training clock.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import threadpoolctl
import torch

__all__ = ["config_html", "config_reasons", "evaluate", "greedy_actions", "seed_everything", "set_threads"]


def set_threads(n: int | None = None) -> int:
    """Use ``n`` torch threads and ``n`` numpy (BLAS) threads (default: the machine's cores).

    Small nets gain nothing from more: measured on 2 cores, PPO's numpy rollout with
    OpenBLAS's default of 2 threads took 7.0 CPU s for 4.05 s of wall clock, with 1 thread
    3.9 s of both. Returns the number of torch threads.
    """
    if n is None:
        n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    n = max(1, int(n))
    torch.set_num_threads(n)
    threadpoolctl.threadpool_limits(limits=n, user_api="blas")
    return torch.get_num_threads()


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python, numpy and torch; return a numpy Generator for the trainer's own draws."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def evaluate(
    act: Callable[[np.ndarray], np.ndarray],
    env_id: str = "CartPole-v1",
    n_episodes: int = 20,
    seed: int = 10_000,
    max_steps: int = 500,
) -> np.ndarray:
    """Return the undiscounted returns R(tau) of ``n_episodes`` episodes of the greedy policy.

    act: maps a batch of observations (n, obs_dim) to a batch of actions (n,).
    All episodes run at once in a vectorized env (one batched forward pass per step):
    Gymnasium's own implementation of ``env_id`` (its vectorized one where it has one, else
    a SyncVectorEnv of its single env, e.g. Pendulum-v1); each env's first episode is the
    one counted (no auto-reset mixing). Continuous actions: ``act`` returns (n, action_dim).
    """
    if env_id.startswith("rlcore/"):
        from .. import probe_envs  # noqa: F401 - registers rlcore's probe environments
    mode = "vector_entry_point" if gym.spec(env_id).vector_entry_point is not None else "sync"
    envs = gym.make_vec(env_id, num_envs=n_episodes, vectorization_mode=mode)
    try:
        obs, _ = envs.reset(seed=seed)
        returns = np.zeros(n_episodes)
        alive = np.ones(n_episodes, dtype=bool)
        for _ in range(max_steps):
            with torch.no_grad():
                actions = np.asarray(act(obs))
            obs, rewards, terminated, truncated, _ = envs.step(actions)
            returns += rewards * alive
            alive &= ~(terminated | truncated)
            if not alive.any():
                break
    finally:
        envs.close()
    return returns


def greedy_actions(net: torch.nn.Module, obs: Any) -> Any:
    """Return argmax_a net(obs)[a] (logits or Q-values): an int64 array (n,) or, for one obs, an int.

    obs: a batch (n, obs_dim) or one observation (obs_dim,). The trainers' ``Result.act``,
    so ``evaluate(result.act)`` and ``rlcore.rollout(env, result.act)`` both work.
    """
    x = torch.as_tensor(np.asarray(obs), dtype=torch.float32)
    with torch.no_grad():
        if x.ndim == 1:
            return int(net(x[None]).argmax(-1)[0])
        return net(x).argmax(-1).numpy()


def config_reasons(cls: type) -> dict[str, str]:
    """Return {field: the comment beside it in the source of dataclass ``cls``}.

    A comment line right below a field continues that field's reason.
    """
    import inspect
    import re

    reasons: dict[str, str] = {}
    last = None
    for line in inspect.getsource(cls).splitlines():
        m = re.match(r"\s+(\w+):[^#]*?=[^#]*#\s?(.*)$", line)
        if m:
            last = m.group(1)
            reasons[last] = m.group(2).strip()
            continue
        m = re.match(r"\s+#\s?(.*)$", line)
        if m and last is not None:
            reasons[last] += " " + m.group(1).strip()
        elif line.strip():
            last = None
    return reasons


def config_html(config: Any) -> str:
    """An HTML table of a trainer Config: every field, its value, and why (Jupyter shows it)."""
    import dataclasses
    import html

    reasons = config_reasons(type(config))
    rows = "".join(
        f"<tr><td style='text-align:left'><code>{f.name}</code></td>"
        f"<td style='text-align:left'><code>{html.escape(repr(getattr(config, f.name)))}</code></td>"
        f"<td style='text-align:left'>{html.escape(reasons.get(f.name, ''))}</td></tr>"
        for f in dataclasses.fields(config))
    return (f"<table><caption style='text-align:left'>{type(config).__module__}.{type(config).__name__}"
            "</caption><tr><th style='text-align:left'>field</th><th style='text-align:left'>value</th>"
            f"<th style='text-align:left'>why</th></tr>{rows}</table>")
