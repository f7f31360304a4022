"""Visible checks for lesson 05: the policy-gradient loss, normalization, batched reward-to-go."""

from __future__ import annotations

import numpy as np
import torch

from ._core import Checker, check

__all__ = ["check_batch_reward_to_go", "check_normalize", "check_pg_loss"]


@check("pg_loss")
def check_pg_loss(c: Checker) -> None:
    """Check L = -mean(logp * weights) on three steps: its value, its type and its gradient."""
    logp = torch.tensor([-0.5, -1.0, -2.0], requires_grad=True)
    weights = torch.tensor([1.0, -2.0, 4.0])
    loss = c.call(logp, weights)
    c.expect_type(loss, torch.Tensor, "a torch Tensor", c.says("not_a_tensor"))
    c.expect(loss.numel() == 1, tuple(loss.shape), "a scalar (one number)", c.says("no_reduction"),
             what="shape")
    c.expect_close(loss.detach().reshape(()), 13 / 6,
                   "L = -mean(logp * weights): mean over the batch, with a minus sign in front.",
                   what="-((-0.5)(1) + (-1)(-2) + (-2)(4)) / 3")
    c.expect(loss.requires_grad, "a Tensor with requires_grad=False", "a Tensor that requires grad",
             c.says("detached"), what="gradient")
    loss.reshape(()).backward()
    grad = None if logp.grad is None else logp.grad.numpy()
    c.expect(grad is not None and np.allclose(grad, [-1 / 3, 2 / 3, -4 / 3]), grad,
             np.array([-1 / 3, 2 / 3, -4 / 3]),
             "dL/dlogp_t = -weights_t / N; the weights must not be changed by the loss.",
             what="the gradient dL/dlogp")


@check("normalize")
def check_normalize(c: Checker) -> None:
    """Check zero mean and unit population std, Tensor in/out, eps, and a constant input."""
    x = np.array([1.0, 2.0, 3.0, 6.0])
    std = np.sqrt(3.5)  # population std: mean 3, squared deviations 4, 1, 0, 9
    got = c.call(x.copy())
    hint = "(x - x.mean()) / (x.std() + eps), with the population std (ddof=0) over all elements."
    c.expect_close(got, (x - 3.0) / (std + 1e-8), hint, what="(x - 3) / sqrt(3.5)")
    t = c.call(torch.tensor([1.0, 2.0, 3.0, 6.0]))
    c.expect_type(t, torch.Tensor, "a torch Tensor", c.says("numpy_for_tensor"))
    c.expect_close(t, (x - 3.0) / std, "the Tensor result must match the array result; torch's "
                   ".std() uses ddof=1 unless you pass correction=0.", rtol=1e-5, atol=1e-6)
    t64 = c.call(torch.tensor([1.0, 2.0, 3.0, 6.0], dtype=torch.float64))
    c.expect(getattr(t64, "dtype", None) == torch.float64, getattr(t64, "dtype", type(t64).__name__),
             torch.float64, c.says("changes_dtype"), what="a float64 Tensor in")
    got = c.call(np.array([0.0, 0.2]), eps=0.05)
    c.expect_close(got, np.array([-0.1, 0.1]) / (0.1 + 0.05),
                   "eps is added to the standard deviation, outside the square root: "
                   "(x - mean) / (std + eps).", what="eps=0.05: (x - 0.1) / (0.1 + 0.05)")
    got = c.call(np.full(3, 7.0))
    c.expect_close(got, np.zeros(3), c.says("no_eps"), what="constant input")
    grid = np.array([[1.0, 2.0], [3.0, 6.0]])
    got = c.call(grid.copy())
    c.expect_close(got, (grid - 3.0) / (std + 1e-8), "mean and std run over ALL elements "
                   "(no axis argument); the shape stays the same.", what="a (2, 2) input")


@check("batch_reward_to_go")
def check_batch_reward_to_go(c: Checker) -> None:
    """Check G[t, i] on two envs stepped three times, with an episode ending inside the batch."""
    rewards = np.ones((3, 2))
    dones = np.array([[False, False], [True, False], [False, False]])
    got = c.call(rewards, dones)
    expected = np.array([[2.0, 3.0], [1.0, 2.0], [1.0, 1.0]])
    hint = ("work backwards in time: G[t] = r[t] + gamma * (1 - dones[t]) * G[t + 1], with "
            "G[T] = 0; time is axis 0, envs are axis 1.")
    c.expect_close(got, expected, hint, what="env 0 ends at t=1; env 1 runs to the batch end")
    c.expect(isinstance(got, np.ndarray), type(got).__name__, "a numpy array",
             "return a numpy array of shape (T, N).", what="type")
    rewards = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    dones = np.array([[0.0, 1.0], [0.0, 0.0], [0.0, 0.0]])
    got = c.call(rewards, dones, 0.5)
    c.expect_close(got, np.array([[3.75, 2.0], [5.5, 7.0], [5.0, 6.0]]), hint,
                   what="gamma=0.5: env 0 [1+0.5*3+0.25*5, 3+0.5*5, 5], env 1 ends at t=0")
    got = c.call([[1.0], [1.0], [1.0], [1.0]], [[False], [False], [False], [False]], 0.9)
    c.expect_close(got, np.array([[3.439], [2.71], [1.9], [1.0]]),
                   hint + " Lists are fine inputs too: start with np.asarray(rewards, dtype=float).",
                   what="lists, one env, no episode end: 1 + 0.9 + 0.81 + 0.729, ...")
    got = c.call(np.ones((3, 1), dtype=np.int64), np.zeros((3, 1), dtype=bool), 0.5)
    c.expect_close(got, np.array([[1.75], [1.5], [1.0]]), c.says("integer_dtype"),
                   what="integer rewards, gamma=0.5: 1 + 0.5 + 0.25, 1 + 0.5, 1")
