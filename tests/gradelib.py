"""Helpers for lesson tests: execute notebooks, substitute answers, grade."""

from __future__ import annotations

import copy
import tempfile
import zlib
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


def seed_of(path: Path) -> int:
    """A seed fixed by the submission's bytes: the same notebook always meets the same hidden inputs.

    The grader draws fresh inputs on every run; a test that grades with them could pass
    or fail by chance (two mistakes that some inputs make indistinguishable). Seeded this
    way the suite is reproducible, and different submissions still meet different inputs
    (``tools/mutant_sweep.py`` looks for such races over many seeds).
    """
    return zlib.crc32(Path(path).read_bytes())


def grade(path: Path, **kw) -> dict:
    from autograder.grade import grade as _grade

    kw.setdefault("seed", seed_of(path))
    return _grade(path, **kw)


def answer_source(assignment: str, name: str) -> str:
    sol = nbformat.read(solutions_path(assignment), as_version=4)
    for c in sol.cells:
        if c.metadata.get("nbgrader", {}).get("grade_id") == name:
            return c.source
    raise KeyError(name)


# ----------------------------------------------- the lesson tests every lesson repeats
def define(source: str, name: str, namespace: dict) -> object:
    """Run one answer cell's ``source`` in a copy of ``namespace``; return what it defines as ``name``."""
    ns = dict(namespace)
    exec(source, ns)  # noqa: S102 - test-only: mutants and alternatives written in the tests
    return ns[name]


def outputs_of(nb: nbformat.NotebookNode) -> list:
    """Every output of an executed notebook's code cells, asserting none is an error."""
    outs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    errors = [o for o in outs if o.output_type == "error"]
    assert not errors, f"{len(errors)} cell(s) raised; first: {errors[0].get('ename')}: {errors[0].get('evalue')}"
    return outs


def executed_solutions(assignment: str) -> tuple[list, str]:
    """Execute the solutions notebook; return its outputs and their printed text, asserting that
    no cell raised and the visible check of every catalogued exercise of the lesson passed."""
    from rlcore import catalog

    outputs = outputs_of(execute(solutions_path(assignment)))
    text = "".join(str(o.get("text", "")) for o in outputs)
    for ex in catalog.exercises_of(assignment):
        assert f"\u2713 {ex.name}: all" in text, f"the visible check of {ex.name} did not pass"
    return outputs, text


def assert_released_fails_kindly(assignment: str, ename: str = "CheckFailed",
                                 says: str = "not written yet") -> None:
    """The released lesson stops at its first check, which says the exercise is not written yet.

    A quiz stops at its first answer cell instead (``ename="NotImplementedError"``), whose
    comment says it is ``"not answered yet"``.
    """
    from nbclient.exceptions import CellExecutionError

    try:
        execute(lesson_path(assignment))
    except CellExecutionError as e:
        assert e.ename == ename and says in (e.evalue if ename == "CheckFailed" else str(e)), str(e)[:600]
        assert "rlcore/" not in str(e)  # no traceback into rlcore
        if ename == "CheckFailed":
            assert "Traceback" not in str(e)
    else:
        raise AssertionError(f"lessons/{assignment} ran through although no exercise is written")


def assert_full_and_zero(assignment: str, names: list[str], tmpdir: Path, status: str = "error",
                         says: str = "not written yet") -> None:
    """The filled-in lesson grades full marks; the released one 0, one 'not written yet' per test.

    (A quiz's unanswered questions are ``status="failed"``, ``"not answered yet"``.)
    """
    full = grade(filled_in(assignment, tmpdir))
    assert full["score"] == full["max_score"] > 0, full
    assert all(t["status"] == "passed" for t in full["tests"])
    empty = grade(lesson_path(assignment))
    assert empty["score"] == 0
    assert len(empty["tests"]) == len(names)
    assert all(t["status"] == status and says in t["message"] for t in empty["tests"]), empty["tests"]


def assert_mutants_graded_below_full(assignment: str, answers: dict[str, str], tmpdir: Path,
                                     named: dict[str, str] | None = None) -> None:
    """With every answer replaced by a mutant, each test scores 0 with a message (naming ``named[name]``)."""
    result = grade(with_answers(assignment, answers, tmpdir=tmpdir))
    by_name = {t["name"]: t for t in result["tests"]}
    for name in answers:
        t = by_name[f"test_{name}"]
        assert t["status"] in ("failed", "error") and t["score"] == 0, (name, t)
        assert t["message"]
        if named:
            assert named[name].lower() in t["message"].lower(), (name, t)


def assert_mistakes_unambiguous(assignment: str, seeds: range) -> None:
    """On every seed's hidden inputs, no catalogued mistake of the lesson can be named as another
    (``autograder.hidden.unambiguous``): the naming races the contract test's three seeds may miss."""
    import numpy as np

    from autograder import hidden
    from rlcore import catalog

    for ex in catalog.exercises_of(assignment):
        for seed in seeds:
            cases = hidden.cases_for(ex.name, np.random.default_rng(seed))
            assert hidden.unambiguous(ex.name, cases), f"{ex.name}: two mistakes look alike on seed {seed}"
