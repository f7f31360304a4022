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


def import_lessons(package: str, path: Iterable[str]) -> list[ModuleType]:
    """Import every ``lessonNN`` module of ``package`` (whose ``__path__`` is ``path``), in order."""
    return [importlib.import_module(f"{package}.{name}") for name in lesson_modules(path)]
