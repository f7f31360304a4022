"""Lesson 09 (continuous control): the five DDPG/TD3/SAC pieces and their named mistakes.

Each ``_wrong_*`` function is a realistic wrong answer, written as a learner would; each
``_alt_*`` a correct answer in another style than the reference (``rlcore.continuous``).
"""

from __future__ import annotations

import math

import torch

from .. import continuous
from . import Exercise, exercise, mistake

LESSON = "09-continuous-control"


# ------------------------------------------------------------------------------ squashed_gaussian_log_prob
def _alt_squashed_gaussian_log_prob(u, mu, log_std):
    base = torch.distributions.Normal(mu, torch.exp(log_std)).log_prob(u).sum(-1)
    # log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u))
    return base - (2 * (math.log(2.0) - u - torch.nn.functional.softplus(-2 * u))).sum(-1)


def _alt_squashed_gaussian_log_prob_logcosh(u, mu, log_std):
    z = (u - mu) / log_std.exp()
    gauss = (-0.5 * z ** 2 - log_std - 0.5 * math.log(2 * math.pi)).sum(dim=-1)
    # 1 - tanh^2 = 1 / cosh^2, and log cosh(u) = |u| + log(1 + e^(-2|u|)) - log 2
    log_cosh = u.abs() + torch.log1p(torch.exp(-2 * u.abs())) - math.log(2.0)
    return gauss + 2 * log_cosh.sum(dim=-1)


def _gaussian_log_density(x, mu, log_std):
    """log N(x; mu, exp(log_std)^2), summed over the last axis."""
    return (-0.5 * ((x - mu) / torch.exp(log_std)) ** 2 - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)


def _log_tanh_jacobian(u):
    """sum_i log(1 - tanh(u_i)^2), by the exact identity 2 (log 2 - u - softplus(-2u))."""
    return (2 * (math.log(2.0) - u - torch.nn.functional.softplus(-2 * u))).sum(-1)


@mistake("squashed_gaussian_log_prob/no_correction", "the tanh correction is missing: a = tanh(u) "
         "changes the density, subtract sum_i log(1 - tanh(u_i)^2) from the Gaussian's "
         "log-density", summary="left out the tanh correction")
def _wrong_sglp_no_correction(u, mu, log_std):
    return _gaussian_log_density(u, mu, log_std)


@mistake("squashed_gaussian_log_prob/eps_in_log", "log(1 - tanh(u)^2 + eps) is wrong for large "
         "|u|: in float32 tanh(u) rounds to 1 and the log stops near log(eps); use the exact "
         "identity log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u))",
         summary="eps inside the log of the correction")
def _wrong_sglp_eps_in_log(u, mu, log_std):
    return _gaussian_log_density(u, mu, log_std) - torch.log(1 - torch.tanh(u) ** 2 + 1e-6).sum(-1)


@mistake("squashed_gaussian_log_prob/naive_log", "log(1 - tanh(u)^2) is log(0) = -inf once "
         "tanh(u) rounds to 1 (|u| > 9 in float32), so log pi becomes inf; use the exact identity "
         "log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u))",
         summary="naive log(1 - tanh^2): inf for large |u|")
def _wrong_sglp_naive_log(u, mu, log_std):
    return _gaussian_log_density(u, mu, log_std) - torch.log(1 - torch.tanh(u) ** 2).sum(-1)


@mistake("squashed_gaussian_log_prob/correction_sign", "the correction's sign is flipped: log "
         "pi(a|s) = log N(u) MINUS sum_i log(1 - tanh(u_i)^2)", summary="added the correction")
def _wrong_sglp_correction_sign(u, mu, log_std):
    return _gaussian_log_density(u, mu, log_std) + _log_tanh_jacobian(u)  # added


@mistake("squashed_gaussian_log_prob/correction_at_mu", "the correction uses mu; it is the "
         "Jacobian of a = tanh(u) at the sample u itself", summary="correction at mu instead of u")
def _wrong_sglp_correction_at_mu(u, mu, log_std):
    return _gaussian_log_density(u, mu, log_std) - _log_tanh_jacobian(mu)  # at mu, not u


@mistake("squashed_gaussian_log_prob/gaussian_of_action", "the Gaussian density is of u (before "
         "the squashing), not of a = tanh(u): evaluate N(u; mu, sigma^2)",
         summary="Gaussian density at tanh(u)")
def _wrong_sglp_gaussian_of_action(u, mu, log_std):
    a = torch.tanh(u)  # the Gaussian density evaluated at the squashed action
    return _gaussian_log_density(a, mu, log_std) - _log_tanh_jacobian(u)


exercise(Exercise("squashed_gaussian_log_prob", LESSON, continuous.squashed_gaussian_log_prob,
                  alternatives=(_alt_squashed_gaussian_log_prob, _alt_squashed_gaussian_log_prob_logcosh),
                  namespace={"math": math},
                  admits=("float32", "float64", "log_std (d,)", "log_std (N, d)", "large |u|"),
                  inputs="u, mu of shape (N, d) with N in 3-12, d in 1-3, log_std (d,) or (N, d) in [-1.5, 0.5], "
                         "float32 and float64, and float32 rows whose |u| reaches 10-15 (where tanh(u) rounds to 1); "
                         "the gradient with respect to u, mu and log_std is checked by a backward pass."))


# ------------------------------------------------------------------------------ smoothed_target_actions
def _alt_smoothed_target_actions(actions, noise, noise_clip, low, high):
    eps = torch.maximum(torch.minimum(noise, torch.full_like(noise, noise_clip)),
                        torch.full_like(noise, -noise_clip))
    lo = torch.as_tensor(low, dtype=actions.dtype)
    hi = torch.as_tensor(high, dtype=actions.dtype)
    return torch.maximum(torch.minimum(actions + eps, hi), lo)


@mistake("smoothed_target_actions/no_noise_clip", "the noise is not clipped: clip it to "
         "[-noise_clip, noise_clip] before adding it", summary="noise not clipped")
def _wrong_sta_no_noise_clip(actions, noise, noise_clip, low, high):
    return torch.clamp(actions + noise, low, high)


@mistake("smoothed_target_actions/no_action_clip", "the smoothed action can leave the action "
         "bounds: clip actions + noise to [low, high]", summary="result not clipped to the bounds")
def _wrong_sta_no_action_clip(actions, noise, noise_clip, low, high):
    return actions + torch.clamp(noise, -noise_clip, noise_clip)


@mistake("smoothed_target_actions/one_sided", "the noise is clipped on one side only: clip it to "
         "[-noise_clip, +noise_clip]", summary="one-sided noise clip")
def _wrong_sta_one_sided(actions, noise, noise_clip, low, high):
    return torch.clamp(actions + torch.clamp(noise, max=noise_clip), low, high)


@mistake("smoothed_target_actions/noise_to_bounds", "the noise was clipped to the action bounds; "
         "clip it to [-noise_clip, noise_clip]", summary="noise clipped to the action bounds")
def _wrong_sta_noise_to_bounds(actions, noise, noise_clip, low, high):
    return torch.clamp(actions + torch.clamp(noise, low, high), low, high)


exercise(Exercise("smoothed_target_actions", LESSON, continuous.smoothed_target_actions,
                  alternatives=(_alt_smoothed_target_actions,),
                  admits=("float bounds", "(d,) bounds", "float32", "float64", "batch of one"),
                  inputs="actions (B, d) with B in 4-20, d in 1-3, noise with entries beyond +-noise_clip of "
                         "both signs, actions near both bounds, float bounds and (d,) Tensor bounds that differ "
                         "per dimension, float32 and float64; a batch of one."))


# ------------------------------------------------------------------------------ clipped_double_q_targets
def _alt_clipped_double_q_targets(rewards, next_q1, next_q2, dones, gamma):
    not_done = 1.0 - torch.as_tensor(dones).to(next_q1.dtype)
    smaller = torch.stack([next_q1, next_q2]).min(dim=0).values
    return (rewards + gamma * not_done * smaller).detach()


@mistake("clipped_double_q_targets/max", "you took the max of the two critics; TD3 takes the MIN, "
         "so that the error of one critic cannot push the target up (overestimation)",
         summary="max of the critics instead of the min")
def _wrong_cdq_max(rewards, next_q1, next_q2, dones, gamma):
    with torch.no_grad():
        return rewards + gamma * (1 - dones.float()) * torch.max(next_q1, next_q2)


@mistake("clipped_double_q_targets/mean", "you averaged the two critics; take their min: the "
         "average keeps half of the overestimation",
         summary="mean of the critics instead of the min")
def _wrong_cdq_mean(rewards, next_q1, next_q2, dones, gamma):
    with torch.no_grad():
        return rewards + gamma * (1 - dones.float()) * (next_q1 + next_q2) / 2


@mistake("clipped_double_q_targets/only_q1", "only the first critic is used; the target takes "
         "min(next_q1, next_q2)", summary="ignored the second critic")
def _wrong_cdq_only_q1(rewards, next_q1, next_q2, dones, gamma):
    with torch.no_grad():
        return rewards + gamma * (1 - dones.float()) * next_q1


@mistake("clipped_double_q_targets/no_done_mask", "(1 - done) is missing: a terminal transition "
         "has no future, so its target is r alone", summary="bootstrapped through terminal states")
def _wrong_cdq_no_done_mask(rewards, next_q1, next_q2, dones, gamma):
    with torch.no_grad():
        return rewards + gamma * torch.min(next_q1, next_q2)


@mistake("clipped_double_q_targets/no_gamma", "the discount gamma is missing in front of the "
         "bootstrapped value", summary="left out gamma")
def _wrong_cdq_no_gamma(rewards, next_q1, next_q2, dones, gamma):
    with torch.no_grad():
        return rewards + (1 - dones.float()) * torch.min(next_q1, next_q2)


@mistake("clipped_double_q_targets/requires_grad", "the targets require grad: the target is a "
         "constant, so compute it under torch.no_grad() (or .detach() it)",
         summary="targets carry a gradient")
def _wrong_cdq_requires_grad(rewards, next_q1, next_q2, dones, gamma):
    return rewards + gamma * (1 - dones.float()) * torch.min(next_q1, next_q2)


@mistake("clipped_double_q_targets/bool_dones", "dones is a bool Tensor: convert with "
         "dones.float() before 1 - dones", summary="1 - dones on bool dones", by_value=False,
         raises="Subtraction, the `-` operator, with a bool tensor")
def _wrong_cdq_bool_dones(rewards, next_q1, next_q2, dones, gamma):
    with torch.no_grad():
        return rewards + gamma * (1 - dones) * torch.min(next_q1, next_q2)


exercise(Exercise("clipped_double_q_targets", LESSON, continuous.clipped_double_q_targets,
                  alternatives=(_alt_clipped_double_q_targets,),
                  admits=("bool dones", "float dones", "float32", "float64", "batch of one"),
                  inputs="minibatches of 5-30 transitions, next-Q values of two critics that each win the min "
                         "somewhere, at least one terminal and one non-terminal, bool and 0/1-float dones, "
                         "float32 and float64, next-Q values that require grad, gammas in (0.5, 0.99); a batch of one."))


# ------------------------------------------------------------------------------ sac_targets
def _alt_sac_targets(rewards, next_q1, next_q2, next_logp, dones, gamma, alpha):
    alpha = float(alpha)
    with torch.no_grad():
        soft_value = torch.where(next_q1 < next_q2, next_q1, next_q2) - alpha * next_logp
        return rewards + gamma * (1 - torch.as_tensor(dones, dtype=next_q1.dtype)) * soft_value


@mistake("sac_targets/entropy_sign", "alpha * log pi was added: the soft value is min Q - alpha "
         "log pi (an entropy BONUS, and -log pi is the entropy)", summary="added alpha * logp")
def _wrong_sac_entropy_sign(rewards, next_q1, next_q2, next_logp, dones, gamma, alpha):
    with torch.no_grad():
        return rewards + gamma * (1 - dones.float()) * (torch.min(next_q1, next_q2) + alpha * next_logp)


@mistake("sac_targets/entropy_outside", "the entropy term sits outside the discounted bootstrap: "
         "it belongs to the soft value of s', so y = r + gamma (1 - d) (min Q - alpha log pi)",
         summary="entropy term outside the bootstrap")
def _wrong_sac_entropy_outside(rewards, next_q1, next_q2, next_logp, dones, gamma, alpha):
    with torch.no_grad():
        return rewards + gamma * (1 - dones.float()) * torch.min(next_q1, next_q2) - alpha * next_logp


@mistake("sac_targets/no_entropy", "the entropy term is missing: SAC's target uses the soft value "
         "min Q(s', a') - alpha log pi(a'|s')", summary="left out - alpha * logp")
def _wrong_sac_no_entropy(rewards, next_q1, next_q2, next_logp, dones, gamma, alpha):
    with torch.no_grad():
        return rewards + gamma * (1 - dones.float()) * torch.min(next_q1, next_q2)


@mistake("sac_targets/max", "you took the max of the two critics; TD3 takes the MIN, so that the "
         "error of one critic cannot push the target up (overestimation)",
         summary="max of the critics instead of the min")
def _wrong_sac_max(rewards, next_q1, next_q2, next_logp, dones, gamma, alpha):
    with torch.no_grad():
        return rewards + gamma * (1 - dones.float()) * (torch.max(next_q1, next_q2) - alpha * next_logp)


@mistake("sac_targets/mean", "you averaged the two critics; take their min: the average keeps "
         "half of the overestimation", summary="mean of the critics instead of the min")
def _wrong_sac_mean(rewards, next_q1, next_q2, next_logp, dones, gamma, alpha):
    with torch.no_grad():
        return rewards + gamma * (1 - dones.float()) * ((next_q1 + next_q2) / 2 - alpha * next_logp)


@mistake("sac_targets/no_done_mask", "(1 - done) is missing: a terminal transition has no future, "
         "so its target is r alone", summary="bootstrapped through terminal states")
def _wrong_sac_no_done_mask(rewards, next_q1, next_q2, next_logp, dones, gamma, alpha):
    with torch.no_grad():
        return rewards + gamma * (torch.min(next_q1, next_q2) - alpha * next_logp)


@mistake("sac_targets/requires_grad", "the targets require grad: the target is a constant, so "
         "compute it under torch.no_grad() (or .detach() it)", summary="targets carry a gradient")
def _wrong_sac_requires_grad(rewards, next_q1, next_q2, next_logp, dones, gamma, alpha):
    return rewards + gamma * (1 - dones.float()) * (torch.min(next_q1, next_q2) - alpha * next_logp)


@mistake("sac_targets/bool_dones", "dones is a bool Tensor: convert with dones.float() before 1 "
         "- dones", summary="1 - dones on bool dones", by_value=False,
         raises="Subtraction, the `-` operator, with a bool tensor")
def _wrong_sac_bool_dones(rewards, next_q1, next_q2, next_logp, dones, gamma, alpha):
    with torch.no_grad():
        return rewards + gamma * (1 - dones) * (torch.min(next_q1, next_q2) - alpha * next_logp)


exercise(Exercise("sac_targets", LESSON, continuous.sac_targets,
                  alternatives=(_alt_sac_targets,),
                  admits=("bool dones", "float dones", "float32", "float64", "float alpha", "Tensor alpha",
                          "batch of one"),
                  inputs="minibatches of 5-30 transitions as for clipped_double_q_targets, next log-probabilities "
                         "in (-3, 2), alpha a float or a 0-dim Tensor that requires grad, in (0.05, 0.8)."))


# ------------------------------------------------------------------------------ sac_policy_loss
def _alt_sac_policy_loss(q1, q2, logp, alpha):
    a = alpha.item() if isinstance(alpha, torch.Tensor) else alpha
    q = torch.stack([q1, q2], dim=0).min(dim=0).values
    return torch.mean(a * logp - q)


def _constant(alpha):
    """alpha as a constant of the policy loss: detached if it is a Tensor."""
    return alpha.detach() if isinstance(alpha, torch.Tensor) else alpha


@mistake("sac_policy_loss/sign", "the signs are flipped: the actor MINIMISES mean(alpha log pi "
         "- min Q), i.e. maximises the soft value", summary="flipped the signs")
def _wrong_spl_sign(q1, q2, logp, alpha):
    return (torch.min(q1, q2) - _constant(alpha) * logp).mean()


@mistake("sac_policy_loss/logp_detached", "log pi was detached: the entropy term must push on the "
         "actor too, keep logp in the graph", summary="detached logp")
def _wrong_spl_logp_detached(q1, q2, logp, alpha):
    return (_constant(alpha) * logp.detach() - torch.min(q1, q2)).mean()


@mistake("sac_policy_loss/pushes_alpha", "the policy loss sends a gradient into alpha; alpha is a "
         "constant here (it has its own loss): use alpha.detach() or a float",
         summary="gradient into alpha")
def _wrong_spl_pushes_alpha(q1, q2, logp, alpha):
    return (alpha * logp - torch.min(q1, q2)).mean()


@mistake("sac_policy_loss/max", "you took the max of the critics; the actor climbs the "
         "pessimistic estimate min(q1, q2)", summary="max of the critics")
def _wrong_spl_max(q1, q2, logp, alpha):
    return (_constant(alpha) * logp - torch.max(q1, q2)).mean()


@mistake("sac_policy_loss/only_q1", "only the first critic is used; take min(q1, q2)",
         summary="ignored the second critic")
def _wrong_spl_only_q1(q1, q2, logp, alpha):
    return (_constant(alpha) * logp - q1).mean()


@mistake("sac_policy_loss/sum", "you summed over the batch; the loss is the mean",
         summary="summed instead of averaged")
def _wrong_spl_sum(q1, q2, logp, alpha):
    return (_constant(alpha) * logp - torch.min(q1, q2)).sum()


@mistake("sac_policy_loss/no_entropy", "the entropy term alpha * log pi is missing",
         summary="left out alpha * logp")
def _wrong_spl_no_entropy(q1, q2, logp, alpha):
    return -torch.min(q1, q2).mean()


@mistake("sac_policy_loss/not_a_tensor", "return the Tensor itself (no .item(), float() or "
         ".numpy()), so the gradient can flow back to the actor", summary="returned a float")
def _wrong_spl_item(q1, q2, logp, alpha):
    return (_constant(alpha) * logp - torch.min(q1, q2)).mean().item()


exercise(Exercise("sac_policy_loss", LESSON, continuous.sac_policy_loss,
                  alternatives=(_alt_sac_policy_loss,),
                  admits=("float alpha", "Tensor alpha", "float32", "float64", "batch of one"),
                  inputs="q1, q2, logp of 4-30 samples requiring grad (each critic the smaller somewhere), alpha "
                         "a float or a 0-dim Tensor that requires grad; value and the gradients with respect to "
                         "q1, q2, logp and alpha by a backward pass."))
