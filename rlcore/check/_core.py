"""The machinery of the visible checks: call the learner's function, compare, explain.

A failed check prints what was called, what came back, what was expected and a
hint, then raises ``CheckFailed`` (an ``AssertionError``) with the same message, so
the notebook stops at the cell the learner must look at. A passing check prints
one short line.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["CheckFailed", "Checker", "close", "fmt", "report_failure", "to_numpy"]

RTOL, ATOL = 1e-5, 1e-6


class CheckFailed(AssertionError):
    """A visible check failed; the message says what was called, got, expected and why."""


def _show_check_failed(shell: Any, etype: type, value: BaseException, tb: Any,
                       tb_offset: int | None = None) -> list[str]:
    """IPython's display of a CheckFailed: one line under the printed message, no traceback into rlcore."""
    stb = ["\x1b[0;31mCheckFailed\x1b[0m: the check above did not pass (its message says what to change)."]
    shell._showtraceback(etype, value, stb)  # an error output (the cell still fails)
    return stb


def _install_notebook_display() -> None:
    """In IPython/Jupyter, show CheckFailed as one short line (unless another handler is set)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None and tuple(getattr(shell, "custom_exceptions", ())) == ():
        shell.set_custom_exc((CheckFailed,), _show_check_failed)


def report_failure(text: str) -> None:
    """Print a check's failure message (once) and raise ``CheckFailed`` with it.

    In a notebook the error shown below the message is one short line, not a traceback.
    """
    __tracebackhide__ = True
    print(text)
    _install_notebook_display()
    raise CheckFailed(text)


def to_numpy(x: Any) -> Any:
    """Return tensors and array-likes as numpy arrays (other objects unchanged)."""
    if hasattr(x, "detach") and hasattr(x, "numpy"):
        return x.detach().cpu().numpy()
    return x


def fmt(x: Any, limit: int = 160) -> str:
    """A short, readable repr of a value for messages."""
    if hasattr(x, "detach") and hasattr(x, "shape"):
        arr = to_numpy(x)
        body = np.array2string(arr, precision=4, threshold=12, edgeitems=3, suppress_small=True)
        s = f"tensor({body}, shape={tuple(arr.shape)}, dtype={str(x.dtype).replace('torch.', '')})"
    elif isinstance(x, np.ndarray):
        body = np.array2string(x, precision=4, threshold=12, edgeitems=3, suppress_small=True)
        s = f"array({body}, shape={x.shape})" if x.ndim else f"{x.item()!r}"
    elif isinstance(x, float):
        s = f"{x:.6g}"
    elif isinstance(x, (list, tuple)) and any(hasattr(v, "shape") for v in x):  # e.g. parameters
        inner = ", ".join(fmt(v, max(20, limit // max(1, len(x)))) for v in x)
        s = f"[{inner}]" if isinstance(x, list) else f"({inner})"
    elif callable(x) and getattr(x, "__name__", None) and not isinstance(x, type):
        name = x.__name__
        s = "<a lambda>" if name == "<lambda>" else f"<function {name}>"
    else:
        s = repr(x)
        if " object at 0x" in s:  # the default repr says nothing useful: show the type
            s = f"<{type(x).__name__}>"
    s = " ".join(s.split())
    return s if len(s) <= limit else s[: limit - 3] + "..."


def close(got: Any, expected: Any, rtol: float = RTOL, atol: float = ATOL) -> bool:
    """True when ``got`` has ``expected``'s shape and matches it within tolerances."""
    try:
        g = np.asarray(to_numpy(got), dtype=np.float64)
    except (TypeError, ValueError):
        return False
    e = np.asarray(to_numpy(expected), dtype=np.float64)
    if g.shape != e.shape:
        return False
    return bool(np.allclose(g, e, rtol=rtol, atol=atol, equal_nan=False))


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
        self.fn = fn
        self.n = 0
        self.note = note  # added to any failure (e.g. "your rollout, which it calls, is broken")
        self._call = name + "(...)"
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
            return self.fn(*args, **kwargs)
        except NotImplementedError:
            message = (f"{self.name} is not written yet: calling {self._call} raised "
                       "NotImplementedError.")
            hint = ("replace `raise NotImplementedError()` in its cell with your code, run that "
                    "cell, then run this check again.")
        except CheckFailed:
            raise
        except Exception as e:  # noqa: BLE001 - any learner error becomes a message
            where = traceback.extract_tb(e.__traceback__)[-1]
            message = (f"calling {self._call} raised {type(e).__name__}: {e}\n"
                       f"  (at line {where.lineno}: {(where.line or '').strip()})")
            hint = ("read the error above; the docstring in the exercise cell says what each "
                    "argument is and which shape it has.")
        # Outside the except block: the learner sees this message, not a chained traceback.
        self.fail(message, hint=hint)

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
                     rtol: float = RTOL, atol: float = ATOL, after: str = "") -> None:
        __tracebackhide__ = True
        g = to_numpy(got)
        e = to_numpy(expected)
        if np.ndim(e) > 0 and np.shape(g) != np.shape(e) and not np.isscalar(g):
            self.n += 1
            self.fail(
                f"{self._call} returned shape {np.shape(g)}, expected shape {np.shape(e)}\n"
                f"  got: {fmt(got)}\n  expected: {fmt(expected)}",
                hint=hint,
            )
        self.expect(close(got, expected, rtol, atol), got, expected, hint, what, after=after)

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
