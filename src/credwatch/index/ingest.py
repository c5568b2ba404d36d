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
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import duckdb
import numpy as np
import polars as pl
import pyarrow as pa

from credwatch.errors import ConfigError, InputError, UsageError
from credwatch.index.blocks import (
    BlockFeed,
    KeyedBlock,
    Tally,
    ordered_map,
    prefetch,
)
from credwatch.index.exposure import ExposureIndex, SourceStats
from credwatch.index.general import GeneralSplitter, unregister
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
    detect_format,
)
from credwatch.leaks.interface import LeakFormat, LineChunk
from credwatch.leaks.reader import FileReader, file_digest
from credwatch.normalize import InvalidAddressError, Normalizer
from credwatch.workspace import Workspace

__all__ = ["FileOutcome", "IngestOptions", "IngestReport", "expand_paths", "ingest_files"]

_MERGE_PASSWORDS_AT = 2_000_000
#: Bytes read per block: smaller blocks mean less fresh memory to fault in per block
#: (8 MB cost ~25 % more system time), larger ones spread fixed costs over more lines.
_BLOCK_BYTES = 4 * 1024 * 1024
#: Rows whose key words (32 bytes each) are kept in memory to find repeated pairs.
_KEYS_IN_MEMORY = 24_000_000
_SHA1_LENGTH = 20
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
        self.tally = Tally()
        self.general = GeneralSplitter(mem, normalizer, default_domain)
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
            unregister(conn, "cw_blocks")
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
        keyed = ordered_map(lambda chunk: self._chunk(chunk, choice), prefetch(chunks))
        feed = BlockFeed(keyed, vault, self._absorb)
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

    def _absorb(self, block: KeyedBlock) -> None:
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
    def _chunk(self, chunk: LineChunk, choice: FormatChoice) -> KeyedBlock:
        """Split, validate and key one block (in a keying thread)."""
        tally = Tally(lines=len(chunk))
        for reason, numbers in chunk.pre_rejected.items():
            tally.reject(reason, len(numbers), numbers)
        rows = self._split(chunk, choice, tally)
        tally.accepted = rows.height
        counts = rows["password"].value_counts(name="c")
        keyed = key_rows(rows, self.keyer)
        if _repeated(keyed, "phi", "plo").height:
            keyed = keyed.unique(subset=["phi", "plo"], keep="any")
        return KeyedBlock(tally, keyed, counts)

    def _split(self, chunk: LineChunk, choice: FormatChoice, tally: Tally) -> pl.DataFrame:
        """Accepted ``(norm, password)`` rows of one block; rejections go to ``tally``."""
        separator = choice.format.separator
        if separator is None or self.normalizer.domain_rules:
            return self.general.split(
                chunk.lines, np.arange(len(chunk)), chunk.first_line, choice, tally
            )
        # Plain lines in one polars pass; the rest through the general path.
        fast = fast_split(pl.Series("line", chunk.lines), separator)
        if len(fast.rest) == 0:
            return fast.rows
        others = self.general.split(
            chunk.lines.take(pa.array(fast.rest)), fast.rest, chunk.first_line, choice, tally
        )
        return pl.concat([fast.rows, others])

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


def _reasons(rejected: Counter[str]) -> str:
    if not rejected:
        return "no lines"
    return ", ".join(f"{k}: {v}" for k, v in sorted(rejected.items()))
