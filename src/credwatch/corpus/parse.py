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

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

__all__ = [
    "CHUNK_BYTES",
    "MAX_LINE_BYTES",
    "REJECT_REASONS",
    "ParsedBatch",
    "parse_chunk",
    "prefix_of_filename",
    "read_batches",
]

#: Bytes read per step; a whole number of lines is parsed from each.
CHUNK_BYTES = 16 * 1024 * 1024
#: A line longer than this cannot be a record; it is skipped and counted as ``overlong``.
MAX_LINE_BYTES = 4096
#: Counts are stored as uint32; a larger count is refused (``bad_count``).
MAX_COUNT = 2**32 - 1
_COUNT_DIGITS = 10

#: Every reason a line can be rejected for.
REJECT_REASONS = (
    "no_separator",  # no ':' where the count should start
    "bad_hash_length",  # the part before ':' is not 40/35 (SHA-1) or 32/27 (NTLM) characters
    "non_hex",  # the hash holds a character other than 0-9, A-F, a-f
    "bad_count",  # missing, non-decimal or larger than 2^32-1
    "zero_count",  # count 0: padding rows from a padded response, not breached hashes
    "overlong",  # a line longer than MAX_LINE_BYTES
)

# ASCII -> nibble value, 255 for anything that is not a hex digit.
_NIBBLE = np.full(256, 255, dtype=np.uint8)
for _i, _c in enumerate(b"0123456789"):
    _NIBBLE[_c] = _i
for _i, _c in enumerate(b"abcdef"):
    _NIBBLE[_c] = 10 + _i
    _NIBBLE[_c - 32] = 10 + _i


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
    buf = np.frombuffer(data, dtype=np.uint8)
    if buf.size == 0:
        return _empty(width, 0)
    if buf[-1] != 10:
        buf = np.concatenate([buf, np.array([10], dtype=np.uint8)])
    ends = np.flatnonzero(buf == 10)
    starts = np.empty_like(ends)
    starts[0] = 0
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
        before_start = np.where(starts > 0, colon_pos[np.maximum(starts - 1, 0)], 0)
        colons = colon_pos[np.maximum(ends - 1, 0)] - before_start
        colons = np.where(length > 0, colons, 0)
        no_sep = bad & (colons == 0)
        _count(rejected, "no_separator", no_sep)
        _count(rejected, "bad_hash_length", bad & ~no_sep)
    keep &= sep_ok

    rows = np.flatnonzero(keep)
    # int32 offsets halve the gathers' memory traffic (chunks are far below 2 GiB).
    index_type = np.int32 if buf.size < 2**31 else np.int64
    s = starts[rows].astype(index_type)
    e = ends[rows].astype(index_type)
    # Hash nibbles.
    gather = s[:, None] + np.arange(hex_chars, dtype=s.dtype)[None, :]
    nib = _NIBBLE[buf[gather]]
    non_hex = (nib == 255).any(axis=1)
    # Count digits.
    clen = e - (s + hex_chars + 1)
    cpos = s[:, None] + hex_chars + 1 + np.arange(_COUNT_DIGITS, dtype=s.dtype)[None, :]
    digits = buf[np.minimum(cpos, buf.size - 1)].astype(np.int16) - 48
    in_count = np.arange(_COUNT_DIGITS)[None, :] < clen[:, None]
    bad_digit = (in_count & ((digits < 0) | (digits > 9))).any(axis=1)
    value = np.zeros(rows.size, dtype=np.int64)
    for j in range(_COUNT_DIGITS):
        value = np.where(in_count[:, j], value * 10 + digits[:, j], value)
    bad_count = (clen < 1) | (clen > _COUNT_DIGITS) | bad_digit | (value > MAX_COUNT)
    _count(rejected, "non_hex", non_hex)
    bad_count &= ~non_hex
    _count(rejected, "bad_count", bad_count)
    zero = ~non_hex & ~bad_count & (value == 0)
    _count(rejected, "zero_count", zero)
    good = ~(non_hex | bad_count | zero)

    nib = nib[good]
    if prefix is not None:
        head = _NIBBLE[np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)]
        nib = np.concatenate([np.broadcast_to(head, (nib.shape[0], 5)), nib], axis=1)
    hashes = ((nib[:, 0::2] << 4) | nib[:, 1::2]).astype(np.uint8)
    counts = value[good].astype(np.uint32)
    return ParsedBatch(
        hashes=np.ascontiguousarray(hashes),
        counts=counts,
        lines=total,
        blank=n_blank,
        rejected=rejected,
    )


def read_batches(
    stream: BinaryIO, width: int, prefix: str | None, chunk_bytes: int = CHUNK_BYTES
) -> Iterator[ParsedBatch]:
    """Parse a stream chunk by chunk, each chunk cut at a line boundary.

    A line longer than :data:`MAX_LINE_BYTES` that spans chunks is skipped up to its
    end and counted once as ``overlong``; memory stays bounded by ``chunk_bytes``.
    """
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
                yield _overlong_line(width)
                carry = b""
                skipping = True
            else:
                carry = data
            continue
        carry = data[cut + 1 :]
        if len(carry) > MAX_LINE_BYTES:
            yield _overlong_line(width)
            carry = b""
            skipping = True
        yield parse_chunk(data[: cut + 1], width, prefix)
    if carry and not skipping:
        yield parse_chunk(carry, width, prefix)


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
