"""Browser tests, part of ``make test``: a learner's JupyterLab session in headless Chromium.

The scenarios live in ``e2e/scenarios.py`` (run alone with ``make e2e``); importing them
here lets pytest collect them with the rest of the suite. They are skipped only when
Chromium cannot be found or installed (the reason is printed with ``-ra``), and a
scenario whose lesson is not written yet is skipped with that reason.
"""

from e2e.scenarios import *  # the scenarios and their fixtures
