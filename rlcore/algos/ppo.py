"""Proximal policy optimization (PPO-clip) and A2C, in one file that reads top to bottom.

The algorithm (Schulman et al., 2017), in the talk's notation:

1. run the stochastic policy pi_theta_old in ``n_envs`` environments for ``steps_per_env``
   steps (one batched forward pass of the actor per step, in numpy: it is the hot loop),
   keeping log pi_old(a_t|s_t), then the critic's V_phi(s_t) of all T * N states at once;
2. estimate advantages with GAE(lambda) (``gae_advantages``):
   delta_t = r_t + gamma (1 - d_t) V(s_{t+1}) - V(s_t),  A_t = delta_t + gamma lambda (1 - d_t) A_{t+1},
   and the critic's targets R_t = A_t + V(s_t);
3. for ``n_epochs`` passes over the batch, in ``n_minibatches`` shuffled minibatches, descend

       L = L^CLIP + vf_coef * mean (V_phi(s_t) - R_t)^2 - ent_coef * mean H(pi_theta(.|s_t)),
       L^CLIP = -mean min(rho_t A_t, clip(rho_t, 1 - eps, 1 + eps) A_t),  rho_t = pi_theta / pi_theta_old

   (``ppo_clip_loss``), with the gradient norm clipped; optionally stop the epochs early when
   the approximate KL divergence (``approx_kl``) exceeds ``target_kl``.

**A2C** is the special case of one epoch and one minibatch: the update happens at
theta = theta_old, where rho = 1 (to float32 rounding), the clip never binds and the gradient of L^CLIP is the
advantage-weighted policy gradient -mean grad log pi(a_t|s_t) A_t. ``a2c_config()`` and
``train_a2c`` give it.

Discrete actions use a categorical policy (lesson 03's ``CategoricalPolicy``, logits from
an MLP); continuous ones (a Box, e.g. Pendulum-v1) a diagonal Gaussian (lesson 03's
``GaussianPolicy``: mean from an MLP, a learned state-independent log-std), whose sampled
action is clipped to the bounds for the env (log pi is that of the unclipped sample).

Gymnasium 1.x vector envs reset an episode on the step *after* it ended ("next-step"
autoreset): that step returns the new episode's first observation, reward 0, and
ignores the action, so it is no transition and is masked out of the losses. Its
observation *input*, though, is the episode's last observation s_T, and the critic has
valued it: at a time-limit **truncation** (not a termination) the trainer adds the
bootstrap gamma V(s_T) to the last reward and cuts the episode there (``dones`` =
terminated or truncated), so a pendulum is not told that the world ends every 200
steps. At a **termination** nothing is bootstrapped: V(terminal) = 0.

The five exercise functions of lesson 08 (``gae_advantages``, ``ppo_clip_loss``,
``categorical_entropy``, ``explained_variance``, ``approx_kl``) can be swapped for the
learner's own: ``train(config, gae_advantages=my_gae, ...)``. Each is checked by its
visible check before training, and an error or an unusable result during training stops
it with a message naming the function and the call.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from .. import ac_math
from ..nets import mlp
from ..policies import CategoricalPolicy, GaussianPolicy
from . import _plumbing as plumbing
from ._plumbing import Curve, LearnerFunctionError, TrainClock, progress_display
from .common import config_html, evaluate, seed_everything, set_threads
from .pg import sample_categorical_numpy

__all__ = ["PRESETS", "ActorCritic", "Config", "LearnerFunctionError", "Result", "a2c_config",
           "bootstrap_truncated", "preset", "train", "train_a2c"]

LOG_2PI = math.log(2 * math.pi)


@dataclass
class Config:
    """Every hyperparameter of ``train``, with the reason for its default (PPO on CartPole-v1)."""

    env_id: str = "CartPole-v1"  # the benchmark task; Discrete or Box actions, flat Box observations
    seed: int = 0  # seeds env resets, network init, action sampling and minibatches: same seed, same run
    n_envs: int = 16  # envs stepped together: one forward pass acts for all of them
    steps_per_env: int = 32  # rollout length T; a batch of n_envs * T = 512 steps per update
    max_env_steps: int = 1_000_000  # budget of env steps, far above what CartPole needs (~30k)
    max_seconds: float | None = None  # cap on training time excluding evaluation (None = no cap)
    eval_every: int = 2_000  # benchmark protocol: evaluate the greedy policy every 2,000 env steps
    eval_episodes: int = 20  # benchmark protocol: mean over 20 greedy episodes (10 for Pendulum)
    eval_seed: int = 10_000  # the same evaluation episodes every time, so curves compare fairly
    target_return: float = 475.0  # CartPole-v1's "solved" threshold (Pendulum-v1: -200)
    stop_on_solve: bool = True  # stop at the first evaluation that reaches target_return
    gamma: float = 0.99  # discount: what happens ~100 steps ahead still counts
    gae_lambda: float = 0.95  # GAE's bias-variance knob: 0 = TD error (biased), 1 = Monte Carlo (noisy)
    n_epochs: int = 4  # passes over each batch: reuse the data while the clip keeps steps small
    n_minibatches: int = 2  # minibatches per epoch, 256 steps each (20 seeds on CartPole: median
    # time-to-solve 0.45 s with 2, 0.76 s with 4, 0.58 s with 1 whose worst seed takes 2.5 s)
    clip_ratio: float = 0.2  # eps of the clipped objective: rho stays within [0.8, 1.2] per batch
    lr: float = 3e-3  # Adam step size, large for a small net and a batch that is reused 4 times
    anneal_lr: bool = False  # decay lr linearly to 0 over max_env_steps (settles a long run)
    vf_coef: float = 0.5  # weight of the critic's squared error in the shared loss
    ent_coef: float = 0.0  # entropy bonus; CartPole explores enough without it
    max_grad_norm: float | None = 0.5  # clip the gradient's norm: one bad minibatch cannot wreck the nets
    normalize_advantages: bool = True  # zero-mean unit-std A_t per minibatch: a step size independent
    # of the reward scale
    normalize_obs: bool = False  # scale observations by running mean and std (Pendulum's thetadot
    # spans [-8, 8], CartPole's are already near 1)
    reward_scale: float = 1.0  # rewards are multiplied by this (keeps the critic's targets near 1)
    bootstrap_truncation: bool = True  # at a time limit, bootstrap gamma V(s_T) (False: treat it as a
    # termination, the mistake lesson 08 shows on the truncation probe and on Pendulum)
    target_kl: float | None = None  # stop an update's epochs once approx KL exceeds this (None = never)
    hidden_sizes: tuple[int, ...] = (64, 64)  # tanh MLPs for actor and critic (separate networks)
    log_std_init: float = 0.0  # Gaussian policy's initial log sigma: sigma = 1 explores the torque range
    threads: int | None = 1  # torch and numpy (BLAS) threads: tiny nets gain nothing from a second one (None = all)
    patience_steps: int = 300_000  # stop early when no evaluation has moved after this many env
    # steps (correct code solves CartPole in ~30k): a sign error should not run out the budget

    def _repr_html_(self) -> str:
        """In a notebook, ``Config()`` shows every field, its value and the reason for it."""
        return config_html(self)

    def validate(self) -> None:
        """Return None; raise ValueError naming the first bad field and its allowed range."""
        plumbing.check_fields(self, positive_ints=("n_envs", "steps_per_env", "max_env_steps", "eval_every",
                                                   "eval_episodes", "n_epochs", "n_minibatches",
                                                   "patience_steps"),
                              unit=("gamma", "gae_lambda"),
                              positive=("clip_ratio", "lr", "reward_scale"),
                              optional_positive=("max_seconds", "max_grad_norm", "target_kl"),
                              sizes=("hidden_sizes",), nonneg=("vf_coef", "ent_coef"),
                              optional_positive_ints=("threads",))
        if isinstance(self.n_minibatches, int) and isinstance(self.n_envs, int) and isinstance(
                self.steps_per_env, int) and self.n_minibatches > self.n_envs * self.steps_per_env:
            raise ValueError(f"Config.n_minibatches must be at most n_envs * steps_per_env = "
                             f"{self.n_envs * self.steps_per_env}, got {self.n_minibatches}")
        if not isinstance(self.env_id, str):
            raise TypeError(f"Config.env_id must be a Gymnasium id (a string), got {self.env_id!r}")


# Tuned presets (``preset(algo, env_id)``): measured on a 2-core laptop CPU, see bench/.
PRESETS: dict[tuple[str, str], dict[str, Any]] = {
    ("ppo", "CartPole-v1"): {},
    ("a2c", "CartPole-v1"): dict(n_epochs=1, n_minibatches=1, lr=1e-2),  # one step per 512 samples
    ("ppo", "Pendulum-v1"): dict(env_id="Pendulum-v1", target_return=-200.0, eval_episodes=10,
                                 n_envs=16, steps_per_env=64, gamma=0.95, gae_lambda=0.95,
                                 n_epochs=10, n_minibatches=4, lr=3e-3, reward_scale=0.1,
                                 normalize_obs=True, log_std_init=0.0, max_env_steps=400_000,
                                 patience_steps=300_000),
}


def preset(algo: str = "ppo", env_id: str = "CartPole-v1", **changes: Any) -> Config:
    """Return the tuned ``Config`` of ``algo`` ("ppo" or "a2c") on ``env_id``, with ``changes``.

    Raises ValueError for a pair without a preset (the known pairs are listed).
    """
    if (algo, env_id) not in PRESETS:
        raise ValueError(f"no preset for ({algo!r}, {env_id!r}); known: {sorted(PRESETS)}")
    return replace(Config(), **{**PRESETS[(algo, env_id)], **changes})


def a2c_config(env_id: str = "CartPole-v1", **changes: Any) -> Config:
    """Return A2C's config: PPO with one epoch and one minibatch (rho = 1: the clip never binds)."""
    return preset("a2c", env_id, **changes)


# ---------------------------------------------------------------------------------------
# The actor-critic: a policy pi_theta (categorical or Gaussian) and a critic V_phi.
# ---------------------------------------------------------------------------------------

class ActorCritic(nn.Module):
    """Actor pi_theta(a|s) and critic V_phi(s): separate tanh MLPs on (optionally normalized) obs.

    Discrete actions: ``actor`` is a ``CategoricalPolicy`` (logits); continuous: a
    ``GaussianPolicy`` (means and a state-independent ``log_std``). ``obs_mean`` and
    ``obs_var`` (buffers) normalize observations when ``normalize_obs`` is on; ``act``
    gives greedy actions (argmax, or the mean clipped to the action bounds).
    """

    def __init__(self, obs_dim: int, action_space: Any, hidden_sizes: tuple[int, ...],
                 log_std_init: float = 0.0, normalize_obs: bool = False) -> None:
        super().__init__()
        self.discrete = hasattr(action_space, "n")
        if self.discrete:
            self.actor: nn.Module = CategoricalPolicy(obs_dim, int(action_space.n), hidden_sizes)
            head = self.actor.logits_net
        else:
            act_dim = int(np.prod(action_space.shape))
            self.actor = GaussianPolicy(obs_dim, act_dim, hidden_sizes, log_std_init=log_std_init)
            head = self.actor.mu_net
            self.register_buffer("low", torch.as_tensor(action_space.low, dtype=torch.float32))
            self.register_buffer("high", torch.as_tensor(action_space.high, dtype=torch.float32))
        self.critic = mlp([obs_dim, *hidden_sizes, 1], activation=nn.Tanh)
        # CleanRL's initialisation: orthogonal weights, a near-uniform first policy (gain 0.01)
        for net, gain in ((head, 0.01), (self.critic, 1.0)):
            linears = [m for m in net if isinstance(m, nn.Linear)]
            for k, layer in enumerate(linears):
                nn.init.orthogonal_(layer.weight, math.sqrt(2) if k < len(linears) - 1 else gain)
                nn.init.zeros_(layer.bias)
        self.normalize_obs = normalize_obs
        self.register_buffer("obs_mean", torch.zeros(obs_dim))
        self.register_buffer("obs_var", torch.ones(obs_dim))
        self.register_buffer("obs_count", torch.tensor(1e-4))

    def normalize(self, obs: torch.Tensor) -> torch.Tensor:
        """Return (obs - mean) / sqrt(var + 1e-8), clipped to [-10, 10] (identity when off)."""
        if not self.normalize_obs:
            return obs
        return ((obs - self.obs_mean) / torch.sqrt(self.obs_var + 1e-8)).clamp(-10.0, 10.0)

    @torch.no_grad()
    def update_obs_stats(self, obs: torch.Tensor) -> None:
        """Merge a batch of raw observations (B, obs_dim) into the running mean and variance."""
        n = obs.shape[0]
        mean, var = obs.mean(0), obs.var(0, correction=0)
        total = self.obs_count + n
        delta = mean - self.obs_mean
        self.obs_var.copy_((self.obs_var * self.obs_count + var * n
                            + delta**2 * self.obs_count * n / total) / total)
        self.obs_mean.add_(delta * n / total)
        self.obs_count.copy_(total)

    def value(self, x: torch.Tensor) -> torch.Tensor:
        """Return V_phi(s), shape (B,), for normalized observations x (B, obs_dim)."""
        return self.critic(x).squeeze(-1)

    def act(self, obs: Any) -> Any:
        """Return greedy actions for raw observations: a batch (n, obs_dim) or one observation.

        Discrete: argmax of the logits (int64 array (n,), or an int). Continuous: the mean,
        clipped to the action bounds (float32 (n, d), or (d,)).
        """
        x = torch.as_tensor(np.asarray(obs), dtype=torch.float32)
        single = x.ndim == 1
        x = self.normalize(x[None] if single else x)
        with torch.no_grad():
            out = self.actor(x)
            if self.discrete:
                a = out.argmax(-1).numpy()
                return int(a[0]) if single else a
            a = torch.max(torch.min(out, self.high), self.low).numpy()
        return a[0] if single else a


@dataclass(kw_only=True, repr=False)  # Curve's repr: a one-line summary
class Result(Curve):
    """What ``train`` returns: the learning curve (``Curve``), when it solved, and the agent.

    env_steps[k], train_seconds[k], eval_return[k]: the k-th greedy evaluation (training
    time excludes evaluation); losses[k]: the mean total loss of the minibatch steps since
    the previous one; diagnostics[key][k] for key in approx_kl, clip_fraction, entropy,
    explained_variance, value_loss, policy_loss, train_return (mean return of the training
    episodes that ended since the previous evaluation, NaN if none did).
    """

    agent: ActorCritic

    def act(self, obs: Any) -> Any:
        """Greedy actions (``ActorCritic.act``), so ``rlcore.rollout(env, result.act)`` works."""
        return self.agent.act(obs)


# ---------------------------------------------------------------------------------------
# Calling the learner's functions: an unusable result stops training naming the function.
# ---------------------------------------------------------------------------------------

def _learner_float(name: str, out: Any, call: str, allow_nan: bool) -> float:
    """``out`` as a Python float (a number, numpy scalar or one-element Tensor), else raise."""
    try:
        if isinstance(out, torch.Tensor):
            if out.numel() != 1:
                raise TypeError
            out = out.detach().reshape(()).item()
        if isinstance(out, np.ndarray) and out.size == 1:
            out = out.reshape(()).item()
        if isinstance(out, bool):
            raise TypeError
        value = float(out)
    except (TypeError, ValueError):
        from .._format import brief

        raise LearnerFunctionError(name, f"returned {brief(out)}, expected one number (a float)", call,
                                   "return a Python float: float(...) of the mean.") from None
    if math.isinf(value) or (math.isnan(value) and not allow_nan):
        raise LearnerFunctionError(name, f"returned {value}, expected a finite number", call)
    return value


def _gae(fn: Callable, rewards: np.ndarray, values: np.ndarray, dones: np.ndarray,
         last_values: np.ndarray, gamma: float, lam: float, when: str) -> tuple[np.ndarray, np.ndarray]:
    args = (rewards.copy(), values.copy(), dones.copy(), last_values.copy(), float(gamma), float(lam))
    call = plumbing.Call("gae_advantages", args, when)
    out = plumbing.call_learner("gae_advantages", fn, *args, when=when)
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        from .._format import brief

        raise LearnerFunctionError("gae_advantages", f"returned {brief(out)}, expected a pair "
                                   "(advantages, returns)", call,
                                   "return advantages, returns  (returns = advantages + values).")
    adv = plumbing.expect_array("gae_advantages", out[0], plumbing.Call("gae_advantages", args, f"{when} (advantages)"), rewards.shape)
    ret = plumbing.expect_array("gae_advantages", out[1], plumbing.Call("gae_advantages", args, f"{when} (returns)"), rewards.shape)
    return adv, ret


def bootstrap_truncated(rewards: np.ndarray, values: np.ndarray, last_values: np.ndarray,
                        truncated: np.ndarray, gamma: float) -> np.ndarray:
    """Return rewards with gamma V(s_T) added where an episode was truncated (not terminated).

    rewards, values, truncated: (T, N); values[t] = V(input observation of step t);
    last_values: (N,) = V of the observation after the last step. Under next-step autoreset
    the input of the step after a truncation is the episode's last observation s_T, so
    V(s_T) is values[t + 1] (or last_values at t = T - 1). With the bootstrap folded into
    r_t, the episode can be cut there (done) and GAE still sees
    delta_t = r_t + gamma V(s_T) - V(s_t): the time limit is not the end of the world.
    """
    next_values = np.concatenate([values[1:], last_values[None]], axis=0)
    return rewards + gamma * next_values * truncated


# ---------------------------------------------------------------------------------------
# Training.
# ---------------------------------------------------------------------------------------

def train(config: Config | None = None, callback: Callable[[dict], Any] | None = None,
          progress: bool = True, gae_advantages: Callable | None = None,
          ppo_clip_loss: Callable | None = None, categorical_entropy: Callable | None = None,
          explained_variance: Callable | None = None, approx_kl: Callable | None = None,
          check_functions: bool = True) -> Result:
    """Return a ``Result`` after training an actor-critic by PPO-clip (A2C with ``a2c_config()``).

    config: hyperparameters (default ``Config()``: PPO on CartPole-v1; ``preset("ppo",
    "Pendulum-v1")`` for Pendulum). callback(info) runs after every evaluation with info
    keys env_steps, train_seconds, eval_return, eval_returns, loss, solved, update and the
    diagnostics (approx_kl, clip_fraction, entropy, explained_variance, value_loss,
    policy_loss, train_return); returning True stops training. progress: show a live
    learning curve (notebook) or status line (terminal).
    gae_advantages, ppo_clip_loss, categorical_entropy, explained_variance, approx_kl: the
    learner's exercise functions (lesson 08); None uses rlcore's reference ones
    (``rlcore.ac_math``). check_functions: run each given function's visible check first.
    Stops at the first solving evaluation (if ``stop_on_solve``), at ``max_env_steps``,
    at ``max_seconds`` of training time, or when the callback returns True.
    Raises ValueError naming the Config field for a bad config (before training);
    LearnerFunctionError naming the exercise function that fails its check, raises or
    returns something unusable (wrong shape or type, nan, no gradient); NotLearning (a
    LearnerFunctionError) when no evaluation improved within ``patience_steps``.
    """
    c = config if config is not None else Config()
    given = dict(gae_advantages=gae_advantages, ppo_clip_loss=ppo_clip_loss,
                 categorical_entropy=categorical_entropy, explained_variance=explained_variance,
                 approx_kl=approx_kl)
    fns, learner = plumbing.prepare(c, Config, given, ac_math, check_functions)

    envs = plumbing.make_vec_env(c.env_id, c.n_envs, actions="any")
    discrete = isinstance(envs.single_action_space, gym.spaces.Discrete)
    set_threads(c.threads)
    seed_everything(c.seed)
    generator = torch.Generator().manual_seed(c.seed)
    obs_dim = envs.single_observation_space.shape[0]
    agent = ActorCritic(obs_dim, envs.single_action_space, tuple(c.hidden_sizes), c.log_std_init,
                        c.normalize_obs)
    params = list(agent.parameters())
    optimizer = plumbing.adam(params, lr=c.lr, eps=1e-5)  # eps as in the PPO paper's code
    result = Result(config=c, agent=agent)
    kind = "A2C" if c.n_epochs == 1 and c.n_minibatches == 1 else "PPO"
    live = progress_display(progress, c.target_return, f"{kind} on {c.env_id}")

    T, N = c.steps_per_env, c.n_envs
    act_shape = () if discrete else tuple(envs.single_action_space.shape)
    # The rollout runs in numpy (``plumbing.numpy_forward``: a third of the cost a step of
    # the same forward pass in torch); its arrays become tensors, without a copy, after it.
    batch_obs = np.zeros((T, N, obs_dim), dtype=np.float32)  # normalized, as the networks saw them
    raw_obs = np.zeros((T, N, obs_dim), dtype=np.float32)
    batch_actions = np.zeros((T, N, *act_shape), dtype=np.int64 if discrete else np.float32)
    batch_logp = np.zeros((T, N), dtype=np.float32)
    batch_logits = np.zeros((T, N, envs.single_action_space.n), dtype=np.float32) if discrete else None
    batch_rewards = np.zeros((T, N))
    batch_dones = np.zeros((T, N), dtype=bool)
    batch_trunc = np.zeros((T, N), dtype=bool)
    batch_valid = np.zeros((T, N), dtype=bool)
    if not discrete:
        low, high = envs.single_action_space.low, envs.single_action_space.high
        sigma_log = agent.actor.log_std.detach().numpy()  # log sigma, a view: follows the optimiser
    obs, _ = envs.reset(seed=c.seed)
    prev_done = np.zeros(N, dtype=bool)  # True: this env's next step is a reset step
    episode_return = np.zeros(N)
    finished: list[float] = []
    env_steps, update = 0, 0
    loss_sum, loss_count = 0.0, 0
    diag: dict[str, float] = {}
    next_eval = c.eval_every
    clock = TrainClock()
    entropy_fn = fns["categorical_entropy"]
    rng = np.random.default_rng(c.seed)  # the rollout's action draws
    policy_head = plumbing.numpy_forward(agent.actor.logits_net if discrete else agent.actor.mu_net)
    critic = plumbing.numpy_forward(agent.critic)
    obs_mean, obs_var = agent.obs_mean.numpy(), agent.obs_var.numpy()  # views of the running stats

    def normalize(o: np.ndarray) -> np.ndarray:  # ActorCritic.normalize, in numpy
        if not c.normalize_obs:
            return o
        return np.clip((o - obs_mean) / np.sqrt(obs_var + np.float32(1e-8)), -10.0, 10.0)

    try:
        while True:
            # 1. Collect T steps in N envs with a_t ~ pi_theta_old(.|s_t); keep logp and V(s_t).
            for t in range(T):
                o = np.asarray(obs, dtype=np.float32)
                raw_obs[t] = o
                x = normalize(o)
                batch_obs[t] = x
                out = policy_head(x)
                if discrete:
                    actions = sample_categorical_numpy(out, rng)
                    batch_logits[t] = out  # log pi(a_t|s_t) for the whole batch after the loop
                    env_actions = actions
                else:
                    noise = rng.standard_normal(out.shape, dtype=np.float32)
                    actions = out + np.exp(sigma_log) * noise
                    batch_logp[t] = (-0.5 * noise**2 - sigma_log - 0.5 * LOG_2PI).sum(-1)
                    env_actions = np.clip(actions, low, high)
                batch_actions[t] = actions
                batch_valid[t] = ~prev_done
                obs, rewards, terminated, truncated, _ = envs.step(env_actions)
                episode_return += rewards
                prev_done = terminated | truncated
                batch_rewards[t] = rewards * c.reward_scale
                batch_dones[t] = prev_done
                batch_trunc[t] = truncated & ~terminated
                if prev_done.any():
                    finished.extend(episode_return[prev_done].tolist())
                    episode_return[prev_done] = 0.0
            # The networks did not change during the rollout: V(s_t) of all T * N steps and
            # V(s_T) in one forward pass, and the discrete log-probs from the stored logits
            # (the same numbers as step by step, at a fraction of the per-step overhead).
            o = normalize(np.asarray(obs, dtype=np.float32))
            values = critic(np.concatenate([batch_obs.reshape(T * N, obs_dim), o]))[:, 0].astype(np.float64)
            batch_values, last_values = values[:T * N].reshape(T, N), values[T * N:]
            t_obs, t_actions = torch.from_numpy(batch_obs), torch.from_numpy(batch_actions)
            if discrete:
                t_logp = torch.log_softmax(torch.from_numpy(batch_logits), -1).gather(
                    2, t_actions[..., None]).squeeze(2)
            else:
                t_logp = torch.from_numpy(batch_logp)
            valid = batch_valid.reshape(-1)
            if not valid.any():
                continue
            if c.normalize_obs:
                agent.update_obs_stats(torch.from_numpy(raw_obs.reshape(T * N, obs_dim)[valid]))

            # 2. Advantages by GAE(lambda). At a truncation the next input is s_T (the reset
            #    step's observation, or the batch's last one): bootstrap gamma V(s_T) into r_t.
            rewards_in = (bootstrap_truncated(batch_rewards, batch_values, last_values, batch_trunc,
                                              c.gamma) if c.bootstrap_truncation else batch_rewards)
            when = f"during training (update {update + 1})"
            adv, ret = _gae(fns["gae_advantages"], rewards_in, batch_values, batch_dones, last_values,
                            c.gamma, c.gae_lambda, when)
            ev_args = (batch_values.reshape(-1)[valid], ret.reshape(-1)[valid])
            diag["explained_variance"] = plumbing.checked_call(
                _learner_float, "explained_variance", fns["explained_variance"], *ev_args, when=when,
                allow_nan=bool(np.var(ev_args[1]) == 0))

            # 3. n_epochs passes of shuffled minibatches over the real transitions.
            mask = torch.from_numpy(valid)
            b_obs = t_obs.reshape(T * N, obs_dim)[mask]
            b_actions = t_actions.reshape(T * N, *act_shape)[mask]
            b_logp = t_logp.reshape(-1)[mask]
            b_adv = torch.from_numpy(adv.reshape(-1)[valid].astype(np.float32))
            b_ret = torch.from_numpy(ret.reshape(-1)[valid].astype(np.float32))
            B = b_obs.shape[0]
            mb_size = max(1, B // c.n_minibatches)
            if c.anneal_lr:
                for g in optimizer.param_groups:
                    g["lr"] = c.lr * max(0.0, 1.0 - env_steps / c.max_env_steps)
            kls, clips, v_losses, pi_losses, entropies = [], [], [], [], []
            for _epoch in range(c.n_epochs):
                perm = torch.randperm(B, generator=generator)
                epoch_kls = []
                for start in range(0, B - mb_size + 1, mb_size):
                    idx = perm[start:start + mb_size]
                    x = b_obs[idx]
                    out = agent.actor(x)
                    if discrete:
                        logp_all = torch.log_softmax(out, -1)
                        logp = logp_all.gather(1, b_actions[idx][:, None]).squeeze(1)
                    else:
                        log_std = agent.actor.log_std
                        z = (b_actions[idx] - out) * torch.exp(-log_std)
                        logp = (-0.5 * z**2 - log_std - 0.5 * LOG_2PI).sum(-1)
                    mb_adv = b_adv[idx]
                    if c.normalize_advantages and len(idx) > 1:
                        mb_adv = (mb_adv - mb_adv.mean()) / (mb_adv.std(correction=0) + 1e-8)
                    clip_args = (logp, b_logp[idx], mb_adv, float(c.clip_ratio))
                    pi_loss = plumbing.checked_call(plumbing.expect_tensor, "ppo_clip_loss",
                                                    fns["ppo_clip_loss"], *clip_args, when=when,
                                                    scalar=True, requires_grad=True)
                    v_loss = ((agent.value(x) - b_ret[idx]) ** 2).mean()
                    loss = pi_loss + c.vf_coef * v_loss
                    if discrete and c.ent_coef > 0:
                        entropy = plumbing.checked_call(plumbing.expect_tensor, "categorical_entropy",
                                                        entropy_fn, out, when=when, shape=(len(idx),),
                                                        requires_grad=True).mean()
                        loss = loss - c.ent_coef * entropy
                    elif not discrete and c.ent_coef > 0:
                        loss = loss - c.ent_coef * (agent.actor.log_std + 0.5 * (LOG_2PI + 1)).sum()
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    if c.max_grad_norm is not None:
                        plumbing.clip_grad_norm(params, c.max_grad_norm)
                    optimizer.step()
                    with torch.no_grad():
                        log_ratio = logp.detach() - b_logp[idx]
                        clips.append(float(((log_ratio.exp() - 1.0).abs() > c.clip_ratio).float().mean()))
                    kl_args = (logp.detach(), b_logp[idx])
                    epoch_kls.append(plumbing.checked_call(_learner_float, "approx_kl", fns["approx_kl"],
                                                           *kl_args, when=when, allow_nan=False))
                    v_losses.append(float(v_loss.detach()))
                    pi_losses.append(float(pi_loss.detach()))
                    loss_sum, loss_count = loss_sum + float(loss.detach()), loss_count + 1
                kls.extend(epoch_kls)
                if c.target_kl is not None and np.mean(epoch_kls) > c.target_kl:
                    break
            # the entropy (nats) of the policy that collected the batch, on the batch: the
            # diagnostic that says it still explores (from the rollout's logits: no extra pass)
            if discrete:
                out = torch.from_numpy(batch_logits.reshape(T * N, -1)[valid])
                ent = plumbing.checked_call(plumbing.expect_tensor, "categorical_entropy", entropy_fn, out,
                                            when=when, shape=(B,))
                entropies.append(float(ent.mean()))
            else:
                entropies.append(float((agent.actor.log_std.detach() + 0.5 * (LOG_2PI + 1)).sum()))
            update += 1
            env_steps += B
            diag.update(approx_kl=float(np.mean(kls)), clip_fraction=float(np.mean(clips)),
                        value_loss=float(np.mean(v_losses)), policy_loss=float(np.mean(pi_losses)),
                        entropy=entropies[-1])

            # 4. Evaluate the greedy policy every eval_every env steps (off the clock).
            stop = False
            if env_steps >= next_eval:
                next_eval = (env_steps // c.eval_every + 1) * c.eval_every
                with clock.paused():
                    returns = evaluate(agent.act, c.env_id, n_episodes=c.eval_episodes, seed=c.eval_seed)
                train_return = float(np.mean(finished)) if finished else math.nan
                finished.clear()
                stop = result.record(returns, env_steps, clock.seconds, c.target_return,
                                     loss_sum / max(1, loss_count), callback, live,
                                     stop_on_solve=c.stop_on_solve, update=update,
                                     train_return=train_return, **diag)
                loss_sum, loss_count = 0.0, 0
                result.watch(learner, c.patience_steps, 0.1, c.target_return)
            if plumbing.stop_now(result, stop, c, env_steps, clock.seconds):
                return result
    finally:
        plumbing.close_all(envs, live)


def train_a2c(config: Config | None = None, **kwargs: Any) -> Result:
    """Return ``train(config or a2c_config(), **kwargs)``: A2C, PPO's one-epoch special case.

    Raises ValueError if ``config`` has more than one epoch or minibatch (that is PPO).
    """
    c = config if config is not None else a2c_config()
    if c.n_epochs != 1 or c.n_minibatches != 1:
        raise ValueError(f"A2C takes one step per batch: Config.n_epochs and Config.n_minibatches must "
                         f"be 1, got {c.n_epochs} and {c.n_minibatches} (more is PPO: use train)")
    return train(c, **kwargs)
