"""Unseal the leaked passwords of the candidates and verify them against stored hashes.

Runs in the secret database: leaked passwords and stored hashes live in memory only.
The result is table ``verdict(row_no, verdict)`` (``matched`` / ``not_matched`` /
``unverified``) of the candidates and skipped accounts that have a leaked password.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa

from credwatch.audit.load import LoadedStore
from credwatch.audit.prefetch import Recording, prefetch
from credwatch.errors import InputError
from credwatch.execute.checkpoint import Checkpoint
from credwatch.execute.interface import Executor, ProgressCallback
from credwatch.hashes import verify_many
from credwatch.index.seal import VAULT_SCHEMA, read_vault_file
from credwatch.workspace import Workspace

__all__ = ["leaked_passwords", "verify_candidates"]

_VERDICT_SCHEMA = pa.schema([("row_no", pa.int64()), ("verdict", pa.string())])

# Fast (unsalted or cheap salted) candidates are verified in partitions of about this
# many accounts, so that their pairs, distinct triples and outcomes stay bounded: at full
# size (10 M exposed accounts) doing them at once held several GB.
FAST_PARTITION_ROWS = 1_000_000


def leaked_passwords(
    sec: duckdb.DuckDBPyConnection, loaded: LoadedStore, vault_files: list[Path], ws: Workspace
) -> pa.Table:
    """The leaked passwords (``email_key, password``) of the candidates.

    One query over a streaming reader of every decrypted vault batch: DuckDB filters
    while the next batch is decrypted.

    Raises:
        InputError: a vault file is missing.
    """
    private_key = ws.vault_private_key()
    for path in vault_files:
        if not path.exists():
            raise InputError(
                f"vault file {path.name} of the index is missing",
                hint="restore the index/vault folder from the same backup as the index",
            )
    if not loaded.candidates.num_rows:
        return VAULT_SCHEMA.empty_table()

    def batches() -> Iterator[pa.RecordBatch]:
        for path in vault_files:
            for table in read_vault_file(path, private_key):
                yield from table.cast(VAULT_SCHEMA).to_batches()

    source = Recording(prefetch(batches()))
    sec.register("cw_vault", pa.RecordBatchReader.from_batches(VAULT_SCHEMA, source))
    sec.register("cw_cand", loaded.candidates.select(["email_key"]))
    try:
        leaked: pa.Table = sec.sql(
            "SELECT v.email_key, v.password FROM cw_vault v "
            "SEMI JOIN cw_cand c ON c.email_key = v.email_key"
        ).to_arrow_table()
    except duckdb.Error:
        source.reraise()
        raise
    finally:
        for name in ("cw_vault", "cw_cand"):
            sec.unregister(name)
    source.reraise()
    return leaked


def verify_candidates(
    sec: duckdb.DuckDBPyConnection,
    loaded: LoadedStore,
    leaked: pa.Table,
    *,
    executor: Executor | None,
    checkpoint: Checkpoint | None,
    progress: ProgressCallback | None,
    timings: dict[str, float],
) -> pa.Table:
    """Verify every (stored hash, leaked password); return ``row_no, verdict``.

    Unsalted hashes are verified in bulk here, each distinct (hash, password, user)
    once; slow ones in deterministic order (a resumed run cuts the same checkpoint
    batches) on ``executor``.  Skipped slow accounts are ``unverified``, never "no
    match": they are exposed, and ingest seals a leaked password for every exposure.
    """
    sec.register("leaked", leaked)
    sec.register("cand", loaded.candidates)
    pairs = (
        "SELECT c.row_no, c.stored, l.password, c.user FROM cand c "
        "JOIN (SELECT DISTINCT email_key, password FROM leaked{leaked_filter}) l "
        "ON l.email_key = c.email_key WHERE c.slow = {slow}"
    )
    try:
        started = time.perf_counter()
        outcomes = _verify_fast(sec, pairs)
        timings["verify_fast"] = time.perf_counter() - started

        started = time.perf_counter()
        slow: pa.Table = sec.sql(
            pairs.format(leaked_filter="", slow="true").replace(
                "SELECT c.row_no", "SELECT c.row_no, c.id"
            )
            + " ORDER BY c.id, l.password"
        ).to_arrow_table()
        if slow.num_rows:
            slow_out = verify_many(
                slow.select(["stored", "password", "user"]),
                executor=executor,
                checkpoint=checkpoint,
                progress=progress,
                job="audit",
            )
            outcomes.append(
                pa.table({"row_no": slow.column("row_no"), "outcome": slow_out.column("outcome")})
            )
        del slow
        skipped = loaded.skipped.column("row_no")
        outcomes.append(
            pa.table({"row_no": skipped, "outcome": pa.repeat("skipped", len(skipped))}).cast(
                outcomes[0].schema
            )
        )
        timings["verify_slow"] = time.perf_counter() - started
        sec.register("outcomes", pa.concat_tables(outcomes))
        verdict: pa.Table = sec.sql(
            "SELECT row_no, CASE "
            "WHEN bool_or(outcome = 'matched') THEN 'matched' "
            "WHEN bool_and(outcome = 'not_matched') THEN 'not_matched' "
            "ELSE 'unverified' END AS verdict FROM outcomes GROUP BY row_no"
        ).to_arrow_table()
    finally:
        for name in ("leaked", "cand", "outcomes"):
            sec.unregister(name)
    return verdict.cast(_VERDICT_SCHEMA)


def _verify_fast(sec: duckdb.DuckDBPyConnection, pairs: str) -> list[pa.Table]:
    """Verify the fast candidates partition by partition of ``email_key``.

    Each distinct (stored hash, password, user) of a partition is verified once; the
    result is one ``row_no, outcome`` table per partition.
    """
    fast_rows = sec.execute("SELECT count(*) FROM cand WHERE NOT slow").fetchall()[0][0]
    parts = max(1, -(-fast_rows // FAST_PARTITION_ROWS))
    outcomes: list[pa.Table] = []
    for part in range(parts):
        in_part = f"hash(email_key) % {parts} = {part}"
        sec.execute(
            "CREATE TEMP TABLE fast_pairs AS "
            + pairs.format(leaked_filter=f" WHERE {in_part}", slow="false")
            + f" AND hash(c.email_key) % {parts} = {part}"
        )
        distinct: pa.Table = sec.sql(
            "SELECT DISTINCT stored, password, user FROM fast_pairs"
        ).to_arrow_table()
        checked = distinct.append_column("outcome", verify_many(distinct).column("outcome"))
        del distinct
        sec.register("checked", checked)
        outcomes.append(
            sec.sql(
                "SELECT f.row_no, c.outcome FROM fast_pairs f JOIN checked c "
                "ON c.stored = f.stored AND c.password = f.password "
                "AND c.user IS NOT DISTINCT FROM f.user"
            ).to_arrow_table()
        )
        sec.unregister("checked")
        sec.execute("DROP TABLE fast_pairs")
        del checked
    return outcomes
