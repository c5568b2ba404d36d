"""Reading audit runs back: list them, load a summary, stream per-account results."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from credwatch.audit.model import SUMMARY_SCHEMA_VERSION
from credwatch.errors import InputError
from credwatch.workspace import Workspace

__all__ = ["iter_account_results", "list_runs", "load_summary", "run_path"]


def list_runs(ws: Workspace) -> list[str]:
    """Finished runs (those with a ``summary.json``), oldest first."""
    if not ws.runs_dir.exists():
        return []
    return sorted(p.parent.name for p in ws.runs_dir.glob("*/summary.json"))


def run_path(ws: Workspace, run: str | None) -> Path:
    """The folder of ``run`` (default: the latest finished run).

    Raises:
        InputError: no such run, or no run at all.
    """
    runs = list_runs(ws)
    if run is None:
        if not runs:
            raise InputError(
                f"no audit run in {ws.runs_dir}",
                hint="run `credwatch audit run --store NAME` first",
            )
        return ws.runs_dir / runs[-1]
    if run not in runs:
        raise InputError(
            f"no finished audit run {run!r} in {ws.runs_dir}",
            hint=f"finished runs: {', '.join(runs[-5:]) or 'none'}",
        )
    return ws.runs_dir / run


def load_summary(ws: Workspace, run: str | None = None) -> dict[str, Any]:
    """The ``summary.json`` of a run (default: the latest).

    Raises:
        InputError: no such run, or a summary of an unknown schema major.
    """
    path = run_path(ws, run) / "summary.json"
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path} is unreadable: {type(exc).__name__}") from None
    major = str(data.get("schema_version", "")).split(".")[0]
    if major != SUMMARY_SCHEMA_VERSION.split(".")[0]:
        raise InputError(
            f"{path} has schema version {data.get('schema_version')!r}; "
            f"this credwatch reads {SUMMARY_SCHEMA_VERSION}"
        )
    return data


def iter_account_results(
    ws: Workspace, run: str | None = None, *, batch_size: int = 65_536
) -> Iterator[dict[str, Any]]:
    """Per-account results of a run, in priority order (masked addresses only).

    The Parquet file is written unordered (sorting millions of rows is the audit's
    costliest step); the order is made here, streaming.

    Raises:
        InputError: no such run.
    """
    path = run_path(ws, run) / "accounts.parquet"
    con = duckdb.connect()
    # DuckDB draws its progress bar on stdout, which carries the JSON Lines.
    con.execute("SET enable_progress_bar = false")
    try:
        reader: pa.RecordBatchReader = con.sql(
            "SELECT * FROM read_parquet($path) ORDER BY priority", params={"path": str(path)}
        ).to_arrow_reader(batch_size)
        for batch in reader:
            yield from batch.to_pylist()
    finally:
        con.close()
