"""The machinery of the visible checks: call the learner's function, compare, explain.

A failed check prints what was called, what came back, what was expected and a
hint, then raises ``CheckFailed`` (an ``AssertionError``) with the same message, so
the notebook stops at the cell the learner must look at. A passing check prints
one short line.
"""

from __future__ import annotations

import contextlib
import copy
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from .._display import CourseMessage
from .._display import install as install_display
from .._format import describe_exception, fmt, learner_line, to_numpy

__all__ = ["CheckFailed", "Checker", "close", "copy_args", "fmt", "report_failure", "same_outcome", "to_numpy"]

RTOL, ATOL = 1e-5, 1e-6
_FAILED = object()  # the reference raised on a check's inputs


class CheckFailed(AssertionError, CourseMessage):
    """A visible check failed; the message says what was called, got, expected and why."""

    printed = True  # report_failure prints the message just above the error


def report_failure(text: str) -> None:
    """Print a check's failure message (once) and raise ``CheckFailed`` with it.

    In a notebook the error shown below the message is one short line, not a traceback.
    """
    __tracebackhide__ = True
    print(text)
    install_display()
    raise CheckFailed(text)


def close(got: Any, expected: Any, rtol: float = RTOL, atol: float = ATOL, equal_nan: bool = False) -> bool:
    """True when ``got`` has ``expected``'s shape and matches it within tolerances (nan == nan if equal_nan)."""
    try:
        g = np.asarray(to_numpy(got), dtype=np.float64)
        e = np.asarray(to_numpy(expected), dtype=np.float64)
    except (TypeError, ValueError):  # e.g. a wrong implementation's Trajectory against numbers
        return False
    if g.shape != e.shape:
        return False
    return bool(np.allclose(g, e, rtol=rtol, atol=atol, equal_nan=equal_nan))


def same_outcome(a: Any, b: Any) -> bool:
    """True when two outcomes agree: tuples and lists item by item, numbers and arrays within
    tolerances (``close``), anything else by ``==``."""
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(same_outcome(x, y) for x, y in zip(a, b))
    numeric = (int, float, np.ndarray, np.generic)
    if isinstance(a, numeric) and isinstance(b, numeric) and not isinstance(a, bool) and not isinstance(b, bool):
        return close(a, b)
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # e.g. an array against a string
        return False


def copy_args(x: Any) -> Any:
    """A deep copy of a call's arguments in which tensors keep their ``.grad`` (deepcopy drops it)."""
    y = copy.deepcopy(x)
    torch = sys.modules.get("torch")
    if torch is not None:
        _copy_grads(x, y, torch.Tensor)
    return y


def _copy_grads(x: Any, y: Any, tensor: type) -> None:
    if isinstance(x, tensor):
        if x.grad is not None:
            y.grad = x.grad.detach().clone()
    elif isinstance(x, (list, tuple)):
        for a, b in zip(x, y):
            _copy_grads(a, b, tensor)
    elif isinstance(x, dict):
        for k in x:
            _copy_grads(x[k], y[k], tensor)


@contextlib.contextmanager
def _quietly() -> Iterator[None]:
    """Wrong implementations may divide by zero or warn on purpose: the learner sees none of it."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def _by_value(name: str) -> list[tuple[Any, Any]]:
    """(mistake, wrong implementation) of exercise ``name``'s by-value mistakes in the catalog."""
    from .. import catalog

    ex = catalog.get(name)
    return [] if ex is None else [(m, m.wrong) for m in ex.by_value]


def _runs(run: Callable[[Any], Any], impls: list[tuple[Any, Any]]) -> Iterator[tuple[Any, Any]]:
    """(key, run(impl)) for each (key, impl), quietly; implementations that raise are left out."""
    for key, impl in impls:
        try:
            with _quietly():
                out = run(impl)
        except Exception:  # noqa: BLE001, S112 - a wrong implementation may fail on these inputs
            continue
        yield key, out


class Checker:
    """Collects the checks of one exercise and reports them kindly.

    Usage::

        c = Checker("discounted_return", fn)
        got = c.call([1, 2, 3], 0.5)            # prints a kind message if fn raises
        c.expect_close(got, 2.75, hint="...")    # raises CheckFailed on mismatch
        c.done()                                  # prints the success line
    """

    def __init__(self, name: str, fn: Any, note: str = "") -> None:
        self.name = name
        self.exercise = name  # the catalog's exercise (``name`` may become "ReplayBuffer.add")
        self.fn = fn
        self.n = 0
        self.note = note  # added to any failure (e.g. "your rollout, which it calls, is broken")
        self._call = name + "(...)"
        self._last: tuple[tuple, dict] | None = None  # a copy of the last call's arguments
        if not callable(fn):
            self.fail(
                f"{name} is not a function (got {fmt(fn)}).",
                hint=f"run the cell that defines `{name}` first, and keep its name unchanged.",
            )

    def describe_call(self, args: tuple, kwargs: dict) -> str:
        parts = [fmt(a, 60) for a in args] + [f"{k}={fmt(v, 60)}" for k, v in kwargs.items()]
        return f"{self.name}({', '.join(parts)})"

    def call(self, *args: Any, **kwargs: Any) -> Any:
        """Call the learner's function; turn an exception into a kind message."""
        __tracebackhide__ = True
        self._call = self.describe_call(args, kwargs)
        try:
            self._last = copy_args((args, kwargs))
        except Exception:  # noqa: BLE001 - an argument that cannot be copied: no mistake naming
            self._last = None
        try:
            return self.fn(*args, **kwargs)
        except NotImplementedError:
            message = (f"{self.name} is not written yet: calling {self._call} raised "
                       "NotImplementedError.")
            hint = ("replace `raise NotImplementedError()` in its cell with your code, run that "
                    "cell, then run this check again.")
        except CheckFailed:
            raise
        except Exception as e:  # noqa: BLE001 - any learner error becomes a message
            where = learner_line(e.__traceback__)  # the learner's line, not torch's internals
            message = f"calling {self._call} raised {describe_exception(e)}"
            if where:
                message += f"\n  (at {where})"
            hinted = getattr(self, "_error_hints", {})  # call_naming's errors -> hints
            hint = next((h for text, h in hinted.items() if text in f"{type(e).__name__}: {e}"), None)
            known = self._catalogued()
            named = known.raised(e) if known is not None and hint is None else None
            hint = hint or (named.message if named is not None else None) or self.named_error(e) or (
                "read the error above; the docstring in the exercise cell says what each "
                "argument is and which shape it has.")
        # Outside the except block: the learner sees this message, not a chained traceback.
        self.fail(message, hint=hint)

    def call_naming(self, errors: dict[str, str], *args: Any, **kwargs: Any) -> Any:
        """Like ``call``; an exception whose "Type: text" contains a key of ``errors`` gets its hint.

        For the catalogued mistakes that show as an error on a given input:
        ``c.call_naming({"Singular matrix": c.says("no_gamma")}, P, R, pi, 0.5)``.
        """
        __tracebackhide__ = True
        self._error_hints = errors
        try:
            return self.call(*args, **kwargs)
        finally:
            self._error_hints = {}

    def fail(self, message: str, hint: str | None = None) -> None:
        __tracebackhide__ = True
        text = f"\u2717 {self.name}: {message}"
        if hint:
            text += f"\n  hint: {hint}"
        if self.note:
            text += f"\n  note: {self.note}"
        report_failure(text)

    def expect(self, ok: bool, got: Any, expected: Any, hint: str, what: str = "",
               after: str = "") -> None:
        """Fail with called/got/expected/hint unless ``ok``.

        after: for in-place exercises, what was looked at after the call ("p.grad"): the
        message then says "after sgd_step(...), p.grad is ..." instead of "returned".
        """
        __tracebackhide__ = True
        self.n += 1
        if ok:
            return
        label = f" ({what})" if what else ""
        seen = f"after {self._call}, {after} is" if after else f"{self._call} returned"
        self.fail(f"{seen} {fmt(got)}\n  expected{label}: {fmt(expected)}", hint=hint)

    def expect_close(self, got: Any, expected: Any, hint: str, what: str = "",
                     rtol: float = RTOL, atol: float = ATOL, after: str = "",
                     observe: Callable[[tuple, dict], Any] | None = None, part: int | None = None) -> None:
        """Fail unless ``got`` matches ``expected``; the hint names a catalogued mistake if one fits.

        observe: for in-place exercises, what to look at after a call, from its arguments
        (``lambda args, kwargs: args[0].weight``); the wrong implementations are then judged
        by what they leave there instead of by what they return.
        part: ``got`` is item ``part`` of what the function returned (V of a returned (V, Q)), so
        it is compared with that item of each wrong implementation's result.
        """
        __tracebackhide__ = True
        g = to_numpy(got)
        e = to_numpy(expected)
        if np.ndim(e) > 0 and np.shape(g) != np.shape(e) and not np.isscalar(g):
            self.n += 1
            self.fail(
                f"{self._call} returned shape {np.shape(g)}, expected shape {np.shape(e)}\n"
                f"  got: {fmt(got)}\n  expected: {fmt(expected)}",
                hint=self.named_mistake(got, expected, rtol, atol, observe, part) or hint,
            )
        ok = close(got, expected, rtol, atol)
        if not ok:
            hint = self.named_mistake(got, expected, rtol, atol, observe, part) or hint
        self.expect(ok, got, expected, hint, what, after=after)

    def _catalogued(self) -> Any:
        """This exercise's ``rlcore.catalog.Exercise``, or None."""
        from .. import catalog

        return catalog.get(self.exercise)

    def says(self, slug: str) -> str:
        """The catalog's message for this exercise's mistake ``slug`` (stated once, in rlcore.catalog)."""
        ex = self._catalogued()
        if ex is None:
            raise KeyError(f"no catalogued exercise {self.exercise!r}")
        return ex.mistake(slug).message

    def named_mistake(self, got: Any, expected: Any, rtol: float = RTOL, atol: float = ATOL,
                      observe: Callable[[tuple, dict], Any] | None = None,
                      part: int | None = None) -> str | None:
        """The message of the catalogued mistake whose wrong implementation returns ``got`` here.

        The wrong implementations of this exercise (``rlcore.catalog``) run on a copy of the
        last call's arguments; one that returns ``got`` (and not ``expected``) is the mistake.
        observe: look at ``observe(args, kwargs)`` of that copy after the call instead of
        at what it returns (in-place exercises).
        part: compare with item ``part`` of what each wrong implementation returns.
        """
        if self._last is None:
            return None
        last = self._last

        def run(impl: Any) -> Any:
            args, kwargs = copy_args(last)
            out = impl(*args, **kwargs)
            out = observe(args, kwargs) if observe is not None else out
            return out[part] if part is not None else out

        for m, wrong_out in _runs(run, _by_value(self.exercise)):
            # nan where the wrong implementation gives nan is part of its signature (log of a negative)
            if close(got, wrong_out, rtol, atol, equal_nan=True) and not close(wrong_out, expected, rtol, atol):
                return m.message
        return None

    def named_by(self, got: Any, outcome: Callable[[Any], Any],
                 same: Callable[[Any, Any], bool] | None = None) -> str | None:
        """The message of the catalogued mistake whose wrong implementation has ``got`` as its outcome.

        For checks of what a call did rather than of the number it returned (an in-place update,
        a Trajectory, an nn.Module): ``outcome(impl)`` runs ``impl`` on fresh inputs of the check
        and returns something comparable; the mistake is the one whose outcome is ``got`` by
        ``same`` (default ``same_outcome``) while the reference's is not.
        """
        from .. import catalog

        ex = catalog.get(self.exercise)
        if ex is None:
            return None
        same = same or same_outcome
        ref = next((out for _, out in _runs(outcome, [(None, ex.reference)])), _FAILED)
        with contextlib.suppress(Exception):
            if ref is not _FAILED and same(got, ref):
                return None  # the reference's outcome: nothing to name (and no wrong one to run)
        for m, seen in _runs(outcome, _by_value(self.exercise)):
            with contextlib.suppress(Exception):
                if same(seen, got) and (ref is _FAILED or not same(seen, ref)):
                    return m.message
        return None

    def named_error(self, error: BaseException) -> str | None:
        """The message of the catalogued mistake whose wrong implementation raises ``error`` too.

        Each wrong implementation runs on a copy of the last call's arguments; the one that
        raises an exception of the same type with the same text is the mistake.
        """
        from .. import catalog

        ex = catalog.get(self.exercise)
        if ex is None or self._last is None:
            return None
        for m in ex.mistakes:
            if m.wrong is None:
                continue
            args, kwargs = copy_args(self._last)
            try:
                with _quietly():
                    m.wrong(*args, **kwargs)
            except Exception as e:  # noqa: BLE001 - the error is what is compared
                if type(e) is type(error) and str(e) == str(error):
                    return m.message
        return None

    def expect_type(self, got: Any, types: Any, description: str, hint: str) -> None:
        __tracebackhide__ = True
        self.expect(isinstance(got, types), type(got).__name__, description, hint, "type")

    def done(self, extra: str = "") -> None:
        msg = f"\u2713 {self.name}: all {self.n} checks passed."
        if extra:
            msg += " " + extra
        print(msg)


def broken_helpers(fn: Any, helpers: dict[str, Callable[[Any], bool]]) -> list[str]:
    """Return the names in ``helpers`` that ``fn``'s module defines and that fail their quick test.

    helpers maps an exercise ``fn`` may call (``"rollout"``) to a test of it (True when right);
    an exception in the test counts as a failure.
    """
    namespace = getattr(fn, "__globals__", None) or {}
    broken = []
    for name, works in helpers.items():
        helper = namespace.get(name)
        if callable(helper):
            try:
                ok = bool(works(helper))
            except Exception:  # noqa: BLE001 - a helper that raises is broken
                ok = False
            if not ok:
                broken.append(name)
    return broken


def run_check(name: str, fn: Any, body: Callable[[Checker], None], extra: str = "",
              helpers: dict[str, Callable[[Any], bool]] | None = None) -> None:
    """Run ``body`` against a fresh ``Checker`` and print the success line.

    helpers: exercises ``fn`` may call, each with a quick test; when one of the learner's is
    broken, a failure says so (fix that one first) instead of blaming ``fn`` alone.
    """
    __tracebackhide__ = True
    broken = broken_helpers(fn, helpers) if helpers and callable(fn) else []
    note = ""
    if broken:
        names = " and ".join(f"`{b}`" for b in broken)
        note = (f"{name} calls your {names}, which {'does' if len(broken) == 1 else 'do'} not "
                f"give the right result yet: fix {'it' if len(broken) == 1 else 'them'} first "
                f"(see {'its' if len(broken) == 1 else 'their'} own check above).")
    c = Checker(name, fn, note=note)
    body(c)
    c.done(extra)


def check(name: str, extra: str = "", helpers: dict[str, Callable[[Any], bool]] | None = None) -> Callable:
    """Make ``body(c)`` the visible check of exercise ``name``: ``check_NAME(fn)`` runs it (``run_check``).

    A lesson writes only what its check does with the ``Checker``; the decorated function keeps
    its name and docstring and takes the learner's ``fn``. ``extra`` and ``helpers`` go to
    ``run_check``.
    """
    def deco(body: Callable[[Checker], None]) -> Callable[[Any], None]:
        def check_fn(fn: Any) -> None:
            __tracebackhide__ = True
            run_check(name, fn, body, extra, helpers)

        check_fn.__name__, check_fn.__qualname__, check_fn.__doc__ = body.__name__, body.__qualname__, body.__doc__
        check_fn.__module__ = body.__module__
        return check_fn
    return deco


def run_probes(run_one: Callable[[int], Any], probes: Iterable[int], learned: str) -> list[Any]:
    """Run ``run_one(k)`` for each probe k in order, printing each result; return the results.

    Later probes assume the parts the earlier ones test work, so the first failure raises
    ``CheckFailed`` with its result; when all pass, one line says so and what ``learned`` says.
    """
    results = []
    for k in probes:
        r = run_one(k)
        print(r, flush=True)
        results.append(r)
        if not r.passed:
            raise CheckFailed(str(r))
    print(f"\u2713 all {len(results)} probes passed: {learned}.")
    return results
