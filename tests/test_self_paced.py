"""What a self-paced learner expects of every lesson (issue 14, point 6), as rules over all lessons.

Every lesson of ``autograder.notebook.assignments()`` (lessons added later follow the same rules):
- its first text cell states the time it takes (reading and exercises, and the measured time to
  run every cell, ``bench/results/lesson-cells.json``), what it needs from earlier lessons, and
  what to do when stuck (where the solutions are, how to restore a cell, how to self-check);
- its last text cell links the next lesson (all but the last lesson);
- every cell that runs longer than ``SLOW_S`` shows progress while it runs (measured by
  ``make profile``: the outputs the learner saw during the cell).
The helpers behind them (``rlcore.live.Progress``, ``rlcore.restore_cell``) are tested here too.
"""

from __future__ import annotations

import io
import json
import re

import nbformat
import pytest
from gradelib import ROOT

from autograder.notebook import assignments
from bench.profile_lessons import CELLS_OUT, SLOW_S, first_line, learner_minutes

ASSIGNMENTS = assignments()
PROFILE_HINT = ("re-measure with `make profile` (or `.venv/bin/python -m bench.profile_lessons --cells-only "
                "{a}`), then state the times it prints in the lesson's first cell")


def _nb(kind: str, a: str) -> dict:
    return json.loads((ROOT / kind / a / f"{a}.ipynb").read_text())


def _text(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _markdown(nb: dict) -> list[str]:
    return [_text(c) for c in nb["cells"] if c["cell_type"] == "markdown"]


def _measured(a: str) -> dict:
    cells = json.loads(CELLS_OUT.read_text())["lessons"] if CELLS_OUT.exists() else {}
    if a not in cells:
        pytest.fail(f"{a} has no measured run time in {CELLS_OUT.relative_to(ROOT)}: "
                    + PROFILE_HINT.format(a=a))
    return cells[a]


def run_seconds(a: str) -> float:
    """The lesson's measured wall time to run every cell: the smallest of `make profile`'s
    measurements (profile.json and lesson-cells.json), since other work on a shared machine
    only ever adds to it."""
    times = [_measured(a)["wall_s"]]
    profile = ROOT / "bench" / "results" / "profile.json"
    if profile.exists():
        times += [r["wall_s"] for r in json.loads(profile.read_text())["lessons"]
                  if r["assignment"] == a and r["status"] == "ok"]
    return min(times)


@pytest.mark.parametrize("kind", ["solutions", "lessons"])
@pytest.mark.parametrize("a", ASSIGNMENTS)
def test_first_cell_states_time_prerequisites_and_what_to_do_when_stuck(a, kind):
    nb = _nb(kind, a)
    head = _markdown(nb)[0]
    run_s = run_seconds(a)
    minutes = learner_minutes(nb, run_s)
    expected = (f"> **About {minutes} min** to read and do the exercises; **running every cell takes "
                f"about {round(run_s)} s** (measured on a 2-core laptop CPU).")
    m = re.search(r"\*\*About (\d+) min\*\* to read and do the exercises; \*\*running every cell "
                  r"takes about (\d+) s\*\*", head)
    assert m, f"{kind}/{a}: the first text cell must state the time, e.g.\n{expected}"
    stated_min, stated_s = int(m.group(1)), int(m.group(2))
    assert abs(stated_min - minutes) <= 5, f"{kind}/{a} says {stated_min} min; the estimate is:\n{expected}"
    assert abs(stated_s - run_s) <= max(3.0, 0.25 * run_s), (
        f"{kind}/{a} says {stated_s} s; measured {run_s:.0f} s:\n{expected}\n(or " + PROFILE_HINT.format(a=a) + ")")

    needs = re.search(r"\*\*You need:\*\*([^\n]*(?:\n> [^\n]*)*)", head)
    assert needs, f"{kind}/{a}: the first text cell must say what it needs (**You need:** ...)"
    number = int(a[:2])
    earlier = {int(n) for n in re.findall(r"lessons? (\d\d)", needs.group(1))}
    earlier |= {int(n) for n in re.findall(r"(?:, | and )(\d\d)\b", needs.group(1))}
    if number > 0:
        assert earlier and max(earlier) < number, f"{kind}/{a}: **You need:** names no earlier lesson"

    stuck = head[head.find("**Stuck?**"):]
    assert "**Stuck?**" in head, f"{kind}/{a}: the first text cell must say what to do when stuck"
    assert f"solutions/{a}/{a}.ipynb" in stuck, f"{kind}/{a}: **Stuck?** must say where the solutions are"
    assert "rlcore.restore_cell(" in stuck and "rlcore.check_notebook()" in stuck and "save" in stuck


@pytest.mark.parametrize("a", ASSIGNMENTS)
def test_every_lesson_but_the_last_links_the_next_one(a):
    k = ASSIGNMENTS.index(a)
    if k == len(ASSIGNMENTS) - 1:
        pytest.skip(f"{a} is the last lesson")
    nxt = ASSIGNMENTS[k + 1]
    for kind in ("solutions", "lessons"):
        last = _markdown(_nb(kind, a))[-1]
        links = re.findall(r"\[[^\]]+\]\(([^)\s]+)\)", last)
        assert f"../{nxt}/{nxt}.ipynb" in links, (
            f"{kind}/{a}: its last text cell must link the next lesson: [lesson {nxt[:2]}](../{nxt}/{nxt}.ipynb)")
    assert (ROOT / "lessons" / nxt / f"{nxt}.ipynb").exists()


@pytest.mark.parametrize("a", ASSIGNMENTS)
def test_every_cell_over_the_limit_shows_progress_while_it_runs(a):
    measured = _measured(a)
    nb = _nb("solutions", a)
    sources = {first_line(_text(c)) for c in nb["cells"] if c["cell_type"] == "code"}
    for cell in measured["slow_cells"]:
        assert cell["first_line"] in sources, (
            f"{a}: the measured cell `{cell['first_line']}` is not in the lesson any more: "
            + PROFILE_HINT.format(a=a))
        seconds = min(cell["wall_s"], cell["cpu_s"])
        if seconds > SLOW_S:
            assert cell["live_outputs"] >= 2, (
                f"{a}: the cell `{cell['first_line']}` runs {seconds:.1f} s with nothing shown; show "
                "progress (rlcore.live.progress / Progress, or a trainer's progress line)")


# ------------------------------------------------------------------ the helpers behind the rules
def test_progress_line_counts_estimates_and_ends_in_a_terminal():
    from rlcore.live import Progress, progress

    out = io.StringIO()
    assert list(progress(range(3), "runs", notebook=False, stream=out, min_interval=0)) == [0, 1, 2]
    frames = out.getvalue().split("\r")
    assert frames[1].startswith("runs: 0/3 | ") and "about" in frames[2] and "left" in frames[2]
    assert re.fullmatch(r"runs: 3/3 in \d+\.\d s\s*\n", frames[-1]), frames[-1]
    out = io.StringIO()
    bar = Progress(None, "steps", notebook=False, stream=out, min_interval=0)
    bar.update(5, note="(seed 2)")
    assert "steps: 5 (seed 2) | " in out.getvalue() and "left" not in out.getvalue()
    with pytest.raises(ValueError, match="total"):
        Progress(-1, "x")
    with pytest.raises(ValueError, match="label"):
        Progress(3, " ")


def test_progress_in_a_kernel_is_one_output_updated_in_place_and_animations_remove_theirs(tmp_path):
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import time\nfrom rlcore.live import progress\nfor i in progress(range(4), 'runs', min_interval=0):\n"
        "    time.sleep(0.05)"),
        nbformat.v4.new_code_cell(
        "import numpy as np\nfrom rlcore.plotting import animate_frames\n"
        "animate_frames([np.zeros((4, 4, 3))] * 5, title='t')")]
    updates = []
    client = NotebookClient(nb, timeout=120, kernel_name="python3")
    original = client.process_message

    def spy(msg, cell, index):
        if msg.get("msg_type") == "update_display_data":
            updates.append((index, msg["content"]["data"]))
        return original(msg, cell, index)

    client.process_message = spy
    client.execute()
    runs = [d for i, d in updates if i == 0]
    assert len(runs) >= 4 and runs[-1]["text/plain"].startswith("runs: 4/4 in ")
    assert [o.output_type for o in nb.cells[0].outputs] == ["display_data"]  # one line, redrawn
    assert nb.cells[0].outputs[0].data["text/plain"].startswith("runs: 4/4 in ")
    anim = [d for i, d in updates if i == 1]
    assert any("drawing the animation (frames): " in d.get("text/plain", "") for d in anim)
    assert anim[-1].get("text/html") == ""  # the line goes away; the animation stays
    assert "<script" in nb.cells[1].outputs[-1].data["text/html"]


def test_live_curve_without_plot_shows_only_its_status_line():
    from rlcore.live import LiveCurve

    live = LiveCurve(target=475, notebook=True, plot=False)
    live({"env_steps": 2000, "train_seconds": 0.5, "eval_return": 20.0})
    live({"env_steps": 4000, "train_seconds": 1.0, "eval_return": 30.0})
    live.close()
    assert live._fig is None and "env steps     4,000" in live.status()


def test_restore_cell_puts_the_released_text_into_the_cell_that_runs_it(monkeypatch, capsys):
    import IPython

    import rlcore
    from rlcore.course import released_cell

    stub = released_cell("rollout")
    released = _nb("lessons", "02-trajectories-and-returns")
    answer = next(c for c in released["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "rollout")
    assert stub == _text(answer) and "raise NotImplementedError()" in stub
    assert released_cell("test_rollout").strip() == "check_rollout(rollout)"
    assert "def my_policy(obs)" in released_cell("my_policy")  # a cell found by what it defines

    calls = []

    class Shell:
        def set_next_input(self, text, replace=False):
            calls.append((text, replace))

    monkeypatch.setattr(IPython, "get_ipython", lambda: Shell())
    rlcore.restore_cell("rollout")
    assert calls == [(stub, True)]
    assert "now holds the released `rollout`" in capsys.readouterr().out
    with pytest.raises(ValueError, match="no cell named 'rolout'"):
        rlcore.restore_cell("rolout")
