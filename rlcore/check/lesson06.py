"""Visible checks for lesson06 (filled in with the lesson)."""

__all__: list[str] = []
