"""Helpers for working through the course in a notebook: grade yourself, restore a cell.

``check_notebook()`` grades the saved notebook this kernel runs, as the instructor's
grader does (``make check`` / ``course-check`` from a terminal); ``restore_cell("NAME")``
puts a cell back as the released lesson has it.
"""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path
from typing import Any

__all__ = ["CheckResult", "check_notebook", "released_cell", "restore_cell"]

ROOT = Path(__file__).resolve().parent.parent
#: where the released lessons are when the course was pip-installed without its folder (Colab)
RELEASE_URL = "https://raw.githubusercontent.com/deep-rl-course/deep-rl-course/v0.1.0/lessons"


def _kernel_inputs() -> list[str]:
    """The code this kernel has run, oldest first (empty outside IPython)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return []
    ip = get_ipython()
    if ip is None:
        return []
    return [str(s) for s in ip.history_manager.input_hist_raw if s]


def check_notebook(path: str | Path | None = None, timeout: float = 120.0) -> dict | None:
    """Grade the saved notebook with the hidden tests, as the grader does; print each exercise.

    path: the notebook (default: the one this kernel runs, which JupyterLab tells the
    kernel, else the only course notebook in the current folder).
    The grader reads the FILE, so save first (Ctrl+S): when the saved answer cells are
    not the code this kernel ran last, nothing is graded and the message names them.
    Returns the grader's result ({"assignment", "score", "max_score", "tests", "flags"}),
    or None when nothing was graded. Raises nothing: every problem is a printed message.
    """
    try:
        from autograder.notebook import SAVE_FIRST, notebook_of_kernel, unsaved_answers
    except ImportError as e:
        print(f"The grader is not installed here ({e}). In the course folder: make setup.")
        return None
    nb_path = Path(path) if path is not None else notebook_of_kernel()
    if nb_path is None:
        print("Which notebook? This kernel does not know its file. Name it: "
              "rlcore.check_notebook('02-trajectories-and-returns.ipynb')")
        return None
    if not nb_path.is_file():
        print(f"There is no notebook {nb_path}. Name the saved file: rlcore.check_notebook('NAME.ipynb')")
        return None
    stale = unsaved_answers(nb_path, _kernel_inputs())
    if stale:
        names = ", ".join(f"`{n}`" for n in stale)
        print(f"\u26a0 Not checked: the saved {nb_path.name} does not hold the code you ran last for "
              f"{names}. Save the notebook (Ctrl+S, or File > Save Notebook), then run this cell "
              "again. (If you changed a cell after running it, run it again first.)")
        return None
    print(SAVE_FIRST + " Grading takes a few seconds to a minute.", flush=True)
    result = _grade_in_a_process(nb_path, timeout)
    return None if result is None else CheckResult(result)


def _grade_in_a_process(nb_path: Path, timeout: float) -> dict | None:
    """Run the learner's self-check (``python -m autograder.selfcheck``) in a process of its own,
    showing its lines as they come: nothing of the grader stays in, or depends on, this kernel."""
    import subprocess
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, "-m", "autograder.selfcheck", "--timeout", str(timeout),
               "--result", str(out), str(nb_path.resolve())]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                cwd=str(ROOT))
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
        if proc.wait() != 0 or not out.is_file():
            print(f"The check stopped (exit code {proc.returncode}); run `make check` in a terminal "
                  "to see why.")
            return None
        result = json.loads(out.read_text())
    return result if isinstance(result, dict) else None


class CheckResult(dict):
    """The grader's result; shown in a notebook as one line (the summary is printed above it)."""

    def __repr__(self) -> str:
        return f"<check of {self.get('assignment')}: score {self.get('score'):g} / {self.get('max_score'):g}>"


def _find_cell(nb: dict, name: str) -> dict | None:
    """The cell with grade id or cell id ``name``, else the code cell that defines ``name``."""
    cells = nb.get("cells", [])
    for cell in cells:
        nbg = cell.get("metadata", {}).get("nbgrader", {})
        if nbg.get("grade_id") == name or cell.get("id") == name:
            return cell
    defines = re.compile(rf"^(?:def|class)\s+{re.escape(name)}\b", re.MULTILINE)
    for cell in cells:
        src = cell.get("source", "")
        if cell.get("cell_type") == "code" and defines.search("".join(src) if isinstance(src, list) else src):
            return cell
    return None


def _assignments() -> list[str]:
    folder = ROOT / "lessons"
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def released_cell(name: str, assignment: str | None = None) -> str:
    """Return the source of cell ``name`` as the released lesson has it.

    name: an exercise (``"rollout"``: its answer cell, the stub), a check cell
    (``"test_rollout"``), a cell id, or a function the cell defines (``"my_policy"``). assignment: the lesson (default: search every lesson
    of the course folder; where there is none, e.g. on Colab, give it and it is downloaded).
    Raises ValueError when no released lesson has such a cell.
    """
    names = [assignment] if assignment else _assignments()
    for a in names:
        path = ROOT / "lessons" / a / f"{a}.ipynb"
        if path.is_file():
            nb = json.loads(path.read_text())
        elif assignment:
            with urllib.request.urlopen(f"{RELEASE_URL}/{a}/{a}.ipynb", timeout=20) as r:
                nb = json.loads(r.read().decode())
        else:
            continue
        cell = _find_cell(nb, name)
        if cell is not None:
            src = cell.get("source", "")
            return "".join(src) if isinstance(src, list) else str(src)
    where = f"lesson {assignment}" if assignment else f"the lessons in {ROOT / 'lessons'}"
    raise ValueError(f"no cell named {name!r} in {where}; name an exercise (e.g. 'rollout') or its "
                     "check ('test_rollout')")


def restore_cell(name: str, assignment: str | None = None) -> None:
    """Put a cell back as released: run ``rlcore.restore_cell("NAME")`` IN the cell to restore.

    Replace the content of a cell you broke (an answer cell, a check cell) with this call
    and run it: the cell then holds its released text again (the exercise's stub: your code
    in it is gone, so copy anything you want to keep first), keeping the cell's place and
    grading metadata. Where the notebook cannot replace it, the text is printed to copy.
    Raises ValueError when no released lesson has a cell ``name``.
    """
    source = released_cell(name, assignment)
    shell: Any = None
    try:
        from IPython import get_ipython
        shell = get_ipython()
    except ImportError:  # pragma: no cover - IPython is a dependency
        pass
    if shell is not None and hasattr(shell, "set_next_input"):
        shell.set_next_input(source, replace=True)
        print(f"This cell now holds the released `{name}` again: run it (and its check cell). "
              "If it did not change, copy this text into it:\n")
    else:
        print(f"The released `{name}` (copy it into the cell):\n")
    print(source)
