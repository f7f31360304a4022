"""`make bench-hub`: N simulated learners on a real JupyterHub (deploy/hub), lesson 06 for all.

    python bench/hub_load.py --learners 8,16 [--stagger 4] [--lesson 06-dqn] [--no-doc]

For each N: a fresh hub (run.temporary_hub: real Unix accounts as root, the memory limit,
the culler) and N learner threads, started ``--stagger`` seconds apart as a class arrives.
Each learner logs in through the login form, starts their server, pulls the course through
the course link (nbgitpuller), saves their filled-in lesson (the solutions notebook with the
hidden tests removed, as `make profile` runs it) over the released one, and executes it cell
by cell over the kernel websocket, saving after every cell as autosave would. Meanwhile a
second, plain kernel of the same server runs a light cell every 2 s (what a learner feels
when they try something small while the class trains), and a sampler records the hub API's
latency and the resident memory of every learner's processes (server + kernels, by uid).

Recorded (bench/results/hub.json, hub.png): spawn time, lesson time, light-cell latency p50/p95
while others train, hub API latency, peak memory per learner, failures and lost notebooks
(a saved notebook missing the outputs of a cell that ran). The sizing block of docs/deploy.md
(<!-- hub:start --> .. <!-- hub:end -->) is rewritten from these numbers. Every loop is bounded;
requests go to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import pwd
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import nbformat
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.profile_lessons import HIDDEN
from deploy.hub import run
from deploy.hub.client import HubClientError, Learner

OUT = ROOT / "bench" / "results" / "hub.json"
PLOT = ROOT / "bench" / "results" / "hub.png"
DOC = ROOT / "docs" / "deploy.md"
START, END = "<!-- hub:start -->", "<!-- hub:end -->"
MIB = 2**20
LIGHT_CELL = "sum(i * i for i in range(10_000))"
LIGHT_EVERY_S = 2.0
P95_BOUND_S = 2.0          # a light cell's p95 latency must stay under this
LESSON_BOUND_S = 300.0     # and every learner's lesson must finish within this
HEADROOM = 1.2             # over the measured peak memory, as in bench/profile_lessons.py
HUB_OVERHEAD_MIB = 2048


def pct(xs: list[float], q: float) -> float | None:
    """The q-th percentile (nearest rank) of xs, None when empty."""
    if not xs:
        return None
    s = sorted(xs)
    return round(s[min(len(s) - 1, max(0, math.ceil(q / 100 * len(s)) - 1))], 3)


def filled_lesson(assignment: str) -> dict:
    """The solutions notebook without hidden tests (a learner who did every exercise)."""
    nb = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = HIDDEN.sub("", cell.source)
            cell.outputs, cell.execution_count = [], None
    return json.loads(nbformat.writes(nb))


class State:
    """What every thread records, under one lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.training: set[str] = set()
        self.light: list[dict] = []
        self.api_ms: list[float] = []
        self.api_unavailable = 0  # samples (about 1 s apart) when the hub did not answer
        self.peak_mib: dict[str, float] = {}
        self.failures: list[str] = []
        self.stop = threading.Event()
        self.cpu_s = {"learners": 0.0, "others": 0.0}  # CPU seconds used during the run
        self.load: list[float] = []


def learner_run(hub: run.Hub, name: str, delay: float, assignment: str, st: State,
                out: dict, cell_timeout: float) -> None:
    time.sleep(delay)
    rec = out.setdefault(name, {"name": name})
    try:
        lr = Learner(hub.url, name, hub.passwords[name], timeout=120)
        rec["login_s"] = round(lr.login(), 3)
        rec["spawn_s"] = round(lr.spawn(timeout=600), 2)
        t = time.perf_counter()
        phase = lr.git_pull(f"file://{hub.course_repo}")
        rec["git_pull_s"], rec["git_pull"] = round(time.perf_counter() - t, 2), phase
        if phase != "finished":
            raise HubClientError(f"course link ended in phase {phase!r}")
        path = f"{run.COURSE}/lessons/{assignment}/{assignment}.ipynb"
        lr.put_notebook(path, filled_lesson(assignment))  # the learner's own filled-in copy
        light = lr.start_kernel(f"{run.COURSE}/scratch.ipynb", kernel="python3")
        lesson = lr.start_kernel(path)
        done = threading.Event()

        def probe() -> None:
            while not done.is_set() and not st.stop.is_set():
                with st.lock:
                    others = len(st.training - {name})
                ex = light.execute(LIGHT_CELL, timeout=120)
                with st.lock:
                    st.light.append({"learner": name, "t": time.time(), "s": ex.seconds,
                                     "others_training": others, "ok": ex.status == "ok"})
                done.wait(LIGHT_EVERY_S)

        prober = threading.Thread(target=probe, daemon=True)
        with st.lock:
            st.training.add(name)
        t0 = time.perf_counter()
        prober.start()
        try:
            _nb, execs = lr.run_notebook(path, timeout_per_cell=cell_timeout, kernel=lesson)
        finally:
            with st.lock:
                st.training.discard(name)
            done.set()
            prober.join(timeout=150)
        rec["lesson_s"] = round(time.perf_counter() - t0, 2)
        rec["cells"] = len(execs)
        rec["cell_s"] = [round(e.seconds, 3) for e in execs]
        bad = [e for e in execs if e.status != "ok"]
        if bad:
            raise HubClientError(f"a cell ended {bad[0].status}: {bad[0].text()[-300:]}")
        saved = lr.get_notebook(path)
        code = [c for c in saved["cells"] if c["cell_type"] == "code"]
        missing = [i for i, c in enumerate(code) if c.get("execution_count") is None]
        rec["lost_cells"] = len(missing)
        lesson.close()
        light.close()
    except Exception as e:  # noqa: BLE001 - every failure is recorded, none stops the others
        rec["error"] = f"{type(e).__name__}: {e}"
        with st.lock:
            st.failures.append(f"{name}: {rec['error']}")


def sampler(hub: run.Hub, st: State, names: list[str]) -> None:
    uids = {pwd.getpwnam(n).pw_uid: n for n in names} if hub.real_users else {}
    last: dict[int, float] = {}
    while not st.stop.is_set():
        t = time.perf_counter()
        try:
            hub.api("GET", "/users", timeout=30)
            ms = (time.perf_counter() - t) * 1000
        except Exception:  # noqa: BLE001 - the hub is away (restarting): counted apart
            ms = None
        rss: dict[str, float] = {}
        cpu = {"learners": 0.0, "others": 0.0}
        seen: dict[int, float] = {}
        for p in psutil.process_iter(["uids", "memory_info", "cpu_times"]):
            with_uid, times = p.info["uids"], p.info["cpu_times"]
            ours = bool(with_uid and with_uid.real in uids)
            if times is not None:
                used = times.user + times.system
                seen[p.pid] = used
                cpu["learners" if ours else "others"] += used - last.get(p.pid, used)
            if ours and p.info["memory_info"]:
                n = uids[with_uid.real]
                rss[n] = rss.get(n, 0.0) + p.info["memory_info"].rss / MIB
        last = seen
        with st.lock:
            st.cpu_s["learners"] += cpu["learners"]
            st.cpu_s["others"] += cpu["others"]
            st.load.append(os.getloadavg()[0])
            if ms is None:
                st.api_unavailable += 1
            else:
                st.api_ms.append(ms)
            for n, v in rss.items():
                st.peak_mib[n] = max(st.peak_mib.get(n, 0.0), v)
        st.stop.wait(1.0)


def bench_one(n: int, assignment: str, stagger: float, cell_timeout: float,
              restart_at: float | None = None) -> dict:
    st = State()
    out: dict[str, dict] = {}
    t0 = time.perf_counter()
    with run.temporary_hub(learners=n, prefix="b") as hub:
        sam = threading.Thread(target=sampler, args=(hub, st, hub.learners), daemon=True)
        sam.start()
        threads = [threading.Thread(target=learner_run, daemon=True,
                                    args=(hub, name, i * stagger, assignment, st, out,
                                          cell_timeout))
                   for i, name in enumerate(hub.learners)]
        for th in threads:
            th.start()
        restart: dict = {}
        if restart_at is not None:  # the hub process restarted while the class works

            def restarter() -> None:
                if not st.stop.wait(restart_at):
                    with st.lock:
                        training = len(st.training)
                    restart.update(at_s=restart_at, training=training,
                                   away_s=round(hub.restart_hub(), 2))

            threading.Thread(target=restarter, daemon=True).start()
        deadline = time.monotonic() + n * stagger + 3600  # bounded: never more than an hour
        for th in threads:
            th.join(timeout=max(1.0, deadline - time.monotonic()))
        if any(th.is_alive() for th in threads):
            st.failures.append("some learners were still running after the time bound")
        st.stop.set()
        sam.join(timeout=60)
        server = {"servers_alive_after": sum(bool(u.get("servers"))
                                             for u in hub.api("GET", "/users"))}
    learners = [out.get(name, {"name": name}) for name in sorted(out)]
    during = [x["s"] for x in st.light if x["others_training"] > 0 and x["ok"]]
    lessons = [r["lesson_s"] for r in learners if "lesson_s" in r]
    spawns = [r["spawn_s"] for r in learners if "spawn_s" in r]
    peaks = list(st.peak_mib.values())
    return {
        "learners": n, "stagger_s": stagger, "assignment": assignment,
        "wall_s": round(time.perf_counter() - t0, 1),
        "failures": st.failures,
        "lost_notebooks": sum(1 for r in learners if r.get("lost_cells")),
        "spawn_s": {"p50": pct(spawns, 50), "p95": pct(spawns, 95), "max": max(spawns, default=None)},
        "lesson_s": {"p50": pct(lessons, 50), "p95": pct(lessons, 95),
                     "max": max(lessons, default=None), "done": len(lessons)},
        "light_cell_s": {"p50": pct(during, 50), "p95": pct(during, 95),
                         "max": max(during, default=None), "samples": len(during)},
        "hub_api_ms": {"p50": pct(st.api_ms, 50), "p95": pct(st.api_ms, 95),
                       "max": round(max(st.api_ms, default=0), 1),
                       "unavailable_samples": st.api_unavailable},
        "peak_mib_per_learner": {"max": round(max(peaks, default=0), 1),
                                 "mean": round(statistics.mean(peaks), 1) if peaks else None},
        **server,
        "hub_restart": restart or None,
        # the machine is shared: what else ran while the class did (other users' jobs)
        "cpu_s": {k: round(v, 1) for k, v in st.cpu_s.items()},
        "loadavg_1min_mean": round(statistics.mean(st.load), 2) if st.load else None,
        "per_learner": learners,
        "light_samples": [{k: (round(v, 3) if isinstance(v, float) else v)
                           for k, v in x.items()} for x in st.light],
    }


def sizing(runs: list[dict], cores: int) -> dict:
    """Cores and memory per learner from the runs.

    Observed: the runs that kept the bounds (light cell p95 < 2 s, every lesson done within
    5 minutes, no failure). Model (the lessons are CPU-bound, the light cell never was): a
    learner's server and kernels used ``cpu_per_learner`` CPU seconds for the lesson (the
    largest over the runs, all processes of their account: server start, course link, lesson,
    light cell), so one core finishes ``LESSON_BOUND_S / cpu_per_learner`` learners' lessons
    within the bound when the whole class runs it at once. Memory per learner = the measured
    peak (server + kernels) x HEADROOM, rounded up to 128 MiB.
    """
    ok = [r for r in runs if not r["failures"] and r["lesson_s"]["max"] is not None
          and r["lesson_s"]["done"] == r["learners"]
          and (r["light_cell_s"]["p95"] or 0) < P95_BOUND_S
          and r["lesson_s"]["max"] <= LESSON_BOUND_S]
    peak = max((r["peak_mib_per_learner"]["max"] for r in runs), default=0)
    mem = int(math.ceil(HEADROOM * peak / 128) * 128)
    cpu = max((r["cpu_s"]["learners"] / r["learners"] for r in runs if r.get("cpu_s")),
              default=None)
    per_core = math.floor(10 * LESSON_BOUND_S / cpu) / 10 if cpu else None
    rows = {}
    for n in (30, 100, 500):
        rows[n] = {"cores": math.ceil(n / per_core) if per_core else None,
                   "ram_gib": math.ceil((n * mem + HUB_OVERHEAD_MIB) / 1024)}
    return {"bounds": {"light_p95_s": P95_BOUND_S, "lesson_s": LESSON_BOUND_S},
            "passing_n": [r["learners"] for r in ok], "cores": cores,
            "cpu_s_per_learner": round(cpu, 1) if cpu else None,
            "learners_per_core": per_core,
            "mem_per_learner_mib": mem, "learners_per_gib": round(1024 / mem, 2) if mem else None,
            "rows": rows}


def share(r: dict) -> str:
    total = r["cpu_s"]["learners"] + r["cpu_s"]["others"]
    return f"{100 * r['cpu_s']['learners'] / total:.0f}%" if total else "n/a"


def render(report: dict) -> str:
    s = report["sizing"]
    lines = [(f"Measured {report['date']} by `make bench-hub` on {report['machine']['cores']} CPU "
             f"cores, {report['machine']['ram_gib']} GiB: a real JupyterHub ({report['hub']}), "
             f"learners arriving {report['runs'][0]['stagger_s']:g} s apart, each running "
             f"`{report['runs'][0]['assignment']}` filled in, top to bottom, over the kernel "
             "websocket, while a second kernel runs a light cell every 2 s."), "",
             ("| learners | spawn p50 / max s | lesson p50 / max s | light cell p50 / p95 s | "
             "hub API p95 ms | peak MiB per learner | failures | lost notebooks |"),
             "|---|---|---|---|---|---|---|---|"]
    for r in report["runs"]:
        lines.append(
            f"| {r['learners']} | {r['spawn_s']['p50']} / {r['spawn_s']['max']} | "
            f"{r['lesson_s']['p50']} / {r['lesson_s']['max']} | {r['light_cell_s']['p50']} / "
            f"{r['light_cell_s']['p95']} | {r['hub_api_ms']['p95']} | "
            f"{r['peak_mib_per_learner']['max']} | {len(r['failures'])} | {r['lost_notebooks']} |")
    lines.append("")
    shares = [f"N={r['learners']}: {share(r)}" for r in report["runs"]]
    lines.append("This machine was shared with other jobs while it ran; the share of the CPU the "
                 "learners got (their CPU seconds / all CPU seconds used): " + ", ".join(shares)
                 + ". On a machine of its own the class would get all of it.")
    lines.append("")
    worst = max(report["runs"], key=lambda r: r["learners"])
    if s["passing_n"]:
        lines.append(f"Kept the bounds (light cell p95 < {s['bounds']['light_p95_s']:g} s, every "
                     f"lesson done within {s['bounds']['lesson_s']:g} s, no failure): N = "
                     f"{', '.join(map(str, s['passing_n']))} on {s['cores']} cores.")
    else:
        lines.append(f"No run kept every lesson within {s['bounds']['lesson_s']:g} s on these "
                     f"{s['cores']} shared cores (the slowest took {worst['lesson_s']['max']:g} s "
                     f"with N = {worst['learners']}), while the light cell stayed far under "
                     f"{s['bounds']['light_p95_s']:g} s (p95 {worst['light_cell_s']['p95']} s): "
                     "the class waits for CPU to train, not to type.")
    if s["learners_per_core"]:
        lines.append("")
        lines.append(
            f"Sizing from these runs: each learner's account used **{s['cpu_s_per_learner']:g} "
            f"CPU s** for the lesson (server start, course link, lesson, light cell), so one "
            f"core finishes **{s['learners_per_core']:g} learners** within "
            f"{s['bounds']['lesson_s']:g} s when the whole class runs it at once; memory "
            f"{HEADROOM:g} x the peak = **{s['mem_per_learner_mib']} MiB per learner** "
            f"({s['learners_per_gib']:g} per GiB).")
        lines += ["", "| learners | cores (whole class trains at once) | RAM (N x per learner + 2 GiB hub) |",
                  "|---|---|---|"]
        for n, row in s["rows"].items():
            lines.append(f"| {n} | **{row['cores']}** | **{row['ram_gib']} GiB** |")
    return "\n".join(lines)


def update_doc(report: dict, doc: Path = DOC) -> bool:
    text = doc.read_text()
    if START not in text or END not in text:
        return False
    a, b = text.index(START) + len(START), text.index(END)
    doc.write_text(text[:a] + "\n" + render(report) + "\n" + text[b:])
    return True


def plot(report: dict, path: Path = PLOT) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = report["runs"]
    fig, ax = plt.subplots(1, 3, figsize=(14, 4))
    for r in runs:
        xs = [x for x in r["light_samples"] if x["ok"]]
        if xs:
            t0 = min(x["t"] for x in xs)
            ax[0].scatter([(x["t"] - t0) for x in xs], [x["s"] for x in xs], s=6,
                          label=f"N={r['learners']}")
    ax[0].axhline(P95_BOUND_S, color="k", lw=0.8, ls="--")
    ax[0].set(title="light cell latency while the class trains", xlabel="s since first probe",
              ylabel="s", yscale="log")
    ax[0].legend()
    labels = [f"N={r['learners']}" for r in runs]
    ax[1].boxplot([[p["lesson_s"] for p in r["per_learner"] if "lesson_s" in p] or [0]
                   for r in runs], tick_labels=labels)
    ax[1].axhline(LESSON_BOUND_S, color="k", lw=0.8, ls="--")
    ax[1].set(title=f"time to run {runs[0]['assignment']}", ylabel="s")
    ax[2].boxplot([[p["spawn_s"] for p in r["per_learner"] if "spawn_s" in p] or [0]
                   for r in runs], tick_labels=labels)
    ax[2].set(title="server start (spawn) time", ylabel="s")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--learners", default="8,16", help="comma-separated N to run")
    ap.add_argument("--stagger", type=float, default=4.0, help="seconds between arrivals")
    ap.add_argument("--lesson", default="06-dqn")
    ap.add_argument("--cell-timeout", type=float, default=900.0)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--no-doc", action="store_true", help="do not rewrite docs/deploy.md")
    ap.add_argument("--render", action="store_true",
                    help="only recompute the sizing, plot and docs from --out's JSON")
    ap.add_argument("--restart-hub-at", type=float, default=None,
                    help="restart the hub process this many seconds into each run")
    args = ap.parse_args(argv)

    def interrupted(*_: object) -> None:
        raise KeyboardInterrupt  # the hub, its servers and accounts are removed on the way out

    signal.signal(signal.SIGTERM, interrupted)
    if args.render:
        report = json.loads(args.out.read_text())
        report["sizing"] = sizing(report["runs"], report["machine"]["cores"])
        args.out.write_text(json.dumps(report, indent=1))
        plot(report, args.out.with_suffix(".png"))
        if not args.no_doc and args.out == OUT:
            update_doc(report)
        print(render(report))
        return 0
    reason = "" if os.geteuid() == 0 else "the load test needs root (real Unix accounts)"
    if reason:
        print(f"make bench-hub: {reason}", file=sys.stderr)
        return 2
    runs = []
    for n in [int(x) for x in args.learners.split(",") if x.strip()]:
        print(f"[bench-hub] N={n}: {n} learners, {args.stagger:g} s apart, {args.lesson}",
              flush=True)
        try:
            r = bench_one(n, args.lesson, args.stagger, args.cell_timeout, args.restart_hub_at)
        except run.HubError as e:
            print(f"make bench-hub: {e}", file=sys.stderr)
            return 2
        runs.append(r)
        print(f"[bench-hub] N={n}: spawn max {r['spawn_s']['max']} s, lesson max "
              f"{r['lesson_s']['max']} s ({r['lesson_s']['done']}/{n} done), light p95 "
              f"{r['light_cell_s']['p95']} s, hub API p95 {r['hub_api_ms']['p95']} ms, peak "
              f"{r['peak_mib_per_learner']['max']} MiB, failures {len(r['failures'])}, lost "
              f"{r['lost_notebooks']}", flush=True)
        for f in r["failures"]:
            print(f"  FAILED {f}", flush=True)
    version = subprocess.run([str(run.server_python()), "-c",
                              "import jupyterhub; print(jupyterhub.__version__)"],
                             capture_output=True, text=True, check=False).stdout.strip()
    report = {"date": date.today().isoformat(), "hub": f"JupyterHub {version}",
              "machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                          "ram_gib": round(psutil.virtual_memory().total / 2**30, 1)},
              "memory_limit_mib_as": run.MEMORY_LIMIT_MIB, "runs": runs}
    report["sizing"] = sizing(runs, os.cpu_count() or 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    plot(report, args.out.with_suffix(".png"))
    if not args.no_doc and args.out == OUT:
        update_doc(report)
    print(render(report))
    return 0 if all(not r["failures"] and not r["lost_notebooks"] for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
