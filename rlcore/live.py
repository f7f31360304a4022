"""A live learning curve for the trainers: one figure and one text line updated in place.

In Jupyter, ``LiveCurve`` shows a matplotlib figure and a status line through IPython
display handles and redraws them as evaluations arrive (no new output per update).
In a plain terminal it rewrites a single status line. Use it as a trainer callback::

    live = LiveCurve(target=475)
    result = train(config, callback=live, progress=False)
    live.close()

(``train(..., progress=True)`` makes and closes one for you.)

``Progress`` and ``progress(iterable, label)`` show the same kind of in-place line for
any long loop of a lesson (several training runs, drawing an animation, fitting a model):
``label: 3/15 | 4.1 s | about 8 s left``, then ``label: 15/15 in 12.3 s``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeVar

__all__ = ["LiveCurve", "Progress", "in_notebook", "progress"]

T = TypeVar("T")


def in_notebook() -> bool:
    """Return True when running inside a Jupyter kernel (where rich display handles work)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


class LiveCurve:
    """Callback that plots eval return against environment steps and prints a status line.

    Call it with the trainer's info dict (keys ``env_steps``, ``train_seconds``,
    ``eval_return``); it returns False (never asks the trainer to stop).
    target: a horizontal dashed line (e.g. 475, CartPole's "solved").
    redraw_every: minimum seconds between figure redraws (drawing costs ~50 ms; the
    status line updates every call). ``close()`` draws the final state.
    notebook: force the notebook (True) or terminal (False) display; default autodetects.
    plot: False shows the status line alone (for a run whose curve a later figure shows).
    """

    def __init__(self, target: float | None = None, title: str = "Learning curve",
                 redraw_every: float = 0.5, notebook: bool | None = None,
                 stream: Any = None, plot: bool = True) -> None:
        self.target = target
        self.plot = bool(plot)
        self.title = title
        self.redraw_every = float(redraw_every)
        self.notebook = in_notebook() if notebook is None else bool(notebook)
        self.stream = stream if stream is not None else sys.stdout
        self.steps: list[float] = []
        self.returns: list[float] = []
        self.last: dict[str, Any] = {}
        self._last_draw = -float("inf")
        self._fig = self._line = self._ax = None
        self._fig_handle = self._text_handle = None
        self._closed = False

    def status(self) -> str:
        """Return the one-line summary of the latest evaluation."""
        if not self.last:
            return "waiting for the first evaluation..."
        i = self.last
        best = max(self.returns) if self.returns else float("nan")
        text = (f"env steps {int(i.get('env_steps', 0)):>9,d} | train time "
                f"{float(i.get('train_seconds', 0.0)):6.2f} s | eval return "
                f"{float(i.get('eval_return', float('nan'))):6.1f} | best {best:6.1f}")
        if self.target is not None:
            text += f" | target {self.target:g}"
        return text

    def __call__(self, info: Mapping[str, Any]) -> bool:
        self.last = dict(info)
        self.steps.append(float(info["env_steps"]))
        self.returns.append(float(info["eval_return"]))
        if self.notebook:
            self._update_notebook(force=False)
        else:
            self.stream.write("\r" + self.status())
            self.stream.flush()
        return False

    def _update_notebook(self, force: bool) -> None:
        import matplotlib.pyplot as plt
        from IPython.display import DisplayHandle

        if not self.plot:
            if self._text_handle is None:
                self._text_handle = DisplayHandle()
                self._text_handle.display(_Text(self.status()))
            else:
                self._text_handle.update(_Text(self.status()))
            return
        if self._fig is None:
            self._fig, self._ax = plt.subplots(figsize=(6, 3.2))
            plt.close(self._fig)  # shown through the display handle only
            (self._line,) = self._ax.plot([], [], "o-", ms=3, color="C0", label="greedy eval return")
            if self.target is not None:
                self._ax.axhline(self.target, color="0.5", ls="--", lw=1,
                                 label=f"target {self.target:g}")
            self._ax.set_xlabel("environment steps")
            self._ax.set_ylabel(r"return $R(\tau)$")
            self._ax.set_title(self.title)
            self._ax.legend(loc="upper left")
            self._fig_handle, self._text_handle = DisplayHandle(), DisplayHandle()
            self._fig_handle.display(self._fig)
            self._text_handle.display(_Text(self.status()))
        self._text_handle.update(_Text(self.status()))
        now = time.perf_counter()
        if force or now - self._last_draw >= self.redraw_every:
            self._line.set_data(self.steps, self.returns)
            self._ax.relim()
            self._ax.autoscale_view()
            self._fig_handle.update(self._fig)
            self._last_draw = time.perf_counter()

    def close(self) -> None:
        """Draw the final curve (notebook) or end the status line (terminal); idempotent."""
        if self._closed:
            return
        self._closed = True
        if self.notebook:
            if self.steps:
                self._update_notebook(force=True)
        elif self.last:
            self.stream.write("\n")
            self.stream.flush()


def _seconds(s: float) -> str:
    return f"{s:.1f} s" if s < 60 else f"{int(s // 60)} min {int(s % 60):02d} s"


class Progress:
    """A one-line progress display, updated in place: ``label: 3/15 | 4.1 s | about 8 s left``.

    In Jupyter it is one output (an IPython display handle) rewritten on each update; in
    a terminal one line rewritten with a carriage return. ``update(n, note)`` counts n more
    steps done (``note`` is shown after the count, e.g. the current seed);
    ``close()`` writes the final ``label: 15/15 in 12.3 s`` (or, with ``keep=False`` in a
    notebook, removes the line: for a cell whose result, such as an animation, follows).
    total: the number of steps, or None when unknown (then no estimate of the time left).
    min_interval: seconds between redraws (every update is counted; drawing is throttled).
    Raises ValueError if total is negative or label is empty.
    """

    def __init__(self, total: int | None, label: str, notebook: bool | None = None,
                 stream: Any = None, min_interval: float = 0.1, keep: bool = True) -> None:
        if total is not None and int(total) < 0:
            raise ValueError(f"total must be >= 0 or None, got {total!r}")
        if not str(label).strip():
            raise ValueError("label must be a non-empty string")
        self.total = None if total is None else int(total)
        self.label = str(label)
        self.notebook = in_notebook() if notebook is None else bool(notebook)
        self.stream = stream if stream is not None else sys.stdout
        self.min_interval = float(min_interval)
        self.keep = bool(keep)
        self.done = 0
        self.note = ""
        self._start = time.perf_counter()
        self._last_draw = -float("inf")
        self._handle = None
        self._width = 0
        self._closed = False
        self._draw(force=True)

    def text(self) -> str:
        """Return the current line (what the display shows)."""
        elapsed = time.perf_counter() - self._start
        count = f"{self.done}/{self.total}" if self.total is not None else f"{self.done}"
        if self._closed:
            return f"{self.label}: {count} in {_seconds(elapsed)}" + (f" ({self.note})" if self.note else "")
        parts = [f"{self.label}: {count}" + (f" {self.note}" if self.note else ""), _seconds(elapsed)]
        if self.total and 0 < self.done < self.total:
            parts.append(f"about {_seconds(elapsed / self.done * (self.total - self.done))} left")
        return " | ".join(parts)

    def update(self, n: int = 1, note: str = "") -> None:
        """Count ``n`` more steps as done; show ``note`` (e.g. which run) after the count."""
        self.done += int(n)
        self.note = str(note)
        self._draw(force=self.total is not None and self.done >= self.total)

    def _draw(self, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self._last_draw < self.min_interval:
            return
        self._last_draw = now
        if self.notebook:
            from IPython.display import DisplayHandle

            if self._handle is None:
                self._handle = DisplayHandle()
                self._handle.display(_Text(self.text()))
            else:
                self._handle.update(_Text(self.text()))
        else:
            line = self.text()
            self.stream.write("\r" + line.ljust(self._width))  # pad over a longer old line
            self._width = len(line)
            self.stream.flush()

    def close(self, note: str | None = None) -> None:
        """Show the final line (or remove it: ``keep=False``, notebook only); idempotent."""
        if self._closed:
            return
        if note is not None:
            self.note = note
        self._closed = True
        if self.notebook:
            from IPython.display import HTML

            if self.keep:
                self._draw(force=True)
            elif self._handle is not None:
                self._handle.update(HTML(""))
        else:
            self._draw(force=True)
            self.stream.write("\n")
            self.stream.flush()

    def __enter__(self) -> Progress:  # noqa: PYI034 - Self needs Python 3.11
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress(iterable: Iterable[T], label: str, total: int | None = None, **kwargs: Any) -> Iterator[T]:
    """Yield the items of ``iterable`` while a ``Progress`` line counts them (closed at the end).

    total: defaults to ``len(iterable)`` when it has one. Other keyword arguments go to
    ``Progress`` (``keep``, ``notebook``, ...). Example: ``for seed in progress(range(5), "seeds"):``.
    """
    if total is None:
        try:
            total = len(iterable)  # type: ignore[arg-type]
        except TypeError:
            total = None
    with Progress(total, label, **kwargs) as bar:
        for item in iterable:
            yield item
            bar.update()


class _Text:
    """Plain text with a plain-text repr, for a display handle."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text
