"""Turn a store and a retention policy into a plan (the same kind remediation makes).

The store is read through :mod:`credwatch.accounts` in streaming batches; its snapshot
digest is taken first, so a store that changes while it is read makes the plan stale
(refused by ``apply``) rather than silently inconsistent.

Example:
    >>> plan = plan_retention(ws, "mail", load_retention_policy(Path("r.toml")))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from credwatch.accounts import AccountStore, open_store
from credwatch.accounts.config import store_config
from credwatch.accounts.sql import SqlStore
from credwatch.keys import Keyer
from credwatch.plan.model import (
    ACTION_ORDER,
    AccountPlan,
    IdForm,
    Plan,
    PlanInputs,
    PlannedAction,
    gc_paused,
    keyed_id,
)
from credwatch.plan.remediate import check_actionable, store_ref, uses_keyed_ids
from credwatch.retention.policy import RetentionPolicy
from credwatch.workspace import Workspace

__all__ = ["plan_retention"]


def plan_retention(
    ws: Workspace,
    store: str,
    policy: RetentionPolicy,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    batch_size: int = 50_000,
) -> Plan:
    """Decide the retention actions for every account of a store.

    Raises:
        ConfigError: the store is not configured or cannot be acted on (CSV).
        ExternalServiceError: the store cannot be read.
    """
    cfg = store_config(ws.config(), store)
    check_actionable(cfg)
    keyer = ws.keyer() if uses_keyed_ids(cfg) else None
    id_form: IdForm = "keyed" if keyer is not None else "plain"
    source = open_store(ws, store)
    now = clock()
    try:
        digest = source.snapshot_digest()
        with gc_paused():
            accounts = _decide(source, policy, now, keyer, batch_size)
    finally:
        if isinstance(source, SqlStore):
            source.engine.dispose()
    return Plan(
        kind="retention",
        created_at=now.isoformat(timespec="seconds"),
        store=store_ref(cfg),
        inputs=PlanInputs(store_digest=digest, policy=policy.name, policy_digest=policy.digest),
        id_form=id_form,
        rules={r.name: r.describe() for r in policy.rules},
        accounts=tuple(accounts),
    )


def _decide(
    source: AccountStore,
    policy: RetentionPolicy,
    now: datetime,
    keyer: Keyer | None,
    batch_size: int,
) -> list[AccountPlan]:
    accounts: list[AccountPlan] = []
    for batch in source.iter_batches(batch_size):
        for account in batch:
            planned: dict[str, PlannedAction] = {}
            for rule in policy.rules:
                basis = rule.basis(account.status, account.last_login, account.password_hash, now)
                if basis is None:
                    continue
                for action in rule.actions:
                    planned.setdefault(action, PlannedAction(action, rule.name, None, basis))
            if planned:
                accounts.append(
                    AccountPlan(
                        id=keyed_id(keyer, account.id) if keyer is not None else account.id,
                        tenant=account.tenant,
                        status=account.status,
                        findings=(),
                        actions=tuple(planned[a] for a in ACTION_ORDER if a in planned),
                    )
                )
    return accounts
