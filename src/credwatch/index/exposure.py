"""The exposure index: keyed hashes of leaked addresses and pairs, password counts apart.

Opened with :meth:`ExposureIndex.open`; written by :func:`credwatch.index.ingest.ingest_files`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

import duckdb
import pyarrow as pa

from credwatch.errors import ConfigError, InputError
from credwatch.index.passwords import sha1
from credwatch.index.schema import check_meta, create_schema
from credwatch.keys import Keyer
from credwatch.normalize import InvalidAddressError, Normalizer
from credwatch.workspace import Workspace

__all__ = ["CheckResult", "ExposureIndex", "IndexStats", "SourceStats"]


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The answer of ``leak check``; ``None`` means "not asked" (never "not found")."""

    email_exposed: bool | None
    pair_exposed: bool | None
    password_count: int | None

    def to_json(self) -> dict[str, bool | int | None]:
        """The ``leak check --json`` document."""
        return {
            "email_exposed": self.email_exposed,
            "pair_exposed": self.pair_exposed,
            "password_count": self.password_count,
        }


@dataclass(frozen=True, slots=True)
class SourceStats:
    """What one ingested file contributed."""

    name: str
    path: str
    file_digest: str
    format: str
    encoding: str
    ingested_at: datetime
    lines: int
    accepted: int
    rejected: int
    rejected_by_reason: dict[str, int]
    rejected_line_sample: dict[str, list[int]]
    distinct_emails: int
    distinct_pairs: int
    distinct_passwords: int

    def to_json(self) -> dict[str, Any]:
        """The per-source object of ``leak stats --json``."""
        return {
            "name": self.name,
            "lines": self.lines,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "rejected_by_reason": self.rejected_by_reason,
            "distinct_emails": self.distinct_emails,
            "distinct_pairs": self.distinct_pairs,
            "distinct_passwords": self.distinct_passwords,
            "path": self.path,
            "format": self.format,
            "encoding": self.encoding,
            "ingested_at": self.ingested_at.isoformat(),
            "rejected_line_sample": self.rejected_line_sample,
        }


@dataclass(frozen=True, slots=True)
class IndexStats:
    """Per source, per domain (distinct addresses) and overall figures."""

    sources: tuple[SourceStats, ...]
    domains: dict[str, int]
    totals: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The ``leak stats --json`` document."""
        return {
            "sources": [s.to_json() for s in self.sources],
            "domains": self.domains,
            "totals": self.totals,
        }


class ExposureIndex:
    """The DuckDB exposure index of a workspace.

    Example:
        >>> with ExposureIndex.open(ws) as index:                       # doctest: +SKIP
        ...     index.check(email="taro@nifty.com").email_exposed
        True
    """

    def __init__(
        self, conn: duckdb.DuckDBPyConnection, ws: Workspace, keyer: Keyer, normalizer: Normalizer
    ) -> None:
        self._conn = conn
        self.workspace = ws
        self.keyer = keyer
        self.normalizer = normalizer

    @classmethod
    def open(cls, ws: Workspace, *, read_only: bool = True) -> ExposureIndex:
        """Open (or, when writable, create) the index of ``ws``.

        Raises:
            ConfigError: no index yet (read-only), another schema major, key
                construction or pepper, or the database is locked by another process.
        """
        keyer = ws.keyer()
        normalizer = ws.config().normalizer()
        path = ws.index_path
        if read_only and not path.exists():
            raise ConfigError(
                f"no exposure index in {ws.root} yet",
                hint="run `credwatch leak ingest FILE...` first",
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as exc:
            raise ConfigError(
                f"cannot open the exposure index {path}: {exc}",
                hint="another credwatch process may be writing to it; retry when it is done",
            ) from None
        try:
            if not read_only:
                create_schema(conn, keyer)
            check_meta(conn, keyer, str(path))
        except BaseException:
            conn.close()
            raise
        return cls(conn, ws, keyer, normalizer)

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection (for joins in ``audit``)."""
        return self._conn

    def close(self) -> None:
        """Close the database."""
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- look-ups -----------------------------------------------------------------
    def check(self, email: str | None = None, password: str | None = None) -> CheckResult:
        """Is this address exposed, this pair, and how often does the password occur?

        Raises:
            InputError: when ``email`` is not a valid address (never answered as "no").
        """
        email_exposed = pair_exposed = None
        count = None
        if email is not None:
            try:
                normalized = self.normalizer.normalize(email)
            except InvalidAddressError:
                raise InputError(
                    "the address given is not a valid email address",
                    hint="pass the full address, e.g. taro@nifty.com",
                ) from None
            key = self.keyer.email_key(normalized)
            email_exposed = self._exists("SELECT 1 FROM exposures WHERE email_key = ? LIMIT 1", key)
            if password is not None:
                pair = self.keyer.pair_key(key, password)
                pair_exposed = self._exists(
                    "SELECT 1 FROM exposures WHERE pair_key = ? LIMIT 1", pair
                )
        if password is not None:
            row = self._conn.execute(
                "SELECT coalesce(sum(count), 0)::BIGINT FROM password_counts WHERE sha1 = ?",
                [sha1(password)],
            ).fetchall()[0]
            count = int(row[0])
        return CheckResult(email_exposed, pair_exposed, count)

    def _exists(self, sql: str, key: bytes) -> bool:
        return bool(self._conn.execute(sql, [key]).fetchall())

    def exposed_email_keys(self, keys: Iterable[bytes]) -> set[bytes]:
        """The subset of ``keys`` (16-byte email keys) present in the index."""
        wanted = pa.table({"k": pa.array(list(keys), pa.binary())})
        if wanted.num_rows == 0:
            return set()
        rel = self._conn.sql(
            "SELECT DISTINCT k FROM wanted SEMI JOIN exposures ON exposures.email_key = wanted.k"
        )
        return {bytes(v) for v in rel.to_arrow_table().column(0).to_pylist()}

    def exposed_domains(self) -> list[str]:
        """Every domain with at least one exposed address, sorted."""
        rows = self._conn.execute("SELECT DISTINCT domain FROM exposures ORDER BY 1").fetchall()
        return [str(r[0]) for r in rows]

    def password_counts(self, mode: Literal["sha1", "ntlm"]) -> Iterator[pa.RecordBatch]:
        """Password hashes with counts, aggregated over sources, sorted by hash.

        Yields record batches with columns ``hash`` (binary) and ``count`` (int64).
        """
        if mode not in ("sha1", "ntlm"):
            raise ValueError(f"unknown password hash mode {mode!r}")
        reader = self._conn.sql(
            f"SELECT {mode} AS hash, sum(count)::BIGINT AS count FROM password_counts "
            f"GROUP BY {mode} ORDER BY hash"
        ).to_arrow_reader(65536)
        yield from reader

    def vault_files(self) -> list[Path]:
        """The sealed vault files of every ingested source, in ingest order."""
        rows = self._conn.execute(
            "SELECT vault_file FROM sources WHERE vault_file IS NOT NULL ORDER BY source_id"
        ).fetchall()
        return [self.workspace.vault_dir / str(r[0]) for r in rows]

    def has_digest(self, digest: str) -> bool:
        """Whether a file with this content digest was already ingested."""
        return self._exists_text("SELECT 1 FROM sources WHERE file_digest = ?", digest)

    def _exists_text(self, sql: str, value: str) -> bool:
        return bool(self._conn.execute(sql, [value]).fetchall())

    def stats(self) -> IndexStats:
        """Figures per source, per domain and in total (``leak stats``)."""
        rows = self._conn.execute(
            "SELECT name, path, file_digest, format, encoding, ingested_at, lines, accepted, "
            "rejected, rejected_by_reason, rejected_line_sample, distinct_emails, "
            "distinct_pairs, distinct_passwords FROM sources ORDER BY source_id"
        ).fetchall()
        sources = tuple(
            SourceStats(
                name=r[0],
                path=r[1],
                file_digest=r[2],
                format=r[3],
                encoding=r[4],
                ingested_at=r[5],
                lines=int(r[6]),
                accepted=int(r[7]),
                rejected=int(r[8]),
                rejected_by_reason=json.loads(r[9]),
                rejected_line_sample=json.loads(r[10]),
                distinct_emails=int(r[11]),
                distinct_pairs=int(r[12]),
                distinct_passwords=int(r[13]),
            )
            for r in rows
        )
        domains = {
            str(d): int(n)
            for d, n in self._conn.execute(
                "SELECT domain, count(DISTINCT email_key) FROM exposures "
                "GROUP BY domain ORDER BY 2 DESC, 1"
            ).fetchall()
        }
        overall = self._conn.execute(
            "SELECT count(DISTINCT email_key), count(DISTINCT pair_key) FROM exposures"
        ).fetchall()[0]
        passwords = self._conn.execute(
            "SELECT count(DISTINCT sha1) FROM password_counts"
        ).fetchall()[0]
        totals = {
            "sources": len(sources),
            "lines": sum(s.lines for s in sources),
            "accepted": sum(s.accepted for s in sources),
            "rejected": sum(s.rejected for s in sources),
            "distinct_emails": int(overall[0]),
            "distinct_pairs": int(overall[1]),
            "distinct_passwords": int(passwords[0]),
            "domains": len(domains),
        }
        return IndexStats(sources=sources, domains=domains, totals=totals)
