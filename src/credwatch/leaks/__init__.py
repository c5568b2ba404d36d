"""Leak readers: combolist files in, Arrow blocks of lines out.

Compression (gzip, xz, bzip2, zstd, zip) is recognised by magic bytes, the encoding
(UTF-8, CP932/Shift_JIS, EUC-JP, Latin-1) is detected per file, and the line format
(``:``, ``;``, tab, ``|``, CSV/TSV with or without header, JSON Lines) is detected from
a sample.  The ingest pipeline in :mod:`credwatch.index.ingest` consumes them.

Example:
    >>> source = FileReader().open(Path("dump.txt.gz"))          # doctest: +SKIP
    >>> detect_format(source.sample()).format                      # doctest: +SKIP
    <LeakFormat.COLON: 'colon'>
"""

from credwatch.leaks.encoding import SUPPORTED_ENCODINGS, detect_encoding
from credwatch.leaks.formats import CsvLayout, FormatChoice, detect_format
from credwatch.leaks.interface import (
    Compression,
    LeakFormat,
    LeakReader,
    LeakSource,
    LineChunk,
    RejectReason,
)
from credwatch.leaks.reader import MAX_LINE_BYTES, FileLeakSource, FileReader, file_digest

__all__ = [
    "MAX_LINE_BYTES",
    "SUPPORTED_ENCODINGS",
    "Compression",
    "CsvLayout",
    "FileLeakSource",
    "FileReader",
    "FormatChoice",
    "LeakFormat",
    "LeakReader",
    "LeakSource",
    "LineChunk",
    "RejectReason",
    "detect_encoding",
    "detect_format",
    "file_digest",
]
