"""The policy-gradient loss and the normalization of its weights (lesson 05's reference answers).

Notation of the talk: the policy gradient is

    g = grad_theta J(pi_theta) = E_{tau ~ pi_theta}[ sum_t grad_theta log pi_theta(a_t|s_t) Phi_t ]

with a weight Phi_t = R(tau) (simplest form), the reward-to-go R_hat_t = sum_{t'>=t} r_t',
or either minus a baseline b(s_t). Averaging over a batch D of sampled steps gives the
"pseudo-loss" whose gradient is -g:

    L(theta) = -(1/|D|) sum_{(s_t, a_t) in D} log pi_theta(a_t|s_t) Phi_t.

``batch_reward_to_go`` (the weights R_hat_t of a vectorized rollout) lives in
``rlcore.returns``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["normalize", "pg_loss"]


def pg_loss(logp: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Return the scalar pseudo-loss L = -mean_t(log pi(a_t|s_t) * Phi_t) whose gradient is -g.

    logp: Tensor (B,), log pi_theta(a_t|s_t) of the sampled actions, carrying the graph to theta.
    weights: Tensor or array (B,), the weights Phi_t (returns, rewards-to-go, advantages);
    they are data, so no gradient flows through them.
    Minimizing L with gradient descent is gradient ascent on J(pi_theta). L is not the
    performance J itself: its value says little, only its gradient matters.
    Raises ValueError when the two do not have the same number of elements.
    """
    if not isinstance(logp, torch.Tensor):
        raise TypeError(f"logp must be a torch Tensor, got {type(logp).__name__}")
    w = torch.as_tensor(weights, dtype=logp.dtype, device=logp.device).detach()
    if w.shape != logp.shape:
        raise ValueError(f"weights must have the shape of logp {tuple(logp.shape)}, got {tuple(w.shape)}")
    return -(logp * w).mean()


def normalize(x: Any, eps: float = 1e-8) -> Any:
    """Return (x - mean(x)) / (std(x) + eps): zero mean and unit standard deviation, same shape.

    The mean and the population standard deviation (ddof=0) run over all elements.
    A Tensor in gives a Tensor out (same dtype); anything else gives a float64 numpy
    array. Subtracting the mean acts as a constant baseline b (the gradient stays
    unbiased since E[grad log pi] = 0); dividing by the std rescales the step.
    Raises ValueError for an empty input or a negative eps.
    """
    if eps < 0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    if isinstance(x, torch.Tensor):
        if x.numel() == 0:
            raise ValueError("x must not be empty")
        return (x - x.mean()) / (x.std(correction=0) + eps)
    arr = np.asarray(x, dtype=np.float64)
    if arr.size == 0:
        raise ValueError("x must not be empty")
    return (arr - arr.mean()) / (arr.std() + eps)
