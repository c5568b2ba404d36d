"""The exposure index (``credwatch.index.ExposureIndex``) as a corpus :class:`IndexSource`.

It reads the index's aggregated password counts and the distinct exposed
``email_key`` / ``pair_key`` values (keyed hashes only, never plaintext) so that the
range API serves the incident's passwords and ``/v1/check`` answers from memory-mapped
sorted keys instead of a database query per login.

Example:
    >>> with open_index_source(ws) as source:                         # doctest: +SKIP
    ...     import_files(ws.corpus_dir, [], mode="sha1", index=source)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from credwatch.corpus.interface import KeyKind
from credwatch.workspace import Workspace

if TYPE_CHECKING:
    from credwatch.index import ExposureIndex

__all__ = ["ExposureIndexSource", "open_index_source"]

_BATCH = 1 << 20
_KEY_COLUMN: dict[str, str] = {"email": "email_key", "pair": "pair_key"}


def _binary_to_rows(column: pa.Array, width: int) -> npt.NDArray[np.uint8]:
    """A binary Arrow column of fixed-size values as an ``(n, width)`` array."""
    fixed = column.cast(pa.binary(width))
    buffer = fixed.buffers()[1]
    data = np.frombuffer(buffer, dtype=np.uint8)
    start = fixed.offset * width
    return data[start : start + len(fixed) * width].reshape(-1, width)


class ExposureIndexSource:
    """Reads an opened :class:`~credwatch.index.ExposureIndex`."""

    def __init__(self, index: ExposureIndex) -> None:
        self._index = index

    @property
    def pepper_fingerprint(self) -> str:
        """The pepper fingerprint of the index's keys."""
        return self._index.keyer.fingerprint

    def password_counts(
        self, mode: Literal["sha1", "ntlm"]
    ) -> Iterator[tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint32]]]:
        """The index's password counts as binary rows and uint32 counts."""
        width = 20 if mode == "sha1" else 16
        for batch in self._index.password_counts(mode):
            hashes = batch.column(batch.schema.get_field_index("hash"))
            counts = batch.column(batch.schema.get_field_index("count"))
            valid = pa.compute.is_valid(hashes)
            if not pa.compute.all(valid).as_py():
                hashes = hashes.filter(valid)
                counts = counts.filter(valid)
            values = np.minimum(counts.to_numpy(zero_copy_only=False), 2**32 - 1)
            yield _binary_to_rows(hashes, width), values.astype(np.uint32)

    def exposure_keys(self, kind: KeyKind) -> Iterator[npt.NDArray[np.uint8]]:
        """Distinct exposed keys of one kind, as ``(n, 16)`` batches."""
        column = _KEY_COLUMN[kind]
        reader = self._index.connection.sql(
            f"SELECT DISTINCT {column} AS k FROM exposures WHERE {column} IS NOT NULL"
        ).to_arrow_reader(_BATCH)
        for batch in reader:
            yield _binary_to_rows(batch.column(0), 16)


@contextmanager
def open_index_source(ws: Workspace) -> Iterator[ExposureIndexSource | None]:
    """The workspace's index as a source, or ``None`` when no index was built yet.

    Raises:
        ConfigError: the index exists but cannot be opened (another pepper or schema).
    """
    if not ws.index_path.exists():
        yield None
        return
    from credwatch.index import ExposureIndex  # noqa: PLC0415 - DuckDB only when needed

    with ExposureIndex.open(ws, read_only=True) as index:
        yield ExposureIndexSource(index)
