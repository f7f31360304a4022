"""Lesson 02: the notebook runs, checks are kind, hidden tests pass correct code and catch mistakes."""

from __future__ import annotations

import textwrap

import gradelib
import numpy as np
import pytest

import rlcore
from autograder.hidden import Mistake, run_hidden
from rlcore.check import CheckFailed
from rlcore.check import lesson02 as checks

A = "02-trajectories-and-returns"
NAMES = ["finite_horizon_return", "discounted_return", "reward_to_go", "rollout", "estimate_return"]

# Correct implementations in other styles than the reference (must earn full marks).
ALTERNATIVES = {
    "finite_horizon_return": """
def finite_horizon_return(rewards):
    total = 0
    for r in rewards:
        total = total + r
    return total
""",
    "discounted_return": """
def discounted_return(rewards, gamma):
    ret = 0.0
    for r in reversed(list(rewards)):
        ret = r + gamma * ret
    return ret
""",
    "reward_to_go": """
def reward_to_go(rewards, gamma=1.0):
    r = np.asarray(rewards, dtype=np.float64)
    T = len(r)
    powers = gamma ** np.clip(np.arange(T)[None, :] - np.arange(T)[:, None], 0, None)
    mask = np.triu(np.ones((T, T)))
    return (powers * mask) @ r
""",
    "rollout": """
def rollout(env, policy, max_steps=1000, seed=None):
    obs, info = env.reset(seed=seed)
    traj = dict(observations=[], actions=[], rewards=[])
    t, terminated, truncated = 0, False, False
    while not (terminated or truncated) and t < max_steps:
        a = policy(obs)
        traj["observations"].append(obs); traj["actions"].append(a)
        obs, r, terminated, truncated, info = env.step(a)
        traj["rewards"].append(r)
        t += 1
    if t == max_steps and not terminated:
        truncated = True
    return Trajectory(observations=np.stack(traj["observations"]), actions=np.array(traj["actions"]),
                      rewards=np.array(traj["rewards"]), terminated=bool(terminated), truncated=bool(truncated))
""",
    "estimate_return": """
def estimate_return(env, policy, n_episodes, gamma=1.0, seed=0):
    total = 0.0
    for episode in range(n_episodes):
        tau = rollout(env, policy, seed=(seed if episode == 0 else None))
        total += sum(gamma ** t * r for t, r in enumerate(tau.rewards))
    return total / n_episodes
""",
}

# a rollout whose truncated flag comes from the last env.step only (not from reaching max_steps)
_ROLLOUT_FLAG_FROM_STEP = textwrap.dedent("""
def rollout(env, policy, max_steps=1000, seed=None):
    obs, _ = env.reset(seed=seed)
    O, A, R = [], [], []
    for _ in range(max_steps):
        a = policy(obs)
        O.append(obs); A.append(a)
        obs, r, term, trunc, _ = env.step(a)
        R.append(r)
        if term or trunc:
            break
    return Trajectory(observations=np.array(O), actions=np.array(A), rewards=np.array(R),
                      terminated=term, truncated=trunc)
""")

# Realistic mistakes: three per exercise, each must fail the hidden tests.
MUTANTS = {
    "finite_horizon_return": [
        "def finite_horizon_return(rewards):\n    return float(sum(rewards[:-1]))",
        "def finite_horizon_return(rewards):\n    return float(np.mean(rewards)) if len(rewards) else 0.0",
        "def finite_horizon_return(rewards):\n    return np.cumsum(rewards)",
    ],
    "discounted_return": [
        "def discounted_return(rewards, gamma):\n    return float(sum(gamma ** (t + 1) * r for t, r in enumerate(rewards)))",
        "def discounted_return(rewards, gamma):\n    return float(sum(rewards))",
        "def discounted_return(rewards, gamma):\n    return float(sum(gamma * t * r for t, r in enumerate(rewards)))",
    ],
    "reward_to_go": [
        "def reward_to_go(rewards, gamma=1.0):\n    return np.cumsum(rewards).astype(float)",
        textwrap.dedent("""
        def reward_to_go(rewards, gamma=1.0):
            r = np.asarray(rewards, float)
            return np.array([sum(gamma ** (k - t) * r[k] for k in range(t + 1, len(r))) for t in range(len(r))])
        """),
        textwrap.dedent("""
        def reward_to_go(rewards, gamma=1.0):
            r = np.asarray(rewards, float)
            return np.array([sum(gamma ** k * r[k] for k in range(t, len(r))) for t in range(len(r))])
        """),
    ],
    "rollout": [
        textwrap.dedent("""
        def rollout(env, policy, max_steps=1000, seed=None):
            obs, _ = env.reset(seed=seed)
            O, A, R = [], [], []
            for _ in range(max_steps):
                a = policy(obs)
                obs, r, term, trunc, _ = env.step(a)
                O.append(obs); A.append(a); R.append(r)
                if term or trunc:
                    break
            return Trajectory(observations=np.array(O), actions=np.array(A), rewards=np.array(R),
                              terminated=term, truncated=trunc or len(R) == max_steps)
        """),
        textwrap.dedent("""
        def rollout(env, policy, max_steps=1000, seed=None):
            obs, _ = env.reset(seed=seed)
            O, A, R = [], [], []
            for _ in range(max_steps + 1):
                a = policy(obs)
                O.append(obs); A.append(a)
                obs, r, term, trunc, _ = env.step(a)
                R.append(r)
                if term or trunc:
                    break
            return Trajectory(observations=np.array(O), actions=np.array(A), rewards=np.array(R),
                              terminated=term, truncated=not term)
        """),
        _ROLLOUT_FLAG_FROM_STEP,
        # the loop stops only on terminated: it runs past the env's time limit
        _ROLLOUT_FLAG_FROM_STEP.replace("if term or trunc:", "if term:")
                               .replace("truncated=trunc)", "truncated=not term)"),
    ],
    "estimate_return": [
        textwrap.dedent("""
        def estimate_return(env, policy, n_episodes, gamma=1.0, seed=0):
            return float(np.mean([discounted_return(rollout(env, policy, seed=seed).rewards, gamma)
                                  for _ in range(n_episodes)]))
        """),
        textwrap.dedent("""
        def estimate_return(env, policy, n_episodes, gamma=1.0, seed=0):
            rets = [rollout(env, policy, seed=seed if i == 0 else None).rewards.sum() for i in range(n_episodes)]
            return float(np.mean(rets))
        """),
        textwrap.dedent("""
        def estimate_return(env, policy, n_episodes, gamma=1.0, seed=0):
            rets = [discounted_return(rollout(env, policy, seed=seed if i == 0 else None).rewards, gamma)
                    for i in range(n_episodes)]
            return float(np.sum(rets))
        """),
    ],
}

NS = {"np": np, "Trajectory": rlcore.Trajectory, "discounted_return": rlcore.discounted_return,
      "rollout": rlcore.rollout}


def _define(source: str, name: str):
    return gradelib.define(source, name, NS)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hidden_tests_pass_reference(name, seed):
    run_hidden(name, getattr(rlcore, name), seed=seed, verbose=False)


@pytest.mark.parametrize("name", NAMES)
def test_hidden_tests_pass_alternative_style(name):
    for seed in range(3):
        run_hidden(name, _define(ALTERNATIVES[name], name), seed=seed, verbose=False)


@pytest.mark.parametrize("name,index", [(n, i) for n in NAMES for i in range(len(MUTANTS[n]))])
def test_hidden_tests_catch_mutant_with_named_message(name, index):
    fn = _define(MUTANTS[name][index], name)
    for seed in range(3):  # every seed must catch it, not just a lucky one
        with pytest.raises(Mistake) as err:
            run_hidden(name, fn, seed=seed, verbose=False)
        assert name in str(err.value)


def test_rollout_that_ignores_the_env_time_limit_is_caught_on_every_seed_and_named(capsys):
    fn = _define(MUTANTS["rollout"][3], "rollout")
    for seed in range(20):
        with pytest.raises(Mistake, match="time limit ended the episode"):
            run_hidden("rollout", fn, seed=seed, verbose=False)
    with pytest.raises(CheckFailed, match="max_episode_steps=3"):
        checks.check_rollout(fn)


@pytest.mark.parametrize("name", NAMES)
def test_visible_checks_pass_reference_and_fail_mutant(name, capsys):
    check = getattr(checks, f"check_{name}")
    check(getattr(rlcore, name))
    assert "\u2713" in capsys.readouterr().out
    with pytest.raises(CheckFailed) as err:
        check(_define(MUTANTS[name][0], name))
    text = str(err.value)
    assert "expected" in text and "hint" in text or "raised" in text


def test_visible_check_explains_unwritten_exercise(capsys):
    def discounted_return(rewards, gamma):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="not written yet"):
        checks.check_discounted_return(discounted_return)
    assert "NotImplementedError" in capsys.readouterr().out


@pytest.mark.slow
def test_solutions_notebook_executes():
    outputs = gradelib.outputs_of(gradelib.execute(gradelib.solutions_path(A)))
    text = "".join(str(o.get("text", "")) for o in outputs)
    for name in NAMES:
        assert f"\u2713 {name}: all" in text  # the visible checks ran and passed
    html = "".join(str(o.get("data", {}).get("text/html", "")) for o in outputs)
    assert html.count("<script") >= 2 and "Animation" in html  # both episode animations rendered
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 3  # gamma, G_t and J plots


@pytest.mark.slow
def test_released_lesson_fails_checks_kindly():
    gradelib.assert_released_fails_kindly(A)


@pytest.mark.slow
def test_grades_filled_in_full_and_released_zero(tmp_path):
    gradelib.assert_full_and_zero(A, NAMES, tmp_path)


@pytest.mark.slow
def test_grades_alternatives_full_marks(tmp_path):
    result = gradelib.grade(gradelib.with_answers(A, ALTERNATIVES, tmpdir=tmp_path))
    assert result["score"] == result["max_score"], result


@pytest.mark.slow
@pytest.mark.parametrize("index", range(3))
def test_grades_mutants_below_full(index, tmp_path):
    gradelib.assert_mutants_graded_below_full(A, {n: MUTANTS[n][index] for n in NAMES}, tmp_path)


def test_estimate_return_is_graded_with_rlcore_helpers_not_the_learners():
    """A mistake in rollout or discounted_return is charged once: estimate_return still passes."""
    source = """
def estimate_return(env, policy, n_episodes, gamma=1.0, seed=0):
    rets = [discounted_return(rollout(env, policy, seed=seed if i == 0 else None).rewards, gamma)
            for i in range(n_episodes)]
    return float(np.mean(rets))
"""
    broken_rollout = _define(MUTANTS["rollout"][3], "rollout")  # ignores the env's time limit
    broken_return = _define(MUTANTS["discounted_return"][0], "discounted_return")
    fn = gradelib.define(source, "estimate_return", {**NS, "rollout": broken_rollout,
                                                     "discounted_return": broken_return})
    for seed in range(3):
        run_hidden("estimate_return", fn, seed=seed, verbose=False)
    assert fn.__globals__["rollout"] is broken_rollout  # the learner's namespace is restored


def test_visible_estimate_return_check_points_at_a_broken_rollout(capsys):
    source = """
def estimate_return(env, policy, n_episodes, gamma=1.0, seed=0):
    rets = [discounted_return(rollout(env, policy, seed=seed if i == 0 else None).rewards, gamma)
            for i in range(n_episodes)]
    return float(np.mean(rets))
"""
    broken = _define(MUTANTS["rollout"][3], "rollout")  # ignores the env's time limit
    fn = gradelib.define(source, "estimate_return", {**NS, "rollout": broken})
    with pytest.raises(CheckFailed, match=r"note: estimate_return calls your `rollout`, which does"):
        checks.check_estimate_return(fn)
    capsys.readouterr()  # the failure printed above
    checks.check_estimate_return(gradelib.define(source, "estimate_return", NS))
    assert "note:" not in capsys.readouterr().out


def test_visible_check_messages_name_objects_by_type_not_address():
    broken = _define(MUTANTS["rollout"][3], "rollout")
    with pytest.raises(CheckFailed) as err:
        checks.check_rollout(broken)
    text = str(err.value)
    assert "rollout(<TabularEnv>, <a lambda>, max_steps=10, seed=0)" in text, text
    assert " object at 0x" not in text


def test_reward_to_go_returning_a_tuple_is_named_as_a_tuple():
    def reward_to_go(rewards, gamma=1.0):
        return tuple(rlcore.reward_to_go(rewards, gamma))

    with pytest.raises(Mistake, match=r"must return a numpy array \(got a tuple\)"):
        run_hidden("reward_to_go", reward_to_go, seed=0, verbose=False)
