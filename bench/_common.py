"""What the time-to-solve benchmarks share (``bench/cartpole.py``, ``bench/pendulum.py``).

The protocol's pieces that do not depend on the task: the callback that records a learning
curve and stops at the solve, the Stable-Baselines3 callback that evaluates the same way as
rlcore's trainers (rlcore's ``evaluate``, evaluation time off the clock), running one
(method, seed) in a fresh interpreter, and keeping the README table and the JSON of earlier
runs up to date.
"""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


class Recorder:
    """The benchmark's callback: records the curve, finds the solve, decides when to stop.

    ``__call__(info)`` takes the trainers' info dict (env_steps, train_seconds,
    eval_return) and returns True to stop: at the first evaluation >= ``target``, or
    ``post_solve_evals`` evaluations later (to see whether the policy stays solved).
    """

    def __init__(self, target: float, post_solve_evals: int = 0) -> None:
        self.target = target
        self.post_solve_evals = post_solve_evals
        self.env_steps: list[int] = []
        self.train_seconds: list[float] = []
        self.eval_return: list[float] = []
        self.solved_index: int | None = None

    def __call__(self, info: dict) -> bool:
        self.env_steps.append(int(info["env_steps"]))
        self.train_seconds.append(float(info["train_seconds"]))
        self.eval_return.append(float(info["eval_return"]))
        if self.solved_index is None and self.eval_return[-1] >= self.target:
            self.solved_index = len(self.eval_return) - 1
        if self.solved_index is None:
            return False
        return len(self.eval_return) - 1 - self.solved_index >= self.post_solve_evals

    def record(self, method: str, seed: int) -> dict:
        """The run as a JSON-able dict: solved, time_to_solve_s, env_steps, the curve."""
        solved = self.solved_index is not None
        i = self.solved_index if solved else len(self.eval_return) - 1
        rec = {
            "method": method,
            "seed": seed,
            "solved": solved,
            "time_to_solve_s": round(self.train_seconds[i], 4) if solved else None,
            "env_steps": self.env_steps[i] if i >= 0 else 0,
            "final_eval_return": self.eval_return[-1] if self.eval_return else None,
        }
        if self.post_solve_evals:
            after = self.eval_return[i + 1:] if solved else []
            rec["post_solve_mean"] = round(statistics.fmean(after), 2) if after else None
            rec["post_solve_evals"] = len(after)
        rec["curve"] = {"env_steps": self.env_steps,
                        "train_seconds": [round(t, 4) for t in self.train_seconds],
                        "eval_return": self.eval_return}
        return rec


def sb3_callback(rec: Recorder, cap: float, env_id: str, every: int, episodes: int) -> Any:
    """An SB3 callback that evaluates with rlcore's ``evaluate`` and keeps the clock honest.

    Every ``every`` env steps: ``episodes`` greedy episodes of Gymnasium's ``env_id``,
    off the training clock; stops at ``rec``'s word or after ``cap`` training seconds.
    """
    import numpy as np
    from stable_baselines3.common.callbacks import BaseCallback

    from rlcore.algos.common import evaluate

    class ProtocolCallback(BaseCallback):
        def _on_training_start(self) -> None:
            self.start = time.perf_counter()
            self.eval_time = 0.0
            self.next_eval = every

        def _on_step(self) -> bool:
            train_seconds = time.perf_counter() - self.start - self.eval_time
            if self.num_timesteps < self.next_eval:
                return train_seconds < cap
            t0 = time.perf_counter()
            self.next_eval = (self.num_timesteps // every + 1) * every
            act = lambda obs: self.model.predict(obs, deterministic=True)[0]
            returns = evaluate(act, env_id, n_episodes=episodes)
            stop = rec({"env_steps": self.num_timesteps, "train_seconds": train_seconds,
                        "eval_return": float(np.mean(returns))})
            self.eval_time += time.perf_counter() - t0
            return not stop and train_seconds < cap

    return ProtocolCallback()


def missing_module(module: str) -> str | None:
    """Return why a method needing ``module`` cannot run here, or None when it can."""
    try:
        found = importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        found = False
    if found:
        return None
    if module.startswith("stable_baselines3"):
        return "stable-baselines3 is not installed (make bench installs the 'bench' extra)"
    return f"{module} does not exist yet"


def run_in_subprocess(script: str, method: str, seed: int, **on_error: Any) -> dict:
    """Run ``script --one method seed`` in a fresh interpreter; its last stdout line is the record.

    A crash gives an unsolved record with the error's last lines (and ``on_error``'s fields).
    """
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    cmd = [sys.executable, str(Path(script).resolve()), "--one", method, str(seed)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        return {"method": method, "seed": seed, "solved": False, "time_to_solve_s": None,
                "env_steps": 0, "final_eval_return": None, **on_error, "error": " | ".join(tail)}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def update_readme(readme: Path, table: str, markers: tuple[str, str], heading: str) -> None:
    """Replace the text between ``markers`` (start, end) in ``readme``, or append ``heading`` and it."""
    start, end = markers
    block = f"{start}\n{table}\n{end}"
    text = readme.read_text() if readme.exists() else ""
    if start in text and end in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + heading + "\n\n" + block + "\n"
    readme.write_text(text)


def merge_previous(path: Path, records: list[dict], methods_run: list[str], order: list[str],
                   keep_unknown: bool = True) -> list[dict]:
    """Return ``records`` plus the earlier results (in ``path``) of methods not run this time.

    ``make bench METHODS=rlcore-dqn`` thus refreshes DQN's rows and keeps the others; rows
    are sorted by ``order`` (unknown methods last, or dropped with ``keep_unknown=False``).
    """
    try:
        previous = json.loads(path.read_text())
    except (OSError, ValueError):
        previous = []
    kept = [r for r in previous if isinstance(r, dict) and "method" in r and r["method"] not in methods_run
            and (keep_unknown or r["method"] in order)]
    rank = lambda r: (order.index(r["method"]) if r["method"] in order else len(order), r["method"], r["seed"])
    return sorted(kept + records, key=rank)


def add_speedups(rows: list[dict], peers: dict[str, str]) -> list[dict]:
    """Give each summary row ``speedup`` = its SB3 peer's median time / its own, and ``peer``.

    Both medians come from the same run (the protocol's ratio); None where either is missing.
    """
    by_name = {r["method"]: r for r in rows}
    for r in rows:
        peer = by_name.get(peers.get(r["method"], ""))
        r["speedup"] = (peer["median_s"] / r["median_s"] if peer and peer["median_s"] and r["median_s"]
                        else None)
        r["peer"] = peers.get(r["method"]) if r["speedup"] is not None else None
    return rows


def speedup_cell(row: dict) -> str:
    """The table cell of ``add_speedups``' ratio: "13.0x (vs `sb3-td3`)" or "-"."""
    return "-" if row.get("speedup") is None else f"{row['speedup']:.1f}x (vs `{row['peer']}`)"


def env_floor(envs: Any, actions: Any, seconds: float = 1.0) -> float:
    """Env steps per second of the vector env ``envs`` alone, replaying ``actions`` (k, n, ...).

    No policy, no learning: the physical floor of any trainer that steps this env.
    """
    envs.reset(seed=0)
    n = len(actions[0])
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for a in actions:
            envs.step(a)
        steps += len(actions) * n
    rate = steps / (time.perf_counter() - start)
    envs.close()
    return rate


def fastest_run_note(records: list[dict], floor: float, env_name: str) -> str:
    """A note comparing the fastest rlcore run's training env steps/s with the env's floor."""
    runs = [r for r in records if r["method"].startswith("rlcore-") and r.get("solved")
            and r.get("time_to_solve_s")]
    if not runs:
        return f"the vector env alone ({env_name}) steps {floor:,.0f} env steps/s here."
    best = max(runs, key=lambda r: r["env_steps"] / r["time_to_solve_s"])
    rate = best["env_steps"] / best["time_to_solve_s"]
    return (f"the fastest rlcore run ({best['method']}, seed {best['seed']}) trained at {rate:,.0f} env "
            f"steps/s; the vector env alone ({env_name}, random actions) steps {floor:,.0f} env "
            "steps/s here: the physical floor of any trainer on it.")


def run_description(seeds: str, shown: list[str], runnable: list[str]) -> str:
    """The table's "when" line: ``seeds`` ("5 seeds"), the date, machine, Python, and which rows an earlier run gave."""
    import platform

    when = (f"{seeds}, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPU cores "
            f"({platform.machine()}), Python {platform.python_version()}")
    if set(shown) - set(runnable):
        when += f"; rows of {', '.join(sorted(set(shown) - set(runnable)))} from an earlier run"
    return when


def with_notes(lines: list[str], notes: list[str]) -> str:
    """The table's markdown: ``lines`` and a "Note: ..." line for each note."""
    return "\n".join(lines + [f"Note: {n}" for n in notes])


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (the benchmarks run headless)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_return_curves(ax: Any, records: list[dict], methods: list[str], target: float, env_id: str,
                       episodes: int, thin: bool = False) -> None:
    """Draw every seed's greedy evaluation return against training seconds on ``ax``.

    One colour per method (C0, C1, ... in ``methods`` order), a dot at each solve, the
    ``target`` line; ``thin`` lines for many seeds.
    """
    alpha, lw, ms = (0.5, 0.8, 3) if thin else (0.75, 1.2, 4)
    for k, m in enumerate(methods):
        recs = [r for r in records if r["method"] == m and r.get("curve")]
        for j, r in enumerate(recs):
            c = r["curve"]
            ax.plot(c["train_seconds"], c["eval_return"], color=f"C{k}", alpha=alpha, lw=lw,
                    label=m if j == 0 else None)
            if r["solved"]:
                ax.plot([r["time_to_solve_s"]], [target], "o", color=f"C{k}", ms=ms)
    ax.axhline(target, color="0.4", ls="--", lw=1, label=f"solved ({target:g})")
    ax.set_xscale("log")
    ax.set_xlabel("training wall-clock seconds (evaluation excluded, log scale)")
    ax.set_ylabel(f"greedy eval return (mean of {episodes} episodes)")
    ax.set_title(f"{env_id}: evaluation return vs training time, all seeds")
    ax.legend(loc="lower right", fontsize=8)


def save(fig: Any, path: Path) -> None:
    """Write ``fig`` to ``path`` (PNG, 110 dpi) and close it."""
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    pyplot().close(fig)


def choose_methods(parser: Any, names: str, known: dict, missing: Callable[[str], str | None]
                   ) -> tuple[list[str], list[str]]:
    """Parse ``--methods`` (comma-separated ``names``) against ``known``.

    Returns (the methods that can run here, notes on those skipped and why); an unknown
    name is a usage error (``parser.error``).
    """
    methods = [m.strip() for m in names.split(",") if m.strip()]
    unknown = [m for m in methods if m not in known]
    if unknown:
        parser.error(f"unknown method(s) {unknown}; choose from {list(known)}")
    notes, runnable = [], []
    for m in methods:
        why = missing(m)
        if why:
            notes.append(f"`{m}` skipped: {why}.")
            print(f"skipping {m}: {why}", flush=True)
        else:
            runnable.append(m)
    return runnable, notes


def run_interleaved(methods: list[str], n_seeds: dict[str, int], run: Callable[[str, int], dict]) -> list[dict]:
    """Run seed 0 of every method, then seed 1, ... (load hits every method alike); print each run."""
    records = []
    width = max(map(len, methods), default=0) + 1
    for seed in range(max([n_seeds[m] for m in methods], default=0)):
        for m in [m for m in methods if seed < n_seeds[m]]:
            rec = run(m, seed)
            records.append(rec)
            t = rec["time_to_solve_s"]
            status = f"solved in {t:.2f} s" if rec["solved"] else "NOT solved"
            extra = f", post-solve mean {rec['post_solve_mean']}" if rec.get("post_solve_mean") else ""
            err = f" ERROR: {rec['error']}" if rec.get("error") else ""
            print(f"{m:{width}s} seed {seed}: {status} ({rec['env_steps']:,} env steps{extra}), "
                  f"peak {rec.get('peak_rss_mib', '?')} MiB{err}", flush=True)
    return records
