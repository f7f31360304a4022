"""Wall time of S seeds trained as one population against one seed, same budget, same run.

For each method, alternately: ``train`` of one seed, then ``train_population`` of S seeds,
each for a fixed budget of env steps per seed (no stop on solve, evaluation excluded from
the clock and made rare), ``--repeats`` times; reports the median training seconds of each
and their ratio. A ratio below S means the population is cheaper than S separate runs; the
issue's target is at most 4x for S = 16. One torch thread for both.

Usage:  python bench/population_speed.py [--seeds 16] [--methods pg,dqn] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BUDGET = {"pg": 40_000, "dqn": 12_000}


def measure(method: str, S: int, repeats: int) -> dict:
    import importlib

    mod = importlib.import_module(f"rlcore.algos.{method}")
    cfg = mod.Config(max_env_steps=BUDGET[method], eval_every=BUDGET[method], eval_episodes=2,
                     stop_on_solve=False, threads=1, patience_steps=10**9)
    solo, pop = [], []
    for k in range(repeats):
        r = mod.train(mod.Config(**{**cfg.__dict__, "seed": k}), progress=False)
        solo.append(r.train_seconds[-1])
        p = mod.train_population(cfg, seeds=list(range(100 * k, 100 * k + S)), progress=False)
        pop.append(p.wall_seconds)
        print(f"{method}: 1 seed {solo[-1]:.2f} s, {S} seeds {pop[-1]:.2f} s "
              f"({pop[-1] / solo[-1]:.2f}x)", flush=True)
    one, many = statistics.median(solo), statistics.median(pop)
    return dict(method=method, seeds=S, budget_env_steps=BUDGET[method], one_seed_s=one,
                population_s=many, ratio=many / one, per_seed_speedup=S * one / many)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=16)
    p.add_argument("--methods", default="pg,dqn")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "population_speed.json")
    a = p.parse_args(argv)
    rows = [measure(m.strip(), a.seeds, a.repeats) for m in a.methods.split(",") if m.strip()]
    for r in rows:
        print(f"{r['method']}: {r['seeds']} seeds in {r['ratio']:.2f}x the time of one "
              f"({r['population_s']:.2f} s vs {r['one_seed_s']:.2f} s for {r['budget_env_steps']:,} "
              f"env steps each): {r['per_seed_speedup']:.1f}x cheaper per seed than separate runs")
    a.out.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
