"""The Gymnasium ids of the course's probe environments: ``rlcore/{family}{k}-v0``.

Lesson 06's discrete probes (``rlcore.probe_envs``) and lesson 09's continuous ones
(``rlcore.continuous_probes``) are named the same way; this module imports neither.
"""

from __future__ import annotations


def probe_id(family: str, k: int, probes: dict[int, str]) -> str:
    """The Gymnasium id ``rlcore/{family}{k}-v0`` of probe k of ``probes``; ValueError for a bad k."""
    if k not in probes:
        raise ValueError(f"k must be one of {sorted(probes)}, got {k!r}")
    return f"rlcore/{family}{k}-v0"
