"""Command line of the course's grader: ``python -m autograder COMMAND`` (see docs/instructors.md).

  release [ASSIGNMENT ...] [--force] regenerate lessons/ from solutions/ (nbgrader); refuses to
                                     overwrite a learner's work unless --force (then backs it up)
  workspace [FOLDER]                 make or extend a learner's workspace/ from lessons/ (``make lab``)
  collect DIR|ZIP                    copy hand-ins into grading/submitted/<student>/<assignment>/
  grade                              grade every new or changed collected submission (parallel)
  grade FILE.ipynb [--json]          grade one submission in the sandbox
  check [FILE|FOLDER|NN ...]         a learner's self-check: grade saved notebooks, readable summary
                                     (``make check``, ``course-check``, ``rlcore.check_notebook()``)
  feedback                           one HTML page per student and assignment
  report                             report.csv, report-tests.csv, report.png, report-mistakes.*
  lessons                            the lessons found in solutions/, and any part one is missing
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .notebook import ROOT


def _limits(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-sandbox", action="store_true",
                   help="run without bubblewrap (trusted notebooks only; recorded in flags)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per submission (default 120)")
    p.add_argument("--memory", type=int, default=2048, help="MiB per submission (default 2048)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grading", default=os.environ.get("AUTOGRADER_GRADING", str(ROOT / "grading")),
                        help="the grading folder (default: grading/ of the course; nbgrader's gradebook "
                             "is gradebook.db in it)")
    sub = parser.add_subparsers(dest="command", required=True)
    p_rel = sub.add_parser("release", help="regenerate lessons/ from solutions/ (never over a learner's work)")
    p_rel.add_argument("assignments", nargs="*")
    p_rel.add_argument("--force", action="store_true",
                       help="release over a lesson that holds a learner's work, after a backup")
    p_ws = sub.add_parser("workspace", help="make or extend a learner's workspace from lessons/")
    p_ws.add_argument("folder", nargs="?", default=str(ROOT / "workspace"))
    p_col = sub.add_parser("collect", help="collect a folder or zip of submissions")
    p_col.add_argument("source", help="folder of <student>/<assignment>.ipynb, or an LMS zip")
    p_col.add_argument("--json", action="store_true")
    p_grade = sub.add_parser("grade", help="grade one notebook, or every collected submission")
    p_grade.add_argument("notebook", nargs="?", help="one notebook (default: all collected submissions)")
    p_grade.add_argument("--json", action="store_true", help="print the JSON result")
    p_grade.add_argument("--jobs", "-j", type=int, default=None, help="sandboxes in parallel (default: cores)")
    p_grade.add_argument("--force", action="store_true", help="grade again even if nothing changed")
    p_grade.add_argument("--assignment", action="append", help="only this assignment (repeatable)")
    _limits(p_grade)
    p_check = sub.add_parser("check", help="a learner's self-check: grade saved notebooks, readable summary")
    p_check.add_argument("notebook", nargs="*", help="notebooks, folders or lesson numbers (default: "
                         "every notebook started under this folder; workspace/ from the course folder)")
    p_check.add_argument("--json", action="store_true", help="one notebook: print the JSON result")
    _limits(p_check)
    p_fb = sub.add_parser("feedback", help="write the students' HTML feedback")
    p_fb.add_argument("--student", action="append")
    sub.add_parser("report", help="write the CSV report and the score-distribution plot")
    sub.add_parser("lessons", help="list the lessons and the files each is missing")
    args = parser.parse_args(argv)
    grading = Path(args.grading)

    if args.command == "release":
        from .release import release
        done = release(args.assignments or None, force=args.force)
        for r in done:
            print(r.message(), file=sys.stderr if r.status == "refused" else sys.stdout)
        return 1 if any(r.status == "refused" for r in done) else 0
    if args.command == "workspace":
        from .workspace import sync_workspace
        print(sync_workspace(Path(args.folder)).report())
        return 0
    if args.command == "collect":
        from .collect import collect
        try:
            col = collect(args.source, grading)
        except (FileNotFoundError, ValueError) as e:
            print(f"cannot collect: {e}", file=sys.stderr)
            return 2
        if args.json:
            print(json.dumps([vars(i) for i in col.items], indent=1))
        else:
            print(col.summary())
        print(f"submissions are in {grading / 'submitted'}; next: make grade", file=sys.stderr)
        return 0 if col.collected else 1
    if args.command == "check" and not args.json:
        from .selfcheck import run
        return run(args.notebook, timeout=args.timeout, memory_mb=args.memory,
                   use_sandbox=not args.no_sandbox)
    if args.command == "check" and len(args.notebook) != 1:
        parser.error("check --json needs exactly one notebook")
    if args.command in ("grade", "check") and args.notebook:
        from .grade import main_grade
        nb = args.notebook if args.command == "grade" else args.notebook[0]
        return main_grade(nb, as_json=args.json, use_sandbox=not args.no_sandbox,
                          timeout=args.timeout, memory_mb=args.memory)
    if args.command == "grade":
        from .batch import grade_all
        from .sandbox import SandboxUnavailable
        try:
            summary = grade_all(grading, jobs=args.jobs, timeout=args.timeout, memory_mb=args.memory,
                                use_sandbox=not args.no_sandbox, force=args.force, only=args.assignment)
        except SandboxUnavailable as e:
            print(f"cannot grade: {e}", file=sys.stderr)
            return 3
        print(summary.text())
        if not summary.graded and not summary.unchanged:
            print(f"nothing to grade in {grading / 'submitted'}: run `make collect DIR=...` first",
                  file=sys.stderr)
        return 0
    if args.command == "feedback":
        from .feedback import write_feedback
        pages = write_feedback(grading, args.student)
        print(f"wrote {len(pages)} feedback pages under {grading / 'feedback'}")
        return 0
    if args.command == "lessons":
        from .notebook import assignments, missing_parts
        problems = 0
        for name in assignments():
            missing = missing_parts(name)
            problems += bool(missing)
            print(f"{name}: " + (f"missing {', '.join(missing)}" if missing else "complete"))
        return 1 if problems else 0
    if args.command == "report":
        from .report import write_report
        for p in write_report(grading):
            print(f"wrote {p}")
        return 0
    parser.error(f"{args.command} needs a notebook")
    return 2


if __name__ == "__main__":
    sys.exit(main())
