"""Verification throughput: single core, local process pool, Dask LocalCluster.

    python3 -m benchmarks.verify            # about a minute on 2 cores
    python3 -m benchmarks.verify --sha512 2000 --bcrypt 200 --md5 1000000 --repeat 3

Prints one table:

- single-core rate of SHA512-CRYPT (rounds=5000) and bcrypt cost 10 (``verify`` in a loop);
- the same work in batches on ``LocalExecutor`` with every core, and the efficiency
  against cores x single-core rate (target >= 90 %);
- on ``dask-local:1`` and ``dask-local:2`` (scaling from 1 to 2 workers);
- unsalted PLAIN-MD5: ``verify_many``'s bulk path against the naive ``verify`` loop.

Two efficiencies are printed.  *wall* is throughput / (workers x single-core wall
rate): what the target asks, but only meaningful on otherwise idle cores.  *cpu* is the
single-core CPU time per hash / the CPU time per hash measured inside the workers: the
executor's own overhead, independent of other load.  *cores got* is the workers' CPU
seconds per wall second: below the worker count, other processes held the cores.
Pool and cluster start-up are
excluded (each is warmed up first); the load average is printed with the table.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import time
from collections.abc import Sequence

import bcrypt
import pyarrow as pa
from passlib.hash import sha512_crypt
from rich.console import Console
from rich.table import Table

from credwatch.execute import (
    Batch,
    DaskExecutor,
    Executor,
    LocalExecutor,
    default_workers,
    run_batches,
)
from credwatch.hashes import verify, verify_many, verify_rows

Rows = list[tuple[str, str, str | None]]


def _rows(kind: str, n: int) -> Rows:
    """n rows over a few distinct hashes; half the candidates are right."""
    if kind == "sha512":
        hashes = [sha512_crypt.using(rounds=5000).hash(f"pw-{i}") for i in range(8)]
    elif kind == "bcrypt":
        hashes = [bcrypt.hashpw(f"pw-{i}".encode(), bcrypt.gensalt(10)).decode() for i in range(4)]
    else:
        hashes = [hashlib.md5(f"pw-{i}".encode()).hexdigest() for i in range(1000)]
    return [
        (hashes[i % len(hashes)], f"pw-{i % len(hashes)}" if i % 2 else "wrong", None)
        for i in range(n)
    ]


def timed_rows(rows: Rows) -> pa.Table:
    """The executors' per-batch work, reporting the CPU time it took in the worker."""
    start = time.process_time()
    out = verify_rows(rows)
    cpu = time.process_time() - start
    matched = out.column("outcome").to_pylist().count("matched")
    return pa.table({"n": [len(rows)], "cpu_s": [cpu], "matched": [matched]})


def _single(rows: Rows) -> tuple[float, float]:
    """(wall hashes/s, CPU seconds per hash) of verify() in this process."""
    wall, cpu = time.perf_counter(), time.process_time()
    for stored, pw, user in rows:
        verify(pw, stored, user=user)
    return len(rows) / (time.perf_counter() - wall), (time.process_time() - cpu) / len(rows)


def _parallel(ex: Executor, rows: Rows, batch: int) -> tuple[float, float, float]:
    """(wall hashes/s, worker CPU seconds per hash, cores' worth of CPU the workers got)."""

    def batches(part: Rows) -> list[Batch[Rows]]:
        return [
            Batch(f"b{k}", part[k : k + batch], len(part[k : k + batch]))
            for k in range(0, len(part), batch)
        ]

    list(run_batches(ex, timed_rows, batches(rows[: ex.workers * batch])))  # warm up
    start = time.perf_counter()
    results = [r.table for r in run_batches(ex, timed_rows, batches(rows))]
    wall = time.perf_counter() - start
    cpu = sum(t.column("cpu_s")[0].as_py() for t in results)
    return len(rows) / wall, cpu / len(rows), cpu / wall


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--sha512", type=int, default=4000, help="SHA512-CRYPT rows")
    parser.add_argument("--bcrypt", type=int, default=60, help="bcrypt cost-10 rows")
    parser.add_argument("--md5", type=int, default=300_000, help="PLAIN-MD5 rows (bulk path)")
    parser.add_argument("--workers", type=int, default=default_workers(), help="local workers")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per figure; the best is kept (noisy machines)"
    )
    args = parser.parse_args(argv)
    cores = args.workers
    load = os.getloadavg()[0]
    table = Table(title=f"verification throughput ({cores} cores, load average {load:.1f})")
    for col in ("scheme", "path", "rows", "hashes/s", "wall eff", "cpu eff", "cores got", "note"):
        table.add_column(col, justify="left" if col in {"scheme", "path", "note"} else "right")

    for kind, label, n in (
        ("sha512", "SHA512-CRYPT r=5000", args.sha512),
        ("bcrypt", "bcrypt cost 10", args.bcrypt),
    ):
        rows = _rows(kind, n)
        single_rows = rows[: max(n // cores, 8)]
        single, single_cpu = max(_single(single_rows) for _ in range(args.repeat))
        batch = max(1, int(single * 0.2))  # about 0.2 s of work per batch
        table.add_row(
            label,
            "verify(), 1 core",
            str(len(single_rows)),
            f"{single:,.1f}",
            "",
            "",
            "",
            f"{single_cpu * 1e3:.2f} ms CPU/hash",
        )
        with LocalExecutor(workers=cores) as ex:
            rate, cpu, got = max(_parallel(ex, rows, batch) for _ in range(args.repeat))
        table.add_row(
            label,
            f"local:{cores}",
            str(n),
            f"{rate:,.1f}",
            f"{rate / (single * cores):.0%}",
            f"{single_cpu / cpu:.0%}",
            f"{got:.2f}",
            "target >= 90%",
        )
        rates = {}
        for w in (1, 2):
            part = rows[: max(n * w // cores, 1)]
            with DaskExecutor(workers=w) as ex:
                rates[w], cpu, got = max(_parallel(ex, part, batch) for _ in range(args.repeat))
            note = f"scaling 1->2 workers: {rates[2] / rates[1]:.2f}x" if w == 2 else ""
            table.add_row(
                label,
                f"dask-local:{w}",
                str(len(part)),
                f"{rates[w]:,.1f}",
                f"{rates[w] / (single * w):.0%}",
                f"{single_cpu / cpu:.0%}",
                f"{got:.2f}",
                note,
            )

    rows = _rows("md5", args.md5)
    start = time.perf_counter()
    for stored, pw, _ in rows:
        verify(pw, stored)
    naive = len(rows) / (time.perf_counter() - start)
    start = time.perf_counter()
    verify_many(rows)
    bulk = len(rows) / (time.perf_counter() - start)
    table.add_row(
        "PLAIN-MD5 (bare hex)",
        "naive verify() loop",
        str(len(rows)),
        f"{naive:,.0f}",
        "",
        "",
        "",
        "baseline",
    )
    table.add_row(
        "PLAIN-MD5 (bare hex)",
        "verify_many bulk",
        str(len(rows)),
        f"{bulk:,.0f}",
        "",
        "",
        "",
        f"{bulk / naive:.1f}x the baseline",
    )
    Console(width=150).print(table)


if __name__ == "__main__":
    main()
