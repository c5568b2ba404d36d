"""The ingest pipeline: leak files in, keyed hashes, password counts and sealed vault out.

Per file, in one transaction of the exposure index:

1. the reader yields blocks of lines as Arrow arrays (read ahead in a thread);
2. plain ``address:password`` lines are split and validated in polars, all others
   (every case, every format) by an **in-memory** DuckDB connection with spilling to
   disk disabled; rows are keyed in polars (:mod:`credwatch.index.keying`):
   plaintext exists only in this process's memory, never in the file database, its
   WAL or a temp directory;
3. one streaming ``INSERT`` puts only ``(email_key, domain, pair_key)`` into the
   file database and ``(email_key, password)`` is sealed into the vault, while the next
   blocks are read and keyed in background threads; distinct passwords are counted in
   memory and hashed (SHA-1, NTLM) once at the end, stored without any link to an
   address; pairs repeated across blocks are removed before the commit.

A file whose content digest was already ingested is skipped.  A file that yields no
valid line, or fails half-way (truncated archive, interrupt), leaves the index and the
vault as they were.
"""

from __future__ import annotations

import glob
import json
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

import duckdb
import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from credwatch.errors import ConfigError, InputError, UsageError
from credwatch.index.exposure import ExposureIndex, SourceStats
from credwatch.index.keying import (
    KEY_COLUMNS,
    PLAINTEXT_ENGINE,
    fast_split,
    fixed_binary,
    hex_words,
    key_rows,
    sha1_hex,
)
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
#: Bytes read per block: smaller blocks mean less fresh memory to fault in per block
#: (8 MB cost ~25 % more system time), larger ones spread fixed costs over more lines.
_BLOCK_BYTES = 4 * 1024 * 1024
#: Rows whose key words (32 bytes each) are kept in memory to find repeated pairs.
_KEYS_IN_MEMORY = 24_000_000
_SHA1_LENGTH = 20
_HEADER = "header"
_T = TypeVar("_T")
_U = TypeVar("_U")
#: Threads splitting and keying blocks (polars releases the GIL).
_KEY_WORKERS = 2
_EXPOSURE_BATCH = pa.schema(
    [("email_key", pa.binary(16)), ("domain", pa.large_string()), ("pair_key", pa.binary(16))]
)
# Keeps the first row of each pair written more than once in this source.
_DELETE_REPEATS = """DELETE FROM exposures WHERE rowid IN (
    SELECT rowid FROM (
        SELECT rowid, row_number() OVER (PARTITION BY pair_key) AS k FROM exposures
        WHERE source_id = $source {restrict}
    ) WHERE k > 1)"""
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
    # Eager polars operations on plaintext run on the in-memory engine too.
    with (
        pl.Config(engine_affinity=PLAINTEXT_ENGINE),
        ExposureIndex.open(ws, read_only=False) as index,
    ):
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


def _prefetch(chunks: Iterator[_T]) -> Iterator[_T]:
    """Produce the next item in a thread while this one is processed."""
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


def _ordered_map(
    work: Callable[[_T], _U], items: Iterator[_T], workers: int = _KEY_WORKERS
) -> Iterator[_U]:
    """``map(work, items)`` on ``workers`` threads, in order, a few items ahead."""
    pool = ThreadPoolExecutor(workers, thread_name_prefix="credwatch-key")
    pending: deque[Future[_U]] = deque()
    try:
        for item in items:
            pending.append(pool.submit(work, item))
            if len(pending) > workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


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

    def add(self, block: _Tally) -> None:
        """Add the tally of the next block (blocks in file order keep the same sample)."""
        self.lines += block.lines
        self.accepted += block.accepted
        for reason, count in block.rejected.items():
            self.reject(reason, count, block.sample[reason])


@dataclass(frozen=True, slots=True)
class _Keyed:
    """One block, split and keyed: what the file-level steps need from it."""

    tally: _Tally
    rows: pl.DataFrame  # distinct pairs: key words, domain, password
    counts: pl.DataFrame  # password, c (lines)


class _BlockFeed:
    """Keyed blocks as Arrow batches for one ``INSERT`` statement, sealing as they pass.

    DuckDB pulls the batches (one streaming statement keeps its memory flat, where one
    statement per block would grow it by ~50 bytes a row until the commit) while the
    next block is read and keyed in background threads.  What went wrong on the way
    (a corrupt file, an interrupt) is kept and re-raised by :meth:`reraise` after
    DuckDB has stopped, since DuckDB would only report that the stream failed.
    """

    def __init__(
        self,
        blocks: Iterator[_Keyed],
        vault: VaultWriter,
        absorb: Callable[[_Keyed], None],
    ) -> None:
        self._blocks = blocks
        self._vault = vault
        self._absorb = absorb
        self._error: BaseException | None = None

    def reader(self) -> pa.RecordBatchReader:
        """The stream for DuckDB to scan."""
        return pa.RecordBatchReader.from_batches(_EXPOSURE_BATCH, self._batches())

    def reraise(self) -> None:
        """Raise what stopped the stream, if anything did."""
        if self._error is not None:
            raise self._error

    def _batches(self) -> Iterator[pa.RecordBatch]:
        try:
            for block in self._blocks:
                self._absorb(block)
                if block.rows.height:
                    yield self._seal(block.rows)
        except BaseException as exc:  # noqa: BLE001 - kept and re-raised by reraise()
            self._error = exc
            raise _StreamStoppedError from None

    def _seal(self, block: pl.DataFrame) -> pa.RecordBatch:
        email_key = fixed_binary([block["ehi"].to_numpy(), block["elo"].to_numpy()])
        pair_key = fixed_binary([block["phi"].to_numpy(), block["plo"].to_numpy()])
        self._vault.seal(
            pa.table({"email_key": email_key, "password": block["password"].to_arrow()})
        )
        domain = block["domain"].to_arrow().cast(pa.large_string())
        return pa.record_batch([email_key, domain, pair_key], schema=_EXPOSURE_BATCH)


class _StreamStoppedError(Exception):
    """Ends the Arrow stream DuckDB is reading; the cause is in ``_BlockFeed``."""


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
        self.cursors = threading.local()
        self.passwords: list[pl.DataFrame] = []
        self.password_rows = 0
        self.merged_passwords = False  # passwords[0] holds merged counts
        # Key words of every written row, to find pairs repeated across blocks; None
        # once the file is too large to keep them (DuckDB then finds them).
        self.keys: list[pl.DataFrame] | None = []
        self.key_rows = 0

    def run(self) -> FileOutcome:
        source = FileReader(encoding=self.opts.encoding, block_bytes=_BLOCK_BYTES).open(self.path)
        digest = file_digest(self.path)
        if self.index.has_digest(digest):
            return FileOutcome(self.path, "skipped", error="already ingested (same content)")
        choice = detect_format(source.sample(), self.opts.format)
        conn = self.index.connection
        row = conn.execute("SELECT coalesce(max(source_id), 0) + 1 FROM sources").fetchall()
        source_id = int(row[0][0])
        vault_name = f"{source_id:06d}-{digest[:16]}.cwv"
        try:
            vault = VaultWriter(self.index.workspace.vault_dir / vault_name, self.public_key)
        except OSError as exc:
            raise ConfigError(f"cannot write the vault file: {exc.strerror}") from None
        now = datetime.now(UTC).replace(tzinfo=None)
        conn.execute("BEGIN TRANSACTION")
        published = False
        try:
            self._insert_exposures(source.chunks(), choice, vault, source_id, now)
            self._require_accepted()
            stats = self._finish(source_id, digest, choice, source.encoding, vault_name, now)
            vault.commit()
            published = True
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            _unregister(conn, "cw_blocks")
            if published:
                vault.path.unlink(missing_ok=True)
            else:
                vault.abort()
            raise
        return FileOutcome(self.path, "ingested", source=stats)

    def _insert_exposures(
        self,
        chunks: Iterator[LineChunk],
        choice: FormatChoice,
        vault: VaultWriter,
        source_id: int,
        now: datetime,
    ) -> None:
        """Read, key, seal and insert every block in one streaming statement.

        Three stages overlap: the reader thread decompresses and splits the next
        block, two keying threads split and key the blocks after it (polars, without
        the GIL), DuckDB inserts this one.  Pairs repeated across blocks are removed
        later (:meth:`_drop_repeated_pairs`); a rollback drops everything.
        """
        keyed = _ordered_map(lambda chunk: self._chunk(chunk, choice), _prefetch(chunks))
        feed = _BlockFeed(keyed, vault, self._absorb)
        conn = self.index.connection
        conn.register("cw_blocks", feed.reader())
        try:
            conn.execute(
                "INSERT INTO exposures SELECT email_key, domain, pair_key, ?, ? FROM cw_blocks",
                [source_id, now],
            )
        except BaseException:
            feed.reraise()
            raise
        conn.unregister("cw_blocks")  # after a failure: after the rollback (run)
        feed.reraise()

    def _absorb(self, block: _Keyed) -> None:
        """Take in the next keyed block, in file order (in DuckDB's scanning thread)."""
        self.tally.add(block.tally)
        self._add_passwords(block.counts)
        self._remember_keys(block.rows.select(KEY_COLUMNS))
        if self.on_progress is not None:
            self.on_progress(self.path, self.tally.lines)

    def _require_accepted(self) -> None:
        if self.tally.accepted == 0:
            raise InputError(
                f"{self.path}: no valid email/password line "
                f"({self.tally.lines} lines; {_reasons(self.tally.rejected)})",
                hint="check --format, --encoding and --default-domain",
            )

    # -- one block ---------------------------------------------------------------------
    def _chunk(self, chunk: LineChunk, choice: FormatChoice) -> _Keyed:
        """Split, validate and key one block (in a keying thread)."""
        tally = _Tally(lines=len(chunk))
        for reason, numbers in chunk.pre_rejected.items():
            tally.reject(reason, len(numbers), numbers)
        rows = self._split(chunk, choice, tally)
        tally.accepted = rows.height
        counts = rows["password"].value_counts(name="c")
        keyed = key_rows(rows, self.keyer)
        if _repeated(keyed, "phi", "plo").height:
            keyed = keyed.unique(subset=["phi", "plo"], keep="any")
        return _Keyed(tally, keyed, counts)

    def _split(self, chunk: LineChunk, choice: FormatChoice, tally: _Tally) -> pl.DataFrame:
        """Accepted ``(norm, password)`` rows of one block; rejections go to ``tally``."""
        separator = choice.format.separator
        if separator is None or self.normalizer.domain_rules:
            return self._general(
                chunk.lines, np.arange(len(chunk)), chunk.first_line, choice, tally
            )
        # Plain lines in one polars pass; the rest through the general path.
        fast = fast_split(pl.Series("line", chunk.lines), separator)
        if len(fast.rest) == 0:
            return fast.rows
        others = self._general(
            chunk.lines.take(pa.array(fast.rest)), fast.rest, chunk.first_line, choice, tally
        )
        return pl.concat([fast.rows, others])

    def _general(
        self,
        lines: pa.Array,
        positions: npt.NDArray[np.int64],
        first_line: int,
        choice: FormatChoice,
        tally: _Tally,
    ) -> pl.DataFrame:
        """Split and normalise lines in DuckDB (every format, every case).

        ``positions`` are the lines' offsets in the block (for their line numbers).
        Each keying thread has its own cursor on the in-memory database.
        """
        mem = self._cursor()
        numbers = pa.array(positions.astype(np.int64) + first_line, pa.int64())
        params: dict[str, Any] = {"dom": self.default_domain}
        if choice.format in (LeakFormat.CSV, LeakFormat.TSV):
            assert choice.csv is not None
            split = split_csv(lines, first_line, choice.csv)
            headers = split.filter(pc.equal(split["reason"], _HEADER)).num_rows
            tally.lines -= headers
            mem.register("cw_in", split)
            subset: str | None = "cw_in"

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

            block = pa.table({"n": numbers, "line": lines.cast(pa.string())})
            mem.register("cw_in", block)
            # Only lines with non-ASCII text can hold an address the SQL twin cannot
            # normalise; they are few, so split them separately first.
            non_ascii = pc.fill_null(pc.invert(pc.string_is_ascii(block["line"])), False)
            subset = None
            if pc.any(non_ascii).as_py():
                mem.register("cw_na", block.filter(non_ascii))
                subset = "cw_na"

        def parsed_sql(table: str) -> str:
            return f"""SELECT n, reason, password,
                CASE WHEN reason IS NULL AND $dom IS NOT NULL AND strpos(address, '@') = 0
                     THEN trim(address) || '@' || $dom ELSE address END AS address
            FROM ({split_sql(table)})"""

        fix_join, fix_value = (
            self._non_ascii_fixes(mem, parsed_sql(subset), params) if subset else ("", "NULL")
        )
        norm_sql = self.normalizer.sql("p.address")
        mem.execute(
            f"""CREATE OR REPLACE TEMP TABLE cw_parsed AS
            WITH p AS ({parsed_sql("cw_in")}), a AS (
                SELECT p.n, p.password, p.reason,
                    CASE WHEN p.reason IS NOT NULL THEN NULL
                         WHEN strlen(p.address) = length(p.address) THEN {norm_sql}
                         ELSE {fix_value} END AS norm
                FROM p {fix_join}
            )
            SELECT n, password, norm,
                coalesce(reason,
                    CASE WHEN norm IS NULL THEN '{RejectReason.INVALID_ADDRESS.value}'
                         WHEN password IS NULL OR password = ''
                         THEN '{RejectReason.EMPTY_PASSWORD.value}' END) AS reason
            FROM a""",
            params,
        )
        try:
            for reason, count, sample in mem.execute(
                "SELECT reason, count(*), "
                f"list_slice(list(n ORDER BY n), 1, {SAMPLE_PER_REASON}) "
                "FROM cw_parsed WHERE reason IS NOT NULL GROUP BY reason"
            ).fetchall():
                tally.reject(str(reason), int(count), [int(x) for x in sample])
            accepted = mem.sql(
                "SELECT norm, password FROM cw_parsed WHERE reason IS NULL"
            ).to_arrow_table()
        finally:
            _unregister(mem, "cw_in", "cw_na", "cw_fix")
            mem.execute("DROP TABLE IF EXISTS cw_parsed")
        frame = pl.from_arrow(accepted)
        assert isinstance(frame, pl.DataFrame)
        return frame.cast({"norm": pl.String, "password": pl.String})

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor on the in-memory (plaintext) database."""
        cursor: duckdb.DuckDBPyConnection | None = getattr(self.cursors, "mem", None)
        if cursor is None:
            cursor = self.mem.cursor()
            self.cursors.mem = cursor
        return cursor

    def _non_ascii_fixes(
        self, mem: duckdb.DuckDBPyConnection, parsed_sql: str, params: dict[str, Any]
    ) -> tuple[str, str]:
        """Normalise the (rare) non-ASCII addresses in Python; return SQL join pieces."""
        raw = mem.sql(
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
        mem.register("cw_fix", fixes)
        return "LEFT JOIN cw_fix f ON p.address = f.raw", "f.norm"

    def _add_passwords(self, counts: pl.DataFrame) -> None:
        # Merge once the unmerged counts outgrow both the floor and twice the merged
        # ones: memory stays within a few times the distinct passwords, and each
        # row is re-grouped a bounded number of times (not once per merge).
        self.passwords.append(counts)
        self.password_rows += counts.height
        merged = self.passwords[0].height if self.merged_passwords else 0
        if self.password_rows - merged > max(_MERGE_PASSWORDS_AT, 2 * merged):
            self.passwords = [self._merged_passwords()]
            self.password_rows = self.passwords[0].height
            self.merged_passwords = True

    def _merged_passwords(self) -> pl.DataFrame:
        if len(self.passwords) == 1:
            return self.passwords[0]
        return pl.concat(self.passwords).group_by("password").agg(pl.col("c").sum())

    def _remember_keys(self, keys: pl.DataFrame) -> None:
        if self.keys is None:
            return
        self.key_rows += keys.height
        if self.key_rows > _KEYS_IN_MEMORY:
            self.keys = None
        else:
            self.keys.append(keys)

    # -- end of file ---------------------------------------------------------------------
    def _finish(
        self,
        source_id: int,
        digest: str,
        choice: FormatChoice,
        encoding: str,
        vault_name: str,
        now: datetime,
    ) -> SourceStats:
        conn = self.index.connection
        passwords = self._merged_passwords()
        self.passwords = []
        sha1_words = passwords.select(hex_words(sha1_hex(pl.col("password")), _SHA1_LENGTH))
        counts = pa.table(
            {
                "sha1": fixed_binary(
                    [sha1_words[c].to_numpy() for c in sha1_words.columns], _SHA1_LENGTH
                ),
                "ntlm": ntlm_hashes(passwords["password"].to_arrow()),
                "count": passwords["c"].cast(pl.Int64).to_arrow(),
            }
        )
        del passwords, sha1_words
        conn.register("cw_counts", counts)
        try:
            conn.execute(
                "INSERT INTO password_counts SELECT sha1, ntlm, count, ? FROM cw_counts",
                [source_id],
            )
        finally:
            conn.unregister("cw_counts")
        distinct_emails, distinct_pairs = self._drop_repeated_pairs(source_id)
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

    def _drop_repeated_pairs(self, source_id: int) -> tuple[int, int]:
        """Delete rows of pairs written by more than one block; count emails and pairs.

        Uses the key words kept in memory when there are any; otherwise DuckDB finds
        the repeats over the whole source (it may spill hashes, never plaintext).
        """
        conn = self.index.connection
        if self.keys is None:
            conn.execute(_DELETE_REPEATS.format(restrict=""), {"source": source_id})
            row = conn.execute(
                "SELECT count(DISTINCT email_key), count(*) FROM exposures WHERE source_id = ?",
                [source_id],
            ).fetchall()[0]
            return int(row[0]), int(row[1])
        keys = pl.concat(self.keys)
        self.keys = []
        repeated = _repeated(keys, "phi", "plo")
        if repeated.height:
            pair_keys = fixed_binary([repeated["phi"].to_numpy(), repeated["plo"].to_numpy()])
            conn.register("cw_repeats", pa.table({"pair_key": pair_keys}))
            try:
                conn.execute(
                    _DELETE_REPEATS.format(
                        restrict="AND pair_key IN (SELECT pair_key FROM cw_repeats)"
                    ),
                    {"source": source_id},
                )
            finally:
                conn.unregister("cw_repeats")
        distinct_pairs = keys.height - _surplus(keys, repeated, "phi", "plo")
        emails = _repeated(keys, "ehi", "elo")
        return keys.height - _surplus(keys, emails, "ehi", "elo"), distinct_pairs


def _repeated(keys: pl.DataFrame, hi: str, lo: str) -> pl.DataFrame:
    """The distinct 128-bit keys ``(hi, lo)`` that occur more than once.

    Keys are random, so repeats of the high word alone are nearly always repeats of
    the key; one hash pass over the high words settles the common case (none).
    """
    if keys[hi].n_unique() == keys.height:
        return keys.select(hi, lo).clear()
    candidates = keys.filter(pl.col(hi).is_duplicated())
    return candidates.filter(pl.struct(hi, lo).is_duplicated()).select(hi, lo).unique()


def _surplus(keys: pl.DataFrame, repeated: pl.DataFrame, hi: str, lo: str) -> int:
    """How many rows of ``keys`` repeat a key of ``repeated`` already counted."""
    if repeated.height == 0:
        return 0
    rows = keys.join(repeated, on=[hi, lo], how="semi").height
    return rows - repeated.height


def _unregister(conn: duckdb.DuckDBPyConnection, *names: str) -> None:
    """Drop the connection's references to registered Arrow data, where there are any."""
    registered = {
        str(r[0]) for r in conn.execute("SELECT view_name FROM duckdb_views()").fetchall()
    }
    for name in names:
        if name in registered:
            conn.unregister(name)


def _reasons(rejected: Counter[str]) -> str:
    if not rejected:
        return "no lines"
    return ", ".join(f"{k}: {v}" for k, v in sorted(rejected.items()))
