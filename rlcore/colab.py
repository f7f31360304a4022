"""The first cell of every lesson: install the course on Google Colab, do nothing elsewhere.

A lesson opened on Colab from the README's "Open in Colab" link runs on Colab's own
Python, where ``rlcore`` is not installed. The cell below (``COLAB_CELL``) detects Colab
(``google.colab`` is imported in every Colab kernel) and pip-installs the course
package pinned to the tagged release, with the exact dependency pins of
``pyproject.toml``. On a laptop, Binder or a JupyterHub it does nothing.

The cell cannot import ``rlcore`` (it installs it), so the package spec is written
in; ``COLAB_CELL`` is built from ``REPO_URL`` and ``RELEASE_TAG`` here, the single place
they are defined. ``%pip`` installs into the running kernel's Python. ``tests/test_colab.py`` checks that every
notebook starts with exactly this cell and runs it in a fresh virtual environment.
"""

from __future__ import annotations

__all__ = [
    "COLAB_CELL",
    "COLAB_TAG",
    "PACKAGE_SPEC",
    "RELEASE_TAG",
    "REPO_SLUG",
    "REPO_URL",
    "binder_url",
    "colab_url",
    "enable_widgets",
    "on_colab",
]

#: The course repository (also used by the README's Colab links and the hub's nbgitpuller links).
REPO_SLUG = "deep-rl-course/deep-rl-course"
REPO_URL = f"https://github.com/{REPO_SLUG}"
#: The release the notebooks install on Colab; bump it together with ``pyproject``'s version.
RELEASE_TAG = "v0.1.0"
#: What pip installs on Colab: the package at the tagged release, dependencies pinned by it.
PACKAGE_SPEC = f"rlcore @ git+{REPO_URL}@{RELEASE_TAG}"
#: The cell tag that marks the install cell in every notebook.
COLAB_TAG = "colab"

COLAB_CELL = f"""\
# Set-up: on Google Colab this installs the course package; elsewhere it does nothing.
import sys
if "google.colab" in sys.modules:
    %pip install -q "{PACKAGE_SPEC}\""""


def on_colab() -> bool:
    """Return True when running in a Google Colab kernel (``google.colab`` is imported)."""
    import sys

    return "google.colab" in sys.modules


def enable_widgets() -> bool:
    """Return True after turning on Colab's widget manager for ipywidgets 8 (False off Colab).

    Colab ships ipywidgets 7; the course pins 8, whose sliders Colab renders through its
    custom widget manager. Called by ``rlcore.widgets`` before showing a widget.
    """
    if not on_colab():
        return False
    try:
        from google.colab import output

        output.enable_custom_widget_manager()
    except (ImportError, AttributeError):
        return False
    return True


def binder_url(tag: str = RELEASE_TAG, path: str = "lessons") -> str:
    """Return the Binder URL that builds the repository at ``tag`` and opens JupyterLab on ``path``."""
    return f"https://mybinder.org/v2/gh/{REPO_SLUG}/{tag}?urlpath=lab/tree/{path}"


def colab_url(assignment: str, tag: str = RELEASE_TAG) -> str:
    """Return the "Open in Colab" URL of the student notebook ``lessons/<assignment>/<assignment>.ipynb``.

    Raises ValueError if ``assignment`` is empty or contains a slash.
    """
    if not isinstance(assignment, str) or not assignment or "/" in assignment:
        raise ValueError(f"assignment must be a folder name like '04-value-functions', got {assignment!r}")
    return (f"https://colab.research.google.com/github/{REPO_SLUG}/blob/{tag}/"
            f"lessons/{assignment}/{assignment}.ipynb")
