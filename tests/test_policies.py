"""rlcore.policies: categorical and diagonal Gaussian log-likelihoods, sampling, policy modules."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rlcore.policies import (
    CategoricalPolicy,
    GaussianPolicy,
    categorical_log_prob,
    categorical_sample,
    gaussian_log_prob,
    gaussian_sample,
)


def test_categorical_log_prob_hand_worked():
    z = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    lse = math.log(math.e + math.e**2 + math.e**3)
    out = categorical_log_prob(z, torch.tensor([2, 1]))
    torch.testing.assert_close(out, torch.tensor([3 - lse, -math.log(3)], dtype=torch.float64))


def test_categorical_log_prob_is_finite_for_huge_logits_and_keeps_dtype():
    z = torch.tensor([[1e4, 0.0, -1e4]], dtype=torch.float32)
    out = categorical_log_prob(z, torch.tensor([2]))
    assert out.dtype == torch.float32 and torch.isfinite(out).all()
    assert out.item() == pytest.approx(-2e4)
    assert torch.isinf(torch.log(torch.softmax(z, -1))[0, 2])  # the naive way fails here


def test_categorical_log_prob_matches_torch_distributions_and_its_gradient():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(6, 4, generator=g, dtype=torch.float64, requires_grad=True)
    a = torch.randint(0, 4, (6,), generator=g)
    out = categorical_log_prob(z, a)
    torch.testing.assert_close(out, torch.distributions.Categorical(logits=z).log_prob(a))
    out.sum().backward()  # d log pi(a|s) / dz = onehot(a) - softmax(z)
    expected = torch.nn.functional.one_hot(a, 4).double() - torch.softmax(z.detach(), -1)
    torch.testing.assert_close(z.grad, expected)


@pytest.mark.parametrize("actions,err,match", [
    (torch.tensor([0.0, 1.0]), TypeError, "integer Tensor"),
    (torch.tensor([0, 1, 2]), ValueError, r"shape \(2,\)"),
    (torch.tensor([0, 3]), ValueError, r"\[0, 3\)"),
    ([0, 1], TypeError, "actions must be a torch Tensor"),
])
def test_categorical_log_prob_names_bad_actions(actions, err, match):
    with pytest.raises(err, match=match):
        categorical_log_prob(torch.zeros(2, 3), actions)


def test_categorical_log_prob_names_bad_logits():
    with pytest.raises(TypeError, match="logits must be a torch Tensor"):
        categorical_log_prob(np.zeros((2, 3)), torch.tensor([0, 1]))
    with pytest.raises(TypeError, match="floating-point"):
        categorical_log_prob(torch.zeros(2, 3, dtype=torch.long), torch.tensor([0, 1]))


def test_categorical_sample_frequencies_shape_dtype_and_seed():
    p = torch.tensor([0.6, 0.3, 0.1], dtype=torch.float64)
    logits = p.log().repeat(20_000, 1)
    a = categorical_sample(logits, torch.Generator().manual_seed(0))
    assert a.shape == (20_000,) and a.dtype == torch.int64
    freq = torch.bincount(a, minlength=3).double() / len(a)
    assert torch.allclose(freq, p, atol=0.015)  # 6 standard deviations
    b = categorical_sample(logits, torch.Generator().manual_seed(0))
    c = categorical_sample(logits, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_categorical_sample_large_logits_and_batch_shapes():
    z = torch.tensor([[0.0, 100.0, 0.0], [1e4, -1e4, 0.0]])
    assert categorical_sample(z).tolist() == [1, 0]
    assert categorical_sample(torch.zeros(2, 5, 3)).shape == (2, 5)
    with pytest.raises(ValueError, match="finite"):
        categorical_sample(torch.tensor([[0.0, float("nan")]]))


def test_gaussian_log_prob_hand_worked_and_shapes():
    c = 0.5 * math.log(2 * math.pi)
    out = gaussian_log_prob(torch.tensor([[0.0]]), torch.tensor([0.0]), torch.tensor([0.0]))
    torch.testing.assert_close(out, torch.tensor([-c]))
    x = torch.tensor([[1.0, 2.0]], dtype=torch.float64)
    out = gaussian_log_prob(x, torch.zeros(2, dtype=torch.float64),
                            torch.tensor([0.0, math.log(2.0)], dtype=torch.float64))
    assert out.dtype == torch.float64
    assert out.item() == pytest.approx(-0.5 - 0.5 - math.log(2.0) - 2 * c)
    per_row = gaussian_log_prob(torch.zeros(3, 2), torch.zeros(3, 2), torch.zeros(3, 2))
    assert per_row.shape == (3,)


def test_gaussian_log_prob_matches_torch_distributions_and_has_gradients():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(5, 3, generator=g, dtype=torch.float64)
    mu = torch.randn(5, 3, generator=g, dtype=torch.float64, requires_grad=True)
    log_std = torch.randn(3, generator=g, dtype=torch.float64, requires_grad=True)
    out = gaussian_log_prob(x, mu, log_std)
    ref = torch.distributions.Normal(mu, log_std.exp()).log_prob(x).sum(-1)
    torch.testing.assert_close(out, ref)
    out.sum().backward()
    assert mu.grad is not None and log_std.grad is not None


def test_gaussian_log_prob_names_bad_shapes():
    with pytest.raises(ValueError, match="log_std of shape"):
        gaussian_log_prob(torch.zeros(4, 2), torch.zeros(2), torch.zeros(3))
    with pytest.raises(ValueError, match="mu of shape"):
        gaussian_log_prob(torch.zeros(4, 2), torch.zeros(5, 2), torch.zeros(2))
    with pytest.raises(TypeError, match="x must be a torch Tensor"):
        gaussian_log_prob([[0.0]], torch.zeros(1), torch.zeros(1))


def test_gaussian_sample_moments_and_seed():
    mu = torch.tensor([1.0, -2.0], dtype=torch.float64).repeat(20_000, 1)
    log_std = torch.tensor([0.0, math.log(0.5)], dtype=torch.float64)
    a = gaussian_sample(mu, log_std, torch.Generator().manual_seed(0))
    assert a.shape == mu.shape and a.dtype == torch.float64
    torch.testing.assert_close(a.mean(0), torch.tensor([1.0, -2.0], dtype=torch.float64), atol=0.03, rtol=0)
    torch.testing.assert_close(a.std(0), torch.tensor([1.0, 0.5], dtype=torch.float64), atol=0.02, rtol=0)
    assert torch.equal(a, gaussian_sample(mu, log_std, torch.Generator().manual_seed(0)))


def test_categorical_policy_probs_sample_log_prob_and_act():
    torch.manual_seed(0)
    pi = CategoricalPolicy(4, 3, hidden_sizes=(8,))
    obs = torch.randn(5, 4)
    probs = pi.probs(obs)
    assert probs.shape == (5, 3)
    torch.testing.assert_close(probs.sum(-1), torch.ones(5))
    a = pi.sample(obs, torch.Generator().manual_seed(0))
    assert a.shape == (5,) and a.dtype == torch.int64
    torch.testing.assert_close(pi.log_prob(obs, a), probs.log().gather(-1, a[:, None]).squeeze(-1))
    assert isinstance(pi.act(np.zeros(4, dtype=np.float32)), int)
    assert pi.act(np.zeros((2, 4))).shape == (2,)


def test_gaussian_policy_sample_and_log_prob():
    torch.manual_seed(0)
    pi = GaussianPolicy(3, 2, hidden_sizes=(8,), log_std_init=-1.0)
    obs = torch.randn(4, 3)
    a = pi.sample(obs, torch.Generator().manual_seed(0))
    assert a.shape == (4, 2)
    assert pi.sample([0.0, 0.0, 0.0]).shape == (2,)
    lp = pi.log_prob(obs, a)
    assert lp.shape == (4,) and lp.requires_grad
    torch.testing.assert_close(pi.log_std.detach(), torch.full((2,), -1.0))
