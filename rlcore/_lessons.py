"""The per-lesson modules of a package (``lessonNN.py``): found on disk, never listed by hand.

The catalog, the visible checks and the hidden tests each keep one module per lesson.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from collections.abc import Iterable
from pathlib import Path
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


def all_imported(package: str) -> bool:
    """Whether ``import_lessons`` has imported every lesson module of ``package``."""
    return package in _IMPORTED


def source_of(path: Iterable[str], name: str) -> str:
    """The source text of module ``name`` of a package whose ``__path__`` is ``path`` (not imported)."""
    for folder in path:
        file = Path(folder) / f"{name}.py"
        if file.exists():
            return file.read_text(encoding="utf-8")
    raise FileNotFoundError(f"{name}.py is in none of {list(path)}")


def declared_all(path: Iterable[str], name: str) -> list[str]:
    """The names in module ``name``'s literal ``__all__``, read from its source without importing it.

    A lesson's checks import torch and more; reading ``__all__`` lets a package offer every
    lesson's names but import only the lesson a notebook asks for.
    """
    m = re.search(r"^__all__ = (\[.*?\])", source_of(path, name), flags=re.MULTILINE | re.DOTALL)
    if m is None:
        raise ValueError(f"{name}.py has no literal __all__")
    return list(ast.literal_eval(m.group(1)))  # the list alone: parsing whole modules took 0.14 s
