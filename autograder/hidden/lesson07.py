"""Hidden tests of lesson 07: the self-check quiz.

Each answer is a variable (``q1 = "b"``) observed with the ``value`` probe and judged
here against the catalog's right answer (``rlcore/catalog/lesson07.py``): case, spaces and
separators do not matter ("B", " b) ", "a, c", ["c", "a"]), nor, for questions with several
right options, their order. A wrong answer is named by the catalog's mistake, whose message
points to the section to re-read, never to the answer itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rlcore.catalog.lesson07 import QUIZ
from rlcore.check import fmt
from rlcore.check.lesson07 import classify

from . import Case, Mistake, exercise, named


def _plain(out: Any) -> Any:
    """The observed value as plain Python (tuples and sets arrive tagged, other objects by type)."""
    if isinstance(out, dict):
        for tag in ("__tuple__", "__set__"):
            if tag in out:
                return [_plain(v) for v in out[tag]]
        if "__repr__" in out:
            return _Named(out["__repr__"])
    return out


class _Named:
    """Stands for an object the sandbox could only describe by its type (shown as <a set>)."""

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<a {self.type_name}>"


def _judge(name: str) -> Any:
    q = QUIZ[name]

    def judge(o: dict) -> None:
        value = _plain(o["out"])
        slug = classify(value, q.options, q.several, right=q.right)
        if slug == "unanswered":
            raise Mistake(f"{name} is not answered yet: in its answer cell, write your letters in "
                          f"place of the raise, like {name} = " + ('"xy".' if q.several else '"x".'))
        if slug is not None:
            raise named(f"{name}/{slug}", f"{name} = {fmt(value, 60)}")
    return judge


def _register(name: str) -> None:
    @exercise(name)
    def spec(rng: np.random.Generator) -> list[Case]:
        return [Case("value", {}, _judge(name), call=name)]


for _name in QUIZ:
    _register(_name)
