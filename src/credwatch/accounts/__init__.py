"""Account stores: SQL (PostgreSQL, MariaDB/MySQL, SQLite), Dovecot passwd-files, CSV.

Example:
    >>> from credwatch.accounts import open_store           # doctest: +SKIP
    >>> store = open_store(ws, "mail")                      # doctest: +SKIP
"""

from credwatch.accounts.census import StoreCensus, run_census
from credwatch.accounts.config import ColumnMap, StoreConfig, StoreKind, store_config
from credwatch.accounts.interface import ACCOUNT_SCHEMA, STATUSES, Account, AccountStore, Status
from credwatch.accounts.registry import open_store, store_from_config

__all__ = [
    "ACCOUNT_SCHEMA",
    "STATUSES",
    "Account",
    "AccountStore",
    "ColumnMap",
    "Status",
    "StoreCensus",
    "StoreConfig",
    "StoreKind",
    "open_store",
    "run_census",
    "store_config",
    "store_from_config",
]
