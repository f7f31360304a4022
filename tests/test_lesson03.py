"""Lesson 03: the notebook runs, checks are kind, hidden tests pass correct code and catch mistakes."""

from __future__ import annotations

import gradelib
import numpy as np
import pytest
import torch

from autograder.hidden import Mistake, run_hidden
from autograder.hidden.lesson03 import P_FALSE_FAIL, chi_square_p, chi_square_sf
from rlcore import policies
from rlcore.check import CheckFailed
from rlcore.check import lesson03 as checks

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


def _fn(signature: str, *body: str) -> str:
    """The source of a one-function answer cell: ``def signature:`` and its body lines."""
    return f"def {signature}:\n" + "".join(f"    {line}\n" for line in body)


LP, SAMPLE, GAUSS = ("categorical_log_prob(logits, actions)", "categorical_sample(logits, generator=None)",
                     "gaussian_log_prob(x, mu, log_std)")
GATHER = ".gather(-1, actions.unsqueeze(-1)).squeeze(-1)"
MUTANTS = {
    "categorical_log_prob": [
        _fn(LP, f"return torch.log(torch.softmax(logits, -1)){GATHER}"),
        _fn(LP, f"return torch.log_softmax(logits, 0){GATHER}"),
        _fn(LP, f"return torch.softmax(logits, -1){GATHER}"),
        _fn(LP, "return torch.log_softmax(logits, -1)[:, actions]"),
        _fn(LP, f"z = logits{GATHER}", "return z - torch.log(torch.exp(logits).sum(-1))"),
        _fn(LP, f"return logits{GATHER}"),
    ],
    "categorical_sample": [
        _fn(SAMPLE, "return logits.argmax(-1)"),
        _fn(SAMPLE, "return torch.multinomial(torch.softmax(logits, 0), 1, generator=generator).squeeze(-1)"),
        _fn(SAMPLE, "return torch.multinomial(torch.softmax(logits, -1), 1).squeeze(-1)"),
        _fn(SAMPLE, "return torch.distributions.Categorical(logits=logits).sample()"),
        _fn(SAMPLE, "return torch.multinomial(torch.softmax(logits, -1), 1, generator=generator)"),
        _fn(SAMPLE, "p = torch.exp(logits)", "p = p / p.sum(-1, keepdim=True)",
            "return torch.multinomial(p, 1, generator=generator).squeeze(-1)"),
    ],
    "gaussian_log_prob": [
        _fn(GAUSS, "return (-0.5 * ((x - mu) / log_std.exp()) ** 2 - log_std).sum(-1)"),
        _fn(GAUSS, f"return (-0.5 * ((x - mu) / log_std) ** 2 - torch.log(log_std) - {C}).sum(-1)"),
        _fn(GAUSS, f"return -0.5 * ((x - mu) / log_std.exp()) ** 2 - log_std - {C}"),
        _fn(GAUSS, f"return (-0.5 * (x - mu) ** 2 / log_std.exp() - log_std - {C}).sum(-1)"),
        _fn(GAUSS, f"return (-0.5 * ((x - mu) / log_std.exp()) ** 2 - log_std - {C}).mean(-1)"),
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
    return gradelib.define(source, name, NS)


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
    outputs = gradelib.outputs_of(gradelib.execute(gradelib.solutions_path(A)))
    text = "".join(str(o.get("text", "")) for o in outputs)
    for name in NAMES:
        assert f"\u2713 {name}: all" in text
    images = sum("image/png" in o.get("data", {}) for o in outputs)
    assert images >= 3
    widgets = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert widgets  # the policy explorer rendered


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
    gradelib.assert_mutants_graded_below_full(A, {n: MUTANTS[n][index] for n in NAMES}, tmp_path,
                                              named={n: NAMED[n][index] for n in NAMES})
