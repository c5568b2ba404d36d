"""The audit's two DuckDB databases: one for secrets, one for everything else.

* The *secret* database holds what must never reach a disk: store addresses, stored
  hashes and, while they are verified, leaked passwords.  It is in memory and cannot
  spill (``temp_directory = ''``); only the candidates of verification stay in it.
* The *public* database holds one compact row per account -- id, tenant, status,
  domains, the first letter of the address, scheme number, flags -- the same kind of
  content ``accounts.parquet`` publishes.  Its memory is capped and it spills to a
  private folder of the workspace, removed when the audit ends, so a store of any size
  audits in bounded memory.

Example:
    >>> with public_database(tmp_path) as pub:          # doctest: +SKIP
    ...     pub.execute("SELECT 1").fetchall()
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

__all__ = ["PUBLIC_MEMORY_LIMIT", "public_database", "secret_database"]

#: Memory cap of the public database; beyond it, account rows spill to the scratch folder.
PUBLIC_MEMORY_LIMIT = "1GB"


def _quiet(con: duckdb.DuckDBPyConnection) -> None:
    # stdout carries `--json` documents: no progress bar, ever.
    con.execute("SET enable_progress_bar = false")
    con.execute("SET preserve_insertion_order = false")


def secret_database() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that never spills to disk (it holds addresses and hashes)."""
    con = duckdb.connect(":memory:")
    con.execute("SET temp_directory = ''")
    _quiet(con)
    return con


@contextmanager
def public_database(parent: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB capped at :data:`PUBLIC_MEMORY_LIMIT` that spills to ``parent``.

    The spill folder (mode 0700) is created inside ``parent`` and removed on exit,
    whatever happens.
    """
    parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder = parent / f".audit-scratch-{secrets.token_hex(4)}"
    folder.mkdir(mode=0o700)
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET temp_directory = ?", [str(folder)])
        con.execute(f"SET memory_limit = '{PUBLIC_MEMORY_LIMIT}'")
        _quiet(con)
        yield con
    finally:
        con.close()
        shutil.rmtree(folder, ignore_errors=True)
