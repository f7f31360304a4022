"""Hidden tests of lesson 06: the parts of DQN.

Fresh random inputs of every kind the contract admits (``rlcore/catalog/lesson06.py`` lists
them and the named mistakes). The judges compare with the reference and say what happened;
a failure is named by the catalogued wrong implementation that behaves the same
(``judge_case``), or, for the mistakes no wrong implementation can reproduce exactly
(random draws, object identity), by the judge itself from what it saw (``named``).
"""

from __future__ import annotations

import numpy as np
import torch

from autograder import hidden as h
from rlcore import catalog, dqn_parts
from rlcore.check import fmt

FIELDS = ("obs", "actions", "rewards", "next_obs", "dones")


# --------------------------------------------------------------------------- ReplayBuffer
def _transitions(rng: np.random.Generator, n: int, obs_shape: tuple[int, ...], start: int,
                 float_dones: bool = False) -> dict:
    """n distinct transitions; rewards hold the insertion index + 1, so rows can be recognised
    (and an all-zero row is a slot that was never written)."""
    obs = (np.round(rng.normal(size=(n, *obs_shape)) * 16) / 16).astype(np.float32)  # exact in float32
    dones = rng.random(n) < 0.3
    return {
        "obs": obs,
        "actions": rng.integers(0, 4, size=n).astype(np.int64),
        "rewards": (start + 1 + np.arange(n)).astype(np.float32),
        "next_obs": obs + np.float32(1.0) + (np.round(rng.normal(size=obs.shape) * 16) / 16).astype(np.float32),
        "dones": dones.astype(np.float32) if float_dones else dones,
    }


def _rows(batch: dict) -> np.ndarray | None:
    """The sampled transitions as rows [obs..., action, reward, next_obs..., done]."""
    cols = []
    for f in FIELDS:
        a = h.obs_array(batch.get(f))
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
    return ["add"] + [h.enc(t[f]) for f in FIELDS]


def _raised(message: str, what: str):
    """The Mistake for an error the buffer raised: named when the catalog knows the error."""
    known = catalog.get("ReplayBuffer").raised(message)
    if known is not None:
        return h.named(known.id, what)
    return h.fail(what, "Read the error: the docstring of the exercise says what add and sample take.")


def _check_batch(o: dict, call: str, batch_size: int, obs_shape: tuple[int, ...]) -> np.ndarray:
    """Check fields, shapes, dtypes of one observed sample; return its rows."""
    if "error" in o:
        raise _raised(o["message"], f"{call} raised {o['message']}")
    values = [o[f] for f in FIELDS]
    if any(isinstance(v, dict) and "missing" in v for v in values):
        gone = [f for f, v in zip(FIELDS, values) if isinstance(v, dict) and "missing" in v]
        raise h.fail(f"{call} returned a {o['type']} without the field(s) {gone}",
                     "Return an object with Tensor fields obs, actions, rewards, next_obs, dones (Batch).")
    if all(isinstance(v, dict) and "__nd__" in v for v in values):
        raise h.named("ReplayBuffer/not_tensors", f"{call} returned numpy arrays")
    for f, v in zip(FIELDS, values):
        if not (isinstance(v, dict) and "__tensor__" in v):
            raise h.fail(f"{call} returned .{f} = {fmt(h.obs_array(v) if h.obs_array(v) is not None else v)}, "
                         "not a torch Tensor", "Convert with torch.from_numpy or torch.as_tensor.")
    shapes = {"obs": [batch_size, *obs_shape], "next_obs": [batch_size, *obs_shape],
              "actions": [batch_size], "rewards": [batch_size], "dones": [batch_size]}
    dtypes = {"obs": "float32", "next_obs": "float32", "actions": "int64", "rewards": "float32",
              "dones": "float32"}
    for f in FIELDS:
        if list(o[f]["shape"]) != shapes[f]:
            raise h.fail(f"{call} returned .{f} of shape {tuple(o[f]['shape'])}, expected {tuple(shapes[f])}",
                         "obs and next_obs are (batch_size, *obs_shape), the rest (batch_size,).")
    wrong = {f: o[f]["dtype"] for f in FIELDS if o[f]["dtype"] != dtypes[f]}
    if wrong:
        what = f"{call} returned fields of dtypes {wrong}, expected { {f: dtypes[f] for f in wrong} }"
        if "float64" in wrong.values():
            raise h.named("ReplayBuffer/float64_storage", what)
        raise h.fail(what, "obs, next_obs, rewards and dones are float32; actions int64 (gather needs int64).")
    return _rows(o)


def _results(o: dict, call: str) -> list:
    """The probe's list of results, or the Mistake for the error the buffer raised."""
    if "error" in o:
        raise _raised(o["error"], f"{call} raised {o['error']}")
    return o["results"]


def _membership(rows: np.ndarray, added: np.ndarray, kept: int, call: str, wrapped: bool) -> None:
    """Every sampled row must be one of the ``kept`` newest of the ``added`` rows; name the mistake.

    Rows are recognised by their reward (the insertion index + 1). wrapped: a batch has gone
    past the end of the buffer, so an all-zero row is a slot the wrap-around skipped rather
    than one sampled before it was ever written.
    """
    col = (rows.shape[1] - 3) // 2 + 1  # obs..., action, reward, next_obs..., done
    ids = np.round(rows[:, col]).astype(int) - 1
    blank = np.all(rows == 0.0, axis=1)
    if blank.any():
        raise h.named("ReplayBuffer/batch_restarts_at_zero" if wrapped else "ReplayBuffer/never_written_slots",
                      f"{call} returned {int(blank.sum())} all-zero transitions of {len(rows)}")
    known = (ids >= 0) & (ids < len(added))
    whole = known & np.all(np.isclose(rows, added[np.clip(ids, 0, len(added) - 1)], atol=1e-5), axis=1)
    if not whole.all():
        raise h.named("ReplayBuffer/fields_unpaired", f"{call} returned a transition that was never added "
                      f"as a whole: {fmt(rows[np.argmin(whole)])}")
    old = ids < len(added) - kept
    if old.any():
        raise h.named("ReplayBuffer/overwrites_newest", f"{call} returned transition number "
                      f"{int(ids[old][0]) + 1} of the {len(added)} added, which should have been overwritten")


def _fill_case(rng: np.random.Generator, seed: int) -> h.Case:
    """A buffer filled below capacity, in batches (one of a single env); len after each; many samples."""
    obs_shape = (int(rng.integers(2, 5)),)
    capacity = int(rng.integers(40, 60))
    adds, n_total = [], 0
    for n in [int(rng.integers(2, 6)), 1, int(rng.integers(3, 8))]:
        adds.append(_transitions(rng, n, obs_shape, n_total))
        n_total += n
    ops = []
    for t in adds:
        ops += [_add_op(t), ["len"]]
    lens = [int(k) for k in np.cumsum([len(t["rewards"]) for t in adds])]
    n_samples = 3000
    ops += [["sample", n_samples], ["sample", 1]]
    stored = _stored_rows(adds)
    call = f"ReplayBuffer({capacity}, {obs_shape[0]}, seed={seed})"

    def judge(o):
        res = _results(o, call)
        got_lens = [res[2 * i + 1] for i in range(len(lens))]
        if got_lens != lens:
            what = (f"after adding batches of {[len(a['rewards']) for a in adds]} transitions to {call}, "
                    f"len() gave {got_lens}, expected {lens}")
            if got_lens == [1, 2, 3]:
                raise h.named("ReplayBuffer/len_counts_calls", what)
            raise h.fail(what, "len() counts the transitions stored.")
        k = 2 * len(lens)
        sample_call = f"{call}.sample({n_samples})"
        rows = _check_batch(res[k], sample_call, n_samples, obs_shape)
        _membership(rows, stored, len(stored), sample_call, wrapped=False)
        counts = np.bincount(np.round(rows[:, obs_shape[0] + 1]).astype(int) - 1, minlength=len(stored))
        if counts.min() == 0:
            raise h.fail(f"{sample_call} never returned transition number {int(np.argmin(counts)) + 1} of "
                         f"the {len(stored)} stored", "Sample uniformly from everything stored (a batch "
                         "of one env counts too).")
        expected = n_samples / len(stored)
        chi2 = float(np.sum((counts - expected) ** 2 / expected))
        dof = len(stored) - 1
        if chi2 > dof + 6 * np.sqrt(2 * dof) + 10:
            raise h.fail(f"{sample_call} is not uniform over the stored transitions (counts "
                         f"{counts.tolist()})", "Draw each index with equal probability.")
        _check_batch(res[k + 1], f"{call}.sample(1)", 1, obs_shape)

    return h.with_kind(h.Case("replay_buffer", {"capacity": capacity, "obs_shape": obs_shape[0], "seed": seed,
                                        "ops": ops}, judge, call=call), "batch of one")


def _wrap_case(rng: np.random.Generator, seed: int) -> h.Case:
    """Past capacity, with a 2-D observation shape: the first wrap comes in the middle of a batch."""
    obs_shape = (2, 3)
    capacity = int(rng.integers(6, 10))
    adds = [_transitions(rng, capacity - 1, obs_shape, 0), _transitions(rng, 3, obs_shape, capacity - 1)]
    first_wrap = n_total = capacity + 2
    while n_total < 2 * capacity + 3:
        n = int(rng.integers(2, 5))
        adds.append(_transitions(rng, n, obs_shape, n_total))
        n_total += n
    all_rows = _stored_rows(adds)
    ops = ([_add_op(adds[0]), _add_op(adds[1]), ["len"], ["sample", 1500]]
           + [_add_op(t) for t in adds[2:]] + [["len"], ["sample", 1500]])
    call = f"ReplayBuffer({capacity}, (2, 3), seed={seed})"
    reward_col = int(np.prod(obs_shape)) + 1  # rewards hold the insertion index + 1

    def judge_newest(rows: np.ndarray, n_added: int) -> None:
        """The rows sampled after n_added transitions: exactly the `capacity` newest, each drawn."""
        stored = all_rows[n_added - capacity:n_added]
        sample_call = f"{call}.sample(1500) after adding {n_added} transitions"
        _membership(rows, all_rows[:n_added], capacity, sample_call, wrapped=True)
        missing = sorted({round(r) for r in stored[:, reward_col]} - {round(r) for r in rows[:, reward_col]})
        if missing:  # 1500 uniform draws over at most 9 slots miss one with probability < 1e-60
            raise h.named("ReplayBuffer/up_to_pos", f"{sample_call} never returned {len(missing)} of the "
                          f"{capacity} newest transitions (numbers {missing[:5]} in the order added)")

    def judge(o):
        res = _results(o, f"{call} (adding {n_total} transitions)")
        for i, added in ((2, first_wrap), (-2, n_total)):
            if res[i] != capacity:
                what = f"{call}: len() gave {res[i]} after {added} transitions, expected {capacity}"
                if res[i] == added:
                    raise h.named("ReplayBuffer/len_not_capped", what)
                raise h.fail(what, "A full buffer keeps exactly capacity transitions.")
        judge_newest(_check_batch(res[3], f"{call}.sample(1500)", 1500, obs_shape), first_wrap)
        judge_newest(_check_batch(res[-1], f"{call}.sample(1500)", 1500, obs_shape), n_total)

    return h.with_kind(h.Case("replay_buffer", {"capacity": capacity, "obs_shape": h.enc(obs_shape), "seed": seed,
                                        "ops": ops}, judge, call=call), "tuple obs_shape")


def _empty_case(rng: np.random.Generator, seed: int) -> h.Case:
    """Sampling an empty buffer raises ValueError; then more samples than transitions stored,
    after the arrays given to add were changed in place (what was stored must not change)."""
    small = _transitions(rng, 3, (2,), 0, float_dones=True)
    ops = [["sample", 4], _add_op(small), ["poke"], ["sample", 8], ["sample", 8]]
    call = f"ReplayBuffer(100, 2, seed={seed})"

    def judge(o):
        res = _results(o, call)
        first = res[0]
        if not (isinstance(first, dict) and first.get("error") == "ValueError"):
            got = f"raised {first['message']}" if isinstance(first, dict) and "error" in first else "returned a batch"
            raise h.named("ReplayBuffer/empty_no_error", f"{call}.sample(4) on an empty buffer {got}")
        sample_call = f"{call}.sample(8) with 3 transitions stored"
        rows = _check_batch(res[3], sample_call, 8, (2,))
        if np.any(np.abs(rows) > 500):
            raise h.named("ReplayBuffer/stores_references", f"{sample_call} returned values changed by 1000 "
                          "after the arrays given to add were changed in place")
        _membership(rows, _stored_rows([small]), 3, sample_call, wrapped=False)

    return h.with_kind(h.Case("replay_buffer", {"capacity": 100, "obs_shape": 2, "seed": seed, "ops": ops},
                      judge, call=call), "float dones")


def _seed_case(rng: np.random.Generator, seed: int) -> h.Case:
    """Two fresh buffers with the same seed and the same adds sample the same; two calls differ."""
    twin = _transitions(rng, 20, (3,), 0)
    ops = [_add_op(twin), ["sample", 16], ["sample", 16], ["new"], _add_op(twin), ["sample", 16],
           ["sample", 16]]
    call = f"ReplayBuffer(50, 3, seed={seed + 1})"

    def judge(o):
        res = _results(o, call)
        first = [_check_batch(r, f"{call}.sample(16)", 16, (3,)) for r in res[1:3]]
        second = [_check_batch(r, f"{call}.sample(16)", 16, (3,)) for r in res[5:7]]
        if np.array_equal(first[0], first[1]):  # 16 draws from 20: equal by chance with p = 20**-16
            raise h.named("ReplayBuffer/new_rng_per_sample",
                          f"two consecutive {call}.sample(16) calls returned the same transitions")
        if not all(np.array_equal(x, y) for x, y in zip(first, second)):
            raise h.named("ReplayBuffer/ignores_seed",
                          f"two {call} given the same transitions returned different samples")

    return h.with_kind(h.Case("replay_buffer", {"capacity": 50, "obs_shape": 3, "seed": seed + 1, "ops": ops},
                      judge, call=call), "int obs_shape")


def _old_and_new_case(rng: np.random.Generator, seed: int) -> h.Case:
    """Hundreds of transitions (batches of 16 envs): old ones are drawn as often as recent ones."""
    n_envs, n_batches = 16, int(rng.integers(15, 25))
    capacity = int(rng.integers(n_envs * n_batches + 10, 1000))
    adds = [_transitions(rng, n_envs, (4,), n_envs * i) for i in range(n_batches)]
    n, n_samples = n_envs * n_batches, 4000
    ops = [_add_op(t) for t in adds] + [["len"], ["sample", n_samples]]
    call = f"ReplayBuffer({capacity}, 4, seed={seed + 2})"

    def judge(o):
        res = _results(o, f"{call} (adding {n} transitions)")
        sample_call = f"{call}.sample({n_samples}) after adding {n} transitions"
        rows = _check_batch(res[-1], sample_call, n_samples, (4,))
        index = np.round(rows[:, 4 + 1]).astype(int) - 1  # rewards hold the insertion index + 1
        quarters = np.bincount(np.clip(index * 4 // n, 0, 3), minlength=4)
        # uniform: n_samples / 4 = 1000 per quarter, standard deviation ~27; allow +-150
        if quarters.min() < n_samples / 4 - 150 or quarters.max() > n_samples / 4 + 150:
            what = (f"{sample_call}: of the transitions drawn, {quarters.tolist()} came from the oldest, "
                    f"second, third and newest quarter of what was added, about {n_samples // 4} each "
                    "expected")
            if quarters[:3].sum() < n_samples / 20:
                raise h.named("ReplayBuffer/recent_only", what)
            raise h.fail(what, "Draw indices uniformly over everything stored.")

    return h.with_kind(h.Case("replay_buffer", {"capacity": capacity, "obs_shape": 4, "seed": seed + 2,
                                        "ops": ops}, judge, call=call), "bool dones")


@h.exercise("ReplayBuffer")
def ReplayBuffer(rng: np.random.Generator) -> list[h.Case]:
    seed = int(rng.integers(0, 10_000))
    return [make(rng, seed) for make in (_fill_case, _wrap_case, _empty_case, _seed_case, _old_and_new_case)]


# --------------------------------------------------------------------------- linear_schedule
@h.exercise("linear_schedule")
def linear_schedule(rng: np.random.Generator) -> list[h.Case]:
    cases = []
    start, end = 1.0, float(np.round(rng.uniform(0.01, 0.1), 3))
    duration = int(rng.integers(500, 5_000))
    ts = [0, int(duration * rng.uniform(0.1, 0.45)), int(duration * rng.uniform(0.55, 0.9)), duration,
          duration + int(rng.integers(1, 3 * duration))]
    specs = [(start, end, duration, t, "int") for t in ts]
    s2, e2 = float(np.round(rng.uniform(0.0, 0.3), 3)), float(np.round(rng.uniform(0.6, 2.0), 3))
    d2 = float(np.round(rng.uniform(3.0, 50.0), 2))
    specs += [(s2, e2, d2, float(np.round(d2 * rng.uniform(0.2, 0.8), 3)), "float"),
              (s2, e2, d2, 2 * d2 + 1, "increasing")]
    for st, en, du, t, kind in specs:
        def judge(o, st=st, en=en, du=du, t=t):
            h.expect_close(o["out"], dqn_parts.linear_schedule(st, en, du, t), f"linear_schedule({st}, {en}, {du}, {t})",
                           hint="value = start + (end - start) * min(t / duration, 1).", scalar=True)
        cases.append(h.with_kind(h.call_case("linear_schedule", [st, en, du, t], judge=judge), kind))
    return cases


# --------------------------------------------------------------------------- epsilon_greedy
def _judge_actions(o: dict, call: str, q: np.ndarray, eps: float) -> None:
    """The actions of three calls (a seed, the same seed, another seed) at one epsilon."""
    n, a = q.shape
    greedy = q.argmax(axis=1)
    first = o["outs"][0]
    if isinstance(first, dict) and "__tensor__" in first:
        raise h.named("epsilon_greedy/returns_tensor", f"{call} returned a Tensor")
    acts = h.obs_array(first)
    if acts is None or acts.shape != (n,):
        raise h.fail(f"{call} returned {fmt(acts if acts is not None else first)}",
                     f"Return one action per row, shape ({n},).")
    if not (isinstance(first, dict) and "__nd__" in first and first["dtype"].startswith(("int", "uint"))):
        raise h.fail(f"{call} returned {h.kind_of(first)} of dtype {first.get('dtype') if isinstance(first, dict) else '?'}",
                     "Return integer actions (np.int64).")
    if eps == 0.0 and n > 1 and np.all(acts == np.argmax(q)):
        raise h.named("epsilon_greedy/argmax_no_axis", f"{call} returned {int(acts[0])} for every row")
    if acts.min() < 0 or acts.max() >= a:
        raise h.fail(f"{call} returned actions outside 0..{a - 1}", "Actions are column indices of q_values.")
    p_greedy = (1 - eps) + eps / a
    frac = float(np.mean(acts == greedy))
    tol = 5 * np.sqrt(p_greedy * (1 - p_greedy) / n) + 0.01
    what = (f"{call}: {frac:.3f} of the actions were greedy, expected about {p_greedy:.3f} "
            "= (1 - epsilon) + epsilon / A")
    if eps == 0.0 and not np.array_equal(acts, greedy):
        if n > 1 and abs(frac - 1 / a) < 5 * np.sqrt(1 / a / n) + 0.01:
            raise h.named("epsilon_greedy/compared_wrong_way", what)
        raise h.fail(f"{call} with epsilon=0: {int(np.sum(acts != greedy))} of {n} rows are not "
                     "argmax_a Q(s, a)", "With epsilon = 0 every action is greedy.")
    if eps == 0.0:
        return
    if abs(frac - p_greedy) > tol:
        if eps == 1.0 and frac > 0.9:
            raise h.named("epsilon_greedy/compared_wrong_way", what)
        if eps == 1.0 and frac < 0.02:
            raise h.named("epsilon_greedy/excludes_greedy", what)
        if frac == 1.0 or abs(frac - 1 / a) < tol:
            raise h.named("epsilon_greedy/one_coin", what)
        raise h.fail(what, "Per row: with probability epsilon a uniformly random action among ALL "
                     "actions, else the argmax.")
    counts = np.array([np.sum((acts == k) & (greedy != k)) for k in range(a)])
    expected = np.array([np.sum(greedy != k) for k in range(a)]) * eps / a
    if np.any(np.abs(counts - expected) > 6 * np.sqrt(expected) + 10):
        what = (f"{call}: the random actions are not uniform over the {a} actions (non-greedy counts "
                f"{counts.tolist()}, expected about {np.round(expected).astype(int).tolist()})")
        if counts[-1] == 0:
            raise h.named("epsilon_greedy/excludes_last_action", what)
        raise h.fail(what, "Draw the random action uniformly among all actions.")
    again, other = h.obs_array(o["outs"][1]), h.obs_array(o["outs"][2])
    if again is None or not np.array_equal(again, acts):
        raise h.named("epsilon_greedy/ignores_rng", f"{call} gave different actions for two generators "
                      "with the same seed")
    if other is not None and np.array_equal(other, acts):
        raise h.named("epsilon_greedy/own_generator", f"{call} gave the same actions for two generators "
                      "with different seeds")


@h.exercise("epsilon_greedy")
def epsilon_greedy(rng: np.random.Generator) -> list[h.Case]:
    cases = []
    n, a = 4000, int(rng.integers(3, 6))
    # three decimals (short payloads); the last digit is the column, so no row has a tie
    q = np.round(np.round(rng.normal(size=(n, a)), 2) + np.arange(a) / 1000, 3)
    seed = int(rng.integers(0, 10_000))
    plans = [(q, 0.0, "array"), (q, 0.0, "Tensor"), (q, 1.0, "array"),
             (q, float(np.round(rng.uniform(0.15, 0.35), 3)), "Tensor"),
             (q, float(np.round(rng.uniform(0.6, 0.8), 3)), "array"), (q[:1], 0.0, "batch of one")]
    for qs, eps, kind in plans:
        qv = torch.tensor(qs) if kind == "Tensor" else qs
        what = "Tensor" if kind == "Tensor" else "array"
        call = f"epsilon_greedy(<{what} of Q-values {qs.shape}>, epsilon={eps}, rng)"
        cases.append(h.with_kind(h.Case("call_many", {"calls": [[h.enc(qv), eps, {"__rng__": s}]
                                                        for s in (seed, seed, seed + 1)]},
                                lambda o, call=call, qs=qs, eps=eps: _judge_actions(o, call, qs, eps),
                                call=call), kind))
    return cases


# --------------------------------------------------------------------------- dqn_targets
@h.exercise("dqn_targets")
def dqn_targets(rng: np.random.Generator) -> list[h.Case]:
    cases = []
    plans = [("bool dones", torch.float32, True), ("float dones", torch.float32, True),
             ("float64", torch.float64, True), ("float32", torch.float32, False),
             ("batch of one", torch.float32, True)]
    for kind, dtype, grad in plans:
        b = 1 if kind == "batch of one" else int(rng.integers(5, 30))
        a = int(rng.integers(2, 5))
        r = np.round(rng.normal(size=b), 3)
        nq = np.round(rng.normal(2.0, 1.0, size=(b, a)), 3)
        d = rng.random(b) < 0.4
        d[0] = kind != "batch of one"
        if b > 1:
            d[1] = False
        gamma = float(np.round(rng.uniform(0.5, 0.99), 3))
        next_q = torch.tensor(nq, dtype=dtype).requires_grad_(grad)
        bool_dones = kind in ("bool dones", "float64", "batch of one")
        dones = torch.tensor(d) if bool_dones else torch.tensor(d.astype(np.float32))
        expected = dqn_parts.dqn_targets(torch.tensor(r), torch.tensor(nq), torch.tensor(d), gamma).numpy()
        desc = (f"rewards ({b},) {str(dtype)[6:]}, next_q_target ({b}, {a}){' requiring grad' if grad else ''}, "
                f"dones ({b},) {'bool' if bool_dones else 'float'}, gamma={gamma}")

        def judge(o, expected=expected, call=f"dqn_targets({desc})", grad=grad, dtype=str(dtype)[6:]):
            if "error" in o:
                raise h.fail(f"{call} raised {o['error']}", "Read the error above.")
            out = o["out"]
            if not (isinstance(out, dict) and "__tensor__" in out):
                raise h.fail(f"{call} returned {h.kind_of(out)}, expected a Tensor", "Return a torch Tensor of shape (B,).")
            h.expect_close(out, expected, call, rtol=1e-5, atol=1e-5,
                           hint="y = r + gamma * (1 - done) * max_a' next_q_target[:, a'] (max over dim=1).")
            if grad and out.get("requires_grad"):
                raise h.fail(f"{call} returned targets that require grad", "The target is a constant.")
            if out["dtype"] != dtype:
                raise h.fail(f"{call} returned a {out['dtype']} Tensor, expected {dtype}", "Keep the input's dtype.")
        cases.append(h.with_kind(h.call_case("dqn_targets", [torch.tensor(r, dtype=dtype), next_q, dones, gamma],
                                     judge=judge, probe="call_or_error", desc=desc), kind))
    return cases


# --------------------------------------------------------------------------- dqn_loss
@h.exercise("dqn_loss")
def dqn_loss(rng: np.random.Generator) -> list[h.Case]:
    cases = []
    for kind, dtype, b in [("float32", torch.float32, int(rng.integers(6, 40))),
                           ("float64", torch.float64, int(rng.integers(3, 10))), ("batch of one", torch.float32, 1)]:
        a = int(rng.integers(2, 5))
        q = np.round(rng.normal(0, 2, size=(b, a)), 3)
        acts = rng.integers(0, a, size=b)
        q_sa = q[np.arange(b), acts]
        y = np.round(rng.normal(0, 2, size=b), 3)
        y[0] = q_sa[0] + 3.0  # one error above 1: Huber differs from squared error
        if b > 1:
            y[1] = q_sa[1] - 1.2  # and errors of both signs: |error| differs from error
        err = q_sa - y
        grad = np.zeros((b, a))
        grad[np.arange(b), acts] = 2 * err / b
        call = f"dqn_loss(q_values ({b}, {a}) requiring grad, actions ({b},), targets ({b},))"
        mse = float(np.mean(err ** 2))

        def judge(o, exp=mse, grad=grad, call=call):
            out = o["out"]
            if not (isinstance(out, dict) and "__tensor__" in out):
                raise h.fail(f"{call} returned {h.kind_of(out)}, expected a Tensor", "Return the loss Tensor itself.")
            if h.obs_array(out).size != 1:
                raise h.fail(f"{call} returned shape {tuple(out['shape'])}, expected a scalar",
                             "The loss is one number: the mean over the batch.")
            h.expect_close(out, exp, call, hint="loss = mean_i (q_values[i, actions[i]] - targets[i]) ** 2.",
                           scalar=True)
            if o["grads"][0] is None:
                raise h.fail(f"{call} returned a loss with no gradient for q_values",
                             "Keep q_values in the computation.")
            h.expect_close(o["grads"][0], grad, f"the gradient of {call} with respect to q_values",
                           hint="only q_values[i, actions[i]] may receive a gradient, 2 (q - y) / B.",
                           rtol=1e-4, atol=1e-5)
        qt = torch.tensor(q, dtype=dtype).requires_grad_(True)
        cases.append(h.with_kind(h.call_case("dqn_loss", [qt, torch.tensor(acts, dtype=torch.int64), torch.tensor(y, dtype=dtype)],
                                     judge=judge, backward=True,
                                     desc=f"q_values ({b}, {a}), actions ({b},), targets ({b},)"), kind))
    return cases


# --------------------------------------------------------------------------- update_target
def _weights(rng: np.random.Generator, d_in: int, width: int, d_out: int) -> list[np.ndarray]:
    return [np.round(rng.normal(size=s), 3).astype(np.float32) for s in [(width, d_in), (width,), (d_out, width), (d_out,)]]


@h.exercise("update_target")
def update_target(rng: np.random.Generator) -> list[h.Case]:
    cases = []
    d_in, width, d_out = int(rng.integers(2, 5)), int(rng.integers(3, 7)), int(rng.integers(2, 4))
    # blends first: with tau = 1, swapping tau and 1 - tau looks like "no update at all"
    taus = [(float(np.round(rng.uniform(0.6, 0.9), 3)), "soft tau"),
            (float(np.round(rng.uniform(0.01, 0.3), 3)), "soft tau"), (None, "default tau"), (1.0, "tau = 1")]
    for tau, kind in taus:
        wt, wo = _weights(rng, d_in, width, d_out), _weights(rng, d_in, width, d_out)
        t = 1.0 if tau is None else tau
        exp = [t * o_ + (1 - t) * t_ for t_, o_ in zip(wt, wo)]
        call = "update_target(target_net, online_net" + ("" if tau is None else f", tau={tau}") + ")"

        def judge(o, wo=wo, exp=exp, call=call):
            if "error" in o:
                raise h.fail(f"{call} raised {o['error']}", "Read the error above.")
            online = [h.obs_array(x) for x in o["online"]]
            if not all(np.allclose(x, w) for x, w in zip(online, wo)):
                raise h.fail(f"{call} changed online_net", "Only the target network moves.")
            for k, (got, e) in enumerate(zip(o["target"], exp)):
                h.expect_close(got, e, f"{call}: parameter {k} of the target",
                               hint="theta_targ <- tau * theta + (1 - tau) * theta_targ.")
            later = [h.obs_array(x) for x in o["target_after_online_change"]]
            if not all(np.allclose(x, e, rtol=1e-5, atol=1e-6) for x, e in zip(later, exp)):
                raise h.named("update_target/shares_storage", f"after {call}, changing the online network in "
                              "place changed the target too")
            if not o["same_objects"]:
                raise h.fail(f"{call} replaced the target's Parameter objects", "Update them in place.")
        payload = {"target_weights": [h.enc(w) for w in wt], "online_weights": [h.enc(w) for w in wo]}
        if tau is not None:
            payload["tau"] = tau
        cases.append(h.with_kind(h.Case("update_target", payload, judge, call=call), kind))
    return cases
