"""Lesson 03, what is special to it: the sampler's frequency test and its inputs, the notebook's outputs.

The contract every lesson shares (references, alternatives and catalogued mistakes against the
visible checks, the hidden tests and the grader) is tests/test_lesson_contract.py.
"""

from __future__ import annotations

import itertools
import math

import gradelib
import numpy as np
import pytest
import torch

from autograder import hidden
from autograder.hidden import lesson03 as spec
from rlcore import catalog
from rlcore.check import _stats

A = "03-policies"
NAMES = [ex.name for ex in catalog.exercises_of(A)]
SAMPLE_CASES = 2  # the hidden cases of categorical_sample that test frequencies


# ------------------------------------------------------------------ the frequency test
def test_log_likelihood_ratio_is_n_times_the_kl_divergence():
    counts = np.array([[50, 30, 20]])
    p = np.array([[0.5, 0.25, 0.25]])
    q = counts / 100
    assert _stats.log_likelihood_ratio(counts, p) == pytest.approx(100 * np.sum(q * np.log(q / p)))
    assert _stats.log_likelihood_ratio(counts, q) == pytest.approx(0.0)
    assert _stats.log_likelihood_ratio(counts, np.array([[0.5, 0.5, 0.0]])) == math.inf


def _types(n: int, a: int):
    """Every empirical count vector of n draws over a actions."""
    for cut in itertools.combinations(range(n + a - 1), a - 1):
        edges = (-1, *cut, n + a - 1)
        yield np.diff(edges) - 1


@pytest.mark.parametrize("p_fail", [0.5, 0.1, 1e-3])
def test_the_bound_holds_exactly_for_every_outcome_of_a_small_sampler(p_fail):
    """Enumerate all outcomes of 40 draws over 3 actions: P(rejected) <= p_fail, not approximately."""
    p = np.array([0.6, 0.3, 0.1])
    log_p = np.log(p)
    rejected = 0.0
    for c in _types(40, 3):
        log_prob = math.lgamma(41) - sum(math.lgamma(k + 1) for k in c) + float(np.dot(c, log_p))
        if not _stats.consistent(c[None], p[None], p_fail):
            rejected += math.exp(log_prob)
    assert rejected <= p_fail


def test_two_samples_of_one_sampler_are_seldom_told_apart_and_two_samplers_are():
    rng = np.random.default_rng(0)
    p, q = np.array([0.5, 0.3, 0.2]), np.array([0.3, 0.3, 0.4])
    same = [_stats.same_distribution(rng.multinomial(2000, p)[None], rng.multinomial(8000, p)[None], 0.05)
            for _ in range(400)]
    assert np.mean(same) >= 0.95
    assert not any(_stats.same_distribution(rng.multinomial(2000, p)[None], rng.multinomial(8000, q)[None],
                                            1e-10) for _ in range(50))


def test_a_correct_sampler_fails_a_grading_run_with_probability_below_1e_9():
    cases = hidden.cases_for("categorical_sample", np.random.default_rng(0))
    assert sum(c.probe == "sample_counts" for c in cases) == SAMPLE_CASES
    assert SAMPLE_CASES * spec.P_FAIL < 1e-9


# ------------------------------------------------------------------ the sampler's inputs
def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _distributions(z: np.ndarray) -> dict[str, np.ndarray]:
    """What each catalogued sampler whose frequencies are wrong draws from, row by row."""
    w = np.exp(z - z.max(axis=0, keepdims=True))
    w = w / w.sum(axis=0, keepdims=True)  # softmax over the batch: the tile cancels in each row
    p = _softmax(z)
    return {"correct": p, "wrong_dim": w / w.sum(axis=1, keepdims=True), "ignores_logits": np.full_like(p, 1 / p.shape[1]),
            "sign_flipped": _softmax(-z), "softmax_twice": _softmax(p), "argmax": np.eye(z.shape[1])[z.argmax(axis=1)]}


def _logits(case) -> np.ndarray:
    return np.asarray(case.payload["logits"]["__tensor__"], dtype=np.float64)


def test_the_distributions_of_the_wrong_samplers_are_what_this_test_computes():
    ex = catalog.get("categorical_sample")
    case = hidden.cases_for("categorical_sample", np.random.default_rng(3))[0]
    z = _logits(case)
    for slug, q in _distributions(z).items():
        if slug == "correct":
            continue
        draws = ex.mistake(slug).wrong(torch.tensor(z).repeat(20_000, 1), generator=torch.Generator().manual_seed(0))
        counts = np.zeros(z.shape)
        np.add.at(counts, (np.arange(len(draws)) % len(z), draws.numpy()), 1)
        assert _stats.consistent(counts, np.clip(q, 1e-300, None), 1e-6), slug


def _kl(q: np.ndarray, p: np.ndarray) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.where(q > 0, q * np.log(q / p), 0.0).sum())


@pytest.mark.parametrize("seed", range(0, 400, 50))
def test_fresh_logits_separate_every_wrong_sampler_from_the_right_one_and_from_each_other(seed):
    """On each seed's logits, the expected test statistic clears its threshold by >= 8 standard
    deviations: every wrong sampler is rejected and named on every seed, none for another."""
    n = spec.TILE * spec.REPEATS
    for s in range(seed, seed + 50):
        for case in hidden.cases_for("categorical_sample", np.random.default_rng(s))[:SAMPLE_CASES]:
            z = _logits(case)
            k, a = z.shape
            d = _distributions(z)
            one = _stats.threshold([n] * k, a, spec.P_FAIL)
            for slug, q in d.items():
                if slug != "correct":
                    stat = n * _kl(q, d["correct"])
                    assert stat - one > 8 * math.sqrt(2 * stat), (s, slug)
            two = _stats.threshold([n] * k + [4 * n] * k, a, spec.P_FAIL)
            for (s1, q1), (s2, q2) in itertools.combinations([(k_, v) for k_, v in d.items() if k_ != "correct"], 2):
                m = (q1 + 4 * q2) / 5  # the learner draws n per row, the wrong sampler 4 n
                stat = min(n * _kl(q1, m) + 4 * n * _kl(q2, m),
                           n * _kl(q2, (q2 + 4 * q1) / 5) + 4 * n * _kl(q1, (q2 + 4 * q1) / 5))
                assert stat - two > 8 * math.sqrt(2 * stat), (s, s1, s2)


def test_torch_distributions_sampler_is_named_as_ignoring_the_generator():
    """Categorical(...).sample() cannot take a generator: the same named mistake as multinomial without one."""
    def categorical_sample(logits, generator=None):
        return torch.distributions.Categorical(logits=logits).sample()

    for seed in range(3):
        with pytest.raises(hidden.Mistake) as err:
            hidden.run_hidden("categorical_sample", categorical_sample, seed=seed, verbose=False)
        assert err.value.id == "categorical_sample/generator_ignored"


def test_no_two_mistakes_look_alike_on_fresh_inputs():
    gradelib.assert_mistakes_unambiguous(A, range(8))


# ------------------------------------------------------------------ the notebook
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
