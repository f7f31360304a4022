"""Hidden tests of lesson 02: returns, reward-to-go, rollouts, Monte Carlo estimates of J(pi).

Mistakes each test names (see docs/exercises.md, from docs/exercises/02.md):
finite_horizon_return: drops the last reward, drops the first, mean instead of sum,
  returns the running sum (an array).
discounted_return: powers of gamma start at 1, discount reversed (gamma^(T-1-t)),
  no discount, gamma * t instead of gamma ** t.
reward_to_go: forward cumulative sum, G_t without r_t (off by one), discount measured from
  t=0 (gamma^k instead of gamma^(k-t)), gamma ignored.
rollout: stores the next observation instead of the current one, does not stop at the end
  of the episode, max_steps off by one, wrong truncated/terminated flags, ignores seed.
estimate_return: reseeds every episode, ignores gamma, sums instead of averaging,
  one episode too few or too many. It is graded with rlcore's rollout and discounted_return
  in place of the learner's, so a mistake in those is charged once, to its own exercise.
"""

from __future__ import annotations

import numpy as np

from rlcore import returns as R
from rlcore import trajectory as T
from rlcore.check import fmt

from ..probes import make_env as env_from_spec
from ..probes import make_policy as policy_from_spec
from . import Case, Mistake, call_case, exercise, expect_close, kind_of, obs_array

# estimate_return calls the learner's rollout and discounted_return: grade it with the references
REFERENCE_HELPERS = {"rollout": "rlcore.trajectory:rollout",
                     "discounted_return": "rlcore.returns:discounted_return"}


def _rewards(rng: np.random.Generator, lo: int = 1, hi: int = 25) -> np.ndarray:
    n = int(rng.integers(lo, hi))
    return np.round(rng.normal(0, 2, size=n), 3)


@exercise("finite_horizon_return")
def finite_horizon_return(rng: np.random.Generator) -> list[Case]:
    cases = []
    for r in [_rewards(rng, 3) for _ in range(3)] + [rng.integers(-5, 6, size=7).tolist(), []]:
        ra = np.asarray(r, dtype=float)

        def judge(o, ra=ra, r=r, desc=None):
            mistakes = {}
            if ra.size >= 2:
                mistakes.update({
                    "the last reward r_T is missing from the sum (range(len(rewards) - 1)?)": ra[:-1].sum(),
                    "the first reward r_0 is missing from the sum": ra[1:].sum(),
                    "you averaged the rewards; R(tau) is their sum": ra.mean(),
                    "you returned the running sum; return one number, the total": np.cumsum(ra),
                })
            expect_close(o["out"], ra.sum(), f"finite_horizon_return({fmt(ra, 90)})",
                         mistakes, hint="R(tau) = r_0 + r_1 + ... + r_T.", scalar=True)
        cases.append(call_case("finite_horizon_return", [r if isinstance(r, list) else ra], judge=judge))
    return cases


@exercise("discounted_return")
def discounted_return(rng: np.random.Generator) -> list[Case]:
    cases = []
    gammas = [float(np.round(rng.uniform(0.5, 0.99), 4)), float(np.round(rng.uniform(0.1, 0.5), 4)), 1.0, 0.0]
    for g in gammas:
        r = _rewards(rng, 4)
        t = np.arange(len(r))

        def judge(o, r=r, g=g, t=t):
            mistakes = {
                "your powers of gamma start at 1; the first reward is not discounted (gamma**0 = 1)":
                    np.sum(g ** (t + 1) * r),
                "the discount runs backwards: r_t must be weighted by gamma**t, not gamma**(T-1-t)":
                    np.sum(g ** (len(r) - 1 - t) * r),
                "gamma is ignored: you returned the undiscounted sum": r.sum(),
                "you multiplied by gamma * t instead of raising gamma to the power t": np.sum(g * t * r),
                "the last reward is missing": np.sum(g ** t[:-1] * r[:-1]),
            }
            expect_close(o["out"], np.sum(g ** t * r), f"discounted_return({fmt(r, 90)}, gamma={g})",
                         mistakes, hint="R(tau) = sum_t gamma**t * r_t.", scalar=True)
        cases.append(call_case("discounted_return", [r.tolist(), g], judge=judge))
    return cases


@exercise("reward_to_go")
def reward_to_go(rng: np.random.Generator) -> list[Case]:
    cases = []
    for g in [None, float(np.round(rng.uniform(0.5, 0.99), 4)), float(np.round(rng.uniform(0.05, 0.5), 4))]:
        r = _rewards(rng, 4)
        gg = 1.0 if g is None else g
        exp = R.reward_to_go(r, gg)
        t = np.arange(len(r))

        def judge(o, r=r, g=g, gg=gg, exp=exp, t=t):
            fwd = np.array([np.sum(gg ** np.arange(k + 1)[::-1] * r[: k + 1]) for k in range(len(r))])
            mistakes = {
                "you summed forwards (rewards before t); G_t sums the rewards from t to the END": fwd,
                "off by one: G_t must include r_t itself (G_t = r_t + gamma G_{t+1})":
                    np.append(exp[1:], 0.0),
                "the discount is measured from t=0; G_t weights r_k by gamma**(k - t), not gamma**k":
                    np.array([np.sum(gg ** t[k:] * r[k:]) for k in range(len(r))]),
                "gamma is ignored": R.reward_to_go(r, 1.0),
                "the result is reversed": exp[::-1],
            }
            call = f"reward_to_go({fmt(r, 90)}" + ("" if g is None else f", gamma={g}") + ")"
            expect_close(o["out"], exp, call, mistakes,
                         hint="G_t = sum_{k>=t} gamma**(k-t) r_k, one entry per step.")
            if isinstance(o["out"], dict) and "__nd__" not in o["out"]:
                raise Mistake(f"{call} must return a numpy array (got {kind_of(o['out'])}).")
        args = [r.tolist()] if g is None else [r.tolist(), g]
        cases.append(call_case("reward_to_go", args, judge=judge))
    return cases


def _rollout_cases(rng: np.random.Generator) -> list[tuple[dict, dict, int, int]]:
    """(env spec, policy spec, max_steps, seed) for gridworld and CartPole episodes."""
    out = []
    # the gridworld never terminates: one episode ends at max_steps, one at the env's time limit
    for limited_by in ("max_steps", "time limit"):
        limit = int(rng.integers(15, 40))
        env = {"kind": "gridworld", "slip": float(np.round(rng.uniform(0, 0.5), 3)),
               "start_state": None, "max_episode_steps": limit}
        pol = {"kind": "table", "table": rng.integers(0, 4, size=25).tolist()}
        max_steps = int(rng.integers(5, limit) if limited_by == "max_steps" else rng.integers(limit + 1, 80))
        out.append((env, pol, max_steps, int(rng.integers(0, 10_000))))
    # CartPole: a long-lived linear policy stopped by max_steps, the same one stopped by a short
    # time limit (gym.make(..., max_episode_steps)), and one that falls quickly
    good = {"kind": "linear", "w": [0.0, 0.0, 1.0, 0.5 + rng.uniform(0, 0.2)]}
    out.append(({"kind": "gym", "id": "CartPole-v1"}, good, int(rng.integers(30, 80)), int(rng.integers(10_000))))
    limit = int(rng.integers(20, 60))
    out.append(({"kind": "gym", "id": "CartPole-v1", "kwargs": {"max_episode_steps": limit}}, good,
                int(rng.integers(limit + 1, 120)), int(rng.integers(10_000))))
    bad = {"kind": "linear", "w": rng.normal(0, 0.05, size=4).tolist(), "b": 0.3}
    out.append(({"kind": "gym", "id": "CartPole-v1"}, bad, 500, int(rng.integers(10_000))))
    return out


def _traj_summary(o: dict) -> str:
    obs = obs_array(o["observations"])
    n = obs.shape[0] if obs is not None else "?"
    return f"a trajectory with T={n}, terminated={o['terminated']}, truncated={o['truncated']}"


@exercise("rollout")
def rollout(rng: np.random.Generator) -> list[Case]:
    cases = []
    for env_spec, pol_spec, max_steps, seed in _rollout_cases(rng):
        ref = T.rollout(env_from_spec(env_spec), policy_from_spec(pol_spec), max_steps=max_steps, seed=seed)
        name = "gridworld" if env_spec["kind"] == "gridworld" else "CartPole-v1"
        call = f"rollout(<{name} env>, <policy>, max_steps={max_steps}, seed={seed})"

        def judge(o, ref=ref, call=call, max_steps=max_steps, env_spec=env_spec, pol_spec=pol_spec, seed=seed):
            if "missing" in o:
                raise Mistake(f"{call} returned a {o['type']} without .{o['missing']}; return "
                              "rlcore.Trajectory(observations=, actions=, rewards=, terminated=, truncated=).")
            obs, n_ref = obs_array(o["observations"]), len(ref)
            rew = obs_array(o["rewards"])
            n = rew.shape[0] if rew is not None and rew.ndim == 1 else -1
            expected = (f"T={n_ref}, terminated={ref.terminated}, truncated={ref.truncated}")
            if n != n_ref:
                if n == max_steps + 1 or n == max_steps - 1:
                    why = f"max_steps is off by one: at most max_steps={max_steps} actions are taken"
                elif ref.terminated and n > n_ref:
                    why = "the loop did not stop when env.step said terminated"
                elif ref.truncated and n > n_ref and n_ref < max_steps:
                    why = (f"the environment's time limit ended the episode after {n_ref} steps "
                           "(env.step returned truncated=True) but the loop went on: stop when "
                           "terminated or truncated")
                else:
                    why = ("stop at termination, truncation or max_steps, and pass seed to the "
                           "first env.reset(seed=seed)")
                raise Mistake(f"{call} returned {_traj_summary(o)}, expected {expected}. {why}.")
            if obs is None or obs.shape[0] != n_ref:
                raise Mistake(f"{call}: observations has shape {None if obs is None else obs.shape}, "
                              f"expected {ref.observations.shape}: observations[t] is the state before action t.")
            ref_obs = np.asarray(ref.observations, dtype=float)
            if not np.allclose(obs, ref_obs, atol=1e-6):
                shifted = np.allclose(obs[:-1], ref_obs[1:], atol=1e-6) if n_ref > 1 else False
                if shifted:
                    raise Mistake(f"{call}: observations are shifted by one step: you stored the "
                                  "observation returned by env.step (s_{t+1}); observations[t] must be "
                                  "s_t, the one the agent saw before acting.")
                raise Mistake(f"{call}: observations differ from the environment's states "
                              f"(first difference at t={int(np.argmax(~np.isclose(obs, ref_obs).reshape(n_ref, -1).all(1)))}); "
                              "did you pass seed to env.reset(seed=seed) and act with policy(obs)?")
            expect_close(o["actions"], np.asarray(ref.actions, dtype=float), f"{call}.actions", {},
                         hint="actions[t] = policy(observations[t]).")
            expect_close(o["rewards"], ref.rewards, f"{call}.rewards", {},
                         hint="rewards[t] is the reward env.step returned for actions[t].")
            if (o["terminated"], o["truncated"]) != (ref.terminated, ref.truncated):
                raise Mistake(f"{call} returned terminated={o['terminated']}, truncated={o['truncated']}, "
                              f"expected terminated={ref.terminated}, truncated={ref.truncated}: "
                              "terminated comes from env.step; stopping because of max_steps or an env "
                              "time limit is truncation.")
            if o.get("len") is not None and o["len"] != n_ref:
                raise Mistake(f"len() of the trajectory is {o['len']}, expected {n_ref}.")
        cases.append(call_case("rollout", [{"__env__": env_spec}, {"__policy__": pol_spec}],
                               {"max_steps": max_steps, "seed": seed}, judge=judge, probe="trajectory",
                               desc=f"<{name} env>, <policy>, max_steps={max_steps}, seed={seed}"))
    return cases


@exercise("estimate_return")
def estimate_return(rng: np.random.Generator) -> list[Case]:
    cases = []
    specs = [
        ({"kind": "gridworld", "slip": float(np.round(rng.uniform(0.1, 0.6), 3)), "start_state": None,
          "max_episode_steps": int(rng.integers(10, 30))}, {"kind": "table", "table": rng.integers(0, 4, 25).tolist()}),
        ({"kind": "gym", "id": "CartPole-v1"}, {"kind": "linear", "w": rng.normal(0, 1, 4).tolist()}),
    ]
    for env_spec, pol_spec in specs:
        n = int(rng.integers(3, 7))
        g = float(np.round(rng.uniform(0.8, 0.99), 3))
        seed = int(rng.integers(0, 10_000))

        def est(n_eps: int, gamma: float, reseed: bool = False, env_spec=env_spec, pol_spec=pol_spec, seed=seed):
            env, pol = env_from_spec(env_spec), policy_from_spec(pol_spec)
            rets = [R.discounted_return(T.rollout(env, pol, 1000, seed if (i == 0 or reseed) else None).rewards, gamma)
                    for i in range(n_eps)]
            return np.array(rets)

        exp_rets = est(n, g)
        name = "gridworld" if env_spec["kind"] == "gridworld" else "CartPole-v1"
        call = f"estimate_return(<{name} env>, <policy>, n_episodes={n}, gamma={g}, seed={seed})"

        def judge(o, call=call, exp_rets=exp_rets, est=est, n=n, g=g):
            mistakes = {
                "every episode is identical: the seed was passed to every reset; seed only the first one":
                    est(n, g, reseed=True).mean(),
                "gamma is ignored: average the *discounted* returns": est(n, 1.0).mean(),
                "you summed the returns; J(pi) is estimated by their mean": exp_rets.sum(),
                "one episode too few (range(n_episodes - 1)?)": est(n - 1, g).mean(),
                "one episode too many": est(n + 1, g).mean(),
            }
            expect_close(o["out"], exp_rets.mean(), call, mistakes, scalar=True,
                         hint="J_hat = (1/n) sum_i R(tau_i) with R(tau_i) = sum_t gamma**t r_t.")
        cases.append(call_case("estimate_return", [{"__env__": env_spec}, {"__policy__": pol_spec}],
                               {"n_episodes": n, "gamma": g, "seed": seed}, judge=judge,
                               desc=f"<{name} env>, <policy>, n_episodes={n}, gamma={g}, seed={seed}",
                               reference_helpers=REFERENCE_HELPERS))
    return cases
