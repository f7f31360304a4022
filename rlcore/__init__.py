"""rlcore: the small package the deep RL course notebooks import.

Environments (the Sutton & Barto gridworld, probe envs), rollouts, returns, plots,
widgets, the visible checks, and fast vectorized trainers (``rlcore.algos``).
"""

from .doctor import doctor
from .mdp import ACTION_ARROWS, ACTION_NAMES, TabularEnv, TabularMDP, gridworld
from .returns import batch_reward_to_go, discounted_return, finite_horizon_return, reward_to_go
from .trajectory import Trajectory, estimate_return, rollout

__version__ = "0.1.0"

__all__ = [
    "ACTION_ARROWS", "ACTION_NAMES", "TabularEnv", "TabularMDP", "Trajectory",
    "batch_reward_to_go", "discounted_return", "doctor", "estimate_return",
    "finite_horizon_return", "gridworld", "reward_to_go", "rollout",
]
