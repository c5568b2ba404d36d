"""``credwatch leak``: ingest combolists, show index figures, check an address or password."""

from __future__ import annotations

import sys

import typer
from rich.table import Table

from credwatch.cli.common import emit_json, err_console, out_console, workspace
from credwatch.errors import UsageError
from credwatch.index import ExposureIndex, IngestOptions, IngestReport, ingest_files
from credwatch.index.exposure import IndexStats
from credwatch.leaks import LeakFormat

app = typer.Typer(
    help="Ingest leaked email:password files into the exposure index and query it.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.command("ingest")
def ingest(
    ctx: typer.Context,
    files: list[str] = typer.Argument(..., help="Combolist files or glob patterns."),  # noqa: B008
    source: str | None = typer.Option(None, "--source", help="Source name (default: file name)."),
    fmt: LeakFormat = typer.Option(  # noqa: B008 - typer's declaration style
        LeakFormat.AUTO, "--format", help="Line format, detected per file by default."
    ),
    encoding: str = typer.Option(
        "auto", "--encoding", help="auto, utf-8, cp932 (Shift_JIS), euc-jp or latin-1."
    ),
    default_domain: str | None = typer.Option(
        None, "--default-domain", help="Domain for user:pass lines without an address."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Ingest combolist files (plain, gzip, xz, bzip2, zstd or zip).

    Each file is one transaction; a file already ingested (same content) is skipped.
    Exits 3 when nothing at all could be ingested.

    Example:

        credwatch leak ingest dump.txt.gz extra/*.csv --default-domain nifty.com
    """
    ws = workspace(ctx)

    def progress(path: object, lines: int) -> None:
        err_console.print(f"  {path}: {lines:,} lines", end="\r")

    report = ingest_files(
        ws,
        files,
        IngestOptions(source=source, format=fmt, encoding=encoding, default_domain=default_domain),
        on_progress=progress if err_console.is_terminal and not json_output else None,
    )
    if err_console.is_terminal and not json_output:
        err_console.print()
    if json_output:
        emit_json(report.to_json())
    else:
        _render_ingest(report)
    report.raise_if_nothing_ingested()


def _render_ingest(report: IngestReport) -> None:
    for outcome in report.files:
        if outcome.status == "failed":
            err_console.print(f"[red]failed[/] {outcome.path}: {outcome.error}")
        elif outcome.status == "skipped":
            out_console.print(f"skipped {outcome.path}: {outcome.error}")
        elif outcome.source is not None:
            s = outcome.source
            reasons = ", ".join(f"{k} {v:,}" for k, v in s.rejected_by_reason.items()) or "none"
            out_console.print(
                f"ingested {outcome.path} as {s.name!r} ({s.format}, {s.encoding}): "
                f"{s.lines:,} lines, {s.accepted:,} accepted, {s.distinct_emails:,} addresses, "
                f"{s.distinct_pairs:,} pairs, {s.distinct_passwords:,} passwords; "
                f"rejected {s.rejected:,} ({reasons})"
            )


@app.command("stats")
def stats(
    ctx: typer.Context,
    json_output: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """Figures per source and per domain (distinct addresses), and totals.

    Example:

        credwatch leak stats --json
    """
    with ExposureIndex.open(workspace(ctx)) as index:
        result = index.stats()
    if json_output:
        emit_json(result.to_json())
        return
    _render_stats(result)


def _render_stats(result: IndexStats) -> None:
    sources = Table(title="Sources")
    for column in ("source", "lines", "accepted", "rejected", "addresses", "pairs", "passwords"):
        sources.add_column(column, justify="left" if column == "source" else "right")
    for s in result.sources:
        sources.add_row(
            s.name,
            f"{s.lines:,}",
            f"{s.accepted:,}",
            f"{s.rejected:,}",
            f"{s.distinct_emails:,}",
            f"{s.distinct_pairs:,}",
            f"{s.distinct_passwords:,}",
        )
    out_console.print(sources)
    reasons = Table(title="Rejected lines by reason")
    reasons.add_column("source")
    reasons.add_column("reason")
    reasons.add_column("lines", justify="right")
    reasons.add_column("sample line numbers")
    for s in result.sources:
        for reason, count in s.rejected_by_reason.items():
            sample = ", ".join(str(n) for n in s.rejected_line_sample.get(reason, []))
            reasons.add_row(s.name, reason, f"{count:,}", sample)
    if reasons.row_count:
        out_console.print(reasons)
    domains = Table(title="Exposed addresses by domain")
    domains.add_column("domain")
    domains.add_column("addresses", justify="right")
    for domain, count in result.domains.items():
        domains.add_row(domain, f"{count:,}")
    out_console.print(domains)
    t = result.totals
    out_console.print(
        f"total: {t['sources']} sources, {t['lines']:,} lines, {t['accepted']:,} accepted, "
        f"{t['distinct_emails']:,} addresses, {t['distinct_pairs']:,} pairs, "
        f"{t['distinct_passwords']:,} distinct passwords"
    )


@app.command("check")
def check(
    ctx: typer.Context,
    email: str | None = typer.Option(None, "--email", help="The address to look up."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read a password from stdin (never from the command line)."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print the answer as JSON."),
) -> None:
    """Is this address exposed, this pair, and how often does the password occur?

    Example:

        printf '%s' "$PW" | credwatch leak check --email taro@nifty.com --password-stdin --json
    """
    if email is None and not password_stdin:
        raise UsageError("nothing to check", hint="give --email ADDR and/or --password-stdin")
    password = None
    if password_stdin:
        password = sys.stdin.read().removesuffix("\n").removesuffix("\r")
        if not password:
            raise UsageError("--password-stdin: no password on stdin")
    with ExposureIndex.open(workspace(ctx)) as index:
        result = index.check(email=email, password=password)
    if json_output:
        emit_json(result.to_json())
        return
    if result.email_exposed is not None:
        out_console.print(f"address exposed: {'yes' if result.email_exposed else 'no'}")
    if result.pair_exposed is not None:
        out_console.print(f"pair exposed: {'yes' if result.pair_exposed else 'no'}")
    if result.password_count is not None:
        out_console.print(f"password seen in leaks: {result.password_count:,} times")
