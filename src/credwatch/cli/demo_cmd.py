"""``credwatch demo``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.status import Status

from credwatch.cli.common import emit_json, err_console, out_console, workspace
from credwatch.demo.runner import DEFAULT_ACCOUNTS, StageResult, run_demo


def demo(
    ctx: typer.Context,
    accounts: int = typer.Option(
        DEFAULT_ACCOUNTS, "--accounts", min=100, help="Number of synthetic subscribers."
    ),
    store: str | None = typer.Option(
        None, "--store", help="Account store URL (default: SQLite in the output folder)."
    ),
    out: Path | None = typer.Option(  # noqa: B008 - typer's declaration style
        None, "--out", help="Folder for the generated inputs (default WORKSPACE/demo)."
    ),
    seed: int = typer.Option(20260601, "--seed", help="Random seed of the synthetic incident."),
    json_output: bool = typer.Option(False, "--json", help="Print the results as JSON."),
) -> None:
    """Run the whole flow on a deterministic synthetic breach of six ISP tenants.

    Example:

        credwatch --workspace /tmp/cw-demo demo --accounts 50000
    """
    ws = workspace(ctx, require=False)
    status = Status("starting", console=err_console)
    status.start()

    def started(name: str) -> None:
        status.update(f"demo: {name}")

    def done(result: StageResult) -> None:
        memory = f", peak {result.peak_rss_mb:,.0f} MB" if result.peak_rss_mb is not None else ""
        err_console.print(f"[green]done[/] {result.name} ({result.seconds:.1f} s{memory})")
        if not json_output:
            for line in result.lines:
                out_console.print(f"  {line}")

    try:
        result = run_demo(
            ws,
            accounts=accounts,
            out_dir=out,
            store_url=store,
            seed=seed,
            on_stage_start=started,
            on_stage_done=done,
        )
    finally:
        status.stop()
    if json_output:
        emit_json(
            {
                "out_dir": str(result.out_dir),
                "stages": [
                    {
                        "name": s.name,
                        "seconds": round(s.seconds, 3),
                        "peak_rss_mb": s.peak_rss_mb,
                        **s.data,
                    }
                    for s in result.stages
                ],
            }
        )
