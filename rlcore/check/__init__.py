"""Visible checks: ``check_NAME(fn)`` runs the learner's ``NAME`` on small known cases.

A failure prints what was called, what came back, what was expected and a hint, and
raises ``CheckFailed`` (an ``AssertionError``); success prints one line. The hidden
tests that grade an exercise are different, fresh random inputs.
"""

from ._core import CheckFailed, Checker, close, fmt, run_check
from .lesson01 import *  # noqa: F401,F403
from .lesson02 import *  # noqa: F401,F403
from .lesson03 import *  # noqa: F401,F403
from .lesson04 import *  # noqa: F401,F403
from .lesson05 import *  # noqa: F401,F403
from .lesson06 import *  # noqa: F401,F403
from .lesson07 import *  # noqa: F401,F403

from . import lesson01, lesson02, lesson03, lesson04, lesson05, lesson06, lesson07

__all__ = ["CheckFailed", "Checker", "close", "fmt", "run_check"] + [
    name for m in (lesson01, lesson02, lesson03, lesson04, lesson05, lesson06, lesson07)
    for name in m.__all__
]
