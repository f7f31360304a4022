"""Lesson 08 (actor-critic and PPO): GAE, the clipped loss, entropy, explained variance, approximate KL.

Each ``_wrong_*`` function is a realistic wrong answer, written as a learner would; each
``_alt_*`` a correct answer in another style than the reference (``rlcore.ac_math``).
"""

from __future__ import annotations

import numpy as np
import torch

from .. import ac_math
from . import Exercise, exercise, mistake

LESSON = "08-actor-critic-ppo"


# ------------------------------------------------------------------------------ gae_advantages
def _alt_gae_advantages(rewards, values, dones, last_values, gamma, lam):
    r = np.array(rewards, dtype=float)
    v = np.array(values, dtype=float)
    d = np.array(dones).astype(bool)
    T, N = r.shape
    v_next = np.vstack([v[1:], np.reshape(np.array(last_values, dtype=float), (1, N))])
    adv = np.zeros((T, N))
    for i in range(N):  # one env at a time, the sum over l of (gamma lam)^l delta_{t+l}
        for t in range(T):
            total, weight = 0.0, 1.0
            for k in range(t, T):
                delta = r[k, i] + (0.0 if d[k, i] else gamma * v_next[k, i]) - v[k, i]
                total += weight * delta
                if d[k, i]:
                    break
                weight *= gamma * lam
            adv[t, i] = total
    return adv, adv + v


def _gae_scan(rewards, values, dones, last_values, gamma, decay, dtype=float, trace_dones=None):
    """GAE's backward scan, A_t = delta_t + decay (1 - d_t) A_{t+1}: (advantages, advantages + values).

    The right scan with decay = gamma * lam; the wrong ones change one argument: decay = lam,
    dtype=None (integer inputs stay integers), no episode end for delta_t = r_t + gamma (1 - d_t)
    V_{t+1} - V_t (dones) or for the trace (trace_dones, by default the same dones).
    """
    r = np.asarray(rewards, dtype=dtype)
    v = np.asarray(values, dtype=dtype)
    d = np.asarray(dones, dtype=float)
    d_trace = d if trace_dones is None else np.asarray(trace_dones, dtype=float)
    adv = np.zeros_like(r)
    next_value = np.asarray(last_values, dtype=float)  # V_T: the episode goes on after the batch
    next_adv = np.zeros(r.shape[1])
    for t in reversed(range(len(r))):
        delta = r[t] + gamma * (1 - d[t]) * next_value - v[t]
        next_adv = delta + decay * (1 - d_trace[t]) * next_adv
        adv[t] = next_adv
        next_value = v[t]
    return adv, adv + v


@mistake("gae_advantages/done_from_next_step", "the done mask is taken from the next step "
         "(dones[t + 1]); step t's own done decides whether V(s_{t+1}) and A_{t+1} count: delta_t "
         "= r_t + gamma (1 - d_t) V_{t+1} - V_t", summary="took the done mask from the next step")
def _wrong_gae_done_from_next_step(rewards, values, dones, last_values, gamma, lam):
    d = np.asarray(dones, dtype=float)
    next_dones = np.vstack([d[1:], np.zeros((1, d.shape[1]))])  # the done of the NEXT step
    return _gae_scan(rewards, values, next_dones, last_values, gamma, gamma * lam)


@mistake("gae_advantages/trace_across_episodes", "the trace runs across episode ends: multiply "
         "gamma * lam * A_{t+1} by (1 - d_t) too, so the next episode's advantages do not leak "
         "into this one", summary="ran the trace across episodes")
def _wrong_gae_trace_across_episodes(rewards, values, dones, last_values, gamma, lam):
    return _gae_scan(rewards, values, dones, last_values, gamma, gamma * lam, trace_dones=np.zeros(np.shape(dones)))


@mistake("gae_advantages/returns_without_values", "returns must be advantages + values (the "
         "critic's target R_t = A_t + V(s_t)), not the advantages alone",
         summary="returned the advantages as returns")
def _wrong_gae_returns_without_values(rewards, values, dones, last_values, gamma, lam):
    adv, _ = _gae_scan(rewards, values, dones, last_values, gamma, gamma * lam)
    return adv, adv.copy()  # the advantages alone


@mistake("gae_advantages/no_last_values", "last_values are not used: at the last step of the "
         "batch V_{t+1} is last_values (the episode goes on after the batch), not 0",
         summary="no bootstrap from last_values")
def _wrong_gae_no_last_values(rewards, values, dones, last_values, gamma, lam):
    no_bootstrap = np.zeros(np.shape(rewards)[1])  # V_T = 0 where the batch cuts an episode
    return _gae_scan(rewards, values, dones, no_bootstrap, gamma, gamma * lam)


@mistake("gae_advantages/lambda_without_gamma", "the trace decays by lam alone; it decays by "
         "gamma * lam: A_t = delta_t + gamma * lam * (1 - d_t) * A_{t+1}",
         summary="decayed the trace by lambda without gamma")
def _wrong_gae_lambda_without_gamma(rewards, values, dones, last_values, gamma, lam):
    return _gae_scan(rewards, values, dones, last_values, gamma, lam)  # lam alone, without gamma


@mistake("gae_advantages/delta_through_done", "the TD error bootstraps through an episode's end: "
         "where d_t = 1 there is no V(s_{t+1}), so delta_t = r_t - V_t",
         summary="bootstrapped delta across a done")
def _wrong_gae_delta_bootstraps_through_done(rewards, values, dones, last_values, gamma, lam):
    no_dones = np.zeros(np.shape(dones))  # delta bootstraps as if no episode ended
    return _gae_scan(rewards, values, no_dones, last_values, gamma, gamma * lam, trace_dones=dones)


@mistake("gae_advantages/integer_dtype", "integer rewards gave an integer result (np.zeros_like "
         "of integer rewards rounds every advantage); build the arrays as floats",
         summary="kept the integer dtype")
def _wrong_gae_integer_dtype(rewards, values, dones, last_values, gamma, lam):
    return _gae_scan(rewards, values, dones, last_values, gamma, gamma * lam, dtype=None)  # ints stay ints


exercise(Exercise("gae_advantages", LESSON, ac_math.gae_advantages,
                  alternatives=(_alt_gae_advantages,),
                  admits=("list", "int", "bool dones", "float dones", "batch of one", "lam 0", "lam 1"),
                  inputs="(T, N) batches with T in 6-12 and N in 1-4 (T != N), episode ends inside the batch and "
                         "an env running past its end, random last_values, gamma in (0.8, 0.99) and lambda in "
                         "(0.5, 0.95) plus lambda 0 and 1; bool, 0/1-float, list and integer inputs."))


# ------------------------------------------------------------------------------ ppo_clip_loss
def _alt_ppo_clip_loss(logp, logp_old, advantages, clip_ratio=0.2):
    ratio = torch.exp(logp - logp_old.detach())
    adv = advantages.detach()
    clipped_ratio = torch.where(adv >= 0, torch.clamp(ratio, max=1 + clip_ratio),
                                torch.clamp(ratio, min=1 - clip_ratio))
    return -(clipped_ratio * adv).mean()


@mistake("ppo_clip_loss/max_instead_of_min", "you took the max of the two terms; PPO takes the "
         "min (a pessimistic bound), so a step cannot profit from moving rho outside [1 - eps, 1 "
         "+ eps]", summary="max instead of min")
def _wrong_clip_max(logp, logp_old, advantages, clip_ratio=0.2):
    ratio = torch.exp(logp - logp_old.detach())
    clipped = torch.clamp(ratio, 1 - clip_ratio, 1 + clip_ratio)
    return -torch.max(ratio * advantages, clipped * advantages).mean()


@mistake("ppo_clip_loss/only_clipped_term", "only the clipped term is used; take min(rho * A, "
         "clip(rho, 1 - eps, 1 + eps) * A), so a ratio that moved the wrong way is still "
         "corrected", summary="only the clipped term")
def _wrong_clip_only_clipped(logp, logp_old, advantages, clip_ratio=0.2):
    ratio = torch.exp(logp - logp_old.detach())
    return -(torch.clamp(ratio, 1 - clip_ratio, 1 + clip_ratio) * advantages).mean()


@mistake("ppo_clip_loss/grad_into_logp_old", "the gradient flows into logp_old: it is the old "
         "policy's constant, so .detach() it before forming the ratio",
         summary="gradient into logp_old")
def _wrong_clip_grad_into_logp_old(logp, logp_old, advantages, clip_ratio=0.2):
    ratio = torch.exp(logp - logp_old)  # logp_old not detached
    clipped = torch.clamp(ratio, 1 - clip_ratio, 1 + clip_ratio)
    return -torch.min(ratio * advantages, clipped * advantages).mean()


@mistake("ppo_clip_loss/ratio_of_logs", "the ratio is of probabilities, rho = exp(logp "
         "- logp_old), not logp / logp_old", summary="ratio of log-probabilities")
def _wrong_clip_ratio_of_logs(logp, logp_old, advantages, clip_ratio=0.2):
    ratio = logp / logp_old.detach()  # a ratio of log-probabilities, not of probabilities
    clipped = torch.clamp(ratio, 1 - clip_ratio, 1 + clip_ratio)
    return -torch.min(ratio * advantages, clipped * advantages).mean()


@mistake("ppo_clip_loss/no_minus", "the minus sign is missing: the loss is minus the clipped "
         "objective, since the optimizer minimizes", summary="forgot the minus")
def _wrong_clip_no_minus(logp, logp_old, advantages, clip_ratio=0.2):
    ratio = torch.exp(logp - logp_old.detach())
    clipped = torch.clamp(ratio, 1 - clip_ratio, 1 + clip_ratio)
    return torch.min(ratio * advantages, clipped * advantages).mean()


@mistake("ppo_clip_loss/sum", "you summed over the batch; the loss is the mean",
         summary="summed instead of averaged")
def _wrong_clip_summed(logp, logp_old, advantages, clip_ratio=0.2):
    ratio = torch.exp(logp - logp_old.detach())
    clipped = torch.clamp(ratio, 1 - clip_ratio, 1 + clip_ratio)
    return -torch.min(ratio * advantages, clipped * advantages).sum()


@mistake("ppo_clip_loss/ratio_inverted", "the ratio is upside down: rho = pi_theta / pi_old "
         "= exp(logp - logp_old)", summary="inverted the ratio")
def _wrong_clip_ratio_inverted(logp, logp_old, advantages, clip_ratio=0.2):
    ratio = torch.exp(logp_old.detach() - logp)  # pi_old / pi, upside down
    clipped = torch.clamp(ratio, 1 - clip_ratio, 1 + clip_ratio)
    return -torch.min(ratio * advantages, clipped * advantages).mean()


exercise(Exercise("ppo_clip_loss", LESSON, ac_math.ppo_clip_loss,
                  alternatives=(_alt_ppo_clip_loss,),
                  admits=("float32", "float64", "batch of one", "logp_old requires grad", "explicit clip_ratio"),
                  inputs="batches of 6-30 log-probabilities with ratios spread over [0.5, 1.6] (inside and outside "
                         "the clip range, on both sides), advantages of both signs; a backward pass checks the "
                         "gradient with respect to logp and that none reaches logp_old or advantages."))


# ------------------------------------------------------------------------------ categorical_entropy
def _alt_categorical_entropy(logits):
    z = logits - logits.max(dim=-1, keepdim=True).values
    log_norm = torch.log(torch.exp(z).sum(dim=-1, keepdim=True))
    logp = z - log_norm
    return -(torch.softmax(logits, dim=-1) * logp).sum(dim=-1)


@mistake("categorical_entropy/log_of_softmax", "log(softmax(logits)) gives -inf where a "
         "probability underflows to 0, and 0 * -inf = nan; use torch.log_softmax(logits, dim=-1)",
         summary="log of softmax (nan for large logits)")
def _wrong_entropy_log_of_softmax(logits):
    p = torch.softmax(logits, dim=-1)
    return -(p * torch.log(p)).sum(dim=-1)  # log(0) = -inf, and 0 * -inf = nan


@mistake("categorical_entropy/no_minus", "the minus sign is missing: H = -sum_a pi(a) log pi(a) "
         ">= 0", summary="forgot the minus")
def _wrong_entropy_no_minus(logits):
    logp = torch.log_softmax(logits, dim=-1)
    return (logp.exp() * logp).sum(dim=-1)


@mistake("categorical_entropy/mean_over_actions", "you averaged over the actions; H sums pi(a) "
         "log pi(a) over them (.sum(dim=-1))", summary="mean over actions")
def _wrong_entropy_mean_over_actions(logits):
    logp = torch.log_softmax(logits, dim=-1)
    return -(logp.exp() * logp).mean(dim=-1)


@mistake("categorical_entropy/wrong_axis", "the softmax ran along the batch (dim=0); each row is "
         "one state's distribution over actions: dim=-1", summary="softmax along the wrong axis")
def _wrong_entropy_wrong_axis(logits):
    logp = torch.log_softmax(logits, dim=0)  # softmax down the batch
    return -(logp.exp() * logp).sum(dim=-1)


@mistake("categorical_entropy/bits", "that is the entropy in bits (log base 2); use the natural "
         "log: nats", summary="bits instead of nats")
def _wrong_entropy_log2(logits):
    p = torch.softmax(logits, dim=-1)
    return -(p * torch.log_softmax(logits, dim=-1) / np.log(2)).sum(dim=-1)  # bits, not nats


@mistake("categorical_entropy/batch_total", "return one entropy per row, shape (N,): sum over the "
         "actions only (dim=-1)", summary="summed over the batch")
def _wrong_entropy_batch_total(logits):
    logp = torch.log_softmax(logits, dim=-1)
    return -(logp.exp() * logp).sum()  # one number for the whole batch


@mistake("categorical_entropy/detached", "no gradient reaches the logits: the entropy bonus needs "
         "its graph, so do not .detach() the logits", summary="detached the logits")
def _wrong_entropy_detached(logits):
    logp = torch.log_softmax(logits.detach(), dim=-1)
    return -(logp.exp() * logp).sum(dim=-1)


exercise(Exercise("categorical_entropy", LESSON, ac_math.categorical_entropy,
                  alternatives=(_alt_categorical_entropy,),
                  admits=("float32", "float64", "huge logits", "batch of one"),
                  inputs="logits (N, A) with N in 2-9 and A in 2-6 (N != A), of moderate size and of magnitude "
                         "up to 1e4, float32 and float64; the graph to the logits is checked."))


# ------------------------------------------------------------------------------ explained_variance
def _alt_explained_variance(values, returns):
    v = np.asarray(values.detach() if isinstance(values, torch.Tensor) else values, dtype=float).ravel()
    r = np.asarray(returns.detach() if isinstance(returns, torch.Tensor) else returns, dtype=float).ravel()
    var_r = ((r - r.mean()) ** 2).mean()
    if var_r == 0:
        return float("nan")
    resid = r - v
    return float(1 - ((resid - resid.mean()) ** 2).mean() / var_r)


def _ev_formula(values, returns, formula, nan_when_constant="returns"):
    """float(formula(v, r)) of values and returns as float arrays (Tensors detached); nan when the
    values or returns (``nan_when_constant``; None: never) have no variance."""
    v = np.asarray(torch.as_tensor(values).detach(), dtype=float)
    r = np.asarray(torch.as_tensor(returns).detach(), dtype=float)
    if nan_when_constant and np.var(r if nan_when_constant == "returns" else v) == 0:
        return float("nan")
    return float(formula(v, r))


@mistake("explained_variance/mse_instead_of_variance", "you divided a mean squared error by "
         "Var[returns]; the numerator is the variance of the residuals, Var[returns - values] "
         "(their mean removed)", summary="mean squared error, not variance")
def _wrong_ev_mse(values, returns):
    return _ev_formula(values, returns, lambda v, r: 1 - np.mean((r - v) ** 2) / np.var(r))  # MSE, not variance


@mistake("explained_variance/var_of_values", "the denominator is Var[returns] (what the critic "
         "tries to explain), not Var[values]", summary="divided by Var[values]")
def _wrong_ev_var_of_values(values, returns):
    return _ev_formula(values, returns, lambda v, r: 1 - np.var(r - v) / np.var(v), nan_when_constant="values")


@mistake("explained_variance/no_one_minus", "that is the unexplained fraction; explained variance "
         "is 1 - Var[returns - values] / Var[returns]", summary="forgot 1 -")
def _wrong_ev_no_one_minus(values, returns):
    return _ev_formula(values, returns, lambda v, r: np.var(r - v) / np.var(r))


@mistake("explained_variance/zero_variance", "when Var[returns] is 0 the ratio is undefined: "
         "return float('nan') instead of dividing by zero", summary="divided by a zero variance")
def _wrong_ev_zero_variance(values, returns):
    # no guard: -inf (or nan) when Var[returns] = 0
    return _ev_formula(values, returns, lambda v, r: 1 - np.var(r - v) / np.var(r), nan_when_constant=None)


@mistake("explained_variance/returns_tensor", "return a Python float (float(...)), not a Tensor",
         summary="returned a Tensor")
def _wrong_ev_tensor(values, returns):
    v = torch.as_tensor(values, dtype=torch.float64)
    r = torch.as_tensor(returns, dtype=torch.float64)
    if r.var(correction=0) == 0:
        return torch.tensor(float("nan"), dtype=torch.float64)
    return 1 - (r - v).var(correction=0) / r.var(correction=0)  # a Tensor, not a float


exercise(Exercise("explained_variance", LESSON, ac_math.explained_variance,
                  alternatives=(_alt_explained_variance,),
                  admits=("array", "Tensor", "list", "constant returns", "2-D"),
                  inputs="values and returns of 8-40 elements whose residuals have a non-zero mean (so a mean "
                         "squared error differs from a variance), as arrays, float32 Tensors, lists and (T, N) "
                         "arrays, and constant returns (nan expected)."))


# ------------------------------------------------------------------------------ approx_kl
def _alt_approx_kl(logp, logp_old):
    lp = torch.as_tensor(logp, dtype=torch.float64).detach()
    lo = torch.as_tensor(logp_old, dtype=torch.float64).detach()
    ratio = torch.exp(lp - lo)
    return float(((ratio - 1) - torch.log(ratio)).mean())


@mistake("approx_kl/naive", "mean(logp_old - logp) is an unbiased but noisy estimate that can go "
         "negative; use mean((rho - 1) - log rho) with rho = exp(logp - logp_old)",
         summary="mean of logp_old - logp")
def _wrong_kl_naive(logp, logp_old):
    log_ratio = torch.as_tensor(logp).detach() - torch.as_tensor(logp_old).detach()
    return float((-log_ratio).mean())  # mean(logp_old - logp): can be negative


@mistake("approx_kl/ratio_inverted", "the ratio is upside down: rho = exp(logp - logp_old) (new "
         "over old; the actions came from the old policy)", summary="inverted the ratio")
def _wrong_kl_ratio_inverted(logp, logp_old):
    log_ratio = torch.as_tensor(logp_old).detach() - torch.as_tensor(logp).detach()
    return float((torch.exp(log_ratio) - 1 - log_ratio).mean())


@mistake("approx_kl/signs_swapped", "the signs are swapped: each term (rho - 1) - log rho is >= 0",
         summary="swapped the signs")
def _wrong_kl_signs_swapped(logp, logp_old):
    log_ratio = torch.as_tensor(logp).detach() - torch.as_tensor(logp_old).detach()
    return float((log_ratio - (torch.exp(log_ratio) - 1)).mean())


@mistake("approx_kl/k2", "that is 0.5 (log rho)^2 (another estimator); the contract's is "
         "mean((rho - 1) - log rho)", summary="used 0.5 (log rho)^2")
def _wrong_kl_k2(logp, logp_old):
    log_ratio = torch.as_tensor(logp).detach() - torch.as_tensor(logp_old).detach()
    return float((0.5 * log_ratio ** 2).mean())


@mistake("approx_kl/returns_tensor", "return a Python float (float(...)), not a Tensor",
         summary="returned a Tensor")
def _wrong_kl_tensor(logp, logp_old):
    log_ratio = torch.as_tensor(logp).detach() - torch.as_tensor(logp_old).detach()
    return ((torch.exp(log_ratio) - 1) - log_ratio).mean()  # a Tensor, not a float


@mistake("approx_kl/sum", "you summed over the batch; the estimate is the mean",
         summary="summed instead of averaged")
def _wrong_kl_summed(logp, logp_old):
    log_ratio = torch.as_tensor(logp).detach() - torch.as_tensor(logp_old).detach()
    return float((torch.exp(log_ratio) - 1 - log_ratio).sum())


exercise(Exercise("approx_kl", LESSON, ac_math.approx_kl,
                  alternatives=(_alt_approx_kl,),
                  admits=("array", "Tensor", "list", "identical policies"),
                  inputs="8-40 log-probabilities whose ratios spread over [0.4, 2.2], as arrays, float32 Tensors "
                         "(one requiring grad) and lists, and identical old and new log-probabilities (0 expected)."))
