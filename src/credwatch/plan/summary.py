"""A readable summary of a plan: counts per action, tenant and status.

Example:
    >>> summary = summarize(load_plan(Path("fix.plan.json")))   # doctest: +SKIP
    >>> summary.by_action["force_reset"]                         # doctest: +SKIP
    120
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from credwatch.plan.model import ACTION_ORDER, Plan

__all__ = ["PlanSummary", "summarize"]


@dataclass(frozen=True, slots=True)
class PlanSummary:
    """Counts of a plan (no ids, no addresses).

    Attributes:
        digest: the plan's digest.
        kind: remediation or retention.
        store: the store's name.
        accounts: accounts with at least one action.
        actions: (account, action) pairs.
        by_action: accounts per action, in execution order.
        by_tenant: tenant -> action -> accounts.
        by_status: status -> action -> accounts.
        by_rule: rule -> accounts it added an action to.
    """

    digest: str
    kind: str
    store: str
    accounts: int
    actions: int
    by_action: dict[str, int]
    by_tenant: dict[str, dict[str, int]]
    by_status: dict[str, dict[str, int]]
    by_rule: dict[str, int]
    inputs: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "digest": self.digest,
            "kind": self.kind,
            "store": self.store,
            "accounts": self.accounts,
            "actions": self.actions,
            "by_action": self.by_action,
            "by_tenant": self.by_tenant,
            "by_status": self.by_status,
            "by_rule": self.by_rule,
            "inputs": self.inputs,
        }


def summarize(plan: Plan) -> PlanSummary:
    """Count a plan's actions per action, tenant, status and rule."""
    by_tenant: dict[str, Counter[str]] = defaultdict(Counter)
    by_status: dict[str, Counter[str]] = defaultdict(Counter)
    by_rule: Counter[str] = Counter()
    for account in plan.accounts:
        for planned in account.actions:
            by_tenant[account.tenant][planned.action] += 1
            by_status[account.status][planned.action] += 1
        for rule in {p.rule for p in account.actions}:
            by_rule[rule] += 1

    def ordered(counter: Counter[str]) -> dict[str, int]:
        return {a: counter[a] for a in ACTION_ORDER if counter[a]}

    return PlanSummary(
        digest=plan.digest,
        kind=plan.kind,
        store=plan.store.name,
        accounts=len(plan.accounts),
        actions=plan.action_count(),
        by_action=plan.action_counts(),
        by_tenant={t: ordered(c) for t, c in sorted(by_tenant.items())},
        by_status={s: ordered(c) for s, c in sorted(by_status.items())},
        by_rule=dict(sorted(by_rule.items())),
        inputs={
            "audit_run": plan.inputs.audit_run,
            "audit_summary_digest": plan.inputs.audit_summary_digest,
            "store_digest": plan.inputs.store_digest,
            "policy": plan.inputs.policy,
            "policy_digest": plan.inputs.policy_digest,
        },
    )
