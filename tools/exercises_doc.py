"""Write docs/exercises.md from the per-lesson lists in docs/exercises/NN.md.

    .venv/bin/python tools/exercises_doc.py          # rewrite docs/exercises.md
    .venv/bin/python tools/exercises_doc.py --check  # exit 1 if it is out of date (used by a test)

Each lesson's author keeps its own file (no edit conflicts between lessons); instructors
read the one page.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = """# What the hidden tests catch

The instructor's answer to "what does this test catch?": for every graded exercise, the
realistic mistakes its hidden tests fail, each with a message that names the mistake. Hidden
tests run on fresh random inputs (see `docs/authoring.md`); the mutants listed here are real
code in `tests/test_lessonNN.py` and are graded below full marks in `make test`.

Generated from `docs/exercises/NN.md` by `tools/exercises_doc.py`; edit those files.
"""


def render() -> str:
    parts = [HEADER]
    for path in sorted((ROOT / "docs" / "exercises").glob("*.md")):
        parts.append(path.read_text().strip() + "\n")
    return "\n".join(parts)


def main(argv: list[str]) -> int:
    target = ROOT / "docs" / "exercises.md"
    text = render()
    if "--check" in argv:
        if not target.exists() or target.read_text() != text:
            print("docs/exercises.md is out of date: run tools/exercises_doc.py")
            return 1
        return 0
    target.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
