"""The Colab install cell: canonical in every notebook, a no-op off Colab, and it really installs.

``test_the_cell_installs_the_course_in_a_fresh_venv`` simulates Colab: a fresh virtual
environment, a fake ``google.colab`` module, and the git URL replaced by a wheel built
from this checkout; pip then resolves and installs every pinned dependency for real.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest
import tomllib

from rlcore import colab

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def notebooks(kind: str) -> list[Path]:
    return sorted((ROOT / kind).glob("*/*.ipynb"))


def first_code_cell(path: Path) -> dict:
    nb = json.loads(path.read_text())
    return next(c for c in nb["cells"] if c["cell_type"] == "code")


def fake_colab(monkeypatch) -> list:
    """Install a fake ``google.colab`` in sys.modules; return the list its widget manager logs to."""
    calls: list = []
    google = types.ModuleType("google")
    mod = types.ModuleType("google.colab")
    mod.output = types.SimpleNamespace(enable_custom_widget_manager=lambda: calls.append("widgets"))
    google.colab = mod
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", mod)
    return calls


def test_release_tag_matches_the_package_version():
    assert colab.RELEASE_TAG == "v" + PYPROJECT["project"]["version"]
    assert colab.PACKAGE_SPEC in colab.COLAB_CELL
    assert colab.PACKAGE_SPEC == f"rlcore @ git+{colab.REPO_URL}@{colab.RELEASE_TAG}"


def as_python(cell: str) -> str:
    """The cell as IPython runs it (``%pip ...`` -> ``get_ipython().run_line_magic('pip', ...)``)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(cell)


class RecordingShell:
    def __init__(self):
        self.magics = []

    def run_line_magic(self, name, line):
        self.magics.append((name, line))


def run_cell_with(shell) -> None:
    """Execute the cell as IPython would, with ``shell`` standing in for ``get_ipython()``."""
    code = compile(as_python(colab.COLAB_CELL), "<colab cell>", "exec")
    exec(code, {"get_ipython": lambda: shell})  # noqa: S102 - the cell under test


def test_the_cell_does_nothing_off_colab(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    shell = RecordingShell()
    assert not colab.on_colab() and not colab.enable_widgets()
    run_cell_with(shell)
    assert shell.magics == []


def test_the_cell_pip_installs_the_tagged_release_on_colab(monkeypatch):
    widget_calls = fake_colab(monkeypatch)
    shell = RecordingShell()
    assert colab.on_colab()
    run_cell_with(shell)
    assert shell.magics == [("pip", f'install -q "{colab.PACKAGE_SPEC}"')]
    assert colab.enable_widgets() and widget_calls == ["widgets"]


def test_colab_url():
    url = colab.colab_url("04-value-functions")
    assert url == ("https://colab.research.google.com/github/deep-rl-course/deep-rl-course/"
                   "blob/v0.1.0/lessons/04-value-functions/04-value-functions.ipynb")
    for bad in ("", "a/b", None):
        with pytest.raises(ValueError, match="assignment"):
            colab.colab_url(bad)


ALL_NOTEBOOKS = notebooks("solutions") + notebooks("lessons")


@pytest.mark.skipif(not ALL_NOTEBOOKS, reason="no lesson notebooks exist yet in solutions/ or lessons/")
@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_notebook_starts_with_the_colab_cell(path):
    cell = first_code_cell(path)
    source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    assert source.strip() == colab.COLAB_CELL.strip(), (
        f"{path.relative_to(ROOT)}: the first code cell must be rlcore.colab.COLAB_CELL exactly "
        "(copy it from `python -c 'from rlcore.colab import COLAB_CELL; print(COLAB_CELL)'`)")
    assert colab.COLAB_TAG in cell.get("metadata", {}).get("tags", []), (
        f"{path.relative_to(ROOT)}: tag the first code cell '{colab.COLAB_TAG}'")


def test_readme_links_every_lesson_to_colab():
    readme = ROOT / "README.md"
    lessons = [p.parent.name for p in notebooks("lessons")]
    if not lessons:
        pytest.skip("no lessons/ notebooks exist yet")
    text = readme.read_text()
    missing = [a for a in lessons if colab.colab_url(a) not in text]
    assert not missing, f"README.md has no 'Open in Colab' link for {missing}"
    assert "Open in Colab" in text


def build_wheel(dest: Path) -> Path:
    """Build rlcore's wheel from a copy of the checkout's package files (no build/ in the tree)."""
    src = dest / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, src / name)
    for pkg in ("rlcore", "autograder"):
        shutil.copytree(ROOT / pkg, src / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", str(src),
                    "-w", str(dest / "dist")], check=True)
    (wheel,) = (dest / "dist").glob("rlcore-*.whl")
    return wheel


# Colab = a Python with IPython but without rlcore; the cell runs in a real IPython shell.
RUN_CELL = """
import sys, types
if sys.argv[2] == "colab":
    google = types.ModuleType("google")
    google.colab = types.ModuleType("google.colab")
    sys.modules["google"], sys.modules["google.colab"] = google, google.colab
from IPython.core.interactiveshell import InteractiveShell
result = InteractiveShell.instance().run_cell(open(sys.argv[1]).read())
sys.exit(0 if result.success else 1)
"""

AFTER_INSTALL = """
import importlib.metadata as md, json, rlcore
from rlcore.widgets import value_explorer
w = value_explorer()
print(json.dumps({"version": rlcore.__version__, "V_star_1": round(float(w.result["V_star"][1]), 1),
                  "pins": {d.split("==")[0]: md.version(d.split("==")[0])
                           for d in md.requires("rlcore") if "extra" not in d}}))
"""


@pytest.mark.slow
def test_the_cell_installs_the_course_in_a_fresh_venv(tmp_path):
    wheel = build_wheel(tmp_path)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    cell = tmp_path / "cell.ipy"
    cell.write_text(colab.COLAB_CELL.replace(colab.PACKAGE_SPEC, f"rlcore @ {wheel.as_uri()}"))
    assert colab.PACKAGE_SPEC not in cell.read_text()

    pins = dict(re.fullmatch(r"([\w.-]+)==(\S+)", d).groups()
                for d in PYPROJECT["project"]["dependencies"])
    subprocess.run([py, "-m", "pip", "install", "--quiet", f"ipython=={pins['ipython']}"],
                   check=True)

    # off Colab the cell is a no-op: the fresh venv still has no rlcore afterwards
    subprocess.run([py, "-c", RUN_CELL, str(cell), "laptop"], check=True)
    assert subprocess.run([py, "-c", "import rlcore"], check=False,
                          capture_output=True).returncode != 0

    # "on Colab" its %pip installs the package with all its pinned dependencies
    run = subprocess.run([py, "-c", RUN_CELL, str(cell), "colab"], check=False, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    check = subprocess.run([py, "-m", "pip", "check"], check=False, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    out = subprocess.run([py, "-c", AFTER_INSTALL], check=False, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["version"] == PYPROJECT["project"]["version"]
    assert got["V_star_1"] == 24.4
    for name, version in pins.items():
        assert got["pins"][name].split("+")[0] == version, f"{name} installed {got['pins'][name]}"
