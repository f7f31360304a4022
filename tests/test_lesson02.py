"""Lesson 02, what is special to it: the notebook's outputs, estimate_return graded on its own code,
the visible check pointing at a broken helper, rollout mistakes named on many seeds, and one
dtype policy for integer rewards shared with lesson 05.

The contract every lesson shares (references, alternatives and catalogued mistakes against the
visible checks, the hidden tests and the grader) is tests/test_lesson_contract.py.
"""

from __future__ import annotations

import gradelib
import numpy as np
import pytest

import rlcore
from autograder.hidden import Mistake, run_hidden
from rlcore import catalog
from rlcore.check import CheckFailed
from rlcore.check import lesson02 as checks

A = "02-trajectories-and-returns"


def _wrong(mistake_id: str, **namespace):
    """The catalogued wrong implementation of ``mistake_id``, defined as a notebook cell would be."""
    ex = catalog.get(mistake_id.split("/")[0])
    return gradelib.define(ex.source_of(ex.mistake(mistake_id).wrong), ex.name,
                           {"np": np, **ex.namespace, **namespace})


def _solution(name: str, **namespace):
    ex = catalog.get(name)
    return gradelib.define(gradelib.answer_source(A, name), name, {"np": np, **ex.namespace, **namespace})


BROKEN = {"rollout": "rollout/ignores_time_limit", "discounted_return": "discounted_return/powers_from_one"}


def test_estimate_return_is_graded_with_rlcore_helpers_not_the_learners():
    """A mistake in rollout or discounted_return is charged once: estimate_return still passes."""
    helpers = {name: _wrong(m) for name, m in BROKEN.items()}
    fn = _solution("estimate_return", **helpers)
    for seed in range(3):
        run_hidden("estimate_return", fn, seed=seed, verbose=False)
    assert fn.__globals__["rollout"] is helpers["rollout"]  # the learner's namespace is restored


@pytest.mark.parametrize("slug", ["reseeds", "one_too_many"])
def test_a_wrong_estimate_return_is_named_even_beside_broken_helpers(slug):
    fn = _wrong(f"estimate_return/{slug}", **{name: _wrong(m) for name, m in BROKEN.items()})
    with pytest.raises(Mistake) as err:
        run_hidden("estimate_return", fn, seed=0, verbose=False)
    assert err.value.id == f"estimate_return/{slug}", str(err.value)


def test_visible_estimate_return_check_points_at_a_broken_rollout(capsys):
    fn = _solution("estimate_return", rollout=_wrong(BROKEN["rollout"]))
    with pytest.raises(CheckFailed, match=r"note: estimate_return calls your `rollout`, which does"):
        checks.check_estimate_return(fn)
    capsys.readouterr()  # the failure printed above
    checks.check_estimate_return(_solution("estimate_return"))
    assert "note:" not in capsys.readouterr().out


def test_visible_check_messages_name_objects_by_type_not_address():
    with pytest.raises(CheckFailed) as err:
        checks.check_rollout(_wrong(BROKEN["rollout"]))
    text = str(err.value)
    assert "rollout(<TabularEnv>, <a lambda>, max_steps=10, seed=0)" in text, text
    assert " object at 0x" not in text


@pytest.mark.filterwarnings("ignore:.*even though this environment has already returned")  # never stops
@pytest.mark.parametrize("slug", ["ignores_time_limit", "no_stop_at_termination", "no_seed"])
def test_rollout_mistakes_are_named_on_every_seed(slug):
    """Look-alikes on the gridworld (it never terminates) and the one random mistake, on 20 seeds."""
    fn = _wrong(f"rollout/{slug}")
    for seed in range(20):
        with pytest.raises(Mistake) as err:
            run_hidden("rollout", fn, seed=seed, verbose=False)
        assert err.value.id == f"rollout/{slug}", f"seed {seed}: {err.value}"


def test_reward_to_go_returning_a_tuple_is_named_as_a_tuple():
    def reward_to_go(rewards, gamma=1.0):
        return tuple(rlcore.reward_to_go(rewards, gamma))

    with pytest.raises(Mistake, match=r"returned a tuple, expected a numpy array"):
        run_hidden("reward_to_go", reward_to_go, seed=0, verbose=False)


@pytest.mark.parametrize("name,args", [("reward_to_go", ([1, 2, 3], 0.5)),
                                       ("batch_reward_to_go", ([[1], [2], [3]], [[0], [0], [0]], 0.5))])
def test_one_dtype_policy_for_integer_rewards(name, args):
    """Lessons 02 and 05 agree: integer rewards give float64, and np.zeros_like(rewards) is a named mistake."""
    ex = catalog.get(name)
    assert ex.reference(*args).dtype == np.float64
    assert "int" in ex.admits
    wrong = ex.mistake("integer_dtype").wrong
    assert wrong(*args).dtype.kind == "i"
    with pytest.raises(Mistake) as err:
        run_hidden(name, ex.define(wrong), seed=0, verbose=False)
    assert err.value.id == f"{name}/integer_dtype"


@pytest.mark.slow
def test_solutions_notebook_executes():
    outputs, _ = gradelib.executed_solutions(A)  # every visible check ran and passed
    html = "".join(str(o.get("data", {}).get("text/html", "")) for o in outputs)
    assert html.count("<script") >= 2 and "Animation" in html  # both episode animations rendered
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 3  # gamma, G_t and J plots
