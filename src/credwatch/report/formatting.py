"""Small text helpers shared by the HTML and Markdown templates."""

from __future__ import annotations

from datetime import datetime

__all__ = ["short_time"]


def short_time(value: object) -> str:
    """An ISO timestamp as ``YYYY-MM-DD HH:MM`` (UTC offset dropped); other text as is.

    Example:
        >>> short_time("2026-06-26T02:00:13+00:00")
        '2026-06-26 02:00'
        >>> short_time(None)
        '—'
    """
    if value is None or value == "":
        return "—"
    text = str(value)
    try:
        return datetime.fromisoformat(text).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return text
