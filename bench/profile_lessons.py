"""Profile every lesson as a learner runs it: peak memory and CPU seconds of each kernel.

    make profile            # = .venv/bin/python -m bench.profile_lessons

For each ``solutions/<id>/<id>.ipynb`` (the lesson with every exercise filled in), start a
fresh kernel, run every cell top to bottom (demos and training included, as "Run All"
does), and read from ``/proc`` before the kernel stops:

- ``peak_rss_mib``: the kernel's high-water resident memory (``VmHWM``, exact);
- ``tree_peak_rss_mib``: kernel plus any child processes, sampled every 0.1 s;
- ``end_rss_mib``: what the kernel still holds after the last cell (an idle learner);
- ``cpu_s``: user + system CPU seconds of the kernel and its children; ``wall_s``.

Also measures one idle JupyterLab server (the other process in a learner's pod).
Writes ``bench/results/profile.json``; ``docs/deploy.md`` sizes a hub from it.

Per cell it also records the wall and CPU seconds and how many outputs the learner saw while
it ran (printed lines, a progress line or live curve redrawn in place): ``make profile``
writes the cells over 1 s to ``bench/results/lesson-cells.json`` (``--cells-only``: that file
alone), which ``tests/test_self_paced.py`` holds to the course's rule (a cell that runs over
``SLOW_S`` shows progress while it runs) and to each lesson's stated run time. The rule takes
min(wall, CPU) seconds: on a loaded machine wall time inflates, with torch threads CPU time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import re
import shutil
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "profile.json"
CELLS_OUT = ROOT / "bench" / "results" / "lesson-cells.json"
SLOW_S = 3.0  # a cell that runs longer than this shows progress (issue 14)
LISTED_S = 1.0  # cells slower than this are listed in lesson-cells.json
MIB = 2**20
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS\n?", re.DOTALL)


def _vm_hwm_mib(pid: int) -> float:
    """The process's peak resident set size (VmHWM from /proc) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024 / MIB
    raise RuntimeError(f"no VmHWM for pid {pid}")


class TreeSampler(threading.Thread):
    """Samples the summed RSS of a process and its children until stopped; keeps the maximum."""

    def __init__(self, pid: int, every: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.proc = psutil.Process(pid)
        self.every = every
        self.peak = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                procs = [self.proc, *self.proc.children(recursive=True)]
                total = 0
                for p in procs:
                    try:
                        total += p.memory_info().rss
                    except psutil.Error:
                        pass
                self.peak = max(self.peak, total)
            except psutil.Error:
                return
            self._stop_event.wait(self.every)

    def stop(self) -> float:
        self._stop_event.set()
        self.join()
        return self.peak / MIB


def _cpu_seconds(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    total = t.user + t.system + t.children_user + t.children_system
    for child in proc.children(recursive=True):
        try:
            c = child.cpu_times()
            total += c.user + c.system
        except psutil.Error:
            pass
    return total


def profile_notebook(path: Path, timeout: int = 1800, kernel: str = "python3") -> dict:
    """Run one notebook in a fresh kernel; return its resource use (and the first error, if any)."""
    work = Path(tempfile.mkdtemp(prefix="rl-course-profile-"))
    try:
        shutil.copytree(path.parent, work, dirs_exist_ok=True)
        nb = nbformat.read(work / path.name, as_version=4)
        for cell in nb.cells:  # a learner's copy has no hidden tests
            if cell.cell_type == "code":
                cell.source = HIDDEN.sub("", cell.source)
        client = NotebookClient(nb, timeout=timeout, kernel_name=kernel,
                                resources={"metadata": {"path": str(work)}})
        status = "ok"
        with client.setup_kernel():
            pid = client.km.provisioner.pid
            proc = psutil.Process(pid)
            start_rss = proc.memory_info().rss / MIB
            sampler = TreeSampler(pid)
            sampler.start()
            updates = {"n": 0}
            original = client.process_message

            def counting(msg, cell, cell_index, _original=original):
                # output the learner sees while the cell runs: printed lines, shown or redrawn
                # displays (a progress line, a live curve); not the final result
                updates["n"] += msg.get("msg_type") in ("stream", "display_data", "update_display_data")
                return _original(msg, cell, cell_index)

            client.process_message = counting
            cells = []
            t0 = time.perf_counter()
            for index, cell in enumerate(nb.cells):
                c0, w0, u0 = _cpu_seconds(proc), time.perf_counter(), updates["n"]
                try:
                    client.execute_cell(cell, index)
                except Exception as e:  # noqa: BLE001 - recorded, the profile goes on
                    status = f"error in cell {index}: {type(e).__name__}: {str(e)[-300:]}"
                    break
                cell_wall, cell_cpu = time.perf_counter() - w0, _cpu_seconds(proc) - c0
                if cell.cell_type == "code" and min(cell_wall, cell_cpu) > LISTED_S:
                    cells.append({"index": index, "first_line": first_line(cell.source),
                                  "tags": list(cell.metadata.get("tags", [])),
                                  "wall_s": round(cell_wall, 1), "cpu_s": round(cell_cpu, 1),
                                  "live_outputs": updates["n"] - u0})
            wall = time.perf_counter() - t0
            tree_peak = sampler.stop()
            result = {
                "assignment": path.parent.name,
                "status": status,
                "code_cells": sum(c.cell_type == "code" for c in nb.cells),
                "wall_s": round(wall, 1),
                "cpu_s": round(_cpu_seconds(proc), 1),
                "start_rss_mib": round(start_rss),
                "peak_rss_mib": round(_vm_hwm_mib(pid)),
                "tree_peak_rss_mib": round(max(tree_peak, _vm_hwm_mib(pid))),
                "end_rss_mib": round(proc.memory_info().rss / MIB),
                "slow_cells": cells,
            }
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --- the time a lesson states in its first cell (tests/test_self_paced.py holds lessons to it) -----

#: a learner's pace: words of explanation per minute (math and all), lines of code read per minute,
#: minutes per exercise (a quiz question: QUIZ_MIN); plus the measured time to run every cell
READ_WPM, CODE_LPM, EXERCISE_MIN, QUIZ_MIN = 120, 15, 8, 2


def learner_minutes(nb: dict, run_s: float) -> int:
    """Minutes a self-paced learner needs for a lesson, rounded to 5: reading its text and
    code, doing its exercises, and running it (``run_s``, measured)."""
    def src(cell: dict) -> str:
        s = cell.get("source", "")
        return "".join(s) if isinstance(s, list) else s

    cells = nb["cells"]
    words = sum(len(re.findall(r"[A-Za-z]+", src(c))) for c in cells if c["cell_type"] == "markdown")
    code_lines = sum(len(src(c).splitlines()) for c in cells if c["cell_type"] == "code")
    answers = [c["metadata"]["nbgrader"]["grade_id"] for c in cells
               if c["cell_type"] == "code" and c.get("metadata", {}).get("nbgrader", {}).get("solution")]
    quiz = sum(bool(re.fullmatch(r"q\d+", a)) for a in answers)
    minutes = (words / READ_WPM + code_lines / CODE_LPM + EXERCISE_MIN * (len(answers) - quiz)
               + QUIZ_MIN * quiz + run_s / 60)
    return max(5, int(5 * round(minutes / 5)))


def first_line(source: str) -> str:
    """The first line of a cell that is neither blank nor a comment (how a cell is found again)."""
    return next((ln.strip() for ln in source.splitlines() if ln.strip() and not ln.lstrip().startswith("#")), "")


def profile_server() -> dict:
    """Start one JupyterLab (as a hub would) and measure its idle resident memory."""
    from e2e.lab import JupyterLab

    folder = Path(tempfile.mkdtemp(prefix="rl-course-profile-lab-"))
    try:
        with JupyterLab(folder, folder / "lab.log") as lab:
            time.sleep(2.0)  # let extensions finish loading
            proc = psutil.Process(lab.proc.pid)
            rss = sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)])
        return {"jupyterlab_idle_rss_mib": round(rss / MIB)}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --- sizing a hub from the measurements (docs/deploy.md, deploy/z2jh-values.yaml) ----------

#: Every learner may run the heaviest lesson top to bottom at the same moment ("now run all");
#: with its guaranteed CPU share each must finish within this many seconds.
BURST_S = 300
#: Safety margin on measured memory (run-to-run variation, a learner's own experiments).
HEADROOM = 1.2
#: What the hub itself needs beside the learners' servers (hub, proxy, OS, page cache), MiB.
HUB_OVERHEAD_MIB = 2048
#: A node of the Kubernetes recipe (e.g. a 16 vCPU / 64 GiB machine), and what k8s keeps for itself.
NODE_CPUS, NODE_MIB, NODE_RESERVED_MIB = 16, 64 * 1024, 4 * 1024
#: Pods a node runs (the kubelet's default cap is 110; keep 10 for system pods).
MAX_PODS_PER_NODE = 100
LEARNERS = (30, 100, 500)


def _ceil_to(x: float, step: float) -> float:
    return math.ceil(x / step - 1e-9) * step


def sizing(report: dict) -> dict:
    """Return per-learner requests/limits and server sizes derived from a profile report.

    memory request = HEADROOM x (JupyterLab server + the largest kernel peak) (every learner
      in a workshop runs the same lesson at once), rounded up to 256 MiB;
    memory limit = HEADROOM x (JupyterLab server + two kernels at that peak) (a learner who
      left the previous lesson's kernel running), rounded up to 512 MiB;
    CPU request = the heaviest lesson's CPU seconds / BURST_S, rounded up to 0.1 core;
    CPU limit = the cores a lesson's trainers use (torch threads), at least 1.
    A single server for N learners: N x memory request + HUB_OVERHEAD_MIB, and
    N x CPU request cores (at least 2); Kubernetes: nodes of NODE_CPUS / NODE_MIB holding
    at most MAX_PODS_PER_NODE learners.
    """
    lessons = [r for r in report["lessons"] if r["status"] == "ok"]
    if not lessons:
        raise ValueError("the report has no lesson that ran cleanly")
    server = report["server"]["jupyterlab_idle_rss_mib"]
    peak = max(r["tree_peak_rss_mib"] for r in lessons)
    heaviest = max(lessons, key=lambda r: r["cpu_s"])
    mem_request = int(_ceil_to(HEADROOM * (server + peak), 256))
    mem_limit = int(_ceil_to(HEADROOM * (server + 2 * peak), 512))
    cpu_request = round(_ceil_to(heaviest["cpu_s"] / BURST_S, 0.1), 1)
    cpu_limit = max(1, int(report["machine"]["torch_threads"]))
    servers = {}
    for n in LEARNERS:
        ram_mib = n * mem_request + HUB_OVERHEAD_MIB
        cores = max(2.0, n * cpu_request)
        per_node = min((NODE_MIB - NODE_RESERVED_MIB) // mem_request,
                       int(NODE_CPUS // cpu_request), MAX_PODS_PER_NODE)
        servers[n] = {"ram_gib": math.ceil(ram_mib / 1024), "cores": math.ceil(cores),
                      "k8s_nodes": math.ceil(n / per_node), "learners_per_node": int(per_node)}
    return {"server_mib": server, "kernel_peak_mib": peak,
            "heaviest": heaviest["assignment"], "heaviest_cpu_s": heaviest["cpu_s"],
            "mem_request_mib": mem_request, "mem_limit_mib": mem_limit,
            "cpu_request": cpu_request, "cpu_limit": cpu_limit, "servers": servers}


def render_markdown(report: dict) -> str:
    """Return the measurement table and the sizing arithmetic as Markdown (for docs/deploy.md)."""
    m = report["machine"]
    rows = [(f"Measured {report['date']} by `make profile` on {m['cpus']} CPU cores, Python "
            f"{m['python']}, torch {m['torch']} ({m['torch_threads']} threads); every lesson's "
            "solutions notebook (all exercises filled in, hidden tests removed) run top to "
            "bottom in a fresh kernel."), "",
            ("| lesson | status | code cells | wall s | kernel CPU s | kernel peak MiB "
            "| + children MiB | after last cell MiB |"), "|---|---|---|---|---|---|---|---|"]
    for r in report["lessons"]:
        status = "ok" if r["status"] == "ok" else "**error**"
        rows.append(f"| `{r['assignment']}` | {status} | {r['code_cells']} | {r['wall_s']} | "
                    f"{r['cpu_s']} | {r['peak_rss_mib']} | {r['tree_peak_rss_mib']} | "
                    f"{r['end_rss_mib']} |")
    z = sizing(report)
    rows += ["", (f"An idle JupyterLab server (the other process in every learner's server): "
             f"**{z['server_mib']} MiB**."), "",
             "Per learner:", "",
             (f"- memory request = {HEADROOM} x (server + largest kernel peak) = {HEADROOM} x "
              f"({z['server_mib']} + {z['kernel_peak_mib']}) MiB, rounded up to 256 MiB = "
              f"**{z['mem_request_mib']} MiB**"),
             (f"- memory limit = {HEADROOM} x (server + 2 kernels at peak) = {HEADROOM} x "
              f"({z['server_mib']} + 2 x {z['kernel_peak_mib']}) MiB, rounded up to 512 MiB = "
              f"**{z['mem_limit_mib']} MiB**"),
             (f"- CPU request = heaviest lesson's CPU seconds / {BURST_S} s = {z['heaviest_cpu_s']}"
             f" / {BURST_S} (`{z['heaviest']}`), rounded up to 0.1 = **{z['cpu_request']} core**"),
             f"- CPU limit = the threads the trainers use = **{z['cpu_limit']} cores**", "",
             ("| learners | RAM: N x request + hub | cores: N x CPU request | Kubernetes nodes "
             f"({NODE_CPUS} vCPU / {NODE_MIB // 1024} GiB) |"), "|---|---|---|---|"]
    for n, sz in z["servers"].items():
        rows.append(
            f"| {n} | {n} x {z['mem_request_mib']} MiB + {HUB_OVERHEAD_MIB} MiB = "
            f"**{sz['ram_gib']} GiB** | {n} x {z['cpu_request']} = **{sz['cores']}** | "
            f"{n} / {sz['learners_per_node']} per node = **{sz['k8s_nodes']}** |")
    return "\n".join(rows) + "\n"


DOC = ROOT / "docs" / "deploy.md"
START, END = "<!-- profile:start -->", "<!-- profile:end -->"


def update_doc(report: dict, doc: Path = DOC) -> bool:
    """Rewrite the block between the profile markers of docs/deploy.md; True if it changed."""
    text = doc.read_text()
    a, b = text.index(START) + len(START), text.index(END)
    new = text[:a] + "\n" + render_markdown(report) + text[b:]
    doc.write_text(new)
    return new != text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assignments", nargs="*", help="only these (default: every lesson)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
    parser.add_argument("--cells-only", action="store_true",
                        help="only rewrite lesson-cells.json (the lessons' run times and slow cells), "
                             "not profile.json nor docs/deploy.md (the hub's sizing)")
    args = parser.parse_args(argv)
    paths = sorted((ROOT / "solutions").glob("*/*.ipynb"))
    if args.assignments:
        paths = [p for p in paths if p.parent.name in args.assignments]
    if not paths:
        parser.error("no lessons found in solutions/")
    lessons = []
    for path in paths:
        print(f"profiling {path.parent.name} ...", flush=True)
        r = profile_notebook(path, timeout=args.timeout)
        print(f"  {r['status']}: {r['wall_s']} s wall, {r['cpu_s']} CPU s, "
              f"peak {r['peak_rss_mib']} MiB (tree {r['tree_peak_rss_mib']}), "
              f"end {r['end_rss_mib']} MiB", flush=True)
        lessons.append(r)
    import torch

    report = {
        "date": dt.date.today().isoformat(),
        "machine": {"cpus": psutil.cpu_count(), "python": platform.python_version(),
                    "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
                    "total_ram_gib": round(psutil.virtual_memory().total / 2**30, 1)},
        "server": {} if args.cells_only else profile_server(),
        "lessons": lessons,
    }
    cells = {r["assignment"]: {"wall_s": r["wall_s"], "cpu_s": r["cpu_s"],
                               "slow_cells": r.pop("slow_cells", [])} for r in lessons}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cells_out = args.out.with_name(CELLS_OUT.name)
    old = json.loads(cells_out.read_text()) if cells_out.exists() else {}
    cells_out.write_text(json.dumps({"date": report["date"], "machine": report["machine"],
                                     "slow_s": SLOW_S,  # profiling some lessons keeps the others'
                                     "lessons": {**old.get("lessons", {}), **cells}}, indent=2) + "\n")
    print(f"wrote {cells_out.relative_to(ROOT) if cells_out.is_relative_to(ROOT) else cells_out}")
    failed = [r["assignment"] for r in lessons if r["status"] != "ok"]
    if args.cells_only:
        return 1 if failed else 0
    if args.out.exists():  # profiling some lessons keeps the others' measurements (and the sizing
        # below still covers every lesson)
        ran = {r["assignment"] for r in lessons}
        kept = [r for r in json.loads(args.out.read_text()).get("lessons", []) if r["assignment"] not in ran]
        report["lessons"] = sorted(kept + lessons, key=lambda r: r["assignment"])
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    if DOC.exists() and START in DOC.read_text():
        update_doc(report, DOC)
        print(f"updated the measurements and sizing in {DOC}")
    if failed:
        print(f"lessons that raised: {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    raise SystemExit(main())
