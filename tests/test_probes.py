"""Probe environments: exact dynamics and Q*, DQN learns them, broken parts are named."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlcore import dqn_parts
from rlcore.check import CheckFailed
from rlcore.check.probes import check_probes, run_probe
from rlcore.probe_envs import PROBE_GAMMA, PROBES, ProbeEnv, expected_q, probe_env_id


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
    result = run_probe(k, seed=0, check_functions=False, **parts)  # the probe's own diagnosis
    assert not result.passed
    assert words in result.message
    checked = run_probe(k, seed=0, **parts)  # by default a part failing its visible check says so
    assert not checked.passed
    assert "does not pass its check yet" in checked.message or words in checked.message


def test_learner_error_is_reported_not_raised():
    def broken_loss(q_values, actions, targets):
        raise RuntimeError("oops")

    result = run_probe(1, dqn_loss=broken_loss)
    assert not result.passed and "dqn_loss" in result.message and "oops" in result.message


def test_check_probes_stops_at_first_failure(capsys):
    with pytest.raises(CheckFailed, match="probe 1"):
        check_probes(dqn_targets=_no_done_targets, check_functions=False)
    out = capsys.readouterr().out
    assert "probe 1" in out and "probe 2" not in out
    with pytest.raises(ValueError, match="unknown DQN parts"):
        run_probe(1, dqn_loos=_max_loss)


# --------------------------------------------------------------------- the learner's buffer, watched
def _buffer(slug: str | None):
    """The catalog's correct learner-style buffer (None) or the wrong one of mistake ``slug``."""
    from rlcore import catalog

    ex = catalog.get("ReplayBuffer")
    return ex, (ex.define(ex.alternatives[1]) if slug is None else ex.define(ex.mistake(slug).wrong))


@pytest.mark.parametrize("check_functions", [False, True])
def test_a_buffer_sampling_never_written_slots_fails_a_probe_naming_it(check_functions):
    """The probe's own watch (and, by default, the visible check first) names the mistake,
    even though the Q-values of probe 1 come out right."""
    ex, buffer = _buffer("never_written_slots")
    result = run_probe(1, ReplayBuffer=buffer, check_functions=check_functions)
    assert not result.passed
    assert ex.mistake("never_written_slots").message in result.message
    assert ex.mistake("fields_unpaired").message not in result.message


def test_a_buffer_mixing_up_fields_fails_probe_2_naming_it():
    ex, buffer = _buffer("fields_unpaired")
    result = run_probe(2, ReplayBuffer=buffer, check_functions=False)
    assert not result.passed and ex.mistake("fields_unpaired").message in result.message


def test_a_correct_learner_buffer_passes_the_watched_probes():
    _, buffer = _buffer(None)
    assert run_probe(2, ReplayBuffer=buffer).passed


def test_an_unfilled_buffer_is_named_in_a_whole_sentence():
    import gradelib
    import nbformat

    released = nbformat.read(gradelib.lesson_path("06-dqn"), as_version=4)
    cell = next(c for c in released.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "ReplayBuffer")
    stub = gradelib.define(cell.source, "ReplayBuffer", {"np": np, "torch": torch})  # as released
    for check_functions in (True, False):
        text = str(run_probe(1, ReplayBuffer=stub, check_functions=check_functions))
        assert "ReplayBuffer is not written yet" in text and "hint:" in text, text
        assert not any(line.rstrip().endswith(":") for line in text.splitlines()), text
