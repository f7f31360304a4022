"""Lesson 01, what is special to it: the notebook's outputs, and the hidden inputs that keep
look-alike mistakes apart on every seed.

The contract every lesson shares (references, alternatives and catalogued mistakes against the
visible checks, the hidden tests and the grader) is tests/test_lesson_contract.py.
"""

from __future__ import annotations

import gradelib
import pytest

from autograder import hidden
from rlcore import catalog

A = "01-deep-learning-recap"


@pytest.mark.parametrize("slug", ["absolute", "not_squared"])
def test_mean_absolute_and_mean_error_are_told_apart_on_every_seed(slug):
    """They agree when every difference pred - target has the same sign; the inputs never do that."""
    ex = catalog.get("mse_loss")
    wrong = ex.define(ex.mistake(slug).wrong)
    for seed in range(40):
        with pytest.raises(hidden.Mistake) as err:
            hidden.run_hidden("mse_loss", wrong, seed=seed, verbose=False)
        assert err.value.id == f"mse_loss/{slug}", f"seed {seed}: {err.value}"


@pytest.mark.slow
def test_solutions_notebook_executes():
    outputs, text = gradelib.executed_solutions(A)  # every visible check ran and passed
    assert "final training loss" in text
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 3
