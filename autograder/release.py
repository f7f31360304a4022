"""``make release``: regenerate lessons/ from solutions/ with nbgrader generate_assignment."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .notebook import ROOT, assignments


def release(names: list[str] | None = None, root: Path = ROOT, quiet: bool = True) -> list[Path]:
    """Run nbgrader on each assignment (all by default); return the written lesson notebooks.

    ``root`` is the course folder (holding nbgrader_config.py, solutions/ and lessons/);
    tests pass a temporary copy to compare its output with the committed lessons.
    """
    names = names or assignments()
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}
    (root / "grading").mkdir(exist_ok=True)
    out = []
    for name in names:
        target = root / "lessons" / name
        if target.exists():
            shutil.rmtree(target)
        cmd = [sys.executable, "-m", "nbgrader", "generate_assignment", name, "--force",
               f"--CourseDirectory.root={root}", "--log-level=ERROR" if quiet else "--log-level=INFO"]
        proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, check=False)
        nb = target / f"{name}.ipynb"
        if proc.returncode != 0 or not nb.exists():
            raise RuntimeError(f"nbgrader could not release {name}:\n{proc.stdout}\n{proc.stderr}")
        out.append(nb)
    return out
