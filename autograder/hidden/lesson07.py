"""Hidden tests of lesson 07: the self-check quiz.

Each answer is a variable (``q1 = "b"``) observed with the ``value`` probe and judged
here: case, spaces and separators do not matter ("B", " b) ", "a, c", ["c", "a"]), and
for questions with several right options any order is accepted. A wrong answer gets a
message pointing to the section to re-read, never the answer itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rlcore.check import fmt
from rlcore.check.lesson07 import parse_choice

from . import Case, Mistake, exercise

# name: (right letters, options, several right?, the lesson section that answers it)
QUIZ: dict[str, tuple[str, str, bool, str]] = {
    "q1": ("bd", "abcd", True, "A few notes: discrete and continuous actions"),
    "q2": ("b", "abcd", False, "On-policy and off-policy"),
    "q3": ("c", "abcd", False, "Learning a model"),
    "q4": ("a", "abcd", False, "When the model must be exact: AlphaZero"),
    "q5": ("ac", "abcd", True, "What you built, and where it sits"),
    "q6": ("b", "abcd", False, "What you built, and where it sits"),
    "q7": ("d", "abcd", False, "Trade-offs"),
}


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
    right, options, multiple, section = QUIZ[name]

    def judge(o: dict) -> None:
        value = _plain(o["out"])
        if value is None or value == "":
            raise Mistake(f"{name} is not answered yet: in its answer cell, write your letters in "
                          f"place of the raise, like {name} = " + ('"xy".' if multiple else '"x".'))
        letters = parse_choice(value)
        if letters is None or set(letters) - set(options):
            example = '"xy" (several letters, any order)' if multiple else '"x" (one letter)'
            raise Mistake(f"{name} = {fmt(value, 60)} is not an answer: write letters among "
                          f"{', '.join(options)} in a string, like {name} = {example}.")
        if not multiple and len(letters) != 1:
            raise Mistake(f"{name} = {fmt(value, 60)} picks {len(letters)} options; this question "
                          "has exactly one answer.")
        if letters != right:
            what = (f"your selection ({', '.join(letters)}) is not right: an option is missing or "
                    "one does not belong" if multiple else f'"{letters}" is not the right answer')
            raise Mistake(f"{name}: {what}. Re-read the section \u201c{section}\u201d and try again.")
    return judge


def _register(name: str) -> None:
    @exercise(name)
    def spec(rng: np.random.Generator) -> list[Case]:
        return [Case("value", {}, _judge(name), call=name)]


for _name in QUIZ:
    _register(_name)
