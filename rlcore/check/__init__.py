"""Visible checks: ``check_NAME(fn)`` runs the learner's ``NAME`` on small known cases.

A failure prints what was called, what came back, what was expected and a hint, and
raises ``CheckFailed`` (an ``AssertionError``); success prints one line. The hidden
tests that grade an exercise are different, fresh random inputs.
"""

from . import lesson01, lesson02, lesson03, lesson04, lesson05, lesson06, lesson07
from ._core import Checker, CheckFailed, close, fmt, run_check
from .lesson01 import *
from .lesson02 import *
from .lesson03 import *
from .lesson04 import *
from .lesson05 import *
from .lesson06 import *
from .lesson07 import *

__all__ = ["CheckFailed", "Checker", "close", "fmt", "run_check"] + [
    name for m in (lesson01, lesson02, lesson03, lesson04, lesson05, lesson06, lesson07)
    for name in m.__all__
]
