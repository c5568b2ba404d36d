"""What a leak reader produces: blocks of lines as Arrow arrays, never a Python object per line.

A :class:`LeakSource` is one input file (after decompression and decoding).  It yields
:class:`LineChunk` blocks: an Arrow string array of consecutive lines, where lines the
reader itself already rejected (over-long, binary, undecodable) are null and counted
in :attr:`LineChunk.pre_rejected` by reason, with their line numbers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol, runtime_checkable

import pyarrow as pa

__all__ = [
    "Compression",
    "LeakFormat",
    "LeakReader",
    "LeakSource",
    "LineChunk",
    "RejectReason",
]


class LeakFormat(StrEnum):
    """Line formats of combolists (``--format``)."""

    AUTO = "auto"
    COLON = "colon"
    SEMICOLON = "semicolon"
    TAB = "tab"
    PIPE = "pipe"
    CSV = "csv"
    TSV = "tsv"
    JSONL = "jsonl"

    @property
    def separator(self) -> str | None:
        """The field separator of a delimited format (``None`` for CSV/TSV/JSONL/auto)."""
        return _SEPARATORS.get(self)


_SEPARATORS = {
    LeakFormat.COLON: ":",
    LeakFormat.SEMICOLON: ";",
    LeakFormat.TAB: "\t",
    LeakFormat.PIPE: "|",
}


class Compression(StrEnum):
    """Container formats recognised by their magic bytes."""

    NONE = "none"
    GZIP = "gzip"
    XZ = "xz"
    BZIP2 = "bzip2"
    ZSTD = "zstd"
    ZIP = "zip"


class RejectReason(StrEnum):
    """Why a line was not ingested (the keys of ``rejected_by_reason``)."""

    BLANK = "blank"
    NO_SEPARATOR = "no_separator"
    INVALID_ADDRESS = "invalid_address"
    EMPTY_PASSWORD = "empty_password"  # noqa: S105 - a reason name, not a secret
    OVER_LONG = "over_long"
    BINARY = "binary"
    UNDECODABLE = "undecodable"
    MALFORMED_RECORD = "malformed_record"


@dataclass(frozen=True, slots=True)
class LineChunk:
    """Consecutive lines of one file.

    Attributes:
        first_line: the 1-based number of ``lines[0]``.
        lines: one string per line without its line break; null where the reader
            rejected the line (see ``pre_rejected``).
        pre_rejected: reason -> 1-based line numbers of the null entries.
    """

    first_line: int
    lines: pa.Array
    pre_rejected: dict[str, list[int]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.lines)


@runtime_checkable
class LeakSource(Protocol):
    """One opened input: its detected properties and its lines in blocks."""

    @property
    def path(self) -> Path:
        """The file read."""
        ...

    @property
    def compression(self) -> Compression:
        """The container format detected."""
        ...

    @property
    def encoding(self) -> str:
        """The text encoding used (detected or given)."""
        ...

    def sample(self) -> list[str]:
        """A few decoded lines from the start, for format detection (memory only)."""
        ...

    def chunks(self) -> Iterator[LineChunk]:
        """Yield the whole file as consecutive :class:`LineChunk` blocks."""
        ...


class LeakReader(Protocol):
    """Opens files as :class:`LeakSource` objects."""

    def open(self, path: Path) -> LeakSource:
        """Open ``path``.

        Raises:
            credwatch.errors.InputError: when the file is missing, a directory or unreadable.
        """
        ...
