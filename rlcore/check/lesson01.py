"""Visible checks for lesson01 (filled in with the lesson)."""

__all__: list[str] = []
