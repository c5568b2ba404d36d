"""``credwatch notify PLAN (--out DIR | --smtp HOST:PORT) [--lang ja|en]``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from credwatch.cli.common import emit_json, err_console, out_console, workspace
from credwatch.errors import ExternalServiceError, UsageError
from credwatch.notify import EmlDirectory, MessageSink, SmtpSink, notify_plan, parse_hostport


def notify(
    ctx: typer.Context,
    plan_path: Path = typer.Argument(..., metavar="PLAN", help="The plan file."),  # noqa: B008
    out: Path | None = typer.Option(  # noqa: B008 - typer's declaration style
        None, "--out", help="Write one .eml per message into DIR/TENANT/ (they hold addresses)."
    ),
    smtp: str | None = typer.Option(
        None, "--smtp", help="Send through this SMTP server HOST:PORT."
    ),
    lang: str = typer.Option("ja", "--lang", help="Message language: ja or en."),
    attempts: int = typer.Option(3, "--attempts", min=1, help="SMTP attempts per message."),
    json_output: bool = typer.Option(False, "--json", help="Print per-message results as JSON."),
) -> None:
    """Tell each account's owner what happened and what to do, in per-tenant batches.

    Addresses are read from the store now (plans hold ids only).  Exit 4 when any
    message could not be sent.

    Example:

        credwatch notify fix.plan.json --out notices/ --lang ja
        credwatch notify fix.plan.json --smtp 127.0.0.1:25 --lang en
    """
    if (out is None) == (smtp is None):
        raise UsageError("give exactly one of --out DIR and --smtp HOST:PORT")
    ws = workspace(ctx)
    sink: MessageSink
    if out is not None:
        sink = EmlDirectory(out)
    else:
        host, port = parse_hostport(smtp or "")
        sink = SmtpSink(host, port, attempts=attempts)
    report = notify_plan(ws, plan_path, sink, lang=lang)
    if not report.plan_applied:
        err_console.print(
            "[yellow]warning:[/] the journal records no finished apply of this plan; "
            "the messages describe actions that may not have happened yet"
        )
    if json_output:
        emit_json(report.to_json())
    else:
        counts = report.counts()
        results = sorted({r for c in counts.values() for r in c})
        table = Table(title=f"notifications ({report.lang})")
        table.add_column("tenant")
        for result in results:
            table.add_column(result.replace("_", " "), justify="right")
        for tenant, row in counts.items():
            table.add_row(escape(tenant), *(str(row.get(r, 0)) for r in results))
        out_console.print(table)
        if out is not None:
            out_console.print(
                f".eml files are in {escape(str(out))}; they contain recipient addresses: "
                "keep the folder private and delete it after sending."
            )
    if report.failed():
        raise ExternalServiceError(
            f"{report.failed()} message(s) could not be sent",
            hint="see the per-message results (--json); run notify again for the rest later",
        )
