"""Visible checks: ``check_NAME(fn)`` runs the learner's ``NAME`` on small known cases.

A failure prints what was called, what came back, what was expected and a hint (the named
mistake of ``rlcore.catalog`` when the learner's output is what it produces), and raises
``CheckFailed`` (an ``AssertionError``); success prints one line. A hint names a catalogued
mistake (``rlcore/catalog/lessonNN.py``) by value where its wrong implementation reproduces the
learner's output (``expect_close``), otherwise by what the check sees (``c.says``). The hidden tests that grade
an exercise are different, fresh random inputs.

Each lesson's checks live in ``lessonNN.py`` and are found by looking (every name in a
module's ``__all__`` is re-exported here). Probe checks, which train (``probes*.py``), are
imported on their own: ``from rlcore.check.probes import check_probes``.
"""

from .. import _lessons
from ._core import Checker, CheckFailed, close, fmt, run_check

__all__ = ["CheckFailed", "Checker", "close", "fmt", "run_check"]

for _module in _lessons.import_lessons(__name__, __path__):
    _name = _module.__name__.rsplit(".", 1)[1]
    globals()[_name] = _module
    for _export in _module.__all__:
        globals()[_export] = getattr(_module, _export)
    __all__ += list(_module.__all__)
