"""Lesson 01: the notebook runs, checks are kind, hidden tests pass correct code and catch mistakes."""

from __future__ import annotations

import textwrap

import gradelib
import numpy as np
import pytest
import torch
from torch import nn

from autograder.hidden import Mistake, run_hidden
from rlcore import nets
from rlcore.check import CheckFailed
from rlcore.check import lesson01 as checks

A = "01-deep-learning-recap"
NAMES = ["two_layer_net", "mlp", "mse_loss", "sgd_step"]

# Correct implementations in other styles than the reference (must earn full marks).
ALTERNATIVES = {
    "two_layer_net": """
def two_layer_net(x, W1, b1, W2, b2):
    hidden = torch.einsum("hd,nd->nh", W1, x) + b1
    return torch.nn.functional.linear(torch.tanh(hidden), W2, b2)
""",
    "mlp": """
def mlp(sizes, activation=nn.Tanh, output_activation=nn.Identity):
    layers = []
    for j, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        act = activation if j < len(sizes) - 2 else output_activation
        if act is not nn.Identity:
            layers.append(act())
    return nn.Sequential(*layers)
""",
    "mse_loss": """
def mse_loss(pred, target):
    diff = pred - target
    return (diff * diff).sum() / diff.numel()
""",
    "sgd_step": """
def sgd_step(params, lr):
    for p in params:
        if p.grad is not None:
            p.data.add_(p.grad, alpha=-lr)
            p.grad = None
""",
}

# Realistic mistakes; each must fail the hidden tests with a message naming it.
MUTANTS = {
    "two_layer_net": [
        "def two_layer_net(x, W1, b1, W2, b2):\n    return torch.relu(x @ W1.T + b1) @ W2.T + b2",
        "def two_layer_net(x, W1, b1, W2, b2):\n    return torch.tanh(x @ W1 + b1) @ W2.T + b2",
        "def two_layer_net(x, W1, b1, W2, b2):\n    return torch.tanh(x @ W1.T + b1) @ W2.T",
        "def two_layer_net(x, W1, b1, W2, b2):\n    return torch.tanh(torch.tanh(x @ W1.T + b1) @ W2.T + b2)",
        "def two_layer_net(x, W1, b1, W2, b2):\n    return (torch.tanh(x @ W1.T + b1) @ W2.T + b2).float()",
    ],
    "mlp": [
        textwrap.dedent("""
        def mlp(sizes, activation=nn.Tanh, output_activation=nn.Identity):
            layers = []
            for i in range(len(sizes) - 1):
                layers += [nn.Linear(sizes[i], sizes[i + 1]), activation()]
            return nn.Sequential(*layers)
        """),
        textwrap.dedent("""
        def mlp(sizes, activation=nn.Tanh, output_activation=nn.Identity):
            layers = []
            for i in range(len(sizes) - 1):
                layers.append(nn.Linear(sizes[i], sizes[i + 1]))
                if i < len(sizes) - 2:
                    layers.append(activation())
            return nn.Sequential(*layers)
        """),
        textwrap.dedent("""
        def mlp(sizes, activation=nn.Tanh, output_activation=nn.Identity):
            layers = []
            for i in range(len(sizes) - 2):
                layers += [nn.Linear(sizes[i], sizes[i + 1]), activation()]
            return nn.Sequential(*layers, output_activation())
        """),
        textwrap.dedent("""
        def mlp(sizes, activation=nn.Tanh, output_activation=nn.Identity):
            act, layers = activation(), []
            for i in range(len(sizes) - 1):
                layers += [nn.Linear(sizes[i], sizes[i + 1]), act if i < len(sizes) - 2 else output_activation()]
            return nn.Sequential(*layers)
        """),
        textwrap.dedent("""
        def mlp(sizes, activation=nn.Tanh, output_activation=nn.Identity):
            layers = [nn.Linear(sizes[i], sizes[i + 1]) for i in range(len(sizes) - 1)]
            return nn.Sequential(*layers, output_activation())
        """),
    ],
    "mse_loss": [
        "def mse_loss(pred, target):\n    return ((pred - target) ** 2).sum()",
        "def mse_loss(pred, target):\n    return (pred - target).abs().mean()",
        "def mse_loss(pred, target):\n    return torch.sqrt(((pred - target) ** 2).mean())",
        "def mse_loss(pred, target):\n    return float(((pred - target) ** 2).mean())",
        "def mse_loss(pred, target):\n    return ((pred - target) ** 2).mean().detach()",
    ],
    "sgd_step": [
        textwrap.dedent("""
        def sgd_step(params, lr):
            with torch.no_grad():
                for p in params:
                    if p.grad is not None:
                        p += lr * p.grad
                        p.grad.zero_()
        """),
        textwrap.dedent("""
        def sgd_step(params, lr):
            with torch.no_grad():
                for p in params:
                    if p.grad is not None:
                        p -= lr * p.grad
        """),
        textwrap.dedent("""
        def sgd_step(params, lr):
            for p in params:
                if p.grad is not None:
                    p -= lr * p.grad
                    p.grad.zero_()
        """),
        textwrap.dedent("""
        def sgd_step(params, lr):
            for p in params:
                if p.grad is not None:
                    p = p - lr * p.grad
                    p.grad = None
        """),
        textwrap.dedent("""
        def sgd_step(params, lr):
            with torch.no_grad():
                for p in params:
                    p -= lr * p.grad
                    p.grad.zero_()
        """),
        textwrap.dedent("""
        def sgd_step(params, lr):
            with torch.no_grad():
                for p in params:
                    if p.grad is not None:
                        p -= lr * p.grad
                for p in params:
                    if p.grad is not None:
                        p.grad.zero_()
        """),
    ],
}

# What the hidden tests must say for each mutant (same order as MUTANTS).
NAMED = {
    "two_layer_net": ["ReLU", "transpose", "b2", "output", "dtype"],
    "mlp": ["also applied after the last", "output_activation is ignored", "layer is missing",
            "reuses one activation", "no activation"],
    "mse_loss": ["sum instead of mean", "absolute", "RMSE", "plain number", "without a graph"],
    "sgd_step": ["DEscent", "zero", "no_grad", "rebinds", "None", "iterated only once"],
}

NS = {"np": np, "torch": torch, "nn": nn}


def _define(source: str, name: str):
    return gradelib.define(source, name, NS)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hidden_tests_pass_reference(name, seed):
    run_hidden(name, getattr(nets, name), seed=seed, verbose=False)


@pytest.mark.parametrize("name", NAMES)
def test_hidden_tests_pass_alternative_style(name):
    for seed in range(3):
        run_hidden(name, _define(ALTERNATIVES[name], name), seed=seed, verbose=False)


@pytest.mark.filterwarnings("ignore:Converting a tensor with requires_grad")  # mse_loss's float() mutant
@pytest.mark.parametrize("name,index", [(n, i) for n in NAMES for i in range(len(MUTANTS[n]))])
def test_hidden_tests_catch_mutant_with_named_message(name, index):
    fn = _define(MUTANTS[name][index], name)
    for seed in range(3):  # every seed must catch it, not just a lucky one
        with pytest.raises(Mistake) as err:
            run_hidden(name, fn, seed=seed, verbose=False)
        assert name in str(err.value)
        assert NAMED[name][index].lower() in str(err.value).lower(), str(err.value)


@pytest.mark.parametrize("name", NAMES)
def test_visible_checks_pass_reference_and_fail_mutants(name, capsys):
    check = getattr(checks, f"check_{name}")
    check(getattr(nets, name))
    assert "\u2713" in capsys.readouterr().out
    for source in MUTANTS[name]:
        with pytest.raises(CheckFailed) as err:
            check(_define(source, name))
        text = str(err.value)
        assert "expected" in text and "hint" in text or "raised" in text


def test_visible_check_explains_unwritten_exercise(capsys):
    def mse_loss(pred, target):
        raise NotImplementedError()

    with pytest.raises(CheckFailed, match="not written yet"):
        checks.check_mse_loss(mse_loss)
    assert "NotImplementedError" in capsys.readouterr().out


@pytest.mark.slow
def test_solutions_notebook_executes():
    outputs = gradelib.outputs_of(gradelib.execute(gradelib.solutions_path(A)))
    text = "".join(str(o.get("text", "")) for o in outputs)
    for name in NAMES:
        assert f"\u2713 {name}: all" in text  # the visible checks ran and passed
    assert "final training loss" in text
    images = sum("image/png" in o.get("data", {}) for o in outputs)
    assert images >= 3


@pytest.mark.slow
def test_released_lesson_fails_checks_kindly():
    gradelib.assert_released_fails_kindly(A)


@pytest.mark.slow
def test_grades_filled_in_full_and_released_zero(tmp_path):
    gradelib.assert_full_and_zero(A, NAMES, tmp_path)


@pytest.mark.slow
def test_grades_alternatives_full_marks(tmp_path):
    result = gradelib.grade(gradelib.with_answers(A, ALTERNATIVES, tmpdir=tmp_path))
    assert result["score"] == result["max_score"], result


@pytest.mark.slow
@pytest.mark.parametrize("index", range(3))
def test_grades_mutants_below_full(index, tmp_path):
    gradelib.assert_mutants_graded_below_full(A, {n: MUTANTS[n][index] for n in NAMES}, tmp_path,
                                              named={n: NAMED[n][index] for n in NAMES})
