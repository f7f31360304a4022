"""bench/pendulum.py: the protocol's bookkeeping, the ratios against SB3, and rows of other trainers kept."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("bench_pendulum", ROOT / "bench" / "pendulum.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def test_recorder_stops_at_the_first_evaluation_reaching_minus_200():
    rec = bench.Recorder(bench.TARGET)
    stops = [rec({"env_steps": 1000 * (i + 1), "train_seconds": 2.0 * (i + 1), "eval_return": r})
             for i, r in enumerate([-1400, -600, -200.5, -199.0])]
    assert stops == [False, False, False, True]
    row = rec.record("rlcore-sac", 3)
    assert row["solved"] and row["time_to_solve_s"] == 8.0 and row["env_steps"] == 4000
    assert set(row) >= {"method", "seed", "solved", "time_to_solve_s", "env_steps", "final_eval_return"}


def test_methods_table_has_the_issue_rows_and_summaries_give_ratios():
    assert {"rlcore-td3", "rlcore-sac", "rlcore-ddpg", "sb3-td3", "sb3-sac"} <= set(bench.METHODS)
    recs = [{"method": "rlcore-sac", "seed": s, "solved": True, "time_to_solve_s": t, "env_steps": 4000}
            for s, t in enumerate([4.0, 5.0, 6.0])]
    recs += [{"method": "sb3-sac", "seed": s, "solved": True, "time_to_solve_s": t, "env_steps": 5000}
             for s, t in enumerate([70.0, 80.0, 90.0])]
    rows = {r["method"]: r for r in bench.summarize(recs, ["rlcore-sac", "sb3-sac"])}
    assert rows["rlcore-sac"]["median_s"] == 5.0 and rows["rlcore-sac"]["speedup"] == 16.0
    assert "16.0x" in bench.table_markdown(list(rows.values()), [], "test")


def test_merge_keeps_rows_of_methods_not_rerun_including_other_trainers(tmp_path):
    path = tmp_path / "pendulum.json"
    path.write_text(json.dumps([{"method": "rlcore-ppo", "seed": 0, "solved": True},
                                {"method": "rlcore-sac", "seed": 0, "solved": False}]))
    merged = bench.merge_previous(path, [{"method": "rlcore-sac", "seed": 0, "solved": True}], ["rlcore-sac"])
    assert [(r["method"], r["solved"]) for r in merged] == [("rlcore-sac", True), ("rlcore-ppo", True)]
