"""Frequency tests for samplers, with error bounds that hold exactly (not only asymptotically).

Are counts of sampled actions drawn from a given distribution p, or from the same distribution as
other counts? Both use the likelihood-ratio (G) form of the chi-square test. For counts c (K rows,
A actions, n_k draws in row k) and row distributions p,

    L = sum_k n_k KL(c_k / n_k || p_k) = sum_k sum_a c_ka log(c_ka / (n_k p_ka))     (G = 2 L).

By the method of types (Cover & Thomas, Elements of Information Theory, thm. 11.1.4), n draws
from p land in the type class of an empirical distribution q with probability at most
exp(-n KL(q || p)), and there are C(n + A - 1, A - 1) type classes. So a sampler that really
draws from p gives

    P(L >= t) <= prod_k C(n_k + A - 1, A - 1) * exp(-t),

and ``threshold`` returns the t that makes this ``p_fail``: a correct sampler is rejected with
probability below ``p_fail``, whatever the sample size (no chi-square approximation involved).
The two-sample version (``same_distribution``) compares with the pooled frequencies m; its
statistic is at most the sum of both samples' L against their common true distribution, so the
same bound holds with the type classes of both samples.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["consistent", "log_likelihood_ratio", "same_distribution", "threshold"]


def _log_types(n: float, n_actions: int) -> float:
    """log C(n + A - 1, A - 1): the number of empirical distributions of n draws over A actions."""
    return math.lgamma(n + n_actions) - math.lgamma(n + 1) - math.lgamma(n_actions)


def _rows(x: np.ndarray) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    return a.reshape(1, -1) if a.ndim == 1 else a


def log_likelihood_ratio(counts: np.ndarray, probs: np.ndarray) -> float:
    """L = sum_k n_k KL(counts_k / n_k || probs_k) (inf when a draw has probability 0)."""
    c, p = _rows(counts), _rows(probs)
    n = c.sum(axis=1, keepdims=True)
    seen = c > 0
    with np.errstate(divide="ignore"):
        ratio = c[seen] / (n * p)[seen]
    return float(np.sum(c[seen] * np.log(ratio))) if np.all(ratio > 0) else math.inf


def threshold(draws_per_row: list[float], n_actions: int, p_fail: float) -> float:
    """The t with prod_k C(n_k + A - 1, A - 1) exp(-t) = p_fail (see the module docstring)."""
    return sum(_log_types(n, n_actions) for n in draws_per_row) + math.log(1.0 / p_fail)


def consistent(counts: np.ndarray, probs: np.ndarray, p_fail: float) -> bool:
    """True unless the counts reject ``probs``; a sampler drawing from ``probs`` fails w.p. < p_fail."""
    c = _rows(counts)
    return log_likelihood_ratio(c, probs) < threshold(list(c.sum(axis=1)), c.shape[1], p_fail)


def same_distribution(counts: np.ndarray, other: np.ndarray, p_fail: float) -> bool:
    """True unless two sets of counts (same rows and actions) reject a common distribution.

    Two samplers with the same distribution are told apart with probability below ``p_fail``.
    """
    c1, c2 = _rows(counts), _rows(other)
    pooled = (c1 + c2) / (c1 + c2).sum(axis=1, keepdims=True)
    stat = log_likelihood_ratio(c1, pooled) + log_likelihood_ratio(c2, pooled)
    draws = list(c1.sum(axis=1)) + list(c2.sum(axis=1))
    return stat < threshold(draws, c1.shape[1], p_fail)
