"""Visible checks for lesson03 (filled in with the lesson)."""

__all__: list[str] = []
