"""rlcore.algos.td3 (DDPG, TD3) and rlcore.algos.sac: they learn, they are deterministic, bad input is named.

Real learning: SAC and TD3 swing Pendulum up on a fixed seed within a cap of env steps
(the benchmark, bench/pendulum.py, measures time-to-solve over seeds). Everything else is a
short run: config fields named, action bounds checked, a learner's broken function or actor
stopped with a message naming it and the curve so far kept.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from rlcore import continuous
from rlcore.algos import LearnerFunctionError, sac, td3
from rlcore.algos._offpolicy import ReplayStore, TwinCritic, polyak_update

SHORT = dict(max_env_steps=800, eval_every=400, eval_episodes=2, learning_starts=400, n_envs=4,
             batch_size=64, threads=1)


# ------------------------------------------------------------------ it learns
@pytest.mark.parametrize("module", [sac, td3], ids=["sac", "td3"])
def test_solves_pendulum_on_a_fixed_seed_within_the_cap(module):
    result = module.train(module.Config(seed=0, max_env_steps=12_000, stop_on_solve=True, threads=1),
                          progress=False)
    assert result.solved, result.summary()
    assert result.eval_return[-1] >= -200.0
    assert result.solved_at_steps <= 12_000


def test_same_seed_same_run():
    a = sac.train(sac.Config(seed=3, **SHORT), progress=False)
    b = sac.train(sac.Config(seed=3, **SHORT), progress=False)
    assert a.eval_return == b.eval_return and np.allclose(a.losses, b.losses)


def test_ddpg_is_td3_with_its_three_fixes_off():
    cfg = td3.ddpg_config(seed=1, **SHORT)
    assert (cfg.clipped_double_q, cfg.policy_delay, cfg.target_policy_smoothing) == (False, 1, False)
    result = td3.train(cfg, progress=False)
    assert len(result.eval_return) == 2 and np.isfinite(result.losses).all()
    assert "q_estimate" in result.diagnostics


def test_sac_records_alpha_and_entropy_and_tunes_alpha():
    result = sac.train(sac.Config(seed=0, **SHORT), progress=False)
    alpha = result.diagnostics["alpha"]
    assert len(alpha) == 2 and alpha[-1] != pytest.approx(0.2)  # the temperature moved
    fixed = sac.train(sac.Config(seed=0, auto_alpha=False, init_alpha=0.05, **SHORT), progress=False)
    assert fixed.diagnostics["alpha"][-1] == pytest.approx(0.05, rel=1e-5)


def test_learner_functions_plug_in_and_match_the_reference():
    ref = sac.train(sac.Config(seed=2, **SHORT), progress=False)
    mine = sac.train(sac.Config(seed=2, **SHORT), progress=False,
                     squashed_gaussian_log_prob=lambda u, m, s: continuous.squashed_gaussian_log_prob(u, m, s),
                     sac_targets=lambda *a: continuous.sac_targets(*a),
                     sac_policy_loss=lambda *a: continuous.sac_policy_loss(*a))
    assert np.allclose(ref.losses, mine.losses, rtol=1e-5)
    t_ref = td3.train(td3.Config(seed=2, **SHORT), progress=False)
    t_mine = td3.train(td3.Config(seed=2, **SHORT), progress=False,
                       smoothed_target_actions=lambda *a: continuous.smoothed_target_actions(*a),
                       clipped_double_q_targets=lambda *a: continuous.clipped_double_q_targets(*a))
    assert np.allclose(t_ref.losses, t_mine.losses, rtol=1e-5)


# ------------------------------------------------------------------ the parts
def test_twin_critic_is_two_independent_critics_in_one_batched_network():
    critic = TwinCritic(3, 1, (8, 8))
    obs, act = torch.randn(5, 3), torch.randn(5, 1)
    q = critic(obs, act)
    assert q.shape == (2, 5)
    x = torch.cat([obs, act], 1)
    for k in range(2):
        assert torch.allclose(critic.net.member(k)(x).squeeze(-1), q[k], atol=1e-6)
    q_fixed = critic(obs, act.requires_grad_(True), detach_params=True)
    q_fixed.sum().backward()
    assert act.grad is not None and all(p.grad is None for p in critic.parameters())


def test_polyak_update_and_replay_store():
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    before = [p.detach().clone() for p in a.parameters()]
    polyak_update(a, b, 0.25)
    for p, p0, q in zip(a.parameters(), before, b.parameters()):
        assert torch.allclose(p, 0.75 * p0 + 0.25 * q)
    store = ReplayStore(4, 3, 1, seed=0)
    with pytest.raises(ValueError, match="empty"):
        store.sample(2)
    for k in range(6):  # wraps around: the oldest two are overwritten
        store.add(np.full((1, 3), k, np.float32), np.full((1, 1), k, np.float32), np.array([k], np.float32),
                  np.full((1, 3), k + 1, np.float32), np.array([False]))
    assert len(store) == 4 and sorted(store.rewards.tolist()) == [2, 3, 4, 5]
    batch = store.sample(32)
    assert batch.obs.shape == (32, 3) and batch.actions.shape == (32, 1) and batch.dones.dtype == torch.float32
    assert torch.equal(batch.next_obs[:, 0], batch.rewards + 1)  # fields stay row-aligned


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("module,field,value", [
    (sac, "utd", 0), (sac, "batch_size", 0), (sac, "gamma", 1.5), (sac, "hidden_sizes", ()),
    (sac, "init_alpha", -1.0), (td3, "policy_delay", 0), (td3, "exploration_noise", -0.1),
    (td3, "action_bounds", (1.0, -1.0)), (td3, "clipped_double_q", "yes"),
])
def test_bad_config_names_the_field(module, field, value):
    with pytest.raises(ValueError, match=rf"Config\.{field}"):
        module.train(dataclasses.replace(module.Config(**SHORT), **{field: value}), progress=False)


@pytest.mark.parametrize("module", [sac, td3], ids=["sac", "td3"])
def test_action_bounds_that_do_not_match_the_env_are_named(module):
    with pytest.raises(ValueError, match=r"Config\.action_bounds.*does not match Pendulum-v1"):
        module.train(module.Config(action_bounds=(-1.0, 1.0), **SHORT), progress=False)
    module.train(module.Config(action_bounds=(-2.0, 2.0), max_env_steps=8, learning_starts=8,
                               eval_every=10**6, n_envs=4, threads=1), progress=False)  # the env's own: fine


class _Actor(nn.Module):
    def __init__(self, out: int = 1, scale: float = 2.0) -> None:
        super().__init__()
        self.net = nn.Linear(3, out)
        self.scale = scale

    def forward(self, obs):
        return self.scale * torch.tanh(self.net(obs))


def test_td3_actor_of_the_wrong_shape_or_out_of_bounds_is_named_before_training():
    with pytest.raises(LearnerFunctionError, match=r"your actor returned actions of shape \(5, 2\), expected \(5, 1\)"):
        td3.train(td3.Config(**SHORT), progress=False, actor=_Actor(out=2))
    with pytest.raises(LearnerFunctionError, match=r"your actor returned actions .* outside the env's bounds"):
        td3.train(td3.Config(**SHORT), progress=False, actor=_Actor(scale=50.0))
    result = td3.train(td3.Config(**SHORT), progress=False, actor=_Actor())  # a fine actor trains
    assert result.actor is not None and len(result.eval_return) == 2


class _Drifting(nn.Module):
    """Fine on the pre-training check, then its actions leave the bounds once it has been trained."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Linear(3, 1)
        self.calls = 0

    def forward(self, obs):
        self.calls += 1
        return 2 * torch.tanh(self.net(obs)) * (1.0 if self.calls < 40 else 10.0)


def test_td3_actor_leaving_the_bounds_during_training_stops_cleanly_with_the_curve_kept():
    cfg = td3.Config(seed=0, max_env_steps=4_000, eval_every=200, eval_episodes=1, learning_starts=200,
                     n_envs=4, batch_size=64, threads=1)
    with pytest.raises(LearnerFunctionError, match="actor") as err:
        td3.train(cfg, progress=False, actor=_Drifting())
    result = err.value.result
    assert result.stopped_by == "error" and "outside the env's bounds" in result.error
    assert len(result.eval_return) >= 1  # the evaluations before the error are kept


def test_sac_actor_returning_the_wrong_shapes_is_named():
    class Bad(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Linear(3, 2)

        def forward(self, obs):
            return self.net(obs)  # one Tensor instead of (mu, log_std)

    with pytest.raises(LearnerFunctionError, match=r"your actor returned Tensor, expected a pair"):
        sac.train(sac.Config(**SHORT), progress=False, actor=Bad())


def test_nan_loss_names_the_function_and_keeps_the_curve():
    calls = {"n": 0}

    def turns_nan(u, mu, log_std):  # passes its check, then returns nan after a while
        calls["n"] += 1
        out = continuous.squashed_gaussian_log_prob(u, mu, log_std)
        return out * float("nan") if calls["n"] > 400 else out

    cfg = sac.Config(seed=0, max_env_steps=3_000, eval_every=200, eval_episodes=1, learning_starts=200,
                     n_envs=4, batch_size=64, threads=1)
    with pytest.raises(LearnerFunctionError, match="squashed_gaussian_log_prob") as err:
        sac.train(cfg, progress=False, squashed_gaussian_log_prob=turns_nan)
    assert "non-finite" in str(err.value)
    assert err.value.result.stopped_by == "error" and len(err.value.result.eval_return) >= 1


def test_a_broken_learner_function_stops_before_training_with_its_checks_message():
    def no_min(rewards, next_q1, next_q2, dones, gamma):
        with torch.no_grad():
            return rewards + gamma * (1 - dones.float()) * torch.max(next_q1, next_q2)

    with pytest.raises(LearnerFunctionError, match="does not pass its check yet") as err:
        td3.train(td3.Config(**SHORT), progress=False, clipped_double_q_targets=no_min)
    assert "MIN" in str(err.value)  # the catalog's message for taking the max

    def not_written(*args):
        raise NotImplementedError

    with pytest.raises(LearnerFunctionError, match="not written yet"):
        sac.train(sac.Config(**SHORT), progress=False, sac_policy_loss=not_written)


def test_wrong_shape_from_a_learner_function_during_training_is_named():
    def targets_2d(*args):  # (B, 1): (B, 1) - (B,) would broadcast to (B, B) in the critic loss
        return continuous.sac_targets(*args)[:, None]

    with pytest.raises(LearnerFunctionError, match=r"sac_targets returned shape \(64, 1\), expected \(64,\)"):
        sac.train(sac.Config(**SHORT), progress=False, sac_targets=targets_2d, check_functions=False)
