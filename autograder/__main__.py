"""Command line of the course's grader: ``python -m autograder COMMAND``.

  release [ASSIGNMENT ...]          regenerate lessons/ from solutions/ (nbgrader)
  grade FILE.ipynb [--json]          grade one submission in the sandbox
  check FILE.ipynb                   the same, as a readable summary (``make check NB=...``)
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_rel = sub.add_parser("release", help="regenerate lessons/ from solutions/")
    p_rel.add_argument("assignments", nargs="*")
    for name in ("grade", "check"):
        p = sub.add_parser(name, help="grade one notebook")
        p.add_argument("notebook")
        p.add_argument("--json", action="store_true", help="print the JSON result")
        p.add_argument("--no-sandbox", action="store_true",
                       help="run without bubblewrap (trusted notebooks only; recorded in flags)")
        p.add_argument("--timeout", type=float, default=120.0, help="seconds per submission")
        p.add_argument("--memory", type=int, default=2048, help="MiB per submission")
    args = parser.parse_args(argv)
    if args.command == "release":
        from .release import release
        for nb in release(args.assignments or None):
            print(f"released {nb.relative_to(nb.parents[2])}")
        return 0
    from .grade import main_grade
    return main_grade(args.notebook, as_json=args.json,
                      use_sandbox=not args.no_sandbox, timeout=args.timeout, memory_mb=args.memory)


if __name__ == "__main__":
    sys.exit(main())
