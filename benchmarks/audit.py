"""Benchmark ``credwatch audit run`` (14.22 M leak rows x 5 M accounts) against a naive baseline.

Setup (not timed), in a temporary folder:

* a combolist of ``--leak-rows`` ``email:password`` lines from the demo
  :class:`~credwatch.demo.population.Population` (subscribers ``OFFSET`` .. ``OFFSET +
  leak-rows``), ingested with the real ``leak ingest`` (exposure index + sealed vault);
* an account store of ``--accounts`` subscribers ``0 .. accounts`` (so about 70 % of
  accounts are in the dump) with each subscriber's *current* password hashed: 60 %
  SHA512-CRYPT- and 30 % BLF-CRYPT-shaped strings (slow: skipped, as the target excludes
  slow-hash verification), 7.5 % real PLAIN-MD5, 2.5 % PLAIN (verified), written with
  ADBC bulk ingest to SQLite and to a private PostgreSQL schema (dropped at the end).

Timed, per store, in a fresh child process (its peak RSS is reported):
``run_audit(ws, store, verify_slow=False)`` -- reading the store, keying every address,
the join with the index, unsealing the vault for the exposed accounts, verifying the
unsalted candidates, classifying, scoring and writing the run folder.  In the same run:

* the bare DuckDB join of the 16-byte keys (the floor quoted in DESIGN.md);
* the naive baseline: rows through the DB-API one by one, Python normalisation and
  ``Keyer.email_key`` per account, a Python ``set`` of the index's email keys, a dict of
  leaked passwords from the vault, ``credwatch.hashes.verify`` per unsalted candidate,
  classification in Python.

Target (issue 4): <= 10 s from store read to classified results.

Usage::

    python benchmarks/audit.py                                   # 14.22 M x 5 M
    python benchmarks/audit.py --accounts 200000 --leak-rows 500000   # quick run
    python benchmarks/audit.py --accounts 14220000 --no-postgres --no-baseline  # peak RSS
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import adbc_driver_postgresql.dbapi as adbc_pg
import adbc_driver_sqlite.dbapi as adbc_sqlite
import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import sqlalchemy as sa

from credwatch.audit import run_audit
from credwatch.demo.population import Population
from credwatch.hashes import verify
from credwatch.index import ExposureIndex, ingest_files
from credwatch.index.seal import read_vault_file
from credwatch.workspace import Workspace

PG = "postgresql://postgres@127.0.0.1:5432/test"
PG_SA = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
COLUMNS = """
[stores.{name}.columns]
id = "id"
email = "username"
tenant = "isp"
recovery_email = "recovery"
password_hash = "password"
status = "state"
last_login = "last_login"
mfa = "totp_enabled"
[stores.{name}.status]
active = ["active"]
dormant = ["dormant"]
cancelled = ["cancelled"]
"""


def blocks(start: int, stop: int, block: int) -> Iterator[tuple[int, int]]:
    """Aligned ``(start, stop)`` blocks: a subscriber is the same only in the same block."""
    for s in range(start, stop, block):
        yield s, min(s + block, stop)


def write_combolist(path: Path, pop: Population, offset: int, rows: int, block: int) -> None:
    """``rows`` lines of ``email:password`` from subscribers ``offset`` onwards."""
    options = pacsv.WriteOptions(include_header=False, quoting_style="none")
    with pacsv.CSVWriter(path, pa.schema([("line", pa.string())]), write_options=options) as w:
        for start, stop in blocks(offset, offset + rows, block):
            part = pop.slice(start, stop)
            line = pc.binary_join_element_wise(part.email, part.leaked_password, ":")
            w.write_table(pa.table({"line": line}))


def account_batches(pop: Population, accounts: int, block: int) -> Iterator[pa.Table]:
    """The store's rows, a block at a time."""
    con = duckdb.connect()
    for start, stop in blocks(0, accounts, block):
        part = pop.slice(start, stop)
        raw = pa.table(
            {
                "id": pa.array(range(start, start + len(part)), pa.int64()),
                "username": part.email,
                "isp": part.tenant,
                "recovery": part.recovery_email,
                "current": part.current_password,
                "state": part.status,
                "last_login": pa.array(part.last_login),
                "totp_enabled": pa.array(part.mfa),
            }
        )
        con.register("raw", raw)
        yield con.sql(
            """
            SELECT id, username, isp, recovery,
                   CASE WHEN id % 40 < 24
                        THEN '{SHA512-CRYPT}$6$rounds=5000$' || left(md5(username), 16) || '$'
                             || md5(current) || md5(username) || left(md5(id::VARCHAR), 22)
                        WHEN id % 40 < 36
                        THEN '{BLF-CRYPT}$2y$10$' || left(md5(username), 22)
                             || left(md5(current), 31)
                        WHEN id % 40 < 39 THEN '{PLAIN-MD5}' || md5(current)
                        ELSE '{PLAIN}' || current END AS password,
                   state, last_login, totp_enabled
            FROM raw
            """
        ).to_arrow_table()
        con.unregister("raw")
    con.close()


def build_stores(
    pop: Population, accounts: int, block: int, sqlite_path: Path, schema: str | None
) -> None:
    """Fill the SQLite store and (if ``schema``) the PostgreSQL one with ADBC bulk ingest."""
    lite = adbc_sqlite.connect(str(sqlite_path))
    pg = adbc_pg.connect(PG) if schema else None
    try:
        for k, table in enumerate(account_batches(pop, accounts, block)):
            mode: Literal["create", "append"] = "create" if k == 0 else "append"
            with lite.cursor() as cur:
                cur.adbc_ingest("mailbox", table, mode=mode)
            if pg is not None:
                with pg.cursor() as cur:
                    cur.adbc_ingest("mailbox", table, mode=mode, db_schema_name=schema)
        lite.commit()
        if pg is not None:
            pg.commit()
            with pg.cursor() as cur:
                cur.execute(f"ANALYZE {schema}.mailbox")
            pg.commit()
    finally:
        lite.close()
        if pg is not None:
            pg.close()


def bare_join(ws: Workspace, pop: Population, accounts: int, block: int) -> float:
    """The floor: a DuckDB join of the accounts' keys with the index's keys."""
    keyer = ws.keyer()
    con = duckdb.connect()
    con.execute(f"ATTACH '{ws.index_path}' AS idx (READ_ONLY)")
    emails = pa.concat_arrays([pop.slice(a, b).email for a, b in blocks(0, accounts, block)])
    con.register("acc", pa.table({"email": emails}))
    con.execute(
        f"CREATE TABLE keys AS SELECT {keyer.sql_email_key('$p', 'email')} AS k FROM acc",
        {"p": keyer.email_prefix},
    )
    started = time.perf_counter()
    con.execute(
        "SELECT count(*) FROM keys SEMI JOIN idx.exposures e ON e.email_key = keys.k"
    ).fetchall()
    elapsed = time.perf_counter() - started
    con.close()
    return elapsed


def naive_audit(ws: Workspace, sqlite_path: Path) -> tuple[float, dict[str, int]]:
    """Row-at-a-time Python audit of the SQLite store (the baseline)."""
    import sqlite3  # noqa: PLC0415 - the baseline's own driver

    started = time.perf_counter()
    keyer = ws.keyer()
    normalizer = ws.config().normalizer()
    with ExposureIndex.open(ws) as index:
        exposed = {
            bytes(k)
            for (k,) in index.connection.execute(
                "SELECT DISTINCT email_key FROM exposures"
            ).fetchall()
        }
        vault_files = index.vault_files()
    rows = sqlite3.connect(sqlite_path).execute("SELECT id, username, password, state FROM mailbox")
    accounts: list[tuple[Any, bytes | None, str | None, str]] = []
    wanted: set[bytes] = set()
    for account_id, email, stored, state in rows:
        normalized = normalizer.try_normalize(email)
        key = keyer.email_key(normalized) if normalized else None
        accounts.append((account_id, key, stored, state))
        if key in exposed:
            wanted.add(key)
    leaked: dict[bytes, list[str]] = {}
    private = ws.vault_private_key()
    for path in vault_files:
        for table in read_vault_file(path, private):
            for key, password in zip(
                table.column(0).to_pylist(), table.column(1).to_pylist(), strict=True
            ):
                if key in wanted:
                    leaked.setdefault(key, []).append(password)
    counts = {"exposed": 0, "pair_valid": 0, "pair_stale": 0, "pair_unverified": 0}
    for _id, key, stored, _state in accounts:
        if key not in wanted:
            continue
        counts["exposed"] += 1
        if stored is None or stored.startswith(("{SHA512-CRYPT}", "{BLF-CRYPT}")):
            counts["pair_unverified"] += 1
            continue
        outcomes = [verify(pw, stored).outcome for pw in leaked.get(key, [])]
        if "matched" in outcomes:
            counts["pair_valid"] += 1
        else:
            counts["pair_stale"] += 1
    return time.perf_counter() - started, counts


def _audit_child(root: Path, store: str, out: Any) -> None:
    """Run one audit in this (child) process; send wall time, summary, phases, peak RSS."""
    started = time.perf_counter()
    result = run_audit(Workspace(root=root), store, verify_slow=False)
    elapsed = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out.send((elapsed, result.summary, result.timings, peak_mib))
    out.close()


def timed_audit(ws: Workspace, store: str) -> tuple[float, dict[str, Any], dict[str, float], float]:
    """``run_audit`` in a fresh process, so its peak RSS is its own."""
    ctx = multiprocessing.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_audit_child, args=(ws.root, store, send))
    child.start()
    send.close()
    outcome: tuple[float, dict[str, Any], dict[str, float], float] = receive.recv()
    child.join()
    return outcome


def load() -> str:
    """The 1/5/15-minute load averages (the machine is shared)."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    """Set up, time, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=5_000_000)
    parser.add_argument("--leak-rows", type=int, default=14_220_000)
    parser.add_argument("--no-postgres", action="store_true", help="SQLite store only.")
    parser.add_argument("--no-baseline", action="store_true", help="Skip the naive baseline.")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="cw-bench-audit-"))
    schema = None if args.no_postgres else f"cwbench_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(PG_SA)
    try:
        ws = Workspace(root=tmp / "ws")
        ws.init()
        block = 1_000_000 if args.accounts >= 1_000_000 else 100_000
        # The dump starts at 30 % of the store: about 70 % of accounts are in it.
        offset = round(args.accounts * 0.3 / block) * block
        pop = Population(offset + max(args.leak_rows, args.accounts))
        t0 = time.perf_counter()
        dump = tmp / "dump.txt"
        write_combolist(dump, pop, offset, args.leak_rows, block)
        report = ingest_files(ws, [dump])
        print(
            f"setup: combolist + ingest {time.perf_counter() - t0:.1f} s, {len(report.files)} file"
        )
        if schema:
            with engine.begin() as conn:
                conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
        t0 = time.perf_counter()
        sqlite_path = tmp / "store.sqlite"
        build_stores(pop, args.accounts, block, sqlite_path, schema)
        print(f"setup: stores {time.perf_counter() - t0:.1f} s")
        config = (
            f'[stores.lite]\nkind = "sql"\nurl = "sqlite:///{sqlite_path}"\ntable = "mailbox"\n'
        )
        config += COLUMNS.format(name="lite")
        stores = ["lite"]
        if schema:
            config += (
                f'[stores.pg]\nkind = "sql"\nurl = "{PG_SA}?options=-csearch_path%3D{schema}"\n'
                f'table = "mailbox"\n' + COLUMNS.format(name="pg")
            )
            stores.append("pg")
        ws.config_path.write_text(config, encoding="utf-8")

        rows: list[tuple[str, float, str]] = []
        print(f"load average before the bare join: {load()}")
        rows.append(
            ("bare DuckDB join of 16-byte keys", bare_join(ws, pop, args.accounts, block), "")
        )
        for store in stores:
            print(f"load average before the {store} audit: {load()}")
            elapsed, s, timings, peak_mib = timed_audit(ws, store)
            phases = ", ".join(f"{k} {v:.1f}" for k, v in timings.items())
            rows.append(
                (
                    f"credwatch audit ({'SQLite' if store == 'lite' else 'PostgreSQL'} store)",
                    elapsed,
                    f"peak RSS {peak_mib:,.0f} MiB; exposed {s['exposed']:,}, "
                    f"pair_valid {s['pair_valid']:,}, pair_stale {s['pair_stale']:,}, "
                    f"unverified {s['pair_unverified']:,}; {phases}",
                )
            )
        if not args.no_baseline:
            print(f"load average before the baseline: {load()}")
            elapsed, counts = naive_audit(ws, sqlite_path)
            rows.append(
                (
                    "naive Python baseline (SQLite store)",
                    elapsed,
                    ", ".join(f"{k} {v:,}" for k, v in counts.items()),
                )
            )
        print()
        print(f"audit: {args.leak_rows:,} leak rows x {args.accounts:,} accounts (2 cores)")
        print(f"load average at the end: {load()}")
        print(f"{'what':<44} {'wall s':>8}  notes")
        for name, seconds, notes in rows:
            print(f"{name:<44} {seconds:>8.2f}  {notes}")
        baseline = rows[-1][1] if not args.no_baseline else None
        if baseline is not None:
            for name, seconds, _notes in rows[1:-1]:
                print(f"{name}: {baseline / seconds:.1f}x faster than the naive baseline")
    finally:
        if schema:
            with engine.begin() as conn:
                conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        engine.dispose()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
