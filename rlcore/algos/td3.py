"""TD3 (and DDPG, TD3 with its three fixes switched off) on a vectorized env, top to bottom.

DDPG (Lillicrap et al., 2016): a deterministic actor mu_phi(s) and a critic Q_theta(s, a),

    y = r + gamma (1 - d) Q_theta_targ(s', mu_phi_targ(s')),
    critic: minimise mean_B (Q_theta(s, a) - y)^2,
    actor:  maximise mean_B Q_theta(s, mu_phi(s))   (the deterministic policy gradient),
    targets: theta_targ <- (1 - tau) theta_targ + tau theta, the same for phi_targ,

exploring with Gaussian noise on the actor's action. TD3 (Fujimoto et al., 2018) adds,
each a ``Config`` flag so the lesson's ablation switches them on one at a time:

1. ``clipped_double_q``: two critics, y uses min(Q_theta1_targ, Q_theta2_targ) (overestimation);
2. ``policy_delay = 2``: the actor and the targets move once per two critic updates, so the
   actor climbs a critic that has had time to settle;
3. ``target_policy_smoothing``: y uses a' = clip(mu_phi_targ(s') + clip(eps, -c, c), low, high),
   eps ~ N(0, sigma^2): a critic peak narrower than the noise cannot be exploited.

``train`` accepts the learner's ``smoothed_target_actions`` and ``clipped_double_q_targets``
(lesson 09) and an ``actor`` network of their own; the speed-ups are described in
``_offpolicy.py`` (vector envs, numpy replay, twin critics as one batched network, one
backward and one fused Adam step per update).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ..nets import mlp
from . import _offpolicy as offpolicy
from . import _plumbing as plumbing
from ._offpolicy import OffPolicyConfig, TwinCritic, guarded, polyak_update
from ._plumbing import Curve, LearnerFunctionError, check_fields, progress_display
from .common import config_html

__all__ = ["Config", "DeterministicActor", "LearnerFunctionError", "Result", "ddpg_config", "train"]


@dataclass
class Config(OffPolicyConfig):
    """Every hyperparameter of ``train``, with the reason for its default.

    The fields TD3 shares with SAC (env, budgets, evaluation, learning rates, replay, utd,
    tau, threads) are ``_offpolicy.OffPolicyConfig``'s; TD3's own follow.
    """

    exploration_noise: float = 0.1  # std of the Gaussian action noise, as a fraction of (high-low)/2
    clipped_double_q: bool = True  # TD3 fix 1: the target takes the smaller of two critics
    policy_delay: int = 2  # TD3 fix 2: actor and target updates every 2nd critic update (1 = DDPG)
    target_policy_smoothing: bool = True  # TD3 fix 3: noise on the target action
    policy_noise: float = 0.2  # std of the target smoothing noise, as a fraction of (high-low)/2
    noise_clip: float = 0.5  # the smoothing noise is clipped to +-this fraction of (high-low)/2

    def _repr_html_(self) -> str:
        """In a notebook, ``Config()`` shows every field, its value and the reason for it."""
        return config_html(self)

    def validate(self) -> None:
        """Return None; raise ValueError naming the first bad field and its allowed range."""
        offpolicy.validate_common(self)
        check_fields(self, positive_ints=("policy_delay",),
                     nonneg=("exploration_noise", "policy_noise", "noise_clip"),
                     bools=("clipped_double_q", "target_policy_smoothing"))


def ddpg_config(**changes: Any) -> Config:
    """Return TD3's Config with the three fixes off (DDPG): one critic's target, no delay, no smoothing."""
    return dataclasses.replace(Config(clipped_double_q=False, policy_delay=1,
                                      target_policy_smoothing=False), **changes)


@dataclass(kw_only=True, repr=False)  # Curve's repr: a one-line summary
class Result(Curve):
    """What ``train`` returns: the learning curve (``Curve``), when it solved, and the agent.

    diagnostics["q_estimate"][k]: the mean critic estimate Q_theta1(s, a) over the minibatches
    since evaluation k-1 (the overestimation plot compares it with true returns).
    error: the message that stopped training, if a learner's function failed ("" otherwise).
    """

    actor: nn.Module  # mu_phi: observations (n, obs_dim) -> actions (n, d) within the bounds
    critic: nn.Module  # Q_theta1, Q_theta2 as one TwinCritic: (obs, actions) -> (2, n)
    error: str = ""

    def act(self, obs: Any) -> np.ndarray:
        """Return the greedy actions mu_phi(s): (n, d) for a batch (n, obs_dim), (d,) for one obs."""
        x = torch.as_tensor(np.asarray(obs), dtype=torch.float32)
        with torch.no_grad():
            return self.actor(x[None])[0].numpy() if x.ndim == 1 else self.actor(x).numpy()


class DeterministicActor(nn.Module):
    """mu_phi(s) = center + half_range * tanh(f_phi(s)): an MLP (ReLU) squashed into [low, high]."""

    def __init__(self, obs_dim: int, low: np.ndarray, high: np.ndarray,
                 hidden_sizes: tuple[int, ...] = (128, 128)) -> None:
        super().__init__()
        self.net = mlp([obs_dim, *hidden_sizes, len(low)], activation=nn.ReLU)
        self.register_buffer("center", torch.as_tensor((high + low) / 2, dtype=torch.float32))
        self.register_buffer("half_range", torch.as_tensor((high - low) / 2, dtype=torch.float32))

    def forward(self, obs: Tensor) -> Tensor:
        """Return actions (n, d) in [low, high]."""
        return self.center + self.half_range * torch.tanh(self.net(obs))


class Agent:
    """TD3's networks and its gradient step (``update``), driven by ``_offpolicy.run``."""

    def __init__(self, cfg: Config, obs_dim: int, low: np.ndarray, high: np.ndarray,
                 actor: nn.Module | None, parts: dict[str, Callable], learner: list[str]) -> None:
        self.cfg, self.low, self.high = cfg, low, high
        self.actor = actor if actor is not None else DeterministicActor(obs_dim, low, high, cfg.hidden_sizes)
        self.critic = TwinCritic(obs_dim, len(low), cfg.hidden_sizes)
        self.actor_targ, self.critic_targ = plumbing.frozen_copy(self.actor), plumbing.frozen_copy(self.critic)
        self.optimizer = plumbing.adam([{"params": list(self.actor.parameters()), "lr": cfg.actor_lr},
                                        {"params": list(self.critic.parameters()), "lr": cfg.critic_lr}])
        half = (high - low) / 2
        self.low_t, self.high_t = torch.as_tensor(low), torch.as_tensor(high)
        self.explore_std = cfg.exploration_noise * half
        self.smooth_std = torch.as_tensor(cfg.policy_noise * half)
        self.smooth_clip = float(cfg.noise_clip * half.min())
        self.learner = learner
        self.generator = torch.Generator().manual_seed(cfg.seed + 2)
        self.rng = np.random.default_rng(cfg.seed + 3)
        self.custom_actor = actor is not None
        self.smoothed = guarded("smoothed_target_actions", parts["smoothed_target_actions"],
                                "smoothed_target_actions" in learner, shape=lambda a, *_: tuple(a.shape))
        self.targets = guarded("clipped_double_q_targets", parts["clipped_double_q_targets"],
                               "clipped_double_q_targets" in learner,
                               shape=lambda r, *_: tuple(r.shape), requires_grad=False)

    def act(self, obs: np.ndarray) -> np.ndarray:
        """The greedy policy mu_phi(s) for evaluation: (n, obs_dim) -> (n, d)."""
        with torch.no_grad():
            return self.actor(torch.as_tensor(obs, dtype=torch.float32)).numpy()

    def explore(self, obs: np.ndarray) -> np.ndarray:
        """Return clip(mu_phi(s) + N(0, sigma^2), low, high) for every env: (n, d)."""
        a = self.act(obs)
        if self.custom_actor:
            a = offpolicy.check_actions("actor", a, len(obs), self.low, self.high, "while acting")
        a = a + self.rng.normal(size=a.shape).astype(np.float32) * self.explore_std
        return np.clip(a, self.low, self.high)

    def update(self, b: Any, state: Any) -> tuple[Tensor, dict[str, Tensor]]:
        """One gradient step of the critics (and, every ``policy_delay`` steps, the actor and targets)."""
        cfg = self.cfg
        # --- targets y, from the target networks (no gradient) --------------------------
        with torch.no_grad():
            next_actions = self.actor_targ(b.next_obs)
            if cfg.target_policy_smoothing:  # fix 3: a' = clip(mu_targ(s') + clip(eps, -c, c), low, high)
                noise = torch.randn(next_actions.shape, generator=self.generator) * self.smooth_std
                next_actions = self.smoothed(next_actions, noise, self.smooth_clip, self.low_t, self.high_t)
            next_q = self.critic_targ(b.next_obs, next_actions)  # (2, B)
            if cfg.clipped_double_q:  # fix 1: y = r + gamma (1 - d) min(Q1_targ, Q2_targ)
                y = self.targets(b.rewards, next_q[0], next_q[1], b.dones, cfg.gamma)
            else:  # DDPG: y = r + gamma (1 - d) Q_targ(s', a')
                y = b.rewards + cfg.gamma * (1.0 - b.dones) * next_q[0]
        # --- critics: mean_B (Q_i(s, a) - y)^2, both at once -----------------------------
        q = self.critic(b.obs, b.actions)  # (2, B)
        critic_loss = ((q - y) ** 2).mean(dim=1).sum()
        loss, parts = critic_loss, {"critic loss": critic_loss}
        delayed = state.updates % cfg.policy_delay == 0  # fix 2: the actor moves every d-th step
        if delayed:  # actor: ascend Q_theta1(s, mu_phi(s)) with the critic's weights held fixed
            actor_loss = -self.critic(b.obs, self.actor(b.obs), detach_params=True)[0].mean()
            loss = loss + actor_loss
            parts["actor loss"] = actor_loss
        offpolicy.finite_or_raise(loss, parts, self.learner)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        if delayed:
            polyak_update(self.critic_targ, self.critic, cfg.tau)
            polyak_update(self.actor_targ, self.actor, cfg.tau)
        return critic_loss.detach(), {"q_estimate": q[0].detach().mean()}


def train(config: Config, callback: Callable[[dict], bool | None] | None = None,
          progress: bool = True, smoothed_target_actions: Callable | None = None,
          clipped_double_q_targets: Callable | None = None, actor: nn.Module | None = None,
          check_functions: bool = True) -> Result:
    """Return a ``Result`` after training TD3 (or DDPG: ``ddpg_config()``) with ``config``.

    callback(info) runs after every evaluation (info keys ``env_steps``, ``train_seconds``,
    ``eval_return``, ``solved``, ``loss``, ``q_estimate``); returning True stops.
    progress: show a live learning curve (``rlcore.live``) or print a line per evaluation.
    smoothed_target_actions, clipped_double_q_targets: the learner's exercise functions
    (docs/contract.md, lesson 09); None means rlcore's (``rlcore.continuous``).
    actor: the learner's own actor network, obs (n, obs_dim) -> actions (n, d) in the env's
    bounds (None: a ``DeterministicActor``). check_functions: run each given function's
    visible check first.
    Raises ValueError naming the bad Config field; LearnerFunctionError when a learner's
    function or actor fails (wrong shape, actions out of bounds, nan), naming it: training
    stops, and the curve so far is ``error.result``.
    """
    given = dict(smoothed_target_actions=smoothed_target_actions,
                 clipped_double_q_targets=clipped_double_q_targets)
    cfg, parts, learner = offpolicy.prepare(config, Config, given, check_functions)
    envs, low, high, agent = offpolicy.start(
        cfg, actor, learner,
        lambda out, low, high: offpolicy.check_actions("actor", out, 5, low, high, "before training"),
        lambda obs_dim, low, high: Agent(cfg, obs_dim, low, high, actor, parts, learner))
    name = "TD3" if (cfg.clipped_double_q and cfg.policy_delay > 1 and cfg.target_policy_smoothing) else (
        "DDPG" if not (cfg.clipped_double_q or cfg.policy_delay > 1 or cfg.target_policy_smoothing)
        else "TD3 (ablation)")
    result = Result(config=cfg, actor=agent.actor, critic=agent.critic)
    live = progress_display(progress, cfg.target_return, f"{name} on {cfg.env_id}")
    return offpolicy.run(cfg, agent, result, envs, low, high, learner, callback, live)
