"""Visible checks for lesson 09: the pieces of DDPG, TD3 and SAC, on small hand-worked cases.

The mistakes it names are catalogued in ``rlcore/catalog/lesson09.py`` (see ``rlcore.check``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from ._core import Checker, check

__all__ = ["check_clipped_double_q_targets", "check_sac_policy_loss", "check_sac_targets",
           "check_smoothed_target_actions", "check_squashed_gaussian_log_prob"]

_LOG_2PI = math.log(2 * math.pi)


def _see(c: Checker, ok: bool, seen: str, wanted: str, hint: str, what: str = "") -> None:
    """One check of a behaviour, described in words: "{call} {seen}", "expected: {wanted}"."""
    __tracebackhide__ = True
    c.n += 1
    if not ok:
        c.fail(f"{c._call} {seen}\n  expected{f' ({what})' if what else ''}: {wanted}", hint=hint)


def _is_tensor(c: Checker, got: Any, hint: str = "return a torch Tensor.") -> None:
    __tracebackhide__ = True
    _see(c, isinstance(got, torch.Tensor), f"returned a {type(got).__name__}", "a Tensor", hint)


# ------------------------------------------------------------------------------ squashed_gaussian_log_prob
@check("squashed_gaussian_log_prob")
def check_squashed_gaussian_log_prob(c: Checker) -> None:
    """Check log pi(tanh(u)) = log N(u; mu, sigma^2) - sum log(1 - tanh(u)^2), including |u| = 12 in float32."""
    # u = mu: the Gaussian term is -log sigma - 0.5 log(2 pi) per dimension.
    u = torch.tensor([[0.0], [1.0]])
    mu = torch.tensor([[0.0], [1.0]])
    log_std = torch.tensor([0.0])
    got = c.call(u, mu, log_std)
    _is_tensor(c, got)
    gauss = -0.5 * _LOG_2PI
    expected = np.array([gauss, gauss - 2 * math.log(2 / (math.e + math.exp(-1)))])
    c.expect_close(got, expected,
                   "log pi(a|s) = gaussian_log_prob(u, mu, log_std) - sum_i log(1 - tanh(u_i)^2); "
                   "at u = 0 the correction is log 1 = 0.",
                   what="[-0.5 log(2 pi), -0.5 log(2 pi) - log(1 - tanh(1)^2)]")
    # Two dimensions, a per-row log_std: the sum runs over the last axis only.
    u = torch.tensor([[0.5, -0.5], [2.0, 0.0]], dtype=torch.float64)
    mu = torch.tensor([[0.0, 0.0], [1.0, 0.5]], dtype=torch.float64)
    log_std = torch.tensor([[0.0, -1.0], [0.5, 0.0]], dtype=torch.float64)
    got = c.call(u, mu, log_std)
    un, mn, ls = u.numpy(), mu.numpy(), log_std.numpy()
    gauss = (-0.5 * ((un - mn) / np.exp(ls)) ** 2 - ls - 0.5 * _LOG_2PI).sum(-1)
    expected = gauss - np.log(1 - np.tanh(un) ** 2).sum(-1)
    c.expect_close(got, expected, "sum both terms over the action dimensions (the last axis); "
                   "log_std may be (N, d).", what="two dimensions, float64")
    _see(c, getattr(got, "dtype", None) == torch.float64, f"returned dtype {getattr(got, 'dtype', '?')}",
         "torch.float64", "keep u's dtype (no .float()).", what="a float64 input")
    # float32 and |u| = 12: tanh(u) is exactly 1.0 there.
    u = torch.tensor([[12.0], [-12.0]])
    mu = torch.tensor([[11.0], [-11.0]])
    got = c.call(u, mu, torch.tensor([0.0]))
    exact = -0.5 - 0.5 * _LOG_2PI - 2 * (math.log(2) - 12 - math.log1p(math.exp(-24)))
    c.expect_close(got, np.array([exact, exact]), c.says("naive_log"), rtol=1e-5, atol=1e-4,
                   what="|u| = 12 in float32, where tanh(u) rounds to 1: log(1 - tanh^2) = -22.6")
    # the gradient reaches u, mu and log_std
    u = torch.tensor([[0.3, -0.2]], requires_grad=True)
    mu = torch.tensor([[0.1, 0.1]], requires_grad=True)
    log_std = torch.tensor([-0.5, 0.2], requires_grad=True)
    got = c.call(u, mu, log_std)
    _see(c, isinstance(got, torch.Tensor) and got.requires_grad, "returned a Tensor without gradient",
         "a result that carries the graph to u, mu and log_std",
         "compute with torch operations on the Tensors themselves (no .detach(), no numpy).")


# ------------------------------------------------------------------------------ smoothed_target_actions
@check("smoothed_target_actions")
def check_smoothed_target_actions(c: Checker) -> None:
    """Check clip(a' + clip(eps, -c, c), low, high) with float and per-dimension bounds."""
    actions = torch.tensor([[-1.0], [1.8], [-1.0], [0.5]])
    noise = torch.tensor([[2.5], [0.3], [-0.2], [-0.7]])
    got = c.call(actions, noise, 0.5, -2.0, 2.0)
    _is_tensor(c, got)
    c.expect_close(got, np.array([[-0.5], [2.0], [-1.2], [0.0]]),
                   "first clip the noise to [-noise_clip, noise_clip], add it, then clip the sum to "
                   "[low, high].",
                   what="[-1 + 0.5 (noise 2.5 clipped), 2.0 (bound), -1.0 - 0.2, 0.5 - 0.5]")
    actions = torch.tensor([[0.9, -0.9], [-0.95, 0.0]], dtype=torch.float64)
    noise = torch.tensor([[0.3, -0.3], [-0.5, 0.1]], dtype=torch.float64)
    low = torch.tensor([-1.0, -2.0], dtype=torch.float64)
    high = torch.tensor([1.0, 2.0], dtype=torch.float64)
    got = c.call(actions, noise, 0.2, low, high)
    c.expect_close(got, np.array([[1.0, -1.1], [-1.0, 0.1]]),
                   "low and high may be (d,) Tensors, one bound per action dimension.",
                   what="per-dimension bounds [-1, 1] and [-2, 2], noise_clip 0.2")


# ------------------------------------------------------------------------------ targets
def _target_checks(c: Checker, with_entropy: bool) -> None:
    __tracebackhide__ = True
    r = torch.tensor([1.0, 0.0, 2.0])
    q1 = torch.tensor([3.0, 1.0, 5.0], requires_grad=True)
    q2 = torch.tensor([2.0, 4.0, 6.0], requires_grad=True)
    dones = torch.tensor([0.0, 0.0, 1.0])
    if with_entropy:
        logp = torch.tensor([-1.0, 2.0, 0.5])
        args = (r, q1, q2, logp, dones, 0.5, 0.2)
        expected = np.array([1 + 0.5 * (2 + 0.2), 0 + 0.5 * (1 - 0.4), 2.0])
        hint = ("y = r + gamma * (1 - done) * (min(next_q1, next_q2) - alpha * next_logp); a terminal "
                "transition (done = 1) has target r alone.")
        what = "[1 + 0.5 (min(3, 2) + 0.2), 0 + 0.5 (min(1, 4) - 0.4), 2 (done)]"
    else:
        args = (r, q1, q2, dones, 0.5)
        expected = np.array([2.0, 0.5, 2.0])
        hint = ("y = r + gamma * (1 - done) * min(next_q1, next_q2); a terminal transition (done = 1) "
                "has target r alone.")
        what = "[1 + 0.5 min(3, 2), 0 + 0.5 min(1, 4), 2 (done)]"
    got = c.call(*args)
    _is_tensor(c, got)
    c.expect_close(got, expected, hint, what=what)
    _see(c, not got.requires_grad, "returned a Tensor that requires grad", "targets without gradient",
         c.says("requires_grad"))
    bool_args = list(args)
    bool_args[4 if with_entropy else 3] = torch.tensor([False, False, True])
    got = c.call(*bool_args)
    c.expect_close(got, expected, hint, what="the same with bool dones")
    if with_entropy:
        got = c.call(*args[:-1], torch.tensor(0.2, requires_grad=True))
        c.expect_close(got.detach() if isinstance(got, torch.Tensor) else got, expected,
                       "alpha may be a 0-dim Tensor (SAC learns log alpha).", what="alpha as a Tensor")
        _see(c, not got.requires_grad, "returned a Tensor that requires grad (alpha's gradient)",
             "targets without gradient", c.says("requires_grad"), what="alpha as a Tensor that requires grad")


@check("clipped_double_q_targets")
def check_clipped_double_q_targets(c: Checker) -> None:
    """Check y = r + gamma (1 - d) min(Q1_targ, Q2_targ) on three transitions, float and bool dones."""
    _target_checks(c, with_entropy=False)


@check("sac_targets")
def check_sac_targets(c: Checker) -> None:
    """Check y = r + gamma (1 - d) (min Q_targ - alpha log pi) on three transitions; alpha float or Tensor."""
    _target_checks(c, with_entropy=True)


# ------------------------------------------------------------------------------ sac_policy_loss
@check("sac_policy_loss")
def check_sac_policy_loss(c: Checker) -> None:
    """Check mean(alpha log pi - min(q1, q2)): its value and which inputs get a gradient."""
    q1 = torch.tensor([1.0, 4.0, -2.0], requires_grad=True)
    q2 = torch.tensor([2.0, 3.0, -1.0], requires_grad=True)
    logp = torch.tensor([-1.0, 0.5, 2.0], requires_grad=True)
    alpha = torch.tensor(0.5, requires_grad=True)
    got = c.call(q1, q2, logp, alpha)
    _is_tensor(c, got, c.says("not_a_tensor"))
    _see(c, got.numel() == 1, f"returned shape {tuple(got.shape)}", "a scalar (one number)",
         "the loss is one number: the mean over the batch.", what="shape")
    expected = ((0.5 * -1 - 1) + (0.5 * 0.5 - 3) + (0.5 * 2 + 2)) / 3
    c.expect_close(got.detach().reshape(()), expected,
                   "loss = mean(alpha * logp - min(q1, q2)) over the batch.",
                   what="mean([-0.5 - 1, 0.25 - 3, 1 + 2])")
    _see(c, got.requires_grad, "returned a loss without gradient", "a loss that requires grad",
         "keep q1, q2 and logp in the computation (no .detach()).", what="gradient")
    got.reshape(()).backward()
    _see(c, logp.grad is not None and np.allclose(logp.grad.numpy(), [0.5 / 3] * 3),
         f"gave d loss / d logp = {None if logp.grad is None else logp.grad.numpy()}",
         "[alpha / 3] * 3 = [0.1667, 0.1667, 0.1667]", c.says("logp_detached"), what="gradient into logp")
    _see(c, alpha.grad is None or float(alpha.grad) == 0.0,
         f"sent a gradient {0.0 if alpha.grad is None else float(alpha.grad):.4g} into alpha",
         "no gradient into alpha", c.says("pushes_alpha"), what="alpha is a constant here")
    grad_q = (None if q1.grad is None or q2.grad is None
              else np.concatenate([q1.grad.numpy(), q2.grad.numpy()]))
    _see(c, grad_q is not None and np.allclose(grad_q, [-1 / 3, 0, -1 / 3, 0, -1 / 3, 0]),
         f"gave gradients into q1, q2 of {grad_q}",
         "-1/3 where each critic is the smaller one, 0 elsewhere",
         "use the smaller of the two critics per sample: torch.min(q1, q2).",
         what="gradient into the critics")
