"""Block plumbing of the ingest: threads that work ahead, tallies, the insert stream.

* :func:`prefetch` and :func:`ordered_map` keep the reader and the keying threads a
  block or two ahead of DuckDB;
* a :class:`Tally` counts one block's lines and rejections; added in file order, the
  tallies give the file's counts and rejected-line samples;
* :class:`BlockFeed` turns keyed blocks into the Arrow stream one ``INSERT`` reads,
  sealing each block's passwords into the vault on the way.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

import polars as pl
import pyarrow as pa

from credwatch.index.keying import fixed_binary
from credwatch.index.seal import VaultWriter

__all__ = [
    "EXPOSURE_BATCH",
    "KEY_WORKERS",
    "SAMPLE_PER_REASON",
    "BlockFeed",
    "KeyedBlock",
    "Tally",
    "ordered_map",
    "prefetch",
]

_T = TypeVar("_T")
_U = TypeVar("_U")
#: Rejected line numbers kept per reason (numbers only, never content).
SAMPLE_PER_REASON = 10
#: Threads splitting and keying blocks (polars releases the GIL).
KEY_WORKERS = 2
#: The rows of ``exposures`` one block contributes (before source and time).
EXPOSURE_BATCH = pa.schema(
    [("email_key", pa.binary(16)), ("domain", pa.large_string()), ("pair_key", pa.binary(16))]
)


def prefetch(chunks: Iterator[_T]) -> Iterator[_T]:
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


def ordered_map(
    work: Callable[[_T], _U], items: Iterator[_T], workers: int = KEY_WORKERS
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
class Tally:
    """Lines, accepted lines and rejections by reason (with sample line numbers)."""

    lines: int = 0
    accepted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    sample: dict[str, list[int]] = field(default_factory=dict)

    def reject(self, reason: str, count: int, lines: list[int]) -> None:
        """Count ``count`` rejections; keep the first line numbers as the sample."""
        self.rejected[reason] += count
        kept = self.sample.setdefault(reason, [])
        if len(kept) < SAMPLE_PER_REASON:
            kept.extend(sorted(lines)[: SAMPLE_PER_REASON - len(kept)])

    def add(self, block: Tally) -> None:
        """Add the tally of the next block (blocks in file order keep the same sample)."""
        self.lines += block.lines
        self.accepted += block.accepted
        for reason, count in block.rejected.items():
            self.reject(reason, count, block.sample[reason])


@dataclass(frozen=True, slots=True)
class KeyedBlock:
    """One block, split and keyed: what the file-level steps need from it."""

    tally: Tally
    rows: pl.DataFrame  # distinct pairs: key words, domain, password
    counts: pl.DataFrame  # password, c (lines)


class BlockFeed:
    """Keyed blocks as Arrow batches for one ``INSERT`` statement, sealing as they pass.

    DuckDB pulls the batches (one streaming statement keeps its memory flat, where one
    statement per block would grow it by ~50 bytes a row until the commit) while the
    next block is read and keyed in background threads.  What went wrong on the way
    (a corrupt file, an interrupt) is kept and re-raised by :meth:`reraise` after
    DuckDB has stopped, since DuckDB would only report that the stream failed.
    """

    def __init__(
        self,
        blocks: Iterator[KeyedBlock],
        vault: VaultWriter,
        absorb: Callable[[KeyedBlock], None],
    ) -> None:
        self._blocks = blocks
        self._vault = vault
        self._absorb = absorb
        self._error: BaseException | None = None

    def reader(self) -> pa.RecordBatchReader:
        """The stream for DuckDB to scan."""
        return pa.RecordBatchReader.from_batches(EXPOSURE_BATCH, self._batches())

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
        return pa.record_batch([email_key, domain, pair_key], schema=EXPOSURE_BATCH)


class _StreamStoppedError(Exception):
    """Ends the Arrow stream DuckDB is reading; the cause is in ``BlockFeed``."""
