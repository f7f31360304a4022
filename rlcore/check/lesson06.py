"""Visible checks for lesson 06: the parts of DQN, on small hand-worked cases."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from ._core import Checker, fmt, run_check, to_numpy

__all__ = [
    "check_ReplayBuffer",
    "check_dqn_loss",
    "check_dqn_targets",
    "check_epsilon_greedy",
    "check_linear_schedule",
    "check_update_target",
]

FIELDS = ("obs", "actions", "rewards", "next_obs", "dones")


def _transitions(rewards: list[float]) -> tuple:
    """Transitions whose every field is a function of the reward, so a sample can be checked row by row."""
    r = np.asarray(rewards, dtype=np.float32)
    obs = np.stack([r, -r], axis=1)
    return obs, (r.astype(np.int64) % 2), r, obs + 10.0, (r.astype(np.int64) % 3 == 0)


def _sample_rows(c: Checker, buf: Any, batch_size: int) -> np.ndarray:
    """Sample, check the fields' types, shapes and dtypes; return the sampled rewards."""
    __tracebackhide__ = True
    batch = _call_method(c, buf, "sample", batch_size)
    hint = ("sample(batch_size) returns an object with Tensor fields obs, actions, rewards, next_obs, "
            "dones (a NamedTuple such as Batch works well).")
    missing = [f for f in FIELDS if not isinstance(getattr(batch, f, None), torch.Tensor)]
    c.expect(not missing, f"{type(batch).__name__} without Tensor field(s) {missing}",
             "an object with Tensor fields obs, actions, rewards, next_obs, dones", hint)
    shapes = {"obs": (batch_size, 2), "next_obs": (batch_size, 2), "actions": (batch_size,),
              "rewards": (batch_size,), "dones": (batch_size,)}
    dtypes = {"obs": torch.float32, "next_obs": torch.float32, "actions": torch.int64,
              "rewards": torch.float32, "dones": torch.float32}
    got_shapes = {f: tuple(getattr(batch, f).shape) for f in FIELDS}
    c.expect(got_shapes == shapes, got_shapes, shapes,
             f"for sample({batch_size}) obs and next_obs are (batch_size, *obs_shape), the rest (batch_size,).",
             what="shapes")
    got_dtypes = {f: getattr(batch, f).dtype for f in FIELDS}
    c.expect(got_dtypes == dtypes, got_dtypes, dtypes,
             "obs, next_obs, rewards and dones are float32; actions int64 (gather needs int64).",
             what="dtypes")
    r = batch.rewards.numpy()
    obs, actions, _, next_obs, dones = _transitions(list(r))
    together = (np.allclose(batch.obs.numpy(), obs) and np.array_equal(batch.actions.numpy(), actions)
                and np.allclose(batch.next_obs.numpy(), next_obs)
                and np.array_equal(batch.dones.numpy(), dones.astype(np.float32)))
    c.expect(together, "rows whose obs/actions/next_obs/dones do not belong to their reward",
             "every sampled row is one stored transition",
             "index every field with the SAME indices, and store a batch row by row.")
    return r


def _call_method(c: Checker, obj: Any, method: str, *args: Any) -> Any:
    """Call ``obj.method(*args)`` through the checker, so errors become kind messages."""
    __tracebackhide__ = True
    saved = c.name, c.fn
    c.name, c.fn = f"{saved[0]}.{method}", getattr(obj, method)
    try:
        return c.call(*args)
    finally:
        c.name, c.fn = saved


def check_ReplayBuffer(cls: Any) -> None:
    """Check a ReplayBuffer: batched add, len, sampling with replacement, overwriting the oldest, seeding."""
    __tracebackhide__ = True

    def body(c: Checker) -> None:
        buf = c.call(3, 2, seed=0)
        c.expect(len(buf) == 0, len(buf), 0, "a new buffer is empty: len() counts stored transitions.",
                 what="len(ReplayBuffer(3, 2, seed=0))")
        try:
            buf.sample(1)
            raised = None
        except NotImplementedError:
            raised = NotImplementedError
        except Exception as e:  # noqa: BLE001 - any error type is reported
            raised = type(e)
        if raised is NotImplementedError:
            c.fail("sample is not written yet (it raised NotImplementedError).",
                   hint="write add, sample and __len__, then run this check again.")
        c.expect(raised is ValueError, raised.__name__ if raised else "no error", "ValueError",
                 "sampling an empty buffer must raise ValueError: there is nothing to sample.",
                 what="sample(1) on an empty buffer")
        _call_method(c, buf, "add", *_transitions([0.0, 1.0]))
        c.expect(len(buf) == 2, len(buf), 2, "add stores a whole batch (one row per env).",
                 what="len after adding a batch of 2")
        r = _sample_rows(c, buf, 64)
        c.expect(set(np.round(r).astype(int)) == {0, 1}, sorted(set(r.tolist())), [0.0, 1.0],
                 "sample uniformly WITH replacement from the stored transitions only "
                 "(indices 0 .. len - 1).", what="rewards seen in sample(64)")
        _call_method(c, buf, "add", *_transitions([2.0, 3.0]))
        c.expect(len(buf) == 3, len(buf), 3, "a full buffer keeps exactly capacity transitions.",
                 what="len after 4 adds into capacity 3")
        r = _sample_rows(c, buf, 200)
        c.expect(set(np.round(r).astype(int)) == {1, 2, 3}, sorted(set(r.tolist())), [1.0, 2.0, 3.0],
                 "when full, overwrite the OLDEST transition: the write position wraps around, "
                 "pos = (pos + 1) % capacity.", what="rewards seen after overwriting")
        buf = c.call(5, 2, seed=1)
        _call_method(c, buf, "add", *_transitions([0.0, 1.0, 2.0, 3.0]))
        _call_method(c, buf, "add", *_transitions([4.0, 5.0, 6.0]))  # fills slot 4, wraps to 0, 1
        r = _sample_rows(c, buf, 400)
        c.expect(set(np.round(r).astype(int)) == {2, 3, 4, 5, 6}, sorted(set(r.tolist())),
                 [2.0, 3.0, 4.0, 5.0, 6.0],
                 "a batch that does not fit at the end continues at slot 0 ((pos + i) % capacity), "
                 "and every stored slot can be drawn (indices 0 .. len - 1, not 0 .. pos - 1).",
                 what="capacity 5: add 4, then a batch of 3 (the 5 newest stay)")
        buf = c.call(200, 2, seed=2)
        for start in range(0, 160, 16):  # ten batches of 16 envs
            _call_method(c, buf, "add", *_transitions([float(start + i) for i in range(16)]))
        r = _sample_rows(c, buf, 2000)
        old = float(np.mean(r < 80))
        c.expect(0.4 <= old <= 0.6, f"{old:.0%} from the older half", "about 50%",
                 "draw indices uniformly over everything stored: old transitions as often as "
                 "recent ones (that is what breaks the correlation of consecutive steps).",
                 what="sample(2000) after 160 transitions")
        twins = [c.call(10, 2, seed=7) for _ in range(2)]
        samples = []
        for b in twins:
            _call_method(c, b, "add", *_transitions([0.0, 1.0, 2.0, 3.0, 4.0]))
            samples.append(_sample_rows(c, b, 20))
        c.expect(np.array_equal(samples[0], samples[1]), fmt(samples[1]), fmt(samples[0]),
                 "two buffers with the same seed must sample the same indices: make "
                 "self.rng = np.random.default_rng(seed) in __init__ and draw with it.",
                 what="the same seed, the same samples")
        again = _sample_rows(c, twins[0], 20)
        c.expect(not np.array_equal(again, samples[0]), "the same 20 transitions as the call before",
                 "a different random batch",
                 "make the generator once, in __init__, and draw every sample from it: a new "
                 "np.random.default_rng(seed) inside sample() repeats the same indices every call.",
                 what="two consecutive sample(20) calls")

    run_check("ReplayBuffer", cls, body)


def check_linear_schedule(fn: Any) -> None:
    """Check linear_schedule at the start, the middle, the end and after the end."""
    __tracebackhide__ = True

    def body(c: Checker) -> None:
        hint = "value = start + (end - start) * min(t / duration, 1)."
        c.expect_close(c.call(1.0, 0.1, 100, 0), 1.0, hint, what="t = 0 gives start")
        c.expect_close(c.call(1.0, 0.1, 100, 50), 0.55, hint, what="halfway")
        c.expect_close(c.call(1.0, 0.1, 100, 100), 0.1, hint, what="t = duration gives end")
        c.expect_close(c.call(1.0, 0.1, 100, 250), 0.1,
                       "after duration the value stays at end: clamp the fraction with min(..., 1).",
                       what="after the end")
        c.expect_close(c.call(0.0, 2.0, 8, 3), 0.75, "the schedule may go up as well as down.")

    run_check("linear_schedule", fn, body)


def check_epsilon_greedy(fn: Any) -> None:
    """Check epsilon_greedy: greedy at epsilon 0 (array or Tensor), the exploration rate at epsilon 0.5."""
    __tracebackhide__ = True

    def body(c: Checker) -> None:
        q = np.array([[1.0, 2.0, 0.0], [3.0, 0.0, 1.0], [0.0, 0.5, 0.7]])
        got = c.call(q, 0.0, np.random.default_rng(0))
        c.expect_close(got, np.array([1, 0, 2]),
                       "with epsilon = 0 take argmax_a Q(s, a) in every row (axis=1).",
                       what="greedy actions")
        c.expect(isinstance(got, np.ndarray) and np.issubdtype(got.dtype, np.integer), type(got).__name__,
                 "a numpy array of ints", "return np.int64 actions (convert a Tensor with .numpy()).")
        got = c.call(torch.tensor(q, dtype=torch.float32), 0.0, np.random.default_rng(0))
        c.expect(isinstance(got, np.ndarray) and np.array_equal(got, [1, 0, 2]), fmt(got), "array([1, 0, 2])",
                 "accept a Tensor of Q-values too (np.asarray / .numpy() first); return a numpy array.",
                 what="Q-values given as a Tensor")
        n = 6000
        big = np.tile(q, (n // 3, 1))
        greedy = np.tile([1, 0, 2], n // 3)
        acts = np.asarray(c.call(big, 0.5, np.random.default_rng(1)))
        frac = float(np.mean(acts == greedy))
        c.expect(abs(frac - (0.5 + 0.5 / 3)) < 0.03, f"{frac:.3f} of the actions greedy",
                 "about 0.667 = (1 - 0.5) + 0.5 / 3",
                 "per row: with probability epsilon a uniformly random action among ALL actions "
                 "(it can be the greedy one), else the argmax. Draw one random number per row.",
                 what="epsilon = 0.5 on 6000 rows")
        again = np.asarray(c.call(big, 0.5, np.random.default_rng(1)))
        c.expect(np.array_equal(acts, again), "different actions", "the same actions",
                 "draw every random number from rng (rng.random, rng.integers), not np.random.",
                 what="the same seed twice")
        other = np.asarray(c.call(big, 0.5, np.random.default_rng(2)))
        c.expect(not np.array_equal(acts, other), "the same actions", "different actions",
                 "draw from the rng passed in: a generator of your own (np.random.default_rng(0) "
                 "inside the function) makes every call explore the same way.",
                 what="two different generators")
        explore = np.asarray(c.call(big, 1.0, np.random.default_rng(3)))
        shares = np.bincount(explore.astype(np.int64).clip(0, 3), minlength=3)[:3] / n
        c.expect(bool(np.all(np.abs(shares - 1 / 3) < 0.03)), f"action shares {np.round(shares, 3).tolist()}",
                 "about [0.333, 0.333, 0.333]",
                 "with epsilon = 1 every action is uniformly random among ALL n actions: "
                 "rng.integers(0, n_actions) (the upper bound is excluded).",
                 what="epsilon = 1 on 6000 rows")

    run_check("epsilon_greedy", fn, body)


def check_dqn_targets(fn: Any) -> None:
    """Check y = r + gamma (1 - d) max_a' Q_targ(s', a') on three transitions, float and bool dones."""
    __tracebackhide__ = True

    def body(c: Checker) -> None:
        r = torch.tensor([1.0, 0.0, 2.0])
        next_q = torch.tensor([[1.0, 3.0], [2.0, 0.0], [5.0, 4.0]], requires_grad=True)
        expected = torch.tensor([2.5, 1.0, 2.0])
        hint = ("y = r + gamma * (1 - done) * max over actions (dim=1) of next_q_target; "
                "a terminal transition (done = 1) has target r alone.")
        got = c.call(r, next_q, torch.tensor([0.0, 0.0, 1.0]), 0.5)
        c.expect_close(got, expected, hint, what="[1 + 0.5*3, 0 + 0.5*2, 2 (done)]")
        c.expect(isinstance(got, torch.Tensor), type(got).__name__, "a Tensor", "return a torch Tensor.")
        c.expect(not got.requires_grad, "a Tensor that requires grad", "no gradient",
                 "the target is a constant: compute it inside `with torch.no_grad():` or .detach().",
                 what="requires_grad")
        got = c.call(r, next_q, torch.tensor([False, False, True]), 0.5)
        c.expect_close(got, expected, "dones may be bool: convert with dones.float() before 1 - dones.",
                       what="the same with bool dones")

    run_check("dqn_targets", fn, body)


def check_dqn_loss(fn: Any) -> None:
    """Check the mean squared error between Q(s, a) of the actions taken and the targets, and its gradient."""
    __tracebackhide__ = True

    def body(c: Checker) -> None:
        q = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        actions = torch.tensor([1, 0])
        targets = torch.tensor([0.0, 1.0])
        got = c.call(q, actions, targets)
        hint = ("gather the Q-value of the action taken, q_values.gather(1, actions.unsqueeze(1))"
                ".squeeze(1), then mean((q_sa - targets) ** 2). If you got 8 you summed; 1.5 is Huber.")
        c.expect(isinstance(got, torch.Tensor) and got.ndim == 0, fmt(got), "a scalar Tensor",
                 "return the loss Tensor itself (no .item()), a single number.")
        c.expect_close(got, 4.0, hint, what="Q(s,a) = [2, 3], errors [2, 2], mean of squares")
        c.expect(got.requires_grad, "a loss without gradient", "a loss that requires grad",
                 "do not detach q_values: the gradient must reach the network.")
        got.backward()
        c.expect_close(q.grad, torch.tensor([[0.0, 2.0], [2.0, 0.0]]),
                       "only the Q-values of the actions taken get a gradient, 2 (q - y) / B.",
                       what="gradient with respect to q_values")

    run_check("dqn_loss", fn, body)


def _pair() -> tuple[nn.Module, nn.Module]:
    target, online = nn.Linear(2, 2), nn.Linear(2, 2)
    with torch.no_grad():
        target.weight.copy_(torch.tensor([[0.0, 0.0], [4.0, 4.0]]))
        target.bias.copy_(torch.tensor([0.0, 0.0]))
        online.weight.copy_(torch.tensor([[1.0, 2.0], [0.0, 8.0]]))
        online.bias.copy_(torch.tensor([-4.0, 4.0]))
    return target, online


def check_update_target(fn: Any) -> None:
    """Check update_target: tau = 1 copies, tau = 0.25 blends, in place, the online net untouched."""
    __tracebackhide__ = True

    def body(c: Checker) -> None:
        target, online = _pair()
        weight = target.weight
        c.call(target, online, tau=1.0)
        c.expect_close(target.weight, online.weight,
                       "tau = 1 copies the online parameters into the target (in place: "
                       "target_param.copy_(param) under torch.no_grad()).", what="target weight after tau=1")
        target, online = _pair()
        weight = target.weight
        c.call(target, online, tau=0.25)
        c.expect_close(target.weight, torch.tensor([[0.25, 0.5], [3.0, 5.0]]),
                       "theta_targ <- tau * theta + (1 - tau) * theta_targ; if you got "
                       "[[0.75, 1.5], [1, 7]] tau and 1 - tau are swapped.",
                       what="0.25 * online + 0.75 * target")
        c.expect_close(target.bias, torch.tensor([-1.0, 1.0]), "update every parameter, biases too.",
                       what="target bias")
        c.expect(target.weight is weight, "a new Parameter object", "the same Parameter, updated in place",
                 "update the existing parameters in place (copy_ / lerp_), do not assign new ones.")
        c.expect_close(online.weight, torch.tensor([[1.0, 2.0], [0.0, 8.0]]),
                       "only the target moves; the online network must stay as it was.",
                       what="online weight unchanged")
        target, online = _pair()
        c.call(target, online)
        c.expect_close(to_numpy(target.bias), np.array([-4.0, 4.0]), "tau defaults to 1.0 (a hard copy).",
                       what="default tau")

    run_check("update_target", fn, body)
