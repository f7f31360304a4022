"""What TD3 (and DDPG) and SAC share: replay storage, twin critics, Polyak averaging, the loop.

Off-policy actor-critic methods all run the same loop (lesson 06's, with a continuous actor):

    act in every env (uniformly random for the first ``learning_starts`` env steps, then the
    actor plus exploration), store (s, a, r, s', d) in a replay buffer D, and after every
    vector step run ``n_envs * utd`` gradient steps on minibatches from D.

Only the gradient step differs (``td3.py``, ``sac.py``: the ``Agent.update`` each defines).
What makes it fast on a CPU:
- ``n_envs`` Pendulums stepped together in numpy (``rlcore.pendulum.VectorPendulum``);
- numpy replay storage: a minibatch is one fancy-index per field, no Python loop;
- the two critics Q_theta1, Q_theta2 are one ``rlcore.nets.StackedMLP``: one ``baddbmm``
  per layer evaluates both (the twin costs little more than one critic);
- the actor's loss uses the critic's weights as constants (``detach_params``), so the
  critic, actor and temperature losses are summed and take ONE backward pass and ONE
  fused Adam step (each network keeps its own learning rate in its parameter group);
- small networks (64-128 units) and a moderate update-to-data ratio (``Config.utd``).

Gymnasium's next-step autoreset: the step after an episode ended returns the new
episode's first observation and ignores the action; it is not a transition and is never
stored. Pendulum only truncates (200 steps), so every stored ``done`` is False and every
target bootstraps: a time limit is not a terminal state of the MDP.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor, nn

from .. import continuous
from .._format import brief, fmt
from ..nets import StackedMLP
from . import _plumbing as plumbing
from ._plumbing import Curve, LearnerFunctionError, TrainClock, budget_spent, check_fields
from .common import seed_everything, set_threads

__all__ = ["Batch", "OffPolicyConfig", "ReplayStore", "TwinCritic", "guarded", "polyak_update", "prepare",
           "run", "start"]


@dataclass
class OffPolicyConfig:
    """The hyperparameters TD3 (DDPG) and SAC share, with the reason for each default.

    Each algorithm's ``Config`` adds its own fields after these (``td3.Config``, ``sac.Config``).
    """

    env_id: str = "Pendulum-v1"  # the course's continuous benchmark (1-d torque in [-2, 2])
    seed: int = 0  # seeds envs, networks, replay sampling and exploration: same seed, same run
    n_envs: int = 8  # Pendulums stepped together (numpy): one forward pass acts for all
    max_env_steps: int = 50_000  # budget of env steps (all envs); a run solves in ~5-10k
    max_seconds: float | None = None  # budget of training wall clock (None = unbounded)
    eval_every: int = 1_000  # env steps between greedy evaluations (benchmark protocol)
    eval_episodes: int = 10  # episodes per evaluation (benchmark protocol)
    eval_seed: int = 10_000  # the same evaluation episodes every time, so curves compare fairly
    target_return: float = -200.0  # "solved": the greedy policy swings up and holds from any start
    stop_on_solve: bool = False  # stop after solving (and ``evals_after_solve`` more evaluations)
    evals_after_solve: int = 0  # evaluations after solving, to see whether the policy stays solved
    gamma: float = 0.98  # discount: the swing-up takes ~50-100 steps; the RL Zoo's Pendulum value
    actor_lr: float = 1e-3  # Adam step size of the actor
    critic_lr: float = 3e-3  # Adam step size of the critics: the actor follows what they learn
    hidden_sizes: tuple[int, ...] = (64, 64)  # small: plenty for Pendulum, and an update is cheap
    buffer_size: int = 100_000  # keeps a whole run: early swings stay in the data
    batch_size: int = 128  # minibatch of every gradient step: 256 solves in as many updates, each ~25% dearer
    learning_starts: int = 1_000  # uniformly random env steps before the actor acts (5 episodes)
    utd: float = 0.5  # update-to-data ratio: gradient steps per env step (0.5: 4 per vector step)
    tau: float = 0.02  # Polyak rate of the target networks: fast, Pendulum's critic is easy
    action_bounds: tuple[float, float] | None = None  # None: the env's; else must match the env's
    threads: int | None = 1  # torch and numpy (BLAS) threads, set explicitly: a 64-unit net gains nothing from a second
    # one, and on a busy 2-core machine two threads spin (measured: 13 ms vs 240 ms per update)
    patience_steps: int = 30_000  # stop early when no evaluation has moved after this many env
    # steps (correct parts leave the random policy behind within ~5k): name the parts to re-check


class Batch(NamedTuple):
    """A minibatch of transitions as float32 Tensors: obs (B, obs_dim), actions (B, d), rewards, dones (B,)."""

    obs: Tensor
    actions: Tensor
    rewards: Tensor
    next_obs: Tensor
    dones: Tensor


class ReplayStore:
    """Replay buffer D of continuous-action transitions in preallocated numpy arrays (a ring).

    ``add`` takes a batch (leading dimension = number of transitions); when full, the
    oldest are overwritten. ``sample(B)`` draws B indices uniformly with replacement and
    returns a ``Batch`` of Tensors that share memory with fresh numpy copies (no Python loop).
    """

    def __init__(self, capacity: int, obs_dim: int, act_dim: int, seed: int = 0) -> None:
        self.capacity = int(capacity)
        self.obs = np.zeros((self.capacity, obs_dim), dtype=np.float32)
        self.next_obs = np.zeros((self.capacity, obs_dim), dtype=np.float32)
        self.actions = np.zeros((self.capacity, act_dim), dtype=np.float32)
        self.rewards = np.zeros(self.capacity, dtype=np.float32)
        self.dones = np.zeros(self.capacity, dtype=np.float32)
        self.pos, self.size = 0, 0
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self.size

    def add(self, obs: np.ndarray, actions: np.ndarray, rewards: np.ndarray, next_obs: np.ndarray,
            dones: np.ndarray) -> None:
        """Store a batch of n transitions (n may be 0)."""
        n = len(obs)
        idx = (self.pos + np.arange(n)) % self.capacity
        self.obs[idx], self.actions[idx], self.rewards[idx] = obs, actions, rewards
        self.next_obs[idx], self.dones[idx] = next_obs, dones
        self.pos = int((self.pos + n) % self.capacity)
        self.size = min(self.size + n, self.capacity)

    def sample(self, batch_size: int) -> Batch:
        """Return ``batch_size`` transitions drawn uniformly with replacement; ValueError if empty."""
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        i = self.rng.integers(0, self.size, size=batch_size)
        return Batch(*(torch.from_numpy(a[i]) for a in (self.obs, self.actions, self.rewards,
                                                          self.next_obs, self.dones)))


class TwinCritic(nn.Module):
    """Q_theta1(s, a) and Q_theta2(s, a) as one batched network: (B, obs_dim), (B, d) -> (2, B).

    Both critics are members of one ``StackedMLP`` (ReLU): one ``baddbmm`` per layer.
    ``forward(obs, actions, detach_params=True)`` treats the weights as constants (the actor's loss).
    """

    def __init__(self, obs_dim: int, act_dim: int, hidden_sizes: Iterable[int]) -> None:
        super().__init__()
        self.net = StackedMLP(2, [obs_dim + act_dim, *[int(h) for h in hidden_sizes], 1], nn.ReLU)

    def forward(self, obs: Tensor, actions: Tensor, detach_params: bool = False) -> Tensor:
        """Return Q_1 and Q_2 stacked, shape (2, B)."""
        return self.net(torch.cat([obs, actions], dim=-1), detach_params=detach_params).squeeze(-1)


def polyak_update(target: nn.Module, online: nn.Module, tau: float) -> None:
    """theta_targ <- (1 - tau) theta_targ + tau theta for every parameter, in place (one fused op)."""
    with torch.no_grad():
        torch._foreach_lerp_(list(target.parameters()), list(online.parameters()), float(tau))


# ---------------------------------------------------------------- config checks
def validate_common(cfg: Any) -> None:
    """Raise ValueError naming the first bad field shared by the off-policy Configs."""
    check_fields(cfg, positive_ints=("n_envs", "max_env_steps", "eval_every", "eval_episodes",
                                     "buffer_size", "batch_size", "patience_steps"),
                 nonneg_ints=("learning_starts", "evals_after_solve"),
                 unit=("gamma", "tau"), positive=("utd", "actor_lr", "critic_lr"),
                 optional_positive=("max_seconds",), sizes=("hidden_sizes",), bools=("stop_on_solve",),
                 optional_positive_ints=("threads",))
    if cfg.batch_size > cfg.buffer_size:
        raise ValueError(f"Config.batch_size ({cfg.batch_size}) must not exceed "
                         f"Config.buffer_size ({cfg.buffer_size})")
    bounds = cfg.action_bounds
    if bounds is not None:
        ok = (isinstance(bounds, (tuple, list)) and len(bounds) == 2
              and all(isinstance(b, (int, float)) and not isinstance(b, bool) and math.isfinite(b)
                      for b in bounds) and bounds[0] < bounds[1])
        if not ok:
            raise ValueError(f"Config.action_bounds must be None or (low, high) with low < high, "
                             f"got {bounds!r}")


def env_bounds(envs: Any, cfg: Any) -> tuple[np.ndarray, np.ndarray]:
    """Return the env's action bounds (low, high) as float32 (d,) arrays.

    Raises ValueError naming Config.action_bounds when it is given and differs from the env's.
    """
    space = envs.single_action_space
    low, high = space.low.astype(np.float32), space.high.astype(np.float32)
    if len(space.shape) != 1:
        raise ValueError(f"Config.env_id: {cfg.env_id!r} needs a flat Box action space, got {space}")
    if not (np.isfinite(low).all() and np.isfinite(high).all()):
        raise ValueError(f"Config.env_id: {cfg.env_id!r} has unbounded actions {space}; "
                         "DDPG, TD3 and SAC squash actions into finite bounds")
    if cfg.action_bounds is not None:
        lo, hi = cfg.action_bounds
        if not (np.allclose(low, lo) and np.allclose(high, hi)):
            raise ValueError(f"Config.action_bounds = {tuple(cfg.action_bounds)!r} does not match "
                             f"{cfg.env_id}'s action space [{fmt(low)}, {fmt(high)}]; use None "
                             "(the env's bounds) or the env's own values")
    return low, high


def check_actions(name: str, actions: Any, n: int, low: np.ndarray, high: np.ndarray,
                  when: str) -> np.ndarray:
    """Return ``actions`` as a float32 array (n, d) inside [low, high]; else raise naming ``name``."""
    d = low.shape[0]
    try:
        a = actions.detach().cpu().numpy() if isinstance(actions, Tensor) else np.asarray(actions)
        a = a.astype(np.float32)
    except (TypeError, ValueError, AttributeError):
        raise LearnerFunctionError(name, f"returned {brief(actions)}, not an array of actions",
                                   f"{when} on observations of shape ({n}, obs_dim)") from None
    if a.shape != (n, d):
        raise LearnerFunctionError(
            name, f"returned actions of shape {a.shape}, expected ({n}, {d}): one row of {d} "
            "number(s) per observation", f"{when} on a batch of {n} observations",
            "keep the batch axis and the action axis (no .squeeze()); the last layer has "
            f"{d} output(s).")
    if not np.isfinite(a).all():
        raise LearnerFunctionError(name, f"returned non-finite actions (nan or inf): {fmt(a)}",
                                   f"{when} on a batch of {n} observations")
    tol = 1e-5 * np.maximum(1.0, np.abs(high - low))
    if (a < low - tol).any() or (a > high + tol).any():
        raise LearnerFunctionError(
            name, f"returned actions from {a.min():.3g} to {a.max():.3g}, outside the env's bounds "
            f"[{fmt(low)}, {fmt(high)}]", f"{when} on a batch of {n} observations",
            "squash the output into the bounds: low + (high - low) * (tanh(x) + 1) / 2.")
    return a


# ---------------------------------------------------------------- the shared loop
@dataclass
class LoopState:
    """Counters of a run (read by the Agent for schedules such as TD3's policy delay)."""

    env_steps: int = 0
    updates: int = 0


def run(cfg: Any, agent: Any, result: Curve, envs: Any, low: np.ndarray, high: np.ndarray,
        learner: list[str], callback: Callable[[dict], Any] | None, live: Any) -> Curve:
    """Run the off-policy loop: act, store, update ``n_envs * utd`` times per vector step, evaluate.

    agent: has ``explore(obs) -> actions`` (numpy (n, d) within bounds), ``update(batch, state)
    -> (loss Tensor, {name: Tensor})`` and ``act(obs)`` (the greedy policy for evaluation).
    A LearnerFunctionError (a learner's function or actor gone wrong, a non-finite loss)
    stops training: the curve so far is kept in ``result`` (``stopped_by = "error"``) and
    attached to the error as ``error.result``.
    """
    rng = np.random.default_rng(cfg.seed + 1)
    n, d = cfg.n_envs, low.shape[0]
    obs_dim = envs.single_observation_space.shape[0]
    buffer = ReplayStore(cfg.buffer_size, obs_dim, d, seed=cfg.seed)
    state = LoopState()
    obs, _ = envs.reset(seed=cfg.seed)
    was_done = np.zeros(n, dtype=bool)
    owed = 0.0  # gradient steps owed to the data (utd per env step)
    next_eval = cfg.eval_every
    loss_sum, loss_count = torch.zeros(()), 0
    diag_sum: dict[str, Tensor] = {}
    clock = TrainClock()
    try:
        while True:
            # --- act: random at first, then the actor with exploration; store real steps ---
            if state.env_steps < cfg.learning_starts:
                actions = rng.uniform(low, high, size=(n, d)).astype(np.float32)
            else:
                actions = agent.explore(obs)
            next_obs, rewards, terminated, truncated, _ = envs.step(actions)
            real = ~was_done
            buffer.add(obs[real], actions[real], rewards[real], next_obs[real], terminated[real])
            was_done = terminated | truncated
            obs = next_obs
            state.env_steps += n

            # --- a few large gradient steps ---------------------------------------------
            if state.env_steps >= cfg.learning_starts and len(buffer) >= cfg.batch_size:
                owed += n * cfg.utd
                while owed >= 1.0:
                    owed -= 1.0
                    loss, diag = agent.update(buffer.sample(cfg.batch_size), state)
                    state.updates += 1
                    loss_sum = loss_sum + loss
                    loss_count += 1
                    for k, v in diag.items():
                        diag_sum[k] = diag_sum.get(k, 0.0) + v

            # --- evaluate the greedy policy on Gymnasium's own env (not training time) ---
            if state.env_steps >= next_eval:
                next_eval += cfg.eval_every
                with clock.paused():
                    returns, values = evaluate_with_values(agent, cfg)
                mean_loss = float(loss_sum) / max(loss_count, 1) if loss_count else math.nan
                extra = {k: float(v) / max(loss_count, 1) for k, v in diag_sum.items()} | values
                loss_sum, loss_count, diag_sum = torch.zeros(()), 0, {}
                stop = result.record(returns, state.env_steps, clock.seconds, cfg.target_return,
                                     mean_loss, callback, live, stop_on_solve=cfg.stop_on_solve,
                                     evals_after_solve=cfg.evals_after_solve, **extra)
                if stop:
                    break
                result.watch(learner, cfg.patience_steps, 0.1, cfg.target_return)
            if spent := budget_spent(cfg, state.env_steps, clock.seconds):
                result.stopped_by = spent
                break
    except LearnerFunctionError as error:
        if not result.stopped_by:
            result.stopped_by = "error"
        result.error = str(error)
        error.result = result
        raise
    finally:
        plumbing.close_all(envs, live)
    return result


def evaluate_with_values(agent: Any, cfg: Any) -> tuple[np.ndarray, dict[str, float]]:
    """Play ``cfg.eval_episodes`` greedy episodes on Gymnasium's own env; return their returns R(tau).

    Also returns {"q_start": mean Q_theta1(s_0, pi(s_0)), "return_start": mean discounted return
    sum_t gamma^t r_t of the same episodes}: the critic's estimate of V^pi(s_0) next to the
    truth, for the overestimation plot (TD3 paper, figure 1). All episodes run at once.
    """
    import gymnasium as gym

    if cfg.env_id.startswith("rlcore/"):
        from .. import probe_envs  # noqa: F401 - registers rlcore's probe environments
    envs = gym.make_vec(cfg.env_id, num_envs=cfg.eval_episodes, vectorization_mode="sync")
    obs, _ = envs.reset(seed=cfg.eval_seed)
    start = obs.copy()
    returns, discounted = np.zeros(cfg.eval_episodes), np.zeros(cfg.eval_episodes)
    alive, discount = np.ones(cfg.eval_episodes, dtype=bool), 1.0
    try:
        for _ in range(10_000):
            obs, rewards, terminated, truncated, _ = envs.step(agent.act(obs))
            returns += rewards * alive
            discounted += discount * rewards * alive
            discount *= cfg.gamma
            alive &= ~(terminated | truncated)
            if not alive.any():
                break
    finally:
        envs.close()
    with torch.no_grad():
        x = torch.as_tensor(start, dtype=torch.float32)
        q = agent.critic(x, torch.as_tensor(agent.act(start), dtype=torch.float32))[0]
    return returns, {"q_start": float(q.mean()), "return_start": float(discounted.mean())}


def setup(cfg: Any) -> tuple[Any, np.ndarray, np.ndarray, int, int]:
    """Threads, seeds and the training envs: return (envs, low, high, obs_dim, act_dim)."""
    set_threads(cfg.threads)
    seed_everything(cfg.seed)
    envs = plumbing.make_vec_env(cfg.env_id, cfg.n_envs, actions="box")
    try:
        low, high = env_bounds(envs, cfg)
    except ValueError:
        envs.close()
        raise
    return envs, low, high, envs.single_observation_space.shape[0], low.shape[0]


def prepare(config: Any, cls: type, given: dict[str, Callable | None],
            check_functions: bool) -> tuple[Any, dict[str, Callable], list[str]]:
    """Validate ``config`` (a ``cls``) and the learner's functions ``given`` (None: rlcore's).

    Returns (a copy of the config, every part by name, the names the learner gave).
    Raises TypeError for a config of another class, ValueError naming the bad field,
    LearnerFunctionError for a given function that fails its visible check.
    """
    parts, learner = plumbing.prepare(config, cls, given, continuous, check_functions)
    return dataclasses.replace(config), parts, learner


def start(cfg: Any, actor: nn.Module | None, learner: list[str], check_output: Callable,
          make_agent: Callable) -> tuple[Any, np.ndarray, np.ndarray, Any]:
    """Make the envs, check the learner's ``actor`` (if any) and build the agent.

    check_output(out, low, high) validates the actor's output on 5 random observations;
    make_agent(obs_dim, low, high) returns the agent. Returns (envs, low, high, agent); the
    envs are closed again if anything fails.
    """
    envs, low, high, obs_dim, _ = setup(cfg)
    try:
        if actor is not None:
            if not isinstance(actor, nn.Module):
                raise LearnerFunctionError("actor", f"is {type(actor).__name__}, not a torch nn.Module",
                                           hint="pass the network itself, e.g. actor=my_actor.")
            obs = torch.as_tensor(np.random.default_rng(cfg.seed).normal(size=(5, obs_dim)),
                                  dtype=torch.float32)
            with torch.no_grad():
                out = plumbing.call_learner("actor", actor, obs,
                                            when="before training, on 5 random observations")
            check_output(out, low, high)
            learner.append("actor")
        return envs, low, high, make_agent(obs_dim, low, high)
    except BaseException:
        envs.close()
        raise


def guarded(name: str, fn: Callable, learner: bool, **expect: Any) -> Callable:
    """Return ``fn`` itself (rlcore's reference) or, for a learner's, a wrapper that names it on errors.

    expect: ``expect_tensor``'s checks (shape, scalar, requires_grad); ``shape`` may be a
    function of the call's arguments.
    """
    if not learner:
        return fn

    def call(*args: Any) -> Any:
        out = plumbing.call_learner(name, fn, *args)
        shape = expect.get("shape")
        checks = dict(expect, shape=shape(*args) if callable(shape) else shape)
        return plumbing.expect_tensor(name, out, plumbing.Call(name, args), **checks)

    return call


def finite_or_raise(loss: Tensor, parts: dict[str, Tensor], learner: list[str]) -> None:
    """Raise LearnerFunctionError when the summed loss is nan/inf, naming the first bad part."""
    if bool(torch.isfinite(loss)):
        return
    bad = next((k for k, v in parts.items() if not bool(torch.isfinite(v).all())), "loss")
    names = ", ".join(learner)
    raise LearnerFunctionError(
        bad if bad in learner else "training run",
        f"gave a non-finite loss (nan or inf): {bad} = {fmt(parts.get(bad, loss))}",
        hint=(f"re-check {names}: a log of 0 (1 - tanh(u)^2 rounds to 0 for |u| > 9 in float32) "
              "or a division by zero turns into nan" if names else
              "lower Config.actor_lr / Config.critic_lr, or check the env's rewards"))
