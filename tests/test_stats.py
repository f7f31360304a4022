"""rlcore.stats: hand-computed values, known properties, and coverage on a known distribution."""

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from rlcore.stats import (
    bootstrap_ci,
    curve_ci,
    iqm,
    performance_profile,
    probability_of_improvement,
    summarize_times,
)


def test_iqm_hand_computed():
    assert iqm(np.arange(1, 9)) == pytest.approx(4.5)  # mean(3, 4, 5, 6)
    assert iqm([0, 1, 1, 1000]) == pytest.approx(1.0)  # k = 1: the outliers go
    assert iqm([3.0, 1.0, 2.0]) == pytest.approx(2.0)  # n < 4: the mean
    # n = 10: k = 2, the middle six of 1..10 are 3..8
    assert iqm(np.arange(10, 0, -1)) == pytest.approx(5.5)
    # pooled over runs x tasks as rliable does; along an axis for curves
    assert iqm(np.array([[1, 5], [2, 6], [3, 7], [4, 8]])) == pytest.approx(4.5)
    np.testing.assert_allclose(iqm(np.array([[1, 10], [2, 20], [3, 30], [100, 40]]), axis=0),
                               [2.5, 25.0])


def test_iqm_trims_unsolved_runs_while_fewer_than_a_quarter():
    assert iqm([1, 2, 3, 4, 5, 6, 7, np.inf]) == pytest.approx(4.5)
    assert iqm([1, 2, np.inf, np.inf]) == np.inf


def test_iqm_between_median_and_mean_robustness():
    rng = np.random.default_rng(1)
    x = rng.normal(size=400)
    x[:5] = 1e6  # a handful of wild seeds
    assert abs(iqm(x)) < 0.2 and np.mean(x) > 1e4


def test_constant_scores_give_a_zero_width_interval():
    for stat in (iqm, np.median, np.mean):
        point, lo, hi = bootstrap_ci(np.full(12, 3.25), statistic=stat, n_boot=200)
        assert point == lo == hi == 3.25
    p, lo, hi = curve_ci(np.full((10, 4), 7.0), n_boot=100)
    np.testing.assert_array_equal(p, 7.0)
    np.testing.assert_array_equal(lo, 7.0)
    np.testing.assert_array_equal(hi, 7.0)


def test_interval_contains_the_point_and_shrinks_with_more_runs():
    rng = np.random.default_rng(0)
    widths = []
    for n in (10, 40, 160):
        point, lo, hi = bootstrap_ci(rng.normal(size=n), n_boot=1000, seed=1)
        assert lo <= point <= hi
        widths.append(hi - lo)
    assert widths[0] > widths[1] > widths[2]
    assert widths[0] / widths[2] == pytest.approx(4.0, rel=0.35)  # width ~ 1 / sqrt(n)


def test_bootstrap_is_reproducible_and_seeded():
    x = np.random.default_rng(3).exponential(size=30)
    assert bootstrap_ci(x, seed=5) == bootstrap_ci(x, seed=5)
    assert bootstrap_ci(x, seed=5) != bootstrap_ci(x, seed=6)


def test_interval_covers_the_true_iqm_of_a_known_distribution():
    # N(mu, 1) is symmetric: its population IQM is mu. A 95 % interval from 30 runs should
    # contain mu in about 95 % of 300 experiments (the percentile bootstrap runs a little
    # narrow at small n: accept 88 % .. 99 %).
    rng = np.random.default_rng(2024)
    mu, hits, trials = 2.0, 0, 300
    for k in range(trials):
        _, lo, hi = bootstrap_ci(rng.normal(mu, 1.0, size=30), n_boot=500, seed=k)
        hits += lo <= mu <= hi
    assert 0.88 <= hits / trials <= 0.99, hits / trials


def test_stratified_bootstrap_resamples_within_each_task():
    # task 0 is constant 0, task 1 constant 100: a stratified resample keeps N runs of each,
    # so the pooled mean is always exactly 50 (an unstratified one would not be).
    scores = np.stack([np.zeros(8), np.full(8, 100.0)], axis=1)
    point, lo, hi = bootstrap_ci(scores, statistic=np.mean, n_boot=300)
    assert point == lo == hi == 50.0


def test_probability_of_improvement_hand_computed_and_symmetric():
    # x=[1,2,3] vs y=[0,2,4]: wins 1>0, 2>0, 3>0, 3>2 and a tie 2=2 -> 4.5 / 9
    p, lo, hi = probability_of_improvement([1, 2, 3], [0, 2, 4], n_boot=200)
    assert p == pytest.approx(0.5) and lo <= p <= hi
    rng = np.random.default_rng(0)
    x, y = rng.normal(1.0, 1.0, size=25), rng.normal(0.0, 1.0, size=20)
    pxy = probability_of_improvement(x, y)[0]
    pyx = probability_of_improvement(y, x)[0]
    assert pxy + pyx == pytest.approx(1.0)
    # N(1,1) vs N(0,1): P(X > Y) = Phi(1 / sqrt 2) = 0.760
    assert 0.62 < pxy < 0.9
    assert probability_of_improvement([5, 6], [1, 2])[:2] == (1.0, 1.0)
    with pytest.raises(ValueError, match="same tasks"):
        probability_of_improvement(np.zeros((3, 2)), np.zeros((3, 1)))


def test_performance_profile():
    frac, lo, hi = performance_profile([1, 2, 3, 4], [0, 1, 2.5, 4], n_boot=200)
    np.testing.assert_allclose(frac, [1.0, 0.75, 0.5, 0.0])
    assert np.all(lo <= frac) and np.all(frac <= hi)
    # times: fraction solved within tau; an unsolved seed never counts
    frac, _, _ = performance_profile([1.0, 2.0, np.inf, 4.0], [0.5, 2, 10], higher_is_better=False)
    np.testing.assert_allclose(frac, [0.0, 0.5, 0.75])


def test_curve_ci_shapes_and_order():
    rng = np.random.default_rng(0)
    curves = np.cumsum(rng.random((12, 30)), axis=1)
    for stat in ("iqm", "median", "mean"):
        p, lo, hi = curve_ci(curves, statistic=stat, n_boot=200)
        assert p.shape == lo.shape == hi.shape == (30,)
        assert np.all(lo <= p + 1e-12) and np.all(p <= hi + 1e-12)
    with pytest.raises(ValueError, match="statistic must be one of"):
        curve_ci(curves, statistic="max")
    with pytest.raises(ValueError, match="curves must have 2 dimensions"):
        curve_ci(curves[0])


def test_summarize_times():
    s = summarize_times([1, 2, 3, 4, 5, 6, 7, 8, 9, None])
    assert s["runs"] == 10 and s["solved"] == 9 and s["solved_fraction"] == 0.9
    assert s["median"] == 5.5 and s["max"] is None and s["p90"] is None
    assert s["iqm"] == pytest.approx(5.5) and s["iqm_low"] <= 5.5
    # 7 % of resamples draw the unsolved seed 3+ times (more than k = 2 trims): the upper
    # bound is infinite, reported as None rather than as a made-up number
    assert s["iqm_high"] is None
    s = summarize_times(np.arange(1.0, 11.0))
    assert s["p90"] == pytest.approx(9.1) and s["max"] == 10.0


@pytest.mark.parametrize("bad, match", [
    ([1.0, np.nan], "NaN"), ([], "at least one run"), (np.zeros((2, 2, 2)), "dimensions"),
])
def test_bad_scores_are_named(bad, match):
    with pytest.raises(ValueError, match=match):
        bootstrap_ci(bad)


def test_bad_confidence_named():
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci([1, 2, 3], confidence=95)


def test_plot_iqm_curves_draws_line_and_band():
    from rlcore.plotting import plot_iqm_curves

    rng = np.random.default_rng(0)
    x = np.arange(1, 11) * 1000
    runs_a = np.cumsum(rng.random((10, 10)), axis=1)
    ax = plot_iqm_curves({"A": (x, runs_a), "B": (x, runs_a * 0.5)}, target=5.0, n_boot=100)
    lines = [ln for ln in ax.get_lines() if ln.get_label() in ("A (IQM of 10 seeds)",
                                                               "B (IQM of 10 seeds)")]
    assert len(lines) == 2
    np.testing.assert_allclose(lines[0].get_ydata(), iqm(runs_a, axis=0))
    assert len(ax.collections) == 2  # one band per variant
    assert ax.get_xlabel() and ax.get_ylabel() and "95%" in ax.get_title()
    with pytest.raises(ValueError, match="'A'.*x has 3 points"):
        plot_iqm_curves({"A": (x[:3], runs_a)})
