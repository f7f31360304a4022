"""python -m autograder: JSON contract, exit codes, readable summary for make check."""

import json
import subprocess
import sys

import nbformat
from gradelib import ROOT, lesson_path

A = "02-trajectories-and-returns"


def run(*args):
    return subprocess.run([sys.executable, "-m", "autograder", *args], capture_output=True, check=False,
                          text=True, cwd=ROOT, timeout=600)


def test_not_a_course_notebook_is_a_one_line_error(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("x = 1"))
    path = tmp_path / "homework.ipynb"
    nbformat.write(nb, path)
    proc = run("grade", str(path), "--json")
    assert proc.returncode != 0 and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and "not a course notebook" in proc.stderr
    garbage = tmp_path / "broken.ipynb"
    garbage.write_text("{ not json")
    proc = run("grade", str(garbage), "--json")
    assert proc.returncode != 0 and "not a readable notebook" in proc.stderr
    proc = run("grade", str(tmp_path / "missing.ipynb"))
    assert proc.returncode != 0 and "no such file" in proc.stderr


def test_released_lesson_json_contract_and_renamed_file(tmp_path):
    renamed = tmp_path / "my homework (final).ipynb"
    renamed.write_bytes(lesson_path(A).read_bytes())
    proc = run("grade", str(renamed), "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert set(result) >= {"assignment", "score", "max_score", "tests", "flags"}
    assert result["assignment"] == A and result["score"] == 0 and result["max_score"] > 0
    for t in result["tests"]:
        assert set(t) >= {"name", "score", "max_score", "status", "message"}
        assert t["status"] in ("passed", "failed", "error", "timeout", "not-run") and t["message"]


def test_check_prints_passed_failed_summary():
    proc = run("check", str(lesson_path(A)))
    assert proc.returncode == 0, proc.stderr
    assert "0 passed" in proc.stdout and "not written yet" in proc.stdout
