"""Hidden tests of lesson 06: the parts of DQN.

Mistakes each test names (see docs/exercises/06.md):
ReplayBuffer: does not wrap around when full (or raises), overwrites the newest
  transition instead of the oldest, restarts at slot 0 when a batch does not fit, samples
  slots that were never filled, samples only up to the write position or only the most
  recent transitions, samples without replacement, ignores the seed, makes a new generator
  from the seed on every sample (the same indices every call), loses the pairing of
  obs/actions/rewards, wrong dtypes, len() counts every add instead of what is stored,
  sampling an empty buffer does not raise.
linear_schedule: not clamped after ``duration``, start and end swapped, integer division,
  the fraction measured from the end.
epsilon_greedy: epsilon compared the wrong way (explores with probability 1 - epsilon),
  random actions exclude the greedy one, one coin flip for the whole batch, argmax over the
  batch axis, not using ``rng``, a Tensor returned.
dqn_targets: missing (1 - done), max over the batch axis, argmax indices instead of values,
  gamma missing, targets that carry a gradient, fails on bool dones.
dqn_loss: sum instead of mean, Huber (smooth L1) instead of squared error, max instead of
  the taken action's Q, gather along the wrong axis, (B, 1) - (B,) broadcasting, no gradient.
update_target: tau and 1 - tau swapped, tau ignored (always a hard copy), the update has no
  effect (a local name rebound), Parameter objects replaced, the online net changed.
"""

from __future__ import annotations

import numpy as np
import torch

from rlcore.check import fmt

from . import Case, Mistake, call_case, enc, exercise, expect_close, obs_array

FIELDS = ("obs", "actions", "rewards", "next_obs", "dones")


# --------------------------------------------------------------------------- ReplayBuffer
def _transitions(rng: np.random.Generator, n: int, obs_shape: tuple[int, ...], start: int) -> dict:
    """n distinct transitions; rewards encode the insertion index so rows can be recognised."""
    obs = np.round(rng.normal(size=(n, *obs_shape)), 3).astype(np.float32)
    return {
        "obs": obs,
        "actions": rng.integers(0, 4, size=n).astype(np.int64),
        "rewards": (start + np.arange(n)).astype(np.float32),
        "next_obs": np.round(obs + 1.0 + rng.normal(size=obs.shape), 3).astype(np.float32),
        "dones": rng.random(n) < 0.3,
    }


def _rows(batch: dict, obs_shape: tuple[int, ...]) -> np.ndarray | None:
    """The sampled transitions as rows [obs..., action, reward, next_obs..., done]."""
    cols = []
    for f in FIELDS:
        a = obs_array(batch.get(f))
        if a is None:
            return None
        cols.append(a.reshape(a.shape[0], -1))
    if len({c.shape[0] for c in cols}) != 1:
        return None
    return np.concatenate(cols, axis=1)


def _stored_rows(adds: list[dict]) -> np.ndarray:
    return np.concatenate([np.concatenate([np.asarray(t[f], dtype=np.float64).reshape(len(t["rewards"]), -1)
                                           for f in FIELDS], axis=1) for t in adds])


def _add_op(t: dict) -> list:
    return ["add"] + [enc(t[f]) for f in FIELDS]


def _check_batch(o: dict, call: str, batch_size: int, obs_shape: tuple[int, ...]) -> np.ndarray:
    """Check fields, shapes, dtypes of one observed sample; return its rows."""
    if "error" in o:
        hint = ""
        if "replace" in o["message"] or "larger sample" in o["message"]:
            hint = (" Sample WITH replacement (e.g. rng.integers(0, len, size=batch_size)): "
                    "batch_size may exceed the number of stored transitions.")
        raise Mistake(f"{call} raised {o['message']}.{hint}")
    for f in FIELDS:
        v = o[f]
        if isinstance(v, dict) and "missing" in v:
            raise Mistake(f"{call} returned a {o['type']} without a field .{f}; return an object "
                          "with Tensor fields obs, actions, rewards, next_obs, dones (a NamedTuple "
                          "or a dataclass).")
        if not (isinstance(v, dict) and "__tensor__" in v):
            raise Mistake(f"{call} returned .{f} = {fmt(obs_array(v) if obs_array(v) is not None else v)}"
                          f", not a torch Tensor; convert with torch.as_tensor / torch.from_numpy.")
    shapes = {"obs": [batch_size, *obs_shape], "next_obs": [batch_size, *obs_shape],
              "actions": [batch_size], "rewards": [batch_size], "dones": [batch_size]}
    dtypes = {"obs": "float32", "next_obs": "float32", "actions": "int64", "rewards": "float32",
              "dones": "float32"}
    for f in FIELDS:
        if list(o[f]["shape"]) != shapes[f]:
            raise Mistake(f"{call} returned .{f} of shape {tuple(o[f]['shape'])}, expected "
                          f"{tuple(shapes[f])}.")
        if o[f]["dtype"] != dtypes[f]:
            raise Mistake(f"{call} returned .{f} with dtype {o[f]['dtype']}, expected {dtypes[f]} "
                          "(obs, next_obs, rewards, dones float32; actions int64, which gather needs).")
    return _rows(o, obs_shape)


def _results(o: dict, call: str) -> list:
    """The probe's list of results, or a Mistake naming the error the buffer raised."""
    if "error" in o:
        hint = ""
        if "index" in o["error"].lower() or "bounds" in o["error"].lower():
            hint = (" When the buffer is full, wrap the write position around with % capacity and "
                    "overwrite the oldest transitions.")
        raise Mistake(f"{call} raised {o['error']}.{hint}")
    return o["results"]


def _membership(rows: np.ndarray, stored: np.ndarray, evicted: np.ndarray | None, call: str,
                capacity: int) -> None:
    """Every sampled row must be a stored transition; name the mistake otherwise."""
    for row in rows:
        if np.any(np.all(np.isclose(stored, row, atol=1e-5), axis=1)):
            continue
        if evicted is not None and len(evicted) and np.any(np.all(np.isclose(evicted, row, atol=1e-5), axis=1)):
            raise Mistake(f"{call} returned transition {fmt(row)}, which should have been "
                          f"overwritten: when the buffer is full (capacity {capacity}) the OLDEST "
                          "transitions are replaced first (write position = (pos + i) % capacity).")
        if np.allclose(row, 0.0):
            raise Mistake(f"{call} returned an all-zero transition: you sample slots that were "
                          "never filled. Draw indices from 0 to len(buffer) - 1 only, and let a batch "
                          "that does not fit at the end wrap around to slot 0 ((pos + i) % capacity) "
                          "so that no slot is skipped.")
        raise Mistake(f"{call} returned a transition that was never added as a whole: "
                      f"{fmt(row)}. Keep obs, action, reward, next_obs and done of a transition "
                      "in the same slot, and index every field with the same indices.")


@exercise("ReplayBuffer")
def ReplayBuffer(rng: np.random.Generator) -> list[Case]:
    cases = []
    seed = int(rng.integers(0, 10_000))
    # 1. fill part of a buffer (1-D obs, batches of n envs, a batch of 1), sample many.
    obs_shape = (int(rng.integers(2, 5)),)
    capacity = int(rng.integers(40, 60))
    adds, n_total = [], 0
    for n in [int(rng.integers(2, 6)), 1, int(rng.integers(3, 8))]:
        adds.append(_transitions(rng, n, obs_shape, n_total))
        n_total += n
    ops, lens = [], []
    for t in adds:
        ops += [_add_op(t), ["len"]]
        lens.append(min(len(t["rewards"]) + (lens[-1] if lens else 0), capacity))
    n_samples = 3000
    ops += [["sample", n_samples], ["sample", 1]]
    stored = _stored_rows(adds)
    call1 = f"ReplayBuffer({capacity}, {obs_shape[0]}, seed={seed})"

    def judge_fill(o, stored=stored, lens=lens, call=call1, obs_shape=obs_shape, capacity=capacity):
        res = _results(o, call)
        got_lens = [res[2 * i + 1] for i in range(len(lens))]
        if got_lens != lens:
            raise Mistake(f"after adding batches of {[len(a['rewards']) for a in adds]} transitions to "
                          f"{call}, len() gave {got_lens}, expected {lens}: add stores a whole batch "
                          "(leading dimension = number of envs) and len() counts stored transitions.")
        k = 2 * len(lens)
        rows = _check_batch(res[k], f"{call}.sample({n_samples})", n_samples, obs_shape)
        _membership(rows, stored, None, f"{call}.sample({n_samples})", capacity)
        counts = np.array([np.sum(np.all(np.isclose(rows, s, atol=1e-5), axis=1)) for s in stored])
        if counts.min() == 0:
            missing = int(np.argmin(counts))
            raise Mistake(f"{call}.sample({n_samples}) never returned transition number {missing} "
                          f"of the {len(stored)} stored: sample uniformly from everything stored "
                          "(a batch of one env counts too).")
        expected = n_samples / len(stored)
        chi2 = float(np.sum((counts - expected) ** 2 / expected))
        dof = len(stored) - 1
        if chi2 > dof + 6 * np.sqrt(2 * dof) + 10:
            raise Mistake(f"{call}.sample({n_samples}) is not uniform over the stored transitions "
                          f"(counts {counts.tolist()}); draw each index with equal probability.")
        _check_batch(res[k + 1], f"{call}.sample(1)", 1, obs_shape)

    cases.append(Case("replay_buffer", {"capacity": capacity, "obs_shape": obs_shape[0], "seed": seed,
                                        "ops": ops}, judge_fill, call=call1))

    # 2. overflow: capacity smaller than what is added -> the oldest are overwritten.
    obs_shape2 = (2, 3)
    capacity2 = int(rng.integers(6, 10))
    # the first wrap comes in the middle of a batch (capacity - 1 stored, then 3 more)
    adds2 = [_transitions(rng, capacity2 - 1, obs_shape2, 0), _transitions(rng, 3, obs_shape2, capacity2 - 1)]
    n_total = capacity2 + 2
    while n_total < 2 * capacity2 + 3:
        n = int(rng.integers(2, 5))
        adds2.append(_transitions(rng, n, obs_shape2, n_total))
        n_total += n
    all_rows = _stored_rows(adds2)
    first_wrap = capacity2 + 2  # transitions added when the first wrap is sampled
    ops2 = ([_add_op(adds2[0]), _add_op(adds2[1]), ["sample", 1500]]
            + [_add_op(t) for t in adds2[2:]] + [["len"], ["sample", 1500]])
    call2 = f"ReplayBuffer({capacity2}, (2, 3), seed={seed})"

    def judge_newest(rows: np.ndarray, n_added: int, call: str, capacity: int) -> None:
        """The rows sampled after n_added transitions: exactly the `capacity` newest, each drawn."""
        stored, evicted = all_rows[n_added - capacity:n_added], all_rows[:n_added - capacity]
        sample_call = f"{call}.sample(1500) after adding {n_added} transitions"
        _membership(rows, stored, evicted, sample_call, capacity)
        reward_col = int(np.prod(obs_shape2)) + 1  # rewards hold the insertion index
        seen = {round(r) for r in rows[:, reward_col]}
        newest = round(stored[-1, reward_col])
        if newest not in seen:
            raise Mistake(f"{sample_call} never returned the newest transition: new "
                          "transitions must replace the oldest ones.")
        missing = sorted({round(r) for r in stored[:, reward_col]} - seen)
        if missing:  # 1500 uniform draws over at most 9 slots miss one with probability < 1e-90
            raise Mistake(f"{sample_call} never returned {len(missing)} of the {capacity} newest "
                          f"transitions (numbers {missing[:5]} in the order added): once the buffer "
                          "has wrapped, every slot holds one of them and each must be drawn. Draw "
                          "indices from 0 to len(buffer) - 1 (not up to the write position), and "
                          "let a batch that does not fit at the end continue at slot 0 "
                          "((pos + i) % capacity).")

    def judge_wrap(o, call=call2, capacity=capacity2, n_total=n_total):
        res = _results(o, f"{call} (adding {n_total} transitions)")
        rows = _check_batch(res[2], f"{call}.sample(1500) after adding {first_wrap} transitions",
                            1500, obs_shape2)
        judge_newest(rows, first_wrap, call, capacity)
        if res[-2] != capacity:
            raise Mistake(f"{call}: len() gave {res[-2]} after {n_total} transitions, expected "
                          f"{capacity} (a full buffer keeps exactly capacity transitions).")
        rows = _check_batch(res[-1], f"{call}.sample(1500) after adding {n_total} transitions",
                            1500, obs_shape2)
        judge_newest(rows, n_total, call, capacity)

    cases.append(Case("replay_buffer", {"capacity": capacity2, "obs_shape": enc(obs_shape2), "seed": seed,
                                        "ops": ops2}, judge_wrap, call=call2))

    # 3. sampling with replacement, the same seed twice, an empty buffer.
    small = _transitions(rng, 3, (2,), 0)
    ops3 = [["sample", 4], _add_op(small), ["sample", 8], ["sample", 8]]
    call3 = f"ReplayBuffer(100, 2, seed={seed})"

    def judge_seed(o, call=call3):
        res = _results(o, call)
        if not (isinstance(res[0], dict) and "error" in res[0]):
            raise Mistake(f"{call}.sample(4) on an empty buffer returned something; it must raise "
                          "ValueError (there is nothing to sample).")
        if res[0]["error"] != "ValueError":
            raise Mistake(f"{call}.sample(4) on an empty buffer raised {res[0]['message']}; raise "
                          "ValueError with a clear message instead.")
        if "error" in res[2]:
            raise Mistake(f"{call}.sample(8) with only 3 transitions stored raised {res[2]['message']}: "
                          "sample WITH replacement (e.g. rng.integers(0, len, size=batch_size)).")
        rows = _check_batch(res[2], f"{call}.sample(8)", 8, (2,))
        _membership(rows, _stored_rows([small]), None, f"{call}.sample(8)", 100)

    cases.append(Case("replay_buffer", {"capacity": 100, "obs_shape": 2, "seed": seed, "ops": ops3},
                      judge_seed, call=call3))
    # the same seed gives the same samples: two fresh buffers, the same adds
    twin = _transitions(rng, 20, (3,), 0)
    ops4 = [_add_op(twin), ["sample", 16], ["sample", 16], ["new"], _add_op(twin), ["sample", 16],
            ["sample", 16]]
    call4 = f"ReplayBuffer(50, 3, seed={seed + 1})"

    def judge_same(o, call=call4):
        res = _results(o, call)
        first = [_check_batch(r, f"{call}.sample(16)", 16, (3,)) for r in res[1:3]]
        second = [_check_batch(r, f"{call}.sample(16)", 16, (3,)) for r in res[5:7]]
        if np.array_equal(first[0], first[1]):  # 16 draws from 20: equal by chance with p = 20**-16
            raise Mistake(f"two consecutive {call}.sample(16) calls returned the same transitions: "
                          "make the generator once, in __init__ (self.rng = np.random.default_rng(seed)), "
                          "and draw every sample from it; a new default_rng(seed) per call repeats "
                          "the same indices.")
        if not all(np.array_equal(x, y) for x, y in zip(first, second)):
            raise Mistake(f"two {call} given the same transitions returned different samples: draw "
                          "indices with your own generator, np.random.default_rng(seed), made in "
                          "__init__ (not np.random or random).")

    cases.append(Case("replay_buffer", {"capacity": 50, "obs_shape": 3, "seed": seed + 1, "ops": ops4},
                      judge_same, call=call4))

    # 5. a buffer holding hundreds of transitions (batches of 16 envs): old ones are drawn as
    # often as recent ones
    n_envs, n_batches = 16, int(rng.integers(15, 25))
    capacity5 = int(rng.integers(n_envs * n_batches + 10, 1000))
    adds5 = [_transitions(rng, n_envs, (4,), n_envs * i) for i in range(n_batches)]
    n5, n_samples5 = n_envs * n_batches, 4000
    ops5 = [_add_op(t) for t in adds5] + [["len"], ["sample", n_samples5]]
    call5 = f"ReplayBuffer({capacity5}, 4, seed={seed + 2})"

    def judge_old_and_new(o, call=call5, n=n5, capacity=capacity5):
        res = _results(o, f"{call} (adding {n} transitions)")
        sample_call = f"{call}.sample({n_samples5}) after adding {n} transitions"
        rows = _check_batch(res[-1], sample_call, n_samples5, (4,))
        index = np.round(rows[:, 4 + 1]).astype(int)  # rewards hold the insertion index
        quarters = np.bincount(np.clip(index * 4 // n, 0, 3), minlength=4)
        # uniform: n_samples / 4 = 1000 per quarter, standard deviation ~27; allow +-150
        if quarters.min() < n_samples5 / 4 - 150 or quarters.max() > n_samples5 / 4 + 150:
            raise Mistake(f"{sample_call}: of the transitions drawn, {quarters.tolist()} came from the "
                          "oldest, second, third and newest quarter of what was added; uniform "
                          f"sampling gives about {n_samples5 // 4} each. Draw indices uniformly from "
                          "0 to len(buffer) - 1, not only the recent ones.")

    cases.append(Case("replay_buffer", {"capacity": capacity5, "obs_shape": 4, "seed": seed + 2,
                                        "ops": ops5}, judge_old_and_new, call=call5))
    return cases


# --------------------------------------------------------------------------- linear_schedule
def _lin(start: float, end: float, duration: float, t: float) -> float:
    return start + (end - start) * min(t / duration, 1.0)


@exercise("linear_schedule")
def linear_schedule(rng: np.random.Generator) -> list[Case]:
    cases = []
    start, end = 1.0, float(np.round(rng.uniform(0.01, 0.1), 3))
    duration = int(rng.integers(500, 5_000))
    ts = [0, int(duration * rng.uniform(0.1, 0.45)), int(duration * rng.uniform(0.55, 0.9)), duration,
          duration + int(rng.integers(1, 3 * duration))]
    specs = [(start, end, duration, t) for t in ts]
    s2, e2, d2 = float(np.round(rng.uniform(0.0, 0.3), 3)), float(np.round(rng.uniform(0.6, 2.0), 3)), \
        float(np.round(rng.uniform(3.0, 50.0), 2))
    specs += [(s2, e2, d2, float(np.round(d2 * rng.uniform(0.2, 0.8), 3))), (s2, e2, d2, 2 * d2 + 1)]
    for st, en, du, t in specs:
        exp = _lin(st, en, du, t)

        def judge(o, st=st, en=en, du=du, t=t, exp=exp):
            frac = t / du
            mistakes = {
                "the schedule is not clamped: after t = duration it must stay at end":
                    st + (en - st) * frac,
                "start and end are swapped: at t = 0 the value is start": en + (st - en) * min(frac, 1.0),
                "integer division t // duration: the value must move smoothly between start and end":
                    st + (en - st) * min(t // du, 1.0),
                "the fraction runs backwards: (1 - t / duration) * (end - start) + start":
                    st + (en - st) * (1.0 - min(frac, 1.0)),
            }
            expect_close(o["out"], exp, f"linear_schedule({st}, {en}, {du}, {t})", mistakes,
                         hint="value = start + (end - start) * min(t / duration, 1).", scalar=True)
        cases.append(call_case("linear_schedule", [st, en, du, t], judge=judge))
    return cases


# --------------------------------------------------------------------------- epsilon_greedy
@exercise("epsilon_greedy")
def epsilon_greedy(rng: np.random.Generator) -> list[Case]:
    cases = []
    n, a = 4000, int(rng.integers(3, 6))
    q = rng.normal(size=(n, a)).astype(np.float32)
    greedy = q.argmax(axis=1)
    seed = int(rng.integers(0, 10_000))
    for eps, as_tensor in [(0.0, False), (0.0, True), (1.0, False), (float(np.round(rng.uniform(0.15, 0.35), 3)), True),
                           (float(np.round(rng.uniform(0.6, 0.8), 3)), False)]:
        qv = torch.tensor(q) if as_tensor else q
        kind = "Tensor" if as_tensor else "array"
        call = f"epsilon_greedy(<{kind} of Q-values ({n}, {a})>, epsilon={eps}, rng)"

        def judge(o, eps=eps, call=call):
            outs = o["outs"]
            first = outs[0]
            if isinstance(first, dict) and "__tensor__" in first:
                raise Mistake(f"{call} returned a Tensor; return a numpy int array (e.g. .numpy()), "
                              "which env.step accepts.")
            acts = obs_array(first)
            if acts is None or acts.shape != (n,):
                raise Mistake(f"{call} returned {fmt(acts if acts is not None else first)}; expected "
                              f"one action per row, shape ({n},) (argmax over the action axis, axis=1).")
            if not (isinstance(first, dict) and "__nd__" in first and first["dtype"].startswith(("int", "uint"))):
                raise Mistake(f"{call} returned dtype {first.get('dtype') if isinstance(first, dict) else type(first).__name__}; "
                              "return integer actions (np.int64).")
            if acts.min() < 0 or acts.max() >= a:
                raise Mistake(f"{call} returned actions outside 0..{a - 1}.")
            if eps == 0.0:
                if not np.array_equal(acts, greedy):
                    raise Mistake(f"{call} with epsilon=0 must return argmax_a Q(s, a) of every row; "
                                  f"{int(np.sum(acts != greedy))} of {n} rows differ (did you explore "
                                  "when the random number is above epsilon?).")
                return
            p_greedy = (1 - eps) + eps / a
            frac = float(np.mean(acts == greedy))
            tol = 5 * np.sqrt(p_greedy * (1 - p_greedy) / n) + 0.01
            if abs(frac - p_greedy) > tol:
                known = {
                    "epsilon is compared the wrong way: you explore with probability 1 - epsilon": (
                        eps + (1 - eps) / a),
                    "the random action never equals the greedy one: pick uniformly among ALL actions "
                    "(rng.integers(0, A)), the greedy one included": 1 - eps,
                }
                for why, p in known.items():
                    if abs(frac - p) <= tol:
                        raise Mistake(f"{call}: {frac:.3f} of the actions were greedy, expected about "
                                      f"{p_greedy:.3f} = (1 - epsilon) + epsilon / A. Likely mistake: {why}.")
                if frac in (1.0,) or abs(frac - 1 / a) < tol:
                    raise Mistake(f"{call}: {frac:.3f} of the actions were greedy, expected about "
                                  f"{p_greedy:.3f}. Likely mistake: one coin flip for the whole batch; "
                                  "draw one random number per row (rng.random(N) < epsilon).")
                raise Mistake(f"{call}: {frac:.3f} of the actions were greedy, expected about "
                              f"{p_greedy:.3f} = (1 - epsilon) + epsilon / A.")
            others = acts[acts != greedy]
            if len(others):
                counts = np.array([np.sum((acts == k) & (greedy != k)) for k in range(a)])
                expected = np.array([np.sum(greedy != k) for k in range(a)]) * eps / a
                if np.any(np.abs(counts - expected) > 6 * np.sqrt(expected) + 10):
                    raise Mistake(f"{call}: the random actions are not uniform over the {a} actions "
                                  f"(non-greedy counts {counts.tolist()}, expected about "
                                  f"{np.round(expected).astype(int).tolist()}).")
            again, other = obs_array(outs[1]), obs_array(outs[2])
            if again is None or not np.array_equal(again, acts):
                raise Mistake(f"{call} gave different actions for two generators with the same seed: "
                              "draw every random number from rng (rng.random, rng.integers), not "
                              "np.random or random.")
            if other is not None and np.array_equal(other, acts) and eps > 0:
                raise Mistake(f"{call} ignores rng: another seed gave the same actions.")
        cases.append(Case("call_many", {"calls": [[enc(qv), eps, {"__rng__": s}]
                                                  for s in (seed, seed, seed + 1)]},
                          judge, call=call))
    return cases


# --------------------------------------------------------------------------- dqn_targets
@exercise("dqn_targets")
def dqn_targets(rng: np.random.Generator) -> list[Case]:
    cases = []
    for bool_dones, grad in [(False, True), (True, True), (False, False)]:
        b, a = int(rng.integers(5, 30)), int(rng.integers(2, 5))
        r = np.round(rng.normal(size=b), 3).astype(np.float32)
        nq = np.round(rng.normal(2.0, 1.0, size=(b, a)), 3).astype(np.float32)
        d = rng.random(b) < 0.4
        d[0], d[1] = True, False
        gamma = float(np.round(rng.uniform(0.5, 0.99), 3))
        next_q = torch.tensor(nq)
        if grad:
            next_q.requires_grad_(True)
        dones = torch.tensor(d) if bool_dones else torch.tensor(d.astype(np.float32))
        exp = r + gamma * (1 - d) * nq.max(axis=1)
        kind = "bool" if bool_dones else "float"
        call = (f"dqn_targets(rewards ({b},), next_q_target ({b}, {a})"
                f"{' requiring grad' if grad else ''}, dones ({b},) {kind}, gamma={gamma})")

        def judge(o, r=r, nq=nq, d=d, gamma=gamma, exp=exp, call=call, grad=grad, kind=kind):
            if "error" in o:
                hint = (" dones can be bool: convert with dones.float() (1 - a bool tensor is an error)."
                        if kind == "bool" else "")
                if "size" in o["error"] or "shape" in o["error"]:
                    hint += " Take the max over the action axis: next_q_target.max(dim=1).values."
                raise Mistake(f"{call} raised {o['error']}.{hint}")
            out = o["out"]
            if not (isinstance(out, dict) and "__tensor__" in out):
                raise Mistake(f"{call} returned {fmt(obs_array(out) if obs_array(out) is not None else out)}"
                              "; return a torch Tensor of shape (B,).")
            expect_close(out, exp, call, {
                "missing (1 - done): a terminal transition's target is r alone":
                    r + gamma * nq.max(axis=1),
                "the discount gamma is missing": r + (1 - d) * nq.max(axis=1),
                "you used the argmax (an index) instead of the max value":
                    r + gamma * (1 - d) * nq.argmax(axis=1),
                "you used done instead of (1 - done)": r + gamma * d * nq.max(axis=1),
                "you averaged over actions instead of taking the max": r + gamma * (1 - d) * nq.mean(axis=1),
            }, hint="y = r + gamma * (1 - done) * max_a' next_q_target[:, a'] (max over dim=1).",
                rtol=1e-5, atol=1e-5)
            if grad and out.get("requires_grad"):
                raise Mistake(f"{call} returned targets that require grad: the target is a constant "
                              "in DQN; compute it under torch.no_grad() (or .detach() it).")
        cases.append(call_case("dqn_targets", [torch.tensor(r), next_q, dones, gamma], judge=judge,
                               probe="call_or_error",
                               desc=f"rewards ({b},), next_q_target ({b}, {a}), dones ({b},) {kind}, gamma={gamma}"))
    return cases


# --------------------------------------------------------------------------- dqn_loss
@exercise("dqn_loss")
def dqn_loss(rng: np.random.Generator) -> list[Case]:
    cases = []
    for b, a in [(int(rng.integers(6, 40)), int(rng.integers(2, 5))), (int(rng.integers(3, 6)), 2)]:
        q = np.round(rng.normal(0, 2, size=(b, a)), 3).astype(np.float32)
        acts = rng.integers(0, a, size=b)
        y = np.round(rng.normal(0, 2, size=b), 3).astype(np.float32)
        y[0] = q[0, acts[0]] + 3.0  # one large error so Huber differs from squared error
        q_sa = q[np.arange(b), acts].astype(np.float64)
        err = q_sa - y
        exp = float(np.mean(err ** 2))
        grad = np.zeros((b, a))
        grad[np.arange(b), acts] = 2 * err / b
        huber = float(np.mean(np.where(np.abs(err) < 1, 0.5 * err ** 2, np.abs(err) - 0.5)))
        call = f"dqn_loss(q_values ({b}, {a}) requiring grad, actions ({b},), targets ({b},))"
        qt = torch.tensor(q).requires_grad_(True)

        def judge(o, exp=exp, grad=grad, err=err, huber=huber, call=call, q=q, y=y, b=b, acts=acts):
            out = o["out"]
            if not (isinstance(out, dict) and "__tensor__" in out):
                raise Mistake(f"{call} returned {type(out).__name__}; return the loss Tensor itself "
                              "(no .item()), so loss.backward() can reach the network.")
            got = obs_array(out)
            if got.size != 1:
                raise Mistake(f"{call} returned shape {tuple(got.shape)}; the loss is one number: "
                              "take the mean over the batch.")
            expect_close(out, exp, call, {
                "you summed over the batch; use the mean": float(np.sum(err ** 2)),
                "this is the Huber (smooth L1) loss; the exercise asks for the mean squared error": huber,
                "you used max_a Q(s, a) instead of the Q-value of the action taken (gather by actions)":
                    float(np.mean((q.max(axis=1) - y) ** 2)),
                "shapes (B, 1) and (B,) broadcast to a (B, B) matrix: squeeze the gathered Q-values "
                "to (B,) before subtracting the targets":
                    float(np.mean((q_sa_col(q, acts) - y[None, :]) ** 2)),
                "missing square: use (Q(s, a) - y) ** 2": float(np.mean(err)),
                "missing square: use (Q(s, a) - y) ** 2, not the absolute error": float(np.mean(np.abs(err))),
            }, hint="loss = mean_i (q_values[i, actions[i]] - targets[i]) ** 2.", scalar=True)
            if o["grads"][0] is None:
                raise Mistake(f"{call} returned a loss with no gradient for q_values: did you detach "
                              "the Q-values or rebuild the loss with torch.tensor(...)?")
            expect_close(o["grads"][0], grad, f"the gradient of {call} with respect to q_values",
                         hint="only q_values[i, actions[i]] may receive a gradient, 2 (q - y) / B: "
                         "gather along dim 1 by actions.", rtol=1e-4, atol=1e-5)
        cases.append(call_case("dqn_loss", [qt, torch.tensor(acts, dtype=torch.int64), torch.tensor(y)],
                               judge=judge, backward=True,
                               desc=f"q_values ({b}, {a}), actions ({b},), targets ({b},)"))
    return cases


def q_sa_col(q: np.ndarray, acts: np.ndarray) -> np.ndarray:
    """The gathered Q-values as a (B, 1) column (what gather(1, a.unsqueeze(1)) returns)."""
    return q[np.arange(len(acts)), acts][:, None].astype(np.float64)


# --------------------------------------------------------------------------- update_target
def _weights(rng: np.random.Generator, d_in: int, h: int, d_out: int) -> list[np.ndarray]:
    return [np.round(rng.normal(size=s), 3).astype(np.float32) for s in [(h, d_in), (h,), (d_out, h), (d_out,)]]


@exercise("update_target")
def update_target(rng: np.random.Generator) -> list[Case]:
    cases = []
    d_in, h, d_out = int(rng.integers(2, 5)), int(rng.integers(3, 7)), int(rng.integers(2, 4))
    # blends first: with tau = 1, swapping tau and 1 - tau looks like "no update at all"
    for tau in [float(np.round(rng.uniform(0.6, 0.9), 3)), float(np.round(rng.uniform(0.01, 0.3), 3)), None, 1.0]:
        wt, wo = _weights(rng, d_in, h, d_out), _weights(rng, d_in, h, d_out)
        t = 1.0 if tau is None else tau
        exp = [t * o_ + (1 - t) * t_ for t_, o_ in zip(wt, wo)]
        call = "update_target(target_net, online_net" + ("" if tau is None else f", tau={tau}") + ")"

        def judge(o, wt=wt, wo=wo, t=t, exp=exp, call=call):
            if "error" in o:
                hint = ""
                if "leaf Variable" in o["error"] or "in-place" in o["error"]:
                    hint = " Wrap the update in `with torch.no_grad():`."
                raise Mistake(f"{call} raised {o['error']}.{hint}")
            online = [obs_array(x) for x in o["online"]]
            if not all(np.allclose(x, w) for x, w in zip(online, wo)):
                raise Mistake(f"{call} changed online_net; only the target network moves "
                              "(check the argument order: target first).")
            got = [obs_array(x) for x in o["target"]]
            if all(np.allclose(g, w) for g, w in zip(got, wt)) and t > 0:
                raise Mistake(f"{call} left the target network unchanged: assigning to a local name "
                              "(`target_param = ...`, `target_net = copy.deepcopy(...)`) does not "
                              "change the network; write into its parameters in place, "
                              "e.g. target_param.copy_(...) or .lerp_(param, tau).")
            for k, (g, e) in enumerate(zip(got, exp)):
                swapped = (1 - t) * wo[k] + t * wt[k]
                if g.shape == e.shape and np.allclose(g, e, rtol=1e-5, atol=1e-6):
                    continue
                if g.shape == swapped.shape and np.allclose(g, swapped, rtol=1e-5, atol=1e-6):
                    raise Mistake(f"{call}: tau and 1 - tau are swapped; theta_targ <- tau * theta + "
                                  "(1 - tau) * theta_targ (tau = 1 copies the online network).")
                if np.allclose(g, wo[k], rtol=1e-5, atol=1e-6):
                    raise Mistake(f"{call} copied the online network although tau={t}: "
                                  "theta_targ <- tau * theta + (1 - tau) * theta_targ.")
                raise Mistake(f"{call}: parameter {k} of the target is {fmt(g)}, expected {fmt(e)} "
                              "= tau * theta + (1 - tau) * theta_targ.")
            if not o["same_objects"]:
                raise Mistake(f"{call} replaced the target's Parameter objects; update them in place "
                              "(copy_ / lerp_ under torch.no_grad()) so an optimizer or other references "
                              "to them stay valid.")
        payload = {"target_weights": [enc(w) for w in wt], "online_weights": [enc(w) for w in wo]}
        if tau is not None:
            payload["tau"] = tau
        cases.append(Case("update_target", payload, judge, call=call))
    return cases
