"""Turn an audit run into a remediation plan.

Reads ``ws.runs_dir / RUN`` (``summary.json`` + ``accounts.parquet``, docs/contracts.md
"Audit runs"), applies a :class:`~credwatch.plan.policy.RemediationPolicy` to every
account and returns an unsealed :class:`~credwatch.plan.model.Plan` whose inputs are the
digest of the run's summary and the store digest the audit recorded.

Example:
    >>> plan = plan_remediation(ws, "20260620-0900-ab12")      # doctest: +SKIP
    >>> write_plan(plan, Path("fix.plan.json"))                # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from credwatch.accounts.config import StoreConfig, StoreKind, store_config
from credwatch.errors import ConfigError, InputError
from credwatch.keys import Keyer
from credwatch.plan.model import (
    ACTION_ORDER,
    AccountPlan,
    IdForm,
    Plan,
    PlanInputs,
    PlannedAction,
    StoreRef,
    gc_paused,
    keyed_id,
)
from credwatch.plan.policy import RemediationPolicy, default_policy
from credwatch.workspace import Workspace

__all__ = [
    "AuditRunRef",
    "check_actionable",
    "open_audit_run",
    "plan_remediation",
    "store_ref",
    "uses_keyed_ids",
]

_NEEDED_COLUMNS = ("id", "tenant", "status", "mfa", "findings")


def store_ref(cfg: StoreConfig) -> StoreRef:
    """The identity of a configured store: kind + location, without any password.

    Example:
        >>> from credwatch.accounts.config import parse_store_config
        >>> cfg = parse_store_config("f", {"kind": "passwd-file", "path": "/etc/dovecot/users"})
        >>> store_ref(cfg).kind
        'passwd-file'
    """
    if cfg.kind is StoreKind.SQL:
        import sqlalchemy as sa  # noqa: PLC0415 - only SQL stores need it

        url = sa.make_url(cfg.url or "").set(password=None)
        location = f"{url.render_as_string(hide_password=False)}#{cfg.table}"
    else:
        location = str(Path(cfg.path or "").expanduser().resolve())
    identity = hashlib.sha256(f"{cfg.kind.value}|{location}".encode()).hexdigest()
    return StoreRef(name=cfg.name, kind=cfg.kind.value, identity=identity)


def check_actionable(cfg: StoreConfig) -> None:
    """Refuse stores credwatch cannot change (CSV exports).

    Raises:
        ConfigError: for a CSV store.
    """
    if cfg.kind is StoreKind.CSV:
        raise ConfigError(
            f"store {cfg.name!r} is a CSV export: credwatch cannot apply actions to it",
            hint="point [stores.NAME] at the SQL database or passwd-file behind the export",
        )


def uses_keyed_ids(cfg: StoreConfig) -> bool:
    """Whether the store's ids are addresses (passwd-file users), kept keyed in plans."""
    return cfg.kind is StoreKind.PASSWD_FILE


class AuditRunRef:
    """An audit run folder, checked for the files a plan needs.

    Attributes:
        run: the run id.
        path: its folder.
        summary: the parsed ``summary.json``.
        summary_digest: ``sha256:`` of the summary file's bytes.
    """

    def __init__(self, run: str, path: Path, summary: Mapping[str, Any], digest: str) -> None:
        self.run = run
        self.path = path
        self.summary = summary
        self.summary_digest = digest

    @property
    def accounts_path(self) -> Path:
        """The per-account results."""
        return self.path / "accounts.parquet"


def open_audit_run(ws: Workspace, run: str) -> AuditRunRef:
    """Find an audit run and read its summary.

    Raises:
        InputError: when the run (or its summary) is gone or unreadable.
    """
    if not run or "/" in run or run.startswith("."):
        raise InputError(f"{run!r} is not an audit run id")
    path = ws.runs_dir / run
    summary_path = path / "summary.json"
    try:
        raw = summary_path.read_bytes()
    except FileNotFoundError:
        raise InputError(
            f"audit run {run!r} is not in {ws.runs_dir} (or has no summary.json)",
            hint="list runs with `credwatch audit show`; plan from an existing run",
        ) from None
    except OSError as exc:
        raise InputError(f"cannot read {summary_path}: {exc.strerror}") from None
    try:
        summary = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InputError(f"{summary_path}: not valid JSON") from None
    if not isinstance(summary, dict) or "store" not in summary or "store_digest" not in summary:
        raise InputError(f"{summary_path}: lacks store / store_digest")
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    return AuditRunRef(run, path, summary, digest)


def plan_remediation(
    ws: Workspace,
    run: str,
    policy: RemediationPolicy | None = None,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Plan:
    """Decide the actions for every account of an audit run.

    Accounts no rule matches are left out of the plan.  Actions of one account come in
    execution order (:data:`~credwatch.plan.model.ACTION_ORDER`), each naming the rule
    that asked for it and the finding behind it.

    Raises:
        InputError: when the run is gone or its results are unreadable or incomplete.
        ConfigError: when the run's store is no longer configured.
    """
    policy = policy if policy is not None else default_policy()
    ref = open_audit_run(ws, run)
    store_name = str(ref.summary["store"])
    cfg = store_config(ws.config(), store_name)
    check_actionable(cfg)
    keyed = uses_keyed_ids(cfg)
    id_form: IdForm = "keyed" if keyed else "plain"
    keyer = ws.keyer() if keyed else None
    try:
        parquet = pq.ParquetFile(ref.accounts_path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise InputError(f"cannot read {ref.accounts_path}: {exc}") from None
    missing = [c for c in _NEEDED_COLUMNS if c not in parquet.schema_arrow.names]
    if missing:
        raise InputError(f"{ref.accounts_path}: missing columns {', '.join(missing)}")
    with gc_paused():
        accounts = _decide(parquet, policy, keyer)
    return Plan(
        kind="remediation",
        created_at=clock().isoformat(timespec="seconds"),
        store=store_ref(cfg),
        inputs=PlanInputs(
            store_digest=str(ref.summary["store_digest"]),
            policy=policy.name,
            policy_digest=policy.digest,
            audit_run=ref.run,
            audit_summary_digest=ref.summary_digest,
        ),
        id_form=id_form,
        rules={r.name: r.describe() for r in policy.rules},
        accounts=tuple(accounts),
    )


def _decide(
    parquet: pq.ParquetFile, policy: RemediationPolicy, keyer: Keyer | None
) -> list[AccountPlan]:
    accounts: list[AccountPlan] = []
    # Millions of accounts share a few tenants, statuses, finding sets and decisions:
    # one object each keeps a full-size plan in memory at ~200 bytes per account.
    shared: dict[Any, Any] = {}
    decided: dict[tuple[tuple[str, ...], str, bool], tuple[PlannedAction, ...]] = {}
    for batch in parquet.iter_batches(batch_size=65_536, columns=list(_NEEDED_COLUMNS)):
        rows = batch.to_pydict()
        for i in range(batch.num_rows):
            findings = tuple(rows["findings"][i] or ())
            status = str(rows["status"][i])
            key = (findings, status, bool(rows["mfa"][i]))
            actions = decided.get(key)
            if actions is None:
                actions = decided[key] = _actions(policy, *key)
            if not actions:
                continue
            account_id = str(rows["id"][i])
            tenant = str(rows["tenant"][i])
            accounts.append(
                AccountPlan(
                    id=keyed_id(keyer, account_id) if keyer is not None else account_id,
                    tenant=shared.setdefault(tenant, tenant),
                    status=shared.setdefault(status, status),
                    findings=shared.setdefault(findings, findings),
                    actions=actions,
                )
            )
    return accounts


def _actions(
    policy: RemediationPolicy, findings: tuple[str, ...], status: str, mfa: bool
) -> tuple[PlannedAction, ...]:
    """The actions the policy decides for an account with these findings, status and MFA."""
    planned: dict[str, PlannedAction] = {}
    for rule in policy.rules:
        finding = rule.matching_finding(findings, status, mfa)
        if finding is None:
            continue
        for action in rule.actions:
            planned.setdefault(action, PlannedAction(action, rule.name, finding))
    return tuple(_ordered(planned))


def _ordered(planned: Mapping[str, PlannedAction]) -> list[PlannedAction]:
    return [planned[a] for a in ACTION_ORDER if a in planned]
