"""Vectorised parsing of Pwned Passwords files (the HIBP downloader's format).

Two shapes exist, both one hash per line with a count:

* a whole file: ``HASH:COUNT`` lines, the full 40 (SHA-1) or 32 (NTLM) hex characters;
* per-prefix files named by the 5-hex prefix (``21BD1.txt``): ``SUFFIX:COUNT`` lines with
  the remaining 35 (SHA-1) or 27 (NTLM) characters, as the range API serves them.

Lines end in CRLF or LF, the last one possibly without.  Parsing works on large byte
chunks with NumPy (no Python call per line), so that 100 M lines stay within minutes.
Every line that is not a valid record is counted by reason, never silently dropped,
and never echoed (an import file could hold anything).

Example:
    >>> batch = parse_chunk(b"5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:3\\r\\n", 20, None)
    >>> batch.hashes.shape, int(batch.counts[0]), dict(batch.rejected)
    ((1, 20), 3, {})
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterator
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "CHUNK_BYTES",
    "MAX_LINE_BYTES",
    "PARSE_AHEAD",
    "REJECT_REASONS",
    "ParsedBatch",
    "parse_chunk",
    "prefix_of_filename",
    "read_batches",
]

#: Bytes read per step; a whole number of lines is parsed from each.
CHUNK_BYTES = 16 * 1024 * 1024
#: Chunks parsed ahead of the one being consumed when parsing in threads.
PARSE_AHEAD = 2
#: A line longer than this cannot be a record; it is skipped and counted as ``overlong``.
MAX_LINE_BYTES = 4096
#: Counts are stored as uint32; a larger count is refused (``bad_count``).
MAX_COUNT = 2**32 - 1
_COUNT_DIGITS = 10
_PAD = _COUNT_DIGITS
_PAD_TAIL = 64
_COUNT_POSITION = np.arange(_COUNT_DIGITS)
_POWERS = 10 ** np.arange(_COUNT_DIGITS - 1, -1, -1, dtype=np.int64)

#: Every reason a line can be rejected for.
REJECT_REASONS = (
    "no_separator",  # no ':' where the count should start
    "bad_hash_length",  # the part before ':' is not 40/35 (SHA-1) or 32/27 (NTLM) characters
    "non_hex",  # the hash holds a character other than 0-9, A-F, a-f
    "bad_count",  # missing, non-decimal or larger than 2^32-1
    "zero_count",  # count 0: padding rows from a padded response, not breached hashes
    "overlong",  # a line longer than MAX_LINE_BYTES
)


def _pair_table() -> npt.NDArray[np.uint16]:
    """Two ASCII characters (the first in the low byte) -> their hex byte, 0xFFFF if not hex."""
    table = np.full(1 << 16, 0xFFFF, dtype=np.uint16)
    for first in b"0123456789abcdefABCDEF":
        for second in b"0123456789abcdefABCDEF":
            table[first | second << 8] = int(bytes((first, second)), 16)
    return table


_PAIR = _pair_table()


@dataclass(frozen=True, slots=True)
class ParsedBatch:
    """The valid records of one chunk and the rejected lines' reasons.

    Attributes:
        hashes: ``(n, width)`` uint8 array, the binary hashes.
        counts: ``(n,)`` uint32 array.
        lines: lines looked at (blank lines included).
        blank: blank lines (ignored, counted apart from rejections).
        rejected: reason -> number of lines.
    """

    hashes: npt.NDArray[np.uint8]
    counts: npt.NDArray[np.uint32]
    lines: int
    blank: int = 0
    rejected: Counter[str] = field(default_factory=Counter)


def prefix_of_filename(path: Path) -> str | None:
    """The 5-hex prefix a per-prefix file is named by (``21BD1.txt`` -> ``21BD1``), else None."""
    stem = path.name.split(".", 1)[0]
    if len(stem) == 5 and all(c in "0123456789abcdefABCDEF" for c in stem):
        return stem.upper()
    return None


def parse_chunk(data: bytes, width: int, prefix: str | None) -> ParsedBatch:
    """Parse whole lines of ``data`` into binary hashes and counts.

    Args:
        data: complete lines (the last one may lack its line ending).
        width: hash size in bytes, 20 for SHA-1, 16 for NTLM.
        prefix: the 5-hex prefix for per-prefix files (lines hold suffixes), else None.

    Returns:
        The valid records, in input order, and counts of rejected lines by reason.
    """
    if not data:
        return _empty(width, 0)
    # _PAD zero bytes in front let every count be read as the _COUNT_DIGITS bytes that
    # end where its line ends, a fixed-size window, even on the first line; as many
    # behind let a hash-sized window start anywhere.
    end = _PAD + len(data)
    buf = np.zeros(end + 1 + _PAD_TAIL, dtype=np.uint8)
    buf[_PAD:end] = np.frombuffer(data, dtype=np.uint8)
    if not data.endswith(b"\n"):
        buf[end] = 10
    ends = np.flatnonzero(buf == 10)
    starts = np.empty_like(ends)
    starts[0] = _PAD
    starts[1:] = ends[:-1] + 1
    # Drop a CR before the LF.
    has_cr = (ends > starts) & (buf[np.maximum(ends - 1, 0)] == 13)
    ends = ends - has_cr
    length = ends - starts
    total = int(length.size)
    rejected: Counter[str] = Counter()

    blank = length == 0
    n_blank = int(blank.sum())
    keep = ~blank

    hex_chars = 2 * width - (5 if prefix is not None else 0)
    overlong = keep & (length > MAX_LINE_BYTES)
    _count(rejected, "overlong", overlong)
    keep &= ~overlong

    # Where is the separator?  A well-formed line has it right after the hash.
    sep_at = starts + hex_chars
    sep_ok = keep & (length > hex_chars) & (buf[np.minimum(sep_at, buf.size - 1)] == 58)
    bad = keep & ~sep_ok
    if bad.any():
        # Tell "no ':' at all" from "':' elsewhere" (a hash of the wrong length).
        colon_pos = np.cumsum(buf == 58)
        colons = colon_pos[np.maximum(ends - 1, 0)] - colon_pos[starts - 1]
        colons = np.where(length > 0, colons, 0)
        no_sep = bad & (colons == 0)
        _count(rejected, "no_separator", no_sep)
        _count(rejected, "bad_hash_length", bad & ~no_sep)
    keep &= sep_ok

    rows = np.flatnonzero(keep)
    s = starts[rows]
    e = ends[rows]
    # Whole rows are copied out of fixed-size windows (a row gather, not a per-byte
    # one) and decoded two hex characters at a time through a 64 Ki-entry table.
    if prefix is None:
        text = sliding_window_view(buf, hex_chars)[s]
    else:
        # A suffix has an odd length: start one byte early, put the prefix's last
        # character there, and the pairs fall on byte boundaries again.
        text = sliding_window_view(buf, hex_chars + 1)[s - 1]
        text[:, 0] = ord(prefix[-1])
    pairs = np.take(_PAIR, text.view("<u2"))
    non_hex = _rows_over(pairs, 255)
    # The count: the _COUNT_DIGITS bytes before the line end, right-aligned.
    clen = e - (s + hex_chars + 1)
    digits = sliding_window_view(buf, _COUNT_DIGITS)[e - _COUNT_DIGITS] - np.uint8(48)
    digits *= _COUNT_POSITION[None, :] >= (_COUNT_DIGITS - clen)[:, None]
    bad_digit = _rows_over(digits, 9)
    value = digits.astype(np.int64) @ _POWERS
    bad_count = (clen < 1) | (clen > _COUNT_DIGITS) | bad_digit | (value > MAX_COUNT)
    _count(rejected, "non_hex", non_hex)
    bad_count &= ~non_hex
    _count(rejected, "bad_count", bad_count)
    zero = ~non_hex & ~bad_count & (value == 0)
    _count(rejected, "zero_count", zero)
    good = ~(non_hex | bad_count | zero)

    hashes = pairs[good].astype(np.uint8)
    if prefix is not None:
        head = np.frombuffer(bytes.fromhex(prefix[:4]), dtype=np.uint8)
        hashes = np.concatenate([np.broadcast_to(head, (hashes.shape[0], 2)), hashes], axis=1)
    counts = value[good].astype(np.uint32)
    return ParsedBatch(
        hashes=np.ascontiguousarray(hashes),
        counts=counts,
        lines=total,
        blank=n_blank,
        rejected=rejected,
    )


def read_batches(
    stream: BinaryIO,
    width: int,
    prefix: str | None,
    chunk_bytes: int = CHUNK_BYTES,
    executor: Executor | None = None,
) -> Iterator[ParsedBatch]:
    """Parse a stream chunk by chunk, each chunk cut at a line boundary.

    A line longer than :data:`MAX_LINE_BYTES` that spans chunks is skipped up to its
    end and counted once as ``overlong``; memory stays bounded by ``chunk_bytes``.
    With an ``executor``, chunks are parsed in its threads while the next ones are
    read (NumPy releases the GIL), :data:`PARSE_AHEAD` + 1 in flight, results in order.
    """
    if executor is None:
        for block in _line_blocks(stream, chunk_bytes):
            yield _overlong_line(width) if block is None else parse_chunk(block, width, prefix)
        return
    pending: deque[Future[ParsedBatch] | ParsedBatch] = deque()
    for block in _line_blocks(stream, chunk_bytes):
        if block is None:
            pending.append(_overlong_line(width))
        else:
            pending.append(executor.submit(parse_chunk, block, width, prefix))
        while len(pending) > PARSE_AHEAD:
            yield _result(pending.popleft())
    while pending:
        yield _result(pending.popleft())


def _result(item: Future[ParsedBatch] | ParsedBatch) -> ParsedBatch:
    return item if isinstance(item, ParsedBatch) else item.result()


def _line_blocks(stream: BinaryIO, chunk_bytes: int) -> Iterator[bytes | None]:
    """Blocks of whole lines; ``None`` stands for one overlong line (skipped)."""
    carry = b""
    skipping = False
    while True:
        block = stream.read(chunk_bytes)
        if not block:
            break
        data = carry + block
        cut = data.rfind(b"\n")
        if skipping:
            first = data.find(b"\n")
            if first < 0:
                carry = b""
                continue
            data = data[first + 1 :]
            cut = data.rfind(b"\n")
            skipping = False
        if cut < 0:
            if len(data) > MAX_LINE_BYTES:
                yield None
                carry = b""
                skipping = True
            else:
                carry = data
            continue
        carry = data[cut + 1 :]
        if len(carry) > MAX_LINE_BYTES:
            yield None
            carry = b""
            skipping = True
        yield data[: cut + 1]
    if carry and not skipping:
        yield carry


def _rows_over(matrix: npt.NDArray[Any], limit: int) -> npt.NDArray[np.bool_]:
    """Which rows hold a value above ``limit`` (one fast whole-matrix check first)."""
    if matrix.max(initial=0) <= limit:
        return np.zeros(matrix.shape[0], dtype=bool)
    return np.asarray((matrix > limit).any(axis=1), dtype=bool)


def _overlong_line(width: int) -> ParsedBatch:
    batch = _empty(width, 1)
    batch.rejected["overlong"] += 1
    return batch


def _empty(width: int, lines: int) -> ParsedBatch:
    return ParsedBatch(
        hashes=np.zeros((0, width), dtype=np.uint8),
        counts=np.zeros(0, dtype=np.uint32),
        lines=lines,
    )


def _count(counter: Counter[str], reason: str, mask: npt.NDArray[np.bool_]) -> None:
    n = int(mask.sum())
    if n:
        counter[reason] += n
