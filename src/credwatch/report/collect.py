"""Collect every section of the report from the workspace, then derive what to do next.

Example:
    >>> report = build_report(Workspace.resolve(None))        # doctest: +SKIP
    >>> [sid for sid, _ in report.missing]                    # doctest: +SKIP
    ['hunt']
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from credwatch.report.advice import next_steps
from credwatch.report.loaders import (
    find_run,
    load_blast,
    load_coverage,
    load_exposure,
    load_hunt,
    load_progress,
    load_schemes,
    load_summary,
)
from credwatch.report.model import Exposure, Progress, Report
from credwatch.workspace import Workspace

__all__ = ["build_report"]


def build_report(ws: Workspace, *, run: str | None = None, now: datetime | None = None) -> Report:
    """Read every section's input from ``ws`` and assemble the report.

    Args:
        ws: an initialised workspace.
        run: the audit run to report on (default: the latest).
        now: the report's timestamp (default: the current time; a parameter for tests).

    Raises:
        ConfigError: when the workspace does not exist or its keys are exposed.

    Sections whose input is absent or unreadable become
    :class:`~credwatch.report.model.Missing`; this function does not raise for them.
    """
    ws.require()
    if run is None:
        # Resolve "the latest run" once, so every section reads the same run even if
        # another audit finishes while the report is being built.
        latest = find_run(ws)
        run = latest.name if latest is not None else None
    stamp = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    report = Report(
        generated_at=stamp,
        workspace=ws.root.name or str(ws.root),
        summary=load_summary(ws),
        exposure=load_exposure(ws, run),
        schemes=load_schemes(ws, run),
        hunt=load_hunt(ws),
        blast=load_blast(ws),
        progress=load_progress(ws),
    )
    if isinstance(report.progress, Progress) and isinstance(report.exposure, Exposure):
        coverage = load_coverage(ws, run)
        report = dataclasses.replace(
            report, progress=dataclasses.replace(report.progress, coverage=coverage)
        )
    return dataclasses.replace(report, next_steps=next_steps(report))
