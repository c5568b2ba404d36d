"""Plans: reviewed, digest-sealed lists of actions per account (remediation and retention).

``plan_remediation`` turns an audit run and a policy into a :class:`Plan`; ``write_plan``
seals and saves it; ``load_plan`` refuses a plan edited by hand; ``summarize`` counts it.
:mod:`credwatch.apply` carries a plan out; :mod:`credwatch.retention` makes plans too.

Example:
    >>> from credwatch.plan import plan_remediation, write_plan    # doctest: +SKIP
    >>> write_plan(plan_remediation(ws, run), Path("fix.plan.json"))  # doctest: +SKIP
"""

from credwatch.plan.model import (
    ACTION_ORDER,
    ACTIONS,
    PLAN_SCHEMA_VERSION,
    AccountPlan,
    Action,
    Plan,
    PlanInputs,
    PlannedAction,
    StoreRef,
    keyed_id,
    load_plan,
    write_plan,
)
from credwatch.plan.policy import (
    RemediationPolicy,
    RemediationRule,
    default_policy,
    load_remediation_policy,
)
from credwatch.plan.remediate import open_audit_run, plan_remediation, store_ref
from credwatch.plan.summary import PlanSummary, summarize

__all__ = [
    "ACTIONS",
    "ACTION_ORDER",
    "PLAN_SCHEMA_VERSION",
    "AccountPlan",
    "Action",
    "Plan",
    "PlanInputs",
    "PlanSummary",
    "PlannedAction",
    "RemediationPolicy",
    "RemediationRule",
    "StoreRef",
    "default_policy",
    "keyed_id",
    "load_plan",
    "load_remediation_policy",
    "open_audit_run",
    "plan_remediation",
    "store_ref",
    "summarize",
    "write_plan",
]
