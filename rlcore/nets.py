"""Deep-learning building blocks of lesson 01: a two-layer net, MLPs, the MSE loss, one SGD step.

The talk's recap of deep learning, in its notation:

* a model is a function of parameters, e.g.
  f_theta(x) = W2 sigma(W1 x + b1) + b2 with theta = {W1, b1, W2, b2};
* a differentiable loss over a data set D measures it,
  L(theta) = 1/|D| sum_{(x, y) in D} l(x, y, f_theta(x));
* gradient descent finds good parameters, theta <- theta - alpha grad_theta L(theta)
  (autograd computes grad_theta L by backpropagation);
* "deep" means function composition: many layers, the output of one the input of the next.

These are the reference answers of the lesson's exercises (the lesson imports them only
after the learner has written their own) and the MLP every later policy and Q-network uses.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Sequence

import torch
from torch import Tensor, nn

__all__ = ["StackedMLP", "mlp", "mse_loss", "sgd_step", "two_layer_net"]


def _tensor(x: object, name: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch Tensor, got {type(x).__name__}")
    return x


def two_layer_net(x: Tensor, W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor) -> Tensor:
    """Return f_theta(x) = W2 tanh(W1 x + b1) + b2 for every row x of a batch, shape (N, d_out).

    x: (N, d_in) batch of inputs; W1: (h, d_in); b1: (h,); W2: (d_out, h); b2: (d_out,).
    Row by row this is the talk's two-layer network with sigma = tanh; for a batch whose
    rows are inputs, W1 x becomes ``x @ W1.T``. The result keeps x's dtype and carries
    the autograd graph to every argument that requires grad.
    Raises TypeError if an argument is not a Tensor, ValueError if the shapes do not fit.
    """
    for name, t, ndim in (("x", x, 2), ("W1", W1, 2), ("b1", b1, 1), ("W2", W2, 2), ("b2", b2, 1)):
        if _tensor(t, name).ndim != ndim:
            raise ValueError(f"{name} must be {ndim}-dimensional, got shape {tuple(t.shape)}")
    h, d_in = W1.shape
    if x.shape[1] != d_in:
        raise ValueError(f"x has {x.shape[1]} features but W1 has shape {tuple(W1.shape)} (h, d_in)")
    if b1.shape != (h,):
        raise ValueError(f"b1 must have shape ({h},) to match W1, got {tuple(b1.shape)}")
    if W2.shape[1] != h:
        raise ValueError(f"W2 must have shape (d_out, {h}) to match W1, got {tuple(W2.shape)}")
    if b2.shape != (W2.shape[0],):
        raise ValueError(f"b2 must have shape ({W2.shape[0]},) to match W2, got {tuple(b2.shape)}")
    return torch.tanh(x @ W1.T + b1) @ W2.T + b2


def _check_sizes(sizes: Sequence[int]) -> list[int]:
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
        raise TypeError(f"sizes must be a list or tuple of ints, got {type(sizes).__name__}")
    if len(sizes) < 2:
        raise ValueError(f"sizes must hold at least an input and an output size, got {list(sizes)}")
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1:
            raise ValueError(f"sizes must be positive ints, got {list(sizes)}")
    return [int(s) for s in sizes]


def mlp(
    sizes: Sequence[int],
    activation: Callable[[], nn.Module] = nn.Tanh,
    output_activation: Callable[[], nn.Module] = nn.Identity,
) -> nn.Sequential:
    """Return a multi-layer perceptron: Linear layers with ``activation`` between them.

    sizes: [d_in, h_1, ..., h_k, d_out]; layer i is ``nn.Linear(sizes[i], sizes[i+1])``.
    activation, output_activation: module classes (or zero-argument factories), called once
    per use so every layer gets its own instance. The network computes the composition
    f(x) = out_act(L_k(act(... act(L_1 x)))), mapping (N, d_in) to (N, d_out):
    ``Sequential(Linear, act, Linear, act, ..., Linear, output_activation)``.
    Raises TypeError/ValueError for sizes that are not at least two positive ints, and
    TypeError if an activation does not build an ``nn.Module``.
    """
    sizes = _check_sizes(sizes)
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        act = activation if i < len(sizes) - 2 else output_activation
        name = "activation" if i < len(sizes) - 2 else "output_activation"
        if isinstance(act, nn.Module) or not callable(act):
            raise TypeError(f"{name} must be an nn.Module class such as nn.Tanh (not an instance), "
                            f"got {act!r}")
        module = act()
        if not isinstance(module, nn.Module):
            raise TypeError(f"{name} must be an nn.Module class such as nn.Tanh, got {act!r}")
        layers += [nn.Linear(sizes[i], sizes[i + 1]), module]
    return nn.Sequential(*layers)


def mse_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Return the mean squared error L = 1/n sum_i (pred_i - target_i)^2 as a scalar Tensor.

    pred, target: Tensors of the same shape (any number of elements n >= 1); the mean
    runs over all elements. The result keeps the autograd graph to ``pred`` (and to
    ``target`` if it requires grad), so ``loss.backward()`` fills ``.grad``.
    Raises TypeError if either is not a Tensor, ValueError if their shapes differ (a
    (N,) target against a (N, 1) prediction would silently broadcast to (N, N)).
    """
    _tensor(pred, "pred")
    _tensor(target, "target")
    if pred.shape != target.shape:
        raise ValueError(f"pred and target must have the same shape, got {tuple(pred.shape)} and "
                         f"{tuple(target.shape)}")
    if pred.numel() == 0:
        raise ValueError("pred must not be empty")
    return ((pred - target) ** 2).mean()


def sgd_step(params: Iterable[Tensor], lr: float) -> None:
    """Return None after one in-place gradient-descent step theta <- theta - lr * grad, zeroing grads.

    params: an iterable of tensors, e.g. ``model.parameters()`` (a generator: it is
    iterated exactly once). lr: the step size alpha > 0. Under ``torch.no_grad()`` each
    ``p`` with a gradient becomes ``p - lr * p.grad`` in place (the same Parameter
    objects, so an optimizer or a model holding them sees the change), then its
    ``.grad`` is zeroed; parameters whose ``.grad`` is None are skipped.
    Raises ValueError for a negative or non-finite lr, TypeError for a non-Tensor in params.
    """
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not (0 <= float(lr) < float("inf")):
        raise ValueError(f"lr must be a finite number >= 0, got {lr!r}")
    with torch.no_grad():
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"params[{i}] must be a torch Tensor, got {type(p).__name__}")
            if p.grad is None:
                continue
            p.sub_(p.grad, alpha=float(lr))
            p.grad.zero_()


class StackedMLP(nn.Module):
    """K independent MLPs evaluated as one batched computation: (K, B, d_in) -> (K, B, d_out).

    Member k computes the same function as ``mlp(sizes, activation)`` with its own weights
    (initialised like ``nn.Linear``: U(-1/sqrt(fan_in), 1/sqrt(fan_in))). One ``baddbmm``
    per layer runs all K members at once, which on a CPU costs little more than one member:
    TD3/SAC's twin critics (K = 2), or K seeds trained side by side. An input of shape
    (B, d_in) is shared by every member. ``member(k)`` returns member k as an ``nn.Sequential``.
    Raises ValueError for k < 1 or bad sizes (as ``mlp``).
    """

    def __init__(self, k: int, sizes: Sequence[int], activation: Callable[[], nn.Module] = nn.ReLU,
                 output_activation: Callable[[], nn.Module] = nn.Identity) -> None:
        super().__init__()
        if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
            raise ValueError(f"k must be an integer >= 1, got {k!r}")
        self.k, self.sizes = int(k), _check_sizes(sizes)
        self._activation, self._output_activation = activation, output_activation
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for d_in, d_out in zip(self.sizes[:-1], self.sizes[1:]):
            bound = 1.0 / d_in ** 0.5
            self.weights.append(nn.Parameter(torch.empty(self.k, d_in, d_out).uniform_(-bound, bound)))
            self.biases.append(nn.Parameter(torch.empty(self.k, 1, d_out).uniform_(-bound, bound)))
        self.act, self.out_act = activation(), output_activation()

    @classmethod
    def from_mlps(cls, nets: Sequence[nn.Sequential], activation: Callable[[], nn.Module] = nn.ReLU,
                  output_activation: Callable[[], nn.Module] = nn.Identity) -> StackedMLP:
        """Stack K ordinary MLPs of one shape (``mlp``'s Linear layers) into one StackedMLP.

        Member k starts from exactly net k's weights (a population of seeds starts as each
        seed's ``train`` would); the global torch random stream is left as it was.
        """
        linears = [[m for m in net if isinstance(m, nn.Linear)] for net in nets]
        sizes = [linears[0][0].in_features] + [lin.out_features for lin in linears[0]]
        with torch.random.fork_rng(devices=[]):  # the random initialisation is overwritten below
            stacked = cls(len(nets), sizes, activation, output_activation)
        with torch.no_grad():
            for j, (w, b) in enumerate(zip(stacked.weights, stacked.biases)):
                w.copy_(torch.stack([ls[j].weight.T for ls in linears]))
                b.copy_(torch.stack([ls[j].bias[None] for ls in linears]))
        return stacked

    def forward(self, x: Tensor, detach_params: bool = False) -> Tensor:
        """Return every member's output, (K, B, d_out), for x of shape (K, B, d_in) or (B, d_in).

        detach_params: use the weights as constants, so a loss of the output sends gradients
        to x (and what x came from, e.g. an actor) but none to the weights (SAC/TD3's actor loss).
        """
        if x.ndim == 2:
            x = x.unsqueeze(0).expand(self.k, *x.shape)
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            if detach_params:
                w, b = w.detach(), b.detach()
            x = torch.baddbmm(b, x, w)
            x = self.act(x) if i < last else self.out_act(x)
        return x

    def member(self, k: int) -> nn.Sequential:
        """Return a copy of member ``k`` as an ordinary ``mlp`` (for evaluation, saving, plotting)."""
        net = mlp(self.sizes, self._activation, self._output_activation)
        linears = [m for m in net if isinstance(m, nn.Linear)]
        with torch.no_grad():
            for lin, w, b in zip(linears, self.weights, self.biases):
                lin.weight.copy_(w[k].T)
                lin.bias.copy_(b[k, 0])
        return net

