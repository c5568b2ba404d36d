"""Account stores: SQL (PostgreSQL, MariaDB/MySQL, SQLite), Dovecot passwd-files, CSV.

Example:
    >>> from credwatch.accounts import open_store           # doctest: +SKIP
    >>> store = open_store(ws, "mail")                      # doctest: +SKIP
"""

from credwatch.accounts.config import ColumnMap, StoreConfig, StoreKind, store_config
from credwatch.accounts.interface import ACCOUNT_SCHEMA, STATUSES, Account, AccountStore, Status

__all__ = [
    "ACCOUNT_SCHEMA",
    "STATUSES",
    "Account",
    "AccountStore",
    "ColumnMap",
    "Status",
    "StoreConfig",
    "StoreKind",
    "store_config",
]
