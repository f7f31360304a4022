"""The reference DQN parts (rlcore.dqn_parts): hand-worked values and documented behaviour."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from rlcore.dqn_parts import (
    Batch,
    ReplayBuffer,
    dqn_loss,
    dqn_targets,
    epsilon_greedy,
    linear_schedule,
    update_target,
)


def _add_indexed(buf: ReplayBuffer, start: int, n: int) -> None:
    """Add n transitions whose reward is their insertion index (obs = [i, -i])."""
    i = np.arange(start, start + n, dtype=np.float32)
    buf.add(np.stack([i, -i], 1), i.astype(np.int64) % 2, i, np.stack([i, -i], 1) + 1, i % 3 == 0)


# ---------------------------------------------------------------------------- ReplayBuffer
def test_buffer_add_batch_len_and_sample_fields():
    buf = ReplayBuffer(10, 2, seed=0)
    assert len(buf) == 0
    _add_indexed(buf, 0, 4)
    _add_indexed(buf, 4, 1)  # a batch of one env
    assert len(buf) == 5
    b = buf.sample(7)
    assert isinstance(b, Batch)
    assert b.obs.shape == (7, 2) and b.next_obs.shape == (7, 2)
    assert b.actions.shape == b.rewards.shape == b.dones.shape == (7,)
    assert (b.obs.dtype, b.actions.dtype, b.rewards.dtype, b.dones.dtype) == (
        torch.float32, torch.int64, torch.float32, torch.float32)
    # every row is one stored transition
    r = b.rewards.numpy()
    assert np.array_equal(b.obs.numpy()[:, 0], r) and np.array_equal(b.next_obs.numpy()[:, 0], r + 1)
    assert np.array_equal(b.actions.numpy(), r.astype(int) % 2)
    assert np.array_equal(b.dones.numpy(), (r % 3 == 0).astype(np.float32))


def test_buffer_overwrites_oldest_and_samples_uniformly_with_replacement():
    buf = ReplayBuffer(4, (2,), seed=1)
    _add_indexed(buf, 0, 3)
    _add_indexed(buf, 3, 3)  # 6 transitions into capacity 4: 0 and 1 are gone
    assert len(buf) == 4
    r = buf.sample(4000).rewards.numpy()
    counts = np.array([np.sum(r == k) for k in range(6)])
    assert counts[0] == counts[1] == 0
    assert np.all(np.abs(counts[2:] - 1000) < 150)
    assert buf.sample(50).rewards.shape == (50,)  # more than stored: with replacement


def test_buffer_same_seed_same_samples_and_empty_raises():
    a, b = ReplayBuffer(20, 2, seed=5), ReplayBuffer(20, 2, seed=5)
    for buf in (a, b):
        _add_indexed(buf, 0, 12)
    assert torch.equal(a.sample(9).rewards, b.sample(9).rewards)
    with pytest.raises(ValueError, match="empty"):
        ReplayBuffer(5, 3).sample(2)


@pytest.mark.parametrize("kwargs,field", [({"capacity": 0, "obs_shape": 2}, "capacity"),
                                          ({"capacity": 5, "obs_shape": "x"}, "obs_shape"),
                                          ({"capacity": 5, "obs_shape": (0,)}, "obs_shape")])
def test_buffer_bad_arguments_are_named(kwargs, field):
    with pytest.raises((ValueError, TypeError), match=field):
        ReplayBuffer(**kwargs)


def test_buffer_add_shape_mismatch_is_named():
    buf = ReplayBuffer(5, 2)
    with pytest.raises(ValueError, match="rewards"):
        buf.add(np.zeros((3, 2)), np.zeros(3, int), np.zeros(2), np.zeros((3, 2)), np.zeros(3))


# ---------------------------------------------------------------------------- schedules, actions
def test_linear_schedule_hand_values():
    assert linear_schedule(1.0, 0.1, 100, 0) == 1.0
    assert linear_schedule(1.0, 0.1, 100, 50) == pytest.approx(0.55)
    assert linear_schedule(1.0, 0.1, 100, 100) == pytest.approx(0.1)
    assert linear_schedule(1.0, 0.1, 100, 10_000) == pytest.approx(0.1)
    assert linear_schedule(0.0, 2.0, 8, 3) == pytest.approx(0.75)
    with pytest.raises(ValueError, match="duration"):
        linear_schedule(1.0, 0.0, 0, 1)


def test_epsilon_greedy_greedy_and_exploration_rate():
    rng = np.random.default_rng(0)
    q = np.array([[1.0, 2.0, 0.0], [3.0, 0.0, 1.0]])
    assert np.array_equal(epsilon_greedy(q, 0.0, rng), [1, 0])
    out = epsilon_greedy(torch.tensor(q), 0.0, rng)
    assert isinstance(out, np.ndarray) and out.dtype == np.int64
    big = np.tile(q, (3000, 1))
    acts = epsilon_greedy(big, 0.3, np.random.default_rng(1))
    frac = np.mean(acts == np.tile([1, 0], 3000))
    assert abs(frac - (0.7 + 0.3 / 3)) < 0.02
    with pytest.raises(ValueError, match="epsilon"):
        epsilon_greedy(q, 1.5, rng)
    with pytest.raises(ValueError, match="q_values"):
        epsilon_greedy(np.zeros(3), 0.1, rng)


# ---------------------------------------------------------------------------- targets and loss
def test_dqn_targets_hand_values_bool_and_float_dones_no_grad():
    r = torch.tensor([1.0, 0.0, 2.0])
    next_q = torch.tensor([[1.0, 3.0], [2.0, 0.0], [5.0, 4.0]], requires_grad=True)
    for dones in (torch.tensor([0.0, 0.0, 1.0]), torch.tensor([False, False, True])):
        y = dqn_targets(r, next_q, dones, 0.5)
        assert torch.allclose(y, torch.tensor([2.5, 1.0, 2.0]))
        assert not y.requires_grad
    with pytest.raises(ValueError, match="gamma"):
        dqn_targets(r, next_q, dones, 1.5)
    with pytest.raises(ValueError, match="next_q_target"):
        dqn_targets(r, next_q[:2], dones, 0.5)


def test_dqn_loss_value_and_gradient():
    q = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    loss = dqn_loss(q, torch.tensor([1, 0]), torch.tensor([0.0, 1.0]))
    assert loss.item() == pytest.approx(4.0)
    loss.backward()
    assert torch.allclose(q.grad, torch.tensor([[0.0, 2.0], [2.0, 0.0]]))
    with pytest.raises(ValueError, match="actions"):
        dqn_loss(q, torch.tensor([1, 0, 1]), torch.tensor([0.0, 1.0]))


# ---------------------------------------------------------------------------- target update
def test_update_target_blend_in_place_and_copy():
    torch.manual_seed(0)
    target, online = nn.Linear(3, 2), nn.Linear(3, 2)
    before = [p.detach().clone() for p in target.parameters()]
    weight = target.weight
    update_target(target, online, tau=0.25)
    for p_t, p0, p in zip(target.parameters(), before, online.parameters()):
        assert torch.allclose(p_t, 0.25 * p + 0.75 * p0)
    assert target.weight is weight
    update_target(target, online)
    assert all(torch.equal(a, b) for a, b in zip(target.parameters(), online.parameters()))
    with pytest.raises(ValueError, match="tau"):
        update_target(target, online, tau=2.0)
    with pytest.raises(ValueError, match="architecture"):
        update_target(nn.Linear(2, 2), online)
