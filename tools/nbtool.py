"""Authoring helper: convert a course notebook to a plain-text "percent" file and back.

    python tools/nbtool.py to-py  solutions/02-x/02-x.ipynb /tmp/02.py   # edit comfortably
    python tools/nbtool.py to-nb  /tmp/02.py solutions/02-x/02-x.ipynb   # write the notebook

The .ipynb stays the source of truth (the .py is a scratch file, never committed).
Cell headers carry the nbgrader role:

    # %% [markdown]                 markdown; each line starts with "# " (or is "#")
    # %%                            plain instructor code (run by the grader)
    # %% [answer] NAME              graded answer cell, grade_id NAME
    # %% [tests] test_NAME 2        test cell (visible check + hidden block), grade_id, points
    # %% [demo]                     demonstration code the grader skips (training, animations, widgets)
    # %% [colab]                    the Colab set-up cell (first code cell), skipped by the grader
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

HEADER = re.compile(r"^# %%(?: \[(\w+)\])?(?: (\S+))?(?: (\S+))?\s*$")


def nb_to_py(nb: nbformat.NotebookNode) -> str:
    out = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        tags = cell.metadata.get("tags", [])
        if cell.cell_type == "markdown":
            out.append("# %% [markdown]")
            out += [("# " + line) if line else "#" for line in cell.source.splitlines()]
        elif meta.get("solution"):
            out.append(f"# %% [answer] {meta['grade_id']}")
            out.append(cell.source)
        elif meta.get("grade"):
            out.append(f"# %% [tests] {meta['grade_id']} {meta.get('points', 1)}")
            out.append(cell.source)
        else:
            role = next((t for t in ("demo", "colab") if t in tags), None)
            out.append(f"# %% [{role}]" if role else "# %%")
            out.append(cell.source)
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def py_to_nb(text: str, assignment: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "course": {"assignment": assignment},
    }
    blocks: list[tuple[tuple, list[str]]] = []
    for line in text.splitlines():
        m = HEADER.match(line)
        if m:
            blocks.append((m.groups(), []))
        elif blocks:
            blocks[-1][1].append(line)
    counter = 0
    for (role, arg1, arg2), lines in blocks:
        while lines and not lines[-1].strip():
            lines.pop()
        counter += 1
        if role == "markdown":
            src = "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#") for line in lines)
            cell = nbformat.v4.new_markdown_cell(src)
            cell.id = f"md-{counter:03d}"
            nb.cells.append(cell)
            continue
        src = "\n".join(lines)
        cell = nbformat.v4.new_code_cell(src)
        cell.id = f"code-{counter:03d}"
        if role == "answer":
            cell.metadata["nbgrader"] = {"grade": False, "grade_id": arg1, "locked": False,
                                         "schema_version": 3, "solution": True, "task": False}
            cell.id = arg1.replace("_", "-")
        elif role == "tests":
            cell.metadata["nbgrader"] = {"grade": True, "grade_id": arg1, "locked": True,
                                         "points": int(arg2 or 1), "schema_version": 3,
                                         "solution": False, "task": False}
            cell.id = arg1.replace("_", "-")
        elif role in ("demo", "colab"):
            cell.metadata["tags"] = [role]
        elif role is not None:
            raise ValueError(f"unknown cell role [{role}]")
        nb.cells.append(cell)
    return nb


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] not in ("to-py", "to-nb"):
        print(__doc__)
        return 2
    src, dst = Path(argv[1]), Path(argv[2])
    if argv[0] == "to-py":
        dst.write_text(nb_to_py(nbformat.read(src, as_version=4)))
    else:
        nb = py_to_nb(src.read_text(), assignment=dst.parent.name)
        nbformat.validate(nb)
        dst.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, dst)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
