"""Visible checks for lesson 06: the parts of DQN, on small hand-worked cases.

The mistakes it names are catalogued in ``rlcore/catalog/lesson06.py`` (see ``rlcore.check``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from ._core import Checker, check, close, fmt

__all__ = ["check_ReplayBuffer", "check_dqn_loss", "check_dqn_targets", "check_epsilon_greedy",
           "check_linear_schedule", "check_update_target"]

FIELDS = ("obs", "actions", "rewards", "next_obs", "dones")


# ------------------------------------------------------------------------------ ReplayBuffer
def _transitions(rewards: list[float], float_dones: bool = False) -> tuple:
    """Transitions whose every field is a function of the reward (1, 2, ...), so a row can be checked.

    A slot that was never written holds reward 0 and next_obs 0, which no transition has.
    """
    r = np.asarray(rewards, dtype=np.float32)
    obs = np.stack([r, -r], axis=1)
    dones = r.astype(np.int64) % 3 == 0
    return obs, r.astype(np.int64) % 2, r, obs + 10.0, dones.astype(np.float32) if float_dones else dones


def _see(c: Checker, ok: bool, call: str, seen: str, wanted: str, hint: str, what: str = "") -> None:
    """One check of a behaviour, described in words: "{call} {seen}", "expected: {wanted}"."""
    __tracebackhide__ = True
    c.n += 1
    if not ok:
        c.fail(f"{call} {seen}\n  expected{f' ({what})' if what else ''}: {wanted}", hint=hint)


def _call_method(c: Checker, obj: Any, method: str, *args: Any) -> Any:
    """Call ``obj.method(*args)`` through the checker, so errors become kind messages."""
    __tracebackhide__ = True
    saved = c.name, c.fn
    c.name, c.fn = f"{saved[0]}.{method}", getattr(obj, method)
    try:
        return c.call(*args)
    finally:
        c.name, c.fn = saved


def _length(c: Checker, buf: Any) -> Any:
    __tracebackhide__ = True
    return _call_method(c, buf, "__len__")


def _sample_rows(c: Checker, buf: Any, batch_size: int, wrapped: bool) -> np.ndarray:
    """Sample; check the fields' types, shapes, dtypes and that each row is one stored transition.

    wrapped: whether a batch has already gone past the end of the buffer (then an all-zero
    row is a slot the wrap-around skipped, otherwise one never written). Returns the rewards.
    """
    __tracebackhide__ = True
    batch = _call_method(c, buf, "sample", batch_size)
    values = {f: getattr(batch, f, None) for f in FIELDS}
    missing = [f for f, v in values.items() if not isinstance(v, torch.Tensor)]
    call = f"ReplayBuffer.sample({batch_size})"
    if missing:
        arrays = all(isinstance(v, np.ndarray) for v in values.values())
        _see(c, False, call, f"returned a {type(batch).__name__} whose field(s) {', '.join(missing)} are "
             "not Tensors", "an object with Tensor fields obs, actions, rewards, next_obs, dones",
             c.says("not_tensors") if arrays else "sample(batch_size) returns an object with Tensor "
             "fields obs, actions, rewards, next_obs, dones (the Batch NamedTuple works well).")
    shapes = {"obs": (batch_size, 2), "next_obs": (batch_size, 2), "actions": (batch_size,),
              "rewards": (batch_size,), "dones": (batch_size,)}
    got_shapes = {f: tuple(v.shape) for f, v in values.items()}
    c.expect(got_shapes == shapes, got_shapes, shapes,
             f"for sample({batch_size}) obs and next_obs are (batch_size, *obs_shape), the rest (batch_size,).",
             what="shapes")
    dtypes = {"obs": torch.float32, "next_obs": torch.float32, "actions": torch.int64,
              "rewards": torch.float32, "dones": torch.float32}
    got_dtypes = {f: v.dtype for f, v in values.items()}
    c.expect(got_dtypes == dtypes, got_dtypes, dtypes,
             c.says("float64_storage") if torch.float64 in got_dtypes.values() else
             "obs, next_obs, rewards and dones are float32; actions int64 (gather needs int64).",
             what="dtypes")
    _see(c, bool(np.abs(batch.obs.numpy()).max(initial=0) < 500), call, "returned obs changed by 1000",
         "the obs that were added", c.says("stores_references"),
         what="after the arrays given to add were changed in place")
    r = batch.rewards.numpy()
    blank = (r == 0) & np.all(batch.next_obs.numpy() == 0, axis=1)
    _see(c, not blank.any(), call, f"returned {int(blank.sum())} all-zero transitions of {batch_size}",
         "only transitions that were added", c.says("batch_restarts_at_zero" if wrapped else "never_written_slots"))
    obs, actions, _, next_obs, dones = _transitions(list(r))
    together = (np.allclose(batch.obs.numpy(), obs) and np.array_equal(batch.actions.numpy(), actions)
                and np.allclose(batch.next_obs.numpy(), next_obs)
                and np.array_equal(batch.dones.numpy(), dones.astype(np.float32)))
    _see(c, together, call, "returned rows whose obs, actions, next_obs or dones belong to another "
         "transition than their reward", "every sampled row is one stored transition", c.says("fields_unpaired"))
    return r


def _expect_exactly(c: Checker, r: np.ndarray, added: int, kept: int, wrapped: bool, call: str) -> None:
    """The rewards sampled (by ``call``) must be exactly the ``kept`` newest of rewards 1..added, each drawn."""
    __tracebackhide__ = True
    seen = set(np.round(r).astype(int).tolist())
    stored = set(range(added - kept + 1, added + 1))
    if seen - stored:
        hint = c.says("overwrites_newest") if seen - stored <= set(range(1, added + 1)) else (
            "sample only the transitions stored.")
    elif wrapped:
        hint = c.says("up_to_pos")
    else:
        hint = "sample uniformly WITH replacement from everything stored (indices 0 .. len - 1)."
    _see(c, seen == stored, call, f"drew the transitions with rewards {sorted(seen)}",
         f"exactly the {kept} stored ones, rewards {sorted(stored)}", hint)


@check("ReplayBuffer")
def check_ReplayBuffer(c: Checker) -> None:
    """Check a ReplayBuffer: batched add, len, sampling with replacement, overwriting the oldest, seeding."""
    buf = c.call(3, 2, seed=0)
    n = _length(c, buf)
    c.expect(n == 0, n, 0, "a new buffer is empty: len() counts stored transitions.",
             what="len(ReplayBuffer(3, 2, seed=0))")
    try:
        buf.sample(1)
        raised = None
    except NotImplementedError:
        c.fail("ReplayBuffer.sample is not written yet (it raised NotImplementedError).",
               hint="write add, sample and __len__, then run this check again.")
    except Exception as e:  # noqa: BLE001 - any error type is reported
        raised = type(e)
    _see(c, raised is ValueError, "ReplayBuffer(3, 2, seed=0).sample(1) on an empty buffer",
         f"raised {raised.__name__}" if raised else "returned a batch", "a ValueError", c.says("empty_no_error"))
    given = _transitions([1.0, 2.0])
    _call_method(c, buf, "add", *given)
    for a in (given[0], given[3]):  # the caller reuses its arrays: what was stored must not change
        a += 1000.0
    n = _length(c, buf)
    c.expect(n == 2, n, 2, c.says("len_counts_calls") if n == 1 else
             "add stores a whole batch (one row per env).", what="len after adding a batch of 2")
    r = _sample_rows(c, buf, 64, wrapped=False)
    _expect_exactly(c, r, added=2, kept=2, wrapped=False, call="ReplayBuffer(3, 2, seed=0).sample(64)")
    _call_method(c, buf, "add", *_transitions([3.0, 4.0]))
    n = _length(c, buf)
    c.expect(n == 3, n, 3, c.says("len_not_capped") if n > 3 else
             "a full buffer keeps exactly capacity transitions.", what="len after 4 adds into capacity 3")
    r = _sample_rows(c, buf, 200, wrapped=True)
    _expect_exactly(c, r, added=4, kept=3, wrapped=True,
                    call="ReplayBuffer(3, 2, seed=0).sample(200) after adding 2, then 2 more")
    buf = c.call(5, 2, seed=1)
    _call_method(c, buf, "add", *_transitions([1.0, 2.0, 3.0, 4.0]))
    _call_method(c, buf, "add", *_transitions([5.0, 6.0, 7.0], float_dones=True))  # slot 4, then 0, 1
    r = _sample_rows(c, buf, 400, wrapped=True)
    _expect_exactly(c, r, added=7, kept=5, wrapped=True,
                    call="ReplayBuffer(5, 2, seed=1).sample(400) after adding 4, then a batch of 3")
    buf = c.call(200, 2, seed=2)
    for start in range(1, 161, 16):  # ten batches of 16 envs
        _call_method(c, buf, "add", *_transitions([float(start + i) for i in range(16)]))
    r = _sample_rows(c, buf, 2000, wrapped=False)
    old = float(np.mean(r <= 80))
    _see(c, 0.4 <= old <= 0.6, "ReplayBuffer(200, 2, seed=2).sample(2000) after 160 transitions",
         f"drew {old:.0%} of them from the older half", "about 50%", c.says("recent_only"))
    twins = [c.call(10, 2, seed=7) for _ in range(2)]
    samples = []
    for b in twins:
        _call_method(c, b, "add", *_transitions([1.0, 2.0, 3.0, 4.0, 5.0]))
        samples.append(_sample_rows(c, b, 20, wrapped=False))
    again = _sample_rows(c, twins[0], 20, wrapped=False)
    _see(c, not np.array_equal(again, samples[0]), "two consecutive ReplayBuffer.sample(20) calls",
         "returned the same 20 transitions", "two different random batches", c.says("new_rng_per_sample"))
    _see(c, np.array_equal(samples[0], samples[1]), "two ReplayBuffer(10, 2, seed=7) given the same "
         "transitions", f"sampled the rewards {fmt(samples[0])} and {fmt(samples[1])}", "the same samples",
         c.says("ignores_seed"))


# ------------------------------------------------------------------------------ linear_schedule
@check("linear_schedule")
def check_linear_schedule(c: Checker) -> None:
    """Check linear_schedule at the start, the middle, the end and after the end."""
    hint = "value = start + (end - start) * min(t / duration, 1)."
    c.expect_close(c.call(1.0, 0.1, 100, 0), 1.0, hint, what="t = 0 gives start")
    c.expect_close(c.call(1.0, 0.1, 100, 50), 0.55, hint, what="halfway")
    c.expect_close(c.call(1.0, 0.1, 100, 75), 0.325, hint, what="three quarters of the way")
    c.expect_close(c.call(1.0, 0.1, 100, 100), 0.1, hint, what="t = duration gives end")
    c.expect_close(c.call(1.0, 0.1, 100, 250), 0.1, hint, what="after the end")
    c.expect_close(c.call(0.0, 2.0, 8, 3), 0.75, "the schedule may go up as well as down.",
                   what="going up")


# ------------------------------------------------------------------------------ epsilon_greedy
@check("epsilon_greedy")
def check_epsilon_greedy(c: Checker) -> None:
    """Check epsilon_greedy: greedy at epsilon 0 (array or Tensor), the exploration rates at 1 and 0.5."""
    q = np.array([[1.0, 2.0, 0.0], [3.0, 0.0, 1.0], [0.0, 0.5, 0.7]])
    n = 6000
    big, greedy = np.tile(q, (n // 3, 1)), np.tile([1, 0, 2], n // 3)
    rows = f"epsilon_greedy(<{n} rows of Q-values>, epsilon={{}}, rng)"
    got = c.call(q, 0.0, np.random.default_rng(0))
    _see(c, not isinstance(got, torch.Tensor), "epsilon_greedy(q_values, 0.0, rng)", "returned a Tensor",
         "a numpy array of ints", c.says("returns_tensor"))
    got = np.asarray(got)
    if not np.array_equal(got, [1, 0, 2]):
        if got.shape == (3,) and np.all(got == np.argmax(q)):
            hint = c.says("argmax_no_axis")
        else:  # explores although epsilon is 0? Look at many rows
            try:
                share = float(np.mean(np.asarray(c.fn(big, 0.0, np.random.default_rng(0))) == greedy))
            except Exception:  # noqa: BLE001 - no diagnosis, the plain hint stays
                share = 1.0
            hint = (c.says("compared_wrong_way") if share < 0.9 else
                    "with epsilon = 0 take argmax_a Q(s, a) in every row (axis=1).")
        c.expect(False, got, np.array([1, 0, 2]), hint, what="greedy actions at epsilon 0")
    _see(c, np.issubdtype(got.dtype, np.integer), "epsilon_greedy(q_values, 0.0, rng)",
         f"returned actions of dtype {got.dtype}", "an integer dtype (int64)", "return np.int64 actions.")
    got = c.call(torch.tensor(q, dtype=torch.float32), 0.0, np.random.default_rng(0))
    c.expect(isinstance(got, np.ndarray) and np.array_equal(got, [1, 0, 2]), got, np.array([1, 0, 2]),
             "accept a Tensor of Q-values too (turn it into numpy first); return a numpy array.",
             what="Q-values given as a Tensor")
    explore = np.asarray(c.call(big, 1.0, np.random.default_rng(3))).astype(np.int64)
    shares = np.bincount(explore.clip(0, 3), minlength=4)[:3] / n
    greedy_share = float(np.mean(explore == greedy))
    if greedy_share < 0.05:
        hint = c.says("excludes_greedy")
    elif greedy_share > 0.9:
        hint = c.says("compared_wrong_way")
    elif shares[2] < 0.05:
        hint = c.says("excludes_last_action")
    else:
        hint = ("with epsilon = 1 every action is uniformly random among ALL n actions, one "
                "random number per row.")
    uniform = bool(np.all(np.abs(shares - 1 / 3) < 0.03)) and abs(greedy_share - 1 / 3) < 0.03
    _see(c, uniform, rows.format(1.0), f"chose the actions 0, 1, 2 in shares {np.round(shares, 3).tolist()}, "
         f"{greedy_share:.3f} of them greedy", "about 1/3 each, and 1/3 greedy", hint)
    acts = np.asarray(c.call(big, 0.5, np.random.default_rng(1)))
    frac = float(np.mean(acts == greedy))
    one_coin = frac == 1.0 or abs(frac - 1 / 3) < 0.03
    _see(c, abs(frac - (0.5 + 0.5 / 3)) < 0.03, rows.format(0.5), f"chose {frac:.3f} of the actions greedily",
         "about 0.667 = (1 - 0.5) + 0.5 / 3", c.says("one_coin") if one_coin else
         "per row: with probability epsilon a uniformly random action among ALL actions "
         "(it can be the greedy one), else the argmax.")
    again = np.asarray(c.call(big, 0.5, np.random.default_rng(1)))
    _see(c, np.array_equal(acts, again), "two calls with np.random.default_rng(1)",
         "chose different actions", "the same actions", c.says("ignores_rng"))
    other = np.asarray(c.call(big, 0.5, np.random.default_rng(2)))
    _see(c, not np.array_equal(acts, other), "calls with np.random.default_rng(1) and default_rng(2)",
         "chose the same actions", "different actions", c.says("own_generator"))


# ------------------------------------------------------------------------------ dqn_targets
@check("dqn_targets")
def check_dqn_targets(c: Checker) -> None:
    """Check y = r + gamma (1 - d) max_a' Q_targ(s', a') on three transitions, float and bool dones."""
    r = torch.tensor([1.0, 0.0, 2.0])
    next_q = torch.tensor([[1.0, 3.0], [2.0, 0.0], [5.0, 4.0]], requires_grad=True)
    expected = torch.tensor([2.5, 1.0, 2.0])
    hint = ("y = r + gamma * (1 - done) * max over the actions of next_q_target; "
            "a terminal transition (done = 1) has target r alone.")
    got = c.call(r, next_q, torch.tensor([0.0, 0.0, 1.0]), 0.5)
    _see(c, isinstance(got, torch.Tensor), "dqn_targets(...)", f"returned a {type(got).__name__}",
         "a Tensor", "return a torch Tensor.")
    c.expect_close(got, expected, hint, what="[1 + 0.5*3, 0 + 0.5*2, 2 (done)]")
    _see(c, not got.requires_grad, "dqn_targets(...)", "returned a Tensor that requires grad",
         "targets without gradient", c.says("requires_grad"))
    got = c.call(r, next_q, torch.tensor([False, False, True]), 0.5)
    c.expect_close(got, expected, hint, what="the same with bool dones")


# ------------------------------------------------------------------------------ dqn_loss
@check("dqn_loss")
def check_dqn_loss(c: Checker) -> None:
    """Check the mean squared error between Q(s, a) of the actions taken and the targets, and its gradient."""
    q = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    actions = torch.tensor([1, 0])
    targets = torch.tensor([0.0, 4.0])
    got = c.call(q, actions, targets)
    _see(c, isinstance(got, torch.Tensor), "dqn_loss(...)", f"returned a {type(got).__name__}",
         "a Tensor", c.says("not_a_tensor"))
    _see(c, got.numel() == 1, "dqn_loss(...)", f"returned shape {tuple(got.shape)}", "a scalar (one number)",
         "the loss is one number: the mean over the batch.")
    c.expect_close(got.detach().reshape(()), 2.5,
                   "loss = the mean over the batch of (Q(s_i, a_i) - y_i) ** 2, where Q(s_i, a_i) "
                   "is row i's value at the action taken.",
                   what="Q(s,a) = [2, 3], errors [2, -1], mean of squares")
    _see(c, got.requires_grad, "dqn_loss(...)", "returned a loss without gradient",
         "a loss that requires grad", c.says("detached"))
    got.reshape(()).backward()
    c.expect_close(q.grad, torch.tensor([[0.0, 2.0], [-1.0, 0.0]]),
                   "only the Q-values of the actions taken get a gradient, 2 (q - y) / B.",
                   what="gradient with respect to q_values")


# ------------------------------------------------------------------------------ update_target
_TARGET_W, _ONLINE_W = [[0.0, 0.0], [4.0, 4.0]], [[1.0, 2.0], [0.0, 8.0]]


def _pair() -> tuple[nn.Module, nn.Module]:
    target, online = nn.Linear(2, 2), nn.Linear(2, 2)
    with torch.no_grad():
        target.weight.copy_(torch.tensor(_TARGET_W))
        target.bias.copy_(torch.tensor([0.0, 0.0]))
        online.weight.copy_(torch.tensor(_ONLINE_W))
        online.bias.copy_(torch.tensor([-4.0, 4.0]))
    return target, online


def _target_weight(args: tuple, kwargs: dict) -> Any:
    return args[0].weight


@check("update_target")
def check_update_target(c: Checker) -> None:
    """Check update_target: tau = 0.25 blends, tau = 1 copies, in place, the online net untouched,
    and the target's tensors stay its own."""
    target, online = _pair()
    weight = target.weight
    c.call(target, online, tau=0.25)
    c.expect_close(online.weight, torch.tensor(_ONLINE_W), c.says("changes_online"),
                   what="online weight unchanged", after="online_net.weight")
    c.expect_close(target.weight, torch.tensor([[0.25, 0.5], [3.0, 5.0]]),
                   "theta_targ <- tau * theta + (1 - tau) * theta_targ.", what="0.25 * online + 0.75 * target",
                   after="target_net.weight", observe=_target_weight)
    c.expect_close(target.bias, torch.tensor([-1.0, 1.0]), "update every parameter, biases too.",
                   what="target bias", after="target_net.bias")
    _see(c, target.weight is weight, "after update_target(target_net, online_net, tau=0.25), "
         "target_net.weight", "is a new Parameter object", "the same Parameter, updated in place",
         c.says("replaces_parameters"))
    for tau in ({"tau": 1.0}, {}):  # tau = 1, given and by default: a copy
        target, online = _pair()
        c.call(target, online, **tau)
        c.expect_close(target.weight, torch.tensor(_ONLINE_W), "tau = 1 (the default) copies the online "
                       "parameters into the target.", what="target weight after a copy",
                       after="target_net.weight", observe=_target_weight)
        with torch.no_grad():
            online.weight.add_(1.0)  # training moves the online network on...
        c.expect(close(target.weight, torch.tensor(_ONLINE_W)), target.weight.detach().clone(),
                 torch.tensor(_ONLINE_W), c.says("shares_storage"),  # ...but not the target
                 what="still the copy", after="online_net.weight.add_(1.0), target_net.weight")
