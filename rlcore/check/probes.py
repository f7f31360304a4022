"""The probe check of lesson 06: train the learner's DQN parts on the probe environments.

Each probe (``rlcore.probe_envs``) has Q*(s, a) known by hand, so after a few hundred
updates the learned Q_theta either matches it or says which part of DQN is broken.
``run_probe(k, **parts)`` trains DQN (``rlcore.algos.dqn.train``, with the learner's
exercise functions when given) on probe k and returns a ``ProbeResult``;
``check_probes(**parts)`` runs all of them, prints one line each and raises
``CheckFailed`` naming the part that is likely broken.

The learner's ``ReplayBuffer`` is watched while it trains: every transition added is
remembered, and a probe fails, naming the mistake, when ``sample`` returns a transition
that was never added (an all-zero slot never written, or rows whose fields come from
different transitions), even if the Q-values happen to come out right.

Not imported by ``rlcore.check`` itself (it trains, so it needs the trainers):
``from rlcore.check.probes import check_probes``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..probe_envs import PROBE_GAMMA, PROBES, expected_q, probe_env_id

__all__ = ["ProbeResult", "check_probes", "run_probe"]


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
    from ..algos.dqn import Config

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


class _Watch:
    """Wraps a learner's ReplayBuffer class; remembers what is added and flags what is sampled
    but was never added (the first such sample is kept in ``offense``)."""

    def __init__(self) -> None:
        self.offense: tuple[int, int, bool, bool] | None = None  # (unknown, sampled, all zero, wrapped)

    def wrap(self, cls: Any) -> Any:
        watch = self

        class Watched:
            def __init__(self, capacity: Any, *args: Any, **kwargs: Any) -> None:
                self._buffer = cls(capacity, *args, **kwargs)
                self._capacity, self._added, self._count = capacity, set(), 0

            def add(self, *fields: Any) -> Any:
                out = self._buffer.add(*fields)
                rows = _rows(fields)
                if rows is not None:
                    self._added.update(map(tuple, rows))
                    self._count += len(rows)
                return out

            def sample(self, batch_size: Any) -> Any:
                batch = self._buffer.sample(batch_size)
                rows = _rows([getattr(batch, f, None) for f in ("obs", "actions", "rewards", "next_obs", "dones")])
                if rows is not None and watch.offense is None:
                    unknown = [r for r in map(tuple, rows) if r not in self._added]
                    if unknown:
                        wrapped = isinstance(self._capacity, int) and self._count > self._capacity
                        watch.offense = (len(unknown), len(rows), any(not any(r) for r in unknown), wrapped)
                return batch

            def __len__(self) -> int:
                return len(self._buffer)

            def __getattr__(self, name: str) -> Any:
                return getattr(self._buffer, name)

        Watched.__name__ = Watched.__qualname__ = getattr(cls, "__name__", "ReplayBuffer")
        return Watched

    def message(self) -> str | None:
        """What the probe says about the buffer, or None when every sample was made of added rows."""
        if self.offense is None:
            return None
        from .. import catalog

        unknown, sampled, blank, wrapped = self.offense
        slug = ("batch_restarts_at_zero" if wrapped else "never_written_slots") if blank else "fields_unpaired"
        cause = catalog.get("ReplayBuffer").mistake(slug).message
        return (f"your ReplayBuffer.sample returned {unknown} of {sampled} transitions that were never "
                f"added{' (all zeros)' if blank else ''}\n    likely cause: {cause}")


def _rows(fields: Any) -> np.ndarray | None:
    """Transitions (obs, actions, rewards, next_obs, dones) as rows of rounded floats, or None."""
    try:
        cols = [np.asarray(f.detach().cpu().numpy() if isinstance(f, torch.Tensor) else f, dtype=np.float64)
                for f in fields]
        n = len(cols[1])
        return np.round(np.concatenate([c.reshape(n, -1) for c in cols], axis=1), 4)
    except (TypeError, ValueError, IndexError, AttributeError):
        return None  # not transitions: the trainer's own checks say what is wrong


def run_probe(
    k: int,
    seed: int = 0,
    atol: float = 0.03,
    config_overrides: dict | None = None,
    check_functions: bool = True,
    **parts: Any,
) -> ProbeResult:
    """Return a ``ProbeResult`` after training DQN on probe k and comparing Q_theta with Q*.

    parts: the learner's exercise functions by name (``ReplayBuffer``, ``linear_schedule``,
    ``epsilon_greedy``, ``dqn_targets``, ``dqn_loss``, ``update_target``); missing ones
    use rlcore's reference. A probe passes when every |Q_theta(s, a) - Q*(s, a)| <= atol.
    Errors raised by the learner's functions are caught and reported in the result;
    check_functions: run each given part's visible check first (a failing one is reported
    with the check's message instead of training).
    Raises ValueError for an unknown k or a part name that is not an exercise.
    """
    from ..algos.dqn import LearnerFunctionError, train

    probe_env_id(k)
    allowed = {"ReplayBuffer", "linear_schedule", "epsilon_greedy", "dqn_targets", "dqn_loss",
               "update_target"}
    unknown = set(parts) - allowed
    if unknown:
        raise ValueError(f"unknown DQN parts {sorted(unknown)}; expected some of {sorted(allowed)}")
    config = _probe_config(k, seed, **(config_overrides or {}))
    expected = expected_q(k, config.gamma)
    watch = _Watch()
    if parts.get("ReplayBuffer") is not None:
        parts = {**parts, "ReplayBuffer": watch.wrap(parts["ReplayBuffer"])}
    try:
        result = train(config, progress=False, check_functions=check_functions, **parts)
    except LearnerFunctionError as e:
        return ProbeResult(k, False, {}, expected, "training stopped: " + str(e).removeprefix("\u2717 "),
                           error=str(e))
    obs = torch.tensor([[s] for s in expected], dtype=torch.float32)
    with torch.no_grad():
        q = result.q_net(obs).numpy().astype(np.float64)
    learned = {s: (float(row[0]), float(row[1])) for s, row in zip(expected, q)}
    errors = [abs(learned[s][a] - expected[s][a]) for s in expected for a in (0, 1)]
    passed = bool(np.isfinite(errors).all() and max(errors) <= atol)
    summary = f"learned {_format_q(learned)}; expected {_format_q(expected)}"
    buffer_problem = watch.message()
    if buffer_problem is not None:  # a buffer that returns what it was never given fails, whatever Q learned
        passed, message = False, f"{buffer_problem}\n    ({summary})"
    elif passed:
        message = summary
    else:
        message = summary + "\n    likely cause: " + _diagnose(k, learned, expected, config.gamma)
    return ProbeResult(k, passed, learned, expected, message,
                       details={"max_abs_error": float(max(errors)), "final_loss": result.losses[-1]})


def check_probes(probes: tuple[int, ...] = (1, 2, 3, 4, 5), seed: int = 0, check_functions: bool = True,
                 **parts: Any) -> list[ProbeResult]:
    """Return the ``ProbeResult`` of each probe after printing one line per probe.

    Probes run in order and stop at the first failure (later probes assume the earlier
    parts work). Raises ``rlcore.check.CheckFailed`` (an AssertionError) naming the likely
    broken part when a probe fails.
    """
    from ._core import run_probes

    return run_probes(lambda k: run_probe(k, seed=seed, check_functions=check_functions, **parts), probes,
                      "your DQN parts learn the right Q-values")
