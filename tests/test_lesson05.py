"""Lesson 05: the notebook runs, checks are kind, hidden tests pass correct code and catch mistakes."""

from __future__ import annotations

import textwrap

import gradelib
import numpy as np
import pytest
import torch

from autograder.hidden import Mistake, run_hidden
from rlcore import batch_reward_to_go
from rlcore.check import CheckFailed
from rlcore.check import lesson05 as checks
from rlcore.pg_math import normalize, pg_loss

A = "05-policy-gradients"
NAMES = ["pg_loss", "batch_reward_to_go", "normalize"]
REFERENCE = {"pg_loss": pg_loss, "batch_reward_to_go": batch_reward_to_go, "normalize": normalize}

# Correct implementations in other styles than the reference (must earn full marks).
ALTERNATIVES = {
    "pg_loss": """
def pg_loss(logp, weights):
    weights = torch.as_tensor(weights, dtype=logp.dtype).detach()
    return -torch.dot(logp, weights) / logp.shape[0]
""",
    "batch_reward_to_go": """
def batch_reward_to_go(rewards, dones, gamma=1.0):
    rewards = np.array(rewards, dtype=float)
    dones = np.array(dones).astype(bool)
    T, N = rewards.shape
    out = np.zeros((T, N))
    for i in range(N):
        end = T  # one past the last step of the current episode
        for t in range(T - 1, -1, -1):
            if dones[t, i]:
                end = t + 1
            ks = np.arange(t, end)
            out[t, i] = np.sum(gamma ** (ks - t) * rewards[t:end, i])
    return out
""",
    "normalize": """
def normalize(x, eps=1e-8):
    a = x if isinstance(x, torch.Tensor) else np.asarray(x, dtype=np.float64)
    centered = a - a.mean()
    std = (centered ** 2).mean() ** 0.5
    return centered / (std + eps)
""",
}

# Realistic mistakes: at least three per exercise, each must fail the hidden tests.
MUTANTS = {
    "pg_loss": [
        "def pg_loss(logp, weights):\n    return -(logp * weights).sum()",
        "def pg_loss(logp, weights):\n    return (logp * weights).mean()",
        "def pg_loss(logp, weights):\n    return -(logp.detach() * weights).mean()",
        "def pg_loss(logp, weights):\n    return -(logp.mean() * weights.mean())",
        "def pg_loss(logp, weights):\n    return -(logp * weights)",
    ],
    "batch_reward_to_go": [
        textwrap.dedent("""
        def batch_reward_to_go(rewards, dones, gamma=1.0):
            rewards = np.asarray(rewards, dtype=float)
            G = np.zeros_like(rewards)
            running = np.zeros(rewards.shape[1])
            for t in reversed(range(len(rewards))):
                running = rewards[t] + gamma * running
                G[t] = running
            return G
        """),
        textwrap.dedent("""
        def batch_reward_to_go(rewards, dones, gamma=1.0):
            rewards = np.asarray(rewards, dtype=float)
            dones = np.asarray(dones, dtype=bool)
            G = np.zeros_like(rewards)
            running = np.zeros(rewards.shape[1])
            for t in reversed(range(len(rewards))):
                running = rewards[t] + gamma * running
                G[t] = running
                running[dones[t]] = 0.0
            return G
        """),
        textwrap.dedent("""
        def batch_reward_to_go(rewards, dones, gamma=1.0):
            rewards = np.asarray(rewards, dtype=float)
            dones = np.asarray(dones, dtype=float)
            G = np.zeros_like(rewards)
            running = np.zeros(rewards.shape[1])
            for t in reversed(range(len(rewards))):
                running = running * (1 - dones[t])
                G[t] = running
                running = rewards[t] + gamma * running
            return G
        """),
        textwrap.dedent("""
        def batch_reward_to_go(rewards, dones, gamma=1.0):
            rewards = np.asarray(rewards, dtype=float)
            dones = np.asarray(dones, dtype=float)
            T = len(rewards)
            discounted = rewards * (gamma ** np.arange(T))[:, None]
            G = np.zeros_like(rewards)
            running = np.zeros(rewards.shape[1])
            for t in reversed(range(T)):
                running = discounted[t] + (1 - dones[t]) * running
                G[t] = running
            return G
        """),
    ],
    "normalize": [
        textwrap.dedent("""
        def normalize(x, eps=1e-8):
            if isinstance(x, torch.Tensor):
                return (x - x.mean()) / (x.std() + eps)
            x = np.asarray(x, dtype=float)
            return (x - x.mean()) / (x.std(ddof=1) + eps)
        """),
        textwrap.dedent("""
        def normalize(x, eps=1e-8):
            if isinstance(x, torch.Tensor):
                return (x - x.mean()) / torch.sqrt(x.var(correction=0) + eps)
            x = np.asarray(x, dtype=float)
            return (x - x.mean()) / np.sqrt(x.var() + eps)
        """),
        textwrap.dedent("""
        def normalize(x, eps=1e-8):
            x = np.asarray(x, dtype=float)
            return (x - x.mean()) / (x.std() + eps)
        """),
        textwrap.dedent("""
        def normalize(x, eps=1e-8):
            if isinstance(x, torch.Tensor):
                return (x - x.mean()) / x.std(correction=0)
            x = np.asarray(x, dtype=float)
            return (x - x.mean(axis=0)) / (x.std(axis=0) + eps)
        """),
    ],
}

NS = {"np": np, "torch": torch}


def _define(source: str, name: str):
    return gradelib.define(source, name, NS)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_hidden_tests_pass_reference(name, seed):
    run_hidden(name, REFERENCE[name], seed=seed, verbose=False)


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


@pytest.mark.parametrize("name,index,words", [
    ("pg_loss", 0, "summed"), ("pg_loss", 1, "minus sign"), ("pg_loss", 2, "detach"),
    ("pg_loss", 3, "multiplied the mean"), ("pg_loss", 4, "one number"),
    ("batch_reward_to_go", 0, "dones are ignored"), ("batch_reward_to_go", 1, "reset the running sum after"),
    ("batch_reward_to_go", 2, "off by one"), ("batch_reward_to_go", 3, "batch start"),
    ("normalize", 0, "ddof=1"), ("normalize", 1, "inside the square root"),
    ("normalize", 2, "did not return a Tensor"),
])
def test_mutant_messages_name_the_mistake(name, index, words):
    fn = _define(MUTANTS[name][index], name)
    messages = []
    for seed in range(3):
        with pytest.raises(Mistake) as err:
            run_hidden(name, fn, seed=seed, verbose=False)
        messages.append(str(err.value))
    assert any(words in m for m in messages), messages


@pytest.mark.parametrize("name", NAMES)
def test_visible_checks_pass_reference_and_fail_mutants(name, capsys):
    check = getattr(checks, f"check_{name}")
    check(REFERENCE[name])
    assert "\u2713" in capsys.readouterr().out
    for source in MUTANTS[name]:
        with pytest.raises(CheckFailed) as err:
            check(_define(source, name))
        text = str(err.value)
        assert ("expected" in text and "hint" in text) or "raised" in text


def test_visible_check_hints_name_common_mistakes():
    with pytest.raises(CheckFailed, match="minus sign"):
        checks.check_pg_loss(_define(MUTANTS["pg_loss"][1], "pg_loss"))
    with pytest.raises(CheckFailed, match="leaked"):
        checks.check_batch_reward_to_go(_define(MUTANTS["batch_reward_to_go"][0], "batch_reward_to_go"))
    with pytest.raises(CheckFailed, match="ddof=1"):
        checks.check_normalize(_define(MUTANTS["normalize"][0], "normalize"))


def test_visible_check_explains_unwritten_exercise(capsys):
    def pg_loss(logp, weights):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="not written yet"):
        checks.check_pg_loss(pg_loss)
    assert "NotImplementedError" in capsys.readouterr().out


def test_trainer_accepts_the_solution_notebooks_functions():
    """The answer cells, as written in the solutions notebook, drive rlcore's trainer."""
    from rlcore.algos.pg import Config, train

    fns = {n: _define(gradelib.answer_source(A, n), n) for n in NAMES}
    res = train(Config(n_envs=8, steps_per_env=32, max_env_steps=600, eval_every=300,
                       eval_episodes=2), progress=False, **fns)
    ref = train(Config(n_envs=8, steps_per_env=32, max_env_steps=600, eval_every=300,
                       eval_episodes=2), progress=False)
    assert np.allclose(res.losses, ref.losses, rtol=1e-4, atol=1e-6)


@pytest.mark.slow
def test_solutions_notebook_executes():
    outputs = gradelib.outputs_of(gradelib.execute(gradelib.solutions_path(A)))
    html = "".join(str(o.get("data", {}).get("text/html", "")) for o in outputs)
    assert "<script" in html and "Animation" in html  # the trained policy's animation rendered
    text = "".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "solved in" in text  # the learner's functions solved CartPole in the demo
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 2  # live curve + comparison


@pytest.mark.slow
def test_released_lesson_fails_checks_kindly():
    gradelib.assert_released_fails_kindly(A)


@pytest.mark.slow
def test_grades_filled_in_full_and_released_zero(tmp_path):
    gradelib.assert_full_and_zero(A, NAMES, tmp_path / "full")


@pytest.mark.slow
def test_grades_alternatives_full_marks(tmp_path):
    result = gradelib.grade(gradelib.with_answers(A, ALTERNATIVES, tmpdir=tmp_path))
    assert result["score"] == result["max_score"], result


@pytest.mark.slow
@pytest.mark.parametrize("index", range(3))
def test_grades_mutants_below_full(index, tmp_path):
    gradelib.assert_mutants_graded_below_full(A, {n: MUTANTS[n][index] for n in NAMES}, tmp_path)
