"""Notify the owners of a plan's accounts, tenant by tenant.

Plans hold account ids only; the recipient addresses are read from the store (through
:mod:`credwatch.accounts`) at send time and live in memory only -- except in exported
``.eml`` files, which are whole messages and so contain the ``To:`` address.  Results,
manifests and logs name accounts by the plan's id.

The recipient is the account's login address.

Example:
    >>> sink = EmlDirectory(Path("out"))                                  # doctest: +SKIP
    >>> report = notify_plan(ws, Path("fix.plan.json"), sink, lang="ja")   # doctest: +SKIP
    >>> report.counts()                                                    # doctest: +SKIP
    {'nifty': {'written': 120}}
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from credwatch.accounts import AccountStore, open_store
from credwatch.accounts.sql import SqlStore
from credwatch.apply.journal import plan_ended
from credwatch.errors import ConfigError
from credwatch.notify.interface import MessageResult, MessageSink
from credwatch.notify.render import build_message, render_text
from credwatch.plan.model import AccountPlan, Plan, keyed_id, load_plan
from credwatch.workspace import Workspace

__all__ = ["NotifyReport", "NotifySettings", "notify_plan", "notify_settings"]


@dataclass(frozen=True, slots=True)
class NotifySettings:
    """``[notify]`` in credwatch.toml.

    ``sender`` (default ``security@localhost``) and ``sender_name``; per tenant
    ``[notify.tenants.NAME]`` with ``name`` (shown in the message), ``sender`` and
    ``sender_name``.
    """

    sender: str = "security@localhost"
    sender_name: str = "Security team"
    tenants: Mapping[str, Mapping[str, str]] | None = None

    def for_tenant(self, tenant: str) -> tuple[str, str, str]:
        """(display name, sender address, sender name) of a tenant."""
        own = (self.tenants or {}).get(tenant, {})
        return (
            own.get("name", tenant),
            own.get("sender", self.sender),
            own.get("sender_name", self.sender_name),
        )


def notify_settings(ws: Workspace) -> NotifySettings:
    """Parse ``[notify]``.

    Raises:
        ConfigError: on unknown keys or non-string values.
    """
    table = ws.config().section("notify")
    unknown = set(table) - {"sender", "sender_name", "tenants"}
    if unknown:
        raise ConfigError(f"[notify] unknown keys: {', '.join(sorted(unknown))}")
    tenants = table.get("tenants", {})
    if not isinstance(tenants, Mapping) or not all(
        isinstance(v, Mapping)
        and set(v) <= {"name", "sender", "sender_name"}
        and all(isinstance(x, str) for x in v.values())
        for v in tenants.values()
    ):
        raise ConfigError("[notify.tenants.NAME] takes name, sender and sender_name strings")
    for key in ("sender", "sender_name"):
        if key in table and not isinstance(table[key], str):
            raise ConfigError(f"[notify] {key} must be a string")
    return NotifySettings(
        sender=table.get("sender", "security@localhost"),
        sender_name=table.get("sender_name", "Security team"),
        tenants={str(k): dict(v) for k, v in tenants.items()},
    )


@dataclass(frozen=True, slots=True)
class NotifyReport:
    """Per-message results of one notification run.

    ``plan_applied`` says whether the journal records a finished apply of the plan
    (notifying before applying tells users about changes not yet made).
    """

    plan: str
    lang: str
    results: tuple[MessageResult, ...]
    plan_applied: bool = False

    def counts(self) -> dict[str, dict[str, int]]:
        """tenant -> result -> messages."""
        table: dict[str, Counter[str]] = defaultdict(Counter)
        for r in self.results:
            table[r.tenant][r.result] += 1
        return {t: dict(c) for t, c in sorted(table.items())}

    def failed(self) -> int:
        """Messages that could not be delivered."""
        return sum(1 for r in self.results if r.result == "failed")

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (account ids, never addresses)."""
        return {
            "plan": self.plan,
            "lang": self.lang,
            "plan_applied": self.plan_applied,
            "by_tenant": self.counts(),
            "messages": [
                {
                    "account": r.account,
                    "tenant": r.tenant,
                    "result": r.result,
                    "attempts": r.attempts,
                    "detail": r.detail,
                }
                for r in self.results
            ],
        }


def _addresses(
    ws: Workspace, plan: Plan, store: AccountStore, wanted: set[str]
) -> dict[str, str | None]:
    """The login addresses of the ``wanted`` plan ids, in one streaming pass over the store.

    The store is read as Arrow batches and matched with a vectorised set lookup, so the
    cost is one scan however many accounts the store holds; only the matches become
    Python strings (for keyed ids the keyed form of each store id is computed first).
    """
    if not wanted:
        return {}
    keyer = ws.keyer() if plan.id_form == "keyed" else None
    value_set = pa.array(sorted(wanted), pa.string())
    found: dict[str, str | None] = {}
    for batch in store.iter_arrow(100_000):
        ids = batch.column("id")
        if keyer is not None:
            ids = pa.array([keyed_id(keyer, i) for i in ids.to_pylist()], pa.string())
        hits = pc.is_in(ids, value_set=value_set)
        if not pc.any(hits).as_py():
            continue
        matched = zip(
            ids.filter(hits).to_pylist(),
            batch.column("email").filter(hits).to_pylist(),
            strict=True,
        )
        found.update(matched)
    return found


def notify_plan(
    ws: Workspace,
    path: Path,
    sink: MessageSink,
    *,
    lang: str = "ja",
    limit_per_tenant: int | None = None,
) -> NotifyReport:
    """Render and deliver one message per account of a plan, tenant by tenant.

    Args:
        ws: the workspace (configuration and pepper for keyed ids).
        path: the plan file (its seal is checked).
        sink: where messages go (.eml folder or SMTP).
        lang: ``ja`` or ``en``.
        limit_per_tenant: deliver to at most this many accounts of each tenant (the
            demo's sample); ``None`` delivers to every account of the plan.

    Raises:
        InputError: the plan is tampered or unreadable.
        UsageError: an unknown language.
        ConfigError, ExternalServiceError: the store cannot be opened or read.
    """
    plan = load_plan(path)
    settings = notify_settings(ws)
    render_text(lang, tenant_name="", actions=[], findings=[])  # fail early on a bad language
    by_tenant: dict[str, list[AccountPlan]] = defaultdict(list)
    for account in plan.accounts:
        accounts = by_tenant[account.tenant]
        if limit_per_tenant is None or len(accounts) < limit_per_tenant:
            accounts.append(account)
    # Only the recipients of this run are looked up (the demo's sample is a few thousand).
    wanted = {a.id for accounts in by_tenant.values() for a in accounts}
    store = open_store(ws, plan.store.name)
    try:
        addresses = _addresses(ws, plan, store, wanted)
    finally:
        if isinstance(store, SqlStore):
            store.engine.dispose()
    results: list[MessageResult] = []
    for tenant, accounts in sorted(by_tenant.items()):
        name, sender, sender_name = settings.for_tenant(tenant)
        batch: list[tuple[str, Message]] = []
        for account in accounts:
            if account.id not in addresses:
                results.append(MessageResult(account.id, tenant, "not_found"))
                continue
            recipient = addresses[account.id]
            if not recipient:
                results.append(MessageResult(account.id, tenant, "no_address"))
                continue
            text = render_text(
                lang,
                tenant_name=name,
                actions=[p.action for p in account.actions],
                findings=list(account.findings),
                sender_name=sender_name,
            )
            batch.append((account.id, build_message(text, sender=sender, recipient=recipient)))
        if batch:
            results += sink.deliver(tenant, batch)
    applied = plan_ended(ws.journal_path, plan.digest) is not None
    return NotifyReport(plan=plan.digest, lang=lang, results=tuple(results), plan_applied=applied)
