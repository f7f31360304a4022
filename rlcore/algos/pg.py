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

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from .. import pg_math
from .. import returns as ref_returns
from .._validate import check_gamma, check_positive_int
from ..nets import mlp
from .common import config_html, evaluate, greedy_actions, seed_everything, set_threads

__all__ = ["Config", "LearnerFunctionError", "Result", "make_policy", "train"]


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
    threads: int | None = 1  # torch threads; tiny nets gain nothing from more (None = all cores)

    def _repr_html_(self) -> str:
        """In a notebook, ``Config()`` shows every field, its value and the reason for it."""
        return config_html(self)


@dataclass
class Result:
    """What ``train`` returns: the learning curve, when it solved, and the trained policy.

    env_steps[k], train_seconds[k], eval_return[k]: the k-th evaluation (training time
    excludes evaluation). train_return[k]: mean return of the training episodes that
    ended since the previous evaluation (the stochastic policy; NaN if none ended).
    losses: pseudo-loss value of every update. solved_at_seconds / solved_at_steps: at the
    first evaluation with eval_return >= target_return, or None.
    """

    config: Config
    policy: nn.Module
    env_steps: list[int] = field(default_factory=list)
    train_seconds: list[float] = field(default_factory=list)
    eval_return: list[float] = field(default_factory=list)
    train_return: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    solved_at_seconds: float | None = None
    solved_at_steps: int | None = None
    stopped_by: str = ""

    @property
    def solved(self) -> bool:
        """True when some evaluation reached the target return."""
        return self.solved_at_steps is not None

    def act(self, obs: Any) -> Any:
        """Return the greedy actions argmax_a pi_theta(a|s) for a batch (n, obs_dim) or one obs.

        A batch gives an int64 array (n,); a single observation (obs_dim,) gives an int,
        so ``rlcore.rollout(env, result.act)`` works too.
        """
        return greedy_actions(self.policy, obs)

    def __repr__(self) -> str:
        best = max(self.eval_return) if self.eval_return else float("nan")
        solved = (f"solved in {self.solved_at_seconds:.2f} s / {self.solved_at_steps:,d} steps"
                  if self.solved else "not solved")
        return (f"Result({self.config.env_id}, {len(self.eval_return)} evaluations, "
                f"best eval return {best:.1f}, {solved})")


class LearnerFunctionError(RuntimeError):
    """An exercise function passed to ``train`` raised or returned something unusable."""


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


# ---------------------------------------------------------------------------------------
# Checks before training: the config, the environment, the learner's functions.
# ---------------------------------------------------------------------------------------

def _check_config(c: Config) -> None:
    for name in ("n_envs", "steps_per_env", "max_env_steps", "eval_every", "eval_episodes"):
        check_positive_int(getattr(c, name), f"Config.{name}")
    check_gamma(c.gamma, "Config.gamma")
    if not (isinstance(c.lr, (int, float)) and math.isfinite(c.lr) and c.lr > 0):
        raise ValueError(f"Config.lr must be a positive number, got {c.lr!r}")
    if c.max_seconds is not None and not (isinstance(c.max_seconds, (int, float)) and c.max_seconds > 0):
        raise ValueError(f"Config.max_seconds must be None or a positive number, got {c.max_seconds!r}")
    sizes = c.hidden_sizes
    if isinstance(sizes, int) or not all(isinstance(h, int) and not isinstance(h, bool) and h > 0
                                         for h in sizes):
        raise ValueError(f"Config.hidden_sizes must be a tuple of positive ints, got {sizes!r}")
    if c.threads is not None:
        check_positive_int(c.threads, "Config.threads")


def _make_envs(env_id: str, n_envs: int) -> gym.vector.VectorEnv:
    try:
        spec = gym.spec(env_id)
    except gym.error.Error as e:
        raise ValueError(f"Config.env_id: unknown environment {env_id!r} ({e})") from None
    mode = "vector_entry_point" if spec.vector_entry_point is not None else "sync"
    envs = gym.make_vec(env_id, num_envs=n_envs, vectorization_mode=mode)
    if not isinstance(envs.single_action_space, gym.spaces.Discrete):
        envs.close()
        raise ValueError(f"Config.env_id: {env_id!r} has {envs.single_action_space}; "  # noqa: TRY004
                         "this trainer needs Discrete actions")
    if not (isinstance(envs.single_observation_space, gym.spaces.Box)
            and len(envs.single_observation_space.shape) == 1):
        envs.close()
        raise ValueError(f"Config.env_id: {env_id!r} needs a flat Box observation space, "
                         f"got {envs.single_observation_space}")
    return envs


def _describe(*args: Any) -> str:
    def one(a: Any) -> str:
        if isinstance(a, torch.Tensor):
            return f"Tensor{tuple(a.shape)}"
        if isinstance(a, np.ndarray):
            return f"array{a.shape}"
        return repr(a)
    return ", ".join(one(a) for a in args)


def _call(name: str, fn: Callable, args: tuple, when: str) -> Any:
    """Call a (possibly learner-written) exercise function; wrap any error with its call."""
    try:
        return fn(*args)
    except Exception as e:
        raise LearnerFunctionError(
            f"{name} raised {type(e).__name__}: {e}\n  in the call {name}({_describe(*args)}) "
            f"{when}.\n  Fix {name} (its visible check in the lesson should pass) and train again."
        ) from e


def _as_weights(name: str, out: Any, shape: tuple[int, ...], call: str) -> torch.Tensor:
    """Return ``out`` as a float32 Tensor of ``shape``, or raise naming the function."""
    try:
        w = torch.as_tensor(np.asarray(out.detach() if isinstance(out, torch.Tensor) else out,
                                       dtype=np.float32))
    except (TypeError, ValueError) as e:
        raise LearnerFunctionError(f"{name} returned {type(out).__name__}, not an array of "
                                   f"numbers, in the call {call}: {e}") from None
    if tuple(w.shape) != shape:
        raise LearnerFunctionError(f"{name} returned shape {tuple(w.shape)}, expected {shape}, "
                                   f"in the call {call}.")
    if not torch.isfinite(w).all():
        raise LearnerFunctionError(f"{name} returned non-finite values (nan or inf) in the call "
                                   f"{call}.")
    return w


def _check_loss(name: str, loss: Any, call: str) -> torch.Tensor:
    if not isinstance(loss, torch.Tensor):
        raise LearnerFunctionError(
            f"{name} returned {type(loss).__name__}, not a Tensor, in the call {call}: return the "
            "Tensor itself (no .item() or float()), so its gradient can flow to the policy.")
    if loss.numel() != 1:
        raise LearnerFunctionError(f"{name} returned shape {tuple(loss.shape)}, expected a scalar "
                                   f"(one number: average over the batch), in the call {call}.")
    if not loss.requires_grad:
        raise LearnerFunctionError(
            f"{name} returned a loss with no gradient in the call {call}: keep logp in the "
            "computation (no .detach(), .numpy() or torch.tensor(...) on it).")
    if not torch.isfinite(loss).all():
        raise LearnerFunctionError(f"{name} returned a non-finite loss {loss.item()} in the call "
                                   f"{call}.")
    return loss.reshape(())


def _check_learner_functions(pg_loss: Callable, normalize: Callable,
                             batch_reward_to_go: Callable, gamma: float) -> None:
    """Run the three functions once on a tiny batch so a broken one fails before training."""
    when = "(a tiny test batch checked before training)"
    rewards = np.array([[1.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    dones = np.array([[False, False], [True, False], [False, True]])
    call = f"batch_reward_to_go({_describe(rewards, dones, gamma)}) {when}"
    _as_weights("batch_reward_to_go",
                _call("batch_reward_to_go", batch_reward_to_go, (rewards, dones, gamma), when),
                (3, 2), call)
    x = torch.tensor([1.0, 2.0, 4.0, 8.0])
    call = f"normalize({_describe(x)}) {when}"
    _as_weights("normalize", _call("normalize", normalize, (x,), when), (4,), call)
    logp = torch.log(torch.tensor([0.5, 0.25, 0.9, 0.1])).requires_grad_(True)
    weights = torch.tensor([1.0, -1.0, 0.5, 2.0])
    call = f"pg_loss({_describe(logp, weights)}) {when}"
    _check_loss("pg_loss", _call("pg_loss", pg_loss, (logp, weights), when), call)


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
# Training.
# ---------------------------------------------------------------------------------------

def train(
    config: Config | None = None,
    callback: Callable[[dict], Any] | None = None,
    progress: bool = True,
    pg_loss: Callable | None = None,
    normalize: Callable | None = None,
    batch_reward_to_go: Callable | None = None,
) -> Result:
    """Return a ``Result`` after training a policy by the vanilla policy gradient.

    config: hyperparameters (default ``Config()``: CartPole-v1). callback(info) runs after
    every evaluation with info keys env_steps, train_seconds, eval_return, eval_returns
    (the 20 returns), train_return, loss, update, solved; returning True stops training.
    progress: show a live learning curve (notebook) or status line (terminal).
    pg_loss, normalize, batch_reward_to_go: the learner's exercise functions (lesson 05);
    None uses rlcore's reference ones.
    Stops at the first solving evaluation (if ``stop_on_solve``), at ``max_env_steps``,
    at ``max_seconds`` of training time, or when the callback returns True.
    Raises ValueError (TypeError for a non-integer size) naming the Config field for a
    bad config (before training), and
    LearnerFunctionError naming the exercise function that raised or returned a wrong
    shape (on a tiny batch before training, or during training).
    """
    c = config if config is not None else Config()
    _check_config(c)
    pg_loss = pg_loss or pg_math.pg_loss
    normalize = normalize or pg_math.normalize
    batch_reward_to_go = batch_reward_to_go or ref_returns.batch_reward_to_go
    _check_learner_functions(pg_loss, normalize, batch_reward_to_go, float(c.gamma))

    envs = _make_envs(c.env_id, c.n_envs)
    set_threads(c.threads)
    seed_everything(c.seed)
    generator = torch.Generator().manual_seed(c.seed)
    obs_dim = envs.single_observation_space.shape[0]
    policy = make_policy(obs_dim, int(envs.single_action_space.n), tuple(c.hidden_sizes))
    optimizer = torch.optim.Adam(policy.parameters(), lr=c.lr)
    result = Result(config=c, policy=policy)
    live = None
    if progress:
        from ..live import LiveCurve
        live = LiveCurve(target=c.target_return, title=f"Policy gradient on {c.env_id}")

    T, N = c.steps_per_env, c.n_envs
    batch_obs = torch.zeros(T, N, obs_dim)
    batch_actions = torch.zeros(T, N, dtype=torch.long)
    batch_rewards = np.zeros((T, N))
    batch_dones = np.zeros((T, N), dtype=bool)
    batch_valid = np.zeros((T, N), dtype=bool)
    obs, _ = envs.reset(seed=c.seed)
    prev_done = np.zeros(N, dtype=bool)  # True: this env's next step is a reset step
    episode_return = np.zeros(N)
    finished_returns: list[float] = []
    env_steps, update, train_seconds = 0, 0, 0.0
    next_eval = c.eval_every

    try:
        while True:
            start = time.perf_counter()
            # 1. Collect T steps in N envs with the stochastic policy a_t ~ pi_theta(.|s_t).
            with torch.no_grad():
                for t in range(T):
                    obs_t = torch.from_numpy(np.asarray(obs, dtype=np.float32))
                    actions = sample_categorical(policy(obs_t), generator)
                    batch_obs[t] = obs_t
                    batch_actions[t] = actions
                    batch_valid[t] = ~prev_done
                    obs, rewards, terminated, truncated, _ = envs.step(actions.numpy())
                    prev_done = terminated | truncated
                    batch_rewards[t] = rewards
                    batch_dones[t] = prev_done
                    episode_return += rewards
                    if prev_done.any():
                        finished_returns.extend(episode_return[prev_done].tolist())
                        episode_return[prev_done] = 0.0

            if not batch_valid.any():  # only reset steps (possible with steps_per_env=1)
                train_seconds += time.perf_counter() - start
                continue
            # 2. Weights Phi_t: reward-to-go (or R(tau)), only on real transitions.
            when = f"during training (update {update + 1})"
            args = (batch_rewards.copy(), batch_dones.copy(), float(c.gamma))
            rtg = _as_weights("batch_reward_to_go", _call("batch_reward_to_go", batch_reward_to_go,
                                                          args, when),
                              (T, N), f"batch_reward_to_go({_describe(*args)}) {when}").numpy()
            phi = rtg if c.use_reward_to_go else _whole_return_weights(rtg, batch_valid)
            mask = torch.from_numpy(batch_valid.reshape(-1))
            weights = torch.from_numpy(phi.reshape(-1)[batch_valid.reshape(-1)].astype(np.float32))
            if c.normalize_advantages:
                weights = _as_weights("normalize", _call("normalize", normalize, (weights,), when),
                                      tuple(weights.shape), f"normalize({_describe(weights)}) {when}")

            # 3. One gradient step on L = -mean(log pi(a_t|s_t) Phi_t).
            logits = policy(batch_obs.reshape(T * N, obs_dim)[mask])
            logp = torch.log_softmax(logits, dim=-1).gather(
                1, batch_actions.reshape(-1)[mask].unsqueeze(1)).squeeze(1)
            loss = _check_loss("pg_loss", _call("pg_loss", pg_loss, (logp, weights), when),
                               f"pg_loss({_describe(logp, weights)}) {when}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            update += 1
            env_steps += int(batch_valid.sum())
            loss_value = float(loss.detach())
            result.losses.append(loss_value)
            train_seconds += time.perf_counter() - start

            # 4. Evaluate the greedy policy every eval_every env steps (off the clock).
            stop_reason = ""
            if env_steps >= next_eval:
                next_eval = (env_steps // c.eval_every + 1) * c.eval_every
                returns = evaluate(result.act, c.env_id, n_episodes=c.eval_episodes,
                                   seed=c.eval_seed)
                eval_return = float(np.mean(returns))
                train_return = float(np.mean(finished_returns)) if finished_returns else math.nan
                finished_returns.clear()
                result.env_steps.append(env_steps)
                result.train_seconds.append(train_seconds)
                result.eval_return.append(eval_return)
                result.train_return.append(train_return)
                if eval_return >= c.target_return and not result.solved:
                    result.solved_at_seconds, result.solved_at_steps = train_seconds, env_steps
                info = dict(env_steps=env_steps, train_seconds=train_seconds,
                            eval_return=eval_return, eval_returns=returns,
                            train_return=train_return, loss=loss_value, update=update,
                            solved=result.solved)
                if live is not None:
                    live(info)
                if callback is not None and callback(info):
                    stop_reason = "callback"
                elif result.solved and c.stop_on_solve:
                    stop_reason = "solved"
            if not stop_reason and env_steps >= c.max_env_steps:
                stop_reason = "max_env_steps"
            if not stop_reason and c.max_seconds is not None and train_seconds >= c.max_seconds:
                stop_reason = "max_seconds"
            if stop_reason:
                result.stopped_by = stop_reason
                return result
    finally:
        envs.close()
        if live is not None:
            live.close()
