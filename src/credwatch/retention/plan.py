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

import pyarrow as pa
import pyarrow.compute as pc

from credwatch.accounts import AccountStore, open_store
from credwatch.accounts.census import SCHEME_KEY_SQL, secret_safe_connection
from credwatch.accounts.config import store_config
from credwatch.accounts.sql import SqlStore
from credwatch.hashes import identify
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


_DAY_US = 86_400_000_000


def _decide(
    source: AccountStore,
    policy: RetentionPolicy,
    now: datetime,
    keyer: Keyer | None,
    batch_size: int,
) -> list[AccountPlan]:
    """The accounts some rule acts on, from Arrow batches of the store.

    Hash schemes are grouped by :data:`~credwatch.accounts.census.SCHEME_KEY_SQL` in
    DuckDB and identified once per key (as the census does), and the rules are decided
    once per distinct (status, days since last login, scheme): Python touches each
    account only to look its case up.
    """
    accounts: list[AccountPlan] = []
    facts: dict[str, tuple[str, bool]] = {}
    decided: dict[tuple[str, int | None, str], tuple[PlannedAction, ...]] = {}
    shared: dict[str, str] = {}
    now_us = int(now.timestamp() * 1_000_000)
    con = secret_safe_connection()
    try:
        for batch in source.iter_arrow(batch_size):
            con.register("cw_batch", batch)
            keys = con.sql(f"SELECT {SCHEME_KEY_SQL('password_hash')} AS k FROM cw_batch")
            skeys = keys.to_arrow_table().column("k").to_pylist()
            new = {k for k in set(skeys) if k not in facts}
            for k in new:
                sample = batch.column("password_hash")[skeys.index(k)].as_py()
                info = identify(sample)
                facts[k] = (info.scheme, bool(info.weak))
            con.unregister("cw_batch")
            login = batch.column("last_login").cast(pa.timestamp("us", tz="UTC")).cast(pa.int64())
            # Whole days, floored like timedelta.days; exact in float64 at these magnitudes.
            since = pc.divide(pc.subtract(now_us, login).cast(pa.float64()), float(_DAY_US))
            floor = pc.floor(since).cast(pa.int64())
            for account_id, tenant, status, day, skey in zip(
                batch.column("id").to_pylist(),
                batch.column("tenant").to_pylist(),
                batch.column("status").to_pylist(),
                floor.to_pylist(),
                skeys,
                strict=True,
            ):
                case = (status, day, skey)
                actions = decided.get(case)
                if actions is None:
                    actions = decided[case] = _actions(policy, status, day, facts[skey])
                if not actions:
                    continue
                accounts.append(
                    AccountPlan(
                        id=keyed_id(keyer, account_id) if keyer is not None else account_id,
                        tenant=shared.setdefault(tenant, tenant),
                        status=shared.setdefault(status, status),
                        findings=(),
                        actions=actions,
                    )
                )
    finally:
        con.close()
    return accounts


def _actions(
    policy: RetentionPolicy, status: str, days: int | None, scheme: tuple[str, bool]
) -> tuple[PlannedAction, ...]:
    planned: dict[str, PlannedAction] = {}
    for rule in policy.rules:
        basis = rule.basis_for(status, days, scheme[0], weak=scheme[1])
        if basis is None:
            continue
        for action in rule.actions:
            planned.setdefault(action, PlannedAction(action, rule.name, None, basis))
    return tuple(planned[a] for a in ACTION_ORDER if a in planned)
