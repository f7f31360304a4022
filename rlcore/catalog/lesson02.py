"""Lesson 02 (trajectories and returns): returns, reward-to-go, rollout, estimate_return and their mistakes.

Each ``_wrong_*`` function is a realistic wrong answer, written as a learner would; each
``_alt_*`` a correct answer in another style than the reference. They use ``Trajectory``,
``rollout`` and ``discounted_return`` as a notebook would have them (``NAMESPACE``): the
notebook imports ``Trajectory`` and defines the other two in earlier exercises.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..returns import discounted_return, finite_horizon_return, reward_to_go
from ..trajectory import Trajectory, estimate_return, rollout
from . import Exercise, exercise, mistake

LESSON = "02-trajectories-and-returns"
NAMESPACE = {"Trajectory": Trajectory, "rollout": rollout, "discounted_return": discounted_return}
REWARD_KINDS = ("list", "int", "float64", "one step")  # every function of an episode's rewards


def _declare(name: str, reference: Any, alternative: Any, **fields: Any) -> None:
    """Register one of the lesson's exercises: one correct alternative, the notebook's namespace."""
    exercise(Exercise(name, LESSON, reference, alternatives=(alternative,), namespace=NAMESPACE, **fields))


# ------------------------------------------------------------------------------ finite_horizon_return
def _alt_finite_horizon_return(rewards):
    total = 0
    for r in rewards:
        total = total + r
    return total


@mistake("finite_horizon_return/drops_last", "the last reward r_T is missing from the sum "
         "(range(len(rewards) - 1)?); add every reward, r_0 + ... + r_T",
         summary="left out the last reward")
def _wrong_fhr_drops_last(rewards):
    total = 0.0
    for t in range(len(rewards) - 1):
        total += rewards[t]
    return total


@mistake("finite_horizon_return/drops_first", "the first reward r_0 is missing from the sum; add "
         "every reward, r_0 + ... + r_T", summary="left out the first reward")
def _wrong_fhr_drops_first(rewards):
    return float(sum(rewards[1:]))


@mistake("finite_horizon_return/mean", "you averaged the rewards; R(tau) is their sum",
         summary="averaged instead of summed")
def _wrong_fhr_mean(rewards):
    return float(np.mean(rewards)) if len(rewards) else 0.0


@mistake("finite_horizon_return/running_sum", "you returned the running sum (an array); return "
         "one number, the total", summary="returned the running sum")
def _wrong_fhr_running_sum(rewards):
    return np.cumsum(rewards)


_declare(
    "finite_horizon_return", finite_horizon_return, _alt_finite_horizon_return,
    admits=(*REWARD_KINDS, "empty"),
    inputs="episodes of 1-24 rewards as lists, float64 arrays and integer arrays, and an empty one; "
           "the first and last rewards always differ.",
)


# ------------------------------------------------------------------------------ discounted_return
def _alt_discounted_return(rewards, gamma):
    ret = 0.0
    for r in reversed(list(rewards)):
        ret = r + gamma * ret
    return ret


@mistake("discounted_return/powers_from_one", "your powers of gamma start at 1; the first reward "
         "is not discounted (gamma**0 = 1): multiply the discount by gamma AFTER adding a reward",
         summary="started the powers of gamma at 1")
def _wrong_dr_powers_from_one(rewards, gamma):
    ret, discount = 0.0, 1.0
    for r in rewards:
        discount *= gamma
        ret += discount * r
    return ret


@mistake("discounted_return/forward_recursion", "you ran the recursion R = r + gamma * R forwards "
         "through the rewards, so the LAST reward got weight 1 and r_0 got gamma**(T-1); run it "
         "backwards, over reversed(rewards), or sum gamma**t * r_t",
         summary="discounted from the end of the episode")
def _wrong_dr_forward_recursion(rewards, gamma):
    ret = 0.0
    for r in rewards:
        ret = r + gamma * ret
    return ret


@mistake("discounted_return/no_gamma", "gamma is ignored: you returned the undiscounted sum; "
         "weight r_t by gamma**t", summary="ignored gamma")
def _wrong_dr_no_gamma(rewards, gamma):
    return float(sum(rewards))


@mistake("discounted_return/gamma_times_t", "you multiplied by gamma * t instead of raising gamma "
         "to the power t: gamma**t", summary="used gamma * t")
def _wrong_dr_gamma_times_t(rewards, gamma):
    return float(sum(gamma * t * r for t, r in enumerate(rewards)))


@mistake("discounted_return/drops_last", "the last reward is missing from the sum "
         "(range(len(rewards) - 1)?)", summary="left out the last reward")
def _wrong_dr_drops_last(rewards, gamma):
    return float(sum(gamma ** t * rewards[t] for t in range(len(rewards) - 1)))


_declare(
    "discounted_return", discounted_return, _alt_discounted_return,
    admits=(*REWARD_KINDS, "gamma 0", "gamma 1"),
    inputs="episodes of 1-24 rewards as lists, float64 arrays and integer arrays; gammas from "
           "(0.1, 0.99) plus the edge values 0 and 1.",
)


# ------------------------------------------------------------------------------ reward_to_go
def _alt_reward_to_go(rewards, gamma=1.0):
    r = np.asarray(rewards, dtype=np.float64)
    T = len(r)
    powers = gamma ** np.clip(np.arange(T)[None, :] - np.arange(T)[:, None], 0, None)
    return (powers * np.triu(np.ones((T, T)))) @ r


@mistake("reward_to_go/forward", "you summed forwards (the rewards before t); G_t sums the "
         "rewards from t to the END, so loop backwards: G_t = r_t + gamma G_{t+1}",
         summary="summed forwards in time")
def _wrong_rtg_forward(rewards, gamma=1.0):
    rewards = np.asarray(rewards, dtype=float)
    out, running = np.zeros(len(rewards)), 0.0
    for t in range(len(rewards)):
        running = rewards[t] + gamma * running
        out[t] = running
    return out


@mistake("reward_to_go/excludes_rt", "off by one: G_t must include r_t itself (G_t = r_t + gamma "
         "G_{t+1}): add r_t before storing G_t", summary="left out r_t")
def _wrong_rtg_excludes_rt(rewards, gamma=1.0):
    rewards = np.asarray(rewards, dtype=float)
    out, running = np.zeros(len(rewards)), 0.0
    for t in reversed(range(len(rewards))):
        out[t] = running
        running = rewards[t] + gamma * running
    return out


@mistake("reward_to_go/discount_from_start", "the discount is measured from t=0; G_t weights r_k "
         "by gamma**(k - t), not gamma**k", summary="discounted from the episode start")
def _wrong_rtg_discount_from_start(rewards, gamma=1.0):
    r = np.asarray(rewards, dtype=float)
    return np.array([sum(gamma ** k * r[k] for k in range(t, len(r))) for t in range(len(r))])


@mistake("reward_to_go/no_gamma", "gamma is ignored: multiply the running sum by gamma at every "
         "step back", summary="ignored gamma")
def _wrong_rtg_no_gamma(rewards, gamma=1.0):
    rewards = np.asarray(rewards, dtype=float)
    return np.cumsum(rewards[::-1])[::-1].copy()


@mistake("reward_to_go/reversed", "the result is reversed: you appended G_T first while looping "
         "backwards; put G_t at index t (fill an array, or reverse the list at the end)",
         summary="returned the result reversed")
def _wrong_rtg_reversed(rewards, gamma=1.0):
    out, running = [], 0.0
    for r in reversed(list(rewards)):
        running = r + gamma * running
        out.append(running)
    return np.array(out, dtype=float)


@mistake("reward_to_go/not_an_array", "return a numpy array, one entry per step (np.array(out)), "
         "not a list", summary="returned a list")
def _wrong_rtg_list(rewards, gamma=1.0):
    out, running = [], 0.0
    for r in reversed(list(rewards)):
        running = float(r) + gamma * running
        out.insert(0, running)
    return out


@mistake("reward_to_go/integer_dtype", "integer rewards gave an integer result (np.zeros_like of "
         "integer rewards rounds every G_t down); build G as floats, e.g. np.zeros(len(rewards))",
         summary="kept the integer dtype")
def _wrong_rtg_integer_dtype(rewards, gamma=1.0):
    rewards = np.asarray(rewards)
    out = np.zeros_like(rewards)  # integer rewards give an integer G: every value rounded down
    running = 0.0
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * running
        out[t] = running
    return out


_declare(
    "reward_to_go", reward_to_go, _alt_reward_to_go,
    admits=(*REWARD_KINDS, "default gamma"),
    inputs="episodes of 1-24 rewards as lists, float64 arrays and integer arrays (the result is "
           "float64 for them too); gammas from (0.05, 0.99) and the default 1.",
)


# ------------------------------------------------------------------------------ rollout
def _alt_rollout(env, policy, max_steps=1000, seed=None):
    obs, _ = env.reset(seed=seed)
    traj = dict(observations=[], actions=[], rewards=[])
    t, terminated, truncated = 0, False, False
    while not (terminated or truncated) and t < max_steps:
        a = policy(obs)
        traj["observations"].append(obs)
        traj["actions"].append(a)
        obs, r, terminated, truncated, _ = env.step(a)
        traj["rewards"].append(r)
        t += 1
    if t == max_steps and not terminated:
        truncated = True
    return Trajectory(observations=np.stack(traj["observations"]), actions=np.array(traj["actions"]),
                      rewards=np.array(traj["rewards"]), terminated=bool(terminated), truncated=bool(truncated))


@mistake("rollout/next_obs", "observations are shifted by one step: you stored the observation "
         "returned by env.step (s_{t+1}); observations[t] must be s_t, the one the agent saw "
         "before acting", summary="stored the next observation")
def _wrong_rollout_next_obs(env, policy, max_steps=1000, seed=None):
    obs, _ = env.reset(seed=seed)
    O, A, R = [], [], []
    for _ in range(max_steps):
        a = policy(obs)
        obs, r, term, trunc, _ = env.step(a)
        O.append(obs)  # the observation AFTER the action
        A.append(a)
        R.append(r)
        if term or trunc:
            break
    return Trajectory(observations=np.array(O), actions=np.array(A), rewards=np.array(R),
                      terminated=term, truncated=(trunc or len(R) == max_steps) and not term)


@mistake("rollout/ignores_time_limit", "the environment's time limit ended the episode (env.step "
         "returned truncated=True) but the loop went on: stop when terminated or truncated",
         summary="ran past the env's time limit")
def _wrong_rollout_ignores_time_limit(env, policy, max_steps=1000, seed=None):
    obs, _ = env.reset(seed=seed)
    observations, actions, rewards = [], [], []
    terminated = False
    while not terminated and len(rewards) < max_steps:
        action = policy(obs)
        observations.append(obs)
        actions.append(action)
        obs, reward, terminated, _, _ = env.step(action)  # truncated is thrown away
        rewards.append(reward)
    return Trajectory(observations=np.array(observations), actions=np.array(actions),
                      rewards=np.array(rewards), terminated=terminated, truncated=not terminated)


@mistake("rollout/no_stop_at_termination", "the loop did not stop when env.step said terminated "
         "(or truncated): break as soon as either is True",
         summary="did not stop at the episode's end")
def _wrong_rollout_never_stops(env, policy, max_steps=1000, seed=None):
    obs, _ = env.reset(seed=seed)
    observations, actions, rewards = [], [], []
    for _ in range(max_steps):
        action = policy(obs)
        observations.append(obs)
        actions.append(action)
        obs, reward, terminated, truncated, _ = env.step(action)
        rewards.append(reward)
    return Trajectory(observations=np.array(observations), actions=np.array(actions),
                      rewards=np.array(rewards), terminated=terminated, truncated=truncated or not terminated)


@mistake("rollout/max_steps_off_by_one", "max_steps is off by one: take at most max_steps actions "
         "(for _ in range(max_steps))", summary="took max_steps + 1 steps")
def _wrong_rollout_off_by_one(env, policy, max_steps=1000, seed=None):
    obs, _ = env.reset(seed=seed)
    O, A, R = [], [], []
    term = trunc = False
    t = 0
    while t <= max_steps and not (term or trunc):
        a = policy(obs)
        O.append(obs)
        A.append(a)
        obs, r, term, trunc, _ = env.step(a)
        R.append(r)
        t += 1
    return Trajectory(observations=np.array(O), actions=np.array(A), rewards=np.array(R),
                      terminated=term, truncated=not term)


@mistake("rollout/max_steps_not_truncation", "stopping because of max_steps counts as truncation: "
         "set truncated=True when the loop ran out of steps without the episode terminating",
         summary="did not mark max_steps as truncation")
def _wrong_rollout_flag_from_step(env, policy, max_steps=1000, seed=None):
    obs, _ = env.reset(seed=seed)
    O, A, R = [], [], []
    for _ in range(max_steps):
        a = policy(obs)
        O.append(obs)
        A.append(a)
        obs, r, term, trunc, _ = env.step(a)
        R.append(r)
        if term or trunc:
            break
    return Trajectory(observations=np.array(O), actions=np.array(A), rewards=np.array(R),
                      terminated=term, truncated=trunc)


@mistake("rollout/truncated_when_terminated", "the episode terminated on its last allowed step, "
         "so it is terminated=True and truncated=False: max_steps only truncates an episode that "
         "did not terminate", summary="marked a termination at max_steps as truncated")
def _wrong_rollout_truncated_at_limit(env, policy, max_steps=1000, seed=None):
    obs, _ = env.reset(seed=seed)
    observations, actions, rewards = [], [], []
    done = False
    while not done:
        action = policy(obs)
        observations.append(obs)
        actions.append(action)
        obs, reward, terminated, truncated, _ = env.step(action)
        rewards.append(reward)
        done = terminated or truncated or len(rewards) == max_steps
    return Trajectory(observations=np.array(observations), actions=np.array(actions),
                      rewards=np.array(rewards), terminated=terminated,
                      truncated=truncated or len(rewards) == max_steps)


@mistake("rollout/not_a_trajectory", "return rlcore.Trajectory(observations=..., actions=..., "
         "rewards=..., terminated=..., truncated=...), not a tuple", summary="returned a tuple")
def _wrong_rollout_tuple(env, policy, max_steps=1000, seed=None):
    obs, _ = env.reset(seed=seed)
    steps = []  # (s_t, a_t, r_t)
    terminated = truncated = False
    while len(steps) < max_steps and not (terminated or truncated):
        a = policy(obs)
        next_obs, r, terminated, truncated, _ = env.step(a)
        steps.append((obs, a, r))
        obs = next_obs
    observations, actions, rewards = (np.array(x) for x in zip(*steps))
    return observations, actions, rewards, terminated, (truncated or len(steps) == max_steps) and not terminated


@mistake("rollout/no_seed", "the episode did not start where env.reset(seed=seed) puts it: pass "
         "seed to the first reset", summary="did not seed the reset", by_value=False)
def _wrong_rollout_no_seed(env, policy, max_steps=1000, seed=None):
    obs, _ = env.reset()
    traj = {"observations": [], "actions": [], "rewards": []}
    terminated = truncated = False
    for t in range(max_steps):
        action = policy(obs)
        traj["observations"].append(obs)
        traj["actions"].append(action)
        obs, reward, terminated, truncated, _ = env.step(action)
        traj["rewards"].append(reward)
        if terminated or truncated:
            break
    truncated = (truncated or t == max_steps - 1) and not terminated
    return Trajectory(**{k: np.array(v) for k, v in traj.items()}, terminated=terminated, truncated=truncated)


_declare(
    "rollout", rollout, _alt_rollout,
    admits=("tabular env", "gym env", "env time limit", "terminates on the last allowed step"),
    inputs="CartPole with random linear policies and seeds (one falls quickly, one terminates exactly "
           "on step max_steps, one is stopped by max_steps, one by a short env time limit) and random "
           "gridworlds (slip, start, time limit) with random tabular policies, stopped by max_steps or "
           "by the env's time limit. Envs and policies are deterministic given the seed.",
)


# ------------------------------------------------------------------------------ estimate_return
def _alt_estimate_return(env, policy, n_episodes, gamma=1.0, seed=0):
    total = 0.0
    for episode in range(n_episodes):
        tau = rollout(env, policy, seed=(seed if episode == 0 else None))
        total += sum(gamma ** t * r for t, r in enumerate(tau.rewards))
    return total / n_episodes


@mistake("estimate_return/reseeds", "every episode is identical: the seed was passed to every "
         "reset; seed only the first one (seed=seed if i == 0 else None)",
         summary="reseeded every episode")
def _wrong_er_reseeds(env, policy, n_episodes, gamma=1.0, seed=0):
    returns = [discounted_return(rollout(env, policy, seed=seed).rewards, gamma) for _ in range(n_episodes)]
    return float(np.mean(returns))


@mistake("estimate_return/no_gamma", "gamma is ignored: average the *discounted* returns, "
         "discounted_return(traj.rewards, gamma)", summary="ignored gamma")
def _wrong_er_no_gamma(env, policy, n_episodes, gamma=1.0, seed=0):
    returns = [rollout(env, policy, seed=seed if i == 0 else None).rewards.sum() for i in range(n_episodes)]
    return float(np.mean(returns))


@mistake("estimate_return/sum", "you summed the returns; J(pi) is estimated by their mean",
         summary="summed instead of averaged")
def _wrong_er_sum(env, policy, n_episodes, gamma=1.0, seed=0):
    returns = [discounted_return(rollout(env, policy, seed=seed if i == 0 else None).rewards, gamma)
               for i in range(n_episodes)]
    return float(np.sum(returns))


@mistake("estimate_return/one_too_few", "one episode too few (range(n_episodes - 1)?): average "
         "n_episodes returns", summary="ran one episode too few")
def _wrong_er_one_too_few(env, policy, n_episodes, gamma=1.0, seed=0):
    returns = [discounted_return(rollout(env, policy, seed=seed if i == 0 else None).rewards, gamma)
               for i in range(n_episodes - 1)]
    return float(np.mean(returns))


@mistake("estimate_return/one_too_many", "one episode too many: average exactly n_episodes "
         "returns", summary="ran one episode too many")
def _wrong_er_one_too_many(env, policy, n_episodes, gamma=1.0, seed=0):
    total = discounted_return(rollout(env, policy, seed=seed).rewards, gamma)
    for _ in range(n_episodes):
        total += discounted_return(rollout(env, policy).rewards, gamma)
    return total / (n_episodes + 1)


_declare(
    "estimate_return", estimate_return, _alt_estimate_return,
    admits=("tabular env", "gym env"),
    inputs="a random slippery gridworld with a random tabular policy and CartPole with a random linear "
           "policy, 3-6 episodes, gammas from (0.8, 0.99), random seeds; the episodes' returns differ, "
           "so every mistake below changes the estimate. Graded with rlcore's rollout and "
           "discounted_return swapped in for the learner's, so a mistake in those costs points once, "
           "at its own exercise.",
)
