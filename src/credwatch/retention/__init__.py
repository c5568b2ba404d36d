"""Retention: find credentials kept longer or weaker than policy allows, as a plan.

The plan is carried out by :func:`credwatch.apply.apply_plan` like a remediation plan.

Example:
    >>> from credwatch.retention import load_retention_policy, plan_retention   # doctest: +SKIP
    >>> plan = plan_retention(ws, "mail", load_retention_policy(Path("r.toml")))  # doctest: +SKIP
"""

from credwatch.retention.plan import plan_retention
from credwatch.retention.policy import (
    RetentionPolicy,
    RetentionRule,
    load_retention_policy,
    parse_retention_policy,
)

__all__ = [
    "RetentionPolicy",
    "RetentionRule",
    "load_retention_policy",
    "parse_retention_policy",
    "plan_retention",
]
