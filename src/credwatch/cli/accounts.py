"""``credwatch accounts``: look at configured account stores."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.table import Table

from credwatch.cli.common import emit_json, out_console, workspace

if TYPE_CHECKING:  # SQLAlchemy and the connectors load only when a command runs
    from credwatch.accounts.census import StoreCensus

app = typer.Typer(
    help="Inspect the account stores configured under [stores.NAME] in credwatch.toml.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _table(title: str, counts: dict[str, int], limit: int = 15) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("value")
    table.add_column("accounts", justify="right")
    for key, value in list(counts.items())[:limit]:
        table.add_row(key, f"{value:,}")
    if len(counts) > limit:
        table.add_row(f"... {len(counts) - limit} more", "")
    return table


def _render(census: StoreCensus) -> None:
    out_console.print(f"store {census.store} ({census.kind}): {census.accounts:,} accounts")
    out_console.print(_table("tenants", census.by_tenant))
    out_console.print(_table("statuses", census.by_status))
    if census.unknown_statuses:
        out_console.print(_table("status values outside the mapping", census.unknown_statuses))
    out_console.print(_table("hash schemes", census.schemes))
    if census.unknown_schemes:
        out_console.print(_table("schemes credwatch cannot verify", census.unknown_schemes))
    out_console.print(_table("MFA", census.mfa))
    out_console.print(_table("recovery domains", census.recovery_domains))
    if census.rejected:
        lines = ", ".join(str(n) for n in census.rejected_lines[:20])
        out_console.print(
            f"rejected lines: {sum(census.rejected.values()):,} "
            f"({', '.join(f'{k} {v}' for k, v in census.rejected.items())}); lines {lines}"
        )


@app.command("census")
def census(
    ctx: typer.Context,
    store: str = typer.Option(..., "--store", help="The store's name ([stores.NAME])."),
    json_output: bool = typer.Option(False, "--json", help="Print the census as JSON."),
) -> None:
    """Count a store's accounts by tenant, status, hash scheme, MFA and recovery domain.

    Status values outside the configured mapping and hash schemes credwatch cannot
    verify are listed by value and count; malformed lines of a file store are counted
    with their line numbers.  Exit 4 when the database is unreachable.

    Example:

        credwatch accounts census --store mail --json
    """
    from credwatch.accounts import open_store, run_census

    ws = workspace(ctx)
    result = run_census(open_store(ws, store))
    if json_output:
        emit_json(result.to_json())
        return
    _render(result)
