"""``credwatch apply PLAN [--yes]``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Table

from credwatch.apply import ApplyReport, apply_plan
from credwatch.apply.engine import RESULTS
from credwatch.apply.sql import DEFAULT_BATCH_SIZE
from credwatch.cli.common import emit_json, err_console, out_console, workspace


def _render(report: ApplyReport) -> None:
    title = "dry run: what would change" if report.dry_run else "applied"
    results = [r for r in RESULTS if report.total(r)]
    labels = {"applied": "would apply" if report.dry_run else "applied"}
    table = Table(title=f"{title} (store {escape(report.store)})")
    table.add_column("action")
    for result in results:
        table.add_column(labels.get(result, result).replace("_", " "), justify="right")
    for action, counts in report.counts.items():
        table.add_row(action, *(str(counts.get(r, 0)) for r in results))
    out_console.print(table)
    if report.resumed:
        out_console.print(
            "An earlier apply of this plan had begun; finished actions were not repeated."
        )
    if report.dry_run:
        out_console.print("Nothing was changed. Run again with --yes to apply.")
    else:
        out_console.print(f"{report.journal_records} journal records appended.")


def apply(
    ctx: typer.Context,
    plan_path: Path = typer.Argument(..., metavar="PLAN", help="The plan file."),  # noqa: B008
    yes: bool = typer.Option(False, "--yes", help="Really change the store (default: dry run)."),
    batch_size: int = typer.Option(
        DEFAULT_BATCH_SIZE, "--batch-size", min=1, help="Actions per transaction."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Carry out a plan on its store: dry run unless --yes; journaled, resumable, idempotent.

    Refuses a plan edited by hand, made for another store, whose audit run is gone or
    whose store changed since (exit 3), and an action the store has no configuration
    for (exit 2).

    Example:

        credwatch apply fix.plan.json && credwatch apply fix.plan.json --yes
    """
    ws = workspace(ctx)
    with Progress(
        "apply",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    ) as progress:
        task = progress.add_task("apply", total=None)

        def step(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        report = apply_plan(ws, plan_path, yes=yes, batch_size=batch_size, on_progress=step)
    if json_output:
        emit_json(report.to_json())
        return
    _render(report)
