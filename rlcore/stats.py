"""Statistics for comparing RL runs over many seeds: IQM, bootstrap intervals, and friends.

One seed is one draw from a wide distribution (Henderson et al., 2018, "Deep RL that
Matters"). Agarwal et al. (2021, "Deep RL at the Edge of the Statistical Precipice")
recommend reporting, for N runs (seeds) x M tasks of scores x_{n,m}:

- the **interquartile mean** (IQM): the mean of the middle 50 % of the runs, robust to a
  few outliers (unlike the mean) and less noisy than the median;
- a **stratified bootstrap** confidence interval: resample the N runs of each task with
  replacement, independently per task (the stratum), recompute the statistic, repeat B
  times; the 2.5 % and 97.5 % quantiles of the B values bound a 95 % interval;
- the **probability of improvement** P(X > Y) that a run of algorithm X beats a run of Y;
- **performance profiles**: the fraction of runs whose score exceeds each threshold tau.

Why our own numpy implementation and not ``rliable`` (Agarwal et al.'s library): rliable
1.2 pulls in ``arch``, ``scipy``, ``pandas``, ``seaborn`` and ``absl-py``, none of which
the course otherwise needs (its runtime set is torch, numpy, gymnasium, matplotlib,
ipywidgets); a learner on Colab or Binder would install them all for four functions of a
few lines each. The definitions below follow rliable's (IQM = ``scipy.stats.trim_mean(x,
0.25)`` over all runs and tasks; percentile intervals; P(X > Y) counts ties as 1/2), so
numbers compare with the paper's.

Every function is pure: randomness comes from ``seed`` (an int or a numpy Generator).
Scores are numpy arrays of shape (N,) (one task) or (N, M); learning curves are (N, T)
(runs x evaluation points). ``numpy.inf`` is allowed for a time-to-solve that never
happened: the IQM trims it away while fewer than a quarter of the runs are unsolved.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "bootstrap_ci",
    "curve_ci",
    "iqm",
    "performance_profile",
    "probability_of_improvement",
    "summarize_times",
]

Seed = int | np.random.Generator | None


def _scores(x: ArrayLike, name: str, ndim: tuple[int, ...] = (1, 2)) -> np.ndarray:
    """Return ``x`` as a float64 array with runs on axis 0; raise ValueError naming ``name``."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of numbers, got {type(x).__name__}") from None
    if arr.ndim not in ndim:
        raise ValueError(f"{name} must have {' or '.join(map(str, ndim))} dimensions "
                         f"(runs first), got shape {arr.shape}")
    if arr.shape[0] < 1:
        raise ValueError(f"{name} must hold at least one run, got shape {arr.shape}")
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN; use numpy.inf for a run that never reached it")
    return arr


def _rng(seed: Seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def iqm(scores: ArrayLike, axis: int | None = None) -> float | np.ndarray:
    """Return the interquartile mean: the mean of the middle 50 % of the sorted scores.

    With the n scores sorted, x_(1) <= ... <= x_(n), and k = floor(n / 4):
        IQM = 1 / (n - 2k) * sum_{i = k+1}^{n-k} x_(i)
    (``scipy.stats.trim_mean(x, 0.25)``, rliable's definition). For n < 4 nothing is
    trimmed (the mean). axis=None pools every entry (runs x tasks, as rliable does);
    an int takes the IQM along that axis (e.g. axis=0 of a (runs, T) curve gives (T,)).
    Examples: iqm([1, 2, ..., 8]) = mean(3, 4, 5, 6) = 4.5; iqm([0, 1, 1, 1000]) = 1.
    Raises ValueError for NaN or no scores.
    """
    arr = np.asarray(scores, dtype=np.float64)
    if arr.size == 0:
        raise ValueError("scores must not be empty")
    if np.isnan(arr).any():
        raise ValueError("scores contains NaN; use numpy.inf for a run that never reached it")
    if axis is None:
        arr, axis = arr.reshape(-1), 0
    arr = np.sort(arr, axis=axis)
    n = arr.shape[axis]
    k = n // 4
    middle = np.take(arr, np.arange(k, n - k), axis=axis)
    with np.errstate(invalid="ignore"):  # inf - inf inside a mean stays inf or nan as it should
        out = middle.mean(axis=axis)
    return float(out) if np.ndim(out) == 0 else out


def _quantiles(values: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper percentile bounds along axis 0, exact order statistics (inf-safe)."""
    alpha = (1.0 - confidence) / 2.0
    lo = np.quantile(values, alpha, axis=0, method="lower")
    hi = np.quantile(values, 1.0 - alpha, axis=0, method="higher")
    return lo, hi


def _check_confidence(confidence: float, n_boot: int) -> None:
    if not 0.0 < float(confidence) < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if int(n_boot) != n_boot or n_boot < 1:
        raise ValueError(f"n_boot must be an integer >= 1, got {n_boot!r}")


def _stratified_indices(rng: np.random.Generator, n_boot: int, n_runs: int, n_tasks: int) -> np.ndarray:
    """(n_boot, n_runs, n_tasks) run indices drawn with replacement, independently per task."""
    return rng.integers(0, n_runs, size=(n_boot, n_runs, n_tasks))


def bootstrap_ci(
    scores: ArrayLike,
    statistic: Callable[[np.ndarray], float] = iqm,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: Seed = 0,
) -> tuple[float, float, float]:
    """Return (point, low, high): ``statistic`` of the scores and its stratified bootstrap interval.

    scores: (N,) or (N, M), N runs of M tasks. Each of the ``n_boot`` resamples draws N
    runs with replacement within each task (x*_{n,m} = x_{I_{n,m}, m}, I uniform on the N
    runs, independently per task m) and computes ``statistic`` of the (N, M) resample;
    the interval is the (1 - c)/2 and (1 + c)/2 percentiles of those values (percentile
    bootstrap). For one task this is the ordinary bootstrap. statistic: a function of an
    array (default ``iqm`` of every entry); ``numpy.median`` and ``numpy.mean`` work too.
    A constant sample gives point = low = high. Raises ValueError for NaN, no runs, or
    confidence outside (0, 1).
    """
    _check_confidence(confidence, n_boot)
    x = _scores(scores, "scores")
    x2 = x[:, None] if x.ndim == 1 else x
    n_runs, n_tasks = x2.shape
    idx = _stratified_indices(_rng(seed), int(n_boot), n_runs, n_tasks)
    resampled = np.take_along_axis(x2[None], idx, axis=1)  # (B, N, M)
    if x.ndim == 1:
        resampled = resampled[..., 0]
    if statistic is iqm:  # vectorized: sort every resample at once
        flat = resampled.reshape(n_boot, -1)
        values = np.asarray(iqm(flat, axis=1))
    else:
        values = np.array([statistic(r) for r in resampled], dtype=np.float64)
    lo, hi = _quantiles(values, confidence)
    return float(statistic(x)), float(lo), float(hi)


def curve_ci(
    curves: ArrayLike,
    statistic: str = "iqm",
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: Seed = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (point, low, high), each (T,): a learning curve's IQM (or median/mean) across runs.

    curves: (N, T), run n's evaluation return at the T evaluation points. At every point t
    the statistic is taken across the N runs; the band resamples whole runs (the same
    bootstrap indices at every t, so a band describes resampled *seeds*, not points).
    statistic: "iqm", "median" or "mean". Raises ValueError for another statistic, NaN, or
    a curve that is not (runs, points).
    """
    _check_confidence(confidence, n_boot)
    x = _scores(curves, "curves", ndim=(2,))
    fns = {"iqm": lambda a, axis: iqm(a, axis=axis), "median": np.median, "mean": np.mean}
    if statistic not in fns:
        raise ValueError(f"statistic must be one of {sorted(fns)}, got {statistic!r}")
    fn = fns[statistic]
    idx = _rng(seed).integers(0, x.shape[0], size=(int(n_boot), x.shape[0]))
    values = fn(x[idx], axis=1)  # (B, T)
    lo, hi = _quantiles(np.asarray(values), confidence)
    return np.asarray(fn(x, axis=0), dtype=np.float64), lo, hi


def _prob_greater(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """P(X > Y) + P(X = Y)/2 along the last two axes' pairs: x (..., N), y (..., K) -> (...)."""
    diff = x[..., :, None] - y[..., None, :]
    return ((diff > 0).mean(axis=(-2, -1)) + 0.5 * (diff == 0).mean(axis=(-2, -1)))


def probability_of_improvement(
    scores_x: ArrayLike,
    scores_y: ArrayLike,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: Seed = 0,
) -> tuple[float, float, float]:
    """Return (point, low, high) of P(X > Y): how likely a run of X scores higher than a run of Y.

    For one task with runs x_1..x_N of X and y_1..y_K of Y (the Mann-Whitney U statistic
    divided by N K):
        P(X > Y) = 1 / (N K) sum_{i,j} ( [x_i > y_j] + 1/2 [x_i = y_j] ),
    averaged over the M tasks for (N, M) and (K, M) scores. 0.5 means no difference;
    P(X > Y) + P(Y > X) = 1. The interval resamples the runs of X and of Y independently
    within each task (stratified bootstrap). For times (lower is better) pass negated
    times, or swap X and Y. Raises ValueError when the two do not have the same tasks.
    """
    _check_confidence(confidence, n_boot)
    x, y = _scores(scores_x, "scores_x"), _scores(scores_y, "scores_y")
    x2 = x[:, None] if x.ndim == 1 else x
    y2 = y[:, None] if y.ndim == 1 else y
    if x2.shape[1] != y2.shape[1]:
        raise ValueError(f"scores_x and scores_y must have the same tasks (columns), got "
                         f"shapes {x.shape} and {y.shape}")
    point = float(_prob_greater(x2.T, y2.T).mean())
    rng = _rng(seed)
    ix = _stratified_indices(rng, int(n_boot), x2.shape[0], x2.shape[1])
    iy = _stratified_indices(rng, int(n_boot), y2.shape[0], y2.shape[1])
    bx = np.take_along_axis(x2[None], ix, axis=1).transpose(0, 2, 1)  # (B, M, N)
    by = np.take_along_axis(y2[None], iy, axis=1).transpose(0, 2, 1)  # (B, M, K)
    values = _prob_greater(bx, by).mean(axis=1)
    lo, hi = _quantiles(values, confidence)
    return point, float(lo), float(hi)


def performance_profile(
    scores: ArrayLike,
    thresholds: ArrayLike,
    higher_is_better: bool = True,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: Seed = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (fraction, low, high), each (len(thresholds),): the score distribution of the runs.

    higher_is_better (returns): F(tau) = 1 / (N M) sum_{n,m} [x_{n,m} > tau], the fraction
    of runs scoring above tau (rliable's run-score distribution; non-increasing in tau).
    Otherwise (time-to-solve): F(tau) = fraction of runs with x <= tau, "solved within
    tau" (non-decreasing; an unsolved run, inf, never counts). The band is the
    stratified bootstrap interval at every threshold.
    """
    _check_confidence(confidence, n_boot)
    x = _scores(scores, "scores")
    x2 = x[:, None] if x.ndim == 1 else x
    tau = np.asarray(thresholds, dtype=np.float64).reshape(-1)

    def fraction(a: np.ndarray) -> np.ndarray:  # a (..., N, M) -> (..., len(tau))
        hit = a[..., None] > tau if higher_is_better else a[..., None] <= tau
        return hit.mean(axis=(-3, -2))

    idx = _stratified_indices(_rng(seed), int(n_boot), *x2.shape)
    values = fraction(np.take_along_axis(x2[None], idx, axis=1))
    lo, hi = _quantiles(values, confidence)
    return fraction(x2), lo, hi


def summarize_times(times: ArrayLike, n_boot: int = 2000, seed: Seed = 0) -> dict[str, float | int | None]:
    """Return the benchmark's distribution of time-to-solve over seeds.

    times: (N,) seconds (or steps) per seed, ``numpy.inf`` (or None) where the seed never
    solved. Keys: runs, solved, solved_fraction, median, iqm, iqm_low, iqm_high (95 %
    bootstrap interval), p90 (90th percentile, linear interpolation; inf if more than
    10 % unsolved), max (inf when some seed is unsolved). Statistics that are infinite
    (more unsolved seeds than they can trim) are reported as None.
    """
    raw = [np.inf if t is None else t for t in np.asarray(times, dtype=object).reshape(-1)]
    t = _scores(np.asarray(raw, dtype=np.float64), "times", ndim=(1,))
    finite = np.isfinite(t)
    point, lo, hi = bootstrap_ci(t, iqm, n_boot=n_boot, seed=seed)
    s = np.sort(t)
    # linear interpolation, but inf as soon as the order statistic above the 90 % point is inf
    p90 = float(np.quantile(s, 0.9)) if np.isfinite(np.quantile(s, 0.9, method="higher")) else np.inf
    fin = lambda v: None if not np.isfinite(v) else float(v)
    return dict(runs=int(t.size), solved=int(finite.sum()), solved_fraction=float(finite.mean()),
                median=fin(float(np.median(s))), iqm=fin(point), iqm_low=fin(lo), iqm_high=fin(hi),
                p90=fin(p90), max=fin(float(s[-1])))
