"""Hidden tests: fresh random cases and the judges that grade what the probes observed.

Each graded name of COURSE.md has a *spec*: ``@exercise("NAME")`` on a function
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

import importlib
import json
from collections.abc import Callable
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
    "kind_of",
    "load_all",
    "obs_array",
    "run_hidden",
]

LESSON_MODULES = ["lesson01", "lesson02", "lesson03", "lesson04", "lesson05", "lesson06", "lesson07"]


class Mistake(AssertionError):
    """The student's answer is wrong; the message names what was called, got, expected, why."""


@dataclass
class Case:
    """One hidden test case: a probe to run on the student's code and a judge for its result."""

    probe: str
    payload: dict
    judge: Callable[[Any], None]
    call: str = ""  # human description of the call, for messages
    meta: dict = field(default_factory=dict)


EXERCISES: dict[str, Callable[[np.random.Generator], list[Case]]] = {}


def exercise(name: str) -> Callable:
    """Register the hidden-test spec of graded name ``name``."""
    def deco(f: Callable[[np.random.Generator], list[Case]]) -> Callable:
        EXERCISES[name] = f
        return f
    return deco


def load_all() -> dict[str, Callable]:
    """Import every lesson's spec module (missing modules are skipped)."""
    for mod in LESSON_MODULES:
        try:
            importlib.import_module(f"{__name__}.{mod}")
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{mod}":
                raise
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
        raise Mistake(f"{call} returned shape {got.shape}, expected shape {exp.shape}. "
                      + (hint or ""))
    if got is None:
        raise Mistake(f"{call} returned {describe(observed)}, expected {describe_value(exp)}. "
                      + (hint or ""))
    raise Mistake(f"{call} returned {describe(observed)}, expected {describe_value(exp)}. "
                  + (hint or ""))


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
        case.judge(observation)
    if verbose:
        print(f"\u2713 hidden tests of {name} passed")
