"""rlcore.values: independent methods agree, the book's gridworld figures, relations, errors."""

from __future__ import annotations

import numpy as np
import pytest

from rlcore import gridworld
from rlcore.values import (
    BOOK_V_STAR,
    BOOK_V_UNIFORM,
    check_mdp,
    greedy_policy,
    mean_squared_bellman_error,
    policy_evaluation,
    policy_evaluation_exact,
    q_from_v,
    random_mdp,
    uniform_policy,
    value_iteration,
)


def _random_policy(rng, S, A):
    pi = rng.exponential(size=(S, A))
    return pi / pi.sum(axis=1, keepdims=True)


MDPS = [(7, 3, 1.0, 0.9), (12, 4, 0.2, 0.95), (5, 2, 0.5, 0.5), (20, 5, 1.0, 0.99), (3, 6, 0.1, 0.0)]


@pytest.mark.parametrize("S,A,density,gamma", MDPS)
def test_iterative_and_exact_policy_evaluation_agree(S, A, density, gamma):
    rng = np.random.default_rng(S * 100 + A)
    mdp = random_mdp(S, A, rng, density=density)
    pi = _random_policy(rng, S, A)
    V_iter = policy_evaluation(mdp.P, mdp.R, pi, gamma)
    V_exact = policy_evaluation_exact(mdp.P, mdp.R, pi, gamma)
    np.testing.assert_allclose(V_iter, V_exact, atol=1e-7)


@pytest.mark.parametrize("S,A,density,gamma", MDPS)
def test_value_functions_satisfy_the_bellman_equations_and_relations(S, A, density, gamma):
    rng = np.random.default_rng(7 * S + A)
    mdp = random_mdp(S, A, rng, density=density)
    P, R = mdp.P, mdp.R
    pi = _random_policy(rng, S, A)
    V = policy_evaluation_exact(P, R, pi, gamma)
    Q = q_from_v(P, R, V, gamma)
    # V^pi(s) = sum_a pi(a|s) Q^pi(s, a); Q^pi(s, a) = E_s'[r + gamma E_a'~pi Q^pi(s', a')]
    np.testing.assert_allclose((pi * Q).sum(axis=1), V, atol=1e-9)
    np.testing.assert_allclose(R + gamma * P @ (pi * Q).sum(axis=1), Q, atol=1e-9)
    V_star, Q_star = value_iteration(P, R, gamma)
    # V*(s) = max_a Q*(s, a), Q*(s, a) = E_s'[r + gamma max_a' Q*(s', a')]
    np.testing.assert_allclose(Q_star.max(axis=1), V_star, atol=1e-12)
    np.testing.assert_allclose(R + gamma * P @ Q_star.max(axis=1), Q_star, atol=1e-8)
    # the greedy policy of Q* is optimal: its exact value is V*, and no policy does better
    pi_star = greedy_policy(Q_star)
    np.testing.assert_allclose(policy_evaluation_exact(P, R, pi_star, gamma), V_star, atol=1e-7)
    for _ in range(5):
        assert np.all(policy_evaluation_exact(P, R, _random_policy(rng, S, A), gamma) <= V_star + 1e-7)


def test_gridworld_matches_sutton_barto_figure_3_2_to_one_decimal():
    mdp = gridworld()
    pi = uniform_policy(25, 4)
    for V in (policy_evaluation(mdp.P, mdp.R, pi, 0.9), policy_evaluation_exact(mdp.P, mdp.R, pi, 0.9)):
        np.testing.assert_array_equal(np.round(V.reshape(5, 5), 1), BOOK_V_UNIFORM)


def test_gridworld_matches_sutton_barto_figure_3_5_to_one_decimal():
    mdp = gridworld()
    V_star, Q_star = value_iteration(mdp.P, mdp.R, 0.9)
    np.testing.assert_array_equal(np.round(V_star.reshape(5, 5), 1), BOOK_V_STAR)
    # Figure 3.5 (right): in A every action is optimal (all jump to A'); from (0, 0) go east to A.
    assert greedy_policy(Q_star)[1].tolist() == [1, 0, 0, 0]  # ties -> north, the lowest index
    assert np.allclose(Q_star[1], Q_star[1, 0])
    assert greedy_policy(Q_star)[0].tolist() == [0, 0, 1, 0]


def test_two_state_chain_by_hand():
    # state 0 -> state 1 with reward 1; state 1 stays with reward 0. V(1) = 0, V(0) = 1.
    P = np.zeros((2, 1, 2))
    P[0, 0, 1] = P[1, 0, 1] = 1.0
    R = np.array([[1.0], [0.0]])
    pi = np.ones((2, 1))
    np.testing.assert_allclose(policy_evaluation(P, R, pi, 0.5), [1.0, 0.0])
    # a self-loop with reward 1 is worth 1 / (1 - gamma)
    R2 = np.array([[0.0], [1.0]])
    np.testing.assert_allclose(policy_evaluation_exact(P, R2, pi, 0.5), [1.0, 2.0])
    np.testing.assert_allclose(q_from_v(P, R2, [1.0, 2.0], 0.5), [[1.0], [2.0]])


def test_gamma_one_on_an_episodic_mdp_gives_the_undiscounted_value():
    mdp = random_mdp(6, 3, 4, terminal=True)
    pi = uniform_policy(6, 3)
    V = policy_evaluation(mdp.P, mdp.R, pi, 1.0)
    # exact undiscounted value: solve on the non-terminal states only
    P_pi = np.einsum("sa,sat->st", pi, mdp.P)[:5, :5]
    R_pi = (pi * mdp.R).sum(axis=1)[:5]
    np.testing.assert_allclose(V[:5], np.linalg.solve(np.eye(5) - P_pi, R_pi), atol=1e-8)
    assert V[5] == 0.0


def test_greedy_policy_is_one_hot_with_ties_to_the_lowest_index():
    Q = np.array([[1.0, 3.0, 3.0], [0.0, 0.0, 0.0], [-1.0, -2.0, -0.5]])
    np.testing.assert_array_equal(greedy_policy(Q), [[0, 1, 0], [1, 0, 0], [0, 0, 1]])
    assert greedy_policy(Q).dtype == np.float64


def test_mean_squared_bellman_error_by_hand():
    q_sa = np.array([1.0, 2.0, 0.0])
    rewards = np.array([0.5, 1.0, 1.0])
    next_q = np.array([[1.0, 3.0], [0.0, -1.0], [5.0, 5.0]])
    dones = np.array([False, False, True])
    # targets: 0.5 + 0.5 * 3 = 2.0; 1 + 0.5 * 0 = 1.0; terminal: 1.0
    expected = ((1 - 2.0) ** 2 + (2 - 1.0) ** 2 + (0 - 1.0) ** 2) / 3
    assert mean_squared_bellman_error(q_sa, rewards, next_q, dones, 0.5) == pytest.approx(expected)
    assert isinstance(mean_squared_bellman_error(q_sa, rewards, next_q, dones.astype(float), 0.5), float)


def test_mean_squared_bellman_error_of_q_star_is_zero_on_deterministic_transitions():
    mdp = gridworld()
    _, Q_star = value_iteration(mdp.P, mdp.R, 0.9)
    rng = np.random.default_rng(0)
    s = rng.integers(25, size=50)
    a = rng.integers(4, size=50)
    s2 = mdp.P[s, a].argmax(axis=1)  # deterministic: the only next state
    loss = mean_squared_bellman_error(Q_star[s, a], mdp.R[s, a], Q_star[s2], np.zeros(50), 0.9)
    assert loss < 1e-15
    assert mean_squared_bellman_error(Q_star[s, a] + 1.0, mdp.R[s, a], Q_star[s2], np.zeros(50),
                                      0.9) == pytest.approx(1.0)


def test_policy_evaluation_that_cannot_converge_raises():
    mdp = gridworld()
    with pytest.raises(RuntimeError, match="gamma = 1"):
        policy_evaluation(mdp.P, mdp.R, uniform_policy(25, 4), 1.0, max_sweeps=200)


@pytest.mark.parametrize("call,match", [
    (lambda P, R, pi: policy_evaluation(P * 0.9, R, pi, 0.9), r"P\[0, 0, :\] sums to 0.9"),
    (lambda P, R, pi: policy_evaluation(-P, R, pi, 0.9), "P must be non-negative"),
    (lambda P, R, pi: policy_evaluation(P, R[:, :2], pi, 0.9), r"R must have shape \(S, A\)"),
    (lambda P, R, pi: policy_evaluation(P, R, pi[:, :2], 0.9), r"pi must have shape"),
    (lambda P, R, pi: policy_evaluation(P, R, pi * 2, 0.9), r"pi\[0, :\] sums to 2"),
    (lambda P, R, pi: policy_evaluation(P, R, pi, 1.5), "gamma must lie in"),
    (lambda P, R, pi: policy_evaluation(P, R, pi, 0.9, tol=0), "tol must be a positive"),
    (lambda P, R, pi: policy_evaluation(P[:, :, :4], R, pi, 0.9), r"P must have shape \(S, A, S\)"),
    (lambda P, R, pi: policy_evaluation_exact(P, R, pi, 1.0), "singular"),
    (lambda P, R, pi: policy_evaluation_exact(P, R, pi, -0.1), "gamma must lie in"),
    (lambda P, R, pi: q_from_v(P, R, np.zeros(4), 0.9), r"V must have shape \(S,\)"),
    (lambda P, R, pi: value_iteration(P, R, 2.0), "gamma must lie in"),
    (lambda P, R, pi: value_iteration(P, R * np.nan, 0.9), "R must contain only finite"),
    (lambda P, R, pi: greedy_policy(np.zeros(5)), "Q must be 2-dimensional"),
    (lambda P, R, pi: greedy_policy(np.array([[np.nan, 1.0]])), "Q must not contain NaN"),
    (lambda P, R, pi: mean_squared_bellman_error(np.zeros(3), np.zeros(2), np.zeros((3, 2)),
                                                 np.zeros(3), 0.9), "rewards must have shape"),
    (lambda P, R, pi: mean_squared_bellman_error(np.zeros(3), np.zeros(3), np.zeros(3),
                                                 np.zeros(3), 0.9), "next_q must be 2-dimensional"),
    (lambda P, R, pi: mean_squared_bellman_error(np.zeros(3), np.zeros(3), np.zeros((2, 2)),
                                                 np.zeros(3), 0.9), r"next_q must have shape \(B, A\)"),
    (lambda P, R, pi: mean_squared_bellman_error(np.zeros(3), np.zeros(3), np.zeros((3, 2)),
                                                 np.zeros(4), 0.9), "dones must have shape"),
])
def test_bad_arguments_raise_errors_naming_them(call, match):
    mdp = random_mdp(5, 3, 0)
    with pytest.raises(ValueError, match=match):
        call(mdp.P, mdp.R, uniform_policy(5, 3))


def test_check_mdp_accepts_lists_and_returns_float_arrays():
    P, R = check_mdp([[[1.0]]], [[2]])
    assert P.dtype == R.dtype == np.float64 and P.shape == (1, 1, 1)


def test_random_mdp_is_valid_sparse_and_seeded():
    a = random_mdp(10, 3, 5, density=0.2)
    b = random_mdp(10, 3, 5, density=0.2)
    np.testing.assert_array_equal(a.P, b.P)
    assert (a.P > 0).mean() < 0.5
    assert (a.P > 0).any(axis=2).all()
    with pytest.raises(ValueError, match="density"):
        random_mdp(3, 2, 0, density=0.0)
