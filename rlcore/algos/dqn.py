"""Deep Q-learning (DQN) on a vectorized Gymnasium env, in one file that reads top to bottom.

The algorithm is the talk's "Deep Q-Learning" (Mnih et al., 2013):

    act epsilon-greedily w.r.t. Q_theta, store (s, a, r, s', d) in a replay buffer D,
    sample minibatches B from D and descend  mean_B (Q_theta(s, a) - y)^2  with
    y = r + gamma (1 - d) max_a' Q_theta_targ(s', a'),  then move theta_targ toward theta.

What makes it fast on a laptop CPU (CartPole-v1 solved in a few seconds):
- ``n_envs`` environments step together (Gymnasium's numpy-vectorized CartPole), so one
  forward pass chooses every env's action, and each training phase sees many episodes;
- the replay buffer is numpy arrays; a minibatch is one fancy-index per field;
- a small network and large minibatches (512): few, smooth updates (one torch thread);
- training in phases: every ``train_freq`` vector steps, ``gradient_steps`` updates toward
  targets held fixed for the phase (the target network is copied once per phase);
- n-step targets (``n_step = 3``): a stored transition sums the next n rewards,
  R_t^(n) = r_t + gamma r_{t+1} + ... + gamma^(n-1) r_{t+n-1}, and bootstraps from s_{t+n}
  with gamma^n, so y = R_t^(n) + gamma^n (1 - d) max_a' Q_theta_targ(s_{t+n}, a'). The
  news that the cart is drifting toward the edge travels back n steps per update instead
  of one. (The n-1 actions inside the sum were epsilon-greedy, not greedy: a small bias,
  uncorrected, as in Rainbow; ``n_step = 1`` is the talk's DQN exactly.)
- rewards scaled so that Q stays near 1 (CartPole's returns reach 100 with gamma = 0.99),
  and a step size annealed so that the greedy policy settles once it balances the pole;
- the agent kept (evaluated, returned) is a running Polyak average of the online weights,
  which smooths the update-to-update noise of DQN's greedy policy;
- a replay buffer of the last 8,000 transitions, not the whole run: n-step returns of old
  transitions sum the rewards of old, exploratory actions, so they are pessimistic targets
  for the current policy. Measured over 50 seeds with a 100k buffer, the slow seeds (1 in 6
  needed 88k-154k steps against a median of 15k) had max_a Q stuck near 0.7 (a good policy's
  is ~0.95 with rewards scaled by 0.01) and solved right after the buffer started to
  overwrite its first transitions, at 100k steps. With 20k the slowest of 50 seeds needed
  72k steps (p90 40k, median 15k); with 8k and a step size annealed to 6e-4 instead of
  2e-4 (so that a seed still climbing after 30k steps keeps learning), 100 seeds solve in
  a median of 12k steps, p90 20k, max 28k; 90 of the 100 stay solved for the next 5
  evaluations (smaller buffers forget more: with 6k, 44 of 50).

Gymnasium 1.x vector envs auto-reset on the step *after* an episode ends ("next-step"
autoreset): that step returns the new episode's first observation with reward 0 and
ignores the action, so it is not a real transition and is never stored. Only
``terminated`` (the pole fell) is stored as ``done``; a time-limit ``truncated`` episode
is not terminal for the MDP, so its last transition still bootstraps from s'. (With n-step
targets, the last n-1 steps of a truncated episode have no s_{t+n} and are not stored.)

``train`` accepts the learner's own exercise functions (lesson 06) in place of the
reference ones from ``rlcore.dqn_parts``; they are first checked on a tiny batch, and
any error they raise later stops training with a message naming the function.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import dqn_parts
from .._format import brief
from ..nets import mlp
from . import _plumbing as plumbing
from ._plumbing import Curve, LearnerFunctionError, TrainClock, budget_spent, progress_display
from ._population import PopulationResult
from .common import config_html, evaluate, greedy_actions, seed_everything, set_threads

__all__ = ["Config", "LearnerFunctionError", "PopulationResult", "Result", "q_network", "train",
           "train_population"]


@dataclass
class Config:
    """Every hyperparameter of ``train``, with the reason for its default."""

    env_id: str = "CartPole-v1"  # the course's benchmark env (discrete actions, 4-d obs)
    seed: int = 0  # seeds envs, network init, replay sampling, exploration: same seed, same run
    n_envs: int = 16  # envs stepped together: one forward pass acts for all, data less correlated
    max_env_steps: int = 200_000  # budget of env steps (all envs): most seeds solve in 6-20k, all of 100 by 28k
    max_seconds: float | None = None  # budget of training wall clock (None = unbounded)
    eval_every: int = 2_000  # env steps between greedy evaluations (benchmark protocol)
    eval_episodes: int = 20  # episodes per evaluation (benchmark protocol)
    target_return: float = 475.0  # "solved" when the greedy mean return reaches this
    stop_on_solve: bool = False  # stop after solving (and ``evals_after_solve`` more evaluations)
    evals_after_solve: int = 5  # evaluations after solving, to see whether the policy stays solved
    gamma: float = 0.99  # discount: failures ~100 steps ahead (drifting off the track) still count
    n_step: int = 3  # targets sum n rewards before bootstrapping: a failure reaches Q n times faster
    reward_scale: float = 0.01  # CartPole's Q* is near 1 / (1 - gamma) = 100; scaled, Q stays near 1
    lr: float = 2e-3  # Adam step size at the start: large steps while the policy is poor
    lr_end: float = 6e-4  # annealed linearly to this, so the greedy policy settles once it balances
    # (2e-4 starved the seeds still climbing after lr_decay_steps: 50 seeds with a 20k buffer
    # needed p90 40k steps to solve with 2e-4, 32k with 6e-4)
    lr_decay_steps: int = 30_000  # env steps of the annealing (DQN's greedy policy oscillates otherwise)
    hidden_sizes: tuple[int, ...] = (64, 64)  # small: plenty for CartPole, and an update is cheap
    buffer_size: int = 8_000  # the recent past only: the first, exploratory transitions (3-step
    # returns of epsilon ~ 1 actions) are pessimistic targets; with 100k they held max Q near 0.7
    # instead of ~0.95 and slow seeds solved only once the buffer overwrote them. p90 / median of
    # the steps to solve: 20k, 2.7 (50 seeds); 8k, 1.7 (100 seeds; bench/results/dqn_seeds_*.json)
    batch_size: int = 512  # a CPU update on 512 costs ~1.3x one on 256: fewer, smoother updates
    learning_starts: int = 1_000  # random transitions gathered before the first update
    train_freq: int = 4  # vector steps (of n_envs env steps each) between training phases...
    gradient_steps: int = 12  # ...of this many updates: 0.19 updates (96 samples) per env step
    tau: float = 1.0  # target update theta_targ <- tau theta + (1 - tau) theta_targ; 1 = a copy
    target_update_every: int = 12  # updates between target updates: targets fixed for one phase
    eps_start: float = 1.0  # explore fully at first...
    eps_end: float = 0.04  # ...and a little forever after
    eps_duration: int = 8_000  # env steps of the linear epsilon decay
    polyak_average: float = 0.15  # the agent kept is a running average of the online weights,
    # theta_avg <- rate theta + (1 - rate) theta_avg after every training phase (about the last
    # 7 phases): it smooths the noise that flips DQN's greedy policy (1.0: the online net itself)
    max_grad_norm: float | None = None  # clip the gradient norm to this (None: no clipping)
    threads: int | None = 1  # torch and numpy (BLAS) threads: a tiny net gains nothing from a second one (None = all)
    patience_steps: int = 100_000  # stop early when no evaluation has moved after this many env
    # steps (correct parts leave the random policy behind within ~10k): name the parts to re-check

    def _repr_html_(self) -> str:
        """In a notebook, ``Config()`` shows every field, its value and the reason for it."""
        return config_html(self)

    def validate(self) -> None:
        """Return None; raise ValueError naming the first bad field and its allowed range."""
        plumbing.check_fields(self, positive_ints=("n_envs", "max_env_steps", "eval_every", "eval_episodes",
                                                   "buffer_size", "batch_size", "train_freq", "gradient_steps",
                                                   "target_update_every", "eps_duration", "lr_decay_steps",
                                                   "n_step", "patience_steps"),
                              nonneg_ints=("learning_starts", "evals_after_solve"),
                              unit=("gamma", "tau", "eps_start", "eps_end", "polyak_average"),
                              positive=("lr", "lr_end", "reward_scale"),
                              optional_positive=("max_seconds", "max_grad_norm"), sizes=("hidden_sizes",),
                              optional_positive_ints=("threads",))
        if self.batch_size > self.buffer_size:
            raise ValueError(f"Config.batch_size ({self.batch_size}) must not exceed "
                             f"Config.buffer_size ({self.buffer_size})")


@dataclass(kw_only=True, repr=False)  # Curve's repr: a one-line summary
class Result(Curve):
    """What ``train`` returns: the learning curve (``Curve``), when it solved, and the agent.

    env_steps[k], train_seconds[k], eval_return[k]: the k-th evaluation (training time
    excludes evaluation). losses[k]: mean TD loss of the updates since the previous
    evaluation. solved_at_seconds / solved_at_steps: at the first evaluation with
    eval_return >= target_return, or None. post_solve_returns: the evaluations after
    that one (does the greedy policy stay solved?).
    """

    q_net: nn.Module  # the agent: the running (Polyak) average of the online network
    online_net: nn.Module  # Q_theta as trained, the network that chose the training actions

    def act(self, obs: Any) -> Any:
        """Return the greedy actions argmax_a Q_theta(s, a) for a batch (n, obs_dim) or one obs.

        A batch gives an int64 array (n,); a single observation (obs_dim,) gives an int,
        so ``rlcore.rollout(env, result.act)`` works too.
        """
        return greedy_actions(self.q_net, obs)


def q_network(obs_dim: int, n_actions: int, hidden_sizes: tuple[int, ...]) -> nn.Sequential:
    """Return Q_theta: an MLP (lesson 01's ``mlp``, ReLU) mapping obs (N, obs_dim) to Q-values (N, n_actions)."""
    return mlp([obs_dim, *[int(h) for h in hidden_sizes], n_actions], activation=nn.ReLU)


def _expect(ok: bool, name: str, message: str) -> None:
    if not ok:
        raise LearnerFunctionError(name, message)


def _check_parts(parts: dict[str, Any], obs_shape: tuple[int, ...], n_actions: int, seed: int) -> None:
    """Run every exercise function once on a tiny batch; raise LearnerFunctionError on a bad shape."""
    n, batch = 3, 5
    rng = np.random.default_rng(seed)
    buffer = plumbing.call_learner("ReplayBuffer", parts["ReplayBuffer"], 16, obs_shape, seed=seed)
    obs = rng.normal(size=(n, *obs_shape)).astype(np.float32)
    actions = rng.integers(0, n_actions, size=n)
    plumbing.call_learner("ReplayBuffer.add", buffer.add, obs, actions, np.ones(n, np.float32),
                           obs + 1, np.array([False, True, False]))
    _expect(len(buffer) == n, "ReplayBuffer", f"has len() {len(buffer)} after adding {n} transitions")
    sample = plumbing.call_learner("ReplayBuffer.sample", buffer.sample, batch)
    expected = {"obs": (batch, *obs_shape), "actions": (batch,), "rewards": (batch,),
                "next_obs": (batch, *obs_shape), "dones": (batch,)}
    for fname, shape in expected.items():
        value = getattr(sample, fname, None)
        _expect(isinstance(value, torch.Tensor), "ReplayBuffer.sample",
                f"must return an object with a Tensor field .{fname}, got {brief(value)}")
        _expect(tuple(value.shape) == shape, "ReplayBuffer.sample",
                f"returned .{fname} of shape {tuple(value.shape)}, expected {shape} for sample({batch})")
    eps = plumbing.call_learner("linear_schedule", parts["linear_schedule"], 1.0, 0.0, 10, 5)
    _expect(np.ndim(eps) == 0 and abs(float(eps) - 0.5) < 1e-6, "linear_schedule",
            f"returned {eps!r} for linear_schedule(1.0, 0.0, 10, 5), expected 0.5")
    q = torch.randn(n, n_actions)
    acts = plumbing.call_learner("epsilon_greedy", parts["epsilon_greedy"], q, 0.0, rng)
    _expect(np.shape(acts) == (n,), "epsilon_greedy",
            f"returned shape {np.shape(acts)} for q_values of shape {(n, n_actions)}, expected ({n},)")
    _expect(np.array_equal(np.asarray(acts), q.argmax(1).numpy()), "epsilon_greedy",
            "with epsilon=0 must return argmax_a Q(s, a) of every row")
    y = plumbing.call_learner("dqn_targets", parts["dqn_targets"], sample.rewards, torch.randn(batch, n_actions),
                               sample.dones, 0.9)
    _expect(isinstance(y, torch.Tensor) and tuple(y.shape) == (batch,), "dqn_targets",
            f"returned {brief(y)}, expected a Tensor of shape ({batch},)")
    qs = torch.randn(batch, n_actions, requires_grad=True)
    loss = plumbing.call_learner("dqn_loss", parts["dqn_loss"], qs, sample.actions, y)
    _expect(isinstance(loss, torch.Tensor) and loss.ndim == 0 and loss.requires_grad, "dqn_loss",
            f"returned {brief(loss)}, expected a scalar Tensor with a gradient")
    net = q_network(int(np.prod(obs_shape)), n_actions, (4,))
    target = copy.deepcopy(net)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
    plumbing.call_learner("update_target", parts["update_target"], target, net, tau=1.0)
    _expect(all(torch.equal(a, b) for a, b in zip(target.parameters(), net.parameters())),
            "update_target", "with tau=1.0 must copy the online parameters into the target")


class NStepWindow:
    """Each env's last n real steps, turned into n-step transitions for the replay buffer.

    A transition starting at step t is (s_t, a_t, R_t^(n), s_{t+n}, d) with
    R_t^(n) = sum_{j<n} gamma^j r_{t+j}. When the episode terminates at step T, the starts
    t > T - n get the shorter sums R_t = sum_{j <= T-t} gamma^j r_{t+j} and d = 1 (there is
    nothing to bootstrap from). With n = 1 every transition is (s_t, a_t, r_t, s_{t+1}, d_t).
    """

    def __init__(self, n: int, n_envs: int, obs_shape: tuple[int, ...], gamma: float) -> None:
        self.n = n
        self.obs = np.zeros((n_envs, n, *obs_shape), dtype=np.float32)  # position n-1: newest
        self.actions = np.zeros((n_envs, n), dtype=np.int64)
        self.rewards = np.zeros((n_envs, n), dtype=np.float32)
        self.length = np.zeros(n_envs, dtype=np.int64)  # real steps so far in each env's episode
        self.discounts = gamma ** np.arange(n, dtype=np.float32)  # 1, gamma, ..., gamma^(n-1)

    def push(self, real: np.ndarray, obs: np.ndarray, actions: np.ndarray, rewards: np.ndarray,
             next_obs: np.ndarray, terminated: np.ndarray, truncated: np.ndarray,
             with_envs: bool = False) -> list[tuple]:
        """Record one vector step in the envs where ``real``; return the transitions it completes.

        Each returned item is a batch (obs, actions, returns, next_obs, dones) for
        ``ReplayBuffer.add``; with_envs: a sixth entry, the index of each row's env.
        """
        n = self.n
        for history, new in ((self.obs, obs), (self.actions, actions), (self.rewards, rewards)):
            history[real, :-1] = history[real, 1:]  # shift the window by one step...
            history[real, -1] = new[real]  # ...and append this step
        self.length += real
        done = real & terminated
        out = []
        for p in range(n):  # p: the start's position in the window (0 = oldest)
            # position 0 completes an n-step transition; later positions only at termination
            emit = real & (self.length >= n - p)
            if p > 0:
                emit &= done
            if emit.any():
                returns = self.rewards[emit, p:] @ self.discounts[: n - p]
                item = (self.obs[emit, p], self.actions[emit, p], returns, next_obs[emit], terminated[emit])
                out.append((*item, np.flatnonzero(emit)) if with_envs else item)
        self.length[real & (terminated | truncated)] = 0  # the next step starts a new episode
        return out


def train(config: Config, callback: Callable[[dict], bool | None] | None = None,
          progress: bool = True, ReplayBuffer: Any = None, linear_schedule: Callable | None = None,
          epsilon_greedy: Callable | None = None, dqn_targets: Callable | None = None,
          dqn_loss: Callable | None = None, update_target: Callable | None = None,
          check_functions: bool = True) -> Result:
    """Return a ``Result`` after training a DQN agent with ``config``.

    callback(info) runs after every evaluation with info keys ``env_steps``,
    ``train_seconds``, ``eval_return``, ``solved``, ``loss``, ``epsilon``; returning True stops.
    progress: show a live learning curve (``rlcore.live``) or print a line per evaluation.
    The keyword arguments take the learner's exercise functions (docs/contract.md, lesson 06);
    None means rlcore's reference from ``rlcore.dqn_parts``. check_functions: run each
    given function's visible check first (a failure stops before training, with its message).
    Raises ValueError naming the bad Config field, LearnerFunctionError when an
    exercise function fails (naming the function and the call), NotLearning (a
    LearnerFunctionError) when no evaluation improved within ``patience_steps``.
    """
    cfg = config
    given = dict(ReplayBuffer=ReplayBuffer, linear_schedule=linear_schedule,
                 epsilon_greedy=epsilon_greedy, dqn_targets=dqn_targets, dqn_loss=dqn_loss,
                 update_target=update_target)
    parts, learner = plumbing.prepare(config, Config, given, dqn_parts, check_functions)
    set_threads(cfg.threads)
    rng = seed_everything(cfg.seed)

    # --- environments, networks, optimizer, buffer ---------------------------------------
    envs = plumbing.make_vec_env(cfg.env_id, cfg.n_envs, actions="discrete")
    obs_shape = envs.single_observation_space.shape
    n_actions = int(envs.single_action_space.n)
    _check_parts(parts, obs_shape, n_actions, cfg.seed)
    q_net = q_network(int(np.prod(obs_shape)), n_actions, cfg.hidden_sizes)
    target_net = plumbing.frozen_copy(q_net)
    q_params = list(q_net.parameters())
    optimizer = plumbing.adam(q_params, lr=cfg.lr)
    buffer = plumbing.call_learner("ReplayBuffer", parts["ReplayBuffer"], cfg.buffer_size, obs_shape, seed=cfg.seed)
    agent_net = plumbing.frozen_copy(q_net)  # the running average of q_net: the agent we keep
    result = Result(config=dataclasses.replace(cfg), q_net=agent_net, online_net=q_net)
    live = progress_display(progress, cfg.target_return, f"DQN on {cfg.env_id}")

    window = NStepWindow(cfg.n_step, cfg.n_envs, obs_shape, cfg.gamma)
    obs, _ = envs.reset(seed=cfg.seed)
    was_done = np.zeros(cfg.n_envs, dtype=bool)  # True where this step is an auto-reset step
    env_steps, n_updates, vector_step = 0, 0, 0
    next_eval = cfg.eval_every
    loss_sum, q_sum, loss_count = 0.0, 0.0, 0
    clock = TrainClock()
    try:
        while True:
            # --- act epsilon-greedily in every env at once and store real transitions ---
            epsilon = plumbing.call_learner("linear_schedule", parts["linear_schedule"],
                                             cfg.eps_start, cfg.eps_end, cfg.eps_duration, env_steps)
            with torch.no_grad():
                q_values = q_net(torch.as_tensor(obs, dtype=torch.float32))
            actions = plumbing.call_learner("epsilon_greedy", parts["epsilon_greedy"], q_values, epsilon, rng)
            next_obs, rewards, terminated, truncated, _ = envs.step(np.asarray(actions))
            real = ~was_done
            for transitions in window.push(real, obs, np.asarray(actions), rewards * cfg.reward_scale,
                                           next_obs, terminated, truncated):
                plumbing.call_learner("ReplayBuffer.add", buffer.add, *transitions)
            was_done = terminated | truncated
            obs = next_obs
            env_steps += cfg.n_envs
            vector_step += 1

            # --- a few gradient steps on minibatches from the buffer ---------------------
            if env_steps >= cfg.learning_starts and vector_step % cfg.train_freq == 0:
                frac = min(env_steps / cfg.lr_decay_steps, 1.0)
                for group in optimizer.param_groups:
                    group["lr"] = cfg.lr + (cfg.lr_end - cfg.lr) * frac
                for _ in range(cfg.gradient_steps):
                    batch = plumbing.call_learner("ReplayBuffer.sample", buffer.sample, cfg.batch_size)
                    with torch.no_grad():
                        next_q_target = target_net(batch.next_obs)
                    targets = plumbing.call_learner("dqn_targets", parts["dqn_targets"], batch.rewards,
                                                     next_q_target, batch.dones, cfg.gamma ** cfg.n_step)
                    q_all = q_net(batch.obs)
                    loss = plumbing.call_learner("dqn_loss", parts["dqn_loss"], q_all,
                                                  batch.actions, targets)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    if cfg.max_grad_norm is not None:
                        plumbing.clip_grad_norm(q_params, cfg.max_grad_norm)
                    optimizer.step()
                    n_updates += 1
                    if n_updates % cfg.target_update_every == 0:
                        plumbing.call_learner("update_target", parts["update_target"], target_net, q_net,
                                               tau=cfg.tau)
                    loss_sum += loss.item()
                    q_sum += float(q_all.detach().max(dim=1).values.mean())
                    loss_count += 1
                # the agent we keep: theta_avg <- rate theta + (1 - rate) theta_avg
                plumbing.call_learner("update_target", parts["update_target"], agent_net, q_net,
                                       tau=cfg.polyak_average)

            # --- evaluate the greedy policy (not counted as training time) ---------------
            if env_steps >= next_eval:
                next_eval += cfg.eval_every
                with clock.paused():
                    returns = evaluate(result.act, cfg.env_id, n_episodes=cfg.eval_episodes)
                loss = loss_sum / max(loss_count, 1)
                stop = result.record(returns, env_steps, clock.seconds, cfg.target_return, loss,
                                     callback, live, stop_on_solve=cfg.stop_on_solve,
                                     evals_after_solve=cfg.evals_after_solve, epsilon=float(epsilon),
                                     q_max=q_sum / max(loss_count, 1))
                loss_sum, q_sum, loss_count = 0.0, 0.0, 0
                if not np.isfinite(loss):
                    raise FloatingPointError("DQN loss became non-finite; lower Config.lr")
                if stop:
                    break
                result.watch(learner, cfg.patience_steps, 0.1, cfg.target_return)
            if spent := budget_spent(cfg, env_steps, clock.seconds):
                result.stopped_by = spent
                break
    finally:
        plumbing.close_all(envs, live)
    return result


# ---------------------------------------------------------------------------------------
# Many seeds at once: seeds as a batch dimension.
# ---------------------------------------------------------------------------------------

def _clip_per_seed(params: list[torch.Tensor], max_norm: float) -> None:
    """Scale each seed's gradient (the slices [s] of every stacked parameter) to norm <= max_norm."""
    grads = [p.grad for p in params if p.grad is not None]
    sq = sum(g.pow(2).reshape(g.shape[0], -1).sum(1) for g in grads)
    scale = (max_norm / (sq.sqrt() + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(scale.reshape(-1, *([1] * (g.ndim - 1))))


def train_population(config: Config, seeds: Any = (0,),
                     callback: Callable[[dict], bool | None] | None = None, progress: bool = True,
                     ReplayBuffer: Any = None, linear_schedule: Callable | None = None,
                     epsilon_greedy: Callable | None = None, dqn_targets: Callable | None = None,
                     dqn_loss: Callable | None = None, update_target: Callable | None = None,
                     check_functions: bool = True,
                     max_memory_bytes: float | None = None) -> PopulationResult:
    """Return a ``PopulationResult``: S = len(seeds) independent DQN runs of ``train``, trained at once.

    Seed s's Q_theta_s starts from the weights ``train(seed=s)`` starts from. The S online,
    target and averaged networks are each one ``StackedMLP`` (one batched forward pass for
    all S seeds); the envs are S groups of ``n_envs``; each seed stores its transitions in its
    own replay buffer (``ReplayBuffer(buffer_size, obs_shape, seed=s)``) and samples its own
    minibatch B_s; the population descends sum_s L_s with L_s = mean_{B_s} (Q_theta_s(s, a) -
    y)^2, so theta_s gets exactly grad L_s, and Adam's state (elementwise) is per seed; the
    gradient clip, when set, is per seed too. ``config.seed`` is ignored. Each seed stops as
    ``train`` would (``stop_on_solve``, its budget); the population stops when all have.

    The learner's functions plug in as in ``train``: one buffer per seed; ``epsilon_greedy``
    once on the (S * n_envs, A) Q-values; ``dqn_targets`` and ``dqn_loss`` once on the S
    minibatches laid end to end, (S * B,) (every row is its own transition; the loss, a mean
    over S * B rows, is multiplied by S to be sum_s L_s); ``update_target`` on the stacked
    networks (it walks ``parameters()``, which are the stacked tensors).
    callback(info) after every evaluation of a seed, info as in ``train`` plus ``seed``.
    Raises ValueError/TypeError naming ``seeds`` (none, repeats, not ints) or the Config field,
    MemoryError naming ``seeds`` when S replay buffers would not fit (estimated before any
    is allocated), LearnerFunctionError as ``train``.
    """
    from ..nets import StackedMLP
    from ._population import (
        check_memory,
        check_seeds,
        evaluate_members,
        population_env_seed,
    )

    if not isinstance(config, Config):
        raise TypeError(f"config must be an rlcore.algos.dqn.Config, got {type(config).__name__}")
    seeds = check_seeds(seeds)
    cfg = config
    S, N = len(seeds), cfg.n_envs
    parts, learner = plumbing.prepare(
        config, Config, dict(ReplayBuffer=ReplayBuffer, linear_schedule=linear_schedule,
                             epsilon_greedy=epsilon_greedy, dqn_targets=dqn_targets,
                             dqn_loss=dqn_loss, update_target=update_target), dqn_parts, check_functions)
    set_threads(cfg.threads)

    envs = plumbing.make_vec_env(cfg.env_id, S * N, actions="discrete")
    obs_shape = envs.single_observation_space.shape
    obs_dim = int(np.prod(obs_shape))
    n_actions = int(envs.single_action_space.n)
    sizes = [obs_dim, *cfg.hidden_sizes, n_actions]
    n_params = sum((a + 1) * b for a, b in itertools.pairwise(sizes))
    per_buffer = cfg.buffer_size * (2 * 4 * obs_dim + 8 + 4 + 4)  # obs, next_obs, a, r, d
    try:
        check_memory(S * (per_buffer + 6 * 4 * n_params + 3 * cfg.batch_size * 4 * (obs_dim + sum(sizes))),
                     f"{S} seeds x a replay buffer of {cfg.buffer_size:,} transitions "
                     f"({per_buffer / 2**20:.1f} MiB each) + 3 networks of {n_params:,} weights",
                     limit_bytes=max_memory_bytes)
    except MemoryError:
        envs.close()
        raise
    nets = []
    for s in seeds:  # seed s's initial weights are those of train(seed=s): the same draws before
        seed_everything(s)
        _check_parts(parts, obs_shape, n_actions, s)
        nets.append(q_network(obs_dim, n_actions, cfg.hidden_sizes))
    q_net = StackedMLP.from_mlps(nets, nn.ReLU)
    target_net, agent_net = plumbing.frozen_copy(q_net), plumbing.frozen_copy(q_net)
    optimizer = plumbing.adam(q_net.parameters(), lr=cfg.lr)
    buffers = [plumbing.call_learner("ReplayBuffer", parts["ReplayBuffer"], cfg.buffer_size, obs_shape, seed=s)
                        for s in seeds]
    rng = np.random.default_rng(population_env_seed(seeds))
    results = [Result(config=dataclasses.replace(cfg, seed=s), q_net=nets[i], online_net=nets[i])
               for i, s in enumerate(seeds)]
    live = progress_display(progress, cfg.target_return, f"DQN on {cfg.env_id}, {S} seeds")

    window = NStepWindow(cfg.n_step, S * N, obs_shape, cfg.gamma)
    obs, _ = envs.reset(seed=population_env_seed(seeds))
    was_done = np.zeros(S * N, dtype=bool)
    env_steps, n_updates, vector_step = 0, 0, 0
    next_eval = cfg.eval_every
    active = np.ones(S, dtype=bool)
    loss_sum, q_sum, loss_count = np.zeros(S), np.zeros(S), 0
    clock = TrainClock()
    stopped_by = ""
    try:
        while active.any():
            epsilon = plumbing.call_learner("linear_schedule", parts["linear_schedule"],
                                            cfg.eps_start, cfg.eps_end, cfg.eps_duration, env_steps)
            with torch.no_grad():
                q_values = q_net(torch.as_tensor(obs, dtype=torch.float32).reshape(S, N, obs_dim))
            actions = plumbing.call_learner("epsilon_greedy", parts["epsilon_greedy"],
                                            q_values.reshape(S * N, n_actions), epsilon, rng)
            next_obs, rewards, terminated, truncated, _ = envs.step(np.asarray(actions))
            for *transitions, env_index in window.push(
                    ~was_done, obs, np.asarray(actions), rewards * cfg.reward_scale, next_obs,
                    terminated, truncated, with_envs=True):
                member = env_index // N
                for i in np.unique(member):
                    rows = member == i
                    plumbing.call_learner("ReplayBuffer.add", buffers[i].add, *(t[rows] for t in transitions))
            was_done = terminated | truncated
            obs = next_obs
            env_steps += N  # env steps of each seed
            vector_step += 1

            if env_steps >= cfg.learning_starts and vector_step % cfg.train_freq == 0:
                frac = min(env_steps / cfg.lr_decay_steps, 1.0)
                for group in optimizer.param_groups:
                    group["lr"] = cfg.lr + (cfg.lr_end - cfg.lr) * frac
                B = cfg.batch_size
                for _ in range(cfg.gradient_steps):
                    samples = [plumbing.call_learner("ReplayBuffer.sample", b.sample, B) for b in buffers]
                    batch = {f: torch.stack([getattr(x, f) for x in samples])
                             for f in ("obs", "actions", "rewards", "next_obs", "dones")}
                    with torch.no_grad():
                        next_q_target = target_net(batch["next_obs"].reshape(S, B, obs_dim))
                    targets = plumbing.call_learner(
                                 "dqn_targets", parts["dqn_targets"], batch["rewards"].reshape(S * B),
                                 next_q_target.reshape(S * B, n_actions), batch["dones"].reshape(S * B),
                                 cfg.gamma ** cfg.n_step)
                    q_all = q_net(batch["obs"].reshape(S, B, obs_dim)).reshape(S * B, n_actions)
                    acts = batch["actions"].reshape(S * B)
                    loss = plumbing.call_learner("dqn_loss", parts["dqn_loss"], q_all, acts, targets) * S
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    if cfg.max_grad_norm is not None:
                        _clip_per_seed(list(q_net.parameters()), cfg.max_grad_norm)
                    optimizer.step()
                    n_updates += 1
                    if n_updates % cfg.target_update_every == 0:
                        plumbing.call_learner("update_target", parts["update_target"], target_net, q_net,
                                              tau=cfg.tau)
                    with torch.no_grad():  # per-seed diagnostics: the TD error and max_a Q
                        q_sa = q_all.detach().gather(1, acts.long().unsqueeze(1)).reshape(S, B)
                        loss_sum += ((q_sa - targets.detach().reshape(S, B)) ** 2).mean(1).numpy()
                        q_sum += q_all.detach().max(1).values.reshape(S, B).mean(1).numpy()
                    loss_count += 1
                plumbing.call_learner("update_target", parts["update_target"], agent_net, q_net,
                                      tau=cfg.polyak_average)

            if env_steps >= next_eval:
                next_eval += cfg.eval_every
                due = np.flatnonzero(active)
                with clock.paused():
                    returns = evaluate_members(agent_net, due, cfg.env_id, cfg.eval_episodes)
                for row, i in enumerate(due):
                    r = results[i]
                    loss_i = loss_sum[i] / max(loss_count, 1)
                    cb = None if callback is None else (
                        lambda info, s=seeds[i]: callback({**info, "seed": s}))
                    stop = r.record(returns[row], env_steps, clock.seconds, cfg.target_return,
                                    loss_i, cb, live if i == due[0] else None,
                                    stop_on_solve=cfg.stop_on_solve,
                                    evals_after_solve=cfg.evals_after_solve, epsilon=float(epsilon),
                                    q_max=q_sum[i] / max(loss_count, 1))
                    if not np.isfinite(loss_i):
                        raise FloatingPointError(f"DQN loss of seed {seeds[i]} became non-finite; "
                                                 "lower Config.lr")
                    try:
                        r.watch(learner, cfg.patience_steps, 0.1, cfg.target_return)
                    except LearnerFunctionError:
                        if learner:
                            raise
                        stop = True
                    if stop:  # the seed's agent and online network as they are now
                        active[i] = False
                        r.q_net, r.online_net = agent_net.member(i), q_net.member(i)
                loss_sum[:], q_sum[:], loss_count = 0.0, 0.0, 0
            if active.any() and (spent := budget_spent(cfg, env_steps, clock.seconds)):
                for i in np.flatnonzero(active):
                    results[i].stopped_by = spent
                    results[i].q_net, results[i].online_net = agent_net.member(i), q_net.member(i)
                active[:] = False
                if spent == "max_seconds":
                    stopped_by = spent
    finally:
        plumbing.close_all(envs, live)
    return PopulationResult(seeds=seeds, results=results, wall_seconds=clock.seconds, config=cfg,
                            stopped_by=stopped_by or "all seeds stopped")
