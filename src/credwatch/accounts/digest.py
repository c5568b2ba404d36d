"""The store snapshot digest: detects that a store changed between audit and apply.

The digest is order-independent (row order differs between databases and runs): the
XOR and the sum of DuckDB's 64-bit ``hash`` of each row's mapped fields, combined with
the row count, then SHA-256'd.  Rows have unique ids, so equal rows cannot cancel out.
It detects change, it is not a signature: whoever can write the store can change it
anyway.  It is computed
vectorised in DuckDB over the same Arrow batches the audit reads, so the audit gets it
without a second pass over the store.

Example:
    >>> digest = StoreDigest()
    >>> digest.hexdigest()[:9]
    'sha256:17'
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import duckdb
import pyarrow as pa

__all__ = ["ROW_DIGEST_SQL", "StoreDigest", "digest_batches"]

#: DuckDB expression of one row's digest over :data:`ACCOUNT_SCHEMA` column names.
ROW_DIGEST_SQL = (
    "hash(id, tenant, email, recovery_email, password_hash, raw_status, status, "
    "epoch_us(last_login), mfa)"
)


class StoreDigest:
    """Accumulates the digest over batches (any order, any batch boundaries)."""

    def __init__(self) -> None:
        self.rows = 0
        self._xor = 0
        self._sum = 0

    def add(self, rows: int, xor: int, total: int) -> None:
        """Fold in a partial result: count, ``bit_xor`` and ``sum`` of the row hashes."""
        self.rows += rows
        self._xor ^= xor
        self._sum = (self._sum + total) % (1 << 64)

    def update(self, con: duckdb.DuckDBPyConnection, relation: str) -> None:
        """Fold in every row of a DuckDB relation with the account columns."""
        (row,) = con.execute(
            f"SELECT count(*), coalesce(bit_xor(h), 0), coalesce(sum(h), 0) "
            f"FROM (SELECT {ROW_DIGEST_SQL} AS h FROM {relation})"
        ).fetchall()
        self.add(int(row[0]), int(row[1]), int(row[2]))

    def update_from_hashes(
        self, con: duckdb.DuckDBPyConnection, relation: str, column: str
    ) -> None:
        """Fold in row hashes already computed with :data:`ROW_DIGEST_SQL`."""
        (row,) = con.execute(
            f"SELECT count(*), coalesce(bit_xor({column}), 0), coalesce(sum({column}), 0) "
            f"FROM {relation}"
        ).fetchall()
        self.add(int(row[0]), int(row[1]), int(row[2]))

    def hexdigest(self) -> str:
        """The digest as ``sha256:<hex>``."""
        material = f"credwatch-store-v1|{self.rows}|{self._xor:016x}|{self._sum:016x}".encode()
        return "sha256:" + hashlib.sha256(material).hexdigest()


def digest_batches(batches: Iterable[pa.RecordBatch]) -> str:
    """Digest a stream of :data:`ACCOUNT_SCHEMA` batches."""
    digest = StoreDigest()
    con = duckdb.connect()
    try:
        for batch in batches:
            con.register("cw_digest_batch", batch)
            digest.update(con, "cw_digest_batch")
            con.unregister("cw_digest_batch")
    finally:
        con.close()
    return digest.hexdigest()
