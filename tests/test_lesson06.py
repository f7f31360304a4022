"""Lesson 06, what is special to it: the notebook's parts drive the trainer and the probes, and
what a learner sees when a part is unfinished or raises inside torch.

The contract every lesson shares (references, alternatives and catalogued mistakes against the
visible checks, the hidden tests and the grader) is tests/test_lesson_contract.py.
"""

from __future__ import annotations

import contextlib
import io

import gradelib
import numpy as np
import pytest
import torch

from rlcore import catalog, dqn_parts
from rlcore.algos.dqn import Config, LearnerFunctionError, train
from rlcore.check import CheckFailed, check_dqn_loss, check_dqn_targets, check_ReplayBuffer

A = "06-dqn"
NAMES = [ex.name for ex in catalog.exercises_of(A)]
SMALL = dict(n_envs=4, max_env_steps=400, eval_every=400, eval_episodes=2, learning_starts=64,
             batch_size=32, buffer_size=500, n_step=1)


def _notebook_parts() -> dict:
    """The answer cells as written in the solutions notebook."""
    ns = {"np": np, "torch": torch, "Batch": dqn_parts.Batch}
    return {n: gradelib.define(gradelib.answer_source(A, n), n, ns) for n in NAMES}


def test_trainer_accepts_the_solution_notebooks_parts():
    """The notebook's six parts train exactly as rlcore's references do (same samples, same losses)."""
    res = train(Config(seed=3, **SMALL), progress=False, **_notebook_parts())
    ref = train(Config(seed=3, **SMALL), progress=False)
    assert np.allclose(res.losses, ref.losses, rtol=1e-4, atol=1e-6)


def _quiet(fn, *args):
    with contextlib.redirect_stdout(io.StringIO()):
        return fn(*args)


def test_a_half_written_buffer_is_not_written_yet_for_its_check_and_the_trainer():
    class ReplayBuffer:  # __init__ written, the rest still the released stubs
        def __init__(self, capacity, obs_shape, seed=None):
            self.size = 0

        def add(self, obs, actions, rewards, next_obs, dones):
            raise NotImplementedError()

        def sample(self, batch_size):
            raise NotImplementedError()

        def __len__(self):
            raise NotImplementedError()

    with pytest.raises(CheckFailed, match="not written yet"):
        _quiet(check_ReplayBuffer, ReplayBuffer)
    with pytest.raises(LearnerFunctionError, match="ReplayBuffer is not written yet") as err:
        train(Config(**SMALL), progress=False, ReplayBuffer=ReplayBuffer)
    assert "hint:" in str(err.value) and not str(err.value).rstrip().endswith(":")


def _cell(source: str, name: str):
    """``name`` as a notebook cell holding ``source`` defines it (line numbers count from the cell)."""
    return gradelib.define(source, name, {"np": np, "torch": torch})


BOOL_DONES = """def dqn_targets(rewards, next_q_target, dones, gamma):
    with torch.no_grad():
        return rewards + gamma * (1 - dones) * next_q_target.max(dim=1).values
"""


def test_one_minus_bool_dones_is_named_at_the_learners_line_not_inside_torch():
    message = catalog.get("dqn_targets").mistake("bool_dones").message
    fn = _cell(BOOL_DONES, "dqn_targets")
    with pytest.raises(CheckFailed) as err:
        _quiet(check_dqn_targets, fn)
    assert message in str(err.value)
    assert "(at line 3" in str(err.value) and "torch/" not in str(err.value)
    class BoolDones(dqn_parts.ReplayBuffer):  # a buffer that hands out bool dones
        def sample(self, batch_size):
            batch = super().sample(batch_size)
            return batch._replace(dones=batch.dones.bool())

    with pytest.raises(LearnerFunctionError) as err:  # the trainer, without the visible checks first
        train(Config(**SMALL), progress=False, dqn_targets=fn, ReplayBuffer=BoolDones, check_functions=False)
    assert message in str(err.value) and "(at line 3" in str(err.value) and "_tensor.py" not in str(err.value)


def test_an_error_without_a_message_never_ends_a_sentence_at_a_colon():
    fn = _cell("def dqn_loss(q_values, actions, targets):\n    assert q_values.ndim == 3\n", "dqn_loss")
    with pytest.raises(CheckFailed) as err:
        _quiet(check_dqn_loss, fn)
    assert "raised AssertionError\n" in str(err.value)
    with pytest.raises(LearnerFunctionError) as err:
        train(Config(**SMALL), progress=False, dqn_loss=fn, check_functions=False)
    assert "raised AssertionError (at line 2)" in str(err.value)


def test_a_wrap_around_error_during_training_names_the_mistake():
    ex = catalog.get("ReplayBuffer")
    no_wrap = ex.mistake("no_wrap")
    with pytest.raises(LearnerFunctionError, match=r"ReplayBuffer.add raised IndexError") as err:
        train(Config(**{**SMALL, "buffer_size": 100}), progress=False, ReplayBuffer=ex.define(no_wrap.wrong),
              check_functions=False)
    assert no_wrap.message in str(err.value)


@pytest.mark.slow
def test_solutions_notebook_executes():
    outputs = gradelib.outputs_of(gradelib.execute(gradelib.solutions_path(A)))
    text = "".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "all 5 probes passed" in text
    assert "solved in" in text  # the CartPole run with the learner's parts solved
    html = "".join(str(o.get("data", {}).get("text/html", "")) for o in outputs)
    assert "<script" in html and "Animation" in html  # the episode animation rendered
