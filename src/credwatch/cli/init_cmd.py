"""``credwatch init``."""

from __future__ import annotations

import typer

from credwatch.cli.common import emit_json, out_console, workspace


def init(
    ctx: typer.Context,
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Create the workspace, its keys and a commented sample config (idempotent).

    Example:

        credwatch --workspace /srv/credwatch init
    """
    ws = workspace(ctx, require=False)
    result = ws.init()
    if json_output:
        emit_json({"workspace": str(result.workspace), "created": [str(p) for p in result.created]})
        return
    if not result.created:
        out_console.print(f"Workspace {result.workspace} already initialised; nothing changed.")
        return
    out_console.print(f"Initialised workspace {result.workspace}:")
    for path in result.created:
        out_console.print(f"  created {path}")
    out_console.print(
        "Keep keys/ private. The vault private key (keys/vault.key) is only needed by "
        "`credwatch audit run` and may be moved off this host."
    )
