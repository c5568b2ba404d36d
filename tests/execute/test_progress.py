"""rich_progress draws counts (and a rate) from ProgressUpdate callbacks."""

from __future__ import annotations

import io

from rich.console import Console

from credwatch.execute import ProgressUpdate, rich_progress


def test_rich_progress_renders_counts() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=False, width=120)
    with rich_progress("verifying", 10, console=console) as update:
        update(ProgressUpdate(1, 4, 10, 0))
        update(ProgressUpdate(2, 10, 10, 1))
    text = buffer.getvalue()
    assert "verifying" in text
    assert "10/10" in text
    assert "ETA" in text
