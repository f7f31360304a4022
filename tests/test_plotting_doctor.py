"""rlcore.plotting and rlcore.doctor: figures carry the data and labels; doctor reports."""

import gymnasium as gym
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from rlcore import TabularEnv, doctor, gridworld, rollout
from rlcore.plotting import animate_episode, plot_returns, plot_value_grid


def test_plot_returns_draws_reward_to_go():
    ax = plot_returns([1.0, 0.0, 2.0], gamma=0.5)
    line = ax.get_lines()[0]
    np.testing.assert_allclose(line.get_ydata(), [1.5, 1.0, 2.0])
    assert ax.get_xlabel() and ax.get_ylabel() and "1.5" in ax.get_title()


def test_value_grid_annotates_values_and_arrows():
    V = np.arange(25, dtype=float)
    pi = np.zeros((25, 4))
    pi[:, 2] = 1.0
    ax = plot_value_grid(V, pi=pi, title="test")
    texts = [t.get_text() for t in ax.texts]
    assert "24.0" in texts and len(ax.texts) == 25 + 25  # values + one arrow per state
    with pytest.raises(ValueError, match="V must have 25 entries"):
        plot_value_grid(np.zeros(24))


def test_animations_render_to_html():
    env = TabularEnv(gridworld(), start_state=0)
    html = animate_episode(env, rollout(env, lambda s: 2, max_steps=3, seed=0)).data
    assert "<script" in html and "anim" in html.lower()
    cart = gym.make("CartPole-v1")
    html = animate_episode(cart, rollout(cart, lambda o: 0, seed=0)).data
    assert html.count("data:image/png") >= 5


def test_doctor_reports_everything_ok(capsys):
    assert doctor() is True
    out = capsys.readouterr().out
    for label in ("Python", "package versions", "Gymnasium", "PyTorch", "plots"):
        assert f"\u2713 {label}" in out
    assert "ready" in out


def test_doctor_explains_a_failure(capsys, monkeypatch):
    import importlib

    d = importlib.import_module("rlcore.doctor")

    monkeypatch.setitem(d._PINS, "numpy", "0.0.1")
    assert doctor() is False
    out = capsys.readouterr().out
    assert "\u2717 package versions" in out and "make setup" in out


def test_a_cut_animation_says_how_much_of_the_episode_it_shows(monkeypatch):
    import matplotlib.axes

    titles = []
    original = matplotlib.axes.Axes.set_title
    monkeypatch.setattr(matplotlib.axes.Axes, "set_title",
                        lambda self, label, *a, **k: (titles.append(label), original(self, label, *a, **k))[1])
    cart = gym.make("CartPole-v1")
    tau = rollout(cart, lambda o: int(o[2] > 0), seed=0)
    animate_episode(cart, tau, max_frames=5)
    assert titles and all(t.endswith(f"(the first 5 of {len(tau)} shown)") for t in titles), titles[:2]
    titles.clear()
    animate_episode(cart, tau, max_frames=len(tau))
    assert titles and not any("shown" in t for t in titles)
