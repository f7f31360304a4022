"""rlcore.ac_math and rlcore.algos.ppo: the math by hand, training that learns, bad input named."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rlcore import ac_math
from rlcore.algos import ppo
from rlcore.algos.ppo import Config, LearnerFunctionError, train


def small(**kw) -> Config:
    """Smoke-run config: 3 updates of 8 envs x 16 steps, cheap evaluations."""
    base = dict(n_envs=8, steps_per_env=16, max_env_steps=384, eval_every=128, eval_episodes=2,
                hidden_sizes=(16,), seed=0, n_minibatches=2, n_epochs=2)
    base.update(kw)
    return Config(**base)


# ------------------------------------------------------------------ the reference math, by hand
def test_gae_by_hand_with_an_episode_end_and_a_bootstrap():
    # env 0: episode ends at t=1 (done), then one more step; env 1 runs past the batch end
    r = np.array([[1.0, 0.0], [2.0, 1.0], [3.0, 2.0]])
    v = np.array([[0.5, 1.0], [1.0, 1.0], [2.0, 1.0]])
    d = np.array([[False, False], [True, False], [False, False]])
    last = np.array([4.0, 10.0])
    g, lam = 0.5, 0.5
    # env 0, backwards: t=2: delta = 3 + 0.5*4 - 2 = 3, A = 3
    # t=1 (done): delta = 2 - 1 = 1, A = 1;  t=0: delta = 1 + 0.5*1 - 0.5 = 1, A = 1 + 0.25*1 = 1.25
    # env 1: t=2: delta = 2 + 5 - 1 = 6, A = 6; t=1: delta = 1 + 0.5 - 1 = 0.5, A = 0.5 + 1.5 = 2
    # t=0: delta = 0 + 0.5 - 1 = -0.5, A = -0.5 + 0.25*2 = 0
    adv, ret = ac_math.gae_advantages(r, v, d, last, g, lam)
    assert np.allclose(adv, [[1.25, 0.0], [1.0, 2.0], [3.0, 6.0]])
    assert np.allclose(ret, adv + v) and adv.dtype == np.float64


def test_gae_lambda_0_is_the_td_error_and_lambda_1_the_bootstrapped_return():
    rng = np.random.default_rng(0)
    r, v = rng.normal(size=(7, 3)), rng.normal(size=(7, 3))
    d = rng.random((7, 3)) < 0.3
    last = rng.normal(size=3)
    gamma = 0.9
    next_v = np.vstack([v[1:], last])
    adv0, _ = ac_math.gae_advantages(r, v, d, last, gamma, 0.0)
    assert np.allclose(adv0, r + gamma * (1 - d) * next_v - v)
    _, ret1 = ac_math.gae_advantages(r, v, d, last, gamma, 1.0)
    g = last.copy()
    for t in reversed(range(7)):  # discounted return to the episode's end or bootstrapped at T
        g = r[t] + gamma * (1 - d[t]) * g
        assert np.allclose(ret1[t], g)


def test_gae_takes_lists_bool_and_int_inputs_and_rejects_bad_shapes():
    adv, _ = ac_math.gae_advantages([[1, 2]], [[0, 0]], [[1.0, 0.0]], [5, 5], 0.9, 0.9)
    assert np.allclose(adv, [[1.0, 2 + 0.9 * 5]])
    with pytest.raises(ValueError, match="last_values"):
        ac_math.gae_advantages(np.zeros((3, 2)), np.zeros((3, 2)), np.zeros((3, 2)), np.zeros(3), 0.9, 0.9)
    with pytest.raises(ValueError, match="lam"):
        ac_math.gae_advantages(np.zeros((3, 2)), np.zeros((3, 2)), np.zeros((3, 2)), np.zeros(2), 0.9, 1.5)


def test_ppo_clip_loss_values_and_gradients_by_hand():
    # rho = exp(logp - logp_old) = [1.5, 0.5, 1.0]; A = [1, 1, -2]; eps = 0.2
    logp_old = torch.log(torch.tensor([0.2, 0.4, 0.5]))
    logp = (logp_old + torch.log(torch.tensor([1.5, 0.5, 1.0]))).requires_grad_(True)
    adv = torch.tensor([1.0, 1.0, -2.0])
    loss = ac_math.ppo_clip_loss(logp, logp_old, adv, 0.2)
    # min(1.5, 1.2) = 1.2 (clipped: no gradient); min(0.5, 0.8) = 0.5; min(-2, -2) = -2
    assert loss.item() == pytest.approx(-(1.2 + 0.5 - 2.0) / 3)
    loss.backward()
    # d/dlogp of -rho A / 3 = -rho A / 3 where unclipped: [0, -0.5/3, 2/3]
    assert torch.allclose(logp.grad, torch.tensor([0.0, -0.5 / 3, 2.0 / 3]), atol=1e-6)


def test_ppo_clip_loss_sends_no_gradient_into_logp_old_or_advantages():
    logp = torch.tensor([-1.0, -0.5], requires_grad=True)
    old = torch.tensor([-1.1, -0.4], requires_grad=True)
    adv = torch.tensor([0.3, -0.7], requires_grad=True)
    ac_math.ppo_clip_loss(logp, old, adv).backward()
    assert logp.grad is not None and old.grad is None and adv.grad is None


def test_categorical_entropy_uniform_onehot_and_huge_logits():
    h = ac_math.categorical_entropy(torch.zeros(2, 4))
    assert torch.allclose(h, torch.full((2,), math.log(4)))
    h = ac_math.categorical_entropy(torch.tensor([[1e4, -1e4, 0.0], [0.0, 0.0, 1e4]]))
    assert torch.isfinite(h).all() and torch.allclose(h, torch.zeros(2), atol=1e-6)
    x = torch.zeros(1, 3, dtype=torch.float64, requires_grad=True)
    out = ac_math.categorical_entropy(x)
    assert out.dtype == torch.float64 and out.requires_grad


def test_explained_variance_and_approx_kl():
    ret = np.array([1.0, 2.0, 3.0, 4.0])
    assert ac_math.explained_variance(ret, ret) == 1.0
    assert ac_math.explained_variance(np.full(4, 2.5), ret) == pytest.approx(0.0)
    assert math.isnan(ac_math.explained_variance(ret, np.ones(4)))
    assert isinstance(ac_math.explained_variance(torch.tensor(ret), torch.tensor(ret)), float)
    lp = np.log([0.5, 0.25])
    assert ac_math.approx_kl(lp, lp) == 0.0
    # rho = [2, 0.5]: ((2 - 1) - log 2 + (0.5 - 1) - log 0.5) / 2 = 0.25
    assert ac_math.approx_kl(lp + np.log([2.0, 0.5]), lp) == pytest.approx(0.25)


def test_bootstrap_truncated_adds_gamma_v_of_the_last_observation():
    r = np.ones((3, 2))
    v = np.array([[0.0, 0.0], [7.0, 0.0], [0.0, 0.0]])
    trunc = np.array([[True, False], [False, False], [False, True]])
    out = ppo.bootstrap_truncated(r, v, np.array([0.0, 3.0]), trunc, 0.5)
    # env 0 truncated at t=0: V(s_T) is the next step's input value 7; env 1 at t=2: last_values 3
    assert np.allclose(out, [[1 + 3.5, 1.0], [1.0, 1.0], [1.0, 1 + 1.5]])


# ------------------------------------------------------------------ training
def test_smoke_run_records_diagnostics_and_acts_greedily():
    res = train(small(), progress=False)
    assert len(res.eval_return) == 3 and res.stopped_by == "max_env_steps"
    for key in ("approx_kl", "clip_fraction", "entropy", "explained_variance", "value_loss",
                "policy_loss", "train_return"):
        assert len(res.diagnostics[key]) == 3
    assert all(k >= 0 for k in res.diagnostics["approx_kl"])
    assert 0 < res.diagnostics["entropy"][0] <= math.log(2) + 1e-6
    a = res.act(np.zeros((5, 4), dtype=np.float32))
    assert a.shape == (5,) and a.dtype == np.int64 and isinstance(res.act(np.zeros(4)), int)


def test_same_seed_same_run_other_seed_differs():
    a, b, c = (train(small(seed=s), progress=False) for s in (3, 3, 4))
    assert a.losses == b.losses and a.eval_return == b.eval_return
    assert a.diagnostics == b.diagnostics
    assert a.losses != c.losses


def test_reset_steps_are_masked_and_truncations_end_the_trace():
    """Pendulum truncates every env at step 200: dones there, and the next step is no transition."""
    seen = []

    def spy(rewards, values, dones, last_values, gamma, lam):
        seen.append(np.array(dones, dtype=bool))
        return ac_math.gae_advantages(rewards, values, dones, last_values, gamma, lam)

    res = train(ppo.preset("ppo", "Pendulum-v1", n_envs=2, steps_per_env=101, max_env_steps=700,
                           eval_every=700, eval_episodes=1, hidden_sizes=(8,)), progress=False,
                gae_advantages=spy, check_functions=False)
    dones = np.concatenate(seen)  # (404, 2): steps 0..403 of both envs
    # step 199 truncates; step 200 is a reset step (no transition); 201..400 the next episode,
    # then 401 is a reset step again
    assert dones[199].all() and dones[400].all() and dones.sum() == 4
    assert res.env_steps[-1] == 2 * (404 - 2)  # every step but the reset steps is counted


def test_ppo_solves_cartpole_within_a_step_cap():
    res = train(Config(seed=2, max_env_steps=40_000), progress=False)
    assert res.solved and res.solved_at_steps <= 40_000 and res.eval_return[-1] >= 475


def test_a2c_solves_cartpole_within_a_step_cap():
    res = ppo.train_a2c(ppo.a2c_config(seed=0, max_env_steps=150_000), progress=False)
    assert res.solved, res.summary()


@pytest.mark.slow
def test_ppo_on_pendulum_reaches_minus_400_with_a_gaussian_policy():
    res = train(ppo.preset("ppo", "Pendulum-v1", seed=0, max_env_steps=120_000,
                           target_return=-400.0), progress=False)
    assert res.solved and max(res.eval_return) > -400, res.summary()
    a = res.act(np.zeros((3, 3), dtype=np.float32))
    assert a.shape == (3, 1) and np.all(np.abs(a) <= 2.0)


def test_train_a2c_refuses_ppo_settings():
    with pytest.raises(ValueError, match="n_epochs"):
        ppo.train_a2c(Config(n_epochs=4))


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("field, value, says", [
    ("n_envs", 0, "integer >= 1"), ("gamma", 1.5, r"\[0, 1\]"), ("gae_lambda", -0.1, r"\[0, 1\]"),
    ("clip_ratio", 0.0, "> 0"), ("lr", -1.0, "> 0"), ("n_minibatches", 10**6, "at most"),
    ("ent_coef", -0.01, ">= 0"), ("hidden_sizes", (), "tuple of positive ints"),
    ("max_grad_norm", 0.0, "None or a number > 0"), ("n_epochs", 1.5, "integer >= 1"),
])
def test_bad_config_names_the_field(field, value, says):
    with pytest.raises(ValueError, match=rf"Config\.{field} .*{says}"):
        train(Config(**{field: value}), progress=False)


def test_unknown_env_and_wrong_spaces_name_env_id():
    with pytest.raises(ValueError, match="Config.env_id"):
        train(Config(env_id="NoSuchEnv-v0"), progress=False)


def _shape_wrong_gae(rewards, values, dones, last_values, gamma, lam):
    adv, ret = ac_math.gae_advantages(rewards, values, dones, last_values, gamma, lam)
    return adv.T, ret.T


def _nan_kl(logp, logp_old):
    return float("nan")


def _detached_clip_loss(logp, logp_old, advantages, clip_ratio=0.2):
    return ac_math.ppo_clip_loss(logp.detach(), logp_old, advantages, clip_ratio)


def _raising_entropy(logits):
    raise IndexError("dimension out of range")


@pytest.mark.parametrize("name, fn, says", [
    ("gae_advantages", _shape_wrong_gae, r"returned shape \(8, 16\), expected \(16, 8\)"),
    ("approx_kl", _nan_kl, "returned nan"),
    ("ppo_clip_loss", _detached_clip_loss, "no gradient"),
    ("categorical_entropy", _raising_entropy, "raised IndexError"),
    ("gae_advantages", lambda *a: ac_math.gae_advantages(*a)[0], "expected a pair"),
])
def test_a_broken_learner_function_stops_training_naming_it(name, fn, says):
    with pytest.raises(LearnerFunctionError, match=says) as info:
        train(small(), progress=False, check_functions=False, **{name: fn})
    text = str(info.value)
    assert f"your {name}" in text and f"in the call {name}(" in text and "Traceback" not in text
    assert "during training" in info.value.call  # the lazily built description, rendered once


@pytest.mark.parametrize("scale", [0.01, 100.0])  # below the max norm (no-op) and far above it
def test_clip_grad_norm_matches_torch_bit_for_bit(scale):
    from rlcore.algos import _plumbing

    gen = torch.Generator().manual_seed(int(scale))
    grads = [torch.randn(s, generator=gen) * scale for s in [(64, 4), (64,), (64, 64), (2, 64), (2,)]]
    ours = [torch.zeros_like(g, requires_grad=True) for g in grads]
    theirs = [torch.zeros_like(g, requires_grad=True) for g in grads]
    for p, q, g in zip(ours, theirs, grads):
        p.grad, q.grad = g.clone(), g.clone()
    norm = _plumbing.clip_grad_norm(ours, 0.5)
    assert torch.equal(norm, torch.nn.utils.clip_grad_norm_(theirs, 0.5))
    assert all(torch.equal(p.grad, q.grad) for p, q in zip(ours, theirs))


@pytest.mark.parametrize("activation", [torch.nn.Tanh, torch.nn.ReLU])
def test_numpy_forward_gives_the_nets_numbers_and_follows_its_updates(activation):
    from rlcore.algos import _plumbing
    from rlcore.nets import mlp

    torch.manual_seed(0)
    net = mlp([4, 64, 64, 2], activation)
    fast = _plumbing.numpy_forward(net)
    for batch in (1, 16, 513):
        x = torch.randn(batch, 4) * 3
        before = x.numpy().copy()
        with torch.no_grad():
            want = net(x).numpy()
        got = fast(x.numpy())
        assert got.dtype == np.float32 and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        assert np.array_equal(x.numpy(), before)  # the input is not overwritten
    optimizer = _plumbing.adam(net.parameters(), lr=0.5)  # the trainers' (fused) Adam updates in place
    net(x).sum().backward()
    optimizer.step()
    with torch.no_grad():
        np.testing.assert_allclose(fast(x.numpy()), net(x).numpy(), rtol=1e-5, atol=1e-6)
    odd = torch.nn.Sequential(torch.nn.Linear(4, 2), torch.nn.Softmax(-1))  # anything else: via torch
    with torch.no_grad():
        np.testing.assert_array_equal(_plumbing.numpy_forward(odd)(x.numpy()), odd(x).numpy())


def test_numpy_sampler_draws_from_the_softmax():
    from rlcore.algos.pg import sample_categorical_numpy

    logits = np.array([[0.0, 0.0, 0.0], [2.0, 0.0, -1.0], [-30.0, 30.0, -30.0]], dtype=np.float32)
    rng = np.random.default_rng(0)
    draws = np.stack([sample_categorical_numpy(logits, rng) for _ in range(20_000)])
    assert draws.dtype == np.int64 and draws.shape == (20_000, 3)
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    for row in range(3):
        freq = np.bincount(draws[:, row], minlength=3) / len(draws)
        np.testing.assert_allclose(freq, p[row], atol=0.012)


def test_an_unwritten_learner_function_says_so():
    def stub(logits):
        raise NotImplementedError

    with pytest.raises(LearnerFunctionError, match="not written yet"):
        train(small(), progress=False, categorical_entropy=stub)


def test_set_threads_limits_numpys_blas_threads_too():
    """The numpy rollout's matmuls would otherwise run on every core: twice the CPU time for
    the same wall clock on 2 cores (measured), and contention on a shared hub."""
    from threadpoolctl import threadpool_info

    from rlcore.algos.common import set_threads

    def blas_threads() -> set[int]:
        return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}

    try:
        assert set_threads(1) == 1 and blas_threads() == {1}
        assert set_threads(2) == 2 and blas_threads() == {2}
    finally:
        set_threads(1)
