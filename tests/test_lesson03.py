"""Lesson 03: the notebook runs, checks are kind, hidden tests pass correct code and catch mistakes."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
import torch

from autograder.hidden import Mistake, run_hidden
from autograder.hidden.lesson03 import P_FALSE_FAIL, chi_square_p, chi_square_sf
from rlcore import policies
from rlcore.check import CheckFailed
from rlcore.check import lesson03 as checks

import gradelib

A = "03-policies"
NAMES = ["categorical_log_prob", "categorical_sample", "gaussian_log_prob"]

# Correct implementations in other styles than the reference (must earn full marks).
ALTERNATIVES = {
    "categorical_log_prob": """
def categorical_log_prob(logits, actions):
    return torch.distributions.Categorical(logits=logits).log_prob(actions)
""",
    "categorical_sample": """
def categorical_sample(logits, generator=None):
    # Gumbel-max: argmax_a (z_a + g_a) with g_a = -log(-log u_a) is distributed as softmax(z)
    u = torch.rand(logits.shape, generator=generator, dtype=logits.dtype)
    return (logits - torch.log(-torch.log(u))).argmax(dim=-1)
""",
    "gaussian_log_prob": """
def gaussian_log_prob(x, mu, log_std):
    return torch.distributions.Normal(mu, torch.exp(log_std)).log_prob(x).sum(-1)
""",
}

# A third correct sampler (inverse CDF), for the distribution test's false-failure rate.
INVERSE_CDF = """
def categorical_sample(logits, generator=None):
    cdf = torch.softmax(logits, dim=-1).cumsum(dim=-1)
    u = torch.rand(logits.shape[:-1] + (1,), generator=generator, dtype=cdf.dtype)
    return (u > cdf).sum(dim=-1).clamp(max=logits.shape[-1] - 1)
"""

C = "0.5 * math.log(2 * math.pi)"
MUTANTS = {
    "categorical_log_prob": [
        "def categorical_log_prob(logits, actions):\n"
        "    return torch.log(torch.softmax(logits, -1)).gather(-1, actions.unsqueeze(-1)).squeeze(-1)",
        "def categorical_log_prob(logits, actions):\n"
        "    return torch.log_softmax(logits, 0).gather(-1, actions.unsqueeze(-1)).squeeze(-1)",
        "def categorical_log_prob(logits, actions):\n"
        "    return torch.softmax(logits, -1).gather(-1, actions.unsqueeze(-1)).squeeze(-1)",
        "def categorical_log_prob(logits, actions):\n    return torch.log_softmax(logits, -1)[:, actions]",
        "def categorical_log_prob(logits, actions):\n"
        "    z = logits.gather(-1, actions.unsqueeze(-1)).squeeze(-1)\n"
        "    return z - torch.log(torch.exp(logits).sum(-1))",
        "def categorical_log_prob(logits, actions):\n"
        "    return logits.gather(-1, actions.unsqueeze(-1)).squeeze(-1)",
    ],
    "categorical_sample": [
        "def categorical_sample(logits, generator=None):\n    return logits.argmax(-1)",
        "def categorical_sample(logits, generator=None):\n"
        "    return torch.multinomial(torch.softmax(logits, 0), 1, generator=generator).squeeze(-1)",
        "def categorical_sample(logits, generator=None):\n"
        "    return torch.multinomial(torch.softmax(logits, -1), 1).squeeze(-1)",
        "def categorical_sample(logits, generator=None):\n"
        "    return torch.distributions.Categorical(logits=logits).sample()",
        "def categorical_sample(logits, generator=None):\n"
        "    return torch.multinomial(torch.softmax(logits, -1), 1, generator=generator)",
        textwrap.dedent("""
        def categorical_sample(logits, generator=None):
            p = torch.exp(logits)
            p = p / p.sum(-1, keepdim=True)
            return torch.multinomial(p, 1, generator=generator).squeeze(-1)
        """),
    ],
    "gaussian_log_prob": [
        "def gaussian_log_prob(x, mu, log_std):\n"
        "    return (-0.5 * ((x - mu) / log_std.exp()) ** 2 - log_std).sum(-1)",
        "def gaussian_log_prob(x, mu, log_std):\n"
        f"    return (-0.5 * ((x - mu) / log_std) ** 2 - torch.log(log_std) - {C}).sum(-1)",
        "def gaussian_log_prob(x, mu, log_std):\n"
        f"    return -0.5 * ((x - mu) / log_std.exp()) ** 2 - log_std - {C}",
        "def gaussian_log_prob(x, mu, log_std):\n"
        f"    return (-0.5 * (x - mu) ** 2 / log_std.exp() - log_std - {C}).sum(-1)",
        "def gaussian_log_prob(x, mu, log_std):\n"
        f"    return (-0.5 * ((x - mu) / log_std.exp()) ** 2 - log_std - {C}).mean(-1)",
    ],
}

NAMED = {
    "categorical_log_prob": ["softmax then log", "wrong dim", "probabilities", "(N, N)", "inf", "raw logit"],
    "categorical_sample": ["argmax", "wrong dim", "generator is ignored", "generator is ignored",
                           "shape (n, 1)", "overflow"],
    "gaussian_log_prob": ["constant", "log(log_std)", "no sum", "variance/std", "mean over"],
}

NS = {"np": np, "torch": torch, "math": __import__("math")}


def _define(source: str, name: str):
    ns = dict(NS)
    exec(source, ns)  # noqa: S102 - test-only: the mutants and alternatives above
    return ns[name]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hidden_tests_pass_reference(name, seed):
    run_hidden(name, getattr(policies, name), seed=seed, verbose=False)


@pytest.mark.parametrize("name", NAMES)
def test_hidden_tests_pass_alternative_style(name):
    for seed in range(3):
        run_hidden(name, _define(ALTERNATIVES[name], name), seed=seed, verbose=False)


def test_hidden_sampler_test_passes_inverse_cdf_sampler():
    fn = _define(INVERSE_CDF, "categorical_sample")
    for seed in range(3):
        run_hidden("categorical_sample", fn, seed=seed, verbose=False)


@pytest.mark.parametrize("name,index", [(n, i) for n in NAMES for i in range(len(MUTANTS[n]))])
def test_hidden_tests_catch_mutant_with_named_message(name, index):
    fn = _define(MUTANTS[name][index], name)
    for seed in range(3):  # every seed must catch it, not just a lucky one
        with pytest.raises(Mistake) as err:
            run_hidden(name, fn, seed=seed, verbose=False)
        assert name in str(err.value)
        assert NAMED[name][index].lower() in str(err.value).lower(), str(err.value)


def test_chi_square_p_value_matches_known_quantiles():
    # chi-square(1) exceeds 3.841 with probability 0.05; chi-square(10) exceeds 18.307 with 0.05
    assert chi_square_sf(3.841458820694124, 1) == pytest.approx(0.05, rel=1e-6)
    assert chi_square_sf(18.307038053275146, 10) == pytest.approx(0.05, rel=1e-6)
    probs = np.array([[0.5, 0.3, 0.2]])
    assert chi_square_p(np.array([[5000, 3000, 2000]]), probs) == pytest.approx(1.0)
    assert chi_square_p(np.array([[5400, 2800, 1800]]), probs) < P_FALSE_FAIL
    assert chi_square_p(np.array([[5000, 3000, 2000]]), np.array([[0.5, 0.5, 0.0]])) == 0.0


def test_chi_square_false_failure_rate_of_a_correct_sampler_is_small():
    """Over many independent seeded runs, the p-values of exact multinomial counts are uniform:
    the rate of p < alpha is alpha (checked at alpha = 0.05 where it is measurable)."""
    rng = np.random.default_rng(0)
    probs = np.array([[0.1, 0.2, 0.3, 0.4], [0.25, 0.25, 0.25, 0.25], [0.7, 0.1, 0.1, 0.1]])
    p_values = np.array([chi_square_p(np.stack([rng.multinomial(10_000, p) for p in probs]), probs)
                         for _ in range(2000)])
    assert 0.035 < np.mean(p_values < 0.05) < 0.065
    assert np.all(p_values >= P_FALSE_FAIL)


@pytest.mark.parametrize("name", NAMES)
def test_visible_checks_pass_reference_and_fail_mutants(name, capsys):
    check = getattr(checks, f"check_{name}")
    check(getattr(policies, name))
    check(_define(ALTERNATIVES[name], name))
    assert "\u2713" in capsys.readouterr().out
    for source in MUTANTS[name]:
        with pytest.raises(CheckFailed) as err:
            check(_define(source, name))
        text = str(err.value)
        assert "expected" in text and "hint" in text or "raised" in text


def test_visible_check_explains_unwritten_exercise(capsys):
    def categorical_sample(logits, generator=None):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="not written yet"):
        checks.check_categorical_sample(categorical_sample)
    assert "NotImplementedError" in capsys.readouterr().out


@pytest.mark.slow
def test_solutions_notebook_executes():
    nb = gradelib.execute(gradelib.solutions_path(A))
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    text = "".join(str(o.get("text", "")) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    for name in NAMES:
        assert f"\u2713 {name}: all" in text
    images = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert images >= 3
    widgets = [o for c in nb.cells for o in c.get("outputs", [])
               if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert widgets  # the policy explorer rendered


@pytest.mark.slow
def test_released_lesson_fails_checks_kindly():
    from nbclient.exceptions import CellExecutionError

    with pytest.raises(CellExecutionError) as err:
        gradelib.execute(gradelib.lesson_path(A))
    assert "CheckFailed" in str(err.value) and "not written yet" in str(err.value)


@pytest.mark.slow
def test_grades_filled_in_full_and_released_zero(tmp_path):
    full = gradelib.grade(gradelib.filled_in(A, tmp_path / "full"))
    assert full["score"] == full["max_score"] > 0, full
    assert all(t["status"] == "passed" for t in full["tests"])
    empty = gradelib.grade(gradelib.lesson_path(A))
    assert empty["score"] == 0
    assert len(empty["tests"]) == len(NAMES)
    assert all(t["status"] == "error" and "not written yet" in t["message"] for t in empty["tests"])


@pytest.mark.slow
def test_grades_alternatives_full_marks(tmp_path):
    result = gradelib.grade(gradelib.with_answers(A, ALTERNATIVES, tmpdir=tmp_path))
    assert result["score"] == result["max_score"], result


@pytest.mark.slow
@pytest.mark.parametrize("index", range(3))
def test_grades_mutants_below_full(index, tmp_path):
    answers = {name: MUTANTS[name][index] for name in NAMES}
    result = gradelib.grade(gradelib.with_answers(A, answers, tmpdir=tmp_path))
    by_name = {t["name"]: t for t in result["tests"]}
    for name in NAMES:
        t = by_name[f"test_{name}"]
        assert t["status"] in ("failed", "error") and t["score"] == 0, (name, t)
        assert NAMED[name][index].lower() in t["message"].lower(), (name, t)
