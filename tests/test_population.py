"""Seeds as a batch dimension: train_population against separate runs, and its bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rlcore.algos import pg
from rlcore.algos._population import check_seeds
from rlcore.nets import StackedMLP, mlp
from rlcore.pg_math import pg_loss


def pg_small(**kw) -> pg.Config:
    base = dict(n_envs=8, steps_per_env=32, max_env_steps=2_000, eval_every=500, eval_episodes=4,
                hidden_sizes=(16,), stop_on_solve=False)
    base.update(kw)
    return pg.Config(**base)


# ------------------------------------------------------------------ the stacked network
def test_stacked_mlp_is_the_s_networks_it_was_built_from():
    nets = []
    for s in range(3):
        torch.manual_seed(s)
        nets.append(mlp([4, 8, 8, 2], activation=torch.nn.ReLU))
    stacked = StackedMLP.from_mlps(nets, torch.nn.ReLU)
    x = torch.randn(3, 5, 4)
    out = stacked(x)
    assert out.shape == (3, 5, 2)
    for s, net in enumerate(nets):
        torch.testing.assert_close(out[s], net(x[s]))
        torch.testing.assert_close(stacked.member(s)(x[s]), net(x[s]))
    # one loss over the population: seed s's weights get exactly the gradient of seed s's loss
    (out ** 2).mean(dim=(1, 2)).sum().backward()
    for s, net in enumerate(nets):
        (net(x[s]) ** 2).mean().backward()
        torch.testing.assert_close(stacked.weights[0].grad[s], net[0].weight.grad.T)


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("seeds, error, match", [
    ([], ValueError, "at least one seed"),
    ([1, 2, 1], ValueError, r"must not repeat a seed.*\[1\]"),
    ([0, -1], ValueError, "non-negative ints"),
    ([0, 1.5], ValueError, "non-negative ints"),
    (3, TypeError, "list of ints"),
    ("01", TypeError, "list of ints"),
])
def test_bad_seeds_are_named(seeds, error, match):
    with pytest.raises(error, match=match):
        check_seeds(seeds)
    with pytest.raises(error, match=r"^seeds"):
        pg.train_population(pg_small(), seeds=seeds, progress=False)


def test_memory_estimate_is_checked_before_allocating():
    with pytest.raises(MemoryError, match=r"^seeds: .*GiB.*16 seeds"):
        pg.train_population(pg_small(), seeds=range(16), progress=False, max_memory_bytes=1e5)


# ------------------------------------------------------------------ PG
def test_pg_population_of_one_is_train():
    # one seed: same initial weights, env stream and sampling stream as train(seed)
    solo = pg.train(pg_small(seed=5), progress=False)
    pop = pg.train_population(pg_small(), seeds=[5], progress=False)
    (r,) = pop.results
    assert r.config.seed == 5 and r.env_steps == solo.env_steps
    np.testing.assert_allclose(r.eval_return, solo.eval_return)
    np.testing.assert_allclose(r.losses, solo.losses, rtol=1e-4, atol=1e-6)
    for a, b in zip(r.policy.parameters(), solo.policy.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_pg_population_members_start_as_their_seeds_and_learn_independently():
    cfg = pg_small(max_env_steps=256)
    pop = pg.train_population(cfg, seeds=[0, 1, 2], progress=False)
    assert [r.config.seed for r in pop] == [0, 1, 2]
    assert len({tuple(r.losses) for r in pop}) == 3  # three different runs
    x, runs = pop.curves()
    assert runs.shape == (3, len(x))


def test_pg_population_matches_separate_runs_on_a_probe():
    # probe 5: +1 when the action matches the sign of the observation. After the same budget,
    # 8 seeds trained together and 8 trained apart reach the same greedy returns (both learn
    # the task: the mean over seeds of the last evaluations agree within noise).
    cfg = pg_small(env_id="rlcore/Probe5-v0", n_envs=8, steps_per_env=16, max_env_steps=3_000,
                   eval_every=500, eval_episodes=20, lr=0.02)
    seeds = list(range(8))
    pop = pg.train_population(cfg, seeds=seeds, progress=False)
    apart = [pg.train(pg_small(**{**cfg.__dict__, "seed": s}), progress=False) for s in seeds]
    together_last = np.array([r.eval_return[-1] for r in pop])
    apart_last = np.array([r.eval_return[-1] for r in apart])
    assert together_last.mean() > 0.8 and apart_last.mean() > 0.8
    assert abs(together_last.mean() - apart_last.mean()) < 0.2
    first = np.array([r.eval_return[0] for r in pop]), np.array([r.eval_return[0] for r in apart])
    assert abs(first[0].mean() - first[1].mean()) < 0.5


def test_pg_population_takes_the_learners_functions_and_names_them():
    calls = []

    def my_pg_loss(logp, weights):
        calls.append(logp.shape)
        return pg_loss(logp, weights)

    pop = pg.train_population(pg_small(max_env_steps=256), seeds=[0, 1], progress=False,
                              pg_loss=my_pg_loss)
    assert len(pop) == 2 and len(calls) >= 2  # once per seed and update (and its check)

    def broken(logp, weights):
        raise ValueError("boom")

    with pytest.raises(pg.LearnerFunctionError, match="pg_loss"):
        pg.train_population(pg_small(), seeds=[0, 1], progress=False, pg_loss=broken,
                            check_functions=False)


# ------------------------------------------------------------------ DQN
def dqn_small(**kw):
    from rlcore.algos import dqn

    base = dict(n_envs=4, max_env_steps=1_200, eval_every=400, eval_episodes=4, hidden_sizes=(16,),
                buffer_size=2_000, batch_size=32, learning_starts=200, gradient_steps=2,
                stop_on_solve=False, eps_duration=600)
    base.update(kw)
    return dqn.Config(**base)


def test_dqn_population_of_one_starts_as_train():
    from rlcore.algos import dqn

    solo = dqn.train(dqn_small(seed=4), progress=False)
    (r,) = dqn.train_population(dqn_small(), seeds=[4], progress=False).results
    # same weights, envs, buffer and exploration draws: the same first evaluation and loss
    # (later ones part ways by float rounding: bmm and addmm round differently, and one
    # flipped argmax sends a DQN run elsewhere)
    assert r.env_steps == solo.env_steps and r.eval_return[0] == solo.eval_return[0]
    assert r.losses[0] == pytest.approx(solo.losses[0], rel=1e-4)


def test_dqn_population_on_probes_learns_q_star_for_every_seed():
    from rlcore.algos import dqn
    from rlcore.probe_envs import PROBE_GAMMA, expected_q, probe_env_id

    # probe 5: Q*(s, a) = +1 for the matching action, -1 otherwise (one step, no bootstrap);
    # every seed of a population of 4 learns it, as separate runs do
    cfg = dqn_small(env_id=probe_env_id(5), gamma=PROBE_GAMMA, n_step=1, reward_scale=1.0,
                    max_env_steps=3_000, eval_every=1_000, learning_starts=100, lr=3e-3,
                    lr_end=3e-3, eps_duration=500, gradient_steps=4)
    pop = dqn.train_population(cfg, seeds=[0, 1, 2, 3], progress=False)
    want = expected_q(5)
    for r in pop:
        with torch.no_grad():
            for s, q in want.items():
                got = r.online_net(torch.tensor([[s]], dtype=torch.float32))[0].numpy()
                np.testing.assert_allclose(got, q, atol=0.15)
        assert r.eval_return[-1] == pytest.approx(1.0)


def test_dqn_population_takes_the_learners_parts_and_bad_input():
    from rlcore import dqn_parts
    from rlcore.algos import dqn

    built = []

    class MyBuffer(dqn_parts.ReplayBuffer):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            built.append(self)

    pop = dqn.train_population(dqn_small(max_env_steps=400), seeds=[0, 1, 2], progress=False,
                               ReplayBuffer=MyBuffer)
    assert len(pop) == 3
    big = [b for b in built if b.capacity == 2_000]
    assert len(big) == 3 and all(len(b) > 0 for b in big)  # one buffer per seed, each filled
    assert len({len(b) for b in big}) >= 1
    with pytest.raises(ValueError, match="^seeds must not repeat"):
        dqn.train_population(dqn_small(), seeds=[2, 2], progress=False)
    with pytest.raises(MemoryError, match=r"^seeds: .*replay buffer of 2,000"):
        dqn.train_population(dqn_small(), seeds=range(8), progress=False, max_memory_bytes=1e4)
