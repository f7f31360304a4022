"""``collect DIR|ZIP``: bring hand-ins into nbgrader's ``grading/submitted/<student>/<assignment>/``.

Accepted layouts (a folder or a .zip of it):
  <student>/<assignment>.ipynb                        one folder per student
  <student>/<assignment>/<assignment>.ipynb           nbgrader's submitted/ layout
  <login>[_LATE]_<id>_<id>_<file>.ipynb              Canvas "Download submissions"
  <Full Name>_<id>_assignsubmission_file_/<file>.ipynb  Moodle "Download all submissions"

The assignment comes from the file name when it is an assignment id, else from the
notebook's metadata (a renamed file still counts). Every file is accounted for: each
one is collected, or reported with the reason it was not (not a notebook, not a course
notebook, unreadable, no student, an older duplicate). Nothing is skipped silently.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .notebook import assignments

STUDENT_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]*$")
CANVAS = re.compile(r"^(?P<student>[^_/]+?)(?:_LATE)?_(?P<uid>\d+)_(?P<aid>\d+)_(?P<file>.+)$")
MOODLE = re.compile(r"^(?P<student>.+?)_(?P<uid>\d+)_assign(?:submission|feedback)_\w+_?$")
SYSTEM = ("__MACOSX", ".DS_Store", ".ipynb_checkpoints", "Thumbs.db")


@dataclass
class Item:
    source: str               # where it came from (path inside the folder or zip)
    status: str               # new | updated | unchanged | skipped
    student: str = ""
    assignment: str = ""
    note: str = ""            # why skipped, or what was assumed


@dataclass
class Collection:
    items: list[Item] = field(default_factory=list)

    @property
    def collected(self) -> list[Item]:
        return [i for i in self.items if i.status != "skipped"]

    @property
    def skipped(self) -> list[Item]:
        return [i for i in self.items if i.status == "skipped"]

    def summary(self) -> str:
        counts = {s: sum(i.status == s for i in self.items) for s in ("new", "updated", "unchanged", "skipped")}
        students = {i.student for i in self.collected}
        lines = [(f"collected {len(self.collected)} submissions of {len(students)} students "
                  f"({counts['new']} new, {counts['updated']} updated, {counts['unchanged']} unchanged); "
                  f"{counts['skipped']} files not collected")]
        for i in self.items:
            if i.status == "skipped":
                lines.append(f"  NOT COLLECTED {i.source}: {i.note}")
            elif i.note:
                lines.append(f"  note {i.source} -> {i.student}/{i.assignment}: {i.note}")
        return "\n".join(lines)


def student_id(raw: str) -> tuple[str, str]:
    """A valid nbgrader student id for a folder name, and a note if it had to be changed."""
    raw = raw.strip()
    if STUDENT_OK.match(raw):
        return raw, ""
    sid = re.sub(r"[^A-Za-z0-9._@+-]+", "-", raw).strip("-._").lower()
    return sid, (f"student folder {raw!r} renamed to {sid!r} (ids may hold letters, digits and . _ @ + -)"
                 if sid else "")


def _assignment_of(path: Path, stem: str, known: list[str]) -> tuple[str, str]:
    """(assignment, note) from the file name or the notebook metadata; ('', reason) if neither."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
        problem = "" if isinstance(nb, dict) and isinstance(nb.get("cells"), list) else "no cells"
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        nb, problem = {}, type(e).__name__
    for cand in (stem, re.sub(r"\s*\(\d+\)$|-\d+$", "", stem)):
        if cand in known:  # named like the assignment: it is the hand-in, readable or not
            return cand, (f"not a readable notebook ({problem}): it will be graded 0 with a message"
                          if problem else "")
    if problem:
        return "", f"not a readable notebook ({problem})"
    meta = nb.get("metadata", {}).get("course", {}) if isinstance(nb.get("metadata"), dict) else {}
    meta_a = meta.get("assignment") if isinstance(meta, dict) else None
    if meta_a in known:
        return meta_a, f"file name {stem!r} is not an assignment id; assignment taken from the notebook's metadata"
    return "", f"not a course notebook (its name and metadata name no assignment; known: {', '.join(known)})"


def _candidates(root: Path) -> list[tuple[Path, str, str, str]]:
    """(file, relative source, raw student, stem) for every file under root."""
    out = []
    for p in sorted(root.rglob("*")):
        if p.is_dir():
            continue
        rel = p.relative_to(root)
        parts = rel.parts
        stem = p.stem
        student = ""
        if len(parts) >= 2:
            student = parts[0]
            m = MOODLE.match(student)
            if m:
                student = m.group("student")
        elif len(parts) == 1:
            m = CANVAS.match(p.name)
            if m:
                student = m.group("student")
                stem = Path(m.group("file")).stem
        out.append((p, str(rel), student, stem))
    return out


def _unwrap(root: Path, known: list[str]) -> Path:
    """A zip whose only entry is a folder of hand-ins (not one student's folder): look inside."""
    entries = [p for p in root.iterdir() if p.name not in SYSTEM]
    while len(entries) == 1 and entries[0].is_dir():
        inner = [p for p in entries[0].iterdir() if p.name not in SYSTEM]
        if any(p.is_file() and p.stem in known for p in inner) or \
                any(p.is_dir() and p.name in known for p in inner):
            break  # it is a student's own folder
        root, entries = entries[0], inner
    return root


def _mtime(p: Path) -> datetime:
    return datetime.fromtimestamp(p.stat().st_mtime, timezone.utc)


def collect(source: str | Path, grading: str | Path) -> Collection:
    """Copy every submission found in ``source`` (a folder or a .zip) into ``grading/submitted``."""
    source, grading = Path(source), Path(grading)
    if not source.exists():
        raise FileNotFoundError(f"{source}: no such folder or zip file")
    known = assignments()
    with tempfile.TemporaryDirectory(prefix="autograder-collect-") as tmp:
        if source.is_file():
            if not zipfile.is_zipfile(source):
                raise ValueError(f"{source}: not a folder or a zip file")
            root = Path(tmp) / "zip"
            with zipfile.ZipFile(source) as z:
                for info in z.infolist():
                    name = Path(info.filename)
                    if info.is_dir() or name.is_absolute() or ".." in name.parts:
                        continue
                    dest = root / name
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    with z.open(info) as f, open(dest, "wb") as g:
                        shutil.copyfileobj(f, g)
                    ts = datetime(*info.date_time).timestamp()
                    os.utime(dest, (ts, ts))
            root = _unwrap(root, known)
        else:
            root = source
        col = Collection()
        chosen: dict[tuple[str, str], tuple[Path, Item]] = {}
        for path, rel, raw_student, stem in _candidates(root):
            if any(part in SYSTEM for part in Path(rel).parts):
                col.items.append(Item(rel, "skipped", note="system file (not a submission)"))
                continue
            if path.suffix != ".ipynb":
                col.items.append(Item(rel, "skipped", note=f"not a notebook ({path.suffix or 'no extension'})"))
                continue
            if not raw_student:
                col.items.append(Item(rel, "skipped", note="no student: expected <student>/<assignment>.ipynb "
                                                           "or an LMS download (Canvas, Moodle)"))
                continue
            student, note = student_id(raw_student)
            if not student:
                col.items.append(Item(rel, "skipped", note=f"no usable student id in {raw_student!r}"))
                continue
            assignment, anote = _assignment_of(path, stem, known)
            if not assignment:
                col.items.append(Item(rel, "skipped", student=student, note=anote))
                continue
            item = Item(rel, "new", student, assignment, "; ".join(n for n in (note, anote) if n))
            key = (student, assignment)
            if key in chosen:
                other_path, other = chosen[key]
                newer = _mtime(path) >= _mtime(other_path)
                old_item = other if newer else item
                keep_item = item if newer else other
                old_item.status = "skipped"
                old_item.note = (f"older duplicate of {keep_item.source} for {student}/{assignment} "
                                 f"(the newest file is graded)")
                col.items.append(item)
                if newer:
                    chosen[key] = (path, item)
                continue
            chosen[key] = (path, item)
            col.items.append(item)
        for (student, assignment), (path, item) in chosen.items():
            dest = grading / "submitted" / student / assignment / f"{assignment}.ipynb"
            data = path.read_bytes()
            if dest.exists():
                same = hashlib.sha256(dest.read_bytes()).digest() == hashlib.sha256(data).digest()
                item.status = "unchanged" if same else "updated"
            if item.status != "unchanged":
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(data)
                (dest.parent / "timestamp.txt").write_text(
                    _mtime(path).strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
    if col.collected:
        from .gradebook import add_students
        add_students(grading, sorted({i.student for i in col.collected}))
    return col


def submissions(grading: str | Path) -> list[tuple[str, str, Path]]:
    """(student, assignment, path) of every collected submission, sorted."""
    out = []
    base = Path(grading) / "submitted"
    if not base.exists():
        return out
    for nb in sorted(base.glob("*/*/*.ipynb")):
        assignment, student = nb.parent.name, nb.parent.parent.name
        if nb.stem == assignment:
            out.append((student, assignment, nb))
    return out


def timestamp(path: Path) -> datetime:
    """When the submission was handed in (timestamp.txt beside it, else the file's time)."""
    ts = path.parent / "timestamp.txt"
    try:
        return datetime.strptime(ts.read_text().strip(), "%Y-%m-%d %H:%M:%S.%f UTC").replace(tzinfo=timezone.utc)
    except (OSError, ValueError):
        return _mtime(path)
