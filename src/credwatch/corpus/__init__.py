"""The breached-password range corpus: HIBP-format imports, storage, rendering.

Example:
    >>> from credwatch.corpus import import_files, open_corpus   # doctest: +SKIP
    >>> import_files(ws.corpus_dir, [Path("pwned.txt")], mode="sha1", index=None)  # doctest: +SKIP
    >>> open_corpus(ws.corpus_dir).corpus.layer("sha1").slice(0x21BD1)           # doctest: +SKIP
"""

from __future__ import annotations

from credwatch.corpus.build import FileReport, ImportReport, import_files
from credwatch.corpus.interface import IndexSource, KeyKind
from credwatch.corpus.layout import (
    BUCKETS,
    WIDTH,
    CorruptCorpusError,
    Layer,
    Mode,
    render_range,
)
from credwatch.corpus.parse import REJECT_REASONS
from credwatch.corpus.store import Corpus, OpenedCorpus, open_corpus

__all__ = [
    "BUCKETS",
    "REJECT_REASONS",
    "WIDTH",
    "Corpus",
    "CorruptCorpusError",
    "FileReport",
    "ImportReport",
    "IndexSource",
    "KeyKind",
    "Layer",
    "Mode",
    "OpenedCorpus",
    "import_files",
    "open_corpus",
    "render_range",
]
