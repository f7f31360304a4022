"""The one password hash of `make hub` (run.py writes it, jupyterhub_config.py checks it)."""

from __future__ import annotations

import hashlib


def password_hash(password: str, salt: str) -> str:
    """PBKDF2-HMAC-SHA256 (100 000 rounds) of ``password`` with the hex ``salt``, as hex."""
    return hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), 100_000).hex()
