"""Actor-critic and PPO math (lesson 08's reference answers): GAE, the clipped loss, diagnostics.

Notation of the talk. The policy gradient with an advantage as weight,

    g = E_{tau ~ pi_theta}[ sum_t grad_theta log pi_theta(a_t|s_t) A^pi(s_t, a_t) ],
    A^pi(s, a) = Q^pi(s, a) - V^pi(s),

keeps the estimate unbiased (V^pi(s) is a baseline: E_a[grad log pi(a|s)] b(s) = 0) and
lowers its variance. A critic V_phi ~ V^pi learned by regression estimates it:

- the TD error delta_t = r_t + gamma (1 - d_t) V(s_{t+1}) - V(s_t) is a one-step,
  low-variance but biased estimate of A^pi(s_t, a_t);
- GAE(lambda) (Schulman et al., 2016) averages the n-step estimates with weights
  (1 - lambda) lambda^(n-1): A_t = sum_{l>=0} (gamma lambda)^l delta_{t+l}, cut at the end of
  an episode. lambda = 0 gives delta_t, lambda = 1 the Monte Carlo return minus V(s_t).

PPO (Schulman et al., 2017) reuses a batch for several epochs, keeping the new policy
near the one that collected it with the clipped surrogate objective on the probability
ratio rho_t = pi_theta(a_t|s_t) / pi_theta_old(a_t|s_t):

    L^CLIP(theta) = E_t[ min(rho_t A_t, clip(rho_t, 1 - eps, 1 + eps) A_t) ].

The diagnostics PPO users watch: the policy's entropy, the approximate KL divergence
between the old and new policies, and the critic's explained variance.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike

__all__ = ["approx_kl", "categorical_entropy", "explained_variance", "gae_advantages", "ppo_clip_loss"]


def _float_array(x: ArrayLike, name: str) -> np.ndarray:
    value = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else x
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name} must be an array of numbers, got {type(x).__name__} ({e})") from None


def gae_advantages(rewards: ArrayLike, values: ArrayLike, dones: ArrayLike, last_values: ArrayLike,
                   gamma: float, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """Return (advantages, returns): GAE(lambda) estimates of A^pi(s_t, a_t) and the critic's targets.

    rewards, values, dones: (T, N) for T steps of N envs; values[t, i] = V(s_t) of env i;
    dones[t, i] (bool or 0/1) = env i's episode ended at step t (nothing bootstrapped across
    it). last_values: (N,) = V(s_T), the observation after the last step. With V_T = last_values:

        delta_t = r_t + gamma (1 - d_t) V_{t+1} - V_t
        A_t     = delta_t + gamma lambda (1 - d_t) A_{t+1},     A_T = 0
        returns = A + V   (the lambda-return, the critic's regression target)

    lam = 0 gives the TD error delta_t; lam = 1 the discounted return to the episode's end
    (or to the batch's end, bootstrapped with last_values) minus V(s_t).
    Returns two float64 arrays (T, N).
    Raises ValueError for mismatched shapes or gamma, lam outside [0, 1].
    """
    r = _float_array(rewards, "rewards")
    v = _float_array(values, "values")
    d = _float_array(dones, "dones")
    last = _float_array(last_values, "last_values")
    if r.ndim != 2:
        raise ValueError(f"rewards must have shape (T, N), got {r.shape}")
    if v.shape != r.shape or d.shape != r.shape:
        raise ValueError(f"rewards, values and dones must have the same shape (T, N); got "
                         f"{r.shape}, {v.shape}, {d.shape}")
    if last.shape != (r.shape[1],):
        raise ValueError(f"last_values must have shape (N,) = ({r.shape[1]},), got {last.shape}")
    for name, x in (("gamma", gamma), ("lam", lam)):
        if not 0.0 <= float(x) <= 1.0:
            raise ValueError(f"{name} must be in [0, 1], got {x!r}")
    T = r.shape[0]
    advantages = np.zeros_like(r)
    next_value, next_adv = last, np.zeros_like(last)
    for t in reversed(range(T)):
        alive = 1.0 - d[t]
        delta = r[t] + gamma * alive * next_value - v[t]
        next_adv = delta + gamma * lam * alive * next_adv
        advantages[t] = next_adv
        next_value = v[t]
    return advantages, advantages + v


def ppo_clip_loss(logp: torch.Tensor, logp_old: Any, advantages: Any,
                  clip_ratio: float = 0.2) -> torch.Tensor:
    """Return the scalar PPO-clip loss -mean_t min(rho_t A_t, clip(rho_t, 1 - eps, 1 + eps) A_t).

    rho_t = pi_theta(a_t|s_t) / pi_theta_old(a_t|s_t) = exp(logp_t - logp_old_t).
    logp: Tensor (B,), log pi_theta(a_t|s_t) under the current policy (carries the graph).
    logp_old, advantages: (B,), constants from the batch (no gradient flows into them, even
    if they require grad). clip_ratio: eps > 0. The min makes the objective a pessimistic
    bound: once rho leaves [1 - eps, 1 + eps] in the direction the advantage favours, the
    gradient of that sample is zero, so one batch cannot push the policy far.
    Raises ValueError for mismatched shapes or clip_ratio <= 0.
    """
    if not isinstance(logp, torch.Tensor):
        raise TypeError(f"logp must be a torch Tensor, got {type(logp).__name__}")
    if not float(clip_ratio) > 0:
        raise ValueError(f"clip_ratio must be > 0, got {clip_ratio!r}")
    old = torch.as_tensor(logp_old, dtype=logp.dtype).detach()
    adv = torch.as_tensor(advantages, dtype=logp.dtype).detach()
    if old.shape != logp.shape or adv.shape != logp.shape:
        raise ValueError(f"logp, logp_old and advantages must have the same shape; got "
                         f"{tuple(logp.shape)}, {tuple(old.shape)}, {tuple(adv.shape)}")
    ratio = torch.exp(logp - old)
    clipped = torch.clamp(ratio, 1.0 - clip_ratio, 1.0 + clip_ratio)
    return -torch.min(ratio * adv, clipped * adv).mean()


def categorical_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Return H(pi(.|s)) = -sum_a pi(a|s) log pi(a|s) in nats for each row of logits (N, A) -> (N,).

    pi = softmax(logits). Computed from log_softmax, so logits of magnitude 1e4 stay finite
    (a probability that underflows to 0 contributes 0 * finite = 0, never 0 * -inf).
    Keeps the graph (the entropy bonus needs its gradient) and the dtype.
    Raises ValueError unless logits has shape (N, A).
    """
    if not isinstance(logits, torch.Tensor):
        logits = torch.as_tensor(logits, dtype=torch.float32)
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape (N, A), got {tuple(logits.shape)}")
    logp = torch.log_softmax(logits, dim=-1)
    return -(logp.exp() * logp).sum(dim=-1)


def explained_variance(values: ArrayLike, returns: ArrayLike) -> float:
    """Return 1 - Var[returns - values] / Var[returns]: how much of the returns the critic explains.

    values: the critic's V(s_t); returns: its targets, same shape (any). Population variances
    over all elements. 1 = perfect, 0 = no better than a constant, < 0 = worse than a
    constant. nan when Var[returns] = 0. Returns a Python float.
    Raises ValueError for mismatched shapes.
    """
    v = _float_array(values, "values")
    ret = _float_array(returns, "returns")
    if v.shape != ret.shape:
        raise ValueError(f"values and returns must have the same shape; got {v.shape}, {ret.shape}")
    var = float(np.var(ret))
    if var == 0.0:
        return math.nan
    return float(1.0 - np.var(ret - v) / var)


def approx_kl(logp: Any, logp_old: Any) -> float:
    """Return mean((rho - 1) - log rho), rho = exp(logp - logp_old): an estimate of KL(pi_old || pi).

    logp, logp_old: (B,) log-probabilities of the batch's actions under the new and the old
    policy (the actions were sampled from pi_old). Each term is >= 0 (x - 1 >= log x) and
    its expectation under pi_old is KL(pi_old || pi) (John Schulman's "k3" estimator), so it
    never goes negative like mean(logp_old - logp) can. Returns a Python float.
    Raises ValueError for mismatched shapes.
    """
    new = _float_array(logp, "logp")
    old = _float_array(logp_old, "logp_old")
    if new.shape != old.shape:
        raise ValueError(f"logp and logp_old must have the same shape; got {new.shape}, {old.shape}")
    log_ratio = new - old
    return float(np.mean(np.expm1(log_ratio) - log_ratio))
