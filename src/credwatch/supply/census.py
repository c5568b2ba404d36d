"""Account counts per tenant and status from an account store (``credwatch.accounts``).

A platform map's tenant may say ``store = "mail"`` instead of giving counts; the
scan then counts that store's accounts by tenant and status.  Each store is read once
(streamed as Arrow batches, grouped in Arrow), however many tenants name it.

Example:
    >>> census = TenantCensus(ws)                               # doctest: +SKIP
    >>> census("mail", "nifty").active                          # doctest: +SKIP
"""

from __future__ import annotations

from collections import Counter

import pyarrow as pa

from credwatch.accounts import open_store
from credwatch.supply.platforms import STATUSES, AccountCounts
from credwatch.workspace import Workspace

__all__ = ["TenantCensus"]


class TenantCensus:
    """``census(store, tenant) -> AccountCounts`` over the workspace's account stores.

    Args:
        workspace: the workspace whose ``credwatch.toml`` defines ``[stores.NAME]``.
        batch_size: rows per Arrow batch read from the store.
    """

    def __init__(self, workspace: Workspace, batch_size: int = 100_000) -> None:
        self.workspace = workspace
        self.batch_size = batch_size
        self._counts: dict[str, Counter[tuple[str, str]]] = {}

    def _count(self, store: str) -> Counter[tuple[str, str]]:
        counts: Counter[tuple[str, str]] = Counter()
        for batch in open_store(self.workspace, store).iter_arrow(self.batch_size):
            table = pa.Table.from_batches([batch]).select(["tenant", "status"])
            grouped = table.group_by(["tenant", "status"])
            for row in grouped.aggregate([([], "count_all")]).to_pylist():
                counts[(str(row["tenant"]), str(row["status"]))] += int(row["count_all"])
        return counts

    def __call__(self, store: str, tenant: str) -> AccountCounts:
        """The accounts of ``tenant`` in ``store`` by status (others as ``unknown``).

        Raises:
            ConfigError: the store is not configured.
            ExternalServiceError: the store's database could not be read.
            InputError: a file store could not be read.
        """
        counts = self._counts.get(store)
        if counts is None:
            counts = self._counts[store] = self._count(store)
        return AccountCounts(
            **{s: counts[(tenant, s)] for s in STATUSES},
            unknown=sum(n for (t, s), n in counts.items() if t == tenant and s not in STATUSES),
        )
