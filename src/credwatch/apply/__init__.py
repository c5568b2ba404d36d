"""Apply a plan to an account store: dry run by default, batches, journal, resume.

Example:
    >>> from credwatch.apply import apply_plan, verify_journal        # doctest: +SKIP
    >>> apply_plan(ws, Path("fix.plan.json"), yes=True).total("applied")   # doctest: +SKIP
    >>> verify_journal(ws.journal_path).ok                              # doctest: +SKIP
    True
"""

from credwatch.apply.engine import ApplyReport, apply_plan, make_actuator, store_digest
from credwatch.apply.interface import Actuator, Outcome, Result, WorkItem
from credwatch.apply.journal import (
    Journal,
    JournalError,
    JournalVerification,
    plan_history,
    verify_journal,
)
from credwatch.apply.seal import Sealer, unseal
from credwatch.apply.specs import PURGED_HASH, parse_file_specs, parse_sql_specs

__all__ = [
    "PURGED_HASH",
    "Actuator",
    "ApplyReport",
    "Journal",
    "JournalError",
    "JournalVerification",
    "Outcome",
    "Result",
    "Sealer",
    "WorkItem",
    "apply_plan",
    "make_actuator",
    "parse_file_specs",
    "parse_sql_specs",
    "plan_history",
    "store_digest",
    "unseal",
    "verify_journal",
]
