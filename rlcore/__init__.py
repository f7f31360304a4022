"""rlcore: the small package the deep RL course notebooks import.

Environments (the Sutton & Barto gridworld, probe envs), rollouts, returns, plots,
widgets, the visible checks, and fast vectorized trainers (``rlcore.algos``).
"""

from ._display import install as _install_display
from .course import check_notebook, restore_cell
from .doctor import doctor
from .mdp import ACTION_ARROWS, ACTION_NAMES, TabularEnv, TabularMDP, gridworld
from .returns import batch_reward_to_go, discounted_return, finite_horizon_return, reward_to_go
from .trajectory import Trajectory, estimate_return, rollout

__version__ = "0.1.0"

_install_display()  # the course's own errors show briefly in Jupyter, from the first cell on

__all__ = [
    "ACTION_ARROWS", "ACTION_NAMES", "TabularEnv", "TabularMDP", "Trajectory",
    "batch_reward_to_go", "check_notebook", "discounted_return", "doctor", "estimate_return",
    "finite_horizon_return", "gridworld", "restore_cell", "reward_to_go", "rollout",
]
