"""A learner's self-check: make check / course-check from any folder, rlcore.check_notebook() in a cell.

They print the grader's own per-exercise summary for the SAVED notebook; the notebook
route refuses to grade when the saved answers are not the code the kernel ran last.
Learners' JupyterLab (``make lab``) has nbgrader's instructor tools off.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import gradelib
import nbformat
import pytest
from gradelib import ROOT

from autograder.selfcheck import resolve, unsaved_answers

R = "02-trajectories-and-returns"


def test_lesson_numbers_folders_and_files_resolve_from_where_the_learner_is(tmp_path):
    ws = tmp_path / "workspace"
    shutil.copytree(ROOT / "lessons" / R, ws / R)
    shutil.copytree(ROOT / "lessons" / "03-policies", ws / "03-policies")
    (ws / R / "scratch.ipynb").write_text(nbformat.writes(nbformat.v4.new_notebook()))  # not a lesson
    assert resolve([], ws) == (sorted([ws / R / f"{R}.ipynb", ws / "03-policies" / "03-policies.ipynb"]), True)
    assert resolve(["02"], ws) == ([ws / R / f"{R}.ipynb"], False)
    assert resolve([], ws / R) == ([ws / R / f"{R}.ipynb"], True)  # a terminal in the lesson's folder
    assert resolve([f"{R}.ipynb"], ws / R) == ([ws / R / f"{R}.ipynb"], False)
    assert resolve(["03-policies"], ws)[0] == [ws / "03-policies" / "03-policies.ipynb"]
    with pytest.raises(FileNotFoundError, match="'99'"):
        resolve(["99"], ws)


def test_unsaved_answers_names_the_exercise_whose_last_run_is_not_saved(tmp_path):
    path = gradelib.filled_in(R, tmp_path)
    saved = gradelib.answer_source(R, "rollout")
    assert unsaved_answers(path, [saved]) == []
    assert unsaved_answers(path, [saved, "def rollout(env, policy):\n    return 1\n"]) == ["rollout"]
    assert unsaved_answers(path, ["x = 1"]) == []  # never ran it: nothing to compare


def _kernel_run(path, cells: list[str]) -> str:
    """Run ``path`` in a fresh kernel (as Run All), then ``cells`` after it; return their text output."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    start = len(nb.cells)
    nb.cells += [nbformat.v4.new_code_cell(c) for c in cells]
    NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return "\n".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
                     for c in nb.cells[start:] for o in c.outputs)


@pytest.mark.slow
def test_check_notebook_in_a_cell_prints_the_graders_messages_and_asks_to_save(tmp_path):
    answer = gradelib.answer_source(R, "finite_horizon_return")
    path = gradelib.with_answers(R, {"finite_horizon_return": answer}, tmpdir=tmp_path)
    text = _kernel_run(path, [
        "import rlcore\nrlcore.check_notebook()",
        "from autograder import sandbox\nprint('grader processes left:', len(sandbox._workers))",
        # the learner changes an answer and runs it, but does not save
        "def finite_horizon_return(rewards):\n    return 0.0\n",
        "rlcore.check_notebook()",
    ])
    first, _, second = text.partition("<check of")
    assert "save it first" in first
    assert "\u2713 test_finite_horizon_return [passed]" in first
    assert "\u2717 test_rollout [error]" in first and "not written yet" in first  # the grader's message
    assert "score 1 / 8" in first
    assert "grader processes left: 0" in second  # nothing keeps running in the learner's kernel
    assert "Not checked" in second and "`finite_horizon_return`" in second and "Save the notebook" in second


@pytest.mark.slow
def test_a_check_notebook_cell_left_in_a_submission_does_not_disturb_grading(tmp_path):
    path = gradelib.filled_in(R, tmp_path)
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import rlcore\nrlcore.check_notebook()"))
    nbformat.write(nb, path)
    result = gradelib.grade(path)
    assert result["score"] == result["max_score"], result


def test_course_check_is_a_console_command_of_the_venv(tmp_path):
    exe = ROOT / ".venv" / "bin" / "course-check"
    assert exe.exists(), "course-check is missing: run make setup (pyproject.toml [project.scripts])"
    proc = subprocess.run([str(exe), "99"], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and "no notebook, folder or lesson matches '99'" in proc.stderr


def test_make_lab_starts_the_learners_jupyter_without_nbgrader_tools():
    dry = subprocess.run(["make", "-n", "-o", ".venv/.stamp-setup", "lab"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    assert f'JUPYTER_CONFIG_PATH="{ROOT}/etc/jupyter-learner"' in dry and "workspace/" in dry
    assert ".venv/bin:$PATH" in dry  # course-check is on the terminals' PATH
    instructor = subprocess.run(["make", "-n", "-o", ".venv/.stamp-setup", "lab-instructor"], cwd=ROOT,
                                capture_output=True, text=True, check=True).stdout
    assert "JUPYTER_CONFIG_PATH" not in instructor
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    jupyter = [sys.executable, "-m", "jupyterlab.labextensions"]
    learner = subprocess.run([*jupyter, "list"], capture_output=True, text=True, check=False,
                             env={**env, "JUPYTER_CONFIG_PATH": str(ROOT / "etc" / "jupyter-learner")})
    default = subprocess.run([*jupyter, "list"], capture_output=True, text=True, check=False, env=env)
    line = next(ln for ln in (learner.stdout + learner.stderr).splitlines() if "@jupyter/nbgrader v" in ln)
    assert "disabled" in line
    line = next(ln for ln in (default.stdout + default.stderr).splitlines() if "@jupyter/nbgrader v" in ln)
    assert "enabled" in line
