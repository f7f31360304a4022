"""Lesson 07 (taxonomy and next steps): the self-check quiz, seven value exercises q1..q7.

Each answer is a value, letters in a string (``q1 = "bd"``), judged leniently: case, spaces,
separators and, where several options are right, their order do not matter
(``rlcore.check.lesson07.parse_choice``). Each question is an ``Exercise`` whose reference
is the right answer, whose alternatives are other ways of writing it, and whose mistakes'
``wrong`` are wrong answers. A wrong answer's message points to the section of the lesson
to re-read, never to the answer; the visible check says only whether an answer is well
formed (the content mistakes are ``visible=False``). The hidden judge names every mistake
itself (``by_value=False``): a learner's "B" and the catalog's "b" are the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import Exercise, Mistake, exercise

LESSON = "07-taxonomy-and-next-steps"


@dataclass(frozen=True)
class Question:
    """right: the right letters (sorted); options: the letters offered; several: more than one
    option is right; section: the heading of the lesson's section that answers it."""

    right: str
    options: str
    several: bool
    section: str


QUIZ: dict[str, Question] = {
    "q1": Question("bd", "abcd", True, "A few notes: discrete and continuous actions"),
    "q2": Question("b", "abcd", False, "On-policy and off-policy"),
    "q3": Question("c", "abcd", False, "Learning a model"),
    "q4": Question("a", "abcd", False, "When the model must be exact: AlphaZero"),
    "q5": Question("ac", "abcd", True, "What you built, and where it sits"),
    "q6": Question("b", "abcd", False, "What you built, and where it sits"),
    "q7": Question("d", "abcd", False, "Trade-offs"),
}


def format_messages(name: str, options: str, several: bool) -> dict[str, str]:
    """The messages of the format mistakes of quiz answer ``name`` (the visible check says them too)."""
    example = f'{name} = "xy" (your letters in place of x and y)' if several else \
        f'{name} = "x" (your letter in place of x)'
    messages = {
        "not_letters": f"the answer is not letters in a string: write it like {example}",
        "not_an_option": f"the answer uses a letter that is not an option: use only {', '.join(options)}",
    }
    if not several:
        messages["several_options"] = ("several letters for a question with exactly one right answer: "
                                       "give one letter")
    return messages


def _forms(right: str) -> tuple:
    """Other ways of writing the right answer: case, spaces, brackets, order, lists, sets."""
    forms = [right.upper(), f"  {right} ", f"{right})", f"({right})", f"{right}.", {right}, frozenset(right)]
    if len(right) > 1:
        forms += [right[::-1], ", ".join(right), " and ".join(right.upper()), list(right),
                  tuple(right[::-1]), set(right), right + right[0]]
    return tuple(forms)


def _mistakes(name: str, q: Question) -> tuple[Mistake, ...]:
    again = f're-read the section "{q.section}" and try again'
    other = next(o for o in q.options if o not in q.right)
    out = []
    if q.several:
        complement = "".join(o for o in q.options if o not in q.right)
        out += [Mistake(f"{name}/missing_option", f"a right option is missing from your selection; {again}",
                        q.right[0], summary="left out a right option", by_value=False, visible=False),
                Mistake(f"{name}/extra_option", f"your selection includes an option that does not belong; {again}",
                        q.right + other, summary="chose an option that does not belong", by_value=False,
                        visible=False),
                Mistake(f"{name}/wrong_options", f"your selection is not right: options are missing and "
                        f"others do not belong; {again}", complement, summary="chose the wrong options",
                        by_value=False, visible=False)]
    else:
        out.append(Mistake(f"{name}/wrong_option", f"that is not the right answer: {again}", other,
                           summary="chose a wrong option", by_value=False, visible=False))
    wrongs = {"not_letters": 2, "not_an_option": "e", "several_options": q.right + other}
    summaries = {"not_letters": "answered with something other than letters",
                 "not_an_option": "used a letter that is not an option",
                 "several_options": "gave several letters for one answer"}
    for slug, message in format_messages(name, q.options, q.several).items():
        out.append(Mistake(f"{name}/{slug}", message, wrongs[slug], summary=summaries[slug], by_value=False))
    return tuple(out)


for _name, _q in QUIZ.items():
    exercise(Exercise(
        _name, LESSON, _q.right,
        alternatives=_forms(_q.right),
        mistakes=_mistakes(_name, _q),
        inputs="the learner's value itself, in any of the accepted forms (a string of letters in any "
               "case, with spaces, commas, 'and' or brackets; a list, tuple or set of letters).",
    ))
