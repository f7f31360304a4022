"""Lesson 05 (policy gradients): pg_loss, normalize, batch_reward_to_go and their named mistakes.

Each ``_wrong_*`` function is a realistic wrong answer, written as a learner would; each
``_alt_*`` a correct answer in another style than the reference.
"""

from __future__ import annotations

import numpy as np
import torch

from .. import pg_math, returns
from . import Exercise, exercise, mistake

LESSON = "05-policy-gradients"


# ------------------------------------------------------------------------------ pg_loss
def _alt_pg_loss(logp, weights):
    weights = torch.as_tensor(weights, dtype=logp.dtype).detach()
    return -torch.dot(logp, weights) / logp.shape[0]


@mistake("pg_loss/sum", "you summed over the batch; L is the mean, -mean(logp * weights), so the "
         "step size does not grow with the batch", summary="summed instead of averaged")
def _wrong_pg_loss_sum(logp, weights):
    return -(logp * weights).sum()


@mistake("pg_loss/no_minus", "the minus sign is missing: we minimize L to ascend J, so L "
         "= -mean(logp * weights)", summary="forgot the minus sign")
def _wrong_pg_loss_no_minus(logp, weights):
    return (logp * weights).mean()


@mistake("pg_loss/product_of_means", "you multiplied the mean of logp by the mean of the weights; "
         "average the products logp_t * weights_t instead", summary="multiplied the means")
def _wrong_pg_loss_product_of_means(logp, weights):
    return -(logp.mean() * weights.mean())


@mistake("pg_loss/no_reduction", "the loss must be one number: reduce logp * weights with .mean() "
         "over the batch", summary="returned a vector")
def _wrong_pg_loss_no_reduction(logp, weights):
    return -(logp * weights)


@mistake("pg_loss/detached", "no gradient reaches the policy: logp was detached (or rebuilt with "
         "torch.tensor); keep it in the computation", summary="detached logp")
def _wrong_pg_loss_detached(logp, weights):
    return -(logp.detach() * weights).mean()


@mistake("pg_loss/not_a_tensor", "return the Tensor itself (no .item(), float() or .numpy()), so "
         "the gradient can flow back to the policy", summary="returned a float")
def _wrong_pg_loss_item(logp, weights):
    return float(-(logp * weights).mean().detach())


exercise(Exercise("pg_loss", LESSON, pg_math.pg_loss,
                  alternatives=(_alt_pg_loss,),
                  admits=("float32", "float64", "batch of one"),
                  inputs="logp/weights Tensors of 1-40 steps (float32 and float64); the gradient with respect "
                         "to logp is checked by a backward pass."))


# ------------------------------------------------------------------------------ normalize
def _alt_normalize(x, eps=1e-8):
    a = x if isinstance(x, torch.Tensor) else np.asarray(x, dtype=np.float64)
    centered = a - a.mean()
    std = (centered ** 2).mean() ** 0.5
    return centered / (std + eps)


@mistake("normalize/ddof1", "you used the sample standard deviation (ddof=1, the default of "
         "torch.std): use the population std, np.std(x) or x.std(correction=0)",
         summary="used the sample std (ddof=1)")
def _wrong_normalize_ddof1(x, eps=1e-8):
    if isinstance(x, torch.Tensor):
        return (x - x.mean()) / (x.std() + eps)
    x = np.asarray(x, dtype=float)
    return (x - x.mean()) / (x.std(ddof=1) + eps)


@mistake("normalize/eps_inside_sqrt", "eps went inside the square root; add it to the standard "
         "deviation: (x - mean) / (std + eps)", summary="put eps inside the square root")
def _wrong_normalize_eps_inside(x, eps=1e-8):
    if isinstance(x, torch.Tensor):
        return (x - x.mean()) / torch.sqrt(x.var(correction=0) + eps)
    x = np.asarray(x, dtype=float)
    return (x - x.mean()) / np.sqrt(x.var() + eps)


@mistake("normalize/numpy_for_tensor", "a Tensor in gives a Tensor out: use x.mean() and "
         "x.std(correction=0), which work on Tensors, instead of np.mean / np.std",
         summary="returned numpy for a Tensor")
def _wrong_normalize_numpy_only(x, eps=1e-8):
    x = np.asarray(x, dtype=float)
    return (x - x.mean()) / (x.std() + eps)


@mistake("normalize/per_column", "you normalized each column separately; the mean and std run "
         "over ALL elements (no axis)", summary="normalized per column")
def _wrong_normalize_per_column(x, eps=1e-8):
    if isinstance(x, torch.Tensor):
        return (x - x.mean(0)) / (x.std(0, correction=0) + eps)
    x = np.asarray(x, dtype=float)
    return (x - x.mean(axis=0)) / (x.std(axis=0) + eps)


@mistake("normalize/no_eps", "eps is missing: a constant input has std 0, so divide by (std "
         "+ eps) and the result is all zeros, not nan", summary="left out eps")
def _wrong_normalize_no_eps(x, eps=1e-8):
    if isinstance(x, torch.Tensor):
        return (x - x.mean()) / x.std(correction=0)
    x = np.asarray(x, dtype=float)
    return (x - x.mean()) / x.std()


@mistake("normalize/no_centering", "the mean is not subtracted: (x - mean) / (std + eps)",
         summary="did not subtract the mean")
def _wrong_normalize_no_centering(x, eps=1e-8):
    if isinstance(x, torch.Tensor):
        return x / (x.std(correction=0) + eps)
    x = np.asarray(x, dtype=float)
    return x / (x.std() + eps)


@mistake("normalize/changes_dtype", "keep the input's dtype: no .float() and no new float32 "
         "tensors", summary="changed the Tensor's dtype")
def _wrong_normalize_float32(x, eps=1e-8):
    if isinstance(x, torch.Tensor):
        x = x.float()
        return (x - x.mean()) / (x.std(correction=0) + eps)
    x = np.asarray(x, dtype=float)
    return (x - x.mean()) / (x.std() + eps)


exercise(Exercise("normalize", LESSON, pg_math.normalize,
                  alternatives=(_alt_normalize,),
                  admits=("list", "int", "float32", "float64", "2-D", "constant input", "explicit eps"),
                  inputs="arrays, lists, integer arrays, 2-D arrays, constant arrays, small-std arrays with an "
                         "explicit eps, and float32/float64 Tensors."))


# ------------------------------------------------------------------------------ batch_reward_to_go
def _alt_batch_reward_to_go(rewards, dones, gamma=1.0):
    rewards = np.array(rewards, dtype=float)
    dones = np.array(dones).astype(bool)
    T, N = rewards.shape
    out = np.zeros((T, N))
    for i in range(N):
        end = T  # one past the last step of the current episode
        for t in range(T - 1, -1, -1):
            if dones[t, i]:
                end = t + 1
            ks = np.arange(t, end)
            out[t, i] = np.sum(gamma ** (ks - t) * rewards[t:end, i])
    return out


def _rtg_scan(rewards, gamma, reset=None):
    """G[t] = r[t] + gamma G[t + 1] backward over the (T, N) rewards as floats; the running sum is
    set to 0 after step t where reset[t] (None: never)."""
    rewards = np.asarray(rewards, dtype=float)
    G = np.zeros_like(rewards)
    running = np.zeros(rewards.shape[1])
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * running
        G[t] = running
        if reset is not None:
            running[reset[t]] = 0.0
    return G


@mistake("batch_reward_to_go/dones_ignored", "dones are ignored: the next episode's rewards leak "
         "into the one that ended; reset the running sum where dones[t] is True",
         summary="summed across episode ends")
def _wrong_rtg_dones_ignored(rewards, dones, gamma=1.0):
    return _rtg_scan(rewards, gamma)  # never reset


@mistake("batch_reward_to_go/reset_after_adding", "you reset the running sum after adding r[t] at "
         "a done step: the last step of an episode must keep G[t] = r[t]; use G[t] = r[t] + gamma "
         "* (1 - dones[t]) * G[t + 1]", summary="reset after adding r[t]")
def _wrong_rtg_reset_after(rewards, dones, gamma=1.0):
    return _rtg_scan(rewards, gamma, reset=np.asarray(dones, dtype=bool))  # reset after adding r[t]


@mistake("batch_reward_to_go/excludes_rt", "off by one: G[t] must include r[t] itself",
         summary="left out r[t]")
def _wrong_rtg_excludes_rt(rewards, dones, gamma=1.0):
    r = np.asarray(rewards, dtype=float)
    d = np.asarray(dones, dtype=bool)
    T, N = r.shape
    out = np.zeros((T, N))
    for i in range(N):  # one env at a time; G[t] starts from the NEXT reward
        acc = 0.0
        for t in range(T - 1, -1, -1):
            acc = 0.0 if d[t, i] else acc
            out[t, i] = acc
            acc = r[t, i] + gamma * acc
    return out


@mistake("batch_reward_to_go/from_batch_start", "the discount is measured from the batch start; "
         "r_k is weighted by gamma**(k - t)", summary="discounted from the batch start")
def _wrong_rtg_from_batch_start(rewards, dones, gamma=1.0):
    r = np.asarray(rewards, dtype=float)
    d = np.asarray(dones, dtype=bool)
    T = len(r)
    weights = gamma ** np.arange(T)  # gamma**k, measured from the batch start

    def end(i, t):  # one past the last step of env i's episode running at step t
        later = np.nonzero(d[t:, i])[0]
        return t + later[0] + 1 if len(later) else T

    return np.array([[np.sum(weights[t:end(i, t)] * r[t:end(i, t), i]) for i in range(r.shape[1])]
                     for t in range(T)])


@mistake("batch_reward_to_go/forward", "you summed forwards (the rewards before t); G_t sums from "
         "t to the episode's end, so work backwards in time", summary="summed forwards in time")
def _wrong_rtg_forward(rewards, dones, gamma=1.0):
    rows = []
    running = None
    for r_t, d_t in zip(np.asarray(rewards, dtype=float), np.asarray(dones, dtype=bool)):
        running = r_t if running is None else r_t + gamma * running  # summed forwards in time
        rows.append(running.copy())
        running = np.where(d_t, 0.0, running)
    return np.array(rows)


@mistake("batch_reward_to_go/no_gamma", "gamma is ignored: multiply the running sum by gamma at "
         "every step back", summary="ignored gamma")
def _wrong_rtg_no_gamma(rewards, dones, gamma=1.0):
    r = np.asarray(rewards, dtype=float)
    d = np.asarray(dones, dtype=int)
    episode = np.cumsum(d, axis=0) - d  # how many episodes ended before step t
    out = np.zeros_like(r)
    for i in range(r.shape[1]):
        for t in range(len(r)):
            same = episode[t:, i] == episode[t, i]
            out[t, i] = r[t:, i][same].sum()  # every reward counts fully: no discount
    return out


@mistake("batch_reward_to_go/axes_swapped", "time runs along axis 0 (rows) and envs along axis 1; "
         "do not transpose", summary="swapped time and env axes")
def _wrong_rtg_transposed(rewards, dones, gamma=1.0):
    rewards = np.asarray(rewards, dtype=float).T
    dones = np.asarray(dones, dtype=float).T
    G = np.zeros_like(rewards)
    running = np.zeros(rewards.shape[0])
    for t in reversed(range(rewards.shape[1])):
        running = rewards[:, t] + gamma * (1 - dones[:, t]) * running
        G[:, t] = running
    return G


@mistake("batch_reward_to_go/integer_dtype", "integer rewards gave an integer result "
         "(np.zeros_like of integer rewards rounds every G down); build G as floats, e.g. "
         "np.zeros(rewards.shape)", summary="kept the integer dtype")
def _wrong_rtg_integer_dtype(rewards, dones, gamma=1.0):
    rewards = np.asarray(rewards)
    dones = np.asarray(dones, dtype=float)
    G = np.zeros_like(rewards)  # integer rewards give an integer G: every value rounded down
    running = np.zeros(rewards.shape[1])
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * (1 - dones[t]) * running
        G[t] = running
    return G


exercise(Exercise("batch_reward_to_go", LESSON, returns.batch_reward_to_go,
                  alternatives=(_alt_batch_reward_to_go,),
                  admits=("list", "int", "bool dones", "float dones", "batch of one"),
                  inputs="(T, N) batches with T in 6-13 and N in 1-4 (T != N), random episode ends (at least one "
                         "inside the batch, one env running past its end), bool, 0/1-float and list inputs, "
                         "integer rewards, gammas from (0.5, 0.99) plus 1 and the default."))
