"""Build the connector for ``[stores.NAME]``."""

from __future__ import annotations

from credwatch.accounts.config import StoreConfig, StoreKind, store_config
from credwatch.accounts.csv_store import CsvStore
from credwatch.accounts.interface import AccountStore
from credwatch.accounts.passwd_file import PasswdFileStore
from credwatch.accounts.sql import SqlStore
from credwatch.workspace import Workspace

__all__ = ["open_store", "store_from_config"]


def store_from_config(config: StoreConfig) -> AccountStore:
    """The connector for a parsed store configuration."""
    if config.kind is StoreKind.SQL:
        return SqlStore(config)
    if config.kind is StoreKind.PASSWD_FILE:
        return PasswdFileStore(config)
    return CsvStore(config)


def open_store(ws: Workspace, name: str) -> AccountStore:
    """The connector for ``[stores.NAME]`` of the workspace's ``credwatch.toml``.

    Nothing is read until the store is iterated.

    Raises:
        ConfigError: the store is not configured or its table is invalid.

    Example:
        >>> store = open_store(ws, "mail")          # doctest: +SKIP
    """
    return store_from_config(store_config(ws.config(), name))
