"""rlcore.trajectory: rollouts on known episodes, flags, seeding, Monte Carlo estimates."""

import gymnasium as gym
import numpy as np
import pytest

from rlcore import TabularEnv, Trajectory, estimate_return, gridworld, rollout


def east(_):
    return 2


def test_gridworld_rollout_by_hand():
    env = TabularEnv(gridworld(), start_state=0)
    traj = rollout(env, east, max_steps=4, seed=0)
    assert isinstance(traj, Trajectory) and len(traj) == 4
    assert traj.observations.tolist() == [0, 1, 21, 22]  # (0,0) -> A -> A' (4,1) -> (4,2)
    assert traj.rewards.tolist() == [0.0, 10.0, 0.0, 0.0]
    assert traj.truncated and not traj.terminated


def test_cartpole_terminates_and_is_reproducible():
    env = gym.make("CartPole-v1")
    a = rollout(env, lambda o: 0, seed=5)
    b = rollout(env, lambda o: 0, seed=5)
    assert a.terminated and not a.truncated and len(a) < 50
    np.testing.assert_array_equal(a.observations, b.observations)
    assert a.observations.shape == (len(a), 4)


def test_termination_on_last_allowed_step_counts_as_terminated():
    env = gym.make("CartPole-v1")
    n = len(rollout(env, lambda o: 0, seed=5))
    traj = rollout(env, lambda o: 0, max_steps=n, seed=5)
    assert traj.terminated and not traj.truncated


def test_env_time_limit_is_truncation():
    env = TabularEnv(gridworld(), max_episode_steps=7)
    traj = rollout(env, east, max_steps=100, seed=1)
    assert len(traj) == 7 and traj.truncated and not traj.terminated


def test_invalid_action_names_the_policy():
    env = TabularEnv(gridworld())
    with pytest.raises(ValueError, match="policy returned an invalid action 7"):
        rollout(env, lambda s: 7, seed=0)
    with pytest.raises(TypeError, match="policy must be a callable"):
        rollout(env, 3)
    with pytest.raises(ValueError, match="max_steps"):
        rollout(env, east, max_steps=0)


def test_estimate_return_seeds_first_reset_only():
    env = TabularEnv(gridworld(slip=0.5), max_episode_steps=10)
    est = estimate_return(env, east, n_episodes=8, gamma=0.9, seed=3)
    first = rollout(env, east, max_steps=1000, seed=3)
    same = estimate_return(env, east, n_episodes=1, gamma=0.9, seed=3)
    assert same == pytest.approx(sum(0.9 ** t * r for t, r in enumerate(first.rewards)))
    assert est != pytest.approx(same)  # later episodes differ from the first
    assert est == pytest.approx(estimate_return(env, east, n_episodes=8, gamma=0.9, seed=3))


def test_estimate_return_converges_to_value_of_deterministic_start():
    # From A every action jumps to A' with +10; with max_episode_steps=1 J = 10 exactly.
    env = TabularEnv(gridworld(), start_state=1, max_episode_steps=1)
    assert estimate_return(env, east, n_episodes=5) == 10.0
    with pytest.raises(ValueError, match="n_episodes"):
        estimate_return(env, east, n_episodes=0)
