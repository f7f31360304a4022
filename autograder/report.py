"""``report``: scores per student and exercise (CSV) and their distribution (PNG).

``grading/report.csv``: one row per student; for each assignment one column per test
(``ASSIGNMENT/test_NAME``) and a total, then the overall total and a ``flags`` column
(``ASSIGNMENT: flag, flag; ...``) so flagged submissions stand out in a spreadsheet.
``grading/report-tests.csv``: one row per student, assignment and test, with the status,
message and the named mistake (its catalog id) when the test matched one.
``grading/report.png``: per assignment, how many students passed, failed, errored, timed
out or did not run each exercise, and the histogram of totals.
``grading/report-mistakes.csv`` and ``report-mistakes.png``: per exercise, how many
students made each named mistake ("dqn_targets: 12 of 40 bootstrapped through terminal
states"), most common first: which misconception to address in the next class.
"""

from __future__ import annotations

import csv
from pathlib import Path

from . import batch
from .grade import STATUSES

STATUS_COLORS = {"passed": "#2da44e", "failed": "#cf222e", "error": "#fb8f44", "timeout": "#bf8700",
                 "not-run": "#8c959f"}


def write_report(grading: str | Path) -> tuple[Path, ...]:
    """Write report.csv, report-tests.csv, report.png and the mistake report; return their paths."""
    grading = Path(grading)
    records = batch.load_records(grading)
    assignments = sorted({r["assignment"] for r in records})
    tests: dict[str, list[str]] = {}
    for r in records:
        names = tests.setdefault(r["assignment"], [])
        for t in r["result"]["tests"]:
            if t["name"] not in names:
                names.append(t["name"])
    students = sorted({r["student"] for r in records})
    by = {(r["student"], r["assignment"]): r for r in records}
    wide = grading / "report.csv"
    header = ["student"]
    for a in assignments:
        header += [f"{a}/{t}" for t in tests[a]] + [f"{a}/total"]
    header += ["total", "max_total", "flags"]
    with open(wide, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for s in students:
            row, total, max_total, flags = [s], 0.0, 0.0, []
            for a in assignments:
                r = by.get((s, a))
                got = {t["name"]: t for t in r["result"]["tests"]} if r else {}
                row += [f"{got[t]['score']:g}" if t in got else "" for t in tests[a]]
                if r:
                    row.append(f"{r['result']['score']:g}")
                    total += r["result"]["score"]
                    max_total += r["result"]["max_score"]
                    if r["result"]["flags"]:
                        flags.append(f"{a}: {', '.join(r['result']['flags'])}")
                else:
                    row.append("")
            w.writerow(row + [f"{total:g}", f"{max_total:g}", "; ".join(flags)])
    long = grading / "report-tests.csv"
    with open(long, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["student", "assignment", "test", "score", "max_score", "status", "message", "mistake",
                    "flags"])
        for r in records:
            for t in r["result"]["tests"]:
                w.writerow([r["student"], r["assignment"], t["name"], f"{t['score']:g}",
                            f"{t['max_score']:g}", t["status"], t["message"], t.get("mistake") or "",
                            ", ".join(r["result"]["flags"])])
    png = grading / "report.png"
    _plot(records, assignments, tests, png)
    counts = mistake_counts(records)
    mistakes_csv, mistakes_png = grading / "report-mistakes.csv", grading / "report-mistakes.png"
    with open(mistakes_csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["assignment", "exercise", "mistake", "description", "students", "of", "who"])
        for row in counts:
            w.writerow([row["assignment"], row["exercise"], row["mistake"], row["description"],
                        len(row["students"]), row["of"], " ".join(row["students"])])
    _plot_mistakes(counts, mistakes_png)
    return wide, long, png, mistakes_csv, mistakes_png


def mistake_counts(records: list[dict]) -> list[dict]:
    """Per assignment, exercise and named mistake: the students who made it, most common first.

    Each row: assignment, exercise, mistake (catalog id), description (the catalog's short
    phrase), students (sorted names), of (students graded on that assignment).
    """
    from rlcore import catalog

    graded: dict[str, set[str]] = {}
    made: dict[tuple[str, str], set[str]] = {}
    for r in records:
        graded.setdefault(r["assignment"], set()).add(r["student"])
        for t in r["result"]["tests"]:
            if t.get("mistake"):
                made.setdefault((r["assignment"], t["mistake"]), set()).add(r["student"])
    rows = []
    for (assignment, mistake_id), students in made.items():
        exercise = mistake_id.split("/", 1)[0]
        m = catalog.find_mistake(mistake_id)
        description = m.short if m is not None else mistake_id  # an id older than the catalog: keep it
        rows.append({"assignment": assignment, "exercise": exercise, "mistake": mistake_id,
                     "description": description, "students": sorted(students),
                     "of": len(graded[assignment])})
    return sorted(rows, key=lambda row: (row["assignment"], -len(row["students"]), row["mistake"]))


def _plot_mistakes(counts: list[dict], png: Path) -> None:
    """Horizontal bars: "exercise: k of n <description>", one per named mistake, most common first."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(11, 1.2 + 0.32 * max(1, len(counts))))
    if counts:
        labels = [f"{row['exercise']}: {len(row['students'])} of {row['of']} {row['description']}"
                  for row in counts]
        ax.barh(range(len(counts)), [len(row["students"]) for row in counts], color="#cf222e")
        ax.set_yticks(range(len(counts)), labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlim(0, max(row["of"] for row in counts))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    else:
        ax.text(0.5, 0.5, "no named mistakes in the graded submissions", ha="center", va="center",
                transform=ax.transAxes)
        ax.set_yticks([])
    ax.set_xlabel("students")
    assignments = sorted({row["assignment"] for row in counts})
    ax.set_title("Most common mistakes" + (f" ({', '.join(assignments)})" if assignments else ""),
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)


def _plot(records: list[dict], assignments: list[str], tests: dict[str, list[str]], png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.ticker import MaxNLocator

    n = max(1, len(assignments))
    height = 1.0 + sum(1.2 + 0.3 * len(tests.get(a, [])) for a in assignments or [""])
    fig, axes = plt.subplots(n, 2, figsize=(12, height), squeeze=False,
                             gridspec_kw={"width_ratios": [3, 2]})
    for row, a in enumerate(assignments or [""]):
        ax, hx = axes[row]
        recs = [r for r in records if r["assignment"] == a]
        names = tests.get(a, [])
        left = np.zeros(len(names))
        for status in STATUSES:
            counts = np.array([sum(1 for r in recs for t in r["result"]["tests"]
                                   if t["name"] == name and t["status"] == status) for name in names])
            if counts.any():
                ax.barh(range(len(names)), counts, left=left, color=STATUS_COLORS[status], label=status)
            left += counts
        ax.set_yticks(range(len(names)), [x.removeprefix("test_") for x in names], fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel("students")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(f"{a}: result per exercise", fontsize=10)
        ax.legend(fontsize=7, loc="lower right")
        totals = [r["result"]["score"] for r in recs]
        top = max([r["result"]["max_score"] for r in recs] or [1])
        hx.hist(totals, bins=np.linspace(0, top, int(min(top, 20)) + 2), color="#0969da", edgecolor="white")
        hx.set_xlabel("score (points)")
        hx.set_ylabel("students")
        hx.yaxis.set_major_locator(MaxNLocator(integer=True))
        hx.set_title(f"{a}: total score (max {top:g})", fontsize=10)
    fig.suptitle(f"Grades of {len({r['student'] for r in records})} students")
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)
