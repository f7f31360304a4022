"""A learner's own copy of the lessons (``make lab``): made once, then only added to.

``lessons/`` belongs to the course: ``make release`` regenerates it and ``make test``
compares it with ``solutions/``. A learner works in ``workspace/`` (git-ignored), which
``sync_workspace`` fills from ``lessons/``: a file that is not there yet is copied, and
a file that is there is never touched, whatever it holds. When the course ships a newer
version of a lesson the learner already has, the learner is told where the new one is
(``.course-copies.json`` remembers what each copy was made from).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from .notebook import ROOT

RECORD = ".course-copies.json"
SKIP = {".ipynb_checkpoints", "__pycache__"}


@dataclass
class Sync:
    """What ``sync_workspace`` did: files added, lessons with a newer release than the copy."""

    workspace: Path
    added: list[Path] = field(default_factory=list)
    newer: list[tuple[Path, Path]] = field(default_factory=list)  # (course file, the learner's copy)
    created: bool = False

    def report(self, root: Path = ROOT) -> str:
        ws = _rel(self.workspace, root)
        lines = []
        if self.created:
            lines.append(f"Made your workspace, {ws}/: your own copy of the lessons. Work there; no "
                         "course command (release, test, clean, lab) changes a file in it.")
        if self.added:
            lessons = sorted({p.relative_to(self.workspace).parts[0] for p in self.added
                              if len(p.relative_to(self.workspace).parts) > 1})
            files = [p for p in self.added if len(p.relative_to(self.workspace).parts) == 1]
            what = [f"{len(lessons)} lesson{'s' * (len(lessons) != 1)} ({', '.join(lessons)})"] if lessons else []
            what += [p.name for p in files]
            lines.append(f"Added to {ws}/: " + "; ".join(what) + ".")
        else:
            lines.append(f"Your workspace {ws}/ is up to date (nothing new to add; nothing changed).")
        for course, mine in self.newer:
            lines.append(f"Note: the course has a newer {_rel(course, root)} than your "
                         f"{_rel(mine, root)}. Your copy is untouched; open the new one to compare.")
        return "\n".join(lines)


def _rel(path: Path, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(root).resolve()))
    except ValueError:
        return str(path)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*")
                  if p.is_file() and not SKIP & set(p.relative_to(folder).parts))


def sync_workspace(workspace: Path, lessons: Path = ROOT / "lessons") -> Sync:
    """Copy every file of ``lessons`` that ``workspace`` lacks; never modify an existing file.

    Returns what was added, and which lessons the course has changed since they were
    copied (the copies stay as they are).
    """
    workspace, lessons = Path(workspace), Path(lessons)
    if not lessons.is_dir():
        raise FileNotFoundError(f"{lessons} is not a folder of lessons")
    sync = Sync(workspace, created=not workspace.exists())
    workspace.mkdir(parents=True, exist_ok=True)
    record_path = workspace / RECORD
    try:
        record = json.loads(record_path.read_text())
    except (OSError, ValueError):
        record = {}
    for src in _files(lessons):
        rel = src.relative_to(lessons).as_posix()
        dest = workspace / rel
        if dest.exists() or dest.is_symlink():
            if rel in record and record[rel] != _digest(src):
                sync.newer.append((src, dest))
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        with open(dest, "xb") as out:  # "x": fails rather than overwrite, even in a race
            out.write(src.read_bytes())
        shutil.copystat(src, dest)
        record[rel] = _digest(src)
        sync.added.append(dest)
    record_path.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    return sync
