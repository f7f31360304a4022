"""Fast, readable trainers: one file per algorithm (``pg.py``, ``dqn.py``, ``td3.py``, ``sac.py``, ...).

What they share (the learner-function error, env factory, config validation, the
evaluate-and-record step) is in ``_plumbing.py`` (and, for the off-policy trainers, in
``_offpolicy.py``); threads, seeding and the greedy
evaluation in ``common.py``. Catch ``rlcore.algos.LearnerFunctionError`` once for all of them.
"""

from ._plumbing import LearnerFunctionError, NotLearning

__all__ = ["LearnerFunctionError", "NotLearning"]
