"""Visible checks for lesson 03: categorical and diagonal Gaussian policies.

Values are compared with hand-worked results; when the learner's output is what a catalogued
mistake (``rlcore/catalog/lesson03.py``) gives on the same inputs, the hint names it. The
sampler's draws are random, so its check counts them: frequencies far from softmax(logits)
(by a likelihood-ratio test, ``rlcore.check._stats``) are compared with those of each
catalogued wrong sampler on the same logits.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from . import _stats
from ._core import Checker, check, fmt

__all__ = ["check_categorical_log_prob", "check_categorical_sample", "check_gaussian_log_prob"]

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
_P_FAIL = 1e-9  # a correct sampler fails the frequency check with at most this probability


@check("categorical_log_prob")
def check_categorical_log_prob(c: Checker) -> None:
    """Check log pi(a|s) = z_a - logsumexp(z) on small logits and on logits of magnitude 1e4."""
    hint = ("log pi(a|s) = z_a - logsumexp(z) for each row; use torch.log_softmax(logits, dim=-1) "
            "and pick each row's action with .gather(-1, actions.unsqueeze(-1)).squeeze(-1).")
    z = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [3.0, -1.0, 0.5], [0.5, 0.0, -2.0]],
                     dtype=torch.float64)
    actions = torch.tensor([2, 1, 1, 0])
    got = c.call(z, actions)
    c.expect_close(got, z[torch.arange(4), actions] - torch.logsumexp(z, dim=-1), hint,
                   what="[3 - log(e + e^2 + e^3), log(1/3), -1 - logsumexp(3, -1, 0.5), ...]")
    c.expect(getattr(got, "dtype", None) == torch.float64, getattr(got, "dtype", type(got)),
             torch.float64, c.says("changes_dtype"), what="dtype")
    got = c.call(torch.tensor([[0.0, 0.0]]), torch.tensor([0]))
    c.expect_close(got, torch.tensor([math.log(0.5)]), hint, what="a batch of one, two equal logits: [log(1/2)]")
    big = torch.tensor([[1e4, 0.0, -1e4], [0.0, 1e4, -1e4]], dtype=torch.float64)
    got = c.call(big, torch.tensor([0, 2]))
    c.expect_close(got, torch.tensor([0.0, -2e4], dtype=torch.float64),
                   "log pi(a|s) must stay finite and exact for large logits: log_softmax computes "
                   "z - logsumexp(z) with the max subtracted first.",
                   what="logits of magnitude 1e4: [1e4 - 1e4, -1e4 - 1e4]", rtol=1e-7)


def _counts(actions: torch.Tensor, n_rows: int, n_actions: int) -> np.ndarray:
    """Counts (rows, actions) of a batch whose row i holds logits row i % n_rows."""
    a = actions.detach().reshape(-1).long().clamp(0, n_actions - 1).numpy()
    counts = np.zeros((n_rows, n_actions))
    np.add.at(counts, (np.arange(len(a)) % n_rows, a), 1)
    return counts


def _mistake_with_these_frequencies(counts: np.ndarray, probs: np.ndarray, batch: torch.Tensor,
                                    seed: int) -> str | None:
    """The message of the catalogued wrong sampler whose draws on ``batch`` look like ``counts``."""
    from .. import catalog

    k, a = probs.shape
    larger = batch.repeat(4, 1)  # each wrong sampler draws four times as often: a sharper comparison
    for m in catalog.get("categorical_sample").mistakes:
        try:
            theirs = m.wrong(larger, generator=torch.Generator().manual_seed(seed))
        except Exception:  # noqa: BLE001, S112 - a wrong sampler may fail here, or take no generator
            continue
        if not isinstance(theirs, torch.Tensor) or tuple(theirs.shape) != (len(larger),):
            continue
        their_counts = _counts(theirs, k, a)
        if not _stats.consistent(their_counts, probs, _P_FAIL) and \
                _stats.same_distribution(counts, their_counts, _P_FAIL):
            return m.message
    return None


@check("categorical_sample")
def check_categorical_sample(c: Checker) -> None:
    """Check shape, dtype, reproducibility with a seeded generator and the frequencies of 30,000 draws."""
    errors = {"unexpected keyword argument 'generator'": c.says("no_generator_argument"),
              "probability tensor": c.says("logits_as_probs")}
    rows = torch.tensor([[0.8, 2.0, -1.6, -0.4], [-0.4, -1.6, 2.0, 0.8], [0.8, 2.0, -1.6, -0.4]])
    probs = torch.softmax(rows, dim=-1).double().numpy()
    batch = rows.repeat(10_000, 1)
    a = c.call_naming(errors, batch, generator=torch.Generator().manual_seed(0))
    c.expect(isinstance(a, torch.Tensor), type(a).__name__, "a torch Tensor",
             "return the actions as a LongTensor of shape (N,).", what="type")
    c.expect(tuple(a.shape) != (len(batch), 1), tuple(a.shape), f"({len(batch)},)", c.says("no_squeeze"),
             what="shape")
    c.expect(tuple(a.shape) == (len(batch),), tuple(a.shape), f"({len(batch)},)",
             "one action per row of logits.", what="shape")
    c.expect(a.dtype == torch.int64, a.dtype, torch.int64, c.says("not_long"), what="dtype")
    c.expect(bool(((a >= 0) & (a < 4)).all()), f"actions from {int(a.min())} to {int(a.max())}",
             "actions in [0, 3]", "actions index the columns of logits.", what="range")
    counts = _counts(a, 3, 4)
    if not _stats.consistent(counts, probs, _P_FAIL):
        freq = counts / counts.sum(axis=1, keepdims=True)
        c.expect(False, np.round(freq, 3), np.round(probs, 3),
                 _mistake_with_these_frequencies(counts, probs, batch, 0)
                 or "draw each row's action from softmax(logits); these frequencies are too far from "
                    "it to be chance.", what="action frequencies of 10,000 draws per row")
    b = c.call(batch, generator=torch.Generator().manual_seed(0))
    c.expect(torch.equal(a, b), "different actions for the same seed", "the same actions",
             c.says("generator_ignored"), what="two calls, generators with the same seed")
    other = c.call(batch, generator=torch.Generator().manual_seed(1))
    c.expect(not torch.equal(a, other), "the same actions for seeds 0 and 1", "different actions",
             c.says("fixed_seed"), what="two calls, generators with different seeds")
    small = c.call_naming({"required positional argument": c.says("generator_required"),
                           "probability tensor": c.says("exp_overflow")},
                          torch.tensor([[0.0, 100.0, 0.0]]))
    c.expect(isinstance(small, torch.Tensor), type(small).__name__, "a torch Tensor",
             "return the actions as a LongTensor of shape (N,).", what="no generator, logits [0, 100, 0]")
    c.expect(small.shape == (1,), fmt(small), "tensor([1]), shape (1,)",
             c.says("squeeze_all"), what="a batch of one, no generator, logits [0, 100, 0]")
    c.expect(small.tolist() == [1], fmt(small), "tensor([1])",
             "softmax([0, 100, 0]) puts all but 1e-43 of the probability on action 1.",
             what="no generator, logits [0, 100, 0]")


@check("gaussian_log_prob")
def check_gaussian_log_prob(c: Checker) -> None:
    """Check the diagonal Gaussian log-density on hand-worked cases and both shapes of log_std."""
    hint = "log N = sum_i [-0.5 ((x_i - mu_i) / sigma_i)^2 - log sigma_i - 0.5 log(2 pi)], sigma = exp(log_std)."
    got = c.call(torch.tensor([[0.0]]), torch.tensor([0.0]), torch.tensor([0.0]))
    c.expect_close(got, torch.tensor([-_HALF_LOG_2PI]), hint, what="standard normal at 0: [-0.5 log(2 pi)]")
    x = torch.tensor([[1.0, 2.0], [0.0, -1.0], [2.0, 0.5]], dtype=torch.float64)
    mu = torch.tensor([0.0, 0.0], dtype=torch.float64)
    log_std = torch.tensor([0.5, math.log(2.0)], dtype=torch.float64)
    sigma = torch.exp(log_std)
    expected = (-0.5 * ((x - mu) / sigma) ** 2 - log_std - _HALF_LOG_2PI).sum(-1)
    got = c.call(x, mu, log_std)
    c.expect_close(got, expected, hint + " Sum over the action dimensions: one number per row.",
                   what="sigma = [e^0.5, 2]: row 0 is -0.5/e - 0.5 - 0.5 - log 2 - log(2 pi)")
    c.expect(getattr(got, "dtype", None) == torch.float64, getattr(got, "dtype", type(got)),
             torch.float64, c.says("changes_dtype"), what="dtype")
    x = torch.tensor([[0.5], [0.5]])
    log_std = torch.tensor([[0.0], [-1.0]])
    got = c.call(x, torch.tensor([0.5]), log_std)
    c.expect_close(got, torch.tensor([-_HALF_LOG_2PI, 1.0 - _HALF_LOG_2PI]),
                   hint + " log_std may be one row per sample (N, d), and negative: sigma = "
                   "exp(-1) < 1 gives a density above 1 (a positive log).",
                   what="log_std of shape (2, 1): [-0.919, 0.081]")
