"""Lesson 03 (policies): categorical_log_prob, categorical_sample, gaussian_log_prob and their named mistakes.

Each ``_wrong_*`` function is a realistic wrong answer, written as a learner would; each
``_alt_*`` a correct answer in another style than the reference. The sampler's mistakes are
random draws, so no wrong sampler reproduces a learner's output exactly (``by_value=False``):
its judge recognises them by their behaviour (the distribution of many draws, their shape,
dtype and reproducibility).
"""

from __future__ import annotations

import math

import torch

from .. import policies
from . import Exercise, exercise, mistake

LESSON = "03-policies"
GATHER = "pick each row's action with .gather(-1, actions.unsqueeze(-1)).squeeze(-1)"


# ------------------------------------------------------------------------------ categorical_log_prob
def _alt_categorical_log_prob(logits, actions):
    return torch.distributions.Categorical(logits=logits).log_prob(actions)


def _alt_categorical_log_prob_indexing(logits, actions):
    m = logits.max(dim=-1, keepdim=True).values
    lse = m.squeeze(-1) + torch.log(torch.exp(logits - m).sum(dim=-1))
    return logits[torch.arange(logits.shape[0]), actions] - lse


@mistake("categorical_log_prob/log_of_softmax", "softmax then log underflows: a tiny probability "
         "rounds to 0 and log(0) = -inf for large logits; compute z_a - logsumexp(z) with "
         "torch.log_softmax(logits, dim=-1)", summary="took log(softmax)")
def _wrong_clp_log_of_softmax(logits, actions):
    return torch.log(torch.softmax(logits, dim=-1)).gather(-1, actions.unsqueeze(-1)).squeeze(-1)


@mistake("categorical_log_prob/eps_in_log", "adding a small eps inside the log hides the "
         "underflow but gives the wrong value (log(p + 1e-8) is -18.4 where log pi is -1e4); "
         "compute z_a - logsumexp(z) with torch.log_softmax", summary="added eps inside the log")
def _wrong_clp_eps_in_log(logits, actions):
    probs = torch.softmax(logits, dim=-1)
    return torch.log(probs + 1e-8).gather(-1, actions.unsqueeze(-1)).squeeze(-1)


@mistake("categorical_log_prob/no_max_shift", "exp(z) overflows for large logits (exp(1e4) "
         "= inf): subtract the max first, or use torch.logsumexp / torch.log_softmax",
         summary="no max shift in logsumexp")
def _wrong_clp_no_max_shift(logits, actions):
    z = logits.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
    return z - torch.log(torch.exp(logits).sum(dim=-1))


@mistake("categorical_log_prob/wrong_dim", "log_softmax over the wrong dim: normalize over the "
         "actions of each row (dim=-1)", summary="normalized over the batch")
def _wrong_clp_wrong_dim(logits, actions):
    return torch.log_softmax(logits, dim=0).gather(-1, actions.unsqueeze(-1)).squeeze(-1)


@mistake("categorical_log_prob/probabilities", "you returned probabilities pi(a|s); return their "
         "logarithm", summary="returned probabilities")
def _wrong_clp_probabilities(logits, actions):
    return torch.softmax(logits, dim=-1).gather(-1, actions.unsqueeze(-1)).squeeze(-1)


@mistake("categorical_log_prob/raw_logit", "the raw logit z_a is not a log-probability: subtract "
         "logsumexp(z)", summary="returned the raw logit")
def _wrong_clp_raw_logit(logits, actions):
    return logits.gather(-1, actions.unsqueeze(-1)).squeeze(-1)


@mistake("categorical_log_prob/sign_flipped", "the sign is flipped: log pi(a|s) = z_a "
         "- logsumexp(z) <= 0", summary="flipped the sign")
def _wrong_clp_sign_flipped(logits, actions):
    z = logits.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
    return torch.logsumexp(logits, dim=-1) - z


@mistake("categorical_log_prob/every_action", "you returned every action's log-probability, shape "
         "(N, A); pick each row's action with .gather(-1, actions.unsqueeze(-1)).squeeze(-1)",
         summary="returned all actions")
def _wrong_clp_every_action(logits, actions):
    return torch.log_softmax(logits, dim=-1)


@mistake("categorical_log_prob/matrix_index", "lp[:, actions] gives an (N, N) matrix; index with "
         "lp[torch.arange(N), actions]", summary="indexed lp[:, actions]")
def _wrong_clp_matrix_index(logits, actions):
    return torch.log_softmax(logits, dim=-1)[:, actions]


@mistake("categorical_log_prob/whole_rows", "lp[actions] picks whole rows; index with "
         "lp[torch.arange(N), actions]", summary="indexed lp[actions]")
def _wrong_clp_whole_rows(logits, actions):
    return torch.log_softmax(logits, dim=-1)[actions]


@mistake("categorical_log_prob/gather_dim0", "gather along dim 0 picks lp[a_i, 0]; gather along "
         "the action dim: .gather(-1, actions.unsqueeze(-1))", summary="gathered along dim 0")
def _wrong_clp_gather_dim0(logits, actions):
    return torch.log_softmax(logits, dim=-1).gather(0, actions.unsqueeze(-1)).squeeze(-1)


@mistake("categorical_log_prob/squeeze_all", ".squeeze() also drops the batch dim of a batch of "
         "one (shape () instead of (1,)); squeeze only the last dim: .squeeze(-1)",
         summary="squeezed every dim")
def _wrong_clp_squeeze_all(logits, actions):
    return torch.log_softmax(logits, dim=-1).gather(-1, actions.unsqueeze(-1)).squeeze()


@mistake("categorical_log_prob/changes_dtype", "keep the dtype of logits (no .float() or "
         "torch.tensor(..., dtype=...))", summary="changed the dtype")
def _wrong_clp_float32(logits, actions):
    return torch.log_softmax(logits.float(), dim=-1).gather(-1, actions.unsqueeze(-1)).squeeze(-1)


exercise(Exercise("categorical_log_prob", LESSON, policies.categorical_log_prob,
                  alternatives=(_alt_categorical_log_prob, _alt_categorical_log_prob_indexing),
                  admits=("float32", "float64", "batch of one", "magnitude 1e4"),
                  inputs="logits of 5-9 rows (more rows than actions) and 3-5 actions: float64 (normal, scale 3), "
                         "float32 (scale 2), float64 with magnitudes up to 1e4 (where log(softmax) gives -inf), and "
                         "a batch of one; every case includes a very unlikely action."))


# ------------------------------------------------------------------------------ categorical_sample
def _alt_categorical_sample_gumbel(logits, generator=None):
    # Gumbel-max: argmax_a (z_a + g_a) with g_a = -log(-log u_a) is distributed as softmax(z)
    u = torch.rand(logits.shape, generator=generator, dtype=logits.dtype)
    return (logits - torch.log(-torch.log(u))).argmax(dim=-1)


def _alt_categorical_sample_inverse_cdf(logits, generator=None):
    cdf = torch.softmax(logits, dim=-1).cumsum(dim=-1)
    u = torch.rand(logits.shape[:-1] + (1,), generator=generator, dtype=cdf.dtype)
    return (u > cdf).sum(dim=-1).clamp(max=logits.shape[-1] - 1)


@mistake("categorical_sample/argmax", "sampling must be random, a ~ softmax(logits), not "
         "argmax(logits)", summary="took the argmax", by_value=False)
def _wrong_cs_argmax(logits, generator=None):
    return logits.argmax(dim=-1)


@mistake("categorical_sample/wrong_dim", "softmax over the wrong dim: normalize each row over its "
         "actions (dim=-1)", summary="softmax over the batch", by_value=False)
def _wrong_cs_wrong_dim(logits, generator=None):
    probs = torch.softmax(logits, dim=0)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


@mistake("categorical_sample/ignores_logits", "the logits are ignored (uniform actions): draw "
         "from softmax(logits)", summary="ignored the logits", by_value=False)
def _wrong_cs_ignores_logits(logits, generator=None):
    return torch.randint(0, logits.shape[-1], logits.shape[:-1], generator=generator)


@mistake("categorical_sample/sign_flipped", "the sign of the logits is flipped: large logits must "
         "be likely, softmax(logits), not softmax(-logits)", summary="flipped the sign",
         by_value=False)
def _wrong_cs_sign_flipped(logits, generator=None):
    probs = torch.softmax(-logits, dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


@mistake("categorical_sample/softmax_twice", "softmax was applied twice (to probabilities): apply "
         "it once, to the logits", summary="applied softmax twice", by_value=False)
def _wrong_cs_softmax_twice(logits, generator=None):
    probs = torch.softmax(torch.softmax(logits, dim=-1), dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


@mistake("categorical_sample/no_squeeze", "squeeze the last dim: torch.multinomial(p, 1) has "
         "shape (N, 1), the actions have shape (N,)", summary="returned shape (N, 1)",
         by_value=False)
def _wrong_cs_no_squeeze(logits, generator=None):
    return torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=generator)


@mistake("categorical_sample/squeeze_all", ".squeeze() also drops the batch dim of a batch of one "
         "(shape () instead of (1,)); squeeze only the last dim: .squeeze(-1)",
         summary="squeezed every dim", by_value=False)
def _wrong_cs_squeeze_all(logits, generator=None):
    return torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=generator).squeeze()


@mistake("categorical_sample/not_long", "actions are indices: return a LongTensor (int64), e.g. "
         "with .long()", summary="returned a float Tensor", by_value=False)
def _wrong_cs_float(logits, generator=None):
    return torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=generator).squeeze(-1).float()


@mistake("categorical_sample/exp_overflow", "exp(logits) overflows to inf for large logits (inf "
         "/ inf = nan): use torch.softmax(logits, -1), which subtracts the max first",
         summary="exp overflowed", by_value=False)
def _wrong_cs_exp_overflow(logits, generator=None):
    p = torch.exp(logits)
    p = p / p.sum(dim=-1, keepdim=True)
    return torch.multinomial(p, 1, generator=generator).squeeze(-1)


@mistake("categorical_sample/logits_as_probs", "torch.multinomial needs probabilities >= 0: pass "
         "torch.softmax(logits, -1), not the logits", summary="passed logits to multinomial",
         by_value=False)
def _wrong_cs_logits_as_probs(logits, generator=None):
    return torch.multinomial(logits, 1, generator=generator).squeeze(-1)


@mistake("categorical_sample/generator_ignored", "the generator is ignored: pass "
         "generator=generator to torch.multinomial (or torch.rand); "
         "torch.distributions.Categorical(...).sample() cannot take one",
         summary="ignored the generator", by_value=False)
def _wrong_cs_generator_ignored(logits, generator=None):
    return torch.multinomial(torch.softmax(logits, dim=-1), 1).squeeze(-1)


@mistake("categorical_sample/fixed_seed", "different seeds gave the same actions: use the "
         "generator you are given, do not create or re-seed one inside the function",
         summary="seeded its own generator", by_value=False)
def _wrong_cs_fixed_seed(logits, generator=None):
    generator = torch.Generator().manual_seed(0)
    return torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=generator).squeeze(-1)


@mistake("categorical_sample/generator_required", "generator must be optional: def "
         "categorical_sample(logits, generator=None), and None uses torch's global random numbers",
         summary="required a generator", by_value=False)
def _wrong_cs_generator_required(logits, generator):
    return torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=generator).squeeze(-1)


@mistake("categorical_sample/no_generator_argument", "the function must accept generator=None and "
         "pass it on (torch.multinomial(..., generator=generator))",
         summary="no generator argument", by_value=False)
def _wrong_cs_no_generator_argument(logits):
    return torch.multinomial(torch.softmax(logits, dim=-1), 1).squeeze(-1)


exercise(Exercise("categorical_sample", LESSON, policies.categorical_sample,
                  alternatives=(_alt_categorical_sample_gumbel, _alt_categorical_sample_inverse_cdf),
                  admits=("float32", "float64", "batch of one"),
                  inputs="rows of logits (a shuffled, jittered spread of four values in float64 with the second "
                         "row reversed and the third a copy of the first; of three values in float32 with the "
                         "second row reversed and shifted by +100, where a naive exp overflows), tiled to 10,000 "
                         "draws per row and sampled with one seeded torch.Generator; frequencies judged by a "
                         "likelihood-ratio chi-square test whose threshold makes a correct sampler fail with "
                         "probability below 1e-10 per case; two fresh generators with one seed, another seed, no "
                         "generator, and a batch of one."))


# ------------------------------------------------------------------------------ gaussian_log_prob
def _alt_gaussian_log_prob(x, mu, log_std):
    return torch.distributions.Normal(mu, torch.exp(log_std)).log_prob(x).sum(-1)


@mistake("gaussian_log_prob/no_constant", "the constant -0.5 log(2 pi) per dimension is missing",
         summary="left out -0.5 log(2 pi)")
def _wrong_glp_no_constant(x, mu, log_std):
    return (-0.5 * ((x - mu) / log_std.exp()) ** 2 - log_std).sum(-1)


@mistake("gaussian_log_prob/log_std_as_std", "log_std was used as the standard deviation (and "
         "log(log_std) is nan where log_std < 0): sigma = exp(log_std)",
         summary="used log_std as sigma")
def _wrong_glp_log_std_as_std(x, mu, log_std):
    return (-0.5 * ((x - mu) / log_std) ** 2 - torch.log(log_std) - 0.5 * math.log(2 * math.pi)).sum(-1)


@mistake("gaussian_log_prob/no_sum", "no sum over the action dimensions: log pi(a|s) = sum_i log "
         "N(a_i; mu_i, sigma_i), one number per row (.sum(-1))",
         summary="did not sum over dimensions")
def _wrong_glp_no_sum(x, mu, log_std):
    return -0.5 * ((x - mu) / log_std.exp()) ** 2 - log_std - 0.5 * math.log(2 * math.pi)


@mistake("gaussian_log_prob/sum_all", "you summed over the whole batch: sum over the last "
         "dimension only (.sum(-1)), one number per row", summary="summed over the batch")
def _wrong_glp_sum_all(x, mu, log_std):
    return (-0.5 * ((x - mu) / log_std.exp()) ** 2 - log_std - 0.5 * math.log(2 * math.pi)).sum()


@mistake("gaussian_log_prob/mean", "mean over the action dimensions instead of the sum",
         summary="averaged over dimensions")
def _wrong_glp_mean(x, mu, log_std):
    return (-0.5 * ((x - mu) / log_std.exp()) ** 2 - log_std - 0.5 * math.log(2 * math.pi)).mean(-1)


@mistake("gaussian_log_prob/divides_by_std", "variance/std confusion: divide (x - mu)^2 by "
         "sigma^2, not sigma", summary="divided by sigma, not sigma^2")
def _wrong_glp_divides_by_std(x, mu, log_std):
    return (-0.5 * (x - mu) ** 2 / log_std.exp() - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)


@mistake("gaussian_log_prob/log_std_as_log_var", "variance/std confusion: exp(log_std) was used "
         "as the variance sigma^2; it is sigma", summary="used exp(log_std) as the variance")
def _wrong_glp_log_std_as_log_var(x, mu, log_std):
    var = torch.exp(log_std)
    return (-0.5 * (x - mu) ** 2 / var - 0.5 * torch.log(var) - 0.5 * math.log(2 * math.pi)).sum(-1)


@mistake("gaussian_log_prob/no_log_sigma", "the -log sigma term is missing: log N includes "
         "-log(sigma_i) = -log_std_i once per dimension", summary="left out -log sigma")
def _wrong_glp_no_log_sigma(x, mu, log_std):
    return (-0.5 * ((x - mu) / log_std.exp()) ** 2 - 0.5 * math.log(2 * math.pi)).sum(-1)


@mistake("gaussian_log_prob/log_variance", "the -log sigma term is doubled (the log of the "
         "variance instead of the std): subtract log_std once per dimension",
         summary="subtracted log sigma^2")
def _wrong_glp_log_variance(x, mu, log_std):
    std = torch.exp(log_std)
    return (-0.5 * ((x - mu) / std) ** 2 - torch.log(std**2) - 0.5 * math.log(2 * math.pi)).sum(-1)


@mistake("gaussian_log_prob/changes_dtype", "keep the dtype of x (no .float() or "
         "torch.tensor(..., dtype=...))", summary="changed the dtype")
def _wrong_glp_float32(x, mu, log_std):
    x, mu, log_std = x.float(), mu.float(), log_std.float()
    return (-0.5 * ((x - mu) / log_std.exp()) ** 2 - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)


exercise(Exercise("gaussian_log_prob", LESSON, policies.gaussian_log_prob,
                  alternatives=(_alt_gaussian_log_prob,),
                  namespace={"math": math},
                  admits=("float32", "float64", "log_std (N, d)", "mu (d,)", "batch of one"),
                  inputs="x of 3-7 rows and d = 1-4 (and a batch of one), mu of shape (N, d) or (d,), log_std of "
                         "shape (d,) or (N, d) with at least one negative entry, in float32 and float64."))
