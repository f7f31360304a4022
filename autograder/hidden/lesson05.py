"""Hidden tests of lesson 05: the policy-gradient loss, normalization, batched reward-to-go.

Fresh random inputs of every kind the contract admits (``rlcore/catalog/lesson05.py``
lists them and the named mistakes); the judges compare with the reference, and a failure
is named by the catalogued wrong implementation that behaves the same (``judge_case``).
"""

from __future__ import annotations

import numpy as np
import torch

from rlcore import pg_math
from rlcore import returns as R

from . import Case, call_case, exercise, expect_close, fail, kind_of, obs_array, with_kind


# ------------------------------------------------------------------------------ pg_loss
@exercise("pg_loss")
def pg_loss(rng: np.random.Generator) -> list[Case]:
    cases = []
    for n, dtype in [(int(rng.integers(5, 40)), torch.float32), (1, torch.float32),
                     (int(rng.integers(5, 20)), torch.float64)]:
        logp_np = np.round(np.log(rng.uniform(0.05, 1.0, size=n)), 4)
        w_np = np.round(rng.normal(0.5, 2.0, size=n), 4)
        logp = torch.tensor(logp_np, dtype=dtype).requires_grad_(True)
        weights = torch.tensor(w_np, dtype=dtype)
        call = f"pg_loss(logp=<Tensor ({n},) requiring grad>, weights=<Tensor ({n},)>)"

        def judge(o, lp=logp_np, w=w_np, call=call, n=n):
            out = o["out"]
            if not (isinstance(out, dict) and "__tensor__" in out):
                raise fail(f"{call} returned {kind_of(out)}, expected a Tensor",
                           "Return the Tensor itself (no .item(), float() or .numpy()) so the gradient "
                           "can reach the policy.")
            expect_close(out, -(lp * w).mean(), call, hint="L = -(1/N) sum_t logp_t * weights_t.",
                         scalar=True)
            if not out.get("grad_fn") or o["grads"][0] is None:
                raise fail(f"{call} returned a loss that does not depend on logp's graph",
                           "No gradient reaches the policy: did you .detach() logp, or rebuild the "
                           "value with torch.tensor(...)?")
            expect_close(o["grads"][0], -w / n, f"the gradient of {call} with respect to logp",
                         hint="dL/dlogp_t = -weights_t / N: is logp used exactly once, times its weight?",
                         rtol=1e-4)
        kind = "batch of one" if n == 1 else str(dtype).replace("torch.", "")
        cases.append(with_kind(call_case("pg_loss", [logp, weights], judge=judge, backward=True,
                                     desc=f"<logp ({n},)>, <weights ({n},)>"), kind))
    return cases


# ------------------------------------------------------------------------------ normalize
@exercise("normalize")
def normalize(rng: np.random.Generator) -> list[Case]:
    cases = []
    n = int(rng.integers(4, 9))  # small n: ddof=1 differs clearly
    x1 = np.round(rng.normal(rng.uniform(-5, 5), rng.uniform(0.5, 3), size=n), 4)
    x2 = np.round(rng.normal(2, 1.5, size=(int(rng.integers(3, 6)), int(rng.integers(2, 5)))), 4)
    x3 = np.round(rng.normal(0, 0.1, size=int(rng.integers(5, 12))), 4)
    eps3 = float(np.round(rng.uniform(0.03, 0.1), 3))
    ints = rng.integers(-5, 10, size=int(rng.integers(4, 9)))
    ints[0] = ints[1] + 3  # never constant
    const = np.full(int(rng.integers(3, 7)), float(np.round(rng.uniform(-3, 3), 2)))
    specs = [(x1, None, "float64"), (x2, None, "2-D"), (x3, eps3, "explicit eps"), (x1.tolist(), None, "list"),
             (ints, None, "int"), (const, None, "constant input")]
    for x, eps, kind in specs:
        xa = np.asarray(x, dtype=np.float64)
        e = 1e-8 if eps is None else eps

        def judge(o, xa=xa, e=e, eps=eps, kind=kind):
            what = "a list" if kind == "list" else "an integer array" if kind == "int" else "an array"
            call = f"normalize({what} of shape {xa.shape}" + ("" if eps is None else f", eps={eps}") + ")"
            expect_close(o["out"], (xa - xa.mean()) / (xa.std() + e), call,
                         hint="(x - mean) / (std + eps) over all elements, population std.")
        kwargs = {} if eps is None else {"eps": eps}
        cases.append(with_kind(call_case("normalize", [x], kwargs, judge=judge), kind))

    # A Tensor in gives a Tensor out (same dtype), computed with the population std.
    xt = np.round(rng.normal(1, 2, size=int(rng.integers(4, 8))), 4)
    for dtype in (torch.float32, torch.float64):
        def judge_t(o, xt=xt, dtype=dtype):
            name = str(dtype).replace("torch.", "")
            call = f"normalize(<Tensor of shape {xt.shape}, {name}>)"
            out = o["out"]
            if not (isinstance(out, dict) and "__tensor__" in out):
                raise fail(f"{call} returned {kind_of(out)}, expected a Tensor",
                           "A Tensor in gives a Tensor out (use x.mean() and x.std(correction=0), "
                           "not np.mean/np.std).")
            expect_close(out, pg_math.normalize(xt), call, rtol=1e-4, atol=1e-5,
                         hint="(x - mean) / (std + eps) over all elements, population std.")
            if out["dtype"] != name:
                raise fail(f"{call} returned a {out['dtype']} Tensor, expected {name}",
                           "Keep the input's dtype.")
        cases.append(with_kind(call_case("normalize", [torch.tensor(xt, dtype=dtype)], judge=judge_t),
                           str(dtype).replace("torch.", "")))
    return cases


# ------------------------------------------------------------------------------ batch_reward_to_go
@exercise("batch_reward_to_go")
def batch_reward_to_go(rng: np.random.Generator) -> list[Case]:
    cases = []
    plans = [("bool dones", None), ("float dones", float(np.round(rng.uniform(0.5, 0.95), 3))),
             ("batch of one", 1.0), ("list", float(np.round(rng.uniform(0.8, 0.99), 3))),
             ("int", float(np.round(rng.uniform(0.5, 0.95), 3)))]
    for kind, gamma in plans:
        T = int(rng.integers(6, 14))
        N = 1 if kind == "batch of one" else int(rng.integers(2, 5))
        if kind in ("list", "int"):  # CartPole-like integer rewards
            r = rng.integers(0, 3, size=(T, N)).astype(np.int64)
        else:
            r = np.round(rng.normal(0.5, 1.0, size=(T, N)), 3)
        d = rng.random((T, N)) < 0.25
        d[int(rng.integers(1, T - 1)), 0] = True  # every case has an episode end inside the batch
        if N > 1:
            d[:, -1] = False  # and one env whose episode runs past the batch end
        d[-1, 0] = False
        g = 1.0 if gamma is None else gamma
        expected = R.batch_reward_to_go(r.astype(np.float64), d, g)
        if kind == "list":
            args = [r.tolist(), d.tolist()]
        elif kind == "float dones":
            args = [r, d.astype(np.float64)]
        else:
            args = [r, d]
        if gamma is not None:
            args.append(gamma)

        def judge(o, expected=expected, T=T, N=N, gamma=gamma):
            call = (f"batch_reward_to_go(rewards of shape ({T}, {N}), dones of shape ({T}, {N})"
                    + ("" if gamma is None else f", gamma={gamma}") + ")")
            expect_close(o["out"], expected, call,
                         hint="G[t, i] = r[t, i] + gamma * (1 - dones[t, i]) * G[t + 1, i], G[T] = 0.")
            if not (isinstance(o["out"], dict) and "__nd__" in o["out"]):
                raise fail(f"{call} returned {kind_of(o['out'])}, expected a numpy array of shape "
                           f"({T}, {N})")
            if obs_array(o["out"]) is None or not o["out"]["dtype"].startswith("float"):
                raise fail(f"{call} returned an array of dtype {o['out']['dtype']}, expected float64")
        cases.append(with_kind(call_case("batch_reward_to_go", args, judge=judge), kind))
    return cases
