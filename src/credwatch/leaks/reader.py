"""Open a combolist file: decompress, detect the encoding, split into Arrow line blocks.

Bytes are read in large blocks, cut at the last newline, decoded once per block and
split with NumPy into an Arrow string array, so no Python object is made per line.
A partial line is carried into the next block.  A line longer than
:data:`MAX_LINE_BYTES` is counted ``over_long`` and skipped up to the next newline, so
a single 10 MB line costs no more memory than one block.  Nothing is ever written to
disk: a transcoded copy would be plaintext on disk.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import zstandard

from credwatch.errors import InputError
from credwatch.leaks.encoding import UTF8_BOM, detect_encoding, normalize_encoding_name
from credwatch.leaks.interface import Compression, LineChunk, RejectReason

__all__ = [
    "BLOCK_BYTES",
    "MAX_LINE_BYTES",
    "FileLeakSource",
    "FileReader",
    "detect_compression",
    "file_digest",
]

#: Bytes read (after decompression) per block.
BLOCK_BYTES = 8 * 1024 * 1024
#: Longest accepted line in bytes (UTF-8); longer ones are counted ``over_long``.
MAX_LINE_BYTES = 4096
_SAMPLE_BYTES = 1024 * 1024

_MAGIC: tuple[tuple[bytes, Compression], ...] = (
    (b"\x1f\x8b", Compression.GZIP),
    (b"\xfd7zXZ\x00", Compression.XZ),
    (b"BZh", Compression.BZIP2),
    (b"\x28\xb5\x2f\xfd", Compression.ZSTD),
    (b"PK\x03\x04", Compression.ZIP),
)
# Errors decompressors raise on corrupt or truncated input.
_STREAM_ERRORS = (
    OSError,
    EOFError,
    zlib.error,
    lzma.LZMAError,
    zipfile.BadZipFile,
    zstandard.ZstdError,
    RuntimeError,  # zipfile: an encrypted member
    NotImplementedError,  # zipfile: an unsupported compression method
)


def detect_compression(head: bytes) -> Compression:
    """Recognise the container format from the first bytes of a file."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    return Compression.NONE


def file_digest(path: Path) -> str:
    """SHA-256 of the file's bytes as stored (the identity used to skip re-ingests).

    Raises:
        InputError: when the file cannot be read.
    """
    try:
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


class _ZipMembers:
    """Reads every file member of a zip archive as one stream (members in order)."""

    def __init__(self, path: Path) -> None:
        self._zip = zipfile.ZipFile(path)
        self._names = [i.filename for i in self._zip.infolist() if not i.is_dir()]
        self._current: IO[bytes] | None = None
        self._ended_with_newline = True

    def read(self, size: int = -1, /) -> bytes:
        while True:
            if self._current is None:
                if not self._names:
                    return b""
                self._current = self._zip.open(self._names.pop(0))
                if not self._ended_with_newline:
                    self._ended_with_newline = True
                    return b"\n"
            data = self._current.read(size)
            if data:
                self._ended_with_newline = data.endswith(b"\n")
                return data
            self._current.close()
            self._current = None

    def close(self) -> None:
        if self._current is not None:
            self._current.close()
        self._zip.close()


def _open_stream(path: Path, kind: Compression) -> _Readable:
    if kind is Compression.GZIP:
        return gzip.open(path, "rb")
    if kind is Compression.XZ:
        return lzma.open(path, "rb")
    if kind is Compression.BZIP2:
        return bz2.open(path, "rb")
    if kind is Compression.ZSTD:
        raw = path.open("rb")
        return zstandard.ZstdDecompressor().stream_reader(
            raw, read_across_frames=True, closefd=True
        )
    if kind is Compression.ZIP:
        return _ZipMembers(path)
    return path.open("rb")


def _read_full(stream: _Readable, size: int) -> bytes:
    """Read up to ``size`` bytes (streams may return less per call)."""
    parts: list[bytes] = []
    remaining = size
    while remaining > 0:
        data = stream.read(remaining)
        if not data:
            break
        parts.append(data)
        remaining -= len(data)
    return b"".join(parts) if len(parts) != 1 else parts[0]


@dataclass(slots=True)
class FileLeakSource:
    """One combolist file (see :class:`credwatch.leaks.interface.LeakSource`).

    Use :meth:`FileReader.open` to create one.

    Attributes:
        path: the file.
        compression: the container detected from the magic bytes.
        encoding: the encoding in use (``utf-8``, ``cp932``, ``euc-jp`` or ``latin-1``).
    """

    path: Path
    compression: Compression
    encoding: str
    block_bytes: int = BLOCK_BYTES
    _sample: list[str] = field(default_factory=list, repr=False)

    def sample(self) -> list[str]:
        """Up to 200 decoded lines from the start of the file (memory only)."""
        return list(self._sample)

    def chunks(self) -> Iterator[LineChunk]:
        """Yield all lines in blocks.

        Raises:
            InputError: when the stream is corrupt or truncated (e.g. a cut gzip file).
        """
        try:
            stream = _open_stream(self.path, self.compression)
        except _STREAM_ERRORS as exc:
            raise InputError(f"{self.path}: cannot open: {_describe(exc)}") from None
        try:
            yield from self._chunks(stream)
        except _STREAM_ERRORS as exc:
            raise InputError(
                f"{self.path}: the {self.compression.value} stream is corrupt or truncated "
                f"({_describe(exc)})",
                hint="nothing from this file was ingested; fetch a complete copy",
            ) from None
        finally:
            stream.close()

    def _chunks(self, stream: _Readable) -> Iterator[LineChunk]:
        line_no = 1
        carry = b""
        skipping = False
        first = True
        while True:
            block = _read_full(stream, self.block_bytes)
            if first and block.startswith(UTF8_BOM):
                block = block[len(UTF8_BOM) :]
            first = False
            if not block:
                break
            if skipping:
                cut = block.find(b"\n")
                if cut < 0:
                    continue
                block = block[cut + 1 :]
                skipping = False
            data = carry + block if carry else block
            cut = data.rfind(b"\n")
            # A view, not a copy of the block: the lines' Arrow buffer points into it.
            body, carry = memoryview(data)[: cut + 1], data[cut + 1 :]
            trailing_over_long = len(carry) > MAX_LINE_BYTES
            if trailing_over_long:
                carry = b""
                skipping = True
            chunk = self._decode(body, line_no, trailing_over_long=trailing_over_long)
            if len(chunk):
                yield chunk
                line_no += len(chunk)
        if carry:
            yield self._decode(carry + b"\n", line_no, trailing_over_long=False)

    def _decode(
        self, body: bytes | memoryview, first_line: int, *, trailing_over_long: bool
    ) -> LineChunk:
        undecodable: list[int] = []
        utf8: bytes | memoryview
        if self.encoding == "utf-8":
            utf8 = body
        else:
            try:
                utf8 = str(body, self.encoding).encode("utf-8")
            except UnicodeDecodeError:
                utf8, undecodable = _decode_per_line(bytes(body), self.encoding)
        lines, pre = _split_utf8(utf8, first_line)
        if self.encoding == "utf-8":
            lines, undecodable = _validate_utf8(lines)
        else:
            lines = _strip_eol(lines.cast(pa.string()))
        if undecodable:
            pre.setdefault(RejectReason.UNDECODABLE.value, []).extend(
                first_line + i for i in undecodable
            )
            mask = np.zeros(len(lines), dtype=bool)
            mask[undecodable] = True
            lines = pc.if_else(pa.array(mask), pa.scalar(None, pa.string()), lines)
        if trailing_over_long:
            pre.setdefault(RejectReason.OVER_LONG.value, []).append(first_line + len(lines))
            lines = pa.concat_arrays([lines, pa.nulls(1, pa.string())])
        return LineChunk(first_line=first_line, lines=lines, pre_rejected=pre)


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _decode_per_line(body: bytes, encoding: str) -> tuple[bytes, list[int]]:
    """Slow path for a block with undecodable bytes: decode line by line."""
    out: list[bytes] = []
    bad: list[int] = []
    for i, raw in enumerate(body.split(b"\n")[:-1]):
        try:
            out.append(raw.decode(encoding).encode("utf-8"))
        except UnicodeDecodeError:
            out.append(b"")
            bad.append(i)
    return b"\n".join(out) + b"\n", bad


def _split_utf8(data: bytes | memoryview, first_line: int) -> tuple[pa.Array, dict[str, list[int]]]:
    """Split newline-terminated bytes into a binary array of lines (zero-copy offsets).

    Returns the lines (still binary, CR/LF stripped later) and pre-rejected lines
    (over-long, binary) whose entries are set to null.
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 0x0A)
    n = len(newlines)
    offsets = np.empty(n + 1, dtype=np.int32)
    offsets[0] = 0
    offsets[1:] = newlines + 1
    lines = pa.Array.from_buffers(pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])
    lengths = np.diff(offsets) - 1
    pre: dict[str, list[int]] = {}
    reject = np.zeros(n, dtype=bool)
    over = lengths > MAX_LINE_BYTES
    if over.any():
        reject |= over
        pre[RejectReason.OVER_LONG.value] = (np.flatnonzero(over) + first_line).tolist()
    control = ((buf < 0x20) & (buf != 0x09) & (buf != 0x0A) & (buf != 0x0D)) | (buf == 0x7F)
    if control.any():
        hit_lines = np.unique(np.searchsorted(offsets, np.flatnonzero(control), side="right") - 1)
        binary = np.zeros(n, dtype=bool)
        binary[hit_lines] = True
        binary &= ~reject
        reject |= binary
        if binary.any():
            pre[RejectReason.BINARY.value] = (np.flatnonzero(binary) + first_line).tolist()
    if reject.any():
        lines = pc.if_else(pa.array(reject), pa.scalar(None, pa.binary()), lines)
    return lines, pre


def _validate_utf8(lines: pa.Array) -> tuple[pa.Array, list[int]]:
    """Cast binary lines to strings; lines that are not UTF-8 become null (undecodable)."""
    try:
        text = lines.cast(pa.string())
    except pa.ArrowInvalid:
        values: list[bytes | None] = lines.to_pylist()
        bad: list[int] = []
        decoded: list[str | None] = []
        for i, raw in enumerate(values):
            if raw is None:
                decoded.append(None)
                continue
            try:
                decoded.append(raw.decode("utf-8"))
            except UnicodeDecodeError:
                decoded.append(None)
                bad.append(i)
        return _strip_eol(pa.array(decoded, pa.string())), bad
    return _strip_eol(text), []


def _strip_eol(lines: pa.Array) -> pa.Array:
    return pc.utf8_rtrim(lines, characters="\r\n")


@dataclass(frozen=True, slots=True)
class FileReader:
    """Opens files as :class:`FileLeakSource` (the default :class:`LeakReader`).

    Attributes:
        encoding: ``auto`` to detect per file, else a fixed encoding name.

    Example:
        >>> source = FileReader().open(Path("dump.txt.gz"))     # doctest: +SKIP
        >>> for chunk in source.chunks(): ...                     # doctest: +SKIP
    """

    encoding: str = "auto"
    block_bytes: int = BLOCK_BYTES

    def open(self, path: Path) -> FileLeakSource:
        """Open one file and detect compression and encoding from its first block.

        Raises:
            InputError: missing file, a directory, unreadable or corrupt container.
        """
        if not path.exists():
            raise InputError(f"{path}: no such file")
        if path.is_dir():
            raise InputError(f"{path}: is a directory", hint="pass the files inside it")
        try:
            with path.open("rb") as handle:
                head = handle.read(8)
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror}") from None
        kind = detect_compression(head)
        try:
            stream = _open_stream(path, kind)
            try:
                first = _read_full(stream, _SAMPLE_BYTES)
            finally:
                stream.close()
        except _STREAM_ERRORS as exc:
            raise InputError(
                f"{path}: the {kind.value} stream is corrupt or truncated ({_describe(exc)})"
            ) from None
        if self.encoding == "auto":
            encoding = detect_encoding(first)
        else:
            encoding = normalize_encoding_name(self.encoding)
        sample = _sample_lines(first, encoding)
        return FileLeakSource(
            path=path,
            compression=kind,
            encoding=encoding,
            block_bytes=self.block_bytes,
            _sample=sample,
        )


def _sample_lines(first: bytes, encoding: str, limit: int = 200) -> list[str]:
    if first.startswith(UTF8_BOM):
        first = first[len(UTF8_BOM) :]
    cut = first.rfind(b"\n")
    body = first[: cut + 1] if cut >= 0 else first
    out: list[str] = []
    for raw in body.split(b"\n"):
        if len(out) >= limit:
            break
        try:
            text = raw.decode(encoding).rstrip("\r")
        except UnicodeDecodeError:
            continue
        if text.strip() and len(raw) <= MAX_LINE_BYTES:
            out.append(text)
    return out
