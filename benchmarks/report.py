"""Benchmark ``credwatch report`` inputs at scale, each loader against a naive baseline.

Builds, in a temporary workspace:

* an audit run of ``--accounts`` rows (default 5,000,000; the audit's Parquet layout)
  with every finding;
* a journal of ``--actions`` action records (default 1,000,000), written by the real
  apply journal (hash-chained).

Then times:

* ``load_exposure`` + ``load_schemes`` (DuckDB over the Parquet file) against a naive
  baseline that reads the table into Python rows and counts with ``collections.Counter``;
* the journal counts of ``load_progress`` (DuckDB ``read_json`` grouping) against a
  naive ``json.loads`` loop per line, and the hash-chain check (``verify_journal``,
  the apply package's) that ``load_progress`` also runs;
* the HTML rendering (six matplotlib SVG charts) of the resulting report.

Usage::

    python benchmarks/report.py                                 # 5 M accounts, 1 M actions
    python benchmarks/report.py --accounts 500000 --actions 100000
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

from credwatch.apply.journal import Journal, verify_journal
from credwatch.report import ReportFormat, build_report, render_report
from credwatch.report.loaders import (
    _journal_groups,
    load_exposure,
    load_progress,
    load_schemes,
)
from credwatch.workspace import Workspace


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def _write_run(ws: Workspace, accounts: int) -> Path:
    folder = ws.runs_dir / "bench"
    folder.mkdir(parents=True)
    target = str(folder / "accounts.parquet").replace("'", "''")
    duckdb.connect().execute(
        f"""COPY (SELECT 'acct-' || i AS id,
              (['nifty','biglobe','jcom','cpi','commufa','pikara'])[1 + i % 6] AS tenant,
              (['active','dormant','cancelled'])[1 + i % 3] AS status, i % 9 = 0 AS mfa,
              'nifty.com' AS email_domain, NULL::VARCHAR AS recovery_domain,
              (['SHA512-CRYPT','BLF-CRYPT','PLAIN-MD5','PLAIN'])[1 + i % 4] AS scheme,
              CASE WHEN i % 10 = 0 THEN ['pair_valid']
                   WHEN i % 10 = 1 THEN ['email_only', 'weak_scheme']
                   WHEN i % 10 = 2 THEN ['pair_stale'] ELSE []::VARCHAR[] END AS findings,
              (i % 100)::INTEGER AS risk_score, i::INTEGER AS priority,
              'u***@nifty.com' AS masked_email
            FROM range({accounts}) t(i)) TO '{target}' (FORMAT parquet)"""
    )
    (folder / "summary.json").write_text(
        json.dumps({"run": "bench", "store": "mail", "created_at": "2026-06-01T00:00:00"}),
        encoding="utf-8",
    )
    return folder


def _write_journal(ws: Workspace, actions: int) -> None:
    plan = "p" * 64
    with Journal(ws.journal_path) as journal:
        journal.append([{"event": "begin", "plan": plan, "store": "mail", "actions": actions}])
        batch = 100_000
        for start in range(0, actions, batch):
            journal.append(
                [
                    {
                        "event": "action",
                        "plan": plan,
                        "store": "mail",
                        "account": f"a{i}",
                        "action": ("force_reset", "revoke_sessions")[i % 2],
                        "result": ("applied", "already", "not_found")[i % 3],
                    }
                    for i in range(start, min(start + batch, actions))
                ]
            )
        journal.append([{"event": "end", "plan": plan, "store": "mail", "store_digest": "x"}])


def _naive_exposure(folder: Path) -> Counter[tuple[str, str, str]]:
    cells: Counter[tuple[str, str, str]] = Counter()
    reader = pq.ParquetFile(folder / "accounts.parquet")
    for batch in reader.iter_batches(columns=["tenant", "status", "findings"]):
        for row in batch.to_pylist():
            for finding in row["findings"]:
                cells[(row["tenant"], row["status"], finding)] += 1
    return cells


def _naive_journal(path: Path) -> Counter[tuple[str, str]]:
    counts: Counter[tuple[str, str]] = Counter()
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if record.get("event") == "action":
                counts[(record["action"], record["result"])] += 1
    return counts


def main() -> None:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=5_000_000)
    parser.add_argument("--actions", type=int, default=1_000_000)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="cw-report-bench-"))
    try:
        ws = Workspace(root / "ws")
        ws.init()
        setup_run, folder = _timed(lambda: _write_run(ws, args.accounts))
        setup_journal, _ = _timed(lambda: _write_journal(ws, args.actions))
        print(
            f"setup: {args.accounts:,} accounts in {setup_run:.1f} s, "
            f"{args.actions:,} journal actions in {setup_journal:.1f} s"
        )
        rows: list[tuple[str, str, float, float | None]] = []
        ours, _ = _timed(lambda: (load_exposure(ws), load_schemes(ws)))
        naive, _ = _timed(lambda: _naive_exposure(folder))
        rows.append(("exposure + schemes", f"{args.accounts:,} accounts", ours, naive))
        ours, _ = _timed(lambda: _journal_groups(ws.journal_path))
        naive, _ = _timed(lambda: _naive_journal(ws.journal_path))
        rows.append(("journal counts", f"{args.actions:,} actions", ours, naive))
        chain, _ = _timed(lambda: verify_journal(ws.journal_path))
        rows.append(("journal chain check (apply's)", f"{args.actions:,} actions", chain, None))
        total, _ = _timed(lambda: load_progress(ws))
        rows.append(("load_progress (both)", f"{args.actions:,} actions", total, None))
        report = build_report(ws)
        ours, html = _timed(lambda: render_report(report, ReportFormat.HTML))
        rows.append(("render HTML (charts)", f"{len(html):,} bytes", ours, None))
        print(f"{'step':32} {'size':>20} {'credwatch s':>12} {'naive s':>10} {'speed-up':>9}")
        for step, size, mine, base in rows:
            ratio = f"{base / mine:8.1f}x" if base else "        -"
            base_text = f"{base:10.2f}" if base is not None else "         -"
            print(f"{step:32} {size:>20} {mine:12.2f} {base_text} {ratio}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
