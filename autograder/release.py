"""``make release``: regenerate lessons/ from solutions/ with nbgrader, never over a learner's work.

nbgrader's ``generate_assignment`` runs in a temporary copy of the course (with the
course's own gradebook, so formgrader still learns every assignment). Each generated
notebook then replaces ``lessons/<id>/<id>.ipynb`` only when that file holds nothing but
released content, that is when it is

- exactly what the last ``make release`` here wrote (``.nbgrader/released.json`` keeps
  its hash), or else
- a notebook without outputs or run cells whose every cell is a cell of the new release
  or of the committed lesson (``git show HEAD:...``), and whose answer cells still hold
  nbgrader's stub.

Anything else (answers typed in, cells run, outputs, cells edited or added) is a
learner's work: that lesson is refused, with what was found, and the others are still
released. With ``force`` the file is first copied to
``backups/release-<time>/lessons/<id>/<id>.ipynb`` (git-ignored; the path is printed)
and then replaced. Other files in ``lessons/<id>/`` are never deleted.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .notebook import ROOT, assignments

#: what nbgrader leaves in an answer cell of the student version (nbgrader_config.py)
STUBS = ("raise NotImplementedError()", "YOUR ANSWER HERE")
MANIFEST = Path(".nbgrader") / "released.json"
BACKUPS = "backups"


@dataclass
class Released:
    """What ``release`` did with one lesson: written, unchanged, refused or forced (backed up)."""

    assignment: str
    path: Path
    status: str
    found: list[str] = field(default_factory=list)  # the learner's work seen in the old file
    backup: Path | None = None

    def message(self, root: Path = ROOT) -> str:
        rel = _rel(self.path, root)
        if self.status == "written":
            return f"released {rel}"
        if self.status == "unchanged":
            return f"unchanged {rel}"
        work = "; ".join(self.found)
        if self.status == "forced":
            return (f"released {rel} over a learner's work ({work}); the old file is kept in "
                    f"{_rel(self.backup, root)}")
        return (f"NOT released {rel}: it holds a learner's work ({work}), which a release would "
                "overwrite. Nothing was changed. Learners: work in workspace/ (`make lab` copies "
                "the lessons there and never overwrites them). To release over it anyway: "
                "`make release FORCE=1` (it copies the old file to backups/ first).")


def _rel(path: Path | None, root: Path) -> str:
    if path is None:
        return ""
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _digest(nb: dict) -> str:
    return hashlib.sha256(json.dumps(nb, sort_keys=True).encode()).hexdigest()


def _read(path: Path) -> dict | None:
    try:
        nb = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return nb if isinstance(nb, dict) and isinstance(nb.get("cells"), list) else None


def _committed(root: Path, rel: str) -> dict | None:
    """The lesson as git has it committed (None outside a git checkout or when new)."""
    try:
        proc = subprocess.run(["git", "-C", str(root), "show", f"HEAD:{rel}"], capture_output=True,
                              text=True, check=False, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        return None
    try:
        return json.loads(proc.stdout)
    except ValueError:
        return None


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _answer_id(cell: dict) -> str | None:
    nbg = cell.get("metadata", {}).get("nbgrader", {})
    return nbg.get("grade_id") if isinstance(nbg, dict) and nbg.get("solution") else None


def learner_work(nb: dict, references: list[dict]) -> list[str]:
    """Describe what in notebook ``nb`` is not released content; empty when it is pristine.

    references: released versions (the new release, the committed lesson) whose cells
    count as released content. Looks for outputs, run cells, answer cells that lost
    their stub or differ from every reference, and other cells edited or added.
    """
    known = {(c.get("cell_type"), _source(c)) for ref in references for c in ref.get("cells", [])}
    cells = [c for c in nb.get("cells", []) if isinstance(c, dict)]
    found = []
    outputs = sum(bool(c.get("outputs")) for c in cells if c.get("cell_type") == "code")
    ran = sum(c.get("execution_count") is not None for c in cells if c.get("cell_type") == "code")
    answers = [gid for c in cells if (gid := _answer_id(c))
               and ((c.get("cell_type"), _source(c)) not in known
                    or not any(stub in _source(c) for stub in STUBS))]
    edited = sum(1 for c in cells if not _answer_id(c) and (c.get("cell_type"), _source(c)) not in known)
    if answers:
        found.append("answers typed in: " + ", ".join(f"`{a}`" for a in answers))
    if edited:
        found.append(f"{edited} other cell{'s' * (edited > 1)} edited or added")
    if ran:
        found.append(f"{ran} cell{'s' * (ran > 1)} run")
    if outputs:
        found.append(f"outputs in {outputs} cell{'s' * (outputs > 1)}")
    return found


def _generate(names: list[str], root: Path) -> dict[str, str]:
    """Run nbgrader generate_assignment for ``names`` in a temporary copy (one process for all);
    return each generated notebook's text. The course's gradebook learns the assignments."""
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}
    (root / "grading").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rl-course-release-") as tmp:
        work = Path(tmp)
        shutil.copy(root / "nbgrader_config.py", work)
        for name in names:
            shutil.copytree(root / "solutions" / name, work / "solutions" / name)
        db = "sqlite:///" + str((root / "grading" / "gradebook.db").resolve())
        proc = subprocess.run([sys.executable, "-m", "autograder.gradebook", str(work), db, *names],
                              cwd=work, env=env, capture_output=True, text=True, check=False)
        out = {}
        for name in names:
            path = work / "lessons" / name / f"{name}.ipynb"
            if proc.returncode != 0 or _read(path) is None:
                raise RuntimeError(f"nbgrader could not release {name}:\n{proc.stdout}\n{proc.stderr}")
            out[name] = path.read_text()
        return out


def _write(path: Path, text: str) -> None:
    """Replace ``path`` by ``text`` atomically (a reader never sees half a notebook)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def release(names: list[str] | None = None, root: Path = ROOT, force: bool = False) -> list[Released]:
    """Release each assignment (all by default) into ``root/lessons``; return what was done.

    ``root`` is the course folder (holding nbgrader_config.py, solutions/ and lessons/);
    tests pass a temporary copy. A lesson holding a learner's work is refused (status
    ``refused``) unless ``force``, which backs the old file up first (status ``forced``).
    """
    names = names or assignments()
    manifest_path = root / MANIFEST
    manifest = _read_manifest(manifest_path)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    done = []
    generated = _generate(names, root)
    for name in names:
        text = generated[name]
        fresh = json.loads(text)
        rel = f"lessons/{name}/{name}.ipynb"
        target = root / rel
        old = _read(target) if target.exists() else None
        if target.exists() and old is None:
            found = ["not a readable notebook"]
        elif old is None or old == fresh or _digest(old) == manifest.get(rel):
            found = []
        else:
            committed = _committed(root, rel)
            found = learner_work(old, [fresh] + ([committed] if committed else []))
        if old == fresh:
            done.append(Released(name, target, "unchanged"))
        elif found and not force:
            done.append(Released(name, target, "refused", found))
            continue
        else:
            backup = None
            if found:
                backup = root / BACKUPS / f"release-{stamp}" / rel
                backup.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(target, backup)
            _write(target, text)
            done.append(Released(name, target, "forced" if found else "written", found, backup))
        manifest[rel] = _digest(fresh)
    manifest_path.parent.mkdir(parents=True, exist_ok=True)
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return done


def _read_manifest(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
