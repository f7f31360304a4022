"""Hidden tests of lesson 03: categorical and diagonal Gaussian policies.

Fresh random inputs of every kind the contract admits (``rlcore/catalog/lesson03.py`` lists
them and the named mistakes). The log-probabilities are compared with the reference and a
failure is named by the catalogued wrong implementation that behaves the same
(``judge_case``).

The sampler is judged by the frequencies of 10,000 draws per row of logits, with the
likelihood-ratio chi-square test of ``rlcore.check._stats``: its threshold comes from the
method-of-types bound, so a correct sampler fails a case with probability below ``P_FAIL``
(1e-10), exactly, and a grading run (two such cases) below 2e-10. Rejected frequencies are
named by drawing from each catalogued wrong sampler on the same inputs and finding the one
whose frequencies the same test cannot tell apart (with the same error bound).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from autograder import hidden as h
from rlcore import catalog
from rlcore.check import _stats

P_FAIL = 1e-10  # a correct sampler fails one distribution case with at most this probability
TILE, REPEATS = 1000, 10  # 10,000 draws per row of logits
STABLE = ("log pi(a|s) = z_a - logsumexp(z) must stay finite for large logits: torch.log_softmax "
          "subtracts the max before exponentiating.")


def _tol(dtype: torch.dtype) -> dict:
    return {"rtol": 1e-5, "atol": 1e-6 if dtype == torch.float64 else 1e-5}


def _raised(o: Any, call: str, known: dict[str, str] | None = None, hint: str = "") -> None:
    """Fail if the probe observed an exception; name the mistake whose error text it shows."""
    if isinstance(o, dict) and isinstance(o.get("error"), str):
        for text, mistake_id in (known or {}).items():
            if text in o["error"]:
                raise h.named(mistake_id, f"{call} raised {o['error']}")
        raise h.fail(f"{call} raised {o['error']}", hint)


def _expect_dtype(out: Any, dtype: torch.dtype, call: str) -> None:
    want = str(dtype).replace("torch.", "")
    if not (isinstance(out, dict) and "__tensor__" in out):
        raise h.fail(f"{call} returned {h.kind_of(out)}, expected a torch Tensor")
    if out["dtype"] != want:
        raise h.fail(f"{call} returned a {out['dtype']} Tensor for {want} inputs", "Keep the inputs' dtype.")


# ------------------------------------------------------------------ categorical_log_prob
def log_softmax(z: np.ndarray) -> np.ndarray:
    """z - logsumexp(z) over the last axis, in float64, stable for any magnitude."""
    m = z.max(axis=-1, keepdims=True)
    return z - (m + np.log(np.exp(z - m).sum(axis=-1, keepdims=True)))


@h.exercise("categorical_log_prob")
def categorical_log_prob(rng: np.random.Generator) -> list[h.Case]:
    cases = []
    for kind, dtype, scale in [("float64", torch.float64, 3.0), ("float32", torch.float32, 2.0),
                               ("magnitude 1e4", torch.float64, 1e4), ("batch of one", torch.float64, 3.0)]:
        a = int(rng.integers(3, 6))
        n = 1 if kind == "batch of one" else int(rng.integers(a + 2, 10))  # N > A: lp[actions] runs
        acts = rng.integers(0, a, n)
        if scale >= 1e3:
            z = rng.uniform(-scale, scale, (n, a))
            # row 0: a gap beyond exp's range (log(softmax) is -inf); row 1: its argmax beyond
            # exp's range (exp(z) overflows, log(softmax) is still right), so each naive form shows
            z[0, :2] = rng.uniform(0.5 * scale, scale), -rng.uniform(0.5 * scale, scale)
            z[1, int(acts[1])] = rng.uniform(0.5 * scale, scale)
            z[1, np.arange(a) != acts[1]] = np.minimum(z[1, np.arange(a) != acts[1]], 0.0)
            z_t = torch.tensor(z, dtype=dtype)
        else:
            z_t = torch.tensor(rng.normal(0, scale, (n, a)), dtype=dtype)
        acts[0] = int(np.argmin(z_t[0].numpy()))  # a very unlikely action at least once
        z = z_t.numpy().astype(np.float64)
        expected = log_softmax(z)[np.arange(n), acts]
        call = (f"categorical_log_prob(logits {tuple(z.shape)} in {dtype}"
                + (f" with magnitudes up to {scale:g}" if scale >= 1e3 else "") + f", actions {acts.tolist()})")
        tol = _tol(dtype) if scale < 1e3 else {"rtol": 1e-7, "atol": 1e-6}

        def judge(o, expected=expected, call=call, dtype=dtype, tol=tol):
            _raised(o, call, hint="Index each row's logits with its own action: "
                    "log_softmax(logits, dim=-1).gather(-1, actions.unsqueeze(-1)).squeeze(-1).")
            got = h.obs_array(o["out"])
            finite = got is None or bool(np.all(np.isfinite(got)))
            h.expect_close(o["out"], expected, call, **tol,
                           hint="log pi(a|s) = z_a - logsumexp(z), one number per row." if finite else STABLE)
            _expect_dtype(o["out"], dtype, call)
        cases.append(h.with_kind(h.call_case("categorical_log_prob", [z_t, torch.tensor(acts, dtype=torch.long)],
                                     judge=judge, probe="call_or_error",
                                     desc=f"logits {tuple(z.shape)}, actions {acts.tolist()}"), kind))
    return cases


# ------------------------------------------------------------------ categorical_sample
def _spread_rows(rng: np.random.Generator, base: list[float], n_rows: int) -> np.ndarray:
    """Rows of logits on which every catalogued wrong sampler draws clearly other frequencies:
    jittered copies of a shuffled ``base``, the second one reversed (so a softmax over the wrong
    dim, a flipped sign, a second softmax and uniform draws are far from softmax(logits) and from
    each other; tests/test_lesson03.py measures the margins)."""
    b = np.asarray(base)
    rows = [b[rng.permutation(len(b))]]
    rows.append(rows[0][::-1])
    rows += [rows[0]] * (n_rows - 2)
    return np.stack(rows) + rng.uniform(-0.15, 0.15, (n_rows, len(b)))


def _sample_errors(overflow: bool) -> dict[str, str]:
    """Error texts of the sampler's catalogued mistakes, and the mistake each one shows."""
    return {"unexpected keyword argument 'generator'": "categorical_sample/no_generator_argument",
            "probability tensor": "categorical_sample/exp_overflow" if overflow
            else "categorical_sample/logits_as_probs"}


def _expect_actions(out: Any, dtype: str, shape: list, n: int, call: str) -> None:
    """The sampler returned a LongTensor of shape (n,), or a named mistake says what it returned.

    out: what the probe encoded when it is not a Tensor (its dtype and shape are then unused)."""
    if out is not None:
        raise h.fail(f"{call} returned {h.kind_of(out)}, expected a LongTensor of shape ({n},)")
    if list(shape) != [n]:
        what = f"{call} returned shape {tuple(shape)}, expected ({n},)"
        if list(shape) == [n, 1]:
            raise h.named("categorical_sample/no_squeeze", what)
        if n == 1 and list(shape) == []:
            raise h.named("categorical_sample/squeeze_all", what)
        raise h.fail(what, "Return one action per row of logits.")
    if dtype != "int64":
        raise h.named("categorical_sample/not_long", f"{call} returned a {dtype} Tensor")


def _named_by_distribution(case: h.Case, counts: np.ndarray, probs: np.ndarray):
    """The catalogued wrong sampler whose frequencies on this case match ``counts``, or None.

    Each wrong sampler draws four times as often as the learner's (a sharper comparison); only
    those whose own draws reject softmax(logits) count; two samples of one distribution are told
    apart with probability below P_FAIL."""
    larger = h.Case(case.probe, {**case.payload, "tile": 4 * case.payload["tile"]}, case.judge)
    for m in catalog.get("categorical_sample").mistakes:
        seen = h._observe(larger, m.wrong)
        if not isinstance(seen, dict) or "counts" not in seen:
            continue
        theirs = np.asarray(seen["counts"], dtype=np.float64)
        if not _stats.consistent(theirs, probs, P_FAIL) and _stats.same_distribution(counts, theirs, P_FAIL):
            return m
    return None


def _counts_case(rng: np.random.Generator, kind: str, dtype: torch.dtype, base: list[float],
                 n_rows: int, offset: float) -> h.Case:
    z = _spread_rows(rng, base, n_rows)
    z[-1] += offset  # logits far from 0: exp overflows in float32 unless shifted
    z_t = torch.tensor(z, dtype=dtype)
    z = z_t.numpy().astype(np.float64)
    probs = np.exp(log_softmax(z))
    k, a = z.shape
    call = (f"categorical_sample(logits ({k * TILE}, {a}) in {dtype}"
            + (f" with a row near {offset:g}" if offset else "") + ", generator=<seeded>)")
    case = h.Case("sample_counts", {"logits": h.enc(z_t), "tile": TILE, "repeats": REPEATS,
                                    "seed": int(rng.integers(0, 2**31))}, judge=lambda o: None, call=call)

    def judge(o):
        _raised(o, call, _sample_errors(offset > 0))
        _expect_actions(None if o["type"] == "Tensor" else o.get("first"), o["dtype"], o["shape"], k * TILE, call)
        if "out_of_range" in o:
            lo, hi = o["out_of_range"]
            raise h.fail(f"{call} returned actions from {lo} to {hi}", f"Actions lie in [0, {a - 1}].")
        counts = np.asarray(o["counts"], dtype=np.float64)
        if not _stats.consistent(counts, probs, P_FAIL):
            freq = counts / counts.sum(axis=1, keepdims=True)
            what = (f"{call}: action frequencies {np.round(freq, 3).tolist()}, expected softmax(logits) "
                    f"{np.round(probs, 3).tolist()}")
            m = _named_by_distribution(case, counts, probs)
            if m is not None:
                raise h.named(m.id, what)
            raise h.fail(what + "; a chi-square (likelihood-ratio) test rejects them",
                         "Draw each row's action from softmax(logits), e.g. "
                         "torch.multinomial(torch.softmax(logits, -1), 1, generator=generator).")
        if not o["same_seed_equal"]:
            raise h.named("categorical_sample/generator_ignored",
                          f"{call}: two generators seeded alike gave different actions")
        if not o["other_seed_differs"]:
            raise h.named("categorical_sample/fixed_seed", f"{call}: different seeds gave the same actions")
        error = o["default_generator_error"]
        if error:
            what = f"categorical_sample(logits) without a generator raised {error}"
            if "required positional argument" in error:
                raise h.named("categorical_sample/generator_required", what)
            raise h.fail(what, "generator=None must use torch's global random numbers.")
    case.judge = judge
    return h.with_kind(case, kind)


@h.exercise("categorical_sample")
def categorical_sample(rng: np.random.Generator) -> list[h.Case]:
    cases = [_counts_case(rng, "float64", torch.float64, [2.0, 0.8, -0.4, -1.6], 3, 0.0),
             _counts_case(rng, "float32", torch.float32, [1.6, 0.0, -1.6], 2, 100.0)]
    a = int(rng.integers(3, 6))
    z1 = torch.tensor(rng.uniform(-2, 2, (1, a)), dtype=torch.float32)
    call = f"categorical_sample(logits (1, {a}), generator=<seeded>)"

    def judge_one(o):
        _raised(o, call, _sample_errors(False))
        out = o["out"]
        tensor = isinstance(out, dict) and "__tensor__" in out
        _expect_actions(None if tensor else out, out.get("dtype") if tensor else "", out.get("shape") if tensor else [],
                        1, call)
        action = float(h.obs_array(out).reshape(-1)[0])
        if not 0 <= action < a:
            raise h.fail(f"{call} returned the action {action:g}", f"Actions lie in [0, {a - 1}].")
    generator = {"__generator__": int(rng.integers(1000))}
    cases.append(h.with_kind(h.call_case("categorical_sample", [z1], {"generator": generator}, judge=judge_one,
                                 probe="call_or_error", desc=f"logits (1, {a}), generator=<seeded>"),
                       "batch of one"))
    return cases


# ------------------------------------------------------------------ gaussian_log_prob
def gauss(x: np.ndarray, mu: np.ndarray, log_std: np.ndarray) -> np.ndarray:
    """The diagonal Gaussian log-density summed over the last axis, in float64."""
    z = (x - mu) * np.exp(-log_std)
    per_dim = -0.5 * z**2 - log_std - 0.5 * math.log(2 * math.pi)
    return np.broadcast_to(per_dim, np.broadcast_shapes(x.shape, per_dim.shape)).sum(-1)


@h.exercise("gaussian_log_prob")
def gaussian_log_prob(rng: np.random.Generator) -> list[h.Case]:
    cases = []
    # (kind, N, d, mu of shape (N, d)?, log_std of shape (N, d)?, dtype); the first has d >= 2
    specs = [("float64", int(rng.integers(3, 8)), int(rng.integers(2, 5)), True, False, torch.float64),
             ("float32", int(rng.integers(3, 8)), int(rng.integers(1, 4)), True, False, torch.float32),
             ("log_std (N, d)", int(rng.integers(3, 8)), int(rng.integers(1, 4)), True, True, torch.float64),
             ("mu (d,)", int(rng.integers(3, 8)), int(rng.integers(2, 4)), False, True, torch.float32),
             ("batch of one", 1, int(rng.integers(2, 4)), True, False, torch.float64)]
    for kind, n, d, mu_rows, ls_rows, dtype in specs:
        x_t = torch.tensor(rng.normal(0, 1.5, (n, d)), dtype=dtype)
        mu_t = torch.tensor(rng.normal(0, 1, (n, d) if mu_rows else (d,)), dtype=dtype)
        ls = rng.uniform(-1.5, 0.7, (n, d) if ls_rows else (d,))
        ls[..., 0] = -abs(ls[..., 0]) - 0.2  # a negative log_std: sigma < 1
        ls_t = torch.tensor(ls, dtype=dtype)
        x, mu, log_std = (t.numpy().astype(np.float64) for t in (x_t, mu_t, ls_t))
        expected = gauss(x, mu, log_std)
        call = (f"gaussian_log_prob(x {tuple(x.shape)}, mu {tuple(mu.shape)}, log_std "
                f"{tuple(log_std.shape)}) in {dtype}")

        def judge(o, expected=expected, call=call, dtype=dtype):
            _raised(o, call)
            got = h.obs_array(o["out"])
            finite = got is None or bool(np.all(np.isfinite(got)))
            h.expect_close(o["out"], expected, call, **_tol(dtype),
                           hint="sum_i [-0.5 ((x_i - mu_i) / sigma_i)^2 - log sigma_i - 0.5 log(2 pi)], one "
                                "number per row." if finite else
                           "log_std is log(sigma) and may be negative: sigma = exp(log_std) > 0.")
            _expect_dtype(o["out"], dtype, call)
        cases.append(h.with_kind(h.call_case("gaussian_log_prob", [x_t, mu_t, ls_t], judge=judge, probe="call_or_error",
                                     desc=f"x {tuple(x.shape)}, mu {tuple(mu.shape)}, log_std "
                                          f"{tuple(log_std.shape)}"), kind))
    return cases
