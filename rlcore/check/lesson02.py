"""Visible checks for lesson 02: trajectories and returns."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from .. import trajectory as ref_traj
from ..mdp import TabularEnv, gridworld
from ._core import Checker, check, fmt

__all__ = [
    "check_discounted_return",
    "check_estimate_return",
    "check_finite_horizon_return",
    "check_reward_to_go",
    "check_rollout",
]


@check("finite_horizon_return")
def check_finite_horizon_return(c: Checker) -> None:
    """Check R(tau) = sum_t r_t on small episodes (a list, an array, an empty episode)."""
    hint = "add up every reward of the episode, R(tau) = r_0 + r_1 + ... + r_T."
    c.expect_close(c.call([1.0, 2.0, 3.0]), 6.0, hint)
    c.expect_close(c.call(np.array([0.5, -1.0, 0.0, 4.0])), 3.5, hint)
    got = c.call([])
    c.expect_close(got, 0.0, "an empty episode has return 0 (start your sum at 0).")
    got = c.call([1, 1, 1])
    c.expect(np.ndim(got) == 0, got, "a single number", c.says("running_sum"))


@check("discounted_return")
def check_discounted_return(c: Checker) -> None:
    """Check R(tau) = sum_t gamma^t r_t, including gamma = 0 and gamma = 1."""
    r = [1.0, 2.0, 3.0]
    hint = "R = r_0 + gamma r_1 + gamma^2 r_2 + ...: r_t is weighted by gamma**t, the first not at all."
    c.expect_close(c.call(r, 0.5), 2.75, hint, what="1 + 0.5*2 + 0.25*3")
    c.expect_close(c.call(r, 1.0), 6.0, "with gamma = 1 nothing is discounted.")
    c.expect_close(c.call(r, 0.0), 1.0, "with gamma = 0 only r_0 counts (0**0 is 1).")
    c.expect_close(c.call([0.0, 0.0, 10.0], 0.9), 8.1, hint, what="0.9**2 * 10")


@check("reward_to_go")
def check_reward_to_go(c: Checker) -> None:
    """Check G_t = sum_{k>=t} gamma^(k-t) r_k on a three-step episode, as floats and as integers."""
    hint = ("G_t sums the rewards from t to the end, the first one undiscounted: "
            "G_t = r_t + gamma G_{t+1}. Loop backwards from the last step.")
    got = c.call([1.0, 2.0, 3.0])
    c.expect_close(got, np.array([6.0, 5.0, 3.0]), hint, what="gamma defaults to 1")
    got = c.call([1.0, 2.0, 3.0], 0.5)
    c.expect_close(got, np.array([2.75, 3.5, 3.0]), hint, what="[1+0.5*2+0.25*3, 2+0.5*3, 3]")
    c.expect(isinstance(got, np.ndarray), type(got).__name__, "a numpy array", c.says("not_an_array"))
    c.expect_close(c.call([5.0], 0.9), np.array([5.0]), hint)
    got = c.call(np.array([1, 2, 3]), 0.5)
    c.expect_close(got, np.array([2.75, 3.5, 3.0]), hint, what="integer rewards, gamma=0.5")
    c.expect(np.asarray(got).dtype.kind == "f", np.asarray(got).dtype, np.dtype("float64"),
             c.says("integer_dtype"), what="integer rewards")


def _show(traj: Any) -> str:
    return (f"Trajectory(T={len(traj.rewards)}, actions={fmt(np.asarray(traj.actions), 60)}, "
            f"terminated={traj.terminated}, truncated={traj.truncated})")


_FIELDS = ("observations", "actions", "rewards", "terminated", "truncated")


def _view(traj: Any) -> tuple:
    """A trajectory's fields as arrays and flags, or the type of what is not a trajectory."""
    if not all(hasattr(traj, f) for f in _FIELDS):
        return (type(traj).__name__,)
    return (np.asarray(traj.observations, dtype=float), np.asarray(traj.actions, dtype=float),
            np.asarray(traj.rewards, dtype=float), bool(traj.terminated), bool(traj.truncated))


@check("rollout")
def check_rollout(c: Checker) -> None:
    """Check rollout on the gridworld (fixed start, a fixed policy, a time limit) and on CartPole."""
    def run(make_env: Any, policy: Any, max_steps: int, seed: int) -> tuple[Any, str | None]:
        """The learner's trajectory, and the catalogued mistake that gives the same one."""
        traj = c.call(make_env(), policy, max_steps=max_steps, seed=seed)
        return traj, c.named_by(_view(traj), lambda impl: _view(impl(make_env(), policy,
                                                                     max_steps=max_steps, seed=seed)))

    east = lambda s: 2
    traj, named = run(lambda: TabularEnv(gridworld(), start_state=0), east, 4, 0)
    for field in _FIELDS:
        c.expect(hasattr(traj, field), type(traj).__name__, f"an object with .{field}",
                 named or "return rlcore.Trajectory(observations=..., actions=..., rewards=..., "
                 "terminated=..., truncated=...).")
    obs = np.asarray(traj.observations).tolist()
    c.expect(obs == [0, 1, 21, 22], obs, [0, 1, 21, 22],
             named or "observations[t] is the state the agent saw *before* action t: start with the "
             "state from env.reset(), append it, then step.", what="states from (0,0) going east")
    c.expect_close(np.asarray(traj.rewards), np.array([0.0, 10.0, 0.0, 0.0]),
                   named or "rewards[t] is the reward returned by env.step(actions[t]).")
    c.expect(bool(traj.truncated) and not bool(traj.terminated), _show(traj),
             "truncated=True, terminated=False",
             named or "stopping because of max_steps counts as truncation.", what="max_steps=4 reached")
    lean = lambda o: 0
    traj, named = run(lambda: gym.make("CartPole-v1"), lean, 500, 3)
    expected = ref_traj.rollout(gym.make("CartPole-v1"), lean, max_steps=500, seed=3)
    first = np.asarray(traj.observations, dtype=float)[:1]
    c.expect_close(first, expected.observations[:1], named or c.says("no_seed"),
                   what="observations[0], the state env.reset(seed=3) gives")
    c.expect(len(traj.rewards) == len(expected), _show(traj), _show(expected),
             named or "stop as soon as env.step says terminated or truncated.")
    c.expect(bool(traj.terminated) and not bool(traj.truncated), _show(traj), _show(expected),
             named or "CartPole terminated (the pole fell): terminated=True, truncated=False.")
    c.expect_close(np.asarray(traj.observations), expected.observations,
                   named or "observations[t] is what the agent saw before actions[t] "
                   "(the last next-observation is not stored).")
    falls_at = len(expected)
    traj, named = run(lambda: gym.make("CartPole-v1"), lean, falls_at, 3)
    c.expect(bool(traj.terminated) and not bool(traj.truncated), _show(traj),
             f"T={falls_at}, terminated=True, truncated=False",
             named or "the episode terminated on its last allowed step: that is a termination.",
             what=f"the pole falls on step max_steps={falls_at}")
    traj, named = run(lambda: TabularEnv(gridworld(), start_state=0, max_episode_steps=3), east, 10, 0)
    c.expect(len(traj.rewards) == 3 and bool(traj.truncated) and not bool(traj.terminated),
             _show(traj), "T=3, terminated=False, truncated=True",
             named or "the environment's time limit ended the episode: the third env.step returned "
             "truncated=True. Stop when terminated or truncated.",
             what="an env time limit of 3 steps (max_episode_steps=3), max_steps=10")


def _rollout_works(rollout: Any) -> bool:
    """A quick test of a learner's rollout: a time limit of 3 steps, max_steps 10."""
    env = TabularEnv(gridworld(), start_state=0, max_episode_steps=3)
    got = rollout(env, lambda s: 2, max_steps=10, seed=0)
    expected = ref_traj.rollout(TabularEnv(gridworld(), start_state=0, max_episode_steps=3),
                                lambda s: 2, max_steps=10, seed=0)
    return (len(got.rewards) == len(expected.rewards)
            and np.allclose(np.asarray(got.rewards, dtype=float), expected.rewards)
            and np.allclose(np.asarray(got.observations, dtype=float), expected.observations))


def _discounted_return_works(discounted_return: Any) -> bool:
    """A quick test of a learner's discounted_return: 1 + 0.5 * 2 + 0.25 * 3 = 2.75."""
    return bool(np.isclose(float(np.asarray(discounted_return([1.0, 2.0, 3.0], 0.5))), 2.75))


@check("estimate_return", helpers={"rollout": _rollout_works, "discounted_return": _discounted_return_works})
def check_estimate_return(c: Checker) -> None:
    """Check the Monte Carlo estimate of J(pi) against a reference on CartPole."""
    env = TabularEnv(gridworld(), start_state=0, max_episode_steps=3)
    got = c.call(env, lambda s: 2, n_episodes=4, gamma=0.5, seed=0)
    c.expect_close(got, 0.0 + 0.5 * 10 + 0.0, "average the *discounted* returns of the episodes.",
                   what="every episode: 0 + 0.5*10 + 0.25*0")
    cart = gym.make("CartPole-v1")
    pol = lambda o: int(o[2] > 0)
    got = c.call(cart, pol, n_episodes=5, gamma=0.99, seed=1)
    expected = ref_traj.estimate_return(cart, pol, n_episodes=5, gamma=0.99, seed=1)
    c.expect_close(got, expected, "use seed only for the first reset, then average the discounted "
                   "returns of exactly n_episodes episodes.", what="mean discounted return of 5 episodes",
                   rtol=1e-6)
