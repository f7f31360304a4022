"""Hidden tests of lesson 08: GAE, the PPO-clip loss, entropy, explained variance, approximate KL.

Fresh random inputs of every kind the contract admits (``rlcore/catalog/lesson08.py`` lists
them and the named mistakes); the judges compare with the reference, and a failure is
named by the catalogued wrong implementation that behaves the same (``judge_case``).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from rlcore import ac_math

from . import Case, call_case, exercise, expect_close, fail, kind_of, obs_array, per_kind


def _is_float(o) -> bool:
    """An observed Python float or numpy scalar (not a Tensor, not an array)."""
    return isinstance(o, (int, float)) and not isinstance(o, bool) or (isinstance(o, dict) and "__np__" in o)


def _number(o) -> float:
    return float(o["__np__"]) if isinstance(o, dict) else float(o)


# ------------------------------------------------------------------------------ gae_advantages
@exercise("gae_advantages")
@per_kind(["bool dones", "float dones", "batch of one", "list", "int", "lam 0", "lam 1"])
def gae_advantages(rng: np.random.Generator, kind: str) -> Case:
    T = int(rng.integers(6, 13))
    N = 1 if kind == "batch of one" else int(rng.integers(2, 5))
    if kind == "int":
        r = rng.integers(-2, 4, size=(T, N)).astype(np.int64)
        v = rng.integers(-3, 4, size=(T, N)).astype(np.int64)
    else:
        r = np.round(rng.normal(0.5, 1.0, size=(T, N)), 3)
        v = np.round(rng.normal(0.0, 1.5, size=(T, N)), 3)
    d = rng.random((T, N)) < 0.2
    d[int(rng.integers(1, T - 2)), 0] = True  # an episode ends inside the batch
    d[-1, 0] = False  # ...and env 0's next episode runs past its end
    if N > 1:
        d[:, -1] = False  # one env whose episode runs through the whole batch
    last = np.round(rng.normal(1.0, 2.0, size=N), 3)
    last[np.abs(last) < 0.3] += 1.0  # a bootstrap that shows
    gamma = float(np.round(rng.uniform(0.8, 0.99), 3))
    lam = {"lam 0": 0.0, "lam 1": 1.0}.get(kind, float(np.round(rng.uniform(0.5, 0.95), 3)))
    adv, ret = ac_math.gae_advantages(r, v, d, last, gamma, lam)
    if kind == "list":
        args = [r.tolist(), v.tolist(), d.tolist(), last.tolist(), gamma, lam]
    elif kind == "float dones":
        args = [r, v, d.astype(np.float64), last, gamma, lam]
    else:
        args = [r, v, d, last, gamma, lam]

    def judge(o, adv=adv, ret=ret, T=T, N=N, gamma=gamma, lam=lam, kind=kind):
        call = (f"gae_advantages(rewards, values, dones of shape ({T}, {N}), last_values of shape "
                f"({N},), gamma={gamma}, lam={lam})" + (f" [{kind}]" if kind in ("list", "int") else ""))
        out = o["out"]
        pair = out.get("__tuple__") if isinstance(out, dict) else out if isinstance(out, list) else None
        if pair is None or len(pair) != 2:
            raise fail(f"{call} returned {kind_of(out)}, expected a pair (advantages, returns)",
                       "End with `return advantages, returns`.")
        expect_close(pair[0], adv, call + ": the advantages",
                     hint="A_t = delta_t + gamma lam (1 - d_t) A_{t+1}, A_T = 0, "
                          "delta_t = r_t + gamma (1 - d_t) V_{t+1} - V_t, V_T = last_values.")
        expect_close(pair[1], ret, call + ": the returns", hint="returns = advantages + values.")
        for part, label in ((pair[0], "advantages"), (pair[1], "returns")):
            dtype = part.get("dtype", "") if isinstance(part, dict) else ""
            if not (isinstance(part, dict) and "__nd__" in part and dtype.startswith("float")):
                raise fail(f"{call} returned {label} as {kind_of(part)} of dtype {dtype or '?'}, "
                           "expected a float64 numpy array")
    return call_case("gae_advantages", args, judge=judge,
                     desc=f"<({T}, {N}) batch>, gamma={gamma}, lam={lam}")


# ------------------------------------------------------------------------------ ppo_clip_loss
@exercise("ppo_clip_loss")
@per_kind([("float32", torch.float32), ("float64", torch.float64), ("batch of one", torch.float32),
           ("logp_old requires grad", torch.float32), ("explicit clip_ratio", torch.float64)])
def ppo_clip_loss(rng: np.random.Generator, kind: str, dtype: torch.dtype) -> Case:
    n = 1 if kind == "batch of one" else int(rng.integers(6, 31))
    eps = float(np.round(rng.uniform(0.1, 0.3), 3)) if kind == "explicit clip_ratio" else 0.2
    old = np.round(np.log(rng.uniform(0.05, 0.9, size=n)), 4)
    ratio = rng.uniform(0.5, 1.6, size=n)
    adv = np.round(rng.normal(0.0, 1.5, size=n), 4)
    if n >= 4:  # both sides of the clip range, with advantages of both signs
        ratio[:4] = [1.45, 0.6, 1.5, 0.55]
        adv[:4] = [abs(adv[0]) + 0.3, -abs(adv[1]) - 0.3, -abs(adv[2]) - 0.3, abs(adv[3]) + 0.3]
    else:
        ratio[:], adv[:] = 1.4, abs(adv) + 0.5  # clipped: no gradient at all
    new = np.round(old + np.log(ratio), 4)
    logp = torch.tensor(new, dtype=dtype).requires_grad_(True)
    grad_old = kind == "logp_old requires grad"
    logp_old = torch.tensor(old, dtype=dtype).requires_grad_(grad_old)
    advantages = torch.tensor(adv, dtype=dtype).requires_grad_(grad_old)
    ref_logp = torch.tensor(new, dtype=torch.float64, requires_grad=True)
    ref = ac_math.ppo_clip_loss(ref_logp, torch.tensor(old, dtype=torch.float64),
                                torch.tensor(adv, dtype=torch.float64), eps)
    ref.backward()
    expected, expected_grad = float(ref.detach()), ref_logp.grad.numpy().copy()
    args = [logp, logp_old, advantages] + ([eps] if kind == "explicit clip_ratio" else [])
    call = (f"ppo_clip_loss(logp=<Tensor ({n},) requiring grad>, logp_old=<Tensor ({n},)"
            f"{' requiring grad' if grad_old else ''}>, advantages=<Tensor ({n},)>"
            + (f", clip_ratio={eps}" if kind == "explicit clip_ratio" else "") + ")")

    def judge(o, expected=expected, expected_grad=expected_grad, call=call, dtype=dtype):
        out = o["out"]
        if not (isinstance(out, dict) and "__tensor__" in out):
            raise fail(f"{call} returned {kind_of(out)}, expected a Tensor",
                       "Return the loss Tensor itself (no .item()), so its gradient can flow.")
        expect_close(out, expected, call, scalar=True,
                     hint="L = -mean(min(rho A, clip(rho, 1 - eps, 1 + eps) A)), rho = exp(logp - logp_old).")
        if not out.get("grad_fn") or o["grads"][0] is None:
            raise fail(f"{call} returned a loss that does not depend on logp's graph",
                       "Keep logp in the computation (no .detach() on it).")
        expect_close(o["grads"][0], expected_grad, f"the gradient of {call} with respect to logp",
                     hint="clipped samples get no gradient; the others -rho A / N.", rtol=1e-4)
        for k, name in ((1, "logp_old"), (2, "advantages")):
            g = obs_array(o["grads"][k]) if o["grads"][k] is not None else None
            if g is not None and np.abs(g).sum() > 0:
                raise fail(f"the loss of {call} sends a gradient into {name}",
                           f"{name} is a constant of the batch: .detach() it.")
        name = str(dtype).replace("torch.", "")
        if out.get("dtype") != name:
            raise fail(f"{call} returned a {out.get('dtype')} Tensor, expected {name}",
                       "Keep the inputs' dtype.")
    return call_case("ppo_clip_loss", args, judge=judge, backward=True,
                     desc=f"<logp ({n},)>, <logp_old ({n},)>, <advantages ({n},)>")


# ------------------------------------------------------------------------------ categorical_entropy
@exercise("categorical_entropy")
@per_kind([("float32", torch.float32), ("float64", torch.float64),
           ("huge logits", torch.float64), ("batch of one", torch.float32)])
def categorical_entropy(rng: np.random.Generator, kind: str, dtype: torch.dtype) -> Case:
    A = int(rng.integers(2, 7))
    N = 1 if kind == "batch of one" else int(rng.integers(2, 10))
    if N == A:
        N += 1
    scale = 1e4 if kind == "huge logits" else 1.5
    x = np.round(rng.normal(0.0, scale, size=(N, A)), 3)
    if kind == "huge logits":
        x[0, 0] = 1e4  # one row certainly nearly one-hot, one probability underflowing to 0
        x[0, 1:] = np.minimum(x[0, 1:], 0.0)
    logits = torch.tensor(x, dtype=dtype).requires_grad_(True)
    expected = ac_math.categorical_entropy(torch.tensor(x, dtype=torch.float64)).numpy()
    call = f"categorical_entropy(<logits ({N}, {A}) {str(dtype).replace('torch.', '')}" + (
        ", magnitude up to 1e4" if kind == "huge logits" else "") + ">)"

    def judge(o, expected=expected, call=call, dtype=dtype, huge=kind == "huge logits"):
        out = o["out"]
        if not (isinstance(out, dict) and "__tensor__" in out):
            raise fail(f"{call} returned {kind_of(out)}, expected a Tensor of shape ({len(expected)},)")
        got = obs_array(out)
        if huge and got is not None and got.shape == expected.shape and not np.isfinite(got).all():
            raise fail(f"{call} returned non-finite entropies {got}",
                       "Use torch.log_softmax: it stays finite where a probability underflows to 0.")
        expect_close(out, expected, call, rtol=1e-5, atol=1e-5,
                     hint="H = -sum_a pi(a) log pi(a) for each row, in nats.")
        if not out.get("grad_fn"):
            raise fail(f"{call} returned entropies with no graph to the logits",
                       "The entropy bonus needs the gradient: do not .detach() the logits.")
        name = str(dtype).replace("torch.", "")
        if out.get("dtype") != name:
            raise fail(f"{call} returned a {out.get('dtype')} Tensor, expected {name}",
                       "Keep the logits' dtype.")
    return call_case("categorical_entropy", [logits], judge=judge,
                     desc=f"<logits ({N}, {A})>")


# ------------------------------------------------------------------------------ explained_variance
@exercise("explained_variance")
@per_kind(("array", "Tensor", "list", "constant returns", "2-D"))
def explained_variance(rng: np.random.Generator, kind: str) -> Case:
    n = int(rng.integers(8, 41))
    shape = (int(rng.integers(3, 7)), int(rng.integers(2, 5))) if kind == "2-D" else (n,)
    values = np.round(rng.normal(0.0, 2.0, size=shape), 4)
    offset = float(rng.choice([-1, 1]) * rng.uniform(0.5, 1.5))  # residuals with a non-zero mean
    returns = np.round(values + offset + rng.normal(0.0, 1.0, size=shape), 4)
    if kind == "constant returns":
        # a multiple of 1/4: the mean is exact, so every way of computing Var gives exactly 0
        returns = np.full(shape, float(rng.integers(-12, 13)) / 4)
    expected = ac_math.explained_variance(values, returns)
    if kind == "Tensor":
        args = [torch.tensor(values, dtype=torch.float32), torch.tensor(returns, dtype=torch.float32)]
    elif kind == "list":
        args = [values.tolist(), returns.tolist()]
    else:
        args = [values, returns]
    call = f"explained_variance(<values {shape}>, <returns {shape}{', all equal' if kind == 'constant returns' else ''}>)"

    def judge(o, expected=expected, call=call, tensor=kind == "Tensor"):
        out = o["out"]
        if not _is_float(out):
            raise fail(f"{call} returned {kind_of(out)}, expected a Python float",
                       "Return float(...) of the result.")
        got = _number(out)
        if math.isnan(expected):
            if not math.isnan(got):
                raise fail(f"{call} returned {got}, expected nan (Var[returns] is 0)",
                           "Return float('nan') when the returns do not vary.")
            return
        expect_close(got, expected, call, rtol=1e-4 if tensor else 1e-5, atol=1e-5,
                     hint="1 - Var[returns - values] / Var[returns], population variances.")
    return call_case("explained_variance", args, judge=judge,
                     desc=f"<values {shape}>, <returns {shape}>")


# ------------------------------------------------------------------------------ approx_kl
@exercise("approx_kl")
@per_kind(("array", "Tensor", "list", "identical policies"))
def approx_kl(rng: np.random.Generator, kind: str) -> Case:
    n = int(rng.integers(8, 41))
    old = np.round(np.log(rng.uniform(0.05, 0.9, size=n)), 4)
    ratio = rng.uniform(0.4, 2.2, size=n)
    new = old.copy() if kind == "identical policies" else np.round(old + np.log(ratio), 4)
    expected = ac_math.approx_kl(new, old)
    if kind == "Tensor":
        args = [torch.tensor(new, dtype=torch.float32).requires_grad_(True),
                torch.tensor(old, dtype=torch.float32)]
    elif kind == "list":
        args = [new.tolist(), old.tolist()]
    else:
        args = [new, old]
    call = f"approx_kl(<logp ({n},)>, <logp_old ({n},)>)" + (" [Tensors]" if kind == "Tensor" else "")

    def judge(o, expected=expected, call=call, tensor=kind == "Tensor"):
        out = o["out"]
        if not _is_float(out):
            raise fail(f"{call} returned {kind_of(out)}, expected a Python float",
                       "Return float(...) of the mean.")
        expect_close(_number(out), expected, call, rtol=1e-4 if tensor else 1e-5, atol=1e-5,
                     hint="mean((rho - 1) - log rho), rho = exp(logp - logp_old).")
    return call_case("approx_kl", args, judge=judge, desc=f"<logp ({n},)>, <logp_old ({n},)>")
