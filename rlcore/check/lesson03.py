"""Visible checks for lesson 03: categorical and diagonal Gaussian policies."""

from __future__ import annotations

import math
from typing import Any

import torch

from ._core import Checker, fmt, run_check

__all__ = ["check_categorical_log_prob", "check_categorical_sample", "check_gaussian_log_prob"]

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def check_categorical_log_prob(fn: Any) -> None:
    """Check log pi(a|s) = z_a - logsumexp(z) on small logits and on logits of magnitude 1e4."""
    __tracebackhide__ = True

    def body(c: Checker) -> None:
        hint = ("log pi(a|s) = z_a - logsumexp(z) for each row; use torch.log_softmax(logits, dim=-1) "
                "and pick each row's action with .gather(-1, actions.unsqueeze(-1)).squeeze(-1).")
        got = c.call(torch.tensor([[0.0, 0.0]]), torch.tensor([0]))
        c.expect_close(got, torch.tensor([math.log(0.5)]),
                       hint + " 0.5 means you returned a probability, not its log.",
                       what="two equal logits: log(1/2)")
        z = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
        lse = math.log(math.e + math.e**2 + math.e**3)
        got = c.call(z, torch.tensor([2, 1]))
        c.expect_close(got, torch.tensor([3.0 - lse, -math.log(3.0)]), hint,
                       what="[3 - log(e + e^2 + e^3), log(1/3)]")
        c.expect(getattr(got, "dtype", None) == torch.float64, getattr(got, "dtype", type(got)),
                 torch.float64, "keep the dtype of logits.")
        big = torch.tensor([[1e4, 0.0, -1e4]], dtype=torch.float64)
        got = c.call(big, torch.tensor([1]))
        c.expect_close(got, torch.tensor([-1e4], dtype=torch.float64),
                       "softmax then log gives log(0) = -inf here (and exp(1e4) overflows to "
                       "inf/inf = nan). log_softmax computes z - logsumexp(z) with the max "
                       "subtracted first, so it stays finite.",
                       what="logits of magnitude 1e4: 0 - 1e4", rtol=1e-7)

    run_check("categorical_log_prob", fn, body)


def check_categorical_sample(fn: Any) -> None:
    """Check shape, dtype, reproducibility with a seeded generator and the frequencies of 30,000 draws."""
    __tracebackhide__ = True

    def body(c: Checker) -> None:
        p = torch.tensor([0.7, 0.2, 0.1])
        logits = p.log().repeat(10_000, 1)
        a = c.call(logits, generator=torch.Generator().manual_seed(0))
        c.expect(isinstance(a, torch.Tensor) and tuple(a.shape) == (10_000,), fmt(a),
                 "a Tensor of shape (10000,)",
                 "one action per row; torch.multinomial(probs, 1) has shape (N, 1): .squeeze(-1).")
        c.expect(a.dtype == torch.int64, a.dtype, torch.int64, "actions are indices: return a LongTensor.")
        b = c.call(logits, generator=torch.Generator().manual_seed(0))
        c.expect(torch.equal(a, b), "different actions for the same seed", "the same actions",
                 "pass the generator on: torch.multinomial(probs, 1, generator=generator) "
                 "(torch.distributions.Categorical cannot take one).", what="two calls, same seed")
        draws = torch.cat([a, b, c.call(logits, generator=torch.Generator().manual_seed(1))])
        freq = torch.bincount(draws.clamp(0, 2), minlength=3).double() / len(draws)
        c.expect(bool((freq - p).abs().max() < 0.02), fmt(freq), fmt(p),
                 "actions must be drawn from softmax(logits); frequencies far from it mean the "
                 "argmax (not random), the softmax over the wrong dim, or the logits used as "
                 "probabilities.", what="action frequencies")
        small = c.call(torch.tensor([[0.0, 100.0, 0.0]]))
        c.expect(small.tolist() == [1], fmt(small), "[1]",
                 "generator=None must work; exp(100) overflows in float32: use torch.softmax.",
                 what="no generator, logits [0, 100, 0]")

    run_check("categorical_sample", fn, body)


def check_gaussian_log_prob(fn: Any) -> None:
    """Check the diagonal Gaussian log-density on hand-worked cases and both shapes of log_std."""
    __tracebackhide__ = True

    def body(c: Checker) -> None:
        hint = "log N = sum_i [-0.5 ((x_i - mu_i) / sigma_i)^2 - log sigma_i - 0.5 log(2 pi)], sigma = exp(log_std)."
        got = c.call(torch.tensor([[0.0]]), torch.tensor([0.0]), torch.tensor([0.0]))
        c.expect_close(got, torch.tensor([-_HALF_LOG_2PI]),
                       hint + " 0 means the constant -0.5 log(2 pi) is missing.",
                       what="standard normal at 0: -0.5 log(2 pi)")
        x = torch.tensor([[1.0, 2.0]], dtype=torch.float64)
        mu = torch.tensor([0.0, 0.0], dtype=torch.float64)
        log_std = torch.tensor([0.0, math.log(2.0)], dtype=torch.float64)
        exp = -0.5 * 1.0 - 0.5 * (2.0 / 2.0) ** 2 - math.log(2.0) - 2 * _HALF_LOG_2PI
        got = c.call(x, mu, log_std)
        c.expect_close(got, torch.tensor([exp], dtype=torch.float64),
                       hint + " Sum over the action dimensions: one number per row.",
                       what="x=[1, 2], sigma=[1, 2]: -0.5 - 0.5 - log 2 - log(2 pi)")
        c.expect(getattr(got, "dtype", None) == torch.float64, getattr(got, "dtype", type(got)),
                 torch.float64, "keep the dtype of x.")
        x = torch.tensor([[0.5], [0.5]])
        log_std = torch.tensor([[0.0], [-1.0]])
        got = c.call(x, torch.tensor([0.5]), log_std)
        c.expect_close(got, torch.tensor([-_HALF_LOG_2PI, 1.0 - _HALF_LOG_2PI]),
                       hint + " log_std may be one row per sample (N, d), and negative: sigma = "
                       "exp(-1) < 1 gives a density above 1 (a positive log).",
                       what="log_std of shape (2, 1): [-0.919, 0.081]")

    run_check("gaussian_log_prob", fn, body)
