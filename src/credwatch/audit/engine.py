"""``audit run``: join the exposure index with an account store and classify accounts.

Flow (DESIGN.md "audit"), everything vectorised in one in-memory DuckDB that never
spills to disk (``temp_directory = ''``):

1. stream the store as Arrow batches; per batch compute in SQL the normalised
   address (:meth:`Normalizer.sql`, non-ASCII rows through :meth:`Normalizer.normalize`),
   its ``email_key`` (:meth:`Keyer.sql_email_key`), masked address, domains, the
   scheme key of the stored hash and the store digest;
2. join with ``exposures`` of the index (attached read-only) by ``email_key``;
3. read the sealed vault with the private key and keep, in memory only, the leaked
   passwords of exposed accounts that have a stored hash;
4. verify each (stored hash, leaked password) with :func:`credwatch.hashes.verify_many`:
   unsalted digests in bulk in-process, slow schemes in batches on the executor,
   checkpointed in the run folder so ``--resume`` skips finished batches;
5. classify, score and rank; write ``accounts.parquet`` and ``summary.json``.

Only keyed hashes, masked addresses and counts reach the run folder.

Example:
    >>> result = run_audit(ws, "mail")          # doctest: +SKIP
    >>> result.summary["pair_valid"]            # doctest: +SKIP
    1234
"""

from __future__ import annotations

import hashlib
import json
import queue
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from credwatch.accounts import open_store
from credwatch.accounts.census import SCHEME_KEY_SQL, scheme_table, secret_safe_connection
from credwatch.accounts.digest import ROW_DIGEST_SQL, StoreDigest
from credwatch.accounts.interface import ACCOUNT_SCHEMA
from credwatch.audit.model import (
    FINDINGS,
    MFA_FACTOR,
    RISK_WEIGHTS,
    STATUS_FACTORS,
    SUMMARY_SCHEMA_VERSION,
    AuditResult,
)
from credwatch.errors import ConfigError, CredwatchError, InputError
from credwatch.execute.checkpoint import Checkpoint
from credwatch.execute.interface import Executor, ProgressCallback
from credwatch.hashes import verify_many
from credwatch.index import ExposureIndex
from credwatch.index.seal import VAULT_SCHEMA, read_vault_file
from credwatch.keys import Keyer
from credwatch.normalize import Normalizer
from credwatch.workspace import Workspace

__all__ = ["index_digest", "run_audit"]

_STATE = "run.json"


def index_digest(conn: duckdb.DuckDBPyConnection) -> str:
    """A digest of what the index holds: its key construction, pepper and sources."""
    meta = conn.execute("SELECT key, value FROM meta ORDER BY key").fetchall()
    sources = conn.execute(
        "SELECT source_id, file_digest, accepted FROM sources ORDER BY source_id"
    ).fetchall()
    material = json.dumps([meta, sources], default=str).encode()
    return "sha256:" + hashlib.sha256(material).hexdigest()


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _load_accounts(
    con: duckdb.DuckDBPyConnection,
    ws: Workspace,
    store_name: str,
    normalizer: Normalizer,
    batch_size: int,
) -> tuple[str, int]:
    """Stream the store into table ``accts``; return (store digest, rows).

    Raises:
        ExternalServiceError, ConfigError, InputError: from the store connector.
    """
    store = open_store(ws, store_name)
    keyer = ws.keyer()
    norm = _join_form_sql(normalizer, "email")
    key = Keyer.sql_email_key("$prefix", "n")
    con.execute(
        "CREATE TABLE accts (id VARCHAR, tenant VARCHAR, status VARCHAR, raw_status VARCHAR, "
        "mfa BOOLEAN, email VARCHAR, norm VARCHAR, email_key BLOB, recovery_domain VARCHAR, "
        "recovery_raw VARCHAR, password_hash VARCHAR, skey VARCHAR, needs_py BOOLEAN, "
        "row_hash UBIGINT)"
    )
    # One INSERT over a streaming reader: DuckDB pipelines and parallelises the keying
    # while the connector fetches; memory stays bounded by the reader's batches.
    source = _Recording(_prefetch(store.iter_arrow(batch_size)))
    con.register("cw_store", pa.RecordBatchReader.from_batches(ACCOUNT_SCHEMA, source))
    try:
        con.execute(
            f"""
            INSERT INTO accts
            SELECT id, tenant, status, raw_status, mfa, email, n,
                   CASE WHEN n IS NOT NULL THEN {key} END,
                   CASE WHEN recovery_email IS NULL OR trim(recovery_email) = '' THEN NULL
                        WHEN NOT contains(recovery_email, '@') THEN '(invalid)'
                        WHEN r_ascii THEN lower(trim(string_split(recovery_email, '@')[-1],
                                                     '{_WHITESPACE}'))
                   END,
                   CASE WHEN NOT r_ascii THEN recovery_email END,
                   password_hash, {SCHEME_KEY_SQL("password_hash")},
                   email IS NOT NULL AND NOT e_ascii,
                   {ROW_DIGEST_SQL}
            FROM (
                SELECT *, CASE WHEN e_ascii THEN {norm} END AS n
                FROM (SELECT *, strlen(email) = length(email) AS e_ascii,
                             strlen(recovery_email) = length(recovery_email) AS r_ascii
                      FROM cw_store)
            )
            """,
            {"prefix": keyer.email_prefix},
        )
    except duckdb.Error:
        source.reraise()
        raise
    finally:
        con.unregister("cw_store")
    source.reraise()
    digest = StoreDigest()
    digest.update_from_hashes(con, "accts", "row_hash")
    _python_normalise(con, normalizer, keyer)
    return digest.hexdigest(), digest.rows


_WHITESPACE = " \t\r\n\x0b\x0c"


class _Recording:
    """Wraps the connector's batches so its own error survives DuckDB's scan.

    An error raised inside a stream DuckDB is reading reaches us as a DuckDB error;
    :meth:`reraise` raises the original (e.g. ``ExternalServiceError``, exit 4) instead.
    """

    def __init__(self, batches: Iterator[pa.RecordBatch]) -> None:
        self._batches = batches
        self.error: BaseException | None = None

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        try:
            yield from self._batches
        except CredwatchError as exc:
            self.error = exc
            raise

    def reraise(self) -> None:
        """Raise the connector's error, if it failed."""
        if self.error is not None:
            raise self.error


def _join_form_sql(normalizer: Normalizer, column: str) -> str:
    """The SQL form of a store address used for the join with the index.

    Without per-domain rules, ``Normalizer.normalize`` of an ASCII address is its
    trimmed, lowercased text when that text is a valid address, and invalid otherwise.
    An invalid text can never equal a normalised address of the index (ingest keys
    valid addresses only), so keying the trimmed, lowercased text gives exactly the same
    matches while skipping the validating regular expression, the costliest step over
    millions of accounts.  With domain rules the full :meth:`Normalizer.sql` runs.
    """
    if normalizer.domain_rules:
        return normalizer.sql(column)
    # Trimming with a character set is costly; most addresses need no trimming at all.
    edges = ", ".join(f"'{c}'" for c in _WHITESPACE)
    return (
        f"nullif(CASE WHEN {column}[1] IN ({edges}) OR {column}[-1] IN ({edges}) "
        f"THEN lower(trim({column}, '{_WHITESPACE}')) ELSE lower({column}) END, '')"
    )


def _python_normalise(con: duckdb.DuckDBPyConnection, normalizer: Normalizer, keyer: Keyer) -> None:
    """Non-ASCII addresses and recovery addresses go through the Python normaliser."""
    for rowid, email in con.execute("SELECT rowid, email FROM accts WHERE needs_py").fetchall():
        normalized = normalizer.try_normalize(email)
        key = keyer.email_key(normalized) if normalized is not None else None
        con.execute(
            "UPDATE accts SET norm = ?, email_key = ? WHERE rowid = ?", [normalized, key, rowid]
        )
    rows = con.execute(
        "SELECT rowid, recovery_raw FROM accts WHERE recovery_raw IS NOT NULL"
    ).fetchall()
    for rowid, raw in rows:
        normalized = normalizer.try_normalize(raw)
        domain = normalized.rpartition("@")[2] if normalized is not None else "(invalid)"
        con.execute(
            "UPDATE accts SET recovery_domain = ?, recovery_raw = NULL WHERE rowid = ?",
            [domain, rowid],
        )


def _schemes(con: duckdb.DuckDBPyConnection) -> None:
    """Identify one sample hash per scheme key: table ``schemes``."""
    samples = con.execute(
        "SELECT skey, any_value(password_hash) FROM accts GROUP BY skey"
    ).fetchall()
    con.register("cw_schemes", scheme_table((str(k), v) for k, v in samples))
    con.execute("CREATE TABLE schemes AS SELECT * FROM cw_schemes")
    con.unregister("cw_schemes")


def _leaked_passwords(
    con: duckdb.DuckDBPyConnection, vault_files: list[Path], ws: Workspace
) -> pa.Table:
    """The leaked passwords of exposed accounts with a stored hash (in memory only).

    One query over a streaming reader of every decrypted vault batch: DuckDB filters
    while the next batch is decrypted.
    """
    private_key = ws.vault_private_key()
    for path in vault_files:
        if not path.exists():
            raise InputError(
                f"vault file {path.name} of the index is missing",
                hint="restore the index/vault folder from the same backup as the index",
            )

    def batches() -> Iterator[pa.RecordBatch]:
        for path in vault_files:
            for table in read_vault_file(path, private_key):
                yield from table.cast(VAULT_SCHEMA).to_batches()

    source = _Recording(_prefetch(batches()))
    con.register("cw_vault", pa.RecordBatchReader.from_batches(VAULT_SCHEMA, source))
    try:
        leaked: pa.Table = con.sql(
            "SELECT v.email_key, v.password FROM cw_vault v "
            "SEMI JOIN cand c ON c.email_key = v.email_key"
        ).to_arrow_table()
    except duckdb.Error:
        source.reraise()
        raise
    finally:
        con.unregister("cw_vault")
    source.reraise()
    return leaked


def _prefetch(items: Iterator[pa.RecordBatch], depth: int = 2) -> Iterator[Any]:
    """Produce ``items`` in a background thread, ``depth`` ahead of the consumer.

    Fetching from a database driver or decrypting the vault releases the GIL, so the
    next batch is read while DuckDB works on the current one.  Errors are re-raised in
    the consumer.
    """
    done = object()
    box: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        box.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            box.put(done)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer thread
            box.put(exc)

    worker = threading.Thread(target=produce, name="credwatch-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = box.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join(timeout=5)


def _verify(
    con: duckdb.DuckDBPyConnection,
    leaked: pa.Table,
    *,
    executor: Executor | None,
    checkpoint: Checkpoint | None,
    progress: ProgressCallback | None,
    verify_slow: bool,
    timings: dict[str, float],
) -> None:
    """Verify every (stored hash, leaked password) pair; table ``verdict(row_no, verdict)``."""
    con.register("leaked", leaked)
    pairs = (
        "SELECT a.rowid AS row_no, a.password_hash AS stored, l.password, a.email AS user "
        "FROM accts a "
        "JOIN (SELECT DISTINCT email_key, password FROM leaked) l ON l.email_key = a.email_key "
        "JOIN schemes s ON s.key = a.skey "
        "WHERE a.password_hash IS NOT NULL AND a.password_hash <> '' AND s.slow = {slow}"
    )
    started = time.perf_counter()
    # Unsalted hashes of popular passwords repeat: verify each distinct triple once.
    con.execute(
        "CREATE TEMP TABLE fast_pairs AS "
        + pairs.format(slow="false").replace(
            "a.email AS user", "CASE WHEN s.needs_user THEN a.email END AS user"
        )
    )
    distinct: pa.Table = con.sql(
        "SELECT DISTINCT stored, password, user FROM fast_pairs"
    ).to_arrow_table()
    checked = distinct.append_column("outcome", verify_many(distinct).column("outcome"))
    del distinct
    con.register("checked", checked)
    outcomes = [
        con.sql(
            "SELECT f.row_no, c.outcome FROM fast_pairs f JOIN checked c "
            "ON c.stored = f.stored AND c.password = f.password "
            "AND c.user IS NOT DISTINCT FROM f.user"
        ).to_arrow_table()
    ]
    con.unregister("checked")
    con.execute("DROP TABLE fast_pairs")
    del checked
    timings["verify_fast"] = time.perf_counter() - started
    started = time.perf_counter()
    if verify_slow:
        # Deterministic order: a resumed run must cut the same checkpoint batches.
        slow: pa.Table = con.sql(
            pairs.format(slow="true") + " ORDER BY a.id, l.password"
        ).to_arrow_table()
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
    else:
        skipped = con.sql(
            "SELECT DISTINCT row_no, 'skipped' AS outcome FROM (" + pairs.format(slow="true") + ")"
        ).to_arrow_table()
        outcomes.append(skipped.cast(outcomes[0].schema))
    timings["verify_slow"] = time.perf_counter() - started
    con.unregister("leaked")
    con.register("outcomes", pa.concat_tables(outcomes))
    con.execute(
        "CREATE TABLE verdict AS SELECT row_no, CASE "
        "WHEN bool_or(outcome = 'matched') THEN 'matched' "
        "WHEN bool_and(outcome = 'not_matched') THEN 'not_matched' "
        "ELSE 'unverified' END AS verdict FROM outcomes GROUP BY row_no"
    )
    con.unregister("outcomes")


#: The SQL condition of each finding over the joined account row.
_FINDING_SQL = {
    "pair_valid": "verdict = 'matched'",
    "pair_unverified": "exposed AND verdict = 'unverified'",
    "recovery_exposed": "rec_exposed",
    "pair_stale": "verdict = 'not_matched'",
    "email_only": "exposed AND verdict IS NULL",
    "weak_scheme": "weak",
}


def _classify(con: duckdb.DuckDBPyConnection, affected: list[str]) -> None:
    """Table ``result``: one boolean column per finding, risk score and priority.

    Findings are plain boolean columns (cheap to count); the ``findings`` list of the
    Parquet output is built once, when the run is written.
    """
    con.register("affected", pa.table({"domain": pa.array(affected, pa.string())}))
    flags = ",\n".join(
        f"coalesce({cond}, false) AS f_{name}" for name, cond in _FINDING_SQL.items()
    )
    top = (
        "greatest("
        + ", ".join(f"CASE WHEN f_{f} THEN {w} ELSE 0 END" for f, w in RISK_WEIGHTS.items())
        + ")"
    )
    count = " + ".join(f"f_{f}::INTEGER" for f in FINDINGS)
    factors = " ".join(f"WHEN '{s}' THEN {f}" for s, f in STATUS_FACTORS.items())
    con.execute(
        f"""
        CREATE TABLE result AS
        WITH base AS (
            SELECT a.id, a.tenant, a.status, a.raw_status, a.mfa, a.norm, a.recovery_domain,
                   s.scheme, s.weak, s.supported, v.verdict,
                   x.email_key IS NOT NULL AS exposed,
                   coalesce(a.recovery_domain IN (SELECT domain FROM affected), false)
                       AS rec_exposed
            FROM accts a
            JOIN schemes s ON s.key = a.skey
            LEFT JOIN exposed x ON x.email_key = a.email_key
            LEFT JOIN verdict v ON v.row_no = a.rowid
        ), found AS (
            SELECT *, {flags} FROM base
        ), scored AS (
            SELECT *, least(CAST(round(({top} + 5 * greatest({count} - 1, 0))
                * (CASE status {factors} ELSE 1.0 END)
                * (CASE WHEN mfa THEN {MFA_FACTOR} ELSE 1.0 END)) AS INTEGER), 100)
                AS risk_score
            FROM found
        )
        SELECT * EXCLUDE (norm, weak, verdict, rec_exposed),
               CAST(row_number() OVER (ORDER BY risk_score DESC, id) AS INTEGER) AS priority,
               CASE WHEN contains(norm, '@') THEN string_split(norm, '@')[-1]
                    ELSE '(invalid)' END AS email_domain,
               -- the same as credwatch.normalize.mask_email (tested)
               CASE WHEN norm IS NULL OR NOT contains(norm, '@') OR norm[1] = '@' THEN '***'
                    ELSE left(norm, 1) || '***@' || string_split(norm, '@')[-1]
               END AS masked_email
        FROM scored
        """
    )
    con.unregister("affected")


def _findings_list_sql() -> str:
    """The ``findings`` list column (most severe first) from the boolean columns."""
    items = ", ".join(f"CASE WHEN f_{f} THEN '{f}' END" for f in FINDINGS)
    return f"list_filter([{items}], lambda f: f IS NOT NULL)"


def _summary(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Totals, per tenant x status x finding, per status and MFA, from one GROUP BY."""
    cols = ", ".join(f"count_if(f_{f}) AS {f}" for f in FINDINGS)
    groups = con.execute(
        f"SELECT tenant, status, mfa, count(*) AS accounts, "
        f"count(*) FILTER (WHERE exposed) AS exposed, {cols} "
        f"FROM result GROUP BY ALL ORDER BY tenant, status, mfa"
    ).fetchall()
    keys = ("accounts", "exposed", *FINDINGS)

    def empty() -> dict[str, int]:
        return dict.fromkeys(keys, 0)

    def add(into: dict[str, int], values: tuple[Any, ...]) -> None:
        for key, value in zip(keys, values, strict=True):
            into[key] += int(value)

    summary: dict[str, Any] = empty()
    by_tenant: dict[str, Any] = {}
    by_status: dict[str, dict[str, int]] = {}
    by_mfa = {"enabled": empty(), "disabled": empty()}
    statuses = sorted({str(g[1]) for g in groups})
    for tenant, status, mfa, *values in groups:
        add(summary, tuple(values))
        entry = by_tenant.setdefault(tenant, {**empty(), "by_status": {}})
        add(entry, tuple(values))
        add(entry["by_status"].setdefault(status, empty()), tuple(values))
        add(by_status.setdefault(status, empty()), tuple(values))
        add(by_mfa["enabled" if mfa else "disabled"], tuple(values))
    for entry in by_tenant.values():
        for status in statuses:
            entry["by_status"].setdefault(status, empty())
    summary["by_tenant"] = by_tenant
    summary["by_status"] = by_status
    summary["by_mfa"] = by_mfa
    summary["unknown_statuses"] = _count_map(
        con,
        "SELECT coalesce(raw_status, '(null)'), count(*) FROM result "
        "WHERE status = 'unknown' GROUP BY 1 ORDER BY 2 DESC, 1",
    )
    summary["schemes"] = _count_map(
        con, "SELECT scheme, count(*) FROM result GROUP BY 1 ORDER BY 2 DESC, 1"
    )
    summary["unknown_schemes"] = _count_map(
        con,
        "SELECT scheme, count(*) FROM result WHERE NOT supported "
        "AND scheme NOT IN ('EMPTY', 'LOCKED') GROUP BY 1 ORDER BY 2 DESC, 1",
    )
    return summary


def _count_map(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, int]:
    return {str(k): int(v) for k, v in con.execute(sql).fetchall()}


def _new_run_id(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def _find_resumable(ws: Workspace, store: str, fingerprint: str) -> str:
    """The latest interrupted run of this store with the same inputs.

    Raises:
        InputError: there is none.
    """
    candidates = []
    if ws.runs_dir.exists():
        for folder in ws.runs_dir.iterdir():
            state = folder / _STATE
            if not state.exists() or (folder / "summary.json").exists():
                continue
            try:
                data = json.loads(state.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if data.get("store") == store:
                candidates.append((folder.name, data.get("fingerprint")))
    if not candidates:
        raise InputError(
            f"no interrupted audit run of store {store!r} to resume",
            hint=f"run `credwatch audit run --store {store}` without --resume",
        )
    run, stored_fp = max(candidates)
    if stored_fp != fingerprint:
        raise InputError(
            f"the interrupted run {run} was made from a different store or index content",
            hint="the inputs changed since; start a fresh run without --resume",
        )
    return run


def _write_json(path: Path, document: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)


def run_audit(
    ws: Workspace,
    store: str,
    *,
    executor: Executor | None = None,
    resume: bool = False,
    verify_slow: bool = True,
    batch_size: int = 100_000,
    progress: ProgressCallback | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> AuditResult:
    """Audit one account store against the exposure index; write a run folder.

    Args:
        ws: the workspace (keys, index, vault private key, runs).
        store: the store's name (``[stores.NAME]``).
        executor: where slow hashes are verified (``None``: in this process).
        resume: continue the latest interrupted run of this store (same inputs),
            skipping verification batches already done.
        verify_slow: ``False`` skips slow-hash verification (benchmarks); those
            accounts get ``pair_unverified``, never "no match".
        batch_size: rows per store read.
        progress: called as slow-hash batches finish.
        clock: the time source of the run id and ``created_at``.

    Returns:
        The run: id, folder, summary and per-phase timings.

    Raises:
        ConfigError: no such store, no index, or the vault private key is missing.
        ExternalServiceError: the store's database is unreachable (nothing is written).
        InputError: a vault file is missing or corrupt; nothing to resume.

    Example:
        >>> result = run_audit(ws, "mail", executor=executor_from_spec("local"))  # doctest: +SKIP
    """
    timings: dict[str, float] = {}
    config = ws.config()
    normalizer = config.normalizer()
    with ExposureIndex.open(ws) as index:
        idx_digest = index_digest(index.connection)
        affected = list(config.affected_domains or index.exposed_domains())
        vault_files = index.vault_files()
    ws.vault_private_key()  # fail now, not after reading the store
    con = secret_safe_connection()
    try:
        started = time.perf_counter()
        store_digest, _rows = _load_accounts(con, ws, store, normalizer, batch_size)
        _schemes(con)
        timings["read"] = time.perf_counter() - started

        started = time.perf_counter()
        try:
            con.execute(f"ATTACH {_sql_str(str(ws.index_path))} AS idx (READ_ONLY)")
        except duckdb.Error as exc:
            raise ConfigError(
                f"cannot open the exposure index {ws.index_path}: {type(exc).__name__}",
                hint="another credwatch process may be writing to it; retry when it is done",
            ) from None
        con.execute(
            "CREATE TABLE exposed AS SELECT DISTINCT e.email_key FROM idx.exposures e "
            "SEMI JOIN accts a ON a.email_key = e.email_key"
        )
        con.execute("DETACH idx")
        con.execute(
            "CREATE TABLE cand AS SELECT DISTINCT a.email_key FROM accts a "
            "SEMI JOIN exposed x ON x.email_key = a.email_key "
            "WHERE a.password_hash IS NOT NULL AND a.password_hash <> ''"
        )
        timings["join"] = time.perf_counter() - started

        fingerprint = hashlib.sha256(f"{store}|{store_digest}|{idx_digest}".encode()).hexdigest()
        now = clock()
        run = _find_resumable(ws, store, fingerprint) if resume else _new_run_id(now)
        run_dir = ws.runs_dir / run
        run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        _write_json(
            run_dir / _STATE,
            {"store": store, "fingerprint": fingerprint, "started_at": now.isoformat()},
        )

        started = time.perf_counter()
        leaked = _leaked_passwords(con, vault_files, ws)
        timings["vault"] = time.perf_counter() - started
        checkpoint = Checkpoint(run_dir / "checkpoint", fingerprint=fingerprint)
        _verify(
            con,
            leaked,
            executor=executor,
            checkpoint=checkpoint if executor is not None else None,
            progress=progress,
            verify_slow=verify_slow,
            timings=timings,
        )
        del leaked

        started = time.perf_counter()
        _classify(con, affected)
        summary = _summary(con)
        timings["classify"] = time.perf_counter() - started

        started = time.perf_counter()
        parquet = run_dir / "accounts.parquet"
        tmp = run_dir / "accounts.parquet.tmp"
        con.execute(
            f"COPY (SELECT id, tenant, status, mfa, email_domain, recovery_domain, scheme, "
            f"{_findings_list_sql()} AS findings, risk_score, priority, masked_email "
            f"FROM result) "
            f"TO {_sql_str(str(tmp))} (FORMAT parquet)"
        )
        tmp.replace(parquet)
        document = {
            "schema_version": SUMMARY_SCHEMA_VERSION,
            "run": run,
            "store": store,
            "store_digest": store_digest,
            "index_digest": idx_digest,
            "created_at": now.isoformat(),
            "affected_domains": affected,
            "verify_slow": verify_slow,
            **summary,
        }
        _write_json(run_dir / "summary.json", document)
        shutil.rmtree(run_dir / "checkpoint", ignore_errors=True)
        timings["write"] = time.perf_counter() - started
    finally:
        con.close()
    return AuditResult(run=run, path=run_dir, summary=document, timings=timings)
