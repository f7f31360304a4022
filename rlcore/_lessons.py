"""The per-lesson modules of a package (``lessonNN.py``): found on disk, never listed by hand.

The catalog, the visible checks and the hidden tests each keep one module per lesson.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterable
from types import ModuleType


def lesson_modules(path: Iterable[str]) -> list[str]:
    """The ``lessonNN`` modules in a package's ``__path__``, in lesson order."""
    return sorted(m.name for m in pkgutil.iter_modules(path) if re.fullmatch(r"lesson\d\d", m.name))


_IMPORTED: dict[str, list[ModuleType]] = {}


def import_lessons(package: str, path: Iterable[str]) -> list[ModuleType]:
    """Import every ``lessonNN`` module of ``package`` (whose ``__path__`` is ``path``), in order.

    The folder is listed once per process: the judges and checks ask for the catalog on every
    case they look up, and the lessons of a running process do not change.
    """
    if package not in _IMPORTED:
        _IMPORTED[package] = [importlib.import_module(f"{package}.{name}") for name in lesson_modules(path)]
    return _IMPORTED[package]
