"""The exposure index schema and its metadata checks (no plaintext in any table)."""

from __future__ import annotations

from typing import Any

from credwatch.errors import ConfigError
from credwatch.keys import KEY_CONSTRUCTION, Keyer

__all__ = ["SCHEMA_VERSION", "check_meta", "create_schema"]

#: ``major.minor``; another major is refused.
SCHEMA_VERSION = "1.0"

_DDL = (
    "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    """CREATE TABLE IF NOT EXISTS sources (
        source_id INTEGER PRIMARY KEY, name VARCHAR, file_digest VARCHAR, path VARCHAR,
        format VARCHAR, encoding VARCHAR, ingested_at TIMESTAMP, lines BIGINT,
        accepted BIGINT, rejected BIGINT, rejected_by_reason JSON,
        rejected_line_sample JSON, distinct_emails BIGINT, distinct_pairs BIGINT,
        distinct_passwords BIGINT, vault_file VARCHAR)""",
    # Keys and hashes are random bytes: compressing them costs ~4x the CPU of the
    # insert and saves nothing, so they are stored uncompressed.
    """CREATE TABLE IF NOT EXISTS exposures (
        email_key BLOB USING COMPRESSION uncompressed, domain VARCHAR,
        pair_key BLOB USING COMPRESSION uncompressed, source_id INTEGER,
        first_seen TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS password_counts (
        sha1 BLOB USING COMPRESSION uncompressed, ntlm BLOB USING COMPRESSION uncompressed,
        count BIGINT, source_id INTEGER)""",
)


def create_schema(conn: Any, keyer: Keyer) -> None:
    """Create the tables and record version, key construction and pepper fingerprint."""
    for statement in _DDL:
        conn.execute(statement)
    conn.execute(
        "INSERT INTO meta VALUES ('schema_version', ?), ('key_construction', ?), "
        "('pepper_fingerprint', ?) ON CONFLICT DO NOTHING",
        [SCHEMA_VERSION, KEY_CONSTRUCTION, keyer.fingerprint],
    )


def check_meta(conn: Any, keyer: Keyer, where: str) -> None:
    """Refuse an index built under another schema major, key construction or pepper.

    Raises:
        ConfigError: naming what differs (never a key).
    """
    meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    version = meta.get("schema_version", "")
    if version.split(".")[0] != SCHEMA_VERSION.split(".", maxsplit=1)[0]:
        raise ConfigError(
            f"{where}: index schema version {version or '?'} is not supported "
            f"(this credwatch reads {SCHEMA_VERSION})",
            hint="re-ingest the leak files into a new workspace",
        )
    if meta.get("key_construction") != KEY_CONSTRUCTION:
        raise ConfigError(
            f"{where}: the index was built with key construction "
            f"{meta.get('key_construction')!r}, this credwatch uses {KEY_CONSTRUCTION!r}",
            hint="re-ingest the leak files into a new index",
        )
    if meta.get("pepper_fingerprint") != keyer.fingerprint:
        raise ConfigError(
            f"{where}: the index was built under another pepper (keys/pepper changed)",
            hint="restore the original keys/pepper, or re-ingest into a new index",
        )
