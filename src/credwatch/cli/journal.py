"""``credwatch journal verify``."""

from __future__ import annotations

import typer

from credwatch.apply import JournalError, verify_journal
from credwatch.cli.common import emit_json, out_console, workspace

app = typer.Typer(
    help="""The hash-chained journal of applied actions.

Example:

    credwatch journal verify
""",
    no_args_is_help=True,
)


@app.command("verify")
def verify(
    ctx: typer.Context,
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Check every line's hash and link; exit 3 naming the first broken line.

    Example:

        credwatch --workspace /srv/credwatch journal verify --json
    """
    ws = workspace(ctx)
    result = verify_journal(ws.journal_path)
    if json_output:
        emit_json(
            {
                "path": str(result.path),
                "ok": result.ok,
                "lines": result.lines,
                "first_broken_line": result.first_broken_line,
                "problem": result.problem,
                "plans": result.plans,
                "actions": result.actions,
            }
        )
    elif result.ok:
        out_console.print(
            f"journal {result.path}: {result.lines} lines, chain intact "
            f"({result.actions} actions of {result.plans} plans)"
        )
    if not result.ok:
        raise JournalError(
            f"{result.path}:{result.first_broken_line}: {result.problem}",
            hint="lines from there on cannot be trusted; keep the file as evidence",
        )
