"""A live learning curve for the trainers: one figure and one text line updated in place.

In Jupyter, ``LiveCurve`` shows a matplotlib figure and a status line through IPython
display handles and redraws them as evaluations arrive (no new output per update).
In a plain terminal it rewrites a single status line. Use it as a trainer callback::

    live = LiveCurve(target=475)
    result = train(config, callback=live, progress=False)
    live.close()

(``train(..., progress=True)`` makes and closes one for you.)
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import Any

__all__ = ["LiveCurve", "in_notebook"]


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
    """

    def __init__(self, target: float | None = None, title: str = "Learning curve",
                 redraw_every: float = 0.5, notebook: bool | None = None,
                 stream: Any = None) -> None:
        self.target = target
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


class _Text:
    """Plain text with a plain-text repr, for a display handle."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text
