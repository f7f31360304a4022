"""Visible checks for lesson 01: the deep-learning recap (two-layer net, MLP, MSE, SGD step)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import nets as ref
from ._core import Checker, check, fmt

__all__ = ["check_mlp", "check_mse_loss", "check_sgd_step", "check_two_layer_net"]


@check("two_layer_net")
def check_two_layer_net(c: Checker) -> None:
    """Check f(x) = W2 tanh(W1 x + b1) + b2 on a hand-worked input and on a float32 batch."""
    f64 = torch.float64
    x = torch.tensor([[1.0, 2.0]], dtype=f64)
    W1 = torch.tensor([[1.0, 0.0], [1.0, 1.0]], dtype=f64)
    b1 = torch.tensor([0.0, -4.0], dtype=f64)
    W2 = torch.tensor([[2.0, 1.0], [0.0, 1.0]], dtype=f64)
    b2 = torch.tensor([0.5, 0.5], dtype=f64)
    got = c.call(x, W1, b1, W2, b2)
    t = math.tanh(1.0)
    c.expect_close(got, torch.tensor([[t + 0.5, 0.5 - t]], dtype=f64),
                   "for a batch whose rows are inputs, f(x) = torch.tanh(x @ W1.T + b1) @ W2.T + b2.",
                   what="x @ W1.T + b1 = [1, -1]; tanh; then @ W2.T + b2 = [tanh(1) + 0.5, 0.5 - tanh(1)]")
    c.expect(getattr(got, "dtype", None) == f64, getattr(got, "dtype", type(got).__name__), f64,
             c.says("changes_dtype"), what="float64 inputs")
    g = torch.Generator().manual_seed(1)
    args = [torch.randn(s, generator=g) for s in ((5, 3), (4, 3), (4,), (2, 4), (2,))]
    got = c.call(*args)
    c.expect_close(got, ref.two_layer_net(*args),
                   "x (5, 3), W1 (4, 3), W2 (2, 4): the result has shape (N, d_out) = (5, 2).",
                   what="a float32 batch", atol=1e-5)


def _structure(net: Any) -> tuple:
    """What an mlp's result is made of: its type, modules (nn.Identity left out), Linear shapes,
    and how many distinct module objects it holds."""
    if not isinstance(net, nn.Module):
        return (type(net).__name__,)
    children = [m for m in (net if isinstance(net, nn.Sequential) else net.children())
                if not isinstance(m, nn.Identity)]
    return (type(net).__name__, " -> ".join(type(m).__name__ for m in children),
            [(m.in_features, m.out_features) for m in children if isinstance(m, nn.Linear)],
            len({id(m) for m in children}))


@check("mlp")
def check_mlp(c: Checker) -> None:
    """Check the layers, activations and forward pass of two small MLPs."""
    net = c.call([3, 4, 2])
    kind, modules, shapes, _ = (*_structure(net), "", [], 0)[:4]
    named = c.named_by(_structure(net), lambda impl: _structure(impl([3, 4, 2])))
    c.expect(isinstance(net, nn.Sequential), kind, "nn.Sequential",
             named or "return nn.Sequential(*layers) with the layers in a list.")
    c.expect(shapes == [(3, 4), (4, 2)], f"Linear layers {shapes}", "Linear layers [(3, 4), (4, 2)]",
             named or "one nn.Linear(sizes[i], sizes[i + 1]) for each consecutive pair of sizes.")
    c.expect(modules == "Linear -> Tanh -> Linear", modules, "Linear -> Tanh -> Linear (-> Identity)",
             named or "the activation goes between Linear layers, not after the last one: the last "
             "Linear is followed by output_activation (nn.Identity by default).")
    args, kwargs = ([2, 5, 5, 1],), {"activation": nn.ReLU, "output_activation": nn.Sigmoid}
    net = c.call(*args, **kwargs)
    _, modules, _, distinct = _structure(net)
    named = c.named_by(_structure(net), lambda impl: _structure(impl(*args, **kwargs)))
    want = "Linear -> ReLU -> Linear -> ReLU -> Linear -> Sigmoid"
    c.expect(modules == want, modules, want,
             named or "use the activation and output_activation arguments, and instantiate them "
             "(activation()) once per layer.")
    c.expect(distinct == 6, f"{modules} made of {distinct} module objects",
             "a separate module object per layer", named or "call activation() for every layer.")
    x = torch.randn(7, 2, generator=torch.Generator().manual_seed(0))
    try:
        y = net(x)
    except Exception as e:  # noqa: BLE001 - shown kindly
        c.fail(f"the network returned by {c._call} raised {type(e).__name__}: {e} on an input "
               "of shape (7, 2)", hint="each Linear's input size must be the previous output size.")
    c.expect(tuple(y.shape) == (7, 1) and bool(((y > 0) & (y < 1)).all()), fmt(y),
             "shape (7, 1), values in (0, 1) after the Sigmoid",
             "the forward pass maps (N, sizes[0]) to (N, sizes[-1]).", what="net(x) for x (7, 2)")


@check("mse_loss")
def check_mse_loss(c: Checker) -> None:
    """Check the mean squared error and its gradient on a three-element and a (2, 2) example."""
    pred = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    target = torch.tensor([2.0, 1.0, 1.0])
    loss = c.call(pred, target)
    c.expect_close(loss, 2.0, "the mean of the squared differences over all elements.",
                   what="pred - target = [-1, 1, 2]: ((-1)^2 + 1^2 + 2^2) / 3")
    c.expect_type(loss, torch.Tensor, "a torch Tensor", c.says("not_a_tensor"))
    c.expect(loss.requires_grad, "a Tensor with requires_grad=False", "a Tensor that requires grad",
             c.says("detached"), what="gradient")
    loss.reshape(()).backward()
    c.expect_close(pred.grad, torch.tensor([-2.0 / 3.0, 2.0 / 3.0, 4.0 / 3.0]),
                   "after loss.backward(), pred.grad must be 2 (pred - target) / n.",
                   what="pred.grad after loss.backward()")
    pred = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64, requires_grad=True)
    target = torch.tensor([[0.0, 3.0], [1.0, 2.0]], dtype=torch.float64)
    loss = c.call(pred, target)
    c.expect_close(loss, 2.5, "one number: the mean over ALL elements, whatever the shape.",
                   what="pred - target = [[1, -1], [2, 2]]: (1 + 1 + 4 + 4) / 4")
    c.expect(getattr(loss, "dtype", None) == torch.float64, getattr(loss, "dtype", type(loss).__name__),
             torch.float64, c.says("changes_dtype"), what="float64 inputs")


def _fresh_params() -> tuple[nn.Parameter, torch.Tensor, nn.Parameter]:
    """p = [1, 2] with gradient g = [0.5, -1], and q = [3], unused in the loss (grad None)."""
    p = nn.Parameter(torch.tensor([1.0, 2.0]))
    g = torch.tensor([0.5, -1.0])
    p.grad = g
    return p, g, nn.Parameter(torch.tensor([3.0]))


def _step_state(params: list, p: nn.Parameter, g: torch.Tensor, q: nn.Parameter) -> tuple:
    """After sgd_step(params, 0.1) with params = [p, q]: p's value, p.grad ("zeroed" for zeros or
    None), q's value, whether p still requires grad, whether p changes when its old gradient g
    does, and whether the list still holds p and q."""
    value = p.detach().clone().numpy()
    grad = "zeroed" if p.grad is None or not bool(p.grad.any()) else p.grad.clone().numpy()
    with torch.no_grad():
        g.add_(1.0)  # what the next backward() does to a gradient
    shares = not np.array_equal(p.detach().numpy(), value)
    kept = len(params) == 2 and params[0] is p and params[1] is q
    return value, grad, q.detach().clone().numpy(), bool(p.requires_grad), shares, kept


def _model_state(params: Any) -> tuple:
    """A seeded nn.Linear(2, 1) after one backward(), sgd_step(model.parameters(), 0.5) on it;
    return its values before, gradients, values after and the gradients left non-zero."""
    torch.manual_seed(0)
    model = nn.Linear(2, 1)
    before = [t.detach().clone() for t in model.parameters()]
    model(torch.ones(1, 2)).sum().backward()
    grads = [t.grad.clone() for t in model.parameters()]
    params(model)
    after = torch.cat([t.detach().flatten() for t in model.parameters()]).numpy()
    expected = torch.cat([(b - 0.5 * g).flatten() for b, g in zip(before, grads)]).numpy()
    left = [t.grad for t in model.parameters() if t.grad is not None and bool(t.grad.any())]
    return after, expected, len(left)


@check("sgd_step")
def check_sgd_step(c: Checker) -> None:
    """Check one step theta <- theta - lr * grad on a list and on model.parameters()."""
    def outcome(impl: Any) -> tuple:
        p, g, q = _fresh_params()
        impl(params := [p, q], 0.1)
        return _step_state(params, p, g, q)

    p, g, q = _fresh_params()
    c.call(params := [p, q], 0.1)
    state = _step_state(params, p, g, q)
    named = c.named_by(state, outcome)
    value, grad, q_value, requires_grad, shares, _ = state
    c.expect_close(value, np.array([0.95, 2.1]),
                   named or "theta <- theta - lr * grad, in place (p -= lr * p.grad inside "
                   "torch.no_grad()).", what="[1 - 0.1*0.5, 2 + 0.1*1]", after="p")
    c.expect(isinstance(grad, str), grad, "zeros (or None)",
             named or "zero the gradient after the step (p.grad.zero_()), else the next backward() "
             "adds to it.", after="p.grad")
    c.expect_close(q_value, np.array([3.0]), named or c.says("none_grad"), what="its grad is None",
                   after="q")
    c.expect(requires_grad, "a Parameter with requires_grad=False", "a Parameter that requires grad",
             named or "update the value in place without changing requires_grad.", after="p")
    c.expect(not shares, "a Parameter that changed when its old gradient was changed",
             "a Parameter with its own memory", named or "update p itself in place, p -= lr * p.grad.",
             after="p")
    after, expected, left = _model_state(lambda model: c.call(model.parameters(), 0.5))
    named = c.named_by((after, left), lambda impl: _model_state(lambda m: impl(m.parameters(), 0.5))[::2])
    c.expect_close(after, expected, named or "sgd_step(model.parameters(), lr) must update the "
                   "model's own parameters.", after="the nn.Linear(2, 1)'s weight and bias")
    c.expect(left == 0, left, 0, named or "zero each gradient in the same loop as its update.",
             after="the number of the model's non-zero gradients")
