"""Soft actor-critic (SAC) with automatic temperature on a vectorized env, top to bottom.

SAC (Haarnoja et al., 2018) maximises the entropy-regularised return

    J(pi) = E_tau[ sum_t gamma^t (r_t + alpha H(pi(.|s_t))) ],

with a stochastic actor a = tanh(u), u = mu_phi(s) + sigma_phi(s) eps, eps ~ N(0, I) (the
squashed Gaussian; the reparameterization lets the gradient flow through a), twin critics,
and one gradient step on three losses per update:

    y = r + gamma (1 - d) (min_i Q_theta_i_targ(s', a') - alpha log pi(a'|s')),  a' ~ pi(.|s'),
    critics:      mean_B sum_i (Q_theta_i(s, a) - y)^2,
    actor:        mean_B (alpha log pi(a~|s) - min_i Q_theta_i(s, a~)),   a~ ~ pi(.|s) (reparameterized),
    temperature:  mean_B -log(alpha) (log pi(a~|s) + H_target),  H_target = -d,

and theta_targ <- (1 - tau) theta_targ + tau theta. The temperature loss raises alpha when
the policy's entropy -log pi falls below H_target and lowers it when above.

``train`` accepts the learner's ``squashed_gaussian_log_prob``, ``sac_targets`` and
``sac_policy_loss`` (lesson 09) and an actor network of their own. The speed-ups are in
``_offpolicy.py``; here one actor forward pass serves s and s' together (the s' half is
detached: the target has no gradient).
"""

from __future__ import annotations

import math
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

__all__ = ["Config", "GaussianActor", "LearnerFunctionError", "Result", "train"]


@dataclass
class Config(OffPolicyConfig):
    """Every hyperparameter of ``train``, with the reason for its default.

    The fields SAC shares with TD3 (env, budgets, evaluation, replay, utd, tau, threads) are
    ``_offpolicy.OffPolicyConfig``'s; SAC's own learning rates and temperature fields follow.
    """

    actor_lr: float = 2e-3  # twice TD3's: measured over 13 seeds, SAC then solves in a median of
    critic_lr: float = 6e-3  # 3,000 env steps instead of 4,000 (1,000 updates, not 1,500) and stays solved
    alpha_lr: float = 3e-3  # Adam step size of log(alpha): the temperature adapts within ~1k updates
    init_alpha: float = 0.2  # starting temperature: exploring, but the reward still dominates
    auto_alpha: bool = True  # tune alpha toward the target entropy (False: alpha stays init_alpha)
    target_entropy: float | None = None  # H_target; None = -d (one nat below uniform per action dim)
    log_std_bounds: tuple[float, float] = (-5.0, 2.0)  # sigma_phi(s) kept in [e^-5, e^2]: finite log pi

    def _repr_html_(self) -> str:
        """In a notebook, ``Config()`` shows every field, its value and the reason for it."""
        return config_html(self)

    def validate(self) -> None:
        """Return None; raise ValueError naming the first bad field and its allowed range."""
        offpolicy.validate_common(self)
        check_fields(self, positive=("alpha_lr", "init_alpha"), bools=("auto_alpha",))
        if self.target_entropy is not None and not (
                isinstance(self.target_entropy, (int, float)) and not isinstance(self.target_entropy, bool)
                and math.isfinite(self.target_entropy)):
            raise ValueError(f"Config.target_entropy must be None or a number, got {self.target_entropy!r}")
        lo_hi = self.log_std_bounds
        if not (isinstance(lo_hi, (tuple, list)) and len(lo_hi) == 2 and lo_hi[0] < lo_hi[1]):
            raise ValueError(f"Config.log_std_bounds must be (low, high) with low < high, got {lo_hi!r}")


@dataclass(kw_only=True, repr=False)  # Curve's repr: a one-line summary
class Result(Curve):
    """What ``train`` returns: the learning curve (``Curve``), when it solved, and the agent.

    diagnostics per evaluation: "alpha" (temperature), "entropy" (mean -log pi of the
    sampled actions), "q_estimate" (mean Q_theta1(s, a) of the minibatches).
    error: the message that stopped training, if a learner's function failed ("" otherwise).
    """

    actor: nn.Module  # obs (n, obs_dim) -> (mu, log_std), each (n, d), of the pre-tanh Gaussian
    critic: nn.Module  # Q_theta1, Q_theta2 as one TwinCritic: (obs, actions) -> (2, n)
    center: np.ndarray  # action = center + half_range * tanh(u)
    half_range: np.ndarray
    error: str = ""

    def act(self, obs: Any) -> np.ndarray:
        """Return the greedy (mean) actions center + half_range tanh(mu_phi(s)): (n, d), or (d,) for one obs."""
        x = torch.as_tensor(np.asarray(obs), dtype=torch.float32)
        single = x.ndim == 1
        with torch.no_grad():
            mu, _ = self.actor(x[None] if single else x)
        a = self.center + self.half_range * np.tanh(mu.numpy())
        return a[0] if single else a


class GaussianActor(nn.Module):
    """pi_phi(.|s): an MLP (ReLU) giving the mean mu_phi(s) and log sigma_phi(s) of u, a = tanh(u).

    forward(obs) -> (mu, log_std), each (n, d); log_std squashed smoothly into ``log_std_bounds``.
    """

    def __init__(self, obs_dim: int, act_dim: int, hidden_sizes: tuple[int, ...] = (64, 64),
                 log_std_bounds: tuple[float, float] = (-5.0, 2.0)) -> None:
        super().__init__()
        self.net = mlp([obs_dim, *hidden_sizes, 2 * act_dim], activation=nn.ReLU)
        self.lo, self.hi = float(log_std_bounds[0]), float(log_std_bounds[1])

    def forward(self, obs: Tensor) -> tuple[Tensor, Tensor]:
        """Return mu (n, d) and log_std (n, d) in [lo, hi]."""
        mu, raw = self.net(obs).chunk(2, dim=-1)
        log_std = self.lo + 0.5 * (self.hi - self.lo) * (torch.tanh(raw) + 1.0)
        return mu, log_std


class Agent:
    """SAC's networks, temperature and gradient step (``update``), driven by ``_offpolicy.run``."""

    def __init__(self, cfg: Config, obs_dim: int, low: np.ndarray, high: np.ndarray,
                 actor: nn.Module | None, parts: dict[str, Callable], learner: list[str]) -> None:
        self.cfg, self.low, self.high, self.learner = cfg, low, high, learner
        d = len(low)
        self.actor = actor if actor is not None else GaussianActor(obs_dim, d, cfg.hidden_sizes,
                                                                   cfg.log_std_bounds)
        self.custom_actor = actor is not None
        self.critic = TwinCritic(obs_dim, d, cfg.hidden_sizes)
        self.critic_targ = plumbing.frozen_copy(self.critic)
        self.log_alpha = torch.tensor(math.log(cfg.init_alpha), requires_grad=cfg.auto_alpha)
        self.target_entropy = float(-d if cfg.target_entropy is None else cfg.target_entropy)
        groups = [{"params": list(self.actor.parameters()), "lr": cfg.actor_lr},
                  {"params": list(self.critic.parameters()), "lr": cfg.critic_lr}]
        if cfg.auto_alpha:
            groups.append({"params": [self.log_alpha], "lr": cfg.alpha_lr})
        self.optimizer = plumbing.adam(groups)
        self.center = torch.as_tensor((high + low) / 2)
        self.half = torch.as_tensor((high - low) / 2)
        self.generator = torch.Generator().manual_seed(cfg.seed + 2)
        self.log_prob = guarded("squashed_gaussian_log_prob", parts["squashed_gaussian_log_prob"],
                                "squashed_gaussian_log_prob" in learner,
                                shape=lambda u, *_: tuple(u.shape[:-1]))
        self.targets = guarded("sac_targets", parts["sac_targets"], "sac_targets" in learner,
                               shape=lambda r, *_: tuple(r.shape), requires_grad=False)
        self.policy_loss = guarded("sac_policy_loss", parts["sac_policy_loss"],
                                   "sac_policy_loss" in learner, scalar=True, requires_grad=True)

    def _dist(self, obs: Tensor) -> tuple[Tensor, Tensor]:
        out = self.actor(obs)
        if self.custom_actor:
            _check_gaussian_output(out, obs.shape[0], len(self.low))
        return out

    def act(self, obs: np.ndarray) -> np.ndarray:
        """The greedy policy center + half_range tanh(mu_phi(s)) for evaluation: (n, obs_dim) -> (n, d)."""
        with torch.no_grad():
            mu, _ = self._dist(torch.as_tensor(obs, dtype=torch.float32))
            return (self.center + self.half * torch.tanh(mu)).numpy()

    def explore(self, obs: np.ndarray) -> np.ndarray:
        """Return sampled actions center + half_range tanh(mu + sigma eps) for every env: (n, d)."""
        with torch.no_grad():
            mu, log_std = self._dist(torch.as_tensor(obs, dtype=torch.float32))
            u = mu + log_std.exp() * torch.randn(mu.shape, generator=self.generator)
            a = (self.center + self.half * torch.tanh(u)).numpy()
        return offpolicy.check_actions("actor", a, len(obs), self.low, self.high, "while acting") \
            if self.custom_actor else a

    def update(self, b: Any, state: Any) -> tuple[Tensor, dict[str, Tensor]]:
        """One gradient step on the critic, actor and temperature losses together."""
        cfg, n = self.cfg, b.obs.shape[0]
        alpha = self.log_alpha.exp()  # a Tensor that requires grad: the losses must treat it as a constant
        # --- one actor pass for s and s': u = mu + sigma eps, a = tanh(u), log pi(a|s) ----
        mu, log_std = self._dist(torch.cat([b.obs, b.next_obs]))
        u = mu + log_std.exp() * torch.randn(mu.shape, generator=self.generator)
        logp = self.log_prob(u, mu, log_std)  # (2B,)
        actions = self.center + self.half * torch.tanh(u)
        logp_now, logp_next = logp[:n], logp[n:].detach()
        # --- targets y = r + gamma (1 - d) (min_i Q_i_targ(s', a') - alpha log pi(a'|s')) -
        with torch.no_grad():
            next_q = self.critic_targ(b.next_obs, actions[n:])  # (2, B)
            y = self.targets(b.rewards, next_q[0], next_q[1], logp_next, b.dones, cfg.gamma, alpha.detach())
        # --- critics: mean_B (Q_i(s, a) - y)^2, both at once -----------------------------
        q = self.critic(b.obs, b.actions)  # (2, B)
        critic_loss = ((q - y) ** 2).mean(dim=1).sum()
        # --- actor: mean_B (alpha log pi - min_i Q_i(s, a~)), the critics' weights held fixed
        q_pi = self.critic(b.obs, actions[:n], detach_params=True)
        actor_loss = self.policy_loss(q_pi[0], q_pi[1], logp_now, alpha)
        loss = critic_loss + actor_loss
        parts = {"squashed_gaussian_log_prob": logp_now, "sac_targets": y, "critic loss": critic_loss,
                 "sac_policy_loss": actor_loss}
        # --- temperature: -log(alpha) (log pi + H_target), pushes the entropy toward H_target
        if cfg.auto_alpha:
            loss = loss - (self.log_alpha * (logp_now.detach() + self.target_entropy)).mean()
        offpolicy.finite_or_raise(loss, parts, self.learner)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        polyak_update(self.critic_targ, self.critic, cfg.tau)
        return critic_loss.detach(), {"alpha": alpha.detach(), "entropy": -logp_now.detach().mean(),
                                      "q_estimate": q[0].detach().mean()}


def _check_gaussian_output(out: Any, n: int, d: int) -> None:
    """Raise LearnerFunctionError unless the actor returned (mu, log_std), each (n, d)."""
    ok = isinstance(out, (tuple, list)) and len(out) == 2 and all(isinstance(t, Tensor) for t in out)
    if not ok:
        raise LearnerFunctionError("actor", f"returned {type(out).__name__}, expected a pair "
                                   "(mu, log_std) of Tensors", hint="return mu, log_std")
    for what, t in zip(("mu", "log_std"), out):
        if tuple(t.shape) != (n, d):
            raise LearnerFunctionError("actor", f"returned {what} of shape {tuple(t.shape)}, expected "
                                       f"({n}, {d})", f"on a batch of {n} observations",
                                       "one row of d numbers per observation (no .squeeze()).")


def train(config: Config, callback: Callable[[dict], bool | None] | None = None,
          progress: bool = True, squashed_gaussian_log_prob: Callable | None = None,
          sac_targets: Callable | None = None, sac_policy_loss: Callable | None = None,
          actor: nn.Module | None = None, check_functions: bool = True) -> Result:
    """Return a ``Result`` after training SAC with ``config``.

    callback(info) runs after every evaluation (info keys ``env_steps``, ``train_seconds``,
    ``eval_return``, ``solved``, ``loss``, ``alpha``, ``entropy``, ``q_estimate``); returning
    True stops. progress: show a live learning curve or print a line per evaluation.
    squashed_gaussian_log_prob, sac_targets, sac_policy_loss: the learner's exercise
    functions (docs/contract.md, lesson 09); None means rlcore's (``rlcore.continuous``).
    actor: the learner's own network obs (n, obs_dim) -> (mu, log_std), each (n, d) (None: a
    ``GaussianActor``). check_functions: run each given function's visible check first.
    Raises ValueError naming the bad Config field; LearnerFunctionError when a learner's
    function or actor fails (wrong shape, nan), naming it: training stops, and the curve so
    far is ``error.result``.
    """
    given = dict(squashed_gaussian_log_prob=squashed_gaussian_log_prob, sac_targets=sac_targets,
                 sac_policy_loss=sac_policy_loss)
    cfg, parts, learner = offpolicy.prepare(config, Config, given, check_functions)
    envs, low, high, agent = offpolicy.start(
        cfg, actor, learner, lambda out, low, high: _check_gaussian_output(out, 5, len(low)),
        lambda obs_dim, low, high: Agent(cfg, obs_dim, low, high, actor, parts, learner))
    result = Result(config=cfg, actor=agent.actor, critic=agent.critic,
                    center=(high + low) / 2, half_range=(high - low) / 2)
    live = progress_display(progress, cfg.target_return, f"SAC on {cfg.env_id}")
    return offpolicy.run(cfg, agent, result, envs, low, high, learner, callback, live)
