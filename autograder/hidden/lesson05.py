"""Hidden tests of lesson 05: the policy-gradient loss, normalization, batched reward-to-go.

Mistakes each test names (see docs/exercises/05.md):
pg_loss: sum instead of mean, missing minus sign, product of the means, no reduction
  (a vector), logp detached / .item() (no gradient reaches the policy), wrong gradient.
normalize: sample std (ddof=1, torch's default), eps inside the square root, eps ignored
  (nan on a constant input), no mean subtraction, per-column normalization of a 2-D
  input, a numpy array returned for a Tensor, a Tensor of another dtype.
batch_reward_to_go: dones ignored (returns leak across episodes), reset after adding
  instead of before (the done step's reward is lost to its episode), G_t without r_t
  (off by one), forward sums, discount measured from the batch start, gamma ignored,
  time and env axes swapped, an integer array for integer rewards.
"""

from __future__ import annotations

import numpy as np
import torch

from rlcore import returns as R

from . import Case, Mistake, call_case, exercise, expect_close, obs_array


# ------------------------------------------------------------------------------ pg_loss
@exercise("pg_loss")
def pg_loss(rng: np.random.Generator) -> list[Case]:
    cases = []
    for n, dtype in [(int(rng.integers(5, 40)), torch.float32), (int(rng.integers(2, 8)), torch.float32),
                     (int(rng.integers(5, 20)), torch.float64)]:
        logp_np = np.round(np.log(rng.uniform(0.05, 1.0, size=n)), 4)
        w_np = np.round(rng.normal(0.5, 2.0, size=n), 4)
        logp = torch.tensor(logp_np, dtype=dtype).requires_grad_(True)
        weights = torch.tensor(w_np, dtype=dtype)
        call = f"pg_loss(logp=<Tensor ({n},) requiring grad>, weights=<Tensor ({n},)>)"

        def judge(o, lp=logp_np, w=w_np, call=call, n=n):
            out = o["out"]
            if not (isinstance(out, dict) and "__tensor__" in out):
                raise Mistake(f"{call} returned {type(out).__name__ if not isinstance(out, dict) else 'a non-Tensor'}"
                              "; return the Tensor itself (no .item(), float() or .numpy()) so the "
                              "gradient can reach the policy.")
            got = obs_array(out)
            if got.size != 1:
                raise Mistake(f"{call} returned shape {tuple(got.shape)}; the loss must be one number: "
                              "reduce with .mean() over the batch.")
            expect_close(out, -(lp * w).mean(), call, {
                "you summed over the batch; L is the mean, -mean(logp * weights)": -(lp * w).sum(),
                "the minus sign is missing: minimizing L must ascend J, so L = -mean(logp * weights)":
                    (lp * w).mean(),
                "you multiplied the mean of logp by the mean of weights; average the products":
                    -(lp.mean() * w.mean()),
                "sum without the minus sign": (lp * w).sum(),
            }, hint="L = -(1/N) sum_t logp_t * weights_t.", scalar=True)
            if not out.get("grad_fn") or o["grads"][0] is None:
                raise Mistake(f"{call} returned a loss that does not depend on logp's graph (no "
                              "gradient reaches the policy): did you .detach() logp, or rebuild "
                              "the value with torch.tensor(...)?")
            expect_close(o["grads"][0], -w / n, f"the gradient of {call} with respect to logp", {
                "the gradient is not -weights / N; is logp used exactly once, multiplied by its weight?":
                    -w,
            }, hint="dL/dlogp_t = -weights_t / N.", rtol=1e-4)
        cases.append(call_case("pg_loss", [logp, weights], judge=judge, backward=True,
                               desc=f"<logp ({n},)>, <weights ({n},)>"))
    return cases


# ------------------------------------------------------------------------------ normalize
def _norm(x: np.ndarray, eps: float = 1e-8) -> np.ndarray:
    return (x - x.mean()) / (x.std() + eps)


def _normalize_mistakes(x: np.ndarray, eps: float) -> dict[str, np.ndarray]:
    m = {
        "you used the sample standard deviation (ddof=1, the default of torch.std): use the "
        "population std, np.std(x) or x.std(correction=0)": (x - x.mean()) / (x.std(ddof=1) + eps),
        "eps went inside the square root; add it to the standard deviation: (x - mean) / (std + eps)":
            (x - x.mean()) / np.sqrt(x.var() + eps),
        "the mean is not subtracted: (x - mean) / (std + eps)": x / (x.std() + eps),
        "you only subtracted the mean; also divide by (std + eps)": x - x.mean(),
    }
    if x.ndim == 2:
        m["you normalized each column separately; mean and std run over ALL elements"] = (
            (x - x.mean(0)) / (x.std(0) + eps))
        m["you normalized each row separately; mean and std run over ALL elements"] = (
            (x - x.mean(1, keepdims=True)) / (x.std(1, keepdims=True) + eps))
    return m


@exercise("normalize")
def normalize(rng: np.random.Generator) -> list[Case]:
    cases = []
    n = int(rng.integers(4, 9))  # small n: ddof=1 differs clearly
    x1 = np.round(rng.normal(rng.uniform(-5, 5), rng.uniform(0.5, 3), size=n), 4)
    x2 = np.round(rng.normal(2, 1.5, size=(int(rng.integers(3, 6)), int(rng.integers(2, 5)))), 4)
    x3 = np.round(rng.normal(0, 0.1, size=int(rng.integers(5, 12))), 4)
    eps3 = float(np.round(rng.uniform(0.03, 0.1), 3))
    specs = [(x1, None, "array"), (x2, None, "array"), (x3, eps3, "array"), (x1.tolist(), None, "list"),
             (np.full(int(rng.integers(3, 7)), float(np.round(rng.uniform(-3, 3), 2))), None, "array")]
    for x, eps, kind in specs:
        xa = np.asarray(x, dtype=np.float64)
        e = 1e-8 if eps is None else eps
        expected = _norm(xa, e)

        def judge(o, xa=xa, e=e, expected=expected, eps=eps, kind=kind):
            call = f"normalize({'a list' if kind == 'list' else 'an array'} of shape {xa.shape}" + (
                "" if eps is None else f", eps={eps}") + ")"
            got = obs_array(o["out"])
            if got is not None and got.shape == xa.shape and np.isnan(got).any() and xa.std() == 0:
                raise Mistake(f"{call} returned nan for a constant input: eps is missing, divide by "
                              "(std + eps) so the result is all zeros.")
            expect_close(o["out"], expected, call, _normalize_mistakes(xa, e),
                         hint="(x - mean) / (std + eps) over all elements, population std.")
        kwargs = {} if eps is None else {"eps": eps}
        cases.append(call_case("normalize", [x], kwargs, judge=judge))

    # A Tensor in gives a Tensor out (same dtype), computed with the population std.
    xt = np.round(rng.normal(1, 2, size=int(rng.integers(4, 8))), 4)
    for dtype in (torch.float32, torch.float64):
        t = torch.tensor(xt, dtype=dtype)

        def judge_t(o, xt=xt, dtype=dtype):
            call = f"normalize(<Tensor of shape {xt.shape}, {str(dtype).replace('torch.', '')}>)"
            out = o["out"]
            if not (isinstance(out, dict) and "__tensor__" in out):
                raise Mistake(f"{call} did not return a Tensor; a Tensor in gives a Tensor out "
                              "(use x.mean() and x.std(correction=0), not np.mean/np.std).")
            expect_close(out, _norm(xt), call, _normalize_mistakes(xt, 1e-8), rtol=1e-4, atol=1e-5,
                         hint="(x - mean) / (std + eps) over all elements, population std.")
            if out["dtype"] != str(dtype).replace("torch.", ""):
                raise Mistake(f"{call} returned a {out['dtype']} Tensor; keep the input's dtype.")
        cases.append(call_case("normalize", [t], judge=judge_t))
    return cases


# ------------------------------------------------------------------------------ batch_reward_to_go
def _loop(r: np.ndarray, d: np.ndarray, g: float, variant: str) -> np.ndarray:
    """Reward-to-go variants (the reference and realistic mistakes), time along axis 0."""
    T, N = r.shape
    out = np.zeros((T, N))
    running = np.zeros(N)
    for t in range(T - 1, -1, -1):
        if variant == "reset_after":
            running = r[t] + g * running
            out[t] = running
            running = np.where(d[t], 0.0, running)
        elif variant == "exclude_rt":
            running = np.where(d[t], 0.0, running)
            out[t] = running
            running = r[t] + g * running
        else:
            running = r[t] + g * (1.0 - d[t]) * running
            out[t] = running
    return out


def _from_batch_start(r: np.ndarray, d: np.ndarray, g: float) -> np.ndarray:
    T = r.shape[0]
    disc = (g ** np.arange(T))[:, None]
    return _loop(r * disc, d, 1.0, "ref")


def _forward(r: np.ndarray, d: np.ndarray, g: float) -> np.ndarray:
    out = np.zeros_like(r)
    running = np.zeros(r.shape[1])
    for t in range(r.shape[0]):
        running = r[t] + g * running
        out[t] = running
        running = np.where(d[t], 0.0, running)
    return out


@exercise("batch_reward_to_go")
def batch_reward_to_go(rng: np.random.Generator) -> list[Case]:
    cases = []
    plans = [("bool", None), ("float", float(np.round(rng.uniform(0.5, 0.95), 3))),
             ("bool", 1.0), ("list", float(np.round(rng.uniform(0.8, 0.99), 3)))]
    for kind, gamma in plans:
        T = int(rng.integers(6, 14))
        N = int(rng.integers(2, 5))
        if kind == "list":  # CartPole-like integer rewards given as lists
            r = np.ones((T, N), dtype=np.int64)
        else:
            r = np.round(rng.normal(0.5, 1.0, size=(T, N)), 3)
        d = rng.random((T, N)) < 0.25
        d[int(rng.integers(1, T - 1)), 0] = True  # every case has an episode end inside the batch
        d[:, -1] = False  # and one env whose episode runs past the batch end
        g = 1.0 if gamma is None else gamma
        rf = r.astype(np.float64)
        expected = R.batch_reward_to_go(rf, d, g)
        if kind == "list":
            args = [r.tolist(), d.tolist()]
        elif kind == "float":
            args = [r, d.astype(np.float64)]
        else:
            args = [r, d]
        if gamma is not None:
            args.append(gamma)

        def judge(o, rf=rf, d=d, g=g, expected=expected, T=T, N=N, kind=kind, gamma=gamma):
            call = (f"batch_reward_to_go(rewards of shape ({T}, {N}), dones of shape ({T}, {N})"
                    + ("" if gamma is None else f", gamma={gamma}") + ")")
            got = obs_array(o["out"])
            if got is not None and got.shape == (N, T) and T != N:
                raise Mistake(f"{call} returned shape {(N, T)}, expected {(T, N)}: time runs along "
                              "axis 0 (rows) and envs along axis 1; do not transpose.")
            mistakes = {
                "dones are ignored: the next episode's rewards leak into the one that ended; "
                "reset the running sum where dones[t] is True": R.batch_reward_to_go(rf, np.zeros_like(d), g),
                "you reset the running sum after adding r[t] at a done step: G[t] must be r[t] for the "
                "last step of an episode, G[t] = r[t] + gamma * (1 - dones[t]) * G[t + 1]":
                    _loop(rf, d, g, "reset_after"),
                "off by one: G[t] must include r[t] itself": _loop(rf, d, g, "exclude_rt"),
                "you summed forwards (rewards before t); G_t sums from t to the episode's end":
                    _forward(rf, d, g),
                "the discount is measured from the batch start; r_k is weighted by gamma**(k - t)":
                    _from_batch_start(rf, d, g),
                "gamma is ignored": R.batch_reward_to_go(rf, d, 1.0),
            }
            if kind == "list":
                mistakes["the result has an integer dtype (np.zeros_like of integer rewards?); use "
                         "a float64 array"] = np.floor(expected)
            expect_close(o["out"], expected, call, mistakes,
                         hint="G[t, i] = r[t, i] + gamma * (1 - dones[t, i]) * G[t + 1, i], G[T] = 0.")
            if not (isinstance(o["out"], dict) and "__nd__" in o["out"]):
                raise Mistake(f"{call} must return a numpy array of shape ({T}, {N}).")
        cases.append(call_case("batch_reward_to_go", args, judge=judge))
    return cases
