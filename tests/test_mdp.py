"""rlcore.mdp: the gridworld matches Sutton & Barto Example 3.5; the env samples it."""

import numpy as np
import pytest

from rlcore import TabularEnv, TabularMDP, gridworld


def test_gridworld_dynamics_by_hand():
    g = gridworld()
    assert g.P.shape == (25, 4, 25) and g.R.shape == (25, 4)
    np.testing.assert_allclose(g.P.sum(axis=2), 1.0)
    assert g.P[1, :, 21].tolist() == [1, 1, 1, 1] and g.R[1].tolist() == [10, 10, 10, 10]  # A -> A'
    assert g.P[3, :, 13].tolist() == [1, 1, 1, 1] and g.R[3].tolist() == [5, 5, 5, 5]  # B -> B'
    assert g.P[0, 0, 0] == 1 and g.R[0, 0] == -1  # north off the grid
    assert g.P[0, 3, 0] == 1 and g.R[0, 3] == -1  # west off the grid
    assert g.P[12, 2, 13] == 1 and g.R[12, 2] == 0  # east from the centre


def test_book_figure_3_2_from_linear_solve():
    """Uniform random policy, gamma 0.9: V = (I - gamma P_pi)^-1 R_pi reproduces figure 3.2."""
    g = gridworld()
    P_pi, R_pi = g.P.mean(axis=1), g.R.mean(axis=1)
    V = np.linalg.solve(np.eye(25) - 0.9 * P_pi, R_pi)
    np.testing.assert_allclose(np.round(V[:5], 1), [3.3, 8.8, 4.4, 5.3, 1.5])
    np.testing.assert_allclose(np.round(V[20:], 1), [-1.9, -1.3, -1.2, -1.4, -2.0])


def test_slip_mixes_moves_and_keeps_expected_reward():
    g = gridworld(slip=0.4)
    np.testing.assert_allclose(g.P.sum(axis=2), 1.0)
    assert g.P[12, 2, 13] == pytest.approx(0.6 + 0.1)
    assert g.P[12, 2, 7] == pytest.approx(0.1)
    assert g.R[0, 0] == pytest.approx(-(0.6 + 0.1) - 0.1)  # north or west off the grid
    with pytest.raises(ValueError, match="slip"):
        gridworld(slip=1.2)


def test_env_samples_transitions_with_the_mdp_probabilities():
    env = TabularEnv(gridworld(slip=0.4), start_state=12)
    counts = np.zeros(25)
    env.reset(seed=0)
    for _ in range(4000):
        env.state = 12
        s2, *_ = env.step(2)
        counts[s2] += 1
    np.testing.assert_allclose(counts / 4000, gridworld(slip=0.4).P[12, 2], atol=0.03)
    assert env.render().shape == (120, 120, 3)


def test_bad_mdps_are_rejected_by_name():
    with pytest.raises(ValueError, match="P must have shape"):
        TabularMDP(P=np.ones((2, 1, 3)) / 3, R=np.zeros((2, 1)))
    with pytest.raises(ValueError, match="R must have shape"):
        TabularMDP(P=np.ones((2, 1, 2)) / 2, R=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="probability distribution"):
        TabularMDP(P=np.ones((2, 1, 2)), R=np.zeros((2, 1)))
    with pytest.raises(ValueError, match="start_state"):
        TabularEnv(gridworld(), start_state=25)
