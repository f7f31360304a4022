"""Lesson 06 (DQN): the replay buffer, the epsilon schedule and policy, targets, loss, target update.

Each ``_wrong_*`` function or class is a realistic wrong answer, written as a learner would;
each ``_alt_*`` a correct answer in another style than the reference. The wrong replay
buffers change one method of ``_RingBuffer`` (a correct numpy ring buffer in a learner's
style): their answer cells hold ``_RingBuffer`` first (``Exercise.source_of``).

Most ReplayBuffer and epsilon_greedy mistakes draw random numbers, so a wrong implementation
cannot reproduce a learner's output exactly (``by_value=False``): the hidden judges and the
visible checks recognise them by their behaviour (what is sampled, how often, from which
generator) and name them by id.
"""

from __future__ import annotations

import numpy as np
import torch

from .. import dqn_parts
from ..dqn_parts import Batch
from . import Exercise, exercise, mistake

LESSON = "06-dqn"


# ------------------------------------------------------------------------------ ReplayBuffer
class _alt_ReplayBuffer:
    def __init__(self, capacity, obs_shape, seed=None):
        from collections import deque  # a list that drops its oldest item when full

        self.data = deque(maxlen=capacity)
        self.rng = np.random.default_rng(seed)

    def add(self, obs, actions, rewards, next_obs, dones):
        for row in zip(obs, actions, rewards, next_obs, dones):
            self.data.append(tuple(np.array(x) for x in row))  # copies, not views of the caller's arrays

    def sample(self, batch_size):
        if not self.data:
            raise ValueError("empty")
        rows = [self.data[i] for i in self.rng.choice(len(self.data), size=batch_size)]
        o, a, r, o2, d = (np.array(column) for column in zip(*rows))
        return Batch(torch.tensor(o, dtype=torch.float32), torch.tensor(a, dtype=torch.int64),
                     torch.tensor(r, dtype=torch.float32), torch.tensor(o2, dtype=torch.float32),
                     torch.tensor(d, dtype=torch.float32))

    def __len__(self):
        return len(self.data)


class _RingBuffer:
    def __init__(self, capacity, obs_shape, seed=None):
        shape = (obs_shape,) if isinstance(obs_shape, int) else tuple(obs_shape)
        self.capacity, self.seed = capacity, seed
        self.obs = np.zeros((capacity, *shape), dtype=np.float32)
        self.next_obs = np.zeros((capacity, *shape), dtype=np.float32)
        self.actions = np.zeros(capacity, dtype=np.int64)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.dones = np.zeros(capacity, dtype=np.float32)
        self.pos, self.size = 0, 0
        self.rng = np.random.default_rng(seed)

    def write(self, j, obs, action, reward, next_obs, done):
        self.obs[j], self.actions[j], self.rewards[j] = obs, action, reward
        self.next_obs[j], self.dones[j] = next_obs, done

    def add(self, obs, actions, rewards, next_obs, dones):
        for i in range(len(actions)):
            self.write(self.pos, obs[i], actions[i], rewards[i], next_obs[i], dones[i])
            self.advance()

    def advance(self):  # after a transition was written at pos
        self.pos = (self.pos + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def batch(self, idx):
        return Batch(torch.from_numpy(self.obs[idx]), torch.from_numpy(self.actions[idx]),
                     torch.from_numpy(self.rewards[idx]), torch.from_numpy(self.next_obs[idx]),
                     torch.from_numpy(self.dones[idx]))

    def sample(self, batch_size):
        if self.size == 0:
            raise ValueError("the buffer is empty")
        return self.batch(self.draw(batch_size))

    def draw(self, batch_size):
        return self.rng.integers(0, self.size, size=batch_size)

    def __len__(self):
        return self.size


@mistake("ReplayBuffer/empty_no_error", "sampling an empty buffer must raise ValueError: there is "
         "nothing to sample yet", summary="sampled an empty buffer", by_value=False)
class _wrong_rb_empty_no_error(_RingBuffer):
    def sample(self, batch_size):
        return self.batch(self.rng.integers(0, max(self.size, 1), size=batch_size))


@mistake("ReplayBuffer/len_counts_calls", "len() counts the calls to add, not the transitions: "
         "add stores a whole batch (one transition per env), so len() grows by the batch size",
         summary="len() counted add calls", by_value=False)
class _wrong_rb_len_counts_calls(_RingBuffer):
    def add(self, obs, actions, rewards, next_obs, dones):
        idx = (self.pos + np.arange(len(actions))) % self.capacity
        self.write(idx, obs, actions, rewards, next_obs, dones)
        self.pos = (self.pos + len(actions)) % self.capacity
        self.size = min(self.size + 1, self.capacity)  # one more "transition" per call


@mistake("ReplayBuffer/len_not_capped", "len() grew past capacity: a full buffer holds exactly "
         "capacity transitions", summary="len() not capped at capacity", by_value=False)
class _wrong_rb_len_not_capped(_RingBuffer):
    def add(self, obs, actions, rewards, next_obs, dones):
        n = len(actions)
        self.write((self.pos + np.arange(n)) % self.capacity, obs, actions, rewards, next_obs, dones)
        self.pos = (self.pos + n) % self.capacity
        self.size += n


@mistake("ReplayBuffer/not_tensors", "sample returned numpy arrays: the Batch's fields must be "
         "torch Tensors (torch.from_numpy or torch.as_tensor)", summary="returned numpy arrays",
         by_value=False)
class _wrong_rb_not_tensors(_RingBuffer):
    def batch(self, idx):
        return Batch(self.obs[idx], self.actions[idx], self.rewards[idx], self.next_obs[idx],
                     self.dones[idx])


@mistake("ReplayBuffer/float64_storage", "the sampled fields have the wrong dtypes: np.zeros "
         "makes float64 arrays unless given a dtype; store obs, next_obs, rewards and dones as "
         "float32 and actions as int64", summary="stored float64", by_value=False)
class _wrong_rb_float64_storage(_RingBuffer):
    def __init__(self, capacity, obs_shape, seed=None):
        super().__init__(capacity, obs_shape, seed)
        self.obs, self.next_obs = np.zeros(self.obs.shape), np.zeros(self.obs.shape)  # no dtype: float64
        self.actions, self.rewards, self.dones = np.zeros(capacity), np.zeros(capacity), np.zeros(capacity)


@mistake("ReplayBuffer/without_replacement", "sample draws without replacement, so it fails as "
         "soon as batch_size is larger than what is stored: draw indices WITH replacement",
         summary="sampled without replacement", by_value=False,
         raises="larger sample than population|replace=False|replace is False")
class _wrong_rb_without_replacement(_RingBuffer):
    def draw(self, batch_size):
        return self.rng.choice(self.size, size=batch_size, replace=False)


@mistake("ReplayBuffer/never_written_slots", "sample drew slots that were never written (all-zero "
         "transitions): draw indices only from the filled part of the buffer, 0 to len(buffer) "
         "- 1, not from all capacity slots", summary="sampled never-written slots", by_value=False)
class _wrong_rb_never_written_slots(_RingBuffer):
    def draw(self, batch_size):
        return self.rng.integers(0, self.capacity, size=batch_size)  # every slot


@mistake("ReplayBuffer/fields_unpaired", "the fields of a sampled row come from different "
         "transitions: index obs, actions, rewards, next_obs and dones with the SAME indices",
         summary="mixed up the fields of different transitions", by_value=False)
class _wrong_rb_fields_unpaired(_RingBuffer):
    def sample(self, batch_size):
        batch = super().sample(batch_size)
        other = self.draw(batch_size)  # a second draw for the rewards
        return batch._replace(rewards=torch.from_numpy(self.rewards[other]))


@mistake("ReplayBuffer/no_wrap", "the write position does not wrap around: adding to a full "
         "buffer wrote past its end (IndexError); when the buffer is full, new transitions "
         "overwrite the oldest, pos = (pos + 1) % capacity", summary="no wrap-around when full",
         by_value=False, raises="^IndexError")
class _wrong_rb_no_wrap(_RingBuffer):
    def advance(self):
        self.pos, self.size = self.pos + 1, min(self.size + 1, self.capacity)  # no % capacity


@mistake("ReplayBuffer/overwrites_newest", "once full, the buffer kept overwriting its last slot "
         "and kept the oldest transitions: the write position must wrap around to the start, so "
         "the OLDEST transition is overwritten", summary="overwrote the newest, not the oldest",
         by_value=False)
class _wrong_rb_overwrites_newest(_RingBuffer):
    def advance(self):
        self.pos = min(self.pos + 1, self.capacity - 1)  # once full: always the last slot
        self.size = min(self.size + 1, self.capacity)


@mistake("ReplayBuffer/batch_restarts_at_zero", "ring-buffer wrap-around: a batch that did not "
         "fit at the end restarted at slot 0, so the last slots were skipped (never written, or "
         "left stale); the i-th transition of a batch goes to slot (pos + i) % capacity",
         summary="restarted a batch at slot 0", by_value=False)
class _wrong_rb_batch_restarts_at_zero(_RingBuffer):
    def add(self, obs, actions, rewards, next_obs, dones):
        n = len(actions)
        if self.pos + n > self.capacity:  # no room at the end: start again at the front
            self.pos = 0
        s = slice(self.pos, self.pos + n)
        self.obs[s], self.actions[s], self.rewards[s], self.next_obs[s], self.dones[s] = (
            obs, actions, rewards, next_obs, dones)
        self.pos = (self.pos + n) % self.capacity
        self.size = min(self.size + n, self.capacity)


@mistake("ReplayBuffer/up_to_pos", "after the buffer wrapped around, sample drew only the slots "
         "below the write position: every stored slot can be drawn, 0 to len(buffer) - 1",
         summary="sampled only up to the write position", by_value=False)
class _wrong_rb_up_to_pos(_RingBuffer):
    def draw(self, batch_size):
        high = self.pos if self.pos > 0 else self.size
        return self.rng.integers(0, high, size=batch_size)


@mistake("ReplayBuffer/recent_only", "sample drew only the most recent transitions: draw "
         "uniformly over everything stored, old transitions as often as new ones (that is what "
         "breaks the correlation of consecutive steps)", summary="sampled only recent transitions",
         by_value=False)
class _wrong_rb_recent_only(_RingBuffer):
    def draw(self, batch_size):
        back = self.rng.integers(0, min(self.size, 32), size=batch_size)  # the 32 newest
        return (self.pos - 1 - back) % self.capacity


@mistake("ReplayBuffer/new_rng_per_sample", "a new generator made from the seed on every sample "
         "returns the same indices every call: make the generator once, in __init__, and draw "
         "every sample from it", summary="re-seeded on every sample", by_value=False)
class _wrong_rb_new_rng_per_sample(_RingBuffer):
    def draw(self, batch_size):
        return np.random.default_rng(self.seed).integers(0, self.size, size=batch_size)  # a new generator


@mistake("ReplayBuffer/stores_references", "add kept references to the arrays it was given "
         "(obs[i] is a view), so changing those arrays later changed the stored transitions: "
         "store copies of the values", summary="stored views of the caller's arrays",
         by_value=False)
class _wrong_rb_stores_references(_alt_ReplayBuffer):
    def add(self, obs, actions, rewards, next_obs, dones):
        for row in zip(obs, actions, rewards, next_obs, dones):
            self.data.append(row)  # obs[i] is a view: it changes when the caller's array does


@mistake("ReplayBuffer/ignores_seed", "two buffers with the same seed gave different samples: "
         "draw with the buffer's own generator, np.random.default_rng(seed) made in __init__ (not "
         "np.random or random)", summary="ignored the seed", by_value=False)
class _wrong_rb_ignores_seed(_RingBuffer):
    def draw(self, batch_size):
        return np.random.randint(self.size, size=batch_size)  # the global generator


exercise(Exercise("ReplayBuffer", LESSON, dqn_parts.ReplayBuffer,
                  alternatives=(_alt_ReplayBuffer, _RingBuffer),
                  namespace={"Batch": Batch},
                  admits=("int obs_shape", "tuple obs_shape", "batch of one", "bool dones", "float dones"),
                  inputs="transitions whose reward encodes their insertion index, so every sampled row can be "
                         "traced back to the transition it must be; buffers filled below capacity, past it (the "
                         "first wrap in the middle of a batch) and with hundreds of transitions; 1-D and 2-D "
                         "observations, batches of one env, bool and float dones; thousands of samples, so a "
                         "slot that is never (or too often) drawn shows."))


# ------------------------------------------------------------------------------ linear_schedule
def _alt_linear_schedule(start, end, duration, t):
    return float(np.interp(t, [0, duration], [start, end]))


@mistake("linear_schedule/not_clamped", "the schedule is not clamped: after t = duration it must "
         "stay at end (min(t / duration, 1))", summary="did not clamp after duration")
def _wrong_schedule_not_clamped(start, end, duration, t):
    return start + (end - start) * t / duration


@mistake("linear_schedule/swapped", "start and end are swapped: at t = 0 the value is start, at t "
         "= duration it is end", summary="swapped start and end")
def _wrong_schedule_swapped(start, end, duration, t):
    return end + (start - end) * min(t / duration, 1.0)


@mistake("linear_schedule/integer_division", "integer division t // duration jumps from start to "
         "end: divide with /, so the value moves smoothly", summary="used integer division")
def _wrong_schedule_integer_division(start, end, duration, t):
    return start + (end - start) * min(t // duration, 1)


exercise(Exercise("linear_schedule", LESSON, dqn_parts.linear_schedule,
                  alternatives=(_alt_linear_schedule,),
                  admits=("int", "float", "increasing"),
                  inputs="decreasing schedules from 1 with integer durations of 500-5,000 steps and steps t at "
                         "0, inside, at and after the end; increasing ones with float durations and t."))


# ------------------------------------------------------------------------------ epsilon_greedy
def _alt_epsilon_greedy(q_values, epsilon, rng):
    q = np.asarray(q_values)
    actions = []
    for row in q:
        if rng.random() < epsilon:
            actions.append(rng.integers(len(row)))
        else:
            actions.append(int(np.argmax(row)))
    return np.array(actions, dtype=np.int64)


@mistake("epsilon_greedy/returns_tensor", "a Tensor came back: return a numpy int64 array, which "
         "env.step accepts (turn Q-values given as a Tensor into numpy first)",
         summary="returned a Tensor", by_value=False)
def _wrong_eg_returns_tensor(q_values, epsilon, rng):
    q = torch.as_tensor(q_values)
    explore = torch.as_tensor(rng.random(len(q)) < epsilon)
    random_actions = torch.as_tensor(rng.integers(0, q.shape[1], size=len(q)))
    return torch.where(explore, random_actions, q.argmax(dim=1))


@mistake("epsilon_greedy/argmax_no_axis", "np.argmax without an axis gives one index into the "
         "flattened array, the same for every row: take the argmax of each row, over the actions "
         "(axis=1)", summary="argmax over the flattened array", by_value=False)
def _wrong_eg_argmax_no_axis(q_values, epsilon, rng):
    q = np.asarray(q_values)
    explore = rng.random(len(q)) < epsilon
    return np.where(explore, rng.integers(0, q.shape[1], size=len(q)), np.argmax(q)).astype(np.int64)


@mistake("epsilon_greedy/compared_wrong_way", "epsilon is compared the wrong way: a row must "
         "explore when its random number is BELOW epsilon, so it explores with probability "
         "epsilon, not 1 - epsilon", summary="explored with probability 1 - epsilon",
         by_value=False)
def _wrong_eg_compared_wrong_way(q_values, epsilon, rng):
    q = np.asarray(q_values)
    explore = rng.random(len(q)) > epsilon
    return np.where(explore, rng.integers(0, q.shape[1], size=len(q)), q.argmax(axis=1)).astype(np.int64)


@mistake("epsilon_greedy/excludes_greedy", "the random action is never the greedy one: explore "
         "uniformly among ALL actions, the greedy one included",
         summary="random actions exclude the greedy one", by_value=False)
def _wrong_eg_excludes_greedy(q_values, epsilon, rng):
    q = np.asarray(q_values)
    greedy = q.argmax(axis=1)
    other = (greedy + rng.integers(1, q.shape[1], size=len(q))) % q.shape[1]  # never the greedy one
    return np.where(rng.random(len(q)) < epsilon, other, greedy).astype(np.int64)


@mistake("epsilon_greedy/excludes_last_action", "the random actions never include the last "
         "action: rng.integers(low, high) excludes high, so pass the number of actions itself",
         summary="random actions exclude the last action", by_value=False)
def _wrong_eg_excludes_last_action(q_values, epsilon, rng):
    q = np.asarray(q_values)
    explore = rng.random(len(q)) < epsilon
    random_actions = rng.integers(0, q.shape[1] - 1, size=len(q))
    return np.where(explore, random_actions, q.argmax(axis=1)).astype(np.int64)


@mistake("epsilon_greedy/one_coin", "one coin flip decided for the whole batch: draw one random "
         "number per row, so each env explores on its own", summary="one coin flip for the batch",
         by_value=False)
def _wrong_eg_one_coin(q_values, epsilon, rng):
    q = np.asarray(q_values)
    if rng.random() < epsilon:  # one decision for every row
        return rng.integers(0, q.shape[1], size=len(q))
    return q.argmax(axis=1)


@mistake("epsilon_greedy/ignores_rng", "the same generator seed gave different actions: draw "
         "every random number from the rng passed in (rng.random, rng.integers), not np.random or "
         "random", summary="ignored rng", by_value=False)
def _wrong_eg_ignores_rng(q_values, epsilon, rng):
    q = np.asarray(q_values)
    explore = np.random.random(len(q)) < epsilon
    return np.where(explore, np.random.randint(0, q.shape[1], size=len(q)), q.argmax(axis=1))


@mistake("epsilon_greedy/own_generator", "two different generators gave the same actions: a "
         "generator made inside the function (np.random.default_rng(...)) explores the same way "
         "on every call; draw from the rng passed in", summary="made its own generator",
         by_value=False)
def _wrong_eg_own_generator(q_values, epsilon, rng):
    own = np.random.default_rng(0)
    q = np.asarray(q_values)
    explore = own.random(len(q)) < epsilon
    return np.where(explore, own.integers(0, q.shape[1], size=len(q)), q.argmax(axis=1)).astype(np.int64)


exercise(Exercise("epsilon_greedy", LESSON, dqn_parts.epsilon_greedy,
                  alternatives=(_alt_epsilon_greedy,),
                  admits=("array", "Tensor", "batch of one"),
                  inputs="4,000-row batches of random Q-values with 3-5 actions, as numpy arrays and Tensors, at "
                         "epsilon 0, 1 and two values in between (the share of greedy actions and the spread of "
                         "the random ones are tested), each twice with one seed and once with another; a batch "
                         "of one row."))


# ------------------------------------------------------------------------------ dqn_targets
def _alt_dqn_targets(rewards, next_q_target, dones, gamma):
    not_done = (~dones.bool()).to(rewards.dtype)
    return rewards + gamma * not_done * next_q_target.detach().max(1)[0]


@mistake("dqn_targets/no_done_mask", "(1 - done) is missing: a terminal transition has no future, "
         "so its target is r alone", summary="bootstrapped through terminal states")
def _wrong_targets_no_done_mask(rewards, next_q_target, dones, gamma):
    with torch.no_grad():
        return rewards + gamma * next_q_target.max(dim=1).values


@mistake("dqn_targets/done_not_one_minus", "you multiplied by done instead of (1 - done): only "
         "NON-terminal transitions bootstrap", summary="used done instead of 1 - done")
def _wrong_targets_done_not_one_minus(rewards, next_q_target, dones, gamma):
    with torch.no_grad():
        return rewards + gamma * dones.float() * next_q_target.max(dim=1).values


@mistake("dqn_targets/no_gamma", "the discount gamma is missing in front of the bootstrapped "
         "value", summary="left out gamma")
def _wrong_targets_no_gamma(rewards, next_q_target, dones, gamma):
    with torch.no_grad():
        return rewards + (1 - dones.float()) * next_q_target.max(dim=1).values


@mistake("dqn_targets/argmax", "you used the argmax (an action index) instead of the max value: "
         ".max(dim=1) returns (values, indices)", summary="used the argmax index")
def _wrong_targets_argmax(rewards, next_q_target, dones, gamma):
    with torch.no_grad():
        return rewards + gamma * (1 - dones.float()) * next_q_target.argmax(dim=1)


@mistake("dqn_targets/mean_over_actions", "you averaged over the actions; the target takes the "
         "max over them (the greedy action's value)", summary="averaged over actions")
def _wrong_targets_mean_over_actions(rewards, next_q_target, dones, gamma):
    with torch.no_grad():
        return rewards + gamma * (1 - dones.float()) * next_q_target.mean(dim=1)


@mistake("dqn_targets/requires_grad", "the targets require grad: in DQN the target is a constant, "
         "so compute it under torch.no_grad() (or .detach() it)",
         summary="targets carry a gradient")
def _wrong_targets_requires_grad(rewards, next_q_target, dones, gamma):
    return rewards + gamma * (1 - dones.float()) * next_q_target.max(dim=1).values


@mistake("dqn_targets/bool_dones", "dones is a bool Tensor: convert with dones.float() before 1 "
         "- dones", summary="1 - dones on bool dones", by_value=False,
         raises="Subtraction, the `-` operator, with a bool tensor")
def _wrong_targets_bool_dones(rewards, next_q_target, dones, gamma):
    with torch.no_grad():
        return rewards + gamma * (1 - dones) * next_q_target.max(dim=1).values


@mistake("dqn_targets/invert_float_dones", "~dones only works on bool dones, and dones may be "
         "float too: convert with dones.float() and use 1 - dones", summary="~dones on float dones",
         by_value=False, raises="only implemented on integer and Boolean")
def _wrong_targets_invert_float_dones(rewards, next_q_target, dones, gamma):
    with torch.no_grad():
        return rewards + gamma * (~dones).float() * next_q_target.max(dim=1).values


@mistake("dqn_targets/max_over_batch", "the max ran over the batch (dim=0): take it over the "
         "actions, dim=1, one value per transition", summary="max over the batch axis",
         by_value=False, raises="must match the size of tensor")
def _wrong_targets_max_over_batch(rewards, next_q_target, dones, gamma):
    with torch.no_grad():
        return rewards + gamma * (1 - dones.float()) * next_q_target.max(dim=0).values


exercise(Exercise("dqn_targets", LESSON, dqn_parts.dqn_targets,
                  alternatives=(_alt_dqn_targets,),
                  admits=("bool dones", "float dones", "float32", "float64", "batch of one"),
                  inputs="random minibatches of 5-30 transitions with 2-4 actions (never as many actions as "
                         "transitions), at least one terminal and one non-terminal, bool and 0/1-float dones, "
                         "float32 and float64, next-Q values that require grad, gammas in (0.5, 0.99); a batch of one."))


# ------------------------------------------------------------------------------ dqn_loss
def _alt_dqn_loss(q_values, actions, targets):
    q_sa = q_values[torch.arange(len(actions)), actions]
    return torch.nn.functional.mse_loss(q_sa, targets)


@mistake("dqn_loss/sum", "you summed over the batch; the loss is the mean, so the step size does "
         "not grow with the batch", summary="summed instead of averaged")
def _wrong_loss_sum(q_values, actions, targets):
    q_taken = q_values.gather(1, actions.unsqueeze(1)).squeeze(1)
    return ((q_taken - targets) ** 2).sum()


@mistake("dqn_loss/huber", "this is the Huber (smooth L1) loss; the exercise asks for the mean "
         "squared error", summary="used the Huber loss")
def _wrong_loss_huber(q_values, actions, targets):
    return torch.nn.functional.smooth_l1_loss(q_values.gather(1, actions.unsqueeze(1)).squeeze(1), targets)


@mistake("dqn_loss/max_not_taken", "you used max_a Q(s, a) instead of the Q-value of the action "
         "taken: select each row's value at actions[i]", summary="used max_a Q instead of Q(s, a)")
def _wrong_loss_max_not_taken(q_values, actions, targets):
    return ((q_values.max(dim=1).values - targets) ** 2).mean()


@mistake("dqn_loss/broadcast", "broadcasting: the Q-values of the actions taken have shape (B, 1) "
         "and the targets (B,), so subtracting them broadcasts to a (B, B) matrix (every Q-value "
         "minus every target); both must have shape (B,)",
         summary="(B, 1) - (B,) broadcast to (B, B)")
def _wrong_loss_broadcast(q_values, actions, targets):
    return ((q_values.gather(1, actions.unsqueeze(1)) - targets) ** 2).mean()  # (B, 1) - (B,)


@mistake("dqn_loss/no_square", "the error is not squared: the loss is the mean of (Q(s, a) - y) "
         "** 2", summary="did not square the error")
def _wrong_loss_no_square(q_values, actions, targets):
    return (q_values.gather(1, actions.unsqueeze(1)).squeeze(1) - targets).mean()


@mistake("dqn_loss/abs_error", "this is the mean absolute error; square the error instead: mean "
         "of (Q(s, a) - y) ** 2", summary="used the absolute error")
def _wrong_loss_abs(q_values, actions, targets):
    return (q_values.gather(1, actions.unsqueeze(1)).squeeze(1) - targets).abs().mean()


@mistake("dqn_loss/detached", "no gradient reaches the network: q_values was detached (or rebuilt "
         "with torch.tensor); keep it in the computation", summary="detached q_values")
def _wrong_loss_detached(q_values, actions, targets):
    q_taken = q_values.detach().gather(1, actions.unsqueeze(1)).squeeze(1)
    return ((q_taken - targets) ** 2).mean()


@mistake("dqn_loss/not_a_tensor", "return the loss Tensor itself (no .item(), float() or "
         ".numpy()), so loss.backward() can reach the network", summary="returned a float")
def _wrong_loss_item(q_values, actions, targets):
    q_taken = q_values.gather(1, actions.unsqueeze(1)).squeeze(1)
    return ((q_taken - targets) ** 2).mean().item()


exercise(Exercise("dqn_loss", LESSON, dqn_parts.dqn_loss,
                  alternatives=(_alt_dqn_loss,),
                  admits=("float32", "float64", "batch of one"),
                  inputs="random Q-values (6-40 transitions, 2-4 actions), actions and targets, with one error "
                         "above 1 (so Huber differs from the squared error) and one negative (so |error| differs "
                         "from error); value and gradient; float32 and float64; a batch of one."))


# ------------------------------------------------------------------------------ update_target
def _alt_update_target(target_net, online_net, tau=1.0):
    online = online_net.state_dict()
    target_net.load_state_dict({k: tau * online[k] + (1 - tau) * v
                                for k, v in target_net.state_dict().items()})


@mistake("update_target/local_rebind", "the target did not change: assigning to a loop variable "
         "or a local name (p_targ = ..., target_net = ...) does not change the network; write "
         "into its parameters in place", summary="rebound a local name (no effect)")
def _wrong_update_local_rebind(target_net, online_net, tau=1.0):
    for p_targ, p in zip(target_net.parameters(), online_net.parameters()):
        p_targ = tau * p + (1 - tau) * p_targ


def _each_pair(target_net, online_net, update):
    """update(p_targ, p) in place under torch.no_grad(), for each target parameter and the online one."""
    with torch.no_grad():
        for p_targ, p in zip(target_net.parameters(), online_net.parameters()):
            update(p_targ, p)


@mistake("update_target/changes_online", "the online network changed: only the target moves (the "
         "target comes first: update_target(target_net, online_net, tau))",
         summary="changed the online network")
def _wrong_update_changes_online(target_net, online_net, tau=1.0):
    _each_pair(target_net, online_net, lambda p_targ, p: p.copy_(tau * p + (1 - tau) * p_targ))  # into online


@mistake("update_target/tau_swapped", "tau and 1 - tau are swapped: theta_targ <- tau * theta "
         "+ (1 - tau) * theta_targ, so tau = 1 copies the online network",
         summary="swapped tau and 1 - tau")
def _wrong_update_tau_swapped(target_net, online_net, tau=1.0):
    _each_pair(target_net, online_net, lambda p_targ, p: p_targ.copy_((1 - tau) * p + tau * p_targ))


@mistake("update_target/hard_copy", "tau is ignored: the target became a copy of the online "
         "network although tau < 1; blend the two, theta_targ <- tau * theta + (1 - tau) "
         "* theta_targ", summary="always copied (ignored tau)")
def _wrong_update_hard_copy(target_net, online_net, tau=1.0):
    target_net.load_state_dict(online_net.state_dict())


@mistake("update_target/shares_storage", "after the update the target shares the online network's "
         "tensors (p_targ.data = p.data, or target.weight = online.weight): training the online "
         "network then moves the target too; copy the values into the target's own tensors",
         summary="shared the online network's storage", by_value=False)
def _wrong_update_shares_storage(target_net, online_net, tau=1.0):
    with torch.no_grad():
        for p_targ, p in zip(target_net.parameters(), online_net.parameters()):
            if tau == 1.0:
                p_targ.data = p.data  # a "fast path" without a copy
            else:
                p_targ.lerp_(p, tau)


@mistake("update_target/replaces_parameters", "the target's Parameter objects were replaced by "
         "new ones: update them in place, so an optimizer or any other reference to them stays "
         "valid", summary="replaced the Parameters")
def _wrong_update_replaces_parameters(target_net, online_net, tau=1.0):
    for m_targ, m in zip(target_net.modules(), online_net.modules()):
        if isinstance(m_targ, torch.nn.Linear):
            m_targ.weight = torch.nn.Parameter(tau * m.weight.detach() + (1 - tau) * m_targ.weight.detach())
            m_targ.bias = torch.nn.Parameter(tau * m.bias.detach() + (1 - tau) * m_targ.bias.detach())


@mistake("update_target/no_no_grad", "an in-place update of parameters that require grad must run "
         "under torch.no_grad(): wrap the loop in `with torch.no_grad():`",
         summary="in-place update without torch.no_grad()", by_value=False,
         raises="leaf Variable that requires grad")
def _wrong_update_no_no_grad(target_net, online_net, tau=1.0):
    for p_targ, p in zip(target_net.parameters(), online_net.parameters()):
        p_targ.mul_(1 - tau).add_(tau * p)


exercise(Exercise("update_target", LESSON, dqn_parts.update_target,
                  alternatives=(_alt_update_target,),
                  admits=("soft tau", "default tau", "tau = 1"),
                  inputs="random two-layer networks at tau in (0.6, 0.9) and (0.01, 0.3), the default and 1; "
                         "both networks are observed after the call, and again after the online network is "
                         "changed in place (the target must not follow it)."))
