"""The pieces of DQN, one small function or class each: the reference answers of lesson 06.

Deep Q-learning (Mnih et al., 2013) fits Q_theta(s, a) to the Bellman optimality equation

    Q*(s, a) = E_{s' ~ P} [ r(s, a) + gamma max_a' Q*(s', a') ]

by minimizing the mean-squared Bellman error on minibatches drawn from a replay buffer
D, with the bootstrap target computed by a slowly moving copy Q_theta_targ:

    y = r + gamma (1 - d) max_a' Q_theta_targ(s', a')
    loss(theta) = mean_B (Q_theta(s, a) - y)^2

The trainer ``rlcore.algos.dqn`` calls these functions, or the learner's own versions
with the same signatures (docs/contract.md, lesson 06).
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np
import torch
from numpy.typing import ArrayLike
from torch import Tensor, nn

from ._validate import check_gamma, check_positive_int, check_probability

__all__ = [
    "Batch",
    "ReplayBuffer",
    "dqn_loss",
    "dqn_targets",
    "epsilon_greedy",
    "linear_schedule",
    "update_target",
]


class Batch(NamedTuple):
    """A minibatch of transitions (s, a, r, s', d) sampled from a ``ReplayBuffer``.

    obs, next_obs: float32 (B, *obs_shape); actions: int64 (B,);
    rewards, dones: float32 (B,), ``dones`` is 1.0 where s' is terminal.
    """

    obs: Tensor
    actions: Tensor
    rewards: Tensor
    next_obs: Tensor
    dones: Tensor


class ReplayBuffer:
    """Return a fixed-size ring buffer of transitions (s, a, r, s', d) stored in numpy arrays.

    ``add`` takes a batch of transitions (leading dimension = number of envs, may be 1);
    when the buffer is full the oldest transitions are overwritten first. ``sample(B)``
    draws B indices uniformly *with replacement* from what is stored, using its own
    ``numpy.random.Generator`` seeded by ``seed`` (same seed -> same samples).

    capacity: the most transitions kept. obs_shape: int or tuple, the shape of one s.
    Raises ValueError/TypeError naming the argument for a bad capacity or obs_shape.
    """

    def __init__(self, capacity: int, obs_shape: int | tuple[int, ...], seed: int | None = None):
        self.capacity = check_positive_int(capacity, "capacity")
        if isinstance(obs_shape, numbers.Integral):
            obs_shape = (int(obs_shape),)
        if isinstance(obs_shape, (str, bytes)) or not all(
                isinstance(d, numbers.Integral) for d in np.atleast_1d(np.asarray(obs_shape, dtype=object))):
            raise TypeError(f"obs_shape must be an int or a tuple of ints, got {obs_shape!r}")
        self.obs_shape = tuple(int(d) for d in obs_shape)
        if any(d < 1 for d in self.obs_shape):
            raise ValueError(f"obs_shape must have positive sizes, got {self.obs_shape}")
        self.obs = np.zeros((self.capacity, *self.obs_shape), dtype=np.float32)
        self.next_obs = np.zeros((self.capacity, *self.obs_shape), dtype=np.float32)
        self.actions = np.zeros(self.capacity, dtype=np.int64)
        self.rewards = np.zeros(self.capacity, dtype=np.float32)
        self.dones = np.zeros(self.capacity, dtype=np.float32)
        self.pos = 0  # where the next transition goes (the oldest one once full)
        self.size = 0
        self.rng = np.random.default_rng(seed)

    def add(self, obs: ArrayLike, actions: ArrayLike, rewards: ArrayLike,
            next_obs: ArrayLike, dones: ArrayLike) -> None:
        """Store a batch of n transitions; obs, next_obs (n, *obs_shape), the others (n,).

        Raises ValueError if the shapes disagree with each other or with obs_shape.
        """
        obs = np.asarray(obs, dtype=np.float32).reshape(-1, *self.obs_shape)
        n = obs.shape[0]
        columns = {"actions": actions, "rewards": rewards, "dones": dones}
        for name, value in columns.items():
            if np.shape(value) != (n,):
                raise ValueError(f"{name} must have shape ({n},) to match obs, got {np.shape(value)}")
        next_obs = np.asarray(next_obs, dtype=np.float32).reshape(n, *self.obs_shape)
        idx = (self.pos + np.arange(n)) % self.capacity  # wraps around: overwrites the oldest
        self.obs[idx] = obs
        self.next_obs[idx] = next_obs
        self.actions[idx] = actions
        self.rewards[idx] = rewards
        self.dones[idx] = dones
        self.pos = int((self.pos + n) % self.capacity)
        self.size = min(self.size + n, self.capacity)

    def sample(self, batch_size: int) -> Batch:
        """Return a ``Batch`` of ``batch_size`` transitions drawn uniformly with replacement.

        Raises ValueError if the buffer is empty or batch_size < 1.
        """
        check_positive_int(batch_size, "batch_size")
        if self.size == 0:
            raise ValueError("cannot sample from an empty ReplayBuffer: add transitions first")
        idx = self.rng.integers(0, self.size, size=batch_size)
        return Batch(
            obs=torch.from_numpy(self.obs[idx]),
            actions=torch.from_numpy(self.actions[idx]),
            rewards=torch.from_numpy(self.rewards[idx]),
            next_obs=torch.from_numpy(self.next_obs[idx]),
            dones=torch.from_numpy(self.dones[idx]),
        )

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        return f"ReplayBuffer(capacity={self.capacity}, obs_shape={self.obs_shape}, size={self.size})"


def linear_schedule(start: float, end: float, duration: float, t: float) -> float:
    """Return the value at step t of a line from ``start`` (t=0) to ``end`` (t=duration), then ``end``.

    value(t) = start + (end - start) * min(t / duration, 1), for t >= 0.
    Raises ValueError if duration is not positive.
    """
    if not duration > 0:
        raise ValueError(f"duration must be positive, got {duration}")
    fraction = min(max(float(t), 0.0) / float(duration), 1.0)
    return float(start + (end - start) * fraction)


def epsilon_greedy(q_values: ArrayLike | Tensor, epsilon: float, rng: np.random.Generator) -> np.ndarray:
    """Return int64 actions (N,): per row, a uniform random action with probability epsilon, else argmax_a Q.

    q_values: (N, A) numpy array or Tensor of Q(s, a); the random action is drawn
    among all A actions (it may be the greedy one). rng: numpy Generator.
    Raises ValueError if q_values is not 2-D or epsilon is outside [0, 1].
    """
    if isinstance(q_values, Tensor):
        q_values = q_values.detach().cpu().numpy()
    q = np.asarray(q_values)
    if q.ndim != 2:
        raise ValueError(f"q_values must have shape (N, A), got {q.shape}")
    eps = check_probability(epsilon, "epsilon")
    n, n_actions = q.shape
    greedy = q.argmax(axis=1)
    explore = rng.random(n) < eps
    random_actions = rng.integers(0, n_actions, size=n)
    return np.where(explore, random_actions, greedy).astype(np.int64)


def dqn_targets(rewards: Tensor, next_q_target: Tensor, dones: Tensor, gamma: float) -> Tensor:
    """Return the Bellman targets y = r + gamma (1 - d) max_a' Q_targ(s', a'), shape (B,), no gradient.

    rewards, dones: (B,), dones bool or float (1 = s' terminal: nothing to bootstrap);
    next_q_target: (B, A) values of the target network at s'.
    Raises ValueError for mismatched shapes or gamma outside [0, 1].
    """
    gamma = check_gamma(gamma)
    if next_q_target.ndim != 2 or rewards.shape != next_q_target.shape[:1] or dones.shape != rewards.shape:
        raise ValueError(
            "expected rewards (B,), next_q_target (B, A), dones (B,); got "
            f"{tuple(rewards.shape)}, {tuple(next_q_target.shape)}, {tuple(dones.shape)}")
    with torch.no_grad():
        next_v = next_q_target.max(dim=1).values
        not_done = 1.0 - dones.to(next_v.dtype)
        return rewards.to(next_v.dtype) + gamma * not_done * next_v


def dqn_loss(q_values: Tensor, actions: Tensor, targets: Tensor) -> Tensor:
    """Return the scalar mean squared Bellman error mean_B (Q_theta(s, a) - y)^2.

    q_values: (B, A) online network outputs; actions: (B,) integer actions taken;
    targets: (B,) Bellman targets y (treated as constants).
    Raises ValueError for mismatched shapes.
    """
    if q_values.ndim != 2 or actions.shape != q_values.shape[:1] or targets.shape != actions.shape:
        raise ValueError(
            "expected q_values (B, A), actions (B,), targets (B,); got "
            f"{tuple(q_values.shape)}, {tuple(actions.shape)}, {tuple(targets.shape)}")
    q_sa = q_values.gather(1, actions.long().unsqueeze(1)).squeeze(1)
    return ((q_sa - targets.detach()) ** 2).mean()


def update_target(target_net: nn.Module, online_net: nn.Module, tau: float = 1.0) -> None:
    """Return None; move the target parameters in place: theta_targ <- tau theta + (1 - tau) theta_targ.

    tau = 1 copies the online network (the "hard" update every k steps of the talk);
    a small tau is a "soft" (Polyak) update every step. Works in place (``lerp_``) so
    references to the target's parameters stay valid. Raises ValueError if tau is
    outside [0, 1] or the networks' parameter shapes differ.
    """
    tau = check_probability(tau, "tau")
    target_params = list(target_net.parameters())
    online_params = list(online_net.parameters())
    if [p.shape for p in target_params] != [p.shape for p in online_params]:
        raise ValueError("target_net and online_net must have the same architecture")
    with torch.no_grad():
        for p_targ, p in zip(target_params, online_params):
            if tau == 1.0:
                p_targ.copy_(p)
            else:
                p_targ.lerp_(p, tau)
