"""rlcore.widgets: sliders recompute with the learner's functions, fall back with a note, no traceback.

The in-process tests drive the widgets' sliders directly; ``test_in_a_real_kernel`` runs
them in an ipykernel (as JupyterLab would) and reads what the page would show.
"""

from __future__ import annotations

import base64
import json

import ipywidgets as widgets
import numpy as np
import pytest

from rlcore import gridworld
from rlcore import values as ref
from rlcore.widgets import interactive_plot, policy_explorer, value_explorer

PNG_MAGIC = b"\x89PNG"


def image_of(w) -> bytes:
    """The single PNG the widget's Output shows (fails unless there is exactly one)."""
    outs = w.output.outputs
    assert len(outs) == 1, f"expected one figure, got {len(outs)} outputs"
    png = base64.b64decode(outs[0]["data"]["image/png"])
    assert png.startswith(PNG_MAGIC)
    return png


def assert_no_traceback(w) -> None:
    text = w.note.value + json.dumps(list(w.output.outputs))
    assert "Traceback" not in text and 'File "' not in text


def slider(value=1.0):
    return widgets.FloatSlider(value=value, min=0.0, max=5.0, step=0.5)


def test_interactive_plot_recomputes_and_replaces_one_figure():
    calls = []

    def compute(a, b):
        calls.append((a, b))
        return a * np.arange(5) + b

    def draw(y, fig):
        fig.subplots().plot(y)

    w = interactive_plot(compute, draw, a=slider(1.0), b=slider(0.0))
    first = image_of(w)
    w.controls["a"].value = 3.0
    assert calls == [(1.0, 0.0), (3.0, 0.0)]
    np.testing.assert_allclose(w.result, 3.0 * np.arange(5))
    assert image_of(w) != first, "the figure must change when the slider moves"
    assert w.note.value == "" and not w.used_fallback
    assert w.n_draws == 2


def test_interactive_plot_falls_back_with_a_visible_note():
    def broken(a):
        raise ZeroDivisionError("division by zero in my code")

    w = interactive_plot(broken, lambda y, fig: fig.subplots().plot(y),
                         fallback=lambda a: [0.0, a], a=slider(2.0))
    assert w.used_fallback
    assert "ZeroDivisionError: division by zero in my code" in w.note.value
    assert "reference solution" in w.note.value
    assert w.result == [0.0, 2.0]
    image_of(w)
    w.controls["a"].value = 4.0  # the callback must not raise either
    assert w.result == [0.0, 4.0]
    assert_no_traceback(w)


def test_interactive_plot_without_fallback_shows_note_and_no_figure():
    w = interactive_plot(lambda a: 1 / 0, lambda y, fig: None, a=slider())
    assert "ZeroDivisionError" in w.note.value and "Fix it" in w.note.value
    assert w.output.outputs == ()
    assert not w.used_fallback


def test_interactive_plot_reports_a_failing_reference_too():
    w = interactive_plot(lambda a: 1 / 0, lambda y, fig: None, fallback=lambda a: {}["x"],
                         a=slider())
    assert "ZeroDivisionError" in w.note.value and "reference failed too" in w.note.value
    assert "KeyError" in w.note.value
    assert w.output.outputs == ()


def test_interactive_plot_escapes_html_in_messages():
    def compute(a):
        raise ValueError("<script>alert(1)</script>")

    w = interactive_plot(compute, lambda y, fig: None, a=slider())
    assert "<script>" not in w.note.value and "&lt;script&gt;" in w.note.value


@pytest.mark.parametrize("bad", [
    {"compute": None}, {"draw": 3}, {"fallback": "ref"}, {"sliders": {}},
    {"sliders": {"a": 1.0}},
])
def test_interactive_plot_rejects_bad_arguments(bad):
    kw = {"compute": lambda a: a, "draw": lambda y, fig: None, "fallback": None,
              "sliders": {"a": slider()}}
    kw.update(bad)
    sliders = kw.pop("sliders")
    with pytest.raises((TypeError, ValueError)):
        interactive_plot(**kw, **sliders)


def test_value_explorer_reference_matches_sutton_barto():
    """Figures 3.2 and 3.5 of Sutton & Barto (top row, one decimal)."""
    w = value_explorer()
    np.testing.assert_allclose(w.result["V_pi"][:5], [3.3, 8.8, 4.4, 5.3, 1.5], atol=0.05)
    np.testing.assert_allclose(w.result["V_star"][:5], [22.0, 24.4, 22.0, 19.4, 17.5], atol=0.05)
    assert "(reference)" not in w.note.value and not w.used_fallback


def test_value_explorer_recomputes_with_the_learners_functions():
    seen = {"pe": [], "vi": []}

    def policy_evaluation(P, R, pi, gamma, tol=1e-10):
        seen["pe"].append((gamma, P.shape, pi.shape))
        return ref.policy_evaluation_exact(P, R, pi, gamma) + 100.0  # a visible signature

    def value_iteration(P, R, gamma, tol=1e-10):
        seen["vi"].append((gamma, float(P[0, 0].max())))
        return ref.value_iteration(P, R, gamma)

    w = value_explorer(policy_evaluation, value_iteration)
    before = image_of(w)
    w.controls["gamma"].value = 0.5
    w.controls["slip"].value = 0.4
    assert [g for g, *_ in seen["pe"]] == [0.9, 0.5, 0.5]
    assert seen["pe"][0][1:] == ((25, 4, 25), (25, 4))
    # slip 0.4 makes the intended move from the corner less certain
    assert seen["vi"][-1] == (0.5, pytest.approx(0.6 + 0.4 / 4 + 0.4 / 4))
    mdp = gridworld(slip=0.4)
    pi = np.full((25, 4), 0.25)
    np.testing.assert_allclose(w.result["V_pi"],
                               ref.policy_evaluation_exact(mdp.P, mdp.R, pi, 0.5) + 100.0)
    assert not w.used_fallback and w.note.value == ""
    assert image_of(w) != before


@pytest.mark.parametrize("which", ["policy_evaluation", "value_iteration"])
def test_value_explorer_falls_back_when_the_learners_function_raises(which):
    def stub(*args, **kwargs):
        raise NotImplementedError()

    w = value_explorer(**{which: stub})
    assert w.used_fallback
    assert f"your {which} raised NotImplementedError" in w.note.value
    np.testing.assert_allclose(w.result["V_star"][1], 24.4, atol=0.05)
    image_of(w)
    w.controls["gamma"].value = 0.7  # still no exception out of the callback
    assert w.used_fallback and w.result["gamma"] == 0.7
    assert_no_traceback(w)


def test_value_explorer_falls_back_when_the_learners_result_cannot_be_drawn():
    def wrong_shape(P, R, pi, gamma, tol=1e-10):
        return np.zeros(24)

    def not_a_tuple(P, R, gamma, tol=1e-10):
        return np.zeros(25)

    w = value_explorer(policy_evaluation=wrong_shape)
    assert w.used_fallback and "V must have 25 entries" in w.note.value
    w = value_explorer(value_iteration=not_a_tuple)
    assert w.used_fallback and "your value_iteration raised TypeError" in w.note.value


def test_value_explorer_rejects_bad_arguments():
    with pytest.raises(ValueError, match="gamma"):
        value_explorer(gamma=1.0)
    with pytest.raises(ValueError, match="slip"):
        value_explorer(slip=1.5)


def test_policy_explorer_uses_the_learners_log_probs():
    import torch

    logits = np.array([2.0, 1.0, 0.5, -1.0])
    seen = []

    def categorical_log_prob(lg, actions):
        seen.append(lg[0].numpy().copy())
        return torch.log_softmax(lg, -1).gather(-1, actions.unsqueeze(-1)).squeeze(-1)

    def gaussian_log_prob(x, mu, log_std):
        return torch.distributions.Normal(mu, log_std.exp()).log_prob(x).sum(-1)

    w = policy_explorer(categorical_log_prob, gaussian_log_prob, logits=logits)
    w.controls["temperature"].value = 4.0
    np.testing.assert_allclose(seen[-1], logits / 4.0)
    expected = np.exp(logits / 4.0) / np.exp(logits / 4.0).sum()
    np.testing.assert_allclose(w.result["probs"], expected)
    before = image_of(w)
    w.controls["log_std"].value = -1.0
    peak = w.result["density"].max()
    assert peak == pytest.approx(1 / (np.exp(-1.0) * np.sqrt(2 * np.pi)), rel=1e-3)
    assert image_of(w) != before and not w.used_fallback


def test_policy_explorer_falls_back_on_a_learner_error():
    def categorical_log_prob(lg, actions):
        return lg[actions]  # a common mistake: indexes rows, wrong shape

    w = policy_explorer(categorical_log_prob=categorical_log_prob)
    assert w.used_fallback and "one value per row" in w.note.value
    np.testing.assert_allclose(w.result["probs"].sum(), 1.0)
    with pytest.raises(ValueError, match="temperature"):
        policy_explorer(temperature=0.0)


KERNEL_CELLS = [
    ("from rlcore.widgets import value_explorer\n"
    "def policy_evaluation(P, R, pi, gamma, tol=1e-10):\n"
    "    raise NotImplementedError()\n"
    "w = value_explorer(policy_evaluation)\n"
    "w"),
    ("w.controls['gamma'].value = 0.5\n"
    "print('gamma now', w.result['gamma'])"),
]


@pytest.mark.slow
def test_in_a_real_kernel_the_page_gets_a_note_and_a_figure_but_no_traceback():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in KERNEL_CELLS]
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            store_widget_state=True).execute()
    outputs = [o for c in nb.cells for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = json.dumps(outputs)
    assert "Traceback" not in text
    assert "gamma now 0.5" in text
    assert "application/vnd.jupyter.widget-view+json" in text  # the widget was displayed
    state = nb.metadata.widgets["application/vnd.jupyter.widget-state+json"]["state"]
    models = list(state.values())
    notes = [m["state"]["value"] for m in models if m["model_name"] == "HTMLModel"]
    assert any("your policy_evaluation raised NotImplementedError" in n for n in notes)
    figures = [m["state"]["outputs"] for m in models if m["model_name"] == "OutputModel"]
    assert figures and all(len(f) == 1 and "image/png" in f[0]["data"] for f in figures)
