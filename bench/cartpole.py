"""CartPole-v1 benchmark: time-to-solve of rlcore's trainers against Stable-Baselines3.

Protocol (the same for every method):
- CartPole-v1; "solved" when the greedy policy's mean return over 20 evaluation
  episodes (``rlcore.algos.common.evaluate``, the same call for every method) is >= 475;
- evaluate every 2,000 environment steps;
- time-to-solve = wall clock from the start of training to the solving evaluation,
  excluding evaluation time (and excluding set-up: env and network construction);
- 20 seeds of every rlcore method and 5 of every SB3 peer, each run in its own subprocess
  (clean memory, its peak RSS measured; one seed's time-to-solve is one run's time);
- reported as distributions: solved fraction, median, IQM with its 95 % bootstrap interval,
  90th percentile and max time-to-solve (``rlcore.stats``);
- a cap of 60 s (policy gradient, PPO, A2C) / 120 s (DQN) of training, else unsolved;
- DQN runs go on for 5 evaluations after solving: ``post_solve_mean`` says whether the
  policy stays solved.
- every method uses 1 torch thread (measured: on this 2-core machine a second thread
  makes these small networks slower, for rlcore and SB3 alike).
Runs are interleaved (seed 0 of every method, then seed 1, ...) so that load from other
processes hits every method alike.

Usage:  python bench/cartpole.py [--methods rlcore-pg,sb3-ppo] [--seeds 20] [--sb3-seeds 5]
Writes bench/results/cartpole.json, cartpole.png, cartpole.md and the README table
between ``<!-- bench:start -->`` and ``<!-- bench:end -->``.
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
TARGET = 475.0
EVAL_EVERY = 2_000
EVAL_EPISODES = 20
POST_SOLVE_EVALS = 5
MARK_START, MARK_END = "<!-- bench:start -->", "<!-- bench:end -->"

# The RL Baselines3 Zoo's tuned CartPole-v1 hyperparameters, copied from
# rl-baselines3-zoo/hyperparams/ppo.yml and dqn.yml ("CartPole-v1" entries); "lin_x" there
# means a linear decay from x to 0 over n_timesteps, reproduced here by passing
# n_timesteps as total_timesteps (so a run that exhausts the Zoo's budget is unsolved).
ZOO_PPO = dict(n_envs=8, n_timesteps=100_000, n_steps=32, batch_size=256, gae_lambda=0.8,
               gamma=0.98, n_epochs=20, ent_coef=0.0, learning_rate="lin_0.001",
               clip_range="lin_0.2")
# rl-baselines3-zoo/hyperparams/a2c.yml "CartPole-v1": 8 envs, 5e5 steps, ent_coef 0, everything
# else SB3's A2C defaults (n_steps 5, RMSprop lr 7e-4, gamma 0.99, gae_lambda 1, vf_coef 0.5).
ZOO_A2C = dict(n_envs=8, n_timesteps=500_000, ent_coef=0.0)
ZOO_DQN = dict(n_timesteps=50_000, learning_rate=2.3e-3, batch_size=64, buffer_size=100_000,
               learning_starts=1_000, gamma=0.99, target_update_interval=10, train_freq=256,
               gradient_steps=128, exploration_fraction=0.16, exploration_final_eps=0.04,
               net_arch=[256, 256])




# ----------------------------------------------------------------------------- methods
def run_rlcore(module_name: str, seed: int, cap: float, post: int, preset: str | None = None) -> Recorder:
    """Train rlcore's ``module_name`` trainer with the benchmark's protocol settings.

    preset: a tuned preset of the module (``rlcore.algos.ppo.preset(preset, "CartPole-v1")``,
    e.g. "a2c"); None uses the module's default ``Config``.
    """
    import importlib

    mod = importlib.import_module(module_name)
    fields = set(mod.Config.__dataclass_fields__)
    settings = dict(seed=seed, max_seconds=cap, max_env_steps=10**9, eval_every=EVAL_EVERY,
                    eval_episodes=EVAL_EPISODES, target_return=TARGET, stop_on_solve=post == 0,
                    threads=1)
    settings = {k: v for k, v in settings.items() if k in fields}
    config = mod.preset(preset, "CartPole-v1", **settings) if preset else mod.Config(**settings)
    rec = Recorder(TARGET, post_solve_evals=post)
    mod.train(config, callback=rec, progress=False)
    return rec


def _sb3_callback(rec: Recorder, cap: float) -> Any:
    """The SB3 callback of the protocol on CartPole-v1 (``_common.sb3_callback``)."""
    return sb3_callback(rec, cap, "CartPole-v1", EVAL_EVERY, EVAL_EPISODES)


def _zoo_linear(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("lin_"):
        start = float(value[4:])
        return lambda progress_remaining: progress_remaining * start
    return value


def run_sb3_ppo(seed: int, cap: float, post: int) -> Recorder:
    """Stable-Baselines3 PPO with the RL Zoo's CartPole-v1 hyperparameters."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    z = ZOO_PPO
    env = make_vec_env("CartPole-v1", n_envs=z["n_envs"], seed=seed)
    model = PPO("MlpPolicy", env, n_steps=z["n_steps"], batch_size=z["batch_size"],
                gae_lambda=z["gae_lambda"], gamma=z["gamma"], n_epochs=z["n_epochs"],
                ent_coef=z["ent_coef"], learning_rate=_zoo_linear(z["learning_rate"]),
                clip_range=_zoo_linear(z["clip_range"]), seed=seed, device="cpu", verbose=0)
    rec = Recorder(TARGET, post_solve_evals=post)
    model.learn(total_timesteps=z["n_timesteps"], callback=_sb3_callback(rec, cap))
    return rec


def run_sb3_a2c(seed: int, cap: float, post: int) -> Recorder:
    """Stable-Baselines3 A2C with the RL Zoo's CartPole-v1 hyperparameters (8 envs, SB3 defaults)."""
    from stable_baselines3 import A2C
    from stable_baselines3.common.env_util import make_vec_env

    z = ZOO_A2C
    env = make_vec_env("CartPole-v1", n_envs=z["n_envs"], seed=seed)
    model = A2C("MlpPolicy", env, ent_coef=z["ent_coef"], seed=seed, device="cpu", verbose=0)
    rec = Recorder(TARGET, post_solve_evals=post)
    model.learn(total_timesteps=z["n_timesteps"], callback=_sb3_callback(rec, cap))
    return rec


def run_sb3_dqn(seed: int, cap: float, post: int) -> Recorder:
    """Stable-Baselines3 DQN with the RL Zoo's CartPole-v1 hyperparameters."""
    from stable_baselines3 import DQN

    z = ZOO_DQN
    model = DQN("MlpPolicy", "CartPole-v1", learning_rate=z["learning_rate"],
                batch_size=z["batch_size"], buffer_size=z["buffer_size"],
                learning_starts=z["learning_starts"], gamma=z["gamma"],
                target_update_interval=z["target_update_interval"], train_freq=z["train_freq"],
                gradient_steps=z["gradient_steps"], exploration_fraction=z["exploration_fraction"],
                exploration_final_eps=z["exploration_final_eps"],
                policy_kwargs=dict(net_arch=z["net_arch"]), seed=seed, device="cpu", verbose=0)
    rec = Recorder(TARGET, post_solve_evals=post)
    model.learn(total_timesteps=z["n_timesteps"], callback=_sb3_callback(rec, cap))
    return rec


# name -> (runner, training cap in seconds, evaluations to run after solving, requirement)
PEERS = {"rlcore-ppo": "sb3-ppo", "rlcore-a2c": "sb3-a2c", "rlcore-dqn": "sb3-dqn"}  # REINFORCE has none

METHODS: dict[str, tuple[Callable[..., Recorder], float, int, str]] = {
    "rlcore-pg": (lambda s, c, p: run_rlcore("rlcore.algos.pg", s, c, p), 60.0, 0,
                  "rlcore.algos.pg"),
    "rlcore-dqn": (lambda s, c, p: run_rlcore("rlcore.algos.dqn", s, c, p), 120.0,
                   POST_SOLVE_EVALS, "rlcore.algos.dqn"),
    "rlcore-ppo": (lambda s, c, p: run_rlcore("rlcore.algos.ppo", s, c, p), 60.0, 0,
                   "rlcore.algos.ppo"),
    "rlcore-a2c": (lambda s, c, p: run_rlcore("rlcore.algos.ppo", s, c, p, preset="a2c"), 60.0, 0,
                   "rlcore.algos.ppo"),
    "sb3-ppo": (run_sb3_ppo, 60.0, 0, "stable_baselines3"),
    "sb3-a2c": (run_sb3_a2c, 60.0, 0, "stable_baselines3"),
    "sb3-dqn": (run_sb3_dqn, 120.0, POST_SOLVE_EVALS, "stable_baselines3"),
}


def missing_requirement(method: str) -> str | None:
    """Return why ``method`` cannot run here (a missing module), or None when it can."""
    return missing_module(METHODS[method][3])


def env_floor(n_envs: int = 16, seconds: float = 1.0) -> float:
    """Steps per second of Gymnasium's vector CartPole alone (random actions): the physical floor."""
    import gymnasium as gym
    import numpy as np

    envs = gym.make_vec("CartPole-v1", num_envs=n_envs, vectorization_mode="vector_entry_point")
    actions = np.random.default_rng(0).integers(0, 2, size=(256, n_envs))
    return _common.env_floor(envs, actions, seconds)


def run_one(method: str, seed: int) -> dict:
    """Run one (method, seed) in this process and return its record (with peak memory)."""
    from rlcore.algos.common import set_threads

    set_threads(1)
    runner, cap, post, _ = METHODS[method]
    start = time.perf_counter()
    rec = runner(seed, cap, post).record(method, seed)
    rec["wall_seconds"] = round(time.perf_counter() - start, 2)
    rec["cap_s"] = cap
    rec["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return rec


def run_in_subprocess(method: str, seed: int) -> dict:
    """Run one (method, seed) in a fresh interpreter; its last stdout line is the record."""
    return _common.run_in_subprocess(__file__, method, seed)


# ----------------------------------------------------------------------------- reports
def summarize(records: list[dict], methods: list[str]) -> list[dict]:
    """Return one row per method: the distribution of time-to-solve over its seeds, and memory.

    An unsolved seed counts as an infinite time (``rlcore.stats.summarize_times``): the IQM
    trims it while fewer than a quarter of the seeds are unsolved; a statistic it reaches is
    None (shown as "> cap"). iqm_s, iqm_low, iqm_high: the interquartile mean and its 95 %
    stratified bootstrap interval; p90_s: the 90th percentile.
    """
    from rlcore.stats import summarize_times

    rows = []
    for m in methods:
        recs = [r for r in records if r["method"] == m]
        times = [r["time_to_solve_s"] for r in recs if r["solved"]]
        post = [r["post_solve_mean"] for r in recs if r.get("post_solve_mean") is not None]
        mem = [r["peak_rss_mib"] for r in recs if "peak_rss_mib" in r]
        steps = [r["env_steps"] for r in recs if r["solved"]]
        dist = summarize_times([r["time_to_solve_s"] if r["solved"] else None for r in recs]) \
            if recs else {}
        rows.append({
            "method": m, "runs": len(recs), "solved": len(times),
            "solved_fraction": dist.get("solved_fraction"),
            "median_s": dist.get("median"), "iqm_s": dist.get("iqm"),
            "iqm_low": dist.get("iqm_low"), "iqm_high": dist.get("iqm_high"),
            "p90_s": dist.get("p90"), "max_s": dist.get("max"),
            "min_s": min(times) if times else None,
            "median_steps": int(statistics.median(steps)) if steps else None,
            "stays_solved": (sum(p >= 450 for p in post), len(post)) if post else None,
            "peak_mib": max(mem) if mem else None,
        })
    return _common.add_speedups(rows, PEERS)


def table_markdown(rows: list[dict], notes: list[str], when: str) -> str:
    """Return the README table (markdown) for the summary rows."""
    f = lambda x: "> cap" if x is None else f"{x:.2f}"  # None: an unsolved seed reached it
    lines = [
        f"CartPole-v1, time-to-solve in seconds of training (evaluation excluded), {when}.",
        "",
        "| method | seeds solved | median s | IQM s [95% CI] | p90 s | max s | median env steps "
        "| stays solved (DQN) | faster than SB3 | peak memory MiB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        stays = "-" if r["stays_solved"] is None else f"{r['stays_solved'][0]}/{r['stays_solved'][1]}"
        steps = "-" if r["median_steps"] is None else f"{r['median_steps']:,}"
        mem = "-" if r["peak_mib"] is None else f"{r['peak_mib']:.0f}"
        iqm = "-" if not r["runs"] else f"{f(r['iqm_s'])} [{f(r['iqm_low'])}, {f(r['iqm_high'])}]"
        lines.append(f"| `{r['method']}` | {r['solved']}/{r['runs']} | {f(r['median_s'])} | {iqm} | "
                     f"{f(r['p90_s'])} | {f(r['max_s'])} | {steps} | {stays} | {_common.speedup_cell(r)} | {mem} |")
    lines += ["", ("Solved: greedy mean return >= 475 over 20 episodes, evaluated every 2,000 env "
                   "steps; caps 60 s (PG, PPO, A2C) / 120 s (DQN), an unsolved seed counts as an infinite "
                   "time (\"> cap\" where it decides a statistic); IQM: mean of the middle half of "
                   "the seeds, with its 95% bootstrap interval (`rlcore.stats`); stays solved: mean "
                   "of the next 5 evaluations >= 450. Regenerate with `make bench` "
                   "(`bench/cartpole.py`).")]
    return _common.with_notes(lines, notes)


def update_readme(readme: Path, table: str) -> None:
    """Replace the text between the bench markers (or append a Benchmark section)."""
    _common.update_readme(readme, table, (MARK_START, MARK_END), "## Benchmark")


def plot(records: list[dict], methods: list[str], path: Path) -> None:
    """Left: fraction of seeds solved within t seconds, with its 95 % bootstrap band (the
    distribution of time-to-solve); right: every seed's evaluation return against training time."""
    plt = _common.pyplot()
    import numpy as np

    from rlcore.stats import performance_profile

    fig, (ax0, ax) = plt.subplots(1, 2, figsize=(12, 4.5))
    all_times = [r["time_to_solve_s"] for r in records if r.get("solved")]
    lo_t = max(min(all_times, default=0.05) / 2, 1e-3)
    grid = np.geomspace(lo_t, 130.0, 200)
    for k, m in enumerate(methods):
        recs = [r for r in records if r["method"] == m]
        times = [r["time_to_solve_s"] if r.get("solved") else np.inf for r in recs]
        if times:
            frac, lo, hi = performance_profile(times, grid, higher_is_better=False)
            ax0.step(grid, frac, where="post", color=f"C{k}", label=f"{m} ({len(times)} seeds)")
            ax0.fill_between(grid, lo, hi, step="post", color=f"C{k}", alpha=0.2, lw=0)
    ax0.set_xscale("log")
    ax0.set_xlabel("training wall-clock seconds (log scale)")
    ax0.set_ylabel("fraction of seeds solved")
    ax0.set_ylim(0, 1.02)
    ax0.set_title("Seeds solved within t, 95% bootstrap band")
    ax0.legend(loc="upper left", fontsize=8)
    _common.plot_return_curves(ax, records, methods, TARGET, "CartPole-v1", EVAL_EPISODES, thin=True)
    _common.save(fig, path)


def merge_previous(path: Path, records: list[dict], methods_run: list[str]) -> list[dict]:
    """Return ``records`` plus the earlier results of methods not run this time.

    ``make bench METHODS=rlcore-dqn`` thus refreshes DQN's rows and keeps the others.
    """
    return _common.merge_previous(path, records, methods_run, list(METHODS), keep_unknown=False)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset of "
                   + ", ".join(METHODS))
    p.add_argument("--seeds", type=int, default=20, help="seeds per rlcore method (0, 1, ...)")
    p.add_argument("--sb3-seeds", type=int, default=5, help="seeds per Stable-Baselines3 method")
    p.add_argument("--out", type=Path, default=RESULTS, help="folder for JSON, PNG and table")
    p.add_argument("--readme", default=str(ROOT / "README.md"),
                   help="README to update between the bench markers ('' to skip)")
    p.add_argument("--one", nargs=2, metavar=("METHOD", "SEED"), help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.one:
        print(json.dumps(run_one(a.one[0], int(a.one[1]))))
        return 0

    if a.seeds < 1 or a.sb3_seeds < 1:
        p.error("--seeds and --sb3-seeds must be >= 1")
    runnable, notes = _common.choose_methods(p, a.methods, METHODS, missing_requirement)
    n_seeds = {m: a.sb3_seeds if m.startswith("sb3-") else a.seeds for m in METHODS}
    records = _common.run_interleaved(runnable, n_seeds, run_in_subprocess)

    a.out.mkdir(parents=True, exist_ok=True)
    records = merge_previous(a.out / "cartpole.json", records, runnable)
    shown = [m for m in METHODS if any(r["method"] == m for r in records)]
    (a.out / "cartpole.json").write_text(json.dumps(records, indent=1) + "\n")
    plot(records, shown, a.out / "cartpole.png")
    counts = sorted({n_seeds[m] for m in runnable})
    when = _common.run_description(f"{' / '.join(map(str, counts)) or a.seeds} seeds (rlcore {a.seeds}, "
                                   f"SB3 {a.sb3_seeds})", shown, runnable)
    notes.append(_common.fastest_run_note(records, env_floor(), "Gymnasium's CartPoleVectorEnv, 16 envs"))
    table = table_markdown(summarize(records, shown), notes, when)
    (a.out / "cartpole.md").write_text(table + "\n")
    if a.readme:
        update_readme(Path(a.readme), table)
    print("\n" + table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
