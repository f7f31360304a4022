"""Many seeds of one rlcore trainer under the benchmark protocol: the distribution, not one run.

Each seed runs in a worker process of a pool (``--jobs``, 1 torch thread each) with the
protocol of ``bench/cartpole.py`` (greedy evaluation of 20 episodes every 2,000 env steps,
solved at a mean return >= 475, then ``--post`` more evaluations to see whether it stays
solved). A run stops at ``--max-steps`` env steps (a cap in steps, not seconds, so that a
loaded machine does not change which seeds count as solved).

Prints steps-to-solve and time-to-solve statistics (solved fraction, median, IQM with its
95 % bootstrap interval, p90, max, p90 / median) and how many seeds stay solved, and writes
every seed's curve (eval return, loss, the diagnostics the trainer logs) to ``--out``.

Usage:
    python bench/seeds.py --method dqn --seeds 50 --jobs 2 [--set lr=1e-3 --set n_step=1]
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rlcore.stats import summarize_times

TARGET, EVAL_EVERY, EVAL_EPISODES = 475.0, 2_000, 20


def run_seed(args: tuple[str, int, dict, int, int]) -> dict:
    """Train one seed and return its record (solve, post-solve evaluations, the whole curve)."""
    method, seed, overrides, max_steps, post = args
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    mod = importlib.import_module(f"rlcore.algos.{method}")
    fields = set(mod.Config.__dataclass_fields__)
    settings = dict(seed=seed, max_env_steps=max_steps, eval_every=EVAL_EVERY,
                    eval_episodes=EVAL_EPISODES, target_return=TARGET, threads=1,
                    stop_on_solve=True, evals_after_solve=post, patience_steps=10**9)
    settings.update(overrides)
    config = mod.Config(**{k: v for k, v in settings.items() if k in fields})
    start = time.perf_counter()
    try:
        r = mod.train(config, progress=False)
    except Exception as e:  # noqa: BLE001 - a crash is a result too
        return dict(seed=seed, solved=False, error=f"{type(e).__name__}: {e}")
    after = r.post_solve_returns[:post]
    return dict(
        seed=seed, solved=r.solved, steps=r.solved_at_steps, seconds=r.solved_at_seconds,
        wall=time.perf_counter() - start, post=after,
        stays=bool(r.solved and len(after) >= post and min(after, default=0) >= 0.9 * TARGET),
        stays_mean=bool(r.solved and len(after) >= post and np.mean(after) >= 450),
        curve=dict(env_steps=r.env_steps, eval_return=r.eval_return, loss=r.losses,
                   **r.diagnostics),
    )


def report(records: list[dict], label: str = "") -> dict:
    """Print and return the distribution of steps and seconds to solve over the seeds."""
    steps = [r["steps"] if r["solved"] else np.inf for r in records]
    secs = [r["seconds"] if r["solved"] else np.inf for r in records]
    s_steps, s_secs = summarize_times(steps), summarize_times(secs)
    stays = sum(r.get("stays_mean", False) for r in records)
    stays_min = sum(r.get("stays", False) for r in records)
    n = len(records)
    ratio = lambda s: (s["p90"] / s["median"]) if s["p90"] and s["median"] else float("inf")
    fmt = lambda v, f="{:,.0f}": "-" if v is None else f.format(v)
    print(f"{label} {s_steps['solved']}/{n} solved; steps to solve: median {fmt(s_steps['median'])}, "
          f"IQM {fmt(s_steps['iqm'])} [{fmt(s_steps['iqm_low'])}, {fmt(s_steps['iqm_high'])}], "
          f"p90 {fmt(s_steps['p90'])}, max {fmt(s_steps['max'])}, p90/median {ratio(s_steps):.2f}")
    f2 = "{:.2f}"
    print(f"{label} seconds to solve: median {fmt(s_secs['median'], f2)}, IQM {fmt(s_secs['iqm'], f2)}"
          f" [{fmt(s_secs['iqm_low'], f2)}, {fmt(s_secs['iqm_high'], f2)}], p90 {fmt(s_secs['p90'], f2)},"
          f" max {fmt(s_secs['max'], f2)}, p90/median {ratio(s_secs):.2f}")
    print(f"{label} stay solved for the next evaluations: mean >= 450 {stays}/{n}, "
          f"every one >= {0.9 * TARGET:.0f} {stays_min}/{n}")
    return dict(steps=s_steps, seconds=s_secs, stays_mean=stays, stays_all=stays_min, runs=n)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--method", default="dqn", help="rlcore.algos module: dqn or pg")
    p.add_argument("--seeds", type=int, default=50)
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--seed-list", default="", help="comma-separated seeds (instead of a range)")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--max-steps", type=int, default=200_000)
    p.add_argument("--post", type=int, default=5, help="evaluations after solving")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="override a Config field (Python literal)")
    p.add_argument("--out", type=Path, default=None, help="JSON of every seed's record")
    a = p.parse_args(argv)
    overrides = {}
    for item in a.set:
        key, _, value = item.partition("=")
        try:
            overrides[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            overrides[key] = value
    seeds = ([int(x) for x in a.seed_list.split(",") if x.strip()] if a.seed_list
             else range(a.first_seed, a.first_seed + a.seeds))
    jobs = [(a.method, s, overrides, a.max_steps, a.post) for s in seeds]
    start = time.perf_counter()
    records = []
    partial = a.out.with_suffix(".partial.jsonl") if a.out else None
    with mp.get_context("fork").Pool(a.jobs, maxtasksperchild=1) as pool:
        for r in pool.imap_unordered(run_seed, jobs):  # each seed as it ends: a slow machine
            records.append(r)  # still leaves the finished ones behind
            state = f"solved at {r['steps']:,} steps" if r.get("solved") else "NOT solved"
            print(f"seed {r['seed']}: {state} ({len(records)}/{len(jobs)})", flush=True)
            if partial:
                with partial.open("a") as f:
                    f.write(json.dumps(r) + "\n")
    records.sort(key=lambda r: r["seed"])
    for r in records:
        if r.get("error"):
            print(f"seed {r['seed']}: {r['error']}")
    summary = report(records, label=f"{a.method} {overrides or ''}".strip() + ":")
    print(f"wall {time.perf_counter() - start:.0f} s for {len(records)} seeds, {a.jobs} jobs")
    if a.out:
        a.out.write_text(json.dumps(dict(method=a.method, overrides=overrides, summary=summary,
                                         records=records), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
