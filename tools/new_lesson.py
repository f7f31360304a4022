"""Start a new lesson: write the five files docs/authoring.md says a lesson adds, from a template.

    .venv/bin/python tools/new_lesson.py 10-model-based-rl [--root DIR]

Writes (refusing to overwrite any existing file):
  solutions/<id>/<id>.ipynb       the instructor notebook, with one example exercise `double`
  rlcore/catalog/lessonNN.py      the exercise declared once, with one named mistake
  rlcore/check/lessonNN.py        its visible check
  autograder/hidden/lessonNN.py   its hidden tests
  docs/exercises/NN.md            the lesson's intro in docs/exercises.md
Then: replace the example with the lesson's exercises, `make release`, and
`tools/exercises_doc.py`. Nothing else needs editing: lessons are found by looking.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autograder.notebook import LESSON_PARTS

NOTEBOOK = '''# %% [colab]
# Set-up: on Google Colab this installs the course package; elsewhere it does nothing.
import sys
if "google.colab" in sys.modules:
    %pip install -q "rlcore @ git+https://github.com/deep-rl-course/deep-rl-course@v0.1.0"

# %% [markdown]
# # {nn} · {title}
#
# (What this lesson teaches, in the talk's notation.)

# %%
import numpy as np

from rlcore.check import check_double

# %% [markdown]
# ## An example exercise
#
# Write `double(x)`, which returns $2x$ for an array $x$.

# %% [answer] double
def double(x):
    """Return 2 * x as a float64 array of x's shape."""
    ### BEGIN SOLUTION
    return 2.0 * np.asarray(x, dtype=float)
    ### END SOLUTION

# %% [tests] test_double 1
check_double(double)
### BEGIN HIDDEN TESTS
from autograder.hidden import run_hidden
run_hidden("double", double)
### END HIDDEN TESTS
'''

CATALOG = '''"""Lesson {nn} ({title}): the exercises and their named mistakes."""

from __future__ import annotations

import numpy as np

from . import Exercise, Mistake, exercise

LESSON = "{id}"


def _reference_double(x):
    return 2.0 * np.asarray(x, dtype=float)


def _alt_double(x):
    return np.asarray(x, dtype=float) + np.asarray(x, dtype=float)


def _wrong_double_square(x):
    return np.asarray(x, dtype=float) ** 2


exercise(Exercise(
    "double", LESSON, _reference_double,
    alternatives=(_alt_double,),
    admits=("list",),
    inputs="random float arrays and lists.",
    mistakes=(
        Mistake("double/square", "you squared x; doubling is 2 * x", _wrong_double_square,
                summary="squared instead of doubled"),
    ),
))
'''

CHECK = '''"""Visible checks for lesson {nn}."""

from __future__ import annotations

import numpy as np

from ._core import Checker, check

__all__ = ["check_double"]


@check("double")
def check_double(c: Checker) -> None:
    """Check double on a small array."""
    c.expect_close(c.call(np.array([1.0, 3.0])), np.array([2.0, 6.0]), "return 2 * x.")
'''

HIDDEN = '''"""Hidden tests of lesson {nn}: fresh random inputs; the catalog names the mistakes."""

from __future__ import annotations

import numpy as np

from . import Case, call_case, exercise, expect_close, with_kind


@exercise("double")
def double(rng: np.random.Generator) -> list[Case]:
    cases = []
    for kind in ("array", "list"):
        x = np.round(rng.normal(size=int(rng.integers(3, 8))), 3) + 2.5
        arg = x.tolist() if kind == "list" else x

        def judge(o, x=x):
            expect_close(o["out"], 2.0 * x, f"double(<{{len(x)}} numbers>)", hint="return 2 * x.")
        cases.append(with_kind(call_case("double", [arg], judge=judge), kind))
    return cases
'''

DOCS = '''## {nn} · {title}

(One or two sentences: what the lesson's exercises are and what their hidden tests try.)
'''


def new_lesson(assignment: str, root: Path = ROOT) -> list[Path]:
    """Write the template files of lesson ``assignment`` under ``root``; return their paths.

    Raises ValueError for an id that is not ``NN-words`` or a lesson number already used,
    FileExistsError if any of the files exists.
    """
    m = re.fullmatch(r"(\d\d)-([a-z0-9]+(?:-[a-z0-9]+)*)", assignment)
    if not m:
        raise ValueError(f"a lesson id is two digits, a dash and lower-case words: got {assignment!r}")
    nn = m.group(1)
    used = [p.name for p in (root / "solutions").iterdir() if p.name[:2] == nn]
    if used:
        raise ValueError(f"lesson number {nn} is taken by solutions/{used[0]}")
    title = m.group(2).replace("-", " ").capitalize()
    fill = {"nn": nn, "id": assignment, "title": title}
    template = {"catalog": CATALOG, "checks": CHECK, "hidden tests": HIDDEN, "docs intro": DOCS}
    files = {root / path.format(nn=nn): template[part].format(**fill) for part, path in LESSON_PARTS.items()}
    notebook = root / "solutions" / assignment / f"{assignment}.ipynb"
    for path in [*files, notebook]:
        if path.exists():
            raise FileExistsError(f"{path} exists already")
    for path, text in files.items():
        path.write_text(text)
    notebook.parent.mkdir(parents=True)
    scratch = notebook.with_suffix(".py")
    scratch.write_text(NOTEBOOK.format(**fill))
    subprocess.run([sys.executable, str(root / "tools" / "nbtool.py"), "to-nb", str(scratch), str(notebook)],
                   check=True)
    scratch.unlink()
    return [*files, notebook]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignment", help="the new lesson's id, e.g. 10-model-based-rl")
    parser.add_argument("--root", type=Path, default=ROOT, help="the course folder (default: this one)")
    args = parser.parse_args(argv)
    try:
        paths = new_lesson(args.assignment, args.root)
    except (ValueError, FileExistsError) as e:
        print(f"cannot start the lesson: {e}", file=sys.stderr)
        return 2
    for p in paths:
        print(f"wrote {p.relative_to(args.root)}")
    print("next: write the lesson, then `make release` and `.venv/bin/python tools/exercises_doc.py`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
