"""``audit run``: join the exposure index with an account store and classify accounts.

Flow (DESIGN.md "audit"), vectorised in DuckDB, in bounded memory:

1. stream the store once (:mod:`credwatch.audit.load`): every address is normalised
   and keyed (:meth:`Keyer.sql_email_key`) and marked when the index's ``exposures``
   hold its key; one compact public row per account goes to a memory-capped database
   that spills to a private scratch folder (:mod:`credwatch.audit.scratch`), and only
   the stored hashes of exposed accounts stay, in memory;
2. read the sealed vault with the private key and keep, in memory only, the leaked
   passwords of those candidates (:mod:`credwatch.audit.verification`);
3. verify each (stored hash, leaked password) with :func:`credwatch.hashes.verify_many`:
   unsalted digests in bulk in-process, slow schemes in batches on the executor,
   checkpointed in the run folder so ``--resume`` skips finished batches;
4. classify, score and rank; write ``accounts.parquet`` and ``summary.json``
   (:mod:`credwatch.audit.classify`).

Only keyed hashes, masked addresses and counts reach the run folder; the scratch
folder holds no address, hash or password either, and is removed at the end.

Example:
    >>> result = run_audit(ws, "mail")          # doctest: +SKIP
    >>> result.summary["pair_valid"]            # doctest: +SKIP
    1234
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from credwatch.accounts import open_store
from credwatch.audit.classify import classify, summarise, write_accounts
from credwatch.audit.load import load_store
from credwatch.audit.model import SUMMARY_SCHEMA_VERSION, AuditResult
from credwatch.audit.scratch import public_database, secret_database
from credwatch.audit.verification import leaked_passwords, verify_candidates
from credwatch.errors import ConfigError, InputError
from credwatch.execute.checkpoint import Checkpoint
from credwatch.execute.interface import Executor, ProgressCallback
from credwatch.index import ExposureIndex
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
    store_conn = open_store(ws, store)
    sec = secret_database()
    try:
        with public_database(ws.runs_dir) as pub:
            started = time.perf_counter()
            _attach_index(sec, ws)
            loaded = load_store(
                sec,
                pub,
                store_conn.iter_arrow(batch_size),
                keyer=ws.keyer(),
                normalizer=normalizer,
                verify_slow=verify_slow,
                batch_size=batch_size,
            )
            sec.execute("DETACH idx")
            timings["read"] = time.perf_counter() - started

            fingerprint = hashlib.sha256(
                f"{store}|{loaded.digest}|{idx_digest}".encode()
            ).hexdigest()
            now = clock()
            run = _find_resumable(ws, store, fingerprint) if resume else _new_run_id(now)
            run_dir = ws.runs_dir / run
            run_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            _write_json(
                run_dir / _STATE,
                {"store": store, "fingerprint": fingerprint, "started_at": now.isoformat()},
            )

            started = time.perf_counter()
            leaked = leaked_passwords(sec, loaded, vault_files, ws)
            timings["vault"] = time.perf_counter() - started
            checkpoint = Checkpoint(run_dir / "checkpoint", fingerprint=fingerprint)
            verdict = verify_candidates(
                sec,
                loaded,
                leaked,
                executor=executor,
                checkpoint=checkpoint if executor is not None else None,
                progress=progress,
                timings=timings,
            )
            del leaked, loaded.candidates

            started = time.perf_counter()
            classify(pub, loaded.schemes, verdict, affected)
            summary = summarise(pub, loaded.schemes)
            timings["classify"] = time.perf_counter() - started

            started = time.perf_counter()
            parquet = run_dir / "accounts.parquet"
            tmp = run_dir / "accounts.parquet.tmp"
            write_accounts(pub, loaded.schemes, tmp)
            tmp.replace(parquet)
            document = {
                "schema_version": SUMMARY_SCHEMA_VERSION,
                "run": run,
                "store": store,
                "store_digest": loaded.digest,
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
        sec.close()
    return AuditResult(run=run, path=run_dir, summary=document, timings=timings)


def _attach_index(sec: duckdb.DuckDBPyConnection, ws: Workspace) -> None:
    """Attach the exposure index read-only as ``idx``.

    Raises:
        ConfigError: it cannot be opened (e.g. an ingest is writing to it).
    """
    try:
        sec.execute(f"ATTACH {_sql_str(str(ws.index_path))} AS idx (READ_ONLY)")
    except duckdb.Error as exc:
        raise ConfigError(
            f"cannot open the exposure index {ws.index_path}: {type(exc).__name__}",
            hint="another credwatch process may be writing to it; retry when it is done",
        ) from None


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
