"""Checkpoints: each finished batch's result, written atomically as Parquet.

A checkpoint folder holds ``checkpoint.json`` (schema version and a fingerprint of the
job, so a resumed run cannot mix results of different inputs) and one
``batch-<ID>.parquet`` per finished batch.  Results must never contain plaintext: a
table with a column named like a password is refused.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from credwatch.errors import InputError, UsageError

__all__ = ["Checkpoint"]

_SCHEMA_VERSION = "1"
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_FORBIDDEN = re.compile(r"pass|plain|secret", re.IGNORECASE)


class Checkpoint:
    """A folder of finished batches for one job.

    Args:
        directory: created (mode 0700) if missing.
        fingerprint: identifies the job's inputs; a folder written for another
            fingerprint is refused.

    Raises:
        InputError: the folder belongs to another job or its manifest is unreadable.

    Example:
        >>> import tempfile
        >>> cp = Checkpoint(Path(tempfile.mkdtemp()) / "cp", fingerprint="job-1")
        >>> cp.save("b0", pa.table({"n": [1]}))
        >>> cp.has("b0"), cp.load("b0").num_rows
        (True, 1)
    """

    def __init__(self, directory: Path, *, fingerprint: str) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        manifest = directory / "checkpoint.json"
        if manifest.exists():
            try:
                data = json.loads(manifest.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise InputError(
                    f"checkpoint manifest {manifest} is unreadable",
                    hint="remove the checkpoint folder to start over",
                ) from exc
            if (
                data.get("schema_version") != _SCHEMA_VERSION
                or data.get("fingerprint") != fingerprint
            ):
                raise InputError(
                    f"checkpoint {directory} belongs to a different job",
                    hint="run without --resume, or remove the folder",
                )
        else:
            _atomic_write(
                manifest,
                json.dumps(
                    {"schema_version": _SCHEMA_VERSION, "fingerprint": fingerprint}
                ).encode(),
            )

    def _path(self, batch_id: str) -> Path:
        if not _ID.fullmatch(batch_id):
            raise UsageError(f"invalid batch id {batch_id!r} (letters, digits, - and _ only)")
        return self.directory / f"batch-{batch_id}.parquet"

    def has(self, batch_id: str) -> bool:
        """True when the batch finished in an earlier (or this) run."""
        return self._path(batch_id).exists()

    def load(self, batch_id: str) -> pa.Table:
        """The saved result of a finished batch."""
        return pq.read_table(self._path(batch_id))

    def save(self, batch_id: str, table: pa.Table) -> None:
        """Write a batch's result atomically (temporary file, fsync, rename).

        Raises:
            UsageError: a column name suggests plaintext (``password``, ``plain``, ``secret``).
        """
        bad = [name for name in table.column_names if _FORBIDDEN.search(name)]
        if bad:
            raise UsageError(f"refusing to checkpoint columns {bad}: results must not hold secrets")
        path = self._path(batch_id)
        tmp = path.with_suffix(".parquet.tmp")
        pq.write_table(table, tmp)
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        tmp.replace(path)

    def finished(self) -> set[str]:
        """Ids of all finished batches."""
        return {
            p.name[len("batch-") : -len(".parquet")] for p in self.directory.glob("batch-*.parquet")
        }


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
