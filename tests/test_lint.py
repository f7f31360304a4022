"""`make lint` stays clean: ruff over the package, the grader, the tests and the tools."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_reports_nothing():
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--output-format", "concise",
                           "rlcore", "autograder", "tests", "tools"],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"ruff found problems (run `make lint`):\n{proc.stdout}{proc.stderr}"
