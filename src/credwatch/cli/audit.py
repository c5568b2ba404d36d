"""``credwatch audit``: which accounts are exposed, and which leaked passwords still work."""

from __future__ import annotations

import itertools
import json
import os
import sys
from collections.abc import Iterator
from typing import Any

import typer
from rich.table import Table

from credwatch.audit import FINDINGS, iter_account_results, load_summary, run_audit
from credwatch.cli.common import emit_json, err_console, out_console, workspace
from credwatch.execute import executor_from_spec, rich_progress

app = typer.Typer(
    help="Audit an account store against the exposure index and show the results.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _render(summary: dict[str, Any]) -> None:
    out_console.print(
        f"run {summary['run']} (store {summary['store']}, {summary['created_at']}): "
        f"{summary['accounts']:,} accounts, {summary['exposed']:,} exposed"
    )
    keys = ("accounts", "exposed", *FINDINGS)
    for title, groups in (("by tenant", summary["by_tenant"]), ("by status", summary["by_status"])):
        # Findings as rows, groups as columns: fits a terminal with six tenants.
        table = Table(title=f"findings {title}", title_justify="left")
        table.add_column("finding", no_wrap=True, min_width=16)
        for name in groups:
            table.add_column(name, justify="right")
        table.add_column("total", justify="right", style="bold")
        for key in keys:
            table.add_row(key, *(f"{g[key]:,}" for g in groups.values()), f"{summary[key]:,}")
        out_console.print(table)
    if summary.get("unknown_statuses"):
        out_console.print(
            "status values outside the mapping: "
            + ", ".join(f"{k} {v:,}" for k, v in summary["unknown_statuses"].items())
        )
    if summary.get("unknown_schemes"):
        out_console.print(
            "hash schemes credwatch cannot verify: "
            + ", ".join(f"{k} {v:,}" for k, v in summary["unknown_schemes"].items())
        )


def _emit_lines(rows: Iterator[dict[str, Any]]) -> None:
    """Per-account JSON Lines on stdout; a closed pipe (``| head``) ends quietly."""
    try:
        for row in rows:
            sys.stdout.write(
                json.dumps(
                    {
                        "id": row["id"],
                        "tenant": row["tenant"],
                        "status": row["status"],
                        "findings": row["findings"],
                        "risk_score": row["risk_score"],
                        "priority": row["priority"],
                        "masked_email": row["masked_email"],
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


@app.command("run")
def run(
    ctx: typer.Context,
    store: str = typer.Option(..., "--store", help="The store's name ([stores.NAME])."),
    executor: str = typer.Option(
        "local",
        "--executor",
        help="Where slow hashes are verified: local[:N], dask-local[:N] or dask://HOST:PORT.",
    ),
    resume: bool = typer.Option(
        False, "--resume", help="Continue the latest interrupted run of this store."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Join the exposure index with an account store, verify leaked passwords, classify.

    Writes a run folder (accounts.parquet + summary.json, masked addresses only) under
    the workspace's runs/.  Exit 4 when the store's database is unreachable (nothing is
    written then).

    Example:

        credwatch audit run --store mail --executor local:2
    """
    ws = workspace(ctx)
    with (
        executor_from_spec(executor) as pool,
        rich_progress("verifying slow hashes", None, console=err_console) as progress,
    ):
        result = run_audit(ws, store, executor=pool, resume=resume, progress=progress)
    if json_output:
        emit_json(result.summary)
        return
    _render(result.summary)
    out_console.print(f"results: {result.path}")


@app.command("show")
def show(
    ctx: typer.Context,
    run: str | None = typer.Argument(None, help="Run id (default: the latest run)."),
    json_output: bool = typer.Option(False, "--json", help="Print JSON."),
    accounts: bool = typer.Option(
        False, "--accounts", help="Per-account results (JSON Lines with --json), by priority."
    ),
    limit: int = typer.Option(
        50, "--limit", min=1, help="Rows of the --accounts table (JSON Lines: every account)."
    ),
) -> None:
    """Show an audit run: totals, per tenant x status x finding, or per account.

    Example:

        credwatch audit show --json
        credwatch audit show 20260701T120000Z-1a2b3c --accounts --json > accounts.jsonl
    """
    ws = workspace(ctx)
    if accounts:
        rows = iter_account_results(ws, run)
        if json_output:
            _emit_lines(rows)
            return
        table = Table(title="accounts by priority", title_justify="left")
        for column in ("priority", "id", "tenant", "status", "address", "findings", "risk"):
            table.add_column(column)
        for row in itertools.islice(rows, limit):
            if not row["findings"]:
                break
            table.add_row(
                str(row["priority"]),
                row["id"],
                row["tenant"],
                row["status"],
                row["masked_email"],
                ", ".join(row["findings"]),
                str(row["risk_score"]),
            )
        out_console.print(table)
        return
    summary = load_summary(ws, run)
    if json_output:
        emit_json(summary)
        return
    _render(summary)
