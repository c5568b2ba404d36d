"""``credwatch report``: the self-contained incident report (HTML, Markdown or JSON)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.markup import escape

from credwatch.cli.common import err_console, out_console, workspace
from credwatch.report import ReportFormat, render_report, write_report
from credwatch.report.collect import build_report


def report(
    ctx: typer.Context,
    out: Path | None = typer.Option(  # noqa: B008 - typer's declaration style
        None,
        "-o",
        "--output",
        help="Write the report here (default: WORKSPACE/report.html for html; "
        "stdout for md and json).",
        show_default=False,
    ),
    fmt: ReportFormat = typer.Option(  # noqa: B008
        ReportFormat.HTML, "--format", "-f", help="Output format."
    ),
    run: str | None = typer.Option(
        None, "--run", help="Audit run to report on (default: the latest)."
    ),
    json_output: bool = typer.Option(
        False, "--json", help="Same as --format json (one JSON document on stdout)."
    ),
) -> None:
    """Write the incident report from everything in the workspace.

    Sections: incident summary, exposure of our accounts (pair_valid first, masked
    addresses), hash-scheme census, hunt timeline, blast radius and concentration,
    remediation and retention progress, and what to do next.  A section whose input
    is missing says so and names the command that produces it.  The HTML file is
    self-contained (inline CSS and SVG charts, no network access when opened).

    Example:

        credwatch report -o incident.html

        credwatch report --format md > incident.md
    """
    ws = workspace(ctx)
    if json_output:
        fmt = ReportFormat.JSON
    if out is None and fmt is not ReportFormat.HTML:
        document = render_report(build_report(ws, run=run), fmt)
        sys.stdout.write(document)
        sys.stdout.flush()
        return
    target = out if out is not None else ws.root / "report.html"
    path, result = write_report(ws, fmt, target, run=run)
    for section, missing in result.missing:
        detail = f" ({missing.detail})" if missing.detail else ""
        err_console.print(
            f"[yellow]missing[/] {section}: "
            + escape(f"{missing.inputs}{detail} - run `{missing.command}`")
        )
    available = 6 - len(result.missing)
    out_console.print(f"Wrote {path} ({available} of 6 sections filled).")
