"""A learner's self-check: grade your saved notebooks the way the instructor's grader does.

    make check                 (course folder, lessons/ or workspace/: every notebook you started)
    make check NB=02           (the lesson whose file name starts with 02)
    course-check [PATH|NN ...] (the same, from any folder, e.g. a JupyterLab terminal)
    rlcore.check_notebook()    (from a cell of the notebook itself)

Each notebook is graded as saved on disk, with the hidden tests and fresh random inputs,
in the grader's sandbox (or, where bubblewrap is missing, e.g. on macOS, without it: it
is your own notebook). The output is the grader's per-exercise summary (``grade.summary``).
A notebook in which nothing is filled in yet is skipped when a whole folder is checked.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from . import notebook
from .notebook import ROOT, SAVE_FIRST, GradeError, _is_lesson, notebook_of_kernel, unsaved_answers  # noqa: F401


def _notebooks_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts and _is_lesson(p))


def default_folder(cwd: Path) -> Path:
    """From the course folder itself: workspace/ when it exists, else lessons/; else ``cwd``."""
    cwd = cwd.resolve()
    if cwd == ROOT.resolve():
        return ROOT / "workspace" if (ROOT / "workspace").is_dir() else ROOT / "lessons"
    return cwd


def resolve(targets: list[str], cwd: Path) -> tuple[list[Path], bool]:
    """Turn the command's arguments into notebooks; second value: True if a folder was searched.

    Each target is a notebook file, a folder (its course notebooks), or a lesson number
    or name (``02``, ``02-trajectories-and-returns``) looked up under ``cwd``, then
    workspace/, then lessons/. Raises FileNotFoundError naming a target that matches nothing.
    """
    if not targets:
        return _notebooks_in(default_folder(cwd)), True
    found: list[Path] = []
    searched = False
    for t in targets:
        p = Path(t) if Path(t).is_absolute() else cwd / t
        if p.is_file():
            found.append(p)
        elif p.is_dir():
            found += _notebooks_in(p)
            searched = True
        else:
            for base in (default_folder(cwd), ROOT / "workspace", ROOT / "lessons"):
                hits = [n for n in _notebooks_in(base) if n.name.startswith(t)] if base.is_dir() else []
                if hits:
                    found += hits
                    break
            else:
                raise FileNotFoundError(f"no notebook, folder or lesson matches {t!r} (from {cwd})")
    return list(dict.fromkeys(found)), searched


def filled_in(path: Path) -> bool:
    """True when the notebook holds anything beyond the released lesson (answers, run cells)."""
    from .release import learner_work

    nb = notebook.read(path)
    assignment = notebook.find_assignment(nb, path)
    released = notebook.released_notebook(assignment)
    return bool(learner_work(nb, [released]))


def check_one(path: Path, timeout: float = 120.0, memory_mb: int = 2048, use_sandbox: bool = True,
              out=None) -> dict | None:
    """Grade one saved notebook and print the grader's summary; return the result (None: not gradable)."""
    from . import sandbox
    from .grade import grade, summary

    out = out or sys.stdout
    saved = time.strftime("%H:%M:%S", time.localtime(path.stat().st_mtime))
    print(f"Checking {path} (as saved at {saved}) ...", file=out, flush=True)
    try:
        try:
            result = grade(path, use_sandbox=use_sandbox, timeout=timeout, memory_mb=memory_mb)
        except sandbox.SandboxUnavailable as e:
            print(f"(the grader's sandbox is not available here: {e}; checking without it, which is "
                  "fine for your own notebook)", file=out, flush=True)
            result = grade(path, use_sandbox=False, timeout=timeout, memory_mb=memory_mb)
    except GradeError as e:
        print(f"cannot check: {e}", file=out)
        return None
    text = summary(result)
    if result["score"] == result["max_score"]:
        text += "\nAll exercises pass the hidden tests."
    print(text, file=out, flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    """``course-check``: see the module's docstring."""
    parser = argparse.ArgumentParser(prog="course-check", description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", help="notebooks, folders or lesson numbers (default: "
                        "every notebook you started under this folder)")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per notebook (default 120)")
    parser.add_argument("--memory", type=int, default=2048, help="MiB per notebook (default 2048)")
    parser.add_argument("--result", metavar="FILE", help=argparse.SUPPRESS)  # rlcore.check_notebook's
    args = parser.parse_args(argv)
    if args.result:  # one notebook, from a learner's kernel: its result as JSON for the kernel
        if len(args.targets) != 1:
            parser.error("--result takes exactly one notebook")
        result = check_one(Path(args.targets[0]), timeout=args.timeout, memory_mb=args.memory)
        Path(args.result).write_text(json.dumps(result))
        return 0
    return run(args.targets, timeout=args.timeout, memory_mb=args.memory)


def run(targets: list[str], timeout: float = 120.0, memory_mb: int = 2048, use_sandbox: bool = True) -> int:
    """Check ``targets`` (see ``resolve``) from the current folder; 0 unless nothing could be found."""
    cwd = Path.cwd()
    try:
        paths, searched = resolve(targets, cwd)
    except FileNotFoundError as e:
        print(f"course-check: {e}", file=sys.stderr)
        return 2
    print(SAVE_FIRST, flush=True)
    if not paths:
        print(f"No course notebook under {default_folder(cwd)}. Run this in your workspace/ or "
              "lessons/ folder, or name a notebook: course-check 02", flush=True)
        return 2
    graded = 0
    for path in paths:
        if searched and not filled_in(path):
            print(f"skipped {path.relative_to(cwd) if path.is_relative_to(cwd) else path}: nothing "
                  "filled in yet", flush=True)
            continue
        print(flush=True)
        if check_one(path, timeout=timeout, memory_mb=memory_mb, use_sandbox=use_sandbox) is not None:
            graded += 1
    if not graded:
        print("Nothing to check yet: write an exercise, save the notebook, then run this again.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
