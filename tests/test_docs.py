"""Docs that are generated stay in sync with their sources."""

import subprocess
import sys

from gradelib import ROOT


def test_exercises_doc_is_in_sync_and_covers_every_lesson():
    proc = subprocess.run([sys.executable, "tools/exercises_doc.py", "--check"], cwd=ROOT,
                          capture_output=True, check=False, text=True)
    assert proc.returncode == 0, proc.stdout
    text = (ROOT / "docs" / "exercises.md").read_text()
    from autograder.notebook import assignments
    from rlcore import catalog

    for assignment in assignments():
        if assignment.startswith("00"):
            continue  # the welcome lesson has no graded exercise
        lesson = assignment[:2]
        assert (ROOT / "docs" / "exercises" / f"{lesson}.md").exists(), f"no docs/exercises/{lesson}.md"
        assert f"## {lesson}" in text, f"docs/exercises.md has no section for lesson {lesson}"
    for ex in catalog.load_all().values():  # every catalogued mistake is published
        for m in ex.mistakes:
            assert f"`{m.id}`" in text, f"docs/exercises.md does not list {m.id}"
