"""Pendulum-v1 benchmark: time-to-solve of rlcore's continuous-control trainers against Stable-Baselines3.

Protocol (the same for every method):
- Pendulum-v1; "solved" when the greedy policy's mean return over 10 evaluation episodes
  on Gymnasium's own env (``rlcore.algos.common.evaluate``, the same call for every method)
  is >= -200;
- evaluate every 1,000 environment steps (off-policy methods, lesson 09) or 2,000 (PPO,
  lesson 08: each of its updates takes a whole batch of steps);
- time-to-solve = wall clock from the start of training to the solving evaluation,
  excluding evaluation time (and set-up: env and network construction);
- 5 seeds per method, each run in its own subprocess (clean memory, its peak RSS measured);
- a cap of training seconds per method (``METHODS``), else unsolved: an unsolved run
  counts at its cap in the medians and the ratios;
- every method uses 1 torch thread.
Runs are interleaved (seed 0 of every method, then seed 1, ...) so that load from other
processes hits every method alike: compare methods by their ratios within one run.

``METHODS`` is a table keyed by method name (runner, cap, requirement): other trainers on
Pendulum (lesson 08's PPO) add a row, and ``merge_previous`` keeps rows of methods not rerun.

Usage:  python bench/pendulum.py [--methods rlcore-sac,sb3-sac] [--seeds 5]
Writes bench/results/pendulum.json, pendulum.png, pendulum.md and the README table
between ``<!-- bench-pendulum:start -->`` and ``<!-- bench-pendulum:end -->``.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import _common
from bench._common import Recorder, missing_module, sb3_callback

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
ENV_ID = "Pendulum-v1"
TARGET = -200.0
EVAL_EVERY = 1_000
EVAL_EVERY_ON_POLICY = 2_000  # PPO (lesson 08)
EVAL_EPISODES = 10
MARK_START, MARK_END = "<!-- bench-pendulum:start -->", "<!-- bench-pendulum:end -->"

# The RL Baselines3 Zoo's tuned Pendulum-v1 hyperparameters (rl-baselines3-zoo/hyperparams/
# sac.yml and td3.yml, "Pendulum-v1"); everything not listed is SB3's default. TD3's
# gradient_steps=-1 with train_freq=(1, "episode"): after each 200-step episode, 200 updates.
ZOO_SAC = dict(n_timesteps=20_000, learning_rate=1e-3)
ZOO_TD3 = dict(n_timesteps=20_000, gamma=0.98, buffer_size=200_000, learning_starts=10_000,
               noise_std=0.1, gradient_steps=-1, train_freq=(1, "episode"), learning_rate=1e-3,
               net_arch=[400, 300])

# rl-baselines3-zoo/hyperparams/ppo.yml, "Pendulum-v1" (tuned): 4 envs, 1e5 steps, generalized
# state-dependent exploration (gSDE) resampled every 4 steps.
ZOO_PPO = dict(n_envs=4, n_timesteps=100_000, n_steps=1024, gae_lambda=0.95, gamma=0.9, n_epochs=10,
               ent_coef=0.0, learning_rate=1e-3, clip_range=0.2, use_sde=True, sde_sample_freq=4)





# ----------------------------------------------------------------------------- methods
def run_rlcore(module_name: str, seed: int, cap: float, every: int = EVAL_EVERY, **changes: Any) -> Recorder:
    """Train rlcore's ``module_name`` trainer (its defaults) with the benchmark's protocol settings."""
    import importlib

    mod = importlib.import_module(module_name)
    fields = set(mod.Config.__dataclass_fields__)
    settings = dict(env_id=ENV_ID, seed=seed, max_seconds=cap, max_env_steps=10**9, eval_every=every,
                    eval_episodes=EVAL_EPISODES, target_return=TARGET, threads=1)
    config = mod.Config(**{k: v for k, v in settings.items() if k in fields}, **changes)
    rec = Recorder(TARGET)
    mod.train(config, callback=rec, progress=False)
    return rec


def run_rlcore_ppo(seed: int, cap: float) -> Recorder:
    """rlcore's PPO with its Gaussian policy, ``preset("ppo", "Pendulum-v1")``."""
    from rlcore.algos import ppo

    config = ppo.preset("ppo", ENV_ID, seed=seed, max_seconds=cap, max_env_steps=10**9,
                        eval_every=EVAL_EVERY_ON_POLICY, eval_episodes=EVAL_EPISODES, target_return=TARGET,
                        stop_on_solve=True, threads=1, patience_steps=10**9)
    rec = Recorder(TARGET)
    ppo.train(config, callback=rec, progress=False)
    return rec


def _sb3_callback(rec: Recorder, cap: float, every: int = EVAL_EVERY) -> Any:
    """The SB3 callback of the protocol on Pendulum-v1 (``_common.sb3_callback``)."""
    return sb3_callback(rec, cap, ENV_ID, every, EVAL_EPISODES)


def run_sb3_sac(seed: int, cap: float) -> Recorder:
    """Stable-Baselines3 SAC with the RL Zoo's Pendulum-v1 hyperparameters."""
    from stable_baselines3 import SAC

    z = ZOO_SAC
    model = SAC("MlpPolicy", ENV_ID, learning_rate=z["learning_rate"], seed=seed, device="cpu", verbose=0)
    rec = Recorder(TARGET)
    model.learn(total_timesteps=z["n_timesteps"], callback=_sb3_callback(rec, cap))
    return rec


def run_sb3_td3(seed: int, cap: float) -> Recorder:
    """Stable-Baselines3 TD3 with the RL Zoo's Pendulum-v1 hyperparameters."""
    import numpy as np
    from stable_baselines3 import TD3
    from stable_baselines3.common.noise import NormalActionNoise

    z = ZOO_TD3
    noise = NormalActionNoise(mean=np.zeros(1), sigma=z["noise_std"] * np.ones(1))
    model = TD3("MlpPolicy", ENV_ID, gamma=z["gamma"], buffer_size=z["buffer_size"],
                learning_starts=z["learning_starts"], action_noise=noise, gradient_steps=z["gradient_steps"],
                train_freq=z["train_freq"], learning_rate=z["learning_rate"],
                policy_kwargs=dict(net_arch=z["net_arch"]), seed=seed, device="cpu", verbose=0)
    rec = Recorder(TARGET)
    model.learn(total_timesteps=z["n_timesteps"], callback=_sb3_callback(rec, cap))
    return rec


def run_sb3_ppo(seed: int, cap: float) -> Recorder:
    """Stable-Baselines3 PPO with the RL Zoo's tuned Pendulum-v1 hyperparameters."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    z = ZOO_PPO
    env = make_vec_env(ENV_ID, n_envs=z["n_envs"], seed=seed)
    model = PPO("MlpPolicy", env, n_steps=z["n_steps"], gae_lambda=z["gae_lambda"], gamma=z["gamma"],
                n_epochs=z["n_epochs"], ent_coef=z["ent_coef"], learning_rate=z["learning_rate"],
                clip_range=z["clip_range"], use_sde=z["use_sde"], sde_sample_freq=z["sde_sample_freq"],
                seed=seed, device="cpu", verbose=0)
    rec = Recorder(TARGET)
    model.learn(total_timesteps=z["n_timesteps"], callback=_sb3_callback(rec, cap, EVAL_EVERY_ON_POLICY))
    return rec


# name -> (runner(seed, cap) -> Recorder, training cap in seconds, required module)
METHODS: dict[str, tuple[Callable[[int, float], Recorder], float, str]] = {
    "rlcore-td3": (lambda s, c: run_rlcore("rlcore.algos.td3", s, c), 300.0, "rlcore.algos.td3"),
    "rlcore-sac": (lambda s, c: run_rlcore("rlcore.algos.sac", s, c), 300.0, "rlcore.algos.sac"),
    "rlcore-ddpg": (lambda s, c: run_rlcore("rlcore.algos.td3", s, c, clipped_double_q=False, policy_delay=1,
                                            target_policy_smoothing=False), 300.0, "rlcore.algos.td3"),
    "rlcore-ppo": (run_rlcore_ppo, 300.0, "rlcore.algos.ppo"),
    "sb3-td3": (run_sb3_td3, 1200.0, "stable_baselines3"),
    "sb3-sac": (run_sb3_sac, 1200.0, "stable_baselines3"),
    "sb3-ppo": (run_sb3_ppo, 1200.0, "stable_baselines3"),
}
# the SB3 row each rlcore row is compared with (ratio of median time-to-solve)
PEERS = {"rlcore-td3": "sb3-td3", "rlcore-sac": "sb3-sac", "rlcore-ddpg": "sb3-td3", "rlcore-ppo": "sb3-ppo"}


def missing_requirement(method: str) -> str | None:
    """Return why ``method`` cannot run here (a missing module), or None when it can."""
    return missing_module(METHODS[method][2])


def env_floor(n_envs: int = 16, seconds: float = 1.0) -> float:
    """Steps per second of rlcore's vector Pendulum alone (random actions): the physical floor."""
    import numpy as np

    from rlcore.pendulum import VectorPendulum

    actions = np.random.default_rng(0).uniform(-2, 2, size=(256, n_envs, 1)).astype(np.float32)
    return _common.env_floor(VectorPendulum(num_envs=n_envs), actions, seconds)


def run_one(method: str, seed: int) -> dict:
    """Run one (method, seed) in this process and return its record (with peak memory)."""
    from rlcore.algos.common import set_threads

    set_threads(1)
    runner, cap, _ = METHODS[method]
    start = time.perf_counter()
    rec = runner(seed, cap).record(method, seed)
    rec["wall_seconds"] = round(time.perf_counter() - start, 2)
    rec["cap_s"] = cap
    rec["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return rec


def run_in_subprocess(method: str, seed: int) -> dict:
    """Run one (method, seed) in a fresh interpreter; its last stdout line is the record."""
    return _common.run_in_subprocess(__file__, method, seed, cap_s=METHODS[method][1])


# ----------------------------------------------------------------------------- reports
def seconds_or_cap(r: dict) -> float:
    """Time-to-solve, or the cap for an unsolved run (how the ratios count it)."""
    return r["time_to_solve_s"] if r["solved"] else float(r.get("cap_s") or METHODS[r["method"]][1])


def summarize(records: list[dict], methods: list[str]) -> list[dict]:
    """Return one row per method: seeds solved, median/min/max time-to-solve, env steps, memory, ratio."""
    rows = []
    for m in methods:
        recs = [r for r in records if r["method"] == m]
        times = [seconds_or_cap(r) for r in recs]
        steps = [r["env_steps"] for r in recs if r["solved"]]
        mem = [r["peak_rss_mib"] for r in recs if "peak_rss_mib" in r]
        rows.append({"method": m, "runs": len(recs), "solved": sum(bool(r["solved"]) for r in recs),
                     "median_s": statistics.median(times) if times else None,
                     "min_s": min(times) if times else None, "max_s": max(times) if times else None,
                     "median_steps": int(statistics.median(steps)) if steps else None,
                     "peak_mib": max(mem) if mem else None})
    return _common.add_speedups(rows, PEERS)


def table_markdown(rows: list[dict], notes: list[str], when: str) -> str:
    """Return the README table (markdown) for the summary rows."""
    f = lambda x: "-" if x is None else f"{x:.2f}"
    lines = [f"Pendulum-v1, time-to-solve in seconds of training (evaluation excluded), {when}.", "",
             "| method | seeds solved | median s | min s | max s | median env steps | faster than SB3 | peak memory MiB |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        steps = "-" if r["median_steps"] is None else f"{r['median_steps']:,}"
        mem = "-" if r["peak_mib"] is None else f"{r['peak_mib']:.0f}"
        ratio = _common.speedup_cell(r)
        lines.append(f"| `{r['method']}` | {r['solved']}/{r['runs']} | {f(r['median_s'])} | {f(r['min_s'])} | "
                     f"{f(r['max_s'])} | {steps} | {ratio} | {mem} |")
    lines += ["", ("Solved: greedy mean return >= -200 over 10 episodes of Gymnasium's Pendulum-v1, "
                   "evaluated every 1,000 env steps (PPO: 2,000); an unsolved run counts at its cap, 300 s (rlcore) / 1,200 s (SB3), generous for a shared machine; runs interleaved, "
                   "one torch thread each. Regenerate with `make bench-pendulum` (`bench/pendulum.py`).")]
    return _common.with_notes(lines, notes)


def plot(records: list[dict], methods: list[str], path: Path) -> None:
    """Evaluation return against training seconds, one colour per method, every seed."""
    plt = _common.pyplot()

    fig, ax = plt.subplots(figsize=(8, 4.5))
    _common.plot_return_curves(ax, records, methods, TARGET, ENV_ID, EVAL_EPISODES)
    _common.save(fig, path)


def merge_previous(path: Path, records: list[dict], methods_run: list[str]) -> list[dict]:
    """Return ``records`` plus the earlier results of methods not run this time (rows of other trainers too)."""
    return _common.merge_previous(path, records, methods_run, list(METHODS))


def per_update_ms(repeats: int = 3, steps: int = 100) -> dict[str, float]:
    """Milliseconds per gradient step of each trainer, interleaved in this process (one thread).

    A load-robust companion to time-to-solve: on a shared machine the ratio of these, times
    the ratio of updates to solve, predicts the time-to-solve ratio. Median over ``repeats``.
    """
    import numpy as np
    import torch
    from stable_baselines3 import SAC, TD3

    from rlcore import continuous
    from rlcore.algos import _offpolicy, sac, td3

    torch.set_num_threads(1)
    low, high = np.array([-2.0], np.float32), np.array([2.0], np.float32)
    store = _offpolicy.ReplayStore(10_000, 3, 1)
    rng = np.random.default_rng(0)
    store.add(rng.normal(size=(5_000, 3)).astype(np.float32), rng.uniform(-2, 2, (5_000, 1)).astype(np.float32),
              rng.normal(size=5_000).astype(np.float32), rng.normal(size=(5_000, 3)).astype(np.float32),
              np.zeros(5_000, np.float32))
    parts = {n: getattr(continuous, n) for n in continuous.__all__}
    agents = {"rlcore-sac": sac.Agent(sac.Config(), 3, low, high, None, parts, []),
              "rlcore-td3": td3.Agent(td3.Config(), 3, low, high, None, parts, [])}
    z = ZOO_TD3
    models = {"sb3-sac": SAC("MlpPolicy", ENV_ID, learning_rate=ZOO_SAC["learning_rate"], learning_starts=300,
                             seed=0, device="cpu"),
              "sb3-td3": TD3("MlpPolicy", ENV_ID, gamma=z["gamma"], learning_starts=300, seed=0, device="cpu",
                             learning_rate=z["learning_rate"], policy_kwargs=dict(net_arch=z["net_arch"]))}
    for m in models.values():
        m.learn(total_timesteps=400)  # fills the buffer, builds the logger
    times: dict[str, list[float]] = {k: [] for k in (*agents, *models)}
    state = _offpolicy.LoopState()
    for _ in range(repeats):
        for name, agent in agents.items():
            t = time.perf_counter()
            for _ in range(steps):
                agent.update(store.sample(agent.cfg.batch_size), state)
                state.updates += 1
            times[name].append((time.perf_counter() - t) / steps * 1e3)
        for name, model in models.items():
            t = time.perf_counter()
            model.train(gradient_steps=steps, batch_size=model.batch_size)
            times[name].append((time.perf_counter() - t) / steps * 1e3)
    return {k: round(statistics.median(v), 3) for k, v in times.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset of " + ", ".join(METHODS))
    p.add_argument("--seeds", type=int, default=5, help="seeds per method (0, 1, ...)")
    p.add_argument("--out", type=Path, default=RESULTS, help="folder for JSON, PNG and table")
    p.add_argument("--readme", default=str(ROOT / "README.md"),
                   help="README to update between the bench markers ('' to skip)")
    p.add_argument("--one", nargs=2, metavar=("METHOD", "SEED"), help=argparse.SUPPRESS)
    p.add_argument("--per-update", action="store_true",
                   help="only measure milliseconds per gradient step of every trainer (interleaved)")
    a = p.parse_args(argv)
    if a.per_update:
        ms = per_update_ms()
        print(json.dumps(ms))
        a.out.mkdir(parents=True, exist_ok=True)
        (a.out / "pendulum-per-update.json").write_text(json.dumps(
            {"date": time.strftime("%Y-%m-%d %H:%M"), "ms_per_gradient_step": ms}, indent=1) + "\n")
        return 0
    if a.one:
        print(json.dumps(run_one(a.one[0], int(a.one[1]))))
        return 0
    if a.seeds < 1:
        p.error("--seeds must be >= 1")
    runnable, notes = _common.choose_methods(p, a.methods, METHODS, missing_requirement)
    records = _common.run_interleaved(runnable, dict.fromkeys(runnable, a.seeds), run_in_subprocess)
    a.out.mkdir(parents=True, exist_ok=True)
    records = merge_previous(a.out / "pendulum.json", records, runnable)
    shown = list(dict.fromkeys(r["method"] for r in records))
    (a.out / "pendulum.json").write_text(json.dumps(records, indent=1) + "\n")
    plot(records, shown, a.out / "pendulum.png")
    when = _common.run_description(f"{a.seeds} seeds", shown, runnable)
    notes.append(_common.fastest_run_note(records, env_floor(), "rlcore's VectorPendulum, 16 envs"))
    table = table_markdown(summarize(records, shown), notes, when)
    (a.out / "pendulum.md").write_text(table + "\n")
    if a.readme:
        _common.update_readme(Path(a.readme), table, (MARK_START, MARK_END),
                              "### Continuous control: Pendulum-v1")
    print("\n" + table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
