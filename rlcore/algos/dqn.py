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
  which smooths the update-to-update noise of DQN's greedy policy.

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
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from .. import dqn_parts
from ..nets import mlp
from .common import config_html, evaluate, greedy_actions, seed_everything, set_threads

__all__ = ["Config", "LearnerFunctionError", "Result", "q_network", "train"]


@dataclass
class Config:
    """Every hyperparameter of ``train``, with the reason for its default."""

    env_id: str = "CartPole-v1"  # the course's benchmark env (discrete actions, 4-d obs)
    seed: int = 0  # seeds envs, network init, replay sampling, exploration: same seed, same run
    n_envs: int = 16  # envs stepped together: one forward pass acts for all, data less correlated
    max_env_steps: int = 200_000  # budget of env steps (all envs): most seeds solve in 10-30k, a few need 100k+
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
    lr_end: float = 2e-4  # annealed linearly to this, so the greedy policy settles once it balances
    lr_decay_steps: int = 30_000  # env steps of the annealing (DQN's greedy policy oscillates otherwise)
    hidden_sizes: tuple[int, ...] = (64, 64)  # small: plenty for CartPole, and an update is cheap
    buffer_size: int = 100_000  # keeps a whole typical run: early failures stay in the data
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
    threads: int | None = 1  # torch threads: a tiny net gains nothing from a second one (None = all)

    def _repr_html_(self) -> str:
        """In a notebook, ``Config()`` shows every field, its value and the reason for it."""
        return config_html(self)

    def validate(self) -> None:
        """Return None; raise ValueError/TypeError naming the first bad field."""
        if isinstance(self.env_id, str) and self.env_id.startswith("rlcore/"):
            from .. import probes  # noqa: F401 - registers the probe environments
        try:
            spec = gym.spec(self.env_id)
        except Exception:  # noqa: BLE001 - any lookup failure means an unknown id
            raise ValueError(f"Config.env_id: unknown Gymnasium env id {self.env_id!r}") from None
        if spec.vector_entry_point is None:
            raise ValueError(f"Config.env_id: {self.env_id} has no vectorized implementation "
                             "(vector_entry_point); use CartPole-v1 or an rlcore probe")
        positive_ints = ["n_envs", "max_env_steps", "eval_every", "eval_episodes", "buffer_size",
                         "batch_size", "train_freq", "gradient_steps", "target_update_every",
                         "eps_duration", "lr_decay_steps", "n_step"]
        for name in positive_ints:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"Config.{name} must be a positive integer, got {value!r}")
        for name in ["learning_starts", "evals_after_solve"]:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
                raise ValueError(f"Config.{name} must be a non-negative integer, got {value!r}")
        for name in ["gamma", "tau", "eps_start", "eps_end", "polyak_average"]:
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ValueError(f"Config.{name} must lie in [0, 1], got {value!r}")
        for name in ["lr", "lr_end", "reward_scale"]:
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"Config.{name} must be positive, got {value!r}")
        if self.max_seconds is not None and not self.max_seconds > 0:
            raise ValueError(f"Config.max_seconds must be positive or None, got {self.max_seconds!r}")
        if self.max_grad_norm is not None and not self.max_grad_norm > 0:
            raise ValueError(f"Config.max_grad_norm must be positive or None, got {self.max_grad_norm!r}")
        if len(self.hidden_sizes) == 0 or any(int(h) < 1 for h in self.hidden_sizes):
            raise ValueError(f"Config.hidden_sizes must be positive layer widths, got {self.hidden_sizes!r}")
        if self.batch_size > self.buffer_size:
            raise ValueError(f"Config.batch_size ({self.batch_size}) must not exceed "
                             f"Config.buffer_size ({self.buffer_size})")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"Config.threads must be a positive integer or None, got {self.threads!r}")


@dataclass
class Result:
    """What ``train`` returns: the learning curve, when it solved, and the trained agent.

    env_steps[k], train_seconds[k], eval_return[k]: the k-th evaluation (training time
    excludes evaluation). losses[k]: mean TD loss of the updates since the previous
    evaluation. solved_at_seconds / solved_at_steps: at the first evaluation with
    eval_return >= target_return, or None. post_solve_returns: the evaluations after
    that one (does the greedy policy stay solved?).
    """

    config: Config
    q_net: nn.Module  # the agent: the running (Polyak) average of the online network
    online_net: nn.Module  # Q_theta as trained, the network that chose the training actions
    env_steps: list[int] = field(default_factory=list)
    train_seconds: list[float] = field(default_factory=list)
    eval_return: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    solved_at_seconds: float | None = None
    solved_at_steps: int | None = None
    post_solve_returns: list[float] = field(default_factory=list)
    stopped_by: str = ""  # "max_env_steps", "max_seconds", "solved" or "callback"

    @property
    def solved(self) -> bool:
        """True when some evaluation reached ``config.target_return``."""
        return self.solved_at_steps is not None

    def act(self, obs: Any) -> Any:
        """Return the greedy actions argmax_a Q_theta(s, a) for a batch (n, obs_dim) or one obs.

        A batch gives an int64 array (n,); a single observation (obs_dim,) gives an int,
        so ``rlcore.rollout(env, result.act)`` works too.
        """
        return greedy_actions(self.q_net, obs)

    def __repr__(self) -> str:
        best = max(self.eval_return) if self.eval_return else float("nan")
        solved = (f"solved in {self.solved_at_seconds:.2f} s / {self.solved_at_steps:,d} steps"
                  if self.solved else "not solved")
        after = ""
        if self.post_solve_returns:
            after = (f", mean of the {len(self.post_solve_returns)} evaluations after solving "
                     f"{np.mean(self.post_solve_returns):.1f}")
        return (f"Result({self.config.env_id}, {len(self.eval_return)} evaluations, "
                f"best eval return {best:.1f}, {solved}{after})")


class LearnerFunctionError(RuntimeError):
    """An exercise function passed to ``train`` raised or returned something unusable."""


def q_network(obs_dim: int, n_actions: int, hidden_sizes: tuple[int, ...]) -> nn.Sequential:
    """Return Q_theta: an MLP (lesson 01's ``mlp``, ReLU) mapping obs (N, obs_dim) to Q-values (N, n_actions)."""
    return mlp([obs_dim, *[int(h) for h in hidden_sizes], n_actions], activation=nn.ReLU)


def _describe(x: Any) -> str:
    if isinstance(x, torch.Tensor):
        return f"Tensor{tuple(x.shape)}:{str(x.dtype).replace('torch.', '')}"
    if isinstance(x, np.ndarray):
        return f"array{x.shape}:{x.dtype}"
    if isinstance(x, nn.Module):
        return type(x).__name__
    if isinstance(x, float):
        return f"{x:.4g}"
    return type(x).__name__ if hasattr(x, "__dict__") else repr(x)


def _learner_call(name: str, fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """Call an exercise function; turn any exception into a message naming it and the call."""
    try:
        return fn(*args, **kwargs)
    except LearnerFunctionError:
        raise
    except Exception as e:
        shown = ", ".join([_describe(a) for a in args] + [f"{k}={_describe(v)}" for k, v in kwargs.items()])
        raise LearnerFunctionError(
            f"your {name} failed: {name}({shown}) raised {type(e).__name__}: {e}") from e


def _expect(ok: bool, name: str, message: str) -> None:
    if not ok:
        raise LearnerFunctionError(f"your {name} {message}")


def _check_parts(parts: dict[str, Any], obs_shape: tuple[int, ...], n_actions: int, seed: int) -> None:
    """Run every exercise function once on a tiny batch; raise LearnerFunctionError on a bad shape."""
    n, batch = 3, 5
    rng = np.random.default_rng(seed)
    buffer = _learner_call("ReplayBuffer", parts["ReplayBuffer"], 16, obs_shape, seed=seed)
    obs = rng.normal(size=(n, *obs_shape)).astype(np.float32)
    actions = rng.integers(0, n_actions, size=n)
    _learner_call("ReplayBuffer.add", buffer.add, obs, actions, np.ones(n, np.float32),
                  obs + 1, np.array([False, True, False]))
    _expect(len(buffer) == n, "ReplayBuffer", f"has len() {len(buffer)} after adding {n} transitions")
    sample = _learner_call("ReplayBuffer.sample", buffer.sample, batch)
    expected = {"obs": (batch, *obs_shape), "actions": (batch,), "rewards": (batch,),
                "next_obs": (batch, *obs_shape), "dones": (batch,)}
    for fname, shape in expected.items():
        value = getattr(sample, fname, None)
        _expect(isinstance(value, torch.Tensor), "ReplayBuffer.sample",
                f"must return an object with a Tensor field .{fname}, got {_describe(value)}")
        _expect(tuple(value.shape) == shape, "ReplayBuffer.sample",
                f"returned .{fname} of shape {tuple(value.shape)}, expected {shape} for sample({batch})")
    eps = _learner_call("linear_schedule", parts["linear_schedule"], 1.0, 0.0, 10, 5)
    _expect(np.ndim(eps) == 0 and abs(float(eps) - 0.5) < 1e-6, "linear_schedule",
            f"returned {eps!r} for linear_schedule(1.0, 0.0, 10, 5), expected 0.5")
    q = torch.randn(n, n_actions)
    acts = _learner_call("epsilon_greedy", parts["epsilon_greedy"], q, 0.0, rng)
    _expect(np.shape(acts) == (n,), "epsilon_greedy",
            f"returned shape {np.shape(acts)} for q_values of shape {(n, n_actions)}, expected ({n},)")
    _expect(np.array_equal(np.asarray(acts), q.argmax(1).numpy()), "epsilon_greedy",
            "with epsilon=0 must return argmax_a Q(s, a) of every row")
    y = _learner_call("dqn_targets", parts["dqn_targets"], sample.rewards, torch.randn(batch, n_actions),
                      sample.dones, 0.9)
    _expect(isinstance(y, torch.Tensor) and tuple(y.shape) == (batch,), "dqn_targets",
            f"returned {_describe(y)}, expected a Tensor of shape ({batch},)")
    qs = torch.randn(batch, n_actions, requires_grad=True)
    loss = _learner_call("dqn_loss", parts["dqn_loss"], qs, sample.actions, y)
    _expect(isinstance(loss, torch.Tensor) and loss.ndim == 0 and loss.requires_grad, "dqn_loss",
            f"returned {_describe(loss)}, expected a scalar Tensor with a gradient")
    net = q_network(int(np.prod(obs_shape)), n_actions, (4,))
    target = copy.deepcopy(net)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
    _learner_call("update_target", parts["update_target"], target, net, tau=1.0)
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
             next_obs: np.ndarray, terminated: np.ndarray, truncated: np.ndarray) -> list[tuple]:
        """Record one vector step in the envs where ``real``; return the transitions it completes.

        Each returned item is a batch (obs, actions, returns, next_obs, dones) for ``ReplayBuffer.add``.
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
                out.append((self.obs[emit, p], self.actions[emit, p], returns, next_obs[emit], terminated[emit]))
        self.length[real & (terminated | truncated)] = 0  # the next step starts a new episode
        return out


def train(
    config: Config,
    callback: Callable[[dict], bool | None] | None = None,
    progress: bool = True,
    ReplayBuffer: Any = None,
    linear_schedule: Callable | None = None,
    epsilon_greedy: Callable | None = None,
    dqn_targets: Callable | None = None,
    dqn_loss: Callable | None = None,
    update_target: Callable | None = None,
) -> Result:
    """Return a ``Result`` after training a DQN agent with ``config``.

    callback(info) runs after every evaluation with info keys ``env_steps``,
    ``train_seconds``, ``eval_return``, ``solved``, ``loss``, ``epsilon``; returning True stops.
    progress: show a live learning curve (``rlcore.live``) or print a line per evaluation.
    The keyword arguments take the learner's exercise functions (COURSE.md, lesson 06);
    None means rlcore's reference from ``rlcore.dqn_parts``.
    Raises ValueError naming the bad Config field, LearnerFunctionError when an
    exercise function fails (naming the function and the call).
    """
    if not isinstance(config, Config):
        raise TypeError(f"config must be an rlcore.algos.dqn.Config, got {type(config).__name__}")
    config.validate()
    cfg = config
    parts = {
        "ReplayBuffer": ReplayBuffer or dqn_parts.ReplayBuffer,
        "linear_schedule": linear_schedule or dqn_parts.linear_schedule,
        "epsilon_greedy": epsilon_greedy or dqn_parts.epsilon_greedy,
        "dqn_targets": dqn_targets or dqn_parts.dqn_targets,
        "dqn_loss": dqn_loss or dqn_parts.dqn_loss,
        "update_target": update_target or dqn_parts.update_target,
    }
    set_threads(cfg.threads)
    rng = seed_everything(cfg.seed)

    # --- environments, networks, optimizer, buffer ---------------------------------------
    envs = gym.make_vec(cfg.env_id, num_envs=cfg.n_envs, vectorization_mode="vector_entry_point")
    if not isinstance(envs.single_action_space, gym.spaces.Discrete):
        raise ValueError(f"Config.env_id: DQN needs discrete actions, {cfg.env_id} has "  # noqa: TRY004
                         f"{envs.single_action_space}")
    obs_shape = envs.single_observation_space.shape
    n_actions = int(envs.single_action_space.n)
    _check_parts(parts, obs_shape, n_actions, cfg.seed)
    q_net = q_network(int(np.prod(obs_shape)), n_actions, cfg.hidden_sizes)
    target_net = copy.deepcopy(q_net)
    for p in target_net.parameters():
        p.requires_grad_(False)
    optimizer = torch.optim.Adam(q_net.parameters(), lr=cfg.lr, fused=True)  # one kernel per step
    buffer = _learner_call("ReplayBuffer", parts["ReplayBuffer"], cfg.buffer_size, obs_shape, seed=cfg.seed)
    agent_net = copy.deepcopy(q_net)  # the running average of q_net: the agent we keep
    for p in agent_net.parameters():
        p.requires_grad_(False)
    result = Result(config=dataclasses.replace(cfg), q_net=agent_net, online_net=q_net)
    live = None
    if progress:
        from ..live import LiveCurve

        live = LiveCurve(target=cfg.target_return, title=f"DQN on {cfg.env_id}")

    window = NStepWindow(cfg.n_step, cfg.n_envs, obs_shape, cfg.gamma)
    obs, _ = envs.reset(seed=cfg.seed)
    was_done = np.zeros(cfg.n_envs, dtype=bool)  # True where this step is an auto-reset step
    env_steps, n_updates, vector_step = 0, 0, 0
    next_eval = cfg.eval_every
    loss_sum, loss_count = 0.0, 0
    train_seconds = 0.0
    t_start = time.perf_counter()
    try:
        while True:
            # --- act epsilon-greedily in every env at once and store real transitions ---
            epsilon = _learner_call("linear_schedule", parts["linear_schedule"],
                                    cfg.eps_start, cfg.eps_end, cfg.eps_duration, env_steps)
            with torch.no_grad():
                q_values = q_net(torch.as_tensor(obs, dtype=torch.float32))
            actions = _learner_call("epsilon_greedy", parts["epsilon_greedy"], q_values, epsilon, rng)
            next_obs, rewards, terminated, truncated, _ = envs.step(np.asarray(actions))
            real = ~was_done
            for transitions in window.push(real, obs, np.asarray(actions), rewards * cfg.reward_scale,
                                           next_obs, terminated, truncated):
                _learner_call("ReplayBuffer.add", buffer.add, *transitions)
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
                    batch = _learner_call("ReplayBuffer.sample", buffer.sample, cfg.batch_size)
                    with torch.no_grad():
                        next_q_target = target_net(batch.next_obs)
                    targets = _learner_call("dqn_targets", parts["dqn_targets"], batch.rewards,
                                            next_q_target, batch.dones, cfg.gamma ** cfg.n_step)
                    loss = _learner_call("dqn_loss", parts["dqn_loss"], q_net(batch.obs),
                                         batch.actions, targets)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    if cfg.max_grad_norm is not None:
                        nn.utils.clip_grad_norm_(q_net.parameters(), cfg.max_grad_norm)
                    optimizer.step()
                    n_updates += 1
                    if n_updates % cfg.target_update_every == 0:
                        _learner_call("update_target", parts["update_target"], target_net, q_net,
                                      tau=cfg.tau)
                    loss_sum += loss.item()
                    loss_count += 1
                # the agent we keep: theta_avg <- rate theta + (1 - rate) theta_avg
                _learner_call("update_target", parts["update_target"], agent_net, q_net,
                              tau=cfg.polyak_average)

            # --- evaluate the greedy policy (not counted as training time) ---------------
            if env_steps >= next_eval:
                train_seconds += time.perf_counter() - t_start
                next_eval += cfg.eval_every
                stop = _evaluate_and_record(result, cfg, env_steps, train_seconds,
                                            loss_sum / max(loss_count, 1), epsilon, callback, live)
                loss_sum, loss_count = 0.0, 0
                if not np.isfinite(result.losses[-1]):
                    raise FloatingPointError("DQN loss became non-finite; lower Config.lr")
                if stop:
                    break
                t_start = time.perf_counter()
            if env_steps >= cfg.max_env_steps:
                result.stopped_by = "max_env_steps"
                break
            if cfg.max_seconds is not None and train_seconds + time.perf_counter() - t_start >= cfg.max_seconds:
                result.stopped_by = "max_seconds"
                break
    finally:
        envs.close()
        if live is not None:
            live.close()
    return result


def _evaluate_and_record(result: Result, cfg: Config, env_steps: int, train_seconds: float,
                         loss: float, epsilon: float, callback: Callable | None, live: Any) -> bool:
    """Evaluate the greedy policy, append it to ``result``; return True when training should stop."""
    eval_return = float(np.mean(evaluate(result.act, cfg.env_id, n_episodes=cfg.eval_episodes)))
    result.env_steps.append(env_steps)
    result.train_seconds.append(train_seconds)
    result.eval_return.append(eval_return)
    result.losses.append(loss)
    if result.solved:
        result.post_solve_returns.append(eval_return)
    elif eval_return >= cfg.target_return:
        result.solved_at_seconds, result.solved_at_steps = train_seconds, env_steps
    info = {"env_steps": env_steps, "train_seconds": train_seconds, "eval_return": eval_return,
            "solved": result.solved, "loss": loss, "epsilon": float(epsilon)}
    if live is not None:
        live(info)
    stop = False
    if callback is not None and callback(dict(info)):
        result.stopped_by, stop = "callback", True
    if cfg.stop_on_solve and result.solved and len(result.post_solve_returns) >= cfg.evals_after_solve:
        result.stopped_by, stop = "solved", True
    return stop
