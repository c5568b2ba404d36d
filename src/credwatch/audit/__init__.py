"""The audit: which accounts of a store are exposed, and which leaked passwords still work.

Example:
    >>> result = run_audit(ws, "mail")                  # doctest: +SKIP
    >>> load_summary(ws, result.run)["pair_valid"]      # doctest: +SKIP
    1234
"""

from credwatch.audit.engine import index_digest, run_audit
from credwatch.audit.model import FINDINGS, RISK_WEIGHTS, SUMMARY_SCHEMA_VERSION, AuditResult
from credwatch.audit.runs import iter_account_results, list_runs, load_summary, run_path

__all__ = [
    "FINDINGS",
    "RISK_WEIGHTS",
    "SUMMARY_SCHEMA_VERSION",
    "AuditResult",
    "index_digest",
    "iter_account_results",
    "list_runs",
    "load_summary",
    "run_audit",
    "run_path",
]
