"""Hidden tests: fresh random cases and the judges that grade what the probes observed.

Each graded name of docs/contract.md has a *spec*: ``@exercise("NAME")`` on a function
``spec(rng) -> list[Case]``. A ``Case`` says which probe to run in the student's
process and with what plain-data payload, and holds a ``judge(observation)`` that
runs in the grader's process and raises ``Mistake(message)`` when the answer is
wrong. Messages name the likely mistake ("your powers of gamma start at 1").

In a notebook's hidden-test cell (and for ``nbgrader autograde``), ``run_hidden``
runs the same cases in-process. The sandboxed grader (``autograder.grade``) runs the
probes in the sandbox and the judges outside, so student code cannot touch them.
This package is never mounted into the sandbox.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import probes

__all__ = [
    "EXERCISES",
    "Case",
    "Mistake",
    "call_case",
    "cases_for",
    "exercise",
    "expect_close",
    "fail",
    "identify",
    "kind_of",
    "load_all",
    "named",
    "obs_array",
    "per_kind",
    "run_hidden",
    "tells_apart",
    "unambiguous",
    "with_kind",
]



class Mistake(AssertionError):
    """The student's answer is wrong; the message names what was called, got, expected, why.

    id: the catalog id of the named mistake it is (``"dqn_targets/no_done_mask"``), or None.
    what: the "called ..., returned ..., expected ..." part, without the hint, so that a
    mistake identified later can replace the hint.
    """

    def __init__(self, message: str, id: str | None = None, what: str = "") -> None:
        super().__init__(message)
        self.id, self.what = id, what


def fail(what: str, hint: str = "") -> Mistake:
    """A ``Mistake`` saying ``what`` happened ("f(x) returned a list, expected a Tensor"), then a hint.

    If the catalog later names the mistake, its message replaces the hint.
    """
    return Mistake(f"{what}. {hint}".strip() if hint else f"{what}.", what=what)


def named(mistake_id: str, what: str = "") -> Mistake:
    """The ``Mistake`` for catalogued mistake ``mistake_id``: ``what`` then its message.

    For judges that recognise a mistake by its behaviour (random draws, object identity)
    rather than by value: ``raise named("ReplayBuffer/never_written_slots", call + " returned ...")``.
    """
    from rlcore import catalog

    m = catalog.find_mistake(mistake_id)
    if m is None:
        raise KeyError(f"no catalogued mistake {mistake_id!r}")
    return Mistake(f"{what + '. ' if what else ''}Likely mistake: {m.message}.", id=m.id, what=what)


@dataclass
class Case:
    """One hidden test case: a probe to run on the student's code and a judge for its result."""

    probe: str
    payload: dict
    judge: Callable[[Any], None]
    call: str = ""  # human description of the call, for messages
    meta: dict = field(default_factory=dict)


def with_kind(case: Case, kind: str) -> Case:
    """Return ``case`` labelled with the kind of input it is (``"float32"``, ``"list"``, ``"batch of one"``...).

    The contract test checks that every kind the catalog says an exercise admits is covered.
    """
    case.meta["kind"] = kind
    return case


def per_kind(plans: Iterable[Any]) -> Callable:
    """Make ``case(rng, kind, ...) -> Case`` a spec ``(rng) -> list[Case]``: one case per plan.

    A plan is a tuple whose first item is the kind (``("float32", torch.float32)``) or the kind
    alone (``"list"``); the cases come in the plans' order, each labelled with its kind
    (``with_kind``). Under ``@exercise(NAME)``, a spec then says once how it builds one case.
    """
    tuples = [p if isinstance(p, tuple) else (p,) for p in plans]

    def deco(case: Callable[..., Case]) -> Callable[[np.random.Generator], list[Case]]:
        def spec(rng: np.random.Generator) -> list[Case]:
            return [with_kind(case(rng, *plan), plan[0]) for plan in tuples]

        spec.__name__, spec.__qualname__, spec.__doc__ = case.__name__, case.__qualname__, case.__doc__
        spec.__module__ = case.__module__
        return spec
    return deco


EXERCISES: dict[str, Callable[[np.random.Generator], list[Case]]] = {}


def exercise(name: str) -> Callable:
    """Register the hidden-test spec of graded name ``name``."""
    def deco(f: Callable[[np.random.Generator], list[Case]]) -> Callable:
        EXERCISES[name] = f
        return f
    return deco


def lesson_modules() -> list[str]:
    """The hidden-test modules found on disk: ``["lesson01", "lesson02", ...]``."""
    from rlcore import _lessons

    return _lessons.lesson_modules(__path__)


def load_all() -> dict[str, Callable]:
    """Import every lesson's spec module (found on disk); return name -> spec."""
    from rlcore import _lessons

    _lessons.import_lessons(__name__, __path__)
    return EXERCISES


def cases_for(name: str, rng: np.random.Generator) -> list[Case]:
    """Return fresh cases for graded name ``name`` (KeyError if no spec exists)."""
    load_all()
    if name not in EXERCISES:
        raise KeyError(f"no hidden-test spec for {name!r}; known: {sorted(EXERCISES)}")
    return EXERCISES[name](rng)


# ------------------------------------------------------------ judge helpers
def enc(x: Any) -> Any:
    """Encode an input for a payload (arrays keep their dtype)."""
    return probes.encode(x)


def kind_of(o: Any) -> str:
    """What an observed (encoded) value is, for messages: "a tuple", "a torch Tensor", "a list"..."""
    if isinstance(o, dict):
        for tag, kind in (("__tensor__", "a torch Tensor"), ("__nd__", "a numpy array"),
                          ("__tuple__", "a tuple"), ("__set__", "a set"), ("__dict__", "a dict"),
                          ("__np__", "a numpy scalar")):
            if tag in o:
                return kind
        if "__repr__" in o:
            return f"a {o['__repr__']}"
    if isinstance(o, list):
        return "a list"
    return "None" if o is None else f"a {type(o).__name__}"


def obs_array(o: Any) -> np.ndarray | None:
    """The numeric content of an observed value as a float64 array, or None if not numeric."""
    if isinstance(o, dict):
        if "__nd__" in o:
            return np.asarray(o["__nd__"], dtype=np.float64).reshape(o["shape"])
        if "__tensor__" in o:
            return np.asarray(o["__tensor__"], dtype=np.float64).reshape(o["shape"])
        if "__np__" in o:
            return np.asarray(o["__np__"], dtype=np.float64)
        if "__tuple__" in o:
            try:
                return np.asarray([obs_array(v) for v in o["__tuple__"]], dtype=np.float64)
            except (TypeError, ValueError):
                return None
        return None
    if isinstance(o, bool):
        return np.asarray(float(o))
    if isinstance(o, (int, float)):
        return np.asarray(o, dtype=np.float64)
    if isinstance(o, list):
        try:
            return np.asarray([obs_array(v) for v in o], dtype=np.float64)
        except (TypeError, ValueError):
            return None
    return None


def describe(o: Any) -> str:
    """Readable description of an observed value."""
    from rlcore.check import fmt
    if isinstance(o, dict) and "__repr__" in o:
        return f"an object of type {o['__repr__']}"
    a = obs_array(o)
    if a is None:
        return fmt(o)
    kind = "tensor" if isinstance(o, dict) and "__tensor__" in o else ""
    return (kind + " " if kind else "") + fmt(a if a.ndim else float(a))


def _close(a: np.ndarray | None, b: Any, rtol: float, atol: float) -> bool:
    if a is None:
        return False
    b = np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def expect_close(
    observed: Any,
    expected: Any,
    call: str,
    mistakes: dict[str, Any] | None = None,
    hint: str = "",
    rtol: float = 1e-5,
    atol: float = 1e-6,
    scalar: bool = False,
) -> None:
    """Raise ``Mistake`` unless ``observed`` matches ``expected`` (shape and values).

    mistakes: {message: value a known wrong implementation would return}; when the
    observed value matches one of them, that message is used (the named mistake).
    scalar: the answer must be one number; a length-1 array is accepted.
    """
    got = obs_array(observed)
    exp = np.asarray(expected, dtype=np.float64)
    if scalar and got is not None and got.size == 1:
        got = got.reshape(())
    if _close(got, exp, rtol, atol):
        return
    for message, wrong in (mistakes or {}).items():
        try:
            w = np.asarray(wrong, dtype=np.float64)
        except (TypeError, ValueError):
            continue
        if _close(got, w, rtol, atol) and not _close(w, exp, rtol, atol):
            raise Mistake(f"{call} returned {describe(observed)}, expected {describe_value(exp)}. "
                          f"Likely mistake: {message}")
    if got is not None and got.shape != exp.shape:
        what = f"{call} returned shape {got.shape}, expected shape {exp.shape}"
    else:
        what = f"{call} returned {describe(observed)}, expected {describe_value(exp)}"
    raise Mistake(f"{what}. {hint or ''}".strip(), what=what)


def describe_value(x: np.ndarray) -> str:
    from rlcore.check import fmt
    return fmt(x if x.ndim else float(x))


def call_case(name: str, args: list, kwargs: dict | None = None, judge: Callable | None = None,
              desc: str | None = None, probe: str = "call", **payload: Any) -> Case:
    """A case calling ``name(*args, **kwargs)`` through ``probe``; inputs are encoded here.

    Arguments that are already special payload dicts (``{"__env__": ...}``) pass as they are.
    ``desc`` replaces the automatic description of the arguments in messages.
    """
    from rlcore.check import fmt
    kwargs = kwargs or {}
    if desc is None:
        desc = ", ".join([fmt(a, 50) for a in args] + [f"{k}={fmt(v, 50)}" for k, v in kwargs.items()])
    p = {"args": [enc(a) if not _is_special(a) else a for a in args], **payload}
    if kwargs:
        p["kwargs"] = {"__dict__": {k: enc(v) if not _is_special(v) else v for k, v in kwargs.items()}}
    return Case(probe, p, judge or (lambda o: None), call=f"{name}({desc})")


def _is_special(x: Any) -> bool:
    return isinstance(x, dict) and any(k.startswith("__") for k in x)


# ------------------------------------------------------------ in-process run
def run_hidden(name: str, target: Any, seed: int | None = None, verbose: bool = True) -> None:
    """Run the hidden tests of ``name`` against ``target`` in this process.

    Used by the solutions' hidden-test cells (so ``nbgrader autograde`` works) and by
    ``make check``. Raises ``Mistake`` (an AssertionError) with the first failure.
    Inputs are fresh and random unless ``seed`` is given.
    """
    __tracebackhide__ = True
    rng = np.random.default_rng(seed)
    for case in cases_for(name, rng):
        try:
            observation = probes.run_probe(case.probe, target, json.loads(json.dumps(case.payload)))
        except probes.ProbeError as e:
            raise Mistake(f"{case.call or name} failed: {e}") from None
        observation = json.loads(json.dumps(observation))  # exactly what the sandbox would send
        judge_case(name, case, observation)
    if verbose:
        print(f"\u2713 hidden tests of {name} passed")


# ------------------------------------------------------------ naming the mistake
def judge_case(name: str, case: Case, observation: Any) -> None:
    """Run ``case.judge``; a Mistake it raises without an id gets one from the catalog if it can.

    The catalogued wrong implementations of ``name`` run through the same probe on the same
    inputs (``identify``); the first whose observation equals the student's names the mistake.
    """
    __tracebackhide__ = True
    try:
        case.judge(observation)
    except Mistake as e:
        if e.id is not None:
            raise
        m = identify(name, case, observation)
        if m is None:
            raise
        what = e.what or str(e).rstrip(".")
        raise Mistake(f"{what}. Likely mistake: {m.message}.", id=m.id, what=what) from None


def _observe(case: Case, target: Any) -> Any:
    """What ``case``'s probe observes of ``target`` (trusted catalog code), as the sandbox sends it."""
    import warnings

    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")  # wrong implementations may divide by zero on purpose
            obs = probes.run_probe(case.probe, target, json.loads(json.dumps(case.payload)))
    except probes.ProbeError as e:
        return {"__raised__": str(e).split(":")[0]}
    return json.loads(json.dumps(obs, default=float))


def identify(name: str, case: Case, observation: Any):
    """The catalogued mistake of ``name`` whose wrong implementation observes as ``observation`` does.

    Only mistakes that differ from the reference on this case count. First an error the
    student's code raised (``{"error": "..."}``) that a mistake's ``raises`` pattern matches,
    then an exact match (values within tolerance and dtypes, shapes, gradient flags equal),
    then one on values alone. Returns a ``rlcore.catalog.Mistake`` or None.
    """
    from rlcore import catalog

    ex = catalog.get(name)
    if ex is not None and isinstance(observation, dict) and isinstance(observation.get("error"), str):
        raised = ex.raised(observation["error"])
        if raised is not None:
            return raised
    if ex is None or not ex.by_value:
        return None
    reference = _observe(case, ex.reference)
    candidates = [(m, _observe(case, m.wrong)) for m in ex.by_value]
    for strict in (True, False):
        for m, seen in candidates:
            if same(seen, observation, strict) and not same(seen, reference, strict):
                return m
    return None


def tells_apart(name: str, case: Case) -> bool:
    """True when the reference and every by-value mistake of ``name`` observe differently on ``case``.

    For specs whose fresh inputs could, now and then, make two mistakes look alike (episodes
    with equal returns): draw again until this holds, so the right mistake is named on every seed.
    """
    from rlcore import catalog

    ex = catalog.get(name)
    if ex is None:
        return True
    seen = [_observe(case, impl) for impl in (ex.reference, *[m.wrong for m in ex.by_value])]
    return all(not same(a, b) for i, a in enumerate(seen) for b in seen[i + 1:])


def unambiguous(name: str, cases: list[Case], rtol: float = 1e-3) -> bool:
    """True when the catalogued mistakes of ``name`` cannot be confused on ``cases``.

    Each by-value mistake, at the first case where it observes differently from the reference
    (where a learner who makes it fails), must also observe differently from every other
    mistake there, by more than ``rtol`` (far above the judges' tolerance): otherwise ``identify``
    could name the other one. A spec whose inputs can collide by chance (one number out, say)
    draws again until this holds; tests check it over many seeds.
    """
    from rlcore import catalog

    ex = catalog.get(name)
    if ex is None:
        return True
    pending = list(ex.by_value)
    for case in cases:
        reference = _observe(case, ex.reference)
        seen = {m.id: _observe(case, m.wrong) for m in ex.by_value}
        differs = [m for m in ex.by_value if not same(seen[m.id], reference, strict=False)]
        for m in [m for m in pending if m in differs]:
            if any(same(seen[m.id], seen[o.id], False, rtol, rtol) for o in differs if o is not m):
                return False
        pending = [m for m in pending if m not in differs]
    return True


_FLAGS = ("dtype", "requires_grad", "grad_fn")


def same(a: Any, b: Any, strict: bool = True, rtol: float = 1e-5, atol: float = 1e-6) -> bool:
    """True when two encoded observations agree: numbers within tolerance, everything else equal.

    strict=False ignores dtypes and gradient flags (the values and shapes must still agree).
    """
    if isinstance(a, dict) and isinstance(b, dict):
        for tag in ("__tensor__", "__nd__"):
            if tag in a or tag in b:
                if tag not in a or tag not in b or list(a.get("shape", [])) != list(b.get("shape", [])):
                    return False
                if strict and any(a.get(k) != b.get(k) for k in _FLAGS):
                    return False
                try:
                    x = np.asarray(a[tag], dtype=np.float64)
                    y = np.asarray(b[tag], dtype=np.float64)
                except (TypeError, ValueError):
                    return a[tag] == b[tag]
                return x.shape == y.shape and bool(np.allclose(x, y, rtol=rtol, atol=atol, equal_nan=True))
        if set(a) != set(b):
            return False
        return all(same(a[k], b[k], strict, rtol, atol) for k in a if strict or k not in _FLAGS)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y, strict, rtol, atol) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return bool(np.isclose(float(a), float(b), rtol=rtol, atol=atol, equal_nan=True))
    return a == b
