"""Lesson 06: the notebook runs, checks are kind, hidden tests pass correct code and catch mistakes."""

from __future__ import annotations

import textwrap

import gradelib
import numpy as np
import pytest
import torch

from autograder.hidden import Mistake, run_hidden
from rlcore import dqn_parts
from rlcore.check import CheckFailed
from rlcore.check import lesson06 as checks

A = "06-dqn"
NAMES = ["ReplayBuffer", "linear_schedule", "epsilon_greedy", "dqn_targets", "dqn_loss", "update_target"]

# Correct implementations in other styles than the reference (must earn full marks).
ALTERNATIVES = {
    "ReplayBuffer": """
class ReplayBuffer:
    def __init__(self, capacity, obs_shape, seed=None):
        from collections import deque
        self.data = deque(maxlen=capacity)
        self.rng = np.random.default_rng(seed)

    def add(self, obs, actions, rewards, next_obs, dones):
        for row in zip(obs, actions, rewards, next_obs, dones):
            self.data.append(row)

    def sample(self, batch_size):
        if not self.data:
            raise ValueError("empty")
        rows = [self.data[i] for i in self.rng.choice(len(self.data), size=batch_size)]
        o, a, r, o2, d = zip(*rows)
        return Batch(torch.tensor(np.array(o), dtype=torch.float32), torch.tensor(np.array(a), dtype=torch.int64),
                     torch.tensor(np.array(r), dtype=torch.float32), torch.tensor(np.array(o2), dtype=torch.float32),
                     torch.tensor(np.array(d), dtype=torch.float32))

    def __len__(self):
        return len(self.data)
""",
    "linear_schedule": """
def linear_schedule(start, end, duration, t):
    return float(np.interp(t, [0, duration], [start, end]))
""",
    "epsilon_greedy": """
def epsilon_greedy(q_values, epsilon, rng):
    q = np.asarray(q_values)
    actions = []
    for row in q:
        if rng.random() < epsilon:
            actions.append(rng.integers(len(row)))
        else:
            actions.append(int(np.argmax(row)))
    return np.array(actions, dtype=np.int64)
""",
    "dqn_targets": """
def dqn_targets(rewards, next_q_target, dones, gamma):
    not_done = (~dones.bool()).float()
    return (rewards + gamma * not_done * next_q_target.detach().max(1)[0])
""",
    "dqn_loss": """
def dqn_loss(q_values, actions, targets):
    q_sa = q_values[torch.arange(len(actions)), actions]
    return torch.nn.functional.mse_loss(q_sa, targets)
""",
    "update_target": """
def update_target(target_net, online_net, tau=1.0):
    online = online_net.state_dict()
    target_net.load_state_dict({k: tau * online[k] + (1 - tau) * v for k, v in target_net.state_dict().items()})
""",
}

_BUFFER = """
class ReplayBuffer:
    def __init__(self, capacity, obs_shape, seed=None):
        shape = (obs_shape,) if isinstance(obs_shape, int) else tuple(obs_shape)
        self.capacity, self.pos, self.size = capacity, 0, 0
        self.obs = np.zeros((capacity, *shape), np.float32)
        self.next_obs = np.zeros((capacity, *shape), np.float32)
        self.actions = np.zeros(capacity, np.int64)
        self.rewards = np.zeros(capacity, np.float32)
        self.dones = np.zeros(capacity, np.float32)
        self.rng = np.random.default_rng(seed)

    def add(self, obs, actions, rewards, next_obs, dones):
{ADD}

    def sample(self, batch_size):
        if self.size == 0:
            raise ValueError("empty")
        {SAMPLE}
        return Batch(torch.from_numpy(self.obs[idx]), torch.from_numpy(self.actions[{IDX_A}]),
                     torch.from_numpy(self.rewards[{IDX_R}]), torch.from_numpy(self.next_obs[idx]),
                     torch.from_numpy(self.dones[idx]))

    def __len__(self):
        return self.size
"""
# add() one row at a time ({WRITE} picks the slot j), or whole batches as slices ({NO_ROOM}
# handles a batch that does not fit at the end)
_ROWWISE_ADD = """\
        for i in range(len(actions)):
            {WRITE}
            self.obs[j], self.actions[j], self.rewards[j] = obs[i], actions[i], rewards[i]
            self.next_obs[j], self.dones[j] = next_obs[i], dones[i]"""
_SLICED_ADD = """\
        n = len(actions)
        if self.pos + n > self.capacity:
            {NO_ROOM}
        s = slice(self.pos, self.pos + n)
        self.obs[s], self.actions[s], self.rewards[s] = obs, actions, rewards
        self.next_obs[s], self.dones[s] = next_obs, dones
        self.pos = (self.pos + n) % self.capacity
        self.size = min(self.size + n, self.capacity)"""
_WRAP = "j = self.pos; self.pos = (self.pos + 1) % self.capacity; self.size = min(self.size + 1, self.capacity)"
_RANDOM = "idx = self.rng.integers(0, self.size, size=batch_size)"


def _buffer(write: str = _WRAP, sample: str = _RANDOM, idx_a: str = "idx", idx_r: str = "idx",
            no_room: str | None = None) -> str:
    """The reference-like buffer with one piece replaced (a mutant); no_room: use the sliced add."""
    add = _ROWWISE_ADD.replace("{WRITE}", write) if no_room is None else _SLICED_ADD.replace("{NO_ROOM}", no_room)
    return (_BUFFER.replace("{ADD}", add).replace("{SAMPLE}", sample)
            .replace("{IDX_A}", idx_a).replace("{IDX_R}", idx_r))


# Realistic mistakes: at least three per exercise, each must fail the hidden tests.
MUTANTS = {
    "ReplayBuffer": [
        # when full, keeps overwriting the newest slot instead of wrapping to the oldest
        _buffer(write="j = min(self.pos, self.capacity - 1); self.pos += 1; "
                      "self.size = min(self.size + 1, self.capacity)"),
        # samples every slot, including the never-filled zeros
        _buffer(sample="idx = self.rng.integers(0, self.capacity, size=batch_size)"),
        # samples without replacement
        _buffer(sample="idx = self.rng.choice(self.size, size=batch_size, replace=False)"),
        # ignores the seed
        _buffer(sample="idx = np.random.randint(0, self.size, size=batch_size)"),
        # draws different indices for the rewards: rows no longer belong together
        _buffer(sample="idx = self.rng.integers(0, self.size, size=batch_size); "
                       "idx2 = self.rng.integers(0, self.size, size=batch_size)", idx_r="idx2"),
        # no wrap-around at all: IndexError once full
        _buffer(write="j = self.pos; self.pos += 1; self.size = min(self.size + 1, self.capacity)"),
        # a new generator from the seed on every call: the same indices every time
        _buffer(sample="idx = np.random.default_rng(0).integers(0, self.size, size=batch_size)"),
        # samples only the 32 most recent transitions
        _buffer(sample="idx = (self.pos - 1 - self.rng.integers(0, min(self.size, 32), size=batch_size)) "
                       "% self.capacity"),
        # samples up to the write position: after wrapping, only the slots written since
        _buffer(sample="idx = self.rng.integers(0, self.pos if self.pos else self.size, size=batch_size)"),
        # writes whole batches as slices and restarts at slot 0 when a batch does not fit
        _buffer(no_room="self.pos = 0"),
    ],
    "linear_schedule": [
        "def linear_schedule(start, end, duration, t):\n    return start + (end - start) * t / duration",
        "def linear_schedule(start, end, duration, t):\n    return end + (start - end) * min(t / duration, 1.0)",
        "def linear_schedule(start, end, duration, t):\n    return start + (end - start) * min(t // duration, 1)",
    ],
    "epsilon_greedy": [
        textwrap.dedent("""
        def epsilon_greedy(q_values, epsilon, rng):
            q = np.asarray(q_values)
            explore = rng.random(len(q)) > epsilon
            return np.where(explore, rng.integers(0, q.shape[1], size=len(q)), q.argmax(1)).astype(np.int64)
        """),
        textwrap.dedent("""
        def epsilon_greedy(q_values, epsilon, rng):
            q = np.asarray(q_values)
            greedy = q.argmax(1)
            other = (greedy + rng.integers(1, q.shape[1], size=len(q))) % q.shape[1]
            return np.where(rng.random(len(q)) < epsilon, other, greedy).astype(np.int64)
        """),
        textwrap.dedent("""
        def epsilon_greedy(q_values, epsilon, rng):
            q = np.asarray(q_values)
            if rng.random() < epsilon:
                return rng.integers(0, q.shape[1], size=len(q))
            return q.argmax(1)
        """),
        textwrap.dedent("""
        def epsilon_greedy(q_values, epsilon, rng):
            q = np.asarray(q_values)
            explore = np.random.random(len(q)) < epsilon
            return np.where(explore, np.random.randint(0, q.shape[1], size=len(q)), q.argmax(1))
        """),
        textwrap.dedent("""
        def epsilon_greedy(q_values, epsilon, rng):
            own = np.random.default_rng(0)  # a generator of its own: the same draws every call
            q = np.asarray(q_values)
            explore = own.random(len(q)) < epsilon
            return np.where(explore, own.integers(0, q.shape[1], size=len(q)), q.argmax(1)).astype(np.int64)
        """),
        textwrap.dedent("""
        def epsilon_greedy(q_values, epsilon, rng):
            q = np.asarray(q_values)
            explore = rng.random(len(q)) < epsilon  # the last action is never explored
            return np.where(explore, rng.integers(0, q.shape[1] - 1, size=len(q)), q.argmax(1)).astype(np.int64)
        """),
    ],
    "dqn_targets": [
        textwrap.dedent("""
        def dqn_targets(rewards, next_q_target, dones, gamma):
            with torch.no_grad():
                return rewards + gamma * next_q_target.max(1).values
        """),
        textwrap.dedent("""
        def dqn_targets(rewards, next_q_target, dones, gamma):
            return rewards + gamma * (1 - dones.float()) * next_q_target.max(1).values
        """),
        textwrap.dedent("""
        def dqn_targets(rewards, next_q_target, dones, gamma):
            with torch.no_grad():
                return rewards + gamma * (1 - dones.float()) * next_q_target.argmax(1)
        """),
        textwrap.dedent("""
        def dqn_targets(rewards, next_q_target, dones, gamma):
            with torch.no_grad():
                return rewards + gamma * (1 - dones) * next_q_target.max(1).values
        """),
    ],
    "dqn_loss": [
        textwrap.dedent("""
        def dqn_loss(q_values, actions, targets):
            return ((q_values.gather(1, actions[:, None]).squeeze(1) - targets) ** 2).sum()
        """),
        textwrap.dedent("""
        def dqn_loss(q_values, actions, targets):
            q_sa = q_values.gather(1, actions[:, None]).squeeze(1)
            return torch.nn.functional.smooth_l1_loss(q_sa, targets)
        """),
        textwrap.dedent("""
        def dqn_loss(q_values, actions, targets):
            return ((q_values.max(1).values - targets) ** 2).mean()
        """),
        textwrap.dedent("""
        def dqn_loss(q_values, actions, targets):
            return ((q_values.gather(1, actions[:, None]) - targets) ** 2).mean()
        """),
    ],
    "update_target": [
        textwrap.dedent("""
        def update_target(target_net, online_net, tau=1.0):
            with torch.no_grad():
                for pt, p in zip(target_net.parameters(), online_net.parameters()):
                    pt.copy_((1 - tau) * p + tau * pt)
        """),
        textwrap.dedent("""
        def update_target(target_net, online_net, tau=1.0):
            for pt, p in zip(target_net.parameters(), online_net.parameters()):
                pt = tau * p + (1 - tau) * pt
        """),
        textwrap.dedent("""
        def update_target(target_net, online_net, tau=1.0):
            target_net.load_state_dict(online_net.state_dict())
        """),
        textwrap.dedent("""
        def update_target(target_net, online_net, tau=1.0):
            for mt, mo in zip(target_net.modules(), online_net.modules()):
                if isinstance(mt, torch.nn.Linear):
                    mt.weight = torch.nn.Parameter(tau * mo.weight.detach() + (1 - tau) * mt.weight.detach())
                    mt.bias = torch.nn.Parameter(tau * mo.bias.detach() + (1 - tau) * mt.bias.detach())
        """),
    ],
}

NS = {"np": np, "torch": torch, "Batch": dqn_parts.Batch}


def _define(source: str, name: str):
    ns = dict(NS)
    exec(source, ns)  # noqa: S102 - test-only: the mutants and alternatives above
    return ns[name]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hidden_tests_pass_reference(name, seed):
    run_hidden(name, getattr(dqn_parts, name), seed=seed, verbose=False)


@pytest.mark.parametrize("name", NAMES)
def test_hidden_tests_pass_alternative_style(name):
    for seed in range(3):
        run_hidden(name, _define(ALTERNATIVES[name], name), seed=seed, verbose=False)


@pytest.mark.parametrize("name,index", [(n, i) for n in NAMES for i in range(len(MUTANTS[n]))])
def test_hidden_tests_catch_mutant_with_named_message(name, index):
    fn = _define(MUTANTS[name][index], name)
    for seed in range(3):  # every seed must catch it, not just a lucky one
        with pytest.raises(Mistake) as err:
            run_hidden(name, fn, seed=seed, verbose=False)
        assert name in str(err.value)


@pytest.mark.parametrize("name", NAMES)
def test_visible_checks_pass_reference_and_fail_mutant(name, capsys):
    check = getattr(checks, f"check_{name}")
    check(getattr(dqn_parts, name))
    assert "\u2713" in capsys.readouterr().out
    for source in MUTANTS[name]:
        with pytest.raises(CheckFailed) as err:
            check(_define(source, name))
        text = str(err.value)
        assert ("expected" in text and "hint" in text) or "raised" in text


def test_visible_check_explains_unwritten_exercise(capsys):
    class ReplayBuffer:
        def __init__(self, capacity, obs_shape, seed=None):
            raise NotImplementedError()

    with pytest.raises(CheckFailed, match="not written yet"):
        checks.check_ReplayBuffer(ReplayBuffer)
    assert "NotImplementedError" in capsys.readouterr().out


@pytest.mark.slow
def test_solutions_notebook_executes():
    nb = gradelib.execute(gradelib.solutions_path(A))
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    text = "".join(str(o.get("text", "")) + str(o.get("data", {}).get("text/plain", ""))
                   for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "all 5 probes passed" in text
    assert "solved in" in text  # the CartPole run with the learner's parts solved
    html = "".join(str(o.get("data", {}).get("text/html", "")) for c in nb.cells
                   if c.cell_type == "code" for o in c.outputs)
    assert "<script" in html and "Animation" in html  # the episode animation rendered


@pytest.mark.slow
def test_released_lesson_fails_checks_kindly():
    from nbclient.exceptions import CellExecutionError

    with pytest.raises(CellExecutionError) as err:
        gradelib.execute(gradelib.lesson_path(A))
    assert err.value.ename == "CheckFailed" and "not written yet" in err.value.evalue


@pytest.mark.slow
def test_grades_filled_in_full_and_released_zero(tmp_path):
    full = gradelib.grade(gradelib.filled_in(A, tmp_path / "full"))
    assert full["score"] == full["max_score"] > 0, full
    assert all(t["status"] == "passed" for t in full["tests"])
    empty = gradelib.grade(gradelib.lesson_path(A))
    assert empty["score"] == 0
    assert len(empty["tests"]) == len(NAMES)
    assert all(t["status"] == "error" and "not written yet" in t["message"] for t in empty["tests"])


@pytest.mark.slow
def test_grades_alternatives_full_marks(tmp_path):
    result = gradelib.grade(gradelib.with_answers(A, ALTERNATIVES, tmpdir=tmp_path))
    assert result["score"] == result["max_score"], result


@pytest.mark.slow
@pytest.mark.parametrize("index", range(3))
def test_grades_mutants_below_full(index, tmp_path):
    answers = {name: MUTANTS[name][index] for name in NAMES}
    result = gradelib.grade(gradelib.with_answers(A, answers, tmpdir=tmp_path))
    by_name = {t["name"]: t for t in result["tests"]}
    for name in NAMES:
        t = by_name[f"test_{name}"]
        assert t["status"] in ("failed", "error") and t["score"] == 0, (name, t)
        assert t["message"]
