"""Continuous control (lesson 09's reference answers): DDPG, TD3 and SAC's pieces of math.

With continuous actions a in R^d, DQN's target max_a' Q(s', a') is an optimization
problem of its own at every step. DDPG (Lillicrap et al., 2016) learns a deterministic
actor mu_phi(s) that approximately maximises Q_theta(s, .), so max_a' Q(s', a') is
replaced by Q(s', mu_phi(s')), and the actor ascends the deterministic policy gradient

    grad_phi J(mu_phi) = E_s[ grad_a Q_theta(s, a)|_{a = mu_phi(s)} grad_phi mu_phi(s) ].

TD3 (Fujimoto et al., 2018) fixes DDPG's overestimation with three changes: twin critics
and the smaller of their two estimates in the target (clipped double-Q), actor updates
less often than critic updates (delayed policy updates), and noise on the target action
(target policy smoothing). SAC (Haarnoja et al., 2018) maximises the entropy-regularised
return J(pi) = E_tau[ sum_t gamma^t (r_t + alpha H(pi(.|s_t))) ] with a stochastic
tanh-squashed Gaussian actor, twin critics and a temperature alpha tuned toward a target
entropy. Here are the five functions a learner writes (``docs/contract.md``, section 09);
the trainers ``rlcore.algos.td3`` and ``rlcore.algos.sac`` use them.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from .policies import gaussian_log_prob

__all__ = [
    "clipped_double_q_targets",
    "log1m_tanh_sq",
    "sac_policy_loss",
    "sac_targets",
    "smoothed_target_actions",
    "squashed_gaussian_log_prob",
]

_LOG2 = math.log(2.0)


def _tensor(x: Any, name: str, like: Tensor | None = None) -> Tensor:
    if isinstance(x, Tensor):
        return x if like is None or x.dtype == like.dtype or x.dtype == torch.bool else x.to(like.dtype)
    try:
        return torch.as_tensor(x, dtype=like.dtype if like is not None else torch.float32)
    except (TypeError, ValueError, RuntimeError) as e:
        raise TypeError(f"{name} must be a Tensor or an array of numbers: {e}") from None


def log1m_tanh_sq(u: Tensor) -> Tensor:
    """Return log(1 - tanh(u)^2) elementwise, exactly and finite for every finite u.

    1 - tanh(u)^2 = 1 / cosh(u)^2 = 4 / (e^u + e^-u)^2, so
    log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u)),   softplus(x) = log(1 + e^x).
    In float32, tanh(u) rounds to exactly 1 for |u| > 9, so the naive log(1 - tanh(u)^2)
    is log(0) = -inf there, and log(1 - tanh(u)^2 + 1e-6) stops near log(1e-6) = -13.8
    while the true value at u = 15 is -28.6.
    """
    return 2.0 * (_LOG2 - u - torch.nn.functional.softplus(-2.0 * u))


def squashed_gaussian_log_prob(u: Tensor, mu: Tensor, log_std: Tensor) -> Tensor:
    """Return log pi(a|s) of the squashed action a = tanh(u), u ~ N(mu, diag(exp(log_std))^2): shape (N,).

    Change of variables: a = tanh(u) has density p(u) / |det da/du| with da_i/du_i = 1 - tanh(u_i)^2, so

        log pi(a|s) = log N(u; mu, sigma^2) - sum_i log(1 - tanh(u_i)^2),

    the first term ``gaussian_log_prob`` (lesson 03), the second computed exactly by
    ``log1m_tanh_sq`` (finite for |u| up to 15 and beyond in float32). u, mu: (N, d);
    log_std: (d,) or (N, d). Keeps u's dtype and the graph to u, mu and log_std (SAC's
    reparameterized u = mu + sigma eps carries the gradient into the actor).
    Raises TypeError if u is not a Tensor, ValueError for shapes that do not broadcast.
    """
    if not isinstance(u, Tensor):
        raise TypeError(f"u must be a torch Tensor, got {type(u).__name__}")
    return gaussian_log_prob(u, mu, log_std) - log1m_tanh_sq(u).sum(dim=-1)


def smoothed_target_actions(actions: Tensor, noise: Tensor, noise_clip: float, low: Any,
                            high: Any) -> Tensor:
    """Return TD3's smoothed target actions clip(a' + clip(eps, -c, c), low, high), shape (B, d).

    actions: (B, d) the target actor's a' = mu_phi_targ(s'); noise: (B, d) eps ~ N(0, sigma^2);
    noise_clip: c >= 0; low, high: floats or (d,) action bounds. Smoothing the target over
    nearby actions keeps the critic from exploiting a narrow, wrong peak of Q in a.
    Keeps actions' dtype. Raises ValueError for a negative noise_clip or mismatched shapes.
    """
    if not isinstance(actions, Tensor):
        raise TypeError(f"actions must be a torch Tensor, got {type(actions).__name__}")
    if float(noise_clip) < 0:
        raise ValueError(f"noise_clip must be >= 0, got {noise_clip!r}")
    noise = _tensor(noise, "noise", actions)
    if noise.shape != actions.shape:
        raise ValueError(f"noise must have the shape of actions {tuple(actions.shape)}, "
                         f"got {tuple(noise.shape)}")
    lo = _tensor(low, "low", actions)
    hi = _tensor(high, "high", actions)
    c = float(noise_clip)
    return torch.clamp(actions + noise.clamp(-c, c), lo, hi)


def _target_parts(rewards: Any, next_q1: Tensor, next_q2: Tensor, dones: Any) -> tuple[Tensor, ...]:
    if not isinstance(next_q1, Tensor):
        raise TypeError(f"next_q1 must be a torch Tensor, got {type(next_q1).__name__}")
    q2 = _tensor(next_q2, "next_q2", next_q1)
    r = _tensor(rewards, "rewards", next_q1)
    d = _tensor(dones, "dones", next_q1)
    for name, t in (("next_q2", q2), ("rewards", r), ("dones", d)):
        if t.shape != next_q1.shape:
            raise ValueError(f"{name} must have the shape of next_q1 {tuple(next_q1.shape)}, "
                             f"got {tuple(t.shape)}")
    return r.to(next_q1.dtype), q2, d.to(next_q1.dtype)


def clipped_double_q_targets(rewards: Any, next_q1: Tensor, next_q2: Tensor, dones: Any,
                             gamma: float) -> Tensor:
    """Return TD3's targets y = r + gamma (1 - d) min(Q_1targ(s', a'), Q_2targ(s', a')), shape (B,), no gradient.

    rewards, dones (bool or float): (B,); next_q1, next_q2: (B,) the two target critics at the
    smoothed target action. The smaller of two estimates cancels much of the upward bias that
    max (or the argmax of a noisy critic) brings into Q-learning; (1 - d) stops the bootstrap
    at a terminal s'. Raises ValueError for shapes that differ.
    """
    with torch.no_grad():
        r, q2, d = _target_parts(rewards, next_q1, next_q2, dones)
        return r + gamma * (1.0 - d) * torch.minimum(next_q1, q2)


def sac_targets(rewards: Any, next_q1: Tensor, next_q2: Tensor, next_logp: Tensor, dones: Any,
                gamma: float, alpha: Any) -> Tensor:
    """Return SAC's targets y = r + gamma (1 - d) (min(Q_1targ, Q_2targ)(s', a') - alpha log pi(a'|s')), shape (B,).

    a' ~ pi(.|s') is sampled from the current policy; min(...) - alpha log pi(a'|s') is a
    one-sample estimate of the soft value V(s') = E_a'[Q(s', a') - alpha log pi(a'|s')], so the
    entropy bonus sits inside the discounted bootstrap. rewards, dones: (B,); next_q1,
    next_q2, next_logp: (B,); alpha: float or 0-dim Tensor. No gradient.
    """
    with torch.no_grad():
        r, q2, d = _target_parts(rewards, next_q1, next_q2, dones)
        logp = _tensor(next_logp, "next_logp", next_q1)
        a = alpha.detach() if isinstance(alpha, Tensor) else float(alpha)
        return r + gamma * (1.0 - d) * (torch.minimum(next_q1, q2) - a * logp)


def sac_policy_loss(q1: Tensor, q2: Tensor, logp: Tensor, alpha: Any) -> Tensor:
    """Return SAC's actor loss mean(alpha log pi(a|s) - min(Q_1, Q_2)(s, a)), a scalar Tensor.

    a = tanh(mu_phi(s) + sigma_phi(s) eps) is the reparameterized sample, so the gradient flows
    through q1, q2 (B,) and logp (B,) into the actor: minimizing it maximises the soft value
    E[min Q - alpha log pi]. alpha (float or 0-dim Tensor) is a constant here: the
    temperature has its own loss, -log_alpha (log pi + H_target).
    """
    if not isinstance(logp, Tensor):
        raise TypeError(f"logp must be a torch Tensor, got {type(logp).__name__}")
    a = alpha.detach() if isinstance(alpha, Tensor) else float(alpha)
    return (a * logp - torch.minimum(q1, _tensor(q2, "q2", q1))).mean()
