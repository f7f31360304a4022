"""Argument checks shared by rlcore's public functions.

Every error names the argument and says what was expected, so a learner who passes
the wrong thing sees where to look.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np


def as_float_array(x: Any, name: str, ndim: int | None = None, allow_empty: bool = True) -> np.ndarray:
    """Return ``x`` as a float64 array, raising ``ValueError``/``TypeError`` naming ``name``."""
    if hasattr(x, "detach"):  # a torch Tensor
        x = x.detach().cpu().numpy()
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name} must be an array of numbers, got {type(x).__name__}: {e}") from None
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    if not allow_empty and arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    return arr


def check_gamma(gamma: Any, name: str = "gamma") -> float:
    """Return ``gamma`` as a float after checking it lies in [0, 1]."""
    if (isinstance(gamma, bool) or not isinstance(gamma, numbers.Real)) and not (
            isinstance(gamma, np.ndarray) and gamma.ndim == 0):
        raise TypeError(f"{name} must be a real number in [0, 1], got {type(gamma).__name__}")
    g = float(gamma)
    if not (0.0 <= g <= 1.0):
        raise ValueError(f"{name} must lie in [0, 1], got {g}")
    return g


def check_positive_int(value: Any, name: str, minimum: int = 1) -> int:
    """Return ``value`` as an int after checking it is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_probability(p: Any, name: str) -> float:
    """Return ``p`` as a float after checking it lies in [0, 1]."""
    return check_gamma(p, name)
