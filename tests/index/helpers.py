"""Shared helpers for index tests."""

from __future__ import annotations

from pathlib import Path

from credwatch.index import ExposureIndex, IngestOptions, IngestReport, ingest_files
from credwatch.index.exposure import IndexStats
from credwatch.workspace import Workspace


def ingest(ws: Workspace, *paths: Path, **options: object) -> IngestReport:
    """Ingest files with the given IngestOptions fields."""
    return ingest_files(ws, list(paths), IngestOptions(**options))  # type: ignore[arg-type]


def stats(ws: Workspace) -> IndexStats:
    """The index statistics."""
    with ExposureIndex.open(ws) as index:
        return index.stats()
