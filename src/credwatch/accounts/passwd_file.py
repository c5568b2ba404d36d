"""Dovecot passwd-file account stores.

Format (one account per line, ``#`` comments and blank lines ignored)::

    user:{SCHEME}hash:uid:gid:gecos:home:shell:extra_fields

Only ``user`` is required; later fields may be empty or absent.  ``extra_fields`` is
a space-separated list of ``key=value`` (or bare ``key``) items and may itself contain
``:`` (``userdb_quota_rule=*:storage=1G``), so everything after the seventh ``:`` is
kept whole.  Extra fields are kept on :attr:`Account.extra`; the ``[stores.NAME.columns]``
table can name extra fields holding the status, MFA flag, recovery address, last login
or tenant.  A ``nologin`` extra field marks an account disabled by the administrator:
it is reported as ``raw_status = "nologin"`` when no status field is mapped.

Malformed lines (no user, bad uid/gid, undecodable bytes, duplicate user) are counted
by line number in :attr:`PasswdFileStore.rejected`, never silently dropped.

Example:
    >>> parse_line("taro@nifty.com:{PLAIN}x::::::nologin=y").extra["nologin"]
    'y'
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from credwatch.accounts.arrowconv import accounts_from_batch, build_batch
from credwatch.accounts.config import StoreConfig
from credwatch.accounts.digest import digest_batches
from credwatch.accounts.interface import Account
from credwatch.errors import ConfigError, InputError

__all__ = ["PasswdEntry", "PasswdFileStore", "RejectedLines", "parse_line"]

_MAX_SAMPLE = 100


class MalformedLineError(ValueError):
    """One line is not a passwd-file entry; the message never repeats the line."""


@dataclass(frozen=True, slots=True)
class PasswdEntry:
    """One parsed passwd-file line."""

    user: str
    password: str | None = field(repr=False)
    uid: str
    gid: str
    gecos: str
    home: str
    shell: str
    extra: dict[str, str]


def _extra_fields(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in text.split():
        key, sep, value = item.partition("=")
        out[key] = value if sep else ""
    return out


def parse_line(line: str) -> PasswdEntry:
    """Parse one non-comment line.

    Raises:
        MalformedLineError: no user name, a user name with spaces, or a non-numeric uid/gid.
    """
    parts = line.split(":", 7)
    user = parts[0]
    if not user or user != user.strip() or " " in user:
        raise MalformedLineError("missing or invalid user name")
    fields = [*parts[1:], *[""] * (7 - len(parts[1:]))]
    password, uid, gid, gecos, home, shell, extra = fields[:7]
    for name, value in (("uid", uid), ("gid", gid)):
        if value and not value.isdigit():
            raise MalformedLineError(f"{name} is not a number")
    return PasswdEntry(
        user=user,
        password=password or None,
        uid=uid,
        gid=gid,
        gecos=gecos,
        home=home,
        shell=shell,
        extra=_extra_fields(extra),
    )


@dataclass(slots=True)
class RejectedLines:
    """Malformed lines of one read: a count by reason and the first line numbers."""

    by_reason: Counter[str] = field(default_factory=Counter)
    line_numbers: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        """How many lines were rejected."""
        return sum(self.by_reason.values())

    def add(self, line_number: int, reason: str) -> None:
        """Count one rejected line."""
        self.by_reason[reason] += 1
        if len(self.line_numbers) < _MAX_SAMPLE:
            self.line_numbers.append(line_number)


class PasswdFileStore:
    """A Dovecot passwd-file, read line by line.

    Args:
        config: the parsed ``[stores.NAME]`` (``kind = "passwd-file"``).

    After a full read, :attr:`rejected` holds the malformed lines (counted by reason,
    first line numbers kept).
    """

    kind = "passwd-file"

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

    def iter_entries(self) -> Iterator[tuple[int, PasswdEntry]]:
        """Yield ``(line number, entry)``; malformed lines are counted in :attr:`rejected`.

        Raises:
            InputError: the file cannot be opened.
        """
        self.rejected = RejectedLines()
        seen: set[str] = set()
        try:
            handle = self.path.open("rb")
        except OSError as exc:
            raise InputError(
                f"[stores.{self.name}] cannot read {self.path}: {exc.strerror}"
            ) from None
        with handle:
            for number, raw in enumerate(handle, start=1):
                try:
                    line = raw.decode(self.config.encoding).rstrip("\r\n")
                except UnicodeDecodeError:
                    self.rejected.add(number, "undecodable")
                    continue
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                try:
                    entry = parse_line(line)
                except MalformedLineError as exc:
                    self.rejected.add(number, str(exc))
                    continue
                if entry.user in seen:
                    self.rejected.add(number, "duplicate user")
                    continue
                seen.add(entry.user)
                yield number, entry

    def _columns(self, entries: list[PasswdEntry]) -> dict[str, list[str | None]]:
        cols = self.config.columns
        out: dict[str, list[str | None]] = {
            "id": [e.user for e in entries],
            "email": [e.user for e in entries],
            "password_hash": [e.password for e in entries],
        }
        for ours in ("tenant", "recovery_email", "last_login", "mfa"):
            field_name = getattr(cols, ours)
            if field_name is not None:
                out[ours] = [e.extra.get(field_name) for e in entries]
        if cols.status is not None:
            out["status"] = [e.extra.get(cols.status) for e in entries]
        return out

    def _batches(self, batch_size: int) -> Iterator[tuple[pa.RecordBatch, list[PasswdEntry]]]:
        entries: list[PasswdEntry] = []
        for _number, entry in self.iter_entries():
            entries.append(entry)
            if len(entries) >= batch_size:
                yield self._batch(entries), entries
                entries = []
        if entries:
            yield self._batch(entries), entries

    def _batch(self, entries: list[PasswdEntry]) -> pa.RecordBatch:
        batch = build_batch(self.config, self._columns(entries), len(entries))
        if self.config.columns.status is None:
            nologin = pa.array(
                ["nologin" if "nologin" in e.extra else None for e in entries], pa.string()
            )
            batch = batch.set_column(6, "raw_status", nologin)
        return batch

    def iter_arrow(self, batch_size: int = 100_000) -> Iterator[pa.RecordBatch]:
        """Yield the accounts as :data:`ACCOUNT_SCHEMA` batches."""
        for batch, _entries in self._batches(batch_size):
            yield batch

    def iter_batches(self, batch_size: int = 10_000) -> Iterator[list[Account]]:
        """Yield the accounts (extra fields on :attr:`Account.extra`)."""
        for batch, entries in self._batches(batch_size):
            yield accounts_from_batch(batch, [e.extra for e in entries])

    def snapshot_digest(self) -> str:
        """A digest of the mapped content, independent of line order."""
        return digest_batches(self.iter_arrow(self.config.batch_size))
