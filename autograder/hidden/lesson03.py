"""Hidden tests of lesson 03: categorical and diagonal Gaussian policies.

Mistakes each test names (see docs/exercises/03.md):
categorical_log_prob: softmax then log (-inf at logits of magnitude 1e4), exp overflow
  (nan), log_softmax over the wrong dim, gather along the wrong dim or indexing every
  row with every action, the raw logit (no normalizer), probabilities instead of
  log-probabilities, the whole (N, A) matrix, dtype changed.
categorical_sample: argmax (not random), softmax over the wrong dim, uniform (logits
  ignored), sign flipped, shape (N, 1), float dtype, exp overflow, the generator ignored
  (not reproducible), generator=None not supported.
gaussian_log_prob: missing -0.5 log(2 pi) constant, log_std used as the standard
  deviation, no sum over dimensions (or a mean), variance/std confusion, dtype changed.

The sampler is judged by a chi-square test of 10,000 draws per logits row: a correct
sampler fails a case with probability 1e-6 (P_FALSE_FAIL), so a grading run of its two
cases wrongly fails with probability below 2e-6.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from . import Case, Mistake, call_case, describe, enc, exercise, expect_close, obs_array
from .lesson01 import TOL32, TOL64, expect_dtype, no_error

P_FALSE_FAIL = 1e-6  # chi-square threshold: the probability that a correct sampler fails a case
LOG_2PI = math.log(2 * math.pi)


def _tol(dtype: torch.dtype) -> dict:
    return TOL64 if dtype == torch.float64 else TOL32


def log_softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """z - logsumexp(z) in float64, stable for any magnitude."""
    m = z.max(axis=axis, keepdims=True)
    return z - (m + np.log(np.exp(z - m).sum(axis=axis, keepdims=True)))


def _finite(o: Any, call: str, why: str) -> None:
    got = obs_array(o)
    if got is not None and not np.all(np.isfinite(got)):
        raise Mistake(f"{call} returned {describe(o)}, with inf or nan. Likely mistake: {why}")


# ------------------------------------------------------------------ categorical_log_prob
@exercise("categorical_log_prob")
def categorical_log_prob(rng: np.random.Generator) -> list[Case]:
    cases = []
    specs = [(torch.float64, 3.0), (torch.float32, 2.0), (torch.float64, 1e4)]
    for dtype, scale in specs:
        n, a = int(rng.integers(4, 9)), int(rng.integers(3, 6))
        if scale >= 1e3:
            z_t = torch.tensor(rng.uniform(-scale, scale, (n, a)), dtype=dtype)
        else:
            z_t = torch.tensor(rng.normal(0, scale, (n, a)), dtype=dtype)
        acts = rng.integers(0, a, n)
        acts[0] = int(np.argmin(z_t[0].numpy()))  # a very unlikely action at least once
        z = z_t.numpy().astype(np.float64)
        lp = log_softmax(z)
        rows = np.arange(n)
        exp = lp[rows, acts]
        call = (f"categorical_log_prob(logits {tuple(z.shape)} in {dtype}"
                + (f" with magnitudes up to {scale:g}" if scale >= 1e3 else "") + f", actions {acts.tolist()})")

        def judge(o, z=z, lp=lp, acts=acts, rows=rows, exp=exp, call=call, dtype=dtype, scale=scale):
            no_error(o, call, {
                "index": "index each row's logits with its own action: "
                "log_softmax(logits, dim=-1).gather(-1, actions.unsqueeze(-1)).squeeze(-1), "
                "or lp[torch.arange(N), actions]",
            })
            out = o["out"]
            _finite(out, call, "softmax then log underflows to log(0) = -inf (and exp overflows to "
                    "inf/inf = nan) for large logits; use torch.log_softmax, i.e. z - logsumexp(z)")
            with np.errstate(all="ignore"):
                probs = np.exp(lp)
                sm0 = log_softmax(z, axis=0)
                mistakes = {
                    "you returned probabilities pi(a|s); return their logarithm": probs[rows, acts],
                    "log_softmax over the wrong dim: normalize over the actions of each row (dim=-1)":
                        sm0[rows, acts],
                    "the raw logit z_a is not a log-probability: subtract logsumexp(z)": z[rows, acts],
                    "you returned every action's log-probability; pick each row's action "
                    "(gather(-1, actions.unsqueeze(-1)).squeeze(-1))": lp,
                    "the sign is flipped: log-probabilities are <= 0": -exp,
                }
                if np.all(acts < z.shape[0]):
                    if z.shape[0] <= z.shape[1]:
                        mistakes["gather along dim 0 picks lp[a_i, i]; gather along the action dim (-1)"] = \
                            lp[acts, rows][None, :]
                    mistakes["lp[actions] picks whole rows; index with lp[torch.arange(N), actions]"] = \
                        lp[acts]
                mistakes["lp[:, actions] gives an (N, N) matrix; index with lp[torch.arange(N), actions]"] = \
                    lp[:, acts]
            expect_close(out, exp, call, mistakes, hint="log pi(a|s) = z_a - logsumexp(z).",
                         **(_tol(dtype) if scale < 1e3 else {"rtol": 1e-7, "atol": 1e-6}))
            expect_dtype(out, dtype, call)
        cases.append(call_case("categorical_log_prob", [z_t, torch.tensor(acts, dtype=torch.long)],
                               judge=judge, probe="call_or_error",
                               desc=f"logits {tuple(z.shape)}, actions {acts.tolist()}"))
    return cases


# ------------------------------------------------------------------ categorical_sample
def chi_square_sf(stat: float, dof: int) -> float:
    """P(X >= stat) for X ~ chi-square(dof): the regularized upper incomplete gamma Q(dof/2, stat/2)."""
    return float(torch.special.gammaincc(torch.tensor(dof / 2, dtype=torch.float64),
                                         torch.tensor(stat / 2, dtype=torch.float64)))


def chi_square_p(counts: np.ndarray, probs: np.ndarray) -> float:
    """p-value of the counts (K, A) under the row distributions probs (K, A) (Pearson's test)."""
    n = counts.sum(axis=1, keepdims=True)
    expected = n * probs
    keep = expected > 0
    if np.any(counts[~keep] > 0):
        return 0.0
    stat = float((((counts - expected) ** 2)[keep] / expected[keep]).sum())
    dof = int(keep.sum() - counts.shape[0])
    return chi_square_sf(stat, max(dof, 1))


def _softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.exp(log_softmax(z, axis))


@exercise("categorical_sample")
def categorical_sample(rng: np.random.Generator) -> list[Case]:
    cases = []
    tile, repeats = 1000, 10  # 10,000 draws per row of logits
    for dtype, k, a, offset in [(torch.float64, 3, 4, 0.0), (torch.float32, 2, 3, 100.0)]:
        z_t = torch.tensor(rng.uniform(-2, 2, (k, a)), dtype=dtype)
        z_t[-1] += offset  # logits far from 0: exp overflows in float32 unless shifted
        z = z_t.numpy().astype(np.float64)
        probs = _softmax(z)
        seed = int(rng.integers(0, 2**31))
        call = (f"categorical_sample(logits ({k * tile}, {a}) in {dtype}"
                + (f" with a row near {offset:g}" if offset else "") + ", generator=<seeded>)")

        def judge(o, z=z, probs=probs, call=call, k=k, a=a):
            no_error(o, call, {
                "unexpected keyword argument 'generator'": "the function must accept "
                "generator=None and pass it on (torch.multinomial(..., generator=generator))",
                "probability tensor": "torch.multinomial needs finite probabilities >= 0: pass "
                "torch.softmax(logits, -1), not the logits, and not exp(logits) / sum, which "
                "overflows to inf/inf = nan for large logits (softmax subtracts the max first)",
            })
            if o["type"] != "Tensor":
                raise Mistake(f"{call} returned {o['type']}; return a torch LongTensor of shape (N,).")
            if o["shape"] != [k * tile]:
                why = ("squeeze the last dim: torch.multinomial(p, 1) has shape (N, 1)"
                       if o["shape"] == [k * tile, 1] else "return one action per row of logits")
                raise Mistake(f"{call} returned shape {tuple(o['shape'])}, expected ({k * tile},). "
                              f"Likely mistake: {why}.")
            if o["dtype"] != "int64":
                raise Mistake(f"{call} returned a {o['dtype']} Tensor; actions are indices: return a "
                              "LongTensor (int64), e.g. with .long().")
            if "out_of_range" in o:
                raise Mistake(f"{call} returned actions from {o['out_of_range'][0]} to "
                              f"{o['out_of_range'][1]}; they must lie in [0, {a - 1}].")
            counts = np.asarray(o["counts"], dtype=np.float64)
            freq = counts / counts.sum(axis=1, keepdims=True)
            shown = (f"action frequencies {np.round(freq, 3).tolist()}, expected softmax(logits) "
                     f"{np.round(probs, 3).tolist()}")
            if np.all(counts[np.arange(k), z.argmax(1)] == counts.sum(1)):
                raise Mistake(f"{call}: every draw is the argmax ({shown}). Likely mistake: sampling "
                              "must be random, a ~ softmax(logits), not argmax(logits).")
            if chi_square_p(counts, probs) < P_FALSE_FAIL:
                wrong = {
                    "the logits are ignored (uniform actions)": np.full_like(probs, 1 / a),
                    "softmax over the wrong dim: normalize each row over its actions (dim=-1)":
                        _softmax(log_softmax(z, axis=0)),
                    "the sign of the logits is flipped": _softmax(-z),
                    "the probabilities are squared (softmax applied twice or p * p?)":
                        probs**2 / (probs**2).sum(1, keepdims=True),
                }
                for why, p in wrong.items():
                    if chi_square_p(counts, p) >= P_FALSE_FAIL:
                        raise Mistake(f"{call}: {shown}. Likely mistake: {why}.")
                raise Mistake(f"{call}: {shown}; a chi-square test rejects them (p < {P_FALSE_FAIL:g}). "
                              "Sample with torch.multinomial(torch.softmax(logits, -1), 1).")
            if not o["same_seed_equal"]:
                raise Mistake(f"{call}: two generators seeded alike gave different actions. Likely "
                              "mistake: the generator is ignored; pass generator=generator to "
                              "torch.multinomial / torch.rand (torch.distributions cannot take one).")
            if not o["other_seed_differs"]:
                raise Mistake(f"{call}: different seeds gave exactly the same actions: the draws are "
                              "not random.")
            if o["default_generator_error"]:
                raise Mistake(f"categorical_sample(logits) without a generator raised "
                              f"{o['default_generator_error']}; generator=None must use torch's "
                              "global random numbers.")
        cases.append(Case("sample_counts", {"logits": enc(z_t), "tile": tile, "repeats": repeats,
                                            "seed": seed}, judge, call=call))
    return cases


# ------------------------------------------------------------------ gaussian_log_prob
def gauss(x: np.ndarray, mu: np.ndarray, log_std: np.ndarray, const: bool = True, reduce: str = "sum",
          sigma: np.ndarray | None = None, var_is_sigma: bool = False, log_term: float = 1.0) -> np.ndarray:
    """The diagonal Gaussian log-density and its usual wrong variants (for naming mistakes)."""
    s = np.exp(log_std) if sigma is None else sigma
    with np.errstate(all="ignore"):
        quad = (x - mu) ** 2 / (s if var_is_sigma else s**2)
        per_dim = -0.5 * quad - log_term * np.log(s) - (0.5 * LOG_2PI if const else 0.0)
    per_dim = np.broadcast_to(per_dim, np.broadcast_shapes(x.shape, per_dim.shape))
    return {"sum": per_dim.sum(-1), "mean": per_dim.mean(-1), "none": per_dim}[reduce]


@exercise("gaussian_log_prob")
def gaussian_log_prob(rng: np.random.Generator) -> list[Case]:
    cases = []
    # (N, d, mu per row?, log_std per row?, dtype)
    specs = [(int(rng.integers(3, 8)), int(rng.integers(2, 5)), True, False, torch.float64),
             (int(rng.integers(3, 8)), int(rng.integers(2, 4)), False, True, torch.float32),
             (int(rng.integers(3, 8)), 1, True, False, torch.float64)]
    for n, d, mu_rows, ls_rows, dtype in specs:
        x_t = torch.tensor(rng.normal(0, 1.5, (n, d)), dtype=dtype)
        mu_t = torch.tensor(rng.normal(0, 1, (n, d) if mu_rows else (d,)), dtype=dtype)
        ls = rng.uniform(-1.5, 0.7, (n, d) if ls_rows else (d,))
        ls[..., 0] = -abs(ls[..., 0]) - 0.2  # a negative log_std: sigma < 1
        ls_t = torch.tensor(ls, dtype=dtype)
        x, mu, log_std = (t.numpy().astype(np.float64) for t in (x_t, mu_t, ls_t))
        exp = gauss(x, mu, log_std)
        call = (f"gaussian_log_prob(x {tuple(x.shape)}, mu {tuple(mu.shape)}, log_std "
                f"{tuple(log_std.shape)}) in {dtype}")

        def judge(o, x=x, mu=mu, log_std=log_std, exp=exp, call=call, dtype=dtype, d=d):
            no_error(o, call)
            out = o["out"]
            _finite(out, call, "log_std is log(sigma) and may be negative: sigma = exp(log_std); "
                    "do not take log(log_std)")
            mistakes = {
                "the constant -0.5 log(2 pi) per dimension is missing": gauss(x, mu, log_std, const=False),
                "log_std was used as the standard deviation; sigma = exp(log_std)":
                    gauss(x, mu, log_std, sigma=log_std),
                "no sum over the action dimensions: log pi(a|s) = sum_i log N(a_i; mu_i, sigma_i)":
                    gauss(x, mu, log_std, reduce="none"),
                "mean over the action dimensions instead of the sum": gauss(x, mu, log_std, reduce="mean"),
                "variance/std confusion: divide (x - mu)^2 by sigma^2, not sigma":
                    gauss(x, mu, log_std, var_is_sigma=True),
                "variance/std confusion: exp(log_std) was used as the variance sigma^2":
                    gauss(x, mu, log_std, sigma=np.exp(log_std / 2)),
                "the -log sigma term is wrong: log N includes -log(sigma) once per dimension":
                    gauss(x, mu, log_std, log_term=0.0),
                "the -log sigma term is doubled (log of the variance instead of the std)":
                    gauss(x, mu, log_std, log_term=2.0),
            }
            expect_close(out, exp, call, mistakes,
                         hint="sum_i [-0.5 ((x_i - mu_i)/sigma_i)^2 - log sigma_i - 0.5 log(2 pi)].",
                         **_tol(dtype))
            expect_dtype(out, dtype, call)
        cases.append(call_case("gaussian_log_prob", [x_t, mu_t, ls_t], judge=judge, probe="call_or_error",
                               desc=f"x {tuple(x.shape)}, mu {tuple(mu.shape)}, log_std {tuple(log_std.shape)}"))
    return cases
