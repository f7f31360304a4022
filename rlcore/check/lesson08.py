"""Visible checks for lesson 08: GAE, the PPO-clip loss, entropy, explained variance, approximate KL."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from ._core import Checker, check

__all__ = ["check_approx_kl", "check_categorical_entropy", "check_explained_variance",
           "check_gae_advantages", "check_ppo_clip_loss"]


def _pair(c: Checker, out: Any) -> tuple[Any, Any]:
    """The (advantages, returns) pair gae_advantages returned, or a kind failure."""
    __tracebackhide__ = True
    ok = isinstance(out, (tuple, list)) and len(out) == 2
    c.expect(ok, type(out).__name__, "a pair (advantages, returns)",
             "end with `return advantages, returns` (returns = advantages + values).", what="type")
    return out[0], out[1]


@check("gae_advantages")
def check_gae_advantages(c: Checker) -> None:
    """Check GAE on two envs, three steps, an episode end and a bootstrap; lambda 0 and 1; integers."""
    rewards = np.array([[1.0, 0.0], [2.0, 1.0], [3.0, 2.0]])
    values = np.array([[0.5, 1.0], [1.0, 1.0], [2.0, 1.0]])
    dones = np.array([[False, False], [True, False], [False, False]])
    last_values = np.array([4.0, 10.0])
    hint = ("work backwards from A_T = 0 and V_T = last_values: delta_t = r_t + gamma (1 - d_t) "
            "V_{t+1} - V_t, A_t = delta_t + gamma lam (1 - d_t) A_{t+1}.")
    adv, ret = _pair(c, c.call(rewards, values, dones, last_values, 0.5, 0.5))
    c.expect(isinstance(adv, np.ndarray) and isinstance(ret, np.ndarray),
             f"({type(adv).__name__}, {type(ret).__name__})", "(ndarray, ndarray)",
             "return two numpy arrays of shape (T, N).", what="types")
    expected = np.array([[1.25, 0.0], [1.0, 2.0], [3.0, 6.0]])
    c.expect_close(adv, expected, hint, part=0,
                   what="advantages; env 0 ends at t=1, env 1 runs on past the batch (gamma=lam=0.5)")
    c.expect_close(ret, expected + values, c.says("returns_without_values"), part=1,
                   what="returns = advantages + values")
    adv0, _ = _pair(c, c.call(rewards, values, dones, last_values, 0.5, 0.0))
    next_v = np.vstack([values[1:], last_values])
    c.expect_close(adv0, rewards + 0.5 * (1 - dones) * next_v - values,
                   "with lam = 0 the advantage is the TD error delta_t itself.", part=0,
                   what="lam = 0: the TD errors")
    adv1, _ = _pair(c, c.call(rewards.tolist(), values.tolist(), dones.astype(float).tolist(),
                              last_values.tolist(), 1.0, 1.0))
    c.expect_close(adv1, np.array([[2.5, 12.0], [1.0, 12.0], [5.0, 11.0]]),
                   hint + " Lists and 0/1 float dones are fine inputs too.", part=0,
                   what="lists, gamma = lam = 1: returns to the episode end (or + last_values) - V")
    adv_int, _ = _pair(c, c.call(np.array([[1], [2], [3]]), np.array([[0], [1], [0]]),
                                 np.array([[0], [0], [0]]), np.array([1]), 0.5, 0.5))
    c.expect_close(adv_int, np.array([[1.96875], [1.875], [3.5]]), c.says("integer_dtype"), part=0,
                   what="integer rewards and values, gamma = lam = 0.5")


@check("ppo_clip_loss")
def check_ppo_clip_loss(c: Checker) -> None:
    """Check the clipped loss on three samples (one clipped), its gradient, and no grad into logp_old."""
    logp_old = torch.log(torch.tensor([0.2, 0.4, 0.5])).requires_grad_(True)
    ratio = torch.tensor([1.5, 0.5, 1.0])
    logp = (logp_old.detach() + torch.log(ratio)).requires_grad_(True)
    adv = torch.tensor([1.0, 1.0, -3.0])
    loss = c.call(logp, logp_old, adv, 0.2)
    c.expect_type(loss, torch.Tensor, "a torch Tensor", "return the loss Tensor itself (no .item()).")
    c.expect(loss.numel() == 1, tuple(loss.shape), "a scalar (one number)",
             "average over the batch with .mean().", what="shape")
    c.expect_close(loss.detach().reshape(()), 1.3 / 3,
                   "L = -mean(min(rho A, clip(rho, 1 - eps, 1 + eps) A)) with rho = exp(logp - logp_old).",
                   what="rho = [1.5, 0.5, 1], A = [1, 1, -3]: -(1.2 + 0.5 - 3) / 3")
    c.expect(loss.requires_grad, "a Tensor with requires_grad=False", "a Tensor that requires grad",
             "keep logp in the computation (no .detach() on it).", what="gradient")
    loss.reshape(()).backward()
    grad = None if logp.grad is None else logp.grad.numpy()
    want = np.array([0.0, -0.5 / 3, 1.0])
    c.expect(grad is not None and np.allclose(grad, want, atol=1e-6), grad, want,
             "the clipped sample (rho = 1.5 > 1.2 with A > 0) gets no gradient; the others "
             "-rho A / N.", what="the gradient dL/dlogp")
    c.expect(logp_old.grad is None or float(logp_old.grad.abs().sum()) == 0.0,
             logp_old.grad, None, c.says("grad_into_logp_old"), what="the gradient into logp_old")


@check("categorical_entropy")
def check_categorical_entropy(c: Checker) -> None:
    """Check H on uniform and skewed rows, on logits of magnitude 1e4, its dtype and its graph."""
    logits = torch.tensor([[0.0, 0.0, 0.0], [math.log(2.0), 0.0, 0.0]], requires_grad=True)
    h = c.call(logits)
    c.expect_type(h, torch.Tensor, "a torch Tensor", "return a Tensor of shape (N,).")
    c.expect_close(h.detach(), np.array([math.log(3.0), 1.5 * math.log(2.0)]),
                   "H = -sum_a pi(a) log pi(a) over the actions of each row, pi = softmax(logits).",
                   what="a uniform row (log 3) and pi = [0.5, 0.25, 0.25] (1.5 log 2), in nats")
    c.expect(h.requires_grad, "a Tensor with requires_grad=False", "a Tensor that requires grad",
             c.says("detached"), what="gradient")
    huge = c.call(torch.tensor([[1e4, 0.0, -1e4]], dtype=torch.float64))
    c.expect_close(huge, np.array([0.0]), "use torch.log_softmax, which stays finite where "
                   "softmax underflows to 0.", what="logits of magnitude 1e4 (float64): nearly one-hot")
    c.expect(getattr(huge, "dtype", None) == torch.float64, getattr(huge, "dtype", None),
             torch.float64, "keep the logits' dtype.", what="dtype")


@check("explained_variance")
def check_explained_variance(c: Checker) -> None:
    """Check 1 - Var[R - V] / Var[R] on four steps, a perfect critic, constant returns, the type."""
    values, returns = np.array([1.0, 2.0, 3.0, 5.0]), np.array([2.0, 2.0, 4.0, 6.0])
    got = c.call(values, returns)
    c.expect(isinstance(got, float), type(got).__name__, "a Python float", c.says("returns_tensor"),
             what="type")
    c.expect_close(got, 1 - 0.1875 / 2.75,
                   "1 - Var[returns - values] / Var[returns], population variances (np.var).",
                   what="Var[R - V] = 0.1875, Var[R] = 2.75")
    got = c.call(torch.tensor(returns, dtype=torch.float32), torch.tensor(returns, dtype=torch.float32))
    c.expect_close(got, 1.0, "a critic that predicts the returns exactly explains all of their "
                   "variance; Tensors are fine inputs too.", what="values = returns (Tensors)")
    got = c.call(values, np.full(4, 3.0))
    ok = isinstance(got, float) and math.isnan(got)
    c.expect(ok, got, float("nan"), c.says("zero_variance"), what="constant returns: Var[R] = 0")


@check("approx_kl")
def check_approx_kl(c: Checker) -> None:
    """Check mean((rho - 1) - log rho) on three samples, for identical policies, and the type."""
    logp_old = np.log([0.5, 0.25, 0.2])
    logp = logp_old + np.log([2.0, 0.5, 1.5])
    got = c.call(logp, logp_old)
    c.expect(isinstance(got, float), type(got).__name__, "a Python float", c.says("returns_tensor"),
             what="type")
    terms = (1 - math.log(2)) + (-0.5 + math.log(2)) + (0.5 - math.log(1.5))
    c.expect_close(got, terms / 3, "mean((rho - 1) - log rho), rho = exp(logp - logp_old): every "
                   "term is >= 0.", what="rho = [2, 0.5, 1.5]")
    same = torch.log(torch.tensor([0.3, 0.7])).requires_grad_(True)
    got = c.call(same, same.detach().clone())
    c.expect_close(got, 0.0, "the same policy twice: rho = 1 everywhere, so the estimate is 0 "
                   "(Tensors, even requiring grad, are fine inputs).", what="identical policies")
