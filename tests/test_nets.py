"""rlcore.nets: the two-layer net, mlp, mse_loss and sgd_step (lesson 01's reference answers)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from rlcore.nets import mlp, mse_loss, sgd_step, two_layer_net


def _theta(dtype=torch.float64, seed=0, d_in=3, h=4, d_out=2):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=g, dtype=dtype) for s in ((h, d_in), (h,), (d_out, h), (d_out,))]


def test_two_layer_net_matches_the_talk_formula_row_by_row():
    W1, b1, W2, b2 = _theta()
    x = torch.randn(5, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    out = two_layer_net(x, W1, b1, W2, b2)
    assert out.shape == (5, 2) and out.dtype == torch.float64
    for i in range(5):  # f(x) = W2 tanh(W1 x + b1) + b2 for one column vector x
        torch.testing.assert_close(out[i], W2 @ torch.tanh(W1 @ x[i] + b1) + b2)


def test_two_layer_net_hand_worked_value_and_gradients():
    x = torch.tensor([[1.0, 2.0]])
    W1 = torch.tensor([[1.0, 0.0], [0.0, 1.0]], requires_grad=True)
    b1 = torch.zeros(2)
    W2 = torch.tensor([[1.0, 1.0]])
    b2 = torch.tensor([0.5])
    out = two_layer_net(x, W1, b1, W2, b2)
    assert out.item() == pytest.approx(math.tanh(1) + math.tanh(2) + 0.5)
    out.sum().backward()  # d/dW1[i, j] = (1 - tanh(pre_i)^2) x_j
    expected = torch.tensor([[1 - math.tanh(1) ** 2, 2 * (1 - math.tanh(1) ** 2)],
                             [1 - math.tanh(2) ** 2, 2 * (1 - math.tanh(2) ** 2)]])
    torch.testing.assert_close(W1.grad, expected)


@pytest.mark.parametrize("bad,match", [
    ({"x": torch.ones(3)}, "x must be 2-dimensional"),
    ({"x": torch.ones(2, 5)}, "x has 5 features"),
    ({"b1": torch.ones(3)}, "b1 must have shape"),
    ({"W2": torch.ones(2, 3)}, "W2 must have shape"),
    ({"b2": torch.ones(3)}, "b2 must have shape"),
])
def test_two_layer_net_names_the_bad_argument(bad, match):
    args = dict(zip(["W1", "b1", "W2", "b2"], _theta(torch.float32)))
    args = {"x": torch.ones(2, 3), **args, **bad}
    with pytest.raises(ValueError, match=match):
        two_layer_net(**args)
    with pytest.raises(TypeError, match="W1 must be a torch Tensor"):
        two_layer_net(torch.ones(2, 3), [[1.0]], *_theta(torch.float32)[1:])


def test_mlp_layers_activations_and_forward():
    net = mlp([3, 5, 4, 2], activation=nn.ReLU, output_activation=nn.Sigmoid)
    assert isinstance(net, nn.Sequential)
    assert [type(m).__name__ for m in net] == ["Linear", "ReLU", "Linear", "ReLU", "Linear", "Sigmoid"]
    assert [(m.in_features, m.out_features) for m in net if isinstance(m, nn.Linear)] == [(3, 5), (5, 4), (4, 2)]
    assert len({id(m) for m in net}) == len(net)  # a fresh activation per layer
    x = torch.randn(7, 3, generator=torch.Generator().manual_seed(0))
    h = x
    for lin in [m for m in net if isinstance(m, nn.Linear)][:-1]:
        h = torch.relu(lin(h))
    torch.testing.assert_close(net(x), torch.sigmoid(net[4](h)))


def test_mlp_defaults_and_single_layer():
    net = mlp([2, 1])
    assert [type(m).__name__ for m in net] == ["Linear", "Identity"]
    assert [type(m).__name__ for m in mlp([2, 8, 1])] == ["Linear", "Tanh", "Linear", "Identity"]


@pytest.mark.parametrize("sizes,err,match", [
    ([3], ValueError, "at least an input and an output"),
    ([3, 0, 1], ValueError, "positive ints"),
    ([3, 2.5, 1], ValueError, "positive ints"),
    (5, TypeError, "sizes must be a list"),
])
def test_mlp_rejects_bad_sizes(sizes, err, match):
    with pytest.raises(err, match=match):
        mlp(sizes)


def test_mlp_rejects_activation_instances():
    with pytest.raises(TypeError, match="activation must be an nn.Module class"):
        mlp([2, 3, 1], activation=nn.Tanh())
    with pytest.raises(TypeError, match="output_activation"):
        mlp([2, 1], output_activation=lambda: "not a module")


def test_mse_loss_value_gradient_and_dtype():
    pred = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
    target = torch.ones(3, dtype=torch.float64)
    loss = mse_loss(pred, target)
    assert loss.shape == () and loss.dtype == torch.float64
    assert loss.item() == pytest.approx(5 / 3)
    loss.backward()
    torch.testing.assert_close(pred.grad, torch.tensor([0.0, 2 / 3, 4 / 3], dtype=torch.float64))
    assert mse_loss(torch.ones(2, 3), torch.zeros(2, 3)).item() == pytest.approx(1.0)


def test_mse_loss_refuses_silent_broadcasting():
    with pytest.raises(ValueError, match="same shape"):
        mse_loss(torch.ones(4, 1), torch.ones(4))
    with pytest.raises(TypeError, match="target must be a torch Tensor"):
        mse_loss(torch.ones(2), [1.0, 2.0])


def test_sgd_step_updates_in_place_skips_none_and_zeroes():
    p = nn.Parameter(torch.tensor([1.0, 2.0]))
    q = nn.Parameter(torch.tensor([3.0]))
    p.grad = torch.tensor([0.5, -1.0])
    before = p
    sgd_step([p, q], 0.1)
    assert before is p
    torch.testing.assert_close(p.detach(), torch.tensor([0.95, 2.1]))
    torch.testing.assert_close(p.grad, torch.zeros(2))
    assert q.grad is None and q.item() == 3.0
    assert p.requires_grad


def test_sgd_step_accepts_model_parameters_generator_and_matches_torch_sgd():
    torch.manual_seed(0)
    a = nn.Linear(3, 2)
    b = nn.Linear(3, 2)
    b.load_state_dict(a.state_dict())
    x = torch.randn(4, 3)
    for m in (a, b):
        m(x).pow(2).sum().backward()
    sgd_step(a.parameters(), 0.05)
    opt = torch.optim.SGD(b.parameters(), lr=0.05)
    opt.step()
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb)
        assert not pa.grad.any()


@pytest.mark.parametrize("lr", [-0.1, float("nan"), "0.1", True])
def test_sgd_step_rejects_bad_lr(lr):
    with pytest.raises(ValueError, match="lr must be"):
        sgd_step([nn.Parameter(torch.ones(1))], lr)


def test_sgd_step_names_a_non_tensor_parameter():
    with pytest.raises(TypeError, match=r"params\[1\]"):
        sgd_step([nn.Parameter(torch.ones(1)), 3.0], 0.1)


def test_fitting_a_line_with_the_four_pieces_reduces_the_loss():
    torch.manual_seed(0)
    x = torch.linspace(-1, 1, 32)[:, None]
    y = 2 * x + 0.5
    net = mlp([1, 8, 1])
    first = None
    for _ in range(300):
        loss = mse_loss(net(x), y)
        first = first if first is not None else loss.item()
        loss.backward()
        sgd_step(net.parameters(), 0.1)
    assert loss.item() < 0.05 * first


def test_stacked_mlp_members_match_ordinary_mlps_and_are_independent():
    from rlcore.nets import StackedMLP

    torch.manual_seed(0)
    net = StackedMLP(3, [4, 8, 2])
    x = torch.randn(3, 5, 4)
    out = net(x)
    assert out.shape == (3, 5, 2)
    for k in range(3):  # each member is the mlp it says it is
        assert torch.allclose(net.member(k)(x[k]), out[k], atol=1e-6)
    shared = net(x[0])  # a (B, d_in) input goes to every member
    assert torch.allclose(shared[1], net.member(1)(x[0]), atol=1e-6)
    out[1].sum().backward()  # the gradient of member 1 reaches only member 1's weights
    assert net.weights[0].grad[1].abs().sum() > 0
    assert net.weights[0].grad[0].abs().sum() == 0 and net.weights[0].grad[2].abs().sum() == 0
    with pytest.raises(ValueError, match="k must be"):
        StackedMLP(0, [4, 2])
