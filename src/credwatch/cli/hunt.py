"""``credwatch hunt``: find credential stuffing, spraying and brute force in auth logs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from credwatch.cli.common import emit_json, err_console, out_console, workspace
from credwatch.errors import UsageError
from credwatch.hunt import (
    FORMATS,
    Engine,
    HuntConfig,
    HuntResult,
    IndexExposure,
    JsonLinesSink,
    MemoryState,
    OnlineHunter,
    expand_paths,
    hunt_files,
    write_blocklist,
)
from credwatch.hunt.follow import follow_files
from credwatch.hunt.interface import Alert
from credwatch.hunt.output import BLOCKLIST_FORMATS, render_blocklist
from credwatch.results import save_result
from credwatch.workspace import Workspace

_SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan"}


def hunt(
    ctx: typer.Context,
    files: list[str] = typer.Argument(..., help="Log files or quoted glob patterns."),  # noqa: B008
    fmt: str = typer.Option(
        "auto", "--format", help=f"Log family: {', '.join(FORMATS)} (auto tries all)."
    ),
    follow: bool = typer.Option(
        False, "--follow", "-f", help="Keep reading appended lines (and rotated files)."
    ),
    alerts_path: Path | None = typer.Option(  # noqa: B008
        None, "--alerts", help="Write alerts as JSON Lines to this file."
    ),
    blocklist: Path | None = typer.Option(  # noqa: B008
        None, "--blocklist", help="Write the flagged addresses and subnets to this file."
    ),
    blocklist_format: str = typer.Option(
        "plain", "--blocklist-format", help="plain (one per line), nft (sets) or fail2ban."
    ),
    jail: str = typer.Option(
        "credwatch", "--jail", help="fail2ban jail for --blocklist-format fail2ban."
    ),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    max_seconds: float | None = typer.Option(
        None, "--max-seconds", help="With --follow: stop after this many seconds."
    ),
    idle_seconds: float | None = typer.Option(
        None,
        "--idle-seconds",
        help="With --follow: stop after this many seconds without new lines.",
    ),
    poll_seconds: float = typer.Option(0.5, "--poll-seconds", hidden=True),
    threads: int | None = typer.Option(
        None, "--threads", help="DuckDB threads (default: all cores)."
    ),
) -> None:
    """Hunt credential stuffing, password spraying and brute force in authentication logs.

    Reads Dovecot, Postfix SASL, Roundcube, sshd, Exim, nginx/Apache and JSON Lines (ECS,
    journald) logs, plain or gzip/xz/bzip2/zstd, and runs every detector of the
    workspace's [hunt] configuration.  With an exposure index in the workspace, it also
    finds stuffing with the leaked pairs from addresses that try only one or two users.
    Lines that match no parser are counted per file, never fatal.

    Example:

        credwatch hunt /var/log/mail.log* --blocklist block.nft --blocklist-format nft

        credwatch hunt --follow /var/log/mail.log --alerts alerts.jsonl --idle-seconds 600
    """
    if blocklist_format not in BLOCKLIST_FORMATS:
        raise UsageError(
            f"unknown blocklist format {blocklist_format!r}",
            hint=f"choose one of {', '.join(BLOCKLIST_FORMATS)}",
        )
    if fmt not in FORMATS:
        raise UsageError(f"unknown log format {fmt!r}", hint=f"choose one of {', '.join(FORMATS)}")
    if (max_seconds is not None or idle_seconds is not None) and not follow:
        raise UsageError("--max-seconds and --idle-seconds only apply with --follow")
    ws = _workspace(ctx)
    config = (
        HuntConfig.from_section(ws.config().section("hunt"), str(ws.config_path))
        if ws
        else HuntConfig()
    )
    if follow:
        _follow(
            files,
            fmt,
            config,
            ws,
            alerts_path,
            blocklist,
            blocklist_format,
            jail,
            json_output,
            max_seconds,
            idle_seconds,
            poll_seconds,
        )
        return
    paths = expand_paths(files)
    result = hunt_files(paths, fmt=fmt, config=config, workspace=ws, threads=threads)
    if alerts_path is not None:
        sink = JsonLinesSink(alerts_path)
        try:
            for alert in result.alerts:
                sink.emit(alert)
        finally:
            sink.close()
    if blocklist is not None:
        entries = write_blocklist(list(result.alerts), blocklist, blocklist_format, jail=jail)
        err_console.print(f"wrote {entries:,} blocklist entries to {escape(str(blocklist))}")
    if ws is not None:
        save_result(ws, "hunt", result.to_json())
    if json_output:
        emit_json(result.to_json())
    else:
        _render(result)


def _workspace(ctx: typer.Context) -> Workspace | None:
    """The workspace if it exists (for the exposure index and [hunt]); hunting works without."""
    ws = workspace(ctx, require=False)
    if not ws.root.exists():
        return None
    return ws.require()


def _follow(
    files: list[str],
    fmt: str,
    config: HuntConfig,
    ws: Workspace | None,
    alerts_path: Path | None,
    blocklist: Path | None,
    blocklist_format: str,
    jail: str,
    json_output: bool,
    max_seconds: float | None,
    idle_seconds: float | None,
    poll_seconds: float,
) -> None:
    paths = [Path(f) for f in files]  # followed files may not exist yet
    exposure: IndexExposure | None = None
    leak = ws is not None and ws.index_path.exists() and config.leak_stuffing.enabled
    if leak and ws is not None:
        exposure = IndexExposure(ws, default_domain=config.default_domain)
    else:
        err_console.print("leak_stuffing: no exposure index, not checked")
    secret = (
        hashlib.sha256(ws.keyer().pepper + b"|hunt").digest()
        if ws is not None
        else b"credwatch-follow"
    )
    hunter = OnlineHunter.from_config(config, MemoryState(), secret=secret, leak=leak)
    sink = JsonLinesSink(alerts_path) if alerts_path is not None else None
    raised: list[Alert] = []

    def on_alert(alert: Alert) -> None:
        raised.append(alert)
        if sink is not None:
            sink.emit(alert)
        if not json_output:
            out_console.print(_line(alert))
        if blocklist is not None:
            blocklist.write_text(
                render_blocklist(raised, blocklist_format, jail=jail), encoding="utf-8"
            )

    try:
        stats = follow_files(
            paths,
            hunter,
            on_alert=on_alert,
            engine=Engine.for_format(fmt),
            exposure=exposure,
            poll_seconds=poll_seconds,
            max_seconds=max_seconds,
            idle_seconds=idle_seconds,
        )
    finally:
        if sink is not None:
            sink.close()
    if json_output:
        emit_json(
            {
                "files": [
                    {
                        "path": str(t.path),
                        "lines": t.lines,
                        "parsed": t.parsed,
                        "unparsed": t.lines - t.parsed,
                    }
                    for t in stats.files
                ],
                "events": stats.events,
                "alerts": [a.to_json() for a in raised],
            }
        )
    else:
        err_console.print(
            f"followed {len(paths)} file(s): {stats.events:,} events, {stats.alerts:,} alerts"
        )


def _line(alert: Alert) -> str:
    style = _SEVERITY_STYLE[alert.severity]
    return (
        f"[{style}]{alert.severity}[/] {alert.rule} {alert.key_type}={escape(alert.key)} "
        f"count={alert.count} {alert.first_seen:%Y-%m-%d %H:%M:%S}..{alert.last_seen:%H:%M:%S}"
    )


_EVIDENCE_KEYS = (
    "distinct_users",
    "distinct_ips",
    "successes",
    "failures_before_success",
    "cold_exposed_share",
    "base_rate",
    "failure_rate",
)


def _summary(alert: Alert) -> str:
    ev = alert.evidence
    parts = [f"{key}={ev[key]}" for key in _EVIDENCE_KEYS if ev.get(key) is not None]
    sample = ev.get("sample_users")
    if sample:
        parts.append("users=" + ",".join(sample[:3]))
    return " ".join(parts)


def _render(result: HuntResult) -> None:
    files = Table(title="Files", show_edge=False)
    for col in ("file", "lines", "parsed", "unparsed", "note"):
        files.add_column(
            col,
            justify="right" if col in ("lines", "parsed", "unparsed") else "left",
            overflow="fold",
        )
    for f in result.files:
        files.add_row(
            escape(f.path),
            f"{f.lines:,}",
            f"{f.parsed:,}",
            f"{f.unparsed:,}",
            escape(f.error or ""),
        )
    out_console.print(files)
    for note in result.skipped:
        err_console.print(f"[yellow]not checked:[/] {escape(note)}")
    if not result.alerts:
        out_console.print(f"{result.events:,} events, no alerts")
        return
    by_rule: dict[str, int] = {}
    for alert in result.alerts:
        by_rule[alert.rule] = by_rule.get(alert.rule, 0) + 1
    out_console.print(
        f"{len(result.alerts):,} alerts over {result.events:,} events: "
        + ", ".join(f"{rule} {n:,}" for rule, n in sorted(by_rule.items()))
    )
    table = Table(show_edge=False)
    for col in ("severity", "rule", "key", "count", "first seen", "last seen", "evidence"):
        table.add_column(col)
    shown = 0
    for alert in result.alerts:
        if shown >= 50:
            break
        shown += 1
        table.add_row(
            f"[{_SEVERITY_STYLE[alert.severity]}]{alert.severity}[/]",
            alert.rule,
            f"{alert.key_type}:{escape(alert.key)}",
            f"{alert.count:,}",
            f"{alert.first_seen:%Y-%m-%d %H:%M}",
            f"{alert.last_seen:%Y-%m-%d %H:%M}",
            escape(_summary(alert)),
        )
    out_console.print(table)
    if len(result.alerts) > shown:
        out_console.print(
            f"... and {len(result.alerts) - shown:,} more (use --json or --alerts FILE)"
        )
