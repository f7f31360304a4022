"""Hidden tests of lesson 09: the pieces of DDPG, TD3 and SAC.

Fresh random inputs of every kind the contract admits (``rlcore/catalog/lesson09.py`` lists
them and the named mistakes). The judges compare with the reference (computed here in
float64) and say what happened; a failure is named by the catalogued wrong implementation
that behaves the same (``judge_case``).
"""

from __future__ import annotations

import numpy as np
import torch

from rlcore import continuous

from . import Case, call_case, exercise, expect_close, fail, kind_of, obs_array, per_kind


def _tensor_out(o: dict, call: str, hint: str = "Return a torch Tensor.") -> dict:
    if "error" in o:
        raise fail(f"{call} raised {o['error']}", "Read the error above.")
    out = o["out"]
    if not (isinstance(out, dict) and "__tensor__" in out):
        raise fail(f"{call} returned {kind_of(out)}, expected a Tensor", hint)
    return out


def _name(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


# --------------------------------------------------------------------------- squashed_gaussian_log_prob
@exercise("squashed_gaussian_log_prob")
@per_kind([("float32", torch.float32, "d"), ("float64", torch.float64, "Nd"),
           ("log_std (d,)", torch.float32, "d"), ("log_std (N, d)", torch.float32, "Nd"),
           ("large |u|", torch.float32, "d")])
def squashed_gaussian_log_prob(rng: np.random.Generator, kind: str, dtype: torch.dtype, std_shape: str) -> Case:
    n, d = int(rng.integers(3, 13)), int(rng.integers(1, 4))
    mu = np.round(rng.normal(0, 1.0, size=(n, d)), 3)
    log_std = np.round(rng.uniform(-1.5, 0.5, size=(d,) if std_shape == "d" else (n, d)), 3)
    u = np.round(mu + np.exp(log_std) * rng.normal(size=(n, d)), 3)
    u[0, 0] = abs(u[0, 0]) + 1.5  # a sample far enough out that the correction matters
    if kind == "large |u|":  # tanh(u) rounds to 1 in float32 beyond |u| of about 9
        big = rng.uniform(10.0, 15.0, size=max(1, n // 2)) * rng.choice([-1.0, 1.0], size=max(1, n // 2))
        u[: len(big), 0] = np.round(big, 3)
        mu[: len(big), 0] = np.round(big - rng.normal(0, 0.5, size=len(big)), 3)
    ut = torch.tensor(u, dtype=dtype).requires_grad_(True)
    mut = torch.tensor(mu, dtype=dtype).requires_grad_(True)
    lst = torch.tensor(log_std, dtype=dtype).requires_grad_(True)
    u64 = torch.tensor(u, dtype=torch.float64).requires_grad_(True)
    mu64 = torch.tensor(mu, dtype=torch.float64).requires_grad_(True)
    ls64 = torch.tensor(log_std, dtype=torch.float64).requires_grad_(True)
    ref = continuous.squashed_gaussian_log_prob(u64, mu64, ls64)
    ref.sum().backward()
    expected = ref.detach().numpy()
    grads = [u64.grad.numpy(), mu64.grad.numpy(), ls64.grad.numpy()]
    desc = (f"u ({n}, {d}), mu ({n}, {d}), log_std {tuple(log_std.shape)}, {_name(dtype)}, requiring grad"
            + (", some |u| in [10, 15]" if kind == "large |u|" else ""))
    call = f"squashed_gaussian_log_prob({desc})"
    tol = dict(rtol=1e-5, atol=1e-4) if dtype == torch.float32 else dict(rtol=1e-5, atol=1e-6)

    dname = _name(dtype)
    def judge(o, expected=expected, grads=grads, call=call, dtype=dname, tol=tol):
        out = _tensor_out(o, call)
        got = obs_array(out)
        if got is not None and got.shape == expected.shape and not np.isfinite(got).all():
            raise fail(f"{call} returned non-finite values {got[~np.isfinite(got)][:3]}",
                       "log pi must stay finite for every finite u, also where tanh(u) rounds to 1.")
        expect_close(out, expected, call, hint="log N(u; mu, sigma^2) - sum_i log(1 - tanh(u_i)^2), "
                     "summed over the last axis.", **tol)
        if out["dtype"] != dtype:
            raise fail(f"{call} returned a {out['dtype']} Tensor, expected {dtype}", "Keep u's dtype.")
        for what, g, want in zip(("u", "mu", "log_std"), o["grads"], grads):
            if g is None:
                raise fail(f"{call}: no gradient reached {what}",
                           "Compute with torch operations on the Tensors themselves (no .detach()).")
            expect_close(g, want, f"the gradient of {call} with respect to {what}",
                         hint="compute log pi with torch operations on u, mu and log_std.",
                         rtol=1e-4, atol=1e-4)
    return call_case("squashed_gaussian_log_prob", [ut, mut, lst], judge=judge,
                     probe="call_or_error", backward=True, desc=desc)


# --------------------------------------------------------------------------- smoothed_target_actions
@exercise("smoothed_target_actions")
@per_kind([("float bounds", torch.float32), ("(d,) bounds", torch.float64), ("float32", torch.float32),
           ("float64", torch.float64), ("batch of one", torch.float32)])
def smoothed_target_actions(rng: np.random.Generator, kind: str, dtype: torch.dtype) -> Case:
    b = 1 if kind == "batch of one" else int(rng.integers(4, 21))
    d = int(rng.integers(2, 4)) if kind == "(d,) bounds" else int(rng.integers(1, 4))
    if kind == "(d,) bounds":
        high = np.round(rng.uniform(0.5, 3.0, size=d), 2)
        low = -np.round(high * rng.uniform(0.5, 1.5, size=d), 2)
    else:
        h = float(np.round(rng.uniform(0.5, 3.0), 2))
        low, high = -h, h
    lo_arr, hi_arr = np.broadcast_to(low, (d,)), np.broadcast_to(high, (d,))
    c = float(np.round(rng.uniform(0.1, 0.4) * float(np.min(hi_arr - lo_arr)) / 2, 3))
    actions = rng.uniform(lo_arr, hi_arr, size=(b, d))
    noise = rng.normal(0, 2 * c, size=(b, d))
    # every behaviour shows: a noise above +c, one below -c, an action pushed past each bound
    noise[0, 0] = 2.5 * c
    actions[0, 0] = hi_arr[0] - 0.5 * c  # + clipped noise c: past the upper bound
    if b > 1:
        noise[1, 0] = -2.5 * c
        actions[1, 0] = lo_arr[0] + 0.5 * c
    if b > 2:
        noise[2, -1] = 0.3 * c
        actions[2, -1] = 0.0
    if b > 3:  # a noise draw larger than the whole action range (clipping it to the bounds is wrong)
        actions[3, 0] = 0.6 * hi_arr[0]
        noise[3, 0] = lo_arr[0] - hi_arr[0] - 0.3
    actions, noise = np.round(actions, 3), np.round(noise, 3)
    expected = np.clip(actions + np.clip(noise, -c, c), lo_arr, hi_arr)
    lo_arg = torch.tensor(low, dtype=dtype) if kind == "(d,) bounds" else low
    hi_arg = torch.tensor(high, dtype=dtype) if kind == "(d,) bounds" else high
    desc = (f"actions ({b}, {d}) {_name(dtype)}, noise ({b}, {d}), noise_clip={c}, "
            + (f"low={np.round(low, 2).tolist()}, high={np.round(high, 2).tolist()} (Tensors)"
               if kind == "(d,) bounds" else f"low={low}, high={high}"))
    call = f"smoothed_target_actions({desc})"

    dname = _name(dtype)
    def judge(o, expected=expected, call=call, dtype=dname):
        out = _tensor_out(o, call)
        expect_close(out, expected, call, hint="clip(actions + clip(noise, -noise_clip, noise_clip), "
                     "low, high).", rtol=1e-5, atol=1e-5)
        if out["dtype"] != dtype:
            raise fail(f"{call} returned a {out['dtype']} Tensor, expected {dtype}",
                       "Keep the actions' dtype.")
    return call_case("smoothed_target_actions",
                     [torch.tensor(actions, dtype=dtype), torch.tensor(noise, dtype=dtype),
                      c, lo_arg, hi_arg],
                     judge=judge, probe="call_or_error", desc=desc)


# --------------------------------------------------------------------------- targets
TARGET_PLANS = [("bool dones", torch.float32, True), ("float dones", torch.float32, True),
                ("float64", torch.float64, True), ("float32", torch.float32, False),
                ("batch of one", torch.float32, True)]


def _target_case(name: str, rng: np.random.Generator, kind: str, dtype: torch.dtype, grad: bool,
                 entropy: bool) -> Case:
    b = 1 if kind == "batch of one" else int(rng.integers(5, 31))
    r = np.round(rng.normal(size=b), 3)
    q1 = np.round(rng.normal(2.0, 1.0, size=b), 3)
    q2 = np.round(rng.normal(2.0, 1.0, size=b), 3)
    if b > 1:  # each critic is the smaller one somewhere
        q1[0], q2[0] = q2[0] - 0.7, q2[0]
        q1[1], q2[1] = q1[1], q1[1] - 0.9
    else:
        q1[0], q2[0] = q1[0], q1[0] + 0.8
    d = rng.random(b) < 0.4
    if b > 1:
        d[0], d[-1] = False, True
    gamma = float(np.round(rng.uniform(0.5, 0.99), 3))
    bool_dones = kind in ("bool dones", "float64", "batch of one", "Tensor alpha")
    dones = torch.tensor(d) if bool_dones else torch.tensor(d.astype(np.float32))
    args = [torch.tensor(r, dtype=dtype), torch.tensor(q1, dtype=dtype).requires_grad_(grad),
            torch.tensor(q2, dtype=dtype).requires_grad_(grad)]
    desc = (f"rewards ({b},) {_name(dtype)}, next_q1/next_q2 ({b},){' requiring grad' if grad else ''}, ")
    if entropy:
        logp = np.round(rng.uniform(-3.0, 2.0, size=b), 3)
        alpha = float(np.round(rng.uniform(0.05, 0.8), 3))
        alpha_arg = (torch.tensor(alpha, dtype=dtype).requires_grad_(True)
                     if kind in ("Tensor alpha", "float32", "bool dones") else alpha)
        args += [torch.tensor(logp, dtype=dtype).requires_grad_(grad), dones, gamma, alpha_arg]
        expected = r + gamma * (1 - d) * (np.minimum(q1, q2) - alpha * logp)
        desc += (f"next_logp ({b},), dones ({b},) {'bool' if bool_dones else 'float'}, gamma={gamma}, "
                 f"alpha={alpha}" + (" (a 0-dim Tensor requiring grad)" if isinstance(alpha_arg, torch.Tensor)
                                      else ""))
        hint = "y = r + gamma * (1 - done) * (min(next_q1, next_q2) - alpha * next_logp)."
    else:
        args += [dones, gamma]
        expected = r + gamma * (1 - d) * np.minimum(q1, q2)
        desc += f"dones ({b},) {'bool' if bool_dones else 'float'}, gamma={gamma}"
        hint = "y = r + gamma * (1 - done) * min(next_q1, next_q2)."
    call = f"{name}({desc})"

    dname = _name(dtype)
    def judge(o, expected=expected, call=call, dtype=dname, hint=hint):
        out = _tensor_out(o, call, "Return a torch Tensor of shape (B,).")
        expect_close(out, expected, call, rtol=1e-5, atol=1e-5, hint=hint)
        if out.get("requires_grad"):
            raise fail(f"{call} returned targets that require grad", "The target is a constant.")
        if out["dtype"] != dtype:
            raise fail(f"{call} returned a {out['dtype']} Tensor, expected {dtype}",
                       "Keep the inputs' dtype.")
    return call_case(name, args, judge=judge, probe="call_or_error", desc=desc)


@exercise("clipped_double_q_targets")
@per_kind(TARGET_PLANS)
def clipped_double_q_targets(rng: np.random.Generator, kind: str, dtype: torch.dtype, grad: bool) -> Case:
    return _target_case("clipped_double_q_targets", rng, kind, dtype, grad, entropy=False)


@exercise("sac_targets")
@per_kind([*TARGET_PLANS, ("float alpha", torch.float64, True), ("Tensor alpha", torch.float32, True)])
def sac_targets(rng: np.random.Generator, kind: str, dtype: torch.dtype, grad: bool) -> Case:
    return _target_case("sac_targets", rng, kind, dtype, grad, entropy=True)


# --------------------------------------------------------------------------- sac_policy_loss
@exercise("sac_policy_loss")
@per_kind([("Tensor alpha", torch.float32), ("float alpha", torch.float32), ("float32", torch.float32),
           ("float64", torch.float64), ("batch of one", torch.float32)])
def sac_policy_loss(rng: np.random.Generator, kind: str, dtype: torch.dtype) -> Case:
    b = 1 if kind == "batch of one" else int(rng.integers(4, 31))
    q1 = np.round(rng.normal(0, 2, size=b), 3)
    q2 = np.round(rng.normal(0, 2, size=b), 3)
    if b > 1:
        q1[0], q2[0] = q2[0] - 0.6, q2[0]
        q2[1], q1[1] = q1[1] - 0.6, q1[1]
    logp = np.round(rng.uniform(-3, 2, size=b), 3)
    alpha = float(np.round(rng.uniform(0.05, 0.8), 3))
    tensor_alpha = kind != "float alpha"
    alpha_arg = torch.tensor(alpha, dtype=dtype).requires_grad_(True) if tensor_alpha else alpha
    expected = float(np.mean(alpha * logp - np.minimum(q1, q2)))
    smaller1 = q1 < q2
    g_q1, g_q2 = np.where(smaller1, -1.0 / b, 0.0), np.where(smaller1, 0.0, -1.0 / b)
    g_logp = np.full(b, alpha / b)
    desc = (f"q1 ({b},), q2 ({b},), logp ({b},) {_name(dtype)} requiring grad, alpha={alpha}"
            + (" (a 0-dim Tensor requiring grad)" if tensor_alpha else ""))
    call = f"sac_policy_loss({desc})"

    def judge(o, expected=expected, grads=(g_q1, g_q2, g_logp), call=call, b=b, tensor_alpha=tensor_alpha):
        out = _tensor_out(o, call, "Return the loss Tensor itself (no .item()), so the gradient "
                          "can reach the actor.")
        got = obs_array(out)
        if got is None or got.size != 1:
            raise fail(f"{call} returned shape {tuple(out['shape'])}, expected a scalar",
                       "The loss is one number: the mean over the batch.")
        expect_close(out, expected, call, hint="loss = mean(alpha * logp - min(q1, q2)).", scalar=True)
        for what, g, want in zip(("q1", "q2", "logp"), o["grads"][:3], grads):
            if g is None and np.any(want != 0):
                raise fail(f"{call}: no gradient reached {what}", "Keep it in the computation.")
            expect_close(g if g is not None else np.zeros(b), want,
                         f"the gradient of {call} with respect to {what}",
                         hint="d loss / d logp = alpha / B; d loss / d q_i = -1/B where q_i is the smaller.",
                         rtol=1e-4, atol=1e-5)
        if tensor_alpha and o["grads"][3] is not None and abs(float(obs_array(o["grads"][3]))) > 0:
            raise fail(f"{call} sent a gradient into alpha", "alpha is a constant in the policy loss.")
    return call_case("sac_policy_loss",
                     [torch.tensor(q1, dtype=dtype).requires_grad_(True),
                      torch.tensor(q2, dtype=dtype).requires_grad_(True),
                      torch.tensor(logp, dtype=dtype).requires_grad_(True), alpha_arg],
                     judge=judge, probe="call_or_error", backward=True, desc=desc)


