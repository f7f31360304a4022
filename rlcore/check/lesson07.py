"""Visible checks for lesson 07: the format of the self-check quiz answers (never their content).

The quiz answers are letters in strings (``q1 = "b"``, or ``q3 = "ac"`` when several
options are right). ``check_choice`` only says whether an answer is well formed; the
hidden tests grade whether it is right.
"""

from __future__ import annotations

import re
from typing import Any

from ._core import fmt, report_failure

__all__ = ["check_choice", "parse_choice"]

_SEPARATORS = re.compile(r"[\s,;/&+()\[\].'\"]+|\band\b")


def parse_choice(answer: Any) -> str | None:
    """Return the letters of a quiz answer, lower-case, sorted and without repeats; None if malformed.

    Accepts "b", " B ", "b)", "a, c", "c a", "AC", and lists or tuples of letters. Returns
    None for anything else (numbers, None, words).
    """
    if isinstance(answer, (list, tuple, set, frozenset)):
        if not all(isinstance(x, str) for x in answer):
            return None
        answer = " ".join(answer)
    if not isinstance(answer, str):
        return None
    letters = _SEPARATORS.sub("", answer.lower())
    if not letters or not letters.isalpha() or not letters.isascii():
        return None
    return "".join(sorted(set(letters)))


def check_choice(answer: Any, name: str, choices: str = "abcd", multiple: bool = False) -> None:
    """Check that quiz answer ``name`` is well formed: letters among ``choices`` (one unless ``multiple``).

    Prints one line when the format is right; raises ``CheckFailed`` with an example of the
    expected format otherwise. It never says whether the answer is correct.
    """
    __tracebackhide__ = True
    options = ", ".join(choices)
    if multiple:
        how = (f'a string of one or more letters among {options}, in any order: {name} = "xy" with '
               "your letters instead of x and y")
    else:
        how = f'a string with one letter among {options}: {name} = "x" with your letter instead of x'
    letters = parse_choice(answer)
    problem = None
    if answer is None or answer == "" or answer is Ellipsis:
        problem = f"{name} is not answered yet"
    elif letters is None:
        problem = f"{name} = {fmt(answer, 60)} is not in the expected format"
    elif set(letters) - set(choices):
        problem = f"{name} = {fmt(answer, 60)} uses letters that are not options"
    elif not multiple and len(letters) != 1:
        problem = f"{name} = {fmt(answer, 60)} picks {len(letters)} options; this question has one answer"
    if problem:
        text = f"\u2717 {name}: {problem}.\n  hint: answer with {how}."
        report_failure(text)
    print(f"\u2713 {name}: answer recorded ({', '.join(letters)}); the hidden tests grade it.")
