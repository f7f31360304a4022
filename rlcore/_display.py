"""How the course's own errors look in a notebook: the message first and once, details folded away.

Two kinds of error are the course talking to the learner, not a crash:
``rlcore.check.CheckFailed`` (a visible check or a probe did not pass; its message was
printed just above) and ``rlcore.algos.LearnerFunctionError`` (a trainer stopped because
one of the learner's functions raised or returned something unusable). In Jupyter they
are shown as a short error (the cell still fails, so Run All stops there), with the
traceback into rlcore or torch folded behind a "details" toggle instead of 40 lines of
chained frames. ``install()`` runs when ``rlcore`` is imported, so a fresh kernel shows
them the same way as one where a check already failed.
"""

from __future__ import annotations

import html
import traceback
from typing import Any

__all__ = ["CourseMessage", "install"]


class CourseMessage(Exception):
    """Mixin for exceptions whose message is written for the learner.

    ``printed``: the message was already printed above the error (visible checks print it),
    so the error line itself stays one short sentence.
    """

    printed: bool = False
    summary: str = "the check above did not pass: its message says what to change."


def _details(value: BaseException) -> str:
    """The traceback of ``value`` and of the error that caused it, as plain text."""
    parts = []
    inner = value.__cause__ or value.__context__
    if inner is not None:
        parts.append("".join(traceback.format_exception(type(inner), inner, inner.__traceback__)))
    parts.append("".join(traceback.format_exception(type(value), value, value.__traceback__)))
    return "\n".join(parts)


def _show(shell: Any, etype: type, value: BaseException, tb: Any,
          tb_offset: int | None = None) -> list[str]:
    """IPython's display of a CourseMessage: short error, traceback behind a toggle."""
    red, reset = "\x1b[0;31m", "\x1b[0m"
    if getattr(value, "printed", False):
        stb = [f"{red}{etype.__name__}{reset}: {getattr(value, 'summary', '')}"]
    else:
        lines = str(value).splitlines() or [""]
        stb = [f"{red}{etype.__name__}{reset}: {lines[0]}", *lines[1:]]
    try:
        from IPython.display import HTML, display

        display(HTML("<details><summary style='cursor:pointer;color:#666'>details for the curious: "
                     "where in rlcore this was raised (not needed to fix it)</summary><pre>"
                     f"{html.escape(_details(value))}</pre></details>"))
    except Exception:  # noqa: BLE001, S110 - the short error below is what matters
        pass
    shell._showtraceback(etype, value, stb)  # an error output: the cell still fails
    return stb


def install() -> None:
    """In IPython/Jupyter, show CourseMessage errors briefly (unless another handler is set)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return
    shell = get_ipython()
    if shell is None:
        return
    current = tuple(getattr(shell, "custom_exceptions", ()))
    if current in ((), (CourseMessage,)):
        shell.set_custom_exc((CourseMessage,), _show)
