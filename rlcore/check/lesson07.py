"""Visible checks for lesson 07: the format of the self-check quiz answers (never their content).

The quiz answers are letters in strings (``q1 = "b"``, or ``q3 = "ac"`` when several
options are right). ``check_q1(q1)`` ... ``check_q7(q7)`` only say whether an answer is well
formed; the hidden tests grade whether it is right. Their messages are the catalog's
(``rlcore/catalog/lesson07.py``), which the hidden judge says too.
"""

from __future__ import annotations

import re
from typing import Any

from ..catalog.lesson07 import QUIZ, format_messages
from ._core import fmt, report_failure

__all__ = ["check_choice", "check_q1", "check_q2", "check_q3", "check_q4", "check_q5", "check_q6", "check_q7",
           "classify", "parse_choice"]

_SEPARATORS = re.compile(r"[\s,;/&+()\[\].'\"]+|\band\b")


def parse_choice(answer: Any) -> str | None:
    """Return the letters of a quiz answer, lower-case, sorted and without repeats; None if malformed.

    Accepts "b", " B ", "b)", "a, c", "c a", "AC", and lists, tuples or sets of letters. Returns
    None for anything else (numbers, None, words).
    """
    if isinstance(answer, (list, tuple, set, frozenset)):
        if not all(isinstance(x, str) for x in answer):
            return None
        answer = " ".join(sorted(answer))
    if not isinstance(answer, str):
        return None
    letters = _SEPARATORS.sub("", answer.lower())
    if not letters or not letters.isalpha() or not letters.isascii():
        return None
    return "".join(sorted(set(letters)))


def classify(answer: Any, choices: str = "abcd", multiple: bool = False, right: str | None = None) -> str | None:
    """What is wrong with a quiz answer: None when nothing is, else a mistake's slug.

    "unanswered" (None, "" or ...), then the format mistakes "not_letters", "not_an_option",
    "several_options" (one-answer questions); given the ``right`` letters, also the content
    mistakes "wrong_option" (one answer) or "missing_option", "extra_option", "wrong_options".
    """
    if answer is None or answer is Ellipsis or (isinstance(answer, str) and not answer.strip()):
        return "unanswered"
    letters = parse_choice(answer)
    if letters is None:
        return "not_letters"
    if set(letters) - set(choices):
        return "not_an_option"
    if not multiple and len(letters) != 1:
        return "several_options"
    if right is None or letters == right:
        return None
    if not multiple:
        return "wrong_option"
    if set(letters) < set(right):
        return "missing_option"
    if set(letters) > set(right):
        return "extra_option"
    return "wrong_options"


def check_choice(answer: Any, name: str, choices: str = "abcd", multiple: bool = False) -> None:
    """Check that quiz answer ``name`` is well formed: letters among ``choices`` (one unless ``multiple``).

    Prints one line when the format is right; raises ``CheckFailed`` with what to write
    otherwise. It never says whether the answer is correct.
    """
    __tracebackhide__ = True
    slug = classify(answer, choices, multiple)
    if slug == "unanswered":
        example = f'{name} = "xy"' if multiple else f'{name} = "x"'
        report_failure(f"\u2717 {name}: {name} is not answered yet.\n  hint: write your answer in its cell, "
                       f"like {example} with your letters, run the cell, then this check again.")
    elif slug is not None:
        report_failure(f"\u2717 {name}: {name} = {fmt(answer, 60)} is not a well-formed answer.\n"
                       f"  hint: {format_messages(name, choices, multiple)[slug]}.")
    print(f"\u2713 {name}: answer recorded ({', '.join(parse_choice(answer))}); the hidden tests grade it.")


def _question_check(name: str) -> Any:
    q = QUIZ[name]

    def check(answer: Any) -> None:
        __tracebackhide__ = True
        check_choice(answer, name, q.options, q.several)

    check.__name__ = check.__qualname__ = f"check_{name}"
    check.__doc__ = (f"Check that quiz answer {name} is well formed ({'letters' if q.several else 'one letter'} "
                     f"among {', '.join(q.options)}); the hidden tests grade whether it is right.")
    return check


check_q1, check_q2, check_q3, check_q4, check_q5, check_q6, check_q7 = (
    _question_check(name) for name in ("q1", "q2", "q3", "q4", "q5", "q6", "q7"))
