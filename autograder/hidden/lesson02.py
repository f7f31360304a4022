"""Hidden tests of lesson 02: returns, reward-to-go, rollouts, Monte Carlo estimates of J(pi).

Fresh random inputs of every kind the contract admits (``rlcore/catalog/lesson02.py`` lists
them and the named mistakes); the judges compare with the reference, and a failure is named
by the catalogued wrong implementation that behaves the same (``judge_case``). Environments
and policies come from plain descriptions and are deterministic given the seed, so rollout
mistakes are named by value too; only an unseeded reset is random and its judge names it.
estimate_return is graded with rlcore's rollout and discounted_return in place of the
learner's, so a mistake in those is charged once, to its own exercise.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder import hidden as h
from rlcore import returns as R
from rlcore import trajectory as T
from rlcore.check import fmt

from ..probes import make_env as env_from_spec
from ..probes import make_policy as policy_from_spec

# estimate_return calls the learner's rollout and discounted_return: grade it with the references
REFERENCE_HELPERS = {"rollout": "rlcore.trajectory:rollout",
                     "discounted_return": "rlcore.returns:discounted_return"}


def _rewards(rng: np.random.Generator, lo: int = 3, hi: int = 25) -> np.ndarray:
    """Float rewards whose first and last differ and whose last is not 0 (so dropping it shows)."""
    r = np.round(rng.normal(0, 2, size=int(rng.integers(lo, hi))), 3)
    r[-1] = np.round(r[0] + np.sign(rng.normal()) * rng.uniform(0.5, 2.0), 3)
    return r


def _int_rewards(rng: np.random.Generator, n: int) -> np.ndarray:
    """CartPole-like positive integer rewards (first and last differ)."""
    r = rng.integers(1, 4, size=n).astype(np.int64)
    r[-1] = r[0] % 3 + 1
    return r


def _as(r: np.ndarray, kind: str) -> Any:
    return r.tolist() if kind in ("list", "gamma 1") else r


# ------------------------------------------------------------------ finite_horizon_return
@h.exercise("finite_horizon_return")
def finite_horizon_return(rng: np.random.Generator) -> list[h.Case]:
    plans = [(_rewards(rng), "float64"), (_rewards(rng), "list"), (_int_rewards(rng, 7), "int"),
             (np.round(rng.normal(0, 2, size=1), 3) + 0.5, "one step"), (np.zeros(0), "empty")]
    cases = []
    for r, kind in plans:
        ra = np.asarray(r, dtype=float)

        def judge(o, ra=ra):
            h.expect_close(o["out"], ra.sum(), f"finite_horizon_return({fmt(ra, 90)})",
                           hint="R(tau) = r_0 + r_1 + ... + r_T.", scalar=True)
        arg = [] if kind == "empty" else _as(r, kind)
        cases.append(h.with_kind(h.call_case("finite_horizon_return", [arg], judge=judge), kind))
    return cases


# ------------------------------------------------------------------ discounted_return
@h.exercise("discounted_return")
def discounted_return(rng: np.random.Generator) -> list[h.Case]:
    def gamma(lo: float, hi: float) -> float:
        return float(np.round(rng.uniform(lo, hi), 4))

    plans = [(_rewards(rng, 4), gamma(0.5, 0.99), "float64"), (_rewards(rng, 4), gamma(0.1, 0.5), "list"),
             (_int_rewards(rng, int(rng.integers(4, 12))), gamma(0.5, 0.99), "int"),
             (_rewards(rng, 4), 1.0, "gamma 1"), (_rewards(rng, 4), 0.0, "gamma 0"),
             (_rewards(rng, 1, 2), gamma(0.5, 0.99), "one step")]
    cases = []
    for r, g, kind in plans:
        ra = np.asarray(r, dtype=float)

        def judge(o, ra=ra, g=g):
            h.expect_close(o["out"], np.sum(g ** np.arange(len(ra)) * ra),
                           f"discounted_return({fmt(ra, 90)}, gamma={g})",
                           hint="R(tau) = sum_t gamma**t * r_t.", scalar=True)
        cases.append(h.with_kind(h.call_case("discounted_return", [_as(r, kind), g], judge=judge), kind))
    return cases


# ------------------------------------------------------------------ reward_to_go
@h.exercise("reward_to_go")
def reward_to_go(rng: np.random.Generator) -> list[h.Case]:
    plans = [(_rewards(rng, 4), None, "default gamma"),
             (_rewards(rng, 4), float(np.round(rng.uniform(0.5, 0.99), 4)), "list"),
             (_rewards(rng, 4), float(np.round(rng.uniform(0.05, 0.5), 4)), "float64"),
             (_int_rewards(rng, int(rng.integers(4, 12))), float(np.round(rng.uniform(0.55, 0.95), 3)), "int"),
             (_rewards(rng, 1, 2), float(np.round(rng.uniform(0.5, 0.99), 4)), "one step")]
    cases = []
    for r, g, kind in plans:
        exp = R.reward_to_go(np.asarray(r, dtype=float), 1.0 if g is None else g)
        call = f"reward_to_go({fmt(np.asarray(r), 90)}" + ("" if g is None else f", gamma={g}") + ")"

        def judge(o, exp=exp, call=call):
            out = o["out"]
            h.expect_close(out, exp, call, hint="G_t = sum_{k>=t} gamma**(k-t) r_k, one entry per step.")
            if not (isinstance(out, dict) and "__nd__" in out):
                raise h.fail(f"{call} returned {h.kind_of(out)}, expected a numpy array")
            if not out["dtype"].startswith("float"):
                raise h.fail(f"{call} returned an array of dtype {out['dtype']}, expected float64")
        args = [_as(r, kind)] if g is None else [_as(r, kind), g]
        cases.append(h.with_kind(h.call_case("reward_to_go", args, judge=judge), kind))
    return cases


# ------------------------------------------------------------------ rollout
def _gridworld(rng: np.random.Generator, limit: int) -> tuple[dict, dict]:
    env = {"kind": "gridworld", "slip": float(np.round(rng.uniform(0, 0.5), 3)), "start_state": None,
           "max_episode_steps": limit}
    return env, {"kind": "table", "table": rng.integers(0, 4, size=25).tolist()}


def _rollout_plans(rng: np.random.Generator) -> list[tuple[dict, dict, int, int, str]]:
    """(env spec, policy spec, max_steps, seed, kind) in the order the judges try them: an
    episode that terminates comes first, so a loop that never stops is told from one that
    only ignores the env's time limit."""
    cart = {"kind": "gym", "id": "CartPole-v1"}
    bad = {"kind": "linear", "w": rng.normal(0, 0.05, size=4).tolist(), "b": 0.3}
    good = {"kind": "linear", "w": [0.0, 0.0, 1.0, 0.5 + rng.uniform(0, 0.2)]}
    seed = int(rng.integers(10_000))
    falls_at = len(T.rollout(env_from_spec(cart), policy_from_spec(bad), max_steps=500, seed=seed))
    plans = [(cart, bad, 500, int(rng.integers(10_000)), "gym env"),
             (cart, bad, falls_at, seed, "terminates on the last allowed step")]
    limit = int(rng.integers(15, 40))
    plans.append((*_gridworld(rng, limit), int(rng.integers(5, limit)), int(rng.integers(10_000)), "tabular env"))
    limit = int(rng.integers(15, 40))
    plans.append((*_gridworld(rng, limit), int(rng.integers(limit + 1, 80)), int(rng.integers(10_000)),
                  "env time limit"))
    plans.append((cart, good, int(rng.integers(30, 80)), int(rng.integers(10_000)), "gym env"))
    limit = int(rng.integers(20, 60))
    plans.append(({**cart, "kwargs": {"max_episode_steps": limit}}, good, int(rng.integers(limit + 1, 120)),
                  int(rng.integers(10_000)), "env time limit"))
    return plans


def _traj_summary(o: dict) -> str:
    rew = h.obs_array(o["rewards"])
    n = rew.shape[0] if rew is not None and rew.ndim == 1 else "?"
    return f"a trajectory with T={n}, terminated={o['terminated']}, truncated={o['truncated']}"


@h.exercise("rollout")
def rollout(rng: np.random.Generator) -> list[h.Case]:
    cases = []
    for env_spec, pol_spec, max_steps, seed, kind in _rollout_plans(rng):
        ref = T.rollout(env_from_spec(env_spec), policy_from_spec(pol_spec), max_steps=max_steps, seed=seed)
        name = "gridworld" if env_spec["kind"] == "gridworld" else "CartPole-v1"
        limit = env_spec.get("max_episode_steps") or env_spec.get("kwargs", {}).get("max_episode_steps")
        desc = (f"<{name} env{f' with a time limit of {limit} steps' if limit else ''}>, <policy>, "
                f"max_steps={max_steps}, seed={seed}")
        call = f"rollout({desc})"

        def judge(o, ref=ref, call=call, seed=seed):
            if "missing" in o:
                raise h.fail(f"{call} returned a {o['type']} without .{o['missing']}",
                             "Return rlcore.Trajectory(observations=, actions=, rewards=, terminated=, truncated=).")
            obs, ref_obs = h.obs_array(o["observations"]), np.asarray(ref.observations, dtype=float)
            if obs is not None and obs.ndim >= 1 and len(obs) and obs[0].shape == ref_obs[0].shape \
                    and not np.allclose(obs[0], ref_obs[0], atol=1e-6) \
                    and not (len(ref_obs) > 1 and np.allclose(obs[0], ref_obs[1], atol=1e-6)):
                raise h.named("rollout/no_seed", f"{call}: observations[0] is {fmt(obs[0])}, expected "
                                                 f"{fmt(ref_obs[0])}, the state env.reset(seed={seed}) gives")
            rew = h.obs_array(o["rewards"])
            n = rew.shape[0] if rew is not None and rew.ndim == 1 else -1
            expected = f"T={len(ref)}, terminated={ref.terminated}, truncated={ref.truncated}"
            if n != len(ref):
                raise h.fail(f"{call} returned {_traj_summary(o)}, expected {expected}",
                             "Stop at termination, truncation or max_steps, whichever comes first.")
            if obs is None or obs.shape != ref_obs.shape or not np.allclose(obs, ref_obs, atol=1e-6):
                raise h.fail(f"{call}: observations differ from the environment's states",
                             "observations[t] is s_t, the state before actions[t]; act with policy(obs).")
            h.expect_close(o["actions"], np.asarray(ref.actions, dtype=float), f"{call}.actions",
                           hint="actions[t] = policy(observations[t]).")
            h.expect_close(o["rewards"], ref.rewards, f"{call}.rewards",
                           hint="rewards[t] is the reward env.step returned for actions[t].")
            if (o["terminated"], o["truncated"]) != (ref.terminated, ref.truncated):
                raise h.fail(f"{call} returned terminated={o['terminated']}, truncated={o['truncated']}, "
                             f"expected terminated={ref.terminated}, truncated={ref.truncated}",
                             "terminated comes from env.step; stopping because of max_steps or an env time "
                             "limit without terminating is truncation.")
            if o.get("len") is not None and o["len"] != len(ref):
                raise h.fail(f"len() of the trajectory {call} returned is {o['len']}, expected {len(ref)}")
        cases.append(h.with_kind(h.call_case("rollout", [{"__env__": env_spec}, {"__policy__": pol_spec}],
                                     {"max_steps": max_steps, "seed": seed}, judge=judge,
                                     probe="trajectory", desc=desc), kind))
    return cases


# ------------------------------------------------------------------ estimate_return
def _estimate_case(rng: np.random.Generator, kind: str) -> h.Case:
    if kind == "tabular env":
        env_spec = {"kind": "gridworld", "slip": float(np.round(rng.uniform(0.1, 0.6), 3)),
                    "start_state": None, "max_episode_steps": int(rng.integers(10, 30))}
        pol_spec = {"kind": "table", "table": rng.integers(0, 4, 25).tolist()}
    else:
        env_spec, pol_spec = {"kind": "gym", "id": "CartPole-v1"}, {"kind": "linear", "w": rng.normal(0, 1, 4).tolist()}
    n = int(rng.integers(3, 7))
    g = float(np.round(rng.uniform(0.8, 0.99), 3))
    seed = int(rng.integers(0, 10_000))
    expected = T.estimate_return(env_from_spec(env_spec), policy_from_spec(pol_spec), n, g, seed=seed)
    name = "gridworld" if env_spec["kind"] == "gridworld" else "CartPole-v1"
    desc = f"<{name} env>, <policy>, n_episodes={n}, gamma={g}, seed={seed}"

    def judge(o, expected=expected, call=f"estimate_return({desc})"):
        h.expect_close(o["out"], expected, call, scalar=True,
                       hint="J_hat = (1/n) sum_i R(tau_i) with R(tau_i) = sum_t gamma**t r_t.")
    case = h.call_case("estimate_return", [{"__env__": env_spec}, {"__policy__": pol_spec}],
                       {"n_episodes": n, "gamma": g, "seed": seed}, judge=judge, desc=desc,
                       reference_helpers=REFERENCE_HELPERS)
    return h.with_kind(case, kind)


@h.exercise("estimate_return")
def estimate_return(rng: np.random.Generator) -> list[h.Case]:
    cases = []
    for kind in ("tabular env", "gym env"):
        for _ in range(20):  # episodes with equal returns would make some mistakes look alike: draw again
            case = _estimate_case(rng, kind)
            if h.tells_apart("estimate_return", case):
                break
        cases.append(case)
    return cases
