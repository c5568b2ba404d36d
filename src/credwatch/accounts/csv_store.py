"""CSV account stores: one account per row, a header naming the fields.

The ``[stores.NAME.columns]`` table maps our fields to header names (defaults ``id``,
``email``, ``password_hash``).  A mapping naming a header field the file lacks is a
configuration error listing the real header; rows with the wrong number of fields or
an empty id are counted by line number in :attr:`CsvStore.rejected`.

Example:
    >>> cfg = parse_store_config("x", {"kind": "csv", "path": "a.csv"})  # doctest: +SKIP
    >>> store = CsvStore(cfg)                                            # doctest: +SKIP
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from credwatch.accounts.arrowconv import accounts_from_batch, build_batch
from credwatch.accounts.config import StoreConfig
from credwatch.accounts.digest import digest_batches
from credwatch.accounts.interface import Account
from credwatch.accounts.passwd_file import RejectedLines
from credwatch.errors import ConfigError, InputError

__all__ = ["CsvStore"]


class CsvStore:
    """A CSV file of accounts.

    Args:
        config: the parsed ``[stores.NAME]`` (``kind = "csv"``).
    """

    kind = "csv"

    def __init__(self, config: StoreConfig) -> None:
        if config.path is None:
            raise ConfigError(f"[stores.{config.name}] is not a file store")
        self.config = config
        self.path: Path = config.path
        self.rejected = RejectedLines()

    @property
    def name(self) -> str:
        """The store's name."""
        return self.config.name

    def _rows(self, batch_size: int) -> Iterator[dict[str, list[str | None]]]:
        self.rejected = RejectedLines()
        try:
            handle = self.path.open(encoding=self.config.encoding, newline="")
        except OSError as exc:
            raise InputError(
                f"[stores.{self.name}] cannot read {self.path}: {exc.strerror}"
            ) from None
        with handle:
            reader = csv.reader(handle, delimiter=self.config.delimiter)
            try:
                header = next(reader, None)
            except (UnicodeDecodeError, csv.Error):
                raise InputError(f"{self.path}: the header line cannot be read") from None
            if header is None:
                return
            mapping = self.config.columns.items()
            missing = [f"{ours} -> {theirs}" for ours, theirs in mapping if theirs not in header]
            if missing:
                raise ConfigError(
                    f"[stores.{self.name}.columns] names fields {self.path.name} does not "
                    f"have: {', '.join(missing)}",
                    hint=f"the file's header is: {', '.join(header)}",
                )
            index = [(ours, header.index(theirs)) for ours, theirs in mapping]
            cols: dict[str, list[str | None]] = {ours: [] for ours, _ in index}
            count = 0
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    break
                except UnicodeDecodeError:
                    self.rejected.add(reader.line_num + 1, "undecodable")
                    break
                except csv.Error:
                    self.rejected.add(reader.line_num, "malformed CSV")
                    continue
                if not row:
                    continue
                if len(row) != len(header):
                    self.rejected.add(reader.line_num, "wrong number of fields")
                    continue
                if not row[header.index(self.config.columns.id)]:
                    self.rejected.add(reader.line_num, "empty id")
                    continue
                for ours, i in index:
                    cols[ours].append(row[i] or None)
                count += 1
                if count >= batch_size:
                    yield cols
                    cols = {ours: [] for ours, _ in index}
                    count = 0
            if count:
                yield cols

    def iter_arrow(self, batch_size: int = 100_000) -> Iterator[pa.RecordBatch]:
        """Yield the accounts as :data:`ACCOUNT_SCHEMA` batches.

        Raises:
            ConfigError: the mapping names a field the header lacks.
            InputError: the file cannot be read.
        """
        for cols in self._rows(batch_size):
            yield build_batch(self.config, cols, len(cols["id"]))

    def iter_batches(self, batch_size: int = 10_000) -> Iterator[list[Account]]:
        """Yield the accounts as :class:`Account` lists."""
        for batch in self.iter_arrow(batch_size):
            yield accounts_from_batch(batch)

    def snapshot_digest(self) -> str:
        """A digest of the mapped content, independent of row order."""
        return digest_batches(self.iter_arrow(self.config.batch_size))
