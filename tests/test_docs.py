"""Docs that are generated stay in sync with their sources."""

import subprocess
import sys

from gradelib import ROOT


def test_exercises_doc_is_in_sync_and_covers_every_lesson():
    proc = subprocess.run([sys.executable, "tools/exercises_doc.py", "--check"], cwd=ROOT,
                          capture_output=True, check=False, text=True)
    assert proc.returncode == 0, proc.stdout
    text = (ROOT / "docs" / "exercises.md").read_text()
    for lesson in ("01", "02", "03", "04", "05", "06", "07"):
        assert f"## {lesson}" in text, f"docs/exercises.md has no section for lesson {lesson}"
