"""A rich progress bar (rate and ETA, on stderr) for :func:`run_batches`.

Kept apart so the rest of :mod:`credwatch.execute` stays free of any UI.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from credwatch.execute.interface import ProgressCallback, ProgressUpdate

__all__ = ["rich_progress"]


@contextmanager
def rich_progress(
    description: str, total_items: int | None, *, console: Console | None = None
) -> Iterator[ProgressCallback]:
    """A progress callback drawing a bar with items/s and ETA on stderr.

    Example:
        >>> with rich_progress("verifying", 10) as cb:  # doctest: +SKIP
        ...     cb(ProgressUpdate(1, 5, 10, 0))
    """
    out = console or Console(file=sys.stderr)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=out, transient=False) as bar:
        task = bar.add_task(description, total=total_items, rate="")

        def update(state: ProgressUpdate) -> None:
            speed = bar.tasks[task].speed
            rate = f"{speed:,.0f}/s" if speed else ""
            bar.update(task, completed=state.items_done, total=state.items_total, rate=rate)

        yield update
