"""Probe environments: exact dynamics and Q*, DQN learns them, broken parts are named."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlcore import dqn_parts
from rlcore.check import CheckFailed
from rlcore.probes import (
    PROBE_GAMMA,
    PROBES,
    ProbeEnv,
    check_probes,
    expected_q,
    probe_env_id,
    run_probe,
)


def _episode(k: int, action: int, seed: int = 0) -> list[tuple[float, float, bool, bool]]:
    """(obs before the step, reward, terminated, truncated) for every step of one episode."""
    env = ProbeEnv(k)
    obs, _ = env.reset(seed=seed)
    steps = []
    while True:
        nxt, r, term, trunc, _ = env.step(action)
        steps.append((float(obs[0]), r, term, trunc))
        obs = nxt
        if term or trunc:
            return steps


def test_probe_dynamics_by_hand():
    assert _episode(1, 0) == [(0.0, 1.0, True, False)]
    assert _episode(3, 1) == [(0.0, 0.0, False, False), (1.0, 1.0, True, False)]
    assert _episode(4, 0) == [(0.0, 1.0, True, False)]
    assert _episode(4, 1) == [(0.0, -1.0, True, False)]
    for seed in range(6):
        (s, r, _, _), = _episode(2, 0, seed)
        assert s in (-1.0, 1.0) and r == s
        (s, r, _, _), = _episode(5, 1, seed)
        assert r == (1.0 if s > 0 else -1.0)
        (s, r, _, _), = _episode(5, 0, seed)
        assert r == (1.0 if s < 0 else -1.0)
    starts = {_episode(2, 0, seed)[0][0] for seed in range(20)}
    assert starts == {-1.0, 1.0}


def test_expected_q_values_exact():
    g = 0.9
    assert expected_q(1, g) == {0.0: (1.0, 1.0)}
    assert expected_q(2, g) == {-1.0: (-1.0, -1.0), 1.0: (1.0, 1.0)}
    assert expected_q(3, g) == {0.0: (0.9, 0.9), 1.0: (1.0, 1.0)}
    assert expected_q(4, g) == {0.0: (1.0, -1.0)}
    assert expected_q(5, g) == {-1.0: (1.0, -1.0), 1.0: (-1.0, 1.0)}
    with pytest.raises(ValueError, match="k"):
        expected_q(9)


def test_probes_are_registered_and_vectorize():
    for k in PROBES:
        envs = gym.make_vec(probe_env_id(k), num_envs=3, vectorization_mode="vector_entry_point")
        obs, _ = envs.reset(seed=0)
        assert obs.shape == (3, 1) and obs.dtype == np.float32
        envs.close()


@pytest.mark.parametrize("k", sorted(PROBES))
def test_reference_dqn_learns_every_probe(k):
    result = run_probe(k, seed=0)
    assert result.passed, result.message
    exp = expected_q(k, PROBE_GAMMA)
    for s, (q0, q1) in exp.items():
        assert result.learned[s][0] == pytest.approx(q0, abs=0.05)
        assert result.learned[s][1] == pytest.approx(q1, abs=0.05)


def _no_done_targets(rewards, next_q_target, dones, gamma):
    with torch.no_grad():
        return rewards + gamma * next_q_target.max(1).values


def _no_gamma_targets(rewards, next_q_target, dones, gamma):
    with torch.no_grad():
        return rewards + (1 - dones.float()) * next_q_target.max(1).values


def _max_loss(q_values, actions, targets):
    return ((q_values.max(1).values - targets) ** 2).mean()


class _ShuffledRewards(dqn_parts.ReplayBuffer):
    """Samples rewards with their own indices: rows no longer belong together."""

    def sample(self, batch_size):
        b = super().sample(batch_size)
        return b._replace(rewards=b.rewards[torch.randperm(batch_size)])


@pytest.mark.parametrize("k,parts,words", [
    (1, {"dqn_targets": _no_done_targets}, "(1 - dones)"),
    (2, {"ReplayBuffer": _ShuffledRewards}, "ReplayBuffer"),
    (3, {"dqn_targets": _no_gamma_targets}, "gamma"),
    (4, {"dqn_loss": _max_loss}, "gather"),
])
def test_broken_part_is_named(k, parts, words):
    result = run_probe(k, seed=0, **parts)
    assert not result.passed
    assert words in result.message


def test_learner_error_is_reported_not_raised():
    def broken_loss(q_values, actions, targets):
        raise RuntimeError("oops")

    result = run_probe(1, dqn_loss=broken_loss)
    assert not result.passed and "dqn_loss" in result.message and "oops" in result.message


def test_check_probes_stops_at_first_failure(capsys):
    with pytest.raises(CheckFailed, match="probe 1"):
        check_probes(dqn_targets=_no_done_targets)
    out = capsys.readouterr().out
    assert "probe 1" in out and "probe 2" not in out
    with pytest.raises(ValueError, match="unknown DQN parts"):
        run_probe(1, dqn_loos=_max_loss)
