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
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
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
            t0 = time.perf_counter()
            for index, cell in enumerate(nb.cells):
                try:
                    client.execute_cell(cell, index)
                except Exception as e:  # noqa: BLE001 - recorded, the profile goes on
                    status = f"error in cell {index}: {type(e).__name__}: {str(e)[-300:]}"
                    break
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
            }
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assignments", nargs="*", help="only these (default: every lesson)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per cell")
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
        "server": profile_server(),
        "lessons": lessons,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    failed = [r["assignment"] for r in lessons if r["status"] != "ok"]
    if failed:
        print(f"lessons that raised: {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    raise SystemExit(main())
