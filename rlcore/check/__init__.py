"""Visible checks: ``check_NAME(fn)`` runs the learner's ``NAME`` on small known cases.

A failure prints what was called, what came back, what was expected and a hint (the named
mistake of ``rlcore.catalog`` when the learner's output is what it produces), and raises
``CheckFailed`` (an ``AssertionError``); success prints one line. A hint names a catalogued
mistake (``rlcore/catalog/lessonNN.py``) by value where its wrong implementation reproduces the
learner's output (``expect_close``), otherwise by what the check sees (``c.says``). The hidden tests that grade
an exercise are different, fresh random inputs.

Each lesson's checks live in ``lessonNN.py`` and are found by looking (every name in a
module's ``__all__`` is re-exported here, and its module imported on first use). Probe checks, which train (``probes*.py``), are
imported on their own: ``from rlcore.check.probes import check_probes``.
"""

import importlib
from typing import Any

from .. import _lessons
from ._core import Checker, CheckFailed, close, fmt, run_check

_LESSONS = _lessons.lesson_modules(__path__)
_HOME = {export: lesson for lesson in _LESSONS for export in _lessons.declared_all(__path__, lesson)}

__all__ = ["CheckFailed", "Checker", "close", "fmt", "run_check"]
__all__ += list(_HOME)  # every lesson's check_NAME


def __getattr__(name: str) -> Any:
    """Import a lesson's check module on first use: lesson 04's checks need no torch."""
    lesson = name if name in _LESSONS else _HOME.get(name)
    if lesson is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f"{__name__}.{lesson}")
    return module if name == lesson else getattr(module, name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME) | set(_LESSONS))
