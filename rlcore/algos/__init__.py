"""Fast, readable trainers: one file per algorithm (``pg.py``, ``dqn.py``), shared bits in ``common.py``."""
