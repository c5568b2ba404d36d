"""Audit results: finding names, the risk score, and the run summary document."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "FINDINGS",
    "RISK_WEIGHTS",
    "SUMMARY_SCHEMA_VERSION",
    "AuditResult",
]

SUMMARY_SCHEMA_VERSION = "1.0"

#: Every finding, most severe first.  ``pair_unverified``: a leaked password exists for
#: the account but could not be checked (unsupported or malformed hash, or slow
#: verification skipped) -- never reported as "no match".
FINDINGS = (
    "pair_valid",
    "pair_unverified",
    "recovery_exposed",
    "pair_stale",
    "email_only",
    "weak_scheme",
)

#: Base risk of each finding (0-100); an account's score is its highest weight plus 5
#: per further finding, times its status factor, times 0.7 when MFA is enrolled.
RISK_WEIGHTS = {
    "pair_valid": 90,
    "pair_unverified": 60,
    "recovery_exposed": 50,
    "pair_stale": 35,
    "email_only": 25,
    "weak_scheme": 20,
}
#: Cancelled and dormant accounts are less urgent than active ones (but still matter:
#: attackers revive them).
STATUS_FACTORS = {"active": 1.0, "unknown": 1.0, "dormant": 0.8, "cancelled": 0.5}
MFA_FACTOR = 0.7


@dataclass(frozen=True, slots=True)
class AuditResult:
    """A finished audit run.

    Attributes:
        run: the run id (the folder name under ``ws.runs_dir``).
        path: the run folder.
        summary: the ``summary.json`` document.
        timings: seconds per phase (``read`` -- store read, keying and the join with
            the index --, ``vault``, ``verify_fast``, ``verify_slow``, ``classify``,
            ``write``).
    """

    run: str
    path: Path
    summary: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
