"""rlcore.returns: hand-worked episodes and bad input."""

import numpy as np
import pytest

from rlcore import batch_reward_to_go, discounted_return, finite_horizon_return, reward_to_go


def test_finite_horizon_return_by_hand():
    assert finite_horizon_return([1, 2, 3]) == 6.0
    assert finite_horizon_return([]) == 0.0
    assert isinstance(finite_horizon_return(np.array([0.5, 0.25])), float)


def test_discounted_return_by_hand():
    assert discounted_return([1.0, 2.0, 3.0], 0.5) == pytest.approx(1 + 1 + 0.75)
    assert discounted_return([1.0, 2.0, 3.0], 0.0) == 1.0
    assert discounted_return([1.0, 2.0, 3.0], 1.0) == 6.0


def test_reward_to_go_matches_definition_and_recursion():
    r = np.random.default_rng(0).normal(size=12)
    g = 0.87
    G = reward_to_go(r, g)
    assert G.dtype == np.float64 and G.shape == (12,)
    for t in range(12):
        assert G[t] == pytest.approx(sum(g ** (k - t) * r[k] for k in range(t, 12)))
    assert G[0] == pytest.approx(discounted_return(r, g))


def test_batch_reward_to_go_resets_at_episode_ends():
    rewards = np.array([[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]])
    dones = np.array([[False, False], [True, False], [False, False]])
    G = batch_reward_to_go(rewards, dones, gamma=0.5)
    # env 0: episode [t0, t1] ended at t1, new episode at t2 runs to the end of the batch
    np.testing.assert_allclose(G[:, 0], [1.5, 1.0, 1.0])
    np.testing.assert_allclose(G[:, 1], [1.75, 1.5, 1.0])


@pytest.mark.parametrize("bad_gamma", [-0.1, 1.5, float("nan")])
def test_bad_gamma_is_named(bad_gamma):
    with pytest.raises(ValueError, match="gamma"):
        discounted_return([1.0], bad_gamma)


def test_bad_rewards_are_named():
    with pytest.raises(ValueError, match="rewards must be 1-dimensional"):
        reward_to_go(np.zeros((2, 2)))
    with pytest.raises(TypeError, match="rewards"):
        finite_horizon_return(["a", "b"])
    with pytest.raises(ValueError, match="dones must have the shape"):
        batch_reward_to_go(np.zeros((3, 2)), np.zeros((3, 1)))
    with pytest.raises(TypeError, match="gamma"):
        discounted_return([1.0], "0.9")
