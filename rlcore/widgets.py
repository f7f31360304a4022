"""Interactive figures for the lessons: sliders that redraw one figure with the learner's code.

Every widget here is built on :func:`interactive_plot`: moving a slider calls
``compute(**slider_values)`` (which uses the learner's functions), then
``draw(result, fig)`` on a fresh matplotlib figure, and replaces the single image in
an ``Output`` widget. If the learner's code raises (or returns something that cannot
be drawn), the widget shows a short visible note and draws ``fallback(**values)``
(the reference solution) instead: never a traceback in the page.

Ready-made explorers:

- :func:`value_explorer`: gamma and slip sliders over ``rlcore.gridworld``; V^pi of the
  uniform random policy and V* with a greedy policy, drawn by ``plot_value_grid``.
- :func:`policy_explorer`: a temperature slider for a categorical policy
  pi(a|s) = softmax(logits / T) and a log-std slider for a Gaussian policy
  N(mu, exp(log_std)^2).

Figures are rendered to PNG by matplotlib's Agg canvas (not pyplot), so nothing leaks
into the notebook's inline figures and the widget works without a display.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from ._validate import check_gamma, check_probability
from .colab import enable_widgets
from .mdp import gridworld
from .plotting import plot_value_grid
from .policies import categorical_log_prob as _reference_categorical_log_prob
from .policies import gaussian_log_prob as _reference_gaussian_log_prob
from .values import policy_evaluation_exact as _reference_policy_evaluation
from .values import uniform_policy
from .values import value_iteration as _reference_value_iteration

__all__ = [
    "InteractivePlot",
    "LearnerError",
    "call_learner",
    "interactive_plot",
    "policy_explorer",
    "value_explorer",
]

_MAX_MESSAGE = 300


class LearnerError(Exception):
    """The learner's function ``name`` raised ``error`` (used to name it in the widget's note)."""

    def __init__(self, name: str, error: BaseException) -> None:
        self.name = name
        self.error = error
        super().__init__(f"{name} raised {type(error).__name__}: {error}")


def call_learner(name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Return ``fn(*args, **kwargs)``; re-raise any exception as ``LearnerError(name, e)``.

    Lets a widget's note say which of the learner's functions failed.
    """
    try:
        return fn(*args, **kwargs)
    except Exception as e:
        raise LearnerError(name, e) from e


def _describe(error: BaseException) -> str:
    """One line, HTML-safe, saying what went wrong (no traceback)."""
    who, inner = "", error
    if isinstance(error, LearnerError):
        who, inner = f"your {error.name} raised ", error.error
    detail = str(inner).strip() or ("it is not written yet" if isinstance(
        inner, NotImplementedError) else "no message")
    text = f"{who}{type(inner).__name__}: {detail}"
    text = " ".join(text.split())
    if len(text) > _MAX_MESSAGE:
        text = text[: _MAX_MESSAGE - 3] + "..."
    return html.escape(text)


class InteractivePlot(widgets.VBox):
    """Sliders, a note and one figure; see :func:`interactive_plot`.

    Attributes: ``controls`` (name -> slider), ``note`` (HTML widget, empty when the
    learner's code worked), ``output`` (Output widget holding exactly one PNG image),
    ``result`` (what the last drawn figure shows), ``used_fallback`` (True when the
    reference was drawn because the learner's code failed), ``error`` (that message).
    """

    def __init__(
        self,
        compute: Callable[..., Any],
        draw: Callable[[Any, Figure], None],
        controls: Mapping[str, widgets.ValueWidget],
        fallback: Callable[..., Any] | None = None,
        figsize: tuple[float, float] = (9.0, 4.0),
    ) -> None:
        if not callable(compute):
            raise TypeError(f"compute must be callable, got {type(compute).__name__}")
        if not callable(draw):
            raise TypeError(f"draw must be callable, got {type(draw).__name__}")
        if fallback is not None and not callable(fallback):
            raise TypeError(f"fallback must be callable or None, got {type(fallback).__name__}")
        if not controls:
            raise ValueError("controls must contain at least one slider")
        for name, w in controls.items():
            if not isinstance(w, widgets.ValueWidget):
                raise TypeError(f"slider {name!r} must be an ipywidgets value widget, got {w!r}")
        self.compute = compute
        self.draw = draw
        self.fallback = fallback
        self.figsize = figsize
        self.controls = dict(controls)
        self.note = widgets.HTML(value="")
        self.output = widgets.Output()
        self.result: Any = None
        self.used_fallback = False
        self.error: str | None = None
        self.n_draws = 0
        super().__init__(children=[widgets.HBox(list(self.controls.values())), self.note,
                                   self.output])
        self.add_class("rlcore-interactive-plot")
        enable_widgets()  # a no-op except on Colab
        for w in self.controls.values():
            w.observe(self._on_change, names="value")
        self.redraw()

    def values(self) -> dict[str, Any]:
        """Return the sliders' current values by name."""
        return {name: w.value for name, w in self.controls.items()}

    def _render(self, fn: Callable[..., Any], values: dict[str, Any]) -> tuple[Any, str]:
        result = fn(**values)
        fig = Figure(figsize=self.figsize, layout="constrained")
        self.draw(result, fig)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90)
        return result, base64.b64encode(buf.getvalue()).decode("ascii")

    def redraw(self) -> None:
        """Recompute with the current slider values and replace the figure (never raises)."""
        values = self.values()
        note, png = "", None
        try:
            self.result, png = self._render(self.compute, values)
            self.used_fallback, self.error = False, None
        except Exception as e:  # noqa: BLE001 - shown as a note, never as a traceback
            self.error = _describe(e)
            self.used_fallback = self.fallback is not None
            if self.fallback is None:
                note = f"\u26a0 {self.error}. Fix it, re-run its cell, then this one."
            else:
                note = (f"\u26a0 {self.error}. The figure shows the reference solution "
                        "instead; fix your function, re-run its cell, then this one.")
                try:
                    self.result, png = self._render(self.fallback, values)
                except Exception as e2:  # noqa: BLE001
                    note += f" (the reference failed too: {_describe(e2)})"
                    self.used_fallback = False
        self.note.value = (f'<div class="rlcore-note" style="color:#a15c00">{note}</div>'
                           if note else "")
        if png is None:
            self.output.outputs = ()
        else:
            self.n_draws += 1
            self.output.outputs = ({
                "output_type": "display_data",
                "data": {"image/png": png, "text/plain": "<figure>"},
                "metadata": {},
            },)

    def _on_change(self, change: dict[str, Any]) -> None:
        self.redraw()


def interactive_plot(
    compute: Callable[..., Any],
    draw: Callable[[Any, Figure], None],
    fallback: Callable[..., Any] | None = None,
    figsize: tuple[float, float] = (9.0, 4.0),
    **sliders: widgets.ValueWidget,
) -> InteractivePlot:
    """Return a widget whose sliders redraw one figure: ``draw(compute(**values), fig)``.

    compute: called with the sliders' values by keyword (e.g. ``gamma=0.9``); it calls
      the learner's functions (wrap each in :func:`call_learner` so the note names it).
    draw: draws a result on a fresh matplotlib ``Figure`` (add axes with ``fig.subplots``).
    fallback: same signature as ``compute`` but with the reference solutions; drawn with
      a visible note when ``compute`` or drawing its result raises. Without a fallback
      the note is shown and the figure is left empty.
    sliders: the controls by name, e.g. ``gamma=widgets.FloatSlider(...)``.
    Raises TypeError/ValueError for a non-callable ``compute``/``draw`` or no sliders.
    """
    return InteractivePlot(compute, draw, sliders, fallback=fallback, figsize=figsize)


def _slider(description: str, value: float, low: float, high: float, step: float,
            log: bool = False) -> widgets.ValueWidget:
    """A labelled float slider that redraws on release (slow learner code stays usable)."""
    kw = {"value": value, "step": step, "description": description, "continuous_update": False,
              "readout_format": ".2f", "style": {"description_width": "initial"},
              "layout": widgets.Layout(width="320px")}
    if log:
        return widgets.FloatLogSlider(base=10, min=low, max=high, **kw)
    return widgets.FloatSlider(min=low, max=high, **kw)


# --- value functions on the gridworld (lesson 04) -----------------------------------------

def _value_compute(policy_evaluation: Callable[..., Any], value_iteration: Callable[..., Any],
                   names: tuple[str, str]) -> Callable[..., dict[str, Any]]:
    def compute(gamma: float, slip: float) -> dict[str, Any]:
        mdp = gridworld(slip=check_probability(slip, "slip"))
        g = check_gamma(gamma)
        pi = uniform_policy(mdp.n_states, mdp.n_actions)
        V_pi = call_learner(names[0], policy_evaluation, mdp.P, mdp.R, pi, g)
        out = call_learner(names[1], value_iteration, mdp.P, mdp.R, g)
        if not (isinstance(out, tuple) and len(out) == 2):
            raise LearnerError(names[1], TypeError(
                f"expected a tuple (V, Q), got {type(out).__name__}"))
        V_star, Q_star = (np.asarray(x, dtype=float) for x in out)
        return {"gamma": g, "slip": float(slip), "V_pi": np.asarray(V_pi, dtype=float),
                "V_star": V_star, "Q_star": Q_star, "shape": mdp.shape}
    return compute


def _draw_values(result: dict[str, Any], fig: Figure, labels: tuple[str, str]) -> None:
    ax1, ax2 = fig.subplots(1, 2)
    Q = result["Q_star"]
    if Q.shape != (result["V_star"].size, 4):
        raise ValueError(f"Q* must have shape ({result['V_star'].size}, 4), got {Q.shape}")
    greedy = np.isclose(Q, Q.max(axis=1, keepdims=True), atol=1e-6).astype(float)
    plot_value_grid(result["V_pi"], result["shape"], ax=ax1,
                    title=rf"$V^\pi$, uniform random policy{labels[0]}")
    plot_value_grid(result["V_star"], result["shape"], pi=greedy, ax=ax2,
                    title=rf"$V^*$ and a greedy policy{labels[1]}")
    fig.suptitle(rf"gridworld: $\gamma$ = {result['gamma']:.2f}, slip = {result['slip']:.2f}")


def value_explorer(
    policy_evaluation: Callable[..., Any] | None = None,
    value_iteration: Callable[..., Any] | None = None,
    gamma: float = 0.9,
    slip: float = 0.0,
) -> InteractivePlot:
    """Return a widget: gamma and slip sliders redrawing V^pi (uniform pi) and V* on the gridworld.

    V^pi(s) = E_{tau~pi}[sum_t gamma^t r_t | s_0 = s] comes from the learner's
    ``policy_evaluation(P, R, pi, gamma)``; V* and Q* from ``value_iteration(P, R, gamma)``
    (arrows: every action maximising Q*(s, a)). ``None`` uses the reference solution
    (marked "(reference)" in the title). If the learner's function raises, the widget
    shows a note naming it and draws the reference solution instead.
    gamma: initial discount in [0, 0.99]; slip: initial slip probability in [0, 1].
    Raises ValueError if gamma or slip is out of range.
    """
    g = check_gamma(gamma)
    if g > 0.99:
        raise ValueError(f"gamma must be at most 0.99 here (V grows like 1/(1-gamma)), got {g}")
    p = check_probability(slip, "slip")
    ref = (_reference_policy_evaluation, _reference_value_iteration)
    pe = policy_evaluation or ref[0]
    vi = value_iteration or ref[1]
    labels = (" (reference)" if policy_evaluation is None else "",
              " (reference)" if value_iteration is None else "")
    return interactive_plot(
        _value_compute(pe, vi, ("policy_evaluation", "value_iteration")),
        lambda result, fig: _draw_values(result, fig, labels),
        fallback=_value_compute(*ref, ("reference policy_evaluation", "reference value_iteration")),
        figsize=(10.0, 4.4),
        gamma=_slider("discount \u03b3", g, 0.0, 0.99, 0.01),
        slip=_slider("slip probability", p, 0.0, 1.0, 0.05),
    )


# --- policy distributions (lesson 03) ----------------------------------------------------

def _policy_compute(categorical_log_prob: Callable[..., Any],
                    gaussian_log_prob: Callable[..., Any], logits: np.ndarray, mu: float,
                    names: tuple[str, str]) -> Callable[..., dict[str, Any]]:
    import torch

    def compute(temperature: float, log_std: float) -> dict[str, Any]:
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        A = len(logits)
        scaled = torch.tensor(logits / temperature, dtype=torch.float64).repeat(A, 1)
        logp = call_learner(names[0], categorical_log_prob, scaled, torch.arange(A))
        x = torch.linspace(mu - 4.0, mu + 4.0, 201, dtype=torch.float64)
        logq = call_learner(names[1], gaussian_log_prob, x.unsqueeze(-1),
                            torch.tensor([mu], dtype=torch.float64),
                            torch.tensor([log_std], dtype=torch.float64))
        probs = np.exp(np.asarray(logp.detach() if hasattr(logp, "detach") else logp, float))
        density = np.exp(np.asarray(logq.detach() if hasattr(logq, "detach") else logq, float))
        if probs.shape != (A,) or density.shape != (len(x),):
            raise ValueError(f"log-probabilities have shapes {probs.shape} and {density.shape}, "
                             f"expected ({A},) and ({len(x)},): one value per row")
        return {"temperature": float(temperature), "log_std": float(log_std), "probs": probs,
                "x": x.numpy(), "density": density, "mu": mu}
    return compute


def _draw_policies(result: dict[str, Any], fig: Figure, labels: tuple[str, str]) -> None:
    ax1, ax2 = fig.subplots(1, 2)
    A = len(result["probs"])
    ax1.bar(range(A), result["probs"], color="C0")
    ax1.set_ylim(0, 1)
    ax1.set_xticks(range(A))
    ax1.set_xlabel("action a")
    ax1.set_ylabel(r"$\pi(a|s)$")
    ax1.set_title(rf"categorical, T = {result['temperature']:.2f}{labels[0]}")
    ax2.plot(result["x"], result["density"], color="C1")
    ax2.fill_between(result["x"], result["density"], color="C1", alpha=0.3)
    ax2.set_ylim(0, max(1.0, float(np.max(result["density"])) * 1.05))
    ax2.set_xlabel("action a")
    ax2.set_ylabel(r"density $\pi(a|s)$")
    ax2.set_title(rf"Gaussian, $\sigma = e^{{{result['log_std']:.2f}}}$"
                  rf" = {np.exp(result['log_std']):.2f}{labels[1]}")


def policy_explorer(
    categorical_log_prob: Callable[..., Any] | None = None,
    gaussian_log_prob: Callable[..., Any] | None = None,
    logits: Any = (2.0, 1.0, 0.5, -1.0),
    mu: float = 0.0,
    temperature: float = 1.0,
    log_std: float = 0.0,
) -> InteractivePlot:
    """Return a widget: temperature and log-std sliders redrawing two policy distributions.

    Left: pi(a|s) = exp(categorical_log_prob(logits / T, a)) = softmax(logits / T)_a for
    every action a; high T flattens it towards uniform, low T approaches the argmax.
    Right: the density exp(gaussian_log_prob(x, mu, log_std)) of N(mu, exp(log_std)^2).
    The learner's functions get torch float64 Tensors (logits (A, A), actions (A,);
    x (201, 1), mu (1,), log_std (1,)); ``None`` uses the reference. If the learner's
    function raises, the widget shows a note and draws the reference instead.
    Raises ValueError if logits is not a non-empty 1-D array or temperature <= 0.
    """
    z = np.asarray(logits, dtype=float)
    if z.ndim != 1 or z.size == 0:
        raise ValueError(f"logits must be a non-empty 1-D array, got shape {z.shape}")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    ref = (_reference_categorical_log_prob, _reference_gaussian_log_prob)
    labels = (" (reference)" if categorical_log_prob is None else "",
              " (reference)" if gaussian_log_prob is None else "")
    return interactive_plot(
        _policy_compute(categorical_log_prob or ref[0], gaussian_log_prob or ref[1], z,
                        float(mu), ("categorical_log_prob", "gaussian_log_prob")),
        lambda result, fig: _draw_policies(result, fig, labels),
        fallback=_policy_compute(*ref, z, float(mu), ("reference", "reference")),
        temperature=_slider("temperature T", float(temperature), -1.0, 1.0, 0.05, log=True),
        log_std=_slider("log std", float(log_std), -2.0, 1.0, 0.05),
    )
