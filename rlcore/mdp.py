"""Tabular MDPs: the Sutton & Barto 5x5 gridworld and a Gymnasium env for any tabular MDP.

An MDP here is a pair of arrays: P[s, a, s'] = P(s' | s, a), the probability of
moving to s' after action a in state s, and R[s, a] = E[r_t | s_t = s, a_t = a],
the expected reward. A policy is pi[s, a] = pi(a | s).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from ._validate import as_float_array, check_positive_int, check_probability

__all__ = ["ACTION_ARROWS", "ACTION_NAMES", "TabularEnv", "TabularMDP", "gridworld"]

ACTION_NAMES = ("north", "south", "east", "west")
ACTION_ARROWS = ("\u2191", "\u2193", "\u2192", "\u2190")
_MOVES = ((-1, 0), (1, 0), (0, 1), (0, -1))  # (d_row, d_col) for N, S, E, W


@dataclass
class TabularMDP:
    """A finite MDP given by arrays.

    P: (S, A, S) transition probabilities, each P[s, a] sums to 1.
    R: (S, A) expected reward R(s, a).
    R_next: optional (S, A, S) reward of the transition s -a-> s' (what an env
      samples); when given, R[s, a] = sum_{s'} P[s, a, s'] R_next[s, a, s'].
    shape: (rows, cols) when the states form a grid (s = cols * row + col), for plots.
    """

    P: np.ndarray
    R: np.ndarray
    R_next: np.ndarray | None = None
    shape: tuple[int, int] | None = None
    name: str = "mdp"
    special: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.P = as_float_array(self.P, "P", ndim=3)
        self.R = as_float_array(self.R, "R", ndim=2)
        S, A, S2 = self.P.shape
        if S != S2:
            raise ValueError(f"P must have shape (S, A, S), got {self.P.shape}")
        if self.R.shape != (S, A):
            raise ValueError(f"R must have shape (S, A) = {(S, A)}, got {self.R.shape}")
        if not np.allclose(self.P.sum(axis=2), 1.0, atol=1e-8) or (self.P < 0).any():
            raise ValueError("P[s, a] must be a probability distribution over next states")

    @property
    def n_states(self) -> int:
        return self.P.shape[0]

    @property
    def n_actions(self) -> int:
        return self.P.shape[1]


def gridworld(slip: float = 0.0) -> TabularMDP:
    """Return the 5x5 gridworld of Sutton & Barto (Example 3.5), optionally slippery.

    States s = 5 * row + col from the top-left; actions 0-3 = north, south, east, west.
    A move off the grid leaves the state unchanged with reward -1; every action in
    A = (0, 1) moves to A' = (4, 1) with reward +10, every action in B = (0, 3) moves
    to B' = (2, 3) with reward +5; all other moves earn 0.

    slip: with probability ``slip`` the intended move is replaced by one drawn
    uniformly from all four actions (so the intended one still happens with
    probability 1 - slip + slip / 4). Raises ValueError if slip lies outside [0, 1].
    """
    slip = check_probability(slip, "slip")
    n, S, A = 5, 25, 4
    a_state, a_prime, b_state, b_prime = (0, 1), (4, 1), (0, 3), (2, 3)

    def move(row: int, col: int, a: int) -> tuple[int, float]:
        if (row, col) == a_state:
            return 5 * a_prime[0] + a_prime[1], 10.0
        if (row, col) == b_state:
            return 5 * b_prime[0] + b_prime[1], 5.0
        r2, c2 = row + _MOVES[a][0], col + _MOVES[a][1]
        if not (0 <= r2 < n and 0 <= c2 < n):
            return 5 * row + col, -1.0
        return 5 * r2 + c2, 0.0

    P = np.zeros((S, A, S))
    R_next = np.zeros((S, A, S))
    for s in range(S):
        row, col = divmod(s, n)
        for a in range(A):
            for actual in range(A):
                prob = (1.0 - slip) * (actual == a) + slip / A
                if prob == 0.0:
                    continue
                s2, r = move(row, col, actual)
                P[s, a, s2] += prob
                R_next[s, a, s2] = r
    R = np.einsum("ijk,ijk->ij", P, R_next)
    return TabularMDP(
        P=P, R=R, R_next=R_next, shape=(n, n), name=f"gridworld(slip={slip:g})",
        special={"A": a_state, "A'": a_prime, "B": b_state, "B'": b_prime},
    )


class TabularEnv(gym.Env):
    """A Gymnasium environment that samples trajectories from a ``TabularMDP``.

    reset: s_0 ~ mu (uniform over states unless ``start_state`` is given).
    step(a): s' ~ P(. | s, a) and r = R_next[s, a, s'] (or R[s, a] without R_next).
    The MDP has no terminal states, so episodes end by truncation after
    ``max_episode_steps`` steps. Observations and actions are ints.
    ``render()`` returns an RGB image of the grid (for grid-shaped MDPs).
    """

    metadata: ClassVar[dict] = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(
        self,
        mdp: TabularMDP | None = None,
        start_state: int | None = None,
        max_episode_steps: int = 100,
        render_mode: str | None = "rgb_array",
    ) -> None:
        self.mdp = mdp if mdp is not None else gridworld()
        S, A = self.mdp.n_states, self.mdp.n_actions
        if start_state is not None and not (0 <= int(start_state) < S):
            raise ValueError(f"start_state must be in [0, {S}), got {start_state}")
        self.start_state = start_state
        self.max_episode_steps = check_positive_int(max_episode_steps, "max_episode_steps")
        self.observation_space = gym.spaces.Discrete(S)
        self.action_space = gym.spaces.Discrete(A)
        self.render_mode = render_mode
        self.state = 0
        self._t = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if self.start_state is None:
            self.state = int(self.np_random.integers(self.mdp.n_states))
        else:
            self.state = int(self.start_state)
        self._t = 0
        return self.state, {}

    def step(self, action):
        a = int(action)
        if not self.action_space.contains(a):
            raise ValueError(f"action must be in [0, {self.mdp.n_actions}), got {action!r}")
        s = self.state
        s2 = int(self.np_random.choice(self.mdp.n_states, p=self.mdp.P[s, a]))
        if self.mdp.R_next is not None:
            r = float(self.mdp.R_next[s, a, s2])
        else:
            r = float(self.mdp.R[s, a])
        self.state = s2
        self._t += 1
        truncated = self._t >= self.max_episode_steps
        return s2, r, False, truncated, {}

    def render(self) -> np.ndarray:
        """Return an RGB image (H, W, 3) of the grid with the agent as a red disc."""
        rows, cols = self.mdp.shape or (1, self.mdp.n_states)
        cell = 24
        img = np.full((rows * cell, cols * cell, 3), 245, dtype=np.uint8)
        img[::cell, :, :] = 180
        img[:, ::cell, :] = 180
        special = {"A": (70, 130, 220), "B": (70, 180, 120)}
        for key, color in special.items():
            if key in self.mdp.special:
                r, c = self.mdp.special[key]
                img[r * cell + 2:(r + 1) * cell - 1, c * cell + 2:(c + 1) * cell - 1] = color
        r, c = divmod(self.state, cols)
        yy, xx = np.mgrid[:cell, :cell]
        disc = (yy - cell / 2) ** 2 + (xx - cell / 2) ** 2 <= (cell / 3) ** 2
        patch = img[r * cell:(r + 1) * cell, c * cell:(c + 1) * cell]
        patch[disc] = (220, 50, 50)
        return img
