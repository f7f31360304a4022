"""Seeds as a batch dimension: what the trainers' ``train_population`` share.

S independent seeds train in one process: their networks are stacked (every weight gets a
leading seed dimension, and one batched matmul, ``torch.baddbmm``, evaluates all S
networks at once), their environments are one vector env of S groups of ``n_envs``, and
each seed keeps its own data (rollouts, replay buffer) and its own optimizer state (Adam
is elementwise, so one Adam over stacked weights *is* S separate Adams). The loss of the
population is the sum of the S seeds' losses: seed s's weights receive exactly the
gradient of seed s's loss.

- ``check_seeds``: the population's seeds (S >= 1, integers, no repeats), errors naming ``seeds``;
- ``check_memory``: estimate the bytes S copies need before allocating anything;
- ``rlcore.nets.StackedMLP.from_mlps``: S MLPs as one module, built from S ordinary
  ``rlcore.nets.mlp`` (``member(i)`` gives seed i's network back as an ``nn.Sequential``);
- ``population_env_seed``: one env seed derived from every seed of the population;
- ``evaluate_members``: the benchmark's greedy evaluation of several members at once;
- ``PopulationResult``: one ``Result`` per seed plus curves on a common grid for
  ``rlcore.plotting.plot_iqm_curves``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from .common import evaluate

__all__ = ["PopulationResult", "check_memory", "check_seeds", "evaluate_members",
           "population_env_seed"]


def check_seeds(seeds: Any, field_name: str = "seeds") -> list[int]:
    """Return ``seeds`` as a list of S >= 1 distinct ints; raise ValueError/TypeError naming the field.

    A repeated seed would train the same run twice and count it as two samples (it would
    shrink every confidence interval for nothing), so repeats are refused.
    """
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Sequence | range | np.ndarray):
        raise TypeError(f"{field_name} must be a list of ints (one per seed), got {seeds!r}")
    out = []
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 0:
            raise ValueError(f"{field_name} must hold non-negative ints, got {s!r} in {list(seeds)!r}")
        out.append(int(s))
    if len(out) < 1:
        raise ValueError(f"{field_name} must hold at least one seed (S >= 1), got {list(seeds)!r}")
    repeated = sorted({s for s in out if out.count(s) > 1})
    if repeated:
        raise ValueError(f"{field_name} must not repeat a seed (a repeat is the same run counted "
                         f"twice), got {repeated} more than once")
    return out


def available_bytes() -> int:
    """Bytes of memory this process may still use (psutil's 'available')."""
    import psutil

    return int(psutil.virtual_memory().available)


def check_memory(need_bytes: float, what: str, field_name: str = "seeds",
                 limit_bytes: float | None = None) -> None:
    """Raise MemoryError naming ``field_name`` when ``need_bytes`` exceed half the available memory.

    what: how the estimate was made ("16 seeds x replay buffer of 100,000 x ..."), said in
    the message. limit_bytes: the budget (default: half of what psutil reports available).
    """
    limit = available_bytes() / 2 if limit_bytes is None else float(limit_bytes)
    if need_bytes > limit:
        raise MemoryError(
            f"{field_name}: the population would need about {need_bytes / 2**30:.2f} GiB ({what}), "
            f"more than the {limit / 2**30:.2f} GiB budget (half the memory available); "
            f"use fewer seeds or smaller buffers")


def population_env_seed(seeds: Sequence[int]) -> int:
    """One 32-bit seed for the population's vector env, drawn from all of ``seeds``.

    With one seed it is the seed itself (the env then starts as in ``train``); otherwise
    ``numpy.random.SeedSequence(seeds)``, so that two populations sharing a seed do not
    share their environments' streams.
    """
    if len(seeds) == 1:
        return int(seeds[0])
    return int(np.random.SeedSequence(list(seeds)).generate_state(1)[0])


def evaluate_members(net: nn.Module, members: Sequence[int], env_id: str, n_episodes: int,
                     seed: int = 10_000, max_steps: int = 500) -> np.ndarray:
    """Return (len(members), n_episodes) greedy returns R(tau), every member evaluated at once.

    The benchmark protocol of ``rlcore.algos.common.evaluate`` (each env's first episode
    counts, greedy argmax actions), with one vector env of len(members) x n_episodes envs
    and one batched forward pass per step. Each member plays its own episodes (not the
    same start states as a one-seed run; the same distribution).
    """
    members = list(members)
    m, e = len(members), int(n_episodes)
    idx = torch.as_tensor(members)
    weights = [w.detach()[idx] for w in net.weights]
    biases = [b.detach()[idx] for b in net.biases]

    def act(obs: np.ndarray) -> np.ndarray:  # (m * e, obs_dim) -> (m * e,): member j's e envs in a row
        x = torch.as_tensor(np.asarray(obs, dtype=np.float32)).reshape(m, e, -1)
        for k, (w, b) in enumerate(zip(weights, biases)):
            x = torch.baddbmm(b, x, w)
            if k < len(weights) - 1:
                x = net.act(x)
        return x.argmax(-1).reshape(-1).numpy()

    return evaluate(act, env_id, n_episodes=m * e, seed=seed, max_steps=max_steps).reshape(m, e)


@dataclass(kw_only=True)
class PopulationResult:
    """What ``train_population`` returns: one ``Result`` per seed, in the order of ``seeds``.

    results[i]: seed i's learning curve and agent, as ``train(config with seed=seeds[i])``
    returns them (its ``train_seconds`` are the population's clock: all seeds share it).
    wall_seconds: training time of the whole population (evaluation excluded).
    """

    seeds: list[int]
    results: list[Any]
    wall_seconds: float = 0.0
    config: Any = None
    stopped_by: str = ""
    notes: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.results)

    def __getitem__(self, i: int) -> Any:
        return self.results[i]

    def __iter__(self) -> Any:
        return iter(self.results)

    @property
    def solved(self) -> list[bool]:
        """Per seed: did some evaluation reach the target?"""
        return [r.solved for r in self.results]

    def steps_to_solve(self) -> np.ndarray:
        """(S,) env steps at each seed's first solving evaluation, inf where it never solved."""
        return np.array([r.solved_at_steps if r.solved else np.inf for r in self.results], float)

    def curves(self, key: str = "eval_return", grid: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Return (x, runs): every seed's curve of ``key`` on a common grid of env steps.

        key: a per-evaluation list of the results ("eval_return", "losses", PG's
        "train_return") or a diagnostic ("epsilon", "q_max", ...).
        grid: env steps (default: the evaluation points of the seed with the most). A seed
        whose run stopped earlier (it solved) keeps its last value; between its
        evaluations a value is linearly interpolated. runs: (S, len(grid)), ready for
        ``rlcore.plotting.plot_iqm_curves({label: (x, runs)})``.
        """
        longest = max(self.results, key=lambda r: len(r.env_steps))
        x = np.asarray(longest.env_steps if grid is None else grid, dtype=np.float64)
        runs = []
        for r in self.results:
            values = getattr(r, key, None) if key != "diagnostics" else None
            if values is None:
                if key not in r.diagnostics:
                    raise ValueError(f"key must be a curve of the results (eval_return, losses, "
                                     f"train_return, ...) or one of {sorted(r.diagnostics)}, got {key!r}")
                values = r.diagnostics[key]
            if not values:
                runs.append(np.full(x.shape, math.nan))
                continue
            runs.append(np.interp(x, np.asarray(r.env_steps, float), np.asarray(values, float)))
        return x, np.stack(runs)

    def summary(self) -> str:
        """``16 seeds: 16 solved, steps to solve median 30,000 (IQM 29,500 [27,000, 32,000])``."""
        from ..stats import summarize_times

        s = summarize_times(self.steps_to_solve())
        f = lambda v: "-" if v is None else f"{v:,.0f}"
        return (f"{s['runs']} seeds: {s['solved']} solved; env steps to solve: median "
                f"{f(s['median'])}, IQM {f(s['iqm'])} [{f(s['iqm_low'])}, {f(s['iqm_high'])}] "
                f"(95% bootstrap), p90 {f(s['p90'])}, max {f(s['max'])}; {self.wall_seconds:.1f} s")

    def __repr__(self) -> str:
        return f"PopulationResult({self.summary()})"
