"""Lesson 09, what is special to it: the notebook's functions drive both trainers and the probes,
and the solutions notebook executes, showing the trained pendulum and its figures.

The contract every lesson shares (references, alternatives and catalogued mistakes against the
visible checks, the hidden tests and the grader) is tests/test_lesson_contract.py.
"""

from __future__ import annotations

import math

import gradelib
import numpy as np
import pytest
import torch

from rlcore import catalog
from rlcore.algos import sac, td3
from rlcore.check import CheckFailed
from rlcore.check.probes_continuous import check_continuous_probes, run_continuous_probe
from rlcore.policies import gaussian_log_prob

A = "09-continuous-control"
NAMES = [ex.name for ex in catalog.exercises_of(A)]
SMALL = dict(n_envs=4, max_env_steps=800, eval_every=400, eval_episodes=2, learning_starts=400,
             batch_size=64)


def _notebook_functions() -> dict:
    """The answer cells as written in the solutions notebook."""
    ns = {"np": np, "torch": torch, "math": math, "gaussian_log_prob": gaussian_log_prob}
    return {n: gradelib.define(gradelib.answer_source(A, n), n, ns) for n in NAMES}


def test_the_catalog_names_the_five_exercises_of_the_contract():
    assert sorted(NAMES) == sorted(["squashed_gaussian_log_prob", "smoothed_target_actions",
                                    "clipped_double_q_targets", "sac_targets", "sac_policy_loss"])


def test_trainers_accept_the_solution_notebooks_functions_and_train_like_the_references():
    fns = _notebook_functions()
    mine = sac.train(sac.Config(seed=1, **SMALL), progress=False,
                     **{k: fns[k] for k in ("squashed_gaussian_log_prob", "sac_targets", "sac_policy_loss")})
    ref = sac.train(sac.Config(seed=1, **SMALL), progress=False)
    assert np.allclose(mine.losses, ref.losses, rtol=1e-4, atol=1e-6)
    mine = td3.train(td3.Config(seed=1, **SMALL), progress=False,
                     **{k: fns[k] for k in ("smoothed_target_actions", "clipped_double_q_targets")})
    ref = td3.train(td3.Config(seed=1, **SMALL), progress=False)
    assert np.allclose(mine.losses, ref.losses, rtol=1e-4, atol=1e-6)


def test_probes_pass_the_notebooks_functions_and_name_a_missing_done_mask():
    fns = _notebook_functions()
    results = check_continuous_probes("sac", **{k: fns[k] for k in
                                               ("squashed_gaussian_log_prob", "sac_targets", "sac_policy_loss")})
    assert all(r.passed for r in results)

    def no_done_mask(rewards, next_q1, next_q2, next_logp, dones, gamma, alpha):
        with torch.no_grad():
            return rewards + gamma * (torch.min(next_q1, next_q2) - alpha * next_logp)

    res = run_continuous_probe(1, "sac", sac_targets=no_done_mask, check_functions=False)
    assert not res.passed and "(1 - dones)" in res.message
    with pytest.raises(CheckFailed, match="probe 1 failed"):
        check_continuous_probes("sac", sac_targets=no_done_mask, check_functions=False)


def test_probes_name_a_flipped_policy_loss_for_td3_style_actor_errors():
    def wrong_sign(q1, q2, logp, alpha):
        a = alpha.detach() if isinstance(alpha, torch.Tensor) else alpha
        return (torch.min(q1, q2) - a * logp).mean()

    res = run_continuous_probe(1, "sac", sac_policy_loss=wrong_sign, check_functions=False)
    assert not res.passed and "sac_policy_loss" in res.message


@pytest.mark.slow
def test_solutions_notebook_executes():
    outputs = gradelib.outputs_of(gradelib.execute(gradelib.solutions_path(A), timeout=600))
    html = "".join(str(o.get("data", {}).get("text/html", "")) for o in outputs)
    assert html.count("Animation") >= 2  # the untrained and the trained pendulum
    text = "".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert text.count("solved in") >= 2  # the learner's TD3 and SAC swung the pendulum up
    assert "passed all 3 continuous probes" in text
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 3  # ablation, alpha, on/off-policy
