"""rlcore.algos.pg, rlcore.pg_math and rlcore.live: smoke runs, determinism, masking, errors."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch

from rlcore import batch_reward_to_go
from rlcore.algos import pg
from rlcore.algos.pg import Config, LearnerFunctionError, train
from rlcore.live import LiveCurve
from rlcore.pg_math import normalize, pg_loss


def small(**kw) -> Config:
    """A config for smoke runs: 2 updates of 8 envs x 32 steps, cheap evaluations."""
    base = dict(n_envs=8, steps_per_env=32, max_env_steps=400, eval_every=200, eval_episodes=3,
                hidden_sizes=(16,), seed=0)
    base.update(kw)
    return Config(**base)


# ------------------------------------------------------------------ reference math
def test_pg_loss_is_minus_mean_of_weighted_logp_and_has_the_policy_gradient():
    logp = torch.tensor([-0.5, -1.0, -2.0], requires_grad=True)
    w = torch.tensor([1.0, -2.0, 4.0])
    loss = pg_loss(logp, w)
    assert loss.shape == () and loss.item() == pytest.approx(-(-0.5 - (-2.0) * 1.0 + (-8.0)) / 3)
    loss.backward()
    assert torch.allclose(logp.grad, -w / 3)  # d/d logp_i of -mean(logp * w) = -w_i / N


def test_pg_loss_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="weights"):
        pg_loss(torch.zeros(3), torch.zeros(4))


def test_normalize_population_std_tensor_and_array():
    x = [1.0, 2.0, 3.0, 6.0]
    out = normalize(np.array(x))
    assert out.dtype == np.float64 and out.mean() == pytest.approx(0, abs=1e-12)
    assert out.std() == pytest.approx(1, rel=1e-6)  # ddof=0
    t = normalize(torch.tensor(x, dtype=torch.float32))
    assert isinstance(t, torch.Tensor) and t.dtype == torch.float32
    assert np.allclose(t.numpy(), out, atol=1e-6)
    assert np.allclose(normalize(np.full(5, 3.0)), 0.0)  # constant input: 0 / (0 + eps)


def test_sample_categorical_matches_softmax_and_is_reproducible():
    logits = torch.tensor([[0.0, math.log(3.0)]]).repeat(20_000, 1)
    a = pg.sample_categorical(logits, torch.Generator().manual_seed(0))
    assert a.shape == (20_000,) and set(a.unique().tolist()) <= {0, 1}
    assert a.float().mean().item() == pytest.approx(0.75, abs=0.01)
    b = pg.sample_categorical(logits, torch.Generator().manual_seed(0))
    assert torch.equal(a, b)


def test_whole_return_weights_give_each_step_its_episode_return():
    # env 0: episode of 2 steps (ends t=1), reset step t=2, new episode t=3..4 (cut by the batch)
    rewards = np.array([[1.0], [1.0], [0.0], [1.0], [1.0]])
    dones = np.array([[False], [True], [False], [False], [False]])
    valid = np.array([[True], [True], [False], [True], [True]])
    rtg = batch_reward_to_go(rewards, dones)
    w = pg._whole_return_weights(rtg, valid)
    assert w[[0, 1, 3, 4], 0].tolist() == [2.0, 2.0, 2.0, 2.0]


# ------------------------------------------------------------------ training smoke runs
def test_smoke_run_shapes_finiteness_and_learning_signal():
    res = train(small(), progress=False)
    assert len(res.env_steps) == len(res.train_seconds) == len(res.eval_return) >= 1
    assert all(np.isfinite(res.losses)) and len(res.losses) == 2
    assert res.losses[0] != res.losses[1]
    assert all(0 <= r <= 500 for r in res.eval_return)
    assert res.env_steps == sorted(res.env_steps) and res.stopped_by == "max_env_steps"
    acts = res.act(np.zeros((5, 4), dtype=np.float32))
    assert acts.shape == (5,) and acts.dtype == np.int64
    assert isinstance(res.act(np.zeros(4)), int)


def test_parameters_move_and_policy_improves_over_a_short_run():
    res = train(small(n_envs=16, steps_per_env=64, max_env_steps=20_000, eval_every=5_000,
                      eval_episodes=5, lr=0.02, hidden_sizes=(32,)), progress=False)
    assert np.isfinite(res.train_return).all()
    # a random policy lasts ~22 steps; a few updates of PG already do better
    assert max(res.train_return) > 1.5 * res.train_return[0] or res.solved


def test_same_seed_same_run_and_other_seed_differs():
    a = train(small(seed=3), progress=False)
    b = train(small(seed=3), progress=False)
    c = train(small(seed=4), progress=False)
    assert a.losses == b.losses and a.eval_return == b.eval_return and a.env_steps == b.env_steps
    for pa, pb in zip(a.policy.parameters(), b.policy.parameters()):
        assert torch.equal(pa, pb)
    assert a.losses != c.losses


def test_reset_steps_are_masked_out_of_the_batch():
    """Gymnasium's next-step autoreset: the step after a done is not a transition."""
    seen_dones, batch_sizes = [], []

    def rtg(rewards, dones, gamma=1.0):
        seen_dones.append(np.array(dones, dtype=bool))
        return batch_reward_to_go(rewards, dones, gamma)

    def norm(x, eps=1e-8):
        batch_sizes.append(len(x))
        return normalize(x, eps)

    res = train(small(max_env_steps=1_000), progress=False, batch_reward_to_go=rtg, normalize=norm,
                check_functions=False)  # no visible checks first: every call is a training batch
    prev_last = np.zeros(8, dtype=bool)
    total = 0
    for dones, n in zip(seen_dones, batch_sizes, strict=True):
        reset_steps = prev_last.sum() + dones[:-1].sum()  # each done makes the next step a reset
        assert n == dones.size - reset_steps
        prev_last = dones[-1]
        total += n
    assert sum(d.sum() for d in seen_dones) > 0  # episodes did end, so masking was exercised
    assert res.env_steps[-1] == total


def test_callback_gets_info_and_can_stop_training():
    infos = []

    def cb(info):
        infos.append(info)
        return True

    res = train(small(max_env_steps=10_000), callback=cb, progress=False)
    assert len(infos) == 1 and res.stopped_by == "callback"
    for key in ("env_steps", "train_seconds", "eval_return", "train_return", "loss", "solved"):
        assert key in infos[0]
    assert infos[0]["env_steps"] == res.env_steps[0]


def test_max_seconds_caps_training():
    res = train(small(max_env_steps=10**9, max_seconds=0.05, eval_every=10**8), progress=False)
    assert res.stopped_by == "max_seconds" and not res.solved


def test_simplest_pg_without_normalization_runs():
    res = train(small(use_reward_to_go=False, normalize_advantages=False), progress=False)
    assert np.isfinite(res.losses).all()


def test_progress_in_a_terminal_writes_one_status_line():
    buf = io.StringIO()
    live = LiveCurve(target=475, notebook=False, stream=buf)
    res = train(small(), callback=live, progress=False)
    live.close()
    text = buf.getvalue()
    assert text.count("\r") == len(res.eval_return) and text.endswith("\n")
    assert "eval return" in text and "target 475" in text


# ------------------------------------------------------------------ bad configurations
@pytest.mark.parametrize("field,value", [
    ("n_envs", 0), ("steps_per_env", -1), ("max_env_steps", 0), ("eval_every", 0),
    ("eval_episodes", 0), ("gamma", 1.5), ("gamma", -0.1), ("lr", 0.0), ("lr", float("nan")),
    ("hidden_sizes", (0,)), ("hidden_sizes", 32), ("max_seconds", -1.0), ("threads", 0),
])
def test_bad_config_names_the_field(field, value):
    with pytest.raises((ValueError, TypeError), match=field):
        train(small(**{field: value}), progress=False)


def test_unknown_env_id_names_the_field():
    with pytest.raises(ValueError, match="env_id.*NoSuchEnv"):
        train(small(env_id="NoSuchEnv-v0"), progress=False)


def test_continuous_action_env_is_refused():
    with pytest.raises(ValueError, match="env_id.*Discrete"):
        train(small(env_id="Pendulum-v1"), progress=False)


# ------------------------------------------------------------------ learner functions
def test_learner_function_that_fails_its_check_stops_before_training_with_its_message():
    def pg_loss_broken(logp, weights):
        return -(logp * weights.unsqueeze(1)).mean(dim=2)

    with pytest.raises(LearnerFunctionError) as err:
        train(small(), progress=False, pg_loss=pg_loss_broken)
    text = str(err.value)
    assert text.startswith("\u2717 your pg_loss does not pass its check yet")
    assert "raised IndexError" in text and "pg_loss(tensor(" in text  # the visible check's own words
    assert err.value.function == "pg_loss"


@pytest.mark.parametrize("bad,message", [
    (lambda logp, w: -(logp * w), "scalar"),
    (lambda logp, w: -(logp.detach() * w).mean(), "no gradient"),
    (lambda logp, w: float(-(logp * w).mean().detach()), "not a Tensor"),
])
def test_pg_loss_wrong_outputs_are_explained(bad, message):
    # caught by the visible check before training...
    with pytest.raises(LearnerFunctionError, match="pg_loss does not pass its check"):
        train(small(), progress=False, pg_loss=bad)
    # ...and, without it, by the trainer's own validation of what came back
    with pytest.raises(LearnerFunctionError, match=f"(?s)pg_loss.*{message}.*during training"):
        train(small(), progress=False, pg_loss=bad, check_functions=False)


def test_wrong_shapes_of_normalize_and_reward_to_go_are_named():
    with pytest.raises(LearnerFunctionError, match=r"normalize returned shape \(1,\)"):
        train(small(), progress=False, normalize=lambda x, eps=1e-8: x.mean().reshape(1),
              check_functions=False)
    with pytest.raises(LearnerFunctionError, match=r"batch_reward_to_go returned shape \(8,\)"):
        train(small(), progress=False, batch_reward_to_go=lambda r, d, gamma=1.0: np.sum(r, 0),
              check_functions=False)


def test_error_during_training_names_the_call_and_update():
    calls = []

    def flaky(rewards, dones, gamma=1.0):
        calls.append(1)
        if len(calls) == 2:  # update 1 works, update 2 fails
            raise ZeroDivisionError("oops")
        return batch_reward_to_go(rewards, dones, gamma)

    with pytest.raises(LearnerFunctionError) as err:
        train(small(), progress=False, batch_reward_to_go=flaky, check_functions=False)
    text = str(err.value)
    assert "batch_reward_to_go raised ZeroDivisionError: oops" in text
    assert "update 2" in text and "array(32, 8)" in text
    assert isinstance(err.value.__cause__, ZeroDivisionError)


def test_wrong_sign_of_pg_loss_stops_early_and_names_it():
    """A loss that passes no check but trains (the sign flipped) stops at patience_steps, not the budget."""
    from rlcore.algos._plumbing import NotLearning

    with pytest.raises(NotLearning) as err:
        train(small(max_env_steps=1_000_000, eval_every=2_000, patience_steps=20_000, n_envs=16,
                    steps_per_env=64, eval_episodes=5),
              progress=False, pg_loss=lambda logp, w: (logp * w).mean(), check_functions=False)
    text = str(err.value)
    assert "your pg_loss made no progress" in text and "re-check pg_loss" in text
    steps = int(text.split("after ")[1].split(" env steps")[0].replace(",", ""))
    assert 20_000 <= steps < 25_000  # stopped at the first evaluation past patience_steps


def test_one_step_rollouts_survive_batches_of_reset_steps_only():
    res = train(small(n_envs=1, steps_per_env=1, max_env_steps=300, eval_every=150,
                      eval_episodes=1), progress=False)
    assert res.env_steps[-1] >= 300 and np.isfinite(res.losses).all()


def test_live_curve_notebook_mode_updates_one_figure_in_place(capsys):
    live = LiveCurve(target=475, notebook=True, redraw_every=0.0)
    for k, ret in enumerate([20.0, 80.0, 490.0]):
        live({"env_steps": 2000 * (k + 1), "train_seconds": 0.1 * (k + 1), "eval_return": ret})
    live.close()
    x, y = live._line.get_data()
    assert list(x) == [2000, 4000, 6000] and list(y) == [20.0, 80.0, 490.0]
    assert len(live._fig.axes) == 1  # one figure, redrawn, not one per evaluation
    assert "eval return  490.0" in live.status() and "best  490.0" in live.status()
