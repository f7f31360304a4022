"""Lesson 04 (value functions): policy evaluation, q_from_v, value iteration, greedy policies, the MSBE.

Each ``_wrong_*`` function is a realistic wrong answer, written as a learner would; each
``_alt_*`` a correct answer in another style than the reference. The iterative wrong answers
stop after at most 1,000 sweeps (a learner's version of "gamma is missing" loops forever on a
continuing MDP; the judges run these on every hidden input, so they must end). Mistakes that
show as an error (a list input, ``~`` on float dones) are named by the judges from the error's
text (``by_value=False``), since no wrong implementation reproduces the learner's traceback; so
is a singular system (gamma missing in the exact solve), which otherwise shows by value.
"""

from __future__ import annotations

import numpy as np

from .. import values
from . import Exercise, exercise, mistake

LESSON = "04-value-functions"
LISTS = ("lists are valid input (an array means array-like): start with np.asarray(x, dtype=float) "
         "for every array argument")


# ------------------------------------------------------------------------------ policy_evaluation
def _alt_policy_evaluation(P, R, pi, gamma, tol=1e-10):
    # in-place (Gauss-Seidel) sweeps with plain loops, visiting states in reverse order
    S, A = len(R), len(R[0])
    V = [0.0] * S
    while True:
        delta = 0.0
        for s in reversed(range(S)):
            v = 0.0
            for a in range(A):
                expected_next = sum(P[s][a][t] * V[t] for t in range(S))
                v += pi[s][a] * (R[s][a] + gamma * expected_next)
            delta = max(delta, abs(v - V[s]))
            V[s] = v
        if delta < tol:
            return np.array(V)


@mistake("policy_evaluation/no_gamma", "gamma is missing: the backup is r + gamma * V(s'), not r "
         "+ V(s')", summary="left out gamma")
def _wrong_pe_no_gamma(P, R, pi, gamma, tol=1e-10):
    P, R, pi = (np.asarray(x, dtype=float) for x in (P, R, pi))
    V = np.zeros(len(R))
    for _ in range(1000):
        V_new = np.sum(pi * (R + P @ V), axis=1)  # gamma forgotten
        if np.max(np.abs(V_new - V)) < tol:
            break
        V = V_new
    return V_new


@mistake("policy_evaluation/max_over_actions", "you took the max over actions (that is V*, the "
         "Bellman optimality equation); V^pi averages over actions with the policy's "
         "probabilities pi(a|s)", summary="took the max (V*)")
def _wrong_pe_max(P, R, pi, gamma, tol=1e-10):
    P, R = np.asarray(P, dtype=float), np.asarray(R, dtype=float)
    V = np.zeros(len(R))
    while True:
        V_new = np.max(R + gamma * P @ V, axis=1)  # max instead of the expectation over pi
        if np.max(np.abs(V_new - V)) < tol:
            return V_new
        V = V_new


@mistake("policy_evaluation/not_converged", "the values are not converged: sweep until the "
         "largest change of a sweep, max_s |V_new(s) - V(s)|, is below tol (a fixed number of "
         "sweeps is not enough when gamma is close to 1)", summary="stopped before converging")
def _wrong_pe_fixed_sweeps(P, R, pi, gamma, tol=1e-10):
    P, R, pi = (np.asarray(x, dtype=float) for x in (P, R, pi))
    V = np.zeros(len(R))
    for _ in range(100):  # a fixed number of sweeps
        V = np.sum(pi * (R + gamma * P @ V), axis=1)
    return V


@mistake("policy_evaluation/rewards_summed", "the rewards are not weighted by pi(a|s): R_pi(s) "
         "= sum_a pi(a|s) R(s, a)", summary="summed the rewards over actions")
def _wrong_pe_rewards_summed(P, R, pi, gamma, tol=1e-10):
    P, R, pi = (np.asarray(x, dtype=float) for x in (P, R, pi))
    P_pi = np.einsum("sa,sat->st", pi, P)
    V, delta = np.zeros(len(R)), np.inf
    while delta >= tol:
        V_new = R.sum(axis=1) + gamma * P_pi @ V  # rewards summed over actions, not weighted
        V, delta = V_new, np.abs(V_new - V).max()
    return V


@mistake("policy_evaluation/rewards_averaged", "the rewards are averaged uniformly over actions; "
         "weight them by pi(a|s)", summary="averaged the rewards over actions")
def _wrong_pe_rewards_averaged(P, R, pi, gamma, tol=1e-10):
    P, R, pi = (np.asarray(x, dtype=float) for x in (P, R, pi))
    V = np.zeros(len(R))
    delta = np.inf
    while delta > tol:  # in-place sweeps
        delta = 0.0
        for s in range(len(R)):
            v = R[s].mean() + gamma * pi[s] @ P[s] @ V  # rewards averaged, not weighted by pi
            delta, V[s] = max(delta, abs(v - V[s])), v
    return V


@mistake("policy_evaluation/transitions_unweighted", "the transitions ignore the policy: "
         "P_pi(s'|s) = sum_a pi(a|s) P(s'|s, a)", summary="ignored pi in the transitions")
def _wrong_pe_transitions_unweighted(P, R, pi, gamma, tol=1e-10):
    P, R, pi = (np.asarray(x, dtype=float) for x in (P, R, pi))
    P_mean = P.mean(axis=1)  # the policy is ignored in the transitions
    R_pi = np.sum(pi * R, axis=1)
    V = np.zeros(len(R))
    for _ in range(100_000):
        V_new = R_pi + gamma * P_mean @ V
        if np.allclose(V_new, V, rtol=0, atol=tol):
            return V_new
        V = V_new


@mistake("policy_evaluation/bootstraps_from_s", "you bootstrapped from V(s) instead of V(s'): the "
         "backup needs sum_s' P(s'|s, a) V(s')", summary="bootstrapped from V(s)")
def _wrong_pe_bootstraps_from_s(P, R, pi, gamma, tol=1e-10):
    R, pi = np.asarray(R, dtype=float), np.asarray(pi, dtype=float)
    V = np.zeros(len(R))
    converged = False
    while not converged:
        V_next = np.sum(pi * (R + gamma * V[:, None]), axis=1)  # V(s) instead of E V(s')
        converged = np.max(np.abs(V_next - V)) < tol
        V = V_next
    return V


@mistake("policy_evaluation/lists_rejected", LISTS, summary="failed on list inputs", by_value=False)
def _wrong_pe_lists(P, R, pi, gamma, tol=1e-10):
    V = np.zeros(R.shape[0])
    change = np.inf
    while change >= tol:
        V_old = V
        V = (pi * (R + gamma * P @ V_old)).sum(axis=1)
        change = np.abs(V - V_old).max()
    return V


NOT_CONVERGED = ("the values are not converged: sweep until the largest change of a sweep, "
                 "max_s |V_new(s) - V(s)|, is below tol (a fixed number of sweeps is not enough when "
                 "gamma is close to 1)")
MAX = ("you took the max over actions (that is V*, the Bellman optimality equation); V^pi averages "
       "over actions with the policy's probabilities pi(a|s)")
REWARDS_SUMMED = "the rewards are not weighted by pi(a|s): R_pi(s) = sum_a pi(a|s) R(s, a)"
REWARDS_AVERAGED = "the rewards are averaged uniformly over actions; weight them by pi(a|s)"
TRANSITIONS = "the transitions ignore the policy: P_pi(s'|s) = sum_a pi(a|s) P(s'|s, a)"
P_AXES = "P's axes are transposed: P[s, a, s'] is the probability of moving from s to s', so sum over its last axis"

exercise(Exercise("policy_evaluation", LESSON, values.policy_evaluation,
                  alternatives=(_alt_policy_evaluation,),
                  admits=("list", "int", "episodic", "gamma near 1", "gridworld"),
                  inputs="fresh random MDPs (rlcore.values.random_mdp): an episodic square one first (S = A in 3-5, an "
                         "absorbing zero-reward state reached with probability 0.1-0.5, gamma 0.8-0.95), a dense one "
                         "(S 6-10, A 2-4), a sparse one with a deterministic policy, a square one with gamma "
                         "0.97-0.99, the gridworld (slip 0-0.3, gamma 0.9, figure 3.2), one with integer rewards and "
                         "one given as nested lists; random policies. Expected: the exact linear solve; any sweep "
                         "order passes."))


# ------------------------------------------------------------------------------ policy_evaluation_exact
def _alt_policy_evaluation_exact(P, R, pi, gamma):
    P, R, pi = np.asarray(P), np.asarray(R), np.asarray(pi)
    S = P.shape[0]
    P_pi = np.zeros((S, S))
    for a in range(P.shape[1]):
        P_pi += pi[:, a:a + 1] * P[:, a, :]
    r_pi = (pi * R).sum(axis=1)
    return np.linalg.inv(np.identity(S) - gamma * P_pi) @ r_pi


def _pee_solve(P, R, pi, gamma, P_pi=lambda P, pi: np.einsum("sa,sat->st", pi, P),
               R_pi=lambda R, pi: (pi * R).sum(axis=1)):
    """The exact solve of (I - gamma P_pi) V = R_pi on float arrays; a mistake passes its own
    P_pi(P, pi) or R_pi(R, pi)."""
    P, R, pi = (np.asarray(x, dtype=float) for x in (P, R, pi))
    return np.linalg.solve(np.eye(len(R)) - gamma * P_pi(P, pi), R_pi(R, pi))


@mistake("policy_evaluation_exact/P_pi_transposed", "P_pi is transposed: P_pi[s, s'] = sum_a "
         "pi(a|s) P(s'|s, a) has one row per current state", summary="transposed P_pi")
def _wrong_pee_P_pi_transposed(P, R, pi, gamma):
    return _pee_solve(P, R, pi, gamma, P_pi=lambda P, pi: np.einsum("sa,sat->st", pi, P).T)  # transposed


@mistake("policy_evaluation_exact/P_transposed", "P's axes are transposed: P[s, a, s'] is the "
         "probability of moving from s to s', so sum over its last axis", summary="transposed P")
def _wrong_pee_P_transposed(P, R, pi, gamma):
    return _pee_solve(P, R, pi, gamma, P_pi=lambda P, pi: np.einsum("sa,tas->st", pi, P))  # P's axes wrong


@mistake("policy_evaluation_exact/rewards_summed", "the rewards are not weighted by pi(a|s): "
         "R_pi(s) = sum_a pi(a|s) R(s, a)", summary="summed the rewards over actions")
def _wrong_pee_rewards_summed(P, R, pi, gamma):
    return _pee_solve(P, R, pi, gamma, R_pi=lambda R, pi: R.sum(axis=1))  # R not weighted by pi


@mistake("policy_evaluation_exact/rewards_averaged", "the rewards are averaged uniformly over "
         "actions; weight them by pi(a|s)", summary="averaged the rewards over actions")
def _wrong_pee_rewards_averaged(P, R, pi, gamma):
    return _pee_solve(P, R, pi, gamma, R_pi=lambda R, pi: R.sum(axis=1) / R.shape[1])  # R's uniform mean


@mistake("policy_evaluation_exact/transitions_unweighted", "the transitions ignore the policy: "
         "P_pi(s'|s) = sum_a pi(a|s) P(s'|s, a)", summary="ignored pi in the transitions")
def _wrong_pee_transitions_unweighted(P, R, pi, gamma):
    return _pee_solve(P, R, pi, gamma, P_pi=lambda P, pi: P.mean(axis=1))  # the policy ignored


@mistake("policy_evaluation_exact/one_backup", "one backup is not enough: V^pi = R_pi + gamma "
         "P_pi V^pi must be solved for V^pi ((I - gamma P_pi) V = R_pi), not applied once to R_pi",
         summary="applied one backup")
def _wrong_pee_one_backup(P, R, pi, gamma):
    P, R, pi = (np.asarray(x, dtype=float) for x in (P, R, pi))
    P_pi = np.einsum("sa,sat->st", pi, P)
    R_pi = (pi * R).sum(axis=1)
    return R_pi + gamma * P_pi @ R_pi  # one backup instead of solving


@mistake("policy_evaluation_exact/no_gamma", "gamma is missing: solve (I - gamma P_pi) V = R_pi; "
         "without gamma, I - P_pi is singular (every row of P_pi sums to 1)",
         summary="left out gamma")
def _wrong_pee_no_gamma(P, R, pi, gamma):
    return _pee_solve(P, R, pi, 1)  # gamma forgotten: I - P_pi


@mistake("policy_evaluation_exact/lists_rejected", LISTS, summary="failed on list inputs",
         by_value=False)
def _wrong_pee_lists(P, R, pi, gamma):
    P_pi = np.einsum("sa,sat->st", pi, P)
    return np.linalg.solve(np.eye(len(R)) - gamma * P_pi, (pi * R).sum(axis=1))


exercise(Exercise("policy_evaluation_exact", LESSON, values.policy_evaluation_exact,
                  alternatives=(_alt_policy_evaluation_exact,),
                  admits=("list", "int", "episodic", "gamma near 1", "gridworld"),
                  inputs="the same MDPs and policies as policy_evaluation."))


# ------------------------------------------------------------------------------ q_from_v
def _alt_q_from_v(P, R, V, gamma):
    return np.asarray(R) + gamma * np.tensordot(P, V, axes=([2], [0]))


@mistake("q_from_v/no_gamma", "gamma is missing: Q(s, a) = R(s, a) + gamma sum_s' P(s'|s, a) "
         "V(s')", summary="left out gamma")
def _wrong_q_no_gamma(P, R, V, gamma):
    P, R, V = (np.asarray(x, dtype=float) for x in (P, R, V))
    return R + P @ V  # gamma forgotten


@mistake("q_from_v/P_transposed", "P's axes are transposed: P[s, a, s'] is the probability of "
         "moving from s to s', so sum over its last axis", summary="transposed P")
def _wrong_q_P_transposed(P, R, V, gamma):
    P, R, V = (np.asarray(x, dtype=float) for x in (P, R, V))
    return R + gamma * np.einsum("tas,t->sa", P, V)  # the indices of P in the wrong order


@mistake("q_from_v/uses_V_s", "you used V(s) instead of the expected next value sum_s' P(s'|s, a) "
         "V(s')", summary="used V(s), not V(s')")
def _wrong_q_uses_V_s(P, R, V, gamma):
    R, V = np.asarray(R, dtype=float), np.asarray(V, dtype=float)
    return R + gamma * V[:, None]  # V(s), not V(s')


@mistake("q_from_v/sums_current_state", "you summed P over the wrong axis (the current state s "
         "instead of the next state s'): P @ V sums over the last axis",
         summary="summed over the current state")
def _wrong_q_sums_current_state(P, R, V, gamma):
    P, R, V = (np.asarray(x, dtype=float) for x in (P, R, V))
    return R + gamma * (P * V).sum(axis=0)  # summed over s instead of s'


@mistake("q_from_v/no_rewards", "the rewards are missing: Q(s, a) = R(s, a) + gamma E[V(s')]",
         summary="left out R")
def _wrong_q_no_rewards(P, R, V, gamma):
    P, V = np.asarray(P, dtype=float), np.asarray(V, dtype=float)
    return gamma * P @ V  # rewards forgotten


@mistake("q_from_v/transposed_output", "you returned Q transposed, shape (A, S); Q[s, a] has one "
         "row per state and one column per action", summary="returned Q transposed")
def _wrong_q_transposed_output(P, R, V, gamma):
    P, R, V = (np.asarray(x, dtype=float) for x in (P, R, V))
    return (R + gamma * P @ V).T


@mistake("q_from_v/lists_rejected", LISTS, summary="failed on list inputs", by_value=False)
def _wrong_q_lists(P, R, V, gamma):
    return R + gamma * P @ V


exercise(Exercise("q_from_v", LESSON, values.q_from_v,
                  alternatives=(_alt_q_from_v,),
                  admits=("list", "int", "square", "gridworld"),
                  inputs="a square random MDP first (so that a sum over the wrong axis runs), a dense and a sparse one, "
                         "the gridworld, integer rewards and values, and one given as nested lists; V ~ Normal(0, 3)."))


# ------------------------------------------------------------------------------ value_iteration
def _alt_value_iteration(P, R, gamma, tol=1e-10):
    # in-place sweeps over states; Q built at the end with loops
    P, R = np.asarray(P, dtype=float), np.asarray(R, dtype=float)
    S, A = R.shape
    V = np.zeros(S)
    delta = np.inf
    while delta >= tol:
        delta = 0.0
        for s in range(S):
            best = max(R[s, a] + gamma * P[s, a] @ V for a in range(A))
            delta = max(delta, abs(best - V[s]))
            V[s] = best
    Q = np.array([[R[s, a] + gamma * P[s, a] @ V for a in range(A)] for s in range(S)])
    return V, Q


def _vi_sweeps(P, R, gamma, tol, value=lambda Q: Q.max(axis=1)):
    """(V, Q) of synchronous sweeps V <- value(R + gamma P V) until no value changes by tol: value
    iteration, or with another value(Q) a mistake's."""
    P, R = np.asarray(P, dtype=float), np.asarray(R, dtype=float)
    V, delta = np.zeros(len(R)), np.inf
    while delta >= tol:
        Q = R + gamma * P @ V
        delta, V = np.abs(value(Q) - V).max(), value(Q)
    return V, Q


@mistake("value_iteration/mean_not_max", "you averaged over actions (that is V^pi of the uniform "
         "random policy); V*(s) = max_a Q*(s, a)", summary="averaged instead of max")
def _wrong_vi_mean(P, R, gamma, tol=1e-10):
    return _vi_sweeps(P, R, gamma, tol, value=lambda Q: Q.mean(axis=1))  # expectation instead of the max


@mistake("value_iteration/not_converged", "the values are not converged: sweep until the largest "
         "change of a sweep, max_s |V_new(s) - V(s)|, is below tol (a fixed number of sweeps is "
         "not enough when gamma is close to 1)", summary="stopped before converging")
def _wrong_vi_fixed_sweeps(P, R, gamma, tol=1e-10):
    P, R = np.asarray(P, dtype=float), np.asarray(R, dtype=float)
    V = np.zeros(len(R))
    for _ in range(100):  # a fixed number of sweeps
        Q = R + gamma * P @ V
        V = Q.max(axis=1)
    return V, Q


@mistake("value_iteration/returns_Q_V", "you returned (Q, V); return them in the order (V, Q)",
         summary="returned (Q, V)")
def _wrong_vi_returns_q_v(P, R, gamma, tol=1e-10):
    V, Q = _vi_sweeps(P, R, gamma, tol)
    return Q, V  # wrong order


@mistake("value_iteration/max_wrong_axis", "you took the max over the wrong axis (over states); "
         "V*(s) is the max over the actions a of Q(s, a) (axis=1)", summary="max over states")
def _wrong_vi_max_wrong_axis(P, R, gamma, tol=1e-10):
    P, R = np.asarray(P, dtype=float), np.asarray(R, dtype=float)
    V = np.zeros(len(R))
    for _ in range(100_000):
        Q = R + gamma * P @ V
        V_new = Q.max(axis=0)  # max over the wrong axis
        if np.allclose(V_new, V, rtol=0, atol=tol):
            break
        V = V_new
    return V_new, Q


@mistake("value_iteration/no_gamma", "gamma is missing: the backup is max_a [r + gamma E V(s')]",
         summary="left out gamma")
def _wrong_vi_no_gamma(P, R, gamma, tol=1e-10):
    P, R = np.asarray(P, dtype=float), np.asarray(R, dtype=float)
    V, sweeps = np.zeros(len(R)), 0
    while sweeps < 1000:
        Q = R + P @ V  # gamma forgotten
        change = np.abs(Q.max(axis=1) - V).max()
        V, sweeps = Q.max(axis=1), sweeps + 1
        if change < tol:
            break
    return V, Q


@mistake("value_iteration/argmax_as_V", "V* holds the best VALUE max_a Q*(s, a), not the best "
         "action argmax_a", summary="returned argmax as V")
def _wrong_vi_argmax(P, R, gamma, tol=1e-10):
    P, R = np.asarray(P, dtype=float), np.asarray(R, dtype=float)
    V = np.zeros(len(R))
    while True:  # in-place sweeps
        V_old = V.copy()
        for s in range(len(R)):
            V[s] = np.max(R[s] + gamma * P[s] @ V)
        if np.abs(V - V_old).max() < tol:
            Q = R + gamma * P @ V
            return Q.argmax(axis=1), Q  # the best actions, not their values


@mistake("value_iteration/q_not_backed_up", "Q is only R: Q*(s, a) = R(s, a) + gamma sum_s' "
         "P(s'|s, a) V*(s'), one backup of the final V", summary="returned R as Q")
def _wrong_vi_q_not_backed_up(P, R, gamma, tol=1e-10):
    P, R = np.asarray(P, dtype=float), np.asarray(R, dtype=float)
    Q = R.copy()
    V = np.zeros(len(R))
    for _ in range(100_000):
        V_new = (R + gamma * P @ V).max(axis=1)
        if np.linalg.norm(V_new - V, np.inf) < tol:
            return V_new, Q  # Q was never updated
        V = V_new


@mistake("value_iteration/returns_only_V", "return both V* and Q*: `return V, Q`",
         summary="returned only V")
def _wrong_vi_only_v(P, R, gamma, tol=1e-10):
    P, R = np.asarray(P, dtype=float), np.asarray(R, dtype=float)
    V = np.zeros(len(R))
    V_next = (R + gamma * P @ V).max(axis=1)
    while np.abs(V_next - V).max() >= tol:
        V, V_next = V_next, (R + gamma * P @ V_next).max(axis=1)
    return V_next


@mistake("value_iteration/lists_rejected", LISTS, summary="failed on list inputs", by_value=False)
def _wrong_vi_lists(P, R, gamma, tol=1e-10):
    S, _A = R.shape
    V = np.zeros(S)
    while True:
        Q = R + gamma * P @ V
        if np.abs(Q.max(axis=1) - V).max() < tol:
            return Q.max(axis=1), Q
        V = Q.max(axis=1)


exercise(Exercise("value_iteration", LESSON, values.value_iteration,
                  alternatives=(_alt_value_iteration,),
                  admits=("list", "int", "episodic", "gamma near 1", "gridworld"),
                  inputs="the MDPs of policy_evaluation (the episodic square one first) and the gridworld (figure "
                         "3.5). Expected: value iteration polished by exactly evaluating its greedy policy. Graded with "
                         "rlcore's q_from_v swapped in for the call (a mistake in q_from_v costs points once)."))


# ------------------------------------------------------------------------------ greedy_policy
def _alt_greedy_policy(Q):
    Q = np.asarray(Q)
    pi = np.zeros(Q.shape, dtype=int)
    for s, row in enumerate(Q):
        best = 0
        for a in range(1, len(row)):
            if row[a] > row[best]:
                best = a
        pi[s, best] = 1
    return pi


@mistake("greedy_policy/ties_highest", "ties must go to the LOWEST action index (np.argmax does "
         "that); yours go to the highest", summary="broke ties high")
def _wrong_gp_ties_highest(Q):
    Q = np.asarray(Q, dtype=float)
    A = Q.shape[1]
    return np.eye(A)[A - 1 - np.argmax(Q[:, ::-1], axis=1)]  # ties to the highest index


@mistake("greedy_policy/ties_split", "ties must go to one action (the lowest index), not be split "
         "between them", summary="split ties")
def _wrong_gp_ties_split(Q):
    Q = np.asarray(Q, dtype=float)
    best = (Q == Q.max(axis=1, keepdims=True)).astype(float)
    return best / best.sum(axis=1, keepdims=True)  # ties split


@mistake("greedy_policy/argmax_axis0", "you took the argmax over states (axis 0); the greedy "
         "action of state s is the argmax over the actions a of Q[s, a] (axis=1)",
         summary="argmax over states")
def _wrong_gp_axis0(Q):
    Q = np.asarray(Q, dtype=float)
    return np.eye(Q.shape[1])[np.argmax(Q, axis=0)]  # argmax over states


@mistake("greedy_policy/returns_indices", "return the policy as a one-hot array of shape (S, A): "
         "pi[s, a*(s)] = 1, 0 elsewhere (not the actions a*(s))", summary="returned action indices")
def _wrong_gp_indices(Q):
    return np.argmax(Q, axis=1)  # indices, not one-hot


@mistake("greedy_policy/argmin", "you picked the worst action (argmin); greedy means argmax_a "
         "Q(s, a)", summary="took the argmin")
def _wrong_gp_argmin(Q):
    return np.eye(np.shape(Q)[1])[np.argmin(Q, axis=1)]


@mistake("greedy_policy/softmax", "you returned softmax probabilities; the greedy policy is "
         "one-hot", summary="returned softmax")
def _wrong_gp_softmax(Q):
    Q = np.asarray(Q, dtype=float)
    e = np.exp(Q - Q.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@mistake("greedy_policy/lists_rejected", LISTS, summary="failed on list inputs", by_value=False)
def _wrong_gp_lists(Q):
    pi = np.zeros(Q.shape)
    pi[np.arange(Q.shape[0]), Q.argmax(axis=1)] = 1.0
    return pi


exercise(Exercise("greedy_policy", LESSON, values.greedy_policy,
                  alternatives=(_alt_greedy_policy,),
                  admits=("list", "int", "square"),
                  inputs="a square Q first (so that an argmax over the wrong axis runs), a random Q, an integer Q full "
                         "of ties (one state where every action ties), and one given as a nested list."))


# ------------------------------------------------------------------------------ mean_squared_bellman_error
def _alt_msbe(q_sa, rewards, next_q, dones, gamma):
    total = 0.0
    for q, r, nq, d in zip(q_sa, rewards, next_q, dones):
        y = r if d else r + gamma * max(nq)
        total += (q - y) ** 2
    return total / len(q_sa)


def _msbe_of(q_sa, rewards, next_q, dones, gamma, target=None,
             error=lambda q_sa, y: float(np.mean((q_sa - y) ** 2))):
    """error(q_sa, y) on float arrays, y the right target r + gamma (1 - d) max_a' Q(s', a') unless a
    mistake passes its own target(rewards, next_q, dones)."""
    q_sa, rewards, next_q, dones = (np.asarray(x, dtype=float) for x in (q_sa, rewards, next_q, dones))
    if target is None:
        y = rewards + gamma * (1 - dones) * next_q.max(axis=1)
    else:
        y = target(rewards, next_q, dones)
    return error(q_sa, y)


@mistake("mean_squared_bellman_error/no_done_mask", "(1 - done) is missing: at a terminal "
         "transition the target is just r", summary="ignored dones")
def _wrong_msbe_no_done_mask(q_sa, rewards, next_q, dones, gamma):
    return _msbe_of(q_sa, rewards, next_q, dones, gamma,
                    target=lambda r, nq, d: r + gamma * nq.max(axis=1))  # no (1 - d)


@mistake("mean_squared_bellman_error/mask_inverted", "the done mask is inverted: bootstrap with "
         "(1 - d), so terminal transitions drop the next value", summary="inverted the done mask")
def _wrong_msbe_mask_inverted(q_sa, rewards, next_q, dones, gamma):
    # bootstraps only terminal transitions:
    return _msbe_of(q_sa, rewards, next_q, dones, gamma,
                    target=lambda r, nq, d: r + gamma * d * nq.max(axis=1))


@mistake("mean_squared_bellman_error/no_gamma", "gamma is missing from the target r + gamma (1 "
         "- d) max_a' Q(s', a')", summary="left out gamma")
def _wrong_msbe_no_gamma(q_sa, rewards, next_q, dones, gamma):
    return _msbe_of(q_sa, rewards, next_q, dones, gamma,
                    target=lambda r, nq, d: r + (1 - d) * nq.max(axis=1))  # gamma forgotten


@mistake("mean_squared_bellman_error/rms", "you took the square root (that is the RMS error); "
         "return the MEAN of the squares", summary="took the square root")
def _wrong_msbe_rms(q_sa, rewards, next_q, dones, gamma):
    return _msbe_of(q_sa, rewards, next_q, dones, gamma,
                    error=lambda q, y: float(np.sqrt(np.mean((q - y) ** 2))))  # root mean square


@mistake("mean_squared_bellman_error/sum_not_mean", "you summed the squared errors; the MSBE is "
         "their mean", summary="summed instead of averaged")
def _wrong_msbe_sum(q_sa, rewards, next_q, dones, gamma):
    return _msbe_of(q_sa, rewards, next_q, dones, gamma,
                    error=lambda q, y: float(np.sum((q - y) ** 2)))  # sum, not mean


@mistake("mean_squared_bellman_error/mean_over_actions", "you averaged next_q over actions; the "
         "target uses max_a' Q(s', a')", summary="averaged over next actions")
def _wrong_msbe_mean_over_actions(q_sa, rewards, next_q, dones, gamma):
    return _msbe_of(q_sa, rewards, next_q, dones, gamma,
                    target=lambda r, nq, d: r + gamma * (1 - d) * nq.mean(axis=1))  # not max


@mistake("mean_squared_bellman_error/max_whole_batch", "you took the max over the whole batch; "
         "take it over the actions of each transition (axis=1)", summary="max over the whole batch")
def _wrong_msbe_max_whole_batch(q_sa, rewards, next_q, dones, gamma):
    # the max over the whole batch:
    return _msbe_of(q_sa, rewards, next_q, dones, gamma,
                    target=lambda r, nq, d: r + gamma * (1 - d) * np.max(nq))


@mistake("mean_squared_bellman_error/max_axis0", "you took the max over the wrong axis (axis 0, "
         "over transitions); take it over actions (axis=1)", summary="max over transitions")
def _wrong_msbe_max_axis0(q_sa, rewards, next_q, dones, gamma):
    return _msbe_of(q_sa, rewards, next_q, dones, gamma,
                    target=lambda r, nq, d: r + gamma * (1 - d) * nq.max(axis=0))  # over transitions


@mistake("mean_squared_bellman_error/abs_errors", "you averaged absolute errors; square them",
         summary="averaged absolute errors")
def _wrong_msbe_abs(q_sa, rewards, next_q, dones, gamma):
    return _msbe_of(q_sa, rewards, next_q, dones, gamma,
                    error=lambda q, y: float(np.mean(np.abs(q - y))))  # absolute errors


@mistake("mean_squared_bellman_error/mask_on_reward", "(1 - done) multiplies the reward too; only "
         "the bootstrap term gamma max_a' Q(s', a') is masked", summary="masked the reward")
def _wrong_msbe_mask_on_reward(q_sa, rewards, next_q, dones, gamma):
    # the reward masked too:
    return _msbe_of(q_sa, rewards, next_q, dones, gamma,
                    target=lambda r, nq, d: (1 - d) * (r + gamma * nq.max(axis=1)))


@mistake("mean_squared_bellman_error/per_transition", "return one number, the mean of the squared "
         "errors over the batch, not one per transition", summary="returned an array")
def _wrong_msbe_per_transition(q_sa, rewards, next_q, dones, gamma):
    return _msbe_of(q_sa, rewards, next_q, dones, gamma, error=lambda q, y: (q - y) ** 2)  # no mean


@mistake("mean_squared_bellman_error/keepdims_broadcast", "max(axis=1, keepdims=True) has shape "
         "(B, 1): with (B,) rewards it broadcasts to a (B, B) matrix; take the max without "
         "keepdims, shape (B,)", summary="broadcast (B, 1) against (B,)")
def _wrong_msbe_keepdims(q_sa, rewards, next_q, dones, gamma):
    # shape (B, 1): broadcasts to (B, B) against the (B,) rewards
    return _msbe_of(q_sa, rewards, next_q, dones, gamma,
                    target=lambda r, nq, d: r + gamma * (1 - d) * nq.max(axis=1, keepdims=True))


@mistake("mean_squared_bellman_error/invert_float_dones", "~dones works for bool dones only; "
         "float 0/1 dones need (1 - dones) (convert with np.asarray(dones, dtype=float))",
         summary="used ~dones", by_value=False)
def _wrong_msbe_invert(q_sa, rewards, next_q, dones, gamma):
    q_sa, rewards, next_q, dones = (np.asarray(x) for x in (q_sa, rewards, next_q, dones))
    y = rewards + gamma * ~dones * next_q.max(axis=1)  # works for bool dones only
    return float(np.mean((q_sa - y) ** 2))


@mistake("mean_squared_bellman_error/lists_rejected", LISTS, summary="failed on list inputs",
         by_value=False)
def _wrong_msbe_lists(q_sa, rewards, next_q, dones, gamma):
    y = rewards + gamma * (1 - dones) * next_q.max(axis=1)
    return float(np.mean((q_sa - y) ** 2))


exercise(Exercise("mean_squared_bellman_error", LESSON, values.mean_squared_bellman_error,
                  alternatives=(_alt_msbe,),
                  admits=("float dones", "bool dones", "list", "int", "batch of one"),
                  inputs="a batch with B = A first (so that a max over the wrong axis runs), batches of 6-40 "
                         "transitions with A = 2-6, float 0/1 dones and bool dones (each batch has both kinds of "
                         "transitions), integer rewards, nested lists, and a batch of one."))
