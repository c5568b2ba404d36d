"""The account-store abstraction every connector implements.

An :class:`Account` is what credwatch needs to know about one mailbox or user: its
id in the store, tenant, address, recovery address, current password hash, status,
last login and MFA flag.  An :class:`AccountStore` streams them in batches; nothing
reads a whole store into memory.

Example:
    >>> from credwatch.accounts import open_store       # doctest: +SKIP
    >>> store = open_store(ws, "mail")                  # doctest: +SKIP
    >>> for batch in store.iter_batches(10_000):        # doctest: +SKIP
    ...     print(len(batch))
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

import pyarrow as pa

__all__ = [
    "ACCOUNT_SCHEMA",
    "STATUSES",
    "Account",
    "AccountStore",
    "Status",
]

Status = Literal["active", "dormant", "cancelled", "unknown"]

#: The statuses a mapping can assign; ``unknown`` marks values outside the mapping.
STATUSES: tuple[Status, ...] = ("active", "dormant", "cancelled", "unknown")

#: Columns of :meth:`AccountStore.iter_arrow` batches (the audit's fast path).
ACCOUNT_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("tenant", pa.string()),
        ("email", pa.string()),
        ("recovery_email", pa.string()),
        ("password_hash", pa.string()),
        ("status", pa.string()),
        ("raw_status", pa.string()),
        ("last_login", pa.timestamp("us", tz="UTC")),
        ("mfa", pa.bool_()),
    ]
)


@dataclass(frozen=True, slots=True)
class Account:
    """One account of a store.

    Attributes:
        id: the store's identifier (primary key, or the user name for passwd-files).
        tenant: the tenant (ISP, customer) the account belongs to.
        email: the login address as stored (not normalised), or ``None``.
        recovery_email: the recovery address, or ``None``.
        password_hash: the stored hash (e.g. ``{SHA512-CRYPT}$6$...``), or ``None``.
        status: ``active`` / ``dormant`` / ``cancelled``, or ``unknown`` when the store's
            value is not in the configured mapping (see :attr:`raw_status`).
        last_login: last successful login (UTC), or ``None``.
        mfa: whether a second factor is enrolled.
        extra: connector-specific fields (passwd-file extra fields, ...).
        raw_status: the store's own status value (reported when ``status`` is unknown).
    """

    id: str
    tenant: str
    email: str | None
    recovery_email: str | None
    password_hash: str | None = field(repr=False)
    status: Status
    last_login: datetime | None
    mfa: bool
    extra: Mapping[str, str] = field(default_factory=dict)
    raw_status: str | None = None


@runtime_checkable
class AccountStore(Protocol):
    """A source of accounts, read in streaming batches.

    Implementations: :class:`credwatch.accounts.sql.SqlStore`,
    :class:`credwatch.accounts.passwd_file.PasswdFileStore`,
    :class:`credwatch.accounts.csv_store.CsvStore`.
    """

    @property
    def name(self) -> str:
        """The store's name in ``credwatch.toml`` (``[stores.NAME]``)."""
        ...

    @property
    def kind(self) -> str:
        """``sql``, ``passwd-file`` or ``csv``."""
        ...

    def iter_batches(self, batch_size: int = 10_000) -> Iterator[list[Account]]:
        """Yield the accounts in batches of at most ``batch_size``, streaming.

        Raises:
            ExternalServiceError: when the store cannot be reached (exit 4).
            ConfigError: when the mapping names what the store does not have.
        """
        ...

    def iter_arrow(self, batch_size: int = 100_000) -> Iterator[pa.RecordBatch]:
        """Yield the same accounts as Arrow batches of :data:`ACCOUNT_SCHEMA`.

        The vectorised path of the audit; ``status`` is already mapped.
        """
        ...

    def snapshot_digest(self) -> str:
        """A digest of the store's current content (plans use it to detect staleness)."""
        ...
