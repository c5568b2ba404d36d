"""``credwatch passwords import``: Pwned Passwords files into the range corpus."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from credwatch.cli.common import emit_json, err_console, out_console, workspace
from credwatch.corpus import ImportReport, Mode, import_files
from credwatch.corpus.index_source import open_index_source

app = typer.Typer(
    help="""The breached-password corpus served by `credwatch serve` (range API).

Example:

    credwatch passwords import pwnedpasswords.txt
""",
    no_args_is_help=True,
)


@app.command("import")
def import_cmd(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(  # noqa: B008 - typer's declaration style
        None,
        help="HIBP downloader files: one HASH:COUNT file, per-prefix files (21BD1.txt "
        "holding SUFFIX:COUNT lines), or folders of them. None: refresh the index's part only.",
        show_default=False,
    ),
    ntlm: bool = typer.Option(False, "--ntlm", help="The files hold NTLM hashes, not SHA-1."),
    json_output: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Import Pwned Passwords files into the range corpus, merged with the exposure index.

    The import writes a new corpus generation and switches to it only when it is
    complete and valid; a running `credwatch serve` keeps serving the previous one
    until then.  Files already imported (same content) are skipped.  Malformed lines
    are counted by reason, never fatal (a file with no valid line is an error).

    Example:

        credwatch passwords import pwnedpasswords.txt

        credwatch passwords import --ntlm pwnedpasswords_ntlm/
    """
    ws = workspace(ctx)
    mode: Mode = "ntlm" if ntlm else "sha1"
    with (
        Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TextColumn("{task.completed:,} lines"),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        ) as progress,
        open_index_source(ws) as source,
    ):
        task = progress.add_task(f"importing {mode} hashes", total=None)
        report = import_files(
            ws.corpus_dir,
            list(files or []),
            mode=mode,
            index=source,
            progress=lambda n: progress.advance(task, n),
        )
    if json_output:
        emit_json(_as_json(report))
        return
    _render(report)


def _as_json(report: ImportReport) -> dict[str, object]:
    return {
        "generation": report.generation,
        "mode": report.mode,
        "records": report.records,
        "index_records": report.index_records,
        "accepted": report.accepted,
        "rejected_by_reason": report.rejected_by_reason,
        "files": [
            {
                "name": f.name,
                "digest": f.digest,
                "skipped": f.skipped,
                "lines": f.lines,
                "blank": f.blank,
                "accepted": f.accepted,
                "rejected": f.rejected,
                "rejected_by_reason": f.rejected_by_reason,
            }
            for f in report.files
        ],
    }


def _render(report: ImportReport) -> None:
    table = Table(title=f"passwords import ({report.mode})")
    for column in ("input", "lines", "accepted", "rejected", "by reason"):
        table.add_column(column, justify="left" if column in ("input", "by reason") else "right")
    for f in report.files:
        if f.skipped:
            table.add_row(f.name, "-", "-", "-", "already imported: skipped")
            continue
        reasons = ", ".join(f"{k} {v:,}" for k, v in sorted(f.rejected_by_reason.items()))
        table.add_row(f.name, f"{f.lines:,}", f"{f.accepted:,}", f"{f.rejected:,}", reasons)
    if report.files:
        out_console.print(table)
    out_console.print(
        f"Corpus generation {report.generation}: {report.records:,} distinct {report.mode} "
        f"hashes served ({report.index_records:,} from the exposure index)."
    )
