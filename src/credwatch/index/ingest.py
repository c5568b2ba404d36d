"""The ingest pipeline: leak files in, keyed hashes, password counts and sealed vault out.

Per file, in one transaction of the exposure index:

1. the reader yields blocks of lines as Arrow arrays (read ahead in a thread);
2. an **in-memory** DuckDB connection, with spilling to disk disabled, splits,
   validates, normalises and keys each block in SQL: plaintext exists only there and
   in Arrow buffers in this process, never in the file database, its WAL or a temp
   directory;
3. only ``(email_key, domain, pair_key)`` go to the file database; ``(email_key,
   password)`` is sealed into the vault; distinct passwords are counted in memory and
   hashed (SHA-1, NTLM) once at the end, stored without any link to an address.

A file whose content digest was already ingested is skipped.  A file that yields no
valid line, or fails half-way (truncated archive, interrupt), leaves the index and the
vault as they were.
"""

from __future__ import annotations

import glob
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from credwatch.errors import ConfigError, InputError, UsageError
from credwatch.index.exposure import ExposureIndex, SourceStats
from credwatch.index.passwords import ntlm_hashes
from credwatch.index.seal import VaultWriter
from credwatch.keys import Keyer
from credwatch.leaks.encoding import normalize_encoding_name
from credwatch.leaks.formats import (
    FormatChoice,
    delimited_split_sql,
    detect_format,
    jsonl_split_sql,
    split_csv,
)
from credwatch.leaks.interface import LeakFormat, LineChunk, RejectReason
from credwatch.leaks.reader import FileReader, file_digest
from credwatch.normalize import InvalidAddressError, Normalizer
from credwatch.workspace import Workspace

__all__ = ["FileOutcome", "IngestOptions", "IngestReport", "expand_paths", "ingest_files"]

#: Rejected line numbers kept per reason (numbers only, never content).
SAMPLE_PER_REASON = 10
_MERGE_PASSWORDS_AT = 2_000_000
_HEADER = "header"
# Per DuckDB connection.  The in-memory one fails rather than spill; the index one
# may spill hashed rows (only hashes) to its temp folder next to the database.
_PLAINTEXT_MEMORY_LIMIT = "384MB"
_INDEX_MEMORY_LIMIT = "256MB"


@dataclass(frozen=True, slots=True)
class IngestOptions:
    """How to read the files (``leak ingest`` options).

    Attributes:
        source: the source name (default: each file's name).
        format: the line format, or ``auto`` to detect per file.
        encoding: ``auto`` to detect per file, else an encoding name.
        default_domain: domain appended to ``user:pass`` lines without ``@``.
    """

    source: str | None = None
    format: LeakFormat = LeakFormat.AUTO
    encoding: str = "auto"
    default_domain: str | None = None


@dataclass(frozen=True, slots=True)
class FileOutcome:
    """What happened to one file: ``ingested``, ``skipped`` (same content) or ``failed``."""

    path: Path
    status: Literal["ingested", "skipped", "failed"]
    source: SourceStats | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "path": str(self.path),
            "status": self.status,
            "source": self.source.to_json() if self.source else None,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class IngestReport:
    """The outcome of ``leak ingest`` for every file."""

    files: tuple[FileOutcome, ...]

    @property
    def nothing_ingested(self) -> bool:
        """True when files failed and none was ingested or already present."""
        return not any(f.status in ("ingested", "skipped") for f in self.files)

    def raise_if_nothing_ingested(self) -> None:
        """Raise :class:`InputError` (exit 3) when nothing at all could be ingested."""
        if self.nothing_ingested:
            raise InputError(
                "nothing was ingested from the given files",
                hint="see the errors above; each file's problem is listed",
            )

    def to_json(self) -> dict[str, Any]:
        """The ``leak ingest --json`` document."""
        return {"files": [f.to_json() for f in self.files]}


def expand_paths(items: Iterable[str | Path]) -> list[Path]:
    """Expand glob patterns; plain paths are kept as given (missing ones fail later)."""
    out: list[Path] = []
    for item in items:
        text = str(item)
        if not Path(text).exists() and any(c in text for c in "*?["):
            matches = sorted(glob.glob(text, recursive=True))  # noqa: PTH207 - a user's glob
            if matches:
                out.extend(Path(m) for m in matches)
                continue
        out.append(Path(text))
    return out


def ingest_files(
    ws: Workspace,
    paths: Iterable[str | Path],
    options: IngestOptions | None = None,
    *,
    on_progress: Callable[[Path, int], None] | None = None,
) -> IngestReport:
    """Ingest combolist files into the workspace's exposure index and vault.

    Each file is one transaction.  A bad file is reported in the result (``failed``
    with a safe message) and does not stop the others.

    Raises:
        UsageError: an invalid ``default_domain``.
        ConfigError: the workspace or index cannot be used (pepper changed, locked).

    Example:
        >>> report = ingest_files(ws, ["dump.txt.gz"])               # doctest: +SKIP
        >>> report.files[0].source.accepted                          # doctest: +SKIP
        14220000
    """
    opts = options or IngestOptions()
    normalizer = ws.config().normalizer()
    default_domain = _check_domain(normalizer, opts.default_domain)
    if opts.encoding != "auto":
        normalize_encoding_name(opts.encoding)
    public_key = ws.vault_public_key()
    outcomes: list[FileOutcome] = []
    with ExposureIndex.open(ws, read_only=False) as index:
        index.connection.execute(f"SET memory_limit = '{_INDEX_MEMORY_LIMIT}'")
        _clean_orphans(ws.vault_dir)
        mem = _plaintext_connection()
        try:
            for path in expand_paths(paths):
                try:
                    outcomes.append(
                        _FileIngest(
                            index,
                            mem,
                            path,
                            opts,
                            default_domain,
                            normalizer,
                            public_key,
                            on_progress,
                        ).run()
                    )
                except InputError as exc:
                    outcomes.append(FileOutcome(path, "failed", error=exc.diagnostics()))
        finally:
            mem.close()
        index.connection.execute("CHECKPOINT")
    return IngestReport(tuple(outcomes))


def _check_domain(normalizer: Normalizer, domain: str | None) -> str | None:
    if domain is None:
        return None
    try:
        return normalizer.normalize(f"x@{domain}").split("@", 1)[1]
    except InvalidAddressError:
        raise UsageError(
            "--default-domain is not a valid domain name", hint="e.g. --default-domain nifty.com"
        ) from None


def _clean_orphans(vault_dir: Path) -> None:
    """Remove vault files left unpublished by an interrupted ingest."""
    if vault_dir.is_dir():
        for tmp in vault_dir.glob("*.tmp"):
            tmp.unlink(missing_ok=True)


def _plaintext_connection() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that can never spill plaintext to a temp directory."""
    mem = duckdb.connect(":memory:")
    mem.execute("SET temp_directory = ''")
    mem.execute(f"SET memory_limit = '{_PLAINTEXT_MEMORY_LIMIT}'")
    mem.execute("SET preserve_insertion_order = false")
    mem.execute("SET enable_external_access = false")
    return mem


def _prefetch(chunks: Iterator[LineChunk]) -> Iterator[LineChunk]:
    """Read (decompress, decode, split) the next block while this one is processed."""
    with ThreadPoolExecutor(1, thread_name_prefix="credwatch-read") as pool:
        future = pool.submit(next, chunks, None)
        try:
            while True:
                chunk = future.result()
                if chunk is None:
                    return
                future = pool.submit(next, chunks, None)
                yield chunk
        finally:
            future.cancel()
            if not future.cancelled():
                future.exception()
            close = getattr(chunks, "close", None)
            if close is not None:
                close()


@dataclass(slots=True)
class _Tally:
    lines: int = 0
    accepted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    sample: dict[str, list[int]] = field(default_factory=dict)

    def reject(self, reason: str, count: int, lines: list[int]) -> None:
        self.rejected[reason] += count
        kept = self.sample.setdefault(reason, [])
        if len(kept) < SAMPLE_PER_REASON:
            kept.extend(sorted(lines)[: SAMPLE_PER_REASON - len(kept)])


class _FileIngest:
    """Ingest of one file (one transaction)."""

    def __init__(
        self,
        index: ExposureIndex,
        mem: duckdb.DuckDBPyConnection,
        path: Path,
        opts: IngestOptions,
        default_domain: str | None,
        normalizer: Normalizer,
        public_key: Any,
        on_progress: Callable[[Path, int], None] | None,
    ) -> None:
        self.index = index
        self.mem = mem
        self.path = path
        self.opts = opts
        self.default_domain = default_domain
        self.normalizer = normalizer
        self.public_key = public_key
        self.on_progress = on_progress
        self.keyer: Keyer = index.keyer
        self.tally = _Tally()
        self.passwords: list[pa.Table] = []
        self.password_rows = 0

    def run(self) -> FileOutcome:
        source = FileReader(encoding=self.opts.encoding).open(self.path)
        digest = file_digest(self.path)
        if self.index.has_digest(digest):
            return FileOutcome(self.path, "skipped", error="already ingested (same content)")
        choice = detect_format(source.sample(), self.opts.format)
        conn = self.index.connection
        row = conn.execute("SELECT coalesce(max(source_id), 0) + 1 FROM sources").fetchall()
        source_id = int(row[0][0])
        vault_name = f"{source_id:06d}-{digest[:16]}.cwv"
        try:
            writer = VaultWriter(self.index.workspace.vault_dir / vault_name, self.public_key)
        except OSError as exc:
            raise ConfigError(f"cannot write the vault file: {exc.strerror}") from None
        conn.execute("BEGIN TRANSACTION")
        published = False
        try:
            # A regular table inside the transaction (hashes only): DuckDB writes its
            # row groups to the database file as they fill, so memory stays bounded;
            # it is dropped before the commit and vanishes with a rollback.
            conn.execute(
                "CREATE TABLE ingest_stage (email_key BLOB USING COMPRESSION uncompressed, "
                "domain VARCHAR, pair_key BLOB USING COMPRESSION uncompressed)"
            )
            for chunk in _prefetch(source.chunks()):
                self._chunk(chunk, choice, writer)
                if self.on_progress is not None:
                    self.on_progress(self.path, self.tally.lines)
            self._require_accepted()
            stats = self._finish(source_id, digest, choice, source.encoding, vault_name)
            writer.commit()
            published = True
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            if published:
                writer.path.unlink(missing_ok=True)
            else:
                writer.abort()
            raise
        return FileOutcome(self.path, "ingested", source=stats)

    def _require_accepted(self) -> None:
        if self.tally.accepted == 0:
            raise InputError(
                f"{self.path}: no valid email/password line "
                f"({self.tally.lines} lines; {_reasons(self.tally.rejected)})",
                hint="check --format, --encoding and --default-domain",
            )

    # -- one block ---------------------------------------------------------------------
    def _chunk(self, chunk: LineChunk, choice: FormatChoice, writer: VaultWriter) -> None:
        mem = self.mem
        tally = self.tally
        tally.lines += len(chunk)
        for reason, numbers in chunk.pre_rejected.items():
            tally.reject(reason, len(numbers), numbers)
        n = pa.array(range(chunk.first_line, chunk.first_line + len(chunk)), pa.int64())
        lines = pa.table({"n": n, "line": chunk.lines}).to_batches(max_chunksize=65536)
        block = pa.Table.from_batches(
            lines, schema=pa.schema([("n", pa.int64()), ("line", pa.string())])
        )
        params: dict[str, Any] = {"dom": self.default_domain}
        if choice.format in (LeakFormat.CSV, LeakFormat.TSV):
            assert choice.csv is not None
            split = split_csv(chunk.lines, chunk.first_line, choice.csv)
            headers = split.filter(pc.equal(split["reason"], _HEADER)).num_rows
            tally.lines -= headers
            mem.register("split_in", split)
            source, subset = "split_in", "split_in"

            def split_sql(table: str) -> str:
                return f"SELECT * FROM {table} WHERE reason IS DISTINCT FROM '{_HEADER}'"
        else:
            if choice.format is LeakFormat.JSONL:

                def split_sql(table: str) -> str:
                    return jsonl_split_sql(table)
            else:
                params["sep"] = choice.format.separator

                def split_sql(table: str) -> str:
                    return delimited_split_sql(table, "$sep", "$dom")

            mem.register("chunk", block)
            source = "chunk"
            # Only lines with non-ASCII text can hold an address the SQL twin cannot
            # normalise; they are few, so split them separately first.
            non_ascii = pc.fill_null(pc.invert(pc.string_is_ascii(chunk.lines)), False)
            subset = None
            if pc.any(non_ascii).as_py():
                mem.register("chunk_na", block.filter(non_ascii))
                subset = "chunk_na"

        def parsed_sql(table: str) -> str:
            return f"""SELECT n, reason, password,
                CASE WHEN reason IS NULL AND $dom IS NOT NULL AND strpos(address, '@') = 0
                     THEN trim(address) || '@' || $dom ELSE address END AS address
            FROM ({split_sql(table)})"""

        fix_join, fix_value = (
            self._non_ascii_fixes(parsed_sql(subset), params) if subset else ("", "NULL")
        )
        norm_sql = self.normalizer.sql("p.address")
        # Keyer.sql_email_key / sql_pair_key, sharing the email key's hex digest: the
        # pair key hashes lower(hex(email_key)), which is exactly that digest's first
        # 32 characters, so hex(unhex(...)) is skipped (tests check the bytes agree).
        email_hex = "left(sha256($ep || norm), 32)"
        pair_key = "unhex(left(sha256($pp || email_hex || '|' || password), 32))"
        mem.execute(
            f"""CREATE OR REPLACE TEMP TABLE keyed AS
            WITH p AS ({parsed_sql(source)}), a AS (
                SELECT p.n, p.password, p.reason,
                    CASE WHEN p.reason IS NOT NULL THEN NULL
                         WHEN strlen(p.address) = length(p.address) THEN {norm_sql}
                         ELSE {fix_value} END AS norm
                FROM p {fix_join}
            ), b AS (
                SELECT n, password, norm,
                    coalesce(reason,
                        CASE WHEN norm IS NULL THEN '{RejectReason.INVALID_ADDRESS.value}'
                             WHEN password IS NULL OR password = ''
                             THEN '{RejectReason.EMPTY_PASSWORD.value}' END) AS reason
                FROM a
            ), c AS (
                SELECT n, reason, password,
                    CASE WHEN reason IS NULL THEN {email_hex} END AS email_hex,
                    CASE WHEN reason IS NULL THEN split_part(norm, '@', 2) END AS domain
                FROM b
            )
            SELECT n, reason, password, domain, unhex(email_hex) AS email_key,
                CASE WHEN reason IS NULL THEN {pair_key} END AS pair_key
            FROM c""",
            {**params, "ep": self.keyer.email_prefix, "pp": self.keyer.pair_prefix},
        )
        for reason, count, numbers in mem.execute(
            f"SELECT reason, count(*), list_slice(list(n ORDER BY n), 1, {SAMPLE_PER_REASON}) "
            "FROM keyed WHERE reason IS NOT NULL GROUP BY reason"
        ).fetchall():
            tally.reject(str(reason), int(count), [int(x) for x in numbers])
        hashed = mem.sql(
            "SELECT email_key, domain, pair_key FROM keyed WHERE reason IS NULL"
        ).to_arrow_table()
        tally.accepted += hashed.num_rows
        conn = self.index.connection
        conn.register("hashed", hashed)
        conn.execute("INSERT INTO ingest_stage SELECT email_key, domain, pair_key FROM hashed")
        conn.unregister("hashed")
        writer.seal(
            mem.sql(
                "SELECT DISTINCT email_key, password FROM keyed WHERE reason IS NULL"
            ).to_arrow_table()
        )
        counts = mem.sql(
            "SELECT password, count(*)::BIGINT AS c FROM keyed WHERE reason IS NULL "
            "GROUP BY password"
        ).to_arrow_table()
        self._add_passwords(counts)
        registered = {
            str(r[0]) for r in mem.execute("SELECT view_name FROM duckdb_views()").fetchall()
        }
        for name in ("chunk", "chunk_na", "split_in", "fix"):
            if name in registered:
                mem.unregister(name)  # drops DuckDB's reference to the Arrow data
        mem.execute("DROP TABLE IF EXISTS keyed")

    def _non_ascii_fixes(self, parsed_sql: str, params: dict[str, Any]) -> tuple[str, str]:
        """Normalise the (rare) non-ASCII addresses in Python; return SQL join pieces."""
        raw = self.mem.sql(
            f"SELECT DISTINCT address FROM ({parsed_sql}) "
            "WHERE reason IS NULL AND strlen(address) <> length(address)",
            params=params,
        ).to_arrow_table()
        if raw.num_rows == 0:
            return "", "NULL"
        values = raw.column(0).to_pylist()
        fixes = pa.table(
            {
                "raw": pa.array(values, pa.string()),
                "norm": pa.array([self.normalizer.try_normalize(v) for v in values], pa.string()),
            }
        )
        self.mem.register("fix", fixes)
        return "LEFT JOIN fix f ON p.address = f.raw", "f.norm"

    def _add_passwords(self, counts: pa.Table) -> None:
        self.passwords.append(counts)
        self.password_rows += counts.num_rows
        if self.password_rows > _MERGE_PASSWORDS_AT and len(self.passwords) > 1:
            self.passwords = [self._merged_passwords()]
            self.password_rows = self.passwords[0].num_rows

    def _merged_passwords(self) -> pa.Table:
        if len(self.passwords) == 1:
            return self.passwords[0]
        parts = pa.concat_tables(self.passwords)
        self.mem.register("pw_parts", parts)
        try:
            return self.mem.sql(
                "SELECT password, sum(c)::BIGINT AS c FROM pw_parts GROUP BY password"
            ).to_arrow_table()
        finally:
            self.mem.unregister("pw_parts")

    # -- end of file ---------------------------------------------------------------------
    def _finish(
        self, source_id: int, digest: str, choice: FormatChoice, encoding: str, vault_name: str
    ) -> SourceStats:
        conn = self.index.connection
        mem = self.mem
        passwords = self._merged_passwords()
        self.passwords = []
        mem.register("pw", passwords)
        hashed = mem.sql(
            "SELECT unhex(sha1(password)) AS sha1, password, c FROM pw"
        ).to_arrow_table()
        mem.unregister("pw")
        del passwords
        counts = pa.table(
            {
                "sha1": hashed["sha1"],
                "ntlm": ntlm_hashes(hashed["password"]),
                "count": hashed["c"],
            }
        )
        del hashed
        conn.register("counts", counts)
        conn.execute(
            "INSERT INTO password_counts SELECT sha1, ntlm, count, ? FROM counts", [source_id]
        )
        conn.unregister("counts")
        now = datetime.now(UTC).replace(tzinfo=None)
        conn.execute(
            # pair_key determines email_key (it is derived from it): group on it alone.
            "INSERT INTO exposures SELECT any_value(email_key), any_value(domain), pair_key, "
            "?, ? FROM ingest_stage GROUP BY pair_key",
            [source_id, now],
        )
        conn.execute("DROP TABLE ingest_stage")
        row = conn.execute(
            "SELECT count(DISTINCT email_key), count(*) FROM exposures WHERE source_id = ?",
            [source_id],
        ).fetchall()[0]
        distinct_emails, distinct_pairs = int(row[0]), int(row[1])
        tally = self.tally
        rejected = dict(sorted(tally.rejected.items()))
        stats = SourceStats(
            name=self.opts.source or self.path.name,
            path=str(self.path),
            file_digest=digest,
            format=choice.format.value,
            encoding=encoding,
            ingested_at=now,
            lines=tally.lines,
            accepted=tally.accepted,
            rejected=sum(rejected.values()),
            rejected_by_reason=rejected,
            rejected_line_sample={k: tally.sample[k] for k in rejected},
            distinct_emails=distinct_emails,
            distinct_pairs=distinct_pairs,
            distinct_passwords=counts.num_rows,
        )
        conn.execute(
            "INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                source_id,
                stats.name,
                digest,
                stats.path,
                stats.format,
                stats.encoding,
                now,
                stats.lines,
                stats.accepted,
                stats.rejected,
                json.dumps(stats.rejected_by_reason),
                json.dumps(stats.rejected_line_sample),
                stats.distinct_emails,
                stats.distinct_pairs,
                stats.distinct_passwords,
                vault_name,
            ],
        )
        return stats


def _reasons(rejected: Counter[str]) -> str:
    if not rejected:
        return "no lines"
    return ", ".join(f"{k}: {v}" for k, v in sorted(rejected.items()))
