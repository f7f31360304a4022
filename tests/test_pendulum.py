"""rlcore.pendulum.VectorPendulum against Gymnasium's own Pendulum-v1, step for step."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from rlcore.algos._plumbing import make_vec_env
from rlcore.pendulum import VectorPendulum


def test_matches_gymnasium_step_for_step_including_clipping_and_time_limit():
    n = 6
    vec = VectorPendulum(num_envs=n)
    obs, _ = vec.reset(seed=3)
    singles = [gym.make("Pendulum-v1") for _ in range(n)]
    for i, env in enumerate(singles):  # the same start state in Gymnasium's env
        env.reset(seed=i)
        env.unwrapped.state = np.array([vec.theta[i], vec.thetadot[i]])
    rng = np.random.default_rng(0)
    for t in range(200):
        actions = rng.uniform(-3.0, 3.0, size=(n, 1)).astype(np.float32)  # outside the bounds too
        obs, rewards, terminated, truncated, _ = vec.step(actions)
        for i, env in enumerate(singles):
            o, r, term, trunc, _ = env.step(actions[i])
            assert np.allclose(obs[i], o, atol=1e-6), (t, i)
            assert rewards[i] == pytest.approx(r, rel=1e-6, abs=1e-6)
            assert (terminated[i], truncated[i]) == (term, trunc)
    assert truncated.all() and not terminated.any()  # 200 steps: the time limit


def test_next_step_autoreset_gives_a_fresh_start_with_zero_reward():
    vec = VectorPendulum(num_envs=3, max_episode_steps=5)
    vec.reset(seed=0)
    for _ in range(5):
        _, _, _, truncated, _ = vec.step(np.zeros((3, 1)))
    assert truncated.all()
    obs, rewards, terminated, truncated, _ = vec.step(np.full((3, 1), 2.0))
    assert np.all(rewards == 0.0) and not truncated.any() and not terminated.any()
    assert np.allclose(obs[:, 0] ** 2 + obs[:, 1] ** 2, 1.0)  # a valid (cos, sin, thetadot)
    assert np.all(np.abs(obs[:, 2]) <= 1.0)  # a fresh start has |thetadot| <= 1
    assert np.all(vec.steps == 0)


def test_seeded_resets_repeat_and_spaces_are_pendulums():
    a, _ = VectorPendulum(num_envs=4).reset(seed=7)
    b, _ = VectorPendulum(num_envs=4).reset(seed=7)
    assert np.array_equal(a, b)
    vec = VectorPendulum(num_envs=4)
    assert vec.single_action_space.shape == (1,) and vec.single_action_space.high[0] == 2.0
    assert vec.single_observation_space.shape == (3,)
    with pytest.raises(ValueError, match="num_envs"):
        VectorPendulum(num_envs=0)


def test_the_trainers_env_factory_uses_it_for_pendulum():
    envs = make_vec_env("Pendulum-v1", 8, actions="box")
    assert isinstance(envs, VectorPendulum) and envs.num_envs == 8
    with pytest.raises(ValueError, match="Config.env_id: 'Pendulum-v1' has actions Box.*Discrete"):
        make_vec_env("Pendulum-v1", 2, actions="discrete")
