"""Account counts per tenant and status from an account store (``credwatch.accounts``).

A platform map's tenant may say ``store = "mail"`` instead of giving counts; the
scan then counts that store's accounts by tenant and status.  Each store is read once
(streamed in batches), however many tenants name it.

Example:
    >>> census = StoreCensus(ws)                                # doctest: +SKIP
    >>> census("mail", "nifty").active                          # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from collections import Counter
from typing import Any

from credwatch.errors import ConfigError
from credwatch.supply.platforms import STATUSES, AccountCounts
from credwatch.workspace import Workspace

__all__ = ["StoreCensus"]


class StoreCensus:
    """``census(store, tenant) -> AccountCounts`` over the workspace's account stores.

    Args:
        workspace: the workspace whose ``credwatch.toml`` defines ``[stores.NAME]``.
    """

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self._counts: dict[str, Counter[tuple[str, str]]] = {}

    def _open(self, store: str) -> Any:
        try:
            accounts = importlib.import_module("credwatch.accounts")
        except ImportError:
            accounts = None
        open_store = getattr(accounts, "open_store", None)
        if open_store is None:
            raise ConfigError(
                f"platform map names store {store!r}, but this credwatch cannot open account "
                "stores",
                hint="give the tenant's counts in the map: accounts = { active = N, ... }",
            )
        return open_store(self.workspace, store)

    def __call__(self, store: str, tenant: str) -> AccountCounts:
        """The accounts of ``tenant`` in ``store`` by status.

        Raises:
            ConfigError: the store is not configured or stores cannot be opened.
            ExternalServiceError: the store could not be read.
        """
        counts = self._counts.get(store)
        if counts is None:
            counts = Counter()
            for batch in self._open(store).iter_batches(50_000):
                counts.update((a.tenant, a.status) for a in batch)
            self._counts[store] = counts
        return AccountCounts(
            **{s: counts[(tenant, s)] for s in STATUSES},
            unknown=sum(n for (t, s), n in counts.items() if t == tenant and s not in STATUSES),
        )
