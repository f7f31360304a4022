"""The exercise catalog: every graded exercise of the course declared once, with its named mistakes.

An ``Exercise`` says what the learner writes (its name, lesson and reference
implementation, whose signature is the contract of ``docs/contract.md``), which
correct implementations in other styles must also earn full marks, and which realistic
mistakes it is graded against. Each ``Mistake`` has a stable id
(``"dqn_targets/no_done_mask"``), the message the learner and the instructor read, and
the wrong implementation it stands for (real code, with the exercise's signature), above
which it is declared with ``@mistake(...)``.

Everything else reads the catalog instead of restating it:

- the visible check (``rlcore.check``) names a mistake when the learner's output equals
  what its wrong implementation returns on the check's own inputs;
- the hidden judge (``autograder.hidden``) does the same on fresh random inputs, by running
  the wrong implementation through the same probe, and reports the mistake's id to the
  grader (``--json``, ``make report``: how many students made each mistake);
- the tests (``tests/test_lesson_contract.py``) grade every reference, alternative and
  wrong implementation, and fail for a mistake that its inputs cannot tell apart;
- ``docs/exercises.md`` lists every mistake (``tools/exercises_doc.py``).

The catalog is public (learners may read it: the mistakes are published anyway). What the
grader keeps hidden is the judges' random inputs and thresholds (``autograder/hidden``).

A lesson's exercises live in ``rlcore/catalog/lessonNN.py`` (NN = the first two characters
of the assignment id); lessons are found by looking, never listed by hand.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .. import _lessons

__all__ = ["CATALOG", "Exercise", "Mistake", "exercise", "exercises_of", "find_mistake", "get",
           "lesson_modules", "load_all", "mistake"]

CATALOG: dict[str, Exercise] = {}
_DECLARED: dict[str, list[Mistake]] = {}  # exercise name -> mistakes @mistake declared, not yet claimed


@dataclass(frozen=True)
class Mistake:
    """A realistic mistake of one exercise.

    id: ``"<exercise>/<slug>"``, stable (reports and gradebooks keep it).
    message: what the mistake is and what to change, without giving the whole answer.
    wrong: the wrong implementation (a function or class with the exercise's signature),
    written the way a learner would; tests paste its source into the notebook.
    summary: a short phrase for the instructor's report ("bootstrapped through terminal
    states"); defaults to the message up to its first colon or semicolon.
    by_value: True when running ``wrong`` on the same inputs reproduces a learner's output
    exactly, so the judges identify the mistake by comparison; False when it does not
    (random draws, object identity): the exercise's own judge names it by id.
    named_by_check: the visible check's message contains ``message`` (True for all but the
    few whose small fixed cases show a symptom the check words differently).
    raises: for a mistake that shows as an error, a regular expression matched against
    ``"ErrorType: message"`` of the error ``wrong`` raises (``r"bool tensor is not
    supported"``); the visible check, the hidden judges and the trainers name the mistake
    from the error instead of showing the library's own words alone.
    visible: False for a mistake the visible check must NOT catch: a quiz answer's content
    (the check says whether an answer is well formed, never whether it is right).
    """

    id: str
    message: str
    wrong: Any = None  # a function or class; for a value exercise (a quiz answer), a wrong value
    summary: str = ""
    by_value: bool = True
    named_by_check: bool = True  # False: the visible check fails on it, but with its own words
    raises: str = ""
    visible: bool = True

    @property
    def exercise(self) -> str:
        return self.id.split("/", 1)[0]

    @property
    def short(self) -> str:
        """The report's phrase: ``summary`` or the message's first clause."""
        if self.summary:
            return self.summary
        return re.split(r"[:;(]", self.message, maxsplit=1)[0].strip().rstrip(".")


@dataclass
class Exercise:
    """One graded name of a lesson, its reference, its correct alternatives and its mistakes.

    name: the graded name (function or class) the learner writes; lesson: its assignment id.
    reference: rlcore's implementation; its signature is the contract. For a *value*
    exercise (a quiz answer, ``q1 = "bd"``) the reference is the right value, the
    alternatives are other ways of writing it and each mistake's ``wrong`` a wrong value.
    alternatives: correct implementations in other styles (must earn full marks).
    mistakes: the named mistakes, in the order the judges try them.
    namespace: names the wrong and alternative implementations use besides numpy (``np``),
    torch and ``nn``, as a notebook would have them (``{"Batch": Batch}``).
    admits: the kinds of input the contract admits and the judges must try ("list",
    "int", "float32", "float64", "bool dones", "batch of one", ...), documented in
    ``docs/exercises.md``; inputs: one sentence on the hidden tests' fresh inputs.
    """

    name: str
    lesson: str
    reference: Any  # a function or class; a value for a value exercise
    mistakes: tuple[Mistake, ...] = ()
    alternatives: tuple[Any, ...] = ()
    namespace: dict[str, Any] = field(default_factory=dict)
    admits: tuple[str, ...] = ()
    inputs: str = ""

    def __post_init__(self) -> None:
        ids = [m.id for m in self.mistakes]
        for m in self.mistakes:
            if m.exercise != self.name:
                raise ValueError(f"mistake id {m.id!r} must start with {self.name + '/'!r}")
        if len(set(ids)) != len(ids):
            raise ValueError(f"{self.name}: mistake ids repeat: {ids}")

    @property
    def is_value(self) -> bool:
        """True for a value exercise (a quiz answer): the learner assigns a value, not code."""
        return not callable(self.reference)

    @property
    def unwritten(self) -> str:
        """What the stub's message says: "not written yet" (code) or "not answered yet" (a value)."""
        return "not answered yet" if self.is_value else "not written yet"

    @property
    def signature(self) -> str:
        """``name(rewards, dones, gamma=1.0)``: the contract's signature, from the reference."""
        if self.is_value:
            return f'{self.name} = "..."'
        target = self.reference.__init__ if inspect.isclass(self.reference) else self.reference
        sig = inspect.signature(target)
        params = [_shown(p.replace(annotation=inspect.Parameter.empty))
                  for p in sig.parameters.values() if p.name != "self"]
        return f"{self.name}({', '.join(str(p) for p in params)})"

    def mistake(self, slug_or_id: str) -> Mistake:
        """The mistake with this id (or ``slug`` after ``name/``); KeyError naming the known ones."""
        key = slug_or_id if "/" in slug_or_id else f"{self.name}/{slug_or_id}"
        for m in self.mistakes:
            if m.id == key:
                return m
        raise KeyError(f"{self.name} has no mistake {key!r}; known: {[m.id for m in self.mistakes]}")

    @property
    def by_value(self) -> tuple[Mistake, ...]:
        """The mistakes a judge can identify by running their wrong implementation."""
        return tuple(m for m in self.mistakes if m.by_value and m.wrong is not None)

    def raised(self, error: str | BaseException) -> Mistake | None:
        """The mistake whose ``raises`` pattern matches ``error`` ("ErrorType: message"), or None."""
        if isinstance(error, BaseException):
            from .._format import describe_exception

            error = describe_exception(error)
        for m in self.mistakes:
            if m.raises and re.search(m.raises, error):
                return m
        return None

    def source_of(self, impl: Any) -> str:
        """The source of a wrong or alternative implementation, renamed to the exercise's name.

        This is what a learner's answer cell would hold; ``tests`` paste it into notebooks.
        For a value exercise it is the assignment: ``q1 = 'ac'``. The cell holds first what
        the implementation needs of the catalog so that it runs on its own: the classes it
        derives from and the private helpers it calls (``_base_sources``, ``_helper_sources``).
        """
        if self.is_value:
            return f"{self.name} = {impl!r}\n"
        src = _undecorated(inspect.getsource(impl))
        kind = "class" if inspect.isclass(impl) else "def"
        src = re.sub(rf"^{kind}\s+{re.escape(impl.__name__)}\b", f"{kind} {self.name}", src, count=1,
                     flags=re.MULTILINE)
        needed = dict.fromkeys(_helper_sources(impl) + _base_sources(impl))
        return "".join(f"{s}\n\n" for s in needed) + src

    def define(self, impl: Any) -> Any:
        """Execute ``source_of(impl)`` as a notebook cell would; return what it defines."""
        import numpy as np
        import torch
        from torch import nn

        ns: dict[str, Any] = {"np": np, "torch": torch, "nn": nn, **self.namespace}
        exec(compile(self.source_of(impl), f"<{self.name}>", "exec"), ns)  # noqa: S102 - catalog code
        return ns[self.name]


def _base_sources(impl: Any) -> list[str]:
    """The sources of the classes ``impl`` derives from that its own catalog module defines.

    A wrong class may change one method of a correct one (``class _wrong_x(_RingBuffer)``):
    the answer cell then holds the base first, so it still runs on its own.
    """
    if not inspect.isclass(impl):
        return []
    module = inspect.getmodule(impl)
    out: list[str] = []
    for base in impl.__bases__:
        if base is not object and inspect.getmodule(base) is module:
            out += _base_sources(base) + [_undecorated(inspect.getsource(base)).rstrip()]
    return list(dict.fromkeys(out))


def _helper_sources(impl: Any, _seen: frozenset = frozenset()) -> list[str]:
    """The sources of the catalog's private helper functions ``impl`` (or its bases) calls.

    Several wrong implementations of one exercise may share a helper with a switch for each
    mistake (``_gae_scan(..., cut_trace=False)``), defined in their lesson module or in a
    module of the catalog several lessons share. The answer cell holds each helper, a
    helper's own helpers before it, once, so it still runs on its own. A helper is a name
    the code reads that the implementation's module binds to a function of this package
    whose name starts with ``_``.
    """
    module = inspect.getmodule(impl)
    out: list[str] = []
    targets = [impl] + ([b for b in inspect.getmro(impl)[1:] if inspect.getmodule(b) is module]
                        if inspect.isclass(impl) else [])
    for target in targets:
        tree = ast.parse(_undecorated(inspect.getsource(target)))
        for name in dict.fromkeys(n.id for n in ast.walk(tree) if isinstance(n, ast.Name)):
            helper = getattr(module, name, None)
            if (name.startswith("_") and inspect.isfunction(helper) and helper is not impl
                    and helper.__module__.startswith(__name__ + ".") and name not in _seen):
                out += _helper_sources(helper, _seen | {name, impl.__name__})
                out.append(_undecorated(inspect.getsource(helper)).rstrip())
    return list(dict.fromkeys(out))


def _undecorated(source: str) -> str:
    """A definition's source without its decorators (``@mistake(...)``, however many lines)."""
    src = textwrap.dedent(source)
    first = ast.parse(src).body[0].lineno  # the ``def``/``class`` line, after the decorators
    return "".join(src.splitlines(keepends=True)[first - 1:])


class _Name(str):
    def __repr__(self) -> str:
        return str(self)


def _shown(p: inspect.Parameter) -> inspect.Parameter:
    """A parameter whose class default reads as in a notebook (``nn.Tanh``, not ``<class ...>``)."""
    d = p.default
    if inspect.isclass(d) and d is not inspect.Parameter.empty:
        prefix = "nn." if d.__module__.startswith("torch.nn") else ""
        return p.replace(default=_Name(prefix + d.__name__))
    return p


def mistake(id: str, message: str, *, summary: str = "", by_value: bool = True,
            named_by_check: bool = True, raises: str = "", visible: bool = True) -> Callable[[Any], Any]:
    """Declare, above a wrong implementation, the mistake it stands for (``Mistake``'s fields).

    ::

        @mistake("pg_loss/no_minus", "the minus sign is missing: ...", summary="forgot the minus sign")
        def _wrong_pg_loss_no_minus(logp, weights):
            return (logp * weights).mean()

    The next ``exercise(Exercise("pg_loss", ...))`` takes the mistakes declared for its name,
    in the order they are defined (the order the judges try them). The function or class is
    returned unchanged; ``Exercise.source_of`` leaves the decorator out of the answer cell.
    """
    def declare(wrong: Any) -> Any:
        _DECLARED.setdefault(id.split("/", 1)[0], []).append(Mistake(
            id, message, wrong, summary=summary, by_value=by_value, named_by_check=named_by_check,
            raises=raises, visible=visible))
        return wrong

    return declare


def exercise(ex: Exercise) -> Exercise:
    """Register ``ex`` in ``CATALOG`` (a name registered twice is an error) and return it.

    The mistakes declared with ``@mistake`` for ``ex.name`` become ``ex.mistakes``, in
    definition order (an exercise lists its mistakes one way or the other, not both).
    """
    declared = tuple(_DECLARED.pop(ex.name, ()))
    if declared:
        if ex.mistakes:
            raise ValueError(f"{ex.name}: mistakes are both declared with @mistake and listed in "
                             f"mistakes=; use one form")
        ex.mistakes = declared
        ex.__post_init__()
    if ex.name in CATALOG and CATALOG[ex.name].lesson != ex.lesson:
        raise ValueError(f"exercise {ex.name!r} is declared by lessons {CATALOG[ex.name].lesson} "
                         f"and {ex.lesson}")
    CATALOG[ex.name] = ex
    return ex


def lesson_modules() -> list[str]:
    """The catalog's lesson modules, found on disk: ``["lesson01", "lesson02", ...]``."""
    return _lessons.lesson_modules(__path__)


def load_all() -> dict[str, Exercise]:
    """Import every lesson module of the catalog; return ``CATALOG`` (name -> Exercise)."""
    _lessons.import_lessons(__name__, __path__)
    if _DECLARED:
        raise ValueError(f"@mistake declared mistakes of exercises no exercise(...) claimed: "
                         f"{[m.id for ms in _DECLARED.values() for m in ms]}")
    return CATALOG


def get(name: str) -> Exercise | None:
    """The exercise called ``name``, or None if no lesson declares it.

    Imports only the lesson module that declares it (found in the sources, by its
    ``Exercise("name", ...)``) when that is enough: a lesson-04 check needs no torch.
    """
    if name not in CATALOG and not _lessons.all_imported(__name__):
        for lesson in lesson_modules():
            if re.search(rf'Exercise\(\s*"{re.escape(name)}"', _lessons.source_of(__path__, lesson)):
                importlib.import_module(f"{__name__}.{lesson}")
                break
    return CATALOG[name] if name in CATALOG else load_all().get(name)


def find_mistake(mistake_id: str) -> Mistake | None:
    """The catalogued mistake ``"<exercise>/<slug>"``, or None when the catalog has no such id
    (a gradebook or report older than the catalog keeps ids that may have gone)."""
    ex = get(mistake_id.split("/", 1)[0])
    try:
        return ex.mistake(mistake_id) if ex is not None else None
    except KeyError:
        return None


def exercises_of(lesson: str) -> list[Exercise]:
    """The exercises of assignment ``lesson`` (e.g. ``"05-policy-gradients"``), in declaration order."""
    return [ex for ex in load_all().values() if ex.lesson == lesson]


def wrongs(mistakes: Iterable[Mistake]) -> list[Callable | type]:
    """The wrong implementations of ``mistakes`` that exist."""
    return [m.wrong for m in mistakes if m.wrong is not None]
