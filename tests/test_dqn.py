"""The DQN trainer: smoke runs, determinism, what is stored, bad configs, learner-function errors."""

from __future__ import annotations

from functools import partial
from typing import ClassVar

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlcore import dqn_parts
from rlcore.algos.dqn import Config, LearnerFunctionError, NStepWindow, train

SMALL = {"n_envs": 8, "max_env_steps": 3_000, "eval_every": 1_000, "eval_episodes": 5,
         "learning_starts": 500, "eps_duration": 2_000}


def _params(net: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in net.parameters()]


def test_smoke_run_shapes_finiteness_and_loss_moves():
    r = train(Config(seed=0, **SMALL), progress=False)
    assert r.env_steps == [1_000, 2_000, 3_000]
    assert len(r.train_seconds) == len(r.eval_return) == len(r.losses) == 3
    assert all(np.isfinite(r.eval_return)) and all(1 <= x <= 500 for x in r.eval_return)
    assert np.all(np.diff(r.train_seconds) > 0)
    assert all(np.isfinite(r.losses[1:])) and r.losses[1] != r.losses[2]  # updates happened
    assert r.stopped_by == "max_env_steps"
    obs = np.zeros((7, 4), dtype=np.float32)
    assert r.q_net(torch.as_tensor(obs)).shape == (7, 2)
    acts = r.act(obs)
    assert acts.shape == (7,) and set(acts.tolist()) <= {0, 1}
    assert r.act(obs[0]) in (0, 1)  # a single observation gives an int
    assert "Result(CartPole-v1" in repr(r)


def test_agent_is_the_running_average_of_the_online_net():
    r = train(Config(seed=0, **SMALL), progress=False)
    assert not all(torch.equal(a, b) for a, b in zip(_params(r.q_net), _params(r.online_net)))
    plain = train(Config(seed=0, polyak_average=1.0, **SMALL), progress=False)
    assert all(torch.equal(a, b) for a, b in zip(_params(plain.q_net), _params(plain.online_net)))


def test_same_seed_same_run_other_seed_differs():
    a = train(Config(seed=3, **SMALL), progress=False)
    b = train(Config(seed=3, **SMALL), progress=False)
    c = train(Config(seed=4, **SMALL), progress=False)
    assert a.eval_return == b.eval_return and a.losses == b.losses
    assert all(torch.equal(x, y) for x, y in zip(_params(a.q_net), _params(b.q_net)))
    assert not all(torch.equal(x, y) for x, y in zip(_params(a.q_net), _params(c.q_net)))


def test_callback_gets_info_and_can_stop():
    seen = []

    def callback(info):
        seen.append(info)
        return len(seen) == 2

    r = train(Config(seed=0, **SMALL), callback=callback, progress=False)
    assert len(seen) == 2 and r.stopped_by == "callback"
    assert {"env_steps", "train_seconds", "eval_return", "solved", "loss", "epsilon"} <= set(seen[0])


def test_progress_line_is_printed(capsys):
    train(Config(seed=0, max_env_steps=1_000, eval_every=1_000, eval_episodes=2,
                 learning_starts=500), progress=True)
    assert "eval return" in capsys.readouterr().out


# --------------------------------------------------------------------- what gets stored
class _NeverEnds(gym.Env):
    """Reward 1 forever; only the time limit (truncation) ends an episode."""

    observation_space = gym.spaces.Box(-10.0, 10.0, shape=(1,), dtype=np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.array([0.0], dtype=np.float32), {}

    def step(self, action):
        self.t += 1
        return np.array([float(self.t)], dtype=np.float32), 1.0, False, False, {}


def _never_ends_vector(num_envs=1, **kwargs):
    return gym.vector.SyncVectorEnv(
        [partial(gym.wrappers.TimeLimit, _NeverEnds(), 5) for _ in range(num_envs)])


gym.register("rlcore-test/NeverEnds-v0", entry_point=_NeverEnds, max_episode_steps=5,
             vector_entry_point=_never_ends_vector)


class _Recorder(dqn_parts.ReplayBuffer):
    """A reference buffer that also keeps every transition it was given."""

    added: ClassVar[list] = []

    def add(self, obs, actions, rewards, next_obs, dones):
        type(self).added.append((np.array(obs), np.array(rewards), np.array(next_obs), np.array(dones)))
        super().add(obs, actions, rewards, next_obs, dones)


def _stored(**config):
    """Return (obs, rewards, next_obs, dones) of every transition the trainer stored, concatenated."""
    _Recorder.added = []
    train(Config(**config), progress=False, ReplayBuffer=_Recorder,
          check_functions=False)
    rows = _Recorder.added[1:]  # the first add is the trainer's tiny check of the buffer
    return tuple(np.concatenate([row[i] for row in rows]) for i in range(4))


def test_reset_steps_are_not_stored_and_truncation_is_not_done():
    _Recorder.added = []
    train(Config(env_id="rlcore-test/NeverEnds-v0", seed=0, n_envs=3, max_env_steps=600,
                 eval_every=600, eval_episodes=2, learning_starts=100, batch_size=32,
                 reward_scale=0.5, n_step=1),
          progress=False, ReplayBuffer=_Recorder,
          check_functions=False)
    rows = _Recorder.added[1:]  # the first add is the trainer's tiny check of the buffer
    obs = np.concatenate([o for o, _, _, _ in rows])[:, 0]
    next_obs = np.concatenate([n for _, _, n, _ in rows])[:, 0]
    rewards = np.concatenate([r for _, r, _, _ in rows])
    dones = np.concatenate([d for _, _, _, d in rows])
    assert np.all(next_obs == obs + 1)  # never the jump from an episode's end to a new start
    assert np.all(rewards == 0.5)  # reward 1, times reward_scale
    assert not dones.any()  # the time limit is a truncation: s' still bootstraps
    real_per_env = sum(1 for t in range(200) if t % 6 != 5)  # every sixth step is an auto-reset
    assert len(obs) == 3 * real_per_env


def test_terminated_is_stored_as_done():
    _Recorder.added = []
    train(Config(env_id="rlcore/Probe3-v0", seed=0, n_envs=2, max_env_steps=200, eval_every=200,
                 eval_episodes=2, learning_starts=50, batch_size=16, n_step=1), progress=False,
          ReplayBuffer=_Recorder, check_functions=False)
    rows = _Recorder.added[1:]
    obs = np.concatenate([o for o, _, _, _ in rows])[:, 0]
    dones = np.concatenate([d for _, _, _, d in rows]).astype(bool)
    assert np.array_equal(dones, obs == 1.0)  # probe 3 terminates after its second step


# --------------------------------------------------------------------- n-step targets
def test_n_step_transitions_sum_n_rewards_and_skip_the_truncated_tail():
    gamma, n = 0.9, 3
    obs, rewards, next_obs, dones = _stored(
        env_id="rlcore-test/NeverEnds-v0", seed=0, n_envs=3, max_env_steps=600, eval_every=600,
        eval_episodes=2, learning_starts=100, batch_size=32, reward_scale=0.5, gamma=gamma, n_step=n)
    obs, next_obs = obs[:, 0], next_obs[:, 0]
    assert np.all(next_obs == obs + n)  # s_{t+n}: n steps later, never across an episode boundary
    assert np.allclose(rewards, 0.5 * (1 + gamma + gamma**2))  # R^(n) of reward 1, scaled
    assert not dones.any()  # truncation still bootstraps
    assert set(obs.tolist()) == {0.0, 1.0, 2.0}  # starts 3 and 4 have no s_{t+3} before the limit (5)
    episodes_per_env = 200 // 6  # 5 real steps and 1 auto-reset step each; the 34th is 2 steps old
    assert len(obs) == 3 * episodes_per_env * 3


def test_n_step_at_termination_stores_the_shorter_sums_as_done():
    gamma = 0.9
    obs, rewards, _, dones = _stored(
        env_id="rlcore/Probe3-v0", seed=0, n_envs=2, max_env_steps=200, eval_every=200,
        eval_episodes=2, learning_starts=50, batch_size=16, gamma=gamma, reward_scale=1.0, n_step=3)
    obs = obs[:, 0]
    assert dones.all()  # both starts of the two-step episode see its end within 3 steps
    assert np.allclose(rewards[obs == 0.0], gamma * 1.0)  # r_0 + gamma r_1 = 0 + gamma
    assert np.allclose(rewards[obs == 1.0], 1.0)
    assert (obs == 0.0).sum() == (obs == 1.0).sum() > 0


def test_targets_discount_by_gamma_to_the_n():
    seen = []

    def dqn_targets(rewards, next_q_target, dones, gamma):
        seen.append(gamma)
        return dqn_parts.dqn_targets(rewards, next_q_target, dones, gamma)

    train(Config(gamma=0.95, n_step=4, **SMALL), progress=False, dqn_targets=dqn_targets,
          check_functions=False)
    assert seen[0] == 0.9 and len(seen) > 1  # the trainer's tiny check uses gamma 0.9
    assert all(g == pytest.approx(0.95**4) for g in seen[1:])


def _reference_n_step(n, gamma, obs, actions, rewards, terminated, truncated):
    """Brute force: every n-step transition of every env, from whole recorded episodes."""
    out = []
    n_steps, n_envs = rewards.shape
    for i in range(n_envs):
        episode, real = [], True
        for t in range(n_steps):
            if not real:  # the auto-reset step after an episode ended
                real = True
                continue
            episode.append(t)
            end = terminated[t, i] or truncated[t, i]
            last = t == n_steps - 1
            if end or last:
                for k, t0 in enumerate(episode):
                    window = episode[k:k + n]
                    if len(window) < n and not (terminated[t, i] and window[-1] == t):
                        continue  # no s_{t+n} yet (cut by truncation or by the end of the data)
                    ret = sum(gamma**j * rewards[s, i] for j, s in enumerate(window))
                    out.append((float(obs[t0, i, 0]), int(actions[t0, i]), round(float(ret), 4),
                                float(obs[window[-1], i, 0] + 0.5), bool(terminated[window[-1], i])))
                episode, real = [], not end
    return sorted(out)


@pytest.mark.parametrize("seed", range(6))
def test_n_step_window_matches_a_brute_force_reference(seed):
    rng = np.random.default_rng(seed)
    n, n_envs, n_steps, gamma = int(rng.integers(1, 5)), 3, 60, float(rng.uniform(0.5, 1.0))
    obs = rng.normal(size=(n_steps, n_envs, 1)).astype(np.float32)
    actions = rng.integers(0, 2, size=(n_steps, n_envs))
    rewards = rng.normal(size=(n_steps, n_envs)).astype(np.float32)
    ends = rng.random((n_steps, n_envs))
    terminated, truncated = ends < 0.12, (ends >= 0.12) & (ends < 0.18)
    window = NStepWindow(n, n_envs, (1,), gamma)
    was_done, got = np.zeros(n_envs, dtype=bool), []
    for t in range(n_steps):
        real = ~was_done
        for batch in window.push(real, obs[t], actions[t], rewards[t], obs[t] + 0.5,
                                 terminated[t], truncated[t]):
            o, a, r, o2, d = batch
            got += [(float(o[k, 0]), int(a[k]), round(float(r[k]), 4), float(o2[k, 0]), bool(d[k]))
                    for k in range(len(r))]
        was_done = real & (terminated[t] | truncated[t])
    assert sorted(got) == _reference_n_step(n, gamma, obs, actions, rewards, terminated, truncated)


# --------------------------------------------------------------------- bad input
@pytest.mark.parametrize("field,value", [
    ("n_envs", 0), ("batch_size", -1), ("buffer_size", 0), ("gamma", 1.5), ("tau", -0.1),
    ("lr", 0.0), ("eps_end", 2.0), ("env_id", "NoSuchEnv-v9"), ("hidden_sizes", ()),
    ("max_seconds", -1.0), ("learning_starts", -5), ("reward_scale", 0.0), ("polyak_average", 1.5),
])
def test_bad_config_names_the_field(field, value):
    with pytest.raises(ValueError, match=f"Config.{field}"):
        train(Config(**{field: value}), progress=False)


def test_batch_larger_than_buffer_and_continuous_actions_are_refused():
    with pytest.raises(ValueError, match="Config.batch_size"):
        train(Config(batch_size=64, buffer_size=32), progress=False)
    with pytest.raises(ValueError, match="Config.env_id: 'Pendulum-v1' has actions Box.*needs Discrete"):
        train(Config(env_id="Pendulum-v1"), progress=False)
    with pytest.raises(TypeError, match="Config"):
        train({"seed": 0}, progress=False)


def test_learner_function_that_raises_is_named_before_training():
    def dqn_loss(q_values, actions, targets):
        raise RuntimeError("my bug")

    with pytest.raises(LearnerFunctionError, match=r"your dqn_loss does not pass its check") as err:
        train(Config(**SMALL), progress=False, dqn_loss=dqn_loss)
    assert "raised RuntimeError: my bug" in str(err.value)  # the visible check's own message
    with pytest.raises(LearnerFunctionError, match=r"your dqn_loss raised RuntimeError: my bug") as err:
        train(Config(**SMALL), progress=False, dqn_loss=dqn_loss, check_functions=False)
    assert "dqn_loss(Tensor(" in str(err.value)


def test_learner_function_that_raises_during_training_is_named():
    def dqn_targets(rewards, next_q_target, dones, gamma):
        if len(rewards) > 5:  # passes the trainer's tiny check, fails on real minibatches
            raise IndexError("late bug")
        return dqn_parts.dqn_targets(rewards, next_q_target, dones, gamma)

    with pytest.raises(LearnerFunctionError, match="dqn_targets") as err:
        train(Config(**SMALL), progress=False, dqn_targets=dqn_targets, check_functions=False)
    assert "late bug" in str(err.value) and "IndexError" in str(err.value)


@pytest.mark.parametrize("name,fn,words", [
    ("epsilon_greedy", lambda q, eps, rng: np.zeros(1, dtype=np.int64), "epsilon_greedy returned shape"),
    ("dqn_targets", lambda r, q, d, g: q, "dqn_targets returned"),
    ("dqn_loss", lambda q, a, y: (q.gather(1, a[:, None]) - y).pow(2).sum(1), "dqn_loss returned"),
    ("linear_schedule", lambda s, e, d, t: s, "linear_schedule returned"),
    ("update_target", lambda t, o, tau=1.0: None, "update_target with tau=1.0"),
])
def test_learner_function_with_wrong_output_is_named(name, fn, words):
    with pytest.raises(LearnerFunctionError, match=f"your {name} does not pass its check"):
        train(Config(**SMALL), progress=False, **{name: fn})
    with pytest.raises(LearnerFunctionError, match=words):  # the trainer's own validation
        train(Config(**SMALL), progress=False, **{name: fn}, check_functions=False)


def test_learner_buffer_with_wrong_sample_is_named():
    class Buffer(dqn_parts.ReplayBuffer):
        def sample(self, batch_size):
            b = super().sample(batch_size)
            return b._replace(rewards=b.rewards[:, None])

    with pytest.raises(LearnerFunctionError, match=r"ReplayBuffer.sample returned .rewards of shape"):
        train(Config(**SMALL), progress=False, ReplayBuffer=Buffer, check_functions=False)


def test_config_shows_every_field_with_its_reason_in_a_notebook():
    import dataclasses

    from rlcore.algos import pg
    from rlcore.algos.common import config_reasons

    for cls in (Config, pg.Config):
        reasons = config_reasons(cls)
        names = [f.name for f in dataclasses.fields(cls)]
        assert set(names) == set(reasons) and all(len(reasons[n]) > 10 for n in names), cls
        html = cls()._repr_html_()
        assert html.count("<tr>") == len(names) + 1  # a header and one row per field
        assert "<code>n_envs</code>" in html and reasons["n_envs"] in html
