"""``credwatch serve``."""

from __future__ import annotations

import typer

from credwatch.cli.common import err_console, workspace


def serve_cmd(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
    workers: int | None = typer.Option(
        None, "--workers", min=1, max=64, help="Worker processes (default [serve] workers, 1)."
    ),
    refresh: bool = typer.Option(
        True,
        "--refresh/--no-refresh",
        help="Rebuild the corpus's snapshot of the exposure index first when it is newer.",
    ),
) -> None:
    """Serve the Pwned Passwords range API, /v1/check and the Dovecot policy endpoint.

    GET /range/{prefix} answers like api.pwnedpasswords.com (point a client's base URL
    here); POST /v1/check and POST /v1/policy need the bearer token of [serve] token or
    token_file; /healthz and /metrics are open.  Prefixes, addresses and passwords are
    never logged.

    Example:

        credwatch serve --host 127.0.0.1 --port 8000 --workers 2
    """
    # Imported here: FastAPI and uvicorn cost half a second that other commands need not pay.
    from credwatch.serve import refresh_index_snapshot, serve

    ws = workspace(ctx)
    if refresh:
        for report in refresh_index_snapshot(ws):
            err_console.print(
                f"refreshed the index snapshot: {report.index_records:,} {report.mode} hashes "
                f"(generation {report.generation})"
            )
    err_console.print(f"serving on http://{host}:{port} (Ctrl-C to stop)")
    serve(ws, host=host, port=port, workers=workers)
