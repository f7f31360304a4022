"""Helpers for lesson tests: execute notebooks, substitute answers, grade."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent


def solutions_path(assignment: str) -> Path:
    return ROOT / "solutions" / assignment / f"{assignment}.ipynb"


def lesson_path(assignment: str) -> Path:
    return ROOT / "lessons" / assignment / f"{assignment}.ipynb"


def execute(path: Path, timeout: int = 300) -> nbformat.NotebookNode:
    """Execute a notebook top to bottom in a fresh kernel (raises CellExecutionError on error)."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


def with_answers(assignment: str, answers: dict[str, str], base: str = "lessons",
                 tmpdir: Path | None = None) -> Path:
    """Write a copy of the lesson (or solutions) with answer cells replaced; return its path.

    answers: {grade_id: full source of the answer cell}. The file lands in a temporary
    folder named like the assignment, as a learner's submission would.
    """
    src = lesson_path(assignment) if base == "lessons" else solutions_path(assignment)
    nb = copy.deepcopy(nbformat.read(src, as_version=4))
    found = set()
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]
            found.add(gid)
    missing = set(answers) - found
    if missing:
        raise KeyError(f"no answer cells {sorted(missing)} in {src}")
    folder = Path(tmpdir or tempfile.mkdtemp(prefix="sub-")) / assignment
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{assignment}.ipynb"
    nbformat.write(nb, out)
    return out


def filled_in(assignment: str, tmpdir: Path | None = None) -> Path:
    """The released lesson with every answer cell filled in from the solutions notebook."""
    sol = nbformat.read(solutions_path(assignment), as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in sol.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    return with_answers(assignment, answers, tmpdir=tmpdir)


def grade(path: Path, **kw) -> dict:
    from autograder.grade import grade as _grade

    return _grade(path, **kw)


def answer_source(assignment: str, name: str) -> str:
    sol = nbformat.read(solutions_path(assignment), as_version=4)
    for c in sol.cells:
        if c.metadata.get("nbgrader", {}).get("grade_id") == name:
            return c.source
    raise KeyError(name)
