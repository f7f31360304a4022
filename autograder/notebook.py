"""Reading course notebooks: which assignment, which cells run, which tests exist, what was tampered with."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
LESSONS = ROOT / "lessons"
SKIP_TAGS = {"demo", "colab"}


class GradeError(Exception):
    """The file cannot be graded (not a course notebook, unreadable): a one-line reason."""


def assignments() -> list[str]:
    """The lessons, found in solutions/: every folder ``<id>/`` holding ``<id>.ipynb``, sorted."""
    return sorted(p.name for p in SOLUTIONS.iterdir() if (p / f"{p.name}.ipynb").exists())


LESSON_PARTS = {  # what a lesson with graded exercises adds besides its notebook (docs/authoring.md)
    "catalog": "rlcore/catalog/lesson{nn}.py",
    "checks": "rlcore/check/lesson{nn}.py",
    "hidden tests": "autograder/hidden/lesson{nn}.py",
    "docs intro": "docs/exercises/{nn}.md",
}


def missing_parts(assignment: str) -> list[str]:
    """The files a lesson with graded exercises needs and does not have, by repo path.

    A lesson without graded test cells (the welcome lesson) needs none of them.
    """
    if not tests_of(source_notebook(assignment)):
        return []
    nn = assignment[:2]
    return [path.format(nn=nn) for path in LESSON_PARTS.values()
            if not (ROOT / path.format(nn=nn)).exists()]


_IMPORT = re.compile(r"^\s*(?:from\s+([A-Za-z_][\w.]*)\s+import|import\s+([A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*))",
                     re.MULTILINE)


@functools.lru_cache(maxsize=1)
def preload_modules() -> tuple[str, ...]:
    """Modules the course notebooks import in graded cells (the sandbox imports them once)."""
    found: list[str] = []
    for name in assignments():
        try:
            nb = source_notebook(name)
        except Exception:  # noqa: BLE001, S112 - a broken notebook is reported when it is graded
            continue
        for cell in nb.cells:
            if cell.cell_type != "code" or _tags(cell) & SKIP_TAGS:
                continue
            for m in _IMPORT.finditer(cell.source):
                for mod in (m.group(1) or m.group(2)).split(","):
                    mod = mod.strip().split(" as ")[0].strip()
                    if mod and not mod.startswith(("google", "autograder.hidden")) and mod not in found:
                        found.append(mod)
    return tuple(found)


def read(path: str | Path) -> nbformat.NotebookNode:
    path = Path(path)
    if not path.exists():
        raise GradeError(f"{path}: no such file")
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as e:  # noqa: BLE001 - any parse failure is "unreadable"
        raise GradeError(f"{path}: not a readable notebook ({type(e).__name__}: {str(e)[:120]})") from None
    if not isinstance(nb.get("cells"), list):
        raise GradeError(f"{path}: not a readable notebook (no cells)")
    return nb


def find_assignment(nb: nbformat.NotebookNode, path: Path) -> str:
    """The assignment id from the notebook's metadata, else from its folder or file name."""
    known = assignments()
    meta = nb.metadata.get("course", {}) if isinstance(nb.metadata, dict) else {}
    for candidate in (meta.get("assignment") if isinstance(meta, dict) else None,
                      path.parent.name, path.stem):
        if candidate in known:
            return candidate
    raise GradeError(f"{path}: not a course notebook (no known assignment in its metadata, folder "
                     f"or name; known: {', '.join(known)})")


@functools.lru_cache(maxsize=64)
def _cached(path: Path, mtime_ns: int) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _read_cached(path: Path) -> nbformat.NotebookNode:
    """The instructor's notebooks are read once per change (callers must not modify them)."""
    return _cached(path, path.stat().st_mtime_ns)


def source_notebook(assignment: str) -> nbformat.NotebookNode:
    return _read_cached(SOLUTIONS / assignment / f"{assignment}.ipynb")


def released_notebook(assignment: str) -> nbformat.NotebookNode:
    path = LESSONS / assignment / f"{assignment}.ipynb"
    return _read_cached(path) if path.exists() else source_notebook(assignment)


def _nbg(cell) -> dict:
    meta = cell.get("metadata", {})
    nbg = meta.get("nbgrader", {}) if isinstance(meta, dict) else {}
    return nbg if isinstance(nbg, dict) else {}


def _tags(cell) -> set[str]:
    meta = cell.get("metadata", {})
    tags = meta.get("tags", []) if isinstance(meta, dict) else []
    return set(tags) if isinstance(tags, list) else set()


@dataclass
class TestCell:
    grade_id: str
    name: str
    points: float


def tests_of(source: nbformat.NotebookNode) -> list[TestCell]:
    """The graded test cells of the instructor's notebook, in order."""
    out = []
    for cell in source.cells:
        nbg = _nbg(cell)
        if cell.cell_type == "code" and nbg.get("grade") and not nbg.get("solution"):
            gid = nbg["grade_id"]
            name = gid.removeprefix("test_")
            out.append(TestCell(gid, name, float(nbg.get("points", 0))))
    return out


@dataclass
class Plan:
    cells: list[str] = field(default_factory=list)     # sources to execute, in order
    labels: list[str] = field(default_factory=list)    # a short description of each, for messages
    flags: list[str] = field(default_factory=list)
    deleted_tests: set[str] = field(default_factory=set)  # test cells missing from the submission


def _test_sources(nb: nbformat.NotebookNode) -> dict[str, str]:
    out = {}
    for cell in nb.cells:
        nbg = _nbg(cell)
        if cell.cell_type == "code" and nbg.get("grade") and not nbg.get("solution"):
            out[nbg["grade_id"]] = cell.source.strip()
    return out


def plan(student: nbformat.NotebookNode, released: nbformat.NotebookNode,
         source: nbformat.NotebookNode | None = None) -> Plan:
    """Choose the student's cells to run and note tampering.

    Runs every code cell of the submission except test cells (the grader brings the
    hidden tests itself) and demonstration cells (training runs, animations, widgets),
    recognised by their tags or by their released source (so stripped metadata does
    not matter). Flags edited test cells (``edited-test-cell:ID``; graded as usual:
    the tests are the instructor's), test cells whose nbgrader metadata was stripped
    (``stripped-metadata:ID``, recognised by their source), deleted test cells
    (``deleted-test-cell:ID``; such a test earns no marks) and answer cells without
    metadata (``missing-answer-metadata:ID``).
    """
    rel_tests = _test_sources(released)
    instructor = _test_sources(source) if source is not None else {}
    rel_answers = set()
    skip_sources = set(rel_tests.values()) | set(instructor.values())
    for cell in released.cells:
        if cell.cell_type != "code":
            continue
        nbg = _nbg(cell)
        if nbg.get("solution") and nbg.get("grade_id"):
            rel_answers.add(nbg["grade_id"])
        elif _tags(cell) & SKIP_TAGS and not nbg.get("grade"):
            skip_sources.add(cell.source.strip())
    p = Plan()
    seen_tests, seen_answers, seen_sources = set(), set(), set()
    for i, cell in enumerate(student.cells):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else str(src)
        nbg = _nbg(cell)
        gid = nbg.get("grade_id")
        if nbg.get("grade") and not nbg.get("solution"):
            seen_tests.add(gid)
            if gid in rel_tests and src.strip() not in (rel_tests[gid], instructor.get(gid)):
                p.flags.append(f"edited-test-cell:{gid}")
            continue
        if nbg.get("solution") and gid:
            seen_answers.add(gid)
        if src.strip() in skip_sources:
            seen_sources.add(src.strip())
            continue
        if _tags(cell) & SKIP_TAGS or not src.strip():
            continue
        p.cells.append(src)
        first = next((ln for ln in src.splitlines() if ln.strip() and not ln.startswith("#")), "")
        p.labels.append(f"cell {i + 1} ({first.strip()[:60]})")
    for gid, src in rel_tests.items():
        if gid in seen_tests:
            continue
        if src in seen_sources or instructor.get(gid) in seen_sources:
            p.flags.append(f"stripped-metadata:{gid}")
        else:
            p.flags.append(f"deleted-test-cell:{gid}")
            p.deleted_tests.add(gid)
    for gid in sorted(rel_answers - seen_answers):
        p.flags.append(f"missing-answer-metadata:{gid}")
    return p


# A learner's kernel uses these (rlcore.check_notebook): nothing here imports the grader.
SAVE_FIRST = ("This checks your notebook as last saved: save it first (Ctrl+S, or File > Save "
              "Notebook). JupyterLab's autosave is not instant.")


def _is_lesson(path: Path) -> bool:
    """A copy of a lesson: its metadata names a course assignment (a scratch notebook does not)."""
    try:
        meta = read(path).metadata.get("course", {})
    except GradeError:
        return False
    return isinstance(meta, dict) and meta.get("assignment") in assignments()


def notebook_of_kernel(cwd: Path | None = None) -> Path | None:
    """The notebook a Jupyter kernel runs (JupyterLab tells it in JPY_SESSION_NAME), else the
    only course notebook in ``cwd``; None when that cannot be known."""
    import os

    cwd = Path(cwd or Path.cwd())
    name = os.environ.get("JPY_SESSION_NAME")
    if name:
        for candidate in (Path(name), cwd / Path(name).name):
            if candidate.suffix == ".ipynb" and candidate.is_file():
                return candidate
    here = [p for p in sorted(cwd.glob("*.ipynb")) if _is_lesson(p)]
    return here[0] if len(here) == 1 else None


def unsaved_answers(path: Path, ran: list[str]) -> list[str]:
    """The answers whose last-run code (``ran``: the kernel's inputs, oldest first) is not saved.

    For each answer cell of the saved notebook (nbgrader grade id NAME), the last input
    that defines ``NAME`` (``def NAME`` or ``class NAME``) must be that cell's saved text.
    """
    import re

    nb = nbformat.read(path, as_version=4)
    stale = []
    for cell in nb.cells:
        nbg = cell.get("metadata", {}).get("nbgrader", {})
        gid = nbg.get("grade_id") if nbg.get("solution") and cell.cell_type == "code" else None
        if not gid:
            continue
        pattern = re.compile(rf"^\s*(?:def|class)\s+{re.escape(gid)}\b", re.MULTILINE)
        last = next((src for src in reversed(ran) if pattern.search(src)), None)
        if last is not None and last.strip() != cell.source.strip():
            stale.append(gid)
    return stale
