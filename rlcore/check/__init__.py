"""Visible checks: ``check_NAME(fn)`` runs the learner's ``NAME`` on small known cases.

A failure prints what was called, what came back, what was expected and a hint (the named
mistake of ``rlcore.catalog`` when the learner's output is what it produces), and raises
``CheckFailed`` (an ``AssertionError``); success prints one line. The hidden tests that grade
an exercise are different, fresh random inputs.

Each lesson's checks live in ``lessonNN.py`` and are found by looking (every name in a
module's ``__all__`` is re-exported here). Probe checks, which train (``probes*.py``), are
imported on their own: ``from rlcore.check.probes import check_probes``.
"""

import importlib as _importlib
import pkgutil as _pkgutil
import re as _re

from ._core import Checker, CheckFailed, close, fmt, run_check

__all__ = ["CheckFailed", "Checker", "close", "fmt", "run_check"]

LESSON_MODULES = sorted(m.name for m in _pkgutil.iter_modules(__path__)
                        if _re.fullmatch(r"lesson\d\d", m.name))
for _name in LESSON_MODULES:
    _module = _importlib.import_module(f"{__name__}.{_name}")
    globals()[_name] = _module
    for _export in _module.__all__:
        globals()[_export] = getattr(_module, _export)
    __all__ += list(_module.__all__)
