"""Reading log files: decompression, binary detection, journald export, line splitting.

Files are read in blocks of whole lines and split into Arrow string arrays with NumPy
(no Python loop per line).  Compression is recognised by magic bytes (gzip, xz, bzip2,
zstd); a truncated or corrupt stream keeps the lines read so far and records the error
on the file (never fatal).  A file that looks binary (NUL bytes in its first block) is
skipped with an error.  ``journalctl -o export`` files are converted to
``IDENT[PID]: MESSAGE`` lines with their timestamps.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import zstandard

from credwatch.errors import InputError

__all__ = ["Block", "Chunk", "FileReader", "lines_to_array", "split_journal_export"]

BLOCK_BYTES = 16 * 1024 * 1024
_STEP = 64 * 1024
_NEWLINE = 10
_SNIFF = 8192
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"BZh", "bzip2"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)
_STREAM_ERRORS = (EOFError, OSError, zlib.error, lzma.LZMAError, zstandard.ZstdError)


@dataclass(frozen=True, slots=True)
class Block:
    """A run of whole lines.

    Attributes:
        first_line: 1-based number of the block's first line in the file.
        lines: the lines (Arrow strings, without line ends).
        ts: per-line timestamps where the container gives them (journald export), else None.
    """

    first_line: int
    lines: pa.Array
    ts: pa.Array | None = None


@dataclass(frozen=True, slots=True)
class Chunk:
    """Whole lines as read, split into a :class:`Block` on demand (in a parsing thread).

    Attributes:
        first_line: 1-based number of the chunk's first line in the file.
        data: the bytes of the lines (the last one may lack its ``\n``).
        count: how many lines ``data`` holds.
        block: the block itself when the container gave lines already (journal export).
    """

    first_line: int
    data: bytes
    count: int
    block: Block | None = None

    def split(self) -> Block:
        """The chunk's lines as a :class:`Block`."""
        if self.block is not None:
            return self.block
        return Block(first_line=self.first_line, lines=lines_to_array(self.data))


def lines_to_array(data: bytes) -> pa.Array:
    """Split ``data`` on ``\\n`` into an Arrow string array, vectorised.

    ``\\r\\n`` line ends are accepted; invalid UTF-8 is replaced by U+FFFD.  A final
    line without ``\\n`` is kept; ``data`` ending in ``\\n`` gives no empty last line.
    """
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n")
    if not data:
        return pa.array([], pa.string())
    if not data.endswith(b"\n"):
        data += b"\n"
    newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == _NEWLINE)
    offsets = np.empty(len(newlines) + 1, dtype=np.int32)
    offsets[0] = 0
    offsets[1:] = newlines + 1
    # Each element spans a line and its newline; one vectorised slice drops the newline.
    with_newline = pa.BinaryArray.from_buffers(
        pa.binary(), len(newlines), [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )
    binary = pc.binary_slice(with_newline, 0, -1)
    try:
        return binary.cast(pa.string())
    except pa.ArrowInvalid:
        return lines_to_array(data.decode("utf-8", errors="replace").encode("utf-8"))


def split_journal_export(data: bytes) -> tuple[list[str], list[datetime | None]]:
    """Parse ``journalctl -o export`` records into ``IDENT[PID]: MESSAGE`` lines.

    Binary fields (``NAME\\n<le64 size><data>\\n``) are decoded as UTF-8 with
    replacement.  Records without ``MESSAGE`` give an empty line.
    """
    lines: list[str] = []
    stamps: list[datetime | None] = []
    fields: dict[str, str] = {}
    pos = 0
    size = len(data)
    while pos <= size:
        end = data.find(b"\n", pos)
        if end < 0:
            end = size
        raw = data[pos:end]
        if not raw:
            if fields:
                lines.append(_journal_line(fields))
                stamps.append(_journal_ts(fields.get("__REALTIME_TIMESTAMP")))
                fields = {}
            pos = end + 1
            continue
        name, eq, value = raw.partition(b"=")
        if eq:
            fields[name.decode("ascii", "replace")] = value.decode("utf-8", "replace")
            pos = end + 1
        else:
            length = int.from_bytes(data[end + 1 : end + 9], "little")
            value = data[end + 9 : end + 9 + length]
            fields[raw.decode("ascii", "replace")] = value.decode("utf-8", "replace")
            pos = end + 9 + length + 1
        if pos > size:
            break
    if fields:
        lines.append(_journal_line(fields))
        stamps.append(_journal_ts(fields.get("__REALTIME_TIMESTAMP")))
    return lines, stamps


def _journal_line(fields: dict[str, str]) -> str:
    message = fields.get("MESSAGE", "")
    ident = fields.get("SYSLOG_IDENTIFIER") or fields.get("_COMM") or ""
    pid = fields.get("SYSLOG_PID") or fields.get("_PID")
    if not ident:
        return message
    return f"{ident}[{pid}]: {message}" if pid else f"{ident}: {message}"


def _journal_ts(value: str | None) -> datetime | None:
    if value is None or not value.isdigit():
        return None
    return datetime.fromtimestamp(int(value) / 1e6, tz=UTC).replace(tzinfo=None)


class FileReader:
    """Reads one log file in blocks of whole lines.

    Attributes after iteration: ``compression``, ``layout`` (``text``, ``json`` or
    ``journal-export``), ``error`` (a safe message when the file was unreadable,
    binary or truncated) and ``mtime``.

    Example:
        >>> reader = FileReader(Path("mail.log.gz"))       # doctest: +SKIP
        >>> for block in reader.blocks(): ...               # doctest: +SKIP
    """

    def __init__(self, path: Path, *, block_bytes: int = BLOCK_BYTES) -> None:
        self.path = path
        self.block_bytes = block_bytes
        self.compression = "none"
        self.layout = "text"
        self.error: str | None = None
        try:
            stat = path.stat()
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror}") from None
        self.mtime = datetime.fromtimestamp(stat.st_mtime, tz=UTC).replace(tzinfo=None)

    def _open(self, raw: BinaryIO) -> BinaryIO:
        head = raw.read(8)
        raw.seek(0)
        for magic, name in _MAGIC:
            if head.startswith(magic):
                self.compression = name
                if name == "gzip":
                    return gzip.GzipFile(fileobj=raw)  # type: ignore[return-value]
                if name == "xz":
                    return lzma.LZMAFile(raw)  # type: ignore[return-value]
                if name == "bzip2":
                    return bz2.BZ2File(raw)  # type: ignore[return-value]
                return zstandard.ZstdDecompressor().stream_reader(raw)
        return raw

    def blocks(self) -> Iterator[Block]:
        """Yield the file's lines in blocks; sets :attr:`error` instead of raising."""
        for chunk in self.chunks():
            yield chunk.split()

    def chunks(self) -> Iterator[Chunk]:
        """Yield the file's lines in chunks not yet split into Arrow arrays (so the
        caller can split them in worker threads); sets :attr:`error` instead of raising."""
        try:
            raw = self.path.open("rb")
        except OSError as exc:
            self.error = f"cannot read: {exc.strerror}"
            return
        with raw:
            stream = self._open(raw)
            try:
                yield from self._chunks(stream)
            finally:
                if stream is not raw:
                    stream.close()

    def _read(self, stream: BinaryIO) -> tuple[bytes, bool]:
        """Up to ``block_bytes`` decompressed bytes, read in small steps so that a
        truncated stream loses only its last step; ``True`` at the end of the stream."""
        parts: list[bytes] = []
        size = 0
        # Plain files are read a block at a time; compressed ones in small steps.
        step = self.block_bytes if self.compression == "none" else _STEP
        while size < self.block_bytes:
            try:
                piece = stream.read(min(step, self.block_bytes - size))
            except _STREAM_ERRORS:
                self.error = (
                    f"{self.compression} stream is truncated or corrupt; read what came before"
                )
                return b"".join(parts), True
            if not piece:
                return b"".join(parts), True
            parts.append(piece)
            size += len(piece)
        return b"".join(parts), False

    def _chunks(self, stream: BinaryIO) -> Iterator[Chunk]:
        carry = b""
        line_no = 1
        first = True
        done = False
        while not done:
            chunk, done = self._read(stream)
            if first:
                first = False
                if chunk.startswith((b"__CURSOR=", b"__REALTIME_TIMESTAMP=")):
                    self.layout = "journal-export"
                    yield from self._journal(chunk, stream, line_no, done)
                    return
                if b"\x00" in chunk[:_SNIFF]:
                    self.error = "binary file (NUL bytes), skipped"
                    return
                if chunk.lstrip()[:1] == b"{":
                    self.layout = "json"
            data = carry + chunk
            cut = len(data) - 1 if done else data.rfind(b"\n")
            if cut < 0:
                carry = data
                continue
            carry = data[cut + 1 :]
            body = data[: cut + 1]
            count = body.count(b"\n") + (0 if body.endswith(b"\n") else 1) if body else 0
            if count:
                yield Chunk(first_line=line_no, data=body, count=count)
                line_no += count

    def _journal(self, chunk: bytes, stream: BinaryIO, line_no: int, done: bool) -> Iterator[Chunk]:
        parts = [chunk]
        while not done:
            piece, done = self._read(stream)
            parts.append(piece)
        lines, stamps = split_journal_export(b"".join(parts))
        if lines:
            block = Block(
                first_line=line_no,
                lines=pa.array(lines, pa.string()),
                ts=pa.array(stamps, pa.timestamp("us")),
            )
            yield Chunk(first_line=line_no, data=b"", count=len(lines), block=block)
