"""Visible checks for lesson 01: the deep-learning recap (two-layer net, MLP, MSE, SGD step)."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from .. import nets as ref
from ._core import Checker, fmt, run_check

__all__ = ["check_mlp", "check_mse_loss", "check_sgd_step", "check_two_layer_net"]


def check_two_layer_net(fn: Any) -> None:
    """Check f(x) = W2 tanh(W1 x + b1) + b2 on a hand-worked input and on a float32 batch."""
    __tracebackhide__ = True

    def body(c: Checker) -> None:
        x = torch.tensor([[1.0, 2.0]], dtype=torch.float64)
        W1 = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
        b1 = torch.tensor([0.0, 0.0, -3.0], dtype=torch.float64)
        W2 = torch.tensor([[1.0, 1.0, 1.0]], dtype=torch.float64)
        b2 = torch.tensor([0.5], dtype=torch.float64)
        hint = ("W1 x + b1 = [1, 2, 0] for this x; tanh of it, then W2 (...) + b2. For a batch whose "
                "rows are inputs write torch.tanh(x @ W1.T + b1) @ W2.T + b2. If you got 3.5 you "
                "used no tanh (or ReLU); 1.7256 means b2 is missing.")
        got = c.call(x, W1, b1, W2, b2)
        c.expect_close(got, torch.tensor([[math.tanh(1) + math.tanh(2) + 0.5]], dtype=torch.float64),
                       hint, what="tanh(1) + tanh(2) + tanh(0) + 0.5")
        c.expect(getattr(got, "dtype", None) == torch.float64, getattr(got, "dtype", type(got)),
                 torch.float64, "keep the inputs' dtype (float64 here): no .float() or new tensors.")
        g = torch.Generator().manual_seed(1)
        args = [torch.randn(s, generator=g) for s in ((5, 3), (4, 3), (4,), (2, 4), (2,))]
        got = c.call(*args)
        c.expect_close(got, ref.two_layer_net(*args),
                       "x (5, 3), W1 (4, 3), W2 (2, 4): the result has shape (N, d_out) = (5, 2). "
                       "A shape error means a missing .T: x @ W1.T, then @ W2.T.",
                       what="a float32 batch", atol=1e-5)

    run_check("two_layer_net", fn, body)


def _describe_net(net: Any) -> str:
    if not isinstance(net, nn.Module):
        return fmt(net)
    return " -> ".join(type(m).__name__ for m in (net if isinstance(net, nn.Sequential) else net.children()))


def check_mlp(fn: Any) -> None:
    """Check the layers, activations and forward pass of two small MLPs."""
    __tracebackhide__ = True

    def body(c: Checker) -> None:
        net = c.call([3, 4, 2])
        c.expect(isinstance(net, nn.Sequential), type(net).__name__, "nn.Sequential",
                 "return nn.Sequential(*layers) with the layers in a list.")
        shapes = [(m.in_features, m.out_features) for m in net.modules() if isinstance(m, nn.Linear)]
        c.expect(shapes == [(3, 4), (4, 2)], f"Linear layers {shapes}", "Linear layers [(3, 4), (4, 2)]",
                 "one nn.Linear(sizes[i], sizes[i + 1]) for each consecutive pair of sizes.")
        kinds = [type(m).__name__ for m in net if not isinstance(m, nn.Identity)]
        c.expect(kinds == ["Linear", "Tanh", "Linear"], _describe_net(net),
                 "Linear -> Tanh -> Linear (-> Identity)",
                 "the activation goes between Linear layers, not after the last one: the last "
                 "Linear is followed by output_activation (nn.Identity by default).")
        net = c.call([2, 5, 5, 1], activation=nn.ReLU, output_activation=nn.Sigmoid)
        kinds = [type(m).__name__ for m in net]
        want = ["Linear", "ReLU", "Linear", "ReLU", "Linear", "Sigmoid"]
        c.expect(kinds == want, _describe_net(net), " -> ".join(want),
                 "use the activation and output_activation arguments, and instantiate them "
                 "(activation()) once per layer.")
        c.expect(len({id(m) for m in net}) == len(kinds), _describe_net(net),
                 "a separate module object per layer",
                 "call activation() for every layer instead of reusing one instance.")
        x = torch.randn(7, 2, generator=torch.Generator().manual_seed(0))
        try:
            y = net(x)
        except Exception as e:  # noqa: BLE001 - shown kindly
            c.fail(f"the network returned by {c._call} raised {type(e).__name__}: {e} on an input "
                   "of shape (7, 2)", hint="each Linear's input size must be the previous output size.")
        c.expect(tuple(y.shape) == (7, 1) and bool(((y > 0) & (y < 1)).all()), fmt(y),
                 "shape (7, 1), values in (0, 1) after the Sigmoid",
                 "the forward pass maps (N, sizes[0]) to (N, sizes[-1]).", what="net(x) for x (7, 2)")

    run_check("mlp", fn, body)


def check_mse_loss(fn: Any) -> None:
    """Check the mean squared error and its gradient on a three-element example."""
    __tracebackhide__ = True

    def body(c: Checker) -> None:
        pred = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
        target = torch.tensor([1.0, 1.0, 1.0])
        loss = c.call(pred, target)
        c.expect_close(loss, 5.0 / 3.0,
                       "mean of the squared differences: (0^2 + 1^2 + 2^2) / 3. 5 means you summed "
                       "instead of averaging; 1 means no square; 1.29 is the square root (RMSE).",
                       what="(0 + 1 + 4) / 3")
        c.expect(isinstance(loss, torch.Tensor) and loss.numel() == 1 and loss.requires_grad,
                 fmt(loss), "a scalar Tensor that requires grad",
                 "return the Tensor itself (no .item(), no numpy, no .detach()) so that "
                 "loss.backward() works.")
        loss.backward()
        c.expect_close(pred.grad, torch.tensor([0.0, 2.0 / 3.0, 4.0 / 3.0]),
                       "after loss.backward(), pred.grad must be 2 (pred - target) / n.",
                       what="pred.grad after loss.backward()")

    run_check("mse_loss", fn, body)


def check_sgd_step(fn: Any) -> None:
    """Check one step theta <- theta - lr * grad on a list and on model.parameters()."""
    __tracebackhide__ = True

    def body(c: Checker) -> None:
        p = nn.Parameter(torch.tensor([1.0, 2.0]))
        p.grad = torch.tensor([0.5, -1.0])
        q = nn.Parameter(torch.tensor([3.0]))  # unused in the loss: its grad is None
        c.call([p, q], 0.1)
        c.expect_close(p.detach(), torch.tensor([0.95, 2.1]),
                       "theta <- theta - lr * grad, in place (p -= lr * p.grad inside "
                       "torch.no_grad()). [1.05, 1.9] means + instead of -; [1, 2] means the "
                       "parameter was not changed in place.", what="[1 - 0.1*0.5, 2 + 0.1*1]", after="p")
        c.expect(p.grad is None or not bool(p.grad.any()), p.grad, "zeros (or None)",
                 "zero the gradient after the step (p.grad.zero_()), else the next backward() adds to it.",
                 after="p.grad")
        c.expect_close(q.detach(), torch.tensor([3.0]),
                       "skip parameters whose .grad is None.", what="its grad is None", after="q")
        model = nn.Linear(2, 1)
        before = [t.detach().clone() for t in model.parameters()]
        model(torch.ones(1, 2)).sum().backward()
        grads = [t.grad.clone() for t in model.parameters()]
        c.call(model.parameters(), 0.5)
        after = [t.detach() for t in model.parameters()]
        c.expect_close(torch.cat([a.flatten() for a in after]),
                       torch.cat([(b - 0.5 * g).flatten() for b, g in zip(before, grads)]),
                       "sgd_step(model.parameters(), lr) must update the model's own parameters.",
                       after="the nn.Linear(2, 1)'s weight and bias")
        left = [t.grad for t in model.parameters() if t.grad is not None and bool(t.grad.any())]
        c.expect(not left, fmt(left), "zeroed gradients",
                 "model.parameters() is a generator that can be iterated once: update and zero "
                 "each gradient in the same loop.", after="the list of non-zero gradients")

    run_check("sgd_step", fn, body)
