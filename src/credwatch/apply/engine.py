"""Apply a plan: checks, dry run, batches, journal, resume.

Before anything changes, :func:`apply_plan` refuses

* a plan edited by hand (its digest, :func:`credwatch.plan.load_plan`) -- exit 3;
* a plan for another store: the store it names is not configured (exit 2) or now
  points at another database, table or file (identity mismatch, exit 3);
* a remediation plan whose audit run is gone or changed (exit 3);
* a stale plan: the store's snapshot digest differs from the one the plan was made
  from (exit 3).  Once an apply of the plan has begun, the store is expected to differ
  (we changed it): an unfinished apply resumes, a finished one accepts the digest its
  ``end`` record saw, so applying the same plan twice changes nothing the second time;
* an action the store has no configuration for, or a configured column the table lacks
  (exit 2).

Without ``yes`` it only reports what would change.  With ``yes`` it journals a
``begin`` record, lets the store's :class:`~credwatch.apply.interface.Actuator` work
batch by batch (each batch one transaction) and journals every action's result after
its batch commits, then an ``end`` record.  Actions the journal (or the store's
checkpoint, after a crash) already records are not done again.

Example:
    >>> report = apply_plan(ws, Path("fix.plan.json"), yes=False)   # doctest: +SKIP
    >>> report.counts["force_reset"]["applied"]                   # doctest: +SKIP
    120
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from credwatch.accounts import open_store
from credwatch.accounts.config import StoreConfig, StoreKind, store_config
from credwatch.accounts.sql import SqlStore
from credwatch.apply.interface import Actuator, Outcome, WorkItem
from credwatch.apply.journal import Journal, PlanHistory, plan_history
from credwatch.apply.passwd_file import PasswdFileActuator
from credwatch.apply.specs import parse_file_specs, parse_sql_specs
from credwatch.apply.sql import DEFAULT_BATCH_SIZE, SqlActuator
from credwatch.errors import InputError
from credwatch.plan.model import ACTION_ORDER, Plan, gc_paused, load_plan
from credwatch.plan.remediate import check_actionable, open_audit_run, store_ref
from credwatch.workspace import Workspace

__all__ = ["ApplyReport", "apply_plan", "make_actuator", "store_digest"]

#: Result names in reports, in display order.
RESULTS = ("applied", "already", "not_found", "recovered", "done_before")


@dataclass(frozen=True, slots=True)
class ApplyReport:
    """What an apply did (or, in a dry run, would do); counts only, no ids.

    Attributes:
        plan: the plan's digest.
        store: the store's name.
        dry_run: nothing was changed.
        resumed: an earlier apply of this plan had begun.
        counts: action -> result -> number of accounts; results are ``applied`` (changed,
            or would be), ``already`` (in effect, unchanged), ``not_found``, ``recovered``
            (done by a crashed apply, journaled now) and ``done_before`` (journaled by an
            earlier apply).
        journal_records: lines appended to the journal.
        store_digest_after: the store digest after a real apply.
    """

    plan: str
    store: str
    dry_run: bool
    resumed: bool
    counts: Mapping[str, Mapping[str, int]]
    journal_records: int = 0
    store_digest_after: str | None = None
    by_tenant: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    def total(self, result: str) -> int:
        """Number of (account, action) pairs with ``result``."""
        return sum(c.get(result, 0) for c in self.counts.values())

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "plan": self.plan,
            "store": self.store,
            "dry_run": self.dry_run,
            "resumed": self.resumed,
            "counts": {a: dict(c) for a, c in self.counts.items()},
            "by_tenant": {t: dict(c) for t, c in self.by_tenant.items()},
            "journal_records": self.journal_records,
            "store_digest_after": self.store_digest_after,
        }


def store_digest(ws: Workspace, name: str) -> str:
    """The current snapshot digest of a configured store (through ``credwatch.accounts``).

    Raises:
        ConfigError, ExternalServiceError: from the store connector.
    """
    store = open_store(ws, name)
    try:
        return store.snapshot_digest()
    finally:
        if isinstance(store, SqlStore):
            store.engine.dispose()


def make_actuator(
    ws: Workspace, cfg: StoreConfig, plan: Plan, *, batch_size: int = DEFAULT_BATCH_SIZE
) -> Actuator:
    """Build the actuator of a store for a plan.

    Raises:
        ConfigError: on invalid ``[stores.NAME.actions]`` or a store kind that cannot act.
    """
    check_actionable(cfg)
    if cfg.kind is StoreKind.PASSWD_FILE:
        return PasswdFileActuator(cfg, parse_file_specs(cfg.name, cfg.actions), ws.keyer())
    public_key = ws.vault_public_key() if "isolate" in plan.actions_used() else None
    return SqlActuator(
        cfg, parse_sql_specs(cfg.name, cfg.actions), batch_size=batch_size, public_key=public_key
    )


def _check_inputs(ws: Workspace, plan: Plan, cfg: StoreConfig, path: Path) -> None:
    if store_ref(cfg).identity != plan.store.identity:
        raise InputError(
            f"{path} was made for another store: [stores.{cfg.name}] now points at a "
            "different database, table or file",
            hint="apply plans only to the store they were made for; re-run `credwatch plan`",
        )
    if plan.kind == "remediation":
        if plan.inputs.audit_run is None:
            raise InputError(f"{path}: a remediation plan without its audit run")
        run = open_audit_run(ws, plan.inputs.audit_run)
        if run.summary_digest != plan.inputs.audit_summary_digest:
            raise InputError(
                f"audit run {plan.inputs.audit_run!r} changed since {path} was made",
                hint="re-run `credwatch plan remediate` on the current run",
            )


def _check_fresh(plan: Plan, history: PlanHistory, current: str, path: Path) -> None:
    if not history.begun:
        if current != plan.inputs.store_digest:
            raise InputError(
                f"{path} is stale: store {plan.store.name!r} changed since the plan's inputs "
                "were read",
                hint="run the audit (or retention plan) again and make a new plan",
            )
    elif history.ended is not None and current not in (history.ended, plan.inputs.store_digest):
        raise InputError(
            f"store {plan.store.name!r} changed after {path} was applied",
            hint="make a new plan from a new audit",
        )


def apply_plan(
    ws: Workspace,
    path: Path,
    *,
    yes: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_progress: Callable[[int, int], None] | None = None,
) -> ApplyReport:
    """Check a plan and carry it out (``yes``) or report what it would change.

    Args:
        ws: the workspace (configuration, journal, keys).
        path: the plan file.
        yes: really change the store; otherwise a dry run.
        batch_size: (account, action) pairs per transaction.
        on_progress: called with (done, total) after each batch.

    Raises:
        InputError: tampered, stale or foreign plan, missing audit run (exit 3).
        ConfigError: the store or an action is not configured, a column is missing (exit 2).
        ExternalServiceError: the store failed (exit 4); committed batches stay journaled
            and a new apply resumes after them.
    """
    with gc_paused():
        return _apply(ws, path, yes=yes, batch_size=batch_size, on_progress=on_progress)


def _apply(
    ws: Workspace,
    path: Path,
    *,
    yes: bool,
    batch_size: int,
    on_progress: Callable[[int, int], None] | None,
) -> ApplyReport:
    plan = load_plan(path)
    cfg = store_config(ws.config(), plan.store.name)
    _check_inputs(ws, plan, cfg, path)
    actuator = make_actuator(ws, cfg, plan, batch_size=batch_size)
    try:
        actuator.validate(plan.actions_used())
        tenant_of = {a.id: a.tenant for a in plan.accounts}
        items: list[WorkItem] = [(a.id, p.action) for a in plan.accounts for p in a.actions]
        tally: Counter[tuple[str, str]] = Counter()
        tenant_tally: Counter[tuple[str, str]] = Counter()

        def count(outcomes: list[Outcome]) -> None:
            tally.update((o[1], "recovered" if o[3] else o[2]) for o in outcomes)
            tenant_tally.update(
                (tenant_of.get(o[0], "?"), "recovered" if o[3] else o[2]) for o in outcomes
            )

        def count_done_before(done: Mapping[tuple[str, str], str]) -> None:
            before = [it for it in items if it in done]
            tally.update((action, "done_before") for _, action in before)
            tenant_tally.update((tenant_of[account], "done_before") for account, _ in before)

        if not yes:
            history = plan_history(ws.journal_path, plan.digest)
            _check_fresh(plan, history, actuator.snapshot_digest(), path)
            todo = [it for it in items if it not in history.done]
            count_done_before(history.done)
            count(actuator.preview(todo))
            return ApplyReport(
                plan=plan.digest,
                store=cfg.name,
                dry_run=True,
                resumed=history.begun,
                counts=_tidy(tally),
                by_tenant=_tidy(tenant_tally),
            )

        before = actuator.snapshot_digest()
        history = plan_history(ws.journal_path, plan.digest)
        _check_fresh(plan, history, before, path)
        with Journal(ws.journal_path) as journal:
            if journal.size != history.size:  # another apply wrote since: read it again
                history = plan_history(ws.journal_path, plan.digest)
            written = 0

            def journal_outcomes(outcomes: list[Outcome]) -> None:
                nonlocal written
                journal.append_actions(plan.digest, cfg.name, outcomes)
                written += len(outcomes)
                count(outcomes)
                if on_progress is not None:
                    on_progress(written + skipped, len(items))

            def journal_intent(record: dict[str, Any]) -> None:
                nonlocal written
                journal.append([{**record, "plan": plan.digest, "store": cfg.name}])
                written += 1

            # Only an apply that began and never ended can have left work unjournaled.
            unfinished = history.begun and history.ended is None
            recovered = actuator.recovered(plan.digest, history) if unfinished else []
            done = set(history.done) | {(o.account, o.action) for o in recovered}
            skipped = sum(1 for it in items if it in history.done)
            count_done_before(history.done)
            if not history.begun:
                journal.append(
                    [
                        {
                            "event": "begin",
                            "plan": plan.digest,
                            "kind": plan.kind,
                            "store": cfg.name,
                            "store_digest": before,
                            "actions": len(items),
                        }
                    ]
                )
                written += 1
            if recovered:
                journal_outcomes(recovered)
            todo = [it for it in items if it not in done]
            actuator.execute(todo, plan.digest, journal_outcomes, journal_intent)
            after = actuator.snapshot_digest()
            journal.append(
                [{"event": "end", "plan": plan.digest, "store": cfg.name, "store_digest": after}]
            )
            written += 1
        return ApplyReport(
            plan=plan.digest,
            store=cfg.name,
            dry_run=False,
            resumed=history.begun,
            counts=_tidy(tally),
            journal_records=written,
            store_digest_after=after,
            by_tenant=_tidy(tenant_tally),
        )
    finally:
        actuator.close()


def _tidy(tally: Counter[tuple[str, str]]) -> dict[str, dict[str, int]]:
    """``{(key, result): n}`` -> ``{key: {result: n}}``.

    Actions come in execution order, tenants alphabetically, results in
    :data:`RESULTS` order.
    """
    rank: dict[str, int] = {action: i for i, action in enumerate(ACTION_ORDER)}
    out: dict[str, dict[str, int]] = {}
    for key in sorted({k for k, _ in tally}, key=lambda k: (rank.get(k, len(rank)), k)):
        out[key] = {r: tally[key, r] for r in RESULTS if tally[key, r]}
    return out
