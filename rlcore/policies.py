"""Stochastic policies of lesson 03: categorical and diagonal Gaussian, sampling and log-likelihoods.

A stochastic policy pi(.|s) is a probability distribution over actions in each state,
a_t ~ pi(.|s_t); a deterministic policy maps a state straight to an action, a_t = pi(s_t).
In deep RL a neural network with parameters theta produces the distribution's parameters:

* **categorical** (discrete actions 0..A-1): the network outputs logits z = z_theta(s) and
  pi_theta(a|s) = softmax(z)_a = exp(z_a) / sum_b exp(z_b), so
  log pi_theta(a|s) = z_a - logsumexp(z) with logsumexp(z) = m + log sum_b exp(z_b - m),
  m = max_b z_b (the shift keeps every exp finite);
* **diagonal Gaussian** (continuous actions in R^d): the network outputs the mean
  mu_theta(s) and a vector log_std gives sigma = exp(log_std), pi_theta(a|s) = N(mu, diag(sigma^2)):
  log pi_theta(a|s) = sum_i [ -(a_i - mu_i)^2 / (2 sigma_i^2) - log sigma_i - 0.5 log(2 pi) ].

Policy-gradient methods (lesson 05) need log pi_theta(a_t|s_t) of the sampled actions and
its gradient, which is why these functions return log-probabilities. Randomness is
passed in: every sampler takes an optional ``torch.Generator``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from .nets import mlp

__all__ = [
    "CategoricalPolicy",
    "GaussianPolicy",
    "categorical_log_prob",
    "categorical_sample",
    "gaussian_log_prob",
    "gaussian_sample",
]

_LOG_2PI = math.log(2 * math.pi)


def _logits(logits: Any) -> Tensor:
    if not isinstance(logits, Tensor):
        raise TypeError(f"logits must be a torch Tensor, got {type(logits).__name__}")
    if logits.ndim < 1 or logits.shape[-1] == 0:
        raise ValueError(f"logits must have shape (N, A) with A >= 1 actions, got {tuple(logits.shape)}")
    if not logits.is_floating_point():
        raise TypeError(f"logits must be a floating-point Tensor, got {logits.dtype}")
    return logits


def categorical_log_prob(logits: Tensor, actions: Tensor) -> Tensor:
    """Return log pi(a|s) = z_a - logsumexp(z) for each row's action, shape (N,).

    logits: (N, A) floating Tensor z of each row (any leading shape (...) works).
    actions: (N,) integer Tensor of actions in [0, A).
    Computed with ``log_softmax`` (the max-shift of logsumexp), so it stays finite even
    for logits of magnitude 1e4, where softmax followed by log gives log(0) = -inf.
    Keeps logits' dtype and its autograd graph.
    Raises TypeError for non-Tensor or non-integer actions, ValueError for mismatched
    shapes or actions out of range.
    """
    z = _logits(logits)
    if not isinstance(actions, Tensor):
        raise TypeError(f"actions must be a torch Tensor, got {type(actions).__name__}")
    if actions.is_floating_point() or actions.is_complex() or actions.dtype == torch.bool:
        raise TypeError(f"actions must be an integer Tensor (e.g. torch.long), got {actions.dtype}")
    if actions.shape != z.shape[:-1]:
        raise ValueError(f"actions must have shape {tuple(z.shape[:-1])} (one per row of logits), "
                         f"got {tuple(actions.shape)}")
    n_actions = z.shape[-1]
    if actions.numel() and (int(actions.min()) < 0 or int(actions.max()) >= n_actions):
        raise ValueError(f"actions must lie in [0, {n_actions}), got values from "
                         f"{int(actions.min())} to {int(actions.max())}")
    return torch.log_softmax(z, dim=-1).gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)


def categorical_sample(logits: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Return one action per row, a ~ softmax(logits), as a LongTensor of shape (N,).

    logits: (N, A) floating Tensor (any leading shape (...) works); generator: an optional
    seeded ``torch.Generator`` (the same seed gives the same actions). Draws with
    ``torch.multinomial`` on softmax(logits), the talk's ``tf.multinomial(logits=...)``.
    Raises TypeError for a non-Tensor or integer logits, ValueError for non-finite logits.
    """
    z = _logits(logits)
    if not torch.isfinite(z).all():
        raise ValueError("logits must be finite (got inf or nan)")
    probs = torch.softmax(z.detach().reshape(-1, z.shape[-1]), dim=-1)
    out = torch.multinomial(probs, 1, generator=generator).squeeze(-1)
    return out.reshape(z.shape[:-1])


def _as_like(x: Any, like: Tensor, name: str) -> Tensor:
    if isinstance(x, Tensor):
        return x
    try:
        return torch.as_tensor(np.asarray(x, dtype=np.float64), dtype=like.dtype)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name} must be a Tensor or an array of numbers: {e}") from None


def gaussian_log_prob(x: Tensor, mu: Tensor, log_std: Tensor) -> Tensor:
    """Return log N(x; mu, diag(exp(log_std)^2)), summed over the last dimension: shape (N,).

    log pi(x|s) = sum_i [ -0.5 ((x_i - mu_i) / sigma_i)^2 - log sigma_i - 0.5 log(2 pi) ],
    sigma = exp(log_std). x: (N, d) actions; mu: (N, d) or (d,) means; log_std: (d,) (a
    state-independent vector, as in most policy-gradient code) or (N, d). Inputs broadcast
    like ``x - mu``; the result keeps x's dtype and the autograd graph to mu and log_std.
    Raises TypeError if x is not a Tensor, ValueError if the shapes do not broadcast to x's.
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"x must be a torch Tensor, got {type(x).__name__}")
    if x.ndim < 1:
        raise ValueError("x must have at least one dimension (the action dimension d)")
    mu = _as_like(mu, x, "mu")
    log_std = _as_like(log_std, x, "log_std")
    for name, t in (("mu", mu), ("log_std", log_std)):
        try:
            shape = torch.broadcast_shapes(x.shape, t.shape)
        except RuntimeError:
            shape = None
        if shape != x.shape:
            raise ValueError(f"{name} of shape {tuple(t.shape)} does not broadcast to x's shape "
                             f"{tuple(x.shape)}; use ({x.shape[-1]},) or {tuple(x.shape)}")
    z = (x - mu) * torch.exp(-log_std)
    return (-0.5 * z**2 - log_std - 0.5 * _LOG_2PI).sum(dim=-1)


def gaussian_sample(mu: Tensor, log_std: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Return a ~ N(mu, diag(exp(log_std)^2)) as mu + exp(log_std) * eps, eps ~ N(0, I), shape of mu.

    mu: (N, d) or (d,); log_std broadcastable to mu. generator: optional seeded ``torch.Generator``.
    Raises TypeError if mu is not a floating-point Tensor.
    """
    if not isinstance(mu, Tensor) or not mu.is_floating_point():
        raise TypeError(f"mu must be a floating-point torch Tensor, got {type(mu).__name__}")
    log_std = _as_like(log_std, mu, "log_std")
    eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype)
    return mu + torch.exp(log_std) * eps


def _obs(obs: Any, net: nn.Module) -> tuple[Tensor, bool]:
    """obs as a float Tensor of the net's dtype, batched; and whether it was a single obs."""
    dtype = next(net.parameters()).dtype
    t = torch.as_tensor(np.asarray(obs) if not isinstance(obs, Tensor) else obs, dtype=dtype)
    return (t.unsqueeze(0), True) if t.ndim == 1 else (t, False)


class CategoricalPolicy(nn.Module):
    """A stochastic policy over A discrete actions: pi_theta(a|s) = softmax(z_theta(s))_a.

    z_theta is an MLP obs (N, obs_dim) -> logits (N, A) (``rlcore.nets.mlp``), the talk's
    ``logits = dense(mlp(obs), units=num_actions)``.
    """

    def __init__(self, obs_dim: int, n_actions: int, hidden_sizes: Sequence[int] = (64, 64),
                 activation: Callable[[], nn.Module] = nn.Tanh) -> None:
        super().__init__()
        self.logits_net = mlp([obs_dim, *hidden_sizes, n_actions], activation)

    def forward(self, obs: Tensor) -> Tensor:
        """Return the logits z_theta(s), shape (N, A)."""
        return self.logits_net(obs)

    def probs(self, obs: Any) -> Tensor:
        """Return pi_theta(.|s) = softmax(z_theta(s)), shape (N, A)."""
        return torch.softmax(self(_obs(obs, self)[0]), dim=-1)

    def log_prob(self, obs: Any, actions: Tensor) -> Tensor:
        """Return log pi_theta(a|s) of the given actions, shape (N,), with the graph to theta."""
        return categorical_log_prob(self(_obs(obs, self)[0]), torch.as_tensor(actions).long())

    def sample(self, obs: Any, generator: torch.Generator | None = None) -> Tensor:
        """Return actions a ~ pi_theta(.|s), a LongTensor (N,) (a 0-d one for a single obs)."""
        x, single = _obs(obs, self)
        with torch.no_grad():
            a = categorical_sample(self(x), generator)
        return a[0] if single else a

    def act(self, obs: Any, generator: torch.Generator | None = None) -> Any:
        """Return a sampled action for ``rlcore.rollout``: an int for one obs, an int array for a batch."""
        a = self.sample(obs, generator)
        return int(a) if a.ndim == 0 else a.numpy()


class GaussianPolicy(nn.Module):
    """A stochastic policy over actions in R^d: pi_theta(a|s) = N(mu_theta(s), diag(sigma^2)).

    mu_theta is an MLP obs (N, obs_dim) -> means (N, d); sigma = exp(log_std) with
    ``log_std`` a learned, state-independent vector (d,) (as in Spinning Up's VPG/PPO).
    """

    def __init__(self, obs_dim: int, act_dim: int, hidden_sizes: Sequence[int] = (64, 64),
                 activation: Callable[[], nn.Module] = nn.Tanh, log_std_init: float = -0.5) -> None:
        super().__init__()
        self.mu_net = mlp([obs_dim, *hidden_sizes, act_dim], activation)
        self.log_std = nn.Parameter(torch.full((act_dim,), float(log_std_init)))

    def forward(self, obs: Tensor) -> Tensor:
        """Return the means mu_theta(s), shape (N, d): the deterministic (greedy) action."""
        return self.mu_net(obs)

    def log_prob(self, obs: Any, actions: Any) -> Tensor:
        """Return log pi_theta(a|s), shape (N,), with the graph to theta and log_std."""
        mu = self(_obs(obs, self)[0])
        return gaussian_log_prob(_as_like(actions, mu, "actions").to(mu.dtype), mu, self.log_std)

    def sample(self, obs: Any, generator: torch.Generator | None = None) -> Tensor:
        """Return actions a ~ N(mu_theta(s), diag(sigma^2)), shape (N, d) ((d,) for a single obs)."""
        x, single = _obs(obs, self)
        with torch.no_grad():
            a = gaussian_sample(self(x), self.log_std, generator)
        return a[0] if single else a
