"""A learner's answers survive every command a learner might try, in lessons/ and in workspace/.

One test drives the real Makefile in a copy of the course (every tracked file, committed
to a fresh git repository, its .venv a link to this checkout's): it types answers into
lessons/02 (the old habit) and into workspace/02 (what `make lab` makes), then runs
`make setup`, `make test` (a small subset via PYTEST_ARGS, and the sync test, which now
fails with a message that loses nothing), `make release`, `make lab` (started, answering,
stopped), `make check`, `make clean` and finally `make release FORCE=1`, checking after
each that every learner file still holds exactly what the learner wrote.

`make setup` runs with ``-o .venv/.stamp-setup`` (make's "treat as up to date"): its pip
step would otherwise re-point this checkout's editable install at the temporary copy.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from gradelib import ROOT

from autograder.workspace import sync_workspace

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("learner-work")]
R = "02-trajectories-and-returns"
ANSWER = ("def finite_horizon_return(rewards):\n"
          "    return float(sum(rewards))  # the learner's own answer\n")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fill(path: Path) -> None:
    """Type an answer into finite_horizon_return, run a cell, save (as JupyterLab would)."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "finite_horizon_return":
            cell.source = ANSWER
            cell.execution_count = 7
            cell.outputs = [nbformat.v4.new_output("stream", text="ran\n")]
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A copy of the course as a learner's clone: tracked files, one commit, .venv linked."""
    dest = tmp_path_factory.mktemp("clone") / "course"
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    for rel in files.stdout.decode().split("\0"):
        if rel and (ROOT / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, dest / rel)  # keeps mtimes: the setup stamp stays newer
    (dest / ".venv").symlink_to(ROOT / ".venv")
    git = ["git", "-c", "user.name=learner", "-c", "user.email=l@example.org"]
    subprocess.run(git[:1] + ["init", "-q"], cwd=dest, check=True)
    subprocess.run(git[:1] + ["add", "-A"], cwd=dest, check=True)
    subprocess.run(git + ["commit", "-qm", "clone"], cwd=dest, check=True)
    return dest


def make(course: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "MAKE"))}
    return subprocess.run(["make", "-o", ".venv/.stamp-setup", *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def _lab(course: Path) -> str:
    """`make lab` as a learner runs it: wait until JupyterLab answers, then stop it; return its output."""
    from e2e.lab import free_port

    port, token = free_port(), "learner-work-test"
    log = course / "lab.log"
    args = f"--no-browser --ServerApp.port={port} --ServerApp.port_retries=0 --IdentityProvider.token={token}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "MAKE", "JUPYTER"))}
    with open(log, "w") as out:
        proc = subprocess.Popen(["make", "-o", ".venv/.stamp-setup", "lab", f"LAB_ARGS={args}"], cwd=course,
                                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"make lab exited:\n{log.read_text()}"
            try:
                url = f"http://127.0.0.1:{port}/api/contents/{R}?token={token}"
                with urllib.request.urlopen(url, timeout=5) as r:
                    listing = json.loads(r.read())
                break
            except OSError:
                time.sleep(0.5)
        else:
            raise AssertionError(f"make lab did not answer within 180 s:\n{log.read_text()}")
        # the server serves the workspace, not lessons/
        assert f"{R}.ipynb" in {c["name"] for c in listing["content"]}
        assert listing["path"] == R
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    return log.read_text()


def test_every_make_target_keeps_every_answer(course):
    lesson = course / "lessons" / R / f"{R}.ipynb"
    _fill(lesson)
    (lesson.parent / "my-notes.ipynb").write_bytes(lesson.read_bytes())  # a learner's own file
    first = sync_workspace(course / "workspace", course / "lessons")  # what `make lab` does first
    assert first.created and course / "workspace" / R / f"{R}.ipynb" in first.added
    mine = course / "workspace" / R / f"{R}.ipynb"
    assert "the learner's own answer" in mine.read_text()  # lessons/ work moved along on first use
    _fill(mine)
    learner_files = [lesson, lesson.parent / "my-notes.ipynb", mine, course / "workspace" / "Makefile"]
    before = {p: _digest(p) for p in learner_files}

    def intact(after: str) -> None:
        changed = [str(p.relative_to(course)) for p in learner_files if _digest(p) != before[p]]
        assert not changed, f"after {after}: {changed} changed"

    r = make(course, "setup")
    assert r.returncode == 0, r.stdout + r.stderr
    intact("make setup")

    r = make(course, "test", "PYTEST_ARGS=tests/test_returns.py -p no:cacheprovider")
    assert r.returncode == 0 and "passed" in r.stdout, r.stdout[-2000:] + r.stderr[-2000:]
    intact("make test")

    r = make(course, "test", "PYTEST_ARGS=tests/test_release.py::test_lessons_are_in_sync_with_make_release")
    assert r.returncode != 0, "the sync test passed although lessons/02 holds an answer"
    assert f"lessons/{R} holds a learner's work" in r.stdout and "Your work is safe" in r.stdout, r.stdout[-3000:]
    intact("make test (sync test)")

    r = make(course, "release")
    assert r.returncode != 0 and f"NOT released lessons/{R}/{R}.ipynb" in r.stderr, r.stdout + r.stderr
    assert "answers typed in: `finite_horizon_return`" in r.stderr
    assert "released lessons/00-welcome" in r.stdout or "unchanged lessons/00-welcome" in r.stdout
    intact("make release")

    out = _lab(course)
    assert "up to date" in out and "Added" not in out, out[-2000:]
    intact("make lab")

    r = make(course, "check")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"Checking {mine}" in r.stdout and "\u2713 test_finite_horizon_return [passed]" in r.stdout, r.stdout
    assert "skipped workspace/00-welcome/00-welcome.ipynb: nothing filled in yet" in r.stdout
    assert "save it first" in r.stdout
    r = make(course, "-C", "workspace", "check", "NB=02")
    assert r.returncode == 0 and "test_rollout [error]" in r.stdout, r.stdout + r.stderr
    intact("make check")

    status = subprocess.run(["git", "status", "--porcelain", "--ignored"], cwd=course, capture_output=True,
                            text=True, check=True).stdout
    assert "!! workspace/" in status and "?? workspace" not in status  # git-ignored, never committed
    assert f" M lessons/{R}/{R}.ipynb" in status  # the lessons/ answer shows in git status

    r = make(course, "clean")
    assert r.returncode == 0 and (ROOT / ".venv" / "bin" / "python").exists()  # only the link went
    assert not (course / ".venv").exists()
    intact("make clean")
    (course / ".venv").symlink_to(ROOT / ".venv")

    r = make(course, "release", "FORCE=1")
    assert r.returncode == 0, r.stdout + r.stderr
    backups = list((course / "backups").rglob(f"{R}.ipynb"))
    assert len(backups) == 1 and _digest(backups[0]) == before[lesson]
    assert str(backups[0].relative_to(course)) in r.stdout
    assert "raise NotImplementedError()" in lesson.read_text()  # the released lesson again
    assert _digest(mine) == before[mine] and _digest(lesson.parent / "my-notes.ipynb") == before[
        lesson.parent / "my-notes.ipynb"]


def test_workspace_adds_new_lessons_and_never_touches_a_file(tmp_path):
    lessons = tmp_path / "lessons"
    shutil.copytree(ROOT / "lessons" / R, lessons / R)
    ws = tmp_path / "workspace"
    sync_workspace(ws, lessons)
    mine = ws / R / f"{R}.ipynb"
    mine.write_text("my own text")
    shutil.copytree(ROOT / "lessons" / "03-policies", lessons / "03-policies")  # a new lesson ships
    (lessons / R / f"{R}.ipynb").write_text((lessons / R / f"{R}.ipynb").read_text() + " ")  # and a new 02
    again = sync_workspace(ws, lessons)
    assert again.added == [ws / "03-policies" / "03-policies.ipynb"]
    assert mine.read_text() == "my own text"
    report = again.report(tmp_path)
    assert "Added to workspace/: 1 lesson (03-policies)" in report
    assert f"newer lessons/{R}/{R}.ipynb than your workspace/{R}/{R}.ipynb" in report
    assert "untouched" in report


# Commands that would throw away a learner's notebooks in lessons/ or workspace/.
DESTRUCTIVE = [
    r"git\s+(checkout|restore)\s+(--\s+)?(\.|lessons|workspace)", r"git\s+reset\s+--hard",
    r"git\s+clean\s+-\w*f", r"git\s+stash", r"rm\s+-\w*r\w*\s+\S*(lessons|workspace)",
    r"nbgrader\s+generate_assignment\b[^\n]*--force",
]


def _user_facing_texts() -> dict[str, str]:
    """Every message a learner can meet: docs, Makefiles, the notebooks, and the Python sources
    that print messages (the grader's, rlcore's, the tests' assertion messages)."""
    paths = [ROOT / "README.md", ROOT / "Makefile", ROOT / "lessons" / "Makefile",
             *(ROOT / "docs").rglob("*.md"), *(ROOT / "e2e").glob("*.md"),
             *(ROOT / "lessons").rglob("*.ipynb"), *(ROOT / "solutions").rglob("*.ipynb"),
             *(ROOT / "autograder").rglob("*.py"), *(ROOT / "rlcore").rglob("*.py"),
             *(ROOT / "tests").glob("test_*.py")]
    return {str(p.relative_to(ROOT)): p.read_text() for p in paths
            if p.is_file() and p.name != "test_learner_work.py"}


def test_no_message_suggests_a_command_that_destroys_a_learners_answers():
    import re

    hits = [f"{name}: {m.group(0)!r}" for name, text in _user_facing_texts().items()
            for pattern in DESTRUCTIVE for m in re.finditer(pattern, text)]
    assert not hits, "a message suggests a command that would destroy a learner's work:\n" + "\n".join(hits)


def test_every_message_that_mentions_make_release_is_safe_to_follow():
    """`make release` is safe now (it refuses over answers); FORCE=1 only ever with its backup."""
    import re

    for name, text in _user_facing_texts().items():
        for m in re.finditer(r"release[^\n]{0,40}?(FORCE=1|--force)", text):
            around = text[max(0, m.start() - 250):m.end() + 250].lower()
            if not ("backup" in around or "backs" in around):
                raise AssertionError(f"{name}: {m.group(0)} suggested without saying it keeps a backup: "
                                     f"...{text[m.start() - 80:m.end() + 80]}...")


def test_readme_separates_the_learners_two_commands_from_the_contributors():
    import re

    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, re.DOTALL)
    commands = [[ln.split("#")[0].strip() for ln in b.splitlines() if ln.strip()] for b in blocks]
    assert ["make setup", "make lab"] in commands, "README: the learner's path is `make setup`, `make lab`"
    assert ["make setup", "make test"] in commands, "README: the contributor's path is `make setup`, `make test`"
    learn, contribute = text.index("**To learn**"), text.index("**To contribute**")
    assert learn < text.index("make lab", learn) < contribute
    ci = (ROOT / ".ci" / "run").read_text()
    assert ci.index("make setup") < ci.index("make test")  # CI follows the contributor's path
