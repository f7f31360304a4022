"""bench/cartpole.py: the protocol's bookkeeping, the reports, and one real tiny run."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bench" / "cartpole.py"
spec = importlib.util.spec_from_file_location("bench_cartpole", SCRIPT)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def feed(rec, returns, dt=0.5, steps=2000):
    """Feed evaluations to a Recorder; return the index of the first one that asked to stop."""
    for i, r in enumerate(returns):
        if rec({"env_steps": steps * (i + 1), "train_seconds": dt * (i + 1), "eval_return": r}):
            return i
    return None


def test_recorder_stops_at_solve_and_records_time_of_the_solving_eval():
    rec = bench.Recorder(bench.TARGET)
    assert feed(rec, [20, 100, 474.9, 475.0, 500]) == 3
    r = rec.record("m", 7)
    assert r["solved"] and r["time_to_solve_s"] == 2.0 and r["env_steps"] == 8000
    assert r["final_eval_return"] == 475.0 and "post_solve_mean" not in r
    assert r["curve"]["eval_return"] == [20, 100, 474.9, 475.0]


def test_recorder_continues_five_evals_after_solving_for_dqn():
    rec = bench.Recorder(bench.TARGET, post_solve_evals=5)
    assert feed(rec, [100, 480, 500, 300, 500, 500, 420, 500]) == 6
    r = rec.record("dqn", 0)
    assert r["time_to_solve_s"] == 1.0 and r["env_steps"] == 4000
    assert r["post_solve_mean"] == pytest.approx((500 + 300 + 500 + 500 + 420) / 5)
    assert r["post_solve_evals"] == 5 and r["final_eval_return"] == 420


def test_unsolved_run_has_no_time():
    rec = bench.Recorder(bench.TARGET, post_solve_evals=5)
    assert feed(rec, [10, 20, 30]) is None
    r = rec.record("x", 1)
    assert not r["solved"] and r["time_to_solve_s"] is None and r["post_solve_mean"] is None
    assert r["env_steps"] == 6000 and r["final_eval_return"] == 30


def test_summary_and_table():
    recs = [
        {"method": "a", "seed": s, "solved": True, "time_to_solve_s": t, "env_steps": 1000 * s,
         "final_eval_return": 480, "peak_rss_mib": 300 + s} for s, t in enumerate([3.0, 1.0, 2.0])
    ] + [{"method": "b", "seed": 0, "solved": False, "time_to_solve_s": None, "env_steps": 9,
          "final_eval_return": 10, "post_solve_mean": None}]
    rows = bench.summarize(recs, ["a", "b"])
    assert rows[0]["median_s"] == 2.0 and rows[0]["min_s"] == 1.0 and rows[0]["max_s"] == 3.0
    assert rows[0]["iqm_s"] == 2.0 and rows[0]["iqm_low"] == 1.0 and rows[0]["iqm_high"] == 3.0
    assert rows[0]["p90_s"] == pytest.approx(2.8) and rows[0]["solved_fraction"] == 1.0
    assert rows[0]["solved"] == 3 and rows[0]["peak_mib"] == 302
    assert rows[1]["solved"] == 0 and rows[1]["median_s"] is None and rows[1]["solved_fraction"] == 0
    table = bench.table_markdown(rows, ["`c` skipped: no module."], "today")
    assert "| `a` | 3/3 | 2.00 | 2.00 [1.00, 3.00] | 2.80 | 3.00 |" in table
    assert "| `b` | 0/1 | > cap | > cap [> cap, > cap] |" in table
    assert "Note: `c` skipped" in table


def test_readme_table_replaced_between_markers_or_appended(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# Course\n\nintro\n")
    bench.update_readme(readme, "TABLE 1")
    text = readme.read_text()
    assert text.startswith("# Course\n\nintro\n") and "## Benchmark" in text
    readme.write_text(text + "\n## After\nkept\n")
    bench.update_readme(readme, "TABLE 2")
    text = readme.read_text()
    assert "TABLE 2" in text and "TABLE 1" not in text and text.endswith("## After\nkept\n")
    assert text.count(bench.MARK_START) == 1


def test_missing_module_is_reported_not_crashed(monkeypatch):
    monkeypatch.setitem(bench.METHODS, "rlcore-nope",
                        (None, 1.0, 0, "rlcore.algos.does_not_exist"))
    assert "does not exist yet" in bench.missing_requirement("rlcore-nope")
    assert bench.missing_requirement("rlcore-pg") is None


def test_unknown_method_is_an_error():
    with pytest.raises(SystemExit):
        bench.main(["--methods", "rlcore-pg,nonsense", "--seeds", "1"])


def test_tiny_real_bench_writes_json_png_and_readme(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n{bench.MARK_START}\nold\n{bench.MARK_END}\n")
    proc = subprocess.run([sys.executable, str(SCRIPT), "--methods", "rlcore-pg", "--seeds", "1",
                           "--out", str(tmp_path), "--readme", str(readme)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    records = json.loads((tmp_path / "cartpole.json").read_text())
    assert len(records) == 1
    r = records[0]
    for key in ("method", "seed", "solved", "time_to_solve_s", "env_steps", "final_eval_return",
                "peak_rss_mib"):
        assert key in r
    assert r["method"] == "rlcore-pg" and r["seed"] == 0 and "error" not in r
    assert 0 < r["peak_rss_mib"] < 1024
    assert len(r["curve"]["eval_return"]) >= 1
    assert (tmp_path / "cartpole.png").stat().st_size > 10_000
    text = readme.read_text()
    assert "old" not in text and "| `rlcore-pg` |" in text


def test_a_subset_run_keeps_other_methods_results(tmp_path):
    path = tmp_path / "cartpole.json"
    old = [{"method": "sb3-ppo", "seed": 0, "solved": True}, {"method": "rlcore-pg", "seed": 0,
                                                              "solved": False}]
    path.write_text(json.dumps(old))
    new = [{"method": "rlcore-pg", "seed": 0, "solved": True}]
    merged = bench.merge_previous(path, new, ["rlcore-pg"])
    assert merged == [new[0], old[0]]
    assert bench.merge_previous(tmp_path / "missing.json", new, ["rlcore-pg"]) == new


def test_table_gives_each_rlcore_method_its_ratio_to_its_sb3_peer_and_the_fastest_runs_rate():
    recs = [{"method": "rlcore-a2c", "seed": s, "solved": True, "time_to_solve_s": t, "env_steps": n}
            for s, (t, n) in enumerate([(1.0, 10_000), (2.0, 30_000), (3.0, 12_000)])]
    recs += [{"method": "sb3-a2c", "seed": s, "solved": True, "time_to_solve_s": t, "env_steps": 9_000}
             for s, t in enumerate([7.0, 8.0, 9.0])]
    recs += [{"method": "rlcore-pg", "seed": 0, "solved": True, "time_to_solve_s": 0.5, "env_steps": 4_000}]
    rows = {r["method"]: r for r in bench.summarize(recs, ["rlcore-a2c", "rlcore-pg", "sb3-a2c"])}
    assert rows["rlcore-a2c"]["speedup"] == 4.0 and rows["rlcore-a2c"]["peer"] == "sb3-a2c"
    assert rows["rlcore-pg"]["speedup"] is None and rows["sb3-a2c"]["speedup"] is None
    table = bench.table_markdown(list(rows.values()), [], "test")
    assert "| 4.0x (vs `sb3-a2c`) |" in table
    note = bench._common.fastest_run_note(recs, 123_456.0, "a vector env")
    assert "rlcore-a2c, seed 1" in note and "15,000 env steps/s" in note and "123,456" in note
