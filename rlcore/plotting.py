"""Plots the lessons share: returns of a trajectory, value heat maps with policy arrows,
learning curves, and episode animations that render in JupyterLab without a display.

Each function draws on ``ax`` when given (else on a new figure) and returns the
matplotlib object it made, so lessons and tests can inspect or save it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from numpy.typing import ArrayLike

from ._validate import as_float_array, check_gamma
from .returns import reward_to_go

__all__ = [
    "animate_episode",
    "animate_frames",
    "cartpole_frame",
    "plot_iqm_curves",
    "plot_learning_curve",
    "plot_returns",
    "plot_value_grid",
]


def _ax(ax: plt.Axes | None, figsize: tuple[float, float] = (6, 3.5)) -> plt.Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_returns(rewards: ArrayLike, gamma: float = 1.0, ax: plt.Axes | None = None) -> plt.Axes:
    """Plot r_t and the reward-to-go G_t = sum_{k>=t} gamma^(k-t) r_k of one episode.

    rewards: shape (T,). The title reports R(tau) = G_0.
    """
    r = as_float_array(rewards, "rewards", ndim=1, allow_empty=False)
    g = check_gamma(gamma)
    G = reward_to_go(r, g)
    ax = _ax(ax)
    t = np.arange(len(r))
    ax.bar(t, r, color="0.7", label="reward $r_t$")
    ax.plot(t, G, "o-", color="C0", label=rf"reward-to-go $G_t$ ($\gamma$={g:g})")
    ax.set_xlabel("time step t")
    ax.set_ylabel("reward / return")
    ax.set_title(rf"One episode: $R(\tau) = G_0$ = {G[0]:.3g}")
    ax.legend(loc="best")
    return ax


def plot_value_grid(
    V: ArrayLike,
    shape: tuple[int, int] = (5, 5),
    pi: ArrayLike | None = None,
    title: str = "V(s)",
    ax: plt.Axes | None = None,
    annotate: bool = True,
    cmap: str = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
) -> plt.Axes:
    """Draw a value function on a grid as an annotated heat map, with policy arrows.

    V: (S,) values with S = rows * cols and s = cols * row + col.
    pi: optional (S, A) policy pi(a|s) over (north, south, east, west); an arrow is
    drawn for every action with the state's largest probability (ties all drawn).
    """
    rows, cols = shape
    v = as_float_array(V, "V", ndim=1)
    if v.size != rows * cols:
        raise ValueError(f"V must have {rows * cols} entries for shape {shape}, got {v.size}")
    grid = v.reshape(rows, cols)
    ax = _ax(ax, figsize=(4.6, 4.2))
    im = ax.imshow(grid, cmap=cmap, vmin=vmin, vmax=vmax)
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="value")
    if annotate:
        mid = (np.nanmax(grid) + np.nanmin(grid)) / 2
        for (r, c), val in np.ndenumerate(grid):
            ax.text(c, r + (0.22 if pi is not None else 0), f"{val:.1f}", ha="center",
                    va="center", fontsize=9, color="white" if val < mid else "black")
    if pi is not None:
        p = as_float_array(pi, "pi", ndim=2)
        if p.shape[0] != rows * cols or p.shape[1] != 4:
            raise ValueError(f"pi must have shape ({rows * cols}, 4), got {p.shape}")
        d = {0: (0, -0.3), 1: (0, 0.3), 2: (0.3, 0), 3: (-0.3, 0)}
        for s in range(rows * cols):
            r, c = divmod(s, cols)
            best = np.flatnonzero(np.isclose(p[s], p[s].max()))
            for a in best:
                dx, dy = d[int(a)]
                ax.annotate("", xy=(c + dx, r - 0.1 + dy), xytext=(c, r - 0.1),
                            arrowprops=dict(arrowstyle="->", color="white", lw=1.4))
    ax.set_xticks(range(cols))
    ax.set_yticks(range(rows))
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    ax.set_title(title)
    return ax


def plot_learning_curve(
    steps: ArrayLike,
    returns: ArrayLike,
    ax: plt.Axes | None = None,
    label: str | None = None,
    xlabel: str = "environment steps",
    target: float | None = None,
) -> plt.Axes:
    """Plot episode return against training progress (steps or seconds)."""
    x = as_float_array(steps, "steps", ndim=1)
    y = as_float_array(returns, "returns", ndim=1)
    if x.shape != y.shape:
        raise ValueError(f"steps and returns must have the same length, got {x.shape} and {y.shape}")
    ax = _ax(ax)
    ax.plot(x, y, label=label)
    if target is not None:
        ax.axhline(target, color="0.5", ls="--", lw=1, label=f"target {target:g}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(r"return $R(\tau)$")
    ax.set_title("Learning curve")
    if label or target is not None:
        ax.legend(loc="best")
    return ax


def plot_iqm_curves(
    curves: dict[str, tuple[ArrayLike, ArrayLike]],
    ax: plt.Axes | None = None,
    statistic: str = "iqm",
    confidence: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
    xlabel: str = "environment steps",
    ylabel: str = r"greedy return $R(\tau)$",
    target: float | None = None,
    show_runs: bool = False,
) -> plt.Axes:
    """Plot each variant's IQM learning curve across seeds with its 95 % bootstrap band.

    curves: {label: (x, runs)} with x (T,) the evaluation points and runs (N, T) the N
    seeds' returns there. At every point the line is the IQM across seeds (``statistic``
    "median" or "mean" instead) and the band its percentile bootstrap interval from
    ``rlcore.stats.curve_ci`` (whole seeds resampled). show_runs: draw every seed thinly
    too. A wide band says: with this many seeds we do not know the curve better than this.
    Raises ValueError naming the label whose x and runs do not line up.
    """
    from .stats import curve_ci

    ax = _ax(ax, figsize=(7, 4))
    for k, (label, (x, runs)) in enumerate(curves.items()):
        xs = as_float_array(x, f"curves[{label!r}] x", ndim=1)
        ys = np.asarray(runs, dtype=np.float64)
        if ys.ndim != 2 or ys.shape[1] != xs.shape[0]:
            raise ValueError(f"curves[{label!r}]: x has {xs.shape[0]} points but runs has shape "
                             f"{ys.shape}; runs must be (seeds, points)")
        point, lo, hi = curve_ci(ys, statistic=statistic, n_boot=n_boot, confidence=confidence,
                                 seed=seed)
        color = f"C{k}"
        if show_runs:
            for run in ys:
                ax.plot(xs, run, color=color, lw=0.5, alpha=0.25)
        ax.plot(xs, point, color=color, lw=2, label=f"{label} ({statistic.upper() if statistic == 'iqm' else statistic} of {ys.shape[0]} seeds)")
        ax.fill_between(xs, lo, hi, color=color, alpha=0.25, lw=0)
    if target is not None:
        ax.axhline(target, color="0.5", ls="--", lw=1, label=f"target {target:g}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(f"{statistic.upper() if statistic == 'iqm' else statistic.capitalize()} across "
                 f"seeds, {confidence:.0%} bootstrap band")
    ax.legend(loc="best", fontsize=8)
    return ax


def cartpole_frame(obs: ArrayLike, ax: plt.Axes | None = None) -> list[Any]:
    """Draw CartPole's state (x, x_dot, theta, theta_dot) as a cart and a pole; return artists."""
    x, _, theta, _ = as_float_array(obs, "obs", ndim=1)
    ax = _ax(ax)
    pole_len = 1.0
    artists = [
        ax.add_patch(plt.Rectangle((x - 0.25, -0.125), 0.5, 0.25, color="0.3")),
        ax.plot([x, x + pole_len * np.sin(theta)], [0, pole_len * np.cos(theta)],
                color="C1", lw=5)[0],
    ]
    return artists


def animate_frames(frames: Sequence[Any], draw: Any = None, interval: int = 80,
                   title: str = "episode", total: int | None = None,
                   progress: bool | None = None) -> Any:
    """Return an IPython HTML animation (``to_jshtml``) of ``frames``.

    frames: RGB images (H, W, 3), or any objects when ``draw(frame, ax)`` is given.
    total: the episode's length when ``frames`` is only its beginning (the title says so).
    progress: show a "drawing the animation: 40/200 frames" line while the frames are
    drawn (a few seconds for 200), removed when done; default: in a notebook only.
    Renders with matplotlib only, so no display server is needed.
    """
    from IPython.display import HTML
    from matplotlib import animation

    from .live import Progress, in_notebook

    if len(frames) == 0:
        raise ValueError("frames must not be empty")
    fig, ax = plt.subplots(figsize=(4, 3.2))
    plt.close(fig)  # only the animation is shown, not a stray static figure
    suffix = ""
    if total is not None and total > len(frames):
        suffix = f" (the first {len(frames)} of {total} shown)"

    show = in_notebook() if progress is None else bool(progress)
    bar = Progress(len(frames), "drawing the animation (frames)", keep=False) if show else None

    def update(i: int):
        if bar is not None and i + 1 > bar.done:
            bar.update(i + 1 - bar.done)
        ax.clear()
        if draw is None:
            ax.imshow(frames[i])
            ax.axis("off")
        else:
            draw(frames[i], ax)
        ax.set_title(f"{title}: step {i}{suffix}", fontsize=10)
        return []

    anim = animation.FuncAnimation(fig, update, frames=len(frames), interval=interval, blit=False)
    try:
        return HTML(anim.to_jshtml(default_mode="once"))
    finally:
        if bar is not None:
            bar.close()


def _draw_cartpole(obs: Any, ax: plt.Axes) -> None:
    cartpole_frame(obs, ax)
    ax.set_xlim(-2.6, 2.6)
    ax.set_ylim(-0.4, 1.3)
    ax.axhline(-0.125, color="0.6", lw=1)
    ax.set_aspect("equal")
    ax.set_xlabel("cart position x")
    ax.set_yticks([])


def _draw_pendulum(obs: Any, ax: plt.Axes) -> None:
    """Pendulum-v1 from its observation (cos theta, sin theta, thetadot): theta = 0 is upright."""
    c, s, thetadot = (float(v) for v in np.asarray(obs)[:3])
    x, y = -s, c  # the tip, theta measured counterclockwise from straight up
    ax.plot([0.0, x], [0.0, y], color="C3", lw=6, solid_capstyle="round")
    ax.plot([0.0], [0.0], "o", color="0.2", ms=8)
    ax.plot([0.0, 0.0], [0.0, 1.0], color="0.8", lw=1, ls="--", zorder=0)  # the goal: upright
    ax.set_xlim(-1.3, 1.3)
    ax.set_ylim(-1.3, 1.3)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel(f"angular velocity {thetadot:+.2f} rad/s")


def animate_episode(env: Any, traj: Any, interval: int = 60, max_frames: int = 200) -> Any:
    """Return an HTML animation of trajectory ``traj`` in ``env`` (CartPole, Pendulum or a TabularEnv).

    CartPole and Pendulum are drawn from their observations (no pygame needed); a tabular env by
    replaying the states through its ``render()``. At most ``max_frames`` steps are
    drawn; the title says when the episode is longer.
    """
    total = len(np.asarray(traj.observations))
    obs = np.asarray(traj.observations)[:max_frames]
    spec_id = getattr(getattr(env, "spec", None), "id", "") or ""
    if "CartPole" in spec_id or (obs.ndim == 2 and obs.shape[1] == 4):
        return animate_frames(list(obs), draw=_draw_cartpole, interval=interval, title="CartPole",
                              total=total)
    if "Pendulum" in spec_id:
        return animate_frames(list(obs), draw=_draw_pendulum, interval=interval, title="Pendulum",
                              total=total)
    base = getattr(env, "unwrapped", env)
    if hasattr(base, "mdp"):
        frames = []
        saved = base.state
        for s in obs:
            base.state = int(s)
            frames.append(base.render())
        base.state = saved
        return animate_frames(frames, interval=max(interval, 150), title="gridworld", total=total)
    raise ValueError(f"animate_episode does not know how to draw env {spec_id or type(env).__name__}")


matplotlib.rcParams.setdefault("figure.dpi", 100)
