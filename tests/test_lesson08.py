"""Lesson 08, what is special to it: the answer cells drive the PPO trainer, the probes, the notebook.

The contract every lesson shares (references, alternatives and catalogued mistakes against the
visible checks, the hidden tests and the grader) is tests/test_lesson_contract.py.
"""

from __future__ import annotations

import gradelib
import numpy as np
import pytest
import torch

from rlcore import catalog
from rlcore.algos import ppo
from rlcore.check.ac_probes import check_ac_probes, run_ac_probe

A = "08-actor-critic-ppo"
NAMES = [ex.name for ex in catalog.exercises_of(A)]


def _answers() -> dict:
    return {n: gradelib.define(gradelib.answer_source(A, n), n, {"np": np, "torch": torch}) for n in NAMES}


def test_trainer_accepts_the_solution_notebooks_functions_and_trains_like_the_reference():
    config = ppo.Config(n_envs=8, steps_per_env=16, max_env_steps=512, eval_every=256, eval_episodes=2,
                        hidden_sizes=(16,), ent_coef=0.01)
    res = ppo.train(config, progress=False, **_answers())
    ref = ppo.train(config, progress=False)
    assert np.allclose(res.losses, ref.losses, rtol=1e-4, atol=1e-6)
    for key in ("approx_kl", "explained_variance", "entropy"):
        assert np.allclose(res.diagnostics[key], ref.diagnostics[key], rtol=1e-4, atol=1e-6)


def test_reference_parts_pass_every_probe(capsys):
    results = check_ac_probes()
    assert [r.k for r in results] == [1, 2, 3, 4, 5] and all(r.passed for r in results)
    assert "all 5 probes passed" in capsys.readouterr().out


@pytest.mark.parametrize("probe, exercise, slug, says", [
    (1, "gae_advantages", "delta_through_done", "bootstrap from s' even though the episode ended"),
    (1, "gae_advantages", "returns_without_values", "returns = advantages + values"),
    (3, "gae_advantages", "done_from_next_step", "dones[t], not dones[t + 1]"),
    (4, "ppo_clip_loss", "no_minus", "WORSE action"),
])
def test_a_probe_names_the_broken_part(probe, exercise, slug, says):
    wrong = catalog.get(exercise).mistake(slug).wrong
    r = run_ac_probe(probe, check_functions=False, **{exercise: wrong})
    assert not r.passed and says in r.message, r.message


def test_truncation_probe_fails_when_the_time_limit_is_treated_as_termination():
    r = run_ac_probe(5, config_overrides=dict(bootstrap_truncation=False))
    assert not r.passed and r.learned[0.0] < 5.0 and "time limit" in r.message


def test_a_part_that_fails_its_check_stops_the_probe_with_the_checks_message():
    wrong = catalog.get("gae_advantages").mistake("lambda_without_gamma").wrong
    r = run_ac_probe(1, gae_advantages=wrong)
    assert not r.passed and "does not pass its check" in r.message


@pytest.mark.slow
def test_solutions_notebook_executes():
    outputs, text = gradelib.executed_solutions(A)
    assert "all 5 probes passed" in text
    plain = text + "".join(str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert plain.count("solved in") >= 3  # PPO and A2C on CartPole, PPO on Pendulum
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 5
