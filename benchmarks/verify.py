"""Verification throughput: single core, local process pool, Dask LocalCluster.

    python3 -m benchmarks.verify            # about a minute on 2 cores
    python3 -m benchmarks.verify --sha512 2000 --bcrypt 200 --md5 1000000

Prints one table:

- single-core rate of SHA512-CRYPT (rounds=5000) and bcrypt cost 10 (``verify`` in a loop);
- the same rows through ``verify_many`` on ``LocalExecutor`` with every core, and the
  efficiency against cores x single-core rate (target >= 90 %);
- through ``dask-local:1`` and ``dask-local:2`` (scaling from 1 to 2 workers);
- unsalted PLAIN-MD5: ``verify_many``'s bulk path against the naive ``verify`` loop.

Pool and cluster start-up are excluded (each is warmed up before timing); the machine's
load average is printed, since other work on the cores lowers every parallel figure.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import time
from collections.abc import Callable, Sequence

import bcrypt
from passlib.hash import sha512_crypt
from rich.console import Console
from rich.table import Table

from credwatch.execute import DaskExecutor, Executor, LocalExecutor, default_workers
from credwatch.hashes import verify, verify_many

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


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _single(rows: Rows) -> float:
    return len(rows) / _timed(lambda: [verify(p, s, user=u) for s, p, u in rows])


def _parallel(ex: Executor, rows: Rows, batch: int) -> float:
    verify_many(rows[: ex.workers * batch], executor=ex, batch_size=batch)  # warm the workers
    return len(rows) / _timed(lambda: verify_many(rows, executor=ex, batch_size=batch))


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sha512", type=int, default=1200, help="SHA512-CRYPT rows")
    parser.add_argument("--bcrypt", type=int, default=60, help="bcrypt cost-10 rows")
    parser.add_argument("--md5", type=int, default=300_000, help="PLAIN-MD5 rows (bulk path)")
    parser.add_argument("--workers", type=int, default=default_workers(), help="local workers")
    args = parser.parse_args(argv)
    cores = args.workers
    table = Table(title=f"verification throughput ({cores} cores, load {os.getloadavg()[0]:.1f})")
    for col in ("scheme", "path", "rows", "hashes/s", "vs single x cores", "note"):
        table.add_column(col, justify="right" if col not in {"scheme", "path", "note"} else "left")

    for kind, label, n in (
        ("sha512", "SHA512-CRYPT r=5000", args.sha512),
        ("bcrypt", "bcrypt cost 10", args.bcrypt),
    ):
        rows = _rows(kind, n)
        single = _single(rows[: max(n // cores, 8)])
        batch = max(1, int(single * 0.2))  # about 0.2 s of work per batch
        table.add_row(label, "verify(), 1 core", str(max(n // cores, 8)), f"{single:,.1f}", "", "")
        with LocalExecutor(workers=cores) as ex:
            rate = _parallel(ex, rows, batch)
        eff = rate / (single * cores)
        table.add_row(
            label, f"local:{cores}", str(n), f"{rate:,.1f}", f"{eff:.0%}", "target >= 90%"
        )
        dask_rates = {}
        for w in (1, 2):
            with DaskExecutor(workers=w) as ex:
                dask_rates[w] = _parallel(ex, rows[: n * w // 2 or 1], batch)
            table.add_row(
                label,
                f"dask-local:{w}",
                str(n * w // 2),
                f"{dask_rates[w]:,.1f}",
                f"{dask_rates[w] / (single * w):.0%}",
                f"scaling 1->2: {dask_rates[2] / dask_rates[1]:.2f}x" if w == 2 else "",
            )

    rows = _rows("md5", args.md5)
    naive = len(rows) / _timed(lambda: [verify(p, s) for s, p, _ in rows])
    bulk = len(rows) / _timed(lambda: verify_many(rows))
    table.add_row(
        "PLAIN-MD5 (bare hex)",
        "naive verify() loop",
        str(len(rows)),
        f"{naive:,.0f}",
        "",
        "baseline",
    )
    table.add_row(
        "PLAIN-MD5 (bare hex)",
        "verify_many bulk",
        str(len(rows)),
        f"{bulk:,.0f}",
        "",
        f"{bulk / naive:.1f}x the baseline",
    )
    Console().print(table)


if __name__ == "__main__":
    main()
