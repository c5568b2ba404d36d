"""The exposure index: keyed hashes of leaked addresses and pairs, password counts, vault.

Example:
    >>> report = ingest_files(ws, ["dump.txt.gz"])                   # doctest: +SKIP
    >>> with ExposureIndex.open(ws) as index:                        # doctest: +SKIP
    ...     index.check(email="taro@nifty.com")
    CheckResult(email_exposed=True, pair_exposed=None, password_count=None)
"""

from credwatch.index.exposure import CheckResult, ExposureIndex, IndexStats, SourceStats
from credwatch.index.ingest import (
    FileOutcome,
    IngestOptions,
    IngestReport,
    expand_paths,
    ingest_files,
)
from credwatch.index.schema import SCHEMA_VERSION

__all__ = [
    "SCHEMA_VERSION",
    "CheckResult",
    "ExposureIndex",
    "FileOutcome",
    "IndexStats",
    "IngestOptions",
    "IngestReport",
    "SourceStats",
    "expand_paths",
    "ingest_files",
]
