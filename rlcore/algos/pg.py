"""Vanilla policy gradient (REINFORCE with reward-to-go), fast on a laptop CPU.

The algorithm of the talk, top to bottom:

1. run the current stochastic policy pi_theta in ``n_envs`` environments at once for
   ``steps_per_env`` steps (one batched forward pass per step);
2. weight every step by Phi_t: the reward-to-go R_hat_t = sum_{t'>=t} gamma^(t'-t) r_t'
   (or the whole return R(tau) for the "simplest" policy gradient), optionally
   normalized to zero mean and unit standard deviation (a constant baseline);
3. take one Adam step on the pseudo-loss L = -mean_t(log pi_theta(a_t|s_t) Phi_t), whose
   gradient is minus the policy gradient estimate
   g_hat = 1/|D| sum_t grad_theta log pi_theta(a_t|s_t) Phi_t.

Every ``eval_every`` environment steps the greedy policy (argmax of the logits) plays
``eval_episodes`` episodes; the clock that measures training excludes that time.

Gymnasium 1.x vector envs reset an episode on the *next* ``step`` after it ended: that
step returns the first observation of the new episode, reward 0, and ignores the action.
Such reset steps are not transitions of any episode, so they are masked out of the batch
and not counted as environment steps.

The three exercise functions of lesson 05 (``pg_loss``, ``normalize``,
``batch_reward_to_go``) can be swapped for the learner's own: ``train(config,
pg_loss=my_pg_loss, ...)``. They are checked on a tiny batch before training, and an
error during training names the function and the call that failed.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import pg_math
from .. import returns as ref_returns
from ..nets import mlp
from . import _plumbing as plumbing
from ._plumbing import Curve, LearnerFunctionError, TrainClock, progress_display
from ._population import PopulationResult
from .common import config_html, evaluate, greedy_actions, seed_everything, set_threads

__all__ = ["Config", "LearnerFunctionError", "PopulationResult", "Result", "make_policy", "train",
           "train_population"]


@dataclass
class Config:
    """Every hyperparameter of the trainer, with why its default is what it is."""

    env_id: str = "CartPole-v1"  # the benchmark task; any env with a flat Box obs and Discrete actions
    seed: int = 0  # seeds env resets, network init and action sampling: same seed, same run
    n_envs: int = 32  # many envs make each batched forward pass cheap per step and decorrelate data
    steps_per_env: int = 64  # rollout length T; batch = n_envs * T = 2048 steps, ~one eval period
    max_env_steps: int = 1_000_000  # a budget far above what CartPole needs (about 1e5 steps)
    max_seconds: float | None = None  # cap on training time excluding evaluation (None = no cap)
    eval_every: int = 2_000  # benchmark protocol: evaluate the greedy policy every 2,000 env steps
    eval_episodes: int = 20  # benchmark protocol: mean over 20 greedy episodes
    eval_seed: int = 10_000  # the same evaluation episodes every time, so curves compare fairly
    target_return: float = 475.0  # CartPole-v1's "solved" threshold
    stop_on_solve: bool = True  # stop at the first evaluation that reaches target_return
    gamma: float = 0.99  # discount inside the reward-to-go; < 1 shortens the credit horizon
    lr: float = 0.02  # Adam step size; large because each batch is large and weights are normalized
    hidden_sizes: tuple[int, ...] = (32,)  # a small tanh MLP is plenty for CartPole and fast
    use_reward_to_go: bool = True  # Phi_t = R_hat_t (lower variance) instead of R(tau)
    normalize_advantages: bool = True  # zero-mean unit-std weights: a baseline plus step scaling
    threads: int | None = 1  # torch and numpy (BLAS) threads; tiny nets gain nothing from more (None = all cores)
    patience_steps: int = 200_000  # stop early when no evaluation has moved after this many env
    # steps (correct code solves CartPole in ~40k): a sign error should not run out the budget

    def _repr_html_(self) -> str:
        """In a notebook, ``Config()`` shows every field, its value and the reason for it."""
        return config_html(self)


@dataclass(kw_only=True, repr=False)  # Curve's repr: a one-line summary
class Result(Curve):
    """What ``train`` returns: the learning curve (``Curve``), when it solved, and the policy.

    env_steps[k], train_seconds[k], eval_return[k]: the k-th evaluation (training time
    excludes evaluation). train_return[k]: mean return of the training episodes that
    ended since the previous evaluation (the stochastic policy; NaN if none ended).
    losses[k]: mean pseudo-loss of the updates since the previous evaluation. solved_at_seconds / solved_at_steps: at the
    first evaluation with eval_return >= target_return, or None.
    """

    policy: nn.Module
    train_return: list[float] = field(default_factory=list)

    def act(self, obs: Any) -> Any:
        """Return the greedy actions argmax_a pi_theta(a|s) for a batch (n, obs_dim) or one obs.

        A batch gives an int64 array (n,); a single observation (obs_dim,) gives an int,
        so ``rlcore.rollout(env, result.act)`` works too.
        """
        return greedy_actions(self.policy, obs)


def make_policy(obs_dim: int, n_actions: int, hidden_sizes: tuple[int, ...]) -> nn.Sequential:
    """Return lesson 01's tanh MLP mapping obs (B, obs_dim) to the logits (B, n_actions) of pi_theta."""
    return mlp([obs_dim, *hidden_sizes, n_actions], activation=nn.Tanh)


def sample_categorical(logits: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Return one action per row drawn from softmax(logits) by inverse CDF: (B, A) -> (B,).

    Same distribution as ``rlcore.policies.categorical_sample`` (lesson 03) without its
    argument checks and ``multinomial``: about 3x cheaper, and it runs at every env step.
    """
    cdf = torch.softmax(logits, dim=-1).cumsum(dim=-1)
    u = torch.rand(logits.shape[0], 1, generator=generator)
    return (u > cdf).sum(dim=-1).clamp_(max=logits.shape[-1] - 1)


def sample_categorical_numpy(logits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``sample_categorical`` on a numpy array of logits (B, A) with a numpy ``rng``: (B,) int64.

    The inverse CDF of softmax(logits) without normalising: a_i = #{k : u_i * Z_i > C_ik}
    with C_ik = sum_{j<=k} exp(l_ij - max_j l_ij), Z_i = C_i,A-1 and u_i ~ U[0, 1).
    """
    cdf = np.exp(logits - logits.max(axis=-1, keepdims=True)).cumsum(axis=-1)
    u = rng.random((logits.shape[0], 1), dtype=cdf.dtype) * cdf[:, -1:]
    return np.minimum((u > cdf).sum(axis=-1), logits.shape[-1] - 1)


# ---------------------------------------------------------------------------------------
# Checks before training: the config, the environment, the learner's functions.
# ---------------------------------------------------------------------------------------

def _check_config(c: Config) -> None:
    plumbing.check_fields(c, positive_ints=("n_envs", "steps_per_env", "max_env_steps", "eval_every",
                                            "eval_episodes", "patience_steps"),
                          unit=("gamma",), positive=("lr",), optional_positive=("max_seconds",),
                          sizes=("hidden_sizes",), optional_positive_ints=("threads",))


# ---------------------------------------------------------------------------------------
# The weights Phi_t of the simplest policy gradient: R(tau) at every step of the episode.
# ---------------------------------------------------------------------------------------

def _whole_return_weights(rtg: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Give every step the reward-to-go of its episode's first step in the batch (= R(tau)).

    rtg, valid: (T, N). An episode's first step in the batch follows a reset step
    (invalid) or is the batch's first step; episodes cut by the batch edges count the
    part of them inside the batch.
    """
    out = np.empty_like(rtg)
    current = rtg[0].copy()
    for t in range(rtg.shape[0]):
        if t > 0:
            starts = valid[t] & ~valid[t - 1]
            current[starts] = rtg[t][starts]
        out[t] = current
    return out


# ---------------------------------------------------------------------------------------
# One batch: T steps in every env, and the learner's functions applied to it.
# ---------------------------------------------------------------------------------------

class _Batch:
    """The last T steps of n vector envs: what one policy-gradient update learns from.

    obs (T, n, obs_dim), actions (T, n), rewards and dones (T, n); valid[t, j] is False
    for env j's reset step (Gymnasium 1.x auto-resets on the step after ``done``: its
    reward is 0 and its action ignored, so it is masked out of the loss).
    """

    def __init__(self, envs: Any, T: int, n: int, obs_dim: int, seed: int) -> None:
        self.envs = envs
        self.obs = torch.zeros(T, n, obs_dim)
        self.actions = torch.zeros(T, n, dtype=torch.long)
        self.rewards = np.zeros((T, n))
        self.dones = np.zeros((T, n), dtype=bool)
        self.valid = np.zeros((T, n), dtype=bool)
        self.last_obs, _ = envs.reset(seed=seed)
        self.prev_done = np.zeros(n, dtype=bool)  # True: this env's next step is a reset step
        self.episode_return = np.zeros(n)

    def collect(self, act: Callable[[torch.Tensor], torch.Tensor]) -> list[tuple[int, float]]:
        """Step every env T times with a_t = act(s_t), (n, obs_dim) -> (n,), a_t ~ pi_theta(.|s_t).

        Returns (env index, R(tau)) for every episode that ended, in order.
        """
        finished = []
        with torch.no_grad():
            for t in range(self.obs.shape[0]):
                obs_t = torch.from_numpy(np.asarray(self.last_obs, dtype=np.float32))
                actions = act(obs_t)
                self.obs[t] = obs_t
                self.actions[t] = actions
                self.valid[t] = ~self.prev_done
                self.last_obs, rewards, terminated, truncated, _ = self.envs.step(actions.numpy())
                self.prev_done = terminated | truncated
                self.rewards[t] = rewards
                self.dones[t] = self.prev_done
                self.episode_return += rewards
                if self.prev_done.any():
                    finished += [(int(j), float(self.episode_return[j]))
                                 for j in np.flatnonzero(self.prev_done)]
                    self.episode_return[self.prev_done] = 0.0
        return finished


def _weights(fns: dict[str, Callable], b: _Batch, c: Config, when: str) -> np.ndarray:
    """Phi_t for every step of the batch (T, n): reward-to-go R_hat_t, or R(tau) of its episode."""
    args = (b.rewards.copy(), b.dones.copy(), float(c.gamma))
    rtg = plumbing.checked_call(plumbing.expect_array, "batch_reward_to_go", fns["batch_reward_to_go"], *args,
                                when=when, shape=b.rewards.shape)
    return rtg if c.use_reward_to_go else _whole_return_weights(rtg, b.valid)


def _normalized(fns: dict[str, Callable], weights: torch.Tensor, when: str) -> torch.Tensor:
    """The learner's ``normalize(weights)``, checked, as float32."""
    out = plumbing.checked_call(plumbing.expect_array, "normalize", fns["normalize"], weights, when=when,
                                shape=tuple(weights.shape))
    return torch.from_numpy(out.astype(np.float32))


def _loss(fns: dict[str, Callable], logp: torch.Tensor, weights: torch.Tensor, when: str) -> torch.Tensor:
    """The learner's ``pg_loss(logp, weights)``: a scalar that carries the gradient."""
    return plumbing.checked_call(plumbing.expect_tensor, "pg_loss", fns["pg_loss"], logp, weights, when=when,
                                 scalar=True, requires_grad=True)


# ---------------------------------------------------------------------------------------
# Training.
# ---------------------------------------------------------------------------------------

def train(config: Config | None = None, callback: Callable[[dict], Any] | None = None,
          progress: bool = True, pg_loss: Callable | None = None, normalize: Callable | None = None,
          batch_reward_to_go: Callable | None = None, check_functions: bool = True) -> Result:
    """Return a ``Result`` after training a policy by the vanilla policy gradient.

    config: hyperparameters (default ``Config()``: CartPole-v1). callback(info) runs after
    every evaluation with info keys env_steps, train_seconds, eval_return, eval_returns
    (the 20 returns), train_return, loss, update, solved; returning True stops training.
    progress: show a live learning curve (notebook) or status line (terminal).
    pg_loss, normalize, batch_reward_to_go: the learner's exercise functions (lesson 05);
    None uses rlcore's reference ones. check_functions: run each given function's
    visible check first (a failure stops before training, with the check's message).
    Stops at the first solving evaluation (if ``stop_on_solve``), at ``max_env_steps``,
    at ``max_seconds`` of training time, or when the callback returns True.
    Raises ValueError (TypeError for a non-integer size) naming the Config field for a
    bad config (before training); LearnerFunctionError naming the exercise function that
    fails its check, raises or returns something unusable; NotLearning (a
    LearnerFunctionError) when no evaluation improved within ``patience_steps``.
    """
    c = config if config is not None else Config()
    _check_config(c)
    given = dict(pg_loss=pg_loss, normalize=normalize, batch_reward_to_go=batch_reward_to_go)
    fns = plumbing.learner_functions(given, dict(pg_loss=pg_math.pg_loss, normalize=pg_math.normalize,
                                                 batch_reward_to_go=ref_returns.batch_reward_to_go),
                                     check=check_functions)
    learner = [name for name, fn in given.items() if fn is not None]

    envs = plumbing.make_vec_env(c.env_id, c.n_envs, actions="discrete")
    set_threads(c.threads)
    seed_everything(c.seed)
    generator = torch.Generator().manual_seed(c.seed)
    obs_dim = envs.single_observation_space.shape[0]
    policy = make_policy(obs_dim, int(envs.single_action_space.n), tuple(c.hidden_sizes))
    optimizer = torch.optim.Adam(policy.parameters(), lr=c.lr)
    result = Result(config=c, policy=policy)
    live = progress_display(progress, c.target_return, f"Policy gradient on {c.env_id}")

    T, N = c.steps_per_env, c.n_envs
    batch = _Batch(envs, T, N, obs_dim, c.seed)
    finished_returns: list[float] = []
    env_steps, update = 0, 0
    loss_sum, loss_count = 0.0, 0  # pseudo-loss of the updates since the last evaluation
    next_eval = c.eval_every
    clock = TrainClock()

    try:
        while True:
            # 1. Collect T steps in N envs with the stochastic policy a_t ~ pi_theta(.|s_t).
            finished = batch.collect(lambda o: sample_categorical(policy(o), generator))
            finished_returns += [ret for _, ret in finished]
            if not batch.valid.any():  # only reset steps (possible with steps_per_env=1)
                continue
            # 2. Weights Phi_t: reward-to-go (or R(tau)), only on real transitions.
            when = f"during training (update {update + 1})"
            phi = _weights(fns, batch, c, when)
            valid = batch.valid.reshape(-1)
            mask = torch.from_numpy(valid)
            weights = torch.from_numpy(phi.reshape(-1)[valid].astype(np.float32))
            if c.normalize_advantages:
                weights = _normalized(fns, weights, when)

            # 3. One gradient step on L = -mean(log pi(a_t|s_t) Phi_t).
            logits = policy(batch.obs.reshape(T * N, obs_dim)[mask])
            logp = torch.log_softmax(logits, dim=-1).gather(
                1, batch.actions.reshape(-1)[mask].unsqueeze(1)).squeeze(1)
            loss = _loss(fns, logp, weights, when)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            update += 1
            env_steps += int(valid.sum())
            loss_sum, loss_count = loss_sum + float(loss.detach()), loss_count + 1

            # 4. Evaluate the greedy policy every eval_every env steps (off the clock).
            stop = False
            if env_steps >= next_eval:
                next_eval = (env_steps // c.eval_every + 1) * c.eval_every
                with clock.paused():
                    returns = evaluate(result.act, c.env_id, n_episodes=c.eval_episodes,
                                       seed=c.eval_seed)
                result.train_return.append(float(np.mean(finished_returns)) if finished_returns
                                           else math.nan)
                finished_returns.clear()
                mean_loss, loss_sum, loss_count = loss_sum / loss_count, 0.0, 0
                stop = result.record(returns, env_steps, clock.seconds, c.target_return, mean_loss,
                                     callback, live, stop_on_solve=c.stop_on_solve,
                                     train_return=result.train_return[-1], update=update)
                result.watch(learner, c.patience_steps, 0.1, c.target_return)
            if plumbing.stop_now(result, stop, c, env_steps, clock.seconds):
                return result
    finally:
        plumbing.close_all(envs, live)


# ---------------------------------------------------------------------------------------
# Many seeds at once: seeds as a batch dimension.
# ---------------------------------------------------------------------------------------

def train_population(config: Config | None = None, seeds: Any = (0,),
                     callback: Callable[[dict], Any] | None = None, progress: bool = True,
                     pg_loss: Callable | None = None, normalize: Callable | None = None,
                     batch_reward_to_go: Callable | None = None, check_functions: bool = True,
                     max_memory_bytes: float | None = None) -> PopulationResult:
    """Return a ``PopulationResult``: S = len(seeds) independent runs of ``train``, trained at once.

    Seed s's policy pi_theta_s starts from the weights ``train(seed=s)`` starts from; the S
    policies are one ``StackedMLP`` (one batched forward pass acts in all S x n_envs envs),
    each seed collects its own batch in its own group of ``n_envs`` envs, weights its own
    steps (its normalization uses its own batch only) and takes its own Adam step: the
    population's loss is sum_s L_s, L_s = -mean_t log pi_theta_s(a_t|s_t) Phi_t over seed
    s's steps, so theta_s receives exactly grad L_s. ``config.seed`` is ignored (``seeds``
    says them). Every seed runs until it stops as ``train`` would (solved with
    ``stop_on_solve``, its budget); the population stops when all have.
    callback(info) after every evaluation of a seed, info as in ``train`` plus ``seed``;
    returning True stops that seed. The learner's functions plug in as in ``train``:
    ``batch_reward_to_go`` once on the (T, S * n_envs) batch (columns are independent),
    ``normalize`` and ``pg_loss`` once per seed.
    Raises ValueError/TypeError naming ``seeds`` (none, repeats, not ints) or the Config
    field, MemoryError naming ``seeds`` when the S copies would not fit (estimated before
    anything is allocated), LearnerFunctionError as ``train``.
    """
    from ..nets import StackedMLP
    from ._population import (
        PopulationResult,
        check_memory,
        check_seeds,
        evaluate_members,
        population_env_seed,
    )

    c = config if config is not None else Config()
    seeds = check_seeds(seeds)
    _check_config(c)
    S, T, N = len(seeds), c.steps_per_env, c.n_envs
    given = dict(pg_loss=pg_loss, normalize=normalize, batch_reward_to_go=batch_reward_to_go)
    fns = plumbing.learner_functions(given, dict(pg_loss=pg_math.pg_loss, normalize=pg_math.normalize,
                                                 batch_reward_to_go=ref_returns.batch_reward_to_go),
                                     check=check_functions)
    learner = [name for name, fn in given.items() if fn is not None]
    # estimate before allocating: the rollout batch (obs, actions, rewards, dones, valid) and
    # the networks with Adam's two moments and a gradient
    envs_probe = plumbing.make_vec_env(c.env_id, 1, actions="discrete")
    obs_dim = envs_probe.single_observation_space.shape[0]
    n_actions = int(envs_probe.single_action_space.n)
    envs_probe.close()
    sizes = [obs_dim, *c.hidden_sizes, n_actions]
    n_params = sum((a + 1) * b for a, b in itertools.pairwise(sizes))
    need = S * (T * N * (4 * obs_dim + 8 + 8 + 1 + 1 + 4 * 8) + 4 * 4 * n_params)
    check_memory(need, f"{S} seeds x ({T} x {N} steps of rollout + {n_params:,} weights with "
                       "Adam's state)", limit_bytes=max_memory_bytes)

    envs = plumbing.make_vec_env(c.env_id, S * N, actions="discrete")
    set_threads(c.threads)
    nets = []
    for s in seeds:
        seed_everything(s)  # seed s's initial weights are those of train(seed=s)
        nets.append(make_policy(obs_dim, n_actions, tuple(c.hidden_sizes)))
    policy = StackedMLP.from_mlps(nets, nn.Tanh)
    optimizer = torch.optim.Adam(policy.parameters(), lr=c.lr)
    generator = torch.Generator().manual_seed(population_env_seed(seeds))
    results = [Result(config=dataclasses.replace(c, seed=s), policy=nets[i])
               for i, s in enumerate(seeds)]
    live = progress_display(progress, c.target_return, f"Policy gradient on {c.env_id}, {S} seeds")

    batch = _Batch(envs, T, S * N, obs_dim, population_env_seed(seeds))  # env j is seed j // N's
    finished: list[list[float]] = [[] for _ in range(S)]
    env_steps = np.zeros(S, dtype=np.int64)
    next_eval = np.full(S, c.eval_every, dtype=np.int64)
    active = np.ones(S, dtype=bool)  # seeds still training
    loss_sum, loss_count = np.zeros(S), np.zeros(S)
    update = 0
    clock = TrainClock()
    stopped_by = ""

    try:
        while active.any():
            for j, ret in batch.collect(lambda o: sample_categorical(
                    policy(o.reshape(S, N, obs_dim)).reshape(S * N, n_actions), generator)):
                finished[j // N].append(ret)
            when = f"during training (update {update + 1})"
            phi = _weights(fns, batch, c, when)  # (T, S * N): columns are independent
            logits = policy(batch.obs.reshape(T, S, N, obs_dim).permute(1, 0, 2, 3).reshape(S, T * N, obs_dim))
            logp_all = torch.log_softmax(logits, dim=-1).gather(
                2, batch.actions.reshape(T, S, N).permute(1, 0, 2).reshape(S, T * N, 1)).squeeze(2)  # (S, T*N)
            phi_s = phi.reshape(T, S, N).transpose(1, 0, 2).reshape(S, T * N)
            valid_s = batch.valid.reshape(T, S, N).transpose(1, 0, 2).reshape(S, T * N)
            total = 0.0
            for i in np.flatnonzero(active & valid_s.any(axis=1)):
                mask = torch.from_numpy(valid_s[i])
                weights = torch.from_numpy(phi_s[i][valid_s[i]].astype(np.float32))
                if c.normalize_advantages:
                    weights = _normalized(fns, weights, when)
                loss = _loss(fns, logp_all[i][mask], weights, when)
                total = total + loss
                loss_sum[i] += float(loss.detach())
                loss_count[i] += 1
            optimizer.zero_grad(set_to_none=True)
            if isinstance(total, torch.Tensor):
                total.backward()  # a stopped seed has no loss term (and keeps its snapshot)
                optimizer.step()
            update += 1
            env_steps += np.where(active, valid_s.sum(axis=1), 0)

            due = np.flatnonzero(active & (env_steps >= next_eval))
            if due.size:
                with clock.paused():
                    returns = evaluate_members(policy, due, c.env_id, c.eval_episodes, seed=c.eval_seed)
                for row, i in enumerate(due):
                    r = results[i]
                    next_eval[i] = (env_steps[i] // c.eval_every + 1) * c.eval_every
                    r.train_return.append(float(np.mean(finished[i])) if finished[i] else math.nan)
                    finished[i].clear()
                    cb = None if callback is None else (
                        lambda info, s=seeds[i]: callback({**info, "seed": s}))
                    stop = r.record(returns[row], int(env_steps[i]), clock.seconds, c.target_return,
                                    loss_sum[i] / max(loss_count[i], 1), cb,
                                    live if i == 0 else None, stop_on_solve=c.stop_on_solve,
                                    train_return=r.train_return[-1], update=update)
                    loss_sum[i], loss_count[i] = 0.0, 0
                    try:
                        r.watch(learner, c.patience_steps, 0.1, c.target_return)
                    except LearnerFunctionError:
                        if learner:  # the learner's functions do not learn: say so at once
                            raise
                        stop = True
                    if not stop and env_steps[i] >= c.max_env_steps:
                        r.stopped_by, stop = "max_env_steps", True
                    if stop:  # the seed's agent is its network now, as train returns it
                        active[i] = False
                        r.policy = policy.member(i)
            if c.max_seconds is not None and clock.seconds >= c.max_seconds:
                for i in np.flatnonzero(active):
                    results[i].stopped_by = "max_seconds"
                    results[i].policy = policy.member(i)
                active[:] = False
                stopped_by = "max_seconds"
    finally:
        plumbing.close_all(envs, live)
    return PopulationResult(seeds=seeds, results=results, wall_seconds=clock.seconds, config=c,
                            stopped_by=stopped_by or "all seeds stopped")
