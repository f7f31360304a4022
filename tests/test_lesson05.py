"""Lesson 05, what is special to it: the solutions' functions drive the trainer, the notebook's outputs.

The contract every lesson shares (references, alternatives and catalogued mistakes against the
visible checks, the hidden tests and the grader) is tests/test_lesson_contract.py.
"""

from __future__ import annotations

import gradelib
import numpy as np
import pytest
import torch

from rlcore import catalog

A = "05-policy-gradients"
NAMES = [ex.name for ex in catalog.exercises_of(A)]


def test_trainer_accepts_the_solution_notebooks_functions():
    """The answer cells, as written in the solutions notebook, drive rlcore's trainer."""
    from rlcore.algos.pg import Config, train

    fns = {n: gradelib.define(gradelib.answer_source(A, n), n, {"np": np, "torch": torch})
           for n in NAMES}
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
